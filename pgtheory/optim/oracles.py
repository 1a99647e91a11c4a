r"""What an optimiser may ask of a problem: batched samples, per-trajectory estimates, IS weights, exact truth.

An :class:`Oracle` serves R independent runs at once; parameters are ``theta [R, *P]`` (P = ``param_shape``). Two
problems are served:

* :class:`TabularOracle` — a :class:`~pgtheory.problems.TabularMDP` with a tabular-softmax policy, ``P = (S, A)``;
* :class:`LQROracle` — an :class:`~pgtheory.problems.LQR` with a linear-Gaussian policy u = −Kx + σε, ``P = (m, n)``
  (Fisher-non-degenerate: F(K) = I_m ⊗ (1−γ)Σ_K/σ² ≻ 0 when Σ_0 ≻ 0).

Stochastic queries (trajectories are drawn with geometric termination, so everything below is exact, not truncated):

* ``gradient_estimates(batch, θ)`` — the GPOMDP estimate ĝ(θ; τ) = Σ_t ψ_t ∇log π_θ(a_t|s_t), ψ_t = Σ_{t'≥t} r_{t'}
  (Baxter & Bartlett 2001), unbiased for ∇J(θ) when τ ∼ π_θ; at another θ it is the off-policy term recursive
  estimators need;
* ``log_weights(batch, θ', θ)`` — log p_{θ'}(τ)/p_θ(τ) = Σ_t log π_{θ'}(a_t|s_t) − log π_θ(a_t|s_t);
* ``hessian_vector_estimates(batch, θ, v)`` — B̂(τ; θ)v with the unbiased Hessian estimate of Shen et al. 2019
  (HAPG) used by Fatkhullin et al. 2023 (N-HARPG): with Φ(θ; τ) = Σ_t ψ_t log π_θ(a_t|s_t) (ψ does not depend on θ),
  ∇J(θ) = E_τ[∇Φ(θ; τ)] and differentiating under the integral gives

  .. math:: \nabla^2 J(\theta) = \mathbb E_{\tau\sim\pi_\theta}\big[\nabla\Phi\,\nabla\log p_\theta(\tau)^\top + \nabla^2\Phi\big],
            \qquad \hat B(\tau;\theta)v = \hat g(\theta;\tau)\,\langle\nabla\log p_\theta(\tau), v\rangle + \nabla^2\Phi(\theta;\tau)\,v .

  Closed forms of ∇²Φ v: tabular softmax, −W_s(π_s ⊙ v_s − π_s⟨π_s, v_s⟩) per state s with W_s = Σ_{t: s_t = s} ψ_t;
  linear-Gaussian, −Σ_t ψ_t (V x_t) x_tᵀ/σ² (log π is quadratic in K). Tests check them against autograd.

Exact queries consume no samples: ``exact_gradient``, ``natural_gradient``, ``objective``, ``optimum`` (J*), and
``feasible`` (LQR: the gain stabilises the discounted system, ρ(√γ(A − BK)) < 1; tabular: always).
Counters ``trajectories [R]`` and ``transitions [R]`` (int64) grow with every ``sample``.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any, Sequence

import torch

from .._checks import check_finite_result, check_positive_int
from ..estimators.policy_gradient import PG_ESTIMATORS
from ..exact.evaluation import evaluate_policy
from ..exact.gradients import natural_gradient, policy_gradient
from ..exact.multi_objective import objective_vector, scalarised_gradient, scalarised_objective, scalarised_optimum
from ..exact.lqr import (check_lqr_policy, lqr_closed_loop_radius, lqr_natural_gradient, lqr_objective, lqr_optimal_gain,
                         lqr_policy_gradient)
from ..exact.solvers import value_iteration
from ..policies.gaussian import LinearGaussianPolicy
from ..policies.tabular import TabularSoftmax
from ..problems.lqr import LQR
from ..problems.mdp import TabularMDP
from ..problems.multi_objective import ScalarisedMDP
from ..sampling.mdp import Trajectories
from ..sampling.alias import build_alias_table
from ..sampling.runs import LQRRunBatch, default_episode_cap, sample_lqr_runs, sample_policies, transition_alias_table

__all__ = ["Oracle", "TabularOracle", "ScalarisedOracle", "LQROracle", "make_oracle", "per_trajectory_gradients", "log_importance_weights",
           "tabular_hessian_vector_estimates"]


class Oracle:
    """The interface every direction rule talks to (see the module docstring); subclasses serve one kind of problem."""

    param_shape: tuple[int, ...]

    def __init__(self, generators: Sequence[torch.Generator], device: torch.device):
        self.generators = list(generators)
        self.R = len(self.generators)
        self.trajectories = torch.zeros(self.R, dtype=torch.long, device=device)
        self.transitions = torch.zeros(self.R, dtype=torch.long, device=device)

    def _count(self, n: int, per_run_transitions: torch.Tensor) -> None:
        self.trajectories += n
        self.transitions += per_run_transitions

    # stochastic ---------------------------------------------------------------------------------------------------
    def sample(self, theta: torch.Tensor, n: int) -> Any:
        raise NotImplementedError

    def gradient_estimates(self, batch: Any, theta: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def returns(self, batch: Any) -> torch.Tensor:
        """Σ_t r_t per trajectory, ``[R, n]``: unbiased for J(θ_r) of the sampling parameters."""
        raise NotImplementedError

    def log_weights(self, batch: Any, theta_target: torch.Tensor, theta_behaviour: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def hessian_vector_estimates(self, batch: Any, theta: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    # exact --------------------------------------------------------------------------------------------------------
    def exact_gradient(self, theta: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def natural_gradient(self, theta: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def objective(self, theta: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def optimum(self) -> float:
        raise NotImplementedError

    def feasible(self, theta: torch.Tensor) -> torch.Tensor:
        """bool ``[R]``: θ_r is a parameter the exact layer can evaluate (finite J)."""
        return torch.isfinite(theta.flatten(1)).all(1)


# ---------------------------------------------------------------------------------------------------------------
# tabular softmax
# ---------------------------------------------------------------------------------------------------------------

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


def _visit_sums(traj: Trajectories, weights: torch.Tensor, R: int, n: int, S: int, A: int) -> torch.Tensor:
    """W[r, i, s, a] = Σ_t weights_t 1[s_t = s, a_t = a] over episode r·n + i, ``[R, n, S, A]``."""
    flat = traj.episode * (S * A) + traj.states * A + traj.actions
    return torch.zeros(R * n * S * A, dtype=torch.float64, device=weights.device).index_add_(0, flat, weights).view(R, n, S, A)


def per_trajectory_gradients(traj: Trajectories, theta: torch.Tensor, n: int, estimator: str = "gpomdp") -> torch.Tensor:
    r"""ĝ(θ_r; τ_{r,i}) = Σ_t ψ_t ∇_θ log π_{θ_r}(a_t|s_t) for every run r and trajectory i: ``[R, n, S, A]``.

    ``traj`` from :func:`~pgtheory.sampling.sample_policies` (R·n episodes, run-major); ``theta [R, S, A]`` the
    tabular-softmax parameters whose score is used — the sampling parameters, or others (then the estimate is the
    off-policy ĝ(θ'; τ) that recursive estimators need). ψ_t is the named estimator's per-step weight (default
    ``gpomdp``: reward-to-go Σ_{t'≥t} r_{t'}, Baxter & Bartlett 2001), which depends on the rewards only. Softmax
    score: ĝ[r, i, s, ·] = W[r, i, s, ·] − π_r(·|s) Σ_b W[r, i, s, b] with W[r, i, s, a] = Σ_t ψ_t 1[s_t = s, a_t = a],
    as in :func:`~pgtheory.estimators.score_contraction`.
    """
    R, S, A = _check_batched(traj, theta, n)
    fn = PG_ESTIMATORS.resolve(estimator, {}, n_positional=1, arg="estimator")
    W = _visit_sums(traj, fn(traj), R, n, S, A)
    pi = torch.softmax(theta, -1).unsqueeze(1)
    return check_finite_result(W - pi * W.sum(-1, keepdim=True), "traj, theta", f"{estimator} estimate")


def tabular_hessian_vector_estimates(traj: Trajectories, theta: torch.Tensor, v: torch.Tensor, n: int,
                                     estimator: str = "gpomdp") -> torch.Tensor:
    r"""B̂(τ; θ)v = ĝ(θ; τ)⟨∇log p_θ(τ), v⟩ + ∇²Φ(θ; τ)v per run and trajectory, ``[R, n, S, A]`` (module docstring).

    ``v [R, S, A]``. ∇log p_θ(τ) = N − π N_s (N the visit counts); ∇²Φ v[s, ·] = −W_s (π_s ⊙ v_s − π_s ⟨π_s, v_s⟩) with
    W_s = Σ_{t: s_t = s} ψ_t. E_{τ∼π_θ}[B̂(τ; θ)v] = ∇²J(θ)v exactly.
    """
    R, S, A = _check_batched(traj, theta, n)
    if not isinstance(v, torch.Tensor) or tuple(v.shape) != (R, S, A):
        raise ValueError(f"v: expected shape {(R, S, A)}, got {getattr(v, 'shape', type(v).__name__)}")
    fn = PG_ESTIMATORS.resolve(estimator, {}, n_positional=1, arg="estimator")
    W = _visit_sums(traj, fn(traj), R, n, S, A)
    N = _visit_sums(traj, torch.ones_like(traj.rewards, dtype=torch.float64), R, n, S, A)
    pi = torch.softmax(theta, -1).unsqueeze(1)  # [R, 1, S, A]
    g = W - pi * W.sum(-1, keepdim=True)
    score = N - pi * N.sum(-1, keepdim=True)
    vv = v.unsqueeze(1)
    inner = (score * vv).sum((-1, -2))  # [R, n]
    curvature = -W.sum(-1, keepdim=True) * (pi * vv - pi * (pi * vv).sum(-1, keepdim=True))
    return check_finite_result(g * inner[..., None, None] + curvature, "traj, theta, v", "Hessian-vector estimate")


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


class TabularOracle(Oracle):
    """Runs of a tabular-softmax policy on a :class:`~pgtheory.problems.TabularMDP`; ``theta [R, S, A]``."""

    def __init__(self, mdp: TabularMDP, generators: Sequence[torch.Generator], *, max_steps: int | None = None,
                 estimator: str = "gpomdp"):
        if not isinstance(mdp, TabularMDP):
            raise TypeError(f"mdp: expected a TabularMDP, got {type(mdp).__name__}")
        super().__init__(generators, mdp.device)
        self.mdp = mdp
        self.policy = TabularSoftmax(mdp.n_states, mdp.n_actions)
        self.param_shape = (mdp.n_states, mdp.n_actions)
        self.max_steps = default_episode_cap(mdp.discount) if max_steps is None else check_positive_int(max_steps, "max_steps")
        PG_ESTIMATORS.resolve(estimator, {}, n_positional=1, arg="estimator")
        self.estimator = estimator
        self.table = transition_alias_table(mdp)
        self.initial_table = build_alias_table(mdp.initial.unsqueeze(0), validate=False)
        self._optimum: float | None = None

    def sample(self, theta: torch.Tensor, n: int) -> Trajectories:
        """``n`` fresh trajectories of each run's π_θ (``theta [R, S, A]``); the counters grow by n and by the transitions."""
        traj = sample_policies(self.mdp, torch.softmax(theta, -1), n, self.generators, max_steps=self.max_steps,
                               table=self.table, initial_table=self.initial_table)
        run = torch.div(traj.episode, n, rounding_mode="floor")
        self._count(n, torch.bincount(run, minlength=self.R))
        return traj

    def returns(self, traj: Trajectories) -> torch.Tensor:
        """Σ_t r_t per trajectory (geometric termination, weights 1), ``[R, n]``."""
        return traj.discounted_returns().view(self.R, -1)

    def gradient_estimates(self, traj: Trajectories, theta: torch.Tensor) -> torch.Tensor:
        """Per-trajectory estimates ĝ(θ; τ) ``[R, n, S, A]`` (see :func:`per_trajectory_gradients`)."""
        return per_trajectory_gradients(traj, theta, traj.n // self.R, self.estimator)

    def log_weights(self, traj: Trajectories, theta_target: torch.Tensor, theta_behaviour: torch.Tensor) -> torch.Tensor:
        """log p_{θ_target}(τ)/p_{θ_behaviour}(τ), ``[R, n]`` (see :func:`log_importance_weights`)."""
        return log_importance_weights(traj, theta_target, theta_behaviour, traj.n // self.R)

    def hessian_vector_estimates(self, traj: Trajectories, theta: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """B̂(τ; θ)v ``[R, n, S, A]`` (see :func:`tabular_hessian_vector_estimates`)."""
        return tabular_hessian_vector_estimates(traj, theta, v, traj.n // self.R, self.estimator)

    def exact_gradient(self, theta: torch.Tensor) -> torch.Tensor:
        """∇J(θ) ``[R, S, A]`` (policy-gradient theorem, :func:`~pgtheory.exact.policy_gradient`)."""
        return policy_gradient(self.mdp, self.policy, theta)

    def natural_gradient(self, theta: torch.Tensor) -> torch.Tensor:
        """F(θ)⁺∇J(θ) ``[R, S, A]`` (:func:`~pgtheory.exact.natural_gradient`)."""
        return natural_gradient(self.mdp, self.policy, theta)

    def objective(self, theta: torch.Tensor) -> torch.Tensor:
        """J(θ) = ρᵀV^{π_θ}, ``[R]``."""
        return evaluate_policy(self.mdp, torch.softmax(theta, -1)).objective

    def optimum(self) -> float:
        """J* = ρᵀV* (value iteration), cached."""
        if self._optimum is None:
            self._optimum = float(self.mdp.initial @ value_iteration(self.mdp).v)
        return self._optimum


class ScalarisedOracle(TabularOracle):
    r"""Runs of a tabular-softmax policy on a :class:`~pgtheory.problems.ScalarisedMDP`: F(θ) = f(J_1(θ), …, J_m(θ)).

    Trajectories are drawn from the shared transition law; every channel's reward is read off the visited (s, a), so
    one batch serves all m objectives. Stochastic queries are *per channel*: ``objective_estimates`` (returns, ``[R, n,
    m]``, unbiased for J(θ)) and ``jacobian_estimates`` (GPOMDP per channel, ``[R, n, m, S, A]``, unbiased for ∇J_i).
    There is no per-trajectory unbiased estimate of ∇F = Σ_i ∂_i f(J)∇J_i when f is not linear (∂f(Ĵ) is biased), so
    ``gradient_estimates`` and ``returns`` refuse (a single-objective algorithm cannot silently run on F); the
    multi-objective direction rules form ∂f(Ĵ)ᵀ∇̂J themselves. Exact queries: ``objective`` = F(θ), ``exact_gradient`` =
    ∇F(θ), ``objective_vector`` = J(θ), ``optimum`` = max_π F (a convex program in occupancy,
    :func:`~pgtheory.exact.scalarised_optimum`). ``project`` clips estimates of J onto the box every J(π) lies in.
    """

    def __init__(self, problem: ScalarisedMDP, generators: Sequence[torch.Generator], *, max_steps: int | None = None):
        if not isinstance(problem, ScalarisedMDP):
            raise TypeError(f"problem: expected a ScalarisedMDP, got {type(problem).__name__}")
        super().__init__(problem.mdp.base, generators, max_steps=max_steps)
        self.problem = problem
        self.scalarisation = problem.scalarisation
        self.channel_rewards = problem.mdp.rewards  # [m, S, A]
        self.bounds = problem.mdp.objective_range()

    @property
    def n_objectives(self) -> int:
        return self.problem.mdp.n_objectives

    def _channel(self, traj: Trajectories, i: int) -> Trajectories:
        return replace(traj, rewards=self.channel_rewards[i][traj.states, traj.actions])

    def objective_estimates(self, traj: Trajectories) -> torch.Tensor:
        """Σ_t r_i(s_t, a_t) per trajectory and channel (geometric termination), ``[R, n, m]``: unbiased for J(θ)."""
        return torch.stack([self._channel(traj, i).discounted_returns().view(self.R, -1)
                            for i in range(self.n_objectives)], -1)

    def jacobian_estimates(self, traj: Trajectories, theta: torch.Tensor) -> torch.Tensor:
        """GPOMDP estimates of every ∇J_i at ``theta``, ``[R, n, m, S, A]`` (:func:`per_trajectory_gradients` per channel)."""
        n = traj.n // self.R
        return torch.stack([per_trajectory_gradients(self._channel(traj, i), theta, n, self.estimator)
                            for i in range(self.n_objectives)], 2)

    def project(self, J: torch.Tensor) -> torch.Tensor:
        """``J [..., m]`` clipped onto [min r_i, max r_i]/(1 − γ) per channel (every J(π) lies there)."""
        lo, hi = self.bounds
        return torch.minimum(torch.maximum(J, lo.to(J)), hi.to(J))

    def gradient_estimates(self, batch, theta):
        raise TypeError("gradient_estimates: a scalarised objective f(J) has no per-trajectory unbiased gradient "
                        "estimate; use a multi-objective algorithm (mopg, mo_tsivr_pg), which forms ∂f(Ĵ)ᵀ∇̂J")

    def returns(self, batch):
        raise TypeError("returns: a scalarised objective f(J) has no per-trajectory unbiased estimate; use "
                        "objective_estimates (per channel)")

    def hessian_vector_estimates(self, batch, theta, v):
        raise TypeError("hessian_vector_estimates: not available for a scalarised objective")

    def natural_gradient(self, theta):
        raise TypeError("natural_gradient: not available for a scalarised objective")

    def objective_vector(self, theta: torch.Tensor) -> torch.Tensor:
        """J(θ) ``[R, m]``."""
        return objective_vector(self.problem.mdp, torch.softmax(theta, -1))

    def exact_gradient(self, theta: torch.Tensor) -> torch.Tensor:
        """∇F(θ) = Σ_i ∂_i f(J(θ)) ∇J_i(θ), ``[R, S, A]``."""
        return scalarised_gradient(self.problem.mdp, self.scalarisation, self.policy, theta)

    def objective(self, theta: torch.Tensor) -> torch.Tensor:
        """F(θ) = f(J(θ)), ``[R]``."""
        return scalarised_objective(self.problem.mdp, self.scalarisation, torch.softmax(theta, -1))

    def optimum(self) -> float:
        """max_π F(π) (:func:`~pgtheory.exact.scalarised_optimum`), cached."""
        if self._optimum is None:
            self._optimum = scalarised_optimum(self.problem.mdp, self.scalarisation)[0]
        return self._optimum


# ---------------------------------------------------------------------------------------------------------------
# linear-Gaussian policies on an LQR
# ---------------------------------------------------------------------------------------------------------------

def _check_lqr_batch(batch: LQRRunBatch, theta: torch.Tensor, name: str = "theta") -> None:
    if not isinstance(batch, LQRRunBatch):
        raise TypeError(f"batch: expected an LQRRunBatch, got {type(batch).__name__}")
    if not isinstance(theta, torch.Tensor) or tuple(theta.shape) != tuple(batch.gains.shape):
        raise ValueError(f"{name}: expected gains of shape {tuple(batch.gains.shape)}, got {getattr(theta, 'shape', None)}")


def _action_residuals(batch: LQRRunBatch, K: torch.Tensor) -> torch.Tensor:
    """u_t + K x_t for every step (0 past the end), ``[R, n, T, m]``."""
    return batch.actions + batch.states @ K.transpose(-1, -2).unsqueeze(1)


class LQROracle(Oracle):
    """Runs of a linear-Gaussian policy u = −Kx + σε on an :class:`~pgtheory.problems.LQR`; ``theta`` = gains ``[R, m, n]``."""

    def __init__(self, lqr: LQR, policy: LinearGaussianPolicy, generators: Sequence[torch.Generator], *,
                 max_steps: int | None = None):
        check_lqr_policy(lqr, policy)
        super().__init__(generators, lqr.device)
        self.lqr, self.policy = lqr, policy
        self.param_shape = policy.param_shape
        self.max_steps = default_episode_cap(lqr.discount) if max_steps is None else check_positive_int(max_steps, "max_steps")
        self.sigma2 = float(policy.std) ** 2
        self._optimum: float | None = None

    def sample(self, theta: torch.Tensor, n: int) -> LQRRunBatch:
        """``n`` fresh trajectories of each run's gain; the counters grow by n and by the transitions."""
        batch = sample_lqr_runs(self.lqr, self.policy, theta, n, self.generators, max_steps=self.max_steps)
        self._count(n, batch.lengths().sum(1))
        return batch

    def returns(self, batch: LQRRunBatch) -> torch.Tensor:
        """Σ_t r_t per trajectory, ``[R, n]``."""
        return batch.returns()

    def gradient_estimates(self, batch: LQRRunBatch, theta: torch.Tensor) -> torch.Tensor:
        r"""ĝ(K; τ) = Σ_t ψ_t ∇_K log π_K(u_t|x_t) = −Σ_t ψ_t (u_t + Kx_t) x_tᵀ/σ², ψ_t = Σ_{t'≥t} r_{t'}: ``[R, n, m, n_x]``."""
        _check_lqr_batch(batch, theta)
        D = _action_residuals(batch, theta) * batch.rewards_to_go()[..., None]
        g = -torch.einsum("rntm,rntx->rnmx", D, batch.states) / self.sigma2
        return check_finite_result(g, "batch, theta", "GPOMDP estimate")

    def log_weights(self, batch: LQRRunBatch, theta_target: torch.Tensor, theta_behaviour: torch.Tensor) -> torch.Tensor:
        r"""Σ_t log π_{K'}(u_t|x_t) − log π_K(u_t|x_t) = −Σ_t (‖u_t + K'x_t‖² − ‖u_t + Kx_t‖²)/(2σ²), ``[R, n]``."""
        _check_lqr_batch(batch, theta_behaviour, "theta_behaviour")
        _check_lqr_batch(batch, theta_target, "theta_target")
        a, b = _action_residuals(batch, theta_target), _action_residuals(batch, theta_behaviour)
        return -((a * a).sum(-1) - (b * b).sum(-1)).mul(batch.mask).sum(-1) / (2 * self.sigma2)

    def hessian_vector_estimates(self, batch: LQRRunBatch, theta: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        r"""B̂(τ; K)V = ĝ⟨Σ_t ∇log π_t, V⟩ − Σ_t ψ_t (V x_t) x_tᵀ/σ², ``[R, n, m, n_x]`` (module docstring)."""
        _check_lqr_batch(batch, theta)
        _check_lqr_batch(batch, v, "v")
        X, psi = batch.states, batch.rewards_to_go()
        g = self.gradient_estimates(batch, theta)
        score = -torch.einsum("rntm,rntx->rnmx", _action_residuals(batch, theta), X) / self.sigma2
        inner = (score * v.unsqueeze(1)).sum((-1, -2))
        Vx = X @ v.transpose(-1, -2).unsqueeze(1)  # [R, n, T, m]
        curvature = -torch.einsum("rntm,rntx->rnmx", Vx * psi[..., None], X) / self.sigma2
        return check_finite_result(g * inner[..., None, None] + curvature, "batch, theta, v", "Hessian-vector estimate")

    def exact_gradient(self, theta: torch.Tensor) -> torch.Tensor:
        """∇_K J ``[R, m, n]`` (closed form, :func:`~pgtheory.exact.lqr_policy_gradient`)."""
        return lqr_policy_gradient(self.lqr, self.policy, theta)

    def natural_gradient(self, theta: torch.Tensor) -> torch.Tensor:
        """F(K)⁺∇_K J ``[R, m, n]`` (:func:`~pgtheory.exact.lqr_natural_gradient`)."""
        return lqr_natural_gradient(self.lqr, self.policy, theta)

    def objective(self, theta: torch.Tensor) -> torch.Tensor:
        """J(K) ``[R]`` (closed form)."""
        return lqr_objective(self.lqr, self.policy, theta)

    def optimum(self) -> float:
        """J* = J(K*) at the policy's σ (K* from the discounted Riccati equation; it does not depend on σ), cached."""
        if self._optimum is None:
            self._optimum = float(lqr_objective(self.lqr, self.policy, lqr_optimal_gain(self.lqr).gain))
        return self._optimum

    def feasible(self, theta: torch.Tensor) -> torch.Tensor:
        """bool ``[R]``: finite and stabilising, ρ(√γ(A − BK)) < 1."""
        ok = torch.isfinite(theta.flatten(1)).all(1)
        rad = torch.full((self.R,), float("inf"), dtype=torch.float64, device=theta.device)
        if bool(ok.any()):
            rad[ok] = lqr_closed_loop_radius(self.lqr, theta[ok]).to(torch.float64)
        return ok & (rad < 1)


def make_oracle(problem, generators: Sequence[torch.Generator], *, policy: LinearGaussianPolicy | None = None,
                max_steps: int | None = None) -> Oracle:
    """The oracle for ``problem``: a :class:`TabularOracle` for a TabularMDP (``policy`` must be None: tabular softmax),
    an :class:`LQROracle` for an LQR (``policy``: the :class:`~pgtheory.policies.LinearGaussianPolicy`, required), a
    :class:`ScalarisedOracle` for a :class:`~pgtheory.problems.ScalarisedMDP` (tabular softmax)."""
    if isinstance(problem, ScalarisedMDP):
        if policy is not None:
            raise ValueError("policy: a ScalarisedMDP is optimised with the tabular-softmax policy; pass policy=None")
        return ScalarisedOracle(problem, generators, max_steps=max_steps)
    if isinstance(problem, TabularMDP):
        if policy is not None:
            raise ValueError("policy: a TabularMDP is optimised with the tabular-softmax policy; pass policy=None")
        return TabularOracle(problem, generators, max_steps=max_steps)
    if isinstance(problem, LQR):
        if policy is None:
            raise ValueError("policy: an LQR needs the LinearGaussianPolicy whose gains are optimised")
        return LQROracle(problem, policy, generators, max_steps=max_steps)
    raise TypeError(f"problem: expected a TabularMDP, a ScalarisedMDP or an LQR, got {type(problem).__name__}")
