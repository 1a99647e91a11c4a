r"""L119 (Revisiting the weaknesses of RL for NMT): "Choshen et al. (2020) identify multiple weaknesses and suspect that
their success is determined by the shape of output distributions rather than the reward. In this paper, we revisit these
claims and study them under a wider range of configurations. Our experiments on in-domain and cross-domain adaptation
reveal the importance of exploration and reward scaling, and provide empirical counter-evidence to these claims."

The mechanism behind the suspicion (Choshen et al.'s peakiness effect, read in their paper's abstract and introduction
via `search`: a constant reward "reinforcing all model samples equally" gave BLEU gains similar to a real reward) is
checked in a softmax bandit, where it is exact: with a constant reward c the expected REINFORCE step is 0, but the
sampled step changes the shape of π. :mod:`pgtheory.exact.sampled_step` gives E[f(z') − f(z)] of one step with a batch
of B actions exactly (enumerating the counts); to second order it is (η²c²/(2B))·tr(∇²f·(diag π − ππᵀ)).

Design (fixed before running): instances = random softmax policies, K ∈ K_GRID arms, logits z ~ N(0, s²) with s ∈
SCALE_GRID (``policies`` per (K, s)); a target arm t (uniform). Rewards: constant c = 1 on every arm; true reward 1 on t,
0 elsewhere (same scale); twin: the constant reward with the baseline b = c (the exact expected reward), whose update
is identically 0.
(i) one step, exact: E ΔH and E Δπ_t for the constant reward at η ∈ ETA_GRID, B ∈ BATCH_GRID; the sign of E ΔH over
    the family (fraction peakier), its local slope in η (expect 2) and its B-ratio (expect 1/B at small η).
(ii) T steps (``steps``, η = RUN_STEP, B = 1), ``runs`` Monte Carlo runs per policy: E H_T − H_0 with its standard error
    (z = mean/SE); the twin's runs must keep H exactly.
(iii) the paper's counter-evidence, exact: the true reward's one-step E Δπ_t against |E Δπ_t| under the constant reward,
    at each η: the reward dominates on an instance when the ratio ≥ DOMINANCE.
Rule: instance holds when (iii) holds at DEFAULT_STEP. Verdict confirmed if ≥ MIN_FRACTION of instances hold, refuted
otherwise (an extension: → qualified); code checks: the twin's drift is 0 (≤ 1e-15), the family's *median* local
slope in η within SLOPE_TOL of 2, the family's *median* B-ratio within BRATIO_TOL (relative) of 1/B (the per-policy
values are kept in the details). Sensitivity: the same rule at every η in ETA_GRID (declared plausible range).
Reported beside the rule (not deciding): the dominance ratio on the instances whose target is already the mode of π
(t = argmax π, the situation of a pretrained MT model, where the referee expects the peakiness effect to matter most;
not verified in Choshen et al.'s body).
Protocol: kind=empirical, extension=True — NMT BLEU is not modelled; the toy tests the mechanism the sentence names
(distribution shape vs reward) in the simplest softmax where it is exact. The peakiness drift (ii) is reported beside
the verdict: it exists (Choshen's observation), but it is second order in η and shrinks as 1/B, and its one-step sign
depends on the policy (near-uniform policies get peakier; peaked ones flatten in expectation).
quote_verdict = inconclusive: the quoted sentences are about BLEU gains of NMT systems trained for many steps with
MRT/REINFORCE on real data; a one-token softmax bandit shows that the mechanism exists and how it scales (η², 1/B),
and how the reward's first-order signal compares with it per step, but it cannot decide whether, in NMT, the
observed gains come from the output-distribution shape or from the reward — so it neither supports nor refutes
Kiegeland & Kreutzer's counter-evidence (a held rule is shown "inconclusive", a failed one "qualified").
Revisions 2026-12-01 (referee's audit, s5, before any confirmatory run on the new rule; quick seeds only):
(1) the code checks of the η-slope and the B-ratio were per policy; the second-order coefficient of E ΔH changes sign
across policies, and near that boundary the η³ and 1/B² terms dominate, so legitimate policies tripped them (the
referee measured 0.5–2.8% of policies per (K, s ≥ 1) cell, i.e. an "inconclusive: bug" record about 94% of the time at
full scale). They are now judged on the family medians, with the same tolerances. (2) The quote spliced two
sentences with "; Our" and dropped the one between; it is now the contiguous, verbatim passage. (3) quote_verdict =
inconclusive (above), as for L43's stand-in family (the protocol rule of 2026-12-01). (4) The mode-target ratio is
reported. The rule itself (DEFAULT_STEP, DOMINANCE, MIN_FRACTION) is unchanged.
Reward scaling ("importance of ... reward scaling"): a reward scale c enters the update only through η·c, so the
step-size sweep is also the reward-scale sweep — the constant reward's drift grows as (ηc)², its signal-free share of
the update as ηc.
Simplified: bandit (one token), not a sequence model; no temperature; no MRT.
"""
from __future__ import annotations

import numpy as np
import torch

from ...exact.sampled_step import expected_reinforce_step_change, softmax_entropy
from ...sampling.bandit_reinforce_runs import bandit_reinforce_runs
from ..record import Claim, Evidence, RunContext, sweep_point
from ..registry import register_claim
from ..style import new_figure, save_figure

ID = "L119-constant-reward-peakiness"
K_GRID = (3, 5)
SCALE_GRID = (0.5, 1.0, 2.0)
ETA_GRID = (0.01, 0.03, 0.1, 0.3, 1.0)
BATCH_GRID = (1, 4, 16)
DEFAULT_STEP = 0.1  #: a typical REINFORCE step on logits in this toy (the first-order change is η‖∇π_t‖² ≈ 0.01)
RUN_STEP = 0.3  #: multi-step runs: large enough to see the second-order drift within ``steps`` steps
DOMINANCE = 10.0  #: the reward "determines" the change when its effect on π_t is ≥ 10× the constant reward's
MIN_FRACTION = 0.8  #: fraction of instances on which the rule must hold
SLOPE_TOL = 0.2  #: code check: the family's median local slope of E ΔH in η (0.01 → 0.03) lies within 2 ± this
BRATIO_TOL = 0.1  #: code check: the family's median E ΔH(B = 4)/E ΔH(B = 1) at η = 0.01 lies within this (relative) of 1/4
Z_CRIT = 4.0  #: |mean/SE| above this is a significant multi-step drift (per instance; ~1e-4 two-sided)


def _target_prob(t: torch.Tensor):
    """f(z) = π_{t_i}(z_i) for logits [P, ..., K] with one target per leading row."""
    def f(z):
        idx = t.reshape(-1, *([1] * (z.ndim - 2))).expand(z.shape[:-1])
        return torch.softmax(z, -1).gather(-1, idx.unsqueeze(-1)).squeeze(-1)
    return f


def scaling_code_checks(slopes, b_ratios) -> list[str]:
    """Checks of the exact one-step law on a family: median local η-slope of E ΔH ≈ 2, median B-ratio (4 vs 1) ≈ 1/4.

    ``slopes``, ``b_ratios``: per-policy values (any sequence of floats). Medians, because the second-order coefficient
    of E ΔH changes sign across policies and near the sign change the O(η³) and O(1/B²) terms dominate a legitimate
    policy's values. Returns the failure messages (empty when both hold).
    """
    slopes, b_ratios = np.asarray(slopes, dtype=float), np.asarray(b_ratios, dtype=float)
    if slopes.ndim != 1 or slopes.size == 0 or b_ratios.shape != slopes.shape:
        raise ValueError(f"slopes: expected a non-empty 1-d sequence with b_ratios of the same length, got shapes "
                         f"{slopes.shape} and {b_ratios.shape}")
    if not (np.isfinite(slopes).all() and np.isfinite(b_ratios).all()):
        raise ValueError("slopes: slopes and b_ratios must be finite")
    out = []
    med_slope, med_ratio = float(np.median(slopes)), float(np.median(b_ratios))
    if abs(med_slope - 2) > SLOPE_TOL:
        out.append(f"median η-slope of E ΔH off 2 ({med_slope:.3g}, tolerance {SLOPE_TOL:g})")
    if abs(4 * med_ratio - 1) > BRATIO_TOL:
        out.append(f"median B-ratio of E ΔH off 1/4 ({med_ratio:.3g}, relative tolerance {BRATIO_TOL:g})")
    return out


def run(ctx: RunContext) -> Evidence:
    s = ctx.settings
    g = torch.Generator().manual_seed(ctx.seed)
    inst = []
    code_checks = []
    for K in K_GRID:
        for sc in SCALE_GRID:
            z = sc * torch.randn(s["policies"], K, generator=g, dtype=torch.float64)
            t = torch.randint(0, K, (s["policies"],), generator=g)
            const = torch.ones(K, dtype=torch.float64)
            true = torch.nn.functional.one_hot(t, K).to(torch.float64)
            ptf = _target_prob(t)
            dH = {(eta, B): expected_reinforce_step_change(z, const, eta, B) for eta in ETA_GRID for B in BATCH_GRID}
            dP_const = {eta: expected_reinforce_step_change(z, const, eta, 1, ptf) for eta in ETA_GRID}
            dP_true = {eta: expected_reinforce_step_change(z, true, eta, 1, ptf) for eta in ETA_GRID}
            twin = max(float(expected_reinforce_step_change(z, const, eta, 1, baseline=1.0).abs().max()) for eta in ETA_GRID)
            if twin > 1e-15:
                code_checks.append(f"baseline twin drifts ({twin:.2g})")
            slope = torch.log(dH[(0.03, 1)].abs() / dH[(0.01, 1)].abs()) / np.log(3.0)
            b_ratio = dH[(0.01, 4)] / dH[(0.01, 1)]
            traj = bandit_reinforce_runs(z, const, RUN_STEP, 1, s["steps"], s["runs"], g, record_every=max(s["steps"] // 20, 1))
            H = softmax_entropy(traj)  # [n_rec, runs, P]
            dHT = H[-1] - H[0]
            z_ms = dHT.mean(0) / (dHT.std(0) / np.sqrt(s["runs"])).clamp_min(1e-300)
            twin_traj = bandit_reinforce_runs(z, const, RUN_STEP, 1, min(s["steps"], 20), 50, g, baseline=1.0)
            if float((twin_traj - z).abs().max()) > 0:
                code_checks.append("baseline twin runs moved the logits")
            for i in range(s["policies"]):
                ratio = {eta: float(dP_true[eta][i] / dP_const[eta][i].abs().clamp_min(1e-300)) for eta in ETA_GRID}
                inst.append({"K": K, "scale": sc, "H0": float(softmax_entropy(z[i])), "max_pi": float(torch.softmax(z[i], -1).max()),
                             "target_is_mode": bool(int(t[i]) == int(torch.argmax(z[i]))),
                             "one_step_dH": {f"{eta}|{B}": float(dH[(eta, B)][i]) for eta in ETA_GRID for B in BATCH_GRID},
                             "slope": float(slope[i]), "b_ratio": float(b_ratio[i]), "ratio": ratio,
                             "multi_step_dH": float(dHT[:, i].mean()), "multi_step_z": float(z_ms[i]),
                             "curve": H[:, :, i].mean(1).tolist()})
    code_checks += scaling_code_checks([r["slope"] for r in inst], [r["b_ratio"] for r in inst])
    slope_dev = float(np.mean([abs(r["slope"] - 2) > SLOPE_TOL for r in inst]))
    holds = {eta: [r["ratio"][eta] >= DOMINANCE for r in inst] for eta in ETA_GRID}
    mode = [r for r in inst if r["target_is_mode"]]
    mode_frac = float(np.mean([r["ratio"][DEFAULT_STEP] >= DOMINANCE for r in mode])) if mode else float("nan")
    mode_med = float(np.median([r["ratio"][DEFAULT_STEP] for r in mode])) if mode else float("nan")
    frac = {eta: float(np.mean(v)) for eta, v in holds.items()}
    verdict = "confirmed" if frac[DEFAULT_STEP] >= MIN_FRACTION else "refuted"
    sens = [sweep_point("step_size", eta, "confirmed" if frac[eta] >= MIN_FRACTION else "refuted", fraction_dominated=frac[eta],
                        instances=len(holds[eta]))
            for eta in ETA_GRID]
    peakier_1 = float(np.mean([r["one_step_dH"][f"{DEFAULT_STEP}|1"] < 0 for r in inst]))
    ms_down = float(np.mean([r["multi_step_z"] < -Z_CRIT for r in inst]))
    ms_up = float(np.mean([r["multi_step_z"] > Z_CRIT for r in inst]))
    med_ratio = {eta: float(np.median([r["ratio"][eta] for r in inst])) for eta in ETA_GRID}
    return Evidence(
        verdict=verdict, statistic=frac[DEFAULT_STEP],
        threshold=(f"true reward's one-step E Δπ_t ≥ {DOMINANCE:g}× the constant reward's |E Δπ_t| on ≥ {MIN_FRACTION:.0%} of "
                   f"instances at η = {DEFAULT_STEP}"),
        n_samples=len(inst) * s["runs"] * s["steps"],
        summary=(f"{len(inst)} softmax policies (K ∈ {list(K_GRID)}): with a constant reward the expected step is 0, yet the exact "
                 f"one-step E ΔH ≠ 0, scaling as η² (median slope {np.median([r['slope'] for r in inst]):.2f}; "
                 f"{slope_dev:.0%} of policies individually off 2 by > {SLOPE_TOL:g}) and 1/B "
                 f"(median B=4/B=1 ratio {np.median([r['b_ratio'] for r in inst]):.3f}); its sign depends on π — peakier in "
                 f"expectation on {peakier_1:.0%} of policies (near-uniform ones), flatter on the peaked ones. Over {s['steps']} "
                 f"steps (η = {RUN_STEP}) mean entropy fell significantly on {ms_down:.0%} and rose on {ms_up:.0%} of policies. "
                 f"The baseline twin (b = c) never moves. Against the true reward, the constant reward's effect on the target "
                 f"probability is second order: median ratio " + ", ".join(f"{med_ratio[e]:.3g} (η = {e})" for e in ETA_GRID) +
                 f"; the reward dominates (≥ {DOMINANCE:g}×) on {frac[DEFAULT_STEP]:.0%} of instances at η = {DEFAULT_STEP} "
                 f"(on {mode_frac:.0%} of the {len(mode)} whose target is the mode of π, median ratio {mode_med:.3g}). "
                 f"A one-token bandit cannot decide the sentence about NMT BLEU gains (quote inconclusive)."),
        details={"fraction_dominated": {str(k): v for k, v in frac.items()}, "median_ratio": {str(k): v for k, v in med_ratio.items()},
                 "target_is_mode": {"count": len(mode), "fraction_dominated": mode_frac, "median_ratio": mode_med},
                 "fraction_slope_off_2": slope_dev,
                 "one_step_peakier_fraction": peakier_1, "multi_step_down_fraction": ms_down, "multi_step_up_fraction": ms_up,
                 "instances": inst},
        instances=holds[DEFAULT_STEP], sensitivity=sens, code_checks=code_checks, quote_verdict="inconclusive",
        measurements={"verdict": verdict, "steps": s["steps"], "runs": s["runs"], "H0": [r["H0"] for r in inst],
                      "one_step_dH": {str(B): [r["one_step_dH"][f"{DEFAULT_STEP}|{B}"] for r in inst]
                                      for B in BATCH_GRID},
                      "curves": [r["curve"] for r in inst], "median_ratio": [med_ratio[e] for e in ETA_GRID]},
    )


def _draw(m: dict, figure_dir: str) -> str:
    """The figure, from the stored measurements: one-step E ΔH vs H0, multi-step entropy curves, median ratios."""
    verdict, H0, curves = m["verdict"], m["H0"], m["curves"]
    fig, (a1, a2, a3) = new_figure(ID, f"Constant-reward REINFORCE: peakiness drift vs reward signal — {verdict} (raw)",
                                   ncols=3, width=4.2)
    for B in BATCH_GRID:
        a1.scatter(H0, m["one_step_dH"][str(B)], s=8, label=f"B = {B}")
    a1.axhline(0, color="k", lw=0.6)
    a1.set_xlabel("initial entropy H(π) [nats]")
    a1.set_ylabel(f"exact E ΔH of one step, c = 1, η = {DEFAULT_STEP}")
    a1.legend(fontsize=7)
    xs = np.linspace(0, m["steps"], curves.shape[1])
    for h0, curve in zip(H0, curves):
        a2.plot(xs, curve - curve[0], lw=0.7, color="C0" if h0 > np.median(H0) else "C1", alpha=0.7)
    a2.plot([], [], color="C0", label="H0 above median")
    a2.plot([], [], color="C1", label="H0 below median")
    a2.axhline(0, color="k", lw=0.6)
    a2.set_xlabel(f"REINFORCE steps (c = 1, η = {RUN_STEP}, B = 1)")
    a2.set_ylabel(f"mean H_t − H_0 over {m['runs']} runs [nats]")
    a2.legend(fontsize=7)
    a3.loglog(ETA_GRID, m["median_ratio"], "o-", label="median over instances")
    a3.axhline(DOMINANCE, color="k", ls=":", lw=0.8, label=f"dominance {DOMINANCE:g}×")
    a3.set_xlabel("step size η")
    a3.set_ylabel("E Δπ_t (true reward) / |E Δπ_t| (constant)")
    a3.legend(fontsize=7)
    return save_figure(fig, figure_dir, ID)


register_claim(Claim(
    id=ID, paper="Revisiting the Weaknesses of Reinforcement Learning for Neural Machine Translation (Kiegeland & Kreutzer 2021)",
    seed_line=119, draw=_draw, figure_family="llm_estimators",
    claim="Choshen et al. suspect that RL's success in NMT is determined by the shape of output distributions rather than the "
          "reward; the paper provides empirical counter-evidence",
    theme="GR", exact="E f(z') − f(z) of one sampled REINFORCE step (entropy, target probability) by enumerating batch counts",
    monte_carlo="multi-step constant-reward REINFORCE runs (entropy drift) and a baseline twin",
    test="true reward's one-step gain on the target ≥ 10× the constant reward's on ≥ 80% of policies at η = 0.1; drift reported",
    scales={"quick": {"policies": 4, "steps": 200, "runs": 400}, "full": {"policies": 40, "steps": 2000, "runs": 4000}},
    run=run,
    source="Choshen et al. (2020) peakiness effect, read via `search` (abstract + introduction); Kiegeland & Kreutzer's body not "
           "read beyond its introduction (ar5iv 2106.08942 via `search`). The exact one-step law is derived in pgtheory.exact.sampled_step.",
    kind="empirical",
    reading="stand-in",
    reading_note=("\"a one-token softmax bandit ... cannot decide whether, in NMT, the observed gains come from the output-distribution shape or from the reward\"; the first two sentences report others' claims."),
    quote="Choshen et al. (2020) identify multiple weaknesses and suspect that their success is determined by the shape of "
          "output distributions rather than the reward. In this paper, we revisit these claims and study them under a wider "
          "range of configurations. Our experiments on in-domain and cross-domain adaptation reveal the importance of "
          "exploration and reward scaling, and provide empirical counter-evidence to these claims.",
    quote_source="seed abstract (line 120, paper title on line 119): three contiguous sentences, verbatim",
    extension=True, unbiasedness=False,
    constants={"step_size": list(ETA_GRID)},
))
