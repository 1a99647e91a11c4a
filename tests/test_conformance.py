"""Conformance to named public conventions: each test writes out, in plain torch, what a public library computes
(verl ``verl/trainer/ppo/core_algos.py`` at b178a3cd (2026-01-29); TRL ``trl/trainer/grpo_trainer.py`` and
``rloo_trainer.py`` at f2cd5771 (2026-07-24); the GMPO authors' ``callsys/GMPO/train_zero_math_gmpo.py`` at 1f7b0920;
all read on 2026-11-30), on a tiny batch, and checks that a pgtheory estimator reproduces the numbers — plus a twin:
a neighbouring convention that gives different numbers, so each test can fail.

Libraries return losses (minimised); pgtheory's token surrogates are objectives (maximised): we compare value = −loss
per token, and gradients through :func:`token_surrogate_coefficients` (∂ of the aggregated objective / ∂ lp_t) against
autograd of the library's aggregated loss, negated. The helpers ``_verl_*`` / ``_trl_*`` below are transcriptions of
the formulas as read (conventions, not copied code); they are test oracles and are not used by the package.
"""
import pytest
import torch

from pgtheory.estimators import (aggregation_weights, group_advantages, kl_estimate, token_surrogate_coefficients,
                                 token_surrogate_values, verl_gae, whiten)

F64 = torch.float64
T = lambda *x: torch.tensor(x, dtype=F64)  # noqa: E731


def close(a, b, rtol=1e-7, atol=1e-12):
    return torch.allclose(torch.as_tensor(a, dtype=F64), torch.as_tensor(b, dtype=F64), rtol=rtol, atol=atol)


# A batch of G = 3 responses, L = 3 tokens, built to hit every branch of the clipped objectives:
#   response 0, A = +1:   r = e^0.5 ≈ 1.65 (upper clip binds), e^−0.5 ≈ 0.61 (A > 0: no lower clip), e^0.1 (inside)
#   response 1, A = −1:   r = e^1.5 ≈ 4.48 (> c = 3: dual clip), e^−0.5 (lower clip binds), e^2.5 ≈ 12.2 (> c = 10)
#   response 2, A = −0.5: r = e^0.05 (inside), e^1.2 ≈ 3.32 (> 3: dual clip), padding
D = T(0.5, -0.5, 0.1, 1.5, -0.5, 2.5, 0.05, 1.2, 0.0).view(3, 3)  # lp − lo
LO = torch.full((3, 3), -3.0, dtype=F64)
LP = LO + D
ADV = T(1.0, -1.0, -0.5)
MASK = torch.tensor([[True, True, True], [True, True, True], [True, True, False]])
M = MASK.to(F64)


def _tok(adv, like):  # the libraries take advantages per token ([bs, L]; TRL [bs, 1]): outcome advantage on every token
    return adv[:, None].expand_as(like)


# -- oracles: the public formulas, transcribed -----------------------------------------------------------------------

def _verl_vanilla_loss(lp, lo, adv, low, high, c):
    """verl compute_policy_loss_vanilla (core_algos.py, read on 2026-11-30): per-token loss before agg_loss."""
    A = _tok(adv, lp)
    ratio = torch.exp(torch.clamp(lp - lo, min=-20.0, max=20.0))
    pg_losses1 = -A * ratio
    pg_losses2 = -A * torch.clamp(ratio, 1 - low, 1 + high)
    clip_pg_losses1 = torch.maximum(pg_losses1, pg_losses2)
    pg_losses3 = -A * c
    clip_pg_losses2 = torch.min(pg_losses3, clip_pg_losses1)
    return torch.where(A < 0, clip_pg_losses2, clip_pg_losses1)


def _trl_grpo_token_loss(lp, lo, adv, epsilon=0.2, epsilon_high=None, delta=None):
    """TRL GRPOTrainer._compute_loss, importance_sampling_level="token", loss_type in grpo/bnpo/dr_grpo/dapo."""
    A = _tok(adv, lp)
    eps_high = epsilon if epsilon_high is None else epsilon_high
    coef_1 = torch.exp(lp - lo)
    coef_2 = torch.clamp(coef_1, 1 - epsilon, 1 + eps_high)
    if delta is not None:  # two-sided clipping (INTELLECT-2)
        coef_1 = torch.clamp(coef_1, max=delta)
    return -torch.min(coef_1 * A, coef_2 * A)


def _verl_agg(loss_mat, mask, mode):
    """verl agg_loss (dp_size 1, no global batch info; read on 2026-11-30)."""
    m = mask.to(loss_mat.dtype)
    if mode == "token-mean":
        return (loss_mat * m).sum() / m.sum()
    if mode == "seq-mean-token-sum":
        seq_losses = (loss_mat * m).sum(-1)
        seq_mask = (m.sum(-1) > 0).to(loss_mat.dtype)
        return (seq_losses * seq_mask).sum() / seq_mask.sum()
    if mode == "seq-mean-token-mean":
        n_tok = m.sum(-1)
        seq_losses = (loss_mat * m).sum(-1) / (n_tok + 1e-8)
        seq_mask = (n_tok > 0).to(loss_mat.dtype)
        return (seq_losses * seq_mask).sum() / seq_mask.sum()
    raise ValueError(mode)


def _coef_of(loss_fn, lp):
    """−∂ loss_fn(lp) / ∂ lp: the per-token weight on ∇log π of the library's aggregated loss."""
    x = lp.detach().clone().requires_grad_(True)
    (g,) = torch.autograd.grad(loss_fn(x), x)
    return -g


# -- clipped token objectives: PPO / GRPO / DAPO / dual clip ---------------------------------------------------------

def test_verl_vanilla_ppo_default_is_dual_clip():
    """verl ``policy_loss.loss_mode="vanilla"`` with its defaults clip_ratio = clip_ratio_low = clip_ratio_high = 0.2,
    clip_ratio_c = 3.0 (actor.yaml) applies the dual clip to every A < 0 token ↔ ``dual_clip`` (eps 0.2, c 3)."""
    want = -_verl_vanilla_loss(LP, LO, ADV, 0.2, 0.2, 3.0) * M
    got = token_surrogate_values("dual_clip", LP, LO, ADV, MASK, eps=0.2, c=3.0)
    assert close(got, want)
    # spot values: clipped A > 0 token = 1.2·1; dual-clipped tokens = c·A = −3 and −1.5; lower clip 0.8·(−1)
    assert close(got[0, 0], 1.2) and close(got[1, 0], -3.0) and close(got[1, 2], -3.0) and close(got[2, 1], -1.5)
    assert close(got[1, 1], -0.8)
    # the gradient under verl's default token-mean aggregation
    w = aggregation_weights(MASK, "token_mean")
    want_c = _coef_of(lambda x: _verl_agg(_verl_vanilla_loss(x, LO, ADV, 0.2, 0.2, 3.0), MASK, "token-mean"), LP)
    assert close(token_surrogate_coefficients("dual_clip", LP, LO, ADV, MASK, w, eps=0.2, c=3.0), want_c)
    # twin: plain PPO clip (TRL's GRPO) has no dual clip: −r·A at r > 3
    ppo = token_surrogate_values("ppo_clip", LP, LO, ADV, MASK, eps=0.2)
    assert not close(ppo, want) and close(ppo[1, 0], -torch.exp(T(1.5)))


@pytest.mark.parametrize("c", [3.0, 10.0])
def test_verl_vanilla_with_clip_higher_is_clip_higher_for_positive_and_dual_clip_for_negative_advantages(c):
    """verl vanilla with clip_ratio_low 0.2, clip_ratio_high 0.28 (the DAPO examples; clip_ratio_c 3.0 default, 10.0
    in examples/mtp_trainer/test_dapo_mimo_7b_with_mtp_math_megatron.sh) has no single pgtheory entry: ``clip_higher``
    has no dual clip and ``dual_clip`` has one ε. It is exact by the sign of A, because for A > 0 only the upper bound
    can bind (min(rA, clip(r)A)) and for A < 0 only the lower bound and c:
    where(A > 0, clip_higher(0.2, 0.28), dual_clip(0.2, c))."""
    want = -_verl_vanilla_loss(LP, LO, ADV, 0.2, 0.28, c) * M
    pos = token_surrogate_values("clip_higher", LP, LO, ADV, MASK, eps_low=0.2, eps_high=0.28)
    neg = token_surrogate_values("dual_clip", LP, LO, ADV, MASK, eps=0.2, c=c)
    got = torch.where(_tok(ADV, LP) > 0, pos, neg)
    assert close(got, want)
    assert close(got[0, 0], 1.28) and close(got[1, 2], -c)  # r ≈ 12.2 > c for both c
    # twins: either entry alone differs (clip_higher misses the dual clip; dual_clip(0.2) clips A > 0 at 1.2)
    assert not close(pos, want) and not close(neg, want)


def test_trl_grpo_token_loss_is_ppo_clip_and_dapo_epsilon_high_is_clip_higher():
    """TRL GRPOTrainer, importance_sampling_level "token": epsilon 0.2 (epsilon_high None → 0.2) ↔ ``ppo_clip``
    (eps 0.2); epsilon 0.2 with epsilon_high 0.28 (DAPO) ↔ ``clip_higher`` (0.2, 0.28). No dual clip."""
    want = -_trl_grpo_token_loss(LP, LO, ADV) * M
    assert close(token_surrogate_values("ppo_clip", LP, LO, ADV, MASK, eps=0.2), want)
    want_dapo = -_trl_grpo_token_loss(LP, LO, ADV, epsilon_high=0.28) * M
    got_dapo = token_surrogate_values("clip_higher", LP, LO, ADV, MASK, eps_low=0.2, eps_high=0.28)
    assert close(got_dapo, want_dapo)
    # gradient of TRL's loss_type="grpo" aggregation (seq-mean-token-mean)
    w = aggregation_weights(MASK, "seq_mean_token_mean")
    trl = lambda x: ((_trl_grpo_token_loss(x, LO, ADV) * M).sum(-1) / M.sum(-1).clamp(min=1.0)).mean()  # noqa: E731
    assert close(token_surrogate_coefficients("ppo_clip", LP, LO, ADV, MASK, w, eps=0.2), _coef_of(trl, LP))
    # twins: verl's default (dual clip) differs from TRL's GRPO; symmetric 0.2 differs from DAPO's 0.28
    assert not close(token_surrogate_values("dual_clip", LP, LO, ADV, MASK, eps=0.2, c=3.0), want)
    assert not close(token_surrogate_values("ppo_clip", LP, LO, ADV, MASK, eps=0.2), want_dapo)


def test_trl_two_sided_delta_clipping_is_dual_clip_with_c_delta():
    """TRL ``delta`` (two-sided GRPO, INTELLECT-2; recommended > 1 + ε): coef_1 clamped to ≤ δ inside the min. For
    A < 0 that is max(ppo, δ·A) — the dual clip with c = δ — and for A > 0 it never binds (δ > 1 + ε)."""
    want = -_trl_grpo_token_loss(LP, LO, ADV, delta=4.0) * M
    assert close(token_surrogate_values("dual_clip", LP, LO, ADV, MASK, eps=0.2, c=4.0), want)
    w = aggregation_weights(MASK, "seq_mean_token_mean")
    trl = lambda x: ((_trl_grpo_token_loss(x, LO, ADV, delta=4.0) * M).sum(-1) / M.sum(-1)).mean()  # noqa: E731
    assert close(token_surrogate_coefficients("dual_clip", LP, LO, ADV, MASK, w, eps=0.2, c=4.0), _coef_of(trl, LP))
    # twin: verl's c = 3 cuts the r ≈ 3.32 token of response 2, δ = 4 does not
    assert not close(token_surrogate_values("dual_clip", LP, LO, ADV, MASK, eps=0.2, c=3.0), want)


# -- CISPO -----------------------------------------------------------------------------------------------------------

def test_cispo_verl_and_trl_conventions():
    """verl compute_policy_loss_cispo: −sg(clamp(r, 1 − clip_ratio_low, 1 + clip_ratio_high))·A·lp, two-sided; its
    example (examples/cispo_trainer) sets clip_ratio_low = 10 (no lower bound) and clip_ratio_high = 0.2 ↔ ``cispo``
    (eps_high 0.2). TRL loss_type="cispo": −sg(clamp(r, max=epsilon_high))·A·lp — epsilon_high is the cap on r itself
    (recommended 5.0), so TRL epsilon_high = h ↔ ``cispo`` eps_high = h − 1."""
    A = _tok(ADV, LP)
    r = torch.exp(torch.clamp(LP - LO, -20.0, 20.0))

    def verl(x, low, high):  # per-token loss; the weight is detached, the gradient flows through log_prob only
        ratio = torch.exp(torch.clamp(x - LO, -20.0, 20.0))
        return -torch.clamp(ratio, 1 - low, 1 + high).detach() * A * x

    want = -verl(LP, 10.0, 0.2) * M
    got = token_surrogate_values("cispo", LP, LO, ADV, MASK, eps_high=0.2)
    assert close(got, want)
    w = aggregation_weights(MASK, "token_mean")  # verl's default loss_agg_mode
    want_c = _coef_of(lambda x: _verl_agg(verl(x, 10.0, 0.2), MASK, "token-mean"), LP)
    assert close(token_surrogate_coefficients("cispo", LP, LO, ADV, MASK, w, eps_high=0.2), want_c)
    assert close(want_c, r.clamp(max=1.2) * A * w)  # the CISPO weight: clipped ratio × advantage

    trl = -(-torch.clamp(r, max=5.0) * A * LP) * M  # TRL, epsilon_high = 5.0
    assert close(token_surrogate_values("cispo", LP, LO, ADV, MASK, eps_high=4.0), trl)
    # twins: verl's *default* clip_ratio_low = 0.2 also lifts r ≈ 0.61 to 0.8 (pgtheory has no lower bound), and
    # reading TRL's epsilon_high as ε (cap 1 + 5 = 6) changes the r ≈ 12.2 token
    assert not close(got, -verl(LP, 0.2, 0.2) * M)
    assert not close(token_surrogate_values("cispo", LP, LO, ADV, MASK, eps_high=5.0), trl)


# -- sequence-level ratios: GSPO, GMPO -------------------------------------------------------------------------------

# GSPO batch: small per-token log-ratios; sequence means 0.001 (A > 0: clipped at 1 + 4e-4), 1e-4 (inside), −0.001
# (A < 0: clipped at 1 − ε_low; 1 − 4e-4 and 1 − 3e-4 give different values)
GD = T(0.002, 0.0, 0.001, 0.0006, -0.0003, 0.0, -0.0015, -0.0005, 0.0).view(3, 3)
GLO = torch.full((3, 3), -1.0, dtype=F64)
GLP = GLO + GD


def _verl_gspo_loss(lp, lo, adv, mask, low, high):
    """verl compute_policy_loss_gspo: token ratio sg(s_i)·π/sg(π), clipped, aggregated seq-mean-token-mean (forced)."""
    m = mask.to(lp.dtype)
    A = _tok(adv, lp)
    nakl_seq = ((lp - lo) * m).sum(-1) / m.sum(-1).clamp(min=1)
    log_s = torch.clamp(lp - lp.detach() + nakl_seq.detach()[:, None], max=10.0)
    s = torch.exp(log_s)
    pg_losses = torch.maximum(-A * s, -A * torch.clamp(s, 1 - low, 1 + high))
    return pg_losses, _verl_agg(pg_losses, mask, "seq-mean-token-mean")


def _trl_gspo_loss(lp, lo, adv, mask, eps):
    """TRL importance_sampling_level="sequence", loss_type="grpo": s = exp(masked mean log-ratio), shape (B, 1)."""
    m = mask.to(lp.dtype)
    log_w = (((lp - lo) * m).sum(-1) / m.sum(-1).clamp(min=1.0))[:, None]
    coef_1 = torch.exp(log_w)
    coef_2 = torch.clamp(coef_1, 1 - eps, 1 + eps)
    per_token_loss = -torch.min(coef_1 * adv[:, None], coef_2 * adv[:, None])
    return ((per_token_loss * m).sum(-1) / m.sum(-1).clamp(min=1.0)).mean()


def test_gspo_verl_and_trl_sequence_level():
    """verl loss_mode="gspo" with clip_ratio_low = clip_ratio_high = 4e-4 and TRL importance_sampling_level="sequence"
    (loss_type "grpo", epsilon 4e-4) ↔ ``gspo`` (eps_seq 4e-4) under ``seq_mean_token_mean``: the same values per
    token (s_i·A on every token of response i) and the same gradients (verl's token-level sg-trick and TRL's
    differentiable s both give s_i·A/L_i per token)."""
    per_tok, verl_loss = _verl_gspo_loss(GLP, GLO, ADV, MASK, 4e-4, 4e-4)
    got = token_surrogate_values("gspo", GLP, GLO, ADV, MASK, eps_seq=4e-4)
    assert close(got, -per_tok * M)
    assert close(got[0], T(1.0004, 1.0004, 1.0004)) and close(got[2, :2], -0.5 * T(0.9996, 0.9996))
    w = aggregation_weights(MASK, "seq_mean_token_mean")
    assert close((w * got).sum(), -verl_loss)
    assert close((w * got).sum(), -_trl_gspo_loss(GLP, GLO, ADV, MASK, 4e-4))
    coef = token_surrogate_coefficients("gspo", GLP, GLO, ADV, MASK, w, eps_seq=4e-4)
    assert close(coef, _coef_of(lambda x: _verl_gspo_loss(x, GLO, ADV, MASK, 4e-4, 4e-4)[1], GLP))
    assert close(coef, _coef_of(lambda x: _trl_gspo_loss(x, GLO, ADV, MASK, 4e-4), GLP))
    # twin: token-level PPO clip with the same ε (TRL's importance_sampling_level="token") differs
    assert not close(token_surrogate_values("ppo_clip", GLP, GLO, ADV, MASK, eps=4e-4), got)


def test_gspo_paper_asymmetric_clip_is_gspo_by_the_sign_of_the_advantage():
    """The GSPO paper's (ε_low, ε_high) = (3e-4, 4e-4) (verl examples/gspo_trainer) has no single ``gspo`` call (one
    eps_seq); exact as where(A > 0, gspo(4e-4), gspo(3e-4)), since only 1 + ε_high binds for A > 0 and 1 − ε_low
    for A < 0."""
    per_tok, verl_loss = _verl_gspo_loss(GLP, GLO, ADV, MASK, 3e-4, 4e-4)
    A = _tok(ADV, GLP)
    got = torch.where(A > 0, token_surrogate_values("gspo", GLP, GLO, ADV, MASK, eps_seq=4e-4),
                      token_surrogate_values("gspo", GLP, GLO, ADV, MASK, eps_seq=3e-4))
    assert close(got, -per_tok * M)
    assert close((aggregation_weights(MASK, "seq_mean_token_mean") * got).sum(), -verl_loss)
    # twin: the symmetric default eps_seq = 4e-4 clips response 2 (A < 0) at 0.9996, the paper at 0.9997
    assert not close(token_surrogate_values("gspo", GLP, GLO, ADV, MASK, eps_seq=4e-4), got, rtol=0, atol=1e-6)


def _verl_geo_mean_loss(lp, lo, adv, mask, low, high):
    """verl compute_policy_loss_geo_mean (GMPO): per-token log-ratio clipped pessimistically by sign(A), geometric
    mean over the response, −A·ratio per sequence, mean over sequences (loss_agg_mode ignored)."""
    m = mask.to(lp.dtype)
    A = _tok(adv, lp)
    nakl = lp - lo
    sgn = torch.sign(A)
    nakl_min = sgn * torch.min(sgn * nakl, sgn * torch.clamp(nakl, -low, high))
    n = m.sum(-1)
    ratio = torch.exp((nakl_min * m).sum(-1) / (n + 1e-8))
    advantage = (A * m).sum(-1) / (n + 1e-8)
    return torch.mean(-advantage * ratio)


def _gmpo_authors_loss(lp, lo, adv, mask, cliprange):
    """callsys/GMPO train_zero_math_gmpo.py, critic_type_modify="gmpo" (one response per micro-batch, CLIPRANGE 0.4
    in scripts/qwen2.5-math-7b-gmpo.sh): sgn = −1 if A ≥ 0 else 1, max(sgn·d, clamp(sgn·d, −ε, ε)), times sgn."""
    losses = []
    for i in range(lp.shape[0]):
        msk = mask[i]
        sgn = -1.0 if float(adv[i]) >= 0 else 1.0
        d = lp[i] - lo[i]
        d_max = sgn * torch.max(sgn * d, torch.clamp(sgn * d, -cliprange, cliprange))
        ratio = torch.exp(d_max[msk].sum() / msk.sum())
        losses.append(-adv[i] * ratio)
    return torch.stack(losses)


def test_gmpo_verl_geo_mean_and_the_authors_code():
    """verl loss_mode="geo_mean" with clip_ratio_low = clip_ratio_high = 0.4 (examples/gmpo_trainer) and the GMPO
    authors' loss (cliprange 0.4) ↔ ``gmpo`` (eps_log 0.4) under ``seq_mean_token_mean`` (verl: torch.mean over
    sequences of the per-sequence loss)."""
    got = token_surrogate_values("gmpo", LP, LO, ADV, MASK, eps_log=0.4)
    authors = -_gmpo_authors_loss(LP, LO, ADV, MASK, 0.4)
    assert close(got, authors[:, None] * M)
    # by hand: A > 0 clips only upwards, κ = (0.4, −0.5, 0.1), mean 0; A < 0 clips only downwards:
    # κ = (1.5, −0.4, 2.5), mean 1.2, and κ = (0.05, 1.2), mean 0.625
    assert close(authors, T(1.0, -torch.exp(T(1.2)).item(), -0.5 * torch.exp(T(0.625)).item()))
    w = aggregation_weights(MASK, "seq_mean_token_mean")
    assert close((w * got).sum(), -_verl_geo_mean_loss(LP, LO, ADV, MASK, 0.4, 0.4))
    coef = token_surrogate_coefficients("gmpo", LP, LO, ADV, MASK, w, eps_log=0.4)
    assert close(coef, _coef_of(lambda x: _verl_geo_mean_loss(x, LO, ADV, MASK, 0.4, 0.4), LP))
    # twin: without the token clip (authors' "gmpo_noclip", cliprange 1000) the values differ
    assert not close(got, -_gmpo_authors_loss(LP, LO, ADV, MASK, 1000.0)[:, None] * M)


# -- Clip-Cov --------------------------------------------------------------------------------------------------------

def _verl_clip_cov_loss(lp, lo, adv, mask, low, high, ratio_k, lb, ub):
    """verl compute_policy_loss_clip_cov (from PRIME-RL/Entropy-Mechanism-of-RL): the PPO loss with corr = 0 on
    up to max(⌊clip_cov_ratio·n⌋, 1) tokens drawn at random among the real, not already clipped tokens with
    lb < Cov < ub, Cov = (A − masked_mean A)(lp − masked_mean lp)."""
    m = mask.to(lp.dtype)
    A = _tok(adv, lp)
    ratio = torch.exp(lp - lo)
    pg_losses1 = -A * ratio
    pg_losses2 = -A * torch.clamp(ratio, 1 - low, 1 + high)
    clip_by_origin = (pg_losses2 > pg_losses1) & (m > 0)
    cov_all = ((A - (A * m).sum() / (m.sum() + 1e-8)) * (lp - (lp.detach() * m).sum() / (m.sum() + 1e-8))).detach()
    cov_all[m == 0] = -torch.inf
    cov_all[clip_by_origin] = -torch.inf
    clip_num = max(int(ratio_k * m.sum().item()), 1)
    idx = torch.nonzero((cov_all < ub) & (cov_all > lb) & (m > 0))
    assert len(idx) <= clip_num  # the deterministic case: every eligible token is chosen, the permutation is moot
    corr = torch.ones_like(A)
    corr[idx[:, 0], idx[:, 1]] = 0
    pg_losses = torch.maximum(pg_losses1, pg_losses2) * corr
    return pg_losses, _verl_agg(pg_losses, mask, "token-mean")


def test_clip_cov_verl_deterministic_case():
    """verl loss_mode="clip_cov" (clip_ratio 0.2, clip_cov_ratio 2e-4, lb 1, ub 5) on four tokens: k = 1 and exactly
    one eligible token, so verl's unseeded randperm does not matter ↔ ``clip_cov`` (eps 0.2, cov_ratio 2e-4).
    Cov: lp = (−0.2, −1, −1.5, −0.4), mean −0.775, A = (2, 2, −2, −2): Cov = (1.15, −0.45, 1.45, −0.75); token (1, 0)
    (A < 0, r = e^−0.5 < 0.8) is already clipped, so token (0, 0) is the one. verl multiplies its loss by 0 (value
    and gradient 0); pgtheory detaches it (gradient 0, value kept): the gradients agree, the values differ there."""
    lp = T(-0.2, -1.0, -1.5, -0.4).view(2, 2)
    d = T(0.1, 0.0, -0.5, 0.0).view(2, 2)
    lo, adv, mask = lp - d, T(2.0, -2.0), torch.ones(2, 2, dtype=torch.bool)
    hp = dict(eps=0.2, cov_ratio=2e-4, cov_lb=1.0, cov_ub=5.0)
    per_tok, _ = _verl_clip_cov_loss(lp, lo, adv, mask, 0.2, 0.2, 2e-4, 1.0, 5.0)
    got = token_surrogate_values("clip_cov", lp, lo, adv, mask, generator=torch.Generator().manual_seed(0), **hp)
    keep = torch.tensor([[False, True], [True, True]])
    assert close(got[keep], -per_tok[keep]) and per_tok[0, 0] == 0
    assert close(got[0, 0], 2 * torch.exp(T(0.1)))  # pgtheory keeps the (detached) value r·A there
    w = aggregation_weights(mask, "token_mean")
    want_c = _coef_of(lambda x: _verl_clip_cov_loss(x, lo, adv, mask, 0.2, 0.2, 2e-4, 1.0, 5.0)[1], lp)
    gen = torch.Generator().manual_seed(0)
    coef = token_surrogate_coefficients("clip_cov", lp, lo, adv, mask, w, generator=gen, **hp)
    assert close(coef, want_c) and coef[0, 0] == 0
    # twin: plain PPO clip keeps the gradient of token (0, 0)
    assert not close(token_surrogate_coefficients("ppo_clip", lp, lo, adv, mask, w, eps=0.2), want_c)


# -- KL estimators by verl's and TRL's names -------------------------------------------------------------------------

def test_kl_penalty_names_and_sign_convention():
    """verl kl_penalty(logprob, ref_logprob, name): "kl"/"k1" = logprob − ref, "mse"/"k2" = ½(logprob − ref)²,
    "low_var_kl"/"k3" = clamp(e^κ − κ − 1, −10, 10) with κ = clamp(ref − logprob, ±20); TRL GRPO (beta ≠ 0):
    e^(ref − lp) − (ref − lp) − 1, unclamped. pgtheory's ℓ is ref_logprob − logprob:
    k1 ↔ "kl", k2 ↔ "mse", k3 ↔ "low_var_kl" where the clamp does not bind and ↔ TRL everywhere, k3_clamped ↔
    "low_var_kl" everywhere."""
    logprob, ref = T(-0.5, -1.2, -3.0), T(-0.7, -1.0, -0.2)
    ell = ref - logprob  # (−0.2, 0.2, 2.8); at 2.8 the k3 value ≈ 12.6 > 10: verl's clamp binds
    assert close(kl_estimate(ell, "k1"), logprob - ref)  # verl "kl"
    assert close(kl_estimate(ell, "k2"), 0.5 * (logprob - ref).square())  # verl "mse"
    kl = torch.clamp(ref - logprob, min=-20, max=20)
    verl_k3 = torch.clamp(torch.exp(kl) - kl - 1, min=-10, max=10)  # verl "low_var_kl"
    trl_k3 = torch.exp(ref - logprob) - (ref - logprob) - 1  # TRL GRPO per_token_kl
    assert close(kl_estimate(ell[:2], "k3"), verl_k3[:2])
    assert close(kl_estimate(ell, "k3"), trl_k3)
    assert close(kl_estimate(ell, "k3_clamped"), verl_k3) and verl_k3[2] == 10.0
    # twins: the clamp binds at ℓ = 2.8 (k3 ≠ verl); the opposite sign convention ℓ = logprob − ref gives other numbers
    assert not close(kl_estimate(ell, "k3"), verl_k3)
    assert not close(kl_estimate(-ell, "k3"), trl_k3) and not close(kl_estimate(-ell, "k1"), logprob - ref)


# -- group advantages ------------------------------------------------------------------------------------------------

R = T(1.0, 0.0, 0.5, 0.0, 2.0, 2.0, 0.0, 1.0).view(2, 4)  # two groups of G = 4


def test_rloo_advantage_verl_and_trl():
    """verl compute_rloo_outcome_advantage: R·n/(n − 1) − mean·n/(n − 1); TRL RLOOTrainer: R − (Σ_group − R)/(G − 1)
    (normalize_advantages False, the default) ↔ ``group_advantages(R, "rloo")``."""
    n = R.shape[-1]
    verl = R * n / (n - 1) - R.mean(-1, keepdim=True) * n / (n - 1)
    trl = R - (R.sum(-1, keepdim=True) - R) / (n - 1)
    got = group_advantages(R, "rloo")
    assert close(got, verl) and close(got, trl)
    assert close(got[0], T(1.0 - 0.5 / 3, -1.5 / 3, 0.5 - 1.0 / 3, -1.5 / 3))
    assert not close(group_advantages(R, "mean"), verl)  # twin: the group mean includes the sample itself


def test_dr_grpo_advantage_verl_and_trl():
    """verl compute_grpo_outcome_advantage(norm_adv_by_std_in_grpo=False) and TRL scale_rewards="none" (or False):
    R − mean_group R ↔ ``group_advantages(R, "mean")`` (Dr. GRPO)."""
    want = R - R.mean(-1, keepdim=True)
    assert close(group_advantages(R, "mean"), want)
    assert close(want[1], T(0.75, 0.75, -1.25, -0.25))
    # twin: the std-normalised GRPO advantage (verl's default, ε = 1e-6, Bessel std)
    grpo = want / (R.std(-1, keepdim=True) + 1e-6)
    assert close(group_advantages(R, "grpo", eps=1e-6), grpo) and not close(grpo, want)


# -- loss aggregation ------------------------------------------------------------------------------------------------

AGG_MASK = torch.tensor([[True, True, True, False], [True, False, False, False], [True, True, False, False]])
LOSS = T(0.3, -1.2, 0.7, 9.0, 2.0, 9.0, 9.0, 9.0, -0.4, 1.1, 9.0, 9.0).view(3, 4)  # 9.0 on padding must not count


@pytest.mark.parametrize("verl_mode, kind", [("token-mean", "token_mean"),
                                             ("seq-mean-token-mean", "seq_mean_token_mean"),
                                             ("seq-mean-token-sum", "seq_mean_token_sum")])
def test_verl_agg_loss_modes_on_one_group(verl_mode, kind):
    """verl agg_loss(loss_mat, loss_mask, mode) on the G responses of one group ↔ Σ aggregation_weights(mask)·loss."""
    want = _verl_agg(LOSS, AGG_MASK, verl_mode)
    got = (aggregation_weights(AGG_MASK, kind) * LOSS).sum()
    assert close(got, want)
    hand = {"token-mean": (0.3 - 1.2 + 0.7 + 2.0 - 0.4 + 1.1) / 6,
            "seq-mean-token-mean": ((0.3 - 1.2 + 0.7) / 3 + 2.0 + (-0.4 + 1.1) / 2) / 3,
            "seq-mean-token-sum": ((0.3 - 1.2 + 0.7) + 2.0 + (-0.4 + 1.1)) / 3}[verl_mode]
    assert close(got, hand)
    # twin: every other of the three gives another number on this batch
    for other in {"token_mean", "seq_mean_token_mean", "seq_mean_token_sum"} - {kind}:
        assert not close((aggregation_weights(AGG_MASK, other) * LOSS).sum(), want)


def test_trl_grpo_and_dr_grpo_aggregations():
    """TRL loss_type="grpo": ((ℓ·m).sum(−1)/m.sum(−1).clamp(min=1)).mean() ↔ ``seq_mean_token_mean``;
    loss_type="dr_grpo": (ℓ·m).sum()/(B·max_completion_length) ↔ ``constant`` — whose L_max is the mask's width, so
    the mask must be padded to max_completion_length (TRL pads a batch only to its longest completion)."""
    m = AGG_MASK.to(F64)
    trl_grpo = ((LOSS * m).sum(-1) / m.sum(-1).clamp(min=1.0)).mean()
    assert close((aggregation_weights(AGG_MASK, "seq_mean_token_mean") * LOSS).sum(), trl_grpo)
    max_completion_length = 6
    trl_dr = (LOSS * m).sum() / (LOSS.size(0) * max_completion_length)
    pad = torch.zeros(3, max_completion_length - 4)
    wide_mask = torch.cat([AGG_MASK, pad.bool()], -1)
    wide_loss = torch.cat([LOSS, pad.to(F64) + 9.0], -1)
    assert close((aggregation_weights(wide_mask, "constant") * wide_loss).sum(), trl_dr)
    assert close(trl_dr, (0.3 - 1.2 + 0.7 + 2.0 - 0.4 + 1.1) / 18)
    # twin: with the mask only as wide as the batch (4) the constant is 1/(3·4), not 1/(3·6)
    assert not close((aggregation_weights(AGG_MASK, "constant") * LOSS).sum(), trl_dr)


# -- GAE as verl computes it -----------------------------------------------------------------------------------------

def _verl_gae_whitened(rewards, values, mask, gamma, lam):
    """verl compute_gae_advantage_return: backwards over t, skipping mask-0 tokens (value and advantage carried);
    returns = advantages + values (before whitening); advantages = verl_F.masked_whiten(advantages, mask):
    (x − mean)·rsqrt(Bessel var + 1e-8), mean/var over the whole batch's real tokens (masked_mean adds 1e-8 to the
    count); padding is NOT zeroed by verl."""
    m = mask.to(rewards.dtype)
    nextvalues, lastgaelam, rev = 0.0, 0.0, []
    for t in reversed(range(rewards.shape[-1])):
        delta = rewards[:, t] + gamma * nextvalues - values[:, t]
        lastgaelam_ = delta + gamma * lam * lastgaelam
        nextvalues = values[:, t] * m[:, t] + (1 - m[:, t]) * nextvalues
        lastgaelam = lastgaelam_ * m[:, t] + (1 - m[:, t]) * lastgaelam
        rev.append(lastgaelam)
    adv = torch.stack(rev[::-1], dim=1)
    returns = adv + values
    mean = (adv * m).sum() / (m.sum() + 1e-8)
    var = ((adv - mean) ** 2 * m).sum() / (m.sum() + 1e-8) * (m.sum() / (m.sum() - 1))
    return adv, (adv - mean) * torch.rsqrt(var + 1e-8), returns


def test_verl_gae_with_batch_whitening():
    """verl compute_gae_advantage_return(token_level_rewards, values [B, T], response_mask, gamma, lam) ↔
    ``verl_gae`` followed by ``whiten(adv, mask=mask, std="bessel", eps=1e-8, eps_placement="variance",
    pool_axes=2)`` (pgtheory.estimators.normalization; verl's masked_whiten over the [B, T] batch) on the real tokens;
    returns = unwhitened advantages + values. (``gae_advantages`` works on tabular ``Trajectories`` with a critic
    table [S] and cannot take verl's inputs.)"""
    rewards = T(0.0, 0.0, 1.0, 0.0, 0.0, -0.1, 0.0, 0.5).view(2, 4)
    values = T(0.2, 0.4, 0.6, 0.9, 0.1, -0.3, 0.5, 0.2).view(2, 4)
    mask = torch.tensor([[True, True, True, False], [True, True, True, True]])
    adv_raw, adv_white, ret = _verl_gae_whitened(rewards, values, mask, 0.9, 0.8)
    # by hand, response 0 (γλ = 0.72): δ_2 = 1 − 0.6 = 0.4; δ_1 = 0.9·0.6 − 0.4 = 0.14, Â_1 = 0.14 + 0.72·0.4 = 0.428;
    # δ_0 = 0.9·0.4 − 0.2 = 0.16, Â_0 = 0.16 + 0.72·0.428 = 0.46816
    assert close(adv_raw[0, :3], T(0.46816, 0.428, 0.4))
    a, r = verl_gae(rewards, values, mask, gamma=0.9, lam=0.8)
    assert close(a[mask], adv_raw[mask]) and close(r[mask], ret[mask])
    white = whiten(a, mask=mask, std="bessel", eps=1e-8, eps_placement="variance", pool_axes=2)
    assert close(white[mask], adv_white[mask], atol=1e-8)  # verl's masked_mean divides by count + 1e-8: ~1e-9 apart
    assert white[0, 3] == 0 and adv_white[0, 3] != 0  # pgtheory zeroes padding, verl leaves (x − mean)·rsqrt there
    # twins: whitening each response on its own (pool_axes=1), or not whitening, gives other advantages
    per_row = whiten(a, mask=mask, std="bessel", eps=1e-8, eps_placement="variance", pool_axes=1)
    assert not close(per_row[mask], adv_white[mask])
    assert not close(a[mask], adv_white[mask])
