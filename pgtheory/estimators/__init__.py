"""Pure functions from a batch of samples to per-sample estimates, registered by name."""
from .policy_gradient import (PG_ESTIMATORS, action_baseline_bias, fit_state_baseline, optimal_state_baseline,
                              policy_gradient_estimates, score_contraction)
from .advantages import gae_advantages, gae_expected_advantage, td_errors
from .bandit import bandit_optimal_baseline, bandit_reinforce_estimates, bandit_reinforce_trace_variance
from .divergences import (KL_ESTIMATORS, LOW_VAR_KL_LOG_RATIO_CLAMP, LOW_VAR_KL_VALUE_CLAMP, kl_estimate,
                          kl_loss_score_coefficient, tsallis_kl_estimate)
from .kl_control import (ADAPTIVE_KL_ERROR_CLIP, KL_CONTROLLERS, adaptive_kl_coefficient, fixed_kl_coefficient,
                         kl_coefficient_trace)
from .mismatch import MISMATCH_CORRECTIONS, RS_STATISTICS, mismatch_weights, rejection_statistic
from .token_baselines import (TOKEN_BASELINES, group_token_logits, optimal_token_baseline_advantages,
                              prefix_token_values, token_baseline_coefficients, token_baseline_estimates,
                              token_baseline_table, token_dependent_baseline_bias, token_score_sq_norm)
from .returns import (ACTOR_ADVANTAGES, RETURN_TARGETS, actor_advantages, lambda_returns, leaky_vtrace_pg_advantages,
                      leaky_vtrace_returns, n_step_returns, return_targets, truncated_gae, verl_gae, vtrace_pg_advantages,
                      vtrace_returns)
from .normalization import (ADVANTAGE_TRANSFORMS, RUNNING_REWARD_SCALINGS, RunningMoments, batch_moments, clip_values,
                            running_moments, scale_rewards_running, transform_advantages, trl_score_scaling,
                            vecnormalize_rewards, whiten)
from .linear_td import (GRADIENT_TD, LSTDAccumulator, LSTDStatistics, TD_TARGETS, expected_lstd_statistics, gradient_td,
                        gradient_td_iterate, lstd_solve, lstd_statistics, lstd_statistics_batched,
                        lstd_statistics_per_episode, lstd_stream)
from .critic import (CRITIC_FITS, CriticStatistics, expected_gae_gradient, expected_td_lambda_statistics, fit_critic,
                     monte_carlo_critic, solve_critic, td_lambda_critic, td_lambda_statistics)
from .all_action import ALL_ACTION_ESTIMATORS, all_action_bias, all_action_estimates, all_action_weights
from .entropy import (ENTROPY_CONTROLLERS, EntropyCoefficient, entropy_bonus, entropy_bonus_gradient_bias,
                      entropy_quantile_mask, entropy_threshold_mask, token_entropy, top_entropy_mask,
                      update_entropy_coefficient)
from .kl_regularized import KL_REGULARIZED_SURROGATES, KLSurrogate, surrogate_score_coefficient
from .group import (GPG_MIN_VALID_FRACTION, GROUP_ADVANTAGES, beta_pdf, group_advantages, pairwise_consistency_loss,
                    per_group_values)
from .reinforce_pp import TOKEN_ADVANTAGES, token_advantages
from .aggregation import LOSS_AGGREGATIONS, aggregation_weights
from .token_group_average import token_level_group_average_advantage
from .token_surrogates import TOKEN_SURROGATES, token_surrogate_coefficients, token_surrogate_values
from .pspo import DEFAULT_ALPHA as PSPO_DEFAULT_ALPHA, smoothed_distribution, smoothed_ratio  # registers 'pspo', 'pspo_clip'
from .sequence_ratios import length_normalized_ratio, sequence_ratio, spread_to_tokens, token_log_ratios, token_ratios
from .iwae import iwae_bound, iwae_gradients, iwae_log_weights, relative_weight_variance
from .importance import IS_ESTIMATORS, importance_estimates, trajectory_weights, weighted_is
from .._registry import Registry
from .sequence_score import expected_score_sum, sequence_score_sum
from .traces import Q_TRACES, q_trace_targets, vtrace_targets
from .risk_averse_pg import ECRM_PG_ESTIMATORS, ecrm_gradient_estimates, ecrm_step_costs
from .quantile_regression import (DISTORTION_INVERSES, DISTORTIONS, distorted_expectation, distorted_levels, distortion,
                                  distortion_inverse, expected_quantile_huber_loss, quantile_huber_gradient,
                                  quantile_huber_loss, quantile_huber_minimiser, sgd_quantile_regression)
from .risk_po import (RISK_PO_ADVANTAGES, empirical_quantiles, mvar_gradient_estimate, risk_po_advantages,
                      risk_po_gradient_estimate)
from .cvar_pg import cvar_gradient_estimate, empirical_value_at_risk
from .surrogates import SURROGATES, cpi_objective, ppo_clip_objective

from .unified_pg import ppo_stable_mask, unified_surrogate
from .pathwise import per_sample_pathwise_gradient, score_function_gradient
from .model_derivative import lqr_model_derivative_gradient, lqr_reward_to_go_baseline, lqr_score_function_gradient
from .entropy_shaped_credit import GTPO_NORMALISATIONS, gtpo_shaped_token_rewards, gtpo_token_advantages
from .group_update_expectation import expected_group_update
from .luspo_reduction import LUSPO_FORMS, luspo_loss, luspo_token_weights, luspo_valid_decomposition
from .dp_token_mean import DP_REDUCTIONS, dp_token_mean_loss
from .difficulty_weight import difficulty_weight
from .value_weighted_linear_models import (quadratic_value_gradient_weights, reduced_rank_mle, reduced_rank_weighted_fit,
                                           weighted_model_loss)
from .low_rank_reward_completion import (aggregate_observations, als_complete, als_objective, greedy_suboptimality,
                                         tabular_estimate)
from .kl_flipped import flipped_k3, flipped_k3_coefficient
__all__ = ["td_errors", "gae_advantages", "gae_expected_advantage", "Registry", "PG_ESTIMATORS", "policy_gradient_estimates", "score_contraction", "optimal_state_baseline",
           "fit_state_baseline", "action_baseline_bias", "bandit_reinforce_estimates", "bandit_reinforce_trace_variance",
           "bandit_optimal_baseline", "SURROGATES", "cpi_objective", "ppo_clip_objective",
           "KL_ESTIMATORS", "kl_estimate", "kl_loss_score_coefficient", "tsallis_kl_estimate", "sequence_score_sum", "expected_score_sum", "vtrace_targets", "Q_TRACES", "q_trace_targets",
           "KL_REGULARIZED_SURROGATES", "KLSurrogate", "surrogate_score_coefficient", "GROUP_ADVANTAGES", "group_advantages", "TOKEN_ADVANTAGES", "token_advantages", "beta_pdf", "LOSS_AGGREGATIONS", "aggregation_weights", "token_level_group_average_advantage", "TOKEN_SURROGATES", "PSPO_DEFAULT_ALPHA", "smoothed_distribution", "smoothed_ratio", "token_surrogate_coefficients", "token_surrogate_values", "pairwise_consistency_loss", "length_normalized_ratio", "sequence_ratio", "spread_to_tokens", "token_log_ratios", "token_ratios", "iwae_bound", "iwae_gradients", "iwae_log_weights", "relative_weight_variance", "IS_ESTIMATORS", "importance_estimates", "trajectory_weights", "weighted_is",
           "LOW_VAR_KL_LOG_RATIO_CLAMP", "LOW_VAR_KL_VALUE_CLAMP", "KL_CONTROLLERS", "ADAPTIVE_KL_ERROR_CLIP",
           "adaptive_kl_coefficient", "fixed_kl_coefficient", "kl_coefficient_trace", "per_group_values",
           "GPG_MIN_VALID_FRACTION", "MISMATCH_CORRECTIONS", "RS_STATISTICS", "mismatch_weights", "rejection_statistic",
           "TOKEN_BASELINES", "group_token_logits", "optimal_token_baseline_advantages",
           "prefix_token_values", "token_baseline_coefficients", "token_baseline_estimates", "token_baseline_table",
           "token_dependent_baseline_bias", "token_score_sq_norm", "ALL_ACTION_ESTIMATORS", "all_action_bias",
           "all_action_estimates", "all_action_weights", "ENTROPY_CONTROLLERS", "EntropyCoefficient", "entropy_bonus",
           "entropy_bonus_gradient_bias", "entropy_quantile_mask", "entropy_threshold_mask", "token_entropy",
           "top_entropy_mask", "update_entropy_coefficient", "ACTOR_ADVANTAGES", "RETURN_TARGETS", "actor_advantages",
           "lambda_returns", "leaky_vtrace_pg_advantages", "leaky_vtrace_returns", "n_step_returns", "return_targets",
           "truncated_gae", "verl_gae", "vtrace_pg_advantages", "vtrace_returns", "ADVANTAGE_TRANSFORMS",
           "RUNNING_REWARD_SCALINGS", "RunningMoments", "batch_moments", "clip_values", "running_moments",
           "scale_rewards_running", "transform_advantages", "trl_score_scaling", "vecnormalize_rewards", "whiten",
           "CRITIC_FITS", "CriticStatistics", "expected_gae_gradient", "expected_td_lambda_statistics", "fit_critic",
           "monte_carlo_critic", "solve_critic", "td_lambda_critic", "td_lambda_statistics",
           "GRADIENT_TD", "LSTDAccumulator", "LSTDStatistics", "TD_TARGETS", "expected_lstd_statistics", "gradient_td",
           "gradient_td_iterate", "lstd_solve", "lstd_statistics", "lstd_statistics_batched",
           "lstd_statistics_per_episode", "lstd_stream", "cvar_gradient_estimate", "empirical_value_at_risk",
           "ECRM_PG_ESTIMATORS", "ecrm_gradient_estimates", "ecrm_step_costs",
           "DISTORTION_INVERSES", "DISTORTIONS", "distorted_expectation", "distorted_levels", "distortion", "distortion_inverse",
           "expected_quantile_huber_loss", "quantile_huber_gradient", "quantile_huber_loss", "quantile_huber_minimiser",
           "sgd_quantile_regression", "RISK_PO_ADVANTAGES", "empirical_quantiles", "mvar_gradient_estimate",
           "risk_po_advantages", "risk_po_gradient_estimate",
           "ppo_stable_mask", "unified_surrogate", "per_sample_pathwise_gradient", "score_function_gradient",
           "lqr_model_derivative_gradient", "lqr_reward_to_go_baseline", "lqr_score_function_gradient",
           "GTPO_NORMALISATIONS", "gtpo_shaped_token_rewards", "gtpo_token_advantages",
           "expected_group_update", "LUSPO_FORMS", "luspo_loss", "luspo_token_weights", "luspo_valid_decomposition",
           "DP_REDUCTIONS", "dp_token_mean_loss", "difficulty_weight", "quadratic_value_gradient_weights",
           "reduced_rank_mle", "reduced_rank_weighted_fit", "weighted_model_loss", "aggregate_observations",
           "als_complete", "als_objective", "greedy_suboptimality", "tabular_estimate", "flipped_k3",
           "flipped_k3_coefficient"]
