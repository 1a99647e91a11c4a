r"""Quantile regression for distributional RL: the quantile-Huber loss, sampled quantile regression by SGD, and
distorted expectations (IQN's risk-sensitive values).

**Loss** (Dabney et al. 2018a, QR-DQN eq. 9–10; Dabney et al. 2018b, IQN eq. 3). With the TD error u = target −
prediction (u = y − θ), the Huber loss :math:`L_\kappa(u)=\tfrac12u^2` for :math:`|u|\le\kappa` and
:math:`\kappa(|u|-\tfrac12\kappa)` otherwise, and

.. math:: \rho^\kappa_\tau(u) = |\tau - \mathbf 1\{u<0\}|\;\frac{L_\kappa(u)}{\kappa}\quad(\kappa>0),\qquad
          \rho^0_\tau(u) = u\,(\tau - \mathbf 1\{u<0\})\ \text{(the pinball loss, its limit as }\kappa\to0).

The division by κ follows the public IQN implementation (google/dopamine, ``implicit_quantile_agent.py``: the loss is
``|τ − 1{u<0}|·huber/κ`` with u = target − prediction); with it, :math:`\rho^\kappa_\tau(u)\to\rho_\tau(u)` as κ → 0
(for |u| > κ, :math:`L_\kappa(u)/\kappa = |u| - \kappa/2`). Gradient with respect to the prediction θ:

.. math:: \partial_\theta\rho^\kappa_\tau(y-\theta) = -|\tau-\mathbf 1\{u<0\}|\;\mathrm{clip}(u/\kappa,-1,1),
          \qquad \kappa = 0:\ -(\tau - \mathbf 1\{u<0\}) \text{ (the subgradient with } \mathbf 1\{0<0\}=0).

**Population minimiser.** For a law Y, :math:`\theta\mapsto\mathbb E\rho^\kappa_\tau(Y-\theta)` is convex; for κ = 0 its
minimisers are the τ-quantiles (F(θ−) ≤ τ ≤ F(θ)); for κ > 0 the minimiser is the root of the non-increasing
continuous :math:`h(\theta)=\mathbb E[|\tau-\mathbf 1\{Y<\theta\}|\,\mathrm{clip}((Y-\theta)/\kappa,-1,1)]`, in general
*not* the τ-quantile (a "Huber quantile", between the quantile and the expectile; it differs from the quantile by
O(κ) where the law has mass within κ of it). :func:`quantile_huber_minimiser` computes it exactly for discrete laws.

**Sampled quantile regression** (:func:`sgd_quantile_regression`): Robbins–Monro SGD on the loss, one sample per step,
for many levels at once, :math:`\theta_{t+1}=\theta_t+\alpha_t|\tau-\mathbf 1\{u_t<0\}|\mathrm{clip}(u_t/\kappa,-1,1)`
with :math:`\alpha_t=\alpha_0t^{-p}`, p ∈ (1/2, 1), and the suffix average of the last half of the iterates (like the
Polyak–Ruppert average, Polyak & Juditsky 1992, error O(t^{-1/2}); it forgets the start). This is the tabular analogue of IQN's update (one
"network output" per level).

**Distorted expectations** (IQN, Section 3.1): for a non-decreasing β: [0,1] → [0,1] with β(0) = 0 (β(1) = 1 except
for IQN's CVaR map β(τ) = ητ, which ends at η),
:math:`Q_\beta = \mathbb E_{\tau\sim U[0,1]}[F^{-1}(\beta(\tau))]`. For a discrete law with sorted atoms z_(i) and CDF
F_i, :math:`F^{-1}(\beta(\tau)) = z_{(i)}` iff :math:`F_{i-1}<\beta(\tau)\le F_i`, so
:math:`Q_\beta=\sum_i z_{(i)}[\beta^{-1}(F_i)-\beta^{-1}(F_{i-1})]` with :math:`\beta^{-1}(u)=\sup\{\tau:\beta(\tau)\le u\}`:
the distortion risk measure with g = β^{-1} (:func:`pgtheory.exact.risk_measures.distortion_risk`). Registered
distortions (:data:`DISTORTIONS`, IQN's Section 3.1 list as read from secondary sources): ``"cvar"`` β(τ) = ητ
(Q_β = CVaR_η, η ∈ (0, 1]); ``"wang"`` β(τ) = Φ(Φ^{-1}(τ) + η) (η < 0 risk-averse); ``"cpw"``
β(τ) = τ^η/(τ^η + (1−τ)^η)^{1/η} (Tversky–Kahneman; monotone only for η ≳ 0.28, so η ≥ 0.3 is required);
``"power"`` β(τ) = τ^{1/(1+|η|)} for η ≥ 0, 1 − (1−τ)^{1/(1+|η|)} for η < 0 (η < 0 risk-averse); ``"neutral"``
β(τ) = τ. Inverses are closed-form (:data:`DISTORTION_INVERSES`) except CPW's, found by bisection to machine precision
(every β here is continuous and non-decreasing).

Sources: Dabney, Ostrovski, Silver & Munos (2018), "Implicit quantile networks for distributional RL"; Dabney,
Rowland, Bellemare & Munos (2018), "Distributional RL with quantile regression"; Koenker (2005), *Quantile regression*.
"""
from __future__ import annotations

from typing import Callable

import torch

from .._checks import DTYPE, as_tensor, check_finite, check_finite_result, check_positive_int, check_real
from .._registry import Registry
from ..exact.bellman_losses import huber
from ..exact.risk_measures import check_distribution, cvar_distortion, distortion_risk, value_at_risk

__all__ = ["quantile_huber_loss", "quantile_huber_gradient", "expected_quantile_huber_loss",
           "quantile_huber_minimiser", "sgd_quantile_regression", "DISTORTIONS", "DISTORTION_INVERSES", "distortion",
           "distortion_inverse", "bisect_inverse",
           "distorted_expectation", "distorted_levels"]

#: bisection steps of the root finders (interval halves each step: 200 halvings reach adjacent floats on any range)
BISECTION_STEPS = 200


def _kappa(kappa) -> float:
    return check_real(kappa, "kappa", low=0.0)


def _tau(tau, device=None) -> torch.Tensor:
    t = check_finite(as_tensor(tau, "tau", device=device), "tau")
    if bool(((t <= 0) | (t >= 1)).any()):
        raise ValueError("tau: quantile levels must lie in (0, 1)")
    return t


def quantile_huber_loss(u, tau, kappa: float) -> torch.Tensor:
    r""":math:`\rho^\kappa_\tau(u)` (module docstring) with u = target − prediction; κ = 0 gives the pinball loss.
    ``u`` and ``tau`` broadcast; τ ∈ (0, 1), κ ≥ 0."""
    k = _kappa(kappa)
    u = check_finite(as_tensor(u, "u"), "u")
    t = _tau(tau, u.device)
    w = (t - (u < 0).to(u.dtype)).abs()
    if k == 0:
        return w * u.abs()
    return w * huber(u, k) / k


def quantile_huber_gradient(u, tau, kappa: float) -> torch.Tensor:
    r""":math:`\partial_\theta\rho^\kappa_\tau(y-\theta)` at u = y − θ: :math:`-|\tau-\mathbf 1\{u<0\}|\,\mathrm{clip}(u/\kappa,-1,1)`
    (κ = 0: −(τ − 1{u<0}), the subgradient taking 1{0<0} = 0). ``u``, ``tau`` broadcast."""
    k = _kappa(kappa)
    u = check_finite(as_tensor(u, "u"), "u")
    t = _tau(tau, u.device)
    ind = (u < 0).to(u.dtype)
    if k == 0:
        return -(t - ind)
    return -(t - ind).abs() * (u / k).clamp(-1.0, 1.0)


def expected_quantile_huber_loss(z, p, theta, tau, kappa: float) -> torch.Tensor:
    r""":math:`\mathbb E\,\rho^\kappa_\tau(Y-\theta)=\sum_ip_i\rho^\kappa_\tau(z_i-\theta)` for the discrete law ``z, p [K]``;
    ``theta`` and ``tau`` broadcast with each other (result of their broadcast shape)."""
    z, p = check_distribution(z, p)
    if z.ndim != 1:
        raise ValueError(f"z: expected one law [K], got shape {tuple(z.shape)}")
    th = check_finite(as_tensor(theta, "theta", device=z.device), "theta")
    t = _tau(tau, z.device)
    th, t = torch.broadcast_tensors(th, t)
    return (quantile_huber_loss(z - th[..., None], t[..., None], kappa) * p).sum(-1)


def _h(z, p, theta, tau, kappa):
    """E[|τ − 1{Y<θ}| clip((Y−θ)/κ, −1, 1)] = −∂_θ E ρ: non-increasing in θ; ``theta, tau [...]``."""
    u = z - theta[..., None]
    return (-(quantile_huber_gradient(u, tau[..., None], kappa)) * p).sum(-1)


def quantile_huber_minimiser(z, p, tau, kappa: float) -> torch.Tensor:
    r"""The minimiser of :math:`\theta\mapsto\mathbb E\rho^\kappa_\tau(Y-\theta)` for the discrete law ``z, p [K]``, at each
    level of ``tau [...]`` (shape of ``tau``).

    κ = 0: the lower τ-quantile inf{θ : F(θ) ≥ τ} (a minimiser; when τ is exactly a CDF level the minimisers form an
    interval and this is its left end). κ > 0: the unique root of h (module docstring), found by bisection on
    [min z − κ, max z + κ] to adjacent floating-point numbers (h is continuous and non-increasing; it is unique where
    h is strictly decreasing, which holds on the support's hull for κ > 0).
    """
    z, p = check_distribution(z, p)
    if z.ndim != 1:
        raise ValueError(f"z: expected one law [K], got shape {tuple(z.shape)}")
    k = _kappa(kappa)
    t = _tau(tau, z.device)
    if k == 0:
        flat = t.reshape(-1)
        return torch.stack([value_at_risk(z, p, float(a)) for a in flat]).reshape(t.shape) if flat.numel() else t.clone()
    lo = torch.full_like(t, float(z.min()) - k)
    hi = torch.full_like(t, float(z.max()) + k)
    for _ in range(BISECTION_STEPS):
        mid = 0.5 * (lo + hi)
        pos = _h(z, p, mid, t, k) > 0  # root lies to the right of mid
        lo, hi = torch.where(pos, mid, lo), torch.where(pos, hi, mid)
    return check_finite_result(0.5 * (lo + hi), "z, p, tau", "Huber-quantile")


def sgd_quantile_regression(samples, tau, kappa: float, *, lr: float = 1.0, power: float = 2 / 3,
                            checkpoints=None) -> torch.Tensor:
    r"""Sampled quantile regression: SGD on :math:`\rho^\kappa_\tau`, one sample per step, with Polyak averaging.

    ``samples [B, N]``: B independent runs of N draws each; ``tau [L]``: levels learned jointly (each its own scalar
    parameter θ_ℓ). θ_1 is each run's first draw; for t = 1..N−1, with u = y_t − θ_t,
    :math:`\theta_{t+1}=\theta_t-\alpha_t\,\partial_\theta\rho^\kappa_\tau(y_t-\theta_t)`, α_t = ``lr``·t^{−power}
    (power ∈ (1/2, 1]). The estimate after c samples is the *suffix average* of θ_{⌊c/2⌋+1}, …, θ_c (Rakhlin, Shamir &
    Sridharan 2012): like the Polyak–Ruppert average it has error O(c^{-1/2}), but it forgets the transient from θ_1.
    Returns the estimates at each sample count in ``checkpoints`` (increasing integers in [1, N]; default [N]):
    ``[B, C, L]`` — one estimate per run (per-sample output). ``lr`` is in the units of the samples.
    """
    y = check_finite(as_tensor(samples, "samples"), "samples")
    if y.ndim != 2 or y.shape[1] < 1:
        raise ValueError(f"samples: expected shape [B, N] with N >= 1, got {tuple(y.shape)}")
    t = _tau(tau, y.device)
    if t.ndim != 1:
        raise ValueError(f"tau: expected shape [L], got {tuple(t.shape)}")
    k = _kappa(kappa)
    lr = check_real(lr, "lr", low=0.0, low_open=True)
    power = check_real(power, "power", low=0.5, high=1.0, low_open=True)
    N = y.shape[1]
    cps = [N] if checkpoints is None else [check_positive_int(c, "checkpoints") for c in checkpoints]
    if any(c > N for c in cps) or any(b <= a for a, b in zip(cps, cps[1:])):
        raise ValueError(f"checkpoints: must be strictly increasing integers in [1, {N}]")
    # suffix averages: θ̄ at checkpoint c is the mean of θ_{⌊c/2⌋+1..c}, from cumulative sums S_t = Σ_{s≤t} θ_s
    marks = sorted(set(cps) | {c // 2 for c in cps})
    theta = y[:, :1].expand(-1, t.shape[0]).clone()
    csum = theta.clone()  # S_1 = θ_1 (the first draw)
    sums = {0: torch.zeros_like(theta)}
    if 1 in marks:
        sums[1] = csum.clone()
    tt = t[None, :]
    for i in range(1, cps[-1]):
        if k == 0:  # θ += α_t (τ − 1{y < θ})
            step = tt - (y[:, i:i + 1] < theta).to(y.dtype)
        else:
            u = y[:, i:i + 1] - theta
            step = (tt - (u < 0).to(y.dtype)).abs() * (u / k).clamp(-1.0, 1.0)
        theta.add_(step, alpha=lr * i ** (-power))
        csum.add_(theta)
        if i + 1 in marks:
            sums[i + 1] = csum.clone()
    out = [(sums[c] - sums[c // 2]) / (c - c // 2) for c in cps]
    return check_finite_result(torch.stack(out, 1), "samples", "SGD quantile estimates")


DISTORTIONS: Registry = Registry("distortion")


@DISTORTIONS.register("neutral")
def neutral_beta(tau: torch.Tensor) -> torch.Tensor:
    """β(τ) = τ: the risk-neutral expectation."""
    return tau


@DISTORTIONS.register("cvar")
def cvar_beta(tau: torch.Tensor, eta: float) -> torch.Tensor:
    """β(τ) = ητ, η ∈ (0, 1]: Q_β = CVaR_η (mean of the worst η fraction; IQN's CVaR(η))."""
    e = check_real(eta, "eta", low=0.0, high=1.0, low_open=True)
    return e * tau


@DISTORTIONS.register("wang")
def wang_beta(tau: torch.Tensor, eta: float) -> torch.Tensor:
    """β(τ) = Φ(Φ^{-1}(τ) + η) (Wang 2000); η < 0 is risk-averse, η > 0 risk-seeking."""
    e = check_real(eta, "eta")
    return torch.special.ndtr(torch.special.ndtri(tau) + e)


@DISTORTIONS.register("cpw")
def cpw_beta(tau: torch.Tensor, eta: float) -> torch.Tensor:
    """β(τ) = τ^η/(τ^η + (1−τ)^η)^{1/η} (Tversky & Kahneman 1992; IQN uses η = 0.71); η ≥ 0.3 (monotone)."""
    e = check_real(eta, "eta", low=0.3)
    a, b = tau ** e, (1 - tau) ** e
    return a / (a + b) ** (1 / e)


@DISTORTIONS.register("power")
def power_beta(tau: torch.Tensor, eta: float) -> torch.Tensor:
    """β(τ) = τ^{1/(1+|η|)} for η ≥ 0 (risk-seeking), 1 − (1−τ)^{1/(1+|η|)} for η < 0 (risk-averse)."""
    e = check_real(eta, "eta")
    k = 1.0 / (1.0 + abs(e))
    return tau ** k if e >= 0 else 1 - (1 - tau) ** k


def _beta(name: str, eta) -> Callable[[torch.Tensor], torch.Tensor]:
    fn = DISTORTIONS.get(name, "name")
    if name == "neutral":
        if eta is not None:
            raise TypeError("eta: the neutral distortion takes no parameter")
        return fn
    if eta is None:
        raise TypeError(f"eta: the {name!r} distortion needs its parameter eta")
    fn(torch.tensor([0.5], dtype=DTYPE), eta)  # validates eta
    return lambda t: fn(t, eta)


def distortion(name: str, tau, eta: float | None = None) -> torch.Tensor:
    """β(τ) of the registered distortion ``name`` at levels ``tau`` in [0, 1] (shape of ``tau``)."""
    t = check_finite(as_tensor(tau, "tau"), "tau")
    if bool(((t < 0) | (t > 1)).any()):
        raise ValueError("tau: levels must lie in [0, 1]")
    return _beta(name, eta)(t)


#: closed-form inverses β^{-1}(u) = sup{τ : β(τ) ≤ u} where they exist (CPW has none: bisection)
DISTORTION_INVERSES: Registry = Registry("distortion inverse")


@DISTORTION_INVERSES.register("neutral")
def _neutral_inverse(u: torch.Tensor) -> torch.Tensor:
    return u


@DISTORTION_INVERSES.register("cvar")
def _cvar_inverse(u: torch.Tensor, eta: float) -> torch.Tensor:
    return cvar_distortion(eta)(u)  # min(u/η, 1): the distortion g of exact.risk_measures


@DISTORTION_INVERSES.register("wang")
def _wang_inverse(u: torch.Tensor, eta: float) -> torch.Tensor:
    return torch.special.ndtr(torch.special.ndtri(u) - eta)


@DISTORTION_INVERSES.register("power")
def _power_inverse(u: torch.Tensor, eta: float) -> torch.Tensor:
    k = 1.0 + abs(eta)
    return u ** k if eta >= 0 else 1 - (1 - u) ** k


def distortion_inverse(name: str, u, eta: float | None = None) -> torch.Tensor:
    r""":math:`\beta^{-1}(u)=\sup\{\tau\in[0,1]:\beta(\tau)\le u\}` for ``u`` in [0, 1] (shape of ``u``): closed form where
    :data:`DISTORTION_INVERSES` has one, else bisection to machine precision."""
    u = check_finite(as_tensor(u, "u"), "u")
    if bool(((u < 0) | (u > 1)).any()):
        raise ValueError("u: levels must lie in [0, 1]")
    beta = _beta(name, eta)
    if name in DISTORTION_INVERSES:
        inv = DISTORTION_INVERSES.get(name)
        return inv(u) if name == "neutral" else inv(u, eta)
    return bisect_inverse(beta, u)


def bisect_inverse(beta: Callable[[torch.Tensor], torch.Tensor], u: torch.Tensor) -> torch.Tensor:
    """sup{τ ∈ [0, 1] : β(τ) ≤ u} for a non-decreasing β on [0, 1], by bisection (BISECTION_STEPS halvings)."""
    lo, hi = torch.zeros_like(u), torch.ones_like(u)
    for _ in range(BISECTION_STEPS):
        mid = 0.5 * (lo + hi)
        below = beta(mid) <= u
        lo, hi = torch.where(below, mid, lo), torch.where(below, hi, mid)
    one = beta(torch.ones_like(u)) <= u  # the sup reaches 1
    return torch.where(one, torch.ones_like(u), lo)


def distorted_expectation(z, p, name: str, eta: float | None = None) -> torch.Tensor:
    r"""Exact :math:`Q_\beta=\mathbb E_{\tau\sim U}[F^{-1}(\beta(\tau))]` of discrete laws ``z, p [..., K]`` → ``[...]``
    (module docstring): :func:`pgtheory.exact.risk_measures.distortion_risk` with g = β^{-1}."""
    _beta(name, eta)
    return distortion_risk(z, p, lambda u: distortion_inverse(name, u.clamp(0.0, 1.0), eta))


def distorted_levels(name: str, n: int, eta: float | None = None) -> torch.Tensor:
    r"""The levels β(τ_j) at the n quantile midpoints τ_j = (2j − 1)/(2n), ``[n]``: an agent that learns F^{-1} at these
    levels estimates Q_β by the mean of its n estimates (the midpoint rule for ∫_0^1 F^{-1}(β(τ)) dτ)."""
    n = check_positive_int(n, "n")
    mid = (2 * torch.arange(1, n + 1, dtype=DTYPE) - 1) / (2 * n)
    return _beta(name, eta)(mid)
