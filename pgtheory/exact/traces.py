r"""The expected V-trace operator of Espeholt et al. (2018), exactly, on a tabular MDP.

With behaviour μ, target π, truncated ratios ρ(s,a) = min(ρ̄, π/μ) and c(s,a) = min(c̄, π/μ) (μ > 0 where π > 0):

.. math:: (\mathcal R V)(s) = V(s) + \mathbb E_\mu\Big[\sum_{t\ge0}\gamma^t\Big(\prod_{i<t} c_i\Big)\rho_t\,\delta_t \,\Big|\, s_0 = s\Big]
          = V + (I - \gamma C)^{-1} D(V),

where C(s,s') = Σ_a μ(a|s) c(s,a) P(s'|s,a) and D(V)(s) = Σ_a μ(a|s) ρ(s,a) (r + γPV − V)(s,a). R is affine:
RV = AV + b with A = I + (I − γC)^{-1}(γ P_{μρ} − diag(Σ_a μρ)); its sup-norm contraction modulus is
‖A‖_∞. The fixed point solves D(V) = 0, i.e. V = V^{π_ρ̄} with π_ρ̄ ∝ min(ρ̄ μ, π).
"""
from __future__ import annotations

from typing import NamedTuple

import torch

from .._checks import as_tensor, check_finite, check_probabilities
from ..problems.mdp import TabularMDP
from .evaluation import _policy_matrix

__all__ = ["VTraceOperator", "vtrace_operator", "truncated_target_policy"]


class VTraceOperator(NamedTuple):
    A: torch.Tensor  #: [S, S], RV = A V + b
    b: torch.Tensor  #: [S]

    def __call__(self, v: torch.Tensor) -> torch.Tensor:
        return self.A @ v + self.b

    @property
    def modulus(self) -> float:
        """Sup-norm contraction modulus ‖A‖_∞ (max absolute row sum)."""
        return float(self.A.abs().sum(-1).max())

    def fixed_point(self) -> torch.Tensor:
        return torch.linalg.solve(torch.eye(self.A.shape[0], dtype=self.A.dtype, device=self.A.device) - self.A, self.b)


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


def vtrace_operator(mdp: TabularMDP, pi, mu, *, rho_bar: float = 1.0, c_bar: float = 1.0) -> VTraceOperator:
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
    return VTraceOperator(check_finite(A, "A"), check_finite(b, "b"))


def truncated_target_policy(pi, mu, rho_bar: float) -> torch.Tensor:
    """π_ρ̄(a|s) ∝ min(ρ̄ μ(a|s), π(a|s)), ``[S, A]``."""
    p = torch.minimum(rho_bar * as_tensor(mu, "mu"), as_tensor(pi, "pi"))
    return p / p.sum(-1, keepdim=True)
