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
    gives N = Ω(p̄(1 − p̄)/Δ_p²) = Ω(ε⁻²) for the 1 − δ quantile of N of any learner correct on both with probability
    1 − δ, δ < ½ (e.g. δ = 0.2) — it bounds nothing about the *median* (δ = ½: a learner that flips a coin and
    commits has median N = O(1) on both; revision 6, the referee's B3); an optimistic learner with a constant
    bonus needs O(β²/Δ_p²) = O(ε⁻²) visits (a UCB argument; the low-switching rule costs at most a constant
    factor); the paper's bound is Õ(ε⁻³) (poly(d) fixed, d = 4). So p ≈ 2 is expected of an optimistic learner (no guarantee
    for a median: the revision-6 pilot gives ≈ 1.6 on the fine half) and 3 is the bound: the family
    exercises the exponent (no cliff: the gap shrinks with the target), but an exponent ≈ 2 on it says nothing
    about LPO's worst case — this stand-in cannot tell ε⁻³ from a worse worst-case rate (ε⁻⁸ of ENIAC) that this
    family does not provoke. Each instance draws p̄ ~ U[0.3, 0.7] and the best action from the run seed.
    Per run and target, N_r(ε) = the samples after which every policy the run deploys up to the horizon T_max has
    exact gap J* − J(π) ≤ ε ("ε-optimal for good", read at *round* resolution from the trace's per-round history:
    ``optim.low_switching_pg.samples_until_optimal_for_good``, revision 6), counted as reached only if N ≤ T_max/2
    (censoring: a run is then seen ε-optimal for at least as long again; a later passage would flatten the fine half).
    Targets (revision 6, declared): ε = 0.4, 0.283, 0.2, 0.1, 0.05 (full, T_max = 32768; the coarse half 0.4 → 0.2
    spans ln 2, the fine half 0.2 → 0.1 → 0.05 spans ln 4, so every target is an end point of a half's fit and none
    is unused) and the first four (quick). The statistic is the *median* over runs of N_r(ε) (declared, B3: the
    0.8-quantile would sit exactly on the reached gate MIN_REACHED = 0.8, so a target reached by 80% of the runs would
    have an infinite 0.8-quantile; the rule bounds the exponent from above, where no lower bound is needed). ONE
    family decision (revision 6): the runs of all instances are pooled, median_r N_r(ε) ∝ ε^{-p} is fitted on the
    pooled medians (OLS of ln median N on ln 1/ε, per half), and the fine-half exponent gets a percentile bootstrap
    interval *stratified by instance* (each replicate resamples every instance's own runs; ``pooled_sample_complexity``)
    at level 1 − α/k, k = 1 + the number of sweep points (one decision for the family, no split over instances, and
    one per sweep point, which is decided by its own interval; revision of 2026-12-01 below). Decidable when every target was reached by ≥ 80% of the
    pooled runs, the pooled median N(ε) grows ≥ 4× over the grid (not a cliff) and the fine half is not steeper than
    the coarse half by more than 0.25; *holds* when the fine-half interval lies ≤ 3, *fails* when it lies > 3; a
    power twin (the same N(ε) tilted to a fine exponent of 3.5) must be judged to fail, else undecided. holds →
    confirmed, fails → refuted, undecided → inconclusive; the per-instance fine exponents (point estimates, ≤ 3 or
    not) are reported as ``instances`` and in the summary, descriptively. n_boot = max(10⁵, ⌈10/((1 − level)/2)⌉),
    drawn in chunks; the bootstrap seed derives from the run seed. The Evidence carries quote_verdict =
    "inconclusive" (revision 6, B2): a held extension is shown *inconclusive* ("extension held, sentence undecided"),
    a failed one *qualified*. The outcome set of the full run is therefore {inconclusive, qualified}; note that the
    protocol applies the sensitivity rule before the quote rule, so a held main rule with an undecided sweep point
    shows *qualified* ("not established at …") — a sweep point (1 instance × 32 runs) need not decide. Sensitivity: β
    only (η dropped in revision 6: with NPG solved to tolerance, η changes only the inner loop's path).

Declared constants (ranges swept at full scale). (i): λ = 1 (0.1–10), c = 2 (1.5–4), β = 0.5, η = 5, NPG to an
optimistic advantage ≤ 1e-6 with at most 100 steps per switch, 4 episodes per round. (ii) (revision 5): λ = 1, det ratio c = 2,
η = 5 = 1/(1 − γ) (fixed since revision 6), β = 2 = γV_max/2 (1–4; on this family a target's sd is ≈ γ·√(p̄(1 − p̄))·
(V(win) − V(lose)) ≈ 0.4, so β = 2 is ≈ 5 sd), NPG to an optimistic advantage ≤ 1e-3 (optimisation error
≤ 1e-3/(1 − γ) = 5e-3, a tenth of the smallest target 0.05) with at most 1000 steps per switch (the softmax
needs about log(δ/tol)/(ηδ) ≤ 1/(e·η·tol) ≈ 184 steps at η = 2 for an optimistic action gap δ, so the cap should not
bind) — every switch at which
the cap binds is counted (``npg_capped`` of the trace) and reported in the summary and per sweep point — 8 episodes
per round; the trace keeps every round (N is read there) and 24 checkpoints from 16 samples (the figure). (i) reports
its NPG cap binding too (summary and details; revision 6, a reported field only: the switch rule is unchanged).

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

Revision 6 (2026-12-01, the referee's audit of 2026-11-30, before any confirmatory run on the new rule; the next full
run uses a fresh seed; development on quick seeds and non-run generator seeds only). B1: N(ε) was read on 24
log-spaced checkpoints, so a bad policy deployed and replaced between two checkpoints was never seen (N too early on a
third to a half of the runs, by up to 15×); it is now read at round resolution from the trace's per-round history
(``samples_until_optimal_for_good``). B2: the Evidence carries quote_verdict = "inconclusive" (a stand-in algorithm on a
bandit-hard family cannot decide LPO's sentence; a held extension is shown inconclusive). B3: "lower bound 2" for a
median exponent was false (Bretagnolle–Huber is vacuous at δ = ½); the median is kept as the statistic (declared above,
with the reason) and the record says that no lower bound applies to it. Design (the referee's route 2, declared before
the unseen-seed run): targets 0.4, 0.283, 0.2, 0.1, 0.05 with T_max = 32768 (the fine half spans ln 4, no target
unused), and ONE pooled family decision over the runs of all instances with a bootstrap stratified by instance, at
level 1 − α. Why pooling is fair: the instances differ only by p̄ ~ U[0.3, 0.7] (Bernoulli variance within 16%) and
a label swap of the best action (a symmetry of the algorithm), so they are near-copies and the per-instance rule
(≥ 80% of 4 instances, i.e. all 4, each at 1 − α/4) added a conjunction and a Bonferroni factor without real
replication; stratifying keeps every replicate's mix of instances fixed, so the interval reflects run-to-run noise
only. Thresholds (3, twin at 3.5 must fail, reached ≥ 80% at N ≤ T_max/2, span ≥ 4×, halves within 0.25) unchanged;
the η sweep dropped (with NPG solved to tolerance, η changes only the inner loop's path); β swept at 1 and 4 (its
knee moves ∝ β, so a sweep point may be undecided for reasons unrelated to the claim: descriptive in spirit, but the
protocol reads its verdict). Power pilot after B1 (p̄ = 0.5, generator seeds 9000–9463, not run seeds; 64 runs per
target, T_max = 32768): median N = 47, 402, 430, 1176, 3882 at the five targets (0.8-quantile 243, 794, 1065, 3106,
8068), reached (N ≤ T_max/2) by 100, 100, 100, 100, 92% of runs, sd of ln N_r 0.7–1.3; pooled fine-half exponent
≈ 1.6, coarse ≈ 3.2 (the 0.4 target sits on the first switch, as the referee noted: the coarse half is steep, so
the not-steepening gate is lenient there). Resampling the pilot's N (20 synthetic families per design, the real
pooled rule at level 1 − 0.00106 with 2·10⁴ replicates): P(holds) ≈ 0.95 at 3 × 64 runs, 1.0 at 4 × 48 and 4 × 64
(the interval's upper end ≤ 3 always; what can fail is the twin) — a 64-run pilot under-represents the tails, so
this guides the design and is not a promise. Chosen: 4 instances × 64 runs. Time (one thread, CPU seconds, from a timed
development run of ``_measure_rate`` at 1 instance × 5 targets × 16 and × 40 runs on a quick-range seed: 62.1 and
76.7 s, i.e. ≈ 52 s per instance plus 0.61 s per run): main 4 × (52 + 0.61·64) ≈ 366 s, two sweep points at
1 × 32 runs ≈ 2 × 72 = 144 s, bootstraps ≈ 5 s: ≈ 8.6 min, below 15 min with a third to spare for a slower β = 4.
Quick: 2 instances × 4 targets × 4 runs, T_max = 4096, one sweep point: 19.6 s CPU.

What is simplified relative to LPO (see the optimiser's docstring): linear features instead of a general class of
bounded eluder dimension; the determinant rule instead of sampling data with probability ∝ sensitivity; all data
kept; one optimistic critic instead of the policy-cover / known-set construction; NPG to a tolerance with a cap on the
steps per switch; a discounted MDP with geometric episodes (the paper's setting not verified). The deployed (optimistic) policy is the one scored, by the
exact J of :mod:`pgtheory.exact`; the paper's output policy (last or mixture) is not verified.

Revision 2026-12-01 (multiplicity; referee of the paper draft; before the confirmatory run at seed 8): (ii)'s pooled
family decision and each sweep point's own pooled decision (a fresh interval on fresh runs) were all at 1 − α, so the
claim spent (1 + sweep points)·α; now each is at 1 − ctx.alpha/k with k = 1 + the number of sweep points (counted
from the scale's ``sweep``: 1 + 1 = 2 at quick, 1 + 2 = 3 at full). The power twin of each decision is judged at its
decision's level (as before), and n_boot follows the level through :func:`bootstrap_size` (102 400 replicates at
quick and 153 601 at full, where the floor of 100 000 applied before). (i) ``L43-lpo-switches`` is an exact check
with no statistical decision: unchanged.

Revision 2026-12-01 (a referee of the seed-10 ledger, before the seed-13 run): the switching claim's sweep points ran
on 4 of its 8 instances with 4 runs; they now run on all 8 with 8 runs (at the sweep's 8192 samples). The rate
claim's sweep stays on one instance (a stand-in, inconclusive whatever it shows); the protocol marks it a subset.
"""
from __future__ import annotations

import math

import numpy as np

from ...optim.low_switching_pg import low_switching_pg, samples_until_optimal_for_good, switch_count_bound
from ...problems.gap_family import gap_family
from ...problems.linear_mdp import random_linear_mdp
from ...stats.rates import ols_slopes
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
#: the declared target grid (revision 6): the coarse half 0.4 → 0.2 spans ln 2, the fine half 0.2 → 0.05 spans ln 4
#: (halving the fine exponent's sd against 0.2 → 0.1), every target enters a half's end point (none unused)
TARGETS = (0.4, 0.4 / math.sqrt(2.0), 0.2, 0.1, 0.05)
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
N_BOOT_MIN = 100_000  #: bootstrap replicates at least
BOOT_TAIL_DRAWS = 10  #: and ≥ 10 replicates expected beyond each end of the interval at its level
BOOT_CHUNK = 4096  #: bootstrap replicates drawn at once (memory ∝ chunk × pooled runs × fine targets)
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
                    "twin_violates": bool(np.all(tw.switches[:, -1] > tw_bound[-1])),
                    "npg_capped": int(tr.npg_capped.sum()), "npg_switches": sum(len(sw) for sw in tr.switch_samples),
                    "npg_residual": float(tr.npg_residual.max())})
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
                                           max_excess=float(max(m["max_excess"] for m in sm)), instances=len(sm)))
    d_over_lnc = FEATURE_DIM / math.log(RATIO)
    slopes = np.concatenate([m["slope_per_lnT"] for m in meas])
    final = np.concatenate([m["switches"][:, -1] for m in meas])
    T_end = meas[0]["T"][-1]
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
                 f"{int(meas[0]['twin_T'][-1])} vs bound {meas[0]['twin_bound'][-1]:.1f}); NPG cap of {NPG_STEPS} steps "
                 f"(to advantage ≤ {ADV_TOL:g}) bound at {sum(m['npg_capped'] for m in meas)} of "
                 f"{sum(m['npg_switches'] for m in meas)} switches (largest advantage left "
                 f"{max(m['npg_residual'] for m in meas):.2g}; reported only — the bound does not depend on the policy)"),
        details={"checkpoints": meas[0]["T"].tolist(), "switches": [m["switches"].tolist() for m in meas],
                 "bound": [m["bound"].tolist() for m in meas], "slope_per_lnT": slopes.tolist(),
                 "twin_switches": [m["twin_switches"].tolist() for m in meas],
                 "twin_bound": [m["twin_bound"].tolist() for m in meas], "twin_violates": [m["twin_violates"] for m in meas],
                 "npg_capped_switches": [m["npg_capped"] for m in meas], "npg_max_residual": max(m["npg_residual"] for m in meas),
                 "constants": {"reg": REG, "bonus": BONUS, "step_size": STEP, "npg_steps": NPG_STEPS, "ratio": RATIO}},
        instances=holding, sensitivity=sensitivity,
        measurements={"instances": {str(k): {key: m[key] for key in ("T", "switches", "twin_T", "twin_switches")}
                                    for k, m in enumerate(meas)},
                      "bound": meas[0]["bound"], "twin_bound": meas[0]["twin_bound"], "verdict": verdict},
    )


def _draw_switches(m: dict, figure_dir: str) -> str:
    """The switch figure, from the stored measurements: switches vs samples per run vs the bound, and the twin's."""
    fig, (a1, a2) = new_figure(ID_SWITCH, f"policy switches vs samples ({m['verdict']})", ncols=2, width=4.4)
    meas = [m["instances"][str(k)] for k in range(len(m["instances"]))]
    for k, mi in enumerate(meas):
        for r in range(mi["switches"].shape[0]):
            a1.semilogx(mi["T"], mi["switches"][r], color=f"C{k % 10}", alpha=0.5, lw=0.8,
                        label=f"instance {k}" if r == 0 else None)
    a1.semilogx(meas[0]["T"], m["bound"], "k--", lw=1.2, label="bound d·log_c(1+TL²/(dλ))")
    a1.set_xlabel("samples T [environment steps]")
    a1.set_ylabel("policy switches")
    a1.legend(fontsize=7)
    for k, mi in enumerate(meas):
        for r in range(mi["twin_switches"].shape[0]):
            a2.semilogx(mi["twin_T"], mi["twin_switches"][r], color=f"C{k % 10}", alpha=0.6, lw=0.8)
    a2.semilogx(meas[0]["twin_T"], m["twin_bound"], "k--", lw=1.2, label="bound")
    a2.set_xlabel("samples T [environment steps]")
    a2.set_ylabel("switches of the twin (every round)")
    a2.legend(fontsize=7)
    return save_figure(fig, figure_dir, ID_SWITCH)


# ---------------------------------------------------------------------------------------------------------- (ii)
def rate_targets(n_targets: int) -> np.ndarray:
    """The first ``n_targets`` of the declared grid :data:`TARGETS` (coarse first; 4 or 5), ``[E]``."""
    if isinstance(n_targets, bool) or not isinstance(n_targets, int) or not 4 <= n_targets <= len(TARGETS):
        raise ValueError(f"n_targets: need an integer in [4, {len(TARGETS)}] (the fit's halves, the grid), got {n_targets!r}")
    return np.array(TARGETS[:n_targets], dtype=float)


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
            # "ε-optimal for good", read at round resolution (revision 6): every policy deployed after N is ε-optimal
            N = samples_until_optimal_for_good(tr.round_samples, tr.round_suboptimality, targets[j:j + 1], samples)
            needed.append(censor_at_half_horizon(N[:, 0], samples))
            gap_over_eps.append(np.median(tr.suboptimality, 0) / targets[j])
            capped += int(tr.npg_capped.sum())
            residual = max(residual, float(tr.npg_residual.max()))
        out.append({"T": tr.checkpoints, "targets": targets, "needed": np.stack(needed, 1), "gap_over_eps": gap_over_eps,
                    "npg_capped": capped, "npg_residual": residual, **inst})
    return out


def _halves(n_targets: int) -> tuple[slice, slice]:
    """The coarse and the fine half of the grid (sharing the middle target), as in ``stats.fit_sample_complexity``."""
    half = n_targets // 2
    return slice(0, half + 1), slice(half, n_targets)


def _median_exponent(lx: np.ndarray, med: np.ndarray) -> float:
    """OLS slope of ln median N on ln(1/ε) over the finite medians (NaN when fewer than two)."""
    ok = np.isfinite(med)
    return float(ols_slopes(lx[ok], np.log(med[ok]))) if ok.sum() >= 2 else float("nan")


def pooled_sample_complexity(targets, needed_by_instance, level: float, n_boot: int, seed: int) -> dict:
    """The exponent of the pooled median N(ε) ∝ ε^{-p} over the runs of all instances, with a bootstrap of the fine
    half's exponent *stratified by instance* (each replicate resamples every instance's own runs with replacement).

    ``targets [E]`` (coarse first, E ≥ 4); ``needed_by_instance``: a list of ``[R_i, E]`` arrays of N_r(ε) (``inf`` =
    not reached). Returns the pooled medians and reached fractions ``[E]``, the exponents over all targets, the coarse
    and the fine half (OLS on the log medians, as ``stats.fit_sample_complexity``), and the fine half's two-sided
    percentile interval at ``level`` (replicates with an infinite median dropped; NaN when a pooled fine-half median is
    itself infinite); drawn in chunks of
    :data:`BOOT_CHUNK` replicates, so memory does not grow with ``n_boot``.
    """
    eps = np.asarray(targets, dtype=float)
    blocks = [np.atleast_2d(np.asarray(b, dtype=float)) for b in needed_by_instance]
    if eps.ndim != 1 or eps.size < 4 or np.any(eps <= 0) or np.any(np.diff(eps) >= 0):
        raise ValueError("targets: need at least 4 positive targets, strictly decreasing (coarse first)")
    if not blocks or any(b.ndim != 2 or b.shape[1] != eps.size or b.shape[0] < 1 for b in blocks):
        raise ValueError(f"needed_by_instance: expected a non-empty list of [R_i, {eps.size}] arrays")
    if any(np.any(np.isnan(b)) or np.any(b <= 0) for b in blocks):
        raise ValueError("needed_by_instance: must be positive (inf for a target not reached), without NaN")
    if not 0 < level < 1:
        raise ValueError(f"level: must lie in (0, 1), got {level}")
    if isinstance(n_boot, bool) or not isinstance(n_boot, int) or n_boot < 1:
        raise ValueError(f"n_boot: need a positive integer, got {n_boot!r}")
    pooled = np.concatenate(blocks, 0)
    lx = np.log(1.0 / eps)
    med = np.median(pooled, 0)
    coarse, fine = _halves(eps.size)
    rng = np.random.default_rng(seed)
    slopes = []
    for start in range(0, n_boot if np.isfinite(med[fine]).all() else 0, BOOT_CHUNK):  # no interval without a point
        b = min(BOOT_CHUNK, n_boot - start)
        rep = np.concatenate([blk[rng.integers(0, blk.shape[0], size=(b, blk.shape[0]))][:, :, fine] for blk in blocks], 1)
        m = np.median(rep, 1)  # [b, fine targets]
        keep = np.isfinite(m).all(1)
        slopes.append(ols_slopes(lx[fine], np.log(m[keep])))
    s = np.concatenate(slopes) if slopes else np.empty(0)
    a = (1.0 - level) / 2.0
    lo, hi = np.quantile(s, [a, 1.0 - a]) if s.size else (float("nan"), float("nan"))
    return {"median_samples": med, "reached": np.isfinite(pooled).mean(0), "exponent": _median_exponent(lx, med),
            "coarse": _median_exponent(lx[coarse], med[coarse]), "fine": _median_exponent(lx[fine], med[fine]),
            "fine_ci": [float(lo), float(hi)], "replicates_kept": int(s.size), "runs": int(pooled.shape[0])}


def _family_outcome(targets, needed_by_instance, level: float, boot_seed: int) -> dict:
    """holds / fails / undecided for the pooled family (one-sided upper-bound rule on the fine half), with the twin."""
    eps = np.asarray(targets, dtype=float)
    n_boot = bootstrap_size(level)
    fit = pooled_sample_complexity(eps, needed_by_instance, level, n_boot, boot_seed)
    lx = np.log(1.0 / eps)
    per_instance = [_median_exponent(lx[_halves(eps.size)[1]], np.median(b, 0)[_halves(eps.size)[1]])
                    for b in needed_by_instance]
    med = fit["median_samples"]
    all_reached = bool(np.all(fit["reached"] >= MIN_REACHED))
    span = float(med.max() / med.min()) if all_reached else float("nan")
    cliff = all_reached and not span >= SPAN_MIN
    steepening = bool(not np.isfinite(fit["fine"]) or not np.isfinite(fit["coarse"])
                      or fit["fine"] > fit["coarse"] + HALF_TOL)
    decidable = all_reached and not steepening and not cliff
    twin_holds, twin_ci = False, [float("nan")] * 2
    if decidable:
        tilt = (EXPONENT_BOUND + TWIN_OFFSET) - fit["fine"]
        tilted = [np.asarray(b, dtype=float) * (eps / eps[0]) ** (-tilt) for b in needed_by_instance]
        twin = pooled_sample_complexity(eps, tilted, level, n_boot, boot_seed + 1)
        twin_holds = not bool(twin["fine_ci"][0] > EXPONENT_BOUND)  # the twin must be judged "fails" (revision 4)
        twin_ci = twin["fine_ci"]
    lo, hi = fit["fine_ci"]
    if not decidable or twin_holds:
        outcome = "undecided"
    elif hi <= EXPONENT_BOUND:
        outcome = "holds"
    elif lo > EXPONENT_BOUND:
        outcome = "fails"
    else:
        outcome = "undecided"
    reason = (f"targets not reached (N ≤ T_max/2) by ≥ {MIN_REACHED:.0%} of runs" if not all_reached else
              f"N(ε) grows only ×{span:.2g} over the targets (a cliff, no rate regime)" if cliff else
              "steepening toward small ε" if steepening else
              "power twin (exponent 3.5) not judged to fail" if twin_holds else
              "fine-half interval straddles 3" if outcome == "undecided" else "")
    return {"outcome": outcome, "reason": reason, "exponent": fit["exponent"], "fine": fit["fine"],
            "coarse": fit["coarse"], "fine_ci": [lo, hi], "reached": fit["reached"].tolist(),
            "median_samples": med.tolist(), "twin_holds": twin_holds, "twin_fine_ci": twin_ci, "n_boot": n_boot,
            "runs": fit["runs"], "fine_per_instance": per_instance}


RATE_VERDICT = {"holds": "confirmed", "fails": "refuted", "undecided": "inconclusive"}  #: the one pooled decision


def rate_decisions(sweep: dict) -> int:
    """k of (ii): the pooled family decision plus one pooled decision per sweep point (each on its own runs)."""
    return 1 + sum(len(vals) for vals in sweep.values())


def _outcome(ctx: RunContext, meas: list, salt: int, level: float) -> dict:
    """The pooled decision (no split over instances, revision 6) at ``level`` = 1 − ctx.alpha/k (revision 2026-12-01)."""
    return _family_outcome(meas[0]["targets"], [m["needed"] for m in meas], level,
                           boot_seed=_run_seeds(ctx, 0, 1, salt)[0])


def run_rate(ctx: RunContext) -> Evidence:
    st = ctx.settings
    n, E = st["instances"], st["targets"]
    k_dec = rate_decisions(st["sweep"])
    level = 1.0 - ctx.alpha / k_dec  # the family decision and each sweep point's (revision 2026-12-01)
    meas = _measure_rate(ctx, n, st["runs"], st["samples"], E, salt=0)
    res = _outcome(ctx, meas, salt=5, level=level)
    verdict = RATE_VERDICT[res["outcome"]]
    sensitivity = []
    for const, vals in st["sweep"].items():
        for v in vals:
            sm = _measure_rate(ctx, st["sweep_instances"], st["sweep_runs"], st["samples"], E, salt=23, **{const: v})
            so = _outcome(ctx, sm, salt=29, level=level)
            sensitivity.append(sweep_point(const, v, RATE_VERDICT[so["outcome"]], fine_exponent=so["fine"],
                                           fine_ci=so["fine_ci"], outcome=so["outcome"], reason=so["reason"],
                                           npg_capped=int(sum(m["npg_capped"] for m in sm)), instances=len(sm)))
    targets = meas[0]["targets"]
    T_max = float(st["samples"])
    capped = int(sum(m["npg_capped"] for m in meas))
    residual = max(m["npg_residual"] for m in meas)
    fine_txt = (f"{res['fine']:.2f} [{res['fine_ci'][0]:.2f}, {res['fine_ci'][1]:.2f}]" if np.isfinite(res["fine"])
                else "n/a")
    per_inst = res["fine_per_instance"]
    holding = [bool(np.isfinite(f) and f <= EXPONENT_BOUND) for f in per_inst]  # descriptive: point estimates
    return Evidence(
        verdict=verdict, statistic=float(res["fine"]),
        threshold=(f"pooled over the runs of all {n} instances: targets ε = "
                   f"{', '.join(f'{t:.3g}' for t in targets)}, each on its own instance with action gap "
                   f"{GAP_MULTIPLE:g}·ε, reached (N ≤ T_max/2) by ≥ {MIN_REACHED:.0%} of runs, pooled median N(ε) growing "
                   f"≥ ×{SPAN_MIN:g}, fine-half exponent not steepening (≤ coarse + {HALF_TOL}), its level-{level:.6g} "
                   f"(1 − α/{k_dec}, each sweep point alike) bootstrap interval (stratified by instance) ≤ {EXPONENT_BOUND:g} → confirmed (shown inconclusive: the "
                   f"sentence itself is undecided), > {EXPONENT_BOUND:g} → refuted (an extension: qualified); a twin "
                   f"tilted to {EXPONENT_BOUND + TWIN_OFFSET:g} must fail"),
        n_samples=int(n * E * st["runs"] * st["samples"]),
        summary=(f"{n} gap-ε linear MDPs (S=3, A={RATE_ACTIONS}, d={RATE_ACTIONS + 2}, action gap = ε) × {E} targets "
                 f"ε = {targets[0]:.3g}…{targets[-1]:.3g} × {st['runs']} runs, T_max = {st['samples']} (simplified LPO: "
                 f"det-doubling switches, optimistic LSPE critic β = {RATE_BONUS:g}, NPG η = {STEP:g} to advantage ≤ "
                 f"{RATE_ADV_TOL:g}, cap {RATE_NPG_STEPS}: bound at {capped} switches — NPG solved to tolerance, so only "
                 f"the statistical part of the rate is exercised): median over runs of the samples until ε-optimal for "
                 f"good (round resolution, N ≤ T_max/2), pooled fine-half exponent in 1/ε {fine_txt} at level "
                 f"{level:.6g} = 1 − α/{k_dec} (the paper's bound {EXPONENT_BOUND:g}; no lower bound applies to a median — the two-point "
                 f"bound forces ε⁻² only on quantiles above ½), per instance "
                 f"{', '.join(f'{f:.2f}' for f in per_inst)}: {res['outcome']}"
                 + (f" ({res['reason']})" if res["reason"] else "")
                 + "; a stand-in on a bandit-hard family cannot decide LPO's sentence (quote_verdict inconclusive)"),
        details={"checkpoints": meas[0]["T"].tolist(), "targets": targets.tolist(), "family": res,
                 "instance_parameters": [{"base_success": m["base_success"], "best_action": m["best_action"]} for m in meas],
                 "samples_needed": [m["needed"].tolist() for m in meas], "confidence_level": level,
                 "decisions_k": k_dec,
                 "n_boot": bootstrap_size(level), "npg_capped_switches": capped, "npg_max_residual": residual,
                 "constants": {"reg": REG, "bonus": RATE_BONUS, "step_size": STEP, "npg_steps_cap": RATE_NPG_STEPS,
                               "advantage_tol": RATE_ADV_TOL, "ratio": RATIO, "episodes_per_round": RATE_EPISODES_PER_ROUND,
                               "gap_multiple": GAP_MULTIPLE, "censor_fraction": CENSOR_FRACTION}},
        instances=holding, sensitivity=sensitivity, quote_verdict="inconclusive",
        measurements={"T": meas[0]["T"], "targets": targets, "T_max": T_max,
                      "gap_over_eps": np.stack(meas[0]["gap_over_eps"]),
                      "needed": {str(k): m["needed"] for k, m in enumerate(meas)},
                      "pooled_median_samples": np.asarray(res["median_samples"], dtype=float),
                      "outcome": res["outcome"], "verdict": verdict},
    )


def _draw_rate(m: dict, figure_dir: str) -> str:
    """The rate figure, from the stored measurements: instance 0's gap curves, and samples to ε against 1/ε."""
    fig, (a1, a2) = new_figure(ID_RATE, f"samples to ε on gap-ε instances ({m['verdict']})", ncols=2, width=4.4)
    targets, T_max = m["targets"], m["T_max"]
    for j, g in enumerate(m["gap_over_eps"]):
        a1.loglog(m["T"], np.clip(g, 1e-6, None), color=f"C{j % 10}", lw=1.1, label=f"ε = {targets[j]:.3g}")
    a1.axhline(1.0, color="k", ls="--", lw=0.9, label="ε-optimal")
    a1.axvline(CENSOR_FRACTION * T_max, color="grey", ls=":", lw=0.9, label="censoring T_max/2")
    a1.set_xlabel("samples T [environment steps]")
    a1.set_ylabel("instance 0: median (J* − J(π_T)) / ε")
    a1.legend(fontsize=6)
    x = 1.0 / targets
    for k in range(len(m["needed"])):
        med = np.median(m["needed"][str(k)], 0)
        ok = np.isfinite(med)
        if ok.any():
            a2.loglog(x[ok], med[ok], "o-", color=f"C{k % 10}", ms=2, lw=0.7, alpha=0.6,
                      label=f"instance {k}" if k < 6 else None)
    pooled = np.asarray(m["pooled_median_samples"])
    ok = np.isfinite(pooled)
    if ok.any():
        a2.loglog(x[ok], pooled[ok], "ks-", ms=4, lw=1.4, label=f"pooled: {m['outcome']}")
    if np.isfinite(pooled[0]):
        for p, ls in ((2.0, "--"), (EXPONENT_BOUND, ":")):
            a2.loglog(x, pooled[0] * (x / x[0]) ** p, "k" + ls, lw=0.9, label=f"slope {p:g}")
    a2.set_xlabel("1/ε (ε = target suboptimality = action gap / c)")
    a2.set_ylabel("median samples until ε-optimal for good")
    a2.legend(fontsize=6)
    return save_figure(fig, figure_dir, ID_RATE)


_COMMON = dict(paper=PAPER, seed_line=SEED_LINE, figure_family="rates", theme="VR, LIN",
               source="Li, Wang, Cheng & Yang, ICML 2023 (arXiv 2306.09554); abstract and introduction only",
               quote_source=QUOTE_SOURCE, extension=True, unbiasedness=False)

register_claim(Claim(
    id=ID_SWITCH, claim="our simplified det-doubling algorithm switches ≤ d·log_c(1 + TL²/(dλ)) = O(d log T) times (the quote: LPO is low-switching)",
    exact="switch_count_bound (AM–GM on det Λ_T); exact J of every deployed policy",
    monte_carlo="episodes of the deployed policies (geometric termination), R runs per linear MDP",
    test="switches ≤ the determinant bound on every run and checkpoint; the every-round twin must exceed it",
    scales={"quick": {"instances": 3, "runs": 4, "samples": 2048, "twin_samples": 1024, "sweep": {"ratio": [4.0]},
                      "sweep_instances": 3, "sweep_runs": 2, "sweep_samples": 1024},
            "full": {"instances": 8, "runs": 8, "samples": 65536, "twin_samples": 4096,
                     "sweep": {"ratio": [1.5, 4.0], "reg": [0.1, 10.0]},
                     "sweep_instances": 8, "sweep_runs": 8, "sweep_samples": 8192}},
    run=run_switches, draw=_draw_switches, kind="identity",
    verifies=(
        'None of the quoted sentence is verified; the check is of our code: "low-switching" for a simplified '
        'linear-MDP stand-in (determinant rule) whose '
        'switches stay below an O(d log T) bound by construction. Not judged: LPO itself, "bounded '
        'eluder-dimension and online sensitivity sampling", "sample-efficient", "general non-linear function '
        'approximation".'),
    quote=QUOTE_SWITCH,
    reading="by-construction",
    reading_note=("Kind identity: \"the determinant rule's bound holds by construction (AM-GM on det Lambda_T) ... not evidence about LPO's own switching lemma\". The quote itself describes the method."),
    constants={"ratio": CONSTANTS["ratio"], "reg": CONSTANTS["reg"]}, **dict(_COMMON, extension=False)))

register_claim(Claim(
    id=ID_RATE, claim="ε-optimal policy with Õ(poly(d)/ε³) samples (simplified LPO on gap-ε instances: N(ε) grows at most like ε⁻³)",
    exact="J* (value iteration) and J(π) of every deployed policy (exact evaluation); action gaps c·ε by construction",
    monte_carlo="episodes of the deployed policies; R runs per instance and target give the bootstrap over runs",
    test=("samples until ε-optimal for good (round resolution) on an instance with action gap ε, N(ε) ∝ ε^-p: ONE pooled "
          "decision over the runs of all instances — the fine-half exponent's instance-stratified bootstrap interval ≤ 3 "
          "(targets reached by ≥ 80% of pooled runs with N ≤ T_max/2, not steepening, not a cliff; power twin at 3.5 must "
          "fail); quote_verdict inconclusive (a stand-in cannot decide the sentence)"),
    scales={"quick": {"instances": 2, "targets": 4, "runs": 4, "samples": 4096, "sweep": {"bonus": [4.0]},
                      "sweep_instances": 1, "sweep_runs": 4},
            "full": {"instances": 4, "targets": 5, "runs": 64, "samples": 32768,
                     "sweep": {"bonus": [1.0, 4.0]}, "sweep_instances": 1, "sweep_runs": 32}},
    run=run_rate, draw=_draw_rate, kind="asymptotic", quote=QUOTE_RATE,
    reading="stand-in",
    reading_note=("\"a stand-in algorithm on a bandit-hard family cannot decide LPO's sentence\"; simplified LPO, \"abstract and introduction only\" read."),
    constants={"bonus": [1.0, 4.0]}, **_COMMON))
