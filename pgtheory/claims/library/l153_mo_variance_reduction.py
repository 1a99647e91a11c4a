r"""L153 (Guidobene, Benedetti & Arapovic 2025, arXiv:2508.10608): variance reduction for multi-objective policy
gradients with a non-linear scalarisation.

Quote (seed abstract, line 153; the paper's body could not be read here — searched 2026-11-30 and 2026-12-01, only
abstract pages found): "we address the issue of sample efficiency by implementing variance-reduction techniques to
reduce the sample complexity of policy gradients while maintaining general assumptions". The abstract states no rate.
The algorithms are taken from the authors' code (github davideguidobene/Variance-Reduced-Policy-Gradient-Method-for-
Multi-Objective-Reinforcement-Learning at 5906955): MOPG (the plug-in ∇f(Ĵ)ᵀ∇̂J on two independent batches) and
MO-TSIVR-PG (TSIVR-PG of Zhang et al. 2021 for F = f∘J: SARAH recursions for J and for the direction, refreshed on a
large batch). Their code has three defects (an inverted importance weight, a correction added instead of subtracted,
per-decision weights paired with the full reward-to-go; :class:`~pgtheory.optim.ScalarisedRecursive`); the corrected
algorithm is tested — the sentence is about variance reduction, not about that code. Their experiments use Adam; the
theory they build on uses plain (truncated) ascent, which is used here for both methods.

Reading of the sentence tested: with the same kind of samples (trajectories), the variance-reduced method reaches an
ε-optimal policy of F(θ) = f(J(θ)) — F* − F(θ) ≤ ε — with fewer trajectories than the plain multi-objective policy
gradient, at the small ε that sample complexity is about. Optimality, not stationarity: near a deterministic policy the
softmax gradient vanishes whether or not that policy is good, so ‖∇F‖ ≤ ε is reached fastest by the largest steps,
which saturate the policy in a wrong corner (seen on development seeds: the best "stationarity" step was the largest
of the grid for both methods, with gaps of 50–90% of the initial one left). TSIVR-PG, which the method instantiates,
states both notions (Õ(ε⁻³) to stationarity, Õ(ε⁻²) to global optimality under its assumptions). F* is exact (an
occupancy program, :func:`~pgtheory.exact.scalarised_optimum`). It is a stand-in test: small tabular MDPs, not the
paper's environments.

Design (version 1, 2026-12-01; revised on the quick/development seeds only, before any full run, as recorded here):

* Instances: Garnets with S = 4, A = 2, branching 2, γ = 0.7; two independent reward channels r₁, r₂ ~ U[0, 1]^{S×A};
  f = soft-min with β = 4 (main; smooth and concave); θ₀ ~ 0.5·N(0, I), redrawn until ‖∇F(θ₀)‖ ≥ 0.1 (not already
  near-stationary). Instance seeds from the claim's run seed. (Development: S = 6, A = 3, γ = 0.8 left every tuned
  method at 13% of the initial gap or more after 20 000 trajectories, so no target of sample-complexity size was
  reached; channels r₂ = 1 − r₁ made J₁ + J₂ constant, a one-dimensional problem with the same F* on every instance.)
* Targets: ε_j = (F* − F(θ₀)) × (0.3, 0.1, 0.03, 0.01); N_r(ε) = trajectories consumed when run r's exact gap first
  falls to ≤ ε (checkpoints log-spaced; ∞ when never within the run's trajectory budget, the same for both methods).
* Fair tuning (matched progress is built in: both are judged at the same ε): each method gets eight configurations —
  step η ∈ {0.3, 1, 3, 10} × MOPG batch n ∈ {8, 32} (n for Ĵ and n for ∇̂J, the authors' equal halves) or MO-TSIVR-PG
  (N, B, epoch) ∈ {(32, 4, 8), (128, 8, 16)} with truncation δ = 1 — and on *tuning* seeds the configuration that reaches
  the smallest target with the smallest median N is chosen per instance and method. The chosen pair is then run on
  fresh *evaluation* seeds (disjoint), which alone decide.
* Decide per instance at the decision target: the smallest ε_j whose median N is finite for both methods (reached by
  more than half of the evaluation runs). The instance is usable only when that target is one of the two smallest
  (0.03 or 0.01 of the initial gap): a comparison at a coarse ε says nothing about sample complexity. There, the log
  ratio L = log(median N_MOPG / median N_VR), with a run bootstrap (each method's runs resampled independently; the 95%
  percentile interval widened to level 1 − α/k by the normal approximation, k = the interval decisions), gives
  *faster* (interval > 0), *slower* (< 0) or *tie*. Power (a planted near twin per instance): MOPG's own evaluation
  runs against the same runs with N divided by 1.25 (a method 25% faster with MOPG's noise) must come out *faster*;
  where it does not, a tie is uninformative and the instance unusable.
* Verdict: inconclusive with fewer than 3 usable instances; confirmed when the VR method is faster on ≥ 80% of the
  usable instances and slower on none; refuted when it is slower on more than half; qualified otherwise (it wins on
  some and not on others — the per-instance outcomes are the boundary).
* Sensitivity (full scale, first three instances, the whole tuning repeated): f = Nash welfare Σ log(J_i + 0.1); and the
  truncation δ = 0.3. A flip of the verdict on the same instances qualifies.
* Reported beside (not judged: the abstract states no exponent, and TSIVR-PG's rates are upper bounds): the fitted
  exponent p of median N(ε) ∝ ε^{-p} of each method over the targets both reach, and the per-target medians (the
  crossover: the targets at which each method's median is smaller).
* Scale: quick (2 instances, 24 evaluation runs, 8 000 trajectories) is a smoke test and is expected to be
  inconclusive; full: 10 instances, 24 tuning and 384 evaluation runs per method, 20 000 trajectories per run.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import torch

from ...optim import make_algorithm, run as run_optimiser
from ...problems import MultiObjectiveMDP, ScalarisedMDP, garnet, make_scalarisation
from ...exact import objective_vector, scalarised_gradient, scalarised_optimum
from ...policies import TabularSoftmax
from ...stats import first_passage, normal_interval
from ..record import Claim, Evidence, RunContext, sweep_point
from ..registry import register_claim
from ..style import new_figure, save_figure

ID = "L153-mo-variance-reduction"
S, A, BRANCHING, DISCOUNT = 4, 2, 2, 0.7
TARGET_FRACTIONS = (0.3, 0.1, 0.03, 0.01)
STEPS = (0.3, 1.0, 3.0, 10.0)
MOPG_BATCHES = (8, 32)
TSIVR_LOOPS = ((32, 4, 8), (128, 8, 16))  #: (big batch N, batch B, epoch length)
MAX_STEP = 1.0
PLANTED = 1.25  #: the near twin: a method 25% faster than MOPG with MOPG's noise
MIN_FRACTION, MIN_USABLE = 0.8, 3
MIN_GRAD0 = 0.1  #: θ₀ is redrawn until ‖∇F(θ₀)‖ ≥ this (not already near-stationary)
METHODS = ("mopg", "mo_tsivr_pg")
LABELS = {"mopg": "MOPG (plug-in)", "mo_tsivr_pg": "MO-TSIVR-PG (variance-reduced, corrected)"}
SCALARISATIONS = {"soft_min": dict(temperature=4.0), "nash_welfare": dict(offset=0.1)}


def _instances(n: int, seed: int) -> list[tuple[MultiObjectiveMDP, torch.Tensor, int]]:
    rng = np.random.default_rng(seed)
    out: list = []
    f = make_scalarisation("soft_min", **SCALARISATIONS["soft_min"])
    pol = TabularSoftmax(S, A)
    while len(out) < n:
        mdp = garnet(S, A, BRANCHING, discount=DISCOUNT, seed=int(rng.integers(2 ** 31)))
        mo = MultiObjectiveMDP.from_rewards(mdp, torch.from_numpy(rng.random((2, S, A))))
        for _ in range(100):  # start away from stationarity: ‖∇F(θ₀)‖ ≥ MIN_GRAD0 for the main f
            theta0 = 0.5 * torch.from_numpy(rng.standard_normal((S, A)))
            if float(scalarised_gradient(mo, f, pol, theta0).norm()) >= MIN_GRAD0:
                out.append((mo, theta0, int(rng.integers(2 ** 40))))
                break
    return out


def _configs(method: str, max_step: float) -> list[dict]:
    if method == "mopg":
        return [dict(step_size=eta, objective_batch=n, batch_size=n) for eta in STEPS for n in MOPG_BATCHES]
    return [dict(step_size=eta, big_batch=N, batch_size=B, epoch_length=m, max_step=max_step)
            for eta in STEPS for N, B, m in TSIVR_LOOPS]


def _per_iteration(method: str, c: dict) -> float:
    """Mean trajectories per iteration (to size the run to the budget)."""
    if method == "mopg":
        return c["objective_batch"] + c["batch_size"]
    m = c["epoch_length"]
    return (2 * c["big_batch"] + (m - 1) * 2 * c["batch_size"]) / m


def _needed(problem, method: str, c: dict, theta0, seeds, targets, budget: int, checkpoints: int, device) -> np.ndarray:
    """N_r(ε_j) ``[R, E]`` for one configuration: first passage within the trajectory budget (∞ beyond it)."""
    T = max(2, math.ceil(budget / _per_iteration(method, c)))
    tr = run_optimiser(problem, make_algorithm(method, **c), theta0, seeds=seeds, n_iterations=T,
                       n_checkpoints=checkpoints, device=device)
    N = first_passage(tr.trajectories, np.maximum(tr.optimum - tr.objective, 0.0), targets)
    return np.where(N <= budget, N, np.inf)


def _medians(N: np.ndarray) -> np.ndarray:
    """Median over runs per target; ∞ where half or more of the runs did not reach it."""
    with np.errstate(invalid="ignore"):
        med = np.median(N, 0)
    return np.where(np.isfinite(N).mean(0) > 0.5, med, np.inf)


def _choose(table: list[np.ndarray]) -> int:
    """The configuration that reaches the smallest target with the smallest median (tuning seeds)."""
    meds = np.array([_medians(N) for N in table])  # [C, E]
    for j in range(meds.shape[1] - 1, -1, -1):
        if np.isfinite(meds[:, j]).any():
            return int(np.argmin(meds[:, j]))
    return 0


class _LogRatio(NamedTuple):
    slope: float  # log(median a / median b), named as stats.normal_interval reads it
    ci_low: float
    ci_high: float
    confidence_level: float


def log_ratio_interval(a: np.ndarray, b: np.ndarray, level: float, rng: np.random.Generator, n_boot: int = 2000):
    """log(median a / median b) with its interval at ``level``: the 95% percentile interval of a bootstrap that resamples
    each sample's runs independently, widened by the normal approximation (``stats.normal_interval``). Resamples with an
    undefined (infinite) median are dropped; (nan, nan, nan) when more than 5% are."""
    point = math.log(np.median(a) / np.median(b)) if np.isfinite(np.median(a)) and np.isfinite(np.median(b)) else math.nan
    ia = rng.integers(0, len(a), (n_boot, len(a)))
    ib = rng.integers(0, len(b), (n_boot, len(b)))
    with np.errstate(invalid="ignore", divide="ignore"):
        reps = np.log(np.median(a[ia], 1) / np.median(b[ib], 1))
    ok = np.isfinite(reps)
    if not np.isfinite(point) or ok.mean() < 0.95:
        return math.nan, math.nan, math.nan
    lo95, hi95 = np.percentile(reps[ok], [2.5, 97.5])
    lo, hi = normal_interval(_LogRatio(point, float(lo95), float(hi95), 0.95), level)
    return point, lo, hi


def _outcome(lo: float, hi: float) -> str:
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return "undecided"
    return "faster" if lo > 0 else "slower" if hi < 0 else "tie"


def compare(N_mopg: np.ndarray, N_vr: np.ndarray, level: float, rng: np.random.Generator) -> dict:
    """One instance's decision (module docstring) from the evaluation runs ``[R, E]`` of each method."""
    m_a, m_b = _medians(N_mopg), _medians(N_vr)
    both = np.flatnonzero(np.isfinite(m_a) & np.isfinite(m_b))
    out = {"median_mopg": m_a, "median_vr": m_b, "decision_target": None, "usable": False, "outcome": "unusable",
           "log_ratio": [math.nan] * 3, "twin": "undecided"}
    if both.size == 0:
        return out
    j = int(both.max())
    out["decision_target"] = j
    a = N_mopg[:, j]
    out["log_ratio"] = list(log_ratio_interval(a, N_vr[:, j], level, rng))
    out["twin"] = _outcome(*log_ratio_interval(a, a / PLANTED, level, rng)[1:])
    res = _outcome(*out["log_ratio"][1:])
    fine = j >= len(TARGET_FRACTIONS) - 2
    out["usable"] = bool(fine and res in ("faster", "slower", "tie") and (res != "tie" or out["twin"] == "faster"))
    out["outcome"] = res if out["usable"] else "unusable"
    return out


def verdict_of(outcomes: list[str]) -> str:
    usable = [o for o in outcomes if o != "unusable"]
    if len(usable) < MIN_USABLE:
        return "inconclusive"
    faster, slower = usable.count("faster"), usable.count("slower")
    if slower > len(usable) / 2:
        return "refuted"
    if slower == 0 and faster >= MIN_FRACTION * len(usable):
        return "confirmed"
    return "qualified" if faster or slower else "inconclusive"


def _exponent(N: np.ndarray, targets: np.ndarray) -> float:
    """OLS slope of log median N on log(1/ε) over the targets with a finite median (NaN with fewer than two)."""
    med = _medians(N)
    ok = np.isfinite(med)
    if ok.sum() < 2:
        return math.nan
    return float(np.polyfit(np.log(1 / targets[ok]), np.log(med[ok]), 1)[0])


def _one_setting(ctx: RunContext, insts, f_name: str, max_step: float, level: float, tag: int) -> tuple[list[dict], int]:
    s = ctx.settings
    results, used = [], 0
    for i, (mo, theta0, base) in enumerate(insts):
        problem = ScalarisedMDP(mo, make_scalarisation(f_name, **SCALARISATIONS[f_name]))
        F_star = scalarised_optimum(mo, problem.scalarisation)[0]
        gap0 = F_star - float(problem.scalarisation(objective_vector(mo, torch.softmax(theta0, -1))))
        targets = gap0 * np.array(TARGET_FRACTIONS)
        evaluation, chosen = {}, {}
        for k, method in enumerate(METHODS):
            configs = _configs(method, max_step)
            tune_seeds = range(base + 1_000_000 * tag + 10_000 * k, base + 1_000_000 * tag + 10_000 * k + s["tune_runs"])
            table = [_needed(problem, method, c, theta0, tune_seeds, targets, s["budget"], s["checkpoints"], ctx.device)
                     for c in configs]
            used += len(configs) * len(tune_seeds) * s["budget"]
            best = configs[_choose(table)]
            eval_seeds = range(base + 1_000_000 * tag + 500_000 + 10_000 * k,
                               base + 1_000_000 * tag + 500_000 + 10_000 * k + s["eval_runs"])
            evaluation[method] = _needed(problem, method, best, theta0, eval_seeds, targets, s["budget"],
                                         s["checkpoints"], ctx.device)
            used += len(eval_seeds) * s["budget"]
            chosen[method] = best
        rng = np.random.default_rng(ctx.seed + 7919 * tag + i)
        res = compare(evaluation["mopg"], evaluation["mo_tsivr_pg"], level, rng)
        res.update(chosen=chosen, targets=targets, gap0=gap0, optimum=F_star,
                   exponent={m: _exponent(evaluation[m], targets) for m in METHODS},
                   reached={m: np.isfinite(evaluation[m]).mean(0) for m in METHODS})
        results.append(res)
    return results, used


def run(ctx: RunContext) -> Evidence:
    s = ctx.settings
    insts = _instances(s["instances"], ctx.seed)
    swept = min(s["sensitivity_instances"], len(insts))
    settings = [("soft_min", MAX_STEP)] + ([("nash_welfare", MAX_STEP), ("soft_min", 0.3)] if swept else [])
    k_dec = len(insts) + (len(settings) - 1) * swept  # interval decisions (the twins' intervals are checks of power)
    level = 1 - ctx.alpha / k_dec
    main, used = _one_setting(ctx, insts, "soft_min", MAX_STEP, level, 0)
    outcomes = [r["outcome"] for r in main]
    verdict = verdict_of(outcomes)
    sensitivity = []
    if swept:
        base_verdict = verdict_of(outcomes[:swept])
        for tag, (f_name, delta) in enumerate(settings[1:], start=1):
            res, u = _one_setting(ctx, insts[:swept], f_name, delta, level, tag)
            used += u
            v = verdict_of([r["outcome"] for r in res])
            name, value = ("scalarisation", f_name) if f_name != "soft_min" else ("truncation_delta", delta)
            sensitivity.append(sweep_point(name, value, verdict if v == base_verdict else v, verdict_at_constant=v,
                                           main_on_same_instances=base_verdict, instances_swept=swept,
                                           outcomes=[r["outcome"] for r in res]))
            if verdict == "confirmed" and v != base_verdict:
                verdict = "qualified"
    ratios = [r["log_ratio"][0] for r in main]
    summary = (f"{len(insts)} Garnets (S={S}, A={A}, γ={DISCOUNT}), two reward channels, soft-min β=4; each method "
               f"tuned over 8 configurations on {s['tune_runs']} tuning runs, judged on {s['eval_runs']} fresh runs "
               f"(budget {s['budget']} trajectories): per instance at the smallest target both reach, "
               f"VR vs MOPG {outcomes} (median-ratio logs {[round(x, 2) if np.isfinite(x) else None for x in ratios]}); "
               f"planted 25% twin detected on {sum(r['twin'] == 'faster' for r in main)}/{len(main)}; "
               f"exponents (report only) MOPG {[round(r['exponent']['mopg'], 2) for r in main]}, "
               f"VR {[round(r['exponent']['mo_tsivr_pg'], 2) for r in main]}")
    usable = [o != "unusable" for o in outcomes]
    return Evidence(
        verdict=verdict, statistic=float(np.nanmedian(ratios)) if np.isfinite(ratios).any() else math.nan,
        threshold=(f"VR faster (log median-ratio interval at level {level:.6f} > 0) on ≥ {MIN_FRACTION:.0%} of ≥ "
                   f"{MIN_USABLE} usable instances and slower on none; usable = decided at a gap ε ≤ 0.03 of the initial gap with the "
                   "planted 25% twin detected (or a decided difference)"),
        n_samples=int(used), summary=summary,
        details={"instances": [{k: (v.tolist() if isinstance(v, np.ndarray) else
                                    {m: (w.tolist() if isinstance(w, np.ndarray) else w) for m, w in v.items()}
                                    if isinstance(v, dict) else v) for k, v in r.items()} for r in main],
                 "interval_level": level, "interval_decisions": k_dec, "target_fractions": list(TARGET_FRACTIONS)},
        instances=[o == "faster" for o, u in zip(outcomes, usable) if u] or [False],
        sensitivity=sensitivity,
        measurements={"target_fractions": np.array(TARGET_FRACTIONS),
                      "median_mopg": np.array([r["median_mopg"] for r in main]),
                      "median_vr": np.array([r["median_vr"] for r in main]),
                      "log_ratio": np.array([r["log_ratio"] for r in main], dtype=float),
                      "outcomes": outcomes},
    )


def _draw(m: dict, figure_dir: str) -> str:
    """Median trajectories to an ε-optimal policy per instance (both methods), and the decided log ratios."""
    fig, (a1, a2) = new_figure(ID, "trajectories to F* − F ≤ ε: plug-in MOPG vs variance-reduced MO-TSIVR-PG",
                               ncols=2, width=4.6)
    x = np.asarray(m["target_fractions"], dtype=float)
    for i, (ma, mb) in enumerate(zip(m["median_mopg"], m["median_vr"])):
        ok_a, ok_b = np.isfinite(ma), np.isfinite(mb)
        a1.loglog(x[ok_a], ma[ok_a], "o-", color="C0", lw=0.8, ms=3, label=LABELS["mopg"] if i == 0 else None)
        a1.loglog(x[ok_b], mb[ok_b], "s--", color="C1", lw=0.8, ms=3, label=LABELS["mo_tsivr_pg"] if i == 0 else None)
    a1.invert_xaxis()
    a1.set_xlabel("ε / (F* − F(θ₀))")
    a1.set_ylabel("median trajectories to reach ε")
    a1.legend(fontsize=6)
    lr = np.asarray(m["log_ratio"], dtype=float)
    for i, (p, lo, hi) in enumerate(lr):
        if np.isfinite(p):
            a2.errorbar([i], [p], yerr=[[p - lo], [hi - p]], fmt="o", ms=3, color="C2")
        a2.annotate(str(m["outcomes"][i]), (i, 0), fontsize=5, rotation=90, va="bottom")
    a2.axhline(0.0, color="k", lw=0.8)
    a2.set_xlabel("instance")
    a2.set_ylabel("log(median N MOPG / median N VR) at the decision target")
    return save_figure(fig, figure_dir, ID)


register_claim(Claim(
    id=ID, paper="Variance Reduced Policy Gradient Method for Multi-Objective Reinforcement Learning", seed_line=153,
    draw=_draw, figure_family="rates",
    claim="variance reduction reduces the sample complexity of multi-objective policy gradients with a non-linear "
          "scalarisation",
    theme="VR", exact="tabular two-channel MDPs: J_i, ∇J_i, ∇F = Σ ∂_i f ∇J_i exact; max F by an occupancy program",
    monte_carlo="batched runs of MOPG and the corrected MO-TSIVR-PG, each tuned on separate seeds",
    test=("per instance, at the smallest gap target both methods reach (≤ 0.03 of the initial gap): the interval of log(median N MOPG "
          "/ median N VR) > 0 (faster); confirmed when faster on ≥ 80% of ≥ 3 usable instances and slower on none"),
    scales={"quick": {"instances": 2, "tune_runs": 8, "eval_runs": 24, "budget": 8000, "checkpoints": 60,
                      "sensitivity_instances": 0},
            "full": {"instances": 10, "tune_runs": 24, "eval_runs": 384, "budget": 20000, "checkpoints": 200,
                     "sensitivity_instances": 3}},
    run=run, source=("Guidobene, Benedetti & Arapovic 2025 (abstract; algorithms from the authors' code at 5906955, "
                     "three defects corrected); TSIVR-PG: Zhang, Ni, Yu, Szepesvári & Wang 2021 (abstract)"),
    kind="empirical",
    quote=("we address the issue of sample efficiency by implementing variance-reduction techniques to reduce the sample "
           "complexity of policy gradients while maintaining general assumptions"),
    quote_source="seed abstract (line 153); the body was not reachable",
    extension=False, unbiasedness=False,
    constants={"scalarisation": ["soft_min", "nash_welfare"], "truncation_delta": [0.3, 1.0]},
))
