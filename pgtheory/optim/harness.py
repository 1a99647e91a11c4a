r"""The optimiser harness: R independent runs of one algorithm, batched as a leading tensor dimension.

An algorithm (:class:`Algorithm`) is four pieces:

* a **gradient estimator** — per-trajectory GPOMDP estimates ĝ(θ; τ) served by an :class:`~pgtheory.optim.oracles.Oracle`
  (or none, for the exact references);
* a **direction rule** — ``(oracle, θ_t, state, t, n_t) ↦ (d_t, state)``: minibatch mean, recursive momentum, IGT,
  Hessian-aided recursion, exact ∇J, F⁺∇J;
* a **step rule** — ``(oracle, θ_t, d_t, t) ↦ θ_{t+1}``: θ + η_t d, θ + η_t d/‖d‖, Polyak's η_t;
* a **batch schedule** — ``t ↦ n_t`` trajectories per run at iteration t (``None`` for exact algorithms).

The concrete algorithms live in :mod:`pgtheory.optim.algorithms` (registry ``ALGORITHMS``), the oracles in
:mod:`pgtheory.optim.oracles`. This module holds the contract and the loop.

Problems. A :class:`~pgtheory.problems.TabularMDP` (tabular softmax, θ ``[R, S, A]``) or an
:class:`~pgtheory.problems.LQR` with a :class:`~pgtheory.policies.LinearGaussianPolicy` (gains ``[R, m, n]``).
Directions have θ's shape; records are numpy arrays ``[R, K]`` over K checkpoints.

Seeding. Run r owns the generator ``torch.Generator(device).manual_seed(seeds[r])`` and every random number of run r
comes from it, in an order that depends only on run r's own trajectories (:mod:`pgtheory.sampling.runs`). Hence the
batched result for ``seeds=[a, b]`` equals the results for ``seeds=[a]`` and ``seeds=[b]`` run one at a time, and the
same seeds on the same device give the same numbers.

Divergence. A step that leaves the feasible set (an LQR gain that no longer stabilises the discounted system, so
J = −∞) is not taken: the run is frozen at its last feasible θ and flagged (``diverged_at``); its records after that
iteration are NaN. Tabular runs never diverge.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, NamedTuple, Sequence

import numpy as np
import torch

from .._checks import as_tensor, check_finite_result, check_positive_int
from ..sampling.runs import seed_generators
from .oracles import Oracle, make_oracle

__all__ = ["Algorithm", "Step", "OptimTrace", "thinned_checkpoints", "iterate", "run"]

DirectionRule = Callable[[Oracle, torch.Tensor, Any, int, "int | None"], "tuple[torch.Tensor, Any]"]
StepRule = Callable[[Oracle, torch.Tensor, torch.Tensor, int], torch.Tensor]
BatchSchedule = Callable[[int], int]


@dataclass(frozen=True)
class Algorithm:
    """An optimiser: direction rule + step rule + batch schedule, with the hyper-parameters that built it.

    ``direction(oracle, theta [R,*P], state, t, n) -> (d [R,*P], state)`` (``state`` is ``None`` at t = 0);
    ``step(oracle, theta, d, t) -> theta_next``; ``batch(t) -> n_t`` trajectories per run (``None``: the direction is exact and
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
# the loop
# ---------------------------------------------------------------------------------------------------------------

class Step(NamedTuple):
    """One iteration of :func:`iterate`: θ_t, the direction d_t computed at θ_t, and the samples it took."""

    t: int
    theta: torch.Tensor  #: θ_t, [R, *P]
    direction: torch.Tensor  #: d_t, [R, *P]
    trajectories: torch.Tensor  #: int64 [R], trajectories drawn before iteration t (to reach θ_t)
    transitions: torch.Tensor  #: int64 [R], transitions drawn before iteration t
    new_trajectories: torch.Tensor  #: int64 [R], trajectories drawn at iteration t (for d_t)
    new_transitions: torch.Tensor  #: int64 [R], transitions drawn at iteration t
    diverged: torch.Tensor  #: bool [R], runs frozen before iteration t (a step of theirs left the feasible set)


def _prepare(problem, algorithm, theta0, seeds, device, policy, max_steps) -> tuple[Oracle, torch.Tensor]:
    if not isinstance(algorithm, Algorithm):
        raise TypeError(f"algorithm: expected an Algorithm (see pgtheory.optim.make_algorithm), got {type(algorithm).__name__}")
    if device is not None and hasattr(problem, "to"):
        problem = problem.to(device)
    dev = getattr(problem, "device", torch.device("cpu"))
    gens = seed_generators(seeds, dev)
    oracle = make_oracle(problem, gens, policy=policy, max_steps=max_steps)
    R, P = len(gens), tuple(oracle.param_shape)
    if isinstance(theta0, torch.Tensor) and theta0.device != dev:
        raise ValueError(f"theta0: on device {theta0.device} but the problem is on {dev}")
    th = as_tensor(theta0, "theta0", device=dev)
    if tuple(th.shape) == P:
        th = th.expand(R, *P)
    elif tuple(th.shape) != (R, *P):
        raise ValueError(f"theta0: expected shape {list(P)} or [R, {', '.join(map(str, P))}] (R = {R} seeds), got {tuple(th.shape)}")
    if not bool(torch.isfinite(th).all()):
        raise ValueError("theta0: must be finite")
    bad = ~oracle.feasible(th)
    if bool(bad.any()):
        raise ValueError(f"theta0: run {int(bad.nonzero()[0, 0])} starts outside the feasible set "
                         "(an LQR gain must stabilise the discounted system)")
    return oracle, th.clone()


def _iterate(oracle: Oracle, algorithm: Algorithm, theta: torch.Tensor) -> Iterator[Step]:
    state = None
    t = 0
    frozen = torch.zeros(oracle.R, dtype=torch.bool, device=theta.device)
    while True:
        n = None if algorithm.batch is None else check_positive_int(algorithm.batch(t), "batch_size")
        traj0, trans0 = oracle.trajectories.clone(), oracle.transitions.clone()
        d, state = algorithm.direction(oracle, theta, state, t, n)
        check_finite_result(d, "theta, samples", f"{algorithm.name} direction at iteration {t}")
        yield Step(t, theta, d, traj0, trans0, oracle.trajectories - traj0, oracle.transitions - trans0, frozen.clone())
        proposal = check_finite_result(algorithm.step(oracle, theta, d, t), "step_size, direction",
                                       f"{algorithm.name} parameters at iteration {t + 1}")
        frozen = frozen | ~oracle.feasible(proposal)
        keep = frozen.view(-1, *([1] * (theta.ndim - 1)))
        theta = torch.where(keep, theta, proposal)
        t += 1


def iterate(problem, algorithm: Algorithm, theta0, *, seeds: Sequence[int], policy=None,
            device: torch.device | str | None = None, max_steps: int | None = None) -> Iterator[Step]:
    """Run ``algorithm`` from ``theta0`` (shared ``[*P]`` or ``[R, *P]``) for R = len(seeds) independent runs, lazily.

    ``problem``: a TabularMDP, or an LQR with ``policy`` its LinearGaussianPolicy. Yields :class:`Step` t = 0, 1, 2, …
    (forever; stop by breaking or ``itertools.islice``): θ_t, then the direction d_t = ``algorithm.direction`` at θ_t
    with n_t = ``algorithm.batch(t)`` trajectories per run; the next ``next()`` applies θ_{t+1} =
    ``algorithm.step(oracle, θ_t, d_t, t)`` (not for runs whose proposal is infeasible: they are frozen). Tensors live
    on the problem's device (or ``device``). Arguments are validated here, before the first ``next()``.
    """
    oracle, theta = _prepare(problem, algorithm, theta0, seeds, device, policy, max_steps)
    return _iterate(oracle, algorithm, theta)


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
    ``direction_error`` ‖d_{t_k} − ∇J(θ_{t_k})‖₂ (Euclidean norms over all parameters). ``optimum``: J* of the
    problem. ``diverged_at [R]``: the first iteration whose step was refused (−1: never); records from that checkpoint
    on are NaN. ``final_*``: θ_T, J(θ_T) (NaN if diverged) and the samples consumed to reach θ_T (T = ``n_iterations``).
    """

    algorithm: str
    params: dict
    seeds: tuple[int, ...]
    n_iterations: int
    optimum: float
    iterations: np.ndarray  #: int64 [K]
    trajectories: np.ndarray  #: int64 [R, K]
    transitions: np.ndarray  #: int64 [R, K]
    objective: np.ndarray  #: float64 [R, K]
    grad_norm: np.ndarray  #: float64 [R, K]
    direction_norm: np.ndarray  #: float64 [R, K]
    direction_error: np.ndarray  #: float64 [R, K]
    diverged_at: np.ndarray  #: int64 [R]
    final_theta: np.ndarray  #: float64 [R, *P], θ_T
    final_objective: np.ndarray  #: float64 [R], J(θ_T)
    final_trajectories: np.ndarray  #: int64 [R]
    final_transitions: np.ndarray  #: int64 [R]

    @property
    def n_runs(self) -> int:
        return len(self.seeds)

    @property
    def gap(self) -> np.ndarray:
        """J* − J(θ_{t_k}), ``[R, K]`` (NaN after divergence)."""
        return self.optimum - self.objective


def _checkpoint_list(T: int, checkpoints, n_checkpoints: int) -> np.ndarray:
    if checkpoints is None:
        return thinned_checkpoints(T, n_checkpoints)
    if isinstance(checkpoints, (str, bytes)) or not hasattr(checkpoints, "__len__") or len(checkpoints) == 0:
        raise ValueError("checkpoints: expected a non-empty sequence of iterations")
    ck = np.unique(np.asarray([check_positive_int(c, "checkpoints", minimum=0) for c in checkpoints], dtype=np.int64))
    if ck[-1] >= T:
        raise ValueError(f"checkpoints: iteration {int(ck[-1])} is outside [0, n_iterations − 1] = [0, {T - 1}]")
    return ck


def run(problem, algorithm: Algorithm, theta0, *, seeds: Sequence[int], n_iterations: int, policy=None,
        checkpoints: Sequence[int] | None = None, n_checkpoints: int = 50, device: torch.device | str | None = None,
        max_steps: int | None = None) -> OptimTrace:
    """Run ``algorithm`` for ``n_iterations`` steps on R = len(seeds) batched runs and record a thinned trace.

    ``checkpoints``: iterations in [0, n_iterations − 1] to record (default :func:`thinned_checkpoints` with
    ``n_checkpoints`` points). Memory: the records (R·K numbers each) and one iteration's tensors — nothing grows with
    ``n_iterations``. Same seeds and device ⇒ identical trace; runs are independent of each other (batched = one at a
    time). See :func:`iterate` for the rest.
    """
    T = check_positive_int(n_iterations, "n_iterations")
    ck = _checkpoint_list(T, checkpoints, n_checkpoints)
    oracle, theta = _prepare(problem, algorithm, theta0, seeds, device, policy, max_steps)
    R, K = oracle.R, len(ck)
    rec = {k: np.full((R, K), np.nan) for k in ("objective", "grad_norm", "direction_norm", "direction_error")}
    rec_traj, rec_trans = np.zeros((R, K), dtype=np.int64), np.zeros((R, K), dtype=np.int64)
    diverged_at = np.full(R, -1, dtype=np.int64)
    where = {int(c): i for i, c in enumerate(ck)}
    steps = _iterate(oracle, algorithm, theta)
    for step in steps:
        newly = step.diverged.cpu().numpy() & (diverged_at < 0)
        diverged_at[newly] = step.t - 1
        k = where.get(step.t)
        if k is not None:
            live = ~step.diverged.cpu().numpy()
            g = oracle.exact_gradient(step.theta)
            rec["objective"][live, k] = oracle.objective(step.theta).cpu().numpy()[live]
            rec["grad_norm"][live, k] = g.flatten(1).norm(dim=1).cpu().numpy()[live]
            rec["direction_norm"][live, k] = step.direction.flatten(1).norm(dim=1).cpu().numpy()[live]
            rec["direction_error"][live, k] = (step.direction - g).flatten(1).norm(dim=1).cpu().numpy()[live]
            rec_traj[:, k] = step.trajectories.cpu().numpy()
            rec_trans[:, k] = step.transitions.cpu().numpy()
        if step.t == T - 1:
            break
    steps.close()
    proposal = check_finite_result(algorithm.step(oracle, step.theta, step.direction, step.t), "step_size, direction",
                                   f"{algorithm.name} parameters at iteration {T}")
    ok = oracle.feasible(proposal) & ~step.diverged
    diverged_at[(~ok).cpu().numpy() & (diverged_at < 0)] = T - 1
    final_theta = torch.where(ok.view(-1, *([1] * (proposal.ndim - 1))), proposal, step.theta)
    J_T = np.full(R, np.nan)
    okn = ok.cpu().numpy()
    if okn.any():
        J_T[okn] = oracle.objective(final_theta).cpu().numpy()[okn]
    return OptimTrace(algorithm.name, dict(algorithm.params), tuple(int(s) for s in seeds), T, oracle.optimum(), ck,
                      rec_traj, rec_trans, rec["objective"], rec["grad_norm"], rec["direction_norm"],
                      rec["direction_error"], diverged_at, final_theta.cpu().numpy(), J_T,
                      (step.trajectories + step.new_trajectories).cpu().numpy(),
                      (step.transitions + step.new_transitions).cpu().numpy())
