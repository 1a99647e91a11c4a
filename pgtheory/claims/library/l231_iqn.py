r"""L231 (Implicit quantile networks, Dabney, Ostrovski, Silver & Munos 2018): "We achieve this by using quantile
regression to approximate the full quantile function for the state-action return distribution." and "By
reparameterizing a distribution over the sample space, this yields an implicitly defined return distribution and gives
rise to a large class of risk-sensitive policies."

Instances (``bandits`` per scale): two-arm bandits with known discrete return laws. Risky arm: K atoms drawn from a
mixture w·N(μ_hi, σ_hi²) + (1 − w)·N(μ_lo, σ_lo²) (w ~ U(0.7, 0.9), μ_hi ~ U(0.5, 1.5), σ_hi ~ U(0.3, 0.8),
μ_lo ~ U(−3, −1), σ_lo ~ U(0.3, 1): a good arm with a crash component) with Gamma(5)-normalised (Dirichlet(5))
probabilities. Safe arm: K atoms c + 0.1·N(0, 1), Dirichlet(5) probabilities, with c = CVaR_{η_t}(risky),
η_t ~ U(0.25, 0.6), so the exact CVaR-optimal arm switches at some η* (computed exactly by bisection).

Design (fixed before running; constants below):
(a) quantile regression of the risky arm: B runs of N draws, SGD on the quantile loss (κ = KAPPA, α_t = LR·sd·t^{−2/3}
    with sd the arm's standard deviation, suffix averaging of the last half of the iterates;
    :func:`pgtheory.estimators.quantile_regression.sgd_quantile_regression`) at the LEVELS quantile
    midpoints. Error per run e_N = mean_i |θ̄_i − F^{-1}(τ_i)| (F^{-1} the exact lower quantile). Quoted part
    ("approximate", i.e. consistency; revision 2026-12-01 below): the tail slope of log E e_N over the last decade has
    its interval (the rate interval's level) below 0 on every bandit — the error is still falling at N_max; refuted on a
    bandit whose interval lies inside (−FLAT_SLOPE, ∞) — the error has stopped falling; otherwise undecided. Twin: the
    κ = 1 learner of bandit 0 (IQN's quantile-Huber loss, whose minimiser is a Huber quantile offset from the quantile,
    :func:`quantile_huber_minimiser`) judged against the true quantiles by the same rule must be refuted (at each LR
    point with its own κ = 1 run at that step scale). FLAT_SLOPE = 0.1: a fall of less than 21% per decade.
    Rate (extension: the abstract gives no rate; −1/2 is the Polyak–Juditsky rate of averaged SGD): the tail slope of
    log E e_N on log N over the last decade (``stats.mean_tail_slope``, gate GATE_TOL; interval: slope ± z·se, se from
    the 95% run bootstrap, z for level 1 − α/k, see the revision of 2026-12-01) is judged only when gated: confirmed
    when the CI lies in [−1/2 − RATE_TOL, −1/2 + RATE_TOL], refuted when it misses that band, inconclusive otherwise.
    Twin: the same runs tilted by TWIN_TILT (slope −0.2) must be rejected (CI outside the band); where it is not, that
    bandit's rate is undecided (revision 2026-12-01: it had made the quoted part undecided). Reported per bandit, not
    judged: the decade ratio e(N_max)/e(N_max/10) and the smallest density of the law at the learned quantiles (mass
    within ±DENSITY_H·sd, divided by its width), the quantity on which the −½ regime's onset depends.
(b) distorted expectations: the exact E_τ[F^{-1}(β(τ))] with β(τ) = ητ equals ``risk_measures.cvar`` (a check of our
    code, 1e-12) on both arms at every η of ETA_GRID.
(c) risk-sensitive policies: an IQN-style agent learns, for each η in ETA_GRID, each arm's quantiles at the levels
    β(τ_j) = ητ_j of J = SWITCH_LEVELS midpoints (SGD as in (a), ``switch_runs`` runs of ``switch_samples`` draws per
    arm), values each arm by the mean of its J estimates, and picks the larger. Rule: at every η of the grid whose exact
    CVaR gap |CVaR_η(risky) − CVaR_η(safe)| ≥ GAP_MIN, the agent picks the exactly CVaR-optimal arm in at least AGREE_MIN
    of the runs (so it is risk-averse — safe arm — below η* and risk-neutral-like above). Twin: the risk-neutral agent
    (value = mean of its estimates at the plain midpoints) judged by the same rule must fail at some η < η*.
Verdict: refuted if (a)'s consistency or (c) fails on an instance; inconclusive if a quote twin is not rejected, a
bandit's fall is not significant, or (b) fails; otherwise the rate decides (confirmed / qualified (refuted extension) /
inconclusive (not gated)).
Sensitivity (every bandit of the main verdict since 2026-12-01, rate rule against the true quantiles): LR over
LR_SWEEP, each point judged as the main verdict is (quote part, then the rates). Reported beside, not judged:
κ over KAPPA_SWEEP — IQN's κ = 1 learns the minimiser of the quantile-Huber loss (a "Huber quantile", exactly
computed), not the quantile: its slope against the Huber minimiser and the minimiser's offset from the quantiles (in
units of the law's sd). The main rule tests quantile regression at κ = 0 (the pinball loss), not IQN's κ = 1 loss.
Revision 2 (2026-11-30, a referee's audit, before any full run): κ was a sweep point, and since any κ > 0 targets the
Huber quantile, "error against the true quantile halves per decade" had to fail there by construction — it qualified
the claim for a reason known in advance; it is now a reported finding. The bootstrap seed of the rate fits is derived
from the run seed (it was 0).

Revision 2026-12-01 (a referee of the seed-9 ledger, before the confirmatory run at seed 10): the LR sweep ran on the
first bandit only, so a sweep point's "confirmed" was compared with a main verdict judged on eight (the failing bandit
was not swept). The sweep now runs every bandit of the main verdict, each point reports its quote verdict and its
instance count, and k = bandits × (1 + len(LR_SWEEP)) (24 at full).

Revision 2026-12-01 (multiplicity; referee of the paper draft; before the confirmatory run at seed 8): the rate
intervals (one per bandit, and one per LR sweep point — each decided by its own interval; the tilt twin's interval
is the power check of its bandit's decision and uses the same level) were 95% percentile run-bootstrap intervals; now
each is at level 1 − ctx.alpha/k with k = bandits + len(LR_SWEEP) (2 + 2 = 4 at quick, 8 + 2 = 10 at full; the κ
findings are reported, not decided, and not counted). A percentile bootstrap of 2000 replicates cannot resolve a tail
of α/(2k) ≈ 5e-5 (it would return about the range of the replicates), so the interval is slope ± z·se with z the
normal quantile at 1 − α/(2k) and se = (width of the 95% percentile interval)/(2·1.96) — the construction L139 uses;
n_boot is unchanged. The gate (half-tail slopes agree within GATE_TOL up to noise) stays at 95%: a precondition that
only ever makes a bandit undecided, never decided wrongly by noise in the direction of a verdict.

Revision (2026-11-30, quick seeds only, before any full run): the first quick run used Polyak averaging from the first
draw and α_0 = 1 reward unit with gate 0.15. It gave gated tail slopes −0.39 and −0.65 (a transient, not a rate: at
α_0 = 3 the same instance gave −0.57) and an agent whose tail-level estimates still carried the start (value of
CVaR_0.1 off by 0.85), failing (c) on one bandit. Changed, for reasons of estimator design, not of outcome: suffix
averaging (forgets the start; same O(N^{-1/2})), α_0 in units of each arm's sd (scale-equivariant SGD), gate 0.10.

Revision 2026-12-01 (fourth; a referee of the seed-18 ledger, before the seed-19 run): the quoted part was judged by
"the error halves over the last decade" (CONSIST_FRAC = 0.5), which is a rate requirement (a slope ≤ −0.30), not
consistency; it refuted the quoted sentence on seed 18's bandit 0, whose error was falling (slope −0.20, interval
[−0.25, −0.14]) and whose slow part is one learned level at a quantile of near-zero density (the referee reran it: the
same bandit's decade ratio is 0.35 from 10⁵ to 10⁶). The sentence states no rate: "approximate" is judged by whether
the error is still falling (interval below 0) and refuted only where it has flattened (inside (−FLAT_SLOPE, ∞)), with
IQN's κ = 1 learner (inconsistent for the quantile by construction) as the twin the rule must refute; the halving is no
longer a rule (the ratio is reported). The rate extension is unchanged; a slow rate where a level's density is small is
reported with that density, and still qualifies (it is the extension's claim at N ≤ N_max, not the quote's).

Protocol: kind=empirical (finite-sample behaviour of an estimator and a policy), extension=True (the √N rate goes
beyond "approximate"); quote_verdict = the worse of (a)'s consistency and (c). Instances: the bandits, holding when
(a)'s consistency, the rate rule (if decided) and (c) held. Simplified: a tabular "network" (one scalar per learned
level, no function approximation, no embedding of τ), a fixed grid of levels instead of IQN's sampled τ, bandits
instead of MDPs (no bootstrapped targets). Definitions: the loss and κ convention from google/dopamine's
``implicit_quantile_agent.py`` (read 2026-11-30); the distortions (CVaR, Wang, CPW, Pow) from secondary sources of
IQN Section 3.1 — the paper body was not opened here.
"""
from __future__ import annotations

import numpy as np
import torch

from ...estimators.quantile_regression import (distorted_expectation, distorted_levels, quantile_huber_minimiser,
                                               sgd_quantile_regression)
from ...exact.distributional import quantile_midpoints
from ...exact.risk_measures import cvar, value_at_risk
from scipy.stats import norm

from ...stats import mean_tail_slope, normal_interval
from ..protocol import rate_band_verdict
from ..record import Claim, Evidence, RunContext, sweep_point
from ..registry import register_claim
from ..style import new_figure, plain_log_ticks, save_figure

ID = "L231-iqn-quantile-risk"
KAPPA = 0.0  #: quantile (pinball) loss for the main rule; IQN's κ = 1 is a sweep point
KAPPA_SWEEP = (0.1, 1.0)  #: plausible κ (IQN uses 1; laws here have spread ≈ 1–2 reward units)
LR = 2.0  #: SGD step scale α_0 in units of the arm's standard deviation (the agent knows the reward scale)
LR_SWEEP = (1.0, 4.0)
LEVELS = 16  #: quantile midpoints learned in (a)
RATE_TOL = 0.1  #: |slope + 1/2| band of the rate rule
GATE_TOL = 0.1  #: mean_tail_slope's half-slope agreement gate
TWIN_TILT = 0.3  #: planted slope shift of the rate twin
#: an error whose last-decade slope interval lies inside (−FLAT_SLOPE, ∞) has stopped falling: it falls by less than
#: 21% per decade, so it would take more than three further decades to halve (the claim's other slope tolerances,
#: RATE_TOL and GATE_TOL, are 0.1 too); declared before the seed-19 run, not fitted to the twin
FLAT_SLOPE = 0.1
DENSITY_H = 0.05  #: half-width, in units of the law's sd, of the window in which the reported quantile density is read
ETA_GRID = tuple(round(0.1 * i, 1) for i in range(1, 11))  #: CVaR levels of the risk-sensitive agent
SWITCH_LEVELS = 16  #: J levels per η for the agent's distorted value (midpoint rule)
GAP_MIN = 0.15  #: judged η need an exact CVaR gap ≥ this (covers the J-point midpoint-rule bias and SGD noise)
AGREE_MIN = 0.9  #: fraction of runs that must pick the exactly CVaR-optimal arm at a judged η


def _law(rng: np.random.Generator, atoms: np.ndarray):
    w = rng.gamma(5.0, size=atoms.size)
    return torch.from_numpy(atoms), torch.from_numpy(w / w.sum())


def _bandit(seed: int, K: int):
    rng = np.random.default_rng(seed)
    w, mh, sh, ml, sl = rng.uniform(0.7, 0.9), rng.uniform(0.5, 1.5), rng.uniform(0.3, 0.8), rng.uniform(-3, -1), rng.uniform(0.3, 1)
    comp = rng.random(K) < w
    risky = _law(rng, np.where(comp, rng.normal(mh, sh, K), rng.normal(ml, sl, K)))
    eta_t = rng.uniform(0.25, 0.6)
    c = float(cvar(*risky, eta_t))
    safe = _law(rng, c + 0.1 * rng.normal(size=K))
    return risky, safe


def _gap(risky, safe, eta: float) -> float:
    return float(cvar(*risky, eta) - cvar(*safe, eta))


def _switch_point(risky, safe) -> tuple[float, int]:
    """η* (bisection on the exact CVaR gap between the grid's sign change) and the number of sign changes on a fine grid."""
    etas = np.linspace(0.01, 1.0, 100)
    d = np.array([_gap(risky, safe, e) for e in etas])
    changes = np.nonzero(np.diff(np.sign(d)) != 0)[0]
    if changes.size == 0:
        return float("nan"), 0
    lo, hi = etas[changes[0]], etas[changes[0] + 1]
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if _gap(risky, safe, mid) < 0 else (lo, mid)
    return 0.5 * (lo + hi), int(changes.size)


def _draws(law, B: int, N: int, g: torch.Generator) -> torch.Tensor:
    z, p = law
    return z[torch.multinomial(p, B * N, replacement=True, generator=g)].reshape(B, N)


def _checkpoints(N: int) -> list[int]:
    return sorted(set(int(round(x)) for x in np.geomspace(100, N, 4 * int(round(np.log10(N / 100)))+ 1)))


def _sd(law) -> float:
    z, p = law
    return float(((z - (p * z).sum()) ** 2 * p).sum().sqrt())


def _rate(law, B, N, g, kappa, lr, seed):
    """Mean-error curve of SGD quantile regression (step scale lr × the law's sd) and its rate fit and twin, and the
    decade ratio e(N_max)/e(N_max/10) (reported)."""
    tau = quantile_midpoints(LEVELS)
    truth = torch.stack([value_at_risk(*law, float(t)) for t in tau])
    cps = _checkpoints(N)
    est = sgd_quantile_regression(_draws(law, B, N, g), tau, kappa, lr=lr * _sd(law), checkpoints=cps)
    err = (est - truth).abs().mean(-1).numpy()  # [B, C]
    fit = mean_tail_slope(cps, err, decades=1.0, gate_tolerance=GATE_TOL, seed=seed)
    twin = mean_tail_slope(cps, err, decades=1.0, gate_tolerance=GATE_TOL, seed=seed, tilt=TWIN_TILT)
    i_dec = int(np.argmin(np.abs(np.array(cps) - cps[-1] / 10)))
    decade_ratio = float(err[:, -1].mean()) / float(err[:, i_dec].mean())
    return fit, twin, err, cps, decade_ratio, est


def consistency_verdict(ci) -> str:
    """The quoted part on one bandit from its last-decade slope interval ``ci`` = (lo, hi): "holds" when the error is
    still falling (hi < 0), "refuted" when it has flattened (lo > −FLAT_SLOPE), "inconclusive" otherwise."""
    lo, hi = ci
    return "holds" if hi < 0 else ("refuted" if lo > -FLAT_SLOPE else "inconclusive")


def min_quantile_density(law, h_sd: float = DENSITY_H) -> float:
    """min over the learned levels τ_i of P(|R − F⁻¹(τ_i)| ≤ h)/(2h), h = ``h_sd``·sd: the law's density at its
    learned quantiles, read in a window (the laws are discrete)."""
    z, p = law
    h = h_sd * _sd(law)
    qs = [float(value_at_risk(*law, float(t))) for t in quantile_midpoints(LEVELS)]
    return min(float(p[(z - q).abs() <= h].sum()) / (2 * h) for q in qs)


def n_rate_decisions(bandits: int) -> int:
    """k: the rate intervals that feed the verdict — one per bandit at the declared LR and at each LR sweep point (κ
    findings: reported)."""
    return bandits * (1 + len(LR_SWEEP))


def _rate_verdict(fit, level: float) -> str:
    """The rate rule on ``fit`` with its interval slope ± z·se at ``level``, se read off the fit's 95% percentile
    bootstrap interval (:func:`pgtheory.stats.normal_interval`; revision 2026-12-01: percentiles of 2000 replicates
    cannot reach the claim's level), decided by :func:`pgtheory.claims.protocol.rate_band_verdict` (revision
    2026-12-01, second, before the seed-18 run; a referee of the seed-13 ledger: the LR = 1 point "refuted" on slopes
    −0.67/−0.68): a slope faster than −½ − RATE_TOL refutes nothing — where the quantile has a positive density (the
    assumption under which −½, Polyak–Juditsky's rate, is the prediction) no consistent estimate converges faster, so
    it is a transient; where it does not (the quantile at an atom of these 4000-atom laws, where the error can fall
    faster once below the atom spacing) the prediction does not apply. A confirmation or a refutation needs both
    halves of the tail to agree with it (a pre-run audit, same day: a transient can pass through the band)."""
    return rate_band_verdict(normal_interval(fit, level), -0.5, RATE_TOL, gated=fit.gated,
                             window_slopes=fit.half_slopes, impossible_side="below")


def _agent(risky, safe, B: int, N: int, g: torch.Generator):
    """Per-run distorted values [arm, B, η] of the CVaR agent and the neutral twin's values [arm, B]."""
    levels = torch.cat([distorted_levels("cvar", SWITCH_LEVELS, e) for e in ETA_GRID] + [distorted_levels("neutral", SWITCH_LEVELS)])
    vals, neutral = [], []
    for law in (risky, safe):
        est = sgd_quantile_regression(_draws(law, B, N, g), levels, KAPPA, lr=LR * _sd(law))[:, -1]  # [B, L]
        per = est.reshape(B, len(ETA_GRID) + 1, SWITCH_LEVELS).mean(-1)
        vals.append(per[:, :-1])
        neutral.append(per[:, -1])
    return torch.stack(vals), torch.stack(neutral)


def run(ctx: RunContext) -> Evidence:
    s = ctx.settings
    g = torch.Generator().manual_seed(ctx.seed)
    k_dec = n_rate_decisions(s["bandits"])
    level = 1 - ctx.alpha / k_dec  # two-sided, per rate interval
    z = float(norm.isf(ctx.alpha / k_dec / 2))  # reported
    rows, code_errs, curves, agent_rows, laws = [], [], [], [], []
    for i in range(s["bandits"]):
        risky, safe = _bandit(ctx.seed * 1000 + i, s["atoms"])
        laws.append(risky)
        # (b) code check: the CVaR distortion reproduces risk_measures.cvar
        code_errs.append(max(abs(float(distorted_expectation(*law, "cvar", e) - cvar(*law, e))) for law in (risky, safe) for e in ETA_GRID))
        # (a)
        fit, twin, err, cps, decade_ratio, _ = _rate(risky, s["runs"], s["samples"], g, KAPPA, LR, ctx.seed)
        twin_rejected = _rate_verdict(twin, level) == "refuted"  # the power check, at its decision's level
        rate_v = _rate_verdict(fit, level) if twin_rejected else "inconclusive"
        consistency = consistency_verdict(normal_interval(fit, level))
        curves.append((cps, err.mean(0).tolist()))
        # (c)
        eta_star, crossings = _switch_point(risky, safe)
        gaps = np.array([_gap(risky, safe, e) for e in ETA_GRID])
        vals, neutral = _agent(risky, safe, s["switch_runs"], s["switch_samples"], g)
        picks_risky = (vals[0] > vals[1]).double().mean(0).numpy()  # fraction of runs choosing the risky arm, per η
        neutral_risky = float((neutral[0] > neutral[1]).double().mean())
        judged = np.abs(gaps) >= GAP_MIN
        agree = np.where(gaps > 0, picks_risky, 1 - picks_risky)
        switch_ok = bool(np.all(agree[judged] >= AGREE_MIN))
        twin_agree = np.where(gaps > 0, neutral_risky, 1 - neutral_risky)
        twin_judged = judged & (np.array(ETA_GRID) < eta_star)
        twin_switch_rejected = bool(twin_judged.any() and np.any(twin_agree[twin_judged] < AGREE_MIN))
        agent_rows.append({"eta_star": eta_star, "crossings": crossings, "gaps": gaps.tolist(), "picks_risky": picks_risky.tolist(),
                           "neutral_picks_risky": neutral_risky, "judged": judged.tolist(), "switch_ok": switch_ok,
                           "twin_rejected": twin_switch_rejected,
                           "cvar_risky": [float(cvar(*risky, e)) for e in ETA_GRID], "cvar_safe": [float(cvar(*safe, e)) for e in ETA_GRID],
                           "agent_risky_mean": vals[0].mean(0).tolist(), "agent_safe_mean": vals[1].mean(0).tolist()})
        rows.append({"rate": rate_v, "slope": fit.slope, "ci": list(normal_interval(fit, level)),
                     "ci_95_bootstrap": list(fit.confidence_interval()), "gated": fit.gated,
                     "twin_rejected": twin_rejected, "consistency": consistency, "decade_ratio": decade_ratio,
                     "min_quantile_density": min_quantile_density(risky), "law_sd": _sd(risky),
                     "error_at_max": float(err[:, -1].mean())})
    code_checks = [] if max(code_errs) <= 1e-12 else [f"distorted expectation with β(τ) = ητ ≠ risk_measures.cvar (max {max(code_errs):.2g})"]
    switch = all(a["switch_ok"] for a in agent_rows)
    # sensitivity (first instance): κ and the step scale, rate rule against the true quantiles
    risky0 = laws[0]
    sensitivity, kappa_finding = [], []
    for kap in KAPPA_SWEEP:  # reported, not a sweep point: any κ > 0 targets the Huber quantile (revision 2)
        fit, _, err, cps, ratio, est = _rate(risky0, s["runs"], s["samples"], g, kap, LR, ctx.seed)
        hq = quantile_huber_minimiser(*risky0, quantile_midpoints(LEVELS), kap)
        herr = (est - hq).abs().mean(-1).numpy()
        hfit = mean_tail_slope(cps, herr, decades=1.0, gate_tolerance=GATE_TOL, seed=ctx.seed)
        truth = torch.stack([value_at_risk(*risky0, float(t)) for t in quantile_midpoints(LEVELS)])
        cons = consistency_verdict(normal_interval(fit, level))
        v = "refuted" if cons == "refuted" else _rate_verdict(fit, level)
        kappa_finding.append({"value": kap, "verdict_vs_quantile": v, "consistency": cons, "decade_ratio": ratio,
                              "slope": fit.slope, "ci": list(normal_interval(fit, level)),
                              "gated": fit.gated, "error_at_max": float(err[:, -1].mean()),
                              "slope_vs_huber_minimiser": hfit.slope,
                              "huber_minimiser_offset": float((hq - truth).abs().mean()),
                              "law_sd": float(_sd(risky0))})
    # the quoted part's twin: IQN's κ = 1 learner is consistent for the Huber quantile, not for the quantile
    consistency_twin_rejected = next(p["consistency"] for p in kappa_finding if p["value"] == 1.0) == "refuted"
    agent_twins_ok = all(a["twin_rejected"] for a in agent_rows)

    def quote_of(consistency: list[str], twin_rejected: bool) -> str:
        if "refuted" in consistency or not switch:
            return "refuted"
        return ("confirmed" if twin_rejected and agent_twins_ok and all(c == "holds" for c in consistency)
                else "inconclusive")

    quote_verdict = quote_of([r["consistency"] for r in rows], consistency_twin_rejected)
    rates = [r["rate"] for r in rows]
    rate_all = "refuted" if "refuted" in rates else ("inconclusive" if "inconclusive" in rates else "confirmed")
    verdict = quote_verdict if quote_verdict != "confirmed" else rate_all
    for lr in LR_SWEEP:  # on every bandit of the main verdict (revision 2026-12-01: was the first bandit only)
        per = [_rate(risky_i, s["runs"], s["samples"], g, KAPPA, lr, ctx.seed) for risky_i in laws]
        rates_lr = [_rate_verdict(fit, level) if _rate_verdict(twin, level) == "refuted" else "inconclusive"
                    for fit, twin, *_ in per]
        cons_lr = [consistency_verdict(normal_interval(fit, level)) for fit, *_ in per]
        # the quoted part's twin at this step scale: IQN's κ = 1 learner on bandit 0 (pre-run audit, 2026-12-01)
        twin_fit = _rate(risky0, s["runs"], s["samples"], g, 1.0, lr, ctx.seed)[0]
        twin_lr = consistency_verdict(normal_interval(twin_fit, level)) == "refuted"
        qv_lr = quote_of(cons_lr, twin_lr)
        rate_lr = "refuted" if "refuted" in rates_lr else ("inconclusive" if "inconclusive" in rates_lr else "confirmed")
        sensitivity.append(sweep_point("LR", lr, qv_lr if qv_lr != "confirmed" else rate_lr, quote_verdict=qv_lr,
                                       instances=s["bandits"], rates=rates_lr, slopes=[fit.slope for fit, *_ in per],
                                       consistency=cons_lr, decade_ratios=[r for _, _, _, _, r, _ in per],
                                       consistency_twin_rejected=twin_lr,
                                       gated=[fit.gated for fit, *_ in per],
                                       error_at_max=[float(err[:, -1].mean()) for _, _, err, *_ in per]))
    instances = [r["consistency"] == "holds" and r["rate"] != "refuted" and a["switch_ok"] for r, a in zip(rows, agent_rows)]

    flips = "; ".join(f"{p['constant']} = {p['value']}: {p['verdict']}" for p in sensitivity if p["verdict"] != verdict)
    slopes_txt = ", ".join("%.2f [%.2f, %.2f]" % (r["slope"], r["ci"][0], r["ci"][1]) for r in rows)
    etas_txt = ", ".join("%.2f" % a["eta_star"] for a in agent_rows)
    kappa_txt = "; ".join("κ = %g: slope %.2f vs quantile (%s), %.2f vs Huber minimiser, which is %.2g·sd off the quantiles"
                          % (p["value"], p["slope"], p["verdict_vs_quantile"], p["slope_vs_huber_minimiser"],
                             p["huber_minimiser_offset"] / p["law_sd"]) for p in kappa_finding)
    cons_txt = ", ".join(r["consistency"] for r in rows)
    dens_txt = ", ".join("%.2g" % (r["min_quantile_density"] * r["law_sd"]) for r in rows)
    summary = (f"(a) SGD quantile regression (κ = {KAPPA:g}): error still falling over the last decade (quoted part): "
               f"{cons_txt}; IQN's κ = 1 learner, the twin, {'refuted' if consistency_twin_rejected else 'NOT refuted'}. "
               f"Tail slope of E error {slopes_txt} vs −1/2 ± {RATE_TOL} "
               f"(rates: {', '.join(rates)}; tilt twin rejected {sum(r['twin_rejected'] for r in rows)}/{len(rows)}); "
               f"smallest density at a learned quantile (× sd): {dens_txt}; "
               f"error at N = {s['samples']}: {np.mean([r['error_at_max'] for r in rows]):.3g}. (b) E_τ F⁻¹(ητ) = CVaR_η to "
               f"{max(code_errs):.1g}. (c) CVaR agent picks the exactly optimal arm in ≥ {AGREE_MIN:g} of runs at every judged η on "
               f"{sum(a['switch_ok'] for a in agent_rows)}/{len(agent_rows)} bandits (η* = {etas_txt}); neutral twin rejected "
               f"{sum(a['twin_rejected'] for a in agent_rows)}/{len(agent_rows)}. Reported (IQN's κ > 0): {kappa_txt}.")
    return Evidence(
        verdict=verdict, statistic=float(np.median([r["slope"] for r in rows])),
        threshold=(f"consistency: last-decade slope interval < 0 (refuted inside (−{FLAT_SLOPE}, ∞)); "
                   f"rate CI (level 1 − α/{k_dec} = {1 - ctx.alpha / k_dec:.6f}: slope ± {z:.2f}·bootstrap se) ⊂ "
                   f"[−{0.5 + RATE_TOL}, −{0.5 - RATE_TOL}] (gated); "
                   f"agent agrees with the exact CVaR choice in ≥ {AGREE_MIN} of runs where |gap| ≥ {GAP_MIN}"),
        n_samples=int(s["bandits"] * (s["runs"] * s["samples"] + 2 * s["switch_runs"] * s["switch_samples"])),
        summary=summary,
        details={"instances": rows, "agent": agent_rows, "code_errors": code_errs, "quote_verdict": quote_verdict,
                 "consistency_twin_rejected": consistency_twin_rejected,
                 "kappa_finding": kappa_finding, "rate_decisions_k": k_dec, "rate_interval_level": level,
                 "rate_interval_z": z},
        instances=instances, sensitivity=sensitivity, quote_verdict=quote_verdict, code_checks=code_checks,
        measurements={"checkpoints": np.array([c for c, _ in curves]), "error": np.array([e for _, e in curves]),
                      "agent0": {k: agent_rows[0][k] for k in ("cvar_risky", "cvar_safe", "agent_risky_mean",
                                                              "agent_safe_mean", "eta_star")},
                      "picks_risky": np.array([a["picks_risky"] for a in agent_rows]),
                      "eta_star": np.array([a["eta_star"] for a in agent_rows]), "verdict": verdict, "sweep_flips": flips})


def _draw(m: dict, figure_dir: str) -> str:
    """The figure, from the stored measurements: quantile error vs N, exact vs agent CVaR on bandit 0, arm choices."""
    flips = m["sweep_flips"]
    title = f"quantile regression and CVaR policies — rule {m['verdict']}" + (f" (sweep: {flips})" if flips else "")
    fig, (a1, a2, a3) = new_figure(ID, title, ncols=3, width=3.9)
    for cps, e in zip(m["checkpoints"], m["error"]):
        a1.loglog(cps, e, "o-", ms=2, lw=0.8, alpha=0.8)
    cps0, e0 = m["checkpoints"][0], m["error"][0]
    a1.loglog(cps0, e0[-1] * (np.array(cps0) / cps0[-1]) ** -0.5, "k--", lw=1.2, label="slope −1/2")
    plain_log_ticks(a1, [c for c in (100, 1000, 10_000, 100_000) if c <= cps0[-1]])
    a1.set_xlabel("samples N")
    a1.set_ylabel("mean |θ̄ − F⁻¹(τ)| over 16 levels")
    a1.legend(fontsize=7)
    a0 = m["agent0"]
    a2.plot(ETA_GRID, a0["cvar_risky"], "C0-", label="risky: exact CVaR_η")
    a2.plot(ETA_GRID, a0["cvar_safe"], "C1-", label="safe: exact CVaR_η")
    a2.plot(ETA_GRID, a0["agent_risky_mean"], "C0o", ms=3, label="risky: agent (mean)")
    a2.plot(ETA_GRID, a0["agent_safe_mean"], "C1s", ms=3, label="safe: agent (mean)")
    a2.axvline(a0["eta_star"], color="k", ls=":", lw=1, label="exact switch η*")
    a2.set_xlabel("CVaR level η")
    a2.set_ylabel("value [reward units]")
    a2.legend(fontsize=7)
    for j, (picks, eta_star) in enumerate(zip(m["picks_risky"], m["eta_star"])):
        a3.plot(ETA_GRID, picks, "o-", ms=2, lw=0.8, color=f"C{j % 10}", alpha=0.8)
        a3.axvline(eta_star, color=f"C{j % 10}", ls=":", lw=0.8)
    a3.axhline(AGREE_MIN, color="k", ls="--", lw=0.8)
    a3.axhline(1 - AGREE_MIN, color="k", ls="--", lw=0.8)
    a3.set_xlabel("CVaR level η (dotted: exact η*)")
    a3.set_ylabel("fraction of runs picking the risky arm")
    return save_figure(fig, figure_dir, ID)


register_claim(Claim(
    id=ID, paper="Implicit Quantile Networks for Distributional Reinforcement Learning", seed_line=231,
    draw=_draw, figure_family="risk_distributional",
    claim="quantile regression approximates the full quantile function of a return law, and distorted expectations of "
          "it give risk-sensitive policies (CVaR_η: the safe arm below the exact switch point η*)",
    theme="DIST, RISK", exact="discrete return laws: quantiles, CVaR, distorted expectations, the exact switch point η*",
    monte_carlo="SGD quantile regression on sampled rewards (B runs per bandit)",
    test="(a) error of averaged SGD quantile regression vs N (tail slope −1/2, gated); (b) E_τ F⁻¹(ητ) = CVaR_η; "
         "(c) the CVaR_η agent's arm choice vs the exact one over η",
    scales={"quick": {"bandits": 2, "atoms": 2000, "runs": 60, "samples": 10_000, "switch_runs": 30, "switch_samples": 3000},
            "full": {"bandits": 8, "atoms": 4000, "runs": 200, "samples": 100_000, "switch_runs": 100, "switch_samples": 10_000}},
    run=run, source="Dabney et al. (2018) IQN, eq. 3 and Section 3.1; google/dopamine implicit_quantile_agent.py (κ convention)",
    kind="empirical",
    reading="as-written",
    quote="We achieve this by using quantile regression to approximate the full quantile function for the state-action "
          "return distribution. By reparameterizing a distribution over the sample space, this yields an implicitly "
          "defined return distribution and gives rise to a large class of risk-sensitive policies.",
    quote_source="seed abstract (line 231)",
    extension=True, unbiasedness=False,
    constants={"KAPPA": {"value": KAPPA, "reported_not_swept": list(KAPPA_SWEEP)}, "LR": {"value": LR, "range": list(LR_SWEEP)},
               "LEVELS": LEVELS, "SWITCH_LEVELS": SWITCH_LEVELS, "GAP_MIN": GAP_MIN, "AGREE_MIN": AGREE_MIN,
               "RATE_TOL": RATE_TOL, "TWIN_TILT": TWIN_TILT, "FLAT_SLOPE": FLAT_SLOPE, "DENSITY_H": DENSITY_H},
))
