"""Exact ground truth in float64: evaluation, gradients, second-order quantities, solvers."""
from .bandits import (bandit_gradient, bandit_objective, multiprompt_gradient, multiprompt_objective,
                      multiprompt_pass_at_k, prompt_success_probability)
from .evaluation import (PolicyEvaluation, check_policy, action_values, advantages, bellman_residual, evaluate_policy, objective,
                         occupancy, policy_reward, policy_transition_matrix, state_action_occupancy, state_values)
from .divergences import (F_DIVERGENCES, Q_LOG_CONVENTIONS, FDivergence, f_divergence, kl_divergence, q_exp, q_log,
                          tsallis_kl, tsallis_kl_greedy)
from .groups import enumerate_groups
from .lqr import (LQREvaluation, LQRSolution, check_lqr_policy, solve_discounted_lyapunov, lqr_closed_loop,
                   lqr_closed_loop_radius, check_lqr_stable, evaluate_lqr, lqr_value_matrix,
                   lqr_state_covariance, lqr_objective, lqr_policy_gradient, lqr_policy_gradient_autograd,
                   lqr_policy_gradient_finite_difference, lqr_log_std_gradient, lqr_fisher_information,
                   lqr_natural_gradient, lqr_optimal_gain, lqr_riccati_residual)
from .gradients import (fisher_information, hessian, natural_gradient, objective_of_params, policy_gradient,
                        policy_gradient_autograd, policy_gradient_finite_difference)
from .regularized import (SoftSolution, regularized_evaluation, regularized_objective, regularized_policy_gradient,
                          regularized_policy_gradient_autograd, soft_value_iteration,
                          TsallisVIResult, tsallis_kl_value_iteration)
from .risk import (RiskEvaluation, entropic_risk, entropic_worst_case, risk_sensitive_evaluation, risk_sensitive_objective,
                   risk_sensitive_policy_gradient, risk_sensitive_value_iteration)
from .sequence import (pass_at_k, prefix_extensions, prefix_values, sequence_entropy, sequence_kl, sequence_objective, sequence_policy_gradient,
                       sequence_probs, success_probability)
from .traces import (PER_DECISION_TRACES, AffineOperator, VTraceOperator, per_decision_trace_operator, truncated_target_policy,
                     vtrace_operator)
from .linear_evaluation import (SINGULAR_RCOND, LinearEvaluation, bellman_residual_minimiser, best_linear_fit,
                                pair_distribution, state_action_visitation,
                                lambda_bellman_operator, projected_bellman_residual, state_action_transition_matrix,
                                stationary_state_action_distribution, td_fixed_point, weighted_norm)
from .optimal_design import OptimalDesign, design_leverages, g_optimal_design
from .multi_objective import (objective_jacobian, objective_vector, scalarised_gradient, scalarised_objective,
                              scalarised_optimum)
from .return_law import ReturnLaw, discounted_return_law, geometric_return_law, truncated_return_law, truncated_values
from .risk_measures import (cvar, cvar_distortion, cvar_rockafellar_uryasev, distortion_risk, kolmogorov_distance, mixed_risk,
                            value_at_risk, wasserstein1)
from .distributional import (FixedPoint, bellman_pushforward, categorical_fixed_point, categorical_projection, contraction_ratio,
                             quantile_fixed_point, quantile_midpoints, quantile_projection, sup_wasserstein1, uniform_support)
from .cvar_gradient import cvar_gradient_bias, cvar_policy_gradient, expected_cvar_gradient_estimate
from .bellman_losses import (BELLMAN_LOSSES, BellmanLossSolution, BellmanResidualProblem, bellman_loss, best_response,
                             dual_bound, dual_curvature, expected_td_error, huber, linear_bellman_residual_problem,
                             minimise_bellman_loss, projected_bellman_loss, saddle_point_objective, value_error)
from .ecrm import (ECRMProblem, action_marginal, ecrm_eta_grid, ecrm_objective, ecrm_optimum, ecrm_policy_gradient,
                   ecrm_problem, lift_action_policy, nested_ecrm_value, one_step_risk, transformed_cost, var_eta_policy)
from .distributional_control import (ActionValueLaws, RewardLaw, action_sup_kolmogorov, action_sup_wasserstein1,
                                     action_value_laws, categorical_evaluation_fixed_point, control_operator,
                                     non_contraction_example, reward_law, tied_oscillation_example)
from .mixed_var import (pooled_bundle_reward_law, upper_mixed_value_at_risk, upper_mvar_advantage, upper_mvar_distortion,
                        bundle_mvar_objective, bundle_reward_law, expected_mvar_gradient_estimate, mixed_value_at_risk,
                        multiprompt_mvar_gradient, mvar_distortion, mvar_policy_gradient)
from .score_moments import ScoreMoments, score_function_moments, softmax_minimal_scores
from .sampled_step import batch_count_compositions, expected_reinforce_step_change, softmax_entropy
from .guidance import OPTIMALITY_FACTORS, guidance_curve, guided_policy, log_optimality_factor
from .gradient_subspaces import EIGEN_ORDERS, loss_hessian, subspace_fraction, subspace_overlap, top_eigenspace
from .weighted_regression import next_value_variance, prediction_variance, regression_error_covariance
from .projection_ensembles import (EnsembleFixedPoint, EnsembleLaws, ProjectionMember, categorical_member, projected_disagreement,
                                   ensemble_contraction_ratio, ensemble_disagreement, ensemble_fixed_point, ensemble_operator,
                                   fixed_point_error_bound, mean_lipschitz, mixture_laws, project_laws, projection_mixture,
                                   quantile_member, w1_lipschitz)
from .uncertainty_aware import (MatchedPolicies, ValueLaw, beta_for_kl, ensemble_mean_and_spread, gibbs_kl, gibbs_policy,
                                lower_confidence_reward, matched_kl_policies, max_tilt_kl, true_value,
                                uncertainty_aware_policy, value_law)
from .preference_pairs import (WPO_ALIGNMENTS, bradley_terry_matrix, dpo_pair_losses, expected_preference_gradient,
                               expected_preference_loss, importance_pair_weights, labelled_pair_distribution,
                               total_variation, wpo_log_weights, wpo_pair_weights)
from .inventory import base_stock_gradient, base_stock_net_inventory_law, base_stock_objective, base_stock_optimal_level
from .lqr_model_derivative import (check_linear_model, lqr_model_derivative_expectation, lqr_truncated_gradient,
                                   lqr_truncated_objective)
from .contrastive_pg import (copg_expected_loss, copg_pair_loss, copg_softmax_update, cross_prompt_contrastive_loss,
                             ipo_pair_loss, kl_regularised_objective, kl_regularised_optimum, offpolicy_pg_softmax_update,
                             on_policy_regularised_gradient, regularised_reward)
from .bilevel_reward_mle import (gaussian_data_loglik, gaussian_inner_objective, gaussian_inner_optimum,
                                 isotropic_optimal_reward_scale, log_cholesky_from_spd, optimal_reward_matrix,
                                 outer_gradient_implicit, outer_loglik_closed_inner, solve_bilevel_reward,
                                 solve_inner_numerically, spd_from_log_cholesky)
from .sparse_evaluation import SparseEvaluation, evaluate_policy_sparse, sparse_policy_matrix
from .token_advantages import token_advantages, token_entropies, token_scores
from .implicit_actor import expectile, expectile_implicit_policy, iql_expectile_fixed_point
from .trajectory_reweighting import (enumerate_layered_trajectories, layered_return, pooled_return_weighted_policy,
                                     positive_semivariance, return_weighted_policy, trajectory_weighted_policy)
from .rank_filtration import FILTERS, best_of_n_law, filtered_law, worst_of_n_law
from .set_objectives import correct_entropy, perturbed_pass_at_k, polychromic_objective, set_table
from .constrained_tilt import ConstrainedSolution, constrained_kl_rlhf, tilt
from .kl_placement import (KL_PLACEMENTS, kl_placement_expected_gradient, kl_placement_per_response_gradients,
                           kl_placement_surrogates, prefix_reach, sequence_kl_gradient, token_level_kl_gradient)
from .kl_token_gradient_law import TOKEN_GRADIENT_ESTIMATORS, discrete_law_summary, token_kl_gradient_norms
from .solvers import Solution, bellman_optimality_residual, greedy_policy, linear_program, policy_iteration, value_iteration

__all__ = [n for n in dir() if not n.startswith("_")]
