r"""L93 (Stabilizing RL with LLMs: formulation): "through a first-order approximation, we show that this surrogate
becomes increasingly valid only when both the training-inference discrepancy and policy staleness are minimized".

The token-level surrogate's gradient is E_{y∼μ}[Σ_t r_t A ∇log π_θ(y_t|·)], r_t = π_θ(y_t|·)/μ(y_t|·); the exact
sequence gradient is E_μ[(Π_t r_t) A Σ_t ∇log π_θ(y_t|·)]. Design (fixed before running), toy LLM (V = 3, L = 4,
one prompt, 40 responses, binary reward), A = R − J_μ (a constant baseline), θ random:
* mismatch: μ = π at logits θ + σE (E ~ N(0, I) fixed), σ ∈ logspace(−3, 0, 7), no staleness;
* staleness: μ = π_{θ − sD}, D = ∇J(θ) rescaled to norm √dim θ, s ∈ logspace(−3, 0, 7), no mismatch.
Exact expected gradients by enumerating all responses for (a) no correction, (b) token IS, (c) sequence IS,
(d) PPO-clipped token IS (ε = 0.2: zero gradient where the clipped side is active). Relative bias
‖E ĝ − ∇J‖/‖∇J‖; log–log slope over the four smallest σ (s) reported. A Monte Carlo check (``samples`` responses,
α = 1e-6) confirms the sampled token-IS estimator has the enumerated expectation at σ = 0.3.
Verdict. The quoted sentence (the quote's own test): token IS's relative bias falls monotonically as σ → 0 and as
s → 0, at first order (log–log slope ≥ 0.9 over the four smallest grid points). The extension (thresholds this
package chose, not the paper's): < 1% at the smallest σ and s and > 5% at the largest of either. Confirmed if both
hold; a failed extension only qualifies. Sequence IS's exactness (< 1e-10) and the Monte Carlo check of the enumeration
are checks of our code (``code_checks``), not evidence about the paper.
Protocol: kind=empirical, extension=True, unbiasedness=False — the verdict rests on exact (enumerated) biases ordered on a
grid. Revised 2026-11-30 (a referee: the 1%/5% thresholds were invented, yet could refute): the thresholds became an
extension and the quoted part is judged on monotonicity and the first-order slope; made before any full run of the
revised rule.
Family and sweep (2026-12-01, second; a referee of the seed-13 ledger, before the seed-18 run): the claim rested on
one task, one θ and one noise direction, with none of its declared constants swept. It now runs ``instances`` toy LLMs
(each its own random answer, θ, E; seeds run_seed·1000 + k); the quoted part is confirmed when it holds on every
instance and refuted when it fails on any (exact values: a counterexample; a pre-run audit, same day, found "more than
half" more lenient than every other exact check); the extension's thresholds can only qualify. The first-order slope
is fitted on SLOPE_GRID = logspace(−5, −3, 5) (was the four smallest main-grid points, up to 0.03, where curvature
alone gave 0.88 on a quick V = 5 instance — a limit read off a window that had not reached it).
The response length L ∈ SWEEP_L and the vocabulary V ∈ SWEEP_V are swept on every instance seed. The clip width ε
entered no rule (the clipped variant is reported only) and is no longer a declared constant.
Note (2026-12-01, fourth; a referee of the seed-18 ledger; no rule changed, the record gains one field): the
extension's "< 1% at the smallest grid point" reads the bias at a grid value, not at a matched discrepancy; the
staleness direction D is scaled to norm √dim θ, so the same s is a larger move (a larger KL) as V and L grow — the
V = 5 and L = 5 sweep points' extension failures are at the smallest s, where their KL is about three times the main
design's, and the bias there is exactly first order (the quoted part holds), so they say where the grid stops, not how
the surrogate behaves. Each sweep point now records the largest KL(π‖μ) at the smallest σ and s; the paper reports the
extension's flips with it. The threshold is not moved to a matched KL here: that would choose a new constant after seeing
which points fail.

Multiplicity (checked 2026-12-01, referee of the paper draft; before the confirmatory run at seed 8; no code changed):
the one statistical decision — the Monte Carlo check of the enumeration, a code check that can make the verdict
inconclusive — is a bias test at α = 1e-6, stricter than the claim's share ctx.alpha/k with k = 1 (≈ 3.9e-4), so it
stays; the quoted and extension rules are decided on exact (enumerated) values.
"""
from __future__ import annotations

import numpy as np
import torch

from ...estimators import token_ratios
from ...exact import sequence_kl, sequence_policy_gradient, sequence_probs
from ...policies import TabularSequencePolicy
from ...problems import toy_sequence_task
from ...sampling import sample_sequence_groups
from ...stats import bias_test
from ..record import Claim, Evidence, RunContext, sweep_point
from ..registry import register_claim
from ..style import new_figure, save_figure

ID = "L93-token-surrogate-first-order"
ALPHA = 1e-6
EPS = 0.2
GRID = np.logspace(-3, 0, 7)
SLOPE_GRID = np.logspace(-5, -3, 5)  #: where the first-order slope is fitted (the limit x → 0)
KINDS = ("no correction", "token IS", "sequence IS", "clipped token IS")
MIN_FIRST_ORDER_SLOPE = 0.9  #: "first-order approximation": the bias vanishes like x (slope 1); 0.9 allows grid curvature
V_MAIN, L_MAIN = 3, 4  #: the main toy LLM's vocabulary and response length
SWEEP_L = (3, 5)  #: response lengths swept (declared range [2, 6]; 6 would enumerate 3^6 responses per grid point)
SWEEP_V = (2, 5)  #: vocabularies swept (declared range [2, 5])


def _target_terms(pol, th):
    """What every expectation at θ shares, whatever μ: the token log-probabilities ``[N, L]`` and their Jacobian
    ``[N, L, dim]`` in θ (computed once per instance, not once per behaviour policy)."""
    tok_pi = pol.sequence_token_log_probs(th)[0]
    jac = torch.func.jacrev(lambda t: pol.sequence_token_log_probs(t)[0])(th).reshape(*tok_pi.shape, -1)
    return tok_pi, jac


def _expected(pol, terms, th_mu):
    """Exact E_μ of each estimator's gradient, flattened: dict kind → [dim]; ``terms`` = :func:`_target_terms` at θ."""
    task = pol.task
    tok_pi, jac = terms
    tok_mu = pol.sequence_token_log_probs(th_mu)[0]
    mask = task.mask
    p_mu = tok_mu.sum(-1).exp()
    adv = task.rewards[0] - float((p_mu * task.rewards[0]).sum())
    r = token_ratios(tok_pi, tok_mu, mask)
    seq = r.prod(-1)
    coef = {"no correction": mask.double(), "token IS": r * mask, "sequence IS": seq[:, None] * mask,
            "clipped token IS": r * mask * torch.where(adv[:, None] >= 0, r <= 1 + EPS, r >= 1 - EPS)}
    return {k: torch.einsum("n,nl,nld->d", p_mu * adv, c, jac) for k, c in coef.items()}


def _instance(V: int, L: int, seed: int) -> dict:
    """One toy LLM (V tokens, length L, one prompt, a random answer), θ and the noise direction E from ``seed``: the
    exact relative biases along both axes and the rule's failures there."""
    task = toy_sequence_task(V, L, 1, seed=seed)
    pol = TabularSequencePolicy(task)
    g = torch.Generator().manual_seed(seed)
    th = pol.random_params(generator=g)
    E = pol.random_params(generator=g)
    grad = sequence_policy_gradient(pol, th).reshape(-1)
    D = (grad / grad.norm() * grad.numel() ** 0.5).reshape(th.shape)
    terms = _target_terms(pol, th)
    axes = (("mismatch σ", lambda x: th + x * E), ("staleness s", lambda x: th - x * D))
    code_checks, quote_failures, extension_failures = [], [], []
    curves = {}
    for axis, make in axes:
        rows = []
        for x in GRID:
            th_mu = make(float(x))
            ex = _expected(pol, terms, th_mu)
            row = {"x": float(x), "kl": float(sequence_kl(pol, th, th_mu)[0])}
            for k in KINDS:
                row[k] = float((ex[k] - grad).norm() / grad.norm())
            rows.append(row)
        curves[axis] = rows
        if max(r["sequence IS"] for r in rows) > 1e-10:
            code_checks.append(f"sequence IS not exact along {axis} (V={V}, L={L}, seed {seed})")
        tok = [r["token IS"] for r in rows]
        if not all(a <= b * (1 + 1e-9) for a, b in zip(tok, tok[1:])):
            quote_failures.append(f"token IS bias along {axis} not monotone: {['%.2g' % t for t in tok]}")
        if not (tok[0] < 0.01 and tok[-1] > 0.05):
            extension_failures.append(f"token IS bias along {axis}: {tok[0]:.2g} at the smallest, {tok[-1]:.2g} at the largest "
                                      "(extension: < 1% and > 5%)")
    slopes = {}
    for axis, make in axes:
        # the first-order slope near 0 (SLOPE_GRID, two decades below the main grid; 2026-12-01, second: fitted over the
        # four smallest main-grid points, up to 0.03, curvature alone pushed it to 0.88 on a quick V = 5 instance)
        near = [_expected(pol, terms, make(float(x))) for x in SLOPE_GRID]
        for k in ("no correction", "token IS", "clipped token IS"):
            ys = np.array([float((ex[k] - grad).norm() / grad.norm()) for ex in near])
            slopes[f"{k}|{axis}"] = float(np.polyfit(np.log(SLOPE_GRID), np.log(np.maximum(ys, 1e-300)), 1)[0])
        if slopes[f"token IS|{axis}"] < MIN_FIRST_ORDER_SLOPE:
            quote_failures.append(f"token IS bias along {axis} vanishes slower than first order "
                                  f"(slope {slopes[f'token IS|{axis}']:.2f} < {MIN_FIRST_ORDER_SLOPE})")
    return {"curves": curves, "slopes": slopes, "quote_failures": quote_failures, "extension_failures": extension_failures,
            "code_checks": code_checks, "pol": pol, "th": th, "E": E, "terms": terms}


def family_verdicts(results: list[dict]) -> tuple[str, str]:
    """(quote verdict, rule verdict) over a family of instances: the quoted part is confirmed when it holds on every
    instance and refuted when it fails on any (the values are exact: a failing instance is a counterexample, as in
    protocol rule 4); the rule adds the extension's thresholds, whose failure can only qualify (the protocol combines
    the two)."""
    q_fail = sum(bool(r["quote_failures"]) for r in results)
    quote = "confirmed" if q_fail == 0 else "refuted"  # exact values: a failing instance is a counterexample
    ext_fail = any(r["extension_failures"] for r in results)
    return quote, (quote if quote != "confirmed" else ("refuted" if ext_fail else "confirmed"))


def run(ctx: RunContext) -> Evidence:
    s = ctx.settings
    seeds = [ctx.seed * 1000 + k for k in range(s["instances"])]
    results = [_instance(V_MAIN, L_MAIN, sd) for sd in seeds]
    code_checks = [c for r in results for c in r["code_checks"]]
    first = results[0]
    curves, slopes = first["curves"], first["slopes"]
    pol, th, E = first["pol"], first["th"], first["E"]
    task = pol.task
    # Monte Carlo check of the enumeration at σ = 0.3 (first instance)
    n = s["samples"]
    th_mu = th + 0.3 * E
    groups = sample_sequence_groups(pol, th, n, 1, torch.Generator().manual_seed(ctx.seed + 3), behaviour_theta=th_mu)
    tok_jac = first["terms"][1]  # [N, L, dim]
    p_mu = sequence_probs(pol, th_mu)[0]
    adv = groups.rewards[:, 0] - float((p_mu * task.rewards[0]).sum())
    r = token_ratios(groups.token_log_target[:, 0], groups.token_log_behaviour[:, 0], groups.mask[:, 0])
    est = torch.einsum("n,nl,nld->nd", adv, r * groups.mask[:, 0], tok_jac[groups.index[:, 0]])
    mc = bias_test(est, _expected(pol, first["terms"], th_mu)["token IS"])
    if mc.pvalue <= ALPHA:
        code_checks.append(f"sampled token-IS estimator ≠ its enumerated expectation (p = {mc.pvalue:.2g})")
    quote_verdict, verdict = family_verdicts(results)
    failures = [f"instance {k}: {f}" for k, r in enumerate(results) for f in r["quote_failures"] + r["extension_failures"]]
    # sensitivity (added 2026-12-01, second; a referee of the seed-13 ledger: one instance, none of the declared
    # constants swept): the response length and the vocabulary, each on every instance seed of the main run
    sens = []
    for constant, values, make in (("response length L", SWEEP_L, lambda v: (V_MAIN, v)),
                                   ("vocabulary V", SWEEP_V, lambda v: (v, L_MAIN))):
        for v in values:
            res = [_instance(*make(v), sd) for sd in seeds]
            code_checks += [c for r_ in res for c in r_["code_checks"]]
            qv, rv = family_verdicts(res)
            sens.append(sweep_point(constant, v, rv, quote_verdict=qv, instances=len(res),
                                    holds_quoted_part_on=sum(not r_["quote_failures"] for r_ in res),
                                    extension_holds_on=sum(not r_["extension_failures"] for r_ in res),
                                    kl_at_smallest_grid_point={ax: max(r_["curves"][ax][0]["kl"] for r_ in res)
                                                               for ax in ("mismatch σ", "staleness s")},
                                    token_is_slope_min=min(min(r_["slopes"]["token IS|mismatch σ"],
                                                               r_["slopes"]["token IS|staleness s"]) for r_ in res)))
    slope_min = {ax: min(r_["slopes"][f"token IS|{ax}"] for r_ in results) for ax in ("mismatch σ", "staleness s")}
    return Evidence(
        verdict=verdict, statistic=float(sum(bool(r_["quote_failures"]) for r_ in results)),
        threshold=(f"quote: token-IS relative bias monotone in σ and s with first-order slope ≥ {MIN_FIRST_ORDER_SLOPE} "
                   "(fitted on σ, s ∈ [1e-5, 1e-3]) on every instance (a failing instance refutes); extension: < 1% at the smallest and "
                   "> 5% at the largest σ and s"),
        n_samples=n,
        summary=(f"On {len(results)} toy LLMs (V = {V_MAIN}, L = {L_MAIN}, random answer, θ and noise direction): the quoted "
                 f"part holds on {sum(not r_['quote_failures'] for r_ in results)}/{len(results)}, the extension on "
                 f"{sum(not r_['extension_failures'] for r_ in results)}/{len(results)}; smallest first-order slope of the "
                 f"token-IS bias {slope_min['mismatch σ']:.2f} (σ), {slope_min['staleness s']:.2f} (s). Instance 0: "
                 f"relative bias at σ = 1: token IS {curves['mismatch σ'][-1]['token IS']:.2f}, no correction "
                 f"{curves['mismatch σ'][-1]['no correction']:.2f}, clipped {curves['mismatch σ'][-1]['clipped token IS']:.2f}; "
                 f"at s = 1: token IS {curves['staleness s'][-1]['token IS']:.2f}, no correction "
                 f"{curves['staleness s'][-1]['no correction']:.2f}; sequence IS exact; the sampled token-IS gradient "
                 f"matches its enumerated mean (p = {mc.pvalue:.2g})" + (". Failures: " + "; ".join(failures[:4]) if failures else "")),
        details={"failures": failures, "curves": curves, "slopes": slopes, "slope_min": slope_min,
                 "mc_max_abs_z": float(np.abs(mc.z).max()), "instance_seeds": seeds},
        instances=[not (r_["quote_failures"] or r_["extension_failures"]) for r_ in results],
        sensitivity=sens, quote_verdict=quote_verdict, code_checks=code_checks,
        measurements={"axes": list(curves), "x": np.array([[r_["x"] for r_ in rows] for rows in curves.values()]),
                      "rel_bias": np.array([[[r_[k] for r_ in rows] for k in KINDS] for rows in curves.values()])},
    )


def _draw(m: dict, figure_dir: str) -> str:
    """The figure, from the stored measurements: exact relative gradient bias of each estimator against σ and s."""
    fig, axes = new_figure(ID, "Token-level surrogate: gradient bias against mismatch and staleness", ncols=2,
                           width=4.6)
    for a, axis, x, bias in zip(axes, (str(n) for n in m["axes"]), m["x"], m["rel_bias"]):
        for i, k in enumerate(KINDS):
            a.loglog(x, [max(float(b), 1e-17) for b in bias[i]], "o-", ms=3, color=f"C{i}", label=k)
        a.set_xlabel(axis + (" (logit noise scale)" if axis.startswith("mis") else " (step along ∇J, units of √dim θ)"))
        a.set_ylabel("‖E ĝ − ∇J‖ / ‖∇J‖ (exact, by enumeration)")
        a.legend(fontsize=6)
    return save_figure(fig, figure_dir, ID)


register_claim(Claim(
    id=ID, paper="Stabilizing Reinforcement Learning with LLMs: Formulation and Practices", seed_line=93, draw=_draw,
    figure_family="off_policy",
    claim="through a first-order approximation, we show that this surrogate becomes increasingly valid only when both the "
          "training-inference discrepancy and policy staleness are minimized",
    theme="IW, GR", exact="expected token-level, sequence-level, clipped and uncorrected gradients by enumerating every response",
    monte_carlo="sampled token-IS gradient checked against the enumerated expectation",
    test="token-IS bias monotone in σ and s, vanishing at first order (slope ≥ 0.9); extension: < 1% as σ, s → 0 and > 5% "
         "at σ = 1 / s = 1",
    scales={"quick": {"samples": 100_000, "instances": 3}, "full": {"samples": 2_000_000, "instances": 20}},
    run=run, source="token surrogate and first-order expansion: CLAIMS.md row L93",
    kind="empirical",
    reading="as-written",
    quote="through a first-order approximation, we show that this surrogate becomes increasingly valid only when both the "
          "training-inference discrepancy and policy staleness are minimized",
    quote_source="seed abstract (line 93), via shared/CLAIMS.md",
    extension=True, unbiasedness=False,
    constants={"response length L": [2, 6], "vocabulary V": [2, 5]},
))
