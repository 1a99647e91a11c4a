r"""Tabular PPO with a learned critic, and its PG-Rainbow variant (a replayed quantile critic distilled into the value).

Source: Jeon, Lee & Lee (2024), "PG-Rainbow: Using Distributional Reinforcement Learning in Policy Gradient Methods",
arXiv 2407.13146. What was read of the paper (abstract and the summary of its method, via ``search``): an IQN q_φ is
trained *off-policy from a replay buffer*, its quantile outputs are "distilled" into PPO's value head by a distillation
network, :math:`V_\psi(s)=f_\psi(V_\theta(s)\odot q_\phi(s))`, and ablations vary the distillation timing, the number
of quantiles and the input form of the distillation network. Not verified (method section not readable here): the
exact IQN target (policy evaluation or greedy control), whether q_φ is action-conditional, the architecture of f_ψ,
its loss, and how often it is refitted. The tabular transfer below states each choice.

**Sampling.** Every iteration draws ``n_episodes`` geometric-termination episodes of each run's own policy π_r with
:func:`~pgtheory.sampling.runs.sample_policies` (run r draws only from its own generator); rewards are the MDP's
mean r(s, a) plus, optionally, the zero-mean *jackpot* noise of :class:`JackpotRewards` (skewed, two-point), drawn
from a second per-run generator. Under geometric termination the undiscounted sum of rewards is unbiased for
J(π) = ρᵀV^π and the per-step discount inside GAE is 1 (:mod:`pgtheory.estimators.advantages`).

**Advantages.** GAE(λ) with the run's critic table V [S] (:func:`~pgtheory.estimators.advantages.gae_advantages`),
λ-return targets G^λ_t = Â_t + V(s_t). Advantages are standardised per run and batch (mean 0, s.d. 1), as in common
PPO implementations, before entering the clipped surrogate.

**Policy step.** Tabular softmax logits θ [S, A]; K epochs of full-batch gradient ascent (no minibatches) with step
``lr`` on the per-run mean of :func:`~pgtheory.estimators.surrogates.ppo_clip_objective`, ratio π_θ/π_old.

**Mean critic (PPO).** V_θ(s) ← V_θ(s) + β·(mean of the batch's λ-return targets at s − V_θ(s)) at every visited s
(unvisited states keep their value): β = 1 is the exact per-state least-squares regression on the batch; β < 1 is a
damped step (the "critic step").

**PG-Rainbow critic.** In addition (same V_θ update):

1. *Quantile critic* q_φ(s, τ_i), i = 1..N_q, τ_i = (2i − 1)/(2N_q) (QR-DQN's midpoints), for the law of the
   geometric-termination return, trained on the transitions of the last B batches (the replay buffer: off-policy
   data of older policies, without importance correction, as IQN's replay). Each of ``quantile_sweeps`` sweeps
   replaces q(s, ·) by the exact minimiser of the replayed quantile-regression loss (κ = 0, the pinball loss of
   :mod:`pgtheory.estimators.quantile_regression`) with bootstrapped targets
   y_{t,j} = r_t + q(s_{t+1}, τ_j) (y_{t,j} = r_t when the episode stopped), i.e. the lower τ_i-quantile of the
   empirical law of {y_{t,j}} at s (every j and every replayed visit of s weighted equally): the tabular,
   step-free form of quantile TD ("fitted quantile iteration"; its population fixed point is the quantile dynamic
   programming fixed point of Rowland et al. 2023). This replaces IQN's SGD steps by their exact per-state solution.
2. *Distillation* f_ψ, one linear map shared by the states of a run (a network shared across states in the paper):
   :math:`V_\psi(s)=b+w^\top x(s)` on a fixed, low-dimensional summary of the critics (the dimension does not grow
   with N_q): ``input_form`` ``"concat"`` x(s) = (V_θ(s), m(s), σ(s)) with m, σ the mean and the standard deviation
   over the levels of q(s, τ_1..τ_N) (the location and the spread of the learned return law) — the default, since it
   contains V_θ (w = e_1 recovers the mean critic) — or ``"product"`` x(s) = (mean_i V_θ(s)q(s, τ_i), s.d._i
   V_θ(s)q(s, τ_i)), the same summary of the paper's V_θ ⊙ q_φ read literally with a scalar V_θ.
   (b, w) is fitted *predictively* on the replay: the ridge least-squares fit (penalty ``ridge`` on w only) of the
   λ-return targets of the last B batches, each batch's targets regressed on the features that batch's advantages were
   computed with (V_θ and q *before* that iteration's updates; q then held only older batches), so the map is judged
   on data its inputs had not seen; the coefficients are then applied to the updated features to give the next
   iteration's V_ψ. Fits start with iteration 1's batch (at iteration 0 both critics are still 0, an uninformative
   input); until the first fit V_ψ = V_θ. Advantages use V_ψ.

   *Revision 2026-12-01* (referee's audit of L23, before any confirmatory run on the new rule): the map was fitted
   in-sample on the current batch with the *updated* V_θ and the N_q + 2 per-level inputs (1, V_θ, q_1..q_N). The
   updated V_θ at β = 1 is already the per-state least-squares optimum of that batch, and with at least as many inputs
   as visited states any per-state value is reachable, so V_ψ reproduced the per-state batch means whatever q held:
   PG-Rainbow at any β was PPO at β = 1 (9 of 12 quick grid cells equal to 1e-5). The predictive fit and the fixed
   input dimension (4 or 3, below the claim's 6 states for every N_q) are the referee's proposed fix. The fit uses
   the replay window rather than the current batch alone: one batch offers only ≤ 6 distinct inputs for 4
   coefficients, and on development instances 3 and 4 (lr 10, β ∈ {0.3, 1}, 16 seeds, 40 iterations) that fit's
   occupancy-weighted value error was 32–144 against 4–8 for V_θ, while the replayed fit's was 6.3–7.5.

**Exact critic (the twin).** ``critic="exact"``: advantages from the exact V^{π_t} of the current policy (an oracle no
learned critic can beat in its value input); it marks what a better critic can buy under the same sampler and rule.

Reductions (tested): with ``replay = 0`` there is no quantile critic and V_ψ ≡ V_θ, so the PG-Rainbow run is the mean
critic run bit for bit; with N_q = 1 the quantile critic is the per-state lower median of the replayed bootstrapped
targets.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Sequence

import torch

from .._checks import DTYPE, as_tensor, check_finite, check_positive_int, check_real
from ..estimators.advantages import gae_advantages
from ..estimators.surrogates import ppo_clip_objective
from ..exact.evaluation import evaluate_policy
from ..problems.mdp import TabularMDP
from ..sampling.mdp import Trajectories
from ..sampling.runs import sample_policies, seed_generators, transition_alias_table

__all__ = ["JackpotRewards", "PPOConfig", "PPOTrace", "PPO_CRITICS", "DISTILLATION_INPUT_FORMS", "quantile_levels", "grouped_quantiles",
           "fit_quantile_critic", "distillation_features", "fit_distillation", "run_tabular_ppo"]

PPO_CRITICS = ("mean", "pg_rainbow", "exact")
DISTILLATION_INPUT_FORMS = ("concat", "product")
#: relative tolerance of the "cumulative weight ≥ τ·total" comparison of :func:`grouped_quantiles` (float ties)
_QUANTILE_TIE_TOL = 1e-9


@dataclass(frozen=True)
class JackpotRewards:
    r"""Zero-mean skewed reward noise: :math:`\varepsilon = J(s,a)\,(B - p(s,a))`, B ∼ Bernoulli(p(s, a)).

    The sampled reward r(s, a) + ε keeps the mean r(s, a) (so every exact quantity of the MDP is unchanged), variance
    J²p(1 − p), and is two-point: a rare jackpot of size J w.p. p (skewness (1 − 2p)/√(p(1 − p))). ``prob``, ``size``
    are [S, A] tables, p ∈ [0, 1], J ≥ 0.
    """

    prob: torch.Tensor
    size: torch.Tensor

    def __post_init__(self) -> None:
        p = check_finite(as_tensor(self.prob, "prob"), "prob")
        j = check_finite(as_tensor(self.size, "size"), "size")
        if p.ndim != 2 or p.shape != j.shape:
            raise ValueError(f"prob: expected an [S, A] table of the shape of size, got {tuple(p.shape)} and {tuple(j.shape)}")
        if bool(((p < 0) | (p > 1)).any()):
            raise ValueError("prob: jackpot probabilities must lie in [0, 1]")
        if bool((j < 0).any()):
            raise ValueError("size: jackpot sizes must be non-negative")
        object.__setattr__(self, "prob", p)
        object.__setattr__(self, "size", j)

    def noise(self, states: torch.Tensor, actions: torch.Tensor, uniforms: torch.Tensor) -> torch.Tensor:
        """ε for transitions ``states, actions [M]`` from ``uniforms [M]`` ∼ U[0, 1): B = 1{u < p}."""
        p = self.prob[states, actions]
        return self.size[states, actions] * ((uniforms < p).to(DTYPE) - p)


@dataclass(frozen=True)
class PPOConfig:
    """The constants of a tabular PPO run (module docstring): iterations, episodes per iteration per run (the batch),
    K epochs, clip ε, GAE λ, the critic (``"mean"`` | ``"pg_rainbow"`` | ``"exact"``) and, for PG-Rainbow, N_q, the replay length B
    (in batches), the quantile sweeps per iteration, the distillation input form and ridge penalty."""

    n_iterations: int
    n_episodes: int
    epochs: int = 4
    clip: float = 0.2
    lam: float = 0.9
    critic: str = "mean"
    n_quantiles: int = 8
    replay: int = 4
    quantile_sweeps: int = 1
    input_form: str = "concat"
    ridge: float = 1e-6

    def __post_init__(self) -> None:
        check_positive_int(self.n_iterations, "n_iterations")
        check_positive_int(self.n_episodes, "n_episodes")
        check_positive_int(self.epochs, "epochs")
        check_real(self.clip, "clip", low=0.0, high=1.0, low_open=True, high_open=True)
        check_real(self.lam, "lam", low=0.0, high=1.0)
        if self.critic not in PPO_CRITICS:
            raise ValueError(f"critic: expected one of {PPO_CRITICS}, got {self.critic!r}")
        check_positive_int(self.n_quantiles, "n_quantiles")
        check_positive_int(self.replay, "replay", minimum=0)
        check_positive_int(self.quantile_sweeps, "quantile_sweeps")
        if self.input_form not in DISTILLATION_INPUT_FORMS:
            raise ValueError(f"input_form: expected one of {DISTILLATION_INPUT_FORMS}, got {self.input_form!r}")
        check_real(self.ridge, "ridge", low=0.0)


@dataclass(frozen=True)
class PPOTrace:
    """What :func:`run_tabular_ppo` returns for R runs and T iterations."""

    objective: torch.Tensor  #: [R, T + 1] exact J(π_t) of every iterate (t = 0 is the initial policy)
    episodes: torch.Tensor  #: [T + 1] episodes drawn per run before iterate t (the sample budget)
    advantage_mse: torch.Tensor  #: [R, T] mean over the batch's transitions of (Â_t − A^{π_t}(s_t, a_t))²
    value_error: torch.Tensor  #: [R, T] occupancy-weighted mean of (V_used − V^{π_t})² over states
    theta: torch.Tensor  #: [R, S, A] final logits
    quantiles: torch.Tensor | None  #: [R, S, N_q] final quantile critic (PG-Rainbow only)
    quantile_mean_error: torch.Tensor | None  #: [R, T] Σ_s d^π(s)(mean_i q(s, τ_i) − V^π(s))² (PG-Rainbow only)
    distillation: torch.Tensor | None  #: [R, T − 1, D] coefficients (b, w) fitted at iterations 1..T − 1 (PG-Rainbow only)


def quantile_levels(n: int) -> torch.Tensor:
    """τ_i = (2i − 1)/(2n), i = 1..n (QR-DQN's quantile midpoints), ``[n]``."""
    n = check_positive_int(n, "n")
    return (2 * torch.arange(1, n + 1, dtype=DTYPE) - 1) / (2 * n)


def grouped_quantiles(values: torch.Tensor, groups: torch.Tensor, weights: torch.Tensor, n_groups: int,
                      tau: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Lower τ-quantiles :math:`\inf\{y: F_g(y)\ge\tau\}` of the weighted empirical law of each group.

    ``values, groups, weights [K]`` (weights ≥ 0), ``tau [N]`` in (0, 1). Returns ``(quantiles [n_groups, N],
    total weight [n_groups])``; rows of groups without weight are 0 (callers mask them). For κ = 0 the lower quantile
    is a minimiser of :math:`\sum_k w_k\rho_\tau(y_k-\theta)` (:mod:`pgtheory.estimators.quantile_regression`).
    """
    if not (values.shape == groups.shape == weights.shape and values.ndim == 1):
        raise ValueError(f"values: expected values, groups, weights of one shape [K], got {tuple(values.shape)}, "
                         f"{tuple(groups.shape)}, {tuple(weights.shape)}")
    if bool((weights < 0).any()):
        raise ValueError("weights: must be non-negative")
    if values.shape[0] == 0:
        raise ValueError("values: need at least one value")
    check_finite(values, "values")
    order = torch.argsort(values, stable=True)
    order = order[torch.argsort(groups[order], stable=True)]  # sorted by (group, value)
    y, g, w = values[order], groups[order], weights[order]
    total = torch.zeros(n_groups, dtype=DTYPE, device=values.device).index_add_(0, g, w)
    cum = torch.cumsum(w, 0)  # non-decreasing over the whole (group, value)-sorted array
    start_w = torch.cumsum(total, 0) - total  # weight before each group
    thr = start_w[:, None] + tau.to(values.device)[None, :] * total[:, None] - _QUANTILE_TIE_TOL * total[:, None]
    idx = torch.searchsorted(cum, thr.contiguous()).clamp(max=values.shape[0] - 1)  # first k with cum_k ≥ thr
    q = torch.where(total[:, None] > 0, y[idx], torch.zeros((), dtype=DTYPE, device=values.device))
    return q, total


def fit_quantile_critic(q: torch.Tensor, states: torch.Tensor, rewards: torch.Tensor, next_states: torch.Tensor,
                        weights: torch.Tensor, *, discount: float = 1.0, sweeps: int = 1) -> torch.Tensor:
    r"""``sweeps`` sweeps of fitted quantile iteration on a table ``q [G, N]`` (G flat states, N levels τ_i).

    Transitions ``states, next_states [M]`` (next −1: the episode stopped), ``rewards, weights [M]``. Each sweep sets,
    at every state g with positive weight, q(g, i) = lower τ_i-quantile of the law putting weight w_t/N on each
    target y_{t,j} = r_t + discount·q(s'_t, j) (y_{t,j} = r_t when s'_t = −1); other rows are kept. Returns the new
    table. ``discount`` is 1 under geometric termination (the stop is in the data), γ for a truncated chain.
    """
    if q.ndim != 2:
        raise ValueError(f"q: expected a table [G, N], got shape {tuple(q.shape)}")
    sweeps = check_positive_int(sweeps, "sweeps")
    discount = check_real(discount, "discount", low=0.0, high=1.0)
    G, N = q.shape
    tau = quantile_levels(N).to(q.device)
    alive = next_states >= 0
    nxt = next_states.clamp_min(0)
    grp = states.repeat_interleave(N)
    w = weights.repeat_interleave(N)
    for _ in range(sweeps):
        y = rewards[:, None] + discount * torch.where(alive[:, None], q[nxt], torch.zeros((), dtype=q.dtype))  # [M, N]
        new, total = grouped_quantiles(y.reshape(-1), grp, w, G, tau)
        q = torch.where(total[:, None] > 0, new, q)
    return q


def distillation_features(v_theta: torch.Tensor, q: torch.Tensor, input_form: str) -> torch.Tensor:
    """x(s) with a leading 1, of a dimension that does not depend on N: ``[..., 4]`` for ``"concat"``
    (1, V_θ, mean_i q_i, s.d._i q_i) or ``[..., 3]`` for ``"product"`` (1, mean_i V_θ q_i, s.d._i V_θ q_i); the s.d.
    is the population one over the N levels (0 for N = 1). ``v_theta [...]``, ``q [..., N]``."""
    if input_form not in DISTILLATION_INPUT_FORMS:
        raise ValueError(f"input_form: expected one of {DISTILLATION_INPUT_FORMS}, got {input_form!r}")
    if q.ndim < 1 or q.shape[:-1] != v_theta.shape:
        raise ValueError(f"q: expected shape [..., N] with [...] = {tuple(v_theta.shape)}, got {tuple(q.shape)}")
    one = torch.ones_like(v_theta)[..., None]
    z = q if input_form == "concat" else v_theta[..., None] * q
    loc, spread = z.mean(-1, keepdim=True), z.std(-1, correction=0, keepdim=True)
    if input_form == "concat":
        return torch.cat([one, v_theta[..., None], loc, spread], -1)
    return torch.cat([one, loc, spread], -1)


def fit_distillation(features: torch.Tensor, targets: torch.Tensor, groups: torch.Tensor, n_groups: int,
                     ridge: float) -> torch.Tensor:
    r"""Per-group ridge least squares :math:`\min_c\sum_{k\in g}(y_k-c^\top x_k)^2+\text{ridge}\,\|c_{1:}\|^2`
    (the intercept c_0 unpenalised): ``features [K, D]``, ``targets [K]``, ``groups [K]`` → ``coef [n_groups, D]``.

    A group with a singular system (too few distinct inputs and ridge 0) raises ``ValueError`` naming ``features``.
    """
    ridge = check_real(ridge, "ridge", low=0.0)
    K, D = features.shape
    gram = torch.zeros(n_groups, D * D, dtype=DTYPE, device=features.device)
    gram.index_add_(0, groups, (features[:, :, None] * features[:, None, :]).reshape(K, D * D))
    rhs = torch.zeros(n_groups, D, dtype=DTYPE, device=features.device).index_add_(0, groups, features * targets[:, None])
    pen = torch.full((D,), ridge, dtype=DTYPE, device=features.device)
    pen[0] = 0.0
    # a scale-free jitter keeps the system solvable when inputs are collinear (e.g. q ≡ V_θ), without changing
    # well-posed fits beyond round-off
    scale = gram.reshape(n_groups, D, D).diagonal(dim1=-2, dim2=-1).mean(-1).clamp_min(1.0)
    A = gram.reshape(n_groups, D, D) + torch.diag(pen) + 1e-10 * scale[:, None, None] * torch.eye(D, dtype=DTYPE)
    coef, info = torch.linalg.solve_ex(A, rhs)
    if bool((info != 0).any()) or not bool(torch.isfinite(coef).all()):
        raise ValueError("features: the distillation least-squares system is singular for some run")
    return coef


def _check_runs(mdp, seeds, lr, critic_step, theta0):
    if not isinstance(mdp, TabularMDP):
        raise TypeError(f"mdp: expected a TabularMDP, got {type(mdp).__name__}")
    if isinstance(seeds, (str, bytes)) or not hasattr(seeds, "__len__") or len(seeds) == 0:
        raise ValueError("seeds: expected a non-empty sequence of non-negative integers (one per run)")
    R = len(seeds)
    out = []
    for name, x in (("lr", lr), ("critic_step", critic_step)):
        t = check_finite(as_tensor(x, name, device=mdp.device), name).reshape(-1)
        if t.numel() == 1:
            t = t.expand(R).clone()
        if t.shape != (R,):
            raise ValueError(f"{name}: expected a scalar or one value per run ({R}), got shape {tuple(t.shape)}")
        out.append(t)
    lr, step = out
    if bool((lr <= 0).any()):
        raise ValueError("lr: step sizes must be positive")
    if bool(((step <= 0) | (step > 1)).any()):
        raise ValueError("critic_step: must lie in (0, 1]")
    S, A = mdp.n_states, mdp.n_actions
    if theta0 is None:
        theta = torch.zeros(R, S, A, dtype=DTYPE, device=mdp.device)
    else:
        theta = check_finite(as_tensor(theta0, "theta0", device=mdp.device), "theta0")
        if theta.shape == (S, A):
            theta = theta.expand(R, S, A)
        if theta.shape != (R, S, A):
            raise ValueError(f"theta0: expected [S, A] or [R, S, A] = [{R}, {S}, {A}], got {tuple(theta.shape)}")
        theta = theta.clone()
    return R, lr, step, theta


def run_tabular_ppo(mdp: TabularMDP, seeds: Sequence[int], lr, critic_step, config: PPOConfig, *,
                    rewards: JackpotRewards | None = None, theta0=None) -> PPOTrace:
    """R = len(seeds) independent runs of tabular PPO with the critic ``config.critic`` (module docstring).

    ``lr``, ``critic_step``: a scalar or one value per run ``[R]`` (β ∈ (0, 1]). Run r draws its trajectories from a
    generator seeded ``seeds[r]`` and its reward noise from one seeded ``seeds[r] + 2**31``; the same seed gives the
    same trajectories for both critics as long as the policies agree (a paired design). ``theta0`` [S, A] or
    [R, S, A] (default: uniform policy). Returns a :class:`PPOTrace`.
    """
    if not isinstance(config, PPOConfig):
        raise TypeError(f"config: expected a PPOConfig, got {type(config).__name__}")
    R, lr, beta, theta = _check_runs(mdp, seeds, lr, critic_step, theta0)
    if rewards is not None:
        if not isinstance(rewards, JackpotRewards):
            raise TypeError(f"rewards: expected JackpotRewards or None, got {type(rewards).__name__}")
        if rewards.prob.shape != (mdp.n_states, mdp.n_actions):
            raise ValueError(f"rewards: tables of shape {tuple(rewards.prob.shape)} for an MDP with [S, A] = "
                             f"[{mdp.n_states}, {mdp.n_actions}]")
        rewards = JackpotRewards(rewards.prob.to(mdp.device), rewards.size.to(mdp.device))
    dev, S, n = mdp.device, mdp.n_states, config.n_episodes
    gens = seed_generators(list(seeds), dev)
    noise_gens = seed_generators([int(s) + 2 ** 31 for s in seeds], dev)
    table = transition_alias_table(mdp)
    rainbow = config.critic == "pg_rainbow" and config.replay > 0
    exact = config.critic == "exact"
    N = config.n_quantiles
    v_theta = torch.zeros(R, S, dtype=DTYPE, device=dev)
    q = torch.zeros(R * S, N, dtype=DTYPE, device=dev)
    coef = None  # distillation (b, w) per run; None until the first fit (V_ψ = V_θ before it)
    buffer: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []
    coefs: list[torch.Tensor] = []
    dist_buffer: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []  # (features before, targets, run)
    T = config.n_iterations
    J = torch.empty(R, T + 1, dtype=DTYPE, device=dev)
    adv_mse = torch.empty(R, T, dtype=DTYPE, device=dev)
    v_err = torch.empty(R, T, dtype=DTYPE, device=dev)
    qm_err = torch.empty(R, T, dtype=DTYPE, device=dev)

    def v_used() -> torch.Tensor:
        if not rainbow or coef is None:
            return v_theta
        x = distillation_features(v_theta, q.view(R, S, N), config.input_form)  # [R, S, D]
        return (x * coef[:, None, :]).sum(-1)

    for t in range(T + 1):
        pi = torch.softmax(theta, -1)
        ev = evaluate_policy(mdp, pi)
        J[:, t] = ev.objective
        if t == T:
            break
        traj = sample_policies(mdp, pi, n, gens, table=table)
        run = torch.div(traj.episode, n, rounding_mode="floor")
        if rewards is not None:
            u = torch.empty_like(traj.rewards)
            for r in range(R):  # run r's noise comes from its own generator, in its own transition order
                m = run == r
                u[m] = torch.rand(int(m.sum()), generator=noise_gens[r], dtype=DTYPE, device=dev)
            traj = replace(traj, rewards=traj.rewards + rewards.noise(traj.states, traj.actions, u))
        flat = run * S + traj.states
        flat_traj: Trajectories = replace(traj, states=flat)
        V = ev.v if exact else v_used()
        if rainbow:  # the features V_ψ was built from, before this iteration's updates (the predictive fit's inputs)
            x_before = distillation_features(v_theta, q.view(R, S, N), config.input_form).reshape(R * S, -1)
        adv = gae_advantages(flat_traj, V.reshape(-1), config.lam)
        targets = adv + V.reshape(-1)[flat]
        true_adv = ev.advantage[run, traj.states, traj.actions]
        count = torch.zeros(R, dtype=DTYPE, device=dev).index_add_(0, run, torch.ones_like(adv))
        adv_mse[:, t] = torch.zeros(R, dtype=DTYPE, device=dev).index_add_(0, run, (adv - true_adv) ** 2) / count
        v_err[:, t] = (ev.occupancy * (V - ev.v) ** 2).sum(-1)
        qm_err[:, t] = (ev.occupancy * (q.view(R, S, N).mean(-1) - ev.v) ** 2).sum(-1)
        # standardised advantages per run
        mean = torch.zeros(R, dtype=DTYPE, device=dev).index_add_(0, run, adv) / count
        var = torch.zeros(R, dtype=DTYPE, device=dev).index_add_(0, run, (adv - mean[run]) ** 2) / count
        a_std = (adv - mean[run]) / var.sqrt().clamp_min(1e-8)[run]
        # K epochs of full-batch ascent on the clipped surrogate
        logp_old = traj.log_target
        for _ in range(config.epochs):
            th = theta.detach().requires_grad_(True)
            logp = torch.log_softmax(th, -1)[run, traj.states, traj.actions]
            obj = ppo_clip_objective(torch.exp(logp - logp_old), a_std, eps=config.clip)
            per_run = torch.zeros(R, dtype=DTYPE, device=dev).index_add(0, run, obj) / count
            (grad,) = torch.autograd.grad(per_run.sum(), th)
            theta = (th + lr[:, None, None] * grad).detach()
        # mean critic: damped per-state regression on the λ-return targets
        visits = torch.zeros(R * S, dtype=DTYPE, device=dev).index_add_(0, flat, torch.ones_like(targets))
        sums = torch.zeros(R * S, dtype=DTYPE, device=dev).index_add_(0, flat, targets)
        seen = visits > 0
        vt = v_theta.reshape(-1)
        batch_mean = torch.where(seen, sums / visits.clamp_min(1), vt)
        v_theta = (vt + beta.repeat_interleave(S) * (batch_mean - vt)).view(R, S)
        if rainbow:
            nxt_idx = traj.next_index()
            nxt = torch.where(nxt_idx >= 0, flat[nxt_idx.clamp_min(0)], torch.full_like(flat, -1))
            buffer.append((flat, traj.rewards, nxt))
            buffer = buffer[-config.replay:]
            st_all, r_all, n_all = (torch.cat(z) for z in zip(*buffer))
            q = fit_quantile_critic(q, st_all, r_all, n_all, torch.ones_like(r_all), discount=1.0,
                                    sweeps=config.quantile_sweeps)
            if t >= 1:  # at t = 0 both critics are 0: nothing to fit on
                dist_buffer.append((x_before[flat], targets, run))
                dist_buffer = dist_buffer[-config.replay:]
                x_all, y_all, run_all = (torch.cat(z) for z in zip(*dist_buffer))
                coef = fit_distillation(x_all, y_all, run_all, R, config.ridge)
                coefs.append(coef)
    episodes = torch.arange(T + 1, dtype=DTYPE, device=dev) * n
    D = 4 if config.input_form == "concat" else 3
    dist = (torch.stack(coefs, 1) if coefs else torch.empty(R, 0, D, dtype=DTYPE, device=dev)) if rainbow else None
    return PPOTrace(J, episodes, adv_mse, v_err, theta, q.view(R, S, N) if rainbow else None, qm_err if rainbow else None,
                    dist)
