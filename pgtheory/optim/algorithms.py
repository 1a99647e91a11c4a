r"""Policy-gradient optimisers as registered :class:`~pgtheory.optim.harness.Algorithm` s (registry :data:`ALGORITHMS`).

===================  ==========================================================  =============================================
name                 update (per run; ĝ = GPOMDP per-trajectory estimate)          source
===================  ==========================================================  =============================================
``exact_pg``         θ ← θ + η ∇J(θ)                                              Agarwal et al. 2021 §4; Mei et al. 2020
``exact_npg``        θ ← θ + η F(θ)⁺∇J(θ)                                         Kakade 2001; Agarwal et al. 2021 §5.3
``sgd_gpomdp``       θ ← θ + η d,  d = (1/n) Σ_i ĝ(θ; τ_i)                         Baxter & Bartlett 2001; Yuan et al. 2022
``normalized_pg``    θ ← θ + η d/‖d‖,  d as above                                 Cutkosky & Mehta 2020; Fatkhullin et al. 2023
``storm_pg``         d_t = β ĝ_t + (1−β)(d_{t−1} + ĝ_t − w ĝ_{t−1}); θ ← θ + η d    Yuan et al. 2020 (STORM-PG); Huang et al. 2020
``n_mpg``            d_t = (1−η_t)d_{t−1} + η_t ĝ_t; θ ← θ + γ_t d/‖d‖             Cutkosky & Mehta 2020
``n_pg_igt``         as n_mpg, ĝ sampled at θ_t + ((1−η_t)/η_t)(θ_t − θ_{t−1})      Fatkhullin et al. 2023 (authors' code)
``harpg``            d_t = (1−η_t)(d_{t−1} + B̂(θ̂_t)(θ_t − θ_{t−1})) + η_t ĝ_t       Fatkhullin et al. 2023 (authors' code)
``n_harpg``          harpg's direction, normalised step                           Fatkhullin et al. 2023 (authors' code)
``svrpg``            d_t = μ + ĝ(θ_t) − w ĝ(θ̃) (snapshot θ̃ every m)               Papini et al. 2018
``srvr_pg``          d_t = d_{t−1} + ĝ(θ_t) − w ĝ(θ_{t−1}) (refresh every m)       Xu, Gao & Gu 2020
``page_pg``          refresh w.p. p, else the srvr correction                     Gargiani et al. 2022
``polyak_pg``        θ ← θ + min{(J* − Ĵ)_+/(c‖ĝ‖²), γ_b} ĝ                        Li et al. 2024 (via summaries)
``mopg``             θ ← θ + η ∇f(Ĵ)ᵀ∇̂J, Ĵ and ∇̂J on independent batches         Guidobene et al. 2025 (authors' code)
``mo_tsivr_pg``      SARAH recursions for J and ∇f(J)ᵀ∇J, truncated step         Guidobene et al. 2025; Zhang et al. 2021
===================  ==========================================================  =============================================

Step sizes and momentum weights are numbers or :class:`PowerSchedule` s (η_t = c (t + s)^{-p}).

"What is exactly true" of the stochastic directions (tabular softmax, geometric termination, exact IS weights):

* ``sgd_gpomdp`` / ``normalized_pg``: d_t is unbiased for ∇J(θ_t) given the past. The *normalised* step d/‖d‖ is
  biased for ∇J/‖∇J‖ (the tests use it as the twin the bias test must reject).
* ``storm_pg``: given the past F_{t−1} (θ_{t−1}, θ_t, d_{t−1}), the correction ĝ(θ_t; τ) − w(τ) ĝ(θ_{t−1}; τ) with
  w = p_{θ_{t−1}}(τ)/p_{θ_t}(τ) is unbiased for ∇J(θ_t) − ∇J(θ_{t−1}), so
  E[d_t | F_{t−1}] = ∇J(θ_t) + (1 − β)(d_{t−1} − ∇J(θ_{t−1})): conditionally biased by (1−β) times the previous error,
  and, by induction from the unbiased d_0, E[d_t − ∇J(θ_t)] = 0 unconditionally. A clipped weight (``weight_clip``,
  as in the authors' code) breaks the conditional identity.

Verification of the sources (issue 12): the recursive-momentum update was checked against two implementations, not
the papers' bodies (the stored copies of Yuan et al. 2020 and Huang et al. 2020 expose only their abstracts here):
the authors' code of Huang et al. (github gaosh/MBPG, ``Algorithms/MBPG.py``, ``storm_step``: d = g + (1 − a)(d_prev −
w·g_old) with w = exp(Σ log π_old − Σ log π_cur) **clipped at 1.8**) and Papini's ``potion`` library
(``stormpg``: gradient = g + (1 − β)(gradient − g_old(off-policy)), large first batch). The other rows are the
standard forms and are *not verified* against the papers' bodies in this session.
"""
from __future__ import annotations

import torch

from .._checks import check_positive_int, check_real
from .._registry import Registry
from .harness import Algorithm, Oracle

__all__ = ["ALGORITHMS", "make_algorithm", "minibatch_direction", "exact_gradient_direction", "natural_gradient_direction",
           "RecursiveMomentum", "MomentumAverage", "PolyakScaledDirection", "LoopVarianceReduced", "ScalarisedPlugIn", "ScalarisedRecursive", "TruncatedStep", "ImplicitGradientTransport", "HessianAidedRecursion", "PowerSchedule", "as_schedule",
           "AscentStep", "NormalizedStep", "ConstantBatch"]

ALGORITHMS: Registry = Registry("optimisation algorithm")


# -- direction rules ----------------------------------------------------------------------------------------------

def exact_gradient_direction(oracle: Oracle, theta: torch.Tensor, state, t: int, n) -> tuple[torch.Tensor, None]:
    """d = ∇J(θ) exactly (policy-gradient theorem); draws nothing."""
    return oracle.exact_gradient(theta), None


def natural_gradient_direction(oracle: Oracle, theta: torch.Tensor, state, t: int, n) -> tuple[torch.Tensor, None]:
    """d = F(θ)⁺∇J(θ) exactly (minimum-norm natural gradient); draws nothing."""
    return oracle.natural_gradient(theta), None


def minibatch_direction(oracle: Oracle, theta: torch.Tensor, state, t: int, n: int) -> tuple[torch.Tensor, None]:
    """d = (1/n) Σ_i ĝ(θ; τ_i) on n fresh trajectories of π_θ per run, ``[R, S, A]``."""
    traj = oracle.sample(theta, n)
    return oracle.gradient_estimates(traj, theta).mean(1), None


class RecursiveMomentum:
    r"""STORM-type recursive momentum with the trajectory importance weight.

    t = 0: d_0 = (1/n_0) Σ_i ĝ(θ_0; τ_i). t ≥ 1, with n fresh τ_i ∼ π_{θ_t}:

    .. math:: d_t = \frac1n\sum_i\Big[\beta\,\hat g(\theta_t;\tau_i) + (1-\beta)\big(d_{t-1} + \hat g(\theta_t;\tau_i)
              - w(\tau_i)\,\hat g(\theta_{t-1};\tau_i)\big)\Big],\qquad w(\tau) = \frac{p_{\theta_{t-1}}(\tau)}{p_{\theta_t}(\tau)}.

    ``weight_clip``: w ← min(w, c) (the authors' code uses c = 1.8; any finite c makes the correction biased).
    State: (θ_{t−1}, d_{t−1}).
    """

    def __init__(self, beta: float, weight_clip: float | None = None):
        self.beta = check_real(beta, "beta", low=0, high=1, low_open=True)
        self.weight_clip = None if weight_clip is None else check_real(weight_clip, "weight_clip", low=0, low_open=True)

    def __call__(self, oracle: Oracle, theta: torch.Tensor, state, t: int, n: int) -> tuple[torch.Tensor, tuple]:
        traj = oracle.sample(theta, n)
        g_new = oracle.gradient_estimates(traj, theta)
        if state is None:
            d = g_new.mean(1)
        else:
            theta_prev, d_prev = state
            g_old = oracle.gradient_estimates(traj, theta_prev)
            w = oracle.log_weights(traj, theta_prev, theta).exp()
            if self.weight_clip is not None:
                w = w.clamp_max(self.weight_clip)
            d = (g_new - (1 - self.beta) * w[..., None, None] * g_old).mean(1) + (1 - self.beta) * d_prev
        return d, (theta, d)

    def __repr__(self) -> str:
        return f"RecursiveMomentum(beta={self.beta}, weight_clip={self.weight_clip})"


class MomentumAverage:
    r"""Heavy-ball momentum on fresh minibatch estimates: d_0 = ĝ_0, d_t = (1 − η_t) d_{t−1} + η_t (1/n) Σ_i ĝ(θ_t; τ_i).

    The normalised-momentum PG of Cutkosky & Mehta 2020 (N-MPG; the ε^{-3} baseline of Fatkhullin et al. 2023, whose
    code calls it ``nsgdm``). d_t is biased for ∇J(θ_t) (it averages stale gradients). State: d_{t−1}.
    """

    def __init__(self, momentum):
        self.eta = as_schedule(momentum, "momentum")

    def __call__(self, oracle: Oracle, theta: torch.Tensor, state, t: int, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        g = oracle.gradient_estimates(oracle.sample(theta, n), theta).mean(1)
        if state is None:
            return g, g
        eta = self.eta(t)
        if not 0 < eta <= 1:
            raise ValueError(f"momentum: η_t must lie in (0, 1], got {eta} at t = {t}")
        d = (1 - eta) * state + eta * g
        return d, d

    def __repr__(self) -> str:
        return f"MomentumAverage(momentum={self.eta})"


class PolyakScaledDirection:
    r"""The stochastic Polyak step (SPS_max, Loizou et al. 2021) in ascent form, applied to a minibatch GPOMDP estimate:

    .. math:: \eta_t = \min\Big\{\frac{(J^\star_{\rm est} - \hat J_t)_+}{c\,\|\hat g_t\|^2},\ \gamma_b\Big\},\qquad
              d_t = \eta_t\,\hat g_t,

    with Ĵ_t the mean return and ĝ_t the mean GPOMDP estimate of the same n trajectories (θ ← θ + d_t: use with
    ``AscentStep(1)``). The numerator is clipped at 0 (an estimate above J*_est gives no step). ``optimum`` J*_est: the
    true J* (an oracle) or a mis-set value. The rule of Li et al. 2024 (L81) as described by two summaries of the
    paper (the body was not readable here; their J* estimate, a "twin-model" method, could not be reconstructed).
    The returned direction includes the step, so ``direction_error`` of a trace compares η_t ĝ_t with ∇J.
    """

    def __init__(self, optimum: float, c: float = 0.5, max_step: float = 10.0):
        self.optimum = check_real(optimum, "optimum")
        self.c = check_real(c, "c", low=0, low_open=True)
        self.max_step = check_real(max_step, "max_step", low=0, low_open=True)

    def __call__(self, oracle: Oracle, theta: torch.Tensor, state, t: int, n: int) -> tuple[torch.Tensor, None]:
        batch = oracle.sample(theta, n)
        g = oracle.gradient_estimates(batch, theta).mean(1)
        J_hat = oracle.returns(batch).mean(1)
        sq = g.flatten(1).pow(2).sum(1)
        eta = ((self.optimum - J_hat).clamp_min(0) / (self.c * sq.clamp_min(1e-300))).clamp_max(self.max_step)
        return _per_run(eta, g) * g, None

    def __repr__(self) -> str:
        return f"PolyakScaledDirection(optimum={self.optimum}, c={self.c}, max_step={self.max_step})"


class LoopVarianceReduced:
    r"""The loop-based variance-reduced estimators: a large batch at a reference point, then importance-weighted
    corrections on small batches (per run; ĝ = GPOMDP, w(τ | θ', θ) = p_{θ'}(τ)/p_θ(τ), τ_i ∼ π_{θ_t}):

    * ``"svrpg"`` (Papini et al. 2018, ICML; SVRG for PG): every ``epoch_length`` iterations the snapshot θ̃ = θ_t and
      μ = (1/N) Σ_j ĝ(θ̃; τ_j) (N = ``big_batch``, τ_j ∼ π_θ̃), d_t = μ; in between
      d_t = μ + (1/n) Σ_i [ĝ(θ_t; τ_i) − w(τ_i | θ̃, θ_t) ĝ(θ̃; τ_i)];
    * ``"srvr"`` (SRVR-PG, Xu, Gao & Gu 2020, ICLR; SARAH-type): the same refresh, and in between
      d_t = d_{t−1} + (1/n) Σ_i [ĝ(θ_t; τ_i) − w(τ_i | θ_{t−1}, θ_t) ĝ(θ_{t−1}; τ_i)];
    * ``"page"`` (PAGE-PG, Gargiani, Zanelli, Martinelli, Summers & Lygeros 2022, L4DC): no epochs; at each t ≥ 1, with
      probability ``refresh_probability`` (a coin of run r's own generator) a fresh large batch, d_t = (1/N) Σ_j ĝ(θ_t; τ_j),
      otherwise the SRVR correction.

    Exact identities (tested): SVRPG's d_t is unbiased for ∇J(θ_t) given the snapshot; the SRVR/PAGE correction is
    unbiased for ∇J(θ_t) − ∇J(θ_{t−1}) given the past, so E[d_t − ∇J(θ_t)] = 0 at every t. Dropping w (a common
    shortcut) biases both by E_{θ_t}[ĝ(θ_ref; τ)] − ∇J(θ_ref). The standard forms; not verified against the papers'
    bodies here. State: (reference θ, reference direction/μ, t of the last refresh).
    """

    KINDS = ("svrpg", "srvr", "page")

    def __init__(self, kind: str, big_batch: int, epoch_length: int | None = None, refresh_probability: float | None = None,
                 importance_weights: bool = True):
        if kind not in self.KINDS:
            raise ValueError(f"kind: expected one of {self.KINDS}, got {kind!r}")
        self.kind = kind
        self.big_batch = check_positive_int(big_batch, "big_batch")
        if kind == "page":
            self.p = check_real(refresh_probability, "refresh_probability", low=0, high=1, low_open=True)
            self.m = None
        else:
            self.m = check_positive_int(epoch_length, "epoch_length")
            self.p = None
        self.importance_weights = bool(importance_weights)

    def _big(self, oracle: Oracle, theta: torch.Tensor) -> torch.Tensor:
        return oracle.gradient_estimates(oracle.sample(theta, self.big_batch), theta).mean(1)

    def _correction(self, oracle: Oracle, theta: torch.Tensor, ref: torch.Tensor, n: int) -> torch.Tensor:
        batch = oracle.sample(theta, n)
        g_new = oracle.gradient_estimates(batch, theta)
        g_ref = oracle.gradient_estimates(batch, ref)
        if self.importance_weights:
            g_ref = oracle.log_weights(batch, ref, theta).exp()[..., None, None] * g_ref
        return (g_new - g_ref).mean(1)

    def __call__(self, oracle: Oracle, theta: torch.Tensor, state, t: int, n: int) -> tuple[torch.Tensor, tuple]:
        if state is None:
            d = self._big(oracle, theta)
            return d, (theta, d)
        ref, d_ref = state
        if self.kind == "svrpg":
            if t % self.m == 0:
                d = self._big(oracle, theta)
                return d, (theta, d)
            return d_ref + self._correction(oracle, theta, ref, n), (ref, d_ref)
        if self.kind == "srvr":
            if t % self.m == 0:
                d = self._big(oracle, theta)
            else:
                d = d_ref + self._correction(oracle, theta, ref, n)
            return d, (theta, d)
        coin = torch.stack([torch.rand((), generator=g, dtype=torch.float64, device=theta.device) for g in oracle.generators])
        fresh = coin < self.p
        # both branches are drawn for every run (one batched call each); the counters keep only the branch each run
        # takes, so the recorded samples are what the algorithm consumes
        c0 = (oracle.trajectories.clone(), oracle.transitions.clone())
        big = self._big(oracle, theta)
        c1 = (oracle.trajectories.clone(), oracle.transitions.clone())
        corr = self._correction(oracle, theta, ref, n)
        c2 = (oracle.trajectories.clone(), oracle.transitions.clone())
        oracle.trajectories -= torch.where(fresh, c2[0] - c1[0], c1[0] - c0[0])
        oracle.transitions -= torch.where(fresh, c2[1] - c1[1], c1[1] - c0[1])
        d = torch.where(_per_run(fresh, theta), big, d_ref + corr)
        return d, (theta, d)

    def __repr__(self) -> str:
        return f"LoopVarianceReduced({self.kind!r}, big_batch={self.big_batch}, m={self.m}, p={self.p})"


class ImplicitGradientTransport:
    r"""IGT momentum (Arnold et al. 2019), as in N-PG-IGT (Fatkhullin et al. 2023): the gradient is sampled at an
    extrapolated point so that the momentum average tracks ∇J(θ_t) to second order.

    t = 0: d_0 = (1/n) Σ_i ĝ(θ_0; τ_i), τ_i ∼ π_{θ_0}. t ≥ 1, with η_t = ``momentum(t)``:

    .. math:: \tilde\theta_t = \theta_t + \frac{1-\eta_t}{\eta_t}(\theta_t - \theta_{t-1}),\qquad
              d_t = (1-\eta_t)\,d_{t-1} + \eta_t\,\frac1n\sum_i \hat g(\tilde\theta_t;\tau_i),\quad \tau_i\sim\pi_{\tilde\theta_t}.

    One trajectory per iteration at n = 1, no importance weights, no second-order information. For a quadratic J the
    extrapolation makes E[d_t] = ∇J(θ_t) exactly; in general the bias is O(‖θ_t − θ_{t−1}‖²/η_t²)·‖∇³J‖.
    State: (θ_{t−1}, d_{t−1}).
    """

    def __init__(self, momentum):
        self.eta = as_schedule(momentum, "momentum")

    def __call__(self, oracle: Oracle, theta: torch.Tensor, state, t: int, n: int) -> tuple[torch.Tensor, tuple]:
        if state is None:
            traj = oracle.sample(theta, n)
            d = oracle.gradient_estimates(traj, theta).mean(1)
        else:
            theta_prev, d_prev = state
            eta = self.eta(t)
            if not 0 < eta <= 1:
                raise ValueError(f"momentum: η_t must lie in (0, 1], got {eta} at t = {t}")
            ahead = theta + (1 - eta) / eta * (theta - theta_prev)
            traj = oracle.sample(ahead, n)
            d = (1 - eta) * d_prev + eta * oracle.gradient_estimates(traj, ahead).mean(1)
        return d, (theta, d)

    def __repr__(self) -> str:
        return f"ImplicitGradientTransport(momentum={self.eta})"


class HessianAidedRecursion:
    r"""The Hessian-aided recursive momentum of (N-)HARPG (Fatkhullin et al. 2023; the Hessian estimator of Shen et
    al. 2019, HAPG): the momentum is transported by an unbiased estimate of ∇J(θ_t) − ∇J(θ_{t−1}).

    t = 0: d_0 = (1/n) Σ_i ĝ(θ_0; τ_i). t ≥ 1, with η_t = ``momentum(t)``, q_t ∼ U[0, 1] (run r's generator),
    θ̂_t = q_t θ_t + (1 − q_t) θ_{t−1}, n trajectories τ̂_i ∼ π_{θ̂_t} and n trajectories τ_i ∼ π_{θ_t}:

    .. math:: v_t = \frac1n\sum_i \hat B(\hat\tau_i;\hat\theta_t)(\theta_t-\theta_{t-1}),\qquad
              d_t = (1-\eta_t)\,(d_{t-1} + v_t) + \eta_t\,\frac1n\sum_i \hat g(\theta_t;\tau_i).

    Since E_q E_τ̂[B̂(τ̂; θ̂)Δ] = ∫₀¹ ∇²J(θ_{t−1} + qΔ)Δ dq = ∇J(θ_t) − ∇J(θ_{t−1}) (Δ = θ_t − θ_{t−1}), the recursion
    keeps E[d_t − ∇J(θ_t)] = (1 − η_t)E[d_{t−1} − ∇J(θ_{t−1})] = 0 by induction: d_t is unbiased at every t.
    2n trajectories per iteration (t ≥ 1). State: (θ_{t−1}, d_{t−1}).
    """

    def __init__(self, momentum):
        self.eta = as_schedule(momentum, "momentum")

    def transport(self, oracle: Oracle, theta: torch.Tensor, theta_prev: torch.Tensor, n: int) -> torch.Tensor:
        """v = (1/n) Σ_i B̂(τ̂_i; θ̂)(θ − θ_prev), θ̂ = qθ + (1 − q)θ_prev, q ∼ U[0, 1] per run: ``[R, *P]``."""
        q = torch.stack([torch.rand((), generator=g, dtype=torch.float64, device=theta.device) for g in oracle.generators])
        q = q.view(-1, *([1] * (theta.ndim - 1)))
        mid = q * theta + (1 - q) * theta_prev
        traj = oracle.sample(mid, n)
        return oracle.hessian_vector_estimates(traj, mid, theta - theta_prev).mean(1)

    def __call__(self, oracle: Oracle, theta: torch.Tensor, state, t: int, n: int) -> tuple[torch.Tensor, tuple]:
        if state is None:
            traj = oracle.sample(theta, n)
            d = oracle.gradient_estimates(traj, theta).mean(1)
            return d, (theta, d)
        theta_prev, d_prev = state
        eta = self.eta(t)
        if not 0 < eta <= 1:
            raise ValueError(f"momentum: η_t must lie in (0, 1], got {eta} at t = {t}")
        v = self.transport(oracle, theta, theta_prev, n)
        traj = oracle.sample(theta, n)
        d = (1 - eta) * (d_prev + v) + eta * oracle.gradient_estimates(traj, theta).mean(1)
        return d, (theta, d)

    def __repr__(self) -> str:
        return f"HessianAidedRecursion(momentum={self.eta})"


class ScalarisedPlugIn:
    r"""The plug-in direction for F = f(J) (MOPG in the code of Guidobene, Benedetti & Arapovic 2025,
    ``mo_pg.py:53-67``): per run, Ĵ = mean of the channel returns of ``objective_batch`` trajectories (projected onto
    the box every J(π) lies in, as the authors' f's clip their argument), c = ∇f(Ĵ), and on n *fresh* trajectories
    d = Σ_i c_i (1/n) Σ_τ ĝ_i(θ; τ). Because the batches are independent, E[d] = E[∇f(Ĵ)]ᵀ∇J: biased for ∇F when f is
    not linear, by O(1/objective_batch) for a smooth f (a second-order Taylor expansion of ∇f around J). Needs a
    :class:`~pgtheory.optim.ScalarisedOracle`. Stateless.
    """

    def __init__(self, objective_batch: int):
        self.objective_batch = check_positive_int(objective_batch, "objective_batch")

    def __call__(self, oracle, theta: torch.Tensor, state, t: int, n: int) -> tuple[torch.Tensor, None]:
        _check_scalarised(oracle)
        J = oracle.project(oracle.objective_estimates(oracle.sample(theta, self.objective_batch)).mean(1))
        c = oracle.scalarisation.gradient(J)  # [R, m]
        jac = oracle.jacobian_estimates(oracle.sample(theta, n), theta).mean(1)  # [R, m, S, A]
        return torch.einsum("rm,rm...->r...", c, jac), None

    def __repr__(self) -> str:
        return f"ScalarisedPlugIn(objective_batch={self.objective_batch})"


class ScalarisedRecursive:
    r"""MO-TSIVR-PG's direction, corrected (Guidobene, Benedetti & Arapovic 2025, authors' ``mo_tsivr_pg.py``, which
    instantiates TSIVR-PG of Zhang et al. 2021 for F = f(J)). Per run, with ω(τ) = p_{θ_{t−1}}(τ)/p_{θ_t}(τ) (exact
    under geometric termination) and τ ∼ π_{θ_t}:

    * every ``epoch_length`` iterations (a refresh): J_t = mean channel returns of N = ``big_batch`` trajectories,
      c_t = ∇f(Π J_t), and on N fresh ones v_t = Σ_i c_{t,i} (1/N) Σ_τ ĝ_i(θ_t; τ);
    * otherwise, on n trajectories J_t = J_{t−1} + (1/n) Σ_τ [G(τ) − ω(τ) G(τ)] (G the channel returns), c_t = ∇f(Π J_t),
      and on n fresh ones v_t = v_{t−1} + (1/n) Σ_τ [c_tᵀ ĝ(θ_t; τ) − ω(τ) c_{t−1}ᵀ ĝ(θ_{t−1}; τ)].

    Π projects onto the box of achievable J (the authors' f's clip their argument). The J recursion is unbiased for
    J(θ_t): E_{θ_t}[ω G] = J(θ_{t−1}), so E[J_t] = J(θ_t) along any fixed path. The authors' code differs in three
    places (checked in their repository at 5906955, ``mo_tsivr_pg.py``): its weight is the inverse p_{θ_t}/p_{θ_{t−1}}
    (line 52); its correction term is computed on the current network, so it is *added* to v instead of subtracted
    (lines 74–84); and its per-decision weights stop at the score's step while the reward-to-go runs on. Those versions
    are not reproduced. ``importance_weights=False`` drops ω (a biased shortcut; the tests' twin). The recorded samples
    count every trajectory drawn (2N at a refresh, 2n otherwise). State: (θ_{t−1}, J_{t−1}, c_{t−1}, v_{t−1}).
    """

    def __init__(self, big_batch: int, epoch_length: int, importance_weights: bool = True):
        self.big_batch = check_positive_int(big_batch, "big_batch")
        self.m = check_positive_int(epoch_length, "epoch_length")
        self.importance_weights = bool(importance_weights)

    def _weights(self, oracle, batch, ref: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
        if not self.importance_weights:
            return torch.ones(oracle.R, batch.n // oracle.R, dtype=torch.float64, device=theta.device)
        return oracle.log_weights(batch, ref, theta).exp()  # [R, n]

    def __call__(self, oracle, theta: torch.Tensor, state, t: int, n: int) -> tuple[torch.Tensor, tuple]:
        _check_scalarised(oracle)
        f = oracle.scalarisation
        if state is None or t % self.m == 0:
            J = oracle.objective_estimates(oracle.sample(theta, self.big_batch)).mean(1)
            c = f.gradient(oracle.project(J))
            jac = oracle.jacobian_estimates(oracle.sample(theta, self.big_batch), theta).mean(1)
            v = torch.einsum("rm,rm...->r...", c, jac)
            return v, (theta, J, c, v)
        ref, J_ref, c_ref, v_ref = state
        batch = oracle.sample(theta, n)
        G = oracle.objective_estimates(batch)  # [R, n, m]
        J = J_ref + (G - self._weights(oracle, batch, ref, theta)[..., None] * G).mean(1)
        c = f.gradient(oracle.project(J))
        batch = oracle.sample(theta, n)
        w = self._weights(oracle, batch, ref, theta)
        new = torch.einsum("rm,rnm...->rn...", c, oracle.jacobian_estimates(batch, theta))
        old = torch.einsum("rm,rnm...->rn...", c_ref, oracle.jacobian_estimates(batch, ref))
        v = v_ref + (new - w.view(*w.shape, *([1] * (new.ndim - 2))) * old).mean(1)
        return v, (theta, J, c, v)

    def __repr__(self) -> str:
        return (f"ScalarisedRecursive(big_batch={self.big_batch}, epoch_length={self.m}, "
                f"importance_weights={self.importance_weights})")


def _check_scalarised(oracle) -> None:
    if not hasattr(oracle, "jacobian_estimates"):
        raise TypeError(f"problem: a multi-objective direction needs a ScalarisedMDP (its oracle serves per-channel "
                        f"estimates), got an oracle of type {type(oracle).__name__}")


# -- step rules and batch schedules ---------------------------------------------------------------------------------

class PowerSchedule:
    """t ↦ c·(t + s)^(−p): a constant (p = 0) or polynomially decaying step size / momentum weight (t = 0, 1, …)."""

    def __init__(self, scale: float, exponent: float = 0.0, shift: float = 1.0):
        self.scale = check_real(scale, "scale", low=0, low_open=True)
        self.exponent = check_real(exponent, "exponent", low=0)
        self.shift = check_real(shift, "shift", low=0, low_open=True)

    def __call__(self, t: int) -> float:
        return self.scale * (t + self.shift) ** (-self.exponent)

    def __repr__(self) -> str:
        return f"PowerSchedule({self.scale}, exponent={self.exponent}, shift={self.shift})"


def as_schedule(value, name: str) -> PowerSchedule:
    """A positive number (constant) or a :class:`PowerSchedule`, as a schedule; anything else raises naming ``name``."""
    if isinstance(value, PowerSchedule):
        return value
    return PowerSchedule(check_real(value, name, low=0, low_open=True), 0.0)


def _hyper(**kw) -> dict:
    """An algorithm's hyper-parameters as recorded in its traces: numbers as they are, schedules by their repr."""
    return {k: repr(v) if isinstance(v, PowerSchedule) else v for k, v in kw.items()}


def _per_run(x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return x.view(-1, *([1] * (like.ndim - 1)))


class AscentStep:
    """θ ← θ + η_t d (η_t a constant or a :class:`PowerSchedule`)."""

    def __init__(self, step_size):
        self.eta = as_schedule(step_size, "step_size")

    def __call__(self, oracle: Oracle, theta: torch.Tensor, d: torch.Tensor, t: int) -> torch.Tensor:
        return theta + self.eta(t) * d

    def __repr__(self) -> str:
        return f"AscentStep({self.eta})"


class NormalizedStep:
    """θ ← θ + η_t d/‖d‖₂ per run (the norm over all parameters); a run with d = 0 does not move."""

    def __init__(self, step_size):
        self.eta = as_schedule(step_size, "step_size")

    def __call__(self, oracle: Oracle, theta: torch.Tensor, d: torch.Tensor, t: int) -> torch.Tensor:
        norm = _per_run(d.flatten(1).norm(dim=1), d)
        unit = torch.where(norm > 0, d / torch.where(norm > 0, norm, torch.ones_like(norm)), torch.zeros_like(d))
        return theta + self.eta(t) * unit

    def __repr__(self) -> str:
        return f"NormalizedStep({self.eta})"


class TruncatedStep:
    """θ ← θ + η_t d if η_t‖d‖ ≤ δ, else θ + δ d/‖d‖ (per run): the step of TSIVR-PG (Zhang et al. 2021), whose
    truncation keeps consecutive iterates within δ so that importance weights stay bounded (the form reconstructed
    from its abstract and the MO authors' code, not verified against its body). ``max_step`` = δ."""

    def __init__(self, step_size, max_step: float):
        self.eta = as_schedule(step_size, "step_size")
        self.delta = check_real(max_step, "max_step", low=0, low_open=True)

    def __call__(self, oracle: Oracle, theta: torch.Tensor, d: torch.Tensor, t: int) -> torch.Tensor:
        eta = self.eta(t)
        norm = _per_run(d.flatten(1).norm(dim=1), d)
        scale = torch.where(eta * norm <= self.delta, torch.full_like(norm, eta), self.delta / norm.clamp_min(1e-300))
        return theta + scale * d

    def __repr__(self) -> str:
        return f"TruncatedStep({self.eta}, max_step={self.delta})"


class ConstantBatch:
    """n_t = ``batch_size`` for t ≥ 1 and ``initial_batch_size`` (default the same) at t = 0."""

    def __init__(self, batch_size: int, initial_batch_size: int | None = None):
        self.n = check_positive_int(batch_size, "batch_size")
        self.n0 = self.n if initial_batch_size is None else check_positive_int(initial_batch_size, "initial_batch_size")

    def __call__(self, t: int) -> int:
        return self.n0 if t == 0 else self.n

    def __repr__(self) -> str:
        return f"ConstantBatch({self.n}, initial={self.n0})"


# -- the registry ----------------------------------------------------------------------------------------------------

@ALGORITHMS.register("exact_pg")
def exact_pg(*, step_size: float) -> Algorithm:
    r"""Exact softmax policy gradient ascent, θ_{t+1} = θ_t + η ∇J(θ_t) (deterministic reference).

    Source: Agarwal, Kakade, Lee & Mahajan 2021 (JMLR), §4 (softmax PG with exact gradients; their convergence
    theorem uses η = (1−γ)³/8 for rewards in [0, 1]); Mei, Xiao, Szepesvári & Schuurmans 2020 (ICML), O(1/t) rate at the
    same step. Not verified against the papers' bodies in this session. Larger steps converge faster in practice.
    """
    return Algorithm("exact_pg", exact_gradient_direction, AscentStep(step_size), None, _hyper(step_size=step_size))


@ALGORITHMS.register("exact_npg")
def exact_npg(*, step_size: float) -> Algorithm:
    r"""Exact natural policy gradient, θ_{t+1} = θ_t + η F(θ_t)⁺∇J(θ_t) (deterministic reference).

    For tabular softmax F⁺∇J = A^{π_θ}/(1−γ) up to per-state constants, so this is θ ← θ + η A/(1−γ), the
    multiplicative-weights update π_{t+1}(a|s) ∝ π_t(a|s) exp(η A(s,a)/(1−γ)). Source: Kakade 2001; Agarwal et al. 2021
    §5.3 (Lemma 15 for the closed form, Theorem 16 for the rate V* − V^{(T)} ≤ 1/((1−γ)² η T) + … with any η > 0, e.g.
    η = (1−γ)² log|A|). Not verified against the papers' bodies in this session.
    """
    return Algorithm("exact_npg", natural_gradient_direction, AscentStep(step_size), None, _hyper(step_size=step_size))


@ALGORITHMS.register("sgd_gpomdp")
def sgd_gpomdp(*, step_size, batch_size: int) -> Algorithm:
    r"""Stochastic gradient ascent with minibatch GPOMDP: θ_{t+1} = θ_t + η_t (1/n) Σ_{i≤n} ĝ(θ_t; τ_i), τ_i ∼ π_{θ_t}
    (η_t a constant or a :class:`PowerSchedule`; Fatkhullin et al.'s code runs it as the Õ(ε^{-3}) baseline of Yuan,
    Gower & Lazaric 2022 with γ_t = γ_0 (2/(t+2))^{2/3}).

    ĝ(θ; τ) = Σ_t (Σ_{t'≥t} r_{t'}) ∇log π_θ(a_t|s_t) under geometric termination (unbiased for ∇J). The ε⁻⁴ baseline:
    O(ε⁻⁴) trajectories to an ε-stationary point (E‖∇J‖ ≤ ε). Sources: Baxter & Bartlett 2001 (GPOMDP);
    Yuan, Gower & Lazaric 2022 (AISTATS), "A general sample complexity analysis of vanilla policy gradient".
    Not verified against the papers' bodies in this session.
    """
    return Algorithm("sgd_gpomdp", minibatch_direction, AscentStep(step_size), ConstantBatch(batch_size),
                     _hyper(step_size=step_size, batch_size=batch_size))


@ALGORITHMS.register("normalized_pg")
def normalized_pg(*, step_size, batch_size: int) -> Algorithm:
    r"""Normalised stochastic PG: θ_{t+1} = θ_t + η d_t/‖d_t‖, d_t = (1/n) Σ_i ĝ(θ_t; τ_i) (minibatch GPOMDP).

    d_t is unbiased for ∇J(θ_t); the step d_t/‖d_t‖ is not unbiased for ∇J/‖∇J‖. Sources: normalised SGD —
    Cutkosky & Mehta 2020 (ICML), "Momentum improves normalized SGD"; for PG, Fatkhullin, Barakat, Kireeva & He 2023
    (ICML), "Stochastic policy gradient methods: improved sample complexity for Fisher-non-degenerate policies" (their
    N-PG-IGT adds IGT momentum, not implemented here); exact-gradient version: Mei et al. 2021 (NeurIPS), GNPG.
    Not verified against the papers' bodies in this session.
    """
    return Algorithm("normalized_pg", minibatch_direction, NormalizedStep(step_size), ConstantBatch(batch_size),
                     _hyper(step_size=step_size, batch_size=batch_size))


@ALGORITHMS.register("storm_pg")
def storm_pg(*, step_size: float, beta: float, batch_size: int, initial_batch_size: int | None = None,
             weight_clip: float | None = None) -> Algorithm:
    r"""STORM-type recursive momentum with the importance weight (see :class:`RecursiveMomentum`):

    d_0 = mean of n_0 GPOMDP estimates at θ_0; for t ≥ 1, n fresh τ ∼ π_{θ_t},
    d_t = β ĝ(θ_t; τ) + (1 − β)(d_{t−1} + ĝ(θ_t; τ) − w(τ) ĝ(θ_{t−1}; τ)) averaged over the batch,
    w(τ) = Π_t π_{θ_{t−1}}(a_t|s_t)/π_{θ_t}(a_t|s_t); θ_{t+1} = θ_t + η d_t.

    Sources: Yuan, Lian, Liu & Zhou 2020 (arXiv:2003.04302), STORM-PG (large first batch n_0, then minibatches, constant
    η and β); Huang, Gao, Pei & Huang 2020 (ICML), IS-MBPG (the same estimator with adaptive η_t and β_t = c η_t²; its
    non-adaptive IS-MBPG* has decreasing steps). The brief's "Xu et al." wrote SRVR-PG (ICLR 2020), the loop-based
    SARAH-type estimator, not this one. Checked against code, not the papers' bodies: gaosh/MBPG ``storm_step``
    (authors' code of Huang et al.: the same recursion, with w clipped at 1.8 — ``weight_clip=1.8`` reproduces it) and
    potion ``stormpg`` (exact recursion, no clipping). ``weight_clip=None`` (default): exact weights, conditionally
    unbiased correction (module docstring).
    """
    params = _hyper(step_size=step_size, beta=beta, batch_size=batch_size, initial_batch_size=initial_batch_size,
                    weight_clip=weight_clip)
    return Algorithm("storm_pg", RecursiveMomentum(beta, weight_clip), AscentStep(step_size),
                     ConstantBatch(batch_size, initial_batch_size), params)


@ALGORITHMS.register("n_mpg")
def n_mpg(*, step_size, momentum, batch_size: int = 1) -> Algorithm:
    r"""Normalised momentum PG (Cutkosky & Mehta 2020, ICML, "Momentum improves normalized SGD"; for PG the baseline
    ``nsgdm`` of Fatkhullin et al. 2023): d_t = (1 − η_t)d_{t−1} + η_t ĝ(θ_t; τ_t), θ_{t+1} = θ_t + γ_t d_t/‖d_t‖.
    Authors' code (Fatkhullin et al.): γ_t = 2γ_0/(t+2), η_t = η_0 (2/(t+2))^{2/3}.
    """
    params = _hyper(step_size=step_size, momentum=momentum, batch_size=batch_size)
    return Algorithm("n_mpg", MomentumAverage(momentum), NormalizedStep(step_size), ConstantBatch(batch_size), params)


@ALGORITHMS.register("polyak_pg")
def polyak_pg(*, optimum: float, batch_size: int, c: float = 0.5, max_step: float = 10.0) -> Algorithm:
    r"""Stochastic PG with the Polyak step size (Li, Yuan, Fan, Schmidt, Horváth, Gower & Takáč 2024, arXiv 2404.07525):
    θ_{t+1} = θ_t + min{(J*_est − Ĵ_t)_+/(c‖ĝ_t‖²), γ_b} ĝ_t with minibatch GPOMDP ĝ_t and mean return Ĵ_t
    (:class:`PolyakScaledDirection`). ``optimum`` is J*_est (the paper estimates it; here the true J* or a mis-set one).
    """
    params = _hyper(optimum=optimum, batch_size=batch_size, c=c, max_step=max_step)
    return Algorithm("polyak_pg", PolyakScaledDirection(optimum, c, max_step), AscentStep(1.0), ConstantBatch(batch_size),
                     params)


@ALGORITHMS.register("svrpg")
def svrpg(*, step_size, big_batch: int, batch_size: int, epoch_length: int, importance_weights: bool = True) -> Algorithm:
    r"""SVRPG (Papini, Binaghi, Canonaco, Pirotta & Restelli 2018, ICML): snapshot gradient on ``big_batch``
    trajectories every ``epoch_length`` iterations, IS-weighted corrections on ``batch_size`` in between
    (:class:`LoopVarianceReduced`); θ ← θ + η_t d_t. ``importance_weights=False`` drops w (biased; the tests' twin).
    """
    params = _hyper(step_size=step_size, big_batch=big_batch, batch_size=batch_size, epoch_length=epoch_length,
                    importance_weights=importance_weights)
    return Algorithm("svrpg", LoopVarianceReduced("svrpg", big_batch, epoch_length, importance_weights=importance_weights),
                     AscentStep(step_size), ConstantBatch(batch_size), params)


@ALGORITHMS.register("srvr_pg")
def srvr_pg(*, step_size, big_batch: int, batch_size: int, epoch_length: int, importance_weights: bool = True) -> Algorithm:
    r"""SRVR-PG (Xu, Gao & Gu 2020, ICLR): the SARAH-type recursion d_t = d_{t−1} + IS-weighted correction between the
    previous and current iterates, refreshed on ``big_batch`` trajectories every ``epoch_length`` iterations
    (:class:`LoopVarianceReduced`); θ ← θ + η_t d_t.
    """
    params = _hyper(step_size=step_size, big_batch=big_batch, batch_size=batch_size, epoch_length=epoch_length,
                    importance_weights=importance_weights)
    return Algorithm("srvr_pg", LoopVarianceReduced("srvr", big_batch, epoch_length, importance_weights=importance_weights),
                     AscentStep(step_size), ConstantBatch(batch_size), params)


@ALGORITHMS.register("mopg")
def mopg(*, step_size, objective_batch: int, batch_size: int, max_step: float | None = None) -> Algorithm:
    r"""MOPG (the baseline in the code of Guidobene, Benedetti & Arapovic 2025): θ ← θ + η_t ∇f(Ĵ)ᵀ∇̂J with Ĵ on
    ``objective_batch`` trajectories and ∇̂J on ``batch_size`` independent ones (:class:`ScalarisedPlugIn`), the step
    truncated at ``max_step`` as MO-TSIVR-PG's (:class:`TruncatedStep`; None: plain ascent) so that the two can be
    compared with the same step rule. The authors use 288 + 288 and Adam; here (truncated) gradient ascent. Needs a
    ScalarisedMDP.
    """
    params = _hyper(step_size=step_size, objective_batch=objective_batch, batch_size=batch_size, max_step=max_step)
    step = AscentStep(step_size) if max_step is None else TruncatedStep(step_size, max_step)
    return Algorithm("mopg", ScalarisedPlugIn(objective_batch), step, ConstantBatch(batch_size), params)


@ALGORITHMS.register("mo_tsivr_pg")
def mo_tsivr_pg(*, step_size, big_batch: int, batch_size: int, epoch_length: int, max_step: float | None = None,
                importance_weights: bool = True) -> Algorithm:
    r"""MO-TSIVR-PG (Guidobene, Benedetti & Arapovic 2025; TSIVR-PG of Zhang et al. 2021), corrected
    (:class:`ScalarisedRecursive`): refresh on ``big_batch`` trajectories every
    ``epoch_length`` iterations, SARAH corrections on ``batch_size`` (twice: for J and for the direction) in between;
    θ ← θ + η v truncated at ``max_step`` (:class:`TruncatedStep`; None: no truncation). The authors use N = 144,
    B = 12, epoch 13, δ = 2 (as a gradient-norm clip under Adam). Needs a ScalarisedMDP.
    """
    params = _hyper(step_size=step_size, big_batch=big_batch, batch_size=batch_size, epoch_length=epoch_length,
                    max_step=max_step, importance_weights=importance_weights)
    step = AscentStep(step_size) if max_step is None else TruncatedStep(step_size, max_step)
    return Algorithm("mo_tsivr_pg", ScalarisedRecursive(big_batch, epoch_length, importance_weights), step,
                     ConstantBatch(batch_size), params)


@ALGORITHMS.register("page_pg")
def page_pg(*, step_size, big_batch: int, batch_size: int, refresh_probability: float) -> Algorithm:
    r"""PAGE-PG (Gargiani, Zanelli, Martinelli, Summers & Lygeros 2022, L4DC): at each iteration, with probability p a
    fresh ``big_batch`` gradient, otherwise the SRVR correction on ``batch_size`` trajectories
    (:class:`LoopVarianceReduced`); θ ← θ + η_t d_t. The batched implementation draws both branches for every run and
    counts only the one each run takes (N with probability p, n otherwise).
    """
    params = _hyper(step_size=step_size, big_batch=big_batch, batch_size=batch_size,
                    refresh_probability=refresh_probability)
    return Algorithm("page_pg", LoopVarianceReduced("page", big_batch, refresh_probability=refresh_probability),
                     AscentStep(step_size), ConstantBatch(batch_size), params)


@ALGORITHMS.register("n_pg_igt")
def n_pg_igt(*, step_size, momentum, batch_size: int = 1) -> Algorithm:
    r"""N-PG-IGT (Fatkhullin, Barakat, Kireeva & He 2023, ICML, Algorithm 1): normalised PG with implicit gradient
    transport, θ_{t+1} = θ_t + γ_t d_t/‖d_t‖ with d_t the IGT momentum of :class:`ImplicitGradientTransport`
    (gradient sampled at θ̃_t = θ_t + ((1 − η_t)/η_t)(θ_t − θ_{t−1})). ``step_size`` γ_t and ``momentum`` η_t: numbers
    or :class:`PowerSchedule` s. The authors' experiment code (a garage fork, ``NIGTOptimizer``; the paper's body was
    not readable here) uses γ_t = γ_0·2/(t+2) and η_t = η_0·(2/(t+2))^{4/5}, i.e. ``PowerSchedule(2γ_0, 1, 2)`` and
    ``PowerSchedule(2^{4/5}η_0, 4/5, 2)``; its extrapolation uses η_{t−1} where the algorithm writes η_t (an
    O(t^{-9/5}) difference; we follow the algorithm). One trajectory per iteration (``batch_size=1``).
    """
    params = _hyper(step_size=step_size, momentum=momentum, batch_size=batch_size)
    return Algorithm("n_pg_igt", ImplicitGradientTransport(momentum), NormalizedStep(step_size), ConstantBatch(batch_size),
                     params)


@ALGORITHMS.register("harpg")
def harpg(*, step_size, momentum, batch_size: int = 1) -> Algorithm:
    r"""HARPG (Fatkhullin et al. 2023, ICML): θ_{t+1} = θ_t + γ_t d_t with the Hessian-aided recursive momentum of
    :class:`HessianAidedRecursion` (d_t unbiased for ∇J(θ_t) at every t; two trajectories per iteration at n = 1).
    Authors' code (``STORMHessOptimizer``, non-normalised): γ_t = γ_0 (2/(t+2))^{1/2}, η_t = η_0·2/(t+2).
    """
    params = _hyper(step_size=step_size, momentum=momentum, batch_size=batch_size)
    return Algorithm("harpg", HessianAidedRecursion(momentum), AscentStep(step_size), ConstantBatch(batch_size), params)


@ALGORITHMS.register("n_harpg")
def n_harpg(*, step_size, momentum, batch_size: int = 1) -> Algorithm:
    r"""N-HARPG (Fatkhullin et al. 2023, ICML, Algorithm 2): HARPG's direction with the normalised step
    θ_{t+1} = θ_t + γ_t d_t/‖d_t‖ (the ε^{-2} global-optimality result for Fisher-non-degenerate policies).
    Authors' code (``STORMHessOptimizer`` normalised): γ_t = γ_0·2/(t+2), η_t = η_0·2/(t+2). The update, the q_t ∼ U[0, 1]
    interpolation and B̂ = ĝ∇log pᵀ + ∇ĝ were checked against that code; the paper's theorem constants were not.
    """
    params = _hyper(step_size=step_size, momentum=momentum, batch_size=batch_size)
    return Algorithm("n_harpg", HessianAidedRecursion(momentum), NormalizedStep(step_size), ConstantBatch(batch_size),
                     params)


def make_algorithm(name: str, **hyper) -> Algorithm:
    """The registered algorithm ``name`` built with its hyper-parameters (a keyword it does not take raises ``TypeError``;
    an unknown name ``ValueError`` listing the known ones)."""
    return ALGORITHMS.resolve(name, hyper, n_positional=0, arg="name")(**hyper)

