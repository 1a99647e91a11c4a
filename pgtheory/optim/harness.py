r"""The optimiser harness: R independent runs of one algorithm, batched as a leading tensor dimension.

An algorithm (:class:`Algorithm`) is four pieces:

* a **gradient estimator** — per-trajectory GPOMDP estimates ĝ(θ; τ) from :data:`~pgtheory.estimators.PG_ESTIMATORS`
  (or none, for the exact references);
* a **direction rule** — ``(oracle, θ_t, state, t, n_t) ↦ (d_t, state)``: minibatch mean, recursive momentum, exact ∇J, F⁺∇J;
* a **step rule** — ``(θ_t, d_t, t) ↦ θ_{t+1}``: θ + η d, or θ + η d/‖d‖;
* a **batch schedule** — ``t ↦ n_t`` trajectories per run at iteration t (``None`` for exact algorithms).

The concrete algorithms live in :mod:`pgtheory.optim.algorithms` (registry ``ALGORITHMS``). This module holds the
contract, the sampling oracle and the loop.

Shapes. θ is ``[R, S, A]`` (tabular softmax, one parameter table per run); directions are ``[R, S, A]``;
per-trajectory estimates are ``[R, n, S, A]``; records are numpy arrays ``[R, K]`` over K checkpoints.

Seeding. Run r owns the generator ``torch.Generator(device).manual_seed(seeds[r])`` and every random number of run r
comes from it, in an order that depends only on run r's own trajectories (see :func:`sample_policies`). Hence the
batched result for ``seeds=[a, b]`` equals the results for ``seeds=[a]`` and ``seeds=[b]`` run one at a time, and the
same seeds on the same device give the same numbers.

Batching. :class:`~pgtheory.sampling.TrajectorySampler` takes one policy ``[S, A]`` and one generator and builds an
alias table over the joint outcome (a, s', continue) per policy, so R policies would need R samplers per iteration.
:func:`sample_policies` instead draws for R policies in one loop over time steps: the action by inverse CDF of
π_r(·|s) and (s', continue) from one alias table of the MDP built once per run. The only Python loop over runs is
the draw of each run's uniforms from its own generator (once per block of steps, not per step).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, NamedTuple, Sequence

import numpy as np
import torch

from .._checks import as_tensor, check_finite_result, check_positive_int
from ..estimators.policy_gradient import PG_ESTIMATORS
from ..exact.evaluation import evaluate_policy
from ..exact.gradients import natural_gradient, policy_gradient
from ..policies.tabular import TabularSoftmax
from ..problems.mdp import TabularMDP
from ..sampling.alias import AliasTable, build_alias_table, sample_alias
from ..sampling.mdp import Trajectories

__all__ = ["Algorithm", "Oracle", "Step", "OptimTrace", "sample_policies", "transition_alias_table",
           "per_trajectory_gradients", "log_importance_weights", "seed_generators", "thinned_checkpoints",
           "iterate", "run"]

DirectionRule = Callable[["Oracle", torch.Tensor, Any, int, "int | None"], "tuple[torch.Tensor, Any]"]
StepRule = Callable[[torch.Tensor, torch.Tensor, int], torch.Tensor]
BatchSchedule = Callable[[int], int]


@dataclass(frozen=True)
class Algorithm:
    """An optimiser: direction rule + step rule + batch schedule, with the hyper-parameters that built it.

    ``direction(oracle, theta [R,S,A], state, t, n) -> (d [R,S,A], state)`` (``state`` is ``None`` at t = 0);
    ``step(theta, d, t) -> theta_next``; ``batch(t) -> n_t`` trajectories per run (``None``: the direction is exact and
    draws nothing). Build them with :func:`pgtheory.optim.make_algorithm`.
    """

    name: str
    direction: DirectionRule
    step: StepRule
    batch: BatchSchedule | None
    params: dict = field(default_factory=dict)

    @property
    def stochastic(self) -> bool:
        return self.batch is not None


# ---------------------------------------------------------------------------------------------------------------
# batched sampling of R policies
# ---------------------------------------------------------------------------------------------------------------

def transition_alias_table(mdp: TabularMDP) -> AliasTable:
    r"""Alias table over the outcomes of each (s, a) under geometric termination, rows ``s·A + a``, ``S + 1`` outcomes:

    s' with probability γ P(s'|s, a), and outcome S (stop) with probability 1 − γ.
    """
    if not isinstance(mdp, TabularMDP):
        raise TypeError(f"mdp: expected a TabularMDP, got {type(mdp).__name__}")
    S, A, g = mdp.n_states, mdp.n_actions, mdp.discount
    cont = mdp.transitions.reshape(S * A, S) * g
    stop = torch.full((S * A, 1), 1.0 - g, dtype=cont.dtype, device=cont.device)
    return build_alias_table(torch.cat([cont, stop], dim=1), validate=False)


def seed_generators(seeds: Sequence[int], device: torch.device | str) -> list[torch.Generator]:
    """One ``torch.Generator`` on ``device`` per seed, ``manual_seed(seeds[r])`` (non-negative integers)."""
    if isinstance(seeds, (str, bytes)) or not hasattr(seeds, "__len__"):
        raise TypeError(f"seeds: expected a sequence of non-negative integers, got {type(seeds).__name__}")
    if len(seeds) == 0:
        raise ValueError("seeds: expected at least one seed, got an empty sequence")
    out = []
    for s in seeds:
        s = check_positive_int(s, "seeds", minimum=0)
        out.append(torch.Generator(device=device).manual_seed(s))
    return out


def _default_cap(discount: float) -> int:
    return max(10, int(50 / (1 - discount)))


def sample_policies(mdp: TabularMDP, pi: torch.Tensor, n: int, generators: Sequence[torch.Generator], *,
                    max_steps: int | None = None, table: AliasTable | None = None) -> Trajectories:
    r"""Draw ``n`` geometric-termination trajectories of each of R policies ``pi [R, S, A]`` in one batch.

    Returns one :class:`~pgtheory.sampling.Trajectories` with R·n episodes, episode id ``r·n + i`` (run-major), states
    and actions of the MDP itself, weights 1 (so Σ_t r_t is unbiased for J(π_r), as in ``TrajectorySampler``) and
    ``log_target = log_behaviour = log π_r(a_t|s_t)``. Per-episode estimators (``per_episode_sum``, ``reverse_cumsum``,
    the ψ_t of :data:`~pgtheory.estimators.PG_ESTIMATORS`) apply unchanged; :func:`per_trajectory_gradients` contracts
    with the right run's policy.

    Randomness: run r draws only from ``generators[r]``: first n uniforms for the initial states, then, in blocks of
    L steps (L = max(16, ⌈1/(1−γ)⌉), capped by ``max_steps``), a ``[2, n, L]`` uniform block (action, transition) and,
    when the MDP has reward noise, an ``[n, L]`` normal block — the next block only while run r still has a live
    episode. The stream of run r is therefore the same whatever the other runs are (batched = one-at-a-time).
    Action: a = #{j < A−1 : F_r(j|s) ≤ u}, the inverse CDF of π_r(·|s); next state / stop from :func:`transition_alias_table`.

    ``max_steps`` caps the episode length (default max(10, 50/(1−γ)), as ``TrajectorySampler``): an episode still alive
    after it raises ``RuntimeError`` (no silent truncation).
    """
    if not isinstance(mdp, TabularMDP):
        raise TypeError(f"mdp: expected a TabularMDP, got {type(mdp).__name__}")
    n = check_positive_int(n, "n")
    S, A, dev = mdp.n_states, mdp.n_actions, mdp.device
    if not isinstance(pi, torch.Tensor):
        raise TypeError(f"pi: expected a torch.Tensor [R, S, A], got {type(pi).__name__}")
    if pi.ndim != 3 or tuple(pi.shape[1:]) != (S, A):
        raise ValueError(f"pi: expected shape [R, S, A] = [R, {S}, {A}], got {tuple(pi.shape)}")
    if pi.device != dev:
        raise ValueError(f"pi: on device {pi.device} but the MDP is on {dev}")
    R = pi.shape[0]
    if len(generators) != R:
        raise ValueError(f"generators: expected one generator per policy ({R}), got {len(generators)}")
    for g in generators:
        if not isinstance(g, torch.Generator):
            raise TypeError(f"generators: expected torch.Generator entries, got {type(g).__name__}")
        if g.device.type != dev.type:
            raise ValueError(f"generators: a generator is on {g.device} but the MDP is on {dev}")
    cap = _default_cap(mdp.discount) if max_steps is None else check_positive_int(max_steps, "max_steps")
    table = transition_alias_table(mdp) if table is None else table
    L = min(cap, max(16, math.ceil(1 / (1 - mdp.discount))))
    noisy = bool((mdp.reward_std > 0).any())
    f64 = dict(dtype=torch.float64, device=dev)
    cdf = pi.to(torch.float64).cumsum(-1)[..., : A - 1]  # [R, S, A-1]
    init_table = build_alias_table(mdp.initial.unsqueeze(0), validate=False)

    def block(alive_runs: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor | None]:
        U = torch.zeros(R, 2, n, L, **f64)
        Z = torch.zeros(R, n, L, **f64) if noisy else None
        runs = range(R) if alive_runs is None else alive_runs.tolist()
        for r in runs:
            U[r] = torch.rand(2, n, L, generator=generators[r], **f64)
            if noisy:
                Z[r] = torch.randn(n, L, generator=generators[r], **f64)
        return U, Z

    u0 = torch.empty(R, n, **f64)
    U_list, Z_list = [], []
    for r in range(R):  # run r's stream: initial uniforms, then its first block
        u0[r] = torch.rand(n, generator=generators[r], **f64)
        U_list.append(torch.rand(2, n, L, generator=generators[r], **f64))
        Z_list.append(torch.randn(n, L, generator=generators[r], **f64) if noisy else None)
    U = torch.stack(U_list)
    Z = torch.stack(Z_list) if noisy else None
    s = sample_alias(init_table, torch.zeros(R * n, dtype=torch.long, device=dev), u0.reshape(-1))
    ep = torch.arange(R * n, device=dev)
    eps, states, actions, noise, offsets = [], [], [], [], [0]
    for t in range(cap):
        j = t % L
        if j == 0 and t > 0:
            U, Z = block(torch.unique(torch.div(ep, n, rounding_mode="floor")))
        run = torch.div(ep, n, rounding_mode="floor")
        i = ep - run * n
        ua, us = U[run, 0, i, j], U[run, 1, i, j]
        a = (cdf[run, s] <= ua.unsqueeze(-1)).sum(-1)
        k = sample_alias(table, s * A + a, us)
        eps.append(ep)
        states.append(s)
        actions.append(a)
        if noisy:
            noise.append(Z[run, i, j])
        offsets.append(offsets[-1] + int(ep.shape[0]))
        keep = k < S
        ep, s = ep[keep], k[keep]
        if ep.numel() == 0:
            break
    else:
        raise RuntimeError(f"max_steps: {int(ep.numel())} of {R * n} geometric episodes outlived the cap of {cap} steps; "
                           "raise max_steps (each episode survives H steps with probability γ^H)")
    episode, st, ac = torch.cat(eps), torch.cat(states), torch.cat(actions)
    rew = mdp.rewards[st, ac]
    if noisy:
        rew = rew + mdp.reward_std[st, ac] * torch.cat(noise)
    run = torch.div(episode, n, rounding_mode="floor")
    logp = torch.where(pi > 0, pi.to(torch.float64).log(), torch.full_like(pi, -torch.inf, dtype=torch.float64))[run, st, ac]
    return Trajectories(episode, st, ac, rew, torch.ones_like(rew), logp, logp, tuple(offsets), R * n, "geometric",
                        mdp.discount)


def _check_batched(traj: Trajectories, theta: torch.Tensor, n: int, name: str = "theta") -> tuple[int, int, int]:
    if not isinstance(traj, Trajectories):
        raise TypeError(f"traj: expected a Trajectories batch, got {type(traj).__name__}")
    if not isinstance(theta, torch.Tensor) or theta.ndim != 3:
        raise ValueError(f"{name}: expected a tensor [R, S, A], got {getattr(theta, 'shape', type(theta).__name__)}")
    R, S, A = theta.shape
    if traj.n != R * n:
        raise ValueError(f"traj: has {traj.n} episodes but {name} has R = {R} runs of n = {n} (expected R·n = {R * n})")
    if traj.n_transitions and (int(traj.states.max()) >= S or int(traj.actions.max()) >= A):
        raise ValueError(f"{name}: has shape [R, S, A] = {(R, S, A)} but the trajectories visit state "
                         f"{int(traj.states.max())} and take action {int(traj.actions.max())}")
    return R, S, A


def per_trajectory_gradients(traj: Trajectories, theta: torch.Tensor, n: int, estimator: str = "gpomdp") -> torch.Tensor:
    r"""ĝ(θ_r; τ_{r,i}) = Σ_t ψ_t ∇_θ log π_{θ_r}(a_t|s_t) for every run r and trajectory i: ``[R, n, S, A]``.

    ``traj`` from :func:`sample_policies` (R·n episodes, run-major); ``theta [R, S, A]`` the tabular-softmax parameters
    whose score is used — the sampling parameters, or others (then the estimate is the off-policy ĝ(θ'; τ) that
    recursive estimators need). ψ_t is the named estimator's per-step weight (default ``gpomdp``: reward-to-go
    Σ_{t'≥t} r_{t'}, Baxter & Bartlett 2001), which depends on the rewards only. Softmax score:
    ĝ[r, i, s, ·] = W[r, i, s, ·] − π_r(·|s) Σ_b W[r, i, s, b] with W[r, i, s, a] = Σ_t ψ_t 1[s_t = s, a_t = a], as in
    :func:`~pgtheory.estimators.score_contraction`.
    """
    R, S, A = _check_batched(traj, theta, n)
    fn = PG_ESTIMATORS.resolve(estimator, {}, n_positional=1, arg="estimator")
    psi = fn(traj)
    flat = traj.episode * (S * A) + traj.states * A + traj.actions
    W = torch.zeros(R * n * S * A, dtype=torch.float64, device=psi.device).index_add_(0, flat, psi).view(R, n, S, A)
    pi = torch.softmax(theta, -1).unsqueeze(1)
    return check_finite_result(W - pi * W.sum(-1, keepdim=True), "traj, theta", f"{estimator} estimate")


def log_importance_weights(traj: Trajectories, theta_target: torch.Tensor, theta_behaviour: torch.Tensor, n: int) -> torch.Tensor:
    r"""log w(τ) = Σ_t [log π_{θ'}(a_t|s_t) − log π_θ(a_t|s_t)] per trajectory, ``[R, n]`` (θ' = target, θ = behaviour).

    Under geometric termination the trajectory density is ρ(s_0) Π_t π(a_t|s_t) (γP(s_{t+1}|s_t,a_t) or 1 − γ), so
    w(τ) = p_{θ'}(τ)/p_θ(τ) is exactly this product over *all* actions of the episode and E_{τ∼θ}[w(τ) f(τ)] =
    E_{τ∼θ'}[f(τ)] for every f.
    """
    R, S, A = _check_batched(traj, theta_behaviour, n, "theta_behaviour")
    if not isinstance(theta_target, torch.Tensor) or tuple(theta_target.shape) != (R, S, A):
        raise ValueError(f"theta_target: expected shape {(R, S, A)}, got {getattr(theta_target, 'shape', None)}")
    run = torch.div(traj.episode, n, rounding_mode="floor")
    x = (torch.log_softmax(theta_target, -1) - torch.log_softmax(theta_behaviour, -1))[run, traj.states, traj.actions]
    return traj.per_episode_sum(x).view(R, n)


# ---------------------------------------------------------------------------------------------------------------
# the oracle an algorithm talks to
# ---------------------------------------------------------------------------------------------------------------

class Oracle:
    """What a direction rule may ask: trajectories at θ (counted), per-trajectory estimates, IS weights, exact ∇J, F⁺∇J.

    Holds the MDP, the tabular-softmax policy, one generator per run and the counters of consumed samples
    (``trajectories [R]``, ``transitions [R]``, int64). Exact queries are free (they consume no samples).
    """

    def __init__(self, mdp: TabularMDP, generators: Sequence[torch.Generator], *, max_steps: int | None = None,
                 estimator: str = "gpomdp"):
        if not isinstance(mdp, TabularMDP):
            raise TypeError(f"mdp: expected a TabularMDP, got {type(mdp).__name__}")
        self.mdp = mdp
        self.policy = TabularSoftmax(mdp.n_states, mdp.n_actions)
        self.generators = list(generators)
        self.R = len(self.generators)
        self.max_steps = _default_cap(mdp.discount) if max_steps is None else check_positive_int(max_steps, "max_steps")
        PG_ESTIMATORS.resolve(estimator, {}, n_positional=1, arg="estimator")
        self.estimator = estimator
        self.table = transition_alias_table(mdp)
        self.trajectories = torch.zeros(self.R, dtype=torch.long, device=mdp.device)
        self.transitions = torch.zeros(self.R, dtype=torch.long, device=mdp.device)

    def sample(self, theta: torch.Tensor, n: int) -> Trajectories:
        """``n`` fresh trajectories of each run's π_θ (``theta [R, S, A]``); the counters grow by n and by the transitions."""
        traj = sample_policies(self.mdp, torch.softmax(theta, -1), n, self.generators, max_steps=self.max_steps,
                               table=self.table)
        self.trajectories += n
        run = torch.div(traj.episode, n, rounding_mode="floor")
        self.transitions += torch.bincount(run, minlength=self.R)
        return traj

    def gradient_estimates(self, traj: Trajectories, theta: torch.Tensor) -> torch.Tensor:
        """Per-trajectory estimates ĝ(θ; τ) ``[R, n, S, A]`` of the oracle's estimator (see :func:`per_trajectory_gradients`)."""
        return per_trajectory_gradients(traj, theta, traj.n // self.R, self.estimator)

    def log_weights(self, traj: Trajectories, theta_target: torch.Tensor, theta_behaviour: torch.Tensor) -> torch.Tensor:
        """log p_{θ_target}(τ)/p_{θ_behaviour}(τ), ``[R, n]`` (see :func:`log_importance_weights`)."""
        return log_importance_weights(traj, theta_target, theta_behaviour, traj.n // self.R)

    def exact_gradient(self, theta: torch.Tensor) -> torch.Tensor:
        """∇J(θ) ``[R, S, A]`` (policy-gradient theorem, :func:`~pgtheory.exact.policy_gradient`)."""
        return policy_gradient(self.mdp, self.policy, theta)

    def natural_gradient(self, theta: torch.Tensor) -> torch.Tensor:
        """F(θ)⁺∇J(θ) ``[R, S, A]`` (:func:`~pgtheory.exact.natural_gradient`)."""
        return natural_gradient(self.mdp, self.policy, theta)

    def objective(self, theta: torch.Tensor) -> torch.Tensor:
        """J(θ) = ρᵀV^{π_θ}, ``[R]``."""
        return evaluate_policy(self.mdp, torch.softmax(theta, -1)).objective


# ---------------------------------------------------------------------------------------------------------------
# the loop
# ---------------------------------------------------------------------------------------------------------------

class Step(NamedTuple):
    """One iteration of :func:`iterate`: θ_t, the direction d_t computed at θ_t, and the samples it took."""

    t: int
    theta: torch.Tensor  #: θ_t, [R, S, A]
    direction: torch.Tensor  #: d_t, [R, S, A]
    trajectories: torch.Tensor  #: int64 [R], trajectories drawn before iteration t (to reach θ_t)
    transitions: torch.Tensor  #: int64 [R], transitions drawn before iteration t
    new_trajectories: torch.Tensor  #: int64 [R], trajectories drawn at iteration t (for d_t)
    new_transitions: torch.Tensor  #: int64 [R], transitions drawn at iteration t


def _prepare(mdp, algorithm, theta0, seeds, device) -> tuple[TabularMDP, torch.Tensor, list[torch.Generator]]:
    if not isinstance(mdp, TabularMDP):
        raise TypeError(f"mdp: expected a TabularMDP, got {type(mdp).__name__}")
    if not isinstance(algorithm, Algorithm):
        raise TypeError(f"algorithm: expected an Algorithm (see pgtheory.optim.make_algorithm), got {type(algorithm).__name__}")
    if device is not None:
        mdp = mdp.to(device)
    gens = seed_generators(seeds, mdp.device)
    R, S, A = len(gens), mdp.n_states, mdp.n_actions
    if isinstance(theta0, torch.Tensor) and theta0.device != mdp.device:
        raise ValueError(f"theta0: on device {theta0.device} but the MDP is on {mdp.device}")
    th = as_tensor(theta0, "theta0", device=mdp.device)
    if tuple(th.shape) == (S, A):
        th = th.expand(R, S, A)
    elif tuple(th.shape) != (R, S, A):
        raise ValueError(f"theta0: expected shape [S, A] = {(S, A)} or [R, S, A] = {(R, S, A)} (R = number of seeds), "
                         f"got {tuple(th.shape)}")
    if not bool(torch.isfinite(th).all()):
        raise ValueError("theta0: must be finite")
    return mdp, th.clone(), gens


def _iterate(mdp: TabularMDP, algorithm: Algorithm, theta: torch.Tensor, gens: list[torch.Generator],
             max_steps: int | None) -> Iterator[Step]:
    oracle = Oracle(mdp, gens, max_steps=max_steps)
    state = None
    t = 0
    while True:
        n = None if algorithm.batch is None else check_positive_int(algorithm.batch(t), "batch_size")
        traj0, trans0 = oracle.trajectories.clone(), oracle.transitions.clone()
        d, state = algorithm.direction(oracle, theta, state, t, n)
        check_finite_result(d, "theta, samples", f"{algorithm.name} direction at iteration {t}")
        yield Step(t, theta, d, traj0, trans0, oracle.trajectories - traj0, oracle.transitions - trans0)
        theta = check_finite_result(algorithm.step(theta, d, t), "step_size, direction",
                                    f"{algorithm.name} parameters at iteration {t + 1}")
        t += 1


def iterate(mdp: TabularMDP, algorithm: Algorithm, theta0, *, seeds: Sequence[int], device: torch.device | str | None = None,
            max_steps: int | None = None) -> Iterator[Step]:
    """Run ``algorithm`` from ``theta0`` ([S, A], shared, or [R, S, A]) for R = len(seeds) independent runs, lazily.

    Yields :class:`Step` t = 0, 1, 2, … (forever; stop by breaking or ``itertools.islice``): θ_t, then the direction
    d_t = ``algorithm.direction`` at θ_t with n_t = ``algorithm.batch(t)`` trajectories per run; the next ``next()``
    applies θ_{t+1} = ``algorithm.step(θ_t, d_t, t)``. Tensors live on the MDP's device (or ``device``). Arguments are
    validated here, before the first ``next()``.
    """
    mdp, theta, gens = _prepare(mdp, algorithm, theta0, seeds, device)
    return _iterate(mdp, algorithm, theta, gens, max_steps)


def thinned_checkpoints(n_iterations: int, n_points: int = 50) -> np.ndarray:
    """About ``n_points`` iterations in [0, n_iterations − 1], log-spaced (dense early, sparse late), always with 0 and
    the last iteration: int64 ``[K]``, sorted, unique."""
    T = check_positive_int(n_iterations, "n_iterations")
    k = check_positive_int(n_points, "n_points", minimum=2)
    pts = np.rint(np.geomspace(1, T, k)).astype(np.int64) - 1
    return np.unique(np.concatenate([[0, T - 1], pts]))


@dataclass(frozen=True)
class OptimTrace:
    """Records of R runs at K checkpoints (numpy, ``[R, K]``) plus the final state after ``n_iterations`` steps.

    At checkpoint k (iteration t_k = ``iterations[k]``): ``trajectories``/``transitions`` consumed to reach θ_{t_k};
    ``objective`` J(θ_{t_k}) and ``grad_norm`` ‖∇J(θ_{t_k})‖₂ (exact layer); ``direction_norm`` ‖d_{t_k}‖₂ and
    ``direction_error`` ‖d_{t_k} − ∇J(θ_{t_k})‖₂ (Euclidean norms over the S·A coordinates). ``final_*``: θ_T, J(θ_T)
    and the samples consumed to reach θ_T (T = ``n_iterations``).
    """

    algorithm: str
    params: dict
    seeds: tuple[int, ...]
    n_iterations: int
    iterations: np.ndarray  #: int64 [K]
    trajectories: np.ndarray  #: int64 [R, K]
    transitions: np.ndarray  #: int64 [R, K]
    objective: np.ndarray  #: float64 [R, K]
    grad_norm: np.ndarray  #: float64 [R, K]
    direction_norm: np.ndarray  #: float64 [R, K]
    direction_error: np.ndarray  #: float64 [R, K]
    final_theta: np.ndarray  #: float64 [R, S, A], θ_T
    final_objective: np.ndarray  #: float64 [R], J(θ_T)
    final_trajectories: np.ndarray  #: int64 [R]
    final_transitions: np.ndarray  #: int64 [R]

    @property
    def n_runs(self) -> int:
        return len(self.seeds)


def run(mdp: TabularMDP, algorithm: Algorithm, theta0, *, seeds: Sequence[int], n_iterations: int,
        checkpoints: Sequence[int] | None = None, n_checkpoints: int = 50, device: torch.device | str | None = None,
        max_steps: int | None = None) -> OptimTrace:
    """Run ``algorithm`` for ``n_iterations`` steps on R = len(seeds) batched runs and record a thinned trace.

    ``checkpoints``: iterations in [0, n_iterations − 1] to record (default :func:`thinned_checkpoints` with
    ``n_checkpoints`` points). Memory: the records (R·K numbers each) and one iteration's tensors — nothing grows with
    ``n_iterations``. Same seeds and device ⇒ identical trace; runs are independent of each other (batched = one at a
    time). See :func:`iterate` for the rest.
    """
    T = check_positive_int(n_iterations, "n_iterations")
    if checkpoints is None:
        ck = thinned_checkpoints(T, n_checkpoints)
    else:
        if isinstance(checkpoints, (str, bytes)) or not hasattr(checkpoints, "__len__") or len(checkpoints) == 0:
            raise ValueError("checkpoints: expected a non-empty sequence of iterations")
        ck = np.unique(np.asarray([check_positive_int(c, "checkpoints", minimum=0) for c in checkpoints], dtype=np.int64))
        if ck[-1] >= T:
            raise ValueError(f"checkpoints: iteration {int(ck[-1])} is outside [0, n_iterations − 1] = [0, {T - 1}]")
    mdp, theta, gens = _prepare(mdp, algorithm, theta0, seeds, device)
    policy = TabularSoftmax(mdp.n_states, mdp.n_actions)
    R, K = len(gens), len(ck)
    rec = {k: np.zeros((R, K)) for k in ("objective", "grad_norm", "direction_norm", "direction_error")}
    rec_traj, rec_trans = np.zeros((R, K), dtype=np.int64), np.zeros((R, K), dtype=np.int64)
    where = {int(c): i for i, c in enumerate(ck)}
    steps = _iterate(mdp, algorithm, theta, gens, max_steps)
    for step in steps:
        k = where.get(step.t)
        if k is not None:
            g = policy_gradient(mdp, policy, step.theta)
            rec["objective"][:, k] = evaluate_policy(mdp, torch.softmax(step.theta, -1)).objective.cpu().numpy()
            rec["grad_norm"][:, k] = g.flatten(1).norm(dim=1).cpu().numpy()
            rec["direction_norm"][:, k] = step.direction.flatten(1).norm(dim=1).cpu().numpy()
            rec["direction_error"][:, k] = (step.direction - g).flatten(1).norm(dim=1).cpu().numpy()
            rec_traj[:, k] = step.trajectories.cpu().numpy()
            rec_trans[:, k] = step.transitions.cpu().numpy()
        if step.t == T - 1:
            break
    steps.close()
    final_theta = check_finite_result(algorithm.step(step.theta, step.direction, step.t), "step_size, direction",
                                      f"{algorithm.name} parameters at iteration {T}")
    J_T = evaluate_policy(mdp, torch.softmax(final_theta, -1)).objective.cpu().numpy()
    return OptimTrace(algorithm.name, dict(algorithm.params), tuple(int(s) for s in seeds), T, ck, rec_traj, rec_trans,
                      rec["objective"], rec["grad_norm"], rec["direction_norm"], rec["direction_error"],
                      final_theta.cpu().numpy(), J_T, (step.trajectories + step.new_trajectories).cpu().numpy(),
                      (step.transitions + step.new_transitions).cpu().numpy())
