r"""L213 (f-DPG): "(RLHF) corresponds to minimizing a reverse KL from an implicit target distribution arising from
a KL penalty in the objective", and the f-DPG gradient ∇D_f(π_θ‖p) = E_{π_θ}[f′(π_θ/p) ∇log π_θ].

Design (fixed before running), toy LLM (V = 3 with EOS, L = 3, one prompt, 13 responses), graded reward
r(y) ~ U(0, 1) per response, β = 0.5, p* ∝ π_ref e^{r/β}:
(i) identity: E_π[r] − βKL(π‖π_ref) = −βKL(π‖p*) + β log Z on ``identity`` random (θ, θ_ref) pairs; max error < 1e-10.
(ii) f-DPG gradient with known Z, for reverse KL, forward KL, Jensen–Shannon and TV: ``samples`` responses y ∼ π_θ,
     per-sample f′(π_θ(y)/p*(y)) ∇log π_θ(y), Bonferroni z test against the exact ∇D_f at α = 1e-6; twin: each
     estimator is rejected against the other f's gradient wherever that difference has power ≥ 0.99.
(iii) estimated Z (GDC-style Ẑ = mean of e^{r/β} over N draws from π_ref, fresh per batch): the exact expected
      gradient given Ẑ, averaged over 20,000 draws of Ẑ, against ∇D_f; relative bias against N ∈ {1, …, 1024}.
Verdict: confirmed if (i) and (ii) hold; (iii) is reported (which f's become biased when Z is estimated).
Protocol: kind=identity, extension=False, unbiasedness=True — the RLHF ⇔ reverse-KL identity and the score-function f-DPG
gradient are mathematics (fail only through a bug); unbiasedness is judged by equivalence on every f (margin 1% of
‖∇D_f‖∞), each with its wrong-f twins (far) and a near twin ∇D_f + margin, and the worst f is reported (revised
2026-11-30, issue 10: it was judged on the first f only).

Revision 2026-12-01 (multiplicity; referee of the paper draft; before the confirmatory run at seed 8): the four
equivalence intervals (one per f; the verdict takes the worst) were at 0.999, their twins at α = 1e-6; now
1 − ctx.alpha/k with k = 8 = 4 bias tests + 4 equivalence intervals (one each per f), and the twins recorded in the
equivalence at α_d = ctx.alpha/k (the level of the decision they vouch for). The 4 bias tests stay at α = 1e-6,
stricter than ctx.alpha/8 ≈ 4.9e-5; the wrong-f twins that must be rejected for the failure rule vouch for those bias
tests and keep 1e-6 (run once at each level; not counted in k). The identity (i) is exact; (iii) is reported only.

Revision 2026-12-02 (the seed-18 and seed-20 ledgers: the Monte Carlo equivalence bounded the worst f's bias by about
1.4 times its margin, inconclusive; after the seed-21 run had started, before its record was read; judged from the
next run): the estimator's expectation with known Z is computable — every response is enumerated with its probability
under π, and the same estimator code is applied to each — so the decisive equivalence is exact for every f
(:func:`pgtheory.claims.protocol.exact_equivalence_verdict`: bias bound = exact bias + 1e-10·max|∇D_f|, level 1; an
exact bias above the allowance is a detected bias, which qualifies inside the margin and refutes beyond; the near twin
∇D_f + 1% of ‖∇D_f‖∞ and three mutants — the other divergences' estimators run through the same enumeration — must lie
beyond that bound), judged on the worst f (a pre-run audit, same day: a planted f′ error of 0.86 margin was confirmed
by the first draft, which did not count an exact bias below the margin as detected). The Monte Carlo bias tests, twins and equivalence still run (they check the sampling path) and are
reported.
"""
from __future__ import annotations

import numpy as np
import torch

from ...estimators import expected_score_sum, sequence_score_sum
from ...exact import F_DIVERGENCES, f_divergence, kl_divergence, sequence_probs
from ...policies import TabularSequencePolicy
from ...problems import SequenceTask
from ...sampling import enumerate_sequence_groups, sample_sequence_groups
from ...stats import bias_test
from ..protocol import equivalence_verdict, exact_equivalence_verdict, twin, worst_equivalence
from ..record import Claim, DeclaredMargin, Evidence, RunContext
from ..registry import register_claim
from ..style import new_figure, save_figure

ID = "L213-f-dpg"
ALPHA = 1e-6
MARGIN_REL = 0.01  # equivalence margin: 1% of ‖∇D_f‖∞ (the exact gradient) — a bias of practical size
BETA = 0.5
KINDS = ("reverse_kl", "forward_kl", "jensen_shannon", "total_variation")
#: round-off allowance of the exact expectation over every response, relative to max|∇D_f| (float64 sums of a few
#: dozen terms with density ratios up to ~e^4: far above their round-off, far below the 1% margin)
ROUND_OFF = 1e-10


def _task(seed: int) -> SequenceTask:
    rng = np.random.default_rng(seed)
    table: dict = {}
    return SequenceTask(3, 3, 1, lambda q, y: table.setdefault(y, float(rng.uniform())), name="graded_seq(V=3,L=3)")


def exact_expectation(pol, th, every, every_prob, ratio, kind: str) -> torch.Tensor:
    """E_{y∼π}[f′(π(y)/p(y)) ∇log π(y)] exactly: the f-DPG estimator's code applied to every response ``every``
    (groups of one), weighted by its probability ``every_prob``; ``ratio`` = π/p per response. ``[dim θ]``."""
    return expected_score_sum(pol, th, every, F_DIVERGENCES.get(kind).df(ratio)[:, None], every_prob)


def _grad_fd(pol, th, p, kind):
    t = th.clone().requires_grad_(True)
    return torch.autograd.grad(f_divergence(sequence_probs(pol, t)[0], p, kind), t)[0]


def run(ctx: RunContext) -> Evidence:
    s = ctx.settings
    task = _task(ctx.seed)
    pol = TabularSequencePolicy(task)
    g = torch.Generator().manual_seed(ctx.seed)
    r = task.rewards[0]
    failures = []
    # (i) identity over random pairs
    th, ref = pol.random_params(s["identity"], generator=g), pol.random_params(s["identity"], generator=g)
    pi, pr = sequence_probs(pol, th)[:, 0], sequence_probs(pol, ref)[:, 0]
    unnorm = pr * torch.exp(r / BETA)
    Z = unnorm.sum(-1)
    pstar = unnorm / Z[:, None]
    lhs = (pi * r).sum(-1) - BETA * kl_divergence(pi, pr)
    rhs = -BETA * kl_divergence(pi, pstar) + BETA * Z.log()
    identity_err = float((lhs - rhs).abs().max())
    if identity_err > 1e-10:
        failures.append(f"identity error {identity_err:.2g}")
    # (ii) f-DPG with known Z, one (θ, θ_ref)
    th0 = th[0]
    p = pstar[0]
    n = s["samples"]
    groups = sample_sequence_groups(pol, th0, n, 1, torch.Generator().manual_seed(ctx.seed + 1))
    pi0 = sequence_probs(pol, th0)[0]
    exact = {k: _grad_fd(pol, th0, p, k) for k in KINDS}
    ratio = pi0[groups.index[:, 0]] / p[groups.index[:, 0]]
    rows, eq_by_kind, exact_by_kind = {}, {}, {}
    # the estimator's exact expectation over every response (the same estimator code, weighted by π(y)): decides the
    # equivalence since 2026-12-02; the Monte Carlo equivalence below is reported
    every, every_prob = enumerate_sequence_groups(pol, th0, 1)
    ratio_all = pi0[every.index[:, 0]] / p[every.index[:, 0]]
    # multiplicity: k = one bias test + one equivalence per f; the bias tests stay at ALPHA (stricter than ctx.alpha/k),
    # the equivalences and the twins they record use the share α_d = ctx.alpha/k
    n_decisions = 2 * len(KINDS)
    alpha_eq = ctx.alpha / n_decisions
    level = 1 - alpha_eq
    for k in KINDS:
        est = sequence_score_sum(pol, th0, groups, F_DIVERGENCES.get(k).df(ratio)[:, None]).reshape(n, -1)
        res = bias_test(est, exact[k])
        kind_twins = []
        rows[k] = {"max_abs_z": float(np.abs(res.z).max()), "pvalue": float(res.pvalue), "twins": {}}
        if res.pvalue <= ALPHA:
            failures.append(f"{k}: f-DPG estimate biased (p = {res.pvalue:.2g})")
        for other in KINDS:
            if other == k:
                continue
            name = f"{k} estimator against the {other} gradient"
            rejected = twin(name, est, exact[k], exact[other], near=False, alpha=ALPHA).rejected  # vouches for the bias test
            kind_twins.append(twin(name, est, exact[k], exact[other], near=False, alpha=alpha_eq))  # for the equivalence
            if rejected is not None:
                rows[k]["twins"][other] = rejected
                if not rejected:
                    failures.append(f"twin: {k} not told apart from {other}")
        margin = MARGIN_REL * float(exact[k].abs().max())
        kind_twins.append(twin(f"{k} estimator against ∇D_f + 1% of ‖∇D_f‖∞", est, exact[k], exact[k] + margin, near=True,
                               alpha=alpha_eq))
        eq_by_kind[k] = equivalence_verdict(res, margin, kind_twins, confidence_level=level)
        g_k = exact[k].reshape(-1)
        # twins: the other divergences' estimators (mutants: another f′) through the same enumeration, and ∇D_f + 1%
        exact_by_kind[k] = exact_equivalence_verdict(
            exact_expectation(pol, th0, every, every_prob, ratio_all, k), g_k, margin,
            [(f"mutant: the {o} estimator (its f′) through the enumeration", exact_expectation(pol, th0, every, every_prob, ratio_all, o), False)
             for o in KINDS if o != k] + [(f"∇D_f + 1% of ‖∇D_f‖∞", g_k + margin, True)],
            round_off=ROUND_OFF * float(g_k.abs().max()))
    if not any(rows[k]["twins"] for k in KINDS):
        failures.append("no twin was powered")
    mc_part, eq_mc = worst_mc = worst_equivalence(eq_by_kind.values())  # reported
    mc_kind = next(k for k, v in eq_by_kind.items() if v is worst_mc)
    eq_part, eq = worst = worst_equivalence(exact_by_kind.values())
    eq_kind = next(k for k, v in exact_by_kind.items() if v is worst)
    # (iii) estimated Z: expected gradient given Ẑ is exact by enumeration; average over draws of Ẑ
    sizes = [1, 4, 16, 64, 256, 1024]
    pr0 = pr[0]
    e_r = torch.exp(r / BETA)
    score = torch.func.jacrev(lambda t: pol.sequence_log_probs(t)[0])(th0).reshape(len(pi0), -1)  # ∇log π(y) per y
    draws = 20_000
    bias = {k: [] for k in KINDS}
    for N in sizes:
        idx = torch.multinomial(pr0, draws * N, replacement=True, generator=g).view(draws, N)
        zhat = e_r[idx].mean(-1)  # [draws]
        for k in KINDS:
            coef = F_DIVERGENCES.get(k).df(pi0[None] * zhat[:, None] / (pr0 * e_r)[None])  # [draws, N_resp]
            mean_grad = ((coef * pi0[None]) @ score).mean(0)
            ex = exact[k].reshape(-1)
            bias[k].append(float((mean_grad - ex).norm() / ex.norm()))
    verdict = eq_part if not failures else "refuted"  # unbiasedness is confirmed only inside the margin with powered twins
    return Evidence(
        verdict=verdict, statistic=float(len(failures)),
        threshold=("identity error < 1e-10; f-DPG with known Z: its exact expectation over every response within the "
                   "round-off allowance (1e-10 max|g|) of the autograd truth for all four f, the mutant twins rejected "
                   "(exact equivalence, deciding since 2026-12-02); reported: Monte Carlo unbiased at α = 1e-6 and within "
                   f"1% of ‖∇D_f‖∞ at level 1 − {ctx.alpha:.2g}/{n_decisions}"),
        n_samples=n,
        summary=(f"identity holds on {s['identity']} pairs (max error {identity_err:.1g}); no bias detected in f-DPG with known Z for reverse KL, "
                 f"forward KL, JS and TV (max |z| {max(v['max_abs_z'] for v in rows.values()):.2f}). With Ẑ from N = 16 draws: relative "
                 f"bias reverse KL {bias['reverse_kl'][2]:.1g} (a constant shift of f′), forward KL {bias['forward_kl'][2]:.2g}, "
                 f"JS {bias['jensen_shannon'][2]:.2g}, TV {bias['total_variation'][2]:.2g} (mean over 2e4 draws of Ẑ). Equivalence, exact "
                 f"over all {len(every_prob)} responses (worst f: {eq_kind}): exact bias {eq.exact_bias:.2g} (round-off allowance "
                 f"{eq.round_off:.2g}; margin {eq.margin:.3g}), twins rejected {eq.twins.rejected}/{eq.twins.count} (three mutant "
                 f"estimators) → {eq_part}; Monte Carlo, reported (worst f: {mc_kind}, level 1 − {alpha_eq:.2g}): |bias| ≤ "
                 f"{eq_mc.bias_bound:.3g} against its margin {eq_mc.margin:.3g} ({eq_mc.bias_bound / eq_mc.margin:.1f}×) → {mc_part}"
                 if not failures else "; ".join(failures[:5])),
        details={"failures": failures, "identity_error": identity_err, "rows": rows, "z_sizes": sizes, "z_bias": bias,
                 "monte_carlo_equivalence": dict(eq_mc.to_dict(), verdict=mc_part, kind=mc_kind),
                 "exact_bias": eq.exact_bias, "round_off": eq.round_off, "enumerated_responses": len(every_prob)},
        instances=[not failures],  # one (θ, θ_ref) carries the MC rule; its equivalence is judged by the protocol
        sensitivity=[],
        equivalence=eq,
        measurements={"identity_error": (lhs - rhs).abs(), "z_sizes": np.array(sizes),
                      "z_bias": {k: np.array(bias[k]) for k in KINDS}},
    )


def _draw(m: dict, figure_dir: str) -> str:
    """The figure, from the stored measurements: identity errors over random pairs, and the gradient bias against N."""
    fig, (a1, a2) = new_figure(ID, "f-DPG: RLHF = reverse KL to p*; gradient bias when Z is estimated", ncols=2,
                               width=4.6)
    a1.hist(np.log10(np.maximum(m["identity_error"], 1e-18)), bins=40)
    a1.set_xlabel("log10 |E_π r − βKL(π‖π_ref) − (−βKL(π‖p*) + β log Z)|")
    a1.set_ylabel("number of random (θ, θ_ref) pairs")
    for i, k in enumerate(KINDS):
        a2.loglog(m["z_sizes"], np.maximum(m["z_bias"][k], 1e-17), "o-", ms=3, color=f"C{i}", label=k.replace("_", " "))
    a2.set_xlabel("N draws from π_ref to estimate Z")
    a2.set_ylabel("‖E ĝ − ∇D_f‖ / ‖∇D_f‖ (exact given Ẑ; 2e4 draws of Ẑ)")
    a2.legend(fontsize=6)
    return save_figure(fig, figure_dir, ID)


register_claim(Claim(
    id=ID, paper="Aligning Language Models with Preferences through f-divergence Minimization (f-DPG, Go et al. 2023)",
    seed_line=213, draw=_draw, figure_family="divergences",
    claim="(RLHF) corresponds to minimizing a reverse KL from an implicit target distribution arising from a KL penalty in the objective",
    theme="KL", exact="RLHF objective and KL to p* ∝ π_ref e^{r/β}; D_f and its gradient by enumeration",
    monte_carlo="f-DPG score-function gradients for reverse/forward KL, JS, TV; exact expected gradient under an estimated Z",
    test="identity to 1e-10; each f-DPG estimator unbiased (α = 1e-6), wrong-f twins rejected where powered",
    scales={"quick": {"identity": 500, "samples": 100_000}, "full": {"identity": 20_000, "samples": 4_000_000}},
    run=run, source="identity: Korbak et al. 2022 / Go et al. 2023 (CLAIMS.md row L213); ∇D_f = E_π[f′(π/p)∇log π] derived in "
                    "pgtheory.exact.divergences",
    kind="identity",
    verifies=(
        "Verified: the quoted identity (the KL-penalised RLHF objective equals minus a reverse KL from the target "
        "p ∝ π_ref e^{r/β}, up to a constant), on random pairs. Beyond the sentence, and deciding the equivalence "
        "(a referee of the seed-22 ledger, finding 2): f-DPG's score-function gradient with known Z is unbiased "
        "for four f (reverse KL, forward KL, JS, TV)."),
    reading="by-construction",
    reading_note=("Kind identity: \"the RLHF <=> reverse-KL identity and the score-function f-DPG gradient are mathematics (fail only through a bug)\"."),
    quote="(RLHF) corresponds to minimizing a reverse KL from an implicit target distribution arising from a KL penalty in the objective",
    quote_source="seed abstract (line 213), via shared/CLAIMS.md",
    extension=False, unbiasedness=True, margin=DeclaredMargin(MARGIN_REL, "‖∇D_f‖∞ of the instance"), constants={},
))
