"""Deployed surrogates and aggregations: SAPO and VESPO (``TOKEN_SURROGATES``), batch-pooled token-mean and verl's
Σ/L_max (``LOSS_AGGREGATIONS``), LUSPO as GSPO + ``seq_mean_token_sum``. Hand values in the public libraries'
conventions (verl ``agg_loss`` / ``compute_policy_loss_sapo``, TRL ``GRPOTrainer``, the VESPO reference code), exact
expectations over every enumerated group of a toy sequence task, a twin for each property, and named errors."""
import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from pgtheory.estimators.aggregation import aggregation_weights
from pgtheory.estimators.group import group_advantages
from pgtheory.estimators.sequence_score import sequence_score_sum
from pgtheory.estimators.token_surrogates import TOKEN_SURROGATES, token_surrogate_coefficients, token_surrogate_values
from pgtheory.exact.groups import enumerate_groups
from pgtheory.exact.sequence import sequence_policy_gradient, sequence_probs
from pgtheory.policies.sequence import TabularSequencePolicy
from pgtheory.problems.sequence import SequenceTask
from pgtheory.sampling.sequence import SequenceGroups
from tests.test_llm_estimators import token_batches

T = lambda *x: torch.tensor(x, dtype=torch.float64)  # noqa: E731
G = 2  # responses per group in the exact tests
sigmoid = lambda x: 1 / (1 + math.exp(-x))  # noqa: E731


# -- the toy task and exact expectations ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def toy():
    """Vocabulary {EOS, a, b}, responses of 1–3 tokens (N = 15), two prompts with weights 0.4/0.6, random rewards."""
    g = torch.Generator().manual_seed(0)
    task = SequenceTask(3, 3, 2, torch.rand(2, 15, generator=g, dtype=torch.float64), prompt_weights=[0.4, 0.6])
    pol = TabularSequencePolicy(task)
    theta_old = pol.random_params(generator=g)
    theta = theta_old + 0.3 * torch.randn(theta_old.shape, generator=g, dtype=torch.float64)
    return pol, theta_old, theta


def group_outcomes(pol, theta_old):
    """Every (prompt, ordered group of G responses) with its probability under π_old: (prompts [K], index [K, G], p [K])."""
    probs = sequence_probs(pol, theta_old)
    parts = [enumerate_groups(probs[q], G) for q in range(pol.task.n_prompts)]
    prompts = torch.cat([torch.full((len(p),), q) for q, (_, p) in enumerate(parts)])
    index = torch.cat([idx for idx, _ in parts])
    p = torch.cat([float(pol.task.prompt_weights[q]) * pr for q, (_, pr) in enumerate(parts)])
    return prompts, index, p


def token_tensors(pol, theta, theta_old, prompts, index):
    """lp (at θ), lo (at θ_old), RLOO advantages and mask of responses ``index [..., G]`` to ``prompts [...]``."""
    task = pol.task
    q = prompts[..., None].expand_as(index)
    lp = pol.sequence_token_log_probs(theta)[q, index]
    lo = pol.sequence_token_log_probs(theta_old)[q, index]
    return lp, lo, group_advantages(task.rewards[q, index], "rloo"), task.mask[index]


def contract(pol, theta, prompts, index, p, coef):
    """Σ_k p_k Σ_{i,t} coef_{k,i,t} ∇_θ log π_θ(y_{k,i,t}): accumulate the expected coefficient of every (prompt, response,
    position) in a table C [M·N, L], then contract it once with the token scores (sequence_score_sum, one response each)."""
    task = pol.task
    M, N = task.rewards.shape
    rows = (prompts[..., None] * N + index).reshape(-1)
    C = torch.zeros(M * N, task.max_length, dtype=torch.float64).index_add_(
        0, rows, (p.reshape(p.shape + (1,) * (coef.ndim - 1)) * coef).reshape(-1, task.max_length))
    q, y = torch.arange(M).repeat_interleave(N), torch.arange(N).repeat(M)
    zeros = torch.zeros(M * N, 1, task.max_length, dtype=torch.float64)
    one_each = SequenceGroups(q, y[:, None], task.tokens[y][:, None], task.mask[y][:, None], task.lengths[y][:, None],
                              task.rewards[q, y][:, None], zeros, zeros)
    return sequence_score_sum(pol, theta, one_each, C[:, None]).sum(0)


def expected_update(pol, theta, theta_old, kind, agg, *, agg_kw=None, twin=None, **hp):
    """E over groups drawn from π_old of Σ_{i,t} w_{i,t}·∂(surrogate)/∂lp_t·∇log π_θ(y_{i,t}).

    ``twin(coef, adv)``, when given, edits the token coefficients (a close-but-wrong variant)."""
    prompts, index, p = group_outcomes(pol, theta_old)
    lp, lo, adv, mask = token_tensors(pol, theta, theta_old, prompts, index)
    w = aggregation_weights(mask, agg, **(agg_kw or {}))
    coef = token_surrogate_coefficients(kind, lp, lo, adv, mask, w, **hp)
    if twin is not None:
        coef = twin(coef, adv)
    return contract(pol, theta, prompts, index, p, coef)


def response_scores(pol, theta):
    """∇_θ log π_θ(y | q) of every enumerated response by autograd, ``[M, N, M, P, V]`` (independent of sequence_score_sum)."""
    return torch.autograd.functional.jacobian(pol.sequence_log_probs, theta)


# -- SAPO ----------------------------------------------------------------------------------------------------------

def test_sapo_hand_values_in_the_verl_trl_convention_and_off_policy_coefficient_with_twin():
    lr = T(math.log(1.5), math.log(0.7), 0.0, 0.4).view(1, 2, 2)  # r = 1.5, 0.7 | 1, e^0.4
    adv = T(2.0, -1.0).view(1, 2)
    mask = torch.ones(1, 2, 2, dtype=torch.bool)
    lo = torch.full_like(lr, -1.3)
    v = token_surrogate_values("sapo", lo + lr, lo, adv, mask)
    # verl/TRL: -loss = gate·A with gate = sigmoid(τ(r − 1))·4/τ, τ = tau_pos = 1.0 if A > 0 else tau_neg = 1.05
    want = [2.0 * 4 * sigmoid(0.5), 2.0 * 4 * sigmoid(-0.3),
            -1.0 * 4 / 1.05 * sigmoid(0.0), -1.0 * 4 / 1.05 * sigmoid(1.05 * (math.exp(0.4) - 1))]
    assert torch.allclose(v.flatten(), T(*want), atol=1e-14)
    # the gradient weight away from θ_old: A·r·f_τ'(r) = A·r·sech²(τ(r − 1)/2), by hand
    r = lr.exp()
    tau = torch.where(adv > 0, T(1.0), T(1.05))[..., None]
    hand = adv[..., None] * r / torch.cosh(tau * (r - 1) / 2) ** 2
    got = token_surrogate_coefficients("sapo", lo + lr, lo, adv, mask, torch.ones_like(lr))
    assert torch.allclose(got, hand, atol=1e-14)
    # twin: the temperatures swapped between the signs of A — the same hand derivative rejects it
    swapped = token_surrogate_coefficients("sapo", lo + lr, lo, adv, mask, torch.ones_like(lr), tau_pos=1.05, tau_neg=1.0)
    assert not torch.allclose(swapped, hand, atol=1e-6)


# -- VESPO ---------------------------------------------------------------------------------------------------------

def vespo_phi(log_w, k, lam):
    return math.exp(k * log_w + lam * (1 - math.exp(log_w)))


def test_vespo_hand_values_in_the_reference_convention_and_coefficient_with_twin():
    lr = T(0.1, 0.2, -0.3, 0.5, -0.4, 0.9).view(1, 2, 3)
    mask = torch.tensor([[[True, True, True], [True, True, False]]])  # response 2: two tokens, log W = 0.1
    adv = T(1.5, -0.5).view(1, 2)
    lo = torch.full_like(lr, -0.7)
    lp = lo + lr
    # reference/TRL: phi = exp(λ + k·log W − λ·W), (k, λ) = (2, 3) if A ≥ 0 else (3, 2); loss = −phi·A·log_prob
    phi = [vespo_phi(0.0, 2.0, 3.0), vespo_phi(0.1, 3.0, 2.0)]
    v = token_surrogate_values("vespo", lp, lo, adv, mask)
    assert torch.allclose(v[0, 0], phi[0] * 1.5 * lp[0, 0], atol=1e-14)
    assert torch.allclose(v[0, 1], -0.5 * phi[1] * lp[0, 1] * mask[0, 1], atol=1e-14)
    w = aggregation_weights(mask, "batch_token_mean")
    got = token_surrogate_coefficients("vespo", lp, lo, adv, mask, w)
    hand = torch.stack([phi[0] * 1.5 * w[0, 0], -0.5 * phi[1] * w[0, 1]])[None]  # φ(W)·A on every token
    assert torch.allclose(got, hand, atol=1e-14)
    # twin: GSPO's length-normalised ratio (the geometric mean, log W / L) in place of the product W
    geometric = torch.stack([phi[0] * 1.5 * w[0, 0], -0.5 * vespo_phi(0.05, 3.0, 2.0) * w[0, 1]])[None]
    assert not torch.allclose(got, geometric, atol=1e-6)
    # the clamps: a log-ratio beyond ±20 per token, and log W below log 1e-8, are clamped (finite, as TRL)
    far = token_surrogate_coefficients("vespo", lo - 30.0, lo, adv, mask, w)
    assert torch.allclose(far[0, 0], vespo_phi(math.log(1e-8), 2.0, 3.0) * 1.5 * w[0, 0], rtol=1e-12, atol=0)


# -- every new surrogate is the policy gradient at θ_old (hypothesis, in the style of test_llm_estimators) --------

@given(token_batches(), st.sampled_from(["seq_mean_token_mean", "batch_token_mean", "seq_mean_token_sum_norm"]),
       st.floats(0.1, 5.0), st.floats(0.1, 5.0))
def test_sapo_and_vespo_are_the_policy_gradient_at_theta_old(batch, agg, tau_pos, tau_neg):
    lp, _, adv, mask = batch
    w = aggregation_weights(mask, agg)
    pg = w * adv[..., None] * mask
    vespo_hp = dict(k_pos=tau_pos, lambda_pos=tau_neg, k_neg=tau_neg, lambda_neg=tau_pos)  # any kernel has φ(1) = 1
    for kind, hp in (("sapo", dict(tau_pos=tau_pos, tau_neg=tau_neg)), ("vespo", vespo_hp)):
        assert torch.allclose(token_surrogate_coefficients(kind, lp, lp, adv, mask, w, **hp), pg, atol=1e-12), kind
    # the twins (the gates without their normalisation) are rejected by the exact test below


# -- exact expectations: SAPO, VESPO ---------------------------------------------------------------------------------

#: twins without the normalisation that makes the weight 1 at r = 1: SAPO's σ(τ(r − 1)) lacks 4/τ (slope τ/4),
#: VESPO's W^k e^{−λW} lacks e^λ (value e^{−λ} at W = 1)
UNNORMALISED = {"sapo": lambda c, a: c * torch.where(a > 0, a.new_tensor(1.0 / 4), a.new_tensor(1.05 / 4))[..., None],
                "vespo": lambda c, a: c * torch.where(a >= 0, a.new_tensor(math.exp(-3.0)), a.new_tensor(math.exp(-2.0)))[..., None]}


@pytest.mark.parametrize("kind", ["sapo", "vespo"])
def test_sapo_and_vespo_at_theta_old_are_exactly_unbiased_with_twin(toy, kind):
    pol, theta_old, _ = toy
    grad = sequence_policy_gradient(pol, theta_old)
    got = expected_update(pol, theta_old, theta_old, kind, "seq_mean_token_sum")
    assert torch.allclose(got, grad, atol=1e-12, rtol=0)
    unnormalised = expected_update(pol, theta_old, theta_old, kind, "seq_mean_token_sum", twin=UNNORMALISED[kind])
    assert float((unnormalised - grad).abs().max()) > 1e-3


def test_vespo_off_policy_k1_lambda0_is_sequence_is_and_the_default_kernel_bias_is_exact(toy):
    """Responses drawn from π_old, the update evaluated at θ: φ(W) = W is exactly unbiased for ∇J(θ); the default
    kernel's bias equals E_μ[(1/G) Σ_i (φ(W_i) − W_i)·A_i·∇log π_θ(y_i)], computed by hand from response scores."""
    pol, theta_old, theta = toy
    grad = sequence_policy_gradient(pol, theta)
    plain_is = dict(k_pos=1.0, lambda_pos=0.0, k_neg=1.0, lambda_neg=0.0)
    unbiased = expected_update(pol, theta, theta_old, "vespo", "seq_mean_token_sum", **plain_is)
    assert torch.allclose(unbiased, grad, atol=1e-12, rtol=0)
    default = expected_update(pol, theta, theta_old, "vespo", "seq_mean_token_sum")
    assert float((default - grad).abs().max()) > 1e-3  # twin: the reshaped kernel fails the unbiasedness check
    # its bias, by hand: sequence ratios from sequence log-probs, the kernel in numpy, scores by autograd
    prompts, index, p = group_outcomes(pol, theta_old)
    q = prompts[:, None].expand_as(index)
    log_w = (pol.sequence_log_probs(theta) - pol.sequence_log_probs(theta_old))[q, index].numpy()
    adv = group_advantages(pol.task.rewards[q, index], "rloo")
    k, lam = np.where(adv.numpy() >= 0, 2.0, 3.0), np.where(adv.numpy() >= 0, 3.0, 2.0)
    excess = torch.from_numpy(np.exp(k * log_w + lam * (1 - np.exp(log_w))) - np.exp(log_w)) * adv / G
    bias = torch.einsum("k,ki,kimpv->mpv", p, excess, response_scores(pol, theta)[q, index])
    assert torch.allclose(default - grad, bias, atol=1e-12, rtol=0)


# -- LUSPO = GSPO values under seq_mean_token_sum ------------------------------------------------------------------

def test_luspo_is_gspo_under_seq_mean_token_sum_trl_convention():
    lr = T(0.3, -0.1, 0.2, 0.05, 0.0, 0.0).view(1, 2, 3)
    mask = torch.tensor([[[True, True, True], [True, False, False]]])
    adv = T(0.8, -1.2).view(1, 2)
    lo = torch.full_like(lr, -1.0)
    v = token_surrogate_values("gspo", lo + lr, lo, adv, mask, eps_seq=0.2)
    loss = -(aggregation_weights(mask, "seq_mean_token_sum") * v).sum()
    # TRL loss_type="luspo", importance_sampling_level="sequence": s_i = exp(mean_t log r), per_token_loss (B, 1)
    # = −min(s·A, clip(s, 1 − ε, 1 + ε)·A); loss = (per_token_loss · L_i).mean()
    s = [math.exp(0.4 / 3), math.exp(0.05)]
    per_seq = [-min(si * a, min(max(si, 0.8), 1.2) * a) for si, a in zip(s, (0.8, -1.2))]
    assert float(loss) == pytest.approx((per_seq[0] * 3 + per_seq[1] * 1) / 2, abs=1e-14)
    # twin: GSPO's own seq_mean_token_mean is the per-sequence mean without the length factor
    gspo = -(aggregation_weights(mask, "seq_mean_token_mean") * v).sum()
    assert float(gspo) == pytest.approx((per_seq[0] + per_seq[1]) / 2, abs=1e-14)
    assert float(gspo) != pytest.approx(float(loss), abs=1e-3)


def test_luspo_is_exactly_unbiased_at_theta_old_and_gspo_is_length_biased(toy):
    pol, theta_old, _ = toy
    grad = sequence_policy_gradient(pol, theta_old)
    luspo = expected_update(pol, theta_old, theta_old, "gspo", "seq_mean_token_sum")
    assert torch.allclose(luspo, grad, atol=1e-12, rtol=0)
    gspo = expected_update(pol, theta_old, theta_old, "gspo", "seq_mean_token_mean")  # twin: response i divided by L_i
    assert float((gspo - grad).abs().max()) > 1e-3


# -- verl's Σ/L_max ------------------------------------------------------------------------------------------------

def test_seq_mean_token_sum_norm_hand_values_in_the_verl_convention():
    mask = torch.tensor([[True, True, False, False], [True, True, True, False], [True, False, False, False]])
    loss_mat = torch.arange(12, dtype=torch.float64).view(3, 4)
    w = aggregation_weights(mask, "seq_mean_token_sum_norm")
    # verl agg_loss "seq-mean-token-sum-norm": sum(seq_losses) / loss_mask.shape[-1] (or loss_scale_factor)
    assert float((w * loss_mat).sum()) == pytest.approx((0 + 1 + 4 + 5 + 6 + 8) / 4, abs=1e-14)
    w7 = aggregation_weights(mask, "seq_mean_token_sum_norm", loss_scale_factor=7)
    assert float((w7 * loss_mat).sum()) == pytest.approx(24 / 7, abs=1e-14)
    assert torch.allclose(w, 3 * aggregation_weights(mask, "constant"))  # G × Dr. GRPO's constant, per group


def test_seq_mean_token_sum_norm_is_exactly_g_over_lmax_times_the_gradient_with_twin(toy):
    pol, theta_old, _ = toy
    grad = sequence_policy_gradient(pol, theta_old)
    L_max = pol.task.max_length
    got = expected_update(pol, theta_old, theta_old, "pg", "seq_mean_token_sum_norm")
    assert torch.allclose(got, G / L_max * grad, atol=1e-12, rtol=0)
    scaled = expected_update(pol, theta_old, theta_old, "pg", "seq_mean_token_sum_norm", agg_kw={"loss_scale_factor": 5.0})
    assert torch.allclose(scaled, G / 5.0 * grad, atol=1e-12, rtol=0)
    constant = expected_update(pol, theta_old, theta_old, "pg", "constant")  # twin: Dr. GRPO's 1/(G·L_max)
    assert float((constant - G / L_max * grad).abs().max()) > 1e-3


# -- batch-pooled token-mean ---------------------------------------------------------------------------------------

def test_batch_token_mean_hand_values_in_the_verl_convention():
    mask = torch.tensor([[[True, True, False], [True, False, False]], [[True, True, True], [True, False, False]]])  # B = 2
    loss_mat = torch.arange(12, dtype=torch.float64).view(2, 2, 3)
    w = aggregation_weights(mask, "batch_token_mean")
    assert torch.allclose(w, mask.double() / 7)  # 7 real tokens in the batch
    flat_mask, flat_loss = mask.reshape(4, 3), loss_mat.reshape(4, 3)  # verl: masked_sum / loss_mask.sum() over [bs, L]
    assert float((w * loss_mat).sum()) == pytest.approx(float((flat_loss * flat_mask).sum() / flat_mask.sum()), abs=1e-14)
    assert torch.allclose(aggregation_weights(mask[:1], "batch_token_mean"), aggregation_weights(mask[:1], "token_mean"))
    assert torch.allclose(aggregation_weights(mask[0], "batch_token_mean"), aggregation_weights(mask[0], "token_mean"))
    assert not torch.allclose(w, aggregation_weights(mask, "token_mean"))  # per-group denominators 3 and 4


def batch_expectation(pol, theta, B, agg):
    """Brute force: E over every batch of B i.i.d. (prompt, group) draws of Σ_{b,i,t} w·A·∇log π, through the estimator."""
    prompts, index, p = group_outcomes(pol, theta)
    tuples, pt = enumerate_groups(p, B)  # [K^B, B] indices of group outcomes
    lp, _, adv, mask = token_tensors(pol, theta, theta, prompts[tuples], index[tuples])
    coef = token_surrogate_coefficients("pg", lp, lp, adv, mask, aggregation_weights(mask, agg))
    return contract(pol, theta, prompts[tuples], index[tuples], pt, coef)


def length_sum_pmf(d, p, n):
    """pmf of the sum of n independent copies of the group token count d (probabilities p), as {value: prob}."""
    one = {}
    for v, pv in zip(d.tolist(), p.tolist()):
        one[v] = one.get(v, 0.0) + pv
    pmf = {0.0: 1.0}
    for _ in range(n):
        nxt = {}
        for s, ps in pmf.items():
            for v, pv in one.items():
                nxt[s + v] = nxt.get(s + v, 0.0) + ps * pv
        pmf = nxt
    return pmf


def batch_formula(n, d, p, B):
    """E ĝ_B = B·E[n_1 / (d_1 + D_{B−1})], D_{B−1} the token count of B − 1 independent groups."""
    pmf = length_sum_pmf(d, p, B - 1)
    inv = sum(ps / (d + s) for s, ps in pmf.items())  # E[1 / (d_1 + D)] given group 1
    return B * torch.einsum("k,k,kx->x", p, inv, n)


def test_batch_token_mean_exact_bias_at_b_1_and_2_shrinks_with_twin(toy):
    pol, theta, _ = toy
    prompts, index, p = group_outcomes(pol, theta)
    q = prompts[:, None].expand_as(index)
    adv = group_advantages(pol.task.rewards[q, index], "rloo")
    n = torch.einsum("ki,kix->kx", adv, response_scores(pol, theta)[q, index].flatten(2))  # Σ_i A_i ∇log π(y_i)
    d = pol.task.lengths[index].sum(-1).to(torch.float64)
    g_inf = (p[:, None] * n).sum(0) / (p * d).sum()
    brute = {B: batch_expectation(pol, theta, B, "batch_token_mean").flatten() for B in (1, 2)}
    for B in (1, 2):
        assert torch.allclose(brute[B], batch_formula(n, d, p, B), atol=1e-13, rtol=0)
    bias = {B: float((brute[B] - g_inf).norm()) for B in (1, 2)}
    assert bias[1] > 1e-3 and bias[2] < 0.75 * bias[1]
    # twin: per-group token_mean averaged over the B = 2 groups keeps the B = 1 expectation, which the formula rejects
    per_group = batch_expectation(pol, theta, 2, "token_mean").flatten() / 2
    assert torch.allclose(per_group, brute[1], atol=1e-13, rtol=0)
    assert float((per_group - batch_formula(n, d, p, 2)).abs().max()) > 1e-4
    # the bias is c/B + O(B^-2), c = E n·Var d/(E d)³ − Cov(n, d)/(E d)² (delta method), checked on the exact formula
    Ed, Vd = (p * d).sum(), (p * (d - (p * d).sum()) ** 2).sum()
    c = g_inf * Vd / Ed**2 - (p[:, None] * n * (d - Ed)[:, None]).sum(0) / Ed**2
    for B in (40, 80):
        assert float((B * (batch_formula(n, d, p, B) - g_inf) - c).norm()) < 0.5 / B * float(c.norm())


# -- bad input -----------------------------------------------------------------------------------------------------

def test_bad_hyperparameters_and_masks_are_named():
    lp = -torch.ones(1, 2, 3, dtype=torch.float64)
    adv = T(1.0, -1.0).view(1, 2)
    mask = torch.ones(1, 2, 3, dtype=torch.bool)
    with pytest.raises(ValueError, match="tau_pos: must be positive"):
        token_surrogate_values("sapo", lp, lp, adv, mask, tau_pos=0.0)
    with pytest.raises(ValueError, match="tau_neg: must be finite"):
        token_surrogate_values("sapo", lp, lp, adv, mask, tau_neg=float("nan"))
    with pytest.raises(TypeError, match="tau: unexpected keyword argument for token surrogate 'sapo'; accepted keywords: tau_pos"):
        token_surrogate_values("sapo", lp, lp, adv, mask, tau=1.0)
    with pytest.raises(ValueError, match="k_pos: must be non-negative"):
        token_surrogate_values("vespo", lp, lp, adv, mask, k_pos=-1.0)
    with pytest.raises(TypeError, match="lambda_neg: expected a real number"):
        token_surrogate_coefficients("vespo", lp, lp, adv, mask, torch.ones_like(lp), lambda_neg="2")
    with pytest.raises(ValueError, match="loss_scale_factor: must be positive"):
        aggregation_weights(mask, "seq_mean_token_sum_norm", loss_scale_factor=0)
    with pytest.raises(TypeError, match="loss_scale_factor: expected a real number"):
        aggregation_weights(mask, "seq_mean_token_sum_norm", loss_scale_factor=True)
    with pytest.raises(TypeError, match="alpha: unexpected keyword argument for loss aggregation 'batch_token_mean'"):
        aggregation_weights(mask, "batch_token_mean", alpha=1.0)
    with pytest.raises(ValueError, match=r"mask: expected \[\.\.\., G, L\]"):
        aggregation_weights(torch.ones(3, dtype=torch.bool), "batch_token_mean")
    with pytest.raises(ValueError, match="mask: every response needs at least one token"):
        aggregation_weights(torch.zeros(2, 2, 3, dtype=torch.bool), "seq_mean_token_sum_norm")
    assert {"sapo", "vespo"} <= set(TOKEN_SURROGATES.names())
