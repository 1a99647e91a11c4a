"""Iterative policy-gradient optimisers on exact ground truth: batched runs, thinned traces, registered algorithms."""
from .algorithms import (ALGORITHMS, ConstantBatch, ConstantStep, NormalizedStep, RecursiveMomentum, exact_gradient_direction,
                         make_algorithm, minibatch_direction, natural_gradient_direction)
from .harness import (Algorithm, OptimTrace, Oracle, Step, iterate, log_importance_weights, per_trajectory_gradients, run,
                      sample_policies, seed_generators, thinned_checkpoints, transition_alias_table)

__all__ = ["ALGORITHMS", "Algorithm", "ConstantBatch", "ConstantStep", "NormalizedStep", "OptimTrace", "Oracle",
           "RecursiveMomentum", "Step", "exact_gradient_direction", "iterate", "log_importance_weights", "make_algorithm",
           "minibatch_direction", "natural_gradient_direction", "per_trajectory_gradients", "run", "sample_policies",
           "seed_generators", "thinned_checkpoints", "transition_alias_table"]
