r"""i.i.d. transitions from a state-action distribution D: the data model of off-line / gradient-TD analyses.

Each transition: a pair i = (s, a) ~ D, the next state s' ~ P(·|s, a), the next action a' ~ π(·|s'), and a sampled
reward r(s, a) + σε with ε ~ Student-t(ν) (Gaussian for ν = ∞; heavy-tailed for small ν, infinite variance for ν ≤ 2).
Moved here from ``optim.saddle_point_td`` (built by a helper for L69) so that every consumer samples from one place.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import torch
from scipy import stats as _st

from .._checks import DTYPE, as_tensor, check_positive_int, check_probabilities, check_real
from ..exact.linear_evaluation import pair_distribution
from ..problems.linear_mdp import tabular_form
from ..problems.mdp import TabularMDP

__all__ = ["TransitionStream", "sample_iid_transitions", "sample_visitation_q_estimates"]


class TransitionStream(NamedTuple):
    """i.i.d. transitions: pair index i ~ D, next pair j, sampled reward; each ``[*shape, K]``."""

    pair: torch.Tensor  #: int64 index sA + a
    next_pair: torch.Tensor  #: int64 index s'A + a'
    reward: torch.Tensor  #: float64 sampled reward


def sample_iid_transitions(mdp: TabularMDP, pi, weights, n: int, generator: torch.Generator, *, shape=(),
                           noise_scale: float = 0.0, noise_df: float = math.inf) -> TransitionStream:
    r"""``n`` i.i.d. transitions per batch entry of ``shape``: i ~ D (``weights [S, A]``), s' ~ P(·|i), a' ~ π(·|s'),
    reward r(i) + σ ε with ε ~ Student-t(ν = ``noise_df``) (Gaussian for ν = ∞), σ = ``noise_scale``.

    Draws by inversion from uniforms of ``generator`` (ε = F_ν⁻¹(u), scipy), so the stream is reproducible from the
    generator. Returns a :class:`TransitionStream` of ``[*shape, n]`` tensors.
    """
    if not isinstance(mdp, TabularMDP):
        raise TypeError(f"mdp: expected a TabularMDP, got {type(mdp).__name__}")
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator: expected a torch.Generator, got {type(generator).__name__}")
    S, A = mdp.n_states, mdp.n_actions
    pi = check_probabilities(as_tensor(pi, "pi"), "pi", atol=1e-6)
    if tuple(pi.shape) != (S, A):
        raise ValueError(f"pi: expected shape [S, A] = [{S}, {A}], got {tuple(pi.shape)}")
    D = check_probabilities(as_tensor(weights, "weights").reshape(-1), "weights")
    if D.numel() != S * A:
        raise ValueError(f"weights: expected {S * A} entries, got {D.numel()}")
    K = check_positive_int(n, "n")
    sigma = check_real(noise_scale, "noise_scale", low=0.0)
    nu = float(noise_df)
    if not nu > 0:
        raise ValueError(f"noise_df: must be > 0 (inf for Gaussian noise), got {noise_df!r}")
    shape = tuple(int(s) for s in shape)
    total = int(np.prod(shape)) * K if shape else K
    u = torch.rand(4, total, generator=generator, dtype=torch.float64)
    pair = torch.searchsorted(D.cumsum(0), u[0] * float(D.sum()), right=True).clamp_max(S * A - 1)
    P = mdp.transitions.reshape(S * A, S)
    s_next = torch.searchsorted(P.cumsum(-1)[pair], (u[1] * P.sum(-1)[pair]).unsqueeze(-1), right=True).squeeze(-1).clamp_max(S - 1)
    a_next = torch.searchsorted(pi.cumsum(-1)[s_next], (u[2] * pi.sum(-1)[s_next]).unsqueeze(-1), right=True).squeeze(-1).clamp_max(A - 1)
    reward = mdp.rewards.reshape(-1)[pair]
    if sigma > 0:
        q = u[3].clamp(2.0 ** -60, 1 - 2.0 ** -53).numpy()
        eps = _st.norm.ppf(q) if math.isinf(nu) else _st.t.ppf(q, nu)
        reward = reward + sigma * torch.as_tensor(eps, dtype=torch.float64)
    out = (*shape, K)
    return TransitionStream(pair.reshape(out), (s_next * A + a_next).reshape(out), reward.reshape(out))


def _draw_inverse_cdf(cdf: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """One index per row by inversion of the cumulative rows ``cdf [..., K]``."""
    u = torch.rand(cdf.shape[:-1], generator=generator, dtype=DTYPE, device=cdf.device)
    return (u.unsqueeze(-1) * cdf[..., -1:] >= cdf).sum(-1).clamp_max(cdf.shape[-1] - 1)


def sample_visitation_q_estimates(mdp, pi, n: int, generator: torch.Generator, *, start=None,
                                  max_steps: int = 100_000) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    r"""n pairs (s, a) ~ :math:`d^\pi_\nu` per run and an unbiased :math:`\hat Q^\pi(s, a)` for each, by simulation.

    For each sample: (s_0, a_0) ~ ν, then at every step stop w.p. 1 − γ, else s' ~ P(·|s, a), a' ~ π(·|s'); the pair
    where it stops has law :math:`d^\pi_\nu` (the stopping time is Geometric(1 − γ)). From it, a second rollout adds
    the mean rewards r(s_t, a_t) from t = 0 and continues w.p. γ after every step, so
    :math:`\mathbb E[\hat Q] = \sum_t\gamma^t\,\mathbb E^\pi[r(s_t,a_t)] = Q^\pi(s,a)` (Agarwal et al. 2021's geometric
    rollouts, as recalled). ``pi [R, S, A]`` (one policy per run); ``start`` ν ``[S, A]`` (default uniform).
    Returns ``(pairs [R, n] int64, q_hat [R, n], steps [R] int64)`` — steps counts every simulated transition.
    Raises ``RuntimeError`` if some rollout is still alive after ``max_steps`` (probability γ^max_steps).
    """
    mdp = tabular_form(mdp, "mdp")
    S, A = mdp.n_states, mdp.n_actions
    p = check_probabilities(as_tensor(pi, "pi", device=mdp.device), "pi", atol=1e-6)
    if p.ndim != 3 or tuple(p.shape[-2:]) != (S, A):
        raise ValueError(f"pi: expected one policy per run [R, S, A] = [R, {S}, {A}], got shape {tuple(p.shape)}")
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator: expected a torch.Generator, got {type(generator).__name__}")
    N = check_positive_int(n, "n")
    T = check_positive_int(max_steps, "max_steps")
    nu = pair_distribution(start, S, A, mdp.device, "start").reshape(S * A)
    R = p.shape[0]
    g = mdp.discount
    Pcdf = mdp.transitions.reshape(S * A, S).cumsum(-1)
    pcdf = p.cumsum(-1)  # [R, S, A]
    runs = torch.arange(R, device=mdp.device).unsqueeze(-1).expand(R, N)
    steps = torch.zeros(R, dtype=torch.int64, device=mdp.device)

    def step(pair: torch.Tensor, alive: torch.Tensor) -> torch.Tensor:
        s_next = _draw_inverse_cdf(Pcdf[pair], generator)
        a_next = _draw_inverse_cdf(pcdf[runs, s_next], generator)
        steps.add_(alive.sum(-1))
        return torch.where(alive, s_next * A + a_next, pair)

    pair = _draw_inverse_cdf(nu.cumsum(0).expand(R, N, S * A), generator)
    alive = torch.rand(R, N, generator=generator, dtype=DTYPE, device=mdp.device) < g
    for _ in range(T):
        if not bool(alive.any()):
            break
        pair = step(pair, alive)
        alive = alive & (torch.rand(R, N, generator=generator, dtype=DTYPE, device=mdp.device) < g)
    else:
        raise RuntimeError(f"max_steps: a visitation rollout was still running after {T} steps")
    start_pair = pair
    r = mdp.rewards.reshape(S * A)
    q_hat = r[pair].clone()
    alive = torch.rand(R, N, generator=generator, dtype=DTYPE, device=mdp.device) < g
    for _ in range(T):
        if not bool(alive.any()):
            break
        pair = step(pair, alive)
        q_hat = q_hat + torch.where(alive, r[pair], torch.zeros_like(q_hat))
        alive = alive & (torch.rand(R, N, generator=generator, dtype=DTYPE, device=mdp.device) < g)
    else:
        raise RuntimeError(f"max_steps: a Q rollout was still running after {T} steps")
    return start_pair, q_hat, steps
