r"""L95 (Feedback is All You Need): "Our approach 1) uses the derivatives of the model to produce sample-efficient
estimates of the policy gradient".

Protocol: kind=empirical, extension=True (since 2026-12-01, see "Revision"), unbiasedness=False. "Sample-efficient
estimates" is read as: at an equal, small number of real trajectories, the estimate built from the derivatives of an
approximate model is more accurate (lower mean squared error against the exact policy gradient) than the model-free
score-function estimate from the same trajectories (the *quoted part*, which gives ``quote_verdict``) — and, as an
extension, is an estimate of the gradient at all: more accurate than the zero vector, i.e. than using no data (the
*absolute part*). The absolute part is an extension because the sentence compares with "standard" model-free
estimation, and the paper's setting (nonlinear first-principles models with an embedded tracking controller) is not
this LQR: it can qualify the claim, never refute the paper. The model-derivative estimator is biased whenever the model
is wrong, so no unbiasedness is claimed; its bias is computed exactly.

What the estimator is (verified in the authors' code, not in the paper's body, which could not be read through
`search`: only its title page and abstract): CLeARoboticsLab/LearningWithSimpleModels.jl, ``src/gradient_estimate.jl``,
rolls the simple model forward as f̂(x_t, u_t) − f̂(x_t^real, u_t^real) + x_{t+1}^real — the values are those of the
real trajectory, the derivatives are the model's. For an LQR and a linear model (Â, B̂) this is the tangent recursion of
:mod:`pgtheory.exact.lqr_model_derivative`. "Feedback" in the paper's title and abstract is the low-level tracking
controller designed from the model and embedded in the policy class; for a linear-Gaussian policy u = −Kx + σε every
policy is already a state-feedback law, so this claim does not test the embedded-controller part (nor the hardware
results); the theory sentence about the feedback controller is not tested. Comparator (reported, not a twin): the
*pure-model* gradient (the exact ∇J_H of the model (Â, B̂), no real trajectories) shows what the real-trajectory states
add.

Design (fixed before running):
* Instances (``instances`` per scale): ``random_lqr(n=2, m=1, γ = 0.9, noise 0.3, seed)`` with K = K* + 0.3‖K*‖·d
  (d a random unit direction; redrawn until ρ(√γ(A − BK)) < 0.95), so ∇J ≠ 0. Horizon H = 50, steps weighted γ^t;
  the target is the exact ∇_K J_H (autograd through the moment recursion).
* Model: Â = A + ε‖A‖_F Δ_A/‖Δ_A‖_F, B̂ = B + ε‖B‖_F Δ_B/‖Δ_B‖_F with a fixed random direction per instance.
* Estimators on the same ``samples`` real trajectories: model-derivative (MD); GPOMDP score function (SF) with
  reward-to-go and a per-step baseline from an independent pilot of ``PILOT`` trajectories.
* MSE of the mean of N trajectories: MSE_MD(N) = ‖E ĝ_MD − ∇J_H‖² (exact) + tr Cov_MD/N, MSE_SF(N) = tr Cov_SF/N
  (SF is unbiased: checked). Rule per instance, two parts, each a (1 − α_cell) batch-means interval (``CHUNKS``
  chunks, t-interval on the log): quoted part, MSE_MD(N)/MSE_SF(N); absolute part (extension), MSE_MD(N)/‖∇J_H‖² (the
  zero vector's MSE is ‖∇J_H‖²; bias² exact, variance from the same chunks). Both intervals below 1 → holds; either
  wholly above 1 → fails; else undecided; α_cell = ctx.alpha / (2 · decisions). The quoted part alone gives
  ``quote_verdict`` (same family rule).
* Judged twin (zero vector): the quoted-part rule applied to the zero estimator, ‖∇J_H‖²/MSE_SF(N) (SF's chunks). If it
  passes on every instance at a setting, the quoted part alone cannot tell a gradient estimate from no data there (it is
  reported as toothless, and only the two-part rule decides); the two-part rule rejects the zero twin (its absolute
  ratio is exactly 1, never below 1), which the run checks.
* Primary: ε = 0.1, N = 10 trajectories ("limited amounts of real-world data"), σ = 0.3. Sensitivity (declared):
  ε ∈ {0.02, 0.05, 0.1, 0.2, 0.4} ("possibly highly simplified" models), N ∈ {1, 10, 100, 1000}, σ ∈ {0.1, 0.3, 1.0}.
  Family verdict at a setting: confirmed if all instances hold, refuted if any fails, else inconclusive. Expected, and
  honest because MD is biased: at N = 1000 an instance whose crossover N (where SF's MSE falls below MD's) is below 1000
  fails the quoted part there (quick crossovers were about 2 k–35 k), so that sweep point may read refuted.
* Code checks (bugs, not evidence): E ĝ_MD at (Â, B̂) = (A, B) equals ∇J_H to 1e-8 relative; the MC mean of MD
  matches its exact expectation and the MC mean of SF matches ∇J_H (bias tests at α = 1e-6) on every instance.
Not swept (fixed, a limitation): H = 50 and the gain offset 0.3; SF's variance grows with H, so H favours MD.

Revision 2026-12-01 (referee's audit s6a, B1; before any confirmatory run on the new rule — no full run of this claim
exists): the one-part rule MSE_MD/MSE_SF < 1 had no teeth — SF is so noisy here that the zero vector passed it on every
instance in every (ε, σ) cell at N = 10 in the first quick run, while MD's estimate was worse than the zero vector on
one instance in every such cell. Added the absolute part (MSE_MD(N) < ‖∇J_H‖², as an extension, so ``extension`` became True and
``quote_verdict`` reports the MD-vs-SF part alone), the judged zero twin, and the Bonferroni split over the two parts;
relabelled the pure-model gradient from "twin" to "comparator". Expected effect stated by the referee before the
change: qualified (instance 0 fails the absolute part at ε = 0.1).

Revision 2026-12-01 (a referee of the seed-10 ledger, before the seed-13 run): the seed-9 run (run seed 1009, commit
288a213) found a counterexample to the quoted part — instance 1, whose 10%-wrong model has closed-loop spectral radius
1.66, where the model-derivative gradient's MSE was 8.06e12 × the score function's — and the seed-10 draw had none, so
"the quoted part holds on all ten instances" depended on the draw. That instance (seed 1009001) is now a declared
counterexample (``COUNTEREXAMPLES``): every run judges it with the drawn family (its count is the family's plus one)
and returns its re-check to the protocol.

Simplified relative to the paper: an LQR instead of a car/quadruped, a linear (not nonlinear, first-principles) model,
a linear policy instead of a network with an embedded tracking controller.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from scipy import stats as _st

from ...estimators.model_derivative import (lqr_model_derivative_gradient, lqr_reward_to_go_baseline,
                                            lqr_score_function_gradient)
from ...exact.lqr import lqr_closed_loop_radius, lqr_optimal_gain
from ...exact.lqr_model_derivative import lqr_model_derivative_expectation, lqr_truncated_gradient
from ...policies.gaussian import LinearGaussianPolicy
from ...problems.lqr import LQR, random_lqr
from ...sampling.lqr import sample_lqr_trajectories
from ...stats import bias_test
from ..record import Claim, Evidence, RunContext, sweep_point
from ..registry import register_claim
from ..style import new_figure, plain_log_ticks, save_figure

ID = "L95-model-derivative-pg"
HORIZON = 50  #: H: γ^H = 0.005 at γ = 0.9, the usual effective horizon of a discounted LQR
GAIN_OFFSET = 0.3  #: ‖K − K*‖ / ‖K*‖: a suboptimal but stabilising gain with a non-zero gradient
PRIMARY = {"mismatch": 0.1, "trajectories": 10, "sigma": 0.3}  #: 10% model error, 10 real trajectories, σ = 0.3
MISMATCHES = (0.02, 0.05, 0.1, 0.2, 0.4)  #: relative model error ε, from a good model to a crude one
TRAJECTORIES = (1, 10, 100, 1000)  #: N real trajectories per gradient estimate
SIGMAS = (0.1, 0.3, 1.0)  #: exploration s.d. of the policy (SF's variance falls as σ grows)
CHUNKS = 40  #: batch-means chunks for the MSE-ratio interval
PILOT = 1000  #: pilot trajectories (independent stream) for the SF baseline
CHECK_ALPHA = 1e-6  #: level of the code-check bias tests
MAX_DRAWS = 100  #: redraws of an instance until ρ(√γ(A − BK)) < 0.95
IDENTITY_TOL = 1e-8  #: relative tolerance of E ĝ_MD(A, B) = ∇J_H (float64 round-off over H = 50 steps)


def _instance(seed: int) -> tuple[LQR, torch.Tensor, torch.Tensor, torch.Tensor]:
    """An LQR, a stabilising suboptimal gain and the model-error directions (Δ_A, Δ_B), all from ``seed``."""
    rng = np.random.default_rng(seed)
    g = torch.Generator().manual_seed(seed)
    for _ in range(MAX_DRAWS):
        lqr = random_lqr(2, 1, seed=rng, discount=0.9)
        Ks = lqr_optimal_gain(lqr).gain
        d = torch.randn(1, 2, generator=g, dtype=torch.float64)
        K = Ks + GAIN_OFFSET * Ks.norm() * d / d.norm()
        if math.sqrt(lqr.discount) * float(lqr_closed_loop_radius(lqr, K)) < 0.95:
            dA = torch.randn(2, 2, generator=g, dtype=torch.float64)
            dB = torch.randn(2, 1, generator=g, dtype=torch.float64)
            return lqr, K, dA / dA.norm(), dB / dB.norm()
    raise RuntimeError(f"seed: no instance with a well-damped gain in {MAX_DRAWS} draws (seed {seed})")


def _model(lqr: LQR, dA, dB, eps: float):
    return lqr.A + eps * lqr.A.norm() * dA, lqr.B + eps * lqr.B.norm() * dB


def _measure(lqr, K, dA, dB, eps, sigma, n, g, gp, failures, tag):
    pol = LinearGaussianPolicy(2, 1, std=sigma)
    truth = lqr_truncated_gradient(lqr, pol, K, HORIZON)
    Ah, Bh = _model(lqr, dA, dB, eps)
    expect = lqr_model_derivative_expectation(lqr, pol, K, HORIZON, Ah, Bh)
    pure = lqr_truncated_gradient(LQR(Ah, Bh, lqr.Q, lqr.R, lqr.discount, noise_cov=lqr.noise_cov,
                                      initial_cov=lqr.initial_cov), pol, K, HORIZON)
    batch = sample_lqr_trajectories(lqr, pol, K, n, g, termination="truncate", horizon=HORIZON)
    pilot = sample_lqr_trajectories(lqr, pol, K, PILOT, gp, termination="truncate", horizon=HORIZON)
    md = lqr_model_derivative_gradient(lqr, batch, Ah, Bh).reshape(n, -1)
    sf = lqr_score_function_gradient(batch, pol, lqr_reward_to_go_baseline(pilot)).reshape(n, -1)
    if bias_test(md, expect.reshape(-1)).pvalue <= CHECK_ALPHA:
        failures.append(f"{tag}: MC mean of the model-derivative estimator differs from its exact expectation")
    if bias_test(sf, truth.reshape(-1)).pvalue <= CHECK_ALPHA:
        failures.append(f"{tag}: MC mean of the score-function estimator differs from ∇J_H")
    chunk = n // CHUNKS
    v_md = np.array([float(md[j * chunk:(j + 1) * chunk].var(0).sum()) for j in range(CHUNKS)])
    v_sf = np.array([float(sf[j * chunk:(j + 1) * chunk].var(0).sum()) for j in range(CHUNKS)])
    Ah_closed = Ah - Bh @ K
    return {"truth_norm": float(truth.norm()), "bias2": float(((expect - truth) ** 2).sum()),
            "pure_model_err2": float(((pure - truth) ** 2).sum()),
            "var_md": float(md.var(0).sum()), "var_sf": float(sf.var(0).sum()), "chunk_var_md": v_md, "chunk_var_sf": v_sf,
            "model_closed_loop_radius": float(torch.linalg.eigvals(Ah_closed).abs().max())}


def _log_interval(ratio: float, chunk_ratios: np.ndarray, level: float) -> dict:
    """A ratio with a (``level``) t-interval on the log over chunk ratios; outcome "holds" when the interval lies below 1,
    "fails" when wholly above 1, "undecided" otherwise. A ratio whose chunks do not vary has a zero-width interval."""
    logs = np.log(chunk_ratios)
    k = len(logs)
    half = _st.t.isf((1 - level) / 2, k - 1) * logs.std(ddof=1) / math.sqrt(k)
    centre = math.log(ratio)
    lo, hi = math.exp(centre - half), math.exp(centre + half)
    return {"ratio": ratio, "ci": [lo, hi], "outcome": "holds" if hi < 1 else ("fails" if lo > 1 else "undecided")}


def _combine(*outcomes: str) -> str:
    """A two-part rule: holds when every part holds, fails when any part fails, else undecided."""
    if "fails" in outcomes:
        return "fails"
    return "holds" if all(o == "holds" for o in outcomes) else "undecided"


def _decide(m: dict, N: int, level: float) -> dict:
    """Per instance at N trajectories: the quoted part MSE_MD(N)/MSE_SF(N), the absolute part MSE_MD(N)/‖∇J_H‖²
    (extension), their combination, and the judged zero twin under the quoted-part rule (‖∇J_H‖²/MSE_SF(N)) and under
    the two-part rule (zero's absolute ratio is exactly 1)."""
    t2 = m["truth_norm"] ** 2
    mse_md, chunk_md = m["bias2"] + m["var_md"] / N, m["bias2"] + m["chunk_var_md"] / N
    vs_sf = _log_interval(mse_md / (m["var_sf"] / N), chunk_md / (m["chunk_var_sf"] / N), level)
    vs_zero = _log_interval(mse_md / t2, chunk_md / t2, level)
    zero_vs_sf = _log_interval(t2 / (m["var_sf"] / N), t2 / (m["chunk_var_sf"] / N), level)
    zero_vs_zero = _log_interval(1.0, np.ones(len(m["chunk_var_sf"])), level)
    return {"ratio": vs_sf["ratio"], "ci": vs_sf["ci"], "quote_outcome": vs_sf["outcome"],
            "abs_ratio": vs_zero["ratio"], "abs_ci": vs_zero["ci"], "abs_outcome": vs_zero["outcome"],
            "outcome": _combine(vs_sf["outcome"], vs_zero["outcome"]),
            "zero_twin_ratio": zero_vs_sf["ratio"], "zero_twin_quote_outcome": zero_vs_sf["outcome"],
            "zero_twin_outcome": _combine(zero_vs_sf["outcome"], zero_vs_zero["outcome"])}


def _family(outcomes) -> str:
    if "fails" in outcomes:
        return "refuted"
    return "confirmed" if all(o == "holds" for o in outcomes) else "inconclusive"


#: instances on which an earlier run found the quoted part to fail (protocol rule 4: re-checked in every run)
COUNTEREXAMPLES = ({"instance": {"seed": 1009 * 1000 + 1}, "found": "full run seed 1009 at commit 288a213 (instance 1: "
                    "10%-wrong model with closed-loop radius 1.66; MSE 8.06e12 × the score function's)"},)


def run(ctx: RunContext) -> Evidence:
    s = ctx.settings
    n = s["samples"]
    g = torch.Generator().manual_seed(ctx.seed)
    gp = torch.Generator().manual_seed(ctx.seed + 5_555_555)
    # the drawn family, then every counterexample an earlier run found (protocol rule 4): judged with the family
    seeds = [ctx.seed * 1000 + i for i in range(s["instances"])] + [c["instance"]["seed"] for c in ctx.counterexamples]
    insts = [_instance(sd) for sd in seeds]
    failures = []
    for i, (lqr, K, _, _) in enumerate(insts):
        pol = LinearGaussianPolicy(2, 1, std=PRIMARY["sigma"])
        tr = lqr_truncated_gradient(lqr, pol, K, HORIZON)
        gap = float((lqr_model_derivative_expectation(lqr, pol, K, HORIZON, lqr.A, lqr.B) - tr).abs().max())
        if gap > IDENTITY_TOL * (1 + float(tr.abs().max())):
            failures.append(f"instance {i}: E ĝ_MD with the true model differs from ∇J_H by {gap:.3g}")
    cells = sorted({(e, PRIMARY["sigma"]) for e in MISMATCHES} | {(PRIMARY["mismatch"], sg) for sg in SIGMAS})
    meas = {(e, sg): [_measure(lqr, K, dA, dB, e, sg, n, g, gp, failures, f"instance {i}, ε = {e}, σ = {sg}")
                      for i, (lqr, K, dA, dB) in enumerate(insts)] for e, sg in cells}
    settings = ([("mismatch", e, e, PRIMARY["trajectories"], PRIMARY["sigma"]) for e in MISMATCHES] +
                [("trajectories", N, PRIMARY["mismatch"], N, PRIMARY["sigma"]) for N in TRAJECTORIES] +
                [("sigma", sg, PRIMARY["mismatch"], PRIMARY["trajectories"], sg) for sg in SIGMAS])
    level = 1 - ctx.alpha / (2 * len(settings) * len(insts))
    decided = {(c, v): [_decide(m, N, level) for m in meas[(e, sg)]] for c, v, e, N, sg in settings}
    primary = decided[("mismatch", PRIMARY["mismatch"])]
    outcomes = [r["outcome"] for r in primary]
    verdict = _family(outcomes)
    quote_verdict = _family([r["quote_outcome"] for r in primary])
    sensitivity = [sweep_point(c, v, _family([r["outcome"] for r in decided[(c, v)]]),
                               quote_verdict=_family([r["quote_outcome"] for r in decided[(c, v)]]),
                               max_mse_ratio=max(r["ratio"] for r in decided[(c, v)]),
                               max_mse_ratio_ci_high=max(r["ci"][1] for r in decided[(c, v)]),
                               max_mse_over_zero=max(r["abs_ratio"] for r in decided[(c, v)]),
                               zero_twin_passes_quoted_part=sum(r["zero_twin_quote_outcome"] == "holds" for r in decided[(c, v)]),
                               zero_twin_passes_rule=sum(r["zero_twin_outcome"] == "holds" for r in decided[(c, v)]),
                               instances=len(decided[(c, v)]))
                   for c, v, *_ in settings]
    zero_quote = [r["zero_twin_quote_outcome"] == "holds" for r in primary]
    zero_rule = [r["zero_twin_outcome"] == "holds" for r in primary]
    if any(zero_rule):
        failures.append("the two-part rule passed the zero vector (its MSE/‖∇J_H‖² is exactly 1): a bug in the rule")
    toothless_at = [f"{c} = {v}" for c, v, *_ in settings if all(r["zero_twin_quote_outcome"] == "holds" for r in decided[(c, v)])]
    prim_meas = meas[(PRIMARY["mismatch"], PRIMARY["sigma"])]
    rel_bias = {e: [math.sqrt(m["bias2"]) / m["truth_norm"] for m in meas[(e, PRIMARY["sigma"])]] for e in MISMATCHES}
    rel_pure = {e: [math.sqrt(m["pure_model_err2"]) / m["truth_norm"] for m in meas[(e, PRIMARY["sigma"])]] for e in MISMATCHES}
    crossover = [(m["var_sf"] - m["var_md"]) / m["bias2"] if m["bias2"] > 0 and m["var_sf"] > m["var_md"] else None
                 for m in prim_meas]
    flips = [p for p in sensitivity if p["verdict"] != verdict]
    N0 = PRIMARY["trajectories"]
    rmse_md = [math.sqrt(m["bias2"] + m["var_md"] / N0) / m["truth_norm"] for m in prim_meas]
    rmse_sf = [math.sqrt(m["var_sf"] / N0) / m["truth_norm"] for m in prim_meas]
    pure_closer = sum(m["pure_model_err2"] < m["bias2"] for m in prim_meas)
    abs_ratios = [r["abs_ratio"] for r in primary]

    ratios = [r["ratio"] for r in primary]
    return Evidence(
        verdict=verdict, statistic=max(ratios),
        threshold=(f"every instance: (1 − {ctx.alpha:.2g}/{2 * len(settings) * len(insts)}) intervals of MSE_MD(N)/MSE_SF(N) "
                   f"(quoted part) and of MSE_MD(N)/‖∇J_H‖² (extension: beats the zero vector) below 1 at "
                   f"ε = {PRIMARY['mismatch']}, N = {PRIMARY['trajectories']}, σ = {PRIMARY['sigma']}"),
        n_samples=len(cells) * len(insts) * (n + PILOT),
        summary=(f"With a 10%-wrong linear model and N = 10 real trajectories, the model-derivative gradient's MSE is "
                 f"{min(ratios):.3g}–{max(ratios):.3g}× the score-function estimator's on {len(insts)} LQR instances "
                 + (f"(the last {len(ctx.counterexamples)} a counterexample of an earlier run, re-checked) "
                    if ctx.counterexamples else "") +
                 f"({[r['quote_outcome'] for r in primary].count('holds')}/{len(insts)} intervals below 1: quoted part "
                 f"{quote_verdict}); its MSE is " + ", ".join(f"{v:.3g}" for v in abs_ratios) + " × ‖∇J_H‖², the zero "
                 f"vector's ({[r['abs_outcome'] for r in primary].count('holds')}/{len(insts)} intervals below 1: extension; "
                 f"both parts hold on {outcomes.count('holds')}/{len(insts)}); the zero vector itself passes the quoted part "
                 f"on {sum(zero_quote)}/{len(insts)} instances and the two-part rule on {sum(zero_rule)}/{len(insts)}"
                 + (f" (quoted part alone toothless at {len(toothless_at)}/{len(settings)} settings)" if toothless_at else "") +
                 "; relative bias "
                 + ", ".join(f"{float(np.median(rel_bias[e])):.2g} at ε = {e}" for e in MISMATCHES) +
                 " (median), against " + ", ".join(f"{float(np.median(rel_pure[e])):.2g}" for e in MISMATCHES) +
                 " for the pure-model gradient (comparator; closer than the model-derivative mean on "
                 f"{pure_closer}/{len(insts)} instances at ε = {PRIMARY['mismatch']}); relative RMSE at N = {N0}: model derivative "
                 + ", ".join(f"{v:.2g}" for v in rmse_md) + ", score function " + ", ".join(f"{v:.2g}" for v in rmse_sf) +
                 " (above 1: no better than the zero vector); the score function overtakes it only beyond N ≈ "
                 + ", ".join("never" if c is None else f"{c:.3g}" for c in crossover) + " trajectories (ε = 0.1). "
                 + ("Verdict changes at " + "; ".join(f"{p['constant']} = {p['value']}: {p['verdict']}" for p in flips)
                    if flips else "Same verdict across the sweep") + ". Embedded feedback controller and hardware not tested"),
        details={"cells": {f"eps={e},sigma={sg}": [{k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in m.items()}
                                                   for m in ms] for (e, sg), ms in meas.items()},
                 "decisions": {f"{c}={v}": rs for (c, v), rs in decided.items()}, "relative_bias": {str(e): v for e, v in rel_bias.items()},
                 "relative_pure_model_error": {str(e): v for e, v in rel_pure.items()}, "crossover_trajectories": crossover,
                 "relative_rmse_primary": {"model_derivative": rmse_md, "score_function": rmse_sf},
                 "interval_level": level, "code_check_failures": failures,
                 "zero_twin": {"passes_quoted_part_primary": zero_quote, "passes_rule_primary": zero_rule,
                               "quoted_part_toothless_at": toothless_at}},
        instances=[o == "holds" for o in outcomes],
        sensitivity=sensitivity,
        code_checks=failures,
        quote_verdict=quote_verdict,
        rechecked=[{"instance": c["instance"], "holds": r["quote_outcome"] == "holds", "mse_ratio": r["ratio"],
                    "extension_outcome": r["abs_outcome"]}
                   for c, r in zip(ctx.counterexamples, primary[s["instances"]:])],
        measurements={"verdict": verdict, "relative_bias": [rel_bias[e] for e in MISMATCHES],
                      "relative_pure_model_error": [rel_pure[e] for e in MISMATCHES],
                      "instance0": {"bias2": [meas[(e, PRIMARY["sigma"])][0]["bias2"] for e in MISMATCHES],
                                    "var_md": [meas[(e, PRIMARY["sigma"])][0]["var_md"] for e in MISMATCHES],
                                    "var_sf": prim_meas[0]["var_sf"], "truth_norm": prim_meas[0]["truth_norm"]}},
    )


def _draw(m: dict, figure_dir: str) -> str:
    """The figure, from the stored measurements: relative bias against ε per instance; instance 0's RMSE against N."""
    rel_bias, rel_pure = m["relative_bias"], m["relative_pure_model_error"]  # [ε, instance]
    title = f"Model-derivative vs score-function policy gradient on LQR — raw {m['verdict']}"
    fig, (a1, a2) = new_figure(ID, title, ncols=2, width=4.6)
    for i in range(rel_bias.shape[1]):
        a1.plot(MISMATCHES, rel_bias[:, i], "o-", ms=3, color=f"C{i}",
                label=f"inst. {i}: model derivatives, real trajectories")
        a1.plot(MISMATCHES, rel_pure[:, i], "s--", ms=3, color=f"C{i}", alpha=0.6,
                label=f"inst. {i}: pure-model gradient (comparator)")
    a1.set_xscale("log")
    a1.set_yscale("log")
    plain_log_ticks(a1, list(MISMATCHES), "x")
    lows = [float(v) for j in range(len(MISMATCHES)) for v in list(rel_bias[j]) + list(rel_pure[j]) if v > 0]
    decades = range(int(math.floor(math.log10(min(lows)))), int(math.ceil(math.log10(max(lows)))) + 2)
    plain_log_ticks(a1, [10.0 ** k for k in decades], "y")
    a1.set_ylim(10.0 ** decades[0], 10.0 ** decades[-1])
    a1.set_xlabel("relative model error ε = ‖Â − A‖/‖A‖ = ‖B̂ − B‖/‖B‖")
    a1.set_ylabel("relative bias ‖E ĝ − ∇J_H‖ / ‖∇J_H‖ (exact)")
    a1.legend(fontsize=6, loc="upper left", ncol=1)
    Ns = np.logspace(0, 4, 41)
    m0 = m["instance0"]
    tn, var_sf = m0["truth_norm"], m0["var_sf"]
    a2.plot(Ns, np.sqrt(var_sf / Ns) / tn, "k-", lw=1.5, label="score function + baseline")
    a2.axhline(1.0, color="grey", ls="--", lw=0.8, label="zero vector (no data)")
    for j, e in enumerate(MISMATCHES):
        a2.plot(Ns, np.sqrt(m0["bias2"][j] + m0["var_md"][j] / Ns) / tn, "-", color=f"C{j}",
                label=f"model derivative, ε = {e}")
    a2.axvline(PRIMARY["trajectories"], color="grey", ls=":", lw=0.8)
    a2.set_xscale("log")
    a2.set_yscale("log")
    plain_log_ticks(a2, [1, 10, 100, 1000, 10000], "x")
    tops = [math.sqrt(var_sf) / tn] + [math.sqrt(b2) / tn for b2 in m0["bias2"]]
    lo_top, hi_top = int(math.floor(math.log10(min(tops)))), int(math.ceil(math.log10(max(tops))))
    plain_log_ticks(a2, [10.0 ** k for k in range(lo_top, hi_top + 1)], "y")
    a2.set_xlabel("N real trajectories per estimate (H = 50 steps)")
    a2.set_ylabel("relative RMSE √MSE / ‖∇J_H‖ (instance 0)")
    a2.legend(fontsize=5)
    return save_figure(fig, figure_dir, ID)


register_claim(Claim(
    id=ID, paper="Feedback is All You Need: Real-World Reinforcement Learning with Approximate Physics-Based Models (Westenbroek, Levy & Fridovich-Keil 2023)",
    seed_line=95, draw=_draw, figure_family="pathwise",
    claim="derivatives of an approximate model, evaluated along real trajectories, give sample-efficient policy-gradient estimates",
    theme="OTH",
    exact="∇J_H of a discounted LQR (autograd through the moment recursion); exact expectation (bias) of the model-derivative "
          "estimator by an augmented moment recursion; the pure-model gradient",
    monte_carlo="per-trajectory model-derivative and GPOMDP (reward-to-go + pilot baseline) estimates on the same real trajectories",
    test="MSE_MD(N)/MSE_SF(N) < 1 (quoted part) and MSE_MD(N)/‖∇J_H‖² < 1 (extension: beats the zero vector) with "
         "(1 − α) batch-means intervals on every instance at ε = 0.1, N = 10, σ = 0.3; judged zero-vector twin; "
         "sweeps of ε, N and σ",
    scales={"quick": {"instances": 3, "samples": 4000}, "full": {"instances": 10, "samples": 40_000}},
    run=run,
    source="Seed abstract (line 95); arXiv 2307.08168 (title page and abstract via `search`); the estimator's form from the "
           "authors' code (CLeARoboticsLab/LearningWithSimpleModels.jl, src/gradient_estimate.jl). The paper's theorem on "
           "the feedback controller and its exact assumptions were not read.",
    kind="empirical",
    reading="as-written",
    quote="Our approach 1) uses the derivatives of the model to produce sample-efficient estimates of the policy gradient",
    quote_source="seed abstract (line 95), via shared/CLAIMS.md; a contiguous part of one sentence",
    extension=True,
    constants={"mismatch": list(MISMATCHES), "trajectories": list(TRAJECTORIES), "sigma": list(SIGMAS)},
    counterexamples=COUNTEREXAMPLES,
))
