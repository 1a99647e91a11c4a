r"""V-trace targets on sampled trajectories (Espeholt et al. 2018, Eq. 1), per transition.

v_t = V(s_t) + Σ_{k≥t} g^{k−t} (Π_{i=t}^{k−1} c_i) ρ_k δ_k, with δ_k = r_k + g V(s_{k+1})[k+1 < T] − V(s_k),
ρ = min(ρ̄, π/μ), c = min(c̄, π/μ) from the recorded log-probabilities, and g = 1 under geometric
termination (continuing with probability γ discounts) or γ under a truncated horizon. Computed by the
backward recursion v_t − V(s_t) = ρ_t δ_t + g c_t (v_{t+1} − V(s_{t+1})).
"""
from __future__ import annotations

import torch

from .._checks import as_tensor, check_finite, check_finite_result, check_probabilities, check_real, check_shape
from ..sampling.mdp import Trajectories
from .advantages import _g_eff, _values

__all__ = ["vtrace_targets", "Q_TRACES", "q_trace_targets"]


def vtrace_targets(traj: Trajectories, values, *, rho_bar: float = 1.0, c_bar: float = 1.0) -> torch.Tensor:
    """V-trace targets v_t for every transition, ``[M]``, for a critic ``values [S]``."""
    rho_bar = check_real(rho_bar, "rho_bar", low=0.0, low_open=True)
    c_bar = check_real(c_bar, "c_bar", low=0.0, low_open=True)
    v = _values(traj, values)
    ratio = torch.exp(traj.log_target - traj.log_behaviour)
    rho, c = ratio.clamp(max=rho_bar), ratio.clamp(max=c_bar)
    g = _g_eff(traj)
    nxt = traj.next_index()
    v_s = v[traj.states]
    v_next = torch.where(nxt >= 0, v[traj.states[nxt.clamp_min(0)]], torch.zeros((), dtype=v.dtype, device=v.device))
    delta = rho * (traj.rewards + g * v_next - v_s)
    out = v_s + traj.backward_recursion(delta, g * c)  # v_t − V(s_t) = ρ_t δ_t + g c_t (v_{t+1} − V(s_{t+1}))
    return check_finite_result(out, "values", "V-trace target")


#: name → β_t = update(β_{t−1}, π(a_t|s_t), ρ_t, Π_{i≤t} ρ_i, λ, t) for t ≥ 1 (β_0 = 1)
Q_TRACES = {
    "is": lambda beta, p, rho, prod, lam, t: beta * lam * rho,
    "retrace": lambda beta, p, rho, prod, lam, t: beta * lam * rho.clamp(max=1.0),
    "tree_backup": lambda beta, p, rho, prod, lam, t: beta * lam * p,
    "q_lambda": lambda beta, p, rho, prod, lam, t: beta * lam,
    # trajectory-aware (Daley et al. 2023; forms as in the authors' code, brett-daley/trajectory-aware-etraces):
    "truncated_is": lambda beta, p, rho, prod, lam, t: lam**t * prod.clamp(max=1.0),
    "rbis": lambda beta, p, rho, prod, lam, t: torch.minimum(torch.full_like(rho, lam**t), beta * rho),
}


def q_trace_targets(mdp, pi: torch.Tensor, mu: torch.Tensor, q: torch.Tensor, rollouts, trace: str, lam: float) -> torch.Tensor:
    r"""Sampled multi-step operator targets from every (s, a): ``[S·A, n]``.

    .. math:: G = Q(s_0,a_0) + \sum_{t=0}^{H-1}\gamma^t\beta_t\,\delta_t,\quad
              \delta_t = r(s_t,a_t) + \gamma\sum_{a'}\pi(a'|s_{t+1})Q(s_{t+1},a') - Q(s_t,a_t),

    β_0 = 1 and β_t from ``Q_TRACES[trace]`` with ρ_t = π(a_t|s_t)/μ(a_t|s_t), t ≥ 1: per-decision traces multiply
    c_t (IS ρ_t, Retrace min(1, ρ_t), tree-backup π(a_t|s_t), Q(λ) 1, each times λ); truncated IS uses
    λ^t min(1, Π_{i≤t} ρ_i); RBIS min(λ^t, β_{t−1}ρ_t). E[G] is the expected operator applied to Q; Q^π is a fixed point
    of every such operator because E[δ_t | history up to a_t] = 0 at Q = Q^π. ``rollouts`` must come from μ
    (:func:`pgtheory.sampling.rollouts_from_state_actions`).
    """
    from ..problems.mdp import TabularMDP
    from ..sampling.mdp import StateActionRollouts

    if not isinstance(trace, str) or trace not in Q_TRACES:
        raise ValueError(f"trace: unknown trace {trace!r}; known: {', '.join(Q_TRACES)}")
    lam = check_real(lam, "lam", low=0.0, high=1.0)
    if not isinstance(mdp, TabularMDP):
        raise TypeError(f"mdp: expected a TabularMDP, got {type(mdp).__name__}")
    if not isinstance(rollouts, StateActionRollouts):
        raise TypeError(f"rollouts: expected StateActionRollouts, got {type(rollouts).__name__}")
    S, A = mdp.n_states, mdp.n_actions
    pi = check_shape(check_probabilities(as_tensor(pi, "pi", device=mdp.device), "pi"), "pi", (S, A), "[S, A]")
    mu = check_shape(check_probabilities(as_tensor(mu, "mu", device=mdp.device), "mu"), "mu", (S, A), "[S, A]")
    q = check_shape(check_finite(as_tensor(q, "q", device=mdp.device), "q"), "q", (S, A), "[S, A]")
    if rollouts.states.ndim != 3 or rollouts.states.shape != rollouts.actions.shape or rollouts.states.shape[0] != S * A:
        raise ValueError(f"rollouts: expected states and actions of shape [S·A, n, H + 1] = [{S * A}, n, H + 1], got "
                         f"{tuple(rollouts.states.shape)} and {tuple(rollouts.actions.shape)}")
    if rollouts.states.numel() and (int(rollouts.states.max()) >= S or int(rollouts.actions.max()) >= A):
        raise ValueError(f"rollouts: visit states/actions beyond the MDP's [S, A] = {(S, A)}")
    if bool(((mu == 0) & (pi > 0)).any()):
        raise ValueError("mu: zero where pi has mass; importance ratios are undefined")
    update = Q_TRACES[trace]
    st, ac = rollouts.states, rollouts.actions
    v = (pi * q).sum(-1)  # [S]
    beta = torch.ones(st.shape[:-1], dtype=q.dtype, device=q.device)
    prod = torch.ones_like(beta)
    out = q[st[..., 0], ac[..., 0]].clone()
    disc = 1.0
    for t in range(st.shape[-1] - 1):
        if t > 0:
            p_t = pi[st[..., t], ac[..., t]]
            m_t = mu[st[..., t], ac[..., t]]
            rho = torch.where(m_t > 0, p_t / torch.where(m_t > 0, m_t, torch.ones_like(m_t)), torch.zeros_like(p_t))
            prod = prod * rho
            beta = update(beta, p_t, rho, prod, lam, t)
        s, a = st[..., t], ac[..., t]
        out = out + disc * beta * (mdp.rewards[s, a] + mdp.discount * v[st[..., t + 1]] - q[s, a])
        disc *= mdp.discount
    return check_finite_result(out, "q", f"{trace} target")
