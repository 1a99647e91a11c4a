r"""Exact *linear* policy evaluation: the TD(λ) fixed point, the best linear fit and the Bellman-residual minimiser.

Setting. A :class:`~pgtheory.problems.mdp.TabularMDP`, a policy ``pi [..., S, A]``, state-action features
:math:`\Phi \in\mathbb R^{SA\times d}` (given as ``[S, A, d]`` or ``[S·A, d]``, row index :math:`sA + a`) and a
weighting distribution D over the pairs (s, a) (``weights [..., S, A]``; default: the on-policy normalised discounted
state-action occupancy :math:`d^\pi_\rho(s)\pi(a|s)` of :func:`~pgtheory.exact.evaluation.state_action_occupancy`).
Write :math:`\|f\|_D^2 = \sum_{s,a} D(s,a) f(s,a)^2`, :math:`\Pi_D` the D-weighted least-squares projection onto
:math:`\{\Phi w\}`, r ∈ R^{SA} the reward and

.. math:: P_\pi[(s,a),(s',a')] = P(s'|s,a)\,\pi(a'|s'),\qquad T^\pi Q = r + \gamma P_\pi Q,\qquad Q^\pi = T^\pi Q^\pi .

Three linear approximations of :math:`Q^\pi`, each the solution of a d×d system computed exactly (no sampling):

* :func:`best_linear_fit` — :math:`w = \arg\min_w \|\Phi w - Q^\pi\|_D`, i.e. :math:`\Phi w = \Pi_D Q^\pi` (the
  reference that the two others are compared with; it needs :math:`Q^\pi`, which TD does not).
* :func:`td_fixed_point` — the TD(λ)/LSTD(λ) fixed point :math:`\Phi w = \Pi_D T^{\lambda}\Phi w`, with the λ-return
  operator :math:`T^\lambda Q = (1-\lambda)\sum_{k\ge0}\lambda^k (T^\pi)^{k+1} Q = r^{(\lambda)} + \gamma P^{(\lambda)} Q`,

  .. math:: r^{(\lambda)} = (I-\gamma\lambda P_\pi)^{-1} r,\qquad P^{(\lambda)} = (1-\lambda)(I-\gamma\lambda P_\pi)^{-1}P_\pi,

  i.e. the solution of the projected Bellman equation
  :math:`\Phi^\top D(\Phi - \gamma P^{(\lambda)}\Phi)\,w = \Phi^\top D\, r^{(\lambda)}`
  (λ = 0: :math:`\Phi^\top D(\Phi-\gamma P_\pi\Phi)w = \Phi^\top D r`; λ = 1: the best linear fit). Sources:
  Sutton & Barto (2018), §9.4 and §12; Tsitsiklis & Van Roy (1997), "An analysis of temporal-difference learning
  with function approximation"; LSTD: Bradtke & Barto (1996), LSTD(λ): Boyan (2002) — whose expected trace form
  :math:`\Phi^\top D(I-\gamma\lambda P_\pi)^{-1}[(\Phi-\gamma P_\pi\Phi)w - r] = 0` is the same equation, since
  :math:`(I-\gamma\lambda P_\pi)^{-1}(I-\gamma P_\pi) = I - \gamma P^{(\lambda)}`.
* :func:`bellman_residual_minimiser` — :math:`w = \arg\min_w \|\Phi w - T^\pi\Phi w\|_D^2` (the mean-squared Bellman
  error with exact expectations; Baird 1995, "Residual algorithms"; Sutton et al. 2009, "Fast gradient-descent
  methods for TD learning with linear function approximation"; Sutton & Barto 2018, §11.5).

Guarantee (Tsitsiklis & Van Roy 1997, Theorem 1 and Lemma 6): if γP^{(λ)} is a contraction of modulus κ in
:math:`\|\cdot\|_D`, then :math:`\|\Phi w_{TD} - Q^\pi\|_D \le \|\Pi_D Q^\pi - Q^\pi\|_D/\sqrt{1-\kappa^2}`. With D the
*stationary* distribution of :math:`P_\pi` (:func:`stationary_state_action_distribution`), κ = γ(1−λ)/(1−γλ)
(γ for λ = 0). With the normalised *discounted* occupancy :math:`D = d^\pi_\rho\otimes\pi`, the identity
:math:`\gamma D^\top P_\pi = D^\top - (1-\gamma)(\rho\otimes\pi)^\top \le D^\top` gives only
:math:`\|\gamma P_\pi f\|_D \le \sqrt\gamma\,\|f\|_D`, i.e. κ = √γ and the factor :math:`1/\sqrt{1-\gamma}` for λ = 0.
Off-policy weightings D carry no guarantee: the d×d system can be singular or its solution arbitrarily bad
(Baird 1995; Sutton & Barto 2018, §11.2 — the "w → 2w" example).
"""
from __future__ import annotations

from typing import NamedTuple

import torch

from .._checks import DTYPE, as_tensor, check_finite, check_probabilities, check_real
from ..problems.linear_mdp import tabular_form
from ..problems.mdp import TabularMDP
from .evaluation import evaluate_policy, state_action_occupancy
from .traces import AffineOperator

__all__ = ["pair_distribution", "state_action_visitation", 
    "LinearEvaluation",
    "SINGULAR_RCOND",
    "state_action_transition_matrix",
    "lambda_bellman_operator",
    "stationary_state_action_distribution",
    "td_fixed_point",
    "projected_bellman_residual",
    "best_linear_fit",
    "bellman_residual_minimiser",
    "weighted_norm",
]

#: a d×d system is declared singular when its smallest singular value is ≤ SINGULAR_RCOND times the scale of the
#: problem (the largest singular value of the system matrix, and for TD also of the Gram matrix ΦᵀDΦ).
SINGULAR_RCOND = 1e-12


class LinearEvaluation(NamedTuple):
    """A linear approximation Φw of Q^π and its errors, for a batch of policies of batch shape ``B``."""

    w: torch.Tensor  #: the weights, [*B, d]
    q: torch.Tensor  #: the fitted Φw, [*B, S, A]
    q_true: torch.Tensor  #: the exact Q^π, [*B, S, A]
    weights: torch.Tensor  #: the weighting distribution D over (s, a) that was used, [*B, S, A]
    error: torch.Tensor  #: ‖Φw − Q^π‖_D = (Σ D (Φw − Q^π)²)^{1/2}, [*B]
    relative_error: torch.Tensor  #: ‖Φw − Q^π‖_D / ‖Q^π‖_D (inf where ‖Q^π‖_D = 0 and the error is not), [*B]
    sup_error: torch.Tensor  #: max_{s,a} |Φw − Q^π| over all pairs, also those with D = 0, [*B]
    method: str  #: "td(λ=…)", "best_linear_fit" or "bellman_residual_minimiser"


def weighted_norm(x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    r""":math:`\|x\|_D = (\sum_{s,a} D(s,a)\,x(s,a)^2)^{1/2}` over the last two axes of ``x``/``weights [..., S, A]``."""
    return (weights * x * x).sum((-2, -1)).sqrt()


def _policy(mdp: TabularMDP, pi) -> torch.Tensor:
    pi = as_tensor(pi, "pi", device=mdp.device)
    if pi.ndim < 2 or tuple(pi.shape[-2:]) != (mdp.n_states, mdp.n_actions):
        raise ValueError(f"pi: expected shape [..., S, A] = [..., {mdp.n_states}, {mdp.n_actions}], got {tuple(pi.shape)}")
    return check_probabilities(pi, "pi", atol=1e-6)


def _features(mdp: TabularMDP, features) -> torch.Tensor:
    """Φ as ``[S·A, d]`` (row sA + a)."""
    S, A = mdp.n_states, mdp.n_actions
    phi = check_finite(as_tensor(features, "features", device=mdp.device), "features")
    if phi.ndim == 3 and tuple(phi.shape[:2]) == (S, A) and phi.shape[2] > 0:
        return phi.reshape(S * A, phi.shape[2])
    if phi.ndim == 2 and phi.shape[0] == S * A and phi.shape[1] > 0:
        return phi
    raise ValueError(f"features: expected shape [S, A, d] = [{S}, {A}, d] or [S·A, d] = [{S * A}, d] with d >= 1, "
                     f"got {tuple(phi.shape)}")


def _weights(mdp: TabularMDP, pi: torch.Tensor, weights) -> torch.Tensor:
    """D as ``[*B, S, A]`` (default: the on-policy normalised discounted state-action occupancy)."""
    S, A = mdp.n_states, mdp.n_actions
    batch = pi.shape[:-2]
    if weights is None:
        return state_action_occupancy(mdp, pi)
    D = as_tensor(weights, "weights", device=mdp.device)
    if D.ndim >= 1 and D.shape[-1] == S * A and not (D.ndim >= 2 and tuple(D.shape[-2:]) == (S, A)):
        D = D.reshape(*D.shape[:-1], S, A)
    if D.ndim < 2 or tuple(D.shape[-2:]) != (S, A):
        raise ValueError(f"weights: expected a distribution over (s, a) of shape [..., S, A] = [..., {S}, {A}] or "
                         f"[..., S·A] = [..., {S * A}], got {tuple(D.shape)}")
    flat = check_probabilities(D.reshape(*D.shape[:-2], S * A), "weights")
    try:
        return flat.reshape(*D.shape[:-2], S, A).expand(*torch.broadcast_shapes(batch, D.shape[:-2]), S, A)
    except RuntimeError as exc:
        raise ValueError(f"weights: batch shape {tuple(D.shape[:-2])} does not broadcast with the batch shape "
                         f"{tuple(batch)} of pi") from exc


def _phi_next(mdp: TabularMDP, pi: torch.Tensor, phi: torch.Tensor) -> torch.Tensor:
    """P_π Φ: [*B, S·A, d], (P_πΦ)[(s,a)] = Σ_{s'} P(s'|s,a) Σ_{a'} π(a'|s') φ(s',a'), without forming P_π."""
    S, A = mdp.n_states, mdp.n_actions
    phi_pi = torch.einsum("...sa,sad->...sd", pi, phi.reshape(S, A, -1))
    return mdp.transitions.reshape(S * A, S) @ phi_pi


def state_action_transition_matrix(mdp: TabularMDP, pi) -> torch.Tensor:
    r""":math:`P_\pi[(s,a),(s',a')] = P(s'|s,a)\,\pi(a'|s')`: ``[..., S·A, S·A]`` (row and column index sA + a)."""
    mdp = tabular_form(mdp)
    pi = _policy(mdp, pi)
    S, A = mdp.n_states, mdp.n_actions
    return (mdp.transitions.reshape(S * A, S, 1) * pi.unsqueeze(-3)).reshape(*pi.shape[:-2], S * A, S * A)


def lambda_bellman_operator(mdp: TabularMDP, pi, lam: float = 0.0) -> AffineOperator:
    r"""The λ-return Bellman operator on Q (flattened ``[S·A]``): :math:`T^\lambda Q = \gamma P^{(\lambda)}Q + r^{(\lambda)}`.

    .. math:: T^\lambda = (1-\lambda)\sum_{k\ge0}\lambda^k (T^\pi)^{k+1},\quad
              r^{(\lambda)} = (I-\gamma\lambda P_\pi)^{-1} r,\quad P^{(\lambda)} = (1-\lambda)(I-\gamma\lambda P_\pi)^{-1}P_\pi

    (Sutton & Barto 2018, §12.1; Tsitsiklis & Van Roy 1997, §III). Returns an
    :class:`~pgtheory.exact.traces.AffineOperator` with ``A = γP^{(λ)} [..., S·A, S·A]`` and ``b = r^{(λ)} [..., S·A]``;
    λ = 0 gives T^π, λ = 1 the constant map Q ↦ Q^π.
    """
    mdp = tabular_form(mdp)
    lam = check_real(lam, "lam", low=0.0, high=1.0)
    pi = _policy(mdp, pi)
    P = state_action_transition_matrix(mdp, pi)
    r = mdp.rewards.reshape(-1).expand(*pi.shape[:-2], mdp.n_states * mdp.n_actions)
    g = mdp.discount
    if lam == 0.0:
        return AffineOperator(g * P, r.clone())
    eye = torch.eye(P.shape[-1], dtype=P.dtype, device=P.device)
    M = eye - g * lam * P  # strictly diagonally dominant for γλ < 1: invertible
    rhs = torch.linalg.solve(M, torch.cat([r.unsqueeze(-1), P], -1))
    return AffineOperator(g * (1.0 - lam) * rhs[..., 1:], rhs[..., 0])


def stationary_state_action_distribution(mdp: TabularMDP, pi) -> torch.Tensor:
    r"""The stationary distribution :math:`\nu(s)\pi(a|s)` of the state-action chain :math:`P_\pi`: ``[..., S, A]``.

    ν [S] solves :math:`\nu^\top P^\pi_{\rm state} = \nu^\top,\ \mathbf 1^\top\nu = 1` with
    :math:`P^\pi_{\rm state}(s,s') = \sum_a\pi(a|s)P(s'|s,a)`; then :math:`\sum_{s,a}\nu(s)\pi(a|s)P(s'|s,a)\pi(a'|s') =
    \nu(s')\pi(a'|s')`. This is the weighting of Tsitsiklis & Van Roy's (1997) on-policy TD analysis. Raises
    ``ValueError`` if the stationary distribution is not unique (more than one closed class) for some policy.
    """
    mdp = tabular_form(mdp)
    pi = _policy(mdp, pi)
    S = mdp.n_states
    Ps = torch.einsum("...sa,sat->...st", pi, mdp.transitions)
    eye = torch.eye(S, dtype=Ps.dtype, device=Ps.device)
    ones = torch.ones(*Ps.shape[:-2], 1, S, dtype=Ps.dtype, device=Ps.device)
    B = torch.cat([(eye - Ps).transpose(-1, -2), ones], -2)  # [*B, S+1, S]
    sv = torch.linalg.svdvals(B)
    bad = sv[..., -1] <= 1e-10 * sv[..., 0]
    if bool(bad.any()):
        idx = tuple(int(i) for i in bad.nonzero()[0])
        raise ValueError(f"pi: the state chain P_π{' of the policy at batch index ' + str(idx) if idx else ''} has more than one "
                         f"stationary distribution "
                         f"(several closed classes; smallest singular value {float(sv[idx][-1]):.3g})")
    rhs = torch.zeros(*Ps.shape[:-2], S + 1, 1, dtype=Ps.dtype, device=Ps.device)
    rhs[..., -1, 0] = 1.0
    nu = torch.linalg.lstsq(B, rhs).solution.squeeze(-1).clamp_min(0.0)
    nu = nu / nu.sum(-1, keepdim=True)
    return nu.unsqueeze(-1) * pi


def _singular_index(sv: torch.Tensor, scale: torch.Tensor) -> tuple[int, ...] | None:
    bad = ~(sv[..., -1] > SINGULAR_RCOND * scale)
    if bool(bad.any()):
        return tuple(int(i) for i in bad.nonzero()[0])
    return None


def _result(mdp, pi, phi, D, w, q_true, method) -> LinearEvaluation:
    S, A = mdp.n_states, mdp.n_actions
    check_finite(w, f"{method}: w")
    q = (w @ phi.T).reshape(*w.shape[:-1], S, A)
    diff = q - q_true
    err = weighted_norm(diff, D)
    qn = weighted_norm(q_true, D)
    rel = torch.where(qn > 0, err / torch.where(qn > 0, qn, torch.ones_like(qn)),
                      torch.where(err > 0, torch.full_like(err, float("inf")), torch.zeros_like(err)))
    return LinearEvaluation(w, q, q_true, D, err, rel, diff.abs().amax((-2, -1)), method)


def _td_system(mdp: TabularMDP, pi: torch.Tensor, phi: torch.Tensor, D: torch.Tensor, lam: float):
    """A = Φᵀ D (Φ − γP^{(λ)}Φ) [*B, d, d] and b = Φᵀ D r^{(λ)} [*B, d]."""
    S, A = mdp.n_states, mdp.n_actions
    g = mdp.discount
    r = mdp.rewards.reshape(S * A)
    if lam == 0.0:
        r_l = r.expand(*pi.shape[:-2], S * A)
        pphi = _phi_next(mdp, pi, phi)
    else:
        P = state_action_transition_matrix(mdp, pi)
        eye = torch.eye(S * A, dtype=P.dtype, device=P.device)
        rhs = torch.cat([r.expand(*pi.shape[:-2], S * A).unsqueeze(-1), _phi_next(mdp, pi, phi)], -1)
        sol = torch.linalg.solve(eye - g * lam * P, rhs)
        r_l, pphi = sol[..., 0], (1.0 - lam) * sol[..., 1:]
    Df = D.reshape(*D.shape[:-2], S * A, 1)
    DPhi = Df * phi  # [*B, SA, d]
    Amat = DPhi.transpose(-1, -2) @ (phi - g * pphi)
    b = (DPhi * r_l.unsqueeze(-1)).sum(-2)
    return Amat, b, DPhi


def td_fixed_point(mdp: TabularMDP, pi, features, weights=None, lam: float = 0.0) -> LinearEvaluation:
    r"""The TD(λ) / LSTD(λ) fixed point: the w solving the projected Bellman equation :math:`\Phi w = \Pi_D T^\lambda\Phi w`,

    .. math:: \Phi^\top D\,(\Phi - \gamma P^{(\lambda)}\Phi)\,w = \Phi^\top D\, r^{(\lambda)}

    (λ = 0: :math:`\Phi^\top D(\Phi - \gamma P_\pi\Phi)w = \Phi^\top D r`; see the module docstring for
    :math:`P^{(\lambda)}, r^{(\lambda)}` and the sources: Sutton & Barto 2018 §9.4/§12, Tsitsiklis & Van Roy 1997,
    Bradtke & Barto 1996, Boyan 2002). This is the limit of linear TD(λ) with weighting D (on-policy) and what LSTD(λ)
    estimates from data drawn from D.

    Shapes: ``pi [..., S, A]``, ``features [S, A, d]`` or ``[S·A, d]``, ``weights [..., S, A]`` or ``[..., S·A]``
    (a distribution; default: the on-policy normalised discounted occupancy d^π_ρ(s)π(a|s)), ``lam ∈ [0, 1]``.
    Returns a :class:`LinearEvaluation` (``w [..., d]``, ``q [..., S, A]``, errors to Q^π in ‖·‖_D).
    Raises ``ValueError`` if the d×d system is singular (smallest singular value ≤ :data:`SINGULAR_RCOND` times the
    largest of the system and of ΦᵀDΦ) for some policy: the fixed point then does not exist or is not unique,
    which can happen off-policy (Baird 1995) or when the features restricted to the support of D are dependent.
    """
    mdp = tabular_form(mdp)
    lam = check_real(lam, "lam", low=0.0, high=1.0)
    pi = _policy(mdp, pi)
    phi = _features(mdp, features)
    D = _weights(mdp, pi, weights)
    pi = pi.expand(*D.shape)
    Amat, b, DPhi = _td_system(mdp, pi, phi, D, lam)
    sv = torch.linalg.svdvals(Amat)
    gram_top = torch.linalg.matrix_norm(DPhi.transpose(-1, -2) @ phi, ord=2)
    idx = _singular_index(sv, torch.maximum(sv[..., 0], gram_top))
    if idx is not None:
        raise ValueError(
            f"td_fixed_point: the projected Bellman system Φᵀ D (Φ − γP^(λ)Φ) w = Φᵀ D r^(λ) (λ = {lam:g}) is singular"
            f"{' for the policy at batch index ' + str(idx) if idx else ''}: its smallest singular value is "
            f"{float(sv[idx][-1]):.3g} against a scale {float(torch.maximum(sv[idx][0], gram_top[idx])):.3g}; the TD "
            f"fixed point does not exist or is not unique for these features and weights")
    w = torch.linalg.solve(Amat, b.unsqueeze(-1)).squeeze(-1)
    q_true = evaluate_policy(mdp, pi).q
    return _result(mdp, pi, phi, D, w, q_true, f"td(lambda={lam:g})")


def projected_bellman_residual(mdp: TabularMDP, pi, features, w, weights=None, lam: float = 0.0) -> torch.Tensor:
    r"""The residual of the projected Bellman equation at ``w``: :math:`\Phi^\top D\,(T^\lambda\Phi w - \Phi w)`, ``[..., d]``.

    Zero exactly at the TD(λ) fixed point (:func:`td_fixed_point`); it is the expected TD(λ) update direction
    (Sutton et al. 2009 minimise its D-norm form, the MSPBE). Shapes as in :func:`td_fixed_point`, ``w [..., d]``.
    """
    mdp = tabular_form(mdp)
    lam = check_real(lam, "lam", low=0.0, high=1.0)
    pi = _policy(mdp, pi)
    phi = _features(mdp, features)
    D = _weights(mdp, pi, weights)
    w = check_finite(as_tensor(w, "w", device=mdp.device), "w")
    if w.ndim < 1 or w.shape[-1] != phi.shape[1]:
        raise ValueError(f"w: expected shape [..., d] = [..., {phi.shape[1]}], got {tuple(w.shape)}")
    Amat, b, _ = _td_system(mdp, pi.expand(*D.shape), phi, D, lam)
    return b - (Amat @ w.unsqueeze(-1)).squeeze(-1)


def _weighted_lstsq(X: torch.Tensor, y: torch.Tensor, D: torch.Tensor, what: str) -> torch.Tensor:
    """argmin_w Σ_i D_i (X_i w − y_i)² via least squares on √D X (no squared condition number); raise if rank < d."""
    sq = D.reshape(*D.shape[:-2], -1, 1).sqrt()
    Xw, yw = sq * X, sq * y.unsqueeze(-1)
    sv = torch.linalg.svdvals(Xw)
    idx = _singular_index(sv, sv[..., 0])
    if idx is not None:
        raise ValueError(f"{what}{' for the policy at batch index ' + str(idx) if idx else ''}: the least-squares "
                         f"problem is rank-deficient (smallest singular value of √D·X {float(sv[idx][-1]):.3g}, largest "
                         f"{float(sv[idx][0]):.3g}); the minimiser is not unique")
    return torch.linalg.lstsq(Xw.contiguous(), yw.contiguous()).solution.squeeze(-1)


def best_linear_fit(mdp: TabularMDP, pi, features, weights=None) -> LinearEvaluation:
    r"""The D-weighted least-squares projection of the exact :math:`Q^\pi` onto the features:

    .. math:: w = \arg\min_w \|\Phi w - Q^\pi\|_D = (\Phi^\top D\Phi)^{-1}\Phi^\top D\,Q^\pi,\qquad \Phi w = \Pi_D Q^\pi,

    the smallest ‖·‖_D error any linear Q can have (Tsitsiklis & Van Roy 1997 compare TD with it). Computed by least
    squares on :math:`D^{1/2}\Phi`. Shapes as in :func:`td_fixed_point`; raises ``ValueError`` if the features
    restricted to the support of D are linearly dependent (the minimiser is then not unique).
    """
    mdp = tabular_form(mdp)
    pi = _policy(mdp, pi)
    phi = _features(mdp, features)
    D = _weights(mdp, pi, weights)
    pi = pi.expand(*D.shape)
    q_true = evaluate_policy(mdp, pi).q
    X = phi.expand(*D.shape[:-2], *phi.shape)
    w = _weighted_lstsq(X, q_true.reshape(*D.shape[:-2], -1), D, "best_linear_fit: features")
    return _result(mdp, pi, phi, D, w, q_true, "best_linear_fit")


def bellman_residual_minimiser(mdp: TabularMDP, pi, features, weights=None) -> LinearEvaluation:
    r"""The minimiser of the mean-squared Bellman error with exact expectations:

    .. math:: w = \arg\min_w \|\Phi w - (r + \gamma P_\pi\Phi w)\|_D^2
              = \arg\min_w \|(\Phi - \gamma P_\pi\Phi)w - r\|_D^2

    (Baird 1995, "Residual algorithms: reinforcement learning with function approximation"; Sutton et al. 2009;
    Sutton & Barto 2018, §11.5 — the "double sampling" objective, computed here without sampling). Computed by least
    squares on :math:`D^{1/2}(\Phi - \gamma P_\pi\Phi)`. Shapes as in :func:`td_fixed_point`; raises ``ValueError`` if
    that matrix has rank < d (the minimiser is then not unique).
    """
    mdp = tabular_form(mdp)
    pi = _policy(mdp, pi)
    phi = _features(mdp, features)
    D = _weights(mdp, pi, weights)
    pi = pi.expand(*D.shape)
    M = phi - mdp.discount * _phi_next(mdp, pi, phi)
    r = mdp.rewards.reshape(-1).expand(*D.shape[:-2], mdp.n_states * mdp.n_actions)
    w = _weighted_lstsq(M, r, D, "bellman_residual_minimiser: features")
    q_true = evaluate_policy(mdp, pi).q
    return _result(mdp, pi, phi, D, w, q_true, "bellman_residual_minimiser")


def pair_distribution(weights, n_states: int, n_actions: int, device=None, name: str = "weights") -> torch.Tensor:
    """A distribution over the S·A state-action pairs as ``[S, A]``, from ``[S, A]`` or ``[S·A]`` (None: uniform)."""
    S, A = n_states, n_actions
    if weights is None:
        return torch.full((S, A), 1.0 / (S * A), dtype=DTYPE, device=device)
    D = as_tensor(weights, name, device=device)
    if tuple(D.shape) not in ((S, A), (S * A,)):
        raise ValueError(f"{name}: expected a distribution over the pairs of shape [S, A] = [{S}, {A}] or [{S * A}], "
                         f"got {tuple(D.shape)}")
    return check_probabilities(D.reshape(S * A), name).reshape(S, A)


def state_action_visitation(mdp, pi, start=None) -> torch.Tensor:
    r"""The state-action visitation of π from a state-action start distribution ν (Agarwal et al. 2021, §6):
    :math:`d^\pi_\nu = (1-\gamma)\,\nu^\top(I-\gamma P_\pi)^{-1}` over the pairs, ``[..., S, A]`` (sums to 1).

    ``pi [..., S, A]``; ``start`` ν ``[S, A]`` (default uniform over the pairs). ν puts its mass on (s_0, a_0), so
    :math:`d^\pi_\nu \ge (1-\gamma)\nu` has full support when ν has.
    """
    mdp = tabular_form(mdp, "mdp")
    S, A = mdp.n_states, mdp.n_actions
    p = check_probabilities(as_tensor(pi, "pi", device=mdp.device), "pi", atol=1e-6)
    if p.ndim < 2 or tuple(p.shape[-2:]) != (S, A):
        raise ValueError(f"pi: expected shape [..., S, A] = [..., {S}, {A}], got {tuple(p.shape)}")
    nu = pair_distribution(start, S, A, mdp.device, "start").reshape(S * A)
    P = state_action_transition_matrix(mdp, p)  # [..., SA, SA]
    eye = torch.eye(S * A, dtype=DTYPE, device=mdp.device)
    M = (eye - mdp.discount * P).transpose(-1, -2)
    d = torch.linalg.solve(M, ((1.0 - mdp.discount) * nu).expand(*P.shape[:-1]).unsqueeze(-1)).squeeze(-1)
    return d.clamp_min(0.0).reshape(*p.shape[:-2], S, A)
