r"""V-trace targets on sampled trajectories (Espeholt et al. 2018, Eq. 1), per transition.

v_t = V(s_t) + Σ_{k≥t} g^{k−t} (Π_{i=t}^{k−1} c_i) ρ_k δ_k, with δ_k = r_k + g V(s_{k+1})[k+1 < T] − V(s_k),
ρ = min(ρ̄, π/μ), c = min(c̄, π/μ) from the recorded log-probabilities, and g = 1 under geometric
termination (continuing with probability γ discounts) or γ under a truncated horizon. Computed by the
backward recursion v_t − V(s_t) = ρ_t δ_t + g c_t (v_{t+1} − V(s_{t+1})).
"""
from __future__ import annotations

import torch

from ..sampling.mdp import Trajectories
from .advantages import _g_eff, _values

__all__ = ["vtrace_targets"]


def vtrace_targets(traj: Trajectories, values, *, rho_bar: float = 1.0, c_bar: float = 1.0) -> torch.Tensor:
    """V-trace targets v_t for every transition, ``[M]``."""
    for name, bar in (("rho_bar", rho_bar), ("c_bar", c_bar)):
        if not bar > 0:
            raise ValueError(f"{name}: must be positive, got {bar}")
    v = _values(traj, values)
    ratio = torch.exp(traj.log_target - traj.log_behaviour)
    rho, c = ratio.clamp(max=rho_bar), ratio.clamp(max=c_bar)
    g = _g_eff(traj)
    nxt = traj.next_index()
    v_s = v[traj.states]
    v_next = torch.where(nxt >= 0, v[traj.states[nxt.clamp_min(0)]], torch.zeros((), dtype=v.dtype, device=v.device))
    delta = rho * (traj.rewards + g * v_next - v_s)
    return v_s + traj.backward_recursion(delta, g * c)  # v_t − V(s_t) = ρ_t δ_t + g c_t (v_{t+1} − V(s_{t+1}))
