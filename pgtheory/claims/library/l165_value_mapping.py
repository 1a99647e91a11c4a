r"""L165 (Orchestrated Value Mapping, Fatemi & Tavakoli, ICLR 2022): "a general convergent class of reinforcement
learning algorithms" built on value mappings f_j and a linear reward decomposition r = Σ_j λ_j r_j, which "generalizes
and subsumes algorithms such as Q-Learning, Log Q-Learning, and Q-Decomposition".

Protocol: kind=theorem, extension=False — the abstract asserts convergence of the class (the paper's theorem); we check
it on a family of MDPs (its fixed point exactly, its stochastic runs by a declared finite-horizon rule). Subsumption is
a definition: it is checked as identities of our code (``code_checks``), never counted as confirming the paper.

Algorithm (:mod:`pgtheory.optim.value_mapping`): Q = Σ_j λ_j f_j^{-1}(Q̃_j); per channel, target U_j = r_j + γ Q_j(s', ã')
with ã' greedy on the aggregate; regular-space averaging Û_j = Q_j + β_reg (U_j − Q_j); mapped step
Q̃_j += β_f (f_j(Û_j) − Q̃_j). Where it was read: the authors' released code (microsoft/orchestrated-value-mapping,
map_dqn_agent.py: β_reg, β_f, the log / loglin mappings with c = 0.5, the "polar" decomposition r₊, r₋ with λ = (1, −1))
and the Log Q-learning code (microsoft/logrl, linear_experiments/agent.py: f(x) = c ln(x + γ^h) + d). NOT verified: the
paper's theorem itself (its exact class of mappings and step-size conditions) — `search` stores only the paper's opening
section. The conditions used here are our reading of the two-step-size design: f_j strictly monotone and C¹ on the
channel's value range, β_f ∈ (0, 1] fixed, β_reg,t → 0 with Σ_t β_reg,t = ∞ (Robbins–Monro), greedy on the aggregate.

Design (fixed before running):
* instances: ``mdps`` Garnets (S = 6, A = 3, branching 3, γ = 0.9), rewards 2u − 1 shifted by (1 − γ)·mean_s V* so that
  Q* takes both signs (the shift is computed from the unshifted MDP's V*; exact Q* by value iteration).
* in-class configurations: Q-learning (identity, one channel); Log Q-learning (log × 2, polar); LogLin (loglin × 2,
  polar); mixed (log on r₊, identity on r₋, polar — the authors' README example); Q-decomposition (identity × 3, random
  split r_j = r/3 + z_j − z̄). Log constants c = 0.5, offset γ^20 (van Seijen's form with h = 20), d = 0.
* (a) exact: iterate the expected-target update (β_reg = 1, β_f = 0.5) to a change ≤ FP_STOP; holds if
  ‖Q − Q*‖∞ ≤ FP_TOL.
* (b) stochastic: ``runs`` synchronous runs per instance (one s' per (s, a) per step from the generative model),
  ``steps`` steps, β_reg,t = (1 + t/τ)^(−ω) with τ = 1/(1 − γ), ω = OMEGA, β_f = BETA_F. Per instance and configuration:
  converged if the median over runs of ‖Q_T − Q*‖∞ ≤ FINAL_TOL·‖Q*‖∞ and it fell since T/10; diverging if it rose since
  T/10 and exceeds FINAL_TOL·‖Q*‖∞; unresolved otherwise.
* (c) mean field (noise vs bias): the stochastic update's expectation over s' with a fixed β_reg has its own fixed point
  (a Jensen bias, since f is nonlinear); for Log Q-learning, bootstrapping from the optimal policy π* = argmax Q*
  (revision 2026-12-02, below), its distance to Q* at β_reg ∈ BETA_REG_GRID is reported, and
  the bias must shrink with β_reg (halving β_reg at least MIN_BIAS_SHRINK-fold smaller bias) — why β_reg must vanish.
* twins (boundary checks, each must be rejected by the same exact check (a) or (c)): T1 log on one channel with rewards of
  both signs (a decomposition the mapping cannot represent: targets clipped at the log's floor); T2 square mapping on one
  channel (not injective on ℝ); T3 polar identity channels bootstrapping from each channel's own greedy action (not the
  aggregate's); T4 Log Q-learning averaging only in the mapped space (β_reg = 1, β_f,t → 0): its limit is the mean-field
  fixed point at β_reg = 1 (since the 2026-12-02 revision: the π*-bootstrapped one of (c), a stand-in, since the greedy
  one may not exist), rejected when that is farther than TWIN_GAP·‖Q*‖∞ from Q*.
* code checks (identities, subsumption): the identity/one-channel run equals a plain Q-learning loop on the same draws;
  Q-decomposition (identity, any β_f) and Log Q-learning with β_f = 1 equal Q-learning with step β_reg·β_f (resp. β_reg)
  on the same draws (to 1e-9) — in the tabular case the mapping matters only through β_f < 1.
Verdict: refuted if an in-class exact fixed point misses Q* or a run diverges; inconclusive if a stochastic check is
unresolved, the mean-field bias does not shrink, or a twin is not rejected; confirmed otherwise. Sensitivity: ω ∈
OMEGA_SWEEP and β_f ∈ BETA_F_SWEEP with the stochastic rule (b) on Log Q-learning at quick scale (the most nonlinear
mapping; to fit 30 s) and on all in-class configurations at full scale.
Development record (2026-11-30, quick seeds only; no full run yet): pilots on Garnet seeds 1 and 10–12 (seed 1 is also a quick instance; full instances are disjoint) showed
(1) Garnet rewards 2u − 1 give Q* of one sign, so the rewards are centred by (1 − γ)·mean V* (else twins T1/T2 cannot
bite); (2) β_reg,t = (t + 1)^(−ω) left 20% of ‖Q*‖∞ after 3000 steps (initial-condition decay, not noise), so the
schedule is rescaled to (1 + t/τ)^(−ω), τ = 1/(1 − γ); FINAL_TOL = 0.1 was then set from the pilot's Q-learning errors
(0.05–0.07 of ‖Q*‖∞ at 2000 steps) before the claim ran. After the first quick run (confirmed, 88 s wall on a loaded
machine) the quick scale was cut to fit 30 s — 4 → 3 MDPs, β_reg grid (1, ½, ¼, ⅛) → (1, ½, ¼), quick sweeps on Log Q
only, fixed-point stop 1e-12 → 1e-10 — with no change of rule or threshold.
Simplified: tabular, synchronous generative-model sampling (no exploration policy), deterministic rewards (the noise is
in s'), no reward clipping, no function approximation; the Atari experiment is not tested.

Revision (2026-11-30, a referee's audit, before any full run): rule (b) had no power — constant-step Q-learning and Log
Q-learning (β_reg ∈ {0.02, 0.05, 0.1}) stall at errors of 2–9% of ‖Q*‖∞, below FINAL_TOL, and passed; "converged" now
also asks the median error to have fallen to ≤ DECAY_MAX = 0.6 × its value at T/10 (the main schedule fell ×0.3 there,
constant steps ×1.0). Check (a) is nearly true by construction (with β_reg = 1 the expected target is formed before the
map, so any injective f has Q* as its fixed point): it checks our code; the evidence about the paper is (b) and (c).
The kind stays "theorem" as *our reading* of the convergence statement, whose conditions could not be read. The quote
joins two sentences of the abstract; "[…]" marks the three sentences between them.

Revision (2026-12-02, after the seed-24 confirmatory run, in which L165 raised and wrote no record): the mean field (c)
bootstrapped from the aggregate's greedy action, and on a seed-24 Garnet (the log names neither the instance nor β_reg)
its iteration was still moving by 0.00175 after 50 000 iterations; the seed-24 referee found a two-step cycle on a
dev-seed instance at β_reg = 1 (the greedy action at one state flips every iteration; families of dev seeds 900–904
fail 3 times in 5; the pre-run audit found 9 of 20 dev families (0–9, 900–909) failing, at β_reg = 1 on all 9, at 0.5 on
5, at 0.25 on 2). The mean-field map with a greedy argmax is discontinuous where actions nearly tie, so its fixed point
need not exist. (c) now bootstraps from the fixed optimal policy π* (policy evaluation: Q^{π*} = Q*, and without noise
the map's fixed point is Q*): it measures the Jensen bias of the nonlinear mapping under policy evaluation of π*, a
stand-in for the stochastic algorithm's mean field, no longer that mean field's own fixed point. The two differ
wherever the biased greedy point's policy is not π*, not only where the greedy iteration cycles: on at least one
instance in 16 of 20 dev families, by up to 0.056·‖Q*‖∞ (dev seed 5), moving (c)'s outcome both ways (dev seed 4 from
not-shrinking to shrinking, dev seed 925 the reverse; pre-run audit,
docs/reviews/2026-12-02-seed24-revisions-prerun-audit.md). Rule, thresholds, β_reg grid and iteration cap unchanged;
the stochastic runs (b) and the exact checks (a) still use the aggregate's greedy action. L165 is read by our criterion,
so its shown verdict is inconclusive whatever (c) gives. Every fixed-point iteration of the run that does not settle
within its cap is now a failed check of our code (NaN limits, an inconclusive record) instead of an exception that
loses the record (the audit's A4). Judged from the next confirmatory run.
"""
from __future__ import annotations

import numpy as np
import torch

from ...exact.solvers import value_iteration
from ...optim.algorithms import PowerSchedule
from ...sampling.generative import sample_next_states
from ...optim.value_mapping import (FixedPointNotSettled, RewardChannels, decompose_rewards, make_mapping,
                                    mapped_fixed_point, orchestrated_q_learning)
from ...problems import TabularMDP, garnet
from ..record import Claim, Evidence, RunContext, sweep_point
from ..registry import register_claim
from ..style import new_figure, plain_log_ticks, save_figure

ID = "L165-value-mapping-convergence"
GAMMA, S, A, BRANCHING = 0.9, 6, 3, 3
LOG = {"c": 0.5, "offset": GAMMA ** 20, "d": 0.0}  #: van Seijen's f(x) = c ln(x + γ^h) + d with h = 20; c as in the authors' code
OMEGA, BETA_F = 0.75, 0.5  #: main schedule: β_reg,t = (1 + t/τ)^(−0.75) (Robbins–Monro), β_f = 0.5 (< 1, so the mapping acts)
OMEGA_SWEEP, BETA_F_SWEEP = (0.6, 0.9), (0.25, 1.0)  #: plausible range of the design constants
FP_STOP = 1e-10  #: fixed-point iterations stop when the aggregate moves less than this (sup norm)
FP_TOL = 1e-8  #: exact fixed point vs Q*: a 1e-10-converged iteration is within 20 × 1e-10 (contraction 0.95)
MF_STOP = 1e-10  #: mean-field iterations: stop rule (the biases measured are ≥ 1e-4, so 1e-10/(1 − ρ) is negligible)
FINAL_TOL = 0.1  #: stochastic rule: median final sup error ≤ 10% of ‖Q*‖∞ (a noise floor the pilot's Q-learning reached in 2000 steps)
DECAY_MAX = 0.6  #: ... and ≤ 0.6 × its value at T/10: still decaying (constant steps stall at a floor; revision, referee)
TWIN_GAP = 1e-3  #: a twin is rejected when its limit is ≥ 0.1% of ‖Q*‖∞ from Q* (far above the 1e-8 fixed-point round-off)
BETA_REG_GRID = (1.0, 0.5, 0.25)  #: β_reg values for the mean-field (Jensen) bias curve
MIN_BIAS_SHRINK = 1.5  #: halving β_reg must shrink the mean-field bias ≥ 1.5-fold (first order predicts 2)
CHECKPOINTS_FRAC = (0.005, 0.015, 0.05, 0.1, 0.3, 1.0)

CONFIGS = {  # name → (mappings, decomposition)
    "Q-learning": (("identity",), "single"),
    "Log Q-learning": (("log", "log"), "polar"),
    "LogLin": (("loglin", "loglin"), "polar"),
    "log + identity": (("log", "identity"), "polar"),
    "Q-decomposition": (("identity", "identity", "identity"), "random_split"),
}


def _mapping(name: str):
    return make_mapping(name, **LOG) if name in ("log", "loglin") else make_mapping(name)


def _instances(n: int, seed: int):
    """Garnets with mixed-sign Q*: rewards 2u − 1 − (1 − γ)·mean V* (of the 2u − 1 MDP). Returns P [M,S,A,S], r, Q*."""
    Ps, rs, qs = [], [], []
    for i in range(n):
        g = garnet(S, A, BRANCHING, discount=GAMMA, seed=seed * 1000 + i)
        r = 2 * g.rewards - 1
        r = r - (1 - GAMMA) * value_iteration(TabularMDP(g.transitions, r, GAMMA, g.initial)).v.mean()
        Ps.append(g.transitions)
        rs.append(r)
        qs.append(value_iteration(TabularMDP(g.transitions, r, GAMMA, g.initial)).q)
    return torch.stack(Ps), torch.stack(rs), torch.stack(qs)


def _channels(decomposition: str, rewards: torch.Tensor, seed: int) -> RewardChannels:
    if decomposition == "random_split":
        return decompose_rewards("random_split", rewards, n_channels=3, generator=torch.Generator().manual_seed(seed))
    return decompose_rewards(decomposition, rewards)


def _schedule(omega: float) -> PowerSchedule:
    tau = 1.0 / (1.0 - GAMMA)
    return PowerSchedule(tau ** omega, omega, tau)  # (1 + t/τ)^(−ω)


def _stochastic(P, ch, mappings, q_star, runs, steps, omega, beta_f, seed):
    """Median over runs of ‖Q_t − Q*‖∞ per instance at the checkpoints: [K, M] (and the checkpoints)."""
    M = P.shape[0]
    cks = sorted({max(1, int(round(f * steps))) for f in CHECKPOINTS_FRAC})
    chB = RewardChannels(ch.rewards.repeat_interleave(runs, 0), ch.weights)
    tr = orchestrated_q_learning(P.repeat_interleave(runs, 0), chB, mappings, GAMMA, steps, beta_reg=_schedule(omega),
                                 beta_f=beta_f, generator=torch.Generator().manual_seed(seed), checkpoints=cks)
    err = (tr.aggregate - q_star.repeat_interleave(runs, 0)).abs().amax((-1, -2)).view(len(cks), M, runs)
    return cks, err.median(-1).values


def stochastic_outcomes(cks, med, scale) -> list[str]:
    """Rule (b) per instance: 'converged' | 'diverging' | 'unresolved'.

    ``cks`` checkpoint steps (K), ``med [K, M]`` median over runs of ‖Q_t − Q*‖∞, ``scale [M]`` ‖Q*‖∞. Converged: the
    final median ≤ FINAL_TOL·‖Q*‖∞ and ≤ DECAY_MAX × its value at the checkpoint nearest T/10; diverging: above both.
    """
    tenth = cks.index(min(cks, key=lambda c: abs(c - cks[-1] / 10)))
    out = []
    for m in range(med.shape[1]):
        final, early, tol = float(med[-1, m]), float(med[tenth, m]), FINAL_TOL * float(scale[m])
        out.append("converged" if final <= tol and final <= DECAY_MAX * early else
                   "diverging" if final > early and final > tol else "unresolved")
    return out


def rule_verdict(outcomes) -> str:
    """Family verdict of rule (b) over configurations' outcome lists: any diverging → refuted; all converged →
    confirmed; otherwise inconclusive (a finite horizon cannot refute an almost-sure limit)."""
    flat = [o for v in outcomes for o in v]
    return "refuted" if "diverging" in flat else ("confirmed" if all(o == "converged" for o in flat) else "inconclusive")


def _plain_q_learning(P, r, steps, beta, seed):
    """A direct synchronous Q-learning loop (independent of the value-mapping code) for the subsumption identity."""
    g = torch.Generator().manual_seed(seed)
    cdf = P.cumsum(-1)
    q = torch.zeros_like(r)
    for t in range(steps):
        nxt = sample_next_states(cdf, g)
        v = q.amax(-1)
        target = r + GAMMA * torch.stack([v[b][nxt[b]] for b in range(r.shape[0])])
        q = q + beta(t) * (target - q)
    return q


def _code_checks(P, r, seed) -> tuple[list[str], dict]:
    fails, out, T = [], {}, 60
    plain = _plain_q_learning(P, r, T, _schedule(OMEGA), seed)
    plain_f = _plain_q_learning(P, r, T, lambda t: _schedule(OMEGA)(t) * BETA_F, seed)
    cases = {"identity, one channel = Q-learning": ("Q-learning", 1.0, plain),
             "Q-decomposition (β_f = 0.5) = Q-learning with step β_reg·β_f": ("Q-decomposition", BETA_F, plain_f),
             "Log Q-learning with β_f = 1 = Q-learning": ("Log Q-learning", 1.0, plain)}
    for label, (cfg, bf, ref) in cases.items():
        names, dec = CONFIGS[cfg]
        tr = orchestrated_q_learning(P, _channels(dec, r, seed), [_mapping(n) for n in names], GAMMA, T,
                                     beta_reg=_schedule(OMEGA), beta_f=bf, generator=torch.Generator().manual_seed(seed))
        gap = float((tr.aggregate[-1] - ref).abs().max())
        out[label] = gap
        if gap > 1e-9:
            fails.append(f"{label}: differs by {gap:.2g}")
    return fails, out


def _sup_error(fails: list[str], label: str, q_star: torch.Tensor, *args, **kw) -> list[float]:
    """‖Q − Q*‖∞ per instance of :func:`mapped_fixed_point`'s limit; an iteration that does not settle within its cap
    is a failed check of our code (NaN errors, and the record is inconclusive), not an exception that loses the record
    (pre-run audit of the seed-24 revisions, A4)."""
    try:
        fp = mapped_fixed_point(*args, **kw)
    except FixedPointNotSettled as e:
        fails.append(f"{label}: {e}")
        return [float("nan")] * q_star.shape[0]
    return ((fp.aggregate - q_star).abs().amax((-1, -2))).tolist()


def run(ctx: RunContext) -> Evidence:
    s = ctx.settings
    P, r, q_star = _instances(s["mdps"], ctx.seed)
    scale = q_star.abs().amax((-1, -2))  # ‖Q*‖∞ per instance [M]
    fails, identity_gaps = _code_checks(P, r, ctx.seed)
    # (a) exact fixed points of the expected-target update, in-class configurations and twins T1–T3
    fp_err, ch_by = {}, {}
    for name, (maps, dec) in CONFIGS.items():
        ch_by[name] = _channels(dec, r, ctx.seed)
        fp_err[name] = _sup_error(fails, f"(a) {name}", q_star, P, ch_by[name], [_mapping(m) for m in maps], GAMMA,
                                  beta_reg=1.0, beta_f=BETA_F, tol=FP_STOP)
    twins = {"T1 log, one mixed-sign channel": (("log",), "single", "aggregate"),
             "T2 square (not injective), one channel": (("square",), "single", "aggregate"),
             "T3 polar identity, channel-wise greedy": (("identity", "identity"), "polar", "channel")}
    twin_err = {}
    for name, (maps, dec, greedy) in twins.items():
        twin_err[name] = _sup_error(fails, f"twin {name}", q_star, P, _channels(dec, r, ctx.seed),
                                    [_mapping(m) for m in maps], GAMMA, beta_reg=1.0, beta_f=BETA_F, greedy=greedy,
                                    tol=FP_STOP)
    # (c) mean field of the stochastic Log Q-learning update at fixed β_reg, bootstrapping from π* = argmax Q* (a stand-in,
    # revision 2026-12-02: with the aggregate's greedy action it can cycle at near-tied states and never settle)
    logq_maps = [_mapping(m) for m in CONFIGS["Log Q-learning"][0]]
    pi_star = q_star.argmax(-1)  # [M, S]
    bias = {}
    for br in BETA_REG_GRID:
        bias[br] = _sup_error(fails, f"(c) mean field at β_reg = {br}", q_star, P, ch_by["Log Q-learning"], logq_maps,
                              GAMMA, beta_reg=br, beta_f=BETA_F, mode="mean_update", greedy=pi_star, tol=MF_STOP,
                              max_iter=s["mean_field_iter"])
    twin_err["T4 Log Q-learning, mapped-space averaging only (β_reg = 1)"] = bias[1.0]
    shrink = [[bias[a][m] / max(bias[b][m], 1e-300) for a, b in zip(BETA_REG_GRID, BETA_REG_GRID[1:])] for m in range(len(scale))]
    bias_shrinks = [all(v >= MIN_BIAS_SHRINK for v in x) for x in shrink]  # False where a limit is NaN (not settled)
    # (b) stochastic runs
    curves, outcomes = {}, {}
    for k, (name, (maps, _)) in enumerate(CONFIGS.items()):
        cks, med = _stochastic(P, ch_by[name], [_mapping(m) for m in maps], q_star, s["runs"], s["steps"], OMEGA, BETA_F,
                               ctx.seed * 7919 + k)
        curves[name] = med
        outcomes[name] = stochastic_outcomes(cks, med, scale)
    sweep, sweep_detail = [], {}
    swept = list(CONFIGS) if s["sweep_all"] else ["Log Q-learning"]
    for const, values in (("omega", OMEGA_SWEEP), ("beta_f", BETA_F_SWEEP)):
        for v in values:
            om, bf = (v, BETA_F) if const == "omega" else (OMEGA, v)
            res = {}
            for k, name in enumerate(swept):
                cks_v, med = _stochastic(P, ch_by[name], [_mapping(m) for m in CONFIGS[name][0]], q_star, s["runs"],
                                         s["steps"], om, bf, ctx.seed * 7919 + 100 + k)
                res[name] = stochastic_outcomes(cks_v, med, scale)
            sweep_detail[f"{const}={v}"] = {n: o for n, o in res.items()}
            sweep.append(sweep_point(const, v, rule_verdict(res.values()), configurations=swept,
                                     converged=sum(o == "converged" for o_ in res.values() for o in o_),
                                     checked=sum(len(o_) for o_ in res.values()), instances=len(scale)))
    # decide
    fp_ok = [all(fp_err[n][m] <= FP_TOL * max(1.0, float(scale[m])) for n in CONFIGS) for m in range(len(scale))]
    twins_rejected = {n: [e >= TWIN_GAP * float(scale[m]) for m, e in enumerate(v)] for n, v in twin_err.items()}
    stoch_verdict = rule_verdict(outcomes.values())
    per_instance = [fp_ok[m] and all(outcomes[n][m] == "converged" for n in CONFIGS) for m in range(len(scale))]
    all_twins = all(all(v) for v in twins_rejected.values())
    settled = not any(np.isnan(v).any() for v in (*fp_err.values(), *twin_err.values(), *bias.values()))
    if not settled:  # a limit we could not compute decides nothing (second pre-run audit, B1): inconclusive
        verdict = "inconclusive"
    elif not all(fp_ok) or stoch_verdict == "refuted":
        verdict = "refuted"
    elif stoch_verdict == "inconclusive" or not all(bias_shrinks) or not all_twins:
        verdict = "inconclusive"
    else:
        verdict = "confirmed"
    worst_final = {n: float(curves[n][-1].max() / scale.min()) for n in CONFIGS}

    bmat = np.array([bias[b] for b in BETA_REG_GRID]) / scale.numpy()
    conv = sum(o == "converged" for v in outcomes.values() for o in v)
    return Evidence(
        verdict=verdict, statistic=max(worst_final.values()),
        threshold=(f"exact fixed point within {FP_TOL:g}; median final error ≤ {FINAL_TOL:g}·‖Q*‖∞ and falling; mean-field bias "
                   f"shrinks ≥ {MIN_BIAS_SHRINK}× per halving of β_reg; twins ≥ {TWIN_GAP:g}·‖Q*‖∞ from Q*"),
        n_samples=s["mdps"] * s["runs"] * s["steps"] * S * A * (len(CONFIGS) + len(sweep) * len(swept)),
        summary=(("" if settled else "A fixed-point iteration did not settle (see the failed code checks; NaN limits "
                  "decide nothing), so the statements below are partial. ")
                 + f"{s['mdps']} Garnets with mixed-sign Q*: the expected-target update's fixed point is Q* for all {len(CONFIGS)} "
                 f"configurations (Q-learning, Log Q, LogLin, log+identity, Q-decomposition; max err "
                 f"{np.max(list(fp_err.values())):.1g}); stochastic runs ({s['runs']}/MDP, {s['steps']} steps, ω = {OMEGA}, "
                 f"β_f = {BETA_F}) converged on {conv}/{len(CONFIGS) * s['mdps']} (config, MDP) pairs, worst final median "
                 f"{max(worst_final.values()):.3f}·‖Q*‖∞; the Log Q mean-field bias at fixed β_reg (bootstrapping from π*) falls from "
                 f"{np.median(bmat[0]):.2g} (β_reg = 1) to {np.median(bmat[-1]):.2g} (β_reg = {BETA_REG_GRID[-1]}) of ‖Q*‖∞, so "
                 f"β_reg → 0 is needed; twins' limits off Q* by ≥ "
                 + ", ".join(f"{n.split(' ')[0]} {min(e / float(scale[m]) for m, e in enumerate(v)):.2g}" for n, v in twin_err.items())
                 + " of ‖Q*‖∞. Subsumption identities hold to "
                 f"{max(identity_gaps.values()):.1g} (with β_f = 1 the tabular mapped update IS Q-learning)."
                 + ("" if not fails else " CODE CHECK FAILED: " + "; ".join(fails))),
        details={"fixed_point_error": fp_err, "twin_limit_error": twin_err, "twins_rejected": twins_rejected,
                 "mean_field_bias": {str(k): v for k, v in bias.items()}, "bias_shrink_per_halving": shrink,
                 "stochastic_outcomes": outcomes, "checkpoints": cks,
                 "median_error_curves": {n: c.tolist() for n, c in curves.items()}, "q_star_sup": scale.tolist(),
                 "identity_gaps": identity_gaps, "sweep_outcomes": sweep_detail},
        instances=per_instance,
        sensitivity=sweep,
        code_checks=fails,
        measurements={"checkpoints": np.array(cks), "configs": list(CONFIGS),
                      "median_error": torch.stack([curves[n] for n in CONFIGS]), "q_star_sup": scale,
                      "mean_field_bias": bmat, "fixed_point_error": np.array([fp_err[n] for n in CONFIGS]),
                      "twin_limit_error": np.array(list(twin_err.values())), "verdict": verdict},
    )


def _draw(m: dict, figure_dir: str) -> str:
    """The figure, from the stored measurements: stochastic error curves, mean-field bias vs β_reg, exact limits."""
    fig, (a1, a2, a3) = new_figure(ID, f"orchestrated value mapping converges to Q* ({m['verdict']})", ncols=3,
                                   width=4.4)
    cks, scale = m["checkpoints"], m["q_star_sup"]
    for k, (name, curve) in enumerate(zip(m["configs"], m["median_error"])):
        med = curve / scale
        a1.loglog(cks, np.median(med, 1), "o-", ms=3, color=f"C{k}",
                  label=name + (" (band: MDP range)" if k == 0 else ""))
        a1.fill_between(cks, med.min(1), med.max(1), color=f"C{k}", alpha=0.15)
    a1.axhline(FINAL_TOL, color="k", ls="--", lw=0.8, label="rule: 10% of ‖Q*‖∞")
    a1.set_xlabel("synchronous updates t")
    a1.set_ylabel("relative sup error (median of runs)")
    plain_log_ticks(a1, (0.01, 0.03, 0.1, 0.3, 1.0), axis="y")
    plain_log_ticks(a1, [c for c in (10, 100, 1000, 10_000) if c <= cks[-1]], axis="x")
    a1.legend(fontsize=7, loc="lower left")
    bmat = m["mean_field_bias"]
    for j in range(bmat.shape[1]):
        a2.loglog(BETA_REG_GRID, np.maximum(bmat[:, j], 1e-16), "o-", ms=3, color="C1", alpha=0.6,
                  label="Log Q-learning, one line per MDP" if j == 0 else None)
    ref = np.median(bmat[0]) * np.array(BETA_REG_GRID)
    a2.loglog(BETA_REG_GRID, ref, "k--", lw=0.8, label="slope 1 (bias ∝ β_reg)")
    a2.set_xlabel("regular-space step β_reg (held fixed)")
    a2.set_ylabel("mean-field limit (bootstrap π*): rel. sup error")
    plain_log_ticks(a2, BETA_REG_GRID, axis="x")
    plain_log_ticks(a2, (0.001, 0.003, 0.01, 0.03, 0.1), axis="y")
    a2.legend(fontsize=7)
    labels = list(m["configs"]) + ["T1 log, 1 channel", "T2 square", "T3 channel greedy", "T4 β_reg = 1"]
    vals = [max(fp[j] / float(scale[j]) for j in range(len(scale))) for fp in m["fixed_point_error"]] + \
           [min(e / float(scale[j]) for j, e in enumerate(v)) for v in m["twin_limit_error"]]
    a3.bar(range(len(labels)), np.maximum(vals, 1e-17),
           color=["C2"] * len(m["configs"]) + ["C3"] * len(m["twin_limit_error"]))
    a3.set_yscale("log")
    a3.axhline(TWIN_GAP, color="C3", ls="--", lw=0.8, label="twin rejected above")
    a3.axhline(FP_TOL, color="C2", ls="--", lw=0.8, label="in-class fixed point within")
    a3.set_xticks(range(len(labels)))
    a3.set_xticklabels(labels, rotation=45, ha="right", fontsize=7)
    a3.set_ylabel("exact limit: relative sup error")
    a3.set_title("in-class: worst MDP; twins: best MDP", fontsize=8)
    a3.legend(fontsize=7)
    return save_figure(fig, figure_dir, ID)


register_claim(Claim(
    id=ID, paper="Orchestrated Value Mapping for Reinforcement Learning (Fatemi & Tavakoli, ICLR 2022)", seed_line=165,
    draw=_draw, figure_family="linear",
    claim="a general convergent class of RL algorithms (value mappings × linear reward channels) that generalizes and "
          "subsumes Q-Learning, Log Q-Learning and Q-Decomposition",
    theme="LIN", exact="Q* (value iteration); fixed points of the expected-target and mean-field mapped updates",
    monte_carlo="synchronous generative-model runs of orchestrated mapped Q-learning, batched over runs and MDPs",
    test="fixed point = Q* exactly; median final sup error ≤ 10% of ‖Q*‖∞ and falling; Jensen bias ∝ β_reg; four "
         "boundary twins rejected; subsumption identities to 1e-9",
    scales={"quick": {"mdps": 3, "runs": 8, "steps": 2000, "mean_field_iter": 20_000, "sweep_all": False},
            "full": {"mdps": 16, "runs": 24, "steps": 10_000, "mean_field_iter": 50_000, "sweep_all": True}},
    run=run,
    source="update rule and mapping constants from the authors' code (microsoft/orchestrated-value-mapping, "
           "map_dqn_agent.py) and microsoft/logrl linear_experiments/agent.py; the paper's theorem (conditions) not read",
    kind="theorem",
    reading="our-criterion",
    reading_note=("\"The kind stays theorem as our reading of the convergence statement, whose conditions could not be read\" (referee L165 case; same wording as L89). (Clauses beyond finding 3.)"),
    quote="We present a general convergent class of reinforcement learning algorithms that is founded on two distinct "
          "principles: (1) mapping value estimates to a different space using arbitrary functions from a broad class, and "
          "(2) linearly decomposing the reward signal into multiple channels. […] This blueprint generalizes and subsumes "
          "algorithms such as Q-Learning, Log Q-Learning, and Q-Decomposition.",
    quote_source="seed abstract (line 165)",
    extension=True, unbiasedness=False,
    constants={"omega": [OMEGA, *OMEGA_SWEEP], "beta_f": [BETA_F, *BETA_F_SWEEP]},
))
