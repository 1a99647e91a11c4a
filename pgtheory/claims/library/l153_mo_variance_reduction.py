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

Reading of the sentence tested, and why the ledger cannot decide it: "reduce the sample complexity" is a statement
about worst-case sample-complexity *bounds* of the algorithm under the paper's assumptions; no finite run on chosen
instances can confirm or refute a bound (as for L67, L43 and L139). The claim therefore tests an *extension* — on a
family of small two-channel MDPs, with exact ground truth, does the corrected variance-reduced method need fewer
trajectories than the plain plug-in method to reach an ε-optimal policy of F(θ) = f(J(θ)), at the smallest ε the
budget allows? — and its ``quote_verdict`` is always "inconclusive", so the ledger shows inconclusive and the
extension's verdict is the raw verdict. What is tested is *our* corrected reconstruction of MO-TSIVR-PG (TSIVR-PG for
f∘J with separate batches for J and the direction, full-trajectory importance weights, the projection Π), neither the
paper's pseudo-code (unread) nor the authors' implementation; both methods use plain truncated ascent (the authors'
experiments use Adam). Optimality, not stationarity: near a deterministic policy the softmax gradient vanishes whether
or not that policy is good, so ‖∇F‖ ≤ ε is reached fastest by the largest steps, which lock the policy into a wrong
corner (seen on development seeds). F* is exact (an occupancy program, :func:`~pgtheory.exact.scalarised_optimum`;
a referee's Frank–Wolfe certificate put it within 2.6e-7 of the maximum on the full-scale instances, whose smallest
target is 5.75e-4).

Design (version 3, 2026-12-01). Version 1 was audited by a referee and never run at full scale (its development runs
used the quick seeds only). Version 2 answered that audit; its full run on seed 9 was started and stopped unseen (its
output deleted without being read) when a second referee audit found that an instance where only one method reached
the decision target counted as undecided instead of decided against the other — which the development table
predicted would be the common case. Version 3 (below) decides such one-sided instances, counts "not faster on every
decided instance" as a failure of the extension, treats a NaN gap as never reached, and corrects the docstring's
account of the development tuning. Limitations the second audit raised and that remain: the VR configuration was
chosen at 0.1 of the initial gap (no configuration of either grid reached 0.03 on both development instances for
MO-TSIVR-PG; MOPG's did), on 16 runs of two instances; the one-step grid extension left MO-TSIVR-PG's choice on the
extended edge (the smaller loop) and did not combine improving extensions.

* Instances: Garnets with S = 4, A = 2, branching 2, γ = 0.7; two reward channels in partial conflict,
  r₁ ~ U[0, 1]^{S×A} and r₂ = 0.7 (1 − r₁) + 0.3 U' (version 1's independent channels gave deterministic optima on
  two thirds of the instances, where the non-linear scalarisation hardly matters; r₂ = 1 − r₁ makes J₁ + J₂
  constant); f = soft-min with β = 4; θ₀ ~ 0.5·N(0, I), redrawn until ‖∇F(θ₀)‖ ≥ 0.1. Whether π* is stochastic (some
  state with max_a π*(a|s) < 0.99) is recorded per instance, and outcomes are reported by that stratum.
* One configuration per method for the whole family (what a user would do), chosen on development instances (the
  two instances of run seed 0; 16 runs; budget 20 000 trajectories) by the rule of :func:`choose_configs` (the finest
  target whose mean-gap passage N̄ is within the budget on both instances, then the smallest geometric mean of N̄),
  from equal step
  rules: both use the truncated step θ + min(η, δ/‖d‖) d (TSIVR-PG's; version 1 truncated only MO-TSIVR-PG, and
  truncation alone changed MOPG's reach on development instances), η ∈ {1, 10}, δ ∈ {0.03, 0.1, 0.3, 1}; MOPG batch
  n ∈ {8, 32, 128} (n for Ĵ and n for ∇̂J), MO-TSIVR-PG (N, B, epoch) ∈ {(32, 4, 8), (128, 8, 16)}. A chosen value at the
  edge of its grid extends the grid by one step in that direction (pre-registered; done during development). The
  choices are :data:`CONFIGS` (the development table: experiments/l153_development_tuning.json).
* Targets ε_j = (F* − F(θ₀)) × (0.3, 0.1, 0.03, 0.01). The measure is the sample-complexity quantity itself: the mean
  gap over the evaluation runs, ḡ(n) = mean_r [F* − F(θ_r after n trajectories)] (each method's runs share their
  trajectory counts), and N̄(ε) = the trajectories after which ḡ stays ≤ ε to the end of the budget (last exit, so a
  curve that dips below ε and comes back does not count; version 1's first passage of a median tolerated up to 49% of
  runs locked in a wrong corner). A curve still above ε at the budget is censored at the budget — a lower bound
  for that method's N̄ (its point estimate understates the other method's advantage; see the interval's caveat
  below).
* Decide per instance at the finest target (0.01, else 0.03 of the initial gap) that at least one method's
  full-sample curve reaches within the budget (none: the instance is undecided — a coarse target says nothing about
  sample complexity). There L = log(N̄_MOPG / N̄_VR), with a bootstrap over runs (each method's runs resampled
  independently; censored replicates kept at the budget; the 95% percentile interval widened to level 1 − α/k by the
  normal approximation, k = the interval decisions), gives *faster* (interval > 0), *slower* (< 0), *equivalent*
  (inside ±log 1.5: the methods within a factor 1.5; a bound chosen as what 512 runs can resolve at this spread, so
  "equivalent" reads "no difference beyond a factor 1.5", not "no difference") or *undecided*. When only one method
  reaches the target (one-sided: the other is censored at the budget), L is a bound in the reaching method's favour
  and only a direction can be decided (an "equivalent" there is undecided). Censored bootstrap replicates pile at the
  budget, which narrows the interval; this is a known approximation of the rule (a referee's synthetic null: ±0.80
  against ±1.30 when the same runs are observed past the budget), reported, not corrected.
* Verdict of the extension: inconclusive when fewer than half of the instances are decided; confirmed when the VR
  method is faster on ≥ 80% of *all* instances and slower on none; refuted when not faster (slower or equivalent) on
  more than half of all instances or on every decided one; qualified otherwise (faster on some, not on others). As
  the quoted sentence stays undecided, the ledger shows inconclusive whatever this verdict is (the protocol's note
  says whether the extension held, held in part or failed).
* Sensitivity (full scale, first three instances, the family configurations unchanged): β ∈ {2, 8} and both methods'
  truncation δ × 3 and ÷ 3. A point is a flip when a decided outcome on one of those instances changes (faster ↔ slower
  or equivalent); a flip qualifies a confirmed verdict.
* Reported beside (not judged): each method's first-passage median of N per target (version 1's statistic), the
  exponent of N̄(ε) ∝ ε^{-p} over the targets both reach, and a power reading: MOPG's runs against themselves with the
  trajectory axis divided by 2 (a method twice as fast with MOPG's noise, beyond the equivalence margin), decided by
  the same interval.
* Scale: quick (2 instances, 32 evaluation runs, budget 8 000) is a smoke test and is expected to be inconclusive;
  full: 10 instances, 512 evaluation runs per method and instance, 128 for the sensitivity points (which can only
  flip decided outcomes), budget 20 000; k = 10 + 4 × 3 = 22 interval decisions.
"""
from __future__ import annotations

import json
import math
from types import SimpleNamespace

import numpy as np
import torch

from ...exact import objective_vector, scalarised_gradient, scalarised_optimum
from ...optim import make_algorithm, run as run_optimiser
from ...policies import TabularSoftmax
from ...problems import MultiObjectiveMDP, ScalarisedMDP, garnet, make_scalarisation
from ...stats import first_passage, normal_interval
from ..record import Claim, Evidence, RunContext, sweep_point
from ..registry import register_claim
from ..style import new_figure, save_figure

ID = "L153-mo-variance-reduction"
S, A, BRANCHING, DISCOUNT = 4, 2, 2, 0.7
CONFLICT = 0.7  #: r₂ = CONFLICT·(1 − r₁) + (1 − CONFLICT)·U'
TARGET_FRACTIONS = (0.3, 0.1, 0.03, 0.01)
EQUIVALENCE = math.log(1.5)  #: methods within a factor 1.5 of each other's trajectories are "equivalent"
PLANTED = 2.0  #: the power reading: MOPG against itself made twice as fast (beyond the equivalence margin)
MIN_FRACTION = 0.8
MIN_GRAD0 = 0.1  #: θ₀ is redrawn until ‖∇F(θ₀)‖ ≥ this (not already near-stationary)
STOCHASTIC = 0.99  #: π* is "stochastic" when some state has max_a π*(a|s) below this
METHODS = ("mopg", "mo_tsivr_pg")
LABELS = {"mopg": "MOPG (plug-in)", "mo_tsivr_pg": "MO-TSIVR-PG (variance-reduced, corrected)"}
BETA = 4.0
#: the family configurations: :func:`choose_configs` of the development tuning (experiments/l153_development_tuning.py
#: and its committed output; a test checks that these are its choice). On the development instances MOPG reached 0.03
#: of the initial gap on both (N̄ = 19 008 and 4 864 trajectories), MO-TSIVR-PG only 0.1 (11 344 and 2 064). The
#: MO-TSIVR-PG choice sits at the extended edge (the smaller loop (16, 2, 4) won the one-step extension); as
#: pre-registered the grid was extended once, not again. MOPG's η = 10 and its extension η = 30 tie (the truncation
#: binds), and the grid value is kept.
CONFIGS = {"mopg": dict(step_size=10.0, objective_batch=32, batch_size=32, max_step=0.1),
           "mo_tsivr_pg": dict(step_size=1.0, big_batch=16, batch_size=2, epoch_length=4, max_step=0.03)}


def _instances(n: int, seed: int) -> list[tuple[MultiObjectiveMDP, torch.Tensor, int]]:
    rng = np.random.default_rng(seed)
    f = make_scalarisation("soft_min", temperature=BETA)
    pol = TabularSoftmax(S, A)
    out: list = []
    while len(out) < n:
        mdp = garnet(S, A, BRANCHING, discount=DISCOUNT, seed=int(rng.integers(2 ** 31)))
        r1 = torch.from_numpy(rng.random((S, A)))
        r2 = CONFLICT * (1 - r1) + (1 - CONFLICT) * torch.from_numpy(rng.random((S, A)))
        mo = MultiObjectiveMDP.from_rewards(mdp, torch.stack([r1, r2]))
        for _ in range(100):  # start away from stationarity: ‖∇F(θ₀)‖ ≥ MIN_GRAD0
            theta0 = 0.5 * torch.from_numpy(rng.standard_normal((S, A)))
            if float(scalarised_gradient(mo, f, pol, theta0).norm()) >= MIN_GRAD0:
                out.append((mo, theta0, int(rng.integers(2 ** 40))))
                break
    return out


def choose_configs(tuning: dict) -> dict[str, dict]:
    """The family configuration of each method from a development table (``{"budget": B, "table": {"<method> <json
    config>": N̄ [instances][targets]}}``): the finest target whose N̄ is within the budget on every development
    instance, then the smallest geometric mean of N̄ there; the first in table order on a tie."""
    best: dict[str, tuple] = {}
    for key, Ns in tuning["table"].items():
        method, cfg = key.split(" ", 1)
        N = np.asarray(Ns, dtype=float)
        ok = (N < tuning["budget"]).all(0)
        if not ok.any():
            continue
        j = int(np.flatnonzero(ok).max())
        score = (j, -float(np.exp(np.log(N[:, j]).mean())))
        if method not in best or score > best[method][0]:
            best[method] = (score, json.loads(cfg))
    return {m: c for m, (_, c) in best.items()}


def per_iteration(method: str, c: dict) -> float:
    """Mean trajectories per iteration (to size a run to the budget)."""
    if method == "mopg":
        return c["objective_batch"] + c["batch_size"]
    m = c["epoch_length"]
    return (2 * c["big_batch"] + (m - 1) * 2 * c["batch_size"]) / m


def gap_runs(problem: ScalarisedMDP, method: str, c: dict, theta0, seeds, budget: int, checkpoints: int, device):
    """(trajectories ``[K]``, gaps ``[R, K]``, first passages are computed from these): F* − F(θ) of each run at K
    log-spaced checkpoints over a run sized to ``budget`` trajectories; checkpoints beyond the budget are dropped."""
    T = max(2, math.ceil(budget / per_iteration(method, c)))
    tr = run_optimiser(problem, make_algorithm(method, **c), theta0, seeds=seeds, n_iterations=T,
                       n_checkpoints=checkpoints, device=device)
    n = tr.trajectories
    if not (n == n[:1]).all():
        raise RuntimeError(f"{method}: runs did not consume the same trajectories at the checkpoints")
    keep = n[0] <= budget
    return n[0][keep].astype(float), np.maximum(tr.optimum - tr.objective, 0.0)[:, keep]


def last_exit(n: np.ndarray, curves: np.ndarray, targets: np.ndarray, budget: float) -> np.ndarray:
    """N̄(ε_j) for each curve: the first checkpoint after which the curve stays ≤ ε_j to the end; ``budget`` when it
    ends above ε_j (censored). ``curves [..., K]``, returns ``[..., E]``. A NaN point (a run the harness froze) counts
    as above: it is never "reached"."""
    above = ~(curves[..., None, :] <= targets[:, None])  # [..., E, K]
    K = curves.shape[-1]
    last_above = np.where(above.any(-1), K - 1 - np.argmax(above[..., ::-1], -1), -1)  # [..., E]
    idx = np.minimum(last_above + 1, K - 1)
    out = n[idx]
    return np.where(last_above + 1 >= K, budget, np.where(last_above < 0, n[0], out))


def passage_interval(n_a, gaps_a, n_b, gaps_b, target: float, budget: float, level: float, rng, n_boot: int = 2000):
    """(L, lo, hi): L = log(N̄_a / N̄_b) at ``target`` with its interval at ``level`` (a bootstrap over each method's
    runs, censored replicates kept at the budget, the 95% percentile interval widened by the normal approximation)."""
    t = np.array([target])

    def point(n, g):
        return float(last_exit(n, g.mean(0), t, budget)[0])

    def reps(n, g):
        R = g.shape[0]
        W = rng.multinomial(R, np.full(R, 1.0 / R), size=n_boot) / R  # bootstrap weights [B, R]
        return last_exit(n, W @ g, t, budget)[:, 0]

    L = math.log(point(n_a, gaps_a) / point(n_b, gaps_b))
    boot = np.log(reps(n_a, gaps_a) / reps(n_b, gaps_b))
    lo95, hi95 = np.percentile(boot, [2.5, 97.5])
    fit = SimpleNamespace(slope=L, ci_low=float(lo95), ci_high=float(hi95), confidence_level=0.95)  # what it reads
    lo, hi = normal_interval(fit, level)
    return L, lo, hi


def outcome(L: float, lo: float, hi: float) -> str:
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return "undecided"
    if lo > 0:
        return "faster"
    if hi < 0:
        return "slower"
    if -EQUIVALENCE < lo and hi < EQUIVALENCE:
        return "equivalent"
    return "undecided"


def compare(curves: dict, targets: np.ndarray, budget: float, level: float, rng) -> dict:
    """One instance's decision (module docstring) from each method's (trajectories, gaps) on its evaluation runs."""
    (n_a, g_a), (n_b, g_b) = curves["mopg"], curves["mo_tsivr_pg"]
    Na = last_exit(n_a, g_a.mean(0), targets, budget)
    Nb = last_exit(n_b, g_b.mean(0), targets, budget)
    out = {"mean_passage_mopg": Na, "mean_passage_vr": Nb, "decision_target": None, "outcome": "undecided",
           "log_ratio": [math.nan] * 3, "power_twin": "undecided", "one_sided": False}
    reached = [j for j in (3, 2) if Na[j] < budget or Nb[j] < budget]
    if not reached:
        return out
    j = reached[0]
    out["decision_target"] = j
    out["one_sided"] = bool(Na[j] >= budget or Nb[j] >= budget)
    out["log_ratio"] = list(passage_interval(n_a, g_a, n_b, g_b, targets[j], budget, level, rng))
    res = outcome(*out["log_ratio"])
    # one method censored at the budget: the ratio is a bound, so only a direction can be decided, not an equivalence
    out["outcome"] = "undecided" if out["one_sided"] and res == "equivalent" else res
    out["power_twin"] = outcome(*passage_interval(n_a, g_a, n_a / PLANTED, g_a, targets[j], budget, level, rng))
    return out


def verdict_of(outcomes: list[str]) -> str:
    """The extension's verdict from the per-instance outcomes (module docstring): inconclusive when fewer than half are
    decided; confirmed when faster on ≥ 80% of all and slower on none; refuted when not faster (slower, or equivalent:
    within a factor 1.5) on more than half, or on every decided instance; qualified otherwise (faster on some
    instances and not on others)."""
    n = len(outcomes)
    decided = [o for o in outcomes if o in ("faster", "slower", "equivalent")]
    if len(decided) < n / 2:
        return "inconclusive"
    faster = outcomes.count("faster")
    not_faster = outcomes.count("slower") + outcomes.count("equivalent")
    if outcomes.count("slower") == 0 and faster >= MIN_FRACTION * n:
        return "confirmed"
    if not_faster > n / 2 or faster == 0:
        return "refuted"
    return "qualified"


def _exponent(N: np.ndarray, targets: np.ndarray, ok: np.ndarray) -> float:
    """OLS slope of log N̄ on log(1/ε) over the targets in ``ok`` (NaN with fewer than two)."""
    if ok.sum() < 2:
        return math.nan
    return float(np.polyfit(np.log(1 / targets[ok]), np.log(N[ok]), 1)[0])


def _stochastic_optimum(mo: MultiObjectiveMDP, f) -> bool:
    return bool((scalarised_optimum(mo, f)[1].max(-1).values < STOCHASTIC).any())


def _one_setting(ctx: RunContext, insts, beta: float, delta_factor: float, runs: int, level: float, tag: int):
    s = ctx.settings
    results, used = [], 0
    f = make_scalarisation("soft_min", temperature=beta)
    for i, (mo, theta0, base) in enumerate(insts):
        problem = ScalarisedMDP(mo, f)
        F_star, _ = scalarised_optimum(mo, f)
        gap0 = F_star - float(f(objective_vector(mo, torch.softmax(theta0, -1))))
        targets = gap0 * np.array(TARGET_FRACTIONS)
        curves, medians = {}, {}
        for k, method in enumerate(METHODS):
            c = dict(CONFIGS[method], max_step=CONFIGS[method]["max_step"] * delta_factor)
            seeds = range(base + 1_000_000 * tag + 10_000 * k, base + 1_000_000 * tag + 10_000 * k + runs)
            n, g = gap_runs(problem, method, c, theta0, seeds, s["budget"], s["checkpoints"], ctx.device)
            curves[method] = (n, g)
            used += int(n[-1]) * runs
            first = first_passage(np.broadcast_to(n, g.shape), g, targets)
            with np.errstate(invalid="ignore"):
                medians[method] = np.where(np.isfinite(first).mean(0) > 0.5, np.median(first, 0), np.inf)
        rng = np.random.default_rng(ctx.seed + 7919 * tag + i)
        res = compare(curves, targets, s["budget"], level, rng)
        ok = (res["mean_passage_mopg"] < s["budget"]) & (res["mean_passage_vr"] < s["budget"])
        res.update(targets=targets, gap0=gap0, optimum=F_star, stochastic_optimum=_stochastic_optimum(mo, f),
                   first_passage_median={m: medians[m] for m in METHODS},
                   exponent={"mopg": _exponent(res["mean_passage_mopg"], targets, ok),
                             "mo_tsivr_pg": _exponent(res["mean_passage_vr"], targets, ok)},
                   mean_gap={m: (curves[m][0], curves[m][1].mean(0)) for m in METHODS})
        results.append(res)
    return results, used


def _jsonable(x):
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, dict):
        return {k: _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    return x


def run(ctx: RunContext) -> Evidence:
    s = ctx.settings
    insts = _instances(s["instances"], ctx.seed)
    swept = min(s["sensitivity_instances"], len(insts))
    points = [("beta", 2.0, 2.0, 1.0), ("beta", 8.0, 8.0, 1.0), ("truncation_factor", 3.0, BETA, 3.0),
              ("truncation_factor", 1 / 3, BETA, 1 / 3)] if swept else []
    k_dec = len(insts) + len(points) * swept
    level = 1 - ctx.alpha / k_dec
    main, used = _one_setting(ctx, insts, BETA, 1.0, s["eval_runs"], level, 0)
    outcomes = [r["outcome"] for r in main]
    verdict = verdict_of(outcomes)
    sensitivity = []
    for tag, (name, value, beta, factor) in enumerate(points, start=1):
        res, u = _one_setting(ctx, insts[:swept], beta, factor, s["sensitivity_runs"], level, tag)
        used += u
        got = [r["outcome"] for r in res]
        flips = [i for i, (a, b) in enumerate(zip(outcomes[:swept], got))
                 if {a, b} & {"faster"} and {a, b} & {"slower", "equivalent"}]
        v = "qualified" if flips and verdict == "confirmed" else verdict
        sensitivity.append(sweep_point(name, value, v, outcomes=got, flipped_instances=flips, instances_swept=swept,
                                       instances=len(res)))
        if flips and verdict == "confirmed":
            verdict = "qualified"
    strat = {kind: [o for o, r in zip(outcomes, main) if r["stochastic_optimum"] == flag]
             for kind, flag in (("stochastic", True), ("deterministic", False))}
    ratios = [r["log_ratio"][0] for r in main]
    summary = (f"extension (the sentence is about complexity bounds: undecidable by a finite run): {len(insts)} "
               f"two-channel Garnets (S={S}, A={A}, γ={DISCOUNT}), soft-min β={BETA:g}, one configuration per method "
               f"for the family; mean-gap passage N̄ at the finest target either reaches, {s['eval_runs']} runs each, budget "
               f"{s['budget']}: VR vs MOPG {outcomes} (log N̄ ratios "
               f"{[round(x, 2) if np.isfinite(x) else None for x in ratios]}); by optimum: stochastic {strat['stochastic']}, "
               f"deterministic {strat['deterministic']}; power reading (MOPG vs itself twice as fast): "
               f"{[r['power_twin'] for r in main]}")
    return Evidence(
        verdict=verdict, statistic=float(np.nanmedian(ratios)) if np.isfinite(ratios).any() else math.nan,
        threshold=(f"extension: log(N̄_MOPG/N̄_VR) interval at level {level:.6f} > 0 on ≥ {MIN_FRACTION:.0%} of all "
                   "instances and < 0 on none (confirmed); slower or within ±log 1.5 on more than half, or on every decided "
                   "instance (refuted); fewer than half decided: inconclusive. The ledger shows inconclusive whatever "
                   "this gives (quote_verdict inconclusive: a bound)"),
        n_samples=int(used), summary=summary,
        details={"instances": [_jsonable({k: v for k, v in r.items() if k != "mean_gap"}) for r in main],
                 "interval_level": level, "interval_decisions": k_dec, "target_fractions": list(TARGET_FRACTIONS),
                 "configs": CONFIGS},
        instances=[o == "faster" for o in outcomes],
        sensitivity=sensitivity, quote_verdict="inconclusive",
        measurements={"target_fractions": np.array(TARGET_FRACTIONS),
                      "passage_mopg": np.array([r["mean_passage_mopg"] for r in main]),
                      "passage_vr": np.array([r["mean_passage_vr"] for r in main]),
                      "budget": float(s["budget"]),
                      "log_ratio": np.array([r["log_ratio"] for r in main], dtype=float),
                      "outcomes": outcomes,
                      "curve0": {m: {"trajectories": main[0]["mean_gap"][m][0],
                                     "mean_gap": main[0]["mean_gap"][m][1] / main[0]["gap0"]} for m in METHODS}},
    )


def _draw(m: dict, figure_dir: str) -> str:
    """Instance 0's mean gap curves, and per instance the decided log ratio of the mean-gap passages."""
    fig, (a1, a2) = new_figure(ID, "trajectories to a mean gap F* − F ≤ ε: plug-in MOPG vs variance-reduced MO-TSIVR-PG",
                               ncols=2, width=4.6)
    for k, meth in enumerate(METHODS):
        c = m["curve0"][meth]
        pos = np.asarray(c["mean_gap"]) > 0
        a1.loglog(np.asarray(c["trajectories"])[pos], np.asarray(c["mean_gap"])[pos], color=f"C{k}", lw=1,
                  label=LABELS[meth])
    for fr in m["target_fractions"]:
        a1.axhline(fr, color="0.6", lw=0.5, ls=":")
    a1.set_xlabel("trajectories")
    a1.set_ylabel("mean (F* − F) / initial gap (instance 0)")
    a1.legend(fontsize=6)
    lr = np.asarray(m["log_ratio"], dtype=float)
    for i, (p, lo, hi) in enumerate(lr):
        if np.isfinite(p):
            a2.errorbar([i], [p], yerr=[[p - lo], [hi - p]], fmt="o", ms=3, color="C2")
        a2.annotate(str(m["outcomes"][i]), (i, 0), fontsize=5, rotation=90, va="bottom")
    a2.axhline(0.0, color="k", lw=0.8)
    a2.axhspan(-EQUIVALENCE, EQUIVALENCE, color="0.9")
    a2.set_xlabel("instance")
    a2.set_ylabel("log(N̄ MOPG / N̄ VR) at the decision target")
    return save_figure(fig, figure_dir, ID)


register_claim(Claim(
    id=ID, paper="Variance Reduced Policy Gradient Method for Multi-Objective Reinforcement Learning", seed_line=153,
    draw=_draw, figure_family="rates",
    claim="variance reduction reduces the sample complexity of multi-objective policy gradients with a non-linear "
          "scalarisation",
    theme="VR", exact="tabular two-channel MDPs: J_i, ∇J_i, ∇F = Σ ∂_i f ∇J_i exact; max F by an occupancy program",
    monte_carlo="batched runs of MOPG and the corrected MO-TSIVR-PG, one configuration per method for the family",
    test=("extension: per instance, at the finest gap target (0.01 or 0.03 of the initial gap) that at least one "
          "method's mean-gap curve reaches, the interval of log(N̄ MOPG / N̄ VR) > 0 (faster); confirmed when faster on "
          "≥ 80% of the instances and slower on none; the sentence itself (a complexity bound) stays undecided"),
    scales={"quick": {"instances": 2, "eval_runs": 32, "sensitivity_runs": 16, "budget": 8000, "checkpoints": 60,
                      "sensitivity_instances": 0},
            "full": {"instances": 10, "eval_runs": 512, "sensitivity_runs": 128, "budget": 20000, "checkpoints": 200,
                     "sensitivity_instances": 3}},
    run=run, source=("Guidobene, Benedetti & Arapovic 2025 (abstract; algorithms from the authors' code at 5906955, "
                     "three defects corrected); TSIVR-PG: Zhang, Ni, Yu, Szepesvári & Wang 2021 (abstract)"),
    kind="empirical",
    reading="our-criterion",
    reading_note=("A bound \"no finite run on chosen instances can confirm or refute\"; \"What is tested is our corrected reconstruction of MO-TSIVR-PG\"; body \"could not be read\". Not in seed-10 ledger."),
    quote=("we address the issue of sample efficiency by implementing variance-reduction techniques to reduce the sample "
           "complexity of policy gradients while maintaining general assumptions"),
    quote_source="seed abstract (line 153); the body was not reachable",
    extension=True, unbiasedness=False,
    constants={"beta": [2.0, 8.0], "truncation_factor": [1 / 3, 3.0]},
))
