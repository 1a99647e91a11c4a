r"""L37 (Risk-averse PG with ECRMs, Yu & Ying 2023): "Under both constrained direct parameterization and unconstrained
softmax parameterization, we provide global convergence and iteration complexities of the corresponding risk-averse
policy gradient algorithms."

Objective (:mod:`pgtheory.exact.ecrm`): costs c(s, a), γ = 0.8, one-step risk ρ = (1 − λ)E + λ CVaR_α (upper tail of a
cost), ECRM J(π) = E[c_0 + Σ_{t≥1} γ^t ρ(c_t | F_{t−1})]; by Rockafellar–Uryasev the η's become actions of an augmented
MDP (state (s, η_{t−1}) with a start copy at t = 0, action (a, η_t)) whose DP optimum (policy iteration on the η grid of
cost values — exact for continuous η, see the exact module) is J*. Definitions not verified against the paper body
(only its abstract and introduction could be read): the α convention, the η grid, and the exact form of the paper's
first-step/later-step split are this package's derivation from the CLAIMS.md row.

Two claims share this module (one per parameterisation, so that the direct part can be decided while the softmax part
is still pre-asymptotic): ``L37-ecrm-direct-pg-global`` and ``L37-ecrm-softmax-pg-global``.

Design (fixed before running; constants below with their reasons):
* Instances: stochastic cliff walks (3 × 4 grid, start bottom-left, goal bottom-right absorbing at cost 0, the two
  bottom-middle cells are cliff states costing 1 and resetting to the start, other cells cost 0.1 per move, each move
  slips to a uniformly random direction with probability ``slip`` ~ U(0.1, 0.3), drawn from the run seed;
  :func:`pgtheory.problems.generators.stochastic_cliff`, moved there from this module on 2026-11-30, issue 14, output
  unchanged) and Garnets (S = 4, A = 2, branching 2) with costs drawn from {0, 1/3, 2/3, 1}. Quick: 1 cliff + 1 Garnet; full: 3 cliffs +
  5 Garnets (the quick and full instances differ, as their seeds do).
  λ = 0.5, α = 0.8 (the worst 20% of next costs).
* Direct claim, (i) gradient domination — the lemma behind global convergence of projected PG (Agarwal et al. 2021,
  Lemma 4, on the augmented MDP, in costs): for ``random_policies`` random augmented policies π per instance,
  J_ρ(π) − J*_ρ ≤ ‖d^{π*}_ρ/d^π_μ‖_∞ · max_π̄ ⟨π − π̄, ∇_π J_μ(π)⟩ with μ uniform on augmented states (the sharper
  of the lemma's two forms; the other replaces d^π_μ by (1 − γ)μ). A violation beyond round-off (1e-9 relative) refutes.
* Both claims, (ii) exact PG from ``inits`` random initialisations per instance, on J_μ (exploratory μ, as the
  convergence theorems for these parameterisations require), the gap measured on the paper's objective J_ρ − J*_ρ:
  projected direct PG π ← Proj_Δ(π − η_d ∇_π J_μ), softmax PG θ ← θ − η_s ∇_θ J_μ, ``steps`` iterations. A run holds
  when its best gap ends ≤ GAP_TOL. A run that does not is never a refutation here (the theorems' step sizes are
  smaller than ours and T is finite; softmax PG has known long plateaus, Li et al. 2021): the verdict is inconclusive.
* Direct claim, (iii) iteration complexity (extension: the bound's constant involves distribution-mismatch
  coefficients that make it vacuous at these sizes, so only its shape is checked): O(1/ε²) iterations means the best
  gap falls at least as fast as T^{−1/2}. Per run: consistent when the gap reaches the float floor (≤ 1e-10) or its
  log–log slope over the last third of the log-spaced checkpoints is ≤ −1/2 + RATE_TOL.
* Code checks (not evidence about the paper): DP optimum at λ = 0 = risk-neutral optimum; the DP policy's exact-CVaR
  (no RU) value equals J*; PG theorem = autograd on one policy per instance.
* Sensitivity (every judged instance, the main run's starts; since 2026-12-01): the step factor, λ and α, each point
  judged by the main rule, worst over the instances.
* Reported, not judged: the exact ECRM of the risk-neutral optimal policy against J* (what risk aversion buys).
Verdicts. Direct: refuted if (i) fails; else inconclusive if a run of (ii) ends above GAP_TOL; else the rate part (iii)
decides between confirmed and (extension) qualified; kind=theorem (the paper's convergence theorems, checked exactly on
instances), extension=True, quote_verdict = the verdict of (i)–(ii). Softmax: confirmed if every run of (ii) ends
within GAP_TOL, else inconclusive; kind=theorem, extension=False. Which softmax algorithm the seed version analyses
(plain, or with the log-barrier regularisation a later version's abstract names) is not verified; plain softmax PG is
tested. A dev look (2026-11-30, the dev cliff) at log-barrier softmax PG (κ = 0.01) showed the same slow
progress within 1200 steps, so it was not added.

Step sizes: Agarwal et al.'s smoothness bound gives η ≤ (1 − γ)³/(2γ|Ã|·span c̃) for direct and Mei et al.'s
(1 − γ)³/(8·span c̃) for softmax; both are worst-case and far too small for a run (at 10× the direct bound a dev cliff,
slip 0.2, was still 0.2 above J* after 2·10⁴ steps). We run η = STEP_FACTOR × those (declared before the quick runs,
after that dev look on 2026-11-30: monotone descent of J_μ at the direct factor, plateaus for softmax at factors
5·10³–2·10⁵) and sweep the factor (×0.2 and ×4) in each claim.

Revisions (2026-11-30, on quick seeds only, before any full run): (1) one claim became two (direct and softmax), so
that softmax plateaus do not hide the direct result; (2) the cliff slips were fixed (0.2 quick; 0.1, 0.2, 0.3 full),
the same instance in both scales — now drawn from the run seed; (3) sweep points use ``sweep_inits`` starts (quick
budget); (4) the domination check used the looser form with (1 − γ)μ (max gap/bound 0.04–0.06 on the quick
instances) — replaced by the sharper form above; (5) (the lead's review, before any full run) a step-factor sweep point
below the main factor f runs steps × f/f' iterations, i.e. at the main run's η·T: with the same T a smaller step asks
a different question (convergence within a shorter "time"), and its non-convergence had qualified the claim;
(6) (a referee's audit, before any full run) the η·T matching now covers every sweep point — η also shrinks with the
span of the transformed costs at other λ, α (×3.2 at α = 0.95), at most SWEEP_STEP_CAP × T — and only *risk-relevant*
instances are judged: those whose risk-neutral optimal policy has an ECRM exceeding J* by ≥ RISK_GAP_MIN = 10·GAP_TOL
(on many Garnets the excess is ≈ 0, so converging to the risk-neutral optimum would have passed); the others are
reported. No relevant instance: inconclusive. The gradient-domination check still covers every instance.

Revision 2026-12-01 (a referee of the seed-10 ledger, before the seed-13 run): every sweep point ran on one instance
(the first cliff) with 2 starts while the verdict was judged on the risk-relevant instances (3 at seed 10) with 5
starts, so "every sweep point agreed" covered one judged instance. Sweep points now run on every judged instance with
the main run's starts and report their instance count (the protocol reads an agreeing point on fewer instances as
"not established" on the others); revision (3)'s ``sweep_inits``/``sweep_instance`` settings are gone. The direct
claim's reading is declared (``Claim.reading``, see the claim).
"""
from __future__ import annotations

import numpy as np
import torch

from ...exact import evaluate_policy, policy_gradient_autograd
from ...exact.ecrm import (ecrm_objective, ecrm_optimum, ecrm_policy_gradient, ecrm_problem, lift_action_policy,
                           nested_ecrm_value)
from ...exact.solvers import policy_iteration
from ...policies import DirectPolicy, TabularSoftmax, project_simplex
from ...problems import TabularMDP, garnet
from ...problems.generators import stochastic_cliff
from ...stats import ols_slopes
from ..record import Claim, Evidence, RunContext, sweep_point
from ..registry import register_claim
from ..style import new_figure, save_figure

ID_DIRECT = "L37-ecrm-direct-pg-global"
ID_SOFTMAX = "L37-ecrm-softmax-pg-global"
GAMMA = 0.8  #: short paths on a 3 × 4 cliff; the worst-case steps scale as (1 − γ)³
LAM, ALPHA = 0.5, 0.8  #: mean–CVaR mixture half-way; the worst 20% of next costs
GAP_TOL = 1e-3  #: costs lie in [0, 1] (J* up to a few units): a gap of 0.1% of the cost scale counts as converged
RISK_GAP_MIN = 10 * GAP_TOL  #: an instance counts only if the risk-neutral optimum's ECRM exceeds J* by this (revision 6)
SWEEP_STEP_CAP = 10.0  #: a sweep point runs at most this many times the main run's iterations (revision 6)
DOMINATION_RTOL = 1e-9  #: round-off allowance of the gradient-domination inequality (relative to 1 + |J|)
RATE_TOL = 0.05  #: slack on the T^{−1/2} shape (local slopes of exact runs are smooth)
FLOOR = 1e-10  #: a gap below this has reached the float64 resolution of J (≈ 1e-16·|J|/(1 − γ) after many steps)
STEP_FACTOR_DIRECT = 5000.0  #: × (1 − γ)³/(2γ|Ã| span): monotone descent on the dev cliff; swept ×1/5 and ×4
STEP_FACTOR_SOFTMAX = 50000.0  #: × (1 − γ)³/(8 span); plateaus at every factor tried on the dev cliff (5e3–2e5)
SLIP_RANGE = (0.1, 0.3)  #: slip probability of the cliff walks: risky enough that CVaR matters, not a random walk


def _garnet_instance(seed: int) -> tuple[TabularMDP, torch.Tensor]:
    mdp = garnet(n_states=4, n_actions=2, branching=2, discount=GAMMA, seed=seed)
    rng = np.random.default_rng(seed)
    cost = torch.from_numpy(rng.integers(0, 4, size=(4, 2)) / 3.0)
    return TabularMDP(mdp.transitions, -cost, GAMMA, mdp.initial, name=f"garnet(seed={seed})"), cost


def _instances(n_cliffs: int, n_garnets: int, seed: int):
    """Cliffs with slip ~ U(SLIP_RANGE) and Garnets, all drawn from the run seed (quick and full instances differ)."""
    slips = np.random.default_rng(seed).uniform(*SLIP_RANGE, size=n_cliffs)
    out = [stochastic_cliff(round(float(p), 3), discount=GAMMA) for p in slips]
    out += [_garnet_instance(10_000 * seed + i) for i in range(n_garnets)]
    return out


def _fw_gap(grad: torch.Tensor, pi: torch.Tensor) -> torch.Tensor:
    """max_π̄ ⟨π − π̄, g⟩ = Σ_s (Σ_a π g − min_a g), per batch element (descent on a cost)."""
    return ((pi * grad).sum(-1) - grad.amin(-1)).sum(-1)


def _checkpoints(steps: int) -> list[int]:
    return sorted(set(np.unique(np.round(np.logspace(0, np.log10(steps), 30)).astype(int)).tolist()))


def _run_pg(problem, problem_mu, j_star: float, kind: str, factor: float, steps: int, inits: int, g: torch.Generator):
    """Exact PG on J_μ from ``inits`` random starts; returns (checkpoints, gaps [inits, C], monotone flag)."""
    S2, A2 = problem.mdp.n_states, problem.mdp.n_actions
    pol = DirectPolicy(S2, A2) if kind == "direct" else TabularSoftmax(S2, A2)
    eta = _step_size(problem, kind, factor)
    theta = pol.random_params(inits, generator=g)
    cps = _checkpoints(steps)
    gaps, j_mu, k = [], [], 0
    for t in range(1, steps + 1):
        grad = ecrm_policy_gradient(problem_mu, pol, theta)
        theta = project_simplex(theta - eta * grad) if kind == "direct" else theta - eta * grad
        if t == cps[k]:
            pi = pol.probs(theta)
            gaps.append((ecrm_objective(problem, pi) - j_star).clamp_min(0.0))
            j_mu.append(ecrm_objective(problem_mu, pi))
            k += 1
    G = torch.stack(gaps, -1).numpy()
    best = np.minimum.accumulate(G, axis=-1)
    Jm = torch.stack(j_mu, -1).numpy()
    monotone = bool((np.diff(Jm, axis=-1) <= 1e-12 * (1 + np.abs(Jm[:, 1:]))).all())
    return np.array(cps, dtype=float), best, monotone, eta


def _step_size(problem, kind: str, factor: float) -> float:
    """η = factor × the worst-case smoothness step: (1 − γ)³/(2γ|Ã| span c̃) (direct), (1 − γ)³/(8 span c̃) (softmax)."""
    ct = -problem.mdp.rewards
    span = float(ct.max() - ct.min())
    if kind == "direct":
        return factor * (1 - GAMMA) ** 3 / (2 * GAMMA * problem.mdp.n_actions * span)
    return factor * (1 - GAMMA) ** 3 / (8 * span)


def _rate_consistent(cps: np.ndarray, best: np.ndarray) -> np.ndarray:
    tail = slice(2 * len(cps) // 3, None)
    ok = best[:, -1] <= FLOOR
    pos = np.maximum(best[:, tail], FLOOR)
    slopes = ols_slopes(np.log(cps[tail]), np.log(pos))
    return ok | (slopes <= -0.5 + RATE_TOL)


def _study(mdp, cost, lam, alpha, s, g, *, kind: str, factor: float, random_policies: int = 0):
    """Everything measured on one instance at one (λ, α, step factor) for one parameterisation ``kind``."""
    problem = ecrm_problem(mdp, lam, alpha, costs=cost)
    S2 = problem.mdp.n_states
    mu = torch.full((S2,), 1.0 / S2, dtype=torch.float64)
    problem_mu = ecrm_problem(mdp, lam, alpha, costs=cost, augmented_initial=mu)
    sol = ecrm_optimum(problem)
    j_star = float((problem.mdp.initial * sol.v).sum())
    checks = []
    direct_value = float(nested_ecrm_value(problem, sol.policy))
    if abs(direct_value - j_star) > 1e-9 * (1 + abs(j_star)):
        checks.append(f"{mdp.name}: the DP policy's exact-CVaR value {direct_value:.12g} ≠ J* {j_star:.12g}")
    out = {"j_star": j_star, "checks": checks, "problem": problem}
    if random_policies:  # (i) gradient domination at random augmented policies (direct parameterisation)
        occ_star = evaluate_policy(problem.mdp, sol.policy).occupancy  # d^{π*}_ρ, normalised
        mismatch = float((occ_star / mu).max())
        pol = DirectPolicy(S2, problem.mdp.n_actions)
        pis = pol.random_params(random_policies, generator=g, scale=2.0)
        gap = ecrm_objective(problem, pis) - j_star
        occ_pi = evaluate_policy(problem_mu.mdp, pis).occupancy  # d^π_μ ≥ (1 − γ)μ, so this is the sharper form
        coef = (occ_star / occ_pi).amax(-1)
        bound = coef * _fw_gap(ecrm_policy_gradient(problem_mu, pol, pis), pis)
        out.update(mismatch=mismatch, domination_violation=float((gap - bound - DOMINATION_RTOL * (1 + j_star)).max()),
                   domination_ratio_max=float((gap / bound.clamp_min(1e-300)).max()))
    cps, best, mono, eta = _run_pg(problem, problem_mu, j_star, kind, factor, s["steps"], s["inits"], g)
    out.update(cps=cps, best=best, monotone=mono, eta=eta)
    if kind == "direct":
        out["rate_ok"] = _rate_consistent(cps, best)
    return out


def _point_verdict(st: dict) -> str:
    """The rule of the main run at one sweep point: refuted by a domination violation, confirmed when every run ends
    within GAP_TOL, inconclusive otherwise (never refuted by a finite run)."""
    if st.get("domination_violation", -1.0) > 0:
        return "refuted"
    return "confirmed" if bool((st["best"][:, -1] <= GAP_TOL).all()) else "inconclusive"


def _code_checks(mdp, cost, problem, g) -> tuple[list[str], torch.Tensor]:
    """λ = 0 gives the risk-neutral optimum; the PG theorem equals autograd (checks of pgtheory, not of the paper)."""
    out = []
    neutral = policy_iteration(TabularMDP(mdp.transitions, -cost, GAMMA, mdp.initial))
    p0 = ecrm_problem(mdp, 0.0, ALPHA, costs=cost)
    j0 = float((p0.mdp.initial * ecrm_optimum(p0).v).sum())
    jn = -float((mdp.initial * neutral.v).sum())
    if abs(j0 - jn) > 1e-9 * (1 + abs(jn)):
        out.append(f"{mdp.name}: ECRM optimum at λ = 0 ({j0:.12g}) ≠ risk-neutral optimum ({jn:.12g})")
    pol = TabularSoftmax(problem.mdp.n_states, problem.mdp.n_actions)
    th = pol.random_params(generator=g)
    err = float((ecrm_policy_gradient(problem, pol, th) + policy_gradient_autograd(problem.mdp, pol, th)).abs().max())
    if err > 1e-9:
        out.append(f"{mdp.name}: PG theorem ≠ autograd ({err:.2g})")
    return out, neutral.policy


def _sweep(insts, judged: list[int], s, g, kind: str, factor: float, with_domination: bool) -> tuple[list, list]:
    """Every swept value on every judged instance with the main run's starts (revision 2026-12-01, a referee of the
    seed-10 ledger: the sweep ran on one instance, cliff(slip=0.119), with 2 starts, while the verdict was judged on 3
    instances with 5 starts). A point's verdict is the worst over the instances: refuted by any domination violation,
    confirmed when every run on every judged instance ends within GAP_TOL, inconclusive otherwise."""
    sens, checks = [], []
    for const, values in (("step_factor", [factor * f for f in s["step_sweep"]]), ("lam", s["lam_sweep"]),
                          ("alpha", s["alpha_sweep"])):
        for v in values:
            kw = {"lam": LAM, "alpha": ALPHA, "step_factor": factor, const: v}
            per_instance, gaps, violations, monotone, steps_used = [], [], [], [], []
            for i in judged:
                mdp, cost = insts[i]
                # a smaller step η (a smaller factor, or a larger span of transformed costs at another λ, α) is judged at
                # the main run's η·T, a larger one at the same T (revisions 5 and 6), at most SWEEP_STEP_CAP × T
                eta_main = _step_size(ecrm_problem(mdp, LAM, ALPHA, costs=cost), kind, factor)
                eta_point = _step_size(ecrm_problem(mdp, kw["lam"], kw["alpha"], costs=cost), kind, kw["step_factor"])
                steps = int(round(s["steps"] * min(SWEEP_STEP_CAP, max(1.0, eta_main / eta_point))))
                st = _study(mdp, cost, kw["lam"], kw["alpha"], dict(s, steps=steps), g, kind=kind,
                            factor=kw["step_factor"], random_policies=s["random_policies"] // 4 if with_domination else 0)
                checks += st["checks"]
                per_instance.append(_point_verdict(st))
                gaps.append(float(st["best"][:, -1].max()))
                violations.append(st.get("domination_violation"))
                monotone.append(st["monotone"])
                steps_used.append(steps)
            verdict = next((w for w in ("refuted", "inconclusive") if w in per_instance), "confirmed")
            sens.append(sweep_point(const, v, verdict, instances=len(judged), final_gap_max=max(gaps),
                                    domination_violation=max(violations) if with_domination else None,
                                    monotone=monotone, instance=[insts[i][0].name for i in judged],
                                    per_instance=per_instance, steps=steps_used))
    return sens, checks


def _measurements(studies, names, verdict: str) -> dict:
    """What the figure is drawn from: the best-gap curves of every instance (stacked), J* and the ECRM of the
    risk-neutral optimum per instance, the instance names and the raw verdict."""
    return {"cps": np.stack([st["cps"] for st in studies]), "best": np.stack([st["best"] for st in studies]),
            "j_star": np.array([st["j_star"] for st in studies]),
            "ecrm_of_neutral": np.array([st["ecrm_of_neutral"] for st in studies]), "names": list(names),
            "verdict": verdict}


def _figure(m: dict, claim_id: str, title: str, label: str, color: str, with_rate: bool):
    fig, (a1, a2) = new_figure(claim_id, title, ncols=2, width=4.6)
    for i, (cps, best) in enumerate(zip(m["cps"], m["best"])):
        for r_i, r in enumerate(best):
            a1.loglog(cps, np.maximum(r, FLOOR), color=color, lw=0.8, alpha=0.7,
                      label=label if i == 0 and r_i == 0 else None)
    cps0 = m["cps"][0]
    if with_rate:
        ref = max(float(best[:, 0].max()) for best in m["best"]) * (cps0 / cps0[0]) ** -0.5
        a1.loglog(cps0, ref, "k:", lw=1, label="∝ T^(−1/2) (stated O(1/ε²))")
    a1.axhline(GAP_TOL, color="k", lw=0.8, ls="-.", label=f"tolerance {GAP_TOL:g}")
    a1.set_xlabel("PG iteration T")
    a1.set_ylabel("best J_ρ(π_t) − J*_ρ so far [cost]")
    a1.legend(fontsize=7)
    x = np.arange(len(m["names"]))
    a2.bar(x - 0.2, m["j_star"], 0.4, label="ECRM optimum J* (DP)")
    a2.bar(x + 0.2, m["ecrm_of_neutral"], 0.4, label="ECRM of the risk-neutral optimum")
    a2.set_xticks(x, list(m["names"]), rotation=20, fontsize=7)
    a2.set_ylabel(f"ECRM cost (λ = {LAM}, α = {ALPHA})")
    a2.legend(fontsize=7)
    return fig


def _draw_direct(m: dict, figure_dir: str) -> str:
    """The direct-PG figure, from the stored measurements: best gap vs iteration, and J* vs the risk-neutral ECRM."""
    fig = _figure(m, ID_DIRECT, f"projected direct PG on the ECRM (λ = {LAM}, α = {ALPHA}): raw verdict {m['verdict']}",
                  "projected direct PG", "C0", True)
    return save_figure(fig, figure_dir, ID_DIRECT)


def _draw_softmax(m: dict, figure_dir: str) -> str:
    """The softmax-PG figure, from the stored measurements: best gap vs iteration, and J* vs the risk-neutral ECRM."""
    fig = _figure(m, ID_SOFTMAX, f"softmax PG on the ECRM (λ = {LAM}, α = {ALPHA}): raw verdict {m['verdict']}",
                  "softmax PG", "C1", False)
    return save_figure(fig, figure_dir, ID_SOFTMAX)


def _measure(ctx: RunContext, kind: str, factor: float, with_domination: bool):
    s = ctx.settings
    g = torch.Generator().manual_seed(ctx.seed)
    insts = _instances(s["cliffs"], s["garnets"], ctx.seed)
    studies, code_checks = [], []
    for mdp, cost in insts:
        st = _study(mdp, cost, LAM, ALPHA, s, g, kind=kind, factor=factor,
                    random_policies=s["random_policies"] if with_domination else 0)
        more, neutral_policy = _code_checks(mdp, cost, st["problem"], g)
        code_checks += st["checks"] + more
        # what risk aversion buys: the exact ECRM of the risk-neutral optimal policy against J*
        st["ecrm_of_neutral"] = float(nested_ecrm_value(st["problem"], lift_action_policy(st["problem"], neutral_policy)))
        studies.append(st)
    relevant = _risk_relevant(studies)
    # the sweep runs on the instances the verdict is judged on (all of them when none is judged, as _judged counts)
    judged = [i for i, r in enumerate(relevant) if r] or list(range(len(studies)))
    sens, more = _sweep(insts, judged, s, g, kind, factor, with_domination)
    return insts, studies, sens, code_checks + more


def _risk_relevant(studies) -> list[bool]:
    """Instances where converging to the risk-neutral optimum would fail the rule by ≥ RISK_GAP_MIN (revision 6)."""
    return [st["ecrm_of_neutral"] - st["j_star"] >= RISK_GAP_MIN for st in studies]


def _judged(holds: list[bool], relevant: list[bool]) -> list[bool]:
    """The replication outcomes over the judged (risk-relevant) instances only (revision 2026-12-01, a referee of the
    seed-9 ledger: the record counted unjudged instances as failures, "4/8 holding" where the other 4 were not judged);
    all instances, each failing, when none is judged (the summary then says 0 judged)."""
    judged = [h for h, r in zip(holds, relevant) if r]
    return judged or [False] * len(holds)


def _judged_runs_text(studies, relevant) -> str:
    """Runs within tolerance on the judged instances, and the largest judged final gap."""
    runs = [st["best"][:, -1] for st, r in zip(studies, relevant) if r]
    if not runs:
        return "no judged runs"
    gaps = np.concatenate(runs)
    return (f"on judged instances {int((gaps <= GAP_TOL).sum())}/{gaps.size} runs reached the optimum within {GAP_TOL:g} "
            f"(largest judged final gap {gaps.max():.2g})")


def run_direct(ctx: RunContext) -> Evidence:
    s = ctx.settings
    insts, studies, sens, code_checks = _measure(ctx, "direct", STEP_FACTOR_DIRECT, True)
    names = [m.name for m, _ in insts]
    domination_ok = all(st["domination_violation"] <= 0 for st in studies)
    relevant = _risk_relevant(studies)
    reached = [bool((st["best"][:, -1] <= GAP_TOL).all()) for st, r in zip(studies, relevant) if r]
    quote_verdict = "refuted" if not domination_ok else ("confirmed" if reached and all(reached) else "inconclusive")
    rate_ok = np.concatenate([st["rate_ok"] for st, r in zip(studies, relevant) if r] or [np.zeros(0, dtype=bool)])
    verdict = quote_verdict if quote_verdict != "confirmed" else ("confirmed" if rate_ok.all() else "refuted")
    n_runs = sum(st["best"].shape[0] for st in studies)
    summary = (f"{len(studies)} instances ({', '.join(names)}), γ = {GAMMA}: gradient domination "
               f"{'held' if domination_ok else 'VIOLATED'} at {s['random_policies']} random policies each (max gap/bound "
               f"{max(st['domination_ratio_max'] for st in studies):.3g}); projected direct PG reached the DP optimum within "
               f"{GAP_TOL:g} on {sum(int((st['best'][:, -1] <= GAP_TOL).sum()) for st in studies)}/{n_runs} runs after "
               f"{s['steps']} steps (max final gap {max(float(st['best'][:, -1].max()) for st in studies):.2g}); best gap "
               f"falls at least as T^(−1/2) on {int(rate_ok.sum())}/{rate_ok.size} runs; the ECRM of the risk-neutral "
               f"optimum exceeds J* by up to {max(st['ecrm_of_neutral'] - st['j_star'] for st in studies):.3g}; "
               f"{sum(relevant)}/{len(studies)} instances risk-relevant (excess ≥ {RISK_GAP_MIN:g}) and judged; "
               + _judged_runs_text(studies, relevant))
    return Evidence(
        verdict=verdict, statistic=float(max(float(st["best"][:, -1].max()) for st in studies)),
        threshold=(f"only instances whose risk-neutral optimum has ECRM excess ≥ {RISK_GAP_MIN:g} are judged; gradient domination (Agarwal et al. Lemma 4 on the augmented MDP) within {DOMINATION_RTOL:g}; exact PG "
                   f"gap ≤ {GAP_TOL:g} at the end (else inconclusive); extension: best gap falls at least as T^(−1/2) "
                   f"(tail slope ≤ −0.5 + {RATE_TOL} or the floor {FLOOR:g})"),
        n_samples=0, summary=summary,
        details={"instances": names, "j_star": [st["j_star"] for st in studies],
                 "ecrm_of_risk_neutral_optimum": [st["ecrm_of_neutral"] for st in studies],
                 "mismatch": [st["mismatch"] for st in studies],
                 "domination_violation": [st["domination_violation"] for st in studies],
                 "domination_ratio_max": [st["domination_ratio_max"] for st in studies],
                 "final_gap": [st["best"][:, -1].tolist() for st in studies], "monotone": [st["monotone"] for st in studies],
                 "step_size": [st["eta"] for st in studies], "rate_consistent": rate_ok.tolist(),
                 "checkpoints": studies[0]["cps"].tolist(), "gap_curves": [st["best"].tolist() for st in studies],
                 "quote_verdict": quote_verdict, "risk_relevant": relevant},
        instances=_judged([domination_ok and bool((st["best"][:, -1] <= GAP_TOL).all()) for st in studies], relevant),
        sensitivity=sens, quote_verdict=quote_verdict, code_checks=code_checks,
        measurements=_measurements(studies, names, verdict),
    )


def run_softmax(ctx: RunContext) -> Evidence:
    s = ctx.settings
    insts, studies, sens, code_checks = _measure(ctx, "softmax", STEP_FACTOR_SOFTMAX, False)
    names = [m.name for m, _ in insts]
    relevant = _risk_relevant(studies)
    reached = [bool((st["best"][:, -1] <= GAP_TOL).all()) for st, r in zip(studies, relevant) if r]
    verdict = "confirmed" if reached and all(reached) else "inconclusive"
    half = [st["best"][:, len(st["cps"]) // 2] for st in studies]
    still_falling = sum(int(((st["best"][:, -1] > GAP_TOL) & (st["best"][:, -1] < 0.5 * h)).sum()) for st, h in zip(studies, half))
    n_runs = sum(st["best"].shape[0] for st in studies)
    summary = (f"{len(studies)} instances ({', '.join(names)}), γ = {GAMMA}: exact softmax PG reached the DP optimum within "
               f"{GAP_TOL:g} on {sum(int((st['best'][:, -1] <= GAP_TOL).sum()) for st in studies)}/{n_runs} runs after "
               f"{s['steps']} steps (max final gap {max(float(st['best'][:, -1].max()) for st in studies):.2g}; "
               f"{still_falling} of the others at least halved their gap between t = {int(studies[0]['cps'][len(studies[0]['cps']) // 2])} "
               f"and T, the rest sit on plateaus); J_μ monotone on "
               f"{sum(int(st['monotone']) for st in studies)}/{len(studies)} instances; {sum(relevant)}/{len(studies)} "
               f"instances risk-relevant (excess ≥ {RISK_GAP_MIN:g}) and judged; " + _judged_runs_text(studies, relevant))
    return Evidence(
        verdict=verdict, statistic=float(max(float(st["best"][:, -1].max()) for st in studies)),
        threshold=f"exact softmax PG gap ≤ {GAP_TOL:g} at the end on every run (else inconclusive: never refuted by a finite run)",
        n_samples=0, summary=summary,
        details={"instances": names, "j_star": [st["j_star"] for st in studies],
                 "ecrm_of_risk_neutral_optimum": [st["ecrm_of_neutral"] for st in studies],
                 "final_gap": [st["best"][:, -1].tolist() for st in studies], "monotone": [st["monotone"] for st in studies],
                 "step_size": [st["eta"] for st in studies], "still_falling": still_falling,
                 "checkpoints": studies[0]["cps"].tolist(), "gap_curves": [st["best"].tolist() for st in studies],
                 "risk_relevant": relevant},
        instances=_judged([bool((st["best"][:, -1] <= GAP_TOL).all()) for st in studies], relevant),
        sensitivity=sens, code_checks=code_checks, measurements=_measurements(studies, names, verdict),
    )


PAPER = "On the Global Convergence of Risk-Averse Policy Gradient Methods with Expected Conditional Risk Measures"
QUOTE = ("Under both constrained direct parameterization and unconstrained softmax parameterization, we provide global "
         "convergence and iteration complexities of the corresponding risk-averse policy gradient algorithms.")
SOURCE = "Yu & Ying 2023 (arXiv:2301.10932) abstract; ECRM/RU reformulation per CLAIMS.md row L37 (paper body not read)"
EXACT = "η-augmented ECRM MDP: DP optimum (policy iteration), exact PG theorem, exact-CVaR value of a policy"
QUICK = {"cliffs": 1, "garnets": 1, "inits": 3, "steps": 1200, "random_policies": 200,
         "step_sweep": [0.2], "lam_sweep": [1.0], "alpha_sweep": [0.95]}
FULL = {"cliffs": 3, "garnets": 5, "inits": 5, "steps": 6000, "random_policies": 2000,
        "step_sweep": [0.2, 4.0], "lam_sweep": [0.0, 0.25, 1.0], "alpha_sweep": [0.5, 0.95]}

register_claim(Claim(
    id=ID_DIRECT, paper=PAPER, seed_line=37, draw=_draw_direct, figure_family="risk_distributional",
    claim="exact projected PG (direct parameterisation) on the ECRM objective converges to the global (DP) optimum, "
          "with O(1/ε²) iterations",
    theme="RISK", exact=EXACT + "; gradient domination", monte_carlo="none (exact)",
    test="gradient domination at random policies; projected PG gap ≤ 1e-3 from several inits; best gap ∝ T^(−1/2) or faster",
    scales={"quick": dict(QUICK), "full": dict(FULL)}, run=run_direct, source=SOURCE, kind="theorem",
    reading="our-criterion",
    reading_note=("the paper body was not read: the alpha convention, the eta grid and the first-step/later-step split "
                  "of the ECRM are this package's derivation, so the rule decides the sentence on our reconstruction "
                  "of the method"),
    quote=QUOTE, quote_source="seed abstract (line 37)", extension=True, unbiasedness=False,
    constants={"step_factor": [1000.0, 20000.0], "lam": [0.0, 1.0], "alpha": [0.5, 0.95]},
))

register_claim(Claim(
    id=ID_SOFTMAX, paper=PAPER, seed_line=37, draw=_draw_softmax, figure_family="risk_distributional",
    claim="exact softmax PG on the ECRM objective converges to the global (DP) optimum",
    theme="RISK", exact=EXACT, monte_carlo="none (exact)",
    test="softmax PG gap ≤ 1e-3 from several inits within the run (else inconclusive)",
    scales={"quick": dict(QUICK, random_policies=0), "full": dict(FULL, random_policies=0, steps=10_000)},
    run=run_softmax, source=SOURCE, kind="theorem",
    reading="our-criterion",
    reading_note=("Source \"(paper body not read)\"; \"Definitions not verified against the paper body (only its abstract and introduction could be read)\": the ECRM form is \"this package's derivation\"."),
    quote=QUOTE, quote_source="seed abstract (line 37)", extension=True, unbiasedness=False,
    constants={"step_factor": [10000.0, 200000.0], "lam": [0.0, 1.0], "alpha": [0.5, 0.95]},
))
