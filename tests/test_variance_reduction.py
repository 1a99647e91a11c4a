"""Variance reduction: per-token baselines (exact optimal, verl OTB), all-action estimators (MAC/QPG), entropy tools.

Every expectation here is exact: sums over every enumerated response (or group of responses) of the toy sequence
task, or over every trajectory of a layered MDP whose episodes end in an absorbing zero-reward state before the
horizon. Every property is checked to 1e-10, and every twin is rejected by the same check.
"""
import itertools
import math

import pytest
import torch

from pgtheory.estimators.all_action import ALL_ACTION_ESTIMATORS, all_action_bias, all_action_estimates
from pgtheory.estimators.entropy import (ENTROPY_CONTROLLERS, entropy_bonus, entropy_bonus_gradient_bias,
                                         entropy_quantile_mask, entropy_threshold_mask, token_entropy, top_entropy_mask,
                                         update_entropy_coefficient)
from pgtheory.estimators.policy_gradient import policy_gradient_estimates
from pgtheory.estimators.sequence_score import sequence_score_sum
from pgtheory.estimators.token_baselines import (TOKEN_BASELINES, group_token_logits,
                                                 optimal_token_baseline_advantages, prefix_token_values,
                                                 token_baseline_coefficients, token_baseline_estimates,
                                                 token_baseline_table, token_dependent_baseline_bias,
                                                 token_score_sq_norm)
from pgtheory.exact.evaluation import evaluate_policy
from pgtheory.sampling.sequence import enumerate_sequence_groups
from pgtheory.exact.gradients import policy_gradient
from pgtheory.exact.sequence import sequence_entropy, sequence_policy_gradient
from pgtheory.policies.sequence import TabularSequencePolicy
from pgtheory.policies.tabular import LogLinearSoftmax, TabularSoftmax
from pgtheory.problems.mdp import TabularMDP
from pgtheory.problems.sequence import SequenceTask
from pgtheory.sampling.mdp import Trajectories

TOL = 1e-10
F64 = torch.float64


def _gen(seed):
    return torch.Generator().manual_seed(seed)


@pytest.fixture(scope="module")
def seq():
    """V = 3 tokens (EOS = 0), L = 3, two prompts with weights (0.3, 0.7), real-valued random rewards."""
    task = SequenceTask(3, 3, 2, reward=torch.rand(2, 15, generator=_gen(0), dtype=F64) * 2 - 0.5,
                        prompt_weights=[0.3, 0.7])
    pol = TabularSequencePolicy(task)
    return pol, pol.random_params(generator=_gen(1))


def _moments(est, prob):
    """Exact mean and trace of the covariance of per-group estimates ``est [B, ...]`` with probabilities ``prob [B]``."""
    w = prob.reshape(-1, *[1] * (est.ndim - 1))
    mean = (w * est).sum(0)
    return mean, float((prob * ((est - mean) ** 2).flatten(1).sum(1)).sum())


# ---------------------------------------------------------------------------------------------------------- baselines
def test_token_score_sq_norm_hand_value():
    pi = torch.tensor([0.5, 0.3, 0.2], dtype=F64)
    got = token_score_sq_norm(pi[1].log().reshape(1), (pi ** 2).sum().reshape(1))
    assert abs(float(got) - float(((torch.eye(3, dtype=F64)[1] - pi) ** 2).sum())) < 1e-15  # 1 − 0.6 + 0.38 = 0.78
    assert abs(float(got) - 0.78) < 1e-15


def test_token_baseline_coefficients_hand_value(seq):
    pol, th = seq
    groups, _ = enumerate_sequence_groups(pol, th, 1)
    task = pol.task
    n = task.index_of((1, 2, 0))  # prefixes: (), (1,), (1, 2)
    b = torch.arange(2 * task.n_prefixes, dtype=F64).reshape(2, task.n_prefixes) / 10
    coef = token_baseline_coefficients(pol, groups, b)
    row = task.n_sequences + n  # prompt 1, response n
    pre = task.prefix_ids[n]
    R = float(task.rewards[1, n])
    assert torch.allclose(coef[row, 0], torch.tensor([R - b[1, pre[0]], R - b[1, pre[1]], R - b[1, pre[2]]], dtype=F64))


@pytest.mark.parametrize("kind", ["none", "value", "optimal"])
def test_prefix_baselines_are_exactly_unbiased(seq, kind):
    pol, th = seq
    groups, prob = enumerate_sequence_groups(pol, th, 1)
    mean, _ = _moments(token_baseline_estimates(pol, th, groups, token_baseline_table(pol, th, kind)), prob)
    assert (mean - sequence_policy_gradient(pol, th)).abs().max() < TOL


def test_optimal_token_baseline_minimises_exact_variance(seq):
    pol, th = seq
    groups, prob = enumerate_sequence_groups(pol, th, 1)
    var = {k: _moments(token_baseline_estimates(pol, th, groups, token_baseline_table(pol, th, k)), prob)[1]
           for k in TOKEN_BASELINES}
    assert var["optimal"] <= var["value"] + TOL and var["optimal"] <= var["none"] + TOL  # theorem (per-prefix quadratic)
    assert var["value"] < var["none"]  # measured on this instance, not a theorem
    b_star = token_baseline_table(pol, th, "optimal")
    for seed in range(3):  # any perturbation of b* raises the exact variance
        delta = torch.randn(b_star.shape, generator=_gen(10 + seed), dtype=F64) * 0.1
        assert _moments(token_baseline_estimates(pol, th, groups, b_star + delta), prob)[1] > var["optimal"]


def test_optimal_token_baseline_closed_form(seq):
    """b*(q, p) by hand at the empty prefix of prompt 0: Σ_v π ‖e_v − π‖² Q / Σ_v π ‖e_v − π‖²."""
    pol, th = seq
    pi = torch.softmax(th[0, 0], -1)
    w = pi * ((torch.eye(3, dtype=F64) - pi) ** 2).sum(-1)
    q = prefix_token_values(pol, th)[0, 0]
    assert abs(float(token_baseline_table(pol, th, "optimal")[0, 0]) - float((w * q).sum() / w.sum())) < 1e-14


def test_twin_token_dependent_baseline_bias_is_exact(seq):
    pol, th = seq
    groups, prob = enumerate_sequence_groups(pol, th, 1)
    b_tok = prefix_token_values(pol, th)  # b(q, p, y_t): depends on the token itself
    mean, _ = _moments(token_baseline_estimates(pol, th, groups, b_tok), prob)
    truth = sequence_policy_gradient(pol, th)
    bias = token_dependent_baseline_bias(pol, th, b_tok)
    assert (mean - truth - bias).abs().max() < TOL
    assert (mean - truth).abs().max() > 1e-3  # the unbiasedness check above rejects it


def _otb_group_estimates(pol, th, groups, leave_one_out):
    logits = group_token_logits(pol, th, groups)
    sum_pi_sq = (torch.softmax(logits, -1) ** 2).sum(-1)
    token_rewards = torch.zeros_like(groups.token_log_target)
    last = (groups.lengths - 1)[..., None]
    token_rewards.scatter_(-1, last, groups.rewards[..., None])  # outcome reward on the last token (verl)
    adv = optimal_token_baseline_advantages(token_rewards, groups.mask, groups.token_log_target, sum_pi_sq,
                                            leave_one_out=leave_one_out)
    return sequence_score_sum(pol, th, groups, adv) / groups.index.shape[1]


def test_otb_hand_value():
    """Two responses, lengths 2 and 1, outcome rewards 1 and 3; w = 1 − 2π + Σπ² entered directly."""
    r = torch.tensor([[[0.0, 1.0], [3.0, 0.0]]], dtype=F64)
    mask = torch.tensor([[[True, True], [True, False]]])
    pi_tok = torch.tensor([[[0.5, 0.25], [0.5, 1.0]]], dtype=F64)
    sq = torch.tensor([[[0.5, 0.375], [0.5, 0.5]]], dtype=F64)
    w = 1 - 2 * pi_tok + sq  # [[0.5, 0.875], [0.5, ·]]
    W = torch.tensor([[0.5, 1.375], [0.5, 0.0]], dtype=F64)
    assert torch.allclose(w[0, 0], torch.tensor([0.5, 0.875], dtype=F64))
    adv = optimal_token_baseline_advantages(r, mask, pi_tok.log(), sq, epsilon=0.0)
    b0 = (1 * 0.5 + 3 * 0.5) / 1.0  # position 0: G = (1, 3), W = (0.5, 0.5)
    b1 = 1.0  # position 1: only response 0 is alive
    assert torch.allclose(adv[0], torch.tensor([[1 - b0, 1 - b1], [3 - b0, 0.0]], dtype=F64))
    loo = optimal_token_baseline_advantages(r, mask, pi_tok.log(), sq, leave_one_out=True, epsilon=0.0)
    assert torch.allclose(loo[0], torch.tensor([[1 - 3, 1 - 0], [3 - 1, 0.0]], dtype=F64))  # no other response alive: 0
    assert torch.allclose(W, (w * mask)[0].cumsum(-1) * mask[0])


def test_otb_leave_one_out_is_unbiased_and_verl_is_not(seq):
    pol, th = seq
    groups, prob = enumerate_sequence_groups(pol, th, 2)
    truth = sequence_policy_gradient(pol, th)
    loo, _ = _moments(_otb_group_estimates(pol, th, groups, True), prob)
    verl, _ = _moments(_otb_group_estimates(pol, th, groups, False), prob)
    assert (loo - truth).abs().max() < TOL
    assert (verl - truth).abs().max() > 1e-3  # the self-inclusive group baseline is biased at G = 2


def test_token_baseline_bad_inputs(seq):
    pol, th = seq
    groups, _ = enumerate_sequence_groups(pol, th, 1)
    with pytest.raises(ValueError, match="^baseline: expected a prefix table"):
        token_baseline_coefficients(pol, groups, torch.zeros(3, dtype=F64))
    with pytest.raises(ValueError, match="^baseline: contains NaN"):
        token_baseline_coefficients(pol, groups, torch.full((2, pol.task.n_prefixes), float("nan")))
    with pytest.raises(ValueError, match="^kind: unknown token baseline"):
        token_baseline_table(pol, th, "best")
    with pytest.raises(TypeError, match="^policy: "):
        token_baseline_table("pol", th)
    with pytest.raises(ValueError, match="^theta: expected shape"):
        token_baseline_table(pol, th[None].expand(2, -1, -1, -1))
    with pytest.raises(TypeError, match="^groups: "):
        token_baseline_coefficients(pol, "groups", torch.zeros(2, pol.task.n_prefixes, dtype=F64))
    with pytest.raises(ValueError, match="^token_log_probs: log-probabilities must be <= 0"):
        token_score_sq_norm(torch.tensor([0.1], dtype=F64), torch.tensor([0.5], dtype=F64))
    with pytest.raises(ValueError, match="^sum_pi_squared: expected shape"):
        token_score_sq_norm(torch.tensor([-0.1], dtype=F64), torch.tensor([0.5, 0.5], dtype=F64))
    r = torch.zeros(1, 2, 2, dtype=F64)
    with pytest.raises(ValueError, match="^mask: expected shape"):
        optimal_token_baseline_advantages(r, torch.ones(1, 2, 3, dtype=torch.bool), r, r + 0.5)
    with pytest.raises(ValueError, match="^epsilon: must be non-negative"):
        optimal_token_baseline_advantages(r, torch.ones(1, 2, 2, dtype=torch.bool), r, r + 0.5, epsilon=-1.0)
    with pytest.raises(ValueError, match="^group_size: must be >= 1"):
        enumerate_sequence_groups(pol, th, 0)


# --------------------------------------------------------------------------------------------------------- all-action
def _layered_mdp(seed=0, gamma=0.9):
    """States 0 | 1, 2 | 3 | 4 (absorbing, reward 0): every episode reaches 4 at t = 3, so truncation at H = 3 is exact."""
    g = _gen(seed)
    S, A = 5, 2
    P = torch.zeros(S, A, S, dtype=F64)
    split = torch.rand(A, generator=g, dtype=F64) * 0.8 + 0.1
    P[0, :, 1], P[0, :, 2] = split, 1 - split
    P[1:3, :, 3] = 1.0
    P[3:, :, 4] = 1.0
    r = torch.randn(S, A, generator=g, dtype=F64)
    r[4] = 0.0
    return TabularMDP(P, r, gamma, torch.tensor([1.0, 0, 0, 0, 0], dtype=F64))


def _all_trajectories(mdp, pi, horizon):
    """Every H-step trajectory of positive probability as a step-major ``Trajectories`` batch, with its probability."""
    S, A = mdp.n_states, mdp.n_actions
    paths, probs = [], []
    for sa in itertools.product(range(S), range(A), repeat=horizon):
        s, a = sa[0::2], sa[1::2]
        p = mdp.initial[s[0]] * torch.prod(torch.stack([pi[s[t], a[t]] for t in range(horizon)]))
        p = p * torch.prod(torch.stack([mdp.transitions[s[t], a[t], s[t + 1]] for t in range(horizon - 1)]))
        if p > 0:
            paths.append((s, a))
            probs.append(p)
    N = len(paths)
    states = torch.tensor([[s[t] for s, _ in paths] for t in range(horizon)]).reshape(-1)
    actions = torch.tensor([[a[t] for _, a in paths] for t in range(horizon)]).reshape(-1)
    w = (mdp.discount ** torch.arange(horizon, dtype=F64)).repeat_interleave(N)
    lp = pi.log()[states, actions]
    traj = Trajectories(torch.arange(N).repeat(horizon), states, actions, mdp.rewards[states, actions], w, lp, lp,
                        tuple(range(0, (horizon + 1) * N, N)), N, "truncate", mdp.discount)
    return traj, torch.stack(probs)


@pytest.fixture(scope="module")
def layered():
    mdp = _layered_mdp()
    pol = TabularSoftmax(5, 2)
    th = pol.random_params(generator=_gen(3))
    traj, prob = _all_trajectories(mdp, pol.probs(th), 3)
    return mdp, pol, th, traj, prob


def test_all_action_hand_value():
    """One state, θ = 0 (π = ½, ½), Q = (1, 3), one step of weight 1: Σ_a ∇π(a) Q(a) = π ⊙ (Q − πᵀQ) = (−½, ½)."""
    mdp = TabularMDP(torch.ones(1, 2, 1, dtype=F64), torch.zeros(1, 2, dtype=F64), 0.5, torch.ones(1, dtype=F64))
    pol = TabularSoftmax(1, 2)
    th = torch.zeros(1, 2, dtype=F64)
    lp = torch.full((1,), -torch.log(torch.tensor(2.0, dtype=F64)).item(), dtype=F64)
    traj = Trajectories(torch.zeros(1, dtype=torch.long), torch.zeros(1, dtype=torch.long), torch.zeros(1, dtype=torch.long),
                        torch.zeros(1, dtype=F64), torch.ones(1, dtype=F64), lp, lp, (0, 1), 1, "geometric", mdp.discount)
    q = torch.tensor([[1.0, 3.0]], dtype=F64)
    for name in ALL_ACTION_ESTIMATORS:  # rlax qpg_loss has the same gradient for the softmax: −∇ Σ_a π(a)[Q − πᵀQ]
        assert torch.allclose(all_action_estimates(traj, pol, th, q, name), torch.tensor([[[-0.5, 0.5]]], dtype=F64))


@pytest.mark.parametrize("estimator", ["mac", "qpg"])
def test_all_action_is_exactly_unbiased_with_true_q(layered, estimator):
    mdp, pol, th, traj, prob = layered
    q = evaluate_policy(mdp, pol.probs(th)).q
    mean, _ = _moments(all_action_estimates(traj, pol, th, q, estimator), prob)
    assert (mean - policy_gradient(mdp, pol, th)).abs().max() < TOL
    assert all_action_bias(mdp, pol, th, q, estimator).abs().max() < TOL


def test_all_action_generic_policy_path_is_unbiased():
    mdp = _layered_mdp(seed=1)
    pol = LogLinearSoftmax(torch.randn(5, 2, 3, generator=_gen(4), dtype=F64))
    th = pol.random_params(generator=_gen(5))
    traj, prob = _all_trajectories(mdp, pol.probs(th), 3)
    mean, _ = _moments(all_action_estimates(traj, pol, th, evaluate_policy(mdp, pol.probs(th)).q), prob)
    assert (mean - policy_gradient(mdp, pol, th)).abs().max() < TOL


@pytest.mark.parametrize("estimator", ["mac", "qpg"])
def test_twin_noisy_critic_bias_is_exact(layered, estimator):
    mdp, pol, th, traj, prob = layered
    noise = torch.randn(5, 2, generator=_gen(6), dtype=F64)
    noise[4] = 0.0  # the absorbing state lies beyond the horizon
    q = evaluate_policy(mdp, pol.probs(th)).q + noise
    mean, _ = _moments(all_action_estimates(traj, pol, th, q, estimator), prob)
    truth = policy_gradient(mdp, pol, th)
    bias = all_action_bias(mdp, pol, th, q, estimator)
    assert (mean - truth - bias).abs().max() < TOL
    assert (mean - truth).abs().max() > 1e-3


def test_all_action_variance_is_below_single_action(layered):
    mdp, pol, th, traj, prob = layered
    q = evaluate_policy(mdp, pol.probs(th)).q
    mean_all, var_all = _moments(all_action_estimates(traj, pol, th, q, "mac"), prob)
    mean_one, var_one = _moments(policy_gradient_estimates(traj, pol, th, "actor_critic_q", critic=q), prob)
    assert (mean_all - mean_one).abs().max() < TOL
    assert var_all < var_one


def test_all_action_bad_inputs(layered):
    mdp, pol, th, traj, _ = layered
    q = evaluate_policy(mdp, pol.probs(th)).q
    with pytest.raises(ValueError, match="^critic: expected shape"):
        all_action_estimates(traj, pol, th, q[:, :1])
    with pytest.raises(ValueError, match="^critic: contains NaN"):
        all_action_estimates(traj, pol, th, torch.full_like(q, float("nan")))
    with pytest.raises(ValueError, match="^estimator: unknown all-action estimator"):
        all_action_estimates(traj, pol, th, q, "sac")
    with pytest.raises(TypeError, match="^traj: "):
        all_action_estimates("traj", pol, th, q)
    with pytest.raises(ValueError, match="^theta: log π_θ"):
        all_action_estimates(traj, pol, th + torch.tensor([1.0, 0.0], dtype=F64), q)
    with pytest.raises(TypeError, match="^mdp: "):
        all_action_bias("mdp", pol, th, q)


# ------------------------------------------------------------------------------------------------------------ entropy
def test_token_entropy_hand_values():
    z = torch.tensor([[0.0, 0.0], [0.0, float(torch.log(torch.tensor(3.0)))]], dtype=F64)
    p = torch.tensor([0.25, 0.75], dtype=F64)
    assert torch.allclose(token_entropy(z), torch.stack([torch.log(torch.tensor(2.0, dtype=F64)), -(p * p.log()).sum()]),
                          atol=1e-15)


def test_entropy_bonus_hand_aggregations():
    z = torch.zeros(1, 2, 2, 2, dtype=F64)  # every token has entropy log 2
    mask = torch.tensor([[[True, True], [True, False]]])
    l2 = float(torch.log(torch.tensor(2.0, dtype=F64)))
    assert abs(float(entropy_bonus(z, mask, "token_mean")) - l2) < 1e-15
    assert abs(float(entropy_bonus(z, mask, "seq_mean_token_sum")) - 1.5 * l2) < 1e-15


def test_entropy_bonus_expectation_is_the_sequence_entropy(seq):
    pol, th = seq
    groups, prob = enumerate_sequence_groups(pol, th, 1)
    bonus = entropy_bonus(group_token_logits(pol, th, groups), groups.mask, "seq_mean_token_sum")
    H = sequence_entropy(pol, th)
    assert abs(float((prob * bonus).sum()) - float((pol.task.prompt_weights * H).sum())) < TOL
    token_mean = entropy_bonus(group_token_logits(pol, th, groups), groups.mask, "token_mean")  # twin: per-token mean
    assert abs(float((prob * token_mean).sum()) - float((pol.task.prompt_weights * H).sum())) > 1e-3


def test_practitioner_entropy_gradient_bias_is_exact(seq):
    pol, th = seq
    groups, prob = enumerate_sequence_groups(pol, th, 1)
    t = th.clone().requires_grad_(True)
    bonus = entropy_bonus(group_token_logits(pol, t, groups), groups.mask, "seq_mean_token_sum")
    (practitioner,) = torch.autograd.grad((prob * bonus).sum(), t)  # E[∇ Σ_t H_t]: the sampling law held fixed
    t2 = th.clone().requires_grad_(True)
    (true_grad,) = torch.autograd.grad((pol.task.prompt_weights * sequence_entropy(pol, t2)).sum(), t2)
    bias = entropy_bonus_gradient_bias(pol, th)
    assert (practitioner - true_grad - bias).abs().max() < TOL
    assert (practitioner - true_grad).abs().max() > 1e-3


def test_entropy_controllers_hand_values():
    up = update_entropy_coefficient(0.004, 0.1, "skywork_or1", target=0.2, delta=0.001, max_coef=0.005)
    assert up == pytest.approx((0.005, 0.005))  # below target: +Δ, clipped at c_max, bonus on
    down = update_entropy_coefficient(0.004, 0.3, "skywork_or1", target=0.2, delta=0.001, max_coef=0.005)
    assert down == pytest.approx((0.003, 0.0))  # above target: −Δ and the bonus switched off
    floor = update_entropy_coefficient(0.0005, 0.3, "skywork_or1", target=0.2, delta=0.001, max_coef=0.005)
    assert floor == pytest.approx((0.0, 0.0))
    sac = update_entropy_coefficient(0.1, 0.5, "sac_log_alpha", target=1.0, lr=0.2)
    assert sac == pytest.approx((0.1 * math.exp(0.1), 0.1 * math.exp(0.1)), rel=1e-14)  # α·e^{lr(H̄ − H)}
    assert set(ENTROPY_CONTROLLERS.names()) == {"sac_log_alpha", "skywork_or1"}


def test_top_entropy_mask_hand_values():
    H = torch.tensor([[0.9, 0.1, 0.5, 0.7], [0.3, 0.9, 0.2, 0.0]], dtype=F64)
    mask = torch.tensor([[True, True, True, True], [True, True, True, False]])
    # n = 7 real tokens, ρ = 0.2: k = int(1.4 + 0.9999) = 2; the two 0.9 ties are both kept
    assert top_entropy_mask(H, mask).tolist() == [[True, False, False, False], [False, True, False, False]]
    assert top_entropy_mask(H, mask, top_ratio=0.5).sum() == 4  # int(3.5 + 0.9999) = 4
    # TRL: τ = quantile(0.8) of (0.9, 0.1, 0.5, 0.7, 0.3, 0.9, 0.2) = 0.82 → both 0.9 tokens
    assert entropy_quantile_mask(H, mask).tolist() == top_entropy_mask(H, mask).tolist()
    ties = torch.tensor([[0.5, 0.5, 0.5]], dtype=F64)
    full = torch.ones(1, 3, dtype=torch.bool)
    assert top_entropy_mask(ties, full, top_ratio=0.3).tolist() == [[True, False, False]]  # k = 1, first position
    assert entropy_quantile_mask(ties, full, top_ratio=0.3).tolist() == [[True, True, True]]  # ties all kept
    assert not top_entropy_mask(H, torch.zeros_like(mask)).any()


def _masked_mean(pol, th, groups, prob, token_weight):
    coef = token_baseline_coefficients(pol, groups, token_baseline_table(pol, th, "value")) * token_weight
    return _moments(sequence_score_sum(pol, th, groups, coef), prob)[0]


def test_entropy_threshold_mask_bias_is_exact_and_random_mask_twin(seq):
    pol, th = seq
    groups, prob = enumerate_sequence_groups(pol, th, 1)
    truth = sequence_policy_gradient(pol, th)
    H_prefix = token_entropy(th)  # [M, P]
    tau = float(H_prefix.flatten().kthvalue(H_prefix.numel() - 3).values)  # keep the four highest-entropy prefixes
    H_tok = token_entropy(group_token_logits(pol, th, groups))
    keep = entropy_threshold_mask(H_tok, groups.mask, threshold=tau)
    mean = _masked_mean(pol, th, groups, prob, keep.to(F64))
    kept_blocks = (H_prefix >= tau).to(F64)[..., None]
    assert (mean - kept_blocks * truth).abs().max() < TOL  # bias = −1[H(q,p) < τ] ⊙ ∇J
    rho = 0.2  # twin: a random mask keeping each token with probability ρ has E = ρ∇J (linearity in the mask)
    mean_random = _masked_mean(pol, th, groups, prob, rho * groups.mask.to(F64))
    assert (mean_random - rho * truth).abs().max() < TOL
    assert (mean_random - kept_blocks * truth).abs().max() > 1e-3  # a different bias: the same check tells them apart


def test_batch_level_top_entropy_mask_is_biased_exactly(seq):
    """The batch-level rule (80/20 convention) on groups of 2 responses: its exact mean is neither ∇J nor ρ∇J."""
    pol, th = seq
    groups, prob = enumerate_sequence_groups(pol, th, 2)
    H_tok = token_entropy(group_token_logits(pol, th, groups))
    keep = torch.stack([top_entropy_mask(H_tok[b], groups.mask[b]) for b in range(H_tok.shape[0])])
    coef = token_baseline_coefficients(pol, groups, token_baseline_table(pol, th, "value")) * keep
    mean = _moments(sequence_score_sum(pol, th, groups, coef) / 2, prob)[0]
    truth = sequence_policy_gradient(pol, th)
    assert (mean - truth).abs().max() > 1e-3 and (mean - 0.2 * truth).abs().max() > 1e-3


def test_entropy_bad_inputs(seq):
    pol, th = seq
    H = torch.rand(2, 3, dtype=F64)
    mask = torch.ones(2, 3, dtype=torch.bool)
    with pytest.raises(ValueError, match="^top_ratio: must lie in"):
        top_entropy_mask(H, mask, top_ratio=0.0)
    with pytest.raises(ValueError, match="^mask: expected shape"):
        entropy_quantile_mask(H, mask[:, :2])
    with pytest.raises(ValueError, match="^entropy: contains NaN"):
        top_entropy_mask(torch.full((2, 3), float("nan")), mask)
    with pytest.raises(TypeError, match="^logits: "):
        token_entropy(torch.zeros(3, dtype=torch.long))
    with pytest.raises(ValueError, match="^mask: expected shape"):
        entropy_bonus(torch.zeros(1, 2, 2, 3, dtype=F64), torch.ones(1, 2, 3, dtype=torch.bool))
    with pytest.raises(ValueError, match="^rule: unknown entropy controller"):
        update_entropy_coefficient(0.1, 0.5, "pid", target=1.0)
    with pytest.raises(TypeError, match="^lr: unexpected keyword"):
        update_entropy_coefficient(0.1, 0.5, "skywork_or1", target=1.0, delta=0.1, max_coef=1.0, lr=0.1)
    with pytest.raises(ValueError, match="^coef: must be non-negative"):
        update_entropy_coefficient(-0.1, 0.5, "sac_log_alpha", target=1.0, lr=0.1)
    with pytest.raises(ValueError, match="^max_coef: must be non-negative"):
        update_entropy_coefficient(0.1, 0.5, "skywork_or1", target=1.0, delta=0.1, max_coef=-1.0)
    with pytest.raises(ValueError, match="^theta: expected shape"):
        entropy_bonus_gradient_bias(pol, th[0])


def test_sample_estimators_create_no_tensor_on_the_default_device(layered):
    """With the default device set to 'meta', a factory call without ``device=`` would land on meta and fail."""
    mdp, pol, th, traj, _ = layered
    q = evaluate_policy(mdp, pol.probs(th)).q
    g = _gen(0)
    lp = -torch.rand(3, 4, 5, generator=g, dtype=F64)
    H = torch.rand(3, 4, 5, generator=g, dtype=F64)
    mask = torch.rand(3, 4, 5, generator=g) < 0.8
    logits = torch.randn(3, 4, 5, 6, generator=g, dtype=F64)
    torch.set_default_device("meta")
    try:
        outs = [optimal_token_baseline_advantages(H, mask, lp, (lp.exp() ** 2 + 1) / 2), top_entropy_mask(H, mask),
                entropy_quantile_mask(H, mask), entropy_threshold_mask(H, mask, threshold=0.5),
                entropy_bonus(logits, mask), all_action_estimates(traj, pol, th, q, "qpg")]
        assert all(o.device.type == "cpu" for o in outs)
    finally:
        torch.set_default_device("cpu")


def test_qpg_and_mac_weights_differ_by_the_policy_mean_of_the_critic_under_a_direct_policy():
    """Under softmax Σ_a ∇π(a|s) = 0 hides any state baseline, so QPG ≡ MAC there; a direct (simplex) policy tells
    them apart. π = (0.3, 0.7), Q̂ = (1, 3): Σ_b π Q̂ = 2.4, so ψ_QPG = (−1.4, 0.6) and ψ_MAC = (1, 3) (rlax ``qpg_loss``).
    Twin: a wrong baseline (max_a Q̂ instead of the policy mean) gives other weights."""
    from pgtheory.estimators.all_action import all_action_weights
    from pgtheory.policies import DirectPolicy

    pol = DirectPolicy(1, 2)
    theta = torch.tensor([[0.3, 0.7]], dtype=torch.float64)
    Q = torch.tensor([[1.0, 3.0]], dtype=torch.float64)
    qpg = all_action_weights(pol, theta, Q, "qpg")
    assert torch.allclose(qpg, torch.tensor([[-1.4, 0.6]], dtype=torch.float64), atol=1e-15)
    assert torch.allclose(all_action_weights(pol, theta, Q, "mac"), Q)
    assert not torch.allclose(qpg, Q - Q.max(-1, keepdim=True).values)


def test_token_score_sq_norm_refuses_inconsistent_inputs():
    """π(y) = 0.9 but Σπ² = 0.1 < 0.81 cannot come from one distribution (the norm would be −0.7). Twin: Σπ² = 0.82."""
    from pgtheory.estimators.token_baselines import token_score_sq_norm

    lp = torch.tensor([math.log(0.9)], dtype=torch.float64)
    with pytest.raises(ValueError, match="sum_pi_squared: Σ_u π"):
        token_score_sq_norm(lp, torch.tensor([0.1], dtype=torch.float64))
    assert float(token_score_sq_norm(lp, torch.tensor([0.82], dtype=torch.float64))) == pytest.approx(1 - 1.8 + 0.82)
