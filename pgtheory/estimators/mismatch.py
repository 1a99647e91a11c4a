r"""Training/inference-mismatch corrections (registry ``MISMATCH_CORRECTIONS``): per-token weights w_t ≥ 0.

Setting. A response y = (y_1..y_L) to prompt q is sampled from the rollout (inference) policy μ and trained under π
(the trainer's log-probabilities). Inputs are the token log-ratios ℓ_t = log π(y_t | h_t) − log μ(y_t | h_t),
h_t = (q, y_<t), ``log_ratio [..., L]`` (e.g. ``[..., G, L]``), and the token ``mask`` of the same shape. Write
ρ_t = e^{ℓ_t} and ρ(y) = Π_t ρ_t = π(y)/μ(y). Every function returns weights ``[..., L]``, 0 on padding, that a loss
multiplies into the policy-gradient coefficient: the estimate of one response is

.. math:: \hat g(y) = \sum_t w_t\,A\,\nabla\log\pi(y_t\mid h_t),\qquad y\sim\mu,

to be compared with the on-policy gradient ∇J = E_π[A ∇log π(y)] (A = R − b with a constant baseline b, so
E_π[b ∇log π] = 0). Write f(y) = A(y)∇log π(y).

==================  ====================================================  ==================================================
name                w_t                                                   E_μ[ĝ] (exact; derivations below)
==================  ====================================================  ==================================================
``seq_is``          ρ(y) on every token                                   ∇J (unbiased)
``seq_tis``         min(ρ(y), C)                                          ∇J − E_π[(1 − C/ρ)_+ f]
``seq_mis``         ρ(y)·1[lo ≤ ρ(y) ≤ C]                                 ∇J − E_π[1[ρ ∉ [lo, C]] f]
``token_tis``       min(ρ_t, C)                                           Σ_h d^μ(h) Σ_a min(π, Cμ)(a|h) Q^μ(h,a) ∇log π(a|h)
``token_mis``       ρ_t·1[lo ≤ ρ_t ≤ C]                                   Σ_h d^μ(h) Σ_a π(a|h)1[lo ≤ ρ ≤ C] Q^μ(h,a) ∇log π(a|h)
``rs`` (sequence)   1[the response's statistic passes its threshold(s)]  E_μ[1_𝒜 f] (μ's gradient on the accepted set 𝒜)
``rs`` (token)      1[the token's k1/k2/k3 passes its threshold(s)]      Σ_h d^μ(h) Σ_a μ(a|h)1[accepted] Q^μ(h,a) ∇log π(a|h)
``opsm``            1 − 1[A_t < 0]·1[mean_t(−ℓ_t) > δ]                   E_μ[f] − E_μ[1[A < 0, mean(−ℓ) > δ] f]
``bypass_ppo_clip`` ρ_t·1[token not clipped by verl's dual-clip PPO]      d^μ, Q^μ as token_tis, clipped tokens dropped
``verl``            (verl's IS weight or 1) × (verl's rejection mask)      products of the above
==================  ====================================================  ==================================================

Derivations. *Sequence-level* weights w(y): E_μ[w f] = Σ_y π(y)(w/ρ) f = E_π[(w/ρ) f]; with w = min(ρ, C),
w/ρ = min(1, C/ρ) = 1 − (1 − C/ρ)_+, and with w = ρ·1_S, w/ρ = 1_S — the masked set simply drops out of ∇J.
Rejection without IS keeps the rollout measure: E_μ[1_𝒜 f] = Σ_{y∈𝒜} μ(y) f(y), biased by E_μ[1_𝒜 f] − ∇J even
for 𝒜 = everything. *Token-level* weights w(h, a) that depend on the token's own ratio: summing over the
response tree, E_μ[ĝ] = Σ_t Σ_h d^μ_t(h) Σ_a μ(a|h) w(a|h) Q^μ(h, a) ∇log π(a|h), where d^μ(h) is μ's probability
of reaching the prefix h and Q^μ(h, a) = E_μ[A | h, a] the continuation value under μ, whereas
∇J = Σ_h d^π(h) Σ_a π(a|h) Q^π(h, a) ∇log π(a|h). Token IS corrects the action distribution only: the prefix
distribution d^μ and the continuation Q^μ stay those of the rollout policy, a bias of first order in the mismatch
that grows with length (verl's docs: O(T²Δ_max)). Truncation further replaces π(a|h) by min(π(a|h), Cμ(a|h)),
masking by π(a|h)·1[lo ≤ ρ ≤ C]. *Batch normalisation* (``batch_normalize=True`` of ``token_tis``/``seq_tis``,
verl's ``rollout_is_batch_normalize``) divides by the batch mean w̄: for sequence weights the batch estimate
(1/B)Σ_i (w_i/w̄) f_i = Σ_i w_i f_i / Σ_j w_j is self-normalised IS — at B = 1 it is f itself (E = E_μ[f], no
correction left), as B → ∞ it tends to E_μ[w f]/E_μ[w] (= ∇J for w = ρ: consistent), with a bias
κ/B + O(B⁻²), κ = E[wf]Var(w)/E[w]³ − Cov(w, wf)/E[w]² (delta method).

Source. verl ``verl/trainer/ppo/rollout_corr_helper.py`` — ``compute_rollout_correction_weights``,
``compute_rollout_rejection_mask``, ``compute_rollout_correction_and_rejection_mask`` — and ``core_algos.py`` —
``compute_policy_loss_bypass_mode``, ``compute_policy_loss_reinforce``, ``compute_policy_loss_vanilla`` — and
``docs/algo/rollout_corr.md`` (volcengine/verl at b178a3c, read on 2026-11-30); Liu, Li et al. (2025), "When Speed
Kills Stability: Demystifying RL Collapse from the Training-Inference Mismatch" (TIS/MIS); TRL
``GRPOTrainer`` (``vllm_importance_sampling_mode``, ``get_off_policy_mask``; huggingface/trl at f2cd577, read on
2026-11-30); DeepSeek-AI (2025), DeepSeek-V3.2, arXiv:2512.02556, "off-policy sequence masking" (the rule as TRL's
paper index quotes it; the paper's PDF itself was not read). verl clamps log-ratios to ±20 before exponentiating
(``SAFETY_BOUND``); here ratios are exact and an overflow raises instead, so results differ only where |ℓ| > 20.
verl's masked means divide by (token count + 1e-8): its sequence means and batch means differ from these by a
relative ~1e-8 (checked against verl's ``compute_rollout_correction_and_rejection_mask`` on random batches for
every ``rollout_is`` × ``rollout_rs`` option and batch normalisation: max difference 1.3e-8).
"""
from __future__ import annotations

import math
from typing import Any, Callable

import torch

from .._checks import as_tensor, check_finite, check_finite_result, check_mask, check_real
from .._registry import Registry
from .divergences import kl_estimate
from .sequence_ratios import spread_to_tokens

__all__ = ["MISMATCH_CORRECTIONS", "mismatch_weights", "rejection_statistic", "RS_STATISTICS"]

WeightFn = Callable[..., torch.Tensor]
MISMATCH_CORRECTIONS: Registry[WeightFn] = Registry("mismatch correction")

#: verl's ``rollout_rs`` options: (aggregation over the response, per-token KL(μ‖π) estimator).
RS_STATISTICS: dict[str, tuple[str, str]] = {
    **{f"token_{k}": ("token", k) for k in ("k1", "k2", "k3")},
    **{f"seq_{agg}_{k}": (agg, k) for agg in ("sum", "mean") for k in ("k1", "k2", "k3")},
    **{f"seq_max_{k}": ("max", k) for k in ("k2", "k3")},
}
BATCH_MEAN_FLOOR = 1e-8  #: verl leaves the weights unnormalised when their batch mean is at most this


def _masked_sum(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return torch.where(mask, x, torch.zeros_like(x)).sum(-1)


def _masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return _masked_sum(x, mask) / mask.sum(-1).to(x.dtype)


def _token_ratio(log_ratio: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """ρ_t on real tokens, 0 on padding."""
    return torch.where(mask, log_ratio.exp(), torch.zeros_like(log_ratio))


def _sequence_ratio(log_ratio: torch.Tensor) -> torch.Tensor:
    """ρ(y) = exp(Σ_t ℓ_t) ``[...]`` (padding holds ℓ = 0)."""
    return log_ratio.sum(-1).exp()


def _threshold(x: Any, name: str) -> float:
    return check_real(x, name, low=0.0, low_open=True)


def _lower_bound(lower: Any, upper: float) -> float:
    lo = check_real(lower, "lower", low=0.0)
    if lo > upper:
        raise ValueError(f"lower: must not exceed the upper threshold {upper:g}, got {lo:g}")
    return lo


def _batch_dim(batch_dim: Any, ndim: int) -> int:
    """``batch_dim`` as a non-negative axis of a ``[..., B, L]`` tensor, not the token axis."""
    if isinstance(batch_dim, bool) or not isinstance(batch_dim, int) or not -ndim <= batch_dim < ndim:
        raise ValueError(f"batch_dim: expected an axis of log_ratio (ndim {ndim}), got {batch_dim!r}")
    bd = batch_dim % ndim
    if bd == ndim - 1:
        raise ValueError("batch_dim: must differ from the token axis (−1)")
    return bd


def _batch_normalized(w: torch.Tensor, mask: torch.Tensor, level: str, batch_dim: int) -> torch.Tensor:
    """w / (batch mean of w): over the real tokens of the batch (``level="token"``) or over its responses' weights
    (``"sequence"``), as verl; a batch whose mean is ≤ 1e-8 is left as it is (verl's guard)."""
    bd = _batch_dim(batch_dim, w.ndim)
    if level == "token":
        m = mask.to(w.dtype)
        mean = (w * m).sum((bd, -1), keepdim=True) / m.sum((bd, -1), keepdim=True)
    else:
        mean = _masked_mean(w, mask).mean(bd, keepdim=True)[..., None]
    ok = mean > BATCH_MEAN_FLOOR
    return torch.where(ok, w / torch.where(ok, mean, torch.ones_like(mean)), w)


def _flag(x: Any) -> bool:
    if not isinstance(x, bool):
        raise TypeError(f"batch_normalize: expected a bool, got {type(x).__name__}")
    return x


@MISMATCH_CORRECTIONS.register("seq_is")
def sequence_is_weights(log_ratio: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """ρ(y) = π(y)/μ(y) on every token: E_μ[ρ f] = E_π[f] exactly (variance E_μ[ρ²f²] grows with length)."""
    return spread_to_tokens(_sequence_ratio(log_ratio), mask)


@MISMATCH_CORRECTIONS.register("seq_tis")
def sequence_tis_weights(log_ratio: torch.Tensor, mask: torch.Tensor, *, threshold: float = 2.0,
                         batch_normalize: bool = False, batch_dim: int = -2) -> torch.Tensor:
    """min(ρ(y), C) on every token, C = ``threshold`` (verl ``rollout_is="sequence"``, default 2.0; TRL
    ``"sequence_truncate"`` with ``clip_max`` 3.0 and no ``clip_min`` — a floor on ρ is not offered here).

    E_μ[min(ρ, C) f] = E_π[f] − E_π[(1 − C/ρ)_+ f]. ``batch_normalize`` divides by the mean sequence weight over
    ``batch_dim`` (verl ``rollout_is_batch_normalize``).
    """
    c = _threshold(threshold, "threshold")
    w = spread_to_tokens(_sequence_ratio(log_ratio).clamp(max=c), mask)
    return _batch_normalized(w, mask, "sequence", batch_dim) if _flag(batch_normalize) else w


@MISMATCH_CORRECTIONS.register("token_tis")
def token_tis_weights(log_ratio: torch.Tensor, mask: torch.Tensor, *, threshold: float = 2.0,
                      batch_normalize: bool = False, batch_dim: int = -2) -> torch.Tensor:
    """min(ρ_t, C), C = ``threshold`` (verl ``rollout_is="token"``, default 2.0; TRL ``"token_truncate"``, 3.0).

    E_μ[ĝ] = Σ_h d^μ(h) Σ_a min(π(a|h), Cμ(a|h)) Q^μ(h, a) ∇log π(a|h) (module docstring). ``batch_normalize``
    divides by the mean weight over the real tokens of axes (``batch_dim``, −1), as verl.
    """
    c = _threshold(threshold, "threshold")
    w = _token_ratio(log_ratio, mask).clamp(max=c)
    return _batch_normalized(w, mask, "token", batch_dim) if _flag(batch_normalize) else w


@MISMATCH_CORRECTIONS.register("seq_mis")
def sequence_mis_weights(log_ratio: torch.Tensor, mask: torch.Tensor, *, threshold: float = 2.0,
                         lower: float = 0.0) -> torch.Tensor:
    """ρ(y)·1[lo ≤ ρ(y) ≤ C] (bounds kept) on every token: E = ∇J − E_π[1[ρ ∉ [lo, C]] f].

    TRL ``vllm_importance_sampling_mode="sequence_mask"`` (its default; C = ``clip_max`` = 3.0, lo = ``clip_min`` or
    0); verl's Seq-MIS preset (``decoupled_seq_is_rs``) is ``threshold=2.0, lower=0.5``.
    """
    c = _threshold(threshold, "threshold")
    lo = _lower_bound(lower, c)
    rho = _sequence_ratio(log_ratio)
    return spread_to_tokens(torch.where((rho >= lo) & (rho <= c), rho, torch.zeros_like(rho)), mask)


@MISMATCH_CORRECTIONS.register("token_mis")
def token_mis_weights(log_ratio: torch.Tensor, mask: torch.Tensor, *, threshold: float = 2.0,
                      lower: float = 0.0) -> torch.Tensor:
    """ρ_t·1[lo ≤ ρ_t ≤ C] (bounds kept), 0 on padding (TRL ``"token_mask"``: C = ``clip_max``, lo = ``clip_min``)."""
    c = _threshold(threshold, "threshold")
    lo = _lower_bound(lower, c)
    rho = _token_ratio(log_ratio, mask)
    return torch.where((rho >= lo) & (rho <= c), rho, torch.zeros_like(rho))


def rejection_statistic(log_ratio: torch.Tensor, mask: torch.Tensor, statistic: str) -> torch.Tensor:
    """verl's rejection statistic ``[..., L]`` (a sequence statistic repeated on its tokens).

    Per token the KL(μ‖π) estimate k1 = −ℓ, k2 = ½ℓ², k3 = e^ℓ − 1 − ℓ (:func:`~pgtheory.estimators.kl_estimate`
    with ℓ = log π − log μ, samples from μ); ``token_*`` keeps it per token, ``seq_sum_*`` / ``seq_mean_*`` /
    ``seq_max_*`` sum / average / maximise it over the real tokens of each response.
    """
    if statistic not in RS_STATISTICS:
        raise ValueError(f"statistic: unknown rejection statistic {statistic!r}; known: {', '.join(RS_STATISTICS)}")
    agg, k = RS_STATISTICS[statistic]
    per_token = kl_estimate(log_ratio, k)
    if agg == "token":
        return per_token
    if agg == "sum":
        seq = _masked_sum(per_token, mask)
    elif agg == "mean":
        seq = _masked_mean(per_token, mask)
    else:
        seq = torch.where(mask, per_token, torch.full_like(per_token, -math.inf)).amax(-1)
    return seq[..., None].expand_as(log_ratio)


def _accepted(stat: torch.Tensor, statistic: str, upper: float, lower: float | None) -> torch.Tensor:
    """Keep-mask of one rejection option: k1 — lower ≤ e^{stat} ≤ upper (lower = 1/upper by default); k2/k3 —
    stat ≤ upper (verl's code; see :func:`rejection_weights` on the k1 direction)."""
    if statistic.endswith("k1"):
        lo = 1.0 / upper if lower is None else check_real(lower, "lower", low=0.0, low_open=True)
        if lo > upper:
            raise ValueError(f"lower: must not exceed upper = {upper:g}, got {lo:g}")
        return (stat >= math.log(lo)) & (stat <= math.log(upper))
    if lower is not None:
        raise ValueError(f"lower: the {statistic} statistic takes an upper bound only (verl), got lower={lower!r}")
    return stat <= upper


@MISMATCH_CORRECTIONS.register("rs")
def rejection_weights(log_ratio: torch.Tensor, mask: torch.Tensor, *, statistic: str, upper: float,
                      lower: float | None = None) -> torch.Tensor:
    """1 on accepted tokens (or every token of an accepted response), 0 on rejected ones and padding.

    verl ``rollout_rs=statistic`` with ``rollout_rs_threshold`` ``upper`` (k2/k3) or ``"lower_upper"`` (k1).
    Geo-RS is ``seq_mean_k1``: its statistic is −(1/|y|)Σ_t ℓ_t, so e^{stat} = (μ(y)/π(y))^{1/|y|}, the inverse
    of the geometric-mean ratio. For k1 verl's code keeps lower ≤ e^{stat} ≤ upper, i.e. the *ratio* ρ = π/μ
    (per token, sequence or geometric mean) in [1/upper, 1/lower]; verl's docs write the acceptance set as
    lower ≤ ρ ≤ upper — the two agree only for symmetric bounds lower = 1/upper (the default). Implemented as
    the code. E_μ[ĝ] = E_μ[1_𝒜 f]: μ's own gradient restricted to the accepted set (no IS).
    """
    up = _threshold(upper, "upper")
    keep = _accepted(rejection_statistic(log_ratio, mask, statistic), statistic, up, lower)
    return (keep & mask).to(log_ratio.dtype)


def _advantages(advantages: Any, log_ratio: torch.Tensor) -> torch.Tensor:
    """Advantages per response ``[...]`` or per token ``[..., L]``, as ``[..., L]`` on log_ratio's device."""
    a = advantages if isinstance(advantages, torch.Tensor) and advantages.dtype.is_floating_point else \
        as_tensor(advantages, "advantages", device=log_ratio.device)
    a = check_finite(a, "advantages").to(dtype=log_ratio.dtype, device=log_ratio.device)
    if tuple(a.shape) == tuple(log_ratio.shape[:-1]):
        return a[..., None].expand_as(log_ratio)
    if tuple(a.shape) == tuple(log_ratio.shape):
        return a
    raise ValueError(f"advantages: expected shape {tuple(log_ratio.shape[:-1])} (per response) or "
                     f"{tuple(log_ratio.shape)} (per token), got {tuple(a.shape)}")


@MISMATCH_CORRECTIONS.register("opsm")
def off_policy_sequence_mask(log_ratio: torch.Tensor, mask: torch.Tensor, *, advantages: torch.Tensor,
                             delta: float) -> torch.Tensor:
    """DeepSeek-V3.2's off-policy sequence masking: M_t = 0 iff Â_t < 0 and (1/|y|)Σ_t log(μ/π)(y_t) > δ, else 1.

    The drift statistic is the token-mean k1 estimate of KL(μ‖π), −mean_t ℓ_t (μ = the sampling policy, the paper's
    π_old); it is compared strictly (> δ), the advantage strictly (< 0), as TRL's ``get_off_policy_mask``
    (``off_policy_mask_threshold`` = δ; no default — neither the paper nor TRL fixes one). ``advantages`` per
    response ``[...]`` or per token ``[..., L]``. No IS: E_μ[ĝ] = E_μ[f] − E_μ[1[A < 0, −mean ℓ > δ] f].
    """
    d = check_real(delta, "delta")
    drift = -_masked_mean(log_ratio, mask)[..., None]
    drop = (_advantages(advantages, log_ratio) < 0) & (drift > d)
    return (~drop & mask).to(log_ratio.dtype)


@MISMATCH_CORRECTIONS.register("bypass_ppo_clip")
def bypass_ppo_clip_weights(log_ratio: torch.Tensor, mask: torch.Tensor, *, advantages: torch.Tensor,
                            clip_ratio_low: float = 0.2, clip_ratio_high: float = 0.2,
                            clip_ratio_c: float = 3.0) -> torch.Tensor:
    """ρ_t·keep_t: the gradient weight of verl's PPO loss in bypass mode (π_old := μ, ratio ρ_t = π/μ).

    verl ``bypass_mode=True, loss_type="ppo_clip"`` uses ``compute_policy_loss_vanilla`` with the rollout log-probs
    as old log-probs and no separate IS weight; its per-token loss −min(ρA, clip(ρ, 1−ε_l, 1+ε_h)A), dual-clipped
    at −cA for A < 0, has gradient −ρ_t·keep_t·A_t∇log π with keep_t = 1[ρ_t ≤ 1+ε_h] for A_t > 0 and
    1[1−ε_l ≤ ρ_t ≤ c] for A_t < 0 (A_t = 0: ρ_t; its gradient is 0 anyway). At a bound itself autograd halves
    the weight (a tie of max/min); here the bound is kept. Defaults: verl's ``clip_ratio_low/high`` 0.2,
    ``clip_ratio_c`` 3.0. (``loss_type="reinforce"`` weights the score by the TIS weight instead: ``token_tis`` /
    ``seq_tis`` with ρ = π_θ/μ.)
    """
    lo = check_real(clip_ratio_low, "clip_ratio_low", low=0.0, high=1.0, high_open=True)
    hi = check_real(clip_ratio_high, "clip_ratio_high", low=0.0)
    c = check_real(clip_ratio_c, "clip_ratio_c", low=1.0, low_open=True)
    a = _advantages(advantages, log_ratio)
    rho = _token_ratio(log_ratio, mask)
    keep = torch.where(a > 0, rho <= 1 + hi, torch.where(a < 0, (rho >= 1 - lo) & (rho <= c), torch.ones_like(mask)))
    return torch.where(keep, rho, torch.zeros_like(rho))


def _plain_number(text: str) -> bool:
    """A decimal number as verl writes thresholds ("2", "0.5", "1e-3"), not Python's float syntax with underscores."""
    try:
        float(text)
    except ValueError:
        return False
    return "_" not in text


def _rs_options(rollout_rs: str, rollout_rs_threshold: Any) -> list[tuple[str, float, float | None]]:
    """verl's comma-separated ``rollout_rs`` with one threshold shared or one per option; k1 entries may be
    ``"lower_upper"`` (a bare number is the upper bound, lower = its reciprocal)."""
    options = list(dict.fromkeys(o.strip() for o in rollout_rs.split(",") if o.strip())) if isinstance(rollout_rs, str) else []
    if not options:
        raise ValueError(f"rollout_rs: expected a comma-separated string of {', '.join(RS_STATISTICS)}, got {rollout_rs!r}")
    if rollout_rs_threshold is None:
        raise ValueError("rollout_rs_threshold: required when rollout_rs is set (verl has no default)")
    if isinstance(rollout_rs_threshold, str):
        specs = [s.strip() for s in rollout_rs_threshold.split(",") if s.strip()]
    else:
        specs = [str(check_real(rollout_rs_threshold, "rollout_rs_threshold"))]
    if len(specs) not in (1, len(options)):
        raise ValueError(f"rollout_rs_threshold: expected 1 or {len(options)} thresholds, got {len(specs)}")
    out = []
    for opt, spec in zip(options, specs * len(options) if len(specs) == 1 else specs):
        parts = spec.split("_", 1)  # verl splits "lower_upper" at the first underscore
        if any(not p or not _plain_number(p) for p in parts):
            raise ValueError(f"rollout_rs_threshold: {spec!r} for {opt} is not a number or 'lower_upper'")
        up, lo = (float(parts[1]), float(parts[0])) if len(parts) == 2 else (float(parts[0]), None)
        out.append((opt, up, lo))
    return out


@MISMATCH_CORRECTIONS.register("verl")
def verl_rollout_correction(log_ratio: torch.Tensor, mask: torch.Tensor, *, rollout_is: str | None = None,
                            rollout_is_threshold: float = 2.0, rollout_is_batch_normalize: bool = False,
                            rollout_rs: str | None = None, rollout_rs_threshold: Any = None,
                            batch_dim: int = -2) -> torch.Tensor:
    """verl's rollout correction by its option names: (IS weight, or 1 when ``rollout_is`` is None) × every
    ``rollout_rs`` keep-mask (comma-separated options must all pass), 0 on padding.

    Reproduces the product of ``compute_rollout_correction_and_rejection_mask``'s ``rollout_is_weights`` and
    ``modified_response_mask``; verl also drops rejected tokens from a token-mean loss's denominator — pass the
    accepted mask to :func:`pgtheory.estimators.aggregation_weights` for that. Defaults are verl's function
    defaults (its ``RolloutCorrectionConfig`` dataclass defaults ``rollout_is`` to "sequence", its YAML to null).
    """
    if rollout_is is None:
        w = mask.to(log_ratio.dtype)
    elif rollout_is in ("token", "sequence"):
        fn = token_tis_weights if rollout_is == "token" else sequence_tis_weights
        w = fn(log_ratio, mask, threshold=rollout_is_threshold, batch_normalize=rollout_is_batch_normalize,
               batch_dim=batch_dim)
    else:
        raise ValueError(f"rollout_is: expected None, 'token' or 'sequence' (verl), got {rollout_is!r}")
    if rollout_rs is None:
        return w
    for statistic, upper, lower in _rs_options(rollout_rs, rollout_rs_threshold):
        w = w * rejection_weights(log_ratio, mask, statistic=statistic, upper=upper, lower=lower)
    return w


def _inputs(log_ratio: Any, mask: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """A finite floating log-ratio (0 on padding) and a boolean mask of the same shape, ≥ 1 token per response."""
    if not (isinstance(log_ratio, torch.Tensor) and log_ratio.dtype.is_floating_point):
        log_ratio = as_tensor(log_ratio, "log_ratio")
    check_finite(log_ratio, "log_ratio")
    mask = check_mask(mask).to(log_ratio.device)
    if log_ratio.ndim < 1:
        raise ValueError("log_ratio: expected a token axis [..., L], got a scalar")
    if mask.shape != log_ratio.shape:
        raise ValueError(f"mask: expected the shape of log_ratio {tuple(log_ratio.shape)}, got {tuple(mask.shape)}")
    if bool((mask.sum(-1) == 0).any()):
        raise ValueError("mask: every response needs at least one token")
    return torch.where(mask, log_ratio, torch.zeros_like(log_ratio)), mask


def mismatch_weights(kind: str, log_ratio: torch.Tensor, mask: torch.Tensor, **hp: Any) -> torch.Tensor:
    """Per-token weights ``[..., L]`` (≥ 0, 0 on padding) of the named correction for ``log_ratio`` = log π − log μ.

    ``mask`` is boolean (or 0/1) of log_ratio's shape, with at least one token per response. Keywords are those
    of the chosen kind (``threshold``, ``lower``, ``batch_normalize``, ``batch_dim``, ``statistic``, ``upper``,
    ``advantages``, ``delta``, ``clip_ratio_*``, verl's ``rollout_*``); any other raises ``TypeError``.
    """
    fn = MISMATCH_CORRECTIONS.resolve(kind, hp, n_positional=2, arg="kind")
    lr, m = _inputs(log_ratio, mask)
    return check_finite_result(fn(lr, m, **hp), "log_ratio", f"{kind} weight (overflow)")
