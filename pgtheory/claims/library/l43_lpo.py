r"""L43 (LPO, Li, Wang, Cheng & Yang, ICML 2023): "a low-switching sample-efficient policy optimization algorithm" with
"an ε-optimal policy with only Õ(poly(d)/ε³) samples" — checked on a *simplified* LPO for linear MDPs.

What is tested is :mod:`pgtheory.optim.low_switching_pg` (its docstring gives the algorithm and the source of each
piece): episodes of the deployed policy (geometric termination), the covariance Λ_t = λI + Σφφᵀ, a policy switch
only when det Λ_t > c·det Λ_last (the rarely-switching rule of Abbasi-Yadkori et al. 2011, standing in for LPO's online
sensitivity sampling), and at a switch softmax NPG steps from the uniform policy (to a tolerance, at most K) on an
optimistic least-squares critic with the bonus β‖φ‖_{Λ⁻¹}. The paper's body (algorithm box, sensitivity rule, bonus and constants, the
switching lemma, its setting) could not be read here: only the abstract and the introduction (which names the
predecessors PC-PG, ENIAC and the low-switching method of Zanette et al. 2021) — so both claims are EXTENSIONS: they
can qualify the paper, never refute it.

Two claims, one instance family: random linear MDPs (``random_linear_mdp``, S = 6 states, A = 3 actions, d = 4
features, γ = 0.8, Dirichlet concentration 0.5, rewards in [0, 1]), one per seed drawn from the run seed; R runs of
the algorithm per instance, each with its own torch generator.

(i) ``L43-lpo-switches`` — kind=identity (revised 2026-11-30 by the lead's review, before any full run; it was
    theorem + extension): the determinant rule's bound holds *by construction* (AM–GM on det Λ_T, derived in
    ``switch_count_bound``), so the check verifies our simplified algorithm's code and its O(d log T) growth — it is
    not evidence about LPO's own switching lemma, which could not be read, and it never counts as confirming the paper.
    Rule: on every run and at every checkpoint T (samples), switches(T) ≤ d·log_c(1 + T·L²/(dλ)) (the policies
    deployed, counting the initial one, are one more) — refuted by any violation; the twin rule that switches after
    every round must violate the bound on every run by the last checkpoint, else the check had no power
    (inconclusive). Reported beside it: the least-squares slope of switches against ln T (O(d log T) growth: at most
    d/ln c) and the twin's. Sensitivity: the ratio c and λ.
(ii) ``L43-lpo-sample-rate`` — kind=asymptotic, extension=True (an exponent of a simplified algorithm; the abstract
    states an upper bound for LPO itself). "ε-optimal with Õ(poly(d)/ε³) samples": the samples N(ε) needed grow at
    most like ε⁻³. Per run and target ε, N_r(ε) = the first checkpoint after which the deployed policy's exact gap
    J* − J(π) stays ≤ ε up to the horizon ("ε-optimal for good": ``stats.first_passage`` of the running maximum of
    the future gaps); targets ε_j = g₁·2^{-j}, j = 1..6, g₁ = the runs' median gap at the first checkpoint (64 samples),
    those below 1e-4 dropped (the NPG floor is ≈ 1e-6; fewer than 4 targets left: undecided). Per instance
    ``stats.fit_sample_complexity`` fits median_r N_r(ε) ∝ ε^{-p} with a run-bootstrap interval, in its one-sided
    form for an upper bound: decidable when every target was reached by ≥ 80% of the runs and the fine half of the
    grid is not steeper than the coarse half by more than 0.25; the instance *holds* when the fine-half exponent's
    interval lies ≤ 3 and *fails* when it lies > 3; a power twin (the same N(ε) tilted to a fine exponent of 3.5)
    must not hold, else undecided. Family: confirmed when ≥ 80% of the instances hold; refuted when ≥ 80% fail;
    qualified when ≥ 80% are decided with both outcomes; inconclusive otherwise. Confidence level 1 − α/n per
    instance (Bonferroni over the n instances of the claim's α share). Sensitivity: η and β, one at a time.

Declared constants (ranges swept at full scale): λ = 1 (0.1–10, switches), β = 0.5 (0.25–1), η = 5 = 1/(1 − γ)
(2–10), NPG to an optimistic advantage ≤ 1e-6 with at most 100 steps per switch, c = 2 (1.5–4), 4 episodes per round.

Revision (2026-11-30, on quick seeds only, before any full run): the first version ran K = 20 NPG steps per switch
and fitted the tail slope of the mean gap against samples (slope ≤ −1/3). On the quick instances the deployed gap fell
to the 20-step optimisation floor of NPG and then *rose* (an optimisation floor, not a statistical rate: with a fixed
K no rate can appear), and on finite MDPs with an action gap the gap falls off a cliff to that floor rather than as a
power of T, which a slope of the mean cannot summarise. Replaced by NPG to a tolerance at each switch (the optimistic
MDP solved, as PC-PG/ENIAC's inner loop aims to) and by the sample-complexity exponent above, which is what the quote
bounds. Second revision (same day, quick seeds): the targets were ε_j = g₀·2^{-j} with g₀ the uniform policy's gap;
the deployed policy at the first checkpoint (64 samples) was already below several of them, so N(ε) sat at the first
checkpoint for the coarse targets (censored from below) and the fit read a "steepening" that is an artefact of the
checkpoint grid; the targets now start from the runs' median gap at the first checkpoint. Third revision (2026-11-30,
the lead's review, before any full run): an instance is decided only where the median N(ε) grows by at least SPAN_MIN =
4× across its targets; on a cliff (the gap drops to the NPG floor after a few hundred samples, so N(ε) is flat and its
exponent ≈ 0) an exponent ≤ 3 is no evidence for an ε⁻³ rate — such instances are undecided, not "holds". Fourth
revision (2026-11-30, a referee's audit, before any full run): the power twin had no teeth — with a fixed bootstrap
seed its interval is the main interval shifted by the tilt, so it "held" only if fine_ci_high ≤ fine − 0.5, which
never happens; the twin must now be judged to *fail* (its interval above 3), else the instance is undecided. Open:
count a target as reached only if N ≤ T_max/2 (censoring at the horizon flattens the fine half), NPG's 100-step cap
binds at η = 2 (and on some instances at η = 5: the "NPG floor ≈ 1e-6" above is not guaranteed), bootstrap seeds from
the run seed, n_boot ≥ 10⁵ at this level; and finite MDPs with an action gap give cliffs, so the full run is likely
inconclusive — a family with action gaps ∝ ε would be needed to exercise ε⁻³, and even then a simplified stand-in
cannot tell ε⁻³ from ε⁻⁸.

What is simplified relative to LPO (see the optimiser's docstring): linear features instead of a general class of
bounded eluder dimension; the determinant rule instead of sampling data with probability ∝ sensitivity; all data
kept; one optimistic critic instead of the policy-cover / known-set construction; at most 100 NPG steps per switch; a
discounted MDP with
geometric episodes (the paper's setting not verified). The deployed (optimistic) policy is the one scored, by the
exact J of :mod:`pgtheory.exact`; the paper's output policy (last or mixture) is not verified.
"""
from __future__ import annotations

import math

import numpy as np

from ...optim.low_switching_pg import low_switching_pg, switch_count_bound
from ...problems.linear_mdp import random_linear_mdp
from ...stats import first_passage, fit_sample_complexity
from ..record import Claim, Evidence, RunContext, sweep_point
from ..registry import register_claim
from ..style import new_figure, save_figure

ID_SWITCH = "L43-lpo-switches"
ID_RATE = "L43-lpo-sample-rate"
PAPER = "Low-Switching Policy Gradient with Exploration via Online Sensitivity Sampling (LPO)"
SEED_LINE = 43
QUOTE_SWITCH = ("In this paper, we address this problem by leveraging recent advances in value-based algorithms, including "
                "bounded eluder-dimension and online sensitivity sampling, to design a low-switching sample-efficient policy "
                "optimization algorithm, LPO, with general non-linear function approximation.")
QUOTE_RATE = ("We show that, our algorithm obtains an varepsilon-optimal policy with only O(text{poly(d)}{varepsilon^3}) "
              "samples, where varepsilon is the suboptimality gap and d is a complexity measure of the function class "
              "approximating the policy.")
QUOTE_SOURCE = ("seed abstract (line 44 of shared/seeds/000_114679857c487bdd.txt; LaTeX stripped: Õ(poly(d)/ε³)); the "
                "paper's introduction read via search (PC-PG ε⁻¹¹, ENIAC ε⁻⁸, Zanette et al. 2021 low switching); body not read")

# the instance family and the algorithm's declared constants (module docstring)
N_STATES, N_ACTIONS, FEATURE_DIM, DISCOUNT, CONCENTRATION = 6, 3, 4, 0.8, 0.5
REG, BONUS, STEP, NPG_STEPS, ADV_TOL, RATIO, EPISODES_PER_ROUND = 1.0, 0.5, 5.0, 100, 1e-6, 2.0, 4
CONSTANTS = {"reg": [0.1, 10.0], "bonus": [0.25, 1.0], "step_size": [2.0, 10.0], "ratio": [1.5, 4.0]}
# (ii) the sample-complexity rule
EXPONENT_BOUND = 3.0  #: Õ(poly(d)/ε³): samples to ε-optimality grow at most like ε⁻³
N_TARGETS = 6  #: targets ε_j = g₁·2^{-j}, j = 1..6 (g₁ = the runs' median gap at the first checkpoint)
TARGET_FLOOR = 1e-4  #: targets below 100 × the NPG tolerance are dropped (the optimisation floor is ≈ 1e-6)
MIN_REACHED = 0.8  #: a target counts only when ≥ 80% of the runs reached it (stats.fit_sample_complexity's default)
HALF_TOL = 0.25  #: the fine half's exponent may exceed the coarse half's by at most this (not steepening)
TWIN_OFFSET = 0.5  #: the power twin: the runs' N(ε) tilted to a fine exponent of 3 + 0.5 must not hold
SPAN_MIN = 4.0  #: a rate is read only where median N(ε) grows by ≥ 4× (two doublings) over the targets (not a cliff)
MIN_FRACTION = 0.8  #: share of instances a family verdict needs
N_BOOT = 4000
# (i) the switching rule's twin
TWIN_RULE = "every_round"


def _instances(ctx: RunContext, n: int) -> list:
    rng = np.random.default_rng(ctx.seed)
    seeds = rng.integers(0, 2**31 - 1, size=n).tolist()
    return [random_linear_mdp(N_STATES, N_ACTIONS, FEATURE_DIM, seed=int(s), discount=DISCOUNT,
                              concentration=CONCENTRATION) for s in seeds]


def _run_seeds(ctx: RunContext, instance: int, runs: int, salt: int) -> list[int]:
    base = (ctx.seed * 1_000_003 + 7919 * instance + 104_729 * salt) % (2**31 - runs - 1)
    return [base + r for r in range(runs)]


def _algorithm(lin, seeds, samples, **over):
    kw = dict(reg=REG, bonus=BONUS, step_size=STEP, npg_steps=NPG_STEPS, advantage_tol=ADV_TOL, ratio=RATIO,
              episodes_per_round=EPISODES_PER_ROUND)
    kw.update(over)
    return low_switching_pg(lin, seeds, samples, **kw)


# ---------------------------------------------------------------------------------------------------------- (i)
def _measure_switches(ctx: RunContext, n_inst: int, runs: int, samples: int, twin_samples: int, salt: int, **over):
    out = []
    for i, lin in enumerate(_instances(ctx, n_inst)):
        tr = _algorithm(lin, _run_seeds(ctx, i, runs, salt), samples, **over)
        L = float(lin.features.norm(dim=-1).max())
        bound = switch_count_bound(tr.checkpoints, FEATURE_DIM, over.get("reg", REG), L, over.get("ratio", RATIO))
        tw = _algorithm(lin, _run_seeds(ctx, i, 2, salt + 1), twin_samples, npg_steps=1, switch_rule=TWIN_RULE,
                        n_checkpoints=8, **over)
        tw_bound = switch_count_bound(tw.checkpoints, FEATURE_DIM, over.get("reg", REG), L, over.get("ratio", RATIO))
        lx = np.log(tr.checkpoints)
        out.append({"T": tr.checkpoints, "switches": tr.switches, "bound": bound,
                    "holds": bool(np.all(tr.switches <= bound + 1e-9)),
                    "max_excess": float(np.max(tr.switches - bound)),
                    "slope_per_lnT": np.polyfit(lx, tr.switches.T, 1)[0],  # [R]
                    "twin_T": tw.checkpoints, "twin_switches": tw.switches, "twin_bound": tw_bound,
                    "twin_violates": bool(np.all(tw.switches[:, -1] > tw_bound[-1]))})
    return out


def _decide_switches(meas) -> str:
    if not all(m["holds"] for m in meas):
        return "refuted"
    return "confirmed" if all(m["twin_violates"] for m in meas) else "inconclusive"


def run_switches(ctx: RunContext) -> Evidence:
    st = ctx.settings
    meas = _measure_switches(ctx, st["instances"], st["runs"], st["samples"], st["twin_samples"], salt=0)
    verdict = _decide_switches(meas)
    sensitivity = []
    for const, vals in st["sweep"].items():
        for v in vals:
            sm = _measure_switches(ctx, st["sweep_instances"], st["sweep_runs"], st["sweep_samples"], st["twin_samples"],
                                   salt=11, **{const: v})
            sensitivity.append(sweep_point(const, v, _decide_switches(sm), runs_holding=int(sum(m["holds"] for m in sm)),
                                           max_excess=float(max(m["max_excess"] for m in sm))))
    d_over_lnc = FEATURE_DIM / math.log(RATIO)
    slopes = np.concatenate([m["slope_per_lnT"] for m in meas])
    final = np.concatenate([m["switches"][:, -1] for m in meas])
    T_end = meas[0]["T"][-1]
    fig, (a1, a2) = new_figure(ID_SWITCH, f"policy switches vs samples ({verdict})", ncols=2, width=4.4)
    for k, m in enumerate(meas):
        for r in range(m["switches"].shape[0]):
            a1.semilogx(m["T"], m["switches"][r], color=f"C{k % 10}", alpha=0.5, lw=0.8,
                        label=f"instance {k}" if r == 0 else None)
    a1.semilogx(meas[0]["T"], meas[0]["bound"], "k--", lw=1.2, label="bound d·log_c(1+TL²/(dλ))")
    a1.set_xlabel("samples T [environment steps]")
    a1.set_ylabel("policy switches")
    a1.legend(fontsize=7)
    for k, m in enumerate(meas):
        for r in range(m["twin_switches"].shape[0]):
            a2.semilogx(m["twin_T"], m["twin_switches"][r], color=f"C{k % 10}", alpha=0.6, lw=0.8)
    a2.semilogx(meas[0]["twin_T"], meas[0]["twin_bound"], "k--", lw=1.2, label="bound")
    a2.set_xlabel("samples T [environment steps]")
    a2.set_ylabel("switches of the twin (every round)")
    a2.legend(fontsize=7)
    holding = [m["holds"] for m in meas]
    return Evidence(
        verdict=verdict, statistic=float(max(m["max_excess"] for m in meas)),
        threshold=("switches(T) − d·log_c(1 + T·L²/(dλ)) ≤ 0 on every run and checkpoint; the every-round twin must "
                   "exceed the bound on every run"),
        n_samples=int(sum(m["switches"].shape[0] for m in meas) * T_end),
        summary=(f"{len(meas)} linear MDPs (S={N_STATES}, A={N_ACTIONS}, d={FEATURE_DIM}), {meas[0]['switches'].shape[0]} runs "
                 f"each, T = {int(T_end)} samples: switches at T median {np.median(final):.0f} (bound {meas[0]['bound'][-1]:.1f}); "
                 f"bound held on {sum(holding)}/{len(meas)} instances (max excess {max(m['max_excess'] for m in meas):.1f}); "
                 f"switches per ln T: median {np.median(slopes):.2f} (bound's d/ln c = {d_over_lnc:.2f}); twin (every round) "
                 f"{'violates' if all(m['twin_violates'] for m in meas) else 'does NOT violate'} the bound "
                 f"(median {np.median([m['twin_switches'][:, -1] for m in meas]):.0f} switches at T = "
                 f"{int(meas[0]['twin_T'][-1])} vs bound {meas[0]['twin_bound'][-1]:.1f})"),
        details={"checkpoints": meas[0]["T"].tolist(), "switches": [m["switches"].tolist() for m in meas],
                 "bound": [m["bound"].tolist() for m in meas], "slope_per_lnT": slopes.tolist(),
                 "twin_switches": [m["twin_switches"].tolist() for m in meas],
                 "twin_bound": [m["twin_bound"].tolist() for m in meas], "twin_violates": [m["twin_violates"] for m in meas],
                 "constants": {"reg": REG, "bonus": BONUS, "step_size": STEP, "npg_steps": NPG_STEPS, "ratio": RATIO}},
        figure=save_figure(fig, ctx.figure_dir, ID_SWITCH),
        instances=holding, sensitivity=sensitivity,
    )


# ---------------------------------------------------------------------------------------------------------- (ii)
def _measure_rate(ctx: RunContext, n_inst: int, runs: int, samples: int, salt: int, **over):
    out = []
    for i, lin in enumerate(_instances(ctx, n_inst)):
        tr = _algorithm(lin, _run_seeds(ctx, i, runs, salt), samples, **over)
        g1 = float(np.median(tr.suboptimality[:, 0]))  # the runs' median gap at the first checkpoint
        targets = g1 * 0.5 ** np.arange(1, N_TARGETS + 1)
        targets = targets[targets >= TARGET_FLOOR]
        # "ε-optimal from then on": the first checkpoint after which the deployed gap stays ≤ ε up to the horizon
        future_max = np.maximum.accumulate(tr.suboptimality[:, ::-1], axis=1)[:, ::-1]
        T_grid = np.broadcast_to(tr.checkpoints, tr.suboptimality.shape)
        out.append({"T": tr.checkpoints, "gap": tr.suboptimality, "switches": tr.switches[:, -1], "targets": targets,
                    "needed": first_passage(T_grid, future_max, targets) if targets.size else np.zeros((runs, 0)),
                    "g1": g1})
    return out


def _instance_outcome(targets, needed, level: float) -> dict:
    """holds / fails / undecided for one instance (one-sided upper-bound rule on the fine half), with the power twin."""
    if targets.size < 4:  # the runs were within 16·TARGET_FLOOR of optimal at the first checkpoint: nothing to resolve
        return {"outcome": "undecided", "reason": "fewer than 4 targets above the floor", "exponent": float("nan"),
                "fine": float("nan"), "fine_ci": [float("nan")] * 2, "reached": [], "twin_holds": False}
    try:
        fit = fit_sample_complexity(targets, needed, confidence_level=level, n_boot=N_BOOT, tolerance=HALF_TOL,
                                    min_reached=MIN_REACHED)
    except ValueError as exc:  # fewer than two targets reached by half the runs: nothing to fit
        return {"outcome": "undecided", "reason": str(exc), "exponent": float("nan"), "fine": float("nan"),
                "fine_ci": [float("nan")] * 2, "reached": np.isfinite(needed).mean(0).tolist(), "twin_holds": False}
    span = float(np.nanmax(fit.median_samples) / np.nanmin(fit.median_samples)) if fit.all_reached else float("nan")
    cliff = fit.all_reached and not span >= SPAN_MIN
    decidable = fit.all_reached and not fit.steepening and not cliff
    twin_holds = False
    if decidable:
        tilt = (EXPONENT_BOUND + TWIN_OFFSET) - fit.exponent_fine
        twin = fit_sample_complexity(targets, needed * (targets / targets[0]) ** (-tilt), confidence_level=level,
                                     n_boot=N_BOOT, tolerance=HALF_TOL, min_reached=MIN_REACHED)
        twin_holds = not bool(twin.fine_ci_low > EXPONENT_BOUND)  # the twin must be judged "fails" (revision 4)
    if not decidable or twin_holds:
        outcome = "undecided"
    elif fit.fine_ci_high <= EXPONENT_BOUND:
        outcome = "holds"
    elif fit.fine_ci_low > EXPONENT_BOUND:
        outcome = "fails"
    else:
        outcome = "undecided"
    reason = ("targets not reached by ≥ 80% of runs" if not fit.all_reached else
              f"N(ε) grows only ×{span:.2g} over the targets (a cliff, no rate regime)" if cliff else
              "steepening toward small ε" if fit.steepening else "power twin (exponent 3.5) not judged to fail" if twin_holds else "")
    return {"outcome": outcome, "reason": reason, "exponent": fit.exponent, "fine": fit.exponent_fine,
            "coarse": fit.exponent_coarse, "fine_ci": [fit.fine_ci_low, fit.fine_ci_high],
            "reached": fit.reached_fraction.tolist(), "median_samples": fit.median_samples.tolist(), "twin_holds": twin_holds}


def _decide_rate(outcomes: list[str]) -> str:
    n = len(outcomes)
    holds, fails = outcomes.count("holds"), outcomes.count("fails")
    if holds >= MIN_FRACTION * n:
        return "confirmed"
    if fails >= MIN_FRACTION * n:
        return "refuted"
    if holds + fails >= MIN_FRACTION * n and holds and fails:
        return "qualified"
    return "inconclusive"


def run_rate(ctx: RunContext) -> Evidence:
    st = ctx.settings
    n = st["instances"]
    level = 1.0 - ctx.alpha / n
    meas = _measure_rate(ctx, n, st["runs"], st["samples"], salt=0)
    res = [_instance_outcome(m["targets"], m["needed"], level) for m in meas]
    outcomes = [r["outcome"] for r in res]
    verdict = _decide_rate(outcomes)
    sensitivity = []
    for const, vals in st["sweep"].items():
        for v in vals:
            sm = _measure_rate(ctx, st["sweep_instances"], st["sweep_runs"], st["sweep_samples"], salt=23, **{const: v})
            so = [_instance_outcome(m["targets"], m["needed"], 1.0 - ctx.alpha / len(sm)) for m in sm]
            sensitivity.append(sweep_point(const, v, _decide_rate([r["outcome"] for r in so]),
                                           fine_exponents=[r["fine"] for r in so], outcomes=[r["outcome"] for r in so]))
    fine = np.array([r["fine"] for r in res])
    fig, (a1, a2) = new_figure(ID_RATE, f"suboptimality and samples to ε ({verdict})", ncols=2, width=4.4)
    for k, m in enumerate(meas):
        a1.loglog(m["T"], np.clip(np.median(m["gap"], 0), 1e-12, None), color=f"C{k % 10}", lw=1.2,
                  label=f"instance {k}" if k < 6 else None)
    a1.set_xlabel("samples T [environment steps]")
    a1.set_ylabel("median J* − J(π_T) over runs")
    a1.legend(fontsize=7)
    for k, (m, r) in enumerate(zip(meas, res)):
        med = np.median(m["needed"], 0)
        ok = np.isfinite(med)
        if ok.any():
            x = 1.0 / m["targets"][ok]
            a2.loglog(x, med[ok], "o-", color=f"C{k % 10}", ms=3, lw=1, label=f"{k}: {r['outcome']}" if k < 6 else None)
            xr = x[: max(2, min(3, x.size))]  # a short slope-3 segment from the instance's first point
            a2.loglog(xr, med[ok][0] * (xr / xr[0]) ** EXPONENT_BOUND, ":", color=f"C{k % 10}", lw=0.9)
    a2.plot([], [], "k:", lw=0.9, label="slope 3 (Õ(ε⁻³))")
    a2.set_xlabel("1/ε (ε = target suboptimality)")
    a2.set_ylabel("median samples until ε-optimal for good")
    a2.legend(fontsize=7)
    counts = {o: outcomes.count(o) for o in ("holds", "fails", "undecided")}
    reasons = sorted({r["reason"] for r in res if r["outcome"] == "undecided" and r["reason"]})
    return Evidence(
        verdict=verdict, statistic=float(np.nanmedian(fine)) if np.isfinite(fine).any() else float("nan"),
        threshold=(f"per instance: targets ε_j = g₀·2^-j (j = 1..{N_TARGETS}) each reached by ≥ {MIN_REACHED:.0%} of runs, "
                   f"fine-half exponent not steepening (≤ coarse + {HALF_TOL}), its {level:.4g} run-bootstrap interval "
                   f"≤ {EXPONENT_BOUND:g} holds / > {EXPONENT_BOUND:g} fails; a twin tilted to {EXPONENT_BOUND + TWIN_OFFSET:g} must "
                   f"not hold; family: ≥ {MIN_FRACTION:.0%} hold → confirmed, ≥ {MIN_FRACTION:.0%} fail → refuted"),
        n_samples=int(n * st["runs"] * st["samples"]),
        summary=(f"{n} linear MDPs × {st['runs']} runs, up to {st['samples']} samples (simplified LPO: det-doubling switches, "
                 f"optimistic LSPE critic with β = {BONUS:g}, NPG η = {STEP:g} to advantage ≤ {ADV_TOL:g}): samples until "
                 f"ε-optimal for good, exponent in 1/ε on the fine half: median {np.nanmedian(fine) if np.isfinite(fine).any() else float('nan'):.2f} "
                 f"(bound {EXPONENT_BOUND:g}); {counts['holds']} hold, {counts['fails']} fail, {counts['undecided']} undecided"
                 + (f" ({'; '.join(reasons)})" if reasons else "")),
        details={"checkpoints": meas[0]["T"].tolist(), "median_gap": [np.median(m["gap"], 0).tolist() for m in meas],
                 "targets": [m["targets"].tolist() for m in meas], "instances": res,
                 "final_switches": [m["switches"].tolist() for m in meas], "confidence_level": level,
                 "constants": {"reg": REG, "bonus": BONUS, "step_size": STEP, "npg_steps_cap": NPG_STEPS,
                               "advantage_tol": ADV_TOL, "ratio": RATIO}},
        figure=save_figure(fig, ctx.figure_dir, ID_RATE),
        instances=[o == "holds" for o in outcomes], sensitivity=sensitivity,
    )


_COMMON = dict(paper=PAPER, seed_line=SEED_LINE, theme="VR, LIN",
               source="Li, Wang, Cheng & Yang, ICML 2023 (arXiv 2306.09554); abstract and introduction only",
               quote_source=QUOTE_SOURCE, extension=True, unbiasedness=False)

register_claim(Claim(
    id=ID_SWITCH, claim="our simplified det-doubling algorithm switches ≤ d·log_c(1 + TL²/(dλ)) = O(d log T) times (the quote: LPO is low-switching)",
    exact="switch_count_bound (AM–GM on det Λ_T); exact J of every deployed policy",
    monte_carlo="episodes of the deployed policies (geometric termination), R runs per linear MDP",
    test="switches ≤ the determinant bound on every run and checkpoint; the every-round twin must exceed it",
    scales={"quick": {"instances": 3, "runs": 4, "samples": 2048, "twin_samples": 1024, "sweep": {"ratio": [4.0]},
                      "sweep_instances": 2, "sweep_runs": 2, "sweep_samples": 1024},
            "full": {"instances": 8, "runs": 8, "samples": 65536, "twin_samples": 4096,
                     "sweep": {"ratio": [1.5, 4.0], "reg": [0.1, 10.0]},
                     "sweep_instances": 4, "sweep_runs": 4, "sweep_samples": 8192}},
    run=run_switches, kind="identity", quote=QUOTE_SWITCH,
    constants={"ratio": CONSTANTS["ratio"], "reg": CONSTANTS["reg"]}, **dict(_COMMON, extension=False)))

register_claim(Claim(
    id=ID_RATE, claim="ε-optimal policy with Õ(poly(d)/ε³) samples (simplified LPO: gap(T) decays at least like T^{-1/3})",
    exact="J* (value iteration) and J(π) of every deployed policy (exact evaluation)",
    monte_carlo="episodes of the deployed policies; R runs per instance give the bootstrap over runs",
    test=("samples until ε-optimal for good, N(ε) ∝ ε^-p: fine-half exponent interval ≤ 3 on ≥ 80% of instances (targets reached "
          "by ≥ 80% of runs, not steepening; power twin at 3.5 rejected)"),
    scales={"quick": {"instances": 3, "runs": 5, "samples": 4096, "sweep": {"step_size": [2.0]},
                      "sweep_instances": 2, "sweep_runs": 4, "sweep_samples": 2048},
            "full": {"instances": 8, "runs": 12, "samples": 65536,
                     "sweep": {"step_size": [2.0, 10.0], "bonus": [0.25, 1.0]},
                     "sweep_instances": 4, "sweep_runs": 8, "sweep_samples": 16384}},
    run=run_rate, kind="asymptotic", quote=QUOTE_RATE,
    constants={k: CONSTANTS[k] for k in ("step_size", "bonus")}, **_COMMON))
