r"""A simplified LPO: low-switching optimistic policy optimisation on a linear MDP, batched over runs.

Source. Li, Wang, Cheng & Yang (ICML 2023), "Low-Switching Policy Gradient with Exploration via Online Sensitivity
Sampling" (LPO). What could be read of the paper (abstract and introduction): LPO solves a sequence of *optimistic*
MDPs by policy-gradient (NPG / mirror-descent) steps, as Agarwal et al. (2020, PC-PG) and Feng et al. (2021, ENIAC)
do, but changes its policy only rarely ("low switching", after Zanette et al. 2021), using *online sensitivity
sampling* of the collected data, and claims Õ(poly(d)/ε³) samples. The body (the algorithm box, the sensitivity
rule, the bonus, the constants) could not be read here; everything below is a simplification written from the
linear-MDP literature and says where each piece comes from.

The simplified algorithm (discounted, finite S and A, features φ(s,a) ∈ R^d of a :class:`~pgtheory.problems.LinearMDP`):

1. **Data.** Rounds of ``episodes_per_round`` episodes per run, drawn with the run's *deployed* policy under geometric termination
   (continue with probability γ; :func:`~pgtheory.sampling.sample_policies`). Every step is a sample; a step whose
   episode continues also gives a regression triple (s, a, r, s'), stored as counts ``N[s, a, s']`` and reward sums.
2. **Covariance.** :math:`\Lambda_t = \lambda I + \sum_i \phi(s_i,a_i)\phi(s_i,a_i)^\top` over the regression triples.
3. **Switching rule** (the *rarely switching* rule of Abbasi-Yadkori, Pál & Szepesvári 2011, §5, also used by
   Wang et al. 2021 and Zanette et al. 2021 for linear low-switching RL; for linear features online sensitivity
   sampling keeps the determinant within the same constant factor, Kong et al. 2021, so both switch O(d log T)
   times): after a round, the run switches iff :math:`\det\Lambda_t > c\,\det\Lambda_{\rm last}` (c = 2), where
   :math:`\Lambda_{\rm last}` is the covariance at its previous switch (λI at the start). Because
   :math:`\det\Lambda_t \le (\lambda + tL^2/d)^d` (AM–GM on the trace, ``L = max‖φ‖₂``, t regression samples),
   the number of switches after T samples is at most :func:`switch_count_bound`
   :math:`= d\log_c(1 + TL^2/(d\lambda))` — deterministic, whatever the data. The twin rule ``"every_round"``
   switches after every round and breaks the bound once the rounds outnumber it.
4. **Optimistic critic** (:func:`optimistic_linear_critic`): least-squares policy evaluation of the current policy
   on *all* the data, with the elliptical bonus of LSVI-UCB (Jin et al. 2020, Algorithm 1, in its discounted
   policy-evaluation form as in Zanette et al. 2021 / Cai et al. 2020):
   :math:`Q(s,a) = \mathrm{clip}_{[0, V_{\max}]}\big(\phi^\top w + \beta\|\phi\|_{\Lambda^{-1}}\big)`,
   :math:`w = \Lambda^{-1}\sum_i \phi_i\,(r_i + \gamma V(s'_i))`, :math:`V(s) = \sum_a\pi(a|s)Q(s,a)`, iterated
   to its fixed point (at most ``critic_iterations`` sweeps, started from the unclipped fixed point, one S×S solve).
5. **Policy update at a switch only**: up to ``npg_steps`` softmax mirror-descent (NPG) steps (fewer once the
   optimistic advantage is below ``advantage_tol``: the optimistic MDP is then solved to that accuracy)
   :math:`\pi_{k+1}(a|s)\propto\pi_k(a|s)\exp(\eta Q_k(s,a))` (Agarwal et al. 2021, §5.3 / Cai et al. 2020), each
   with its critic re-fitted to the current inner policy on the same data, started from the uniform policy at every
   switch (as the NPG-update of PC-PG, Agarwal et al. 2020, which LPO builds on — not verified for LPO itself) or,
   with ``restart=False``, from the deployed policy (one mirror-descent sequence, as OPPO, Cai et al. 2020).
   Between switches the deployed policy does not change. Whether the cap K bound is reported, not hidden: the trace
   counts per run the switches whose loop ended after K steps with the optimistic advantage still above
   ``advantage_tol`` (``npg_capped``) and the largest advantage left at any switch (``npg_residual``).

Simplifications relative to LPO: linear features instead of a general function class with eluder dimension;
the determinant-doubling rule instead of sampling each datum with probability ∝ its sensitivity; all data kept
(no sub-sampled core set); one critic fitted on the pooled data instead of PC-PG/ENIAC's policy-cover mixture and
known-set construction; NPG on the optimistic model to a tolerance (with a cap on the steps) in place of the paper's
NPG schedule; discounted with geometric episodes instead of the paper's setting (not verified). The exact suboptimality J* − J(π) of each deployed policy comes from
:mod:`pgtheory.exact`.
"""
from __future__ import annotations

import math
from typing import NamedTuple, Sequence

import numpy as np
import torch

from .._checks import as_tensor, check_finite, check_positive_int, check_probabilities, check_real
from ..exact.evaluation import objective
from ..exact.solvers import value_iteration
from ..problems.linear_mdp import LinearMDP
from ..sampling.runs import sample_policies, seed_generators, transition_alias_table

__all__ = ["SWITCH_RULES", "CRITIC_TOL", "LowSwitchingTrace", "CriticOperator", "switch_count_bound", "determinant_switch",
           "feature_covariance", "critic_operator", "optimistic_linear_critic", "low_switching_pg",
           "samples_until_optimal_for_good"]

#: the switching rules: ``"determinant"`` (det Λ_t > c det Λ_last) and its twin ``"every_round"``
SWITCH_RULES = ("determinant", "every_round")
#: inside :func:`low_switching_pg` the critic stops once its values change by ≤ CRITIC_TOL·V_max in one sweep
CRITIC_TOL = 1e-9


class LowSwitchingTrace(NamedTuple):
    """What :func:`low_switching_pg` returns for R runs at C sample checkpoints."""

    checkpoints: np.ndarray  #: sample counts T_c at which the runs are read, [C]
    suboptimality: np.ndarray  #: J* − J(π) of the policy deployed after T_c samples, [R, C]
    switches: np.ndarray  #: policy switches made within the first T_c samples (the initial policy not counted), [R, C]
    bound: np.ndarray  #: switch_count_bound(T_c) for the run's d, λ, L and ratio, [C]
    log_det_ratio: np.ndarray  #: log det Λ − d log λ after T_c samples, [R, C]
    switch_samples: list  #: per run, the sample counts at which it switched (list of R lists of ints)
    samples_used: np.ndarray  #: samples drawn by each run in total (≥ the last checkpoint), [R]
    optimal_value: float  #: J* of the MDP (value iteration)
    policy: torch.Tensor  #: the final deployed policies, [R, S, A]
    npg_capped: np.ndarray  #: per run, the switches whose NPG loop hit the cap K with the advantage still > tol, [R]
    npg_residual: np.ndarray  #: per run, the largest optimistic advantage max_s(max_a Q − V) left at a switch, [R]
    round_samples: np.ndarray  #: samples drawn by each run after each round k = 0 (none) … K (all rounds), [R, K + 1]
    round_suboptimality: np.ndarray  #: J* − J(π) of the policy deployed after round k (used for the next round), [R, K + 1]


def switch_count_bound(samples, feature_dim: int, reg: float, feature_norm: float, ratio: float = 2.0) -> np.ndarray:
    r"""The determinant bound on the switches of the rule det Λ_t > c·det Λ_last after T samples:

    .. math:: N_{\rm switch}(T) \le \log_c\frac{\det\Lambda_T}{\lambda^d} \le d\,\log_c\!\Big(1 + \frac{T L^2}{d\lambda}\Big).

    Each switch multiplies det Λ_last by more than c, starting from λ^d, and det Λ_T ≤ (tr Λ_T / d)^d ≤
    (λ + T L²/d)^d (Abbasi-Yadkori et al. 2011, Lemma 10). ``samples`` any shape (array-like, ≥ 0); returns the
    bound with the same shape. Counting the initial policy as well adds 1.
    """
    d = check_positive_int(feature_dim, "feature_dim")
    lam = check_real(reg, "reg", low=0.0, low_open=True)
    L = check_real(feature_norm, "feature_norm", low=0.0)
    c = check_real(ratio, "ratio", low=1.0, low_open=True)
    T = np.asarray(samples, dtype=float)
    if np.any(~np.isfinite(T)) or np.any(T < 0):
        raise ValueError("samples: must be finite and non-negative")
    return d * np.log1p(T * L * L / (d * lam)) / math.log(c)


def determinant_switch(log_det_now: torch.Tensor, log_det_last: torch.Tensor, ratio: float = 2.0) -> torch.Tensor:
    r"""The rarely-switching rule: switch iff det Λ_now > c·det Λ_last, i.e. log det Λ_now − log det Λ_last > log c.

    ``log_det_now``, ``log_det_last`` tensors of one shape ``[...]`` (log-determinants); returns a bool ``[...]``.
    """
    c = check_real(ratio, "ratio", low=1.0, low_open=True)
    if not isinstance(log_det_now, torch.Tensor) or not isinstance(log_det_last, torch.Tensor):
        raise TypeError("log_det_now, log_det_last: expected torch tensors")
    if log_det_now.shape != log_det_last.shape:
        raise ValueError(f"log_det_now: shape {tuple(log_det_now.shape)} differs from log_det_last's "
                         f"{tuple(log_det_last.shape)}")
    check_finite(log_det_now, "log_det_now")
    check_finite(log_det_last, "log_det_last")
    return log_det_now - log_det_last > math.log(c)


def feature_covariance(features: torch.Tensor, counts: torch.Tensor, reg: float) -> torch.Tensor:
    r"""Λ = λI + Σ_{s,a} n(s,a) φ(s,a)φ(s,a)ᵀ from visit counts.

    ``features [S, A, d]``, ``counts [..., S, A]`` (non-negative; the number of regression samples at each pair),
    ``reg`` λ > 0; returns ``[..., d, d]``.
    """
    phi = check_finite(as_tensor(features, "features"), "features")
    if phi.ndim != 3:
        raise ValueError(f"features: expected shape [S, A, d], got {tuple(phi.shape)}")
    n = as_tensor(counts, "counts", device=phi.device)
    if tuple(n.shape[-2:]) != tuple(phi.shape[:2]):
        raise ValueError(f"counts: expected shape [..., S, A] = [..., {phi.shape[0]}, {phi.shape[1]}], got {tuple(n.shape)}")
    if bool((n < 0).any()) or not bool(torch.isfinite(n).all()):
        raise ValueError("counts: must be finite and non-negative")
    lam = check_real(reg, "reg", low=0.0, low_open=True)
    eye = torch.eye(phi.shape[-1], dtype=phi.dtype, device=phi.device)
    return lam * eye + torch.einsum("...sa,sai,saj->...ij", n, phi, phi)


class CriticOperator(NamedTuple):
    r"""The affine map V ↦ φᵀw(V) of the least-squares backup, and the bonus widths, for a batch ``[...]`` of datasets."""

    offset: torch.Tensor  #: φ(s,a)ᵀΛ⁻¹ Σ_{s̃,ã} φ(s̃,ã) R(s̃,ã), [..., S, A]
    transition: torch.Tensor  #: φ(s,a)ᵀΛ⁻¹ Σ_{s̃,ã} φ(s̃,ã) N(s̃,ã,s'), [..., S, A, S]
    width: torch.Tensor  #: ‖φ(s,a)‖_{Λ⁻¹}, [..., S, A]


def critic_operator(features: torch.Tensor, transition_counts: torch.Tensor, reward_sums: torch.Tensor, *,
                    reg: float) -> CriticOperator:
    r"""The least-squares backup of :func:`optimistic_linear_critic` as an affine map of V, precomputed once per dataset.

    With Λ = λI + Σ n φφᵀ: φᵀw(V) = φᵀΛ⁻¹(Σ φR + γ Σ φ N V) = ``offset`` + γ·``transition`` V, and the widths
    ‖φ‖_{Λ⁻¹}. Shapes: ``features [S, A, d]``, ``transition_counts [..., S, A, S]`` (counts N(s,a,s') of the stored
    triples), ``reward_sums [..., S, A]`` (the sum of their rewards); returns a :class:`CriticOperator`.
    """
    phi = check_finite(as_tensor(features, "features"), "features")
    if phi.ndim != 3:
        raise ValueError(f"features: expected shape [S, A, d], got {tuple(phi.shape)}")
    S, A, _ = phi.shape
    N = check_finite(as_tensor(transition_counts, "transition_counts", device=phi.device), "transition_counts")
    if N.ndim < 3 or tuple(N.shape[-3:]) != (S, A, S):
        raise ValueError(f"transition_counts: expected shape [..., S, A, S] = [..., {S}, {A}, {S}], got {tuple(N.shape)}")
    if bool((N < 0).any()):
        raise ValueError("transition_counts: must be non-negative")
    Rs = check_finite(as_tensor(reward_sums, "reward_sums", device=phi.device), "reward_sums")
    if tuple(Rs.shape) != tuple(N.shape[:-1]):
        raise ValueError(f"reward_sums: expected shape {tuple(N.shape[:-1])} (transition_counts without s'), got {tuple(Rs.shape)}")
    chol = torch.linalg.cholesky(feature_covariance(phi, N.sum(-1), reg))  # [..., d, d]
    proj = torch.einsum("sai,...ij->...saj", phi, torch.cholesky_inverse(chol))  # φᵀΛ⁻¹, [..., S, A, d]
    width = (proj * phi).sum(-1).clamp_min(0.0).sqrt()
    offset = torch.einsum("...saj,...j->...sa", proj, torch.einsum("sai,...sa->...i", phi, Rs))
    transition = torch.einsum("...saj,...ju->...sau", proj, torch.einsum("tbj,...tbu->...ju", phi, N))
    return CriticOperator(offset, transition, width)


def optimistic_linear_critic(features: torch.Tensor, transition_counts: torch.Tensor, reward_sums: torch.Tensor,
                             policy: torch.Tensor, *, reg: float, bonus: float, discount: float, value_cap: float,
                             iterations: int, initial_values: torch.Tensor | None = None, tol: float = 0.0,
                             operator: CriticOperator | None = None, solve: bool = False) -> torch.Tensor:
    r"""Optimistic least-squares evaluation of ``policy`` from counted data, with the elliptical bonus.

    With n(s,a) = Σ_{s'} N(s,a,s'), Λ = λI + Σ n φφᵀ (:func:`feature_covariance`) and V₀ = 0 (or ``initial_values
    [..., S]``, e.g. to warm-start from a previous evaluation), iterate at most ``iterations`` times

    .. math:: w = \Lambda^{-1}\sum_{s,a}\phi(s,a)\Big(R(s,a) + \gamma\sum_{s'}N(s,a,s')V(s')\Big),\qquad
              Q = \mathrm{clip}_{[0,\,V_{\max}]}\big(\phi^\top w + \beta\sqrt{\phi^\top\Lambda^{-1}\phi}\big),\qquad
              V(s) = \sum_a \pi(a|s)Q(s,a),

    stopping early once max |V_new − V| ≤ ``tol``: the least-squares regression of the targets r_i + γV(s'_i) of every
    stored triple (LSVI-UCB's backup, Jin et al. 2020, Algorithm 1, with the policy's expectation in place of the max).
    With one-hot features this is tabular optimistic evaluation with counts,
    Q = clip((R + γ N V)/(λ + n) + β/√(λ + n)); with exact data (N = c·P, β = 0, λ → 0) its fixed point is Q^π of the
    linear MDP (Jin et al. 2020, Proposition 2.3). Without clipping the map need not be a sup-norm contraction for
    general features; the clip keeps every iterate in [0, V_max].

    Shapes: ``features [S, A, d]``; ``transition_counts [..., S, A, S]``; ``reward_sums [..., S, A]`` (sum of the
    rewards of the counted triples); ``policy [..., S, A]``; returns Q ``[..., S, A]``. ``operator``: the
    :func:`critic_operator` of these data, when already computed (then the data arguments are not re-read).
    ``solve``: start the sweeps from the unclipped fixed point :math:`V = (I-\gamma M_\pi)^{-1}\sum_a\pi\,(\text{offset} +
    \beta\,\text{width})` (one S×S solve, clipped to [0, V_max]) instead of V₀; where that fixed point's Q lies in
    [0, V_max] it is also the clipped map's, so the first sweep leaves it unchanged and ``tol`` stops the loop.
    """
    op = critic_operator(features, transition_counts, reward_sums, reg=reg) if operator is None else operator
    if not isinstance(op, CriticOperator):
        raise TypeError(f"operator: expected a CriticOperator or None, got {type(op).__name__}")
    pi = check_probabilities(as_tensor(policy, "policy", device=op.offset.device), "policy")
    if tuple(pi.shape) != tuple(op.offset.shape):
        raise ValueError(f"policy: expected shape {tuple(op.offset.shape)}, got {tuple(pi.shape)}")
    beta = check_real(bonus, "bonus", low=0.0)
    gamma = check_real(discount, "discount", low=0.0, high=1.0, high_open=True)
    vmax = check_real(value_cap, "value_cap", low=0.0, low_open=True)
    J = check_positive_int(iterations, "iterations")
    eps = check_real(tol, "tol", low=0.0)
    if initial_values is None:
        v = torch.zeros(pi.shape[:-1], dtype=pi.dtype, device=pi.device)  # [..., S]
    else:
        v = check_finite(as_tensor(initial_values, "initial_values", device=pi.device), "initial_values")
        if tuple(v.shape) != tuple(pi.shape[:-1]):
            raise ValueError(f"initial_values: expected shape {tuple(pi.shape[:-1])}, got {tuple(v.shape)}")
    return check_finite(_iterate_critic(op, pi, v, beta, gamma, vmax, J, eps, solve), "Q (optimistic critic)")


def _iterate_critic(op: CriticOperator, pi: torch.Tensor, v: torch.Tensor, beta: float, gamma: float, vmax: float,
                    J: int, eps: float, solve: bool) -> torch.Tensor:
    """The sweeps of :func:`optimistic_linear_critic` on validated inputs (its inner loop; no checks)."""
    base = op.offset + beta * op.width
    if solve:  # the unclipped fixed point V = Σ_a π(base + γMV) by one S×S solve; where it lies in [0, V_max] it is exact
        S = pi.shape[-2]
        m_pi = (pi.unsqueeze(-1) * op.transition).sum(-2)  # [..., S, S]
        eye = torch.eye(S, dtype=pi.dtype, device=pi.device)
        sol = torch.linalg.solve_ex(eye - gamma * m_pi, (pi * base).sum(-1).unsqueeze(-1))[0].squeeze(-1)
        ok = torch.isfinite(sol).all(-1, keepdim=True)
        v = torch.where(ok, sol.nan_to_num(0.0).clamp(0.0, vmax), v)
    for _ in range(J):
        q = (base + gamma * (op.transition @ v[..., None, :, None]).squeeze(-1)).clamp(0.0, vmax)
        v_new = (pi * q).sum(-1)
        done = eps > 0 and float((v_new - v).abs().max()) <= eps
        v = v_new
        if done:
            break
    return q


def _episode_statistics(traj, R: int, m: int, S: int, A: int, dev) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per-run samples [R], counts N [R, S, A, S] and reward sums [R, S, A] of R·m episodes (episode id r·m + i)."""
    run_all = torch.div(traj.episode, m, rounding_mode="floor")
    steps = torch.zeros(R, dtype=torch.float64, device=dev).index_add_(
        0, run_all, torch.ones(traj.n_transitions, dtype=torch.float64, device=dev))
    nxt = traj.next_index()
    has = nxt >= 0
    run, s, a = run_all[has], traj.states[has], traj.actions[has]
    s2 = traj.states[nxt[has]]
    N = torch.zeros(R * S * A * S, dtype=torch.float64, device=dev)
    N.index_add_(0, ((run * S + s) * A + a) * S + s2, torch.ones_like(s2, dtype=torch.float64))
    Rs = torch.zeros(R * S * A, dtype=torch.float64, device=dev)
    Rs.index_add_(0, (run * S + s) * A + a, traj.rewards[has])
    return steps, N.view(R, S, A, S), Rs.view(R, S, A)


def low_switching_pg(lin: LinearMDP, seeds: Sequence[int], total_samples: int, *, reg: float = 1.0, bonus: float = 1.0,
                     step_size: float = 1.0, npg_steps: int = 5, switch_rule: str = "determinant", ratio: float = 2.0,
                     advantage_tol: float = 0.0, critic_iterations: int | None = None, episodes_per_round: int = 1,
                     restart: bool = True, n_checkpoints: int = 24, first_checkpoint: int = 64) -> LowSwitchingTrace:
    r"""Run the simplified LPO (module docstring) for R = len(seeds) independent runs on one linear MDP.

    Each run r uses a ``torch.Generator`` seeded with ``seeds[r]`` and draws rounds of ``episodes_per_round`` episodes
    until it has at least ``total_samples`` samples (environment steps); the switching rule is checked after each
    round. ``reg`` λ, ``bonus`` β, ``step_size`` η, ``npg_steps`` K per switch,
    ``switch_rule`` in :data:`SWITCH_RULES` with ratio c, ``restart`` (True: each switch runs its K NPG steps from the
    uniform policy, as PC-PG/ENIAC's NPG-update does; False: from the deployed policy's logits, one mirror-descent
    sequence), ``critic_iterations`` (the cap on the critic's sweeps; default ⌈log(1e-10)/log γ⌉, so that
    γ^J ≤ 1e-10; it stops early at a sweep change ≤ :data:`CRITIC_TOL`·V_max, starting from the unclipped fixed point).
    Rewards must lie in [0, 1] (the critic clips at V_max = 1/(1 − γ)). The runs are read at ``n_checkpoints``
    log-spaced sample counts from ``first_checkpoint`` to ``total_samples`` (:class:`LowSwitchingTrace`); runs that
    reach ``total_samples`` early keep sampling until the last one does (their extra rounds are not read at the
    checkpoints; the per-round history ``round_samples`` / ``round_suboptimality`` keeps every round, for
    :func:`samples_until_optimal_for_good`).
    ``npg_capped`` / ``npg_residual`` of the trace say where the cap ``npg_steps`` bound before ``advantage_tol``
    was met (the residual is the optimistic advantage max_s(max_a Q − V) of the policy the loop returned).
    """
    if not isinstance(lin, LinearMDP):
        raise TypeError(f"lin: expected a LinearMDP, got {type(lin).__name__}")
    if switch_rule not in SWITCH_RULES:
        raise ValueError(f"switch_rule: expected one of {SWITCH_RULES}, got {switch_rule!r}")
    T_max = check_positive_int(total_samples, "total_samples", minimum=2)
    K = check_positive_int(npg_steps, "npg_steps")
    adv_tol = check_real(advantage_tol, "advantage_tol", low=0.0)
    eta = check_real(step_size, "step_size", low=0.0, low_open=True)
    lam = check_real(reg, "reg", low=0.0, low_open=True)
    beta = check_real(bonus, "bonus", low=0.0)
    c = check_real(ratio, "ratio", low=1.0, low_open=True)
    C = check_positive_int(n_checkpoints, "n_checkpoints", minimum=2)
    T0 = check_positive_int(first_checkpoint, "first_checkpoint")
    m = check_positive_int(episodes_per_round, "episodes_per_round")
    if T0 >= T_max:
        raise ValueError(f"first_checkpoint: must be below total_samples ({T_max}), got {T0}")
    r = lin.rewards
    if bool((r < 0).any()) or bool((r > 1).any()):
        raise ValueError("lin: rewards must lie in [0, 1] (the critic clips values to [0, 1/(1 − γ)])")
    gamma = lin.discount
    J_crit = (max(1, math.ceil(math.log(1e-10) / math.log(gamma))) if gamma > 0 else 1) if critic_iterations is None \
        else check_positive_int(critic_iterations, "critic_iterations")
    mdp = lin.tabular()
    gens = seed_generators(list(seeds), lin.device)
    R, S, A, d, dev = len(gens), lin.n_states, lin.n_actions, lin.feature_dim, lin.device
    phi = lin.features
    L = float(phi.norm(dim=-1).max())
    vmax = 1.0 / (1.0 - gamma)
    j_star = float(objective(mdp, value_iteration(mdp).policy))
    table = transition_alias_table(mdp)
    logits = torch.zeros(R, S, A, dtype=torch.float64, device=dev)
    pi = torch.softmax(logits, -1)
    N = torch.zeros(R, S, A, S, dtype=torch.float64, device=dev)
    Rs = torch.zeros(R, S, A, dtype=torch.float64, device=dev)
    samples = torch.zeros(R, dtype=torch.float64, device=dev)
    log_det0 = d * math.log(lam)
    log_det_last = torch.full((R,), log_det0, dtype=torch.float64, device=dev)
    subopt = j_star - objective(mdp, pi)
    switches = torch.zeros(R, dtype=torch.float64, device=dev)
    switch_samples: list[list[int]] = [[] for _ in range(R)]
    npg_capped = torch.zeros(R, dtype=torch.float64, device=dev)
    npg_residual = torch.zeros(R, dtype=torch.float64, device=dev)
    hist_T, hist_gap, hist_sw, hist_ld = [samples.clone()], [subopt.clone()], [switches.clone()], [log_det_last.clone()]
    while bool((samples < T_max).any()):
        traj = sample_policies(mdp, pi, m, gens, table=table)
        steps, dN, dRs = _episode_statistics(traj, R, m, S, A, dev)
        samples, N, Rs = samples + steps, N + dN, Rs + dRs
        log_det = torch.linalg.slogdet(feature_covariance(phi, N.sum(-1), lam)).logabsdet
        if switch_rule == "determinant":
            sw = determinant_switch(log_det, log_det_last, c)
        else:
            sw = torch.ones(R, dtype=torch.bool, device=dev)
        idx = sw.nonzero().squeeze(-1)
        if idx.numel():  # the inner loop uses the checked pieces' unchecked core; the result is checked below
            lg = torch.zeros_like(logits[idx]) if restart else logits[idx].clone()
            v = torch.zeros_like(lg[..., 0])
            op = critic_operator(phi, N[idx], Rs[idx], reg=lam)
            residual = torch.zeros(idx.numel(), dtype=torch.float64, device=dev)
            rows = torch.arange(idx.numel(), device=dev)  # the switching runs not yet optimised to tolerance
            sub = op
            for k in range(K + 1):  # K updates; the (K + 1)-th evaluation only reads whether the cap bound
                p_in = torch.softmax(lg[rows], -1)
                q = _iterate_critic(sub, p_in, v[rows], beta, gamma, vmax, J_crit, CRITIC_TOL * vmax, True)
                v[rows] = (p_in * q).sum(-1)
                residual[rows] = (q.amax(-1) - v[rows]).amax(-1)  # the optimistic advantage max_s (max_a Q − V)
                active = residual[rows] > adv_tol
                if not bool(active.any()) or k == K:
                    break
                lg[rows] = lg[rows] + eta * q * active[:, None, None]
                lg[rows] = lg[rows] - lg[rows].amax(-1, keepdim=True)  # softmax is shift-invariant: bound the logits
                if not bool(active.all()):  # evaluate only the runs still above tolerance from now on
                    rows = rows[active]
                    sub = CriticOperator(op.offset[rows], op.transition[rows], op.width[rows])
            npg_capped[idx] += (residual > adv_tol).to(torch.float64)
            npg_residual[idx] = torch.maximum(npg_residual[idx], residual)
            logits[idx] = lg
            pi = check_finite(torch.softmax(logits, -1), "policy (NPG update)")
            subopt[idx] = j_star - objective(mdp, pi[idx])
            log_det_last[idx] = log_det[idx]
            switches[idx] += 1
            for i in idx.tolist():
                switch_samples[i].append(int(samples[i]))
        hist_T.append(samples.clone())
        hist_gap.append(subopt.clone())
        hist_sw.append(switches.clone())
        hist_ld.append(log_det.clone())
    Th = torch.stack(hist_T, 1).cpu().numpy()  # [R, rounds + 1], non-decreasing in the round
    G = torch.stack(hist_gap, 1).cpu().numpy()
    W = torch.stack(hist_sw, 1).cpu().numpy()
    LD = torch.stack(hist_ld, 1).cpu().numpy() - log_det0
    cps = np.unique(np.round(np.geomspace(T0, T_max, C)).astype(np.int64))
    # the state after the last round that ended with at most T_c samples (the policy deployed for sample T_c + 1)
    pos = np.stack([np.searchsorted(Th[i], cps, side="right") - 1 for i in range(R)])  # [R, C]
    take = lambda M: np.take_along_axis(M, pos, 1)  # noqa: E731
    gap = np.clip(take(G), 0.0, None)
    if np.any(~np.isfinite(gap)):
        raise RuntimeError("low_switching_pg: a suboptimality is not finite")
    return LowSwitchingTrace(cps.astype(float), gap, take(W), switch_count_bound(cps, d, lam, L, c), take(LD),
                             switch_samples, Th[:, -1].copy(), j_star, pi, npg_capped.cpu().numpy().astype(np.int64),
                             npg_residual.cpu().numpy(), Th, np.clip(G, 0.0, None))


def samples_until_optimal_for_good(round_samples, round_suboptimality, targets, horizon: float) -> np.ndarray:
    r"""N_r(ε): the samples after which run r's deployed policy stays ε-optimal up to ``horizon``, at round resolution.

    The policy deployed after round k (``round_suboptimality[r, k]``) draws samples ``round_samples[r, k] + 1`` …
    ``round_samples[r, k + 1]``; it is *used within the horizon* when ``round_samples[r, k] < horizon``. Then
    :math:`N_r(\varepsilon) = T_{r,k^*}` with :math:`k^* = \min\{k : G_{r,k'} \le \varepsilon` for every used
    :math:`k' \ge k\}` — every policy deployed from sample N + 1 to the horizon is ε-optimal, and the one before it
    was not — and ``inf`` when the last policy used within the horizon is not ε-optimal. Reading the gaps at every
    round (not at a few checkpoints) sees a bad policy deployed and replaced between two checkpoints (a referee's
    audit of 2026-11-30 found 24 log-spaced checkpoints put N too early on a third to a half of the runs).
    ``round_samples``, ``round_suboptimality`` ``[R, K + 1]`` (a trace's fields; samples non-decreasing along k,
    starting below ``horizon``); ``targets [E]`` positive. Returns float64 ``[R, E]`` (0 when even the initial policy
    is ε-optimal throughout).
    """
    T = np.atleast_2d(np.asarray(round_samples, dtype=float))
    G = np.atleast_2d(np.asarray(round_suboptimality, dtype=float))
    eps = np.atleast_1d(np.asarray(targets, dtype=float))
    if T.shape != G.shape:
        raise ValueError(f"round_samples, round_suboptimality: expected the same shape [R, K + 1], got {T.shape} and {G.shape}")
    if np.any(~np.isfinite(T)) or np.any(np.diff(T, axis=1) < 0) or np.any(T < 0):
        raise ValueError("round_samples: must be finite, non-negative and non-decreasing along the rounds")
    if np.any(~np.isfinite(G)):
        raise ValueError("round_suboptimality: must be finite")
    if eps.ndim != 1 or eps.size == 0 or np.any(~np.isfinite(eps)) or np.any(eps <= 0):
        raise ValueError("targets: expected a non-empty 1-D array of positive finite numbers")
    if not np.isfinite(horizon) or np.any(T[:, 0] >= horizon):
        raise ValueError(f"horizon: must be finite and above every run's first entry, got {horizon}")
    used = T < horizon  # [R, K + 1]: a prefix of the rounds
    n_used = used.sum(1)  # ≥ 1
    bad = (G[..., None] > eps) & used[..., None]  # [R, K + 1, E]
    K1 = T.shape[1]
    last_bad = np.where(bad.any(1), K1 - 1 - bad[:, ::-1].argmax(1), -1)  # [R, E]
    start = last_bad + 1  # k*: the first round from which every used policy is ε-optimal
    N = np.take_along_axis(T, np.minimum(start, K1 - 1), axis=1)
    return np.where(start < n_used[:, None], N, np.inf)
