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

Two claims. (i) runs on random linear MDPs (``random_linear_mdp``, S = 6 states, A = 3 actions, d = 4 features,
γ = 0.8, Dirichlet concentration 0.5, rewards in [0, 1]), one per seed drawn from the run seed; (ii) runs, since
revision 5, on the gap-ε family of :mod:`pgtheory.problems.gap_family` (below). R runs of the algorithm per instance,
each with its own torch generator.

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
    most like ε⁻³. *Instances whose difficulty scales with the target* (revision 5): for each target ε_j the run is
    made on its own two-point linear MDP (``gap_family``: a decision state whose two actions lead to a rewarding
    *win* state with probabilities p̄ ± Δ_p/2, Δ_p = cε_j/γ, d = 4 one-hot features, ρ = δ₀) in which the
    non-optimal action's gap Q*(0, a*) − Q*(0, a) is exactly c·ε_j with c = 1. A policy there has J* − J(π) =
    q·c·ε/(1 − γ²) when it plays the wrong action at the decision state with probability q, so ε-optimality needs
    q ≤ 1 − γ² = 0.36: the learner must tell apart two Bernoulli parameters Δ_p ∝ ε apart. Predicted exponents:
    the two-point lower bound (Bretagnolle–Huber on the instance and its swapped twin; Mannor & Tsitsiklis 2004)
    gives N(ε) = Ω(p̄(1 − p̄)/Δ_p²) = Ω(ε⁻²) for any learner correct on both; an optimistic learner with a constant
    bonus needs O(β²/Δ_p²) = O(ε⁻²) visits (a UCB argument; the low-switching rule costs at most a constant
    factor); the paper's bound is Õ(ε⁻³) (poly(d) fixed, d = 4). So p ≈ 2 is expected and 3 is the bound: the family
    exercises the exponent (no cliff: the gap shrinks with the target), but an exponent ≈ 2 on it says nothing
    about LPO's worst case — this stand-in cannot tell ε⁻³ from a worse worst-case rate (ε⁻⁸ of ENIAC) that this
    family does not provoke. Each instance draws p̄ ~ U[0.3, 0.7] and the best action from the run seed.
    Per run and target, N_r(ε) = the first checkpoint after which the deployed policy's exact gap J* − J(π) stays
    ≤ ε up to the horizon T_max ("ε-optimal for good": ``stats.first_passage`` of the running maximum of the future
    gaps), counted as reached only if N ≤ T_max/2 (censoring: a run is then seen ε-optimal for at least as long
    again; a later passage would flatten the fine half). Targets ε_j = 0.4·√2^{-j}, j = 0..E − 1 (E = 4 quick: 0.4…0.14, T_max = 4096;
    E = 5 full: 0.4…0.1, T_max = 16384), declared. Per instance ``stats.fit_sample_complexity`` fits median_r N_r(ε) ∝ ε^{-p} with a
    run-bootstrap interval, in its one-sided form for an upper bound: decidable when every target was reached by
    ≥ 80% of the runs, median N(ε) grows ≥ 4× over the grid (not a cliff) and the fine half of the grid is not
    steeper than the coarse half by more than 0.25; the instance *holds* when the fine-half exponent's interval
    lies ≤ 3 and *fails* when it lies > 3; a power twin (the same N(ε) tilted to a fine exponent of 3.5) must be
    judged to fail, else undecided. Family: confirmed when ≥ 80% of the instances hold; refuted when ≥ 80% fail;
    qualified when ≥ 80% are decided with both outcomes; inconclusive otherwise. Confidence level 1 − α/n per
    instance (two-sided percentile interval, Bonferroni over the n instances of the claim's α share); the bootstrap
    seed is derived from the run seed and the instance, and n_boot = max(10⁵, ⌈10/((1 − level)/2)⌉), so that at
    least 10 replicates are expected beyond each end of the interval. Sensitivity: η and β, one at a time.
    Power (planned before any confirmatory run): a pilot at the full grid's fine targets (seeds 9000–9047, p̄ = 0.5,
    not run seeds; 48 runs, T_max = 16384) reached every target with N ≤ T_max/2, median N = 178, 440, 805 at
    ε = 0.2, 0.14, 0.1 (a local exponent ≈ 2.2, as the ε⁻² prediction says) and sd of ln N_r ≈ 1.1 per run. The
    median of R runs then has sd ≈ 1.25·1.1/√R in ln N and the fine-half slope (span ln 2) sd ≈ 2.8/√R; the power
    twin (3.5) is judged to fail only if the interval's lower half-width is below 0.5, i.e. z·2.8/√R < 0.5 with
    z ≈ 3.7 at 1 − α/(2n): R ≳ 430 runs per target. The full scale affords R = 48 in < 15 min (one call of 48 runs
    × 16384 samples ≈ 10–13 s CPU), and the bootstrap of fit_sample_complexity holds n_boot × R × E numbers at once
    (1.7 GB at R = 430), so the full run is expected to be *inconclusive by the power rule* (the twin not rejected),
    not decided: this is stated in advance, not tuned away.

Declared constants (ranges swept at full scale). (i): λ = 1 (0.1–10), c = 2 (1.5–4), β = 0.5, η = 5, NPG to an
optimistic advantage ≤ 1e-6 with at most 100 steps per switch, 4 episodes per round. (ii) (revision 5): λ = 1, det ratio c = 2,
η = 5 = 1/(1 − γ) (2–10), β = 2 = γV_max/2 (1–4), NPG to an optimistic advantage ≤ 1e-3 (optimisation error
≤ 1e-3/(1 − γ) = 5e-3, a tenth of the smallest target 0.1 or less) with at most 1000 steps per switch (the softmax
needs about log(δ/tol)/(ηδ) ≤ 1/(e·η·tol) ≈ 184 steps at η = 2 for an optimistic action gap δ, so the cap should not
bind) — every switch at which
the cap binds is counted (``npg_capped`` of the trace) and reported in the summary and per sweep point — 8 episodes
per round, checkpoints from 16 samples.

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
never happens; the twin must now be judged to *fail* (its interval above 3), else the instance is undecided. Fifth revision
(2026-11-30, the referee's audit and issue 13, before any confirmatory run on the new rule; the full run at run seed
1004, on the old rule, was inconclusive with 7/8 instances undecided, 5 of them cliffs): (a) the random linear MDPs
have a fixed action gap, so the gap falls to 0 once the policy is optimal and no ε⁻ᵖ law exists below it; (ii) now
runs on the gap-ε family above, one instance per target with action gap c·ε, so that every target needs a gap of
order ε resolved; the targets are a declared grid instead of being read off the runs. (b) A target counts as reached
only if N ≤ T_max/2. (c) The NPG cap (100 steps to 1e-6) bound at η = 2 and on some instances at η = 5; (ii) now
stops at a declared tolerance 1e-3 tied to the targets with a cap of 1000 steps, and the optimiser's trace reports
every switch at which the cap binds (summary, details and each sweep point). (d) The bootstrap seed is derived from
the run seed; n_boot as stated above. (e) β = 0.5 is below the noise of the critic's targets (sd up to γV_max/2 = 2):
a pilot on the gap family (seed 777, not a run seed) showed the learner locking onto whichever action looked better
after the first round — N(ε) was for most runs the first checkpoint (64) or only at/after the horizon, with the
same pattern at every ε from 0.2 to 0.025, so no rate could be read (and none exists for such a learner); (ii) uses β = γV_max/2 = 2, the one-standard-deviation scale of a target in
[0, V_max] (LSVI-UCB's β ≍ dH√ι is larger still); (i) keeps its constants and record. The pilot looked at N(ε) of
single targets only (never at a fit or an outcome); the grid 0.4·√2^{-j}, T_max and the scales were set from it
before the first quick run of the new rule. Two changes after that first quick run (quick seed, for cost only, not
for its outcome — it was undecided and stays so): the tolerance went from 1e-4 to 1e-3 (still ≤ ε_min/10) and the
quick scale from 2 instances × 6 runs to 1 instance × 8 runs, because the quick run took 109 s (it must stay < 30 s on
one thread). The power twin's rule (revision 4) is unchanged.

What is simplified relative to LPO (see the optimiser's docstring): linear features instead of a general class of
bounded eluder dimension; the determinant rule instead of sampling data with probability ∝ sensitivity; all data
kept; one optimistic critic instead of the policy-cover / known-set construction; NPG to a tolerance with a cap on the
steps per switch; a discounted MDP with geometric episodes (the paper's setting not verified). The deployed (optimistic) policy is the one scored, by the
exact J of :mod:`pgtheory.exact`; the paper's output policy (last or mixture) is not verified.
"""
from __future__ import annotations

import math

import numpy as np

from ...optim.low_switching_pg import low_switching_pg, switch_count_bound
from ...problems.gap_family import gap_family
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
# (ii) the sample-complexity rule (revision 5: the gap-ε family, censoring, NPG tolerance, bootstrap size)
EXPONENT_BOUND = 3.0  #: Õ(poly(d)/ε³): samples to ε-optimality grow at most like ε⁻³
GAP_MULTIPLE = 1.0  #: c: every non-optimal action's gap is c·ε, so ε-optimal needs P(wrong action) ≤ (1 − γ²)/c = 0.36
BASE_SUCCESS_RANGE = (0.3, 0.7)  #: p̄ ~ U per instance: Bernoulli variances p̄(1 − p̄) ∈ [0.21, 0.25], ε = 0.4 still valid
RATE_ACTIONS = 2  #: two actions: d = A + 2 = 4 features, the switch claim's d
TARGET_MAX, TARGET_RATIO = 0.4, math.sqrt(2.0)  #: ε_j = 0.4·√2^{-j}: N(ε) ∝ ε⁻² doubles per target, ×4 per 2 targets
RATE_BONUS = 2.0  #: β = γV_max/2 = 2: the bonus ≥ one worst-case sd of a target r + γV ∈ [0, V_max] (β = 0.5 locks in)
RATE_NPG_STEPS = 1000  #: the inner loop's cap; the trace reports every switch at which it binds
RATE_ADV_TOL = 1e-3  #: NPG to optimistic advantage ≤ 1e-3: optimisation error ≤ 1e-3/(1 − γ) = 5e-3 ≤ ε_min/10
RATE_EPISODES_PER_ROUND = 8  #: 8 episodes per switch check (4 in (i)): halves the rounds, whose overhead is the cost
RATE_FIRST_CHECKPOINT = 16  #: read from 16 samples on: N(ε = 0.4) is a few dozen samples
CENSOR_FRACTION = 0.5  #: a target counts as reached only if N ≤ T_max/2 (the run is then seen ε-optimal as long again)
MIN_REACHED = 0.8  #: a target counts only when ≥ 80% of the runs reached it (stats.fit_sample_complexity's default)
HALF_TOL = 0.25  #: the fine half's exponent may exceed the coarse half's by at most this (not steepening)
TWIN_OFFSET = 0.5  #: the power twin: the runs' N(ε) tilted to a fine exponent of 3 + 0.5 must be judged to fail
SPAN_MIN = 4.0  #: a rate is read only where median N(ε) grows by ≥ 4× (two doublings) over the targets (not a cliff)
MIN_FRACTION = 0.8  #: share of instances a family verdict needs
N_BOOT_MIN = 100_000  #: bootstrap replicates at least
BOOT_TAIL_DRAWS = 10  #: and ≥ 10 replicates expected beyond each end of the interval at level 1 − α/n
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
def rate_targets(n_targets: int) -> np.ndarray:
    """The declared target grid ε_j = TARGET_MAX·TARGET_RATIO^{-j}, j = 0..n_targets − 1 (coarse first), ``[E]``."""
    if isinstance(n_targets, bool) or not isinstance(n_targets, int) or n_targets < 4:
        raise ValueError(f"n_targets: need an integer ≥ 4 (the fit's halves), got {n_targets!r}")
    return TARGET_MAX * TARGET_RATIO ** -np.arange(n_targets, dtype=float)


def censor_at_half_horizon(needed, horizon: float) -> np.ndarray:
    """N_r(ε) as reached only where N ≤ horizon/2 (else ``inf``): a run read up to ``horizon`` samples can show that
    it stays ε-optimal for at least as long again as it took to get there. ``needed`` any shape (``inf`` = never)."""
    N = np.asarray(needed, dtype=float)
    if np.any(np.isnan(N)) or np.any(N <= 0):
        raise ValueError("needed: must be positive (inf for a target not reached), without NaN")
    if not np.isfinite(horizon) or not horizon > 0:
        raise ValueError(f"horizon: must be positive and finite, got {horizon}")
    return np.where(N <= CENSOR_FRACTION * horizon, N, np.inf)


def bootstrap_size(level: float) -> int:
    """n_boot for a two-sided percentile interval at ``level``: at least N_BOOT_MIN, and at least BOOT_TAIL_DRAWS
    replicates expected beyond each end ((1 − level)/2 of them)."""
    if not 0 < level < 1:
        raise ValueError(f"level: must lie in (0, 1), got {level}")
    return max(N_BOOT_MIN, math.ceil(BOOT_TAIL_DRAWS / ((1.0 - level) / 2.0)))


def _rate_instances(ctx: RunContext, n: int) -> list[dict]:
    """Per instance: the base win probability p̄ ~ U(BASE_SUCCESS_RANGE) and the best action, drawn from the run seed."""
    rng = np.random.default_rng([ctx.seed, SEED_LINE, 2])
    pbar = rng.uniform(*BASE_SUCCESS_RANGE, size=n)
    best = rng.integers(0, RATE_ACTIONS, size=n)
    return [{"base_success": float(p), "best_action": int(b)} for p, b in zip(pbar, best)]


def _rate_algorithm(lin, seeds, samples, **over):
    kw = dict(reg=REG, bonus=RATE_BONUS, step_size=STEP, npg_steps=RATE_NPG_STEPS, advantage_tol=RATE_ADV_TOL,
              ratio=RATIO, episodes_per_round=RATE_EPISODES_PER_ROUND, first_checkpoint=RATE_FIRST_CHECKPOINT)
    kw.update(over)
    return low_switching_pg(lin, seeds, samples, **kw)


def _measure_rate(ctx: RunContext, n_inst: int, runs: int, samples: int, n_targets: int, salt: int, **over):
    targets = rate_targets(n_targets)
    out = []
    for i, inst in enumerate(_rate_instances(ctx, n_inst)):
        needed, gap_over_eps, capped, residual = [], [], 0, 0.0
        for j, lin in enumerate(gap_family(targets, gap_multiple=GAP_MULTIPLE, discount=DISCOUNT, n_actions=RATE_ACTIONS,
                                           **inst)):
            tr = _rate_algorithm(lin, _run_seeds(ctx, i, runs, salt + 1000 * (j + 1)), samples, **over)
            # "ε-optimal from then on": the first checkpoint after which the deployed gap stays ≤ ε up to the horizon
            future_max = np.maximum.accumulate(tr.suboptimality[:, ::-1], axis=1)[:, ::-1]
            T_grid = np.broadcast_to(tr.checkpoints, tr.suboptimality.shape)
            needed.append(censor_at_half_horizon(first_passage(T_grid, future_max, targets[j:j + 1])[:, 0], samples))
            gap_over_eps.append(np.median(tr.suboptimality, 0) / targets[j])
            capped += int(tr.npg_capped.sum())
            residual = max(residual, float(tr.npg_residual.max()))
        out.append({"T": tr.checkpoints, "targets": targets, "needed": np.stack(needed, 1), "gap_over_eps": gap_over_eps,
                    "npg_capped": capped, "npg_residual": residual, **inst})
    return out


def _instance_outcome(targets, needed, level: float, boot_seed: int) -> dict:
    """holds / fails / undecided for one instance (one-sided upper-bound rule on the fine half), with the power twin."""
    n_boot = bootstrap_size(level)
    try:
        fit = fit_sample_complexity(targets, needed, confidence_level=level, n_boot=n_boot, seed=boot_seed,
                                    tolerance=HALF_TOL, min_reached=MIN_REACHED)
    except ValueError as exc:  # fewer than two targets reached by half the runs: nothing to fit
        return {"outcome": "undecided", "reason": str(exc), "exponent": float("nan"), "fine": float("nan"),
                "coarse": float("nan"), "fine_ci": [float("nan")] * 2, "reached": np.isfinite(needed).mean(0).tolist(),
                "median_samples": np.median(needed, 0).tolist(), "twin_holds": False, "twin_fine_ci": [float("nan")] * 2}
    span = float(np.nanmax(fit.median_samples) / np.nanmin(fit.median_samples)) if fit.all_reached else float("nan")
    cliff = fit.all_reached and not span >= SPAN_MIN
    decidable = fit.all_reached and not fit.steepening and not cliff
    twin_holds, twin_ci = False, [float("nan")] * 2
    if decidable:
        tilt = (EXPONENT_BOUND + TWIN_OFFSET) - fit.exponent_fine
        twin = fit_sample_complexity(targets, needed * (targets / targets[0]) ** (-tilt), confidence_level=level,
                                     n_boot=n_boot, seed=boot_seed + 1, tolerance=HALF_TOL, min_reached=MIN_REACHED)
        twin_holds = not bool(twin.fine_ci_low > EXPONENT_BOUND)  # the twin must be judged "fails" (revision 4)
        twin_ci = [twin.fine_ci_low, twin.fine_ci_high]
    if not decidable or twin_holds:
        outcome = "undecided"
    elif fit.fine_ci_high <= EXPONENT_BOUND:
        outcome = "holds"
    elif fit.fine_ci_low > EXPONENT_BOUND:
        outcome = "fails"
    else:
        outcome = "undecided"
    reason = (f"targets not reached (N ≤ T_max/2) by ≥ {MIN_REACHED:.0%} of runs" if not fit.all_reached else
              f"N(ε) grows only ×{span:.2g} over the targets (a cliff, no rate regime)" if cliff else
              "steepening toward small ε" if fit.steepening else
              "power twin (exponent 3.5) not judged to fail" if twin_holds else
              "fine-half interval straddles 3" if outcome == "undecided" else "")
    return {"outcome": outcome, "reason": reason, "exponent": fit.exponent, "fine": fit.exponent_fine,
            "coarse": fit.exponent_coarse, "fine_ci": [fit.fine_ci_low, fit.fine_ci_high],
            "reached": fit.reached_fraction.tolist(), "median_samples": fit.median_samples.tolist(),
            "twin_holds": twin_holds, "twin_fine_ci": twin_ci, "n_boot": n_boot}


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


def _outcomes(ctx: RunContext, meas: list, salt: int) -> list[dict]:
    level = 1.0 - ctx.alpha / len(meas)
    return [_instance_outcome(m["targets"], m["needed"], level, boot_seed=_run_seeds(ctx, i, 1, salt)[0])
            for i, m in enumerate(meas)]


def run_rate(ctx: RunContext) -> Evidence:
    st = ctx.settings
    n, E = st["instances"], st["targets"]
    level = 1.0 - ctx.alpha / n
    meas = _measure_rate(ctx, n, st["runs"], st["samples"], E, salt=0)
    res = _outcomes(ctx, meas, salt=5)
    outcomes = [r["outcome"] for r in res]
    verdict = _decide_rate(outcomes)
    sensitivity = []
    for const, vals in st["sweep"].items():
        for v in vals:
            sm = _measure_rate(ctx, st["sweep_instances"], st["sweep_runs"], st["samples"], E, salt=23, **{const: v})
            so = _outcomes(ctx, sm, salt=29)
            sensitivity.append(sweep_point(const, v, _decide_rate([r["outcome"] for r in so]),
                                           fine_exponents=[r["fine"] for r in so], outcomes=[r["outcome"] for r in so],
                                           npg_capped=int(sum(m["npg_capped"] for m in sm))))
    targets = meas[0]["targets"]
    T_max = float(st["samples"])
    fine = np.array([r["fine"] for r in res])
    capped = int(sum(m["npg_capped"] for m in meas))
    residual = max(m["npg_residual"] for m in meas)
    fig, (a1, a2) = new_figure(ID_RATE, f"samples to ε on gap-ε instances ({verdict})", ncols=2, width=4.4)
    for j, g in enumerate(meas[0]["gap_over_eps"]):
        a1.loglog(meas[0]["T"], np.clip(g, 1e-6, None), color=f"C{j % 10}", lw=1.1, label=f"ε = {targets[j]:.3g}")
    a1.axhline(1.0, color="k", ls="--", lw=0.9, label="ε-optimal")
    a1.axvline(CENSOR_FRACTION * T_max, color="grey", ls=":", lw=0.9, label="censoring T_max/2")
    a1.set_xlabel("samples T [environment steps]")
    a1.set_ylabel("instance 0: median (J* − J(π_T)) / ε")
    a1.legend(fontsize=6)
    x = 1.0 / targets
    for k, (m, r) in enumerate(zip(meas, res)):
        med = np.median(m["needed"], 0)
        ok = np.isfinite(med)
        if ok.any():
            a2.loglog(x[ok], med[ok], "o-", color=f"C{k % 10}", ms=3, lw=1, label=f"{k}: {r['outcome']}" if k < 6 else None)
    ref = np.median(meas[0]["needed"], 0)
    if np.isfinite(ref[0]):
        for p, ls in ((2.0, "--"), (EXPONENT_BOUND, ":")):
            a2.loglog(x, ref[0] * (x / x[0]) ** p, "k" + ls, lw=0.9, label=f"slope {p:g}")
    a2.set_xlabel("1/ε (ε = target suboptimality = action gap / c)")
    a2.set_ylabel("median samples until ε-optimal for good")
    a2.legend(fontsize=6)
    counts = {o: outcomes.count(o) for o in ("holds", "fails", "undecided")}
    reasons = sorted({r["reason"] for r in res if r["outcome"] == "undecided" and r["reason"]})
    fine_txt = f"{np.nanmedian(fine):.2f}" if np.isfinite(fine).any() else "n/a"
    return Evidence(
        verdict=verdict, statistic=float(np.nanmedian(fine)) if np.isfinite(fine).any() else float("nan"),
        threshold=(f"per instance: targets ε_j = {TARGET_MAX:g}·√2^-j (j < {E}), each on its own instance with action gap "
                   f"{GAP_MULTIPLE:g}·ε_j, reached (N ≤ T_max/2) by ≥ {MIN_REACHED:.0%} of runs, N(ε) growing ≥ ×{SPAN_MIN:g}, "
                   f"fine-half exponent not steepening (≤ coarse + {HALF_TOL}), its {level:.4g} run-bootstrap interval "
                   f"≤ {EXPONENT_BOUND:g} holds / > {EXPONENT_BOUND:g} fails; a twin tilted to {EXPONENT_BOUND + TWIN_OFFSET:g} "
                   f"must fail; family: ≥ {MIN_FRACTION:.0%} hold → confirmed, ≥ {MIN_FRACTION:.0%} fail → refuted"),
        n_samples=int(n * E * st["runs"] * st["samples"]),
        summary=(f"{n} gap-ε linear MDPs (S=3, A={RATE_ACTIONS}, d={RATE_ACTIONS + 2}, action gap = ε) × {E} targets "
                 f"ε = {targets[0]:.3g}…{targets[-1]:.3g} × {st['runs']} runs, T_max = {st['samples']} (simplified LPO: "
                 f"det-doubling switches, optimistic LSPE critic β = {RATE_BONUS:g}, NPG η = {STEP:g} to advantage ≤ "
                 f"{RATE_ADV_TOL:g}, cap {RATE_NPG_STEPS}: bound at {capped} switches): samples until ε-optimal for good "
                 f"(N ≤ T_max/2), fine-half exponent in 1/ε: median {fine_txt} (lower bound 2, paper's bound "
                 f"{EXPONENT_BOUND:g}); {counts['holds']} hold, {counts['fails']} fail, {counts['undecided']} undecided"
                 + (f" ({'; '.join(reasons)})" if reasons else "")),
        details={"checkpoints": meas[0]["T"].tolist(), "targets": targets.tolist(), "instances": res,
                 "instance_parameters": [{"base_success": m["base_success"], "best_action": m["best_action"]} for m in meas],
                 "samples_needed": [m["needed"].tolist() for m in meas], "confidence_level": level,
                 "n_boot": bootstrap_size(level), "npg_capped_switches": capped, "npg_max_residual": residual,
                 "constants": {"reg": REG, "bonus": RATE_BONUS, "step_size": STEP, "npg_steps_cap": RATE_NPG_STEPS,
                               "advantage_tol": RATE_ADV_TOL, "ratio": RATIO, "episodes_per_round": RATE_EPISODES_PER_ROUND,
                               "gap_multiple": GAP_MULTIPLE, "censor_fraction": CENSOR_FRACTION}},
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
    id=ID_RATE, claim="ε-optimal policy with Õ(poly(d)/ε³) samples (simplified LPO on gap-ε instances: N(ε) grows at most like ε⁻³)",
    exact="J* (value iteration) and J(π) of every deployed policy (exact evaluation); action gaps c·ε by construction",
    monte_carlo="episodes of the deployed policies; R runs per instance and target give the bootstrap over runs",
    test=("samples until ε-optimal for good on an instance with action gap ε, N(ε) ∝ ε^-p: fine-half exponent interval ≤ 3 "
          "on ≥ 80% of instances (targets reached by ≥ 80% of runs with N ≤ T_max/2, not steepening, not a cliff; power "
          "twin at 3.5 must fail)"),
    scales={"quick": {"instances": 1, "targets": 4, "runs": 8, "samples": 4096, "sweep": {"step_size": [2.0]},
                      "sweep_instances": 1, "sweep_runs": 8},
            "full": {"instances": 4, "targets": 5, "runs": 48, "samples": 16384,
                     "sweep": {"step_size": [2.0, 10.0], "bonus": [1.0, 4.0]},
                     "sweep_instances": 1, "sweep_runs": 16}},
    run=run_rate, kind="asymptotic", quote=QUOTE_RATE,
    constants={"step_size": CONSTANTS["step_size"], "bonus": [1.0, 4.0]}, **_COMMON))
