"""Iterative policy-gradient optimisers on exact ground truth: batched runs, thinned traces, registered algorithms."""
from ..sampling.runs import sample_policies, seed_generators, transition_alias_table
from .algorithms import (ALGORITHMS, AscentStep, ConstantBatch, HessianAidedRecursion, ImplicitGradientTransport,
                         LoopVarianceReduced, MomentumAverage, ScalarisedPlugIn, ScalarisedRecursive, TruncatedStep, NormalizedStep, PolyakScaledDirection, PowerSchedule, RecursiveMomentum, as_schedule, exact_gradient_direction,
                         make_algorithm, minibatch_direction, natural_gradient_direction)
from .harness import Algorithm, OptimTrace, Step, iterate, run, thinned_checkpoints
from .saddle_point_td import DIVERGENCE_BOUND, SaddlePointRun, saddle_point_expected, saddle_point_sampled
from .value_mapping import (DECOMPOSITIONS, GREEDY_MODES, MAPPINGS, FixedPointNotSettled, MappedFixedPoint,
                            RewardChannels, ValueMapping, ValueMappingTrace, aggregate_values, channel_values,
                            decompose_rewards, expected_targets, make_mapping, mapped_fixed_point, mapped_update,
                            mean_mapped_update, orchestrated_q_learning, sampled_targets)
from .linear_mdvi import (MDVIResult, VWLSResult, design_allocation, estimate_next_value_variance, least_squares_smoother,
                          ls_mdvi, mdvi_exact, mdvi_policy, mdvi_state_value, vwls_mdvi, weighted_least_squares)
from .low_switching_pg import (CRITIC_TOL, SWITCH_RULES, CriticOperator, LowSwitchingTrace, critic_operator,
                               determinant_switch, feature_covariance, low_switching_pg, optimistic_linear_critic, samples_until_optimal_for_good,
                               switch_count_bound)
from .linear_control import (GREEDY_TIE_RTOL, LSTD_Q_TARGETS, LSPIResult, LSTDQStatistics, LSVIResult, QNPGResult,
                             greedy_improvement, lspi_exact, lspi_sampled, lstdq_exact, lstdq_expected_statistics,
                             lstdq_sampled, lstdq_statistics, lsvi_exact, lsvi_sampled, q_npg_exact, q_npg_sampled,
                             uniform_pair_weights)
from .pg_rainbow import (PPO_CRITICS, DISTILLATION_INPUT_FORMS, JackpotRewards, PPOConfig, PPOTrace, distillation_features, fit_distillation,
                         fit_quantile_critic, grouped_quantiles, quantile_levels, run_tabular_ppo)
from .oracles import (LQROracle, Oracle, ScalarisedOracle, TabularOracle, log_importance_weights, make_oracle, per_trajectory_gradients,
                      tabular_hessian_vector_estimates)

from .tsallis_inf import (ETA_SCALE, TsallisINFRun, adversarial_regret_bound, tsallis_inf, tsallis_inf_learning_rate,
                          tsallis_inf_weights)
__all__ = ["samples_until_optimal_for_good", "PPO_CRITICS", "DISTILLATION_INPUT_FORMS", "JackpotRewards", "PPOConfig", "PPOTrace", "distillation_features", "fit_distillation",
           "fit_quantile_critic", "grouped_quantiles", "quantile_levels", "run_tabular_ppo",
           "GREEDY_TIE_RTOL", "LSTD_Q_TARGETS", "LSPIResult", "LSTDQStatistics", "LSVIResult", "QNPGResult",
           "greedy_improvement", "lspi_exact", "lspi_sampled", "lstdq_exact", "lstdq_expected_statistics", "lstdq_sampled",
           "lstdq_statistics", "lsvi_exact", "lsvi_sampled", "q_npg_exact", "q_npg_sampled", "uniform_pair_weights",
           "ALGORITHMS", "Algorithm", "AscentStep", "ConstantBatch", "HessianAidedRecursion", "ImplicitGradientTransport",
           "LQROracle", "ScalarisedOracle", "ScalarisedPlugIn", "ScalarisedRecursive", "TruncatedStep", "LoopVarianceReduced", "MomentumAverage", "NormalizedStep", "OptimTrace", "PolyakScaledDirection", "Oracle", "PowerSchedule", "RecursiveMomentum", "Step",
           "TabularOracle", "as_schedule", "exact_gradient_direction", "iterate", "log_importance_weights", "make_algorithm",
           "make_oracle", "minibatch_direction", "natural_gradient_direction", "per_trajectory_gradients", "run",
           "sample_policies", "seed_generators", "tabular_hessian_vector_estimates", "thinned_checkpoints",
           "transition_alias_table", "DIVERGENCE_BOUND", "SaddlePointRun", "saddle_point_expected", "saddle_point_sampled",
           "DECOMPOSITIONS", "GREEDY_MODES", "MAPPINGS", "MappedFixedPoint", "RewardChannels", "ValueMapping",
           "ValueMappingTrace", "aggregate_values", "channel_values", "decompose_rewards", "expected_targets", "make_mapping",
           "FixedPointNotSettled", "mapped_fixed_point", "mapped_update", "mean_mapped_update", "orchestrated_q_learning",
           "sampled_targets",
           "MDVIResult", "VWLSResult", "design_allocation", "estimate_next_value_variance", "least_squares_smoother", "ls_mdvi",
           "mdvi_exact", "mdvi_policy", "mdvi_state_value", "vwls_mdvi", "weighted_least_squares",
           "CRITIC_TOL", "SWITCH_RULES", "CriticOperator", "LowSwitchingTrace", "critic_operator", "determinant_switch",
           "feature_covariance", "low_switching_pg", "optimistic_linear_critic", "switch_count_bound",
           "ETA_SCALE", "TsallisINFRun", "adversarial_regret_bound", "tsallis_inf", "tsallis_inf_learning_rate",
           "tsallis_inf_weights"]
