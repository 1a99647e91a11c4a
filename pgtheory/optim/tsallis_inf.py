r"""Tsallis-INF: FTRL with the ½-Tsallis entropy on the probability simplex, batched over independent bandit runs.

Source: Zimmert & Seldin, "Tsallis-INF: An optimal algorithm for stochastic and adversarial bandits", JMLR 22(28), 2021
(not in the seed; the bandit special case of the Tsallis-entropy policy optimisation of Dann, Wei & Zimmert 2023).
At round t the learner plays

.. math:: w_t = \arg\min_{w\in\Delta^K}\ \langle w, \hat L_{t-1}\rangle - \sum_i \frac{4\sqrt{w_i}}{\eta_t},
          \qquad \eta_t = \frac{c}{\sqrt t},

whose stationarity condition gives :math:`w_{t,i} = 4\,(\eta_t(\hat L_{t-1,i} - x))^{-2}` with the normaliser
:math:`x < \min_i \hat L_{t-1,i}` fixed by :math:`\sum_i w_{t,i} = 1` (:func:`tsallis_inf_weights`, solved by Newton's
method). The loss estimate is importance weighted, :math:`\hat\ell_{t,i} = \ell_{t,i}\,\mathbb 1[I_t = i]/w_{t,i}`, and
with :math:`c = 2` (``ETA_SCALE``) Zimmert & Seldin's Theorem 1 bounds the pseudo-regret against any oblivious loss
sequence in [0, 1] by :math:`4\sqrt{KT} + 1`; in the stochastic regime (and the stochastically constrained adversarial
one) the regret is :math:`O(\sum_{i\ne i^*}\log T/\Delta_i)`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from .._checks import DTYPE, check_finite_result, check_positive_int, check_real

__all__ = ["ETA_SCALE", "adversarial_regret_bound", "tsallis_inf_learning_rate", "tsallis_inf_weights", "TsallisINFRun",
           "tsallis_inf"]

#: c in η_t = c/√t: Zimmert & Seldin's Theorem 1 for importance-weighted loss estimates (their reduced-variance
#: estimator uses c = 4, not implemented here)
ETA_SCALE = 2.0


def tsallis_inf_learning_rate(t, scale: float = ETA_SCALE) -> float:
    """η_t = scale/√t for round t ≥ 1."""
    t = check_positive_int(t, "t")
    scale = check_real(scale, "scale", low=0.0, low_open=True)
    return scale / t ** 0.5


def adversarial_regret_bound(n_arms: int, horizon) -> np.ndarray:
    """Zimmert & Seldin's Theorem 1: pseudo-regret ≤ 4√(KT) + 1 (η_t = 2/√t, importance-weighted estimates)."""
    K = check_positive_int(n_arms, "n_arms", minimum=2)
    T = np.asarray(horizon, dtype=float)
    if np.any(T < 1) or np.any(~np.isfinite(T)):
        raise ValueError("horizon: must be finite and ≥ 1")
    return 4 * np.sqrt(K * T) + 1


def tsallis_inf_weights(cum_loss, eta, *, tol: float = 1e-13, max_iter: int = 100) -> torch.Tensor:
    r"""The Tsallis-INF distribution :math:`w_i = 4(\eta(\hat L_i - x))^{-2}` with :math:`\sum_i w_i = 1`.

    ``cum_loss [B, K]`` cumulative loss estimates; ``eta`` a positive scalar or ``[B]``; returns ``[B, K]``.
    Newton's method on :math:`f(x) = \sum_i 4(\eta(\hat L_i - x))^{-2} - 1`, which is increasing and convex on
    :math:`x < \min_i \hat L_i`, started at :math:`x_0 = \min_i \hat L_i - 2/\eta` where :math:`f(x_0) \ge 0`: the iterates
    decrease monotonically to the root. Stops when :math:`\max |f| \le` ``tol``; the tiny remainder is normalised away.
    """
    L = torch.as_tensor(cum_loss, dtype=DTYPE)
    if L.ndim != 2 or L.shape[1] < 2:
        raise ValueError(f"cum_loss: expected shape [B, K ≥ 2], got {tuple(L.shape)}")
    if not bool(torch.isfinite(L).all()):
        raise ValueError("cum_loss: must be finite")
    eta_t = torch.as_tensor(eta, dtype=DTYPE, device=L.device)
    if not bool(torch.isfinite(eta_t).all()) or not bool((eta_t > 0).all()):
        raise ValueError("eta: must be positive and finite")
    eta_t = eta_t.reshape(-1, 1) if eta_t.ndim else float(eta_t)
    return check_finite_result(_newton_weights(L, eta_t, tol, max_iter), "cum_loss, eta", "tsallis_inf_weights")


def _newton_weights(L: torch.Tensor, eta, tol: float, max_iter: int) -> torch.Tensor:
    """The Newton solve of :func:`tsallis_inf_weights` on validated input (``eta`` a float or a ``[B, 1]`` tensor)."""
    # shift so that min L = 0 per row: the weights depend on L − x only, and small numbers keep Newton accurate
    d0 = L - L.min(-1, keepdim=True).values
    x = -2.0 / eta * torch.ones(L.shape[0], 1, dtype=DTYPE, device=L.device)
    c = 4.0 / eta ** 2
    for _ in range(max_iter):
        d = d0 - x
        w = c * d.pow(-2)
        f = w.sum(-1, keepdim=True) - 1.0
        if float(f.abs().max()) <= tol:
            return w / w.sum(-1, keepdim=True)
        x = x - f / (2.0 * w / d).sum(-1, keepdim=True)  # d/dx of 4(η(L − x))^{-2} = 2w/(L − x)
    raise RuntimeError(f"tsallis_inf_weights: Newton did not reach |Σw − 1| ≤ {tol:g} in {max_iter} iterations")


@dataclass(frozen=True)
class TsallisINFRun:
    """Batched Tsallis-INF runs: ``checkpoints [C]`` rounds; ``regret [B, C]`` pseudo-regret at each checkpoint,
    Σ_{s≤t} ⟨w_s, μ_s⟩ − min_i Σ_{s≤t} μ_{s,i} (expected loss of the learner's distribution against the best fixed arm
    in expectation; for stochastic losses this is Σ_s ⟨w_s, Δ⟩); ``final_weights [B, K]``; ``pulls [B, K]`` counts."""

    checkpoints: np.ndarray
    regret: np.ndarray
    final_weights: torch.Tensor
    pulls: torch.Tensor


def tsallis_inf(loss_means: Callable[[int], torch.Tensor], horizon: int, checkpoints, generator: torch.Generator, *,
                eta_scale: float = ETA_SCALE) -> TsallisINFRun:
    r"""Run Tsallis-INF with importance-weighted estimates on B independent K-armed bandits for ``horizon`` rounds.

    ``loss_means(t)`` returns a float64 tensor ``[B, K]`` of Bernoulli loss means in [0, 1] for round t (an oblivious
    environment: fixed means give the stochastic regime; means moving with t a stochastically constrained or
    adversarial one; checked at round 1 and at the checkpoints); the loss of the pulled arm is drawn
    Bernoulli(μ_{t,I_t}) with ``generator``. The run stops at the last checkpoint. ``checkpoints``: increasing rounds in
    [1, horizon] at which the pseudo-regret (see :class:`TsallisINFRun`) is recorded.
    """
    T = check_positive_int(horizon, "horizon")
    eta_scale = check_real(eta_scale, "eta_scale", low=0.0, low_open=True)
    cps = np.asarray(checkpoints, dtype=int)
    if cps.ndim != 1 or cps.size == 0 or np.any(np.diff(cps) <= 0) or cps[0] < 1 or cps[-1] > T:
        raise ValueError(f"checkpoints: expected increasing rounds in [1, {T}]")
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator: expected a torch.Generator, got {type(generator).__name__}")
    mu = loss_means(1)
    if not isinstance(mu, torch.Tensor) or mu.dtype != DTYPE:
        raise TypeError("loss_means: must return a float64 torch.Tensor [B, K]")
    if mu.ndim != 2 or mu.shape[1] < 2:
        raise ValueError(f"loss_means: expected [B, K ≥ 2] means, got shape {tuple(mu.shape)}")
    if float(mu.min()) < 0 or float(mu.max()) > 1:
        raise ValueError("loss_means: means must lie in [0, 1]")
    B, K = mu.shape
    dev = mu.device
    L = torch.zeros(B, K, dtype=DTYPE, device=dev)
    arm_total = torch.zeros(B, K, dtype=DTYPE, device=dev)
    learner_total = torch.zeros(B, dtype=DTYPE, device=dev)
    pulls = torch.zeros(B, K, dtype=DTYPE, device=dev)
    rows = torch.arange(B, device=dev)
    out, k = np.empty((B, cps.size)), 0
    for t in range(1, T + 1):
        mu = loss_means(t)
        if tuple(mu.shape) != (B, K):
            raise ValueError(f"loss_means: round {t} returned shape {tuple(mu.shape)}, expected {(B, K)}")
        w = _newton_weights(L, eta_scale / t ** 0.5, 1e-13, 100)
        u = torch.rand(2, B, 1, dtype=DTYPE, device=dev, generator=generator)
        arm = torch.searchsorted(w.cumsum(-1), u[0]).squeeze(-1).clamp_max(K - 1)
        loss = (u[1, :, 0] < mu[rows, arm]).to(DTYPE)
        L[rows, arm] += loss / w[rows, arm]
        pulls[rows, arm] += 1
        learner_total += (w * mu).sum(-1)
        arm_total += mu
        if t == cps[k]:
            if not bool(torch.isfinite(learner_total).all()) or float(mu.min()) < 0 or float(mu.max()) > 1:
                raise ValueError(f"loss_means: round {t} returned means outside [0, 1] (checked at checkpoints)")
            out[:, k] = (learner_total - arm_total.min(-1).values).cpu().numpy()
            k += 1
            if k == cps.size:
                break
    return TsallisINFRun(cps, out, w, pulls)
