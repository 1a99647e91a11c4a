r"""Control with linear critics: LSTD-Q, LSPI, least-squares value iteration (LSVI) and Q-NPG (issue 13, item 3).

Setting. A finite discounted MDP (a :class:`~pgtheory.problems.mdp.TabularMDP`, or a
:class:`~pgtheory.problems.linear_mdp.LinearMDP` through its tabular form), state-action features
:math:`\phi(s,a)\in\mathbb R^d` (``features [S, A, d]``; flattened row index ``sA + a``), :math:`\Phi\in\mathbb
R^{SA\times d}`, and a distribution D over the pairs (the *data weighting*). Every "exact" function uses the tabular
form (no sampling); every "sampled" function uses only transitions (s, a, r, s') — as a
:class:`~pgtheory.sampling.transitions.TransitionStream` of :func:`~pgtheory.sampling.transitions.sample_iid_transitions`
(pairs i.i.d. from D) — or, for Q-NPG, a simulator of the MDP.

**LSTD-Q** (Lagoudakis & Parr 2003, "Least-squares policy iteration", JMLR 4, §5): the fixed point of the projected
Bellman equation for :math:`Q^\pi` in span(Φ) under D,

.. math:: \Phi w = \Pi_D T^\pi\Phi w \iff A w = b,\qquad A = \Phi^\top D(\Phi - \gamma P_\pi\Phi),\qquad
          b = \Phi^\top D r,\qquad (P_\pi\Phi)(s,a) = \sum_{s'}P(s'|s,a)\sum_{a'}\pi(a'|s')\phi(s',a').

From n transitions :math:`(s_i, a_i, r_i, s'_i)` with :math:`(s_i,a_i)\sim D` the per-transition means

.. math:: \hat A = \frac1n\sum_i\phi_i(\phi_i - \gamma\psi_i)^\top,\qquad \hat b = \frac1n\sum_i\phi_i r_i

are unbiased for A and b, with the next feature ψ_i either ``target="expected"`` (the default):
:math:`\psi_i = \sum_{a'}\pi(a'|s'_i)\phi(s'_i, a')` (the expectation over π, no sampled next action; for a greedy π
this is Lagoudakis & Parr's :math:`\phi(s', \pi(s'))`) or ``target="sampled"``: :math:`\psi_i = \phi(s'_i, a'_i)` with
the next action a'_i that the stream drew — unbiased only when the stream's a' was drawn from the π being evaluated.
The exact fixed point is :func:`~pgtheory.exact.linear_evaluation.td_fixed_point` with ``weights=D`` and λ = 0 (the
same equation, reused); the sampled solution :math:`\hat A^{-1}\hat b` (:func:`~pgtheory.estimators.linear_td.lstd_solve`)
is a ratio of means: consistent, biased O(1/n).

**LSPI** (Lagoudakis & Parr 2003, §5, Figure 8): π_{k+1} = greedy(Φ w_k), w_k = LSTD-Q(π_k), on one *fixed* data
weighting D (exact) or one fixed batch of transitions reused at every iteration (sampled), until π_{k+1} = π_k or a cap.
Greedy improvement keeps the current action where it is within 1e-12 (relative) of the maximum and π_k is
deterministic there, else takes the lowest maximising index — the rule of
:func:`~pgtheory.exact.solvers.policy_iteration`, so that with one-hot features and full-support D the policy sequence
*is* Howard's policy iteration (LSTD-Q then returns Q^π exactly).

**LSVI** (least-squares value iteration / linear fitted Q-iteration; e.g. Munos & Szepesvári 2008 "Finite-time bounds
for fitted value iteration", and the discounted analogue of Jin et al. 2020's LSVI without the bonus):

.. math:: w_{k+1} = \arg\min_w \sum_{s,a} D(s,a)\big(\phi(s,a)^\top w - y_k(s,a)\big)^2,\qquad
          y_k = r + \gamma P\max_{a'}\Phi w_k \ \text{(exact)},\qquad
          y_{k,i} = r_i + \gamma\max_{a'}\phi(s'_i, a')^\top w_k \ \text{(sampled)},

from w_0 = 0 (or a given w_0); the sampled version regresses on one fixed batch (fitted Q-iteration), the empirical
pair frequencies playing D. On one-hot features with full-support D it is value iteration Q_{k+1} = r + γP max Q_k.
The finite-horizon form of Jin et al. is not implemented.

**Q-NPG** (Agarwal, Kakade, Lee & Mahajan 2021, "On the theory of policy gradient methods: optimality, approximation,
and distribution shift", JMLR 22, §6.1, log-linear policies): :math:`\pi_\theta(a|s)\propto\exp(\theta^\top\phi(s,a))`
(:class:`~pgtheory.policies.tabular.LogLinearSoftmax`) and

.. math:: \theta_{t+1} = \theta_t + \eta\,w_t,\qquad w_t = \arg\min_w\ \mathbb E_{(s,a)\sim d^{\pi_t}_\nu}
          \big(w^\top\phi(s,a) - Q^{\pi_t}(s,a)\big)^2,

where ν is a *state-action* start distribution and :math:`d^\pi_\nu(s,a) = (1-\gamma)\,\mathbb E_{(s_0,a_0)\sim\nu}
\sum_t\gamma^t\Pr^\pi(s_t=s, a_t=a)` the state-action visitation of π started from ν
(:func:`~pgtheory.exact.linear_evaluation.state_action_visitation`); default ν uniform over the pairs. Exact critic: the d-weighted least-squares fit
of the exact Q^π (:func:`~pgtheory.exact.linear_evaluation.best_linear_fit`, reused). Sampled critic (the sampler of
Agarwal et al.'s Algorithm for Q-NPG, as recalled): (s, a) ~ d^π_ν by a rollout from ν stopped w.p. 1 − γ after every
step, then an unbiased Q̂(s, a) = the undiscounted sum of rewards of a rollout from (s, a) continued w.p. γ after every
step (including the first reward), and w = the least-squares fit of Q̂ on φ over the n samples
(:func:`sample_visitation_q_estimates`). With one-hot features and a full-support d, w = Q^π and the step is the
tabular softmax NPG step θ ← θ + ηQ^π = θ + ηA^π + per-state constants, i.e. the ``exact_npg`` step of
:mod:`pgtheory.optim.algorithms` with step η(1 − γ) (which moves by η'A^π/(1 − γ)).

What could and could not be verified here (2026-11-30): the public abstracts of Yuan, Du, Gower, Lazaric & Xiao
(ICLR 2023, "Linear convergence of natural policy gradient methods with log-linear policies") and of a companion
ICLR 2023 submission confirm that Q-NPG is an NPG variant for the log-linear class whose critic is a linear fit of
Q^π (compatible function approximation); the precise update above, the choice d^π_ν with a *state-action* ν, the
section numbers and the rollout sampler of Agarwal et al. are recalled from the paper, **not verified** against its
body (the body was not readable through the search tools). LSTD-Q's per-transition statistics match public LSPI
implementations (A += φ(φ − γφ(s', π(s')))ᵀ, b += φr; e.g. the LSTDQ classes indexed by the code search); LSPI's
fixed-sample loop is as summarised in public notes on Lagoudakis & Parr (2003). No code was copied.
"""
from __future__ import annotations

from typing import NamedTuple

import torch

from .._checks import DTYPE, as_tensor, check_discount, check_finite, check_positive_int, check_probabilities, check_real
from ..estimators.linear_td import lstd_solve
from ..exact.evaluation import evaluate_policy
from ..exact.linear_evaluation import (LinearEvaluation, best_linear_fit, pair_distribution, projected_bellman_residual,
                                       state_action_visitation, td_fixed_point)
from ..exact.solvers import greedy_policy
from ..policies.tabular import LogLinearSoftmax
from ..problems.linear_mdp import tabular_form
from ..problems.mdp import TabularMDP
from ..sampling.transitions import TransitionStream, sample_visitation_q_estimates
from .linear_mdvi import weighted_least_squares

__all__ = ["LSTD_Q_TARGETS", "GREEDY_TIE_RTOL", "LSTDQStatistics", "LSPIResult", "LSVIResult", "QNPGResult",
           "uniform_pair_weights", "greedy_improvement", "lstdq_expected_statistics", "lstdq_exact", "lstdq_statistics",
           "lstdq_sampled", "lspi_exact", "lspi_sampled", "lsvi_exact", "lsvi_sampled", "q_npg_exact", "q_npg_sampled"]

#: the next-feature choices of the sampled LSTD-Q statistics (module docstring).
LSTD_Q_TARGETS = ("expected", "sampled")

#: greedy improvement keeps the current action when its value is within this relative tolerance of the maximum —
#: the tie rule of :func:`pgtheory.exact.solvers.policy_iteration`, so that LSPI on one-hot features cannot cycle on ties.
GREEDY_TIE_RTOL = 1e-12


class LSTDQStatistics(NamedTuple):
    """Per-transition means of the LSTD-Q statistics and their solution (batch shape ``B``)."""

    A: torch.Tensor  #: Â = mean φ(φ − γψ)ᵀ, [*B, d, d]
    b: torch.Tensor  #: b̂ = mean φ r, [*B, d]
    w: torch.Tensor  #: Â⁻¹b̂, [*B, d]


class LSPIResult(NamedTuple):
    """LSPI's iterates (exact: no batch; sampled: a leading run dimension R)."""

    policies: torch.Tensor  #: π_0, …, π_K, [K+1, (R,) S, A] (stable runs repeat their last policy)
    weights: torch.Tensor  #: w_k = LSTD-Q(π_k), k = 0..K−1, [K, (R,) d]
    #: per run, the LSTD-Q evaluations up to the one whose greedy policy repeated (k + 1 for the first k with
    #: π_{k+1} = π_k: policy_iteration's count), or K if none; int64 [(R,)]
    iterations: torch.Tensor
    converged: torch.Tensor  #: per run, whether a fixed policy was reached within the cap, bool [(R,)]


class LSVIResult(NamedTuple):
    """LSVI's iterates (exact: no batch; sampled: a leading run dimension R)."""

    weights: torch.Tensor  #: w_1, …, w_K, [K, (R,) d]
    q: torch.Tensor  #: Φw_K, [(R,) S, A]
    policy: torch.Tensor  #: greedy(Φw_K) (lowest index on ties), [(R,) S, A]


class QNPGResult(NamedTuple):
    """Q-NPG's iterates (batch shape ``B`` of θ_0; the sampled version has a leading run dimension R)."""

    theta: torch.Tensor  #: θ_0, …, θ_T, [T+1, *B, d]
    critic: torch.Tensor  #: w_0, …, w_{T−1}, [T, *B, d]
    objective: torch.Tensor  #: J(π_{θ_t}) = ρᵀV^{π_t} (exact, for reporting), [T+1, *B]
    critic_error: torch.Tensor  #: ‖Φw_t − Q^{π_t}‖ in L2(d^{π_t}_ν) (exact, for reporting), [T, *B]
    samples: torch.Tensor  #: environment steps used per run (0 for the exact critic), int64 [*B]


# ----------------------------------------------------------------------------------------------------------------
# input checks
# ----------------------------------------------------------------------------------------------------------------
def _mdp(mdp) -> TabularMDP:
    return tabular_form(mdp, "mdp")


def _features(features, S: int, A: int, device) -> torch.Tensor:
    phi = check_finite(as_tensor(features, "features", device=device), "features")
    if phi.ndim != 3 or tuple(phi.shape[:2]) != (S, A) or phi.shape[2] == 0:
        raise ValueError(f"features: expected shape [S, A, d] = [{S}, {A}, d] with d >= 1, got {tuple(phi.shape)}")
    return phi


def _policy(pi, S: int, A: int, device, name: str = "pi") -> torch.Tensor:
    p = as_tensor(pi, name, device=device)
    if p.ndim < 2 or tuple(p.shape[-2:]) != (S, A):
        raise ValueError(f"{name}: expected shape [..., S, A] = [..., {S}, {A}], got {tuple(p.shape)}")
    return check_probabilities(p, name, atol=1e-6)


def _pair_weights(weights, S: int, A: int, device, name: str = "weights") -> torch.Tensor:
    """A distribution over the pairs as ``[S, A]`` (default: uniform)."""
    return pair_distribution(weights, S, A, device, name)


def _stream_features(features) -> torch.Tensor:
    phi = check_finite(as_tensor(features, "features"), "features")
    if phi.ndim != 3 or 0 in phi.shape:
        raise ValueError(f"features: expected shape [S, A, d] with all sizes >= 1, got {tuple(phi.shape)}")
    return phi


def _stream(stream, S: int, A: int) -> TransitionStream:
    if not isinstance(stream, TransitionStream):
        raise TypeError(f"stream: expected a TransitionStream (sampling.transitions), got {type(stream).__name__}")
    pair, nxt, rew = stream
    if pair.shape != nxt.shape or pair.shape != rew.shape or pair.ndim < 1 or pair.shape[-1] == 0:
        raise ValueError(f"stream: pair, next_pair and reward must share a shape [..., n] with n >= 1, got "
                         f"{tuple(pair.shape)}, {tuple(nxt.shape)}, {tuple(rew.shape)}")
    if pair.dtype != torch.int64 or nxt.dtype != torch.int64:
        raise TypeError("stream: pair and next_pair must be int64 flat indices sA + a")
    if bool((pair < 0).any() | (pair >= S * A).any() | (nxt < 0).any() | (nxt >= S * A).any()):
        raise ValueError(f"stream: pair indices must lie in [0, S·A) = [0, {S * A})")
    check_finite(rew, "stream.reward")
    return stream


def _run_batches(stream, features, discount) -> tuple[float, torch.Tensor, TransitionStream]:
    """(γ, features [S, A, d], stream) checked for the per-run solvers: one batch of transitions per run, ``[R, n]``."""
    gamma = check_discount(discount, "discount")
    phi = _stream_features(features)
    stream = _stream(stream, phi.shape[0], phi.shape[1])
    if stream.pair.ndim != 2:
        raise ValueError(f"stream: expected [R, n] tensors (one batch per run), got shape {tuple(stream.pair.shape)}")
    return gamma, phi, stream


def uniform_pair_weights(n_states: int, n_actions: int, *, device=None) -> torch.Tensor:
    """The uniform distribution over the S·A pairs, ``[S, A]`` (the default data weighting D of this module)."""
    S = check_positive_int(n_states, "n_states")
    A = check_positive_int(n_actions, "n_actions")
    return torch.full((S, A), 1.0 / (S * A), dtype=DTYPE, device=device)


def greedy_improvement(q: torch.Tensor, current: torch.Tensor | None = None) -> torch.Tensor:
    r"""The greedy policy of ``q [..., S, A]``, keeping ``current``'s action where it is deterministic and within
    :data:`GREEDY_TIE_RTOL` (relative) of the maximum (the tie rule of :func:`~pgtheory.exact.solvers.policy_iteration`);
    elsewhere the lowest maximising index. Returns one-hot ``[..., S, A]``."""
    new = greedy_policy(q)
    if current is None:
        return new
    best = q.amax(-1, keepdim=True)
    keep = ((q * current).sum(-1, keepdim=True) >= best - GREEDY_TIE_RTOL * (1 + best.abs())) & \
        (current.amax(-1, keepdim=True) == 1)
    return torch.where(keep, current.to(q.dtype), new)


# ----------------------------------------------------------------------------------------------------------------
# LSTD-Q
# ----------------------------------------------------------------------------------------------------------------
def lstdq_expected_statistics(mdp, pi, features, weights=None) -> tuple[torch.Tensor, torch.Tensor]:
    r"""The exact expectations of the per-transition LSTD-Q statistics under pairs i.i.d. from D:
    :math:`A = \Phi^\top D(\Phi - \gamma P_\pi\Phi)` ``[d, d]`` and :math:`b = \Phi^\top D r` ``[d]``.

    ``pi [S, A]``, ``features [S, A, d]``, ``weights`` D ``[S, A]`` (default uniform). Read off the public
    :func:`~pgtheory.exact.linear_evaluation.projected_bellman_residual` (b − Aw at w = 0 and at the unit vectors).
    """
    mdp = _mdp(mdp)
    S, A = mdp.n_states, mdp.n_actions
    phi = _features(features, S, A, mdp.device)
    p = _policy(pi, S, A, mdp.device)
    if p.ndim != 2:
        raise ValueError(f"pi: expected one policy [S, A], got shape {tuple(p.shape)}")
    D = _pair_weights(weights, S, A, mdp.device)
    d = phi.shape[-1]
    basis = torch.cat([torch.zeros(1, d, dtype=DTYPE, device=mdp.device), torch.eye(d, dtype=DTYPE, device=mdp.device)])
    res = projected_bellman_residual(mdp, p, phi, basis, weights=D)  # row j+1: b − A e_j
    return (res[0].unsqueeze(0) - res[1:]).T, res[0]


def lstdq_exact(mdp, pi, features, weights=None) -> LinearEvaluation:
    r"""The exact LSTD-Q fixed point :math:`\Phi w = \Pi_D T^\pi\Phi w` under the data weighting D (``weights [S, A]``,
    default uniform over the pairs): :func:`~pgtheory.exact.linear_evaluation.td_fixed_point` with λ = 0.

    ``pi [..., S, A]``, ``features [S, A, d]``. Returns a :class:`~pgtheory.exact.linear_evaluation.LinearEvaluation`
    (``w [..., d]``, the fit Φw and its errors to Q^π). Raises ``ValueError`` if A is singular.
    """
    mdp = _mdp(mdp)
    S, A = mdp.n_states, mdp.n_actions
    phi = _features(features, S, A, mdp.device)
    p = _policy(pi, S, A, mdp.device)
    D = _pair_weights(weights, S, A, mdp.device)
    return td_fixed_point(mdp, p, phi, weights=D, lam=0.0)


def _next_features(stream: TransitionStream, phi: torch.Tensor, pi: torch.Tensor | None, target: str) -> torch.Tensor:
    """ψ_i [*B, n, d]: Σ_a' π(a'|s'_i)φ(s'_i, a') (``expected``, ``pi [*B, S, A]`` or [S, A]) or φ(next_pair_i) (``sampled``)."""
    S, A, d = phi.shape
    flat = phi.reshape(S * A, d)
    if target == "sampled":
        return flat[stream.next_pair]
    phi_pi = torch.einsum("...sa,sad->...sd", pi, phi)  # [*Bπ, S, d]
    s_next = torch.div(stream.next_pair, A, rounding_mode="floor")  # [*B, n]
    if phi_pi.ndim == 2:
        return phi_pi[s_next]
    batch = torch.broadcast_shapes(phi_pi.shape[:-2], s_next.shape[:-1])
    idx = s_next.expand(*batch, s_next.shape[-1]).unsqueeze(-1).expand(*batch, s_next.shape[-1], d)
    return torch.gather(phi_pi.expand(*batch, S, d), -2, idx)


def _check_target(target) -> str:
    if target not in LSTD_Q_TARGETS:
        raise ValueError(f"target: expected one of {LSTD_Q_TARGETS}, got {target!r}")
    return target


def lstdq_statistics(stream: TransitionStream, features, pi, discount: float, *, target: str = "expected",
                     ridge: float = 0.0) -> LSTDQStatistics:
    r"""Sampled LSTD-Q: :math:`\hat A = \frac1n\sum_i\phi_i(\phi_i - \gamma\psi_i)^\top`, :math:`\hat b = \frac1n\sum_i
    \phi_i r_i` and :math:`\hat w = (\hat A + \kappa I)^{-1}\hat b` from a stream of transitions.

    ``stream``: a :class:`~pgtheory.sampling.transitions.TransitionStream` of ``[*B, n]`` tensors (pairs i.i.d. from
    D, s' ~ P, a' ~ the stream's policy, rewards); ``features [S, A, d]``; ``pi [S, A]`` or ``[*B, S, A]`` the evaluated
    policy (ignored for ``target="sampled"``, which uses the stream's a'); ``discount`` γ ∈ [0, 1) (explicit: the
    stream does not carry it); ``ridge`` κ ≥ 0 added to Â (a *mean*, so κ is per transition). E[Â], E[b̂] =
    :func:`lstdq_expected_statistics` with D the stream's pair distribution. Raises ``ValueError`` if Â + κI is singular.
    """
    target = _check_target(target)
    gamma = check_discount(discount, "discount")
    phi = _stream_features(features)
    S, A, d = phi.shape
    stream = _stream(stream, S, A)
    p = _policy(pi, S, A, phi.device) if target == "expected" else None
    if p is not None and p.ndim > 2:
        try:
            torch.broadcast_shapes(p.shape[:-2], stream.pair.shape[:-1])
        except RuntimeError as exc:
            raise ValueError(f"pi: batch shape {tuple(p.shape[:-2])} does not broadcast with the stream's "
                             f"{tuple(stream.pair.shape[:-1])}") from exc
    f = phi.reshape(S * A, d)[stream.pair]  # [*B, n, d]
    psi = _next_features(stream, phi, p, target)
    n = stream.pair.shape[-1]
    Ahat = torch.einsum("...ni,...nj->...ij", f, f - gamma * psi) / n
    bhat = (f * stream.reward.unsqueeze(-1)).sum(-2) / n
    return LSTDQStatistics(Ahat, bhat, lstd_solve(Ahat, bhat, ridge))


def lstdq_sampled(stream: TransitionStream, features, pi, discount: float, *, target: str = "expected",
                  ridge: float = 0.0) -> torch.Tensor:
    """The sampled LSTD-Q weights ŵ = (Â + κI)⁻¹b̂, ``[*B, d]`` (:func:`lstdq_statistics`)."""
    return lstdq_statistics(stream, features, pi, discount, target=target, ridge=ridge).w


# ----------------------------------------------------------------------------------------------------------------
# LSPI
# ----------------------------------------------------------------------------------------------------------------
def _initial_policy(initial_policy, S: int, A: int, device, batch: tuple[int, ...] = ()) -> torch.Tensor:
    if initial_policy is None:
        return torch.full((*batch, S, A), 1.0 / A, dtype=DTYPE, device=device)
    p = _policy(initial_policy, S, A, device, "initial_policy")
    if p.ndim != 2:
        raise ValueError(f"initial_policy: expected one policy [S, A], got shape {tuple(p.shape)}")
    return p.expand(*batch, S, A).clone()


def _lspi_loop(evaluate, pi0: torch.Tensor, phi: torch.Tensor, K: int) -> LSPIResult:
    """π_{k+1} = greedy_improvement(Φ w_k, π_k), w_k = evaluate(π_k); stops when every run is stable or after K."""
    policies, weights = [pi0], []
    batch = pi0.shape[:-2]
    iterations = torch.full(batch, K, dtype=torch.int64, device=pi0.device)
    converged = torch.zeros(batch, dtype=torch.bool, device=pi0.device)
    pi = pi0
    for k in range(K):
        w = evaluate(pi)
        new = greedy_improvement(torch.einsum("sad,...d->...sa", phi, w), pi)
        weights.append(w)
        policies.append(new)
        stable = (new == pi).all(-1).all(-1)
        iterations = torch.where(stable & ~converged, torch.full_like(iterations, k + 1), iterations)
        converged = converged | stable
        pi = new
        if bool(converged.all()):
            break
    return LSPIResult(torch.stack(policies), torch.stack(weights), iterations, converged)


def lspi_exact(mdp, features, *, weights=None, initial_policy=None, max_iterations: int = 100) -> LSPIResult:
    r"""LSPI with exact LSTD-Q under a fixed data weighting D (``weights [S, A]``, default uniform over the pairs).

    π_0 = ``initial_policy [S, A]`` (default uniform), then π_{k+1} = greedy(Φ w_k) with
    w_k = :func:`lstdq_exact` (π_k), until π_{k+1} = π_k (``converged``) or ``max_iterations`` evaluations (LSPI may
    oscillate: Lagoudakis & Parr 2003, §5). Returns an :class:`LSPIResult` without run dimension. On one-hot features
    and full-support D the sequence is Howard's policy iteration (:func:`~pgtheory.exact.solvers.policy_iteration`).
    """
    mdp = _mdp(mdp)
    S, A = mdp.n_states, mdp.n_actions
    phi = _features(features, S, A, mdp.device)
    D = _pair_weights(weights, S, A, mdp.device)
    K = check_positive_int(max_iterations, "max_iterations")
    pi0 = _initial_policy(initial_policy, S, A, mdp.device)
    return _lspi_loop(lambda pi: td_fixed_point(mdp, pi, phi, weights=D, lam=0.0).w, pi0, phi, K)


def lspi_sampled(stream: TransitionStream, features, discount: float, *, initial_policy=None, max_iterations: int = 100,
                 ridge: float = 0.0) -> LSPIResult:
    r"""LSPI on one fixed batch of transitions per run (Lagoudakis & Parr 2003): each iteration re-solves LSTD-Q on the
    same data with ``target="expected"`` (only (s, a, r, s') is used; the stream's a' is ignored).

    ``stream``: ``[R, n]`` tensors (R independent runs); ``features [S, A, d]``; ``discount`` γ; ``initial_policy
    [S, A]`` (default uniform); ``ridge`` κ of :func:`lstdq_statistics`. Returns an :class:`LSPIResult` with run
    dimension R (runs that stabilise early repeat their policy; the loop stops when all are stable).
    """
    gamma, phi, stream = _run_batches(stream, features, discount)
    S, A, _ = phi.shape
    K = check_positive_int(max_iterations, "max_iterations")
    kappa = check_real(ridge, "ridge", low=0.0)
    pi0 = _initial_policy(initial_policy, S, A, phi.device, (stream.pair.shape[0],))
    return _lspi_loop(lambda pi: lstdq_statistics(stream, phi, pi, gamma, ridge=kappa).w, pi0, phi, K)


# ----------------------------------------------------------------------------------------------------------------
# LSVI
# ----------------------------------------------------------------------------------------------------------------
def _initial_weights(initial_weights, d: int, batch: tuple[int, ...], device) -> torch.Tensor:
    if initial_weights is None:
        return torch.zeros(*batch, d, dtype=DTYPE, device=device)
    w = check_finite(as_tensor(initial_weights, "initial_weights", device=device), "initial_weights")
    if tuple(w.shape) != (d,):
        raise ValueError(f"initial_weights: expected shape [d] = [{d}], got {tuple(w.shape)}")
    return w.expand(*batch, d).clone()


def lsvi_exact(mdp, features, iterations: int, *, weights=None, initial_weights=None) -> LSVIResult:
    r"""Least-squares value iteration with exact expectations: :math:`w_{k+1} = \arg\min_w \|\Phi w - (r + \gamma P
    \max_{a'}\Phi w_k)\|_D^2` for k = 0..K−1 (``weights`` D ``[S, A]``, default uniform; ``initial_weights`` w_0
    ``[d]``, default 0). Solved by :func:`~pgtheory.optim.linear_mdvi.weighted_least_squares` (raises ``ValueError`` if
    the pairs with D > 0 do not span R^d). Returns an :class:`LSVIResult` without run dimension.
    """
    mdp = _mdp(mdp)
    S, A = mdp.n_states, mdp.n_actions
    phi = _features(features, S, A, mdp.device)
    D = _pair_weights(weights, S, A, mdp.device).reshape(1, S * A)
    K = check_positive_int(iterations, "iterations")
    d = phi.shape[-1]
    Phi = phi.reshape(S * A, d)
    P = mdp.transitions.reshape(S * A, S)
    r = mdp.rewards.reshape(S * A)
    w = _initial_weights(initial_weights, d, (), mdp.device)
    out = []
    for _ in range(K):
        v = (Phi @ w).reshape(S, A).amax(-1)
        w = weighted_least_squares(Phi, (r + mdp.discount * P @ v).unsqueeze(0), D)[0]
        out.append(w)
    q = (Phi @ w).reshape(S, A)
    return LSVIResult(torch.stack(out), q, greedy_policy(q))


def _pair_means(pair: torch.Tensor, values: torch.Tensor, n_pairs: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Per run: counts [R, n_pairs] and the mean of ``values [R, n]`` over the samples of each pair (0 if none)."""
    R = pair.shape[0]
    counts = torch.zeros(R, n_pairs, dtype=DTYPE, device=pair.device).scatter_add_(1, pair, torch.ones_like(values))
    sums = torch.zeros(R, n_pairs, dtype=DTYPE, device=pair.device).scatter_add_(1, pair, values)
    return counts, torch.where(counts > 0, sums / counts.clamp_min(1.0), torch.zeros_like(sums))


def lsvi_sampled(stream: TransitionStream, features, discount: float, iterations: int, *,
                 initial_weights=None) -> LSVIResult:
    r"""Linear fitted Q-iteration on one fixed batch per run: :math:`w_{k+1} = \arg\min_w\sum_i(\phi_i^\top w - y_{k,i})^2`,
    :math:`y_{k,i} = r_i + \gamma\max_{a'}\phi(s'_i, a')^\top w_k` (the stream's a' is ignored).

    ``stream``: ``[R, n]`` tensors; ``features [S, A, d]``; ``discount`` γ; ``iterations`` K. The regression is
    computed from per-pair sample means weighted by the counts (the same minimiser). Raises ``ValueError`` if the
    sampled pairs of some run do not span R^d. Returns an :class:`LSVIResult` with run dimension R.
    """
    gamma, phi, stream = _run_batches(stream, features, discount)
    S, A, d = phi.shape
    K = check_positive_int(iterations, "iterations")
    R = stream.pair.shape[0]
    Phi = phi.reshape(S * A, d)
    s_next = torch.div(stream.next_pair, A, rounding_mode="floor")
    w = _initial_weights(initial_weights, d, (R,), phi.device)
    out = []
    for _ in range(K):
        v = torch.einsum("sad,rd->rsa", phi, w).amax(-1)  # [R, S]
        y = stream.reward + gamma * torch.gather(v, 1, s_next)
        counts, ybar = _pair_means(stream.pair, y, S * A)
        w = weighted_least_squares(Phi, ybar, counts)
        out.append(w)
    q = torch.einsum("sad,rd->rsa", phi, w)
    return LSVIResult(torch.stack(out), q, greedy_policy(q))


# ----------------------------------------------------------------------------------------------------------------
# Q-NPG
# ----------------------------------------------------------------------------------------------------------------
def _check_theta(theta0, d: int, device) -> torch.Tensor:
    th = check_finite(as_tensor(theta0, "theta0", device=device), "theta0")
    if th.ndim < 1 or th.shape[-1] != d:
        raise ValueError(f"theta0: expected shape [..., d] = [..., {d}], got {tuple(th.shape)}")
    return th


def _report(mdp: TabularMDP, phi: torch.Tensor, pi: torch.Tensor, w: torch.Tensor, D: torch.Tensor):
    """(J(π), ‖Φw − Q^π‖_D) for reporting."""
    ev = evaluate_policy(mdp, pi)
    diff = torch.einsum("sad,...d->...sa", phi, w) - ev.q
    return ev.objective, (D * diff * diff).sum((-2, -1)).sqrt()


def q_npg_exact(mdp, features, theta0, *, step_size: float, iterations: int, start=None) -> QNPGResult:
    r"""Q-NPG with the exact critic: θ_{t+1} = θ_t + η w_t, :math:`w_t = \arg\min_w\|\Phi w - Q^{\pi_t}\|^2_{d^{\pi_t}_\nu}`.

    ``features [S, A, d]`` (of the log-linear policy and of the critic); ``theta0 [..., d]`` (batched runs);
    ``step_size`` η > 0; ``iterations`` T; ``start`` ν ``[S, A]`` (default uniform over the pairs). The critic is
    :func:`~pgtheory.exact.linear_evaluation.best_linear_fit` with ``weights`` = :func:`state_action_visitation`
    (raises ``ValueError`` if the features are dependent on its support). Returns a :class:`QNPGResult`.
    """
    mdp = _mdp(mdp)
    S, A = mdp.n_states, mdp.n_actions
    phi = _features(features, S, A, mdp.device)
    policy = LogLinearSoftmax(phi)
    theta = _check_theta(theta0, phi.shape[-1], mdp.device)
    eta = check_real(step_size, "step_size", low=0.0, low_open=True)
    T = check_positive_int(iterations, "iterations")
    _pair_weights(start, S, A, mdp.device, "start")
    thetas, critics, objs, errs = [theta], [], [], []
    for _ in range(T):
        pi = policy.probs(theta)
        D = state_action_visitation(mdp, pi, start)
        fit = best_linear_fit(mdp, pi, phi, weights=D)
        thetas.append(theta + eta * fit.w)
        critics.append(fit.w)
        objs.append(evaluate_policy(mdp, pi).objective)
        errs.append(fit.error)
        theta = thetas[-1]
    objs.append(evaluate_policy(mdp, policy.probs(theta)).objective)
    samples = torch.zeros(theta.shape[:-1], dtype=torch.int64, device=mdp.device)
    return QNPGResult(torch.stack(thetas), torch.stack(critics), torch.stack(objs), torch.stack(errs), samples)


def q_npg_sampled(mdp, features, theta0, generator: torch.Generator, *, step_size: float, iterations: int,
                  samples_per_iteration: int, runs: int, start=None, ridge: float = 0.0) -> QNPGResult:
    r"""Q-NPG with a sampled critic, R runs batched: at every iteration, n = ``samples_per_iteration`` pairs
    (s, a) ~ d^{π_t}_ν with unbiased Q̂ (:func:`sample_visitation_q_estimates`) and w_t the least-squares fit
    :math:`\arg\min_w\sum_i(\phi_i^\top w - \hat Q_i)^2 + \kappa n\|w\|^2` (``ridge`` κ ≥ 0; κ = 0 raises ``ValueError``
    when the sampled pairs do not span R^d).

    ``theta0 [d]`` (shared start) or ``[R, d]``; other arguments as :func:`q_npg_exact`. ``objective`` and
    ``critic_error`` are exact (for reporting; the algorithm does not use them); ``samples`` counts simulated steps.
    """
    mdp = _mdp(mdp)
    S, A = mdp.n_states, mdp.n_actions
    phi = _features(features, S, A, mdp.device)
    d = phi.shape[-1]
    policy = LogLinearSoftmax(phi)
    R = check_positive_int(runs, "runs")
    theta = _check_theta(theta0, d, mdp.device)
    if theta.ndim == 1:
        theta = theta.expand(R, d).clone()
    elif tuple(theta.shape) != (R, d):
        raise ValueError(f"theta0: expected shape [d] or [R, d] = [{R}, {d}], got {tuple(theta.shape)}")
    eta = check_real(step_size, "step_size", low=0.0, low_open=True)
    T = check_positive_int(iterations, "iterations")
    n = check_positive_int(samples_per_iteration, "samples_per_iteration")
    kappa = check_real(ridge, "ridge", low=0.0)
    _pair_weights(start, S, A, mdp.device, "start")
    Phi = phi.reshape(S * A, d)
    eye = torch.eye(d, dtype=DTYPE, device=mdp.device)
    thetas, critics, objs, errs = [theta], [], [], []
    total = torch.zeros(R, dtype=torch.int64, device=mdp.device)
    for _ in range(T):
        pi = policy.probs(theta)
        pairs, q_hat, steps = sample_visitation_q_estimates(mdp, pi, n, generator, start=start)
        total += steps
        counts, qbar = _pair_means(pairs, q_hat, S * A)
        if kappa > 0:
            G = torch.einsum("ni,rn,nj->rij", Phi, counts, Phi) + kappa * n * eye
            w = torch.linalg.solve(G, torch.einsum("ni,rn->ri", Phi, counts * qbar))
        else:
            w = weighted_least_squares(Phi, qbar, counts)
        J, err = _report(mdp, phi, pi, w, state_action_visitation(mdp, pi, start))
        thetas.append(theta + eta * w)
        critics.append(w)
        objs.append(J)
        errs.append(err)
        theta = thetas[-1]
    objs.append(evaluate_policy(mdp, policy.probs(theta)).objective)
    return QNPGResult(torch.stack(thetas), torch.stack(critics), torch.stack(objs), torch.stack(errs), total)
