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

from .._checks import as_tensor, check_positive_int, check_probabilities, check_real
from ..problems.mdp import TabularMDP

__all__ = ["TransitionStream", "sample_iid_transitions"]


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
