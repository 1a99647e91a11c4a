r"""Batched, seeded trajectories of an :class:`~pgtheory.problems.LQR` under a linear-Gaussian policy, on any device.

Two horizons, as for :mod:`pgtheory.sampling.mdp`:

* ``termination="geometric"`` — after every step the episode continues with probability γ, so that
  :math:`\mathbb E\sum_{t<T} r_t = \sum_t\gamma^t\,\mathbb E r_t = J(K)`: undiscounted sums over a geometric episode
  are *unbiased* for the discounted objective, and — as the termination does not depend on K — the score-function
  estimate :math:`\big(\sum_{t<T}\nabla_K\log\pi_K(u_t|x_t)\big)\sum_{t<T} r_t` is unbiased for ∇_K J. Step weights 1.
* ``termination="truncate"`` — exactly ``horizon`` steps with weights γ^t: unbiased for
  :math:`J_H = \mathbb E\sum_{t<H}\gamma^t r_t`, biased for J by O(γ^H).

Batches are stored flat and step-major (:class:`LQRTrajectories`, like :class:`~pgtheory.sampling.Trajectories`):
only live episodes are simulated and stored at each step. Random numbers, in order: x_0 (N × n standard normals), then per step, for
the live episodes, ε (× m), w (× n) and (geometric) one uniform. Same generator state and device ⇒ identical batch.

Finite variance of Monte Carlo estimates built from these trajectories needs more than J < ∞: the estimates involve
fourth and higher moments of x_t, which grow like ρ(A − BK)^{4t} or faster, so gains close to the stability boundary
give heavy-tailed estimates (the tests use well-damped closed loops).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from ..exact.lqr import check_lqr_policy
from .._checks import check_positive_int
from ..policies.gaussian import LinearGaussianPolicy
from ..problems.lqr import LQR, psd_factor
from .mdp import StepMajorLayout, resolve_horizon

__all__ = ["LQRTrajectories", "sample_lqr_trajectories"]


@dataclass(frozen=True)
class LQRTrajectories(StepMajorLayout):
    r"""A batch of N LQR trajectories stored flat, step-major: all transitions of step 0, then of step 1, …

    As :class:`~pgtheory.sampling.Trajectories`: only live steps are stored (M transitions in all, ≈ N/(1 − γ) under
    geometric termination), the transitions of step t are the slice ``step_offsets[t]:step_offsets[t+1]``, and within
    a step the episodes appear in increasing id order.
    """

    episode: torch.Tensor  #: int64 [M], episode id in 0..N-1
    step: torch.Tensor  #: int64 [M], time index t
    states: torch.Tensor  #: float64 [M, n], x_t
    actions: torch.Tensor  #: float64 [M, m], u_t
    rewards: torch.Tensor  #: float64 [M], r_t = −(x_tᵀQx_t + u_tᵀRu_t)
    log_probs: torch.Tensor  #: float64 [M], log π_K(u_t|x_t)
    weights: torch.Tensor  #: float64 [M], γ^t (truncate) or 1 (geometric)
    step_offsets: tuple[int, ...]  #: T + 1 offsets into the transition arrays
    n: int  #: number of episodes N
    gain: torch.Tensor  #: the K [m, n] that generated the actions
    termination: str
    discount: float

    def lengths(self) -> torch.Tensor:
        """Number of steps of each episode, int64 ``[N]``."""
        return torch.bincount(self.episode, minlength=self.n)

    def returns(self) -> torch.Tensor:
        """Σ_t w_t r_t per episode, ``[N]``: unbiased for J (geometric) or J_H (truncate)."""
        return self.per_episode_sum(self.weights * self.rewards)

    def rewards_to_go(self) -> torch.Tensor:
        r"""Σ_{t' ≥ t} w_{t'} r_{t'} within the episode, for every transition, ``[M]``."""
        return self.backward_recursion(self.weights * self.rewards)

    def padded(self, values: torch.Tensor, fill: float = 0.0) -> torch.Tensor:
        """Scatter per-transition ``values [M, ...]`` into an ``[N, T, ...]`` table (for inspection and tests)."""
        out = torch.full((self.n, self.n_steps, *values.shape[1:]), fill, dtype=values.dtype, device=values.device)
        out[self.episode, self.step] = values
        return out


def sample_lqr_trajectories(lqr: LQR, policy: LinearGaussianPolicy, K: Any, n: int, generator: torch.Generator, *,
                            termination: str = "geometric", horizon: int | None = None, log_std: Any = None,
                            device: torch.device | str | None = None) -> LQRTrajectories:
    r"""Draw ``n`` independent trajectories of ``lqr`` under :math:`u_t = -Kx_t + \sigma\varepsilon_t` (gain ``K [m, n]``).

    x_0 ~ N(0, Σ_0); x_{t+1} = A x_t + B u_t + w_t, w_t ~ N(0, W); r_t = −(x_tᵀQx_t + u_tᵀRu_t). ``horizon``: the number
    of steps (``truncate``, required) or a safety cap (``geometric``: a ``RuntimeError``, not a silent truncation, if an
    episode is still alive after it; default max(10, 50/(1−γ))). ``log_std`` overrides the policy's σ (a scalar).
    The gain need not be stabilising (a sampler simulates any K), but then J is infinite. ``device`` moves the problem;
    the generator must be on the same device type.
    """
    check_lqr_policy(lqr, policy)
    if device is not None:
        lqr = lqr.to(device)
    dev = lqr.device
    K = policy.check_params(K).to(dev)
    if K.ndim != 2:
        raise ValueError(f"K: the sampler takes one gain [m, n], got shape {tuple(K.shape)}")
    N = check_positive_int(n, "n")
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator: expected a torch.Generator, got {type(generator).__name__}")
    if generator.device.type != dev.type:
        raise ValueError(f"generator: on {generator.device} but the LQR is on {dev}")
    g = lqr.discount
    H = resolve_horizon(termination, horizon, g)
    sigma = policy.sigma(log_std, like=K).detach()
    if sigma.ndim:
        raise ValueError(f"log_std: the sampler takes one σ (a scalar), got shape {tuple(sigma.shape)}")
    geometric = termination == "geometric"
    nx, nu = lqr.state_dim, lqr.action_dim
    f64 = dict(dtype=torch.float64, device=dev)
    F0, Fw = psd_factor(lqr.initial_cov), psd_factor(lqr.noise_cov)
    At, Bt, Kt = lqr.A.T, lqr.B.T, K.T
    idx = torch.arange(N, device=dev)
    x = torch.randn(N, nx, generator=generator, **f64) @ F0.T
    steps: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []
    for t in range(H):
        eps = torch.randn(x.shape[0], nu, generator=generator, **f64)
        u = -x @ Kt + sigma * eps
        w = torch.randn(x.shape[0], nx, generator=generator, **f64) @ Fw.T
        steps.append((idx, x, u))
        x = x @ At + u @ Bt + w
        if geometric:
            keep = torch.rand(x.shape[0], generator=generator, **f64) < g
            idx, x = idx[keep], x[keep]
            if idx.numel() == 0:
                break
    else:
        if geometric:
            raise RuntimeError(f"horizon: {int(idx.numel())} of {N} geometric episodes outlived the cap of {H} steps; "
                               "raise horizon (each episode survives H steps with probability γ^H)")
    eps_id = torch.cat([i for i, _, _ in steps])
    step = torch.repeat_interleave(torch.arange(len(steps), device=dev),
                                   torch.tensor([int(i.numel()) for i, _, _ in steps], device=dev))
    states = torch.cat([xs for _, xs, _ in steps])
    actions = torch.cat([us for _, _, us in steps])
    offsets = [0]
    for i, _, _ in steps:
        offsets.append(offsets[-1] + int(i.numel()))
    rewards = -lqr.cost(states, actions)
    log_probs = policy.log_prob(K, states, actions, log_std=None if log_std is None else sigma.log())
    weights = torch.ones_like(rewards) if geometric else g ** step.to(torch.float64)
    return LQRTrajectories(eps_id, step, states, actions, rewards, log_probs, weights, tuple(offsets), N, K,
                           termination, g)
