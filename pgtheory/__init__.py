"""pgtheory: exact ground truth, batched Monte Carlo and verdicts for policy-gradient claims."""
__version__ = "0.1.0"

from . import exact, policies, problems  # noqa: F401  (lower layers; higher ones import on demand)
