"""Statistics that turn Monte Carlo runs into verdicts: bias tests, noise, rates, planning, multiplicity."""
from .moments import MomentAccumulator
from .multiple import adjust_pvalues
from .paired import PairedDifference, paired_difference
from .planning import bias_test_power, detection_power, required_sample_size, twin_rejects
from .rates import RateFit, fit_rate
from .streaming import StreamResult, stream
from .tests import BiasTestResult, bias_test
from .variance import NoiseSummary, RelativeEfficiency, noise_summary, relative_efficiency

__all__ = ["MomentAccumulator", "adjust_pvalues", "PairedDifference", "paired_difference", "bias_test_power", "detection_power", "required_sample_size", "twin_rejects",
           "RateFit", "fit_rate", "StreamResult", "stream", "BiasTestResult", "bias_test", "NoiseSummary",
           "RelativeEfficiency", "noise_summary", "relative_efficiency"]
