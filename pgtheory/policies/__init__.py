"""Policy parameterisations with differentiable probabilities and log-probabilities."""
from .gaussian import LinearGaussianPolicy
from .sequence import TabularSequencePolicy
from .tabular import DirectPolicy, LogLinearSoftmax, TabularPolicy, TabularSoftmax, project_simplex

__all__ = ["TabularPolicy", "TabularSoftmax", "DirectPolicy", "LogLinearSoftmax", "project_simplex",
           "TabularSequencePolicy", "LinearGaussianPolicy"]
