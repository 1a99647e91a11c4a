"""Training/inference-mismatch corrections: verl/TRL hand values, exact expectations over every response of a toy
LLM pair (π, μ) against the biases the docstrings claim, a twin per claim, and named input errors."""
import math

import pytest
import torch

from pgtheory.estimators.mismatch import MISMATCH_CORRECTIONS, mismatch_weights, rejection_statistic
from pgtheory.estimators.token_surrogates import TOKEN_SURROGATES
from pgtheory.exact.groups import enumerate_groups
from pgtheory.exact.sequence import prefix_values, sequence_policy_gradient
from pgtheory.policies.sequence import TabularSequencePolicy
from pgtheory.problems.sequence import SequenceTask

D = torch.float64

# ---------------------------------------------------------------- hand values (verl / TRL conventions by name)
# two responses: ρ = (3, 0.5, 1) and (1.5, 1.2, padding); sequence ratios 1.5 and 1.8
LR = torch.tensor([[math.log(3.0), math.log(0.5), 0.0], [math.log(1.5), math.log(1.2), 0.0]], dtype=D)
MASK = torch.tensor([[True, True, True], [True, True, False]])


def _w(kind, **hp):
    return mismatch_weights(kind, LR, MASK, **hp)


def _close(a, b):
    return torch.allclose(a, torch.as_tensor(b, dtype=D), atol=1e-12, rtol=0)


def test_hand_values_truncated_and_masked_is():
    assert _close(_w("token_tis"), [[2.0, 0.5, 1.0], [1.5, 1.2, 0.0]])  # verl rollout_is="token", threshold 2.0
    assert _close(_w("seq_tis"), [[1.5] * 3, [1.8, 1.8, 0.0]])  # verl rollout_is="sequence"
    assert _close(_w("seq_tis", threshold=1.6), [[1.5] * 3, [1.6, 1.6, 0.0]])
    assert _close(_w("seq_is"), [[1.5] * 3, [1.8, 1.8, 0.0]])
    assert _close(_w("token_mis"), [[0.0, 0.5, 1.0], [1.5, 1.2, 0.0]])  # TRL "token_mask" with clip_max = 2
    assert _close(_w("token_mis", threshold=3.5, lower=0.6), [[3.0, 0.0, 1.0], [1.5, 1.2, 0.0]])
    assert _close(_w("seq_mis", threshold=1.6), [[1.5] * 3, [0.0, 0.0, 0.0]])  # TRL "sequence_mask"
    assert _close(_w("seq_mis", threshold=2.0, lower=1.6), [[0.0] * 3, [1.8, 1.8, 0.0]])


def test_hand_values_batch_normalisation():
    # verl rollout_is_batch_normalize: token level divides by the mean over real tokens (6.2/5), sequence level by
    # the mean of the sequence weights ((1.5 + 1.8)/2)
    assert _close(_w("token_tis", batch_normalize=True), torch.tensor([[2.0, 0.5, 1.0], [1.5, 1.2, 0.0]], dtype=D) / 1.24)
    assert _close(_w("seq_tis", batch_normalize=True), torch.tensor([[1.5] * 3, [1.8, 1.8, 0.0]], dtype=D) / 1.65)
    # batch_dim pools the chosen axis only: two replicate batches stacked on a new leading axis normalise separately
    two = mismatch_weights("seq_tis", torch.stack([LR, LR * 0]), torch.stack([MASK, MASK]), batch_normalize=True)
    assert _close(two[0], _w("seq_tis", batch_normalize=True)) and _close(two[1], MASK.to(D))


@pytest.mark.parametrize("statistic, upper, lower, expected", [
    # k1 = −ℓ, kept iff lower ≤ e^{k1} = 1/ρ ≤ upper (verl's code): ρ ∈ [2/3, 2]
    ("token_k1", 1.5, 0.5, [[0, 0, 1], [1, 1, 0]]),
    ("token_k1", 2.0, None, [[0, 1, 1], [1, 1, 0]]),  # lower = 1/upper: ρ ∈ [1/2, 2]
    ("token_k2", 0.1, None, [[0, 0, 1], [1, 1, 0]]),  # ½ℓ² = 0.603, 0.240, 0 | 0.082, 0.017
    ("token_k3", 0.15, None, [[0, 0, 1], [1, 1, 0]]),  # ρ − 1 − ℓ = 0.901, 0.193, 0 | 0.095, 0.018
    ("token_k3", 0.2, None, [[0, 1, 1], [1, 1, 0]]),
    ("seq_sum_k1", 2.0, 0.5, [[1, 1, 1], [1, 1, 0]]),  # 1/ρ(y) = 0.667, 0.556
    ("seq_sum_k1", 1.4, 0.6, [[1, 1, 1], [0, 0, 0]]),
    ("seq_mean_k1", 1.25, 0.8, [[1, 1, 1], [0, 0, 0]]),  # 1/geometric mean = 1.5^(−1/3) = 0.874, 1.8^(−1/2) = 0.745
    ("seq_sum_k2", 0.5, None, [[0, 0, 0], [1, 1, 0]]),  # 0.843 | 0.099
    ("seq_mean_k2", 0.2, None, [[0, 0, 0], [1, 1, 0]]),  # 0.281 | 0.049
    ("seq_sum_k3", 0.5, None, [[0, 0, 0], [1, 1, 0]]),  # 1.094 | 0.112
    ("seq_mean_k3", 0.4, None, [[1, 1, 1], [1, 1, 0]]),  # 0.365 | 0.056
    ("seq_max_k2", 0.3, None, [[0, 0, 0], [1, 1, 0]]),  # 0.603 | 0.082
    ("seq_max_k3", 0.95, None, [[1, 1, 1], [1, 1, 0]]),  # 0.901 | 0.095
])
def test_hand_values_rejection_options(statistic, upper, lower, expected):
    assert _close(_w("rs", statistic=statistic, upper=upper, lower=lower), expected)


def test_k1_bounds_follow_verls_code_not_its_docs():
    # twin: verl's docs write lower ≤ ρ ≤ upper; with asymmetric bounds that keeps ρ = 0.5 and 1.5 — not the code
    docs_reading = (LR.exp() >= 0.5) & (LR.exp() <= 1.5) & MASK
    assert not _close(_w("rs", statistic="token_k1", upper=1.5, lower=0.5), docs_reading.to(D))


def test_hand_values_verl_presets():
    # decoupled_seq_is_rs (Seq-MIS): sequence TIS 2.0 × seq_sum_k1 "0.5_2.0"
    preset = _w("verl", rollout_is="sequence", rollout_is_threshold=2.0, rollout_rs="seq_sum_k1", rollout_rs_threshold="0.5_2.0")
    assert _close(preset, [[1.5] * 3, [1.8, 1.8, 0.0]])
    # decoupled_geo_rs_token_tis: token TIS × seq_mean_k1 "0.8_1.25" (default preset bounds are 0.999_1.001)
    assert _close(_w("verl", rollout_is="token", rollout_rs="seq_mean_k1", rollout_rs_threshold="0.8_1.25"),
                  [[2.0, 0.5, 1.0], [0.0, 0.0, 0.0]])
    # bypass_ppo_clip_k3_rs / decoupled_k3_rs: no IS weight, seq_mean_k3 with 0.01 rejects both responses here
    assert _close(_w("verl", rollout_rs="seq_mean_k3", rollout_rs_threshold=0.01), torch.zeros(2, 3))
    # chained options must all pass ("token_k1,seq_max_k3" with "0.5_2.0,0.95")
    assert _close(_w("verl", rollout_rs="token_k1,seq_max_k3", rollout_rs_threshold="0.5_2.0,0.95"),
                  [[0, 1, 1], [1, 1, 0]])
    # nothing enabled: the mask itself
    assert _close(_w("verl"), MASK.to(D))


def test_verl_seq_mis_preset_equals_seq_mis_on_random_input():
    g = torch.Generator().manual_seed(3)
    lr = 0.4 * torch.randn(64, 5, generator=g, dtype=D)
    m = torch.arange(5)[None] < torch.randint(1, 6, (64, 1), generator=g)
    preset = mismatch_weights("verl", lr, m, rollout_is="sequence", rollout_rs="seq_sum_k1", rollout_rs_threshold="0.5_2.0")
    assert _close(preset, mismatch_weights("seq_mis", lr, m, threshold=2.0, lower=0.5))


def test_hand_values_opsm():
    # drift = −mean ℓ: row 0 −log(1.5)/3 = −0.135, row 1 −log(1.8)/2 = −0.294; dropped iff A < 0 and drift > δ
    adv = torch.tensor([-1.0, -1.0], dtype=D)
    assert _close(_w("opsm", advantages=adv, delta=-0.2), [[0, 0, 0], [1, 1, 0]])
    assert _close(_w("opsm", advantages=adv, delta=-0.3), [[0, 0, 0], [0, 0, 0]])
    assert _close(_w("opsm", advantages=torch.tensor([0.0, 1.0]), delta=-1.0), MASK.to(D))  # A ≥ 0 kept (TRL)
    per_token = torch.tensor([[-1.0, 2.0, -1.0], [1.0, 1.0, 1.0]], dtype=D)  # the paper's Â_{i,t}
    assert _close(_w("opsm", advantages=per_token, delta=-0.2), [[0, 1, 0], [1, 1, 0]])


def test_hand_values_bypass_ppo_clip():
    # A > 0: keep ρ ≤ 1.2 (ρ = 3 and 1.5 clipped); A < 0: keep 0.8 ≤ ρ ≤ c (dual clip at c, verl's default 3)
    assert _close(_w("bypass_ppo_clip", advantages=torch.tensor([1.0, 1.0])), [[0, 0.5, 1.0], [0, 1.2, 0]])
    assert _close(_w("bypass_ppo_clip", advantages=torch.tensor([-1.0, -1.0]), clip_ratio_c=3.5), [[3.0, 0, 1.0], [1.5, 1.2, 0]])
    assert _close(_w("bypass_ppo_clip", advantages=torch.tensor([-1.0, -1.0]), clip_ratio_c=2.5), [[0, 0, 1.0], [1.5, 1.2, 0]])
    assert _close(_w("bypass_ppo_clip", advantages=torch.tensor([1.0, 1.0]), clip_ratio_high=0.28, clip_ratio_low=0.6),
                  [[0, 0.5, 1.0], [0, 1.2, 0]])


def test_bypass_ppo_clip_is_the_gradient_of_the_dual_clip_loss():
    g = torch.Generator().manual_seed(5)
    lo = -torch.rand(40, 6, generator=g, dtype=D) * 2
    lp = (lo + torch.randn(40, 6, generator=g, dtype=D)).requires_grad_(True)
    adv = torch.randn(40, generator=g, dtype=D)
    m = torch.ones(40, 6, dtype=torch.bool)
    values = TOKEN_SURROGATES.get("dual_clip")(lp, lo, adv, m, eps=0.2, c=3.0)
    (coef,) = torch.autograd.grad(values.sum(), lp)  # ∂(surrogate)/∂log π = w_t·A
    w = mismatch_weights("bypass_ppo_clip", (lp - lo).detach(), m, advantages=adv)
    assert torch.allclose(w * adv[:, None], coef, atol=1e-12)
    # twin: plain PPO clip (no dual clip) differs on the A < 0, ρ > 3 tokens
    twin = mismatch_weights("bypass_ppo_clip", (lp - lo).detach(), m, advantages=adv, clip_ratio_c=1e6)
    assert not torch.allclose(twin * adv[:, None], coef, atol=1e-6)


# ---------------------------------------------------------------- exact expectations over a toy LLM pair (π, μ)
V, L, M = 3, 3, 2
_g = torch.Generator().manual_seed(11)
TASK = SequenceTask(V, L, M, reward=torch.rand(M, 15, generator=_g, dtype=D))
POL = TabularSequencePolicy(TASK)
TH_PI = POL.random_params(generator=_g)
TH_MU = TH_PI + 1.2 * POL.random_params(generator=_g)
BASELINE = 0.4
LP_PI, LP_MU = POL.sequence_token_log_probs(TH_PI), POL.sequence_token_log_probs(TH_MU)  # [M, N, L]
TMASK = TASK.mask.expand(M, -1, -1)
LOG_RATIO = LP_PI - LP_MU
P_PI, P_MU = LP_PI.sum(-1).exp(), LP_MU.sum(-1).exp()  # [M, N]
RHO = P_PI / P_MU
ADV = TASK.rewards - BASELINE  # [M, N]
PW = TASK.prompt_weights[:, None]  # [M, 1]
GRAD_J = sequence_policy_gradient(POL, TH_PI)


def token_score_sum(coef: torch.Tensor) -> torch.Tensor:
    """Σ_{q,y,t} coef ∇_θ log π(y_t|h_t) at θ_π: ``[M, P, V]`` (coef ``[M, N, L]`` is a constant)."""
    th = TH_PI.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad((coef * POL.sequence_token_log_probs(th)).sum(), th)
    return grad


def expected_estimate(w: torch.Tensor) -> torch.Tensor:
    """E_μ[Σ_t w_t A ∇log π(y_t)] (prompt-weighted), summing over every response."""
    return token_score_sum(PW[..., None] * P_MU[..., None] * w * ADV[..., None])


def sequence_term(weight: torch.Tensor, probs: torch.Tensor) -> torch.Tensor:
    """E_{probs}[weight(y) A(y) ∇log π(y)] for a per-response weight ``[M, N]``."""
    return token_score_sum((PW * probs * weight * ADV)[..., None] * TMASK)


def _differs(a, b):
    return (a - b).abs().max() > 1e-4


def test_toy_pair_is_off_policy():
    assert float(RHO.max()) > 2.5 and float(RHO.min()) < 0.4 and float(LOG_RATIO.abs().max()) > 1.0


def test_seq_is_is_exactly_unbiased_and_token_is_is_not():
    assert torch.allclose(expected_estimate(mismatch_weights("seq_is", LOG_RATIO, TMASK)), GRAD_J, atol=1e-10)
    token_is = mismatch_weights("token_tis", LOG_RATIO, TMASK, threshold=1e6)  # twin: untruncated token ratios
    assert _differs(expected_estimate(token_is), GRAD_J)


@pytest.mark.parametrize("C", [1.3, 2.0])
def test_seq_tis_bias_is_minus_truncated_mass(C):
    assert float((RHO > C).sum()) > 0
    est = expected_estimate(mismatch_weights("seq_tis", LOG_RATIO, TMASK, threshold=C))
    claim = GRAD_J - sequence_term((1 - C / RHO).clamp(min=0), P_PI)  # ∇J − E_π[(1 − C/ρ)_+ f]
    assert torch.allclose(est, claim, atol=1e-10)
    twin = GRAD_J - sequence_term((1 - RHO / C).clamp(min=0), P_PI)  # C/ρ inverted
    assert _differs(est, twin)


def test_seq_mis_bias_is_minus_masked_mass():
    C, lo = 1.5, 0.5
    est = expected_estimate(mismatch_weights("seq_mis", LOG_RATIO, TMASK, threshold=C, lower=lo))
    outside = ((RHO < lo) | (RHO > C)).to(D)
    assert torch.allclose(est, GRAD_J - sequence_term(outside, P_PI), atol=1e-10)
    twin = GRAD_J - sequence_term((RHO > C).to(D), P_PI)  # forgets the lower bound
    assert _differs(est, twin)


def _edge_tables():
    """child[p, a] (−1 where the token ends the response) and response[p, a] (the response that token ends)."""
    child = torch.full((TASK.n_prefixes, V), -1, dtype=torch.long)
    response = torch.full((TASK.n_prefixes, V), -1, dtype=torch.long)
    for n in range(TASK.n_sequences):
        n_tok = int(TASK.lengths[n])
        for t in range(n_tok):
            p, a = int(TASK.prefix_ids[n, t]), int(TASK.tokens[n, t])
            if t + 1 < n_tok:
                child[p, a] = TASK.prefix_ids[n, t + 1]
            else:
                response[p, a] = n
    return child, response


def per_prefix_gradient(theta_state, token_weight):
    """Σ_h d(h) Σ_a μ(a|h) w(a|h) Q(h, a) ∇log π(a|h), with d and Q = E[R − b | h, a] from the prefix values of the
    policy ``theta_state`` and w(a|h) from the per-prefix token probabilities (no enumeration of responses)."""
    child, response = _edge_tables()
    value, reach = prefix_values(POL, theta_state)  # [M, P]
    terminal = response >= 0
    q_next = value[:, child.clamp(min=0)]  # [M, P, V]
    q_end = TASK.rewards[:, response.clamp(min=0)]
    q = torch.where(terminal, q_end, q_next) - BASELINE
    mu_tok = POL.token_log_probs(TH_MU).exp()
    pi_tok = POL.token_log_probs(TH_PI).exp()
    weight = token_weight(pi_tok, mu_tok)  # [M, P, V]
    own = POL.token_log_probs(theta_state).exp()  # the action distribution that matches d and Q
    coef = PW[..., None] * reach[..., None] * own * weight * q
    th = TH_PI.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad((coef * POL.token_log_probs(th)).sum(), th)
    return grad


TOKEN_RULES = {  # kind, hyper-parameters, w(a|h) from the token probabilities
    "token_tis": ({"threshold": 1.4}, lambda pi, mu: (pi / mu).clamp(max=1.4)),
    "token_mis": ({"threshold": 1.6, "lower": 0.5}, lambda pi, mu: (pi / mu) * ((pi / mu >= 0.5) & (pi / mu <= 1.6))),
    "rs": ({"statistic": "token_k3", "upper": 0.2},
           lambda pi, mu: ((pi / mu - 1 - torch.log(pi / mu)) <= 0.2).to(D)),
}


def test_per_prefix_formula_reproduces_the_on_policy_gradient():
    # the formula's machinery on-policy (d^π, Q^π, weight 1) is ∇J
    assert torch.allclose(per_prefix_gradient(TH_PI, lambda pi, mu: torch.ones_like(pi)), GRAD_J, atol=1e-10)


@pytest.mark.parametrize("kind", list(TOKEN_RULES))
def test_token_level_weights_keep_the_rollout_prefix_distribution_and_continuation(kind):
    hp, rule = TOKEN_RULES[kind]
    est = expected_estimate(mismatch_weights(kind, LOG_RATIO, TMASK, **hp))
    # μ(a|h)·w(a|h): the formula multiplies μ's own action probabilities by w
    assert torch.allclose(est, per_prefix_gradient(TH_MU, rule), atol=1e-10)
    # twin: the same token weights with π's prefix distribution and continuation (what "token IS is unbiased up to
    # truncation" would claim)
    twin = per_prefix_gradient(TH_PI, lambda pi, mu: rule(pi, mu) * mu / pi)
    assert _differs(est, twin)


def _seq_mean_k1():
    return -(LP_PI.sum(-1) - LP_MU.sum(-1)) / TASK.lengths.to(D)  # −(1/|y|) log ρ(y), from sequence log-probs


def test_geometric_rejection_is_the_rollout_gradient_on_the_accepted_set():
    upper, lower = 1.2, 0.9  # keep e^{stat} = ρ(y)^{−1/|y|} in [0.9, 1.2]
    stat = _seq_mean_k1()
    accepted = ((stat >= math.log(lower)) & (stat <= math.log(upper))).to(D)
    assert 0 < float(accepted.sum()) < accepted.numel()
    est = expected_estimate(mismatch_weights("rs", LOG_RATIO, TMASK, statistic="seq_mean_k1", upper=upper, lower=lower))
    assert torch.allclose(est, sequence_term(accepted, P_MU), atol=1e-10)  # E_μ[1_𝒜 f]
    twin = mismatch_weights("rs", LOG_RATIO, TMASK, statistic="seq_sum_k1", upper=upper, lower=lower)  # sum, not mean
    assert _differs(expected_estimate(twin), sequence_term(accepted, P_MU))
    assert _differs(est, GRAD_J)  # rejection alone keeps μ's measure: biased for ∇J


def test_rejection_statistic_matches_sequence_quantities():
    stat = rejection_statistic(LOG_RATIO, TMASK, "seq_mean_k1")
    assert torch.allclose(stat[..., 0], _seq_mean_k1(), atol=1e-12)
    total = rejection_statistic(LOG_RATIO, TMASK, "seq_sum_k1")[..., 0]
    assert torch.allclose(total, -(LP_PI.sum(-1) - LP_MU.sum(-1)), atol=1e-12)


def test_opsm_drops_negative_advantage_high_drift_sequences_from_the_rollout_gradient():
    delta = 0.03
    drop = ((ADV < 0) & (_seq_mean_k1() > delta)).to(D)
    assert 0 < float(drop.sum()) < float((ADV < 0).sum())
    est = expected_estimate(mismatch_weights("opsm", LOG_RATIO, TMASK, advantages=ADV, delta=delta))
    assert torch.allclose(est, sequence_term(1 - drop, P_MU), atol=1e-10)  # E_μ[f] − E_μ[1_drop f]
    total_drift = -(LP_PI.sum(-1) - LP_MU.sum(-1))  # twin: sequence sum instead of the token mean
    twin = ((ADV < 0) & (total_drift > delta)).to(D)
    assert _differs(est, sequence_term(1 - twin, P_MU))


def test_bypass_ppo_clip_is_the_exact_gradient_of_the_expected_clipped_loss():
    w = mismatch_weights("bypass_ppo_clip", LOG_RATIO, TMASK, advantages=ADV)
    assert float(((LOG_RATIO.exp() > 3) & TMASK & (ADV[..., None] < 0)).sum()) > 0  # the dual clip binds somewhere
    th = TH_PI.clone().requires_grad_(True)
    values = TOKEN_SURROGATES.get("dual_clip")(POL.sequence_token_log_probs(th), LP_MU, ADV, TMASK, eps=0.2, c=3.0)
    (grad,) = torch.autograd.grad((PW[..., None] * P_MU[..., None] * values * TMASK).sum(), th)
    assert torch.allclose(expected_estimate(w), grad, atol=1e-10)
    twin = mismatch_weights("bypass_ppo_clip", LOG_RATIO, TMASK, advantages=ADV, clip_ratio_c=1e6)
    assert _differs(expected_estimate(twin), grad)


def _score_rows(q: int) -> torch.Tensor:
    """∇log π(y|q) for every response y of prompt q, flattened: ``[N, M·P·V]``."""
    rows = []
    for n in range(TASK.n_sequences):
        th = TH_PI.clone().requires_grad_(True)
        (g,) = torch.autograd.grad(POL.sequence_log_probs(th)[q, n], th)
        rows.append(g.reshape(-1))
    return torch.stack(rows)


def _batch_normalised_expectation(q: int, B: int, C: float) -> torch.Tensor:
    """E over batches of B i.i.d. responses y ∼ μ(·|q) of (1/B) Σ_i w̃_i A_i ∇log π(y_i), sequence TIS weights."""
    idx, prob = enumerate_groups(P_MU[q], B)
    w = mismatch_weights("seq_tis", LOG_RATIO[q][idx], TMASK[q][idx], threshold=C, batch_normalize=True)[..., 0]
    f = ADV[q][:, None] * _score_rows(q)  # [N, K]
    return torch.einsum("g,gb,gbk->k", prob, w, f[idx]) / B


def test_batch_normalised_seq_tis_is_self_normalised_and_consistent():
    q, C = 0, 2.0
    f = ADV[q][:, None] * _score_rows(q)
    w = RHO[q].clamp(max=C)
    on_mu = P_MU[q] @ f
    # B = 1: the normalised weight is 1 — no correction left: exactly E_μ[f]
    assert torch.allclose(_batch_normalised_expectation(q, 1, C), on_mu, atol=1e-12)
    unnormalised = (P_MU[q] * w) @ f  # twin: the plain TIS expectation
    assert _differs(_batch_normalised_expectation(q, 1, C), unnormalised)
    # B → ∞: E_μ[w f]/E_μ[w]; the exact bias at B shrinks like κ/B (delta method)
    mean_w = float(P_MU[q] @ w)
    limit = unnormalised / mean_w
    cov = (P_MU[q] * w) @ (f * w[:, None]) - mean_w * unnormalised
    var_w = float(P_MU[q] @ (w * w)) - mean_w**2
    kappa = unnormalised * var_w / mean_w**3 - cov / mean_w**2
    gaps = [float((B * (_batch_normalised_expectation(q, B, C) - limit) - kappa).norm()) for B in (2, 3, 4)]
    assert gaps[0] > gaps[1] > gaps[2] and gaps[2] < 0.25 * float(kappa.norm())


# ---------------------------------------------------------------- conventions and errors


def test_registry_names_and_device_dtype():
    assert set(MISMATCH_CORRECTIONS.names()) == {"seq_is", "seq_tis", "seq_mis", "token_tis", "token_mis", "rs", "opsm",
                                                 "bypass_ppo_clip", "verl"}
    w = mismatch_weights("token_tis", LR.float(), MASK)
    assert w.dtype == torch.float32 and w.device == LR.device
    assert _close(mismatch_weights("seq_tis", LR.tolist(), MASK.int()), _w("seq_tis"))  # lists and 0/1 masks


def test_every_kind_creates_tensors_on_the_inputs_device():
    hps = {"rs": {"statistic": "seq_max_k3", "upper": 0.5}, "opsm": {"advantages": torch.tensor([-1.0, 1.0], dtype=D), "delta": 0.0},
           "bypass_ppo_clip": {"advantages": torch.tensor([-1.0, 1.0], dtype=D)},
           "verl": {"rollout_is": "token", "rollout_is_batch_normalize": True, "rollout_rs": "token_k1,seq_mean_k3",
                    "rollout_rs_threshold": "0.5_2.0,0.5"}}
    torch.set_default_device("meta")  # a factory call without device= would land here and fail to mix with CPU inputs
    try:
        for kind in MISMATCH_CORRECTIONS.names():
            assert mismatch_weights(kind, LR, MASK, **hps.get(kind, {})).device.type == "cpu", kind
    finally:
        torch.set_default_device("cpu")


@pytest.mark.parametrize("kind, hp, exc, match", [
    ("nope", {}, ValueError, "kind: unknown mismatch correction"),
    ("seq_tis", {"treshold": 2.0}, TypeError, "treshold: unexpected keyword"),
    ("opsm", {"advantages": torch.zeros(2)}, TypeError, "delta: required keyword"),
    ("seq_tis", {"threshold": 0.0}, ValueError, "threshold: must be positive"),
    ("token_mis", {"threshold": 1.0, "lower": 1.5}, ValueError, "lower: must not exceed"),
    ("seq_mis", {"lower": -1.0}, ValueError, "lower: must be non-negative"),
    ("seq_tis", {"batch_normalize": 1}, TypeError, "batch_normalize: expected a bool"),
    ("seq_tis", {"batch_normalize": True, "batch_dim": -1}, ValueError, "batch_dim: must differ"),
    ("seq_tis", {"batch_normalize": True, "batch_dim": 5}, ValueError, "batch_dim: expected an axis"),
    ("rs", {"statistic": "seq_max_k1", "upper": 1.0}, ValueError, "statistic: unknown rejection statistic"),
    ("rs", {"statistic": "token_k2", "upper": 1.0, "lower": 0.1}, ValueError, "lower: the token_k2 statistic"),
    ("rs", {"statistic": "token_k1", "upper": -1.0}, ValueError, "upper: must be positive"),
    ("opsm", {"advantages": torch.zeros(3), "delta": 0.1}, ValueError, "advantages: expected shape"),
    ("opsm", {"advantages": torch.tensor([0.0, math.nan]), "delta": 0.1}, ValueError, "advantages: contains NaN"),
    ("bypass_ppo_clip", {"advantages": torch.zeros(2), "clip_ratio_c": 1.0}, ValueError, "clip_ratio_c: must lie"),
    ("bypass_ppo_clip", {"advantages": torch.zeros(2), "clip_ratio_low": 1.0}, ValueError, "clip_ratio_low: must lie"),
    ("verl", {"rollout_is": "geometric"}, ValueError, "rollout_is: expected None"),
    ("verl", {"rollout_rs": "token_k1"}, ValueError, "rollout_rs_threshold: required"),
    ("verl", {"rollout_rs": "token_k1,token_k3", "rollout_rs_threshold": "1,2,3"}, ValueError, "rollout_rs_threshold: expected 1 or 2"),
    ("verl", {"rollout_rs": "token_k1", "rollout_rs_threshold": "a_b"}, ValueError, "rollout_rs_threshold: 'a_b'"),
    ("verl", {"rollout_rs": " , "}, ValueError, "rollout_rs: expected a comma-separated"),
])
def test_bad_hyper_parameters_are_named(kind, hp, exc, match):
    with pytest.raises(exc, match=match):
        mismatch_weights(kind, LR, MASK, **hp)


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match="mask: expected the shape"):
        mismatch_weights("seq_is", LR, MASK[:, :2])
    with pytest.raises(ValueError, match="mask: every response needs at least one token"):
        mismatch_weights("seq_is", LR, torch.tensor([[True, False, False], [False, False, False]]))
    with pytest.raises(ValueError, match="mask: expected a boolean mask"):
        mismatch_weights("seq_is", LR, MASK.to(D) * 0.5)
    with pytest.raises(ValueError, match="log_ratio: contains NaN"):
        mismatch_weights("token_tis", torch.full((2, 3), math.nan, dtype=D), MASK)
    with pytest.raises(ValueError, match=r"log_ratio: the seq_is weight \(overflow\) is not finite"):
        mismatch_weights("seq_is", torch.full((2, 3), 400.0, dtype=D), MASK)
    with pytest.raises(TypeError, match="log_ratio: expected a torch.Tensor"):
        mismatch_weights("seq_is", "x", MASK)
    with pytest.raises(ValueError, match="log_ratio: expected a token axis"):
        mismatch_weights("seq_is", torch.tensor(0.0, dtype=D), torch.tensor(True))
    # padding log-ratios are ignored, however large
    padded = LR.clone()
    padded[1, 2] = 1e3
    assert _close(mismatch_weights("seq_is", padded, MASK), _w("seq_is"))
