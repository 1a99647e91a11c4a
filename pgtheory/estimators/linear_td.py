r"""Sampled linear policy evaluation of Q^π: LSTD(λ) sufficient statistics (one, per-episode, batched over feature
sets), their streaming accumulation, and the gradient-TD iterations GTD2 and TDC.

Ground truth: :func:`~pgtheory.exact.linear_evaluation.td_fixed_point` (issue 13, item 2, exact part).

Setting. A batch of trajectories (:class:`~pgtheory.sampling.Trajectories`, flat step-major), state-action features
:math:`\phi(s,a)\in\mathbb R^d` (``features [S, A, d]``, row index ``sA + a`` when flattened), a target policy π
(``pi [S, A]``) and the behaviour μ that drew the actions (recorded as ``traj.log_behaviour``; μ = π on-policy).

The statistics. For one episode with transitions t = 0, 1, …

.. math:: A = \sum_t \omega_t\, z_t\,(\phi_t - \beta\,\bar\phi_{t+1})^\top,\qquad b = \sum_t \omega_t\, z_t\, r_t,
          \qquad z_t = c\,\rho_t\, z_{t-1} + \phi_t\ \ (z_{-1} = 0:\ \text{reset at every episode start}),

with :math:`\phi_t = \phi(s_t, a_t)`, the importance ratio :math:`\rho_t = \pi(a_t|s_t)/\mu(a_t|s_t)` (1 on-policy) and
the next-state feature :math:`\bar\phi_{t+1} = 0` when the episode ends after step t, else

* ``target="expected"`` (the default; expected SARSA): :math:`\bar\phi_{t+1} = \Phi_\pi(s_{t+1}) =
  \sum_{a'}\pi(a'|s_{t+1})\,\phi(s_{t+1}, a')` — no sampled next action, no ratio, lowest variance;
* ``target="sarsa"``: :math:`\bar\phi_{t+1} = \rho_{t+1}\,\phi(s_{t+1}, a_{t+1})`, the *next transition's* action in
  the same episode (ρ_{t+1} = 1 on-policy; off-policy it makes the sampled target unbiased for the expected one).

Which γ goes where (the derivation). Let q be the probability that an episode survives a step — q = ``traj.discount``
under ``termination="geometric"`` (the sampler continues w.p. γ after every step, independently of the chain), q = 1
under ``"truncate"`` — and γ the discount being evaluated (``gamma``, default ``traj.discount``). The pair (s_t, a_t)
is alive and distributed as μ's chain with probability q^t, and the next state is observed only on survival, so
:math:`\mathbb E[\mathbf 1\{\text{survive}\}\bar\phi_{t+1}\mid s_t,a_t] = q\,(P_\pi\Phi)(s_t,a_t)`. Summing the pairs
k ≤ t of one episode, :math:`\mathbb E[\phi_k\,\rho_{k+1}\cdots\rho_t\,\delta_t] = \Phi^\top\mathrm{diag}(\Pr_\mu[(s_k,
a_k)=\cdot])\,P_\pi^{t-k}\bar\delta` (the ratios turn μ's actions a_{k+1..t} into π's; Precup, Sutton & Singh 2000),
hence

.. math:: \mathbb E[A] = \sum_{k\ge0}\sum_{j\ge0}\omega_{k+j}\,q^{k+j}c^j\,\Phi^\top\mathrm{diag}(\mu_k)P_\pi^j
          (\Phi - \beta q P_\pi\Phi),

which equals the exact LSTD(λ) system of :func:`~pgtheory.exact.linear_evaluation.td_fixed_point` (weighting D_μ =
the normalised discounted occupancy of μ, :func:`~pgtheory.exact.evaluation.state_action_occupancy`) times
1/(1 − γ),

.. math:: \mathbb E[A] = \tfrac{1}{1-\gamma}\,\Phi^\top D_\mu(I-\gamma\lambda P_\pi)^{-1}(\Phi-\gamma P_\pi\Phi)
          = \tfrac{1}{1-\gamma}\,\Phi^\top D_\mu(\Phi-\gamma P^{(\lambda)}\Phi),\qquad
          \mathbb E[b] = \tfrac{1}{1-\gamma}\,\Phi^\top D_\mu\, r^{(\lambda)},

exactly when :math:`\omega_t q^t = \gamma^t`, :math:`\beta q = \gamma` and :math:`c = \lambda`, i.e.

* **geometric termination** (q = γ): ω_t = 1, β = 1, c = λ — *no γ appears at all*: the termination supplies every
  factor γ, :math:`A = \sum_t z_t(\phi_t - \bar\phi_{t+1})^\top`, :math:`z_t = \lambda\rho_t z_{t-1} + \phi_t`,
  :math:`\bar\phi_{t+1} = 0` at the end. This is unbiased, per episode, with :math:`\mathbb E[n_{\rm transitions}] =
  1/(1-\gamma)`. The textbook form (β = γ, trace decay γλ) applied to geometric episodes counts γ twice: it
  estimates the system of discount γ² with traces γ²λ (the *wrong-γ twin* of the tests).
* **truncated horizon** H (q = 1, ``weights`` γ^t): ω_t = γ^t, β = γ, c = λ (equivalently, the textbook trace
  :math:`\tilde z_t = \gamma\lambda\tilde z_{t-1} + \gamma^t\phi_t` with unweighted TD errors). The last step has no
  stored next state and is dropped, so the sums stop at t = H − 2: bias O(γ^{H−1}) relative. Geometric termination
  is the clean match (exact, and every step costs the same) and is the default of the sampler.

For ``gamma`` < q (geometric), ω_t = (γ/q)^t and β = γ/q evaluate a smaller discount from the same episodes. The same
g = 1 (geometric) / γ (truncate) convention is used by the one-hot V critic of
:mod:`~pgtheory.estimators.critic` (its trace decay gλ = λ under geometric termination).

Consequences: the per-episode statistics are unbiased for :func:`expected_lstd_statistics`, and the LSTD solution
:math:`\hat w = A^{-1}b` of N episodes converges (a ratio of means, bias O(1/N)) to ``td_fixed_point(mdp, π, Φ,
weights=D_μ, lam).w``; with one-hot features to :math:`Q^\pi` itself. Off-policy with λ > 0, the ratio products in
the traces can have a large (even infinite) variance — unbiased, not necessarily useful.

Two implementations, cross-checked in the tests:

* ``method="counts"`` (:func:`td_counts`): feature-free tabular sufficient statistics — F [SA, SA], G [SA, S] (or
  [SA, SA] for SARSA), r [SA] — accumulated over the pairs k ≤ t of every episode, then
  :math:`A = \Phi^\top F\Phi - \Phi^\top G\Psi`, :math:`b = \Phi^\top r` for any number of feature sets at once
  (:func:`lstd_statistics_batched`; Ψ = Φ_π or Φ). For λ = 0 F is diagonal and everything is a bincount, O(M).
* ``method="features"``: per-transition features and a backward scan of :math:`\omega_t(\phi_t-\beta\bar\phi_{t+1},
  r_t)` along the episode (:func:`linked_backward_recursion`); gives the per-episode form ``[N, d, d]``.

Gradient TD (Sutton, Maei, Precup, Bhatnagar, Silver, Szepesvári & Wiewiora 2009, "Fast gradient-descent methods for
temporal-difference learning with linear function approximation"; λ = 0): with the per-transition means
:math:`\bar A = \overline{\omega\,\phi(\phi-\beta\bar\phi)^\top}`, :math:`\bar b = \overline{\omega\,\phi r}`,
:math:`\bar C = \overline{\omega\,\phi\phi^\top}` of a mini-batch (or of the whole batch),

.. math:: \text{GTD2:}\ \ \theta \mathrel{+}= \alpha\,\bar A^\top w,\qquad
          \text{TDC:}\ \ \theta \mathrel{+}= \alpha\,\big(\bar b - \bar A\theta - (\bar C-\bar A)^\top w\big),\qquad
          \text{both:}\ \ w \mathrel{+}= \beta_w(\bar b - \bar A\theta - \bar C w),

(:math:`(\bar C-\bar A)^\top w` is the paper's :math:`\gamma\phi'(\phi^\top w)` term). Their common fixed point is
w = 0, θ = Ā⁻¹b̄: the batch LSTD(0) solution. Registered in :data:`GRADIENT_TD` with the semi-gradient linear TD(0)
(``"td"``: θ += α(b̄ − Āθ)), which diverges off-policy where Ā has an eigenvalue of negative real part (Sutton &
Barto 2018, §11.2, the "w → 2w" example) while GTD2 and TDC still converge.
"""
from __future__ import annotations

import math
from typing import Any, Callable, NamedTuple

import torch

from .._checks import (as_tensor, check_discount, check_finite, check_finite_result, check_positive_int,
                       check_probabilities, check_real)
from .._registry import Registry
from ..exact.evaluation import state_action_occupancy
from ..exact.linear_evaluation import SINGULAR_RCOND, projected_bellman_residual
from ..problems.mdp import TabularMDP
from ..sampling.mdp import DEFAULT_MEMORY_BUDGET, Trajectories, TrajectorySampler
from ..stats.moments import MomentAccumulator
from .policy_gradient import check_trajectories

__all__ = [
    "polyak_averaging_start",
    "TD_TARGETS",
    "STATISTICS_METHODS",
    "COUNTS_MAX_ENTRIES",
    "GRADIENT_TD",
    "TDTransitions",
    "TDCounts",
    "TDFeatures",
    "LSTDStatistics",
    "GradientTDResult",
    "linked_backward_recursion",
    "td_transitions",
    "td_counts",
    "td_features",
    "td_statistics",
    "lstd_statistics",
    "lstd_statistics_per_episode",
    "lstd_statistics_batched",
    "expected_lstd_statistics",
    "lstd_solve",
    "LSTDAccumulator",
    "lstd_stream",
    "gradient_td_iteration_matrix",
    "gradient_td_iterate",
    "gradient_td",
]

#: next-state targets: expected SARSA Σ_a' π(a'|s')φ(s', a') (default) or SARSA φ(s', a') with the next sampled action
TD_TARGETS = ("expected", "sarsa")
#: how :func:`td_statistics` computes: ``auto`` (counts when they fit :data:`COUNTS_MAX_ENTRIES`), ``counts``, ``features``
STATISTICS_METHODS = ("auto", "counts", "features")
#: the largest number of float64 entries (P policies × SA × (SA + S)) the counts method may allocate under ``auto``
COUNTS_MAX_ENTRIES = 2**24
_CHUNK = 1 << 15  # transitions per chunk of per-transition outer products [chunk, d, d]


class TDTransitions(NamedTuple):
    """Feature-free per-transition view of a batch for TD statistics (:func:`td_transitions`); all arrays ``[M]``."""

    index: torch.Tensor  #: int64, s_t·A + a_t
    next_state: torch.Tensor  #: int64, s_{t+1} (0 where ``has_next`` is False)
    next_index: torch.Tensor  #: int64, s_{t+1}·A + a_{t+1} (0 where ``has_next`` is False)
    has_next: torch.Tensor  #: bool, the episode continued after step t (its next state is observed)
    successor: torch.Tensor  #: int64, index of the same episode's next transition, −1 after its last one
    link: torch.Tensor  #: int64, where the eligibility trace continues (= successor; a twin may change it)
    reward: torch.Tensor  #: float64, r_t
    weight: torch.Tensor  #: float64, ω_t = (γ/q)^t; 0 on the last step of a truncated batch (no next state)
    log_behaviour: torch.Tensor  #: float64, log μ(a_t|s_t)
    episode: torch.Tensor  #: int64, episode id 0..N−1
    n_terms: torch.Tensor  #: int64 [N], TD terms per episode (transitions whose next state is known or terminal)
    pi: torch.Tensor  #: the target policy, [S, A] or [P, S, A]
    bootstrap: float  #: β = γ/q, the factor of φ̄_{t+1}
    trace_decay: float  #: c = λ, the trace decay per step (times ρ_t)
    n: int  #: number of episodes N

    @property
    def n_policies(self) -> int:
        return 1 if self.pi.ndim == 2 else int(self.pi.shape[0])

    def ratio(self, p: int = 0) -> torch.Tensor:
        """ρ_t = π_p(a_t|s_t)/μ(a_t|s_t), ``[M]`` (exactly 1 when π_p is the tensor the sampler drew with)."""
        pi = self.pi if self.pi.ndim == 2 else self.pi[p]
        logp = torch.where(pi > 0, pi.log(), torch.full_like(pi, -math.inf)).reshape(-1)
        return torch.exp(logp[self.index] - self.log_behaviour)

    def uses_ratios(self, target: str) -> bool:
        """Whether the statistics depend on importance ratios (traces with λ > 0 or a SARSA target)."""
        return self.trace_decay > 0 or target == "sarsa"


class TDCounts(NamedTuple):
    r"""Tabular sufficient statistics (:func:`td_counts`): :math:`A = \Phi^\top F\Phi - \Phi^\top G\Psi`,
    :math:`b = \Phi^\top r`, with Ψ = Φ_π [S, d] (expected target) or Φ [S·A, d] (SARSA); β is folded into G."""

    F: torch.Tensor  #: [P, S·A, S·A], Σ_{k≤t} w_{kt} ω_t e_{(s_k,a_k)} e_{(s_t,a_t)}ᵀ (diagonal for λ = 0)
    G: torch.Tensor  #: [P, S·A, K] (K = S or S·A), Σ_{k≤t} w_{kt} ω_t β e_{(s_k,a_k)} e_{next_t}ᵀ (× ρ_{t+1} for SARSA)
    r: torch.Tensor  #: [P, S·A], Σ_{k≤t} w_{kt} ω_t r_t e_{(s_k,a_k)}
    n_transitions: int  #: TD terms summed over
    target: str
    diagonal: bool  #: F is diagonal (λ = 0)


class TDFeatures(NamedTuple):
    """Per-transition feature vectors of the TD statistics (:func:`td_features`)."""

    phi: torch.Tensor  #: φ_t, [M, d]
    difference: torch.Tensor  #: y_t = φ_t − β φ̄_{t+1}, [M, d] (φ̄ = 0 at the end of an episode)
    reward: torch.Tensor  #: r_t, [M]
    weight: torch.Tensor  #: ω_t, [M]


class LSTDStatistics(NamedTuple):
    """LSTD(λ) statistics: the system A w = b. Sums over a batch (``A [..., d, d]``, ``b [..., d]``, ``n_transitions``
    an int) or per episode (``A [N, d, d]``, ``b [N, d]``, ``n_transitions`` int64 ``[N]``)."""

    A: torch.Tensor
    b: torch.Tensor
    n_transitions: Any


class GradientTDResult(NamedTuple):
    """Result of :func:`gradient_td` / :func:`gradient_td_iterate` for R independent runs."""

    theta: torch.Tensor  #: last iterate θ_K, [R, d]
    theta_average: torch.Tensor  #: Polyak–Ruppert average of θ_k over k = average_from+1 … K, [R, d]
    w: torch.Tensor  #: last auxiliary iterate w_K, [R, d]
    method: str


# ----------------------------------------------------------------------------------------------------------------
# validation helpers
# ----------------------------------------------------------------------------------------------------------------
def _check_target(target: Any) -> str:
    if target not in TD_TARGETS:
        raise ValueError(f"target: expected one of {TD_TARGETS}, got {target!r}")
    return target


def _check_method(method: Any) -> str:
    if method not in STATISTICS_METHODS:
        raise ValueError(f"method: expected one of {STATISTICS_METHODS}, got {method!r}")
    return method


def _check_pi(pi: Any, device: torch.device) -> torch.Tensor:
    p = as_tensor(pi, "pi", device=device)
    if p.ndim not in (2, 3) or p.shape[-1] == 0 or p.shape[-2] == 0:
        raise ValueError(f"pi: expected a policy [S, A] or a batch of policies [P, S, A], got shape {tuple(p.shape)}")
    return check_probabilities(p, "pi", atol=1e-9)


def _check_features(features: Any, S: int, A: int, device: torch.device, *, batched: bool) -> torch.Tensor:
    """Φ as ``[B, S·A, d]`` (B = 1 for a single set given as [S, A, d] or [S·A, d]; a batch given as [B, S, A, d]
    keeps its axis: see :func:`_is_batch`)."""
    phi = check_finite(as_tensor(features, "features", device=device), "features")
    if phi.ndim == 3 and tuple(phi.shape[:2]) == (S, A) and phi.shape[2] > 0:
        return phi.reshape(1, S * A, phi.shape[2])
    if phi.ndim == 2 and phi.shape[0] == S * A and phi.shape[1] > 0:
        return phi.unsqueeze(0)
    if batched and phi.ndim == 4 and tuple(phi.shape[1:3]) == (S, A) and phi.shape[3] > 0 and phi.shape[0] > 0:
        return phi.reshape(phi.shape[0], S * A, phi.shape[3])
    want = "[B, S, A, d], [S, A, d] or [S·A, d]" if batched else "[S, A, d] or [S·A, d]"
    raise ValueError(f"features: expected shape {want} with S = {S}, A = {A} (from pi) and d >= 1, "
                     f"got {tuple(phi.shape)}")


def _is_batch(features: Any) -> bool:
    """Whether ``features`` was given as a batch ``[B, S, A, d]`` (the output then keeps the B axis)."""
    nd = getattr(features, "ndim", None)
    return (as_tensor(features, "features").ndim if nd is None else nd) == 4


def _batch_size(phi: torch.Tensor, tt: TDTransitions) -> int:
    B, P = phi.shape[0], tt.n_policies
    if B != P and B != 1 and P != 1:
        raise ValueError(f"features: batch of {B} feature sets does not match the batch of {P} policies in pi")
    return max(B, P)


# ----------------------------------------------------------------------------------------------------------------
# the per-transition view
# ----------------------------------------------------------------------------------------------------------------
def linked_backward_recursion(values: torch.Tensor, decay: torch.Tensor, link: torch.Tensor) -> torch.Tensor:
    r"""x_k = values_k + decay_k · x_{link_k} (x = 0 where link_k = −1), for linked lists of any shape: ``[M, ...]``.

    ``values [M, ...]``, ``decay [M]``, ``link`` int64 ``[M]`` (each index appears as a link at most once, no
    cycles). Pointer jumping (Wyllie 1979): after round r each k holds :math:`V_k = \sum_{i<2^r}(\prod d)\,v` and a
    pointer 2^r steps ahead, so ⌈log₂ L⌉ vectorised rounds solve chains of length L — whatever the order of the
    transitions, so a twin may link episodes together. Same numbers as the sequential recursion up to rounding.
    """
    V, D, P = values.clone(), decay.clone(), link.clone()
    shape = (-1,) + (1,) * (values.ndim - 1)
    live = (P >= 0).nonzero().squeeze(-1)
    while live.numel():
        nxt = P[live]
        V[live] = V[live] + D[live].reshape(shape) * V[nxt]  # right-hand sides read before the writes
        D[live] = D[live] * D[nxt]
        P[live] = P[nxt]
        live = live[P[live] >= 0]
    return V


def td_transitions(traj: Trajectories, pi, lam: float = 0.0, gamma: float | None = None) -> TDTransitions:
    r"""The per-transition ingredients of the TD(λ) statistics, independent of the features (module docstring).

    ``pi [S, A]`` (or a batch ``[P, S, A]``) is the target policy; the behaviour μ is read from
    ``traj.log_behaviour``. ``lam ∈ [0, 1]``; ``gamma`` the evaluated discount (default ``traj.discount``; under
    geometric termination at most ``traj.discount``). Sets ω_t = (γ/q)^t, β = γ/q, c = λ with q = ``traj.discount``
    (geometric) or 1 (truncate): the choice under which the expected statistics are the exact LSTD(λ) system.
    """
    check_trajectories(traj)
    dev = traj.states.device
    pi = _check_pi(pi, dev)
    S, A = pi.shape[-2], pi.shape[-1]
    if traj.n_transitions == 0:
        raise ValueError("traj: the batch has no transitions")
    s_max, a_max = int(traj.states.max()), int(traj.actions.max())
    if s_max >= S or a_max >= A:
        raise ValueError(f"pi: has shape [S, A] = {(S, A)} but the trajectories visit state {s_max} and take action "
                         f"{a_max}; expected S >= {s_max + 1} and A >= {a_max + 1}")
    lam = check_real(lam, "lam", low=0.0, high=1.0)
    geometric = traj.termination == "geometric"
    q = traj.discount if geometric else 1.0
    g = traj.discount if gamma is None else check_discount(gamma, "gamma")
    if geometric and g > q:
        raise ValueError(f"gamma: must be <= the continuation probability traj.discount = {q:g} of geometrically "
                         f"terminated episodes (larger discounts would need weights (γ/q)^t that grow), got {g:g}")
    succ = traj.next_index()
    has_next = succ >= 0
    safe = succ.clamp_min(0)
    next_state = torch.where(has_next, traj.states[safe], torch.zeros_like(succ))
    next_index = torch.where(has_next, traj.states[safe] * A + traj.actions[safe], torch.zeros_like(succ))
    steps = traj.step_index()
    if g == q:
        weight = torch.ones_like(traj.rewards)
    else:
        weight = torch.pow(torch.tensor(g / q, dtype=torch.float64, device=dev), steps.to(torch.float64))
    cut = torch.zeros_like(has_next)
    if not geometric:  # the horizon's last step: the next state was not stored, so the TD term is unknown
        cut = steps == traj.n_steps - 1
        weight = torch.where(cut, torch.zeros_like(weight), weight)
    n_terms = torch.zeros(traj.n, dtype=torch.long, device=dev).index_add_(0, traj.episode, (~cut).long())
    return TDTransitions(traj.states * A + traj.actions, next_state, next_index, has_next, succ, succ.clone(),
                         traj.rewards, weight, traj.log_behaviour, traj.episode, n_terms, pi, g / q, lam, traj.n)


def _next_factor(tt: TDTransitions, target: str, rho: torch.Tensor | None) -> torch.Tensor:
    """β·1{next}·(ρ_{t+1} for SARSA), ``[M]``: the coefficient of the next-state column."""
    f = tt.has_next.to(torch.float64) * tt.bootstrap
    if target == "sarsa":
        f = f * torch.where(tt.has_next, rho[tt.successor.clamp_min(0)], torch.zeros_like(f))
    return f


def _trace_decays(tt: TDTransitions, rho: torch.Tensor | None) -> torch.Tensor:
    """c·ρ_{link_k} for every k (0 where the trace stops), ``[M]``."""
    ok = tt.link >= 0
    r = rho[tt.link.clamp_min(0)] if rho is not None else torch.ones_like(tt.weight)
    return torch.where(ok, tt.trace_decay * r, torch.zeros_like(tt.weight))


# ----------------------------------------------------------------------------------------------------------------
# counts
# ----------------------------------------------------------------------------------------------------------------
def td_counts(tt: TDTransitions, *, target: str = "expected") -> TDCounts:
    r"""The tabular sufficient statistics of :func:`td_statistics`: ``F [P, SA, SA]``, ``G [P, SA, K]``, ``r [P, SA]``.

    Summed over the pairs k ≤ t of each trace chain with weight :math:`w_{kt} = \prod_{i=k+1}^{t} c\rho_i`
    (w_kk = 1): one vectorised pass per lag t − k, so the cost is Σ_episodes L(L+1)/2 for λ > 0 and M for λ = 0
    (bincounts only). P = the number of policies when ratios matter (λ > 0 or SARSA), else 1 (shared by all).
    """
    target = _check_target(target)
    S, A = tt.pi.shape[-2], tt.pi.shape[-1]
    SA = S * A
    K = S if target == "expected" else SA
    col = tt.next_state if target == "expected" else tt.next_index
    P = tt.n_policies if tt.uses_ratios(target) else 1
    dev = tt.weight.device
    F = torch.zeros(P, SA * SA, dtype=torch.float64, device=dev)
    G = torch.zeros(P, SA * K, dtype=torch.float64, device=dev)
    R = torch.zeros(P, SA, dtype=torch.float64, device=dev)
    M = tt.index.shape[0]
    for p in range(P):
        rho = tt.ratio(p) if tt.uses_ratios(target) else None
        nf = _next_factor(tt, target, rho)
        k = torch.arange(M, device=dev)
        t, w = k, torch.ones(M, dtype=torch.float64, device=dev)
        while True:
            coef = w * tt.weight[t]
            src = tt.index[k]
            F[p].index_add_(0, src * SA + tt.index[t], coef)
            G[p].index_add_(0, src * K + col[t], coef * nf[t])
            R[p].index_add_(0, src, coef * tt.reward[t])
            if tt.trace_decay == 0:
                break
            t2 = tt.link[t]
            keep = t2 >= 0
            k, t2, w = k[keep], t2[keep], w[keep]
            w = w * tt.trace_decay * rho[t2]
            nz = w != 0
            k, t, w = k[nz], t2[nz], w[nz]
            if k.numel() == 0:
                break
    return TDCounts(F.reshape(P, SA, SA), G.reshape(P, SA, K), R, int(tt.n_terms.sum()), target, tt.trace_decay == 0)


def _psi(phi: torch.Tensor, pi: torch.Tensor, target: str, S: int, A: int) -> torch.Tensor:
    """Ψ: Σ_a' π(a'|s')φ(s', a') ``[B, S, d]`` (expected) or Φ ``[B, S·A, d]`` (SARSA)."""
    if target == "sarsa":
        return phi
    pib = pi if pi.ndim == 3 else pi.unsqueeze(0)
    B = max(pib.shape[0], phi.shape[0])
    phib = phi.reshape(phi.shape[0], S, A, -1).expand(B, S, A, phi.shape[-1])
    return torch.einsum("psa,psad->psd", pib.expand(B, S, A), phib)


def _contract(counts: TDCounts, phi: torch.Tensor, pi: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    S, A = pi.shape[-2], pi.shape[-1]
    psi = _psi(phi, pi, counts.target, S, A)
    phiT = phi.transpose(-1, -2)  # [B, d, SA]
    if counts.diagonal:
        Amat = phiT @ (counts.F.diagonal(dim1=-2, dim2=-1).unsqueeze(-1) * phi)
    else:
        Amat = (phiT @ counts.F) @ phi
    Amat = Amat - (phiT @ counts.G) @ psi
    b = (phiT @ counts.r.unsqueeze(-1)).squeeze(-1)
    return Amat, b


# ----------------------------------------------------------------------------------------------------------------
# features
# ----------------------------------------------------------------------------------------------------------------
def td_features(tt: TDTransitions, features, *, target: str = "expected", policy: int = 0) -> TDFeatures:
    """φ_t and y_t = φ_t − β φ̄_{t+1} for every transition (``[M, d]``), for one feature set ``[S, A, d]`` and the
    policy ``policy`` of ``tt.pi``; with ``reward`` and ``weight`` ω_t (``[M]``)."""
    target = _check_target(target)
    S, A = tt.pi.shape[-2], tt.pi.shape[-1]
    phi = _check_features(features, S, A, tt.weight.device, batched=False)[0]
    return _features_of(tt, phi, target, policy)


def _features_of(tt: TDTransitions, phi: torch.Tensor, target: str, p: int) -> TDFeatures:
    S, A = tt.pi.shape[-2], tt.pi.shape[-1]
    pi = tt.pi if tt.pi.ndim == 2 else tt.pi[p]
    rho = tt.ratio(p) if tt.uses_ratios(target) else None
    x = phi[tt.index]
    if target == "expected":
        nxt = torch.einsum("sa,sad->sd", pi, phi.reshape(S, A, -1))[tt.next_state]
    else:
        nxt = phi[tt.next_index]
    y = x - _next_factor(tt, target, rho).unsqueeze(-1) * nxt
    return TDFeatures(x, y, tt.reward, tt.weight)


def _feature_statistics(tt: TDTransitions, phi: torch.Tensor, target: str, p: int, per_episode: bool):
    f = _features_of(tt, phi, target, p)
    d = phi.shape[-1]
    u = f.weight.unsqueeze(-1) * torch.cat([f.difference, f.reward.unsqueeze(-1)], -1)  # [M, d + 1]
    if tt.trace_decay > 0:
        rho = tt.ratio(p)
        u = linked_backward_recursion(u, _trace_decays(tt, rho), tt.link)
    if not per_episode:
        out = f.phi.T @ u
        return out[:, :d], out[:, d]
    res = torch.zeros(tt.n, d, d + 1, dtype=torch.float64, device=u.device)
    for i in range(0, u.shape[0], _CHUNK):
        sl = slice(i, i + _CHUNK)
        res.index_add_(0, tt.episode[sl], f.phi[sl].unsqueeze(-1) * u[sl].unsqueeze(-2))
    return res[..., :d], res[..., d]


# ----------------------------------------------------------------------------------------------------------------
# statistics
# ----------------------------------------------------------------------------------------------------------------
def td_statistics(tt: TDTransitions, features, *, target: str = "expected", method: str = "auto",
                  per_episode: bool = False) -> LSTDStatistics:
    r"""LSTD(λ) statistics :math:`A = \sum_t\omega_t z_t(\phi_t-\beta\bar\phi_{t+1})^\top`, :math:`b = \sum_t\omega_t
    z_t r_t` of prepared transitions ``tt`` (:func:`td_transitions`; module docstring for the math).

    ``features``: ``[S, A, d]`` / ``[S·A, d]`` or a batch ``[B, S, A, d]``; with ``tt.pi`` a batch of P policies, B
    and P must match or one be 1. Returns sums ``A [d, d]``, ``b [d]`` (``[B', d, d]``, ``[B', d]`` for a batch,
    B' = max(B, P)) and the number of TD terms; ``per_episode=True`` (one feature set and one policy) gives
    ``A [N, d, d]``, ``b [N, d]``, ``n_transitions [N]``. ``method``: one of :data:`STATISTICS_METHODS`.
    """
    target = _check_target(target)
    method = _check_method(method)
    if not isinstance(tt, TDTransitions):
        raise TypeError(f"tt: expected TDTransitions (from td_transitions), got {type(tt).__name__}")
    S, A = tt.pi.shape[-2], tt.pi.shape[-1]
    phi = _check_features(features, S, A, tt.weight.device, batched=True)
    Bp = _batch_size(phi, tt)
    single = tt.pi.ndim == 2 and not _is_batch(features)
    if per_episode:
        if Bp != 1:
            raise ValueError(f"features: the per-episode form takes one feature set and one policy, got a batch of {Bp}")
        if method == "counts":
            raise ValueError("method: the per-episode form is computed from features; use 'auto' or 'features'")
        Amat, b = _feature_statistics(tt, phi[0], target, 0, True)
        return LSTDStatistics(check_finite_result(Amat, "traj", "per-episode A"),
                              check_finite_result(b, "traj", "per-episode b"), tt.n_terms.clone())
    K = S if target == "expected" else S * A
    P = tt.n_policies if tt.uses_ratios(target) else 1
    if method == "auto":
        method = "counts" if P * S * A * (S * A + K) <= COUNTS_MAX_ENTRIES else "features"
    if method == "counts":
        Amat, b = _contract(td_counts(tt, target=target), phi, tt.pi)
        Amat, b = Amat.expand(Bp, *Amat.shape[1:]), b.expand(Bp, *b.shape[1:])
    else:
        parts = [_feature_statistics(tt, phi[i if phi.shape[0] > 1 else 0], target, i if tt.n_policies > 1 else 0,
                                     False) for i in range(Bp)]
        Amat, b = torch.stack([a for a, _ in parts]), torch.stack([v for _, v in parts])
    if single:
        Amat, b = Amat[0], b[0]
    return LSTDStatistics(check_finite_result(Amat.contiguous(), "traj", "LSTD matrix A"),
                          check_finite_result(b.contiguous(), "traj", "LSTD vector b"), int(tt.n_terms.sum()))


def lstd_statistics(traj: Trajectories, features, pi, lam: float = 0.0, gamma: float | None = None, *,
                    target: str = "expected", method: str = "auto") -> LSTDStatistics:
    r"""LSTD(λ) sufficient statistics of a batch: ``A [d, d]``, ``b [d]`` and the number of TD terms (an int).

    .. math:: A = \sum_{\rm episodes}\sum_t \omega_t z_t(\phi_t - \beta\bar\phi_{t+1})^\top,\quad
              b = \sum\sum_t \omega_t z_t r_t,\quad z_t = \lambda\rho_t z_{t-1} + \phi_t,

    with ω_t = 1, β = 1 under geometric termination (the termination carries γ) and ω_t = γ^t, β = γ under truncation
    (module docstring: the derivation). ``traj`` a :class:`~pgtheory.sampling.Trajectories` batch; ``features
    [S, A, d]`` (or ``[S·A, d]``); ``pi [S, A]`` the target policy; ``lam ∈ [0, 1]``; ``gamma`` the evaluated
    discount (default ``traj.discount``); ``target`` ``"expected"`` (Σ_a' π(a'|s')φ(s',a'), default) or ``"sarsa"``.
    Per episode E[A] = ΦᵀD_μ(Φ − γP^{(λ)}Φ)/(1 − γ) (geometric), so ``lstd_solve(A, b)`` → ``td_fixed_point(...).w``.
    Sources: Bradtke & Barto (1996) LSTD; Boyan (2002) LSTD(λ); Precup, Sutton & Singh (2000) off-policy traces.
    """
    return td_statistics(td_transitions(traj, pi, lam, gamma), features, target=target, method=method)


def lstd_statistics_per_episode(traj: Trajectories, features, pi, lam: float = 0.0, gamma: float | None = None, *,
                                target: str = "expected") -> LSTDStatistics:
    """Per-episode LSTD(λ) statistics: ``A [N, d, d]``, ``b [N, d]``, ``n_transitions`` int64 ``[N]``.

    Independent and identically distributed across episodes, with mean :func:`expected_lstd_statistics` under
    geometric termination: the per-sample outputs for bias tests and streaming. Arguments as :func:`lstd_statistics`.
    """
    return td_statistics(td_transitions(traj, pi, lam, gamma), features, target=target, per_episode=True)


def lstd_statistics_batched(traj: Trajectories, features, pi, lam: float = 0.0, gamma: float | None = None, *,
                            target: str = "expected", method: str = "auto") -> LSTDStatistics:
    r"""LSTD(λ) statistics for many feature sets and/or policies in one call: ``A [B, d, d]``, ``b [B, d]``.

    ``features [B, S, A, d]`` (or one set ``[S, A, d]``), ``pi [S, A]`` or ``[B, S, A]`` (one batch may be 1). The
    counts method (:func:`td_counts`) builds the feature-free tabular statistics once — shared by all feature sets,
    and by all policies when λ = 0 with the expected target — and contracts them with every Φ_b by batched matmuls:
    :math:`A_b = \Phi_b^\top F\Phi_b - \Phi_b^\top G\Psi_b`, :math:`b_b = \Phi_b^\top r`. Other arguments as
    :func:`lstd_statistics`; the leading axis is kept even for B = 1.
    """
    tt = td_transitions(traj, pi, lam, gamma)
    S, A = tt.pi.shape[-2], tt.pi.shape[-1]
    phi = _check_features(features, S, A, tt.weight.device, batched=True)
    Bp = _batch_size(phi, tt)
    out = td_statistics(tt, phi.reshape(phi.shape[0], S, A, -1), target=target, method=method)
    return LSTDStatistics(out.A.reshape(Bp, *out.A.shape[-2:]), out.b.reshape(Bp, out.b.shape[-1]), out.n_transitions)


def expected_lstd_statistics(mdp: TabularMDP, pi, features, lam: float = 0.0, *, behaviour=None) -> LSTDStatistics:
    r"""Exact per-episode means of :func:`lstd_statistics_per_episode` under geometric termination:

    .. math:: \mathbb E[A] = \tfrac{1}{1-\gamma}\,\Phi^\top D_\mu(\Phi - \gamma P^{(\lambda)}\Phi),\qquad
              \mathbb E[b] = \tfrac{1}{1-\gamma}\,\Phi^\top D_\mu r^{(\lambda)},\qquad
              \mathbb E[n_{\rm transitions}] = \tfrac{1}{1-\gamma},

    D_μ = :func:`~pgtheory.exact.evaluation.state_action_occupancy` of the behaviour μ (default π): the exact system
    of :func:`~pgtheory.exact.linear_evaluation.td_fixed_point` with ``weights=D_μ``, read off its public
    :func:`~pgtheory.exact.linear_evaluation.projected_bellman_residual` (b − A w at w = 0 and at the unit vectors).
    ``pi``, ``behaviour [S, A]``; ``features [S, A, d]`` or ``[S·A, d]``. Returns ``A [d, d]``, ``b [d]`` and the
    expected number of transitions (a float).
    """
    if not isinstance(mdp, TabularMDP):
        raise TypeError(f"mdp: expected a TabularMDP, got {type(mdp).__name__}")
    p = _check_pi(pi, mdp.device)
    if p.ndim != 2:
        raise ValueError(f"pi: expected one policy [S, A], got shape {tuple(p.shape)}")
    mu = p if behaviour is None else _check_pi(behaviour, mdp.device)
    if tuple(mu.shape) != tuple(p.shape):
        raise ValueError(f"behaviour: expected shape {tuple(p.shape)} like pi, got {tuple(mu.shape)}")
    phi = _check_features(features, mdp.n_states, mdp.n_actions, mdp.device, batched=False)[0]
    d = phi.shape[1]
    D = state_action_occupancy(mdp, mu)
    basis = torch.cat([torch.zeros(1, d, dtype=torch.float64, device=mdp.device),
                       torch.eye(d, dtype=torch.float64, device=mdp.device)])
    res = projected_bellman_residual(mdp, p, phi, basis, weights=D, lam=lam)  # row j+1: b − A e_j
    b = res[0]
    Amat = (b.unsqueeze(0) - res[1:]).T
    scale = 1.0 / (1.0 - mdp.discount)
    return LSTDStatistics(Amat * scale, b * scale, scale)


def lstd_solve(A, b, ridge: float = 0.0) -> torch.Tensor:
    r"""The LSTD solution :math:`w = (A + \kappa I)^{-1} b`: ``A [..., d, d]``, ``b [..., d]`` → ``w [..., d]``.

    ``ridge`` κ ≥ 0 is added as is (A is a *sum* over transitions: scale κ with the data). Raises ``ValueError``
    naming ``A`` if the system is singular (smallest singular value ≤
    :data:`~pgtheory.exact.linear_evaluation.SINGULAR_RCOND` × the largest) — e.g. features of unvisited pairs, or
    dependent features on the visited ones.
    """
    A = check_finite(as_tensor(A, "A"), "A")
    b = check_finite(as_tensor(b, "b", device=A.device), "b")
    if A.ndim < 2 or A.shape[-1] != A.shape[-2] or A.shape[-1] == 0:
        raise ValueError(f"A: expected square matrices [..., d, d], got shape {tuple(A.shape)}")
    if b.ndim < 1 or b.shape[-1] != A.shape[-1]:
        raise ValueError(f"b: expected shape [..., d] with d = {A.shape[-1]}, got {tuple(b.shape)}")
    kappa = check_real(ridge, "ridge", low=0.0)
    M = A + kappa * torch.eye(A.shape[-1], dtype=A.dtype, device=A.device)
    sv = torch.linalg.svdvals(M)
    bad = ~(sv[..., -1] > SINGULAR_RCOND * sv[..., 0])
    if bool(bad.any()):
        idx = tuple(int(i) for i in bad.nonzero()[0]) if bad.ndim else ()
        raise ValueError(f"A: the LSTD system (A + ridge·I) w = b{' at batch index ' + str(idx) if idx else ''} is "
                         f"singular (smallest singular value {float(sv[idx][-1]):.3g}, largest {float(sv[idx][0]):.3g}): "
                         "features of unvisited state-action pairs or linearly dependent features; pass ridge > 0 or "
                         "more data")
    w = torch.linalg.solve(M, b.expand(*M.shape[:-1]).unsqueeze(-1)).squeeze(-1)
    return check_finite_result(w, "A, b", "LSTD solution")


# ----------------------------------------------------------------------------------------------------------------
# streaming
# ----------------------------------------------------------------------------------------------------------------
class LSTDAccumulator:
    r"""Running sums of LSTD(λ) statistics over chunks of trajectories, in bounded memory (float64 sums of d×d).

    ``features`` one set ``[S, A, d]`` or a batch ``[B, S, A, d]``; ``pi``, ``lam``, ``gamma``, ``target``,
    ``method`` as :func:`lstd_statistics`. With ``moments=True`` (one feature set) the per-episode statistics
    ``[A.flatten(), b]`` (d² + d numbers per episode) also go into a :class:`~pgtheory.stats.MomentAccumulator`, for a
    bias test at any scale (``accumulator.moments``). Sums are over all episodes of all chunks: chunking changes the
    result only by rounding.
    """

    def __init__(self, features, pi, lam: float = 0.0, gamma: float | None = None, *, target: str = "expected",
                 method: str = "auto", moments: bool = False):
        self.features = check_finite(as_tensor(features, "features"), "features")
        self.pi = _check_pi(pi, self.features.device)
        self.lam = check_real(lam, "lam", low=0.0, high=1.0)
        self.gamma = None if gamma is None else check_discount(gamma, "gamma")
        self.target = _check_target(target)
        self.method = _check_method(method)
        self.moments = MomentAccumulator(full_covariance=True) if moments else None
        self.A: torch.Tensor | None = None
        self.b: torch.Tensor | None = None
        self.n_transitions = 0
        self.n_episodes = 0
        self.n_chunks = 0

    def update(self, traj: Trajectories) -> "LSTDAccumulator":
        """Add the statistics of one batch of trajectories."""
        tt = td_transitions(traj, self.pi.to(traj.states.device), self.lam, self.gamma)
        feats = self.features.to(traj.states.device)
        if self.moments is not None:
            per = td_statistics(tt, feats, target=self.target, per_episode=True)
            self.moments.update(torch.cat([per.A.flatten(1), per.b], 1))
            A, b, n = per.A.sum(0), per.b.sum(0), int(per.n_transitions.sum())
        else:
            A, b, n = td_statistics(tt, feats, target=self.target, method=self.method)
        self.A = A if self.A is None else self.A + A
        self.b = b if self.b is None else self.b + b
        self.n_transitions += n
        self.n_episodes += traj.n
        self.n_chunks += 1
        return self

    def statistics(self) -> LSTDStatistics:
        """The summed ``A``, ``b`` and number of TD terms so far."""
        if self.A is None:
            raise ValueError("accumulator: no trajectories added yet")
        return LSTDStatistics(self.A, self.b, self.n_transitions)

    def solve(self, ridge: float = 0.0) -> torch.Tensor:
        """``lstd_solve`` of the sums: ``w [d]`` (``[B, d]`` for a batch of feature sets)."""
        A, b, _ = self.statistics()
        return lstd_solve(A, b, ridge)


def lstd_stream(sampler: TrajectorySampler, n: int, generator: torch.Generator, features, pi=None, lam: float = 0.0,
                gamma: float | None = None, *, target: str = "expected", method: str = "auto", moments: bool = False,
                chunk_size: int | None = None, memory_budget: float = DEFAULT_MEMORY_BUDGET,
                progress: Callable[[int, int], None] | None = None) -> LSTDAccumulator:
    """Draw ``n`` episodes from ``sampler`` chunk by chunk (:meth:`~pgtheory.sampling.TrajectorySampler.sample_chunks`)
    and accumulate their LSTD(λ) statistics (:class:`LSTDAccumulator`); memory is bounded by one chunk, so 10⁷+
    transitions fit. ``pi`` defaults to the sampler's target policy; other arguments as :class:`LSTDAccumulator`.
    """
    if not isinstance(sampler, TrajectorySampler):
        raise TypeError(f"sampler: expected a TrajectorySampler, got {type(sampler).__name__}")
    acc = LSTDAccumulator(features, sampler.pi if pi is None else pi, lam, gamma, target=target, method=method,
                          moments=moments)
    for chunk in sampler.sample_chunks(n, generator, memory_budget=memory_budget, chunk_size=chunk_size,
                                       progress=progress):
        acc.update(chunk)
    return acc


# ----------------------------------------------------------------------------------------------------------------
# gradient TD
# ----------------------------------------------------------------------------------------------------------------
GRADIENT_TD: Registry[Callable[..., tuple[torch.Tensor, torch.Tensor]]] = Registry("gradient-TD update")


def _mv(M: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    return (M @ v.unsqueeze(-1)).squeeze(-1)


def _mtv(M: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    return (M.transpose(-1, -2) @ v.unsqueeze(-1)).squeeze(-1)


@GRADIENT_TD.register("gtd2")
def gtd2_direction(A: torch.Tensor, b: torch.Tensor, C: torch.Tensor, theta: torch.Tensor,
                   w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    r"""GTD2 (Sutton et al. 2009, eq. for "GTD2"): :math:`\Delta\theta = \bar A^\top w`,
    :math:`\Delta w = \bar b - \bar A\theta - \bar C w` (per-transition means ``A, C [R, d, d]``, ``b [R, d]``;
    ``theta, w [R, d]``): the mini-batch mean of ω(φ − βφ̄)(φᵀw) and ω(δ − φᵀw)φ."""
    return _mtv(A, w), b - _mv(A, theta) - _mv(C, w)


@GRADIENT_TD.register("tdc")
def tdc_direction(A: torch.Tensor, b: torch.Tensor, C: torch.Tensor, theta: torch.Tensor,
                  w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    r"""TDC / "GTD with correction" (Sutton et al. 2009): :math:`\Delta\theta = \bar b - \bar A\theta -
    (\bar C - \bar A)^\top w` (the mean of ωδφ − ωβφ̄(φᵀw)), :math:`\Delta w = \bar b - \bar A\theta - \bar C w`;
    shapes as :func:`gtd2_direction`."""
    delta = b - _mv(A, theta)
    return delta - _mtv(C - A, w), delta - _mv(C, w)


@GRADIENT_TD.register("td")
def td_direction(A: torch.Tensor, b: torch.Tensor, C: torch.Tensor, theta: torch.Tensor,
                 w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Semi-gradient linear TD(0) (Sutton & Barto 2018, §9.3): :math:`\Delta\theta = \bar b - \bar A\theta`, w
    unused (Δw = 0); diverges off-policy when Ā has an eigenvalue of negative real part (§11.2)."""
    return b - _mv(A, theta), torch.zeros_like(w)


def _steps(alpha: Any, beta: Any) -> tuple[float, float]:
    return check_real(alpha, "alpha", low=0.0, low_open=True), check_real(beta, "beta", low=0.0)


def gradient_td_iteration_matrix(A, C, *, method: str, alpha: float, beta: float) -> torch.Tensor:
    r"""The matrix M of the expected (full-batch) iteration :math:`z_{k+1} = M z_k + c`, z = (θ, w) ∈ R^{2d}:
    ``[2d, 2d]`` for ``A, C [d, d]`` (per-transition means). Read off the registered update (it is linear), e.g.
    GTD2: :math:`M = \begin{pmatrix} I & \alpha A^\top\\ -\beta A & I-\beta C\end{pmatrix}`. The iteration converges
    iff its spectral radius is < 1, with error :math:`\|M^k(z_0 - z^*)\|`.
    """
    fn = GRADIENT_TD.get(method, "method")
    alpha, beta = _steps(alpha, beta)
    A = check_finite(as_tensor(A, "A"), "A")
    C = check_finite(as_tensor(C, "C", device=A.device), "C")
    d = A.shape[-1]
    if tuple(A.shape) != (d, d) or tuple(C.shape) != (d, d):
        raise ValueError(f"A, C: expected two [d, d] matrices, got {tuple(A.shape)} and {tuple(C.shape)}")
    E = torch.eye(2 * d, dtype=torch.float64, device=A.device)
    dth, dw = fn(A, torch.zeros(d, dtype=torch.float64, device=A.device), C, E[:, :d], E[:, d:])
    return E + torch.cat([alpha * dth, beta * dw], 1).T


def _init(x: Any, name: str, R: int, d: int, device: torch.device) -> torch.Tensor:
    if x is None:
        return torch.zeros(R, d, dtype=torch.float64, device=device)
    t = check_finite(as_tensor(x, name, device=device), name)
    if tuple(t.shape) not in ((d,), (R, d)):
        raise ValueError(f"{name}: expected shape [d] = [{d}] or [R, d] = [{R}, {d}], got {tuple(t.shape)}")
    return t.expand(R, d).clone()


def polyak_averaging_start(average_from: Any, K: int) -> int:
    """First iteration of the Polyak average of a K-iteration run: ``average_from`` (0 ≤ it < K) or K // 2 by default."""
    if average_from is None:
        return K // 2
    k0 = check_positive_int(average_from, "average_from", minimum=0)
    if k0 >= K:
        raise ValueError(f"average_from: must be < n_iterations = {K}, got {k0}")
    return k0


def gradient_td_iterate(A, b, C, *, method: str = "tdc", alpha: float, beta: float, n_iterations: int,
                        theta0=None, w0=None, average_from: int | None = None) -> GradientTDResult:
    r"""The deterministic gradient-TD iteration on given per-transition means: ``A, C [d, d]``, ``b [d]``.

    θ_{k+1} = θ_k + α Δθ, w_{k+1} = w_k + β Δw with Δ the registered direction of ``method`` (:data:`GRADIENT_TD`:
    ``"gtd2"``, ``"tdc"``, ``"td"``). Use it with the full-batch means (what :func:`gradient_td` does without
    ``batch_size``) or with exact expectations (:func:`expected_lstd_statistics` divided by its
    ``n_transitions``, with C = ΦᵀD_μΦ). Returns a :class:`GradientTDResult` with R = 1. Raises ``ValueError`` if the
    iterates overflow (divergence).
    """
    fn = GRADIENT_TD.get(method, "method")
    alpha, beta = _steps(alpha, beta)
    K = check_positive_int(n_iterations, "n_iterations")
    k0 = polyak_averaging_start(average_from, K)
    A = check_finite(as_tensor(A, "A"), "A")
    d = A.shape[-1]
    b = check_finite(as_tensor(b, "b", device=A.device), "b")
    C = check_finite(as_tensor(C, "C", device=A.device), "C")
    if tuple(A.shape) != (d, d) or tuple(C.shape) != (d, d) or tuple(b.shape) != (d,):
        raise ValueError(f"A, b, C: expected [d, d], [d], [d, d], got {tuple(A.shape)}, {tuple(b.shape)}, {tuple(C.shape)}")
    theta, w = _init(theta0, "theta0", 1, d, A.device), _init(w0, "w0", 1, d, A.device)
    avg = torch.zeros_like(theta)
    for k in range(K):
        dth, dw = fn(A, b, C, theta, w)
        theta, w = theta + alpha * dth, w + beta * dw
        if k >= k0:
            avg = avg + theta
    avg = avg / (K - k0)
    return GradientTDResult(check_finite_result(theta, method, "gradient-TD iterate (diverged)"), avg, w, method)


def gradient_td(traj: Trajectories, features, pi, *, method: str = "tdc", alpha: float, beta: float,
                n_iterations: int, gamma: float | None = None, target: str = "expected", batch_size: int | None = None,
                n_runs: int = 1, generator: torch.Generator | None = None, average_from: int | None = None,
                theta0=None) -> GradientTDResult:
    r"""GTD2 / TDC (λ = 0) on a batch of trajectories, for R = ``n_runs`` independent runs at once.

    Each iteration draws ``batch_size`` transitions uniformly with replacement (per run, from ``generator``) and
    applies the registered update (:data:`GRADIENT_TD`) with the mini-batch means Ā = mean ωφ(φ − βφ̄)ᵀ,
    b̄ = mean ωφr, C̄ = mean ωφφᵀ; ``batch_size=None`` uses the full-batch means (deterministic:
    :func:`gradient_td_iterate`). Constant step sizes α (θ) and β (w). The updates are linear with mini-batches drawn
    independently of the iterate, so E[θ_k] follows the full-batch iteration exactly and the Polyak–Ruppert average
    ``theta_average`` is unbiased for the batch LSTD(0) solution once the transient ‖M^k‖ has died out
    (:func:`gradient_td_iteration_matrix`). ``features [S, A, d]``, ``pi [S, A]``; returns ``[R, d]`` arrays.
    """
    fn = GRADIENT_TD.get(method, "method")
    alpha, beta = _steps(alpha, beta)
    K = check_positive_int(n_iterations, "n_iterations")
    R = check_positive_int(n_runs, "n_runs")
    k0 = polyak_averaging_start(average_from, K)
    tt = td_transitions(traj, pi, 0.0, gamma)
    if tt.n_policies != 1:
        raise ValueError(f"pi: expected one policy [S, A], got shape {tuple(tt.pi.shape)}")
    f = td_features(tt, features, target=target)
    x, y, r, om = f.phi, f.difference, f.reward, f.weight
    M, d = x.shape
    if batch_size is None:
        wx = om.unsqueeze(-1) * x
        res = gradient_td_iterate(wx.T @ y / M, wx.T @ r / M, wx.T @ x / M, method=method, alpha=alpha, beta=beta,
                                  n_iterations=K, theta0=theta0, average_from=k0)
        return GradientTDResult(*(t.expand(R, d) for t in res[:3]), method)
    m = check_positive_int(batch_size, "batch_size")
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator: expected a torch.Generator for mini-batches, got {type(generator).__name__}")
    theta, w = _init(theta0, "theta0", R, d, x.device), torch.zeros(R, d, dtype=torch.float64, device=x.device)
    avg = torch.zeros_like(theta)
    for k in range(K):
        idx = torch.randint(M, (R, m), generator=generator, device=x.device)
        xb, yb, wb = x[idx], y[idx], om[idx].unsqueeze(-1)
        wxb = (wb * xb).transpose(-1, -2) / m  # [R, d, m]
        dth, dw = fn(wxb @ yb, (wxb @ r[idx].unsqueeze(-1)).squeeze(-1), wxb @ xb, theta, w)
        theta, w = theta + alpha * dth, w + beta * dw
        if k >= k0:
            avg = avg + theta
    avg = avg / (K - k0)
    return GradientTDResult(check_finite_result(theta, method, "gradient-TD iterate (diverged)"), avg, w, method)
