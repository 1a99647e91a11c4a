r"""Property-test your own estimator against exact truth.

``assert_unbiased(estimate, truth)`` plans its Monte Carlo size from a pilot, runs the small-sample-correct bias test,
requires the interval for the bias to lie inside a declared margin and requires twins (a planted bias of the margin's
size, plus your own close-but-wrong variants) to fail the same assertion. ``strategies`` holds hypothesis strategies
for the package's exact problems (imported lazily: it needs hypothesis). The pytest plugin
(:mod:`pgtheory.testing.plugin`) adds seed fixtures and a ``statistical`` marker.
"""
from .assertions import (RateReport, StatisticalAssertionError, UnbiasednessReport, VarianceReport, assert_consistent,
                         assert_rate, assert_unbiased, assert_variance_at_most, planted_bias, scaled_twin, shifted_twin)

__all__ = ["assert_unbiased", "assert_consistent", "assert_variance_at_most", "assert_rate", "planted_bias", "scaled_twin",
           "shifted_twin",
           "StatisticalAssertionError", "UnbiasednessReport", "VarianceReport", "RateReport", "strategies"]


def __getattr__(name):
    if name == "strategies":
        from . import strategies

        return strategies
    raise AttributeError(f"module 'pgtheory.testing' has no attribute {name!r}")
