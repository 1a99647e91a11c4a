r"""Distributional Bellman operators on state–action return laws with stochastic rewards: evaluation and control.

A *state–action law* Z is a shared support ``support [M]`` (strictly increasing) and probabilities ``probs [S, A, M]``:
row (s, a) is the law of Z(s, a). A *reward law* gives each (s, a) a discrete reward distribution on a shared alphabet
``values [R]`` with ``probs [S, A, R]`` (its means must equal ``mdp.rewards``, so every mean quantity of pgtheory still
applies). Rewards are independent of the next state given (s, a).

* :func:`evaluation_operator` — the distributional Bellman evaluation operator (Bellemare, Dabney & Munos 2017, eq. 4;
  the random-variable form R(x, a) + γZ(X′, A′))

  .. math:: (T^\pi Z)(s,a) \overset{D}{=} R(s,a) + \gamma Z(S', A'),\quad S'\sim P(\cdot|s,a),\ A'\sim\pi(\cdot|S'),

  computed exactly: the law on the atoms r_j + γ z_m has probabilities
  :math:`P_R(r_j|s,a)\sum_{s',a'}P(s'|s,a)\pi(a'|s')\,p_{s'a'}(z_m)`; exact ties are merged and atoms of zero probability
  everywhere are dropped (:func:`compact`). The support grows by a factor R per application.
  Lemma 3 of Bellemare et al.: :math:`\bar d_p(T^\pi Z_1, T^\pi Z_2)\le\gamma\,\bar d_p(Z_1,Z_2)` with the maximal
  Wasserstein metric :math:`\bar d_p(Z_1,Z_2)=\sup_{s,a}W_p(Z_1(s,a),Z_2(s,a))` (:func:`action_sup_wasserstein1` for p = 1).
  Its mean is the classical operator: :math:`\mathbb E\,T^\pi Z = r + \gamma P^\pi\,\mathbb E Z` (:func:`mean_evaluation_operator`).
* :func:`greedy_policy` — the deterministic policy greedy with respect to the means :math:`Q(s,a)=\mathbb E Z(s,a)`, ties
  (means equal within ``tol``, default exactly equal) broken by a registered rule of :data:`TIE_BREAKS` (``"first"``:
  lowest action index; ``"last"``: highest). It depends on Z only through its means, as the paper's greedy selection
  rule does (Bellemare et al. 2017, Section 3.4: a control operator is any T = T^{π} with π greedy for E Z).
* :func:`control_operator` — :math:`\mathcal T Z = T^{\pi_Z}Z` with π_Z = :func:`greedy_policy` (Z).
  Its mean is a γ-contraction in sup norm (Lemma 4 of the paper), but 𝒯 itself is not a contraction in any
  :math:`\bar d_p` (Proposition 1; :func:`non_contraction_example`), and with tied optimal actions its iterates need not
  converge (:func:`tied_oscillation_example`).
* :func:`categorical_evaluation_fixed_point` — the fixed point of Π_C T^π on a fixed support (C51's projected operator,
  applied through :func:`categorical_projection_map`, which equals
  :func:`pgtheory.exact.distributional.categorical_projection` atom by atom), and the bound on its distance to the
  true law.

**The non-contraction example** (:func:`non_contraction_example`; Bellemare et al. 2017, Proposition 1 and Figure 2,
read in a public text copy of the paper on 2026-11-30; the paper's MDP is undiscounted, and it notes that "with γ < 1,
the same proof shows it is not a contraction" — we keep γ, which multiplies the distance after the step). States x1, x2 and
an absorbing terminal state T (reward 0). From x1 both actions lead to x2 with reward 0. At x2 both actions end the
episode (→ T): a1 pays 0, a2 pays ε + 1 or ε − 1 with probability ½ each (0 < ε < 1). The optimal policy is unique (a2 at
x2) and Z* is the fixed point: Z*(x2,a1) = δ_0, Z*(x2,a2) = ½δ_{ε−1} + ½δ_{ε+1}, Z*(x1,·) = γZ*(x2,a2), Z*(T,·) = δ_0.
Let Z equal Z* except Z(x2,a2) = ½δ_{−ε−1} + ½δ_{−ε+1}, so :math:`\bar d_1(Z,Z^*)=2\varepsilon`. At x2 the mean of a2
under Z is −ε < 0, so 𝒯 picks a1 there and (𝒯Z)(x1,·) = γ·δ_0 = δ_0, while 𝒯Z* = Z*: hence
:math:`\bar d_1(\mathcal TZ,\mathcal TZ^*) = W_1(\delta_0,\gamma Z^*(x2,a2)) = \gamma\,\mathbb E|\varepsilon\pm1| = \gamma` and
the ratio is γ/(2ε) > 1 for ε < γ/2 (arbitrarily large as ε → 0).

**The tied-action oscillation** (:func:`tied_oscillation_example`; our own construction, proof here — an instance of the
paper's Proposition 3, "that 𝒯 has a fixed point is insufficient to guarantee the convergence of {Z_k}": with the
stationary rule "first", 𝒯 has the fixed point Z* of the optimal policy taking a0 at s, yet {Z_k} does not converge;
the paper's Proposition 2 example instead uses a tie-breaking rule that depends on Z at another state). States
x0, s, y1, y2, two actions everywhere. x0 → s (reward 0, both actions); at s, a0 → y1 and a1 → y2 (reward 0); y1 → y2
with reward law R1 (both actions), y2 → y1 with reward law R2 (both actions). With E R1 = E R2 (the default:
R1 = {−a w.p. b/(a+b), b w.p. a/(a+b)}, mean 0, and R2 = δ_0) both actions at s are optimal (Q*(s,a0) = Q*(s,a1)), but
Z*(s,a0) = γZ*(y1) and Z*(s,a1) = γZ*(y2) = γ²Z*(y1) differ in law (their variances differ by the factor γ² and
Var Z*(y1) > 0). *Proof that the greedy action at s alternates.* Let e_k(y) = max_a E Z_k(y,a) − V*(y). Since y1 and y2
have one successor each, E Z_{k+1}(y1,·) = E R1 + γ max_a E Z_k(y2,a), so e_{k+1}(y1) = γe_k(y2) and
e_{k+1}(y2) = γe_k(y1): e_k(y1) − e_k(y2) = (−γ)^k (e_0(y1) − e_0(y2)). The means at s are
E Z_{k+1}(s,a0) − E Z_{k+1}(s,a1) = γ(e_k(y1) − e_k(y2)) (V*(y1) = V*(y2) under the tie), whose sign alternates with k
whenever e_0(y1) ≠ e_0(y2) (a generic initial Z_0). So the greedy action at s alternates **under every tie-breaking rule**
(no exact tie ever occurs), Z_k(s,·) → Z*(s,·) by the evaluation contraction along the fixed chain, and
Z_{k+1}(x0,·) = γZ_k(s, greedy_k) alternates between laws tending to γ²Z*(y1) and γ³Z*(y1): the consecutive distance
W1(Z_k(x0), Z_{k+1}(x0)) tends to γ²W1(Z*(y1), γZ*(y1)) > 0 while the means converge geometrically (Lemma 4). With
E R2 = E R1 + gap, gap > 0 (the *twin*), the optimal action at s is unique (a1) and Z_k → Z* (Theorem 1 of the paper),
so the consecutive distance decays like γ^k.

Sources: Bellemare, Dabney & Munos (2017), "A distributional perspective on reinforcement learning", Lemma 3, Lemma 4,
Proposition 1, Theorem 1 (Section 3); Rowland et al. (2018), "An analysis of categorical distributional RL".
"""
from __future__ import annotations

from typing import NamedTuple

import torch

from .._checks import DTYPE, as_tensor, check_discount, check_finite, check_positive_int, check_probabilities, check_real
from .._registry import Registry
from ..problems.mdp import TabularMDP
from .distributional import check_single_policy
from .risk_measures import kolmogorov_distance, wasserstein1

__all__ = ["ActionValueLaws", "RewardLaw", "TIE_BREAKS", "reward_law", "action_value_laws", "compact",
           "evaluation_operator", "mean_evaluation_operator", "greedy_policy", "control_operator", "action_sup_wasserstein1",
           "action_sup_kolmogorov", "CategoricalFixedPoint", "categorical_evaluation_fixed_point", "categorical_projection_map", "ControlExample",
           "non_contraction_example", "tied_oscillation_example"]

#: Atoms whose reward-law means differ from ``mdp.rewards`` by more than this are refused.
MEAN_TOL = 1e-10


class ActionValueLaws(NamedTuple):
    """Per (s, a) laws on a shared support: ``support [M]`` strictly increasing, ``probs [S, A, M]``."""

    support: torch.Tensor
    probs: torch.Tensor

    def means(self) -> torch.Tensor:
        """E Z(s, a), ``[S, A]``."""
        return self.probs @ self.support


class RewardLaw(NamedTuple):
    """Discrete reward laws on a shared alphabet: ``values [R]`` strictly increasing, ``probs [S, A, R]``."""

    values: torch.Tensor
    probs: torch.Tensor

    def means(self) -> torch.Tensor:
        """E R(s, a), ``[S, A]``."""
        return self.probs @ self.values


def _increasing(x, name: str, device=None) -> torch.Tensor:
    x = check_finite(as_tensor(x, name, device=device), name)
    if x.ndim != 1 or x.shape[0] < 1:
        raise ValueError(f"{name}: expected a non-empty 1-D tensor, got shape {tuple(x.shape)}")
    if bool((x[1:] <= x[:-1]).any()):
        raise ValueError(f"{name}: must be strictly increasing")
    return x


def reward_law(mdp: TabularMDP, values=None, probs=None) -> RewardLaw:
    """Validate a reward law of ``mdp`` (means equal to ``mdp.rewards`` within 1e-10); without ``values`` and
    ``probs``, the deterministic law δ_{r(s,a)} on the distinct values of ``mdp.rewards``."""
    if not isinstance(mdp, TabularMDP):
        raise TypeError(f"mdp: expected a TabularMDP, got {type(mdp).__name__}")
    S, A = mdp.n_states, mdp.n_actions
    if values is None and probs is None:
        vals, inv = torch.unique(mdp.rewards, sorted=True, return_inverse=True)
        p = torch.nn.functional.one_hot(inv, vals.shape[0]).to(DTYPE)
        return RewardLaw(vals, p)
    if values is None or probs is None:
        raise ValueError("values: give both values and probs of the reward law, or neither")
    vals = _increasing(values, "values", device=mdp.device)
    p = as_tensor(probs, "probs", device=mdp.device)
    if tuple(p.shape) != (S, A, vals.shape[0]):
        raise ValueError(f"probs: expected shape [S, A, R] = {(S, A, vals.shape[0])}, got {tuple(p.shape)}")
    p = check_probabilities(p, "probs")
    err = float((p @ vals - mdp.rewards).abs().max())
    if err > MEAN_TOL:
        raise ValueError(f"probs: the reward law's means differ from mdp.rewards by {err:.3g} (> {MEAN_TOL:g})")
    return RewardLaw(vals, p)


def action_value_laws(mdp: TabularMDP, support, probs) -> ActionValueLaws:
    """Validate a state–action law of ``mdp``: ``support [M]`` strictly increasing, ``probs [S, A, M]``."""
    if not isinstance(mdp, TabularMDP):
        raise TypeError(f"mdp: expected a TabularMDP, got {type(mdp).__name__}")
    z = _increasing(support, "support", device=mdp.device)
    p = as_tensor(probs, "probs", device=mdp.device)
    if tuple(p.shape) != (mdp.n_states, mdp.n_actions, z.shape[0]):
        raise ValueError(f"probs: expected shape [S, A, M] = {(mdp.n_states, mdp.n_actions, z.shape[0])}, "
                         f"got {tuple(p.shape)}")
    return ActionValueLaws(z, check_probabilities(p, "probs"))


def compact(atoms: torch.Tensor, probs: torch.Tensor) -> ActionValueLaws:
    """Merge exactly equal atoms and drop atoms of zero probability in every row: ``atoms [N]``, ``probs [..., N]``
    → a sorted support ``[M]`` (M ≤ N) and ``probs [..., M]``. No validation (internal layout helper, public for tests)."""
    keep = (probs != 0).flatten(0, -2).any(0) if probs.ndim > 1 else probs != 0
    atoms, probs = atoms[keep], probs[..., keep]
    uniq, inv = torch.unique(atoms, sorted=True, return_inverse=True)
    out = torch.zeros(*probs.shape[:-1], uniq.shape[0], dtype=probs.dtype, device=probs.device)
    out.index_add_(out.ndim - 1, inv, probs)
    return ActionValueLaws(uniq, out)


def _check_laws(mdp: TabularMDP, laws, name: str = "laws") -> ActionValueLaws:
    if not isinstance(laws, ActionValueLaws):
        raise TypeError(f"{name}: expected ActionValueLaws (support, probs), got {type(laws).__name__}")
    return action_value_laws(mdp, laws.support, laws.probs)


def _check_rewards(mdp: TabularMDP, rewards) -> RewardLaw:
    if rewards is None:
        return reward_law(mdp)
    if not isinstance(rewards, RewardLaw):
        raise TypeError(f"rewards: expected a RewardLaw or None, got {type(rewards).__name__}")
    return reward_law(mdp, rewards.values, rewards.probs)


def _apply(mdp: TabularMDP, pi: torch.Tensor, laws: ActionValueLaws, rewards: RewardLaw) -> ActionValueLaws:
    S, A, M = laws.probs.shape
    kernel = (mdp.transitions[:, :, :, None] * pi[None, None, :, :]).reshape(S * A, S * A)  # (s,a) → (s',a')
    nxt = (kernel @ laws.probs.reshape(S * A, M)).reshape(S, A, 1, M)
    probs = (rewards.probs[:, :, :, None] * nxt).reshape(S, A, -1)  # [S, A, R·M]
    atoms = (rewards.values[:, None] + mdp.discount * laws.support[None, :]).reshape(-1)
    return compact(atoms, probs)


def evaluation_operator(mdp: TabularMDP, pi, laws: ActionValueLaws, rewards: RewardLaw | None = None) -> ActionValueLaws:
    r"""Exact :math:`T^\pi Z` (see the module docstring): ``pi [S, A]``, ``laws`` on ``[M]`` atoms → laws on at most
    R·M atoms. ``rewards``: a :class:`RewardLaw` (default: the deterministic rewards of ``mdp``)."""
    pi = check_single_policy(mdp, pi)
    return _apply(mdp, pi, _check_laws(mdp, laws), _check_rewards(mdp, rewards))


def mean_evaluation_operator(mdp: TabularMDP, pi, q) -> torch.Tensor:
    r"""The classical :math:`(T^\pi Q)(s,a) = r(s,a) + \gamma\sum_{s'}P(s'|s,a)\sum_{a'}\pi(a'|s')Q(s',a')`, ``[S, A]``."""
    pi = check_single_policy(mdp, pi)
    q = check_finite(as_tensor(q, "q", device=mdp.device), "q")
    if tuple(q.shape) != (mdp.n_states, mdp.n_actions):
        raise ValueError(f"q: expected shape [S, A] = {(mdp.n_states, mdp.n_actions)}, got {tuple(q.shape)}")
    return mdp.rewards + mdp.discount * torch.einsum("sat,t->sa", mdp.transitions, (pi * q).sum(-1))


TIE_BREAKS: Registry = Registry("tie-breaking rule")


@TIE_BREAKS.register("first")
def tie_break_first(tied: torch.Tensor) -> torch.Tensor:
    """Among the tied actions ``tied [S, A]`` (bool, at least one True per row) pick the lowest index: ``[S]``."""
    return tied.to(torch.int8).argmax(-1)


@TIE_BREAKS.register("last")
def tie_break_last(tied: torch.Tensor) -> torch.Tensor:
    """Among the tied actions ``tied [S, A]`` (bool) pick the highest index: ``[S]``."""
    A = tied.shape[-1]
    return A - 1 - tied.flip(-1).to(torch.int8).argmax(-1)


def greedy_policy(laws: ActionValueLaws, tie_break: str = "first", tol: float = 0.0) -> torch.Tensor:
    """The deterministic policy greedy for the means E Z(s, a): one-hot ``[S, A]``. Actions whose mean is within
    ``tol`` (≥ 0) of the best are tied; ``tie_break`` names a rule of :data:`TIE_BREAKS`."""
    if not isinstance(laws, ActionValueLaws):
        raise TypeError(f"laws: expected ActionValueLaws (support, probs), got {type(laws).__name__}")
    tol = check_real(tol, "tol", low=0.0)
    rule = TIE_BREAKS.get(tie_break, "tie_break")
    q = laws.means()
    tied = q >= q.max(-1, keepdim=True).values - tol
    return torch.nn.functional.one_hot(rule(tied), q.shape[-1]).to(DTYPE)


def control_operator(mdp: TabularMDP, laws: ActionValueLaws, rewards: RewardLaw | None = None,
                     tie_break: str = "first", tol: float = 0.0) -> tuple[ActionValueLaws, torch.Tensor]:
    r"""One application of the distributional control operator :math:`\mathcal TZ = T^{\pi_Z}Z`; returns the new laws
    and the greedy policy π_Z ``[S, A]`` it used (:func:`greedy_policy` with ``tie_break`` and ``tol``)."""
    laws = _check_laws(mdp, laws)
    pi = greedy_policy(laws, tie_break, tol)
    return _apply(mdp, pi, laws, _check_rewards(mdp, rewards)), pi


def _pair(l1, l2):
    for name, l in (("laws1", l1), ("laws2", l2)):
        if not isinstance(l, ActionValueLaws):
            raise TypeError(f"{name}: expected ActionValueLaws (support, probs), got {type(l).__name__}")
    if l1.probs.shape[:-1] != l2.probs.shape[:-1]:
        raise ValueError(f"laws2: state–action shape {tuple(l2.probs.shape[:-1])} differs from laws1's "
                         f"{tuple(l1.probs.shape[:-1])}")


def action_sup_wasserstein1(laws1: ActionValueLaws, laws2: ActionValueLaws) -> float:
    r""":math:`\bar d_1(Z_1,Z_2)=\max_{s,a}W_1(Z_1(s,a),Z_2(s,a))`, exact (Bellemare et al. 2017, eq. 2 with p = 1)."""
    _pair(laws1, laws2)
    return float(wasserstein1(laws1.support, laws1.probs, laws2.support, laws2.probs).max())


def action_sup_kolmogorov(laws1: ActionValueLaws, laws2: ActionValueLaws) -> float:
    r""":math:`\max_{s,a}\sup_x|F_{Z_1(s,a)}(x)-F_{Z_2(s,a)}(x)|`, exact. T^π is *not* a γ-contraction in it (the
    Kolmogorov distance is invariant under the scaling z ↦ γz); a wrong metric for Lemma 3, used as a twin."""
    _pair(laws1, laws2)
    return float(kolmogorov_distance(laws1.support, laws1.probs, laws2.support, laws2.probs).max())


class CategoricalFixedPoint(NamedTuple):
    """The fixed point of Π_C T^π on a support, and a bound on its sup-W1 distance to the true law."""

    laws: ActionValueLaws
    iterations: int
    last_change: float  #: sup-W1 distance of the last two iterates
    error_bound: float  #: (Δ/2 + γ·last_change)/(1 − γ), Δ the largest gap of the support


def categorical_evaluation_fixed_point(mdp: TabularMDP, pi, support, rewards: RewardLaw | None = None, *,
                                       tol: float = 1e-12, max_iter: int = 100_000) -> CategoricalFixedPoint:
    r"""Iterate :math:`Z\leftarrow\Pi_C T^\pi Z` on ``support [m]`` from uniform probabilities until the sup-W1 change is
    at most ``tol``.

    The support must cover every return: [z_1, z_m] ⊇ [min R/(1−γ), max R/(1−γ)] (checked), so T^π maps laws on it
    into it, Π_C is a W1 non-expansion there and moves a law by at most Δ/2, Δ = max gap
    (:mod:`pgtheory.exact.return_law` for the proof); hence the iteration is a γ-contraction and its limit η̂ satisfies
    :math:`\bar d_1(\hat\eta,\eta^\pi)\le(\Delta/2+\gamma\,d_k)/(1-\gamma)` with d_k the last change (``error_bound``).
    Π_C preserves means on the support, so the fixed point's means are Q^π (up to the iteration tolerance).
    """
    pi = check_single_policy(mdp, pi)
    rewards = _check_rewards(mdp, rewards)
    z = _increasing(support, "support", device=mdp.device)
    if z.shape[0] < 2:
        raise ValueError("support: needs at least 2 atoms")
    g = mdp.discount
    lo, hi = float(rewards.values.min()) / (1 - g), float(rewards.values.max()) / (1 - g)
    if float(z[0]) > lo + 1e-12 * max(1.0, abs(lo)) or float(z[-1]) < hi - 1e-12 * max(1.0, abs(hi)):
        raise ValueError(f"support: must cover the returns [{lo:.6g}, {hi:.6g}], got [{float(z[0]):.6g}, {float(z[-1]):.6g}]")
    tol = check_real(tol, "tol", low=0.0, low_open=True)
    max_iter = check_positive_int(max_iter, "max_iter")
    S, A, m = mdp.n_states, mdp.n_actions, z.shape[0]
    maps = [categorical_projection_map(r + g * z, z) for r in rewards.values]
    kernel = (mdp.transitions[:, :, :, None] * pi[None, None, :, :]).reshape(S * A, S * A)
    rp = rewards.probs.reshape(S * A, -1)
    gaps = z[1:] - z[:-1]
    probs = torch.full((S * A, m), 1.0 / m, dtype=DTYPE, device=mdp.device)
    change = float("inf")
    for k in range(1, max_iter + 1):
        nxt = kernel @ probs
        new = torch.zeros_like(probs)
        for j, (lo, frac) in enumerate(maps):
            w = rp[:, j:j + 1] * nxt
            new.index_add_(1, lo, w * (1 - frac))
            new.index_add_(1, lo + 1, w * frac)
        change = float(((new - probs).cumsum(-1)[:, :-1].abs() @ gaps).max())  # exact W1 on the shared support
        probs = new
        if change <= tol:
            break
    delta = float(gaps.max())
    return CategoricalFixedPoint(ActionValueLaws(z, probs.reshape(S, A, m)), k, change, (delta / 2 + g * change) / (1 - g))


def categorical_projection_map(atoms, support) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Π_C of the point masses at ``atoms [N]`` onto the increasing ``support [m]`` as a sparse map: ``lo [N]``
    (int64, in 0..m−2) and ``frac [N]`` such that δ_x ↦ (1 − frac)·δ_{z_lo} + frac·δ_{z_{lo+1}}, with x clipped to
    [z_1, z_m] (Bellemare et al. 2017, eq. 7). Equal to :func:`pgtheory.exact.distributional.categorical_projection`
    applied to each atom (tested); used to apply Π_C to many laws on the same atoms without re-sorting."""
    z = _increasing(support, "support")
    if z.shape[0] < 2:
        raise ValueError("support: needs at least 2 atoms")
    x = check_finite(as_tensor(atoms, "atoms", device=z.device), "atoms")
    if x.ndim != 1:
        raise ValueError(f"atoms: expected shape [N], got {tuple(x.shape)}")
    xc = x.clamp(float(z[0]), float(z[-1]))
    lo = (torch.searchsorted(z, xc.contiguous(), right=True) - 1).clamp(0, z.shape[0] - 2)
    frac = ((xc - z[lo]) / (z[lo + 1] - z[lo])).clamp(0.0, 1.0)
    return lo, frac


class ControlExample(NamedTuple):
    """A small MDP for the control operator, its reward law, and (where known) its optimal laws Z*."""

    mdp: TabularMDP
    rewards: RewardLaw
    z_star: ActionValueLaws | None


def non_contraction_example(epsilon: float, discount: float = 0.9) -> tuple[ControlExample, ActionValueLaws]:
    """Proposition 1's MDP (module docstring): returns the example (with Z*) and the perturbed Z with
    d̄1(Z, Z*) = 2ε. States: 0 = x1, 1 = x2, 2 = terminal; 0 < ε < 1."""
    eps = check_real(epsilon, "epsilon", low=0.0, high=1.0, low_open=True, high_open=True)
    g = check_discount(discount, "discount")
    P = torch.zeros(3, 2, 3, dtype=DTYPE)
    P[0, :, 1] = 1.0
    P[1, :, 2] = 1.0
    P[2, :, 2] = 1.0
    r = torch.zeros(3, 2, dtype=DTYPE)
    r[1, 1] = eps
    mdp = TabularMDP(P, r, g, torch.tensor([1.0, 0.0, 0.0], dtype=DTYPE), name=f"prop1(eps={eps:g})")
    values = torch.tensor([eps - 1, 0.0, eps + 1], dtype=DTYPE)
    rp = torch.zeros(3, 2, 3, dtype=DTYPE)
    rp[:, :, 1] = 1.0
    rp[1, 1] = torch.tensor([0.5, 0.0, 0.5], dtype=DTYPE)
    rewards = reward_law(mdp, values, rp)
    atoms = torch.tensor([g * (eps - 1), g * (eps + 1), eps - 1, eps + 1, -eps - 1, -eps + 1, 0.0], dtype=DTYPE)
    star = torch.zeros(3, 2, 7, dtype=DTYPE)
    star[0, :, 0] = star[0, :, 1] = 0.5
    star[1, 0, 6] = 1.0
    star[1, 1, 2] = star[1, 1, 3] = 0.5
    star[2, :, 6] = 1.0
    pert = star.clone()
    pert[1, 1] = 0.0
    pert[1, 1, 4] = pert[1, 1, 5] = 0.5
    support, inv = torch.unique(atoms, sorted=True, return_inverse=True)
    on_support = lambda p: torch.zeros(3, 2, support.shape[0], dtype=DTYPE).index_add_(2, inv, p)  # noqa: E731
    return ControlExample(mdp, rewards, ActionValueLaws(support, on_support(star))), ActionValueLaws(support, on_support(pert))


def tied_oscillation_example(discount: float = 0.8, low: float = 1.0, high: float = 1.0, gap: float = 0.0) -> ControlExample:
    """The tied-action MDP of the module docstring: states 0 = x0, 1 = s, 2 = y1, 3 = y2, two actions.

    R1 (at y1) = −``low`` w.p. high/(low+high), +``high`` w.p. low/(low+high) (mean 0); R2 (at y2) = δ_``gap``.
    ``gap`` = 0 ties the two actions at s (Z_k oscillates); ``gap`` > 0 makes a1 (→ y2) the unique optimum (Z_k
    converges). ``z_star`` is None (Z* has infinite support)."""
    g = check_discount(discount, "discount")
    a = check_real(low, "low", low=0.0, low_open=True)
    b = check_real(high, "high", low=0.0, low_open=True)
    gp = check_real(gap, "gap", low=0.0)
    P = torch.zeros(4, 2, 4, dtype=DTYPE)
    P[0, :, 1] = 1.0
    P[1, 0, 2] = 1.0
    P[1, 1, 3] = 1.0
    P[2, :, 3] = 1.0
    P[3, :, 2] = 1.0
    r = torch.zeros(4, 2, dtype=DTYPE)
    r[3, :] = gp
    mdp = TabularMDP(P, r, g, torch.tensor([1.0, 0.0, 0.0, 0.0], dtype=DTYPE), name=f"tied-oscillation(gap={gp:g})")
    vals = sorted({-a, 0.0, b, gp})
    values = torch.tensor(vals, dtype=DTYPE)
    rp = torch.zeros(4, 2, len(vals), dtype=DTYPE)
    rp[0, :, vals.index(0.0)] = 1.0
    rp[1, :, vals.index(0.0)] = 1.0
    rp[2, :, vals.index(-a)] = b / (a + b)
    rp[2, :, vals.index(b)] = a / (a + b)
    rp[3, :, vals.index(gp)] = 1.0
    return ControlExample(mdp, reward_law(mdp, values, rp), None)
