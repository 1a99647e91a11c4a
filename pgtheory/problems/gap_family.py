r"""Linear MDPs whose action gap is a declared multiple of a target accuracy: the two-point (bandit) hard instance.

Why. On a finite MDP with a *fixed* action gap Δ the suboptimality of a learner falls to 0 once its policy is exactly
optimal, so the samples needed for ε-optimality stop growing below ε ≈ Δ (a "cliff"): no ε⁻ᵖ law can be read there.
The lower-bound constructions of the bandit and RL literature instead let the gap *scale with the target*: for
accuracy ε one builds an instance whose near-optimal actions are c·ε worse than the best, so that ε-optimality
requires telling apart two actions whose value differs by c·ε — the two-point method (Mannor & Tsitsiklis 2004,
"The sample complexity of exploration in the multi-armed bandit problem"; Lattimore & Szepesvári 2020, *Bandit
Algorithms*, ch. 15 and 33; for episodic MDPs the same construction with a decision state and two absorbing outcomes,
e.g. Dann & Brunskill 2015, Jin et al. 2018, Domingues et al. 2021).

The instance (:func:`gap_linear_mdp`). Three states — 0 the *decision* state, 1 *win*, 2 *lose* — and A ≥ 2 actions.
At the decision state action a moves to *win* with probability p_a, else to *lose*; from *win* and *lose* every action
returns to the decision state; the reward is 1 at *win* (for every action) and 0 elsewhere; ρ = δ₀. It is a linear MDP
(Jin et al. 2020, Assumption A) with d = A + 2 one-hot features

.. math:: \phi(0,a) = e_a,\quad \phi(1,\cdot) = e_A,\quad \phi(2,\cdot) = e_{A+1},\qquad
          \mu_a = p_a\delta_1 + (1-p_a)\delta_2,\quad \mu_A = \mu_{A+1} = \delta_0,\quad \theta_r = e_A,

so the learner knows φ and must learn the unknown measures μ_a, i.e. the Bernoulli parameters p_a. By Bellman's
equation V*(1) = 1 + γV*(0), V*(2) = γV*(0), hence :math:`Q^*(0,a) = \gamma p_a + \gamma^2 V^*(0)` and the action gap
:math:`Q^*(0,a^\star) - Q^*(0,a) = \gamma(p_{a^\star} - p_a)`. With a base success probability p̄ the generator sets

.. math:: p_{a^\star} = \bar p + \tfrac{\Delta_p}{2},\qquad p_a = \bar p - \tfrac{\Delta_p}{2}\ (a\ne a^\star),\qquad
          \Delta_p = c\,\varepsilon/\gamma,

so every non-optimal action's gap is exactly c·ε. The decision state is visited at t = 0, 2, 4, …, so by the
performance-difference lemma a policy that plays a non-optimal action at the decision state with probability q has
:math:`J^* - J(\pi) = q\,c\,\varepsilon/(1-\gamma^2)` (J = ρᵀV, unnormalised): it is ε-optimal iff
q ≤ (1 − γ²)/c. With c ≥ 1 − γ² this requires the learner to *prefer the right action*, which for any algorithm
that is correct on both the instance and its swapped twin takes Ω(p̄(1 − p̄)/Δ_p²) = Ω(ε⁻²) visits of the decision
state (the KL divergence between Bernoulli(p̄ ± Δ_p/2) is Θ(Δ_p²/(p̄(1 − p̄))), Bretagnolle–Huber / Le Cam): the
samples needed grow at least like ε⁻², and an optimistic (UCB-type) learner needs O(ε⁻² log(1/ε)).

:func:`gap_family` builds one instance per target of a grid (same p̄, same best action, gaps c·ε_j).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from .._checks import DTYPE, check_discount, check_positive_int, check_real
from .linear_mdp import LinearMDP

__all__ = ["DECISION_STATE", "WIN_STATE", "LOSE_STATE", "gap_linear_mdp", "gap_family", "success_probabilities"]

#: the states of :func:`gap_linear_mdp`
DECISION_STATE, WIN_STATE, LOSE_STATE = 0, 1, 2


def success_probabilities(target: float, *, gap_multiple: float, base_success: float, discount: float,
                          n_actions: int = 2, best_action: int = 0) -> np.ndarray:
    r"""The win probabilities p_a of :func:`gap_linear_mdp`: p̄ + Δ_p/2 for the best action, p̄ − Δ_p/2 for the others,
    Δ_p = c·ε/γ (module docstring). Returns ``[A]`` float64; ValueError if a p_a leaves [0, 1]."""
    eps = check_real(target, "target", low=0.0, low_open=True)
    c = check_real(gap_multiple, "gap_multiple", low=0.0, low_open=True)
    pbar = check_real(base_success, "base_success", low=0.0, high=1.0, low_open=True, high_open=True)
    gamma = check_discount(discount, "discount")
    if gamma <= 0:
        raise ValueError("discount: must be positive (the gap γΔ_p needs γ > 0)")
    A = check_positive_int(n_actions, "n_actions", minimum=2)
    best = check_positive_int(best_action, "best_action", minimum=0)
    if best >= A:
        raise ValueError(f"best_action: must be below n_actions = {A}, got {best}")
    dp = c * eps / gamma
    if dp / 2 > min(pbar, 1.0 - pbar):
        raise ValueError(f"target: the gap c·ε = {c * eps:g} needs win probabilities p̄ ± {dp / 2:g} outside [0, 1] "
                         f"(p̄ = {pbar:g}, γ = {gamma:g}); use ε ≤ {2 * gamma * min(pbar, 1 - pbar) / c:g}")
    p = np.full(A, pbar - dp / 2)
    p[best] = pbar + dp / 2
    return p


def gap_linear_mdp(target: float, *, gap_multiple: float = 1.0, base_success: float = 0.5, discount: float = 0.8,
                   n_actions: int = 2, best_action: int = 0) -> LinearMDP:
    r"""The two-point linear MDP of the module docstring for accuracy ``target`` ε: S = 3, A = ``n_actions``,
    d = A + 2, ρ = δ₀, every non-optimal action at the decision state exactly ``gap_multiple``·ε worse in Q* than
    ``best_action``. Features ``[3, A, A + 2]``, μ ``[A + 2, 3]``, θ_r ``[A + 2]``."""
    p = success_probabilities(target, gap_multiple=gap_multiple, base_success=base_success, discount=discount,
                              n_actions=n_actions, best_action=best_action)
    A = p.size
    d = A + 2
    phi = np.zeros((3, A, d))
    phi[DECISION_STATE, np.arange(A), np.arange(A)] = 1.0
    phi[WIN_STATE, :, A] = 1.0
    phi[LOSE_STATE, :, A + 1] = 1.0
    mu = np.zeros((d, 3))
    mu[:A, WIN_STATE] = p
    mu[:A, LOSE_STATE] = 1.0 - p
    mu[A:, DECISION_STATE] = 1.0
    theta = np.zeros(d)
    theta[A] = 1.0
    rho = np.zeros(3)
    rho[DECISION_STATE] = 1.0
    t = lambda x: torch.from_numpy(x).to(DTYPE)  # noqa: E731
    return LinearMDP(t(phi), t(mu), t(theta), t(rho), discount,
                     name=f"gap_linear_mdp(eps={float(target):g},c={float(gap_multiple):g},p={float(base_success):g},A={A})")


def gap_family(targets: Sequence[float], *, gap_multiple: float = 1.0, base_success: float = 0.5, discount: float = 0.8,
               n_actions: int = 2, best_action: int = 0) -> list[LinearMDP]:
    """One :func:`gap_linear_mdp` per target ε_j (same p̄, γ, A and best action; gap c·ε_j): the instance on which
    "ε_j-optimal" is judged. ``targets`` a non-empty sequence of positive numbers; returns a list of the same length."""
    eps = np.asarray(targets, dtype=float)
    if eps.ndim != 1 or eps.size == 0:
        raise ValueError(f"targets: expected a non-empty 1-D sequence, got shape {eps.shape}")
    return [gap_linear_mdp(float(e), gap_multiple=gap_multiple, base_success=base_success, discount=discount,
                           n_actions=n_actions, best_action=best_action) for e in eps]
