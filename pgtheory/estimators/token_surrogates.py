r"""Token-level policy-loss surrogates of LLM-RL practice (registry ``TOKEN_SURROGATES``), to be maximised.

Inputs per group: token log-probabilities under the current policy ``lp [..., G, L]`` (differentiable), under
the sampling policy ``lo`` (detached), sequence advantages ``adv [..., G]`` and the token ``mask``. With
r_t = e^{lp_t − lo_t} and the length-normalised sequence ratio s = exp(mean_t log r_t), each function returns
per-token surrogate values ``[..., G, L]`` that an aggregation (:mod:`pgtheory.estimators.aggregation`) sums.
Sequence-level surrogates place their value v_i on every token of response i, so that an aggregation's token
weights sum to the response's weight (seq_mean_token_mean: Σ_t w_{i,t}·v_i = v_i/G) and every aggregation applies.

==================  =====================================================================  ==============================
name                per-token value (A = advantage of the response)                         source
==================  =====================================================================  ==============================
``pg``              r_t A (no clipping)                                                     importance-weighted PG
``ppo_clip``        min(r_t A, clip(r_t, 1−ε, 1+ε) A), ε = 0.2                               PPO / GRPO
``clip_higher``     as ppo_clip with [1 − ε_low, 1 + ε_high] = [0.8, 1.28]                    DAPO
``dual_clip``       ppo_clip, and for A < 0 at least c·A (c = 3)                             dual-clip PPO
``spo``             r_t A − |A| (r_t − 1)² / (2ε)                                            SPO (seed L103)
``cispo``           sg(clip(r_t, 0, 1 + ε_high)) A lp_t (weight clipped, gradient kept)      CISPO (MiniMax-M1)
``aspo``            A > 0: sg(1/r_t)·A·lp_t (flipped ratio); A ≤ 0: ppo_clip                 ASPO (seed L41)
``gspo``            min(s A, clip(s, 1−ε_s, 1+ε_s) A), ε_s = 4e-4, on every token          GSPO (seed L129)
``gmpo``            A·exp(mean_t κ_t), κ_t the pessimistic PPO clip of log r_t to ±ε (0.4)   GMPO (seed L197)
``clip_cov``        ppo_clip, with the gradient of a ``cov_ratio`` fraction of tokens whose   Clip-Cov (seed L113)
                    Cov_t = (A − Ā)(lp_t − l̄p) lies in (lb, ub) detached (random choice)
``kl_cov``          r_t A (unclipped) − c·|lp_t − lo_t| on the top ``cov_ratio`` tokens by     KL-Cov (seed L113), as the
                    Cov_t (c = 1; verl's actor.yaml default is 0.1)                          reference and verl
``kl_cov_ppo_clip`` ppo_clip − c·|lp_t − lo_t| on the same tokens (a hybrid; before            not a published method
                    2026-11-30 this package's ``kl_cov``)
``sapo``            A·(4/τ)·σ(τ(r_t − 1)); τ = τ_pos (1.0) if A > 0, else τ_neg (1.05)     SAPO (Qwen; verl, TRL)
``vespo``           sg(φ(W))·A·lp_t, W = Π_t r_t, φ(W) = W^k e^{λ(1−W)}; (k, λ) = (2, 3)   VESPO (reference code, TRL)
                    if A ≥ 0, else (3, 2)
==================  =====================================================================  ==============================

``sg`` is stop-gradient. Unclipped GMPO, A·exp(mean_t log r_t), equals unclipped GSPO, s·A, exactly.
:func:`token_surrogate_coefficients` returns ∂(aggregated surrogate)/∂lp_t by autograd — the per-token weight
on ∇log π_θ(y_t) — which :func:`pgtheory.estimators.sequence_score_sum` contracts into a gradient. Clip-Cov and KL-Cov
follow the public reference (PRIME-RL/Entropy-Mechanism-of-RL, as adapted in verl's ``compute_policy_loss_kl_cov``:
unclipped base −A·r, penalty ppo_kl_coef·|log r| on the top ``kl_cov_ratio`` tokens by covariance; verl's default
ratio 2e-4 selects one token on toy batches, ours is 0.02): batch means over real tokens;
Clip-Cov's random choice uses the ``generator`` passed in the hyper-parameters (deterministic runs; verl zeroes the
chosen tokens' loss where this detaches them — equal gradients, different values). CISPO clamps the weight above only,
as MiniMax-M1 writes it; verl clamps both sides, clamp(r, 1 − clip_ratio_low, 1 + clip_ratio_high), which equals this
when clip_ratio_low ≥ 1 (its example uses 10), and TRL's ``epsilon_high`` is the absolute cap (``eps_high = h − 1``);
the default ε_high = 0.28 has no public source found (see docs/conformance.md). The ASPO
flip and its (omitted) soft dual clip follow the abstract; the paper's exact stop-gradient placement was not
verified.

SAPO and VESPO (added 2026-11-30) are smooth alternatives to clipping. SAPO's gate (4/τ)σ(τ(r − 1)) has slope 1 at
r = 1, so its token weight is r_t·A·sech²(τ(r_t − 1)/2): the importance-weighted PG times a soft trust factor.
VESPO reshapes the *sequence* ratio W = Π_t r_t (no length normalisation) by the gamma kernel φ and uses it as a
detached weight on every token's ∇log π; with k = 1, λ = 0 it is plain sequence-level importance sampling. Both give
the policy gradient at θ = θ_old. Sources and the exact numerics are in the entries' docstrings.
"""
from __future__ import annotations

import math
from typing import Callable

import torch

from .._checks import check_finite, check_finite_result, check_mask, check_real
from .._registry import Registry
from .sequence_ratios import spread_to_tokens

__all__ = ["TOKEN_SURROGATES", "token_surrogate_values", "token_surrogate_coefficients"]

SurFn = Callable[..., torch.Tensor]
TOKEN_SURROGATES: Registry[SurFn] = Registry("token surrogate")


def _a(adv, lp):
    return adv[..., None].expand_as(lp)


def _clip_min(r, A, lo, hi):
    return torch.minimum(r * A, r.clamp(lo, hi) * A)


def _seq_log_ratio(lp, lo, mask):
    return ((lp - lo) * mask).sum(-1) / mask.sum(-1)


@TOKEN_SURROGATES.register("pg")
def _pg(lp, lo, adv, mask):
    return torch.exp(lp - lo) * _a(adv, lp)


@TOKEN_SURROGATES.register("ppo_clip")
def _ppo(lp, lo, adv, mask, *, eps: float = 0.2):
    return _clip_min(torch.exp(lp - lo), _a(adv, lp), 1 - eps, 1 + eps)


@TOKEN_SURROGATES.register("clip_higher")
def _clip_higher(lp, lo, adv, mask, *, eps_low: float = 0.2, eps_high: float = 0.28):
    return _clip_min(torch.exp(lp - lo), _a(adv, lp), 1 - eps_low, 1 + eps_high)


@TOKEN_SURROGATES.register("dual_clip")
def _dual(lp, lo, adv, mask, *, eps: float = 0.2, c: float = 3.0):
    A = _a(adv, lp)
    base = _clip_min(torch.exp(lp - lo), A, 1 - eps, 1 + eps)
    return torch.where(A < 0, torch.maximum(base, c * A), base)


@TOKEN_SURROGATES.register("spo")
def _spo(lp, lo, adv, mask, *, eps: float = 0.2):
    r, A = torch.exp(lp - lo), _a(adv, lp)
    return r * A - A.abs() * (r - 1) ** 2 / (2 * eps)


@TOKEN_SURROGATES.register("cispo")
def _cispo(lp, lo, adv, mask, *, eps_high: float = 0.28):
    return torch.exp(lp - lo).clamp(max=1 + eps_high).detach() * _a(adv, lp) * lp


@TOKEN_SURROGATES.register("aspo")
def _aspo(lp, lo, adv, mask, *, eps: float = 0.2):
    A = _a(adv, lp)
    r = torch.exp(lp - lo)
    return torch.where(A > 0, (1 / r).detach() * A * lp, _clip_min(r, A, 1 - eps, 1 + eps))


@TOKEN_SURROGATES.register("gspo")
def _gspo(lp, lo, adv, mask, *, eps_seq: float = 4e-4):
    s = torch.exp(_seq_log_ratio(lp, lo, mask))
    return spread_to_tokens(_clip_min(s, adv, 1 - eps_seq, 1 + eps_seq), mask)


@TOKEN_SURROGATES.register("gmpo")
def _gmpo(lp, lo, adv, mask, *, eps_log: float = 0.4):
    lr = (lp - lo) * mask
    sgn = torch.sign(_a(adv, lp))
    kappa = sgn * torch.minimum(sgn * lr, sgn * lr.clamp(-eps_log, eps_log))  # pessimistic clip, as PPO's min
    return spread_to_tokens(adv * torch.exp((kappa * mask).sum(-1) / mask.sum(-1)), mask)


def _token_cov(lp, adv, mask):
    m = mask.bool()
    A = _a(adv, lp)
    a_bar = A[m].mean()
    l_bar = lp.detach()[m].mean()
    return (A - a_bar) * (lp - l_bar)


@TOKEN_SURROGATES.register("clip_cov")
def _clip_cov(lp, lo, adv, mask, *, eps: float = 0.2, cov_ratio: float = 0.02, cov_lb: float = 1.0, cov_ub: float = 5.0,
              generator: torch.Generator | None = None):
    r, A = torch.exp(lp - lo), _a(adv, lp)
    base = _clip_min(r, A, 1 - eps, 1 + eps)
    clipped = (r.clamp(1 - eps, 1 + eps) * A < r * A) & mask.bool()
    cov = _token_cov(lp, adv, mask).detach()
    eligible = (cov > cov_lb) & (cov < cov_ub) & mask.bool() & ~clipped
    cand = eligible.reshape(-1).nonzero().flatten()
    k = max(int(cov_ratio * float(mask.sum())), 1)
    chosen = cand[torch.randperm(len(cand), generator=generator)[:k]] if len(cand) else cand
    detach = torch.zeros(base.numel(), dtype=torch.bool, device=base.device)
    detach[chosen] = True
    detach = detach.view_as(base)
    return torch.where(detach, base.detach(), base)


def _top_cov(lp, adv, mask, cov_ratio):
    """Bool mask of the top ``max(1, ⌊cov_ratio · n_real⌋)`` real tokens by Cov_t (never padding)."""
    cov = torch.where(mask.bool(), _token_cov(lp, adv, mask).detach(), torch.full_like(lp, -torch.inf))
    n_real = int(mask.sum())
    k = min(max(int(cov_ratio * n_real), 1), n_real)  # at least one token, none from padding
    top = torch.zeros(lp.numel(), dtype=torch.bool, device=lp.device)
    top[cov.reshape(-1).topk(k).indices] = True
    return top.view_as(lp)


@TOKEN_SURROGATES.register("kl_cov")
def _kl_cov(lp, lo, adv, mask, *, cov_ratio: float = 0.02, kl_coef: float = 1.0):
    """KL-Cov as the reference implements it: the *unclipped* r_t·A, minus kl_coef·|lp_t − lo_t| on the top-Cov tokens."""
    r, A = torch.exp(lp - lo), _a(adv, lp)
    base = r * A
    return torch.where(_top_cov(lp, adv, mask, cov_ratio), base - kl_coef * (lp - lo).abs(), base)


@TOKEN_SURROGATES.register("kl_cov_ppo_clip")
def _kl_cov_ppo_clip(lp, lo, adv, mask, *, eps: float = 0.2, cov_ratio: float = 0.02, kl_coef: float = 1.0):
    """A hybrid (not the reference): KL-Cov's penalty on top of the PPO-clip objective (this package's ``kl_cov`` before
    2026-11-30)."""
    r, A = torch.exp(lp - lo), _a(adv, lp)
    base = _clip_min(r, A, 1 - eps, 1 + eps)
    return torch.where(_top_cov(lp, adv, mask, cov_ratio), base - kl_coef * (lp - lo).abs(), base)


@TOKEN_SURROGATES.register("sapo")
def _sapo(lp, lo, adv, mask, *, tau_pos: float = 1.0, tau_neg: float = 1.05):
    r"""SAPO's soft gate in place of the clip: per-token value A·f_τ(r_t), ``[..., G, L]``.

    .. math:: f_\tau(r) = \frac{4}{\tau}\,\sigma\big(\tau (r - 1)\big),\qquad
              \tau = \tau_{\rm pos}\ \text{if}\ A > 0,\ \text{else}\ \tau_{\rm neg},

    with r_t = exp(lp_t − lo_t), the log-ratio clamped to [−20, 20] before exp as verl does (TRL does not clamp; the
    two agree whenever |lp_t − lo_t| ≤ 20). ``lp, lo [..., G, L]``, ``adv [..., G]`` (one advantage per response).

    Gradient: ∂/∂lp_t = A·r_t·f_τ'(r_t) = A·r_t·4σ(1 − σ) = A·r_t·sech²(τ(r_t − 1)/2) — the importance-weighted
    PG weight r_t·A times a trust factor that is 1 at r_t = 1 and decays like 4e^{−τ|r_t − 1|}; no token's gradient
    is cut to exactly 0 as by a hard clip (except beyond the ±20 clamp). At θ = θ_old (r_t = 1) the weight is A for either temperature: the
    policy gradient. A larger τ_neg (the default 1.05 > 1.0) damps negative-advantage tokens faster.

    Source: Gao et al. 2025, "Soft Adaptive Policy Optimization" (Qwen), arXiv 2511.20347; verl
    ``verl/trainer/ppo/core_algos.py::compute_policy_loss_sapo`` (gate ``sigmoid(tau*(r-1))*4/tau``, τ = tau_pos if
    A > 0 else tau_neg, defaults tau_pos 1.0, tau_neg 1.05 in ``trainer/config/actor/actor.yaml``; it forces the
    seq-mean-token-mean aggregation) and TRL ``GRPOTrainer._compute_loss`` (loss_type="sapo",
    ``sapo_temperature_pos/neg`` = 1.0/1.05, aggregated as "grpo": seq-mean-token-mean), read on 2026-11-30. The gate
    and defaults agree across verl, TRL and the ms-swift and AReaL documentation; the paper's own text was not read
    here (not verified beyond those implementations).
    """
    A = _a(adv, lp)
    tau = torch.where(A > 0, A.new_tensor(tau_pos), A.new_tensor(tau_neg))
    r = torch.exp((lp - lo).clamp(-20.0, 20.0))
    return 4.0 / tau * torch.sigmoid(tau * (r - 1.0)) * A


def _vespo_kernel(log_w, adv, k_pos, lambda_pos, k_neg, lambda_neg):
    """φ(W) = W^k·e^{λ(1−W)} from log W ``[..., G]``, with (k, λ) chosen by the sign of the response's advantage."""
    nonneg = adv >= 0
    k = torch.where(nonneg, adv.new_tensor(k_pos), adv.new_tensor(k_neg))
    lam = torch.where(nonneg, adv.new_tensor(lambda_pos), adv.new_tensor(lambda_neg))
    return torch.exp(k * log_w + lam * (1.0 - log_w.exp()))


@TOKEN_SURROGATES.register("vespo")
def _vespo(lp, lo, adv, mask, *, k_pos: float = 2.0, lambda_pos: float = 3.0, k_neg: float = 3.0, lambda_neg: float = 2.0):
    r"""VESPO's gamma-reshaped sequence ratio as a detached weight: per-token value sg(φ(W))·A·lp_t, ``[..., G, L]``.

    .. math:: W = \prod_t r_t = \exp\Big(\sum_t (lp_t - lo_t)\Big),\qquad
              \varphi(W) = W^{k}\,e^{\lambda (1 - W)}\quad(\varphi(1) = 1),

    (k, λ) = (k_pos, lambda_pos) if A ≥ 0, else (k_neg, lambda_neg). W is the full sequence ratio (a product, not
    GSPO's length-normalised geometric mean). Numerics as TRL: token log-ratios clamped to [−20, 20] and log W to
    [log 1e-8, 20] (the reference clamps log W to [−20, 20] and floors W at 1e-8 inside W^k only; the two differ
    by a factor e^{λ·O(1e-8)} and only when log W < log 1e-8). ``lp, lo [..., G, L]``, ``adv [..., G]``.

    Gradient: ∂/∂lp_t = φ(W)·A on every token of the response (φ is detached), i.e. φ(W)·A·∇log π(y) summed over
    the response. At θ = θ_old, W = 1 and the weight is A: the policy gradient. With k = 1, λ = 0, φ(W) = W and the
    estimator is sequence-level importance sampling: with ``seq_mean_token_sum`` and an advantage whose baseline does
    not involve the response itself (RLOO), exactly unbiased for ∇J(π_θ) on responses drawn from π_old; otherwise
    its bias is E_μ[(1/G) Σ_i (φ(W_i) − W_i)·A_i·∇log π_θ(y_i)] — the price of bounded weights (φ peaks at W = k/λ and vanishes as W → 0, ∞).

    Source: Shen et al. 2026, "VESPO: Variational Sequence-Level Soft Policy Optimization", arXiv 2602.10693;
    reference implementation github.com/FloyedShen/VESPO ``recipe/vespo/code/core_algos.py::compute_policy_loss_vespo``
    (commit aa1f304; loss ``-phi.detach()*A*log_prob``, k/λ by ``A >= 0``) and TRL ``GRPOTrainer.get_gamma_weights``
    with loss_type="vespo", read on 2026-11-30. Defaults (k_pos, λ_pos, k_neg, λ_neg) = (2, 3, 3, 2) are the
    reference code's, its run scripts' and TRL's; the reference's docstring lists (2, 1.5, 4, 2.5), an
    inconsistency in the source. Both implementations aggregate by token-mean (TRL: sum over the global batch's
    tokens; the reference scripts: ``loss_agg_mode=token-mean``). The paper's equations were not read here (the
    kernel form is verified from the two implementations only); the reference clamps λ to ≥ 1e-4, we allow λ = 0.
    """
    log_w = ((lp - lo).clamp(-20.0, 20.0) * mask).sum(-1).clamp(math.log(1e-8), 20.0).detach()
    phi = _vespo_kernel(log_w, adv, k_pos, lambda_pos, k_neg, lambda_neg)
    return phi[..., None] * _a(adv, lp) * lp


#: constraints on the hyper-parameters of the entries (check_real keyword arguments), checked before any call
_HP_RANGES: dict[str, dict] = {
    "eps": dict(low=0.0, low_open=True), "eps_low": dict(low=0.0, low_open=True), "eps_high": dict(low=0.0, low_open=True),
    "eps_seq": dict(low=0.0, low_open=True), "eps_log": dict(low=0.0, low_open=True), "c": dict(low=0.0, low_open=True),
    "cov_ratio": dict(low=0.0, high=1.0), "cov_lb": {}, "cov_ub": {}, "kl_coef": dict(low=0.0),
    "tau_pos": dict(low=0.0, low_open=True), "tau_neg": dict(low=0.0, low_open=True),
    "k_pos": dict(low=0.0), "k_neg": dict(low=0.0), "lambda_pos": dict(low=0.0), "lambda_neg": dict(low=0.0),
}


def _check_hyperparameters(hp: dict) -> dict:
    """Hyper-parameters as floats within their ranges; ``generator`` a torch.Generator or None."""
    out = {}
    for k, v in hp.items():
        if k == "generator":
            if v is not None and not isinstance(v, torch.Generator):
                raise TypeError(f"generator: expected a torch.Generator or None, got {type(v).__name__}")
            out[k] = v
        else:
            out[k] = check_real(v, k, **_HP_RANGES.get(k, {}))
    if "cov_lb" in out and "cov_ub" in out and not out["cov_lb"] < out["cov_ub"]:
        raise ValueError(f"cov_lb, cov_ub: need cov_lb < cov_ub, got {out['cov_lb']} and {out['cov_ub']}")
    return out


def _check_batch(lp, lo, adv, mask) -> torch.Tensor:
    """Validate (lp, lo, adv, mask) of shapes ([..., G, L], same, [..., G], same as lp); return the bool mask."""
    for t, n in ((lp, "lp"), (lo, "lo"), (adv, "adv")):
        if not isinstance(t, torch.Tensor) or not t.dtype.is_floating_point:
            raise TypeError(f"{n}: expected a floating-point torch.Tensor, got "
                            f"{t.dtype if isinstance(t, torch.Tensor) else type(t).__name__}")
        check_finite(t.detach(), n)
    mask = check_mask(mask)
    if lp.ndim < 2:
        raise ValueError(f"lp: expected shape [..., G, L], got {tuple(lp.shape)}")
    if lp.shape != lo.shape or lp.shape != mask.shape or adv.shape != lp.shape[:-1]:
        raise ValueError(f"lo, mask, adv: expected shapes {tuple(lp.shape)}, {tuple(lp.shape)}, {tuple(lp.shape[:-1])}; got "
                         f"{tuple(lo.shape)}, {tuple(mask.shape)}, {tuple(adv.shape)}")
    if bool((mask.sum(-1) == 0).any()):
        raise ValueError("mask: every response needs at least one token")
    return mask


def token_surrogate_values(kind: str, lp: torch.Tensor, lo: torch.Tensor, adv: torch.Tensor, mask: torch.Tensor, **hp) -> torch.Tensor:
    """Per-token surrogate values ``[..., G, L]`` (0 on padding).

    ``lp, lo [..., G, L]`` log-probabilities (current, sampling), ``adv [..., G]``, ``mask [..., G, L]`` (every response
    at least one token); ``hp`` the chosen surrogate's hyper-parameters — any other keyword raises ``TypeError``.
    """
    fn = TOKEN_SURROGATES.resolve(kind, hp, n_positional=4, arg="kind")
    hp = _check_hyperparameters(hp)
    mask = _check_batch(lp, lo, adv, mask)
    m = mask.to(lp.dtype)
    return check_finite_result(fn(lp * m, lo * m, adv, m, **hp) * m, "lp, lo, adv", f"{kind} surrogate (exp(lp − lo) overflows)")


def token_surrogate_coefficients(kind: str, lp, lo, adv, mask, weights: torch.Tensor, **hp) -> torch.Tensor:
    """∂/∂lp_t of Σ_{i,t} weights_{i,t}·value_{i,t}: the weight on each ∇log π_θ(y_t), ``[..., G, L]`` (``weights`` as ``lp``)."""
    check_finite(weights, "weights")
    if isinstance(lp, torch.Tensor) and weights.shape != lp.shape:
        raise ValueError(f"weights: expected shape {tuple(lp.shape)} (as lp), got {tuple(weights.shape)}")
    with torch.enable_grad():
        x = lp.detach().requires_grad_(True) if isinstance(lp, torch.Tensor) else lp
        v = token_surrogate_values(kind, x, lo.detach() if isinstance(lo, torch.Tensor) else lo,
                                   adv.detach() if isinstance(adv, torch.Tensor) else adv, mask, **hp)
        (c,) = torch.autograd.grad((weights * v).sum(), x, allow_unused=False)
    return check_finite_result(c * check_mask(mask), "lp, lo, adv, weights", f"{kind} coefficient")
