r"""Projection ensembles of distributional Bellman operators (Zanger, Böhmer & Spaan, ICLR 2024; issue 14, L195).

A *projection ensemble* holds M members; member i represents a state–action return law in its own parametric family
F_i through a projection Π_i : P(ℝ) → F_i (here: the categorical projection Π_C onto a fixed support, C51, or the
quantile projection Π_Q onto N equally weighted atoms, QR-DQN). The ensemble's law is the uniform mixture of its members,
η_M = (1/M) Σ_i η_i, and each member is updated by projecting the distributional Bellman target of the *mixture*:

.. math:: \eta_i \leftarrow \Pi_i\,T^\pi\eta_M,\qquad\text{equivalently}\qquad
          \eta_M \leftarrow \Omega_M T^\pi\eta_M,\quad \Omega_M\eta = \frac1M\sum_{i=1}^M\Pi_i\eta

(the *projection mixture operator* Ω_M). All laws are :class:`~pgtheory.exact.distributional_control.ActionValueLaws`
(a shared support and probabilities ``[S, A, K]``), T^π is
:func:`~pgtheory.exact.distributional_control.evaluation_operator` (stochastic discrete rewards allowed).

**Contraction (the paper's Proposition on Ω_M T^π, as recalled — see "not verified" below).** If every Π_i is
c_i-Lipschitz in W_p on the laws that occur, then with the maximal metric
:math:`\bar W_p(\eta,\nu)=\max_{s,a}W_p(\eta(s,a),\nu(s,a))`

.. math:: \bar W_p(\Omega_MT^\pi\eta,\Omega_MT^\pi\nu)\le\bar c_p\,\gamma\,\bar W_p(\eta,\nu),\qquad
          \bar c_p=\Big(\frac1M\sum_i c_i^p\Big)^{1/p}

(:func:`mean_lipschitz`). *Proof for p = 1 (ours):* W1(μ, ν) = ∫|F_μ − F_ν| and the CDF of a mixture is the mixture
of CDFs, so :math:`W_1(\frac1M\sum\mu_i,\frac1M\sum\nu_i)\le\frac1M\sum_iW_1(\mu_i,\nu_i)\le\frac1M\sum_ic_i\,W_1(T^\pi\eta,T^\pi\nu)`
and T^π is a γ-contraction in :math:`\bar W_1` (Bellemare et al. 2017, Lemma 3). Known constants in W1
(:func:`w1_lipschitz`): Π_C is a non-expansion (c = 1) on all laws — it is the clip x ↦ clamp(x, z_1, z_m) (a
1-Lipschitz map, whose push-forward is a W1 non-expansion) followed by the split onto neighbouring atoms, a W1
non-expansion on laws inside [z_1, z_m] (proof in :mod:`pgtheory.exact.return_law`); Π_Q has **no finite** W1
constant: with N atoms, move the jump of a quantile function from τ_i + ε to τ_i − ε (height h): W1 of the inputs is
2εh, of the projections h/N, a ratio 1/(2εN) → ∞ (N = 2, h = 1: (¼ ± ε)δ_0 + (¾ ∓ ε)δ_1, ratio 1/(4ε); tested). So the categorical +
quantile pair the paper uses in PE-DQN is *not* covered by the W1 form of the proposition; Π_Q is a W∞ non-expansion
(Dabney et al. 2018), Π_C is not (it splits a point mass), so no single p covers both with c̄ ≤ 1.

**Error of the fixed point.** If c̄γ < 1 the ensemble has a unique fixed point η_{M,π} and, since T^π η^π = η^π,

.. math:: \bar W_1(\eta_{M,\pi},\eta^\pi)\le\bar W_1(\Omega_MT^\pi\eta_{M,\pi},\Omega_MT^\pi\eta^\pi)
          +\bar W_1(\Omega_M\eta^\pi,\eta^\pi)\ \Rightarrow\ 
          \bar W_1(\eta_{M,\pi},\eta^\pi)\le\frac{\bar W_1(\Omega_M\eta^\pi,\eta^\pi)}{1-\bar c_1\gamma}

(:func:`fixed_point_error_bound`; the form of the paper's bound as recalled, adapted from Rowland et al. 2018's bound
for Π_C).

**Ensemble disagreement** (the paper's exploration bonus): the average pairwise 1-Wasserstein distance between the
members at each (s, a), :math:`b(s,a)=\frac{1}{M(M-1)}\sum_{i\ne j}W_1(\eta_i(s,a),\eta_j(s,a))`
(:func:`ensemble_disagreement`); it is 0 exactly when all members agree at (s, a). Fitted exactly to one law η (each
member Π_i η), it is :func:`projected_disagreement`, b_Π(η); at η = η^π this is the bonus's *projection floor*, which
does not vanish with data (L195's (D) measures it and the sampling deviation around it on a deep sea).

Not verified against the paper body: the search tools here return only the head of the paper (abstract and
introduction); the operator Ω_M, the constant c̄_p and the form of the fixed-point bound are as recalled from
Zanger et al. (2024), Section 4, and re-derived above for p = 1 — the derivations stand on their own.

Sources: Zanger, Böhmer & Spaan (2024), "Diverse projection ensembles for distributional RL"; Bellemare, Dabney & Munos
(2017); Rowland et al. (2018), "An analysis of categorical distributional RL"; Dabney et al. (2018), "Distributional RL
with quantile regression".
"""
from __future__ import annotations

import math
from typing import NamedTuple

import torch

from .._checks import DTYPE, as_tensor, check_finite, check_positive_int, check_real
from .distributional import check_single_policy, quantile_projection
from .distributional_control import (ActionValueLaws, RewardLaw, action_sup_wasserstein1, action_value_laws,
                                     categorical_projection_map, compact, evaluation_operator)
from .risk_measures import wasserstein1

__all__ = ["ProjectionMember", "categorical_member", "quantile_member", "project_laws", "mixture_laws",
           "projection_mixture", "EnsembleLaws", "ensemble_operator", "EnsembleFixedPoint", "ensemble_fixed_point",
           "ensemble_contraction_ratio", "w1_lipschitz", "mean_lipschitz", "fixed_point_error_bound",
           "ensemble_disagreement", "projected_disagreement"]

KINDS = ("categorical", "quantile")


class ProjectionMember(NamedTuple):
    """One ensemble member's projection: ``kind`` "categorical" (``support [m]`` strictly increasing) or "quantile"
    (``n_quantiles`` atoms; ``support`` is None)."""

    kind: str
    support: torch.Tensor | None
    n_quantiles: int


def categorical_member(support) -> ProjectionMember:
    """A categorical member (Π_C onto ``support [m]``, m ≥ 2, strictly increasing)."""
    z = check_finite(as_tensor(support, "support"), "support")
    if z.ndim != 1 or z.shape[0] < 2 or bool((z[1:] <= z[:-1]).any()):
        raise ValueError(f"support: expected a strictly increasing 1-D tensor with >= 2 atoms, got shape {tuple(z.shape)}")
    return ProjectionMember("categorical", z, 0)


def quantile_member(n: int) -> ProjectionMember:
    """A quantile member (Π_Q onto ``n`` atoms of mass 1/n at the quantile midpoints)."""
    return ProjectionMember("quantile", None, check_positive_int(n, "n"))


def _check_member(member, name: str = "member") -> ProjectionMember:
    if not isinstance(member, ProjectionMember):
        raise TypeError(f"{name}: expected a ProjectionMember (categorical_member / quantile_member), "
                        f"got {type(member).__name__}")
    if member.kind not in KINDS:
        raise ValueError(f"{name}: kind must be one of {KINDS}, got {member.kind!r}")
    return member


def _check_members(members) -> list[ProjectionMember]:
    if not isinstance(members, (list, tuple)) or len(members) == 0:
        raise ValueError("members: expected a non-empty list of ProjectionMember")
    return [_check_member(m, f"members[{i}]") for i, m in enumerate(members)]


def _laws(laws, name: str = "laws") -> ActionValueLaws:
    if not isinstance(laws, ActionValueLaws):
        raise TypeError(f"{name}: expected ActionValueLaws (support, probs), got {type(laws).__name__}")
    return laws


def _law_list(laws, name: str, minimum: int) -> list:
    """A list of ≥ ``minimum`` validated ActionValueLaws with one state–action shape (errors name ``name[i]``)."""
    if not isinstance(laws, (list, tuple)) or len(laws) < minimum:
        raise ValueError(f"{name}: expected a list of at least {minimum} ActionValueLaws")
    out = [_laws(l, f"{name}[{i}]") for i, l in enumerate(laws)]
    shape = out[0].probs.shape[:-1]
    for i, l in enumerate(out):
        if l.probs.shape[:-1] != shape:
            raise ValueError(f"{name}[{i}]: state–action shape {tuple(l.probs.shape[:-1])} differs from {tuple(shape)}")
    return out


def _project(member: ProjectionMember, laws: ActionValueLaws) -> ActionValueLaws:
    S, A, K = laws.probs.shape
    if member.kind == "categorical":
        z = member.support.to(laws.support.device)
        lo, frac = categorical_projection_map(laws.support, z)
        out = torch.zeros(S, A, z.shape[0], dtype=DTYPE, device=laws.probs.device)
        out.index_add_(2, lo, laws.probs * (1 - frac))
        out.index_add_(2, lo + 1, laws.probs * frac)
        return ActionValueLaws(z, out)
    n = member.n_quantiles
    theta = quantile_projection(laws.support.expand(S, A, K), laws.probs, n)  # [S, A, n]
    flat = theta.reshape(-1)
    probs = torch.zeros(S * A, S * A * n, dtype=DTYPE, device=laws.probs.device)
    rows = torch.arange(S * A, device=flat.device).repeat_interleave(n)
    probs[rows, torch.arange(S * A * n, device=flat.device)] = 1.0 / n
    return compact(flat, probs.reshape(S, A, S * A * n))


def project_laws(member: ProjectionMember, laws: ActionValueLaws) -> ActionValueLaws:
    r"""Π_i η for one member: categorical → laws on the member's support; quantile → the n quantile-midpoint atoms of
    every (s, a) (``laws``: :class:`ActionValueLaws` ``[S, A, K]``)."""
    return _project(_check_member(member), _laws(laws))


def mixture_laws(laws_list, weights=None) -> ActionValueLaws:
    r"""The mixture :math:`\sum_i w_i\eta_i` (default w_i = 1/M) of per-(s, a) laws on possibly different supports, on the
    union support. ``laws_list``: M :class:`ActionValueLaws` with the same ``[S, A]``; ``weights [M]`` a probability
    vector."""
    laws_list = _law_list(laws_list, "laws_list", 1)
    M = len(laws_list)
    if weights is None:
        w = torch.full((M,), 1.0 / M, dtype=DTYPE)
    else:
        w = check_finite(as_tensor(weights, "weights"), "weights")
        if w.shape != (M,) or bool((w < 0).any()) or abs(float(w.sum()) - 1.0) > 1e-12:
            raise ValueError(f"weights: expected a probability vector of length {M}, got {w.tolist()}")
    atoms = torch.cat([l.support for l in laws_list])
    probs = torch.cat([float(wi) * l.probs for wi, l in zip(w, laws_list)], -1)
    return compact(atoms, probs)


class EnsembleLaws(NamedTuple):
    """An ensemble's members' laws and their uniform mixture."""

    mixture: ActionValueLaws
    members: list


def projection_mixture(members, laws: ActionValueLaws) -> EnsembleLaws:
    r""":math:`\Omega_M\eta=\frac1M\sum_i\Pi_i\eta`: the members Π_i η and their uniform mixture."""
    members = _check_members(members)
    laws = _laws(laws)
    projected = [_project(m, laws) for m in members]
    return EnsembleLaws(mixture_laws(projected), projected)


def ensemble_operator(mdp, pi, members, laws: ActionValueLaws, rewards: RewardLaw | None = None) -> EnsembleLaws:
    r""":math:`\Omega_MT^\pi\eta`: each member is Π_i T^π η (η the current mixture) and the new mixture their average."""
    members = _check_members(members)
    return projection_mixture(members, evaluation_operator(mdp, pi, laws, rewards))


class EnsembleFixedPoint(NamedTuple):
    """The limit of η ← Ω_M T^π η: mixture and members, iterations, the last sup-W1 change, whether it met ``tol``."""

    mixture: ActionValueLaws
    members: list
    iterations: int
    last_change: float
    converged: bool


def ensemble_fixed_point(mdp, pi, members, rewards: RewardLaw | None = None, *, tol: float = 1e-12,
                         max_iter: int = 20_000) -> EnsembleFixedPoint:
    r"""Iterate :math:`\eta\leftarrow\Omega_MT^\pi\eta` from :math:`\Omega_M\delta_0` until
    :math:`\bar W_1(\eta_{k+1},\eta_k)\le` ``tol`` (or ``max_iter`` applications; ``converged`` says which).

    When c̄γ < 1 (:func:`mean_lipschitz`) the iteration contracts geometrically and the distance of the last iterate to
    the fixed point is at most c̄γ·last_change/(1 − c̄γ).
    """
    pi = check_single_policy(mdp, pi)
    members = _check_members(members)
    tol = check_real(tol, "tol", low=0.0, low_open=True)
    max_iter = check_positive_int(max_iter, "max_iter")
    S, A = mdp.n_states, mdp.n_actions
    start = action_value_laws(mdp, torch.zeros(1, dtype=DTYPE), torch.ones(S, A, 1, dtype=DTYPE))
    ens = projection_mixture(members, start)
    change = float("inf")
    k = 0
    for k in range(1, max_iter + 1):
        new = projection_mixture(members, evaluation_operator(mdp, pi, ens.mixture, rewards))
        change = action_sup_wasserstein1(new.mixture, ens.mixture)
        ens = new
        if change <= tol:
            break
    return EnsembleFixedPoint(ens.mixture, ens.members, k, change, change <= tol)


def ensemble_contraction_ratio(mdp, pi, members, eta: ActionValueLaws, nu: ActionValueLaws,
                               rewards: RewardLaw | None = None) -> float:
    r""":math:`\bar W_1(\Omega_MT^\pi\eta,\Omega_MT^\pi\nu)/\bar W_1(\eta,\nu)`; at most c̄_1γ (module docstring).
    Raises if η = ν in sup-W1 (ratio undefined)."""
    before = action_sup_wasserstein1(_laws(eta, "eta"), _laws(nu, "nu"))
    if before == 0:
        raise ValueError("nu: equals eta in sup-W1; the contraction ratio is undefined")
    after = action_sup_wasserstein1(ensemble_operator(mdp, pi, members, eta, rewards).mixture,
                             ensemble_operator(mdp, pi, members, nu, rewards).mixture)
    return after / before


def w1_lipschitz(member: ProjectionMember) -> float:
    r"""The W1 Lipschitz constant of the member's projection: 1 for Π_C, ∞ for Π_Q (no finite constant; proofs in the
    module docstring)."""
    member = _check_member(member)
    return 1.0 if member.kind == "categorical" else math.inf


def mean_lipschitz(constants, p: float = 1.0) -> float:
    r""":math:`\bar c_p=(\frac1M\sum_ic_i^p)^{1/p}` for ``constants [M]`` (each ≥ 0, ∞ allowed) and p ≥ 1."""
    p = check_real(p, "p", low=1.0)
    c = as_tensor(constants, "constants")
    if c.ndim != 1 or c.shape[0] == 0:
        raise ValueError(f"constants: expected a non-empty 1-D sequence, got shape {tuple(c.shape)}")
    if bool(torch.isnan(c).any()) or bool((c < 0).any()):
        raise ValueError(f"constants: must be >= 0 (inf allowed), got {c.tolist()}")
    if bool(torch.isinf(c).any()):
        return math.inf
    return float((c.pow(p).mean()) ** (1.0 / p))


def fixed_point_error_bound(projection_error: float, lipschitz: float, discount: float) -> float:
    r""":math:`\bar W_1(\eta_{M,\pi},\eta^\pi)\le\bar W_1(\Omega_M\eta^\pi,\eta^\pi)/(1-\bar c\gamma)`: ``projection_error``
    = :math:`\bar W_1(\Omega_M\eta^\pi,\eta^\pi)` ≥ 0, ``lipschitz`` = c̄ ≥ 0, ``discount`` = γ ∈ [0, 1); ∞ when c̄γ ≥ 1
    (no contraction, no bound)."""
    e = check_real(projection_error, "projection_error", low=0.0)
    c = float(lipschitz)
    if math.isnan(c) or c < 0:
        raise ValueError(f"lipschitz: must be >= 0, got {lipschitz}")
    g = check_real(discount, "discount", low=0.0, high=1.0, high_open=True)
    return math.inf if c * g >= 1 else e / (1 - c * g)


def ensemble_disagreement(member_laws) -> torch.Tensor:
    r"""Average pairwise W1 between the members at each (s, a): ``[S, A]``,
    :math:`b(s,a)=\frac{1}{M(M-1)}\sum_{i\ne j}W_1(\eta_i(s,a),\eta_j(s,a))` (needs M ≥ 2)."""
    laws = _law_list(member_laws, "member_laws", 2)
    shape = laws[0].probs.shape[:-1]
    M = len(laws)
    total = torch.zeros(shape, dtype=DTYPE, device=laws[0].probs.device)
    for i in range(M):
        for j in range(i + 1, M):
            total = total + wasserstein1(laws[i].support, laws[i].probs, laws[j].support, laws[j].probs)
    return total * 2 / (M * (M - 1))


def projected_disagreement(members, laws: ActionValueLaws) -> torch.Tensor:
    r"""The disagreement of the members' projections of one law η: ``[S, A]``,
    :math:`b_\Pi(\eta)(s,a)=\frac{1}{M(M-1)}\sum_{i\ne j}W_1(\Pi_i\eta(s,a),\Pi_j\eta(s,a))`.

    At η = η^π this is the *projection floor* of the exploration bonus: the members disagree even when they are fitted to
    the exact return law, by an amount set only by the projections (0 iff all Π_i η(s, a) coincide). ``members``: M ≥ 2
    :class:`ProjectionMember`; ``laws``: :class:`ActionValueLaws` ``[S, A, K]``.
    """
    members = _check_members(members)
    if len(members) < 2:
        raise ValueError("members: the disagreement needs at least 2 members")
    return ensemble_disagreement(projection_mixture(members, _laws(laws)).members)
