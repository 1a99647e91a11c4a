r"""The Unified Policy Gradient Estimator (UPGE) of Lv et al. (2025), "Towards a Unified View of Large Language Model
Post-Training", as a surrogate whose autograd gradient is the estimator.

The UPGE of one response τ = (y_1, …, y_T) to prompt q, at token level, is built from four parts:

.. math:: \widehat{g}(\tau) = \sum_t \mathbb 1_{\text{stable}}(t)\,\frac{1}{\pi_{ref}(y_t|q,y_{<t})}\,\hat A_t\,
          \nabla_\theta\pi_\theta(y_t|q,y_{<t}),

stabilization mask 1_stable, reference-policy denominator π_ref, advantage estimate Â and likelihood gradient ∇π_θ.
:func:`unified_surrogate` returns s(θ) = Σ_t sg[1_stable Â / π_ref] · π_θ(y_t|·) per response (sg = stop-gradient), so
∇_θ s is exactly the UPGE. The named algorithms are choices of the parts (Lv et al. 2025, §3, Table 1 as read through
secondary summaries): SFT — π_ref = π_θ, Â = 1, no mask; online policy gradient — π_ref = π_θ, Â = r; PPO/GRPO —
π_ref = π_old, the clip mask of :func:`ppo_stable_mask`, Â a GAE or group-normalised advantage.

Shapes: token tensors ``[..., N, L]`` (N responses, L token slots), padded slots excluded by ``token_mask``.
"""
from __future__ import annotations

import torch

from .._checks import as_tensor, check_finite, check_real

__all__ = ["unified_surrogate", "ppo_stable_mask"]


def _token_tensor(x, name: str) -> torch.Tensor:
    t = as_tensor(x, name)
    if t.ndim < 1:
        raise ValueError(f"{name}: expected token tensors [..., N, L], got a scalar")
    return t


def ppo_stable_mask(ratio, advantage, *, eps: float = 0.2) -> torch.Tensor:
    r"""1_stable of PPO's clipped surrogate: 0 where the clip is active and binding, else 1 (float64, ratio's shape).

    ∇ min(ρÂ, clip(ρ, 1−ε, 1+ε)Â) = 1_stable · Â ∇ρ with 1_stable = 1 − [ρ > 1+ε, Â > 0] − [ρ < 1−ε, Â < 0] (away from the
    measure-zero kinks ρ = 1 ± ε). ``ratio`` ρ = π_θ/π_old per token; ``advantage`` broadcasts against it.
    """
    r = check_finite(_token_tensor(ratio, "ratio"), "ratio")
    a = check_finite(_token_tensor(advantage, "advantage"), "advantage")
    eps = check_real(eps, "eps", low=0.0)
    if eps == 0.0:
        raise ValueError("eps: must be > 0")
    clipped = ((r > 1 + eps) & (a > 0)) | ((r < 1 - eps) & (a < 0))
    return (~clipped).to(r.dtype)


def unified_surrogate(token_log_probs: torch.Tensor, ref_token_probs, advantages, stable_mask, token_mask) -> torch.Tensor:
    r"""s(θ) = Σ_t sg[1_stable(t) Â_t / π_ref(y_t|·)] · π_θ(y_t|·) per response: ``[..., N, L] → [..., N]``.

    ``token_log_probs``: log π_θ(y_t|·) with autograd history; ``ref_token_probs``: π_ref(y_t|·) (> 0 on real tokens;
    detached); ``advantages``: Â per token (or per response ``[..., N, 1]``, broadcast); ``stable_mask``: 1_stable in
    {0, 1}; ``token_mask``: True on real tokens. The gradient of ``s.sum()`` (or of any fixed combination) is the UPGE.
    """
    if not isinstance(token_log_probs, torch.Tensor):
        raise TypeError(f"token_log_probs: expected a torch.Tensor, got {type(token_log_probs).__name__}")
    mask = as_tensor(token_mask, "token_mask", dtype=torch.bool)
    ref = check_finite(_token_tensor(ref_token_probs, "ref_token_probs"), "ref_token_probs").detach()
    adv = check_finite(_token_tensor(advantages, "advantages"), "advantages").detach()
    stable = check_finite(_token_tensor(stable_mask, "stable_mask"), "stable_mask").detach()
    if bool(((stable != 0) & (stable != 1)).any()):
        raise ValueError("stable_mask: entries must be 0 or 1")
    if bool((ref[mask.expand_as(ref)] <= 0).any()):
        raise ValueError("ref_token_probs: must be > 0 on every real token")
    coef = torch.where(mask, stable * adv / torch.where(mask, ref, torch.ones_like(ref)), torch.zeros_like(ref))
    return (coef * token_log_probs.exp()).sum(-1)
