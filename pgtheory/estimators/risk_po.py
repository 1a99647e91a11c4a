r"""RiskPO's sampled MVaR advantage and policy gradient from a bundle of groups (Ren et al. 2025, arXiv:2510.00911).

A bundle holds b questions with G responses each: ``rewards [..., b, G]``. RiskPO pairs the i-th response of every
question into a "paper" i and scores it :math:`S_i = \frac1b\sum_j R_{j,i}` (:func:`paper_scores`; the authors' code
sums, which only rescales: see :mod:`pgtheory.exact.mixed_var`). With the empirical quantiles
:math:`\hat q_\alpha, \hat q_\beta` of the G paper scores, every response of paper i gets the advantage

.. math:: \hat A_i = \hat\psi(S_i)
          = a_\alpha\frac{\min(S_i-\hat q_\alpha, 0)}{\alpha} + a_\beta\frac{\min(S_i-\hat q_\beta,0)}{\beta}
          = \frac1{1+\omega}\Big[-\frac{\omega}{\alpha}(\hat q_\alpha - S_i)_+
            + \frac{\mathrm{clip}(S_i,\hat q_\alpha,\hat q_\beta)-\hat q_\beta}{\beta-\alpha}\Big]

("uniform" credit assignment), and the per-bundle gradient estimate is
:math:`\hat g = \frac1G\sum_i \hat A_i\sum_j\nabla\log\pi(y_{j,i}\mid q_j)` (:func:`risk_po_gradient_estimate`) — with the
true quantiles an unbiased estimate of ∇MVaR of the bundle score (each term's mean is the exact gradient's summand).

Registry :data:`RISK_PO_ADVANTAGES` (rewards ``[..., b, G]`` → advantages ``[..., b, G]``):

* ``mvar``   — :math:`\hat\psi(S_i)` as above.
* ``riskpo`` — :math:`\hat\psi(S_i)/(\mathrm{std}(S) + \varepsilon)` with the Bessel std of the G paper scores and
  ε = 1e-6: the authors' default (``norm_adv_by_std_in_grpo=True``); a bundle whose papers all score alike gets 0.

Both take ``alpha`` (0.2), ``beta`` (0.9), ``weight`` ω (1.5) — the authors' script defaults — and ``quantile``:
``"lower"`` (default; :math:`S_{(\lceil\gamma G\rceil)}`, the inverse empirical CDF, so the estimate is the mix
a_α ĝ_α + a_β ĝ_β of :func:`~pgtheory.estimators.cvar_pg.cvar_gradient_estimate` and its exact mean is
:func:`~pgtheory.exact.mixed_var.expected_mvar_gradient_estimate`) or ``"linear"`` (``torch.quantile``'s interpolation,
as the authors' ``use_q_track_mode="batch"``). Given ``quantiles=(q_α, q_β)`` (e.g. the true VaRs) they are used instead.
The authors' scripts run ``use_q_track_mode="track"``: one quantile pair for *all* bundles of a batch, tracked by
stochastic approximation over the pooled paper scores across training steps (``ray_trainer.py``). Its advantage at
the tracker's fixed point is ``riskpo`` with ``quantiles=`` the lower quantiles of the pooled score law
(:func:`~pgtheory.exact.mixed_var.pooled_bundle_reward_law`) and ``eps`` = ε/b (the code's ε on summed scores);
with tracked quantiles ψ̂ is uncentred, so a bundle whose papers all score alike gets ψ̂/ε, not 0 (only ψ̂ = 0
gives 0 here). Not reproduced: the tracker's dynamics and the ``std``/``score`` credit-assignment modes.
Source: RTkenny/RiskPO ``verl/trainer/ppo/core_algos.py`` (read 2026-11-30); the paper's body was not readable here.
"""
from __future__ import annotations

from typing import Callable

import torch

from .._checks import as_tensor, check_finite, check_finite_result, check_real
from .._registry import Registry
from ..exact.mixed_var import check_mvar_levels, mvar_advantage_from_quantiles, mvar_coefficients
from .cvar_pg import cvar_gradient_estimate, empirical_value_at_risk

__all__ = ["RISK_PO_ADVANTAGES", "paper_scores", "empirical_quantiles", "risk_po_advantages",
           "risk_po_gradient_estimate", "mvar_gradient_estimate"]

AdvFn = Callable[..., torch.Tensor]
RISK_PO_ADVANTAGES: Registry[AdvFn] = Registry("RiskPO advantage")

QUANTILE_METHODS = ("lower", "linear")


def _bundle_rewards(rewards) -> torch.Tensor:
    r = check_finite(as_tensor(rewards, "rewards"), "rewards")
    if r.ndim < 2 or r.shape[-1] == 0 or r.shape[-2] == 0:
        raise ValueError(f"rewards: expected a bundle [..., b, G] with b, G >= 1, got shape {tuple(r.shape)}")
    return r


def paper_scores(rewards) -> torch.Tensor:
    r"""Paper scores :math:`S_i = \frac1b\sum_j R_{j,i}`: ``rewards [..., b, G]`` → ``[..., G]``."""
    return _bundle_rewards(rewards).mean(-2)


def empirical_quantiles(scores, levels: tuple[float, ...], method: str = "lower") -> tuple[torch.Tensor, ...]:
    """Empirical quantiles of ``scores [..., G]`` at each level in (0, 1]: ``"lower"`` (S_(⌈γG⌉), as
    :func:`~pgtheory.estimators.cvar_pg.empirical_value_at_risk`) or ``"linear"`` (``torch.quantile``). Each ``[...]``."""
    if method not in QUANTILE_METHODS:
        raise ValueError(f"method: expected one of {QUANTILE_METHODS}, got {method!r}")
    s = check_finite(as_tensor(scores, "scores"), "scores")
    out = []
    for lv in levels:
        lv = check_real(lv, "levels", low=0.0, high=1.0, low_open=True)
        out.append(empirical_value_at_risk(s, lv) if method == "lower" else torch.quantile(s, lv, dim=-1))
    return tuple(out)


def _paper_psi(rewards, alpha, beta, weight, quantile, quantiles) -> tuple[torch.Tensor, torch.Tensor]:
    r = _bundle_rewards(rewards)
    a, b, w = check_mvar_levels(alpha, beta, weight)
    S = r.mean(-2)
    if quantiles is None:
        qa, qb = empirical_quantiles(S, (a, b), quantile)
    else:
        if not (isinstance(quantiles, (tuple, list)) and len(quantiles) == 2):
            raise TypeError("quantiles: expected a pair (q_alpha, q_beta)")
        qa, qb = (check_finite(as_tensor(q, "quantiles", device=S.device), "quantiles") for q in quantiles)
    return S, mvar_advantage_from_quantiles(S, qa, qb, a, b, w)


@RISK_PO_ADVANTAGES.register("mvar")
def mvar_advantages(rewards: torch.Tensor, *, alpha: float = 0.2, beta: float = 0.9, weight: float = 1.5,
                    quantile: str = "lower", quantiles=None) -> torch.Tensor:
    """ψ̂(S_i) of each response's paper (no normalisation), ``[..., b, G]``."""
    r = _bundle_rewards(rewards)
    _, psi = _paper_psi(r, alpha, beta, weight, quantile, quantiles)
    return psi.unsqueeze(-2).expand(r.shape).clone()


@RISK_PO_ADVANTAGES.register("riskpo")
def riskpo_advantages(rewards: torch.Tensor, *, alpha: float = 0.2, beta: float = 0.9, weight: float = 1.5,
                      quantile: str = "lower", quantiles=None, eps: float = 1e-6) -> torch.Tensor:
    """ψ̂(S_i)/(Bessel std of the G paper scores + ε) (the authors' default normalisation), ``[..., b, G]``."""
    r = _bundle_rewards(rewards)
    eps = check_real(eps, "eps", low=0.0)
    S, psi = _paper_psi(r, alpha, beta, weight, quantile, quantiles)
    std = S.std(-1, unbiased=True, keepdim=True) if S.shape[-1] > 1 else torch.zeros_like(S[..., :1])
    den = std + eps
    zero = (psi == 0).all(-1, keepdim=True) | (den == 0)
    adv = torch.where(zero, torch.zeros_like(psi), psi / torch.where(den == 0, torch.ones_like(den), den))
    return adv.unsqueeze(-2).expand(r.shape).clone()


def risk_po_advantages(rewards, name: str = "riskpo", **hyper) -> torch.Tensor:
    """The registered advantage ``name`` (``mvar`` | ``riskpo``) of every response: ``[..., b, G]`` → ``[..., b, G]``."""
    return RISK_PO_ADVANTAGES.call(name, rewards, **hyper)


def risk_po_gradient_estimate(rewards, scores, name: str = "mvar", **hyper) -> torch.Tensor:
    r"""Per-bundle gradient estimate :math:`\frac1G\sum_i \hat A_i\sum_j\nabla\log\pi(y_{j,i}\mid q_j)`.

    Shapes: ``rewards [..., b, G]``, ``scores [..., b, G, P]`` (∇ log π of each response) → ``[..., P]``.
    """
    r = _bundle_rewards(rewards)
    s = check_finite(as_tensor(scores, "scores", device=r.device), "scores")
    if s.ndim != r.ndim + 1 or tuple(s.shape[:-1]) != tuple(r.shape):
        raise ValueError(f"scores: expected shape {tuple(r.shape)} + (P,), got {tuple(s.shape)}")
    adv = risk_po_advantages(r, name, **hyper)
    out = torch.einsum("...bg,...bgp->...p", adv, s) / r.shape[-1]
    return check_finite_result(out, "rewards, scores", "RiskPO gradient estimate")


def mvar_gradient_estimate(returns, scores, alpha: float = 0.2, beta: float = 0.9, weight: float = 1.5) -> torch.Tensor:
    r"""Plug-in MVaR gradient :math:`a_\alpha\hat g_\alpha + a_\beta\hat g_\beta` from N i.i.d. outcomes, with
    :math:`\hat g_\gamma` the likelihood-ratio CVaR_γ estimator at the lower empirical quantile
    (:func:`~pgtheory.estimators.cvar_pg.cvar_gradient_estimate`). ``returns [..., N]``, ``scores [..., N, P]`` →
    ``[..., P]``; equals :func:`risk_po_gradient_estimate` with b = 1, ``name="mvar"``, ``quantile="lower"``."""
    a, b, _ = check_mvar_levels(alpha, beta, weight)
    ca, cb = mvar_coefficients(alpha, beta, weight)
    return ca * cvar_gradient_estimate(returns, scores, a) + cb * cvar_gradient_estimate(returns, scores, b)
