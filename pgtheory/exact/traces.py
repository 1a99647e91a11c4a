r"""The expected V-trace operator of Espeholt et al. (2018), exactly, on a tabular MDP.

With behaviour μ, target π, truncated ratios ρ(s,a) = min(ρ̄, π/μ) and c(s,a) = min(c̄, π/μ) (μ > 0 where π > 0):

.. math:: (\mathcal R V)(s) = V(s) + \mathbb E_\mu\Big[\sum_{t\ge0}\gamma^t\Big(\prod_{i<t} c_i\Big)\rho_t\,\delta_t \,\Big|\, s_0 = s\Big]
          = V + (I - \gamma C)^{-1} D(V),

where C(s,s') = Σ_a μ(a|s) c(s,a) P(s'|s,a) and D(V)(s) = Σ_a μ(a|s) ρ(s,a) (r + γPV − V)(s,a). R is affine:
RV = AV + b with A = I + (I − γC)^{-1}(γ P_{μρ} − diag(Σ_a μρ)); its sup-norm contraction modulus is
‖A‖_∞. The fixed point solves D(V) = 0, i.e. V = V^{π_ρ̄} with π_ρ̄ ∝ min(ρ̄ μ, π).

Per-decision traces on Q (Munos et al. 2016, "Safe and efficient off-policy RL"): with trace coefficients
c(s,a) = λ·f(π(a|s), μ(a|s)) — IS: λπ/μ; Retrace: λ min(1, π/μ); tree-backup: λπ; Q(λ): λ (no correction) —

.. math:: \mathcal R Q = Q + (I - \gamma P^{c\mu})^{-1}(\mathcal T^\pi Q - Q),\qquad
          P^{c\mu}[(s,a),(s',a')] = P(s'|s,a)\,\mu(a'|s')\,c(s',a'),

an affine map on Q ∈ R^{S·A}. Q^π is its fixed point whenever the inverse exists; its sup-norm modulus
‖I + W(γP^π − I)‖_∞, W = (I − γP^{cμ})^{-1}, is < 1 for Retrace and tree-backup (any λ ≤ 1) but not in general
for IS with large π/μ. Trajectory-aware traces (RBIS) are not of this form; see :mod:`pgtheory.estimators.traces`.
"""
from __future__ import annotations

from typing import NamedTuple

import torch

from .._checks import as_tensor, check_finite, check_probabilities
from ..problems.mdp import TabularMDP
from .evaluation import _policy_matrix

__all__ = ["AffineOperator", "VTraceOperator", "vtrace_operator", "truncated_target_policy", "PER_DECISION_TRACES",
           "per_decision_trace_operator"]


class AffineOperator(NamedTuple):
    """An expected multi-step operator x ↦ A x + b (V-trace on V [S]; per-decision traces on Q flattened [S·A])."""

    A: torch.Tensor  #: [n, n]
    b: torch.Tensor  #: [n]

    def __call__(self, v: torch.Tensor) -> torch.Tensor:
        return self.A @ v + self.b

    @property
    def modulus(self) -> float:
        """Sup-norm contraction modulus ‖A‖_∞ (max absolute row sum)."""
        return float(self.A.abs().sum(-1).max())

    def fixed_point(self) -> torch.Tensor:
        return torch.linalg.solve(torch.eye(self.A.shape[0], dtype=self.A.dtype, device=self.A.device) - self.A, self.b)


VTraceOperator = AffineOperator  # the V-trace map is one instance


def _policies(mdp: TabularMDP, pi, mu):
    pi = check_probabilities(as_tensor(pi, "pi", device=mdp.device), "pi")
    mu = check_probabilities(as_tensor(mu, "mu", device=mdp.device), "mu")
    for name, p in (("pi", pi), ("mu", mu)):
        if tuple(p.shape) != (mdp.n_states, mdp.n_actions):
            raise ValueError(f"{name}: expected shape [S, A] = {(mdp.n_states, mdp.n_actions)}, got {tuple(p.shape)}")
    if bool(((mu == 0) & (pi > 0)).any()):
        raise ValueError("mu: zero where pi has mass; importance ratios are undefined")
    return pi, mu


def _ratios(pi, mu, bar: float, name: str) -> torch.Tensor:
    if not bar > 0:
        raise ValueError(f"{name}: must be positive, got {bar}")
    return torch.where(mu > 0, torch.clamp(pi / mu.clamp_min(1e-300), max=bar), torch.zeros_like(mu))


def vtrace_operator(mdp: TabularMDP, pi, mu, *, rho_bar: float = 1.0, c_bar: float = 1.0) -> AffineOperator:
    """The expected V-trace operator as the affine map V ↦ AV + b."""
    pi, mu = _policies(mdp, pi, mu)
    rho, c = _ratios(pi, mu, rho_bar, "rho_bar"), _ratios(pi, mu, c_bar, "c_bar")
    g, S = mdp.discount, mdp.n_states
    eye = torch.eye(S, dtype=pi.dtype, device=pi.device)
    C = _policy_matrix(mdp, mu * c)  # Σ_a w(s,a) P(s,a,·) for the sub-stochastic weights μc
    W = torch.linalg.inv(eye - g * C)
    m_rho = mu * rho
    A = eye + W @ (g * _policy_matrix(mdp, m_rho) - torch.diag(m_rho.sum(-1)))
    b = W @ (m_rho * mdp.rewards).sum(-1)
    return AffineOperator(check_finite(A, "A"), check_finite(b, "b"))


def truncated_target_policy(pi, mu, rho_bar: float) -> torch.Tensor:
    """π_ρ̄(a|s) ∝ min(ρ̄ μ(a|s), π(a|s)), ``[S, A]``."""
    p = torch.minimum(rho_bar * as_tensor(mu, "mu"), as_tensor(pi, "pi"))
    return p / p.sum(-1, keepdim=True)


#: name → c(π, μ, λ): the per-decision trace coefficient table [S, A]
PER_DECISION_TRACES = {
    "is": lambda pi, mu, lam: lam * torch.where(mu > 0, pi / mu.clamp_min(1e-300), torch.zeros_like(mu)),
    "retrace": lambda pi, mu, lam: lam * torch.where(mu > 0, torch.clamp(pi / mu.clamp_min(1e-300), max=1.0), torch.zeros_like(mu)),
    "tree_backup": lambda pi, mu, lam: lam * pi,
    "q_lambda": lambda pi, mu, lam: lam * torch.ones_like(pi),
}


def per_decision_trace_operator(mdp: TabularMDP, pi, mu, trace: str, lam: float) -> AffineOperator:
    """The expected per-decision trace operator on Q (flattened s-major, [S·A]) as an affine map."""
    pi, mu = _policies(mdp, pi, mu)
    if trace not in PER_DECISION_TRACES:
        raise ValueError(f"trace: unknown per-decision trace {trace!r}; known: {', '.join(PER_DECISION_TRACES)}")
    lam = float(lam)
    if not 0 <= lam <= 1:
        raise ValueError(f"lam: must lie in [0, 1], got {lam}")
    S, A = mdp.n_states, mdp.n_actions
    c = PER_DECISION_TRACES[trace](pi, mu, lam)
    P = mdp.transitions.reshape(S * A, S)
    P_pi = (P[:, :, None] * pi[None]).reshape(S * A, S * A)
    P_cmu = (P[:, :, None] * (mu * c)[None]).reshape(S * A, S * A)
    eye = torch.eye(S * A, dtype=pi.dtype, device=pi.device)
    W = torch.linalg.inv(eye - mdp.discount * P_cmu)
    return AffineOperator(check_finite(eye + W @ (mdp.discount * P_pi - eye), "A"), check_finite(W @ mdp.rewards.reshape(-1), "b"))
