r"""L139 (Best of Both Worlds Policy Optimization, Dann, Wei & Zimmert, ICML 2023): "one can achieve a more favorable
polylog(T) regret when the losses are stochastic, without sacrificing the worst-case guarantee in the adversarial
regime" — checked on the one-state special case, the K-armed bandit, with Tsallis-INF.

Protocol: kind=asymptotic, extension=True, quote_verdict="inconclusive". The paper is about policy optimisation in
tabular episodic MDPs with a designed regulariser, exploration bonus and learning rates; what is run here is the
bandit (one state, horizon 1) with Tsallis-INF (½-Tsallis FTRL, importance-weighted losses, η_t = 2/√t; Zimmert &
Seldin, JMLR 2021, not in the seed), which CLAIMS.md names as the bandit case of the paper's Tsallis variant. It is a
stand-in: holding on it is a necessary condition, not evidence for the MDP algorithm, and a failure would not refute
the paper's algorithm (not implemented), so the quoted sentence stays undecided whatever happens here.

Definitions, and what was verified. The abstract was read in the paper's arXiv text (2302.09408): the scraped "proving
T regret bounds" of the seed is "√T regret bounds". The body beyond the introduction could not be read (search
returns only the opening of the stored text): the paper's per-state regulariser, bonus and learning-rate schedule, and
whether its one-state case is exactly Tsallis-INF, are NOT verified. Tsallis-INF's form w_i = 4(η_t(L̂_i − x))⁻² and
η_t = 2/√t for importance-weighted estimates (Theorem 1, pseudo-regret ≤ 4√(KT) + 1 against any oblivious sequence)
were checked against public implementations' docstrings (SMPyBandits, a JAX implementation citing Theorem 1).

Design (fixed before running; constants below):
- Environments (Bernoulli losses, oblivious), per arm count K and R independent runs each, all batched in torch:
  (a) stochastic: arm 0 has mean loss b, the others b + Δ (b ~ U(0.1, 0.5) per instance, drawn from the run seed), for
      each gap Δ in ``gaps``; (b) stochastically constrained adversarial (Wei & Luo): means m_t + Δ_SC·1[i ≠ 0] with
      m_t alternating between 0.1 and 0.6 in phases of doubling length (gaps constant, levels adversarial);
  (c) the minimax-hard stochastic instance for horizon T_j, gap ½√(K/T_j) (T_j = T/4^j, j = 0..3);
  (d) the adversarial levels of (b) with the minimax gap of (c) (a non-i.i.d. sequence at the hard gap).
- Measured: the pseudo-regret Σ_t ⟨w_t, μ_t⟩ − min_i Σ_t μ_{t,i} (an unbiased per-run estimate of the expected
  pseudo-regret, which the theorems bound) at geometric checkpoints.
- Rule (stochastic half, "polylog(T)"): per instance of (a)/(b), the growth of regret per unit ln T between checkpoints,
  G_T = ΔR/Δln T (``regret_increments``; per run, ≥ 0), and the tail slope s of log E[G_T] against log T over the last
  decade (``stats.mean_tail_slope``; run bootstrap); the instance is *in its regime* when the two half-decade
  slopes agree (the mean_tail_slope gate, tolerance 0.15) and the tail starts after the burn-in T ≥ GATE_C·K/Δ² (below
  it the suboptimal arms still hold ≥ 1/K of the mass and regret grows linearly). It holds when the upper end of
  s ± z·se (se from the bootstrap interval, z for the per-decision level, see below) is < SLOPE_MAX, fails when the
  lower end is > SLOPE_MAX. Polylog vs √T at finite T is a slope comparison: G_T is constant for R = a ln T + b (slope
  0), grows like (ln T)^{k−1} for log^k T (slope (k−1)/ln T: ≤ 0.15 for log²T, ≤ 0.29 for log³T when T ≥ 10³) and like
  √T for √T regret (slope 0.5); SLOPE_MAX = 0.35 lies between log³T and √T.
  Twins: the same data tilted by T^0.5 (a planted √T growth at the measured noise; must fail) and the hard family (c),
  whose gap shrinks with the horizon — it violates the fixed-gap assumption of the gap-dependent bound — and whose
  regret at T_j must grow with slope > SLOPE_MAX across j (``stats.fit_rate``; power checks, each at the level of the
  decisions it vouches for, see the revision of 2026-12-01 below).
- Rule (worst-case half, "without sacrificing the worst-case guarantee"): on (c) and (d) at each T_j, the mean over
  runs of R_{T_j}/(4√(K T_j) + 1) (Theorem 1's bound) has an upper confidence end ≤ 1 (holds), a lower end > 1 fails.
- Levels: the claim's α (RunContext.alpha) is split equally over all its decisions (Bonferroni); intervals are normal
  with the bootstrap (slopes) or sample (ratios) standard error, since percentile bootstraps cannot reach α ≈ 1e-5.
- Raw verdict: refuted if any decision fails; inconclusive if fewer than MIN_IN_REGIME of the stochastic instances are
  in their regime, a twin is not rejected, or a decision is undecided; confirmed otherwise. Per-instance outcomes:
  every stochastic instance (held) and every worst-case check (held). Sensitivity: the verdict restricted to each arm
  count K and each gap Δ (the declared ranges).
- Reported, not judged: regret per unit log T in the tail, times Δ/(K − 1) (the gap-dependent bound's shape ∝ (K−1)/Δ);
  the log-log slope of R_T itself over the tail with a 95% run-bootstrap interval (``stats.fit_rate``).
Revision (2026-12-01, during development on quick seeds, before any full run): the first rule took the slope of
log E[R_T] itself against log T; at T ≤ 4096 it read 0.28–0.39 on every stochastic instance because R_T ≈ a ln T − b
carries a negative burn-in offset b (local slope a/(a ln T − b), not 1/ln T) — the measured regret per ln T was
constant (≈ 21 for K = 4, Δ = 0.2) while the log-log slope of R was 0.39. The increment G_T removes the offset; the
threshold and its reason were restated for G_T (log³T rather than log²T as the largest polylog below it); G_T is taken
over one doubling of T (lag 4 on the grid: per-point increments were too noisy for any decision at 32 runs). Also
revised then: a switching adversary (arm 0 best in the first half, arm 1 after) was dropped from the worst-case family —
a learner that tracks the switch beats the best fixed arm, so its regret was negative and the check vacuous; (d) replaced it.
Not done: the MDP algorithm itself, the Shannon-entropy and log-barrier variants, first-order bounds.

Revision 2026-12-01 (multiplicity; referee of the paper draft; before the confirmatory run at seed 8): the decisions
(stochastic/constrained tail slopes, worst-case ratios) were already at 1 − ctx.alpha/k, k = n_decisions = Σ_K
(stochastic and constrained instances + 2·horizons) (2·(2 + 1 + 8) = 22 at quick, 3·(3 + 1 + 8) = 36 at full; the
sensitivity points are subsets of these decisions, not new intervals), and the T^0.5 tilt twin used the same z. The
hard-gap twin, the power check of the stochastic slope decisions, was judged with a 99% percentile interval (looser than
the decisions' level, so it overstated their power); it is now judged like them: slope − z·se > SLOPE_MAX with z at
1 − ctx.alpha/(2k) and se read off fit_rate's 95% bootstrap interval (TWIN_LEVEL removed).
"""
from __future__ import annotations

import numpy as np
import torch
from scipy.stats import norm

from ...optim.tsallis_inf import adversarial_regret_bound, tsallis_inf
from ...stats import fit_rate, mean_tail_slope, normal_interval
from ..record import Claim, Evidence, RunContext, sweep_point
from ..registry import register_claim
from ..style import new_figure, save_figure

ID = "L139-bobw-tsallis-inf"
SLOPE_MAX = 0.35  #: between log³T's increment slope (≤ 0.29 for T ≥ 10³) and √T's 0.5
GATE_C = 4.0  #: burn-in T ≥ GATE_C·K/Δ²: η_t·t·Δ = 2√t·Δ exceeds 2√K·√GATE_C, so each suboptimal weight is ≤ 1/(GATE_C·K)
GATE_TOL = 0.15  #: mean_tail_slope's two-half agreement tolerance (its default)
DECADES = 1.0  #: the tail over which slopes are measured
MIN_IN_REGIME = 0.8  #: fraction of stochastic instances that must be in their regime for a decision
DELTA_SC = 0.2  #: the gap of the stochastically constrained adversary
TWIN_TILT = 0.5  #: planted √T growth
QUOTE = ("one can achieve a more favorable polylog(T) regret when the losses are stochastic, without sacrificing the "
         "worst-case guarantee in the adversarial regime")


def _checkpoints(T: int) -> np.ndarray:
    """Rounds 2^(k/4) from 8 to T (T a power of 4, so every horizon T/4^j is on the grid)."""
    k = np.arange(12, int(round(4 * np.log2(T))) + 1)
    return np.unique(np.round(2.0 ** (k / 4)).astype(int))


def regret_increments(checkpoints, regret, lag: int = 4) -> tuple[np.ndarray, np.ndarray]:
    r"""Per-run growth of regret per unit ln T between checkpoints ``lag`` apart, ΔR/Δln T, at the geometric midpoints.

    ``checkpoints [C]``, ``regret [R, C]`` → ``(t_mid [C−lag], increments [R, C−lag])`` (lag 4 on the 2^(k/4) grid: one
    doubling of T; overlapping windows, so neighbouring increments are correlated — the run bootstrap accounts for it). For R_T = a·ln T + b the increments
    are a (log-log slope 0), for log²T they grow like ln T (slope 1/ln T), for √T like √T (slope ½): unlike the slope of
    log R itself they do not carry the burn-in offset b.
    """
    t = np.asarray(checkpoints, dtype=float)
    r = np.atleast_2d(np.asarray(regret, dtype=float))
    if t.ndim != 1 or r.shape[-1] != t.size or not 1 <= lag < t.size:
        raise ValueError(f"checkpoints, regret, lag: need [C], [R, C] and 1 ≤ lag < C, got {t.shape}, {r.shape}, {lag}")
    lt = np.log(t)
    return np.exp((lt[lag:] + lt[:-lag]) / 2), (r[:, lag:] - r[:, :-lag]) / (lt[lag:] - lt[:-lag])


def _environment(K: int, runs: int, T: int, gaps: list[float], rng: np.random.Generator):
    """Row blocks of one batch (all arms K): returns ``loss_means(t)`` and the block descriptions."""
    blocks, fixed = [], []
    for gap in gaps:
        b = float(rng.uniform(0.1, 0.5))
        mu = np.full(K, b + gap)
        mu[0] = b
        blocks.append({"kind": "stochastic", "gap": gap, "base": b})
        fixed.append(np.tile(mu, (runs, 1)))
    blocks.append({"kind": "constrained", "gap": DELTA_SC})
    horizons = [T // 4 ** j for j in range(4)]
    for Tj in horizons:
        gap = 0.5 * np.sqrt(K / Tj)
        mu = np.full(K, 0.5 + gap)
        mu[0] = 0.5
        blocks.append({"kind": "hard", "horizon": Tj, "gap": float(gap)})
        fixed.append(np.tile(mu, (runs, 1)))
    for Tj in horizons:
        blocks.append({"kind": "constrained-hard", "horizon": Tj, "gap": float(0.5 * np.sqrt(K / Tj))})
    fixed_t = torch.from_numpy(np.concatenate(fixed))  # stochastic + hard rows
    n_stoch = len(gaps) * runs
    sc_gap = torch.full((runs, K), DELTA_SC, dtype=torch.float64)
    sc_gap[:, 0] = 0.0
    hard_gap = torch.tensor([0.5 * np.sqrt(K / Tj) for Tj in horizons], dtype=torch.float64).repeat_interleave(runs)[:, None]
    hard_gap = hard_gap * (torch.arange(K) != 0).to(torch.float64)

    def loss_means(t: int) -> torch.Tensor:
        phase = int(np.floor(np.log2(t / 8 + 1)))  # phases of length 8, 16, 32, ...
        m = 0.1 if phase % 2 == 0 else 0.6
        return torch.cat([fixed_t[:n_stoch], m + sc_gap, fixed_t[n_stoch:], m + hard_gap])

    return loss_means, blocks, horizons


def _z(alpha: float) -> float:
    return float(norm.ppf(1 - alpha / 2))


def _measure(ctx: RunContext) -> dict:
    s = ctx.settings
    runs, T = s["runs"], s["horizon"]
    if T < 64 or 4 ** int(round(np.log(T) / np.log(4))) != T:
        raise ValueError(f"horizon: must be a power of 4 ≥ 64 (the horizons T/4^j lie on the checkpoint grid), got {T}")
    out = []
    for i, K in enumerate(s["arms"]):
        rng = np.random.default_rng(ctx.seed * 1000 + i)
        gen = torch.Generator().manual_seed(ctx.seed * 1000 + i)
        loss_means, blocks, horizons = _environment(K, runs, T, s["gaps"], rng)
        cps = _checkpoints(T)
        res = tsallis_inf(loss_means, T, cps, gen)
        reg = res.regret.reshape(len(blocks), runs, cps.size)
        out.append({"K": K, "blocks": blocks, "checkpoints": cps, "regret": reg, "horizons": horizons})
    return {"per_K": out, "runs": runs, "horizon": T}


def _decide(m: dict, alpha: float) -> dict:
    stoch, worst, twins = [], [], []
    n_dec = sum(sum(b["kind"] in ("stochastic", "constrained") for b in d["blocks"]) + 2 * len(d["horizons"])
                for d in m["per_K"])
    z, level = _z(alpha / n_dec), 1 - alpha / n_dec
    for d in m["per_K"]:
        K, cps, reg = d["K"], d["checkpoints"], d["regret"]
        tail = cps >= cps[-1] / 10 ** DECADES
        t_mid = regret_increments(cps, reg[0])[0]
        mid_tail = t_mid >= t_mid[-1] / 10 ** DECADES
        hard_at = []
        for b, r in zip(d["blocks"], reg):
            if b["kind"] in ("stochastic", "constrained"):
                vals = np.maximum(regret_increments(cps, r)[1], 1e-12)  # ≥ 0 by construction: ⟨w_t, Δ⟩ ≥ 0
                fit = mean_tail_slope(t_mid, vals, decades=DECADES, gate_tolerance=GATE_TOL, seed=K)
                lo, hi = normal_interval(fit, level)
                burn_in = GATE_C * K / b["gap"] ** 2
                in_regime = bool(fit.gated and t_mid[mid_tail][0] >= burn_in)
                outcome = None if not in_regime else (True if hi < SLOPE_MAX else (False if lo > SLOPE_MAX else None))
                tw = mean_tail_slope(t_mid, vals, decades=DECADES, gate_tolerance=GATE_TOL, seed=K, tilt=TWIN_TILT)
                raw = fit_rate(cps[tail], np.maximum(r[:, tail], 1e-12), seed=K)  # reported: slope of log R itself
                per_log = np.polyfit(np.log(cps[tail]), r.mean(0)[tail], 1)[0]  # regret per unit ln T in the tail
                stoch.append({"K": K, "kind": b["kind"], "gap": b["gap"], "slope": fit.slope, "interval": [lo, hi],
                              "gated": fit.gated, "tail_start": float(t_mid[mid_tail][0]), "burn_in": burn_in,
                              "in_regime": in_regime, "holds": outcome, "final_regret": float(r[:, -1].mean()),
                              "loglog_slope_regret": [raw.slope, raw.ci_low, raw.ci_high],
                              "regret_per_logT": float(per_log),
                              "normalised_per_logT": float(per_log * b["gap"] / (K - 1)),
                              "twin_tilt_rejected": bool(normal_interval(tw, level)[0] > SLOPE_MAX)})
            else:
                Tj = b["horizon"]
                j = int(np.searchsorted(cps, Tj))
                assert cps[j] == Tj, "the horizons lie on the checkpoint grid"
                ratio = r[:, j] / adversarial_regret_bound(K, Tj)
                mean, se = float(ratio.mean()), float(ratio.std(ddof=1) / np.sqrt(ratio.size))
                lo, hi = mean - z * se, mean + z * se
                worst.append({"K": K, "kind": b["kind"], "horizon": Tj, "ratio": mean, "interval": [lo, hi],
                              "regret": float(r[:, j].mean()),
                              "holds": True if hi <= 1 else (False if lo > 1 else None)})
                if b["kind"] == "hard":
                    hard_at.append(np.maximum(r[:, j], 1e-12))
        horizons = np.array([b["horizon"] for b in d["blocks"] if b["kind"] == "hard"], dtype=float)
        order = np.argsort(horizons)
        # the power check at the level of the decisions it vouches for (revision 2026-12-01; it was a 99% interval)
        fit = fit_rate(horizons[order], np.stack(hard_at, 1)[:, order], seed=K)
        lo, hi = normal_interval(fit, level)
        twins.append({"K": K, "name": "hard gap ½√(K/T) (violated fixed-gap assumption)", "slope": fit.slope,
                      "ci": [lo, hi], "ci_95_bootstrap": [fit.ci_low, fit.ci_high], "rejected": bool(lo > SLOPE_MAX)})
    return {"stochastic": stoch, "worst": worst, "twins": twins, "z": z, "n_decisions": n_dec}


def _subset_verdict(stoch: list, worst: list) -> str:
    outcomes = [x["holds"] for x in stoch] + [x["holds"] for x in worst]
    if any(o is False for o in outcomes):
        return "refuted"
    if any(o is None for o in outcomes) or not all(x["in_regime"] for x in stoch):
        return "inconclusive"
    return "confirmed"


def _verdict(dec: dict) -> str:
    stoch, worst = dec["stochastic"], dec["worst"]
    if any(x["holds"] is False for x in stoch + worst):
        return "refuted"
    frac = np.mean([x["in_regime"] for x in stoch])
    twins_ok = all(t["rejected"] for t in dec["twins"]) and all(x["twin_tilt_rejected"] for x in stoch if x["in_regime"])
    if frac < MIN_IN_REGIME or not twins_ok or any(x["holds"] is None for x in worst):
        return "inconclusive"
    if any(x["holds"] is None for x in stoch if x["in_regime"]):
        return "inconclusive"
    return "confirmed"


def _measurements(m: dict, dec: dict, verdict: str) -> dict:
    """What the figure is drawn from: mean regret curves, worst-case ratios, tail slopes with intervals, twin slopes."""
    curves = {}
    for d in m["per_K"]:
        rows = [(b, r) for b, r in zip(d["blocks"], d["regret"]) if b["kind"] in ("stochastic", "constrained")]
        curves[str(d["K"])] = {"checkpoints": d["checkpoints"], "kind": [b["kind"] for b, _ in rows],
                               "gap": [b["gap"] for b, _ in rows], "mean": np.stack([r.mean(0) for _, r in rows])}
    st, wo = dec["stochastic"], dec["worst"]
    return {"verdict": verdict, "arms": [d["K"] for d in m["per_K"]], "regret": curves,
            "worst": {"K": [x["K"] for x in wo], "kind": [x["kind"] for x in wo], "horizon": [x["horizon"] for x in wo],
                      "ratio": [x["ratio"] for x in wo]},
            "stochastic": {"K": [x["K"] for x in st], "kind": [x["kind"] for x in st], "gap": [x["gap"] for x in st],
                           "slope": [x["slope"] for x in st], "low": [x["interval"][0] for x in st],
                           "high": [x["interval"][1] for x in st],
                           "holds": [-1 if x["holds"] is None else int(x["holds"]) for x in st]},  # −1: undecided
            "twin_slopes": [t["slope"] for t in dec["twins"]]}


def _draw(m: dict, figure_dir: str) -> str:
    """The figure, from the stored measurements: mean regret curves, worst-case ratios, and tail slopes vs threshold."""
    fig, (a1, a2, a3) = new_figure(ID, f"Tsallis-INF on bandits (one-state stand-in) [{m['verdict']}]", ncols=3,
                                   width=3.9)
    for c, K in enumerate(m["arms"]):
        d = m["regret"][str(K)]
        cps = d["checkpoints"]
        for kind, gap, mean in zip(d["kind"], d["gap"], d["mean"]):
            if kind == "stochastic":
                a1.semilogx(cps, mean, color=f"C{c}", lw=1, alpha=0.5 + 0.5 * gap)
            elif kind == "constrained":
                a1.semilogx(cps, mean, color=f"C{c}", lw=1, ls=":")
        a1.plot([], [], color=f"C{c}", label=f"K = {K} (dotted: constrained adv.)")
    a1.set_xlabel("round T")
    a1.set_ylabel("mean pseudo-regret R_T")
    a1.legend(fontsize=7)
    wo = m["worst"]
    for c, K in enumerate(sorted({int(k) for k in wo["K"]})):
        for kind, mk in (("hard", "o"), ("constrained-hard", "s")):
            sel = (wo["K"] == K) & (wo["kind"] == kind)
            a2.semilogx(list(wo["horizon"][sel]), list(wo["ratio"][sel]), mk, color=f"C{c}", ms=4,
                        label=f"K = {K}, {kind}")
    a2.axhline(1.0, color="k", ls="--", lw=1, label="bound 4√(KT) + 1")
    a2.set_xlabel("horizon T")
    a2.set_ylabel("R_T / (4√(KT) + 1)")
    a2.set_yscale("log")
    a2.set_ylim(0.01, 2)
    a2.legend(fontsize=7)
    st = m["stochastic"]
    xs = np.arange(len(st["slope"]))
    for i, (slope, lo, hi, holds) in enumerate(zip(st["slope"], st["low"], st["high"], st["holds"])):
        col = "C0" if holds == 1 else ("C3" if holds == 0 else "0.5")
        a3.errorbar(i, slope, yerr=[[slope - lo], [hi - slope]], fmt="o", color=col, ms=4)
    for t in m["twin_slopes"]:
        a3.plot(len(xs) + 0.5, t, "^", color="C1", ms=5)
    a3.plot([], [], "^", color="C1", label="twin: hard gap ½√(K/T)")
    a3.axhline(SLOPE_MAX, color="k", ls="--", lw=1, label=f"threshold {SLOPE_MAX}")
    a3.axhline(0.5, color="C1", ls=":", lw=1, label="√T (0.5)")
    a3.set_xticks(xs, [f"{K}/{gap:g}{'c' if kind == 'constrained' else ''}"
                       for K, gap, kind in zip(st["K"], st["gap"], st["kind"])], fontsize=6, rotation=60)
    a3.set_xlabel("instance K/Δ (c: constrained adv.)")
    a3.set_ylabel("tail slope: log(ΔR/Δln T) vs log T")
    a3.legend(fontsize=7, loc="lower right")
    return save_figure(fig, figure_dir, ID)


def run(ctx: RunContext) -> Evidence:
    m = _measure(ctx)
    dec = _decide(m, ctx.alpha)
    verdict = _verdict(dec)
    stoch, worst = dec["stochastic"], dec["worst"]
    sens = []
    for K in sorted({x["K"] for x in stoch}):
        sens.append(sweep_point("arms", K, _subset_verdict([x for x in stoch if x["K"] == K],
                                                           [x for x in worst if x["K"] == K]),
                                max_slope=max(x["slope"] for x in stoch if x["K"] == K),
                                instances=sum(x["K"] == K for x in stoch + worst), stratum=True))
    for g in sorted({x["gap"] for x in stoch if x["kind"] == "stochastic"}):
        sub = [x for x in stoch if x["kind"] == "stochastic" and x["gap"] == g]
        sens.append(sweep_point("gap", g, _subset_verdict(sub, []), max_slope=max(x["slope"] for x in sub), instances=len(sub),
                                stratum=True))
    in_reg = [x for x in stoch if x["in_regime"]]
    max_ratio = max(x["ratio"] for x in worst)
    twin_slopes = ", ".join(f"K={t['K']}: {t['slope']:.2f} [{t['ci'][0]:.2f}, {t['ci'][1]:.2f}]" for t in dec["twins"])
    norm_pl = [x["normalised_per_logT"] for x in stoch if x["kind"] == "stochastic" and x["in_regime"]]
    summary = (f"Tsallis-INF (η_t = 2/√t), {m['runs']} runs per instance, T = {m['horizon']}: {len(in_reg)}/{len(stoch)} "
               f"stochastic/constrained instances in regime, tail slopes of log(ΔR/Δln T) vs log T "
               f"{min(x['slope'] for x in stoch):.2f}–{max(x['slope'] for x in stoch):.2f} "
               f"(held < {SLOPE_MAX} on {sum(x['holds'] is True for x in stoch)}); twin (hard gap ½√(K/T)) slopes {twin_slopes}; "
               f"worst-case R/(4√(KT)+1) ≤ {max_ratio:.3f} on {len(worst)} hard/constrained-hard checks "
               f"(held on {sum(x['holds'] is True for x in worst)}). "
               + (f"Regret per ln T × Δ/(K−1): {min(norm_pl):.2f}–{max(norm_pl):.2f}. " if norm_pl else "")
               + "One-state stand-in for the paper's MDP algorithm: the quoted sentence is undecided")
    return Evidence(
        verdict=verdict, statistic=max(x["slope"] for x in stoch),
        threshold=(f"stochastic: tail slope of log E[ΔR/Δln T] vs log T (last decade, in regime: halves agree ±{GATE_TOL}, tail after "
                   f"{GATE_C}·K/Δ²) with its interval below {SLOPE_MAX}; worst case: R_T/(4√(KT)+1) interval ≤ 1; levels "
                   f"α/{dec['n_decisions']} each (z = {dec['z']:.2f}); twins (tilt T^0.5; hard gap ½√(K/T)) must exceed {SLOPE_MAX} "
                   f"at the same level"),
        n_samples=int(m["runs"] * sum(len(d["blocks"]) for d in m["per_K"])),
        summary=summary,
        details={"stochastic": stoch, "worst_case": worst, "twins": dec["twins"], "z": dec["z"],
                 "checkpoints": {str(d["K"]): d["checkpoints"].tolist() for d in m["per_K"]},
                 "mean_regret": {str(d["K"]): [r.mean(0).tolist() for r in d["regret"]] for d in m["per_K"]},
                 "blocks": {str(d["K"]): d["blocks"] for d in m["per_K"]}},
        measurements=_measurements(m, dec, verdict),
        instances=[bool(x["holds"]) for x in stoch] + [bool(x["holds"]) for x in worst],
        sensitivity=sens, quote_verdict="inconclusive",
    )


register_claim(Claim(
    id=ID, paper="Best of Both Worlds Policy Optimization", seed_line=139, draw=_draw, figure_family="rates",
    claim=("polylog(T) regret with stochastic losses without losing the √T worst-case guarantee — checked on the bandit "
           "(one-state) special case with Tsallis-INF"),
    theme="TS", exact="Theorem 1 bound 4√(KT)+1 (Zimmert & Seldin); the burn-in gate K/Δ²",
    monte_carlo="batched Tsallis-INF runs on Bernoulli bandits: stochastic (gaps), stochastically constrained, "
                "minimax-hard gap with i.i.d. and with adversarial levels; pseudo-regret Σ⟨w_t, μ_t⟩ − min_i Σ μ_{t,i}",
    test=(f"in regime: tail slope of log E[ΔR/Δln T] vs log T below {SLOPE_MAX} with its interval (stochastic, constrained); "
          "R_T/(4√(KT)+1) ≤ 1 (hard, constrained-hard); twins T^0.5-tilt and hard gap ½√(K/T) must exceed the threshold; "
          "quote_verdict inconclusive (stand-in)"),
    scales={"quick": {"arms": [2, 4], "gaps": [0.2, 0.4], "runs": 128, "horizon": 4096},
            "full": {"arms": [2, 4, 8], "gaps": [0.1, 0.2, 0.4], "runs": 128, "horizon": 65536}},
    run=run, source="Dann, Wei & Zimmert 2023 (abstract); Tsallis-INF: Zimmert & Seldin 2021 (not in seed)",
    kind="asymptotic", quote=QUOTE,
    reading="stand-in",
    reading_note=("\"It is a stand-in: holding on it is a necessary condition, not evidence for the MDP algorithm ... the quoted sentence stays undecided whatever happens here\"."),
    quote_source="seed abstract (line 139); √T restored from the arXiv text (2302.09408) abstract; body not read",
    extension=True, unbiasedness=False,
    constants={"arms": [2, 8], "gap": [0.1, 0.4], "slope_threshold": SLOPE_MAX, "burn_in_C": GATE_C},
))
