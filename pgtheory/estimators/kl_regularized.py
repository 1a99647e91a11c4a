r"""Surrogates for KL-regularised objectives (RPG, seed L11): reverse and forward KL, normalised and
unnormalised, in fully differentiable and REINFORCE (stop-gradient) forms, on- or off-policy.

Samples y ∼ π_old; w = π_θ(y)/π_old(y) (w = 1 on-policy, where π_old is π_θ detached); the intended
objectives are

* reverse: :math:`J(\theta) - \beta\,\mathrm{KL}(\pi_\theta\|\pi_{\rm ref})` (UKL: Σ π log(π/π_ref) − π + π_ref),
* forward: :math:`J(\theta) - \beta\,\mathrm{KL}(\pi_{\rm ref}\|\pi_\theta)` (UKL: Σ π_ref log(π_ref/π) − π_ref + π).

Each surrogate is a per-sample scalar s(log π_θ(y)) (to be maximised). It depends on θ only through
log π_θ(y), so its autograd gradient is (∂s/∂log π_θ(y))·∇log π_θ(y); :func:`surrogate_score_coefficient`
returns that coefficient by autograd, and E_{π_old}[coefficient·∇log π_θ] is the surrogate's expected gradient.

===========================  ===================================================  ===================================
name                         per-sample surrogate                                  coefficient
===========================  ===================================================  ===================================
``reverse_differentiable``   w·(r − β log(π/π_ref))                                w(r − β log(π/π_ref) − β)
``reverse_reinforce``        sg[w(r − β log(π/π_ref))]·log π                        w(r − β log(π/π_ref))
``reverse_ukl``              w·r − β[w log(π/π_ref) − w + π_ref/π_old]              w(r − β log(π/π_ref))
``forward_differentiable``   w·r + β (π_ref/π_old) log π                            w r + β π_ref/π_old
``forward_reinforce``        sg[w(r − β(1 − π_ref/π))]·log π                        w(r − β + β π_ref/π)
``forward_ukl``              w·r − β[(π_ref/π_old) log(π_ref/π) − π_ref/π_old + w]  w(r − β) + β π_ref/π_old
===========================  ===================================================  ===================================

For a normalised π the unnormalised and normalised objectives have the same gradient (Σ∇π = 0); the
surrogates differ in variance only. Derivations are checked by enumeration in the tests and claim L11-rpg.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import torch

from .._checks import check_finite, check_finite_result, check_real
from .._registry import Registry

__all__ = ["KLSurrogate", "KL_REGULARIZED_SURROGATES", "surrogate_score_coefficient"]

SurrogateFn = Callable[[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, float], torch.Tensor]


class KLSurrogate(NamedTuple):
    fn: SurrogateFn  #: (log_pi, log_old, log_ref, reward, beta) → per-sample surrogate, differentiable in log_pi
    regulariser: str  #: "reverse" or "forward": which KL its expected gradient penalises
    form: str  #: "differentiable", "reinforce" or "unnormalised"


KL_REGULARIZED_SURROGATES: Registry[KLSurrogate] = Registry("KL-regularised surrogate")


def _w(lp, lo):
    return torch.exp(lp - lo)


KL_REGULARIZED_SURROGATES.register("reverse_differentiable")(KLSurrogate(
    lambda lp, lo, lr, r, b: _w(lp, lo) * (r - b * (lp - lr)), "reverse", "differentiable"))
KL_REGULARIZED_SURROGATES.register("reverse_reinforce")(KLSurrogate(
    lambda lp, lo, lr, r, b: (_w(lp, lo) * (r - b * (lp - lr))).detach() * lp, "reverse", "reinforce"))
KL_REGULARIZED_SURROGATES.register("reverse_ukl")(KLSurrogate(
    lambda lp, lo, lr, r, b: _w(lp, lo) * r - b * (_w(lp, lo) * (lp - lr) - _w(lp, lo) + torch.exp(lr - lo)), "reverse", "unnormalised"))
KL_REGULARIZED_SURROGATES.register("forward_differentiable")(KLSurrogate(
    lambda lp, lo, lr, r, b: _w(lp, lo) * r + b * torch.exp(lr - lo) * lp, "forward", "differentiable"))
KL_REGULARIZED_SURROGATES.register("forward_reinforce")(KLSurrogate(
    lambda lp, lo, lr, r, b: (_w(lp, lo) * (r - b * (1 - torch.exp(lr - lp)))).detach() * lp, "forward", "reinforce"))
KL_REGULARIZED_SURROGATES.register("forward_ukl")(KLSurrogate(
    lambda lp, lo, lr, r, b: _w(lp, lo) * r - b * (torch.exp(lr - lo) * (lr - lp) - torch.exp(lr - lo) + _w(lp, lo)),
    "forward", "unnormalised"))


def surrogate_score_coefficient(name: str, log_pi: torch.Tensor, log_old: torch.Tensor, log_ref: torch.Tensor,
                                reward: torch.Tensor, beta: float) -> torch.Tensor:
    """c = ∂s/∂log π_θ(y) per sample, by autograd, so that ∇_θ s = c ∇_θ log π_θ(y) (all inputs one shape)."""
    sur = KL_REGULARIZED_SURROGATES.get(name)
    for t, n in ((log_pi, "log_pi"), (log_old, "log_old"), (log_ref, "log_ref"), (reward, "reward")):
        check_finite(t, n)
        if t.shape != log_pi.shape:
            raise ValueError(f"{n}: expected shape {tuple(log_pi.shape)} (as log_pi), got {tuple(t.shape)}")
    beta = check_real(beta, "beta", low=0.0)
    with torch.enable_grad():
        lp = log_pi.detach().requires_grad_(True)
        (c,) = torch.autograd.grad(sur.fn(lp, log_old.detach(), log_ref.detach(), reward.detach(), beta).sum(), lp)
    return check_finite_result(c, "log_pi, log_old, log_ref, reward, beta", f"{name} coefficient (overflow)")
