"""Statistics that turn Monte Carlo runs into verdicts: bias tests, noise, rates, planning, multiplicity."""
from .asymptotic import LocalSlopes, MeanTailSlope, local_slopes, mean_tail_slope
from .complexity import SampleComplexityFit, first_passage, fit_sample_complexity
from .equivalence import Equivalence, Twin, TwinSummary, equivalence, exact_equivalence, summarise_twins
from .matched import MatchedPoint, frontier_at_progress, matched_comparison, matched_verdict, value_at_progress
from .mcnemar import McNemar, mcnemar_exact
from .moments import MomentAccumulator
from .multiple import adjust_pvalues
from .paired import PairedDifference, paired_difference
from .planning import bias_test_power, detection_power, equivalence_sample_size, required_sample_size, twin_rejects
from .rates import RateFit, fit_rate, normal_interval, ols_slopes
from .replication import ReplicationSummary, replication_summary
from .streaming import StreamResult, stream
from .tests import BIAS_TEST_METHODS, MIN_SAMPLES, BiasTestResult, bias_test
from .variance import NoiseSummary, RelativeEfficiency, noise_summary, relative_efficiency

__all__ = ["McNemar", "mcnemar_exact", "MeanTailSlope", "mean_tail_slope", "SampleComplexityFit", "first_passage", "fit_sample_complexity", "MatchedPoint", "frontier_at_progress", "matched_comparison", "matched_verdict", "value_at_progress", "LocalSlopes", "local_slopes", "Equivalence", "Twin", "TwinSummary", "equivalence", "exact_equivalence", "summarise_twins",
           "ReplicationSummary", "replication_summary", "BIAS_TEST_METHODS", "MIN_SAMPLES", "MomentAccumulator", "adjust_pvalues", "PairedDifference", "paired_difference", "bias_test_power", "detection_power", "required_sample_size", "equivalence_sample_size", "twin_rejects",
           "RateFit", "fit_rate", "normal_interval", "ols_slopes", "StreamResult", "stream", "BiasTestResult", "bias_test", "NoiseSummary",
           "RelativeEfficiency", "noise_summary", "relative_efficiency"]
