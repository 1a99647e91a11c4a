r"""L45 (EGSW): "dynamically assigning weights to generated outputs based on their advantage and entropy";
"temperature-scaled softmax weighting over sequences".

Weights w_i = G·softmax_i((A_i + αH_i)/T), H_i the summed token entropy along response i; update
ĝ = (1/G)Σ_i w_i A_i ∇log π(y_i) with GRPO advantages. Design (fixed before running), toy LLM (V = 3, L = 3, one
prompt, binary reward with three correct responses), θ random, G = 4, α = 0.1: exact E ĝ and tr Cov ĝ by enumerating
all 13^4 groups for T ∈ {0.1, 0.3, 1, 3, 10, 1e6}; cosine with ∇J and relative variance tr Cov/‖E ĝ‖² against GRPO.
Verdict: refuted if T = 1e6 does not recover GRPO (relative difference of E ĝ > 1e-5); otherwise confirmed (the
weighting is as described and reduces to GRPO), with the bias and variance at finite T reported.
Protocol: kind=identity, extension=False — T → ∞ giving uniform weights (GRPO) holds by the definition of the softmax;
the rule checks our implementation, not a property of EGSW's training (learning-speed claims are not tested).
"""
from __future__ import annotations

import torch

from ...estimators import group_advantages
from ...exact import enumerate_groups, sequence_policy_gradient
from ...policies import TabularSequencePolicy
from ...problems import toy_sequence_task
from ..record import Claim, Evidence, RunContext
from ..registry import register_claim
from ..style import new_figure, save_figure

ID = "L45-egsw-entropy-weights"
TEMPS = (0.1, 0.3, 1.0, 3.0, 10.0, 1e6)
ALPHA_H, G = 0.1, 4


def run(ctx: RunContext) -> Evidence:
    task = toy_sequence_task(3, 3, 1, answers=[[(1, 0), (2, 1, 0), (1, 2, 0)]], seed=ctx.seed)
    pol = TabularSequencePolicy(task)
    th = pol.random_params(generator=torch.Generator().manual_seed(ctx.seed))
    probs = pol.sequence_log_probs(th)[0].exp()
    tok_H = -(torch.softmax(th[0], -1) * torch.log_softmax(th[0], -1)).sum(-1)  # entropy per prefix [P]
    H = (tok_H[task.prefix_ids] * task.mask).sum(-1)  # summed along each response [N]
    score = torch.func.jacrev(lambda t: pol.sequence_log_probs(t)[0])(th).reshape(task.n_sequences, -1)
    true = sequence_policy_gradient(pol, th).reshape(-1)
    idx, pg = enumerate_groups(probs, G)
    R = task.rewards[0][idx]
    A = group_advantages(R, "grpo")
    rows = {}

    def moments(weights):
        coef = weights * A / G  # [n, G]
        per = torch.einsum("ng,ngd->nd", coef, score[idx])
        mean = (pg[:, None] * per).sum(0)
        sec = float((pg * (per**2).sum(-1)).sum())
        return mean, sec - float(mean @ mean)

    m0, v0 = moments(torch.ones_like(A))
    rows["GRPO"] = {"cos": float(m0 @ true / (m0.norm() * true.norm())), "rel_var": v0 / float(m0 @ m0)}
    limit = None
    for T in TEMPS:
        w = G * torch.softmax((A + ALPHA_H * H[idx]) / T, -1)
        m, v = moments(w)
        rows[T] = {"cos": float(m @ true / (m.norm() * true.norm())), "rel_var": v / float(m @ m)}
        if T == TEMPS[-1]:
            limit = float((m - m0).norm() / m0.norm())
    verdict = "confirmed" if limit <= 1e-5 else "refuted"
    return Evidence(
        verdict=verdict, statistic=limit,
        threshold="T = 1e6 recovers GRPO's expected update within 1e-5 (relative)",
        n_samples=0,
        summary=(f"T → ∞ recovers GRPO (relative difference {limit:.1g}); at T = 1: cos(E ĝ, ∇J) {rows[1.0]['cos']:.4f} vs GRPO "
                 f"{rows['GRPO']['cos']:.4f}, relative variance {rows[1.0]['rel_var']:.3g} vs {rows['GRPO']['rel_var']:.3g}; at T = 0.1: "
                 f"cos {rows[0.1]['cos']:.4f}, relative variance {rows[0.1]['rel_var']:.3g}. Learning-speed claims not tested"),
        details={"rows": {str(k): v for k, v in rows.items()}, "limit_difference": limit},
        instances=[verdict == "confirmed"], sensitivity=[],
        measurements={"cos": [rows[t]["cos"] for t in TEMPS[:-1]], "rel_var": [rows[t]["rel_var"] for t in TEMPS[:-1]],
                      "grpo_cos": rows["GRPO"]["cos"], "grpo_rel_var": rows["GRPO"]["rel_var"]},
    )


def _draw(m: dict, figure_dir: str) -> str:
    """The figure, from the stored measurements: EGSW's exact cosine to ∇J and relative variance against the
    temperature, with GRPO's as reference lines."""
    fig, (a1, a2) = new_figure(ID, "EGSW weighting: exact direction and variance against the temperature", ncols=2,
                               width=4.6)
    ts = TEMPS[:-1]
    a1.semilogx(ts, m["cos"], "o-", ms=3, label="EGSW (α = 0.1)")
    a1.axhline(m["grpo_cos"], color="k", ls="--", lw=0.8, label="GRPO (T → ∞)")
    a1.set_xlabel("temperature T")
    a1.set_ylabel("cos(E ĝ, ∇J) (exact, G = 4)")
    a2.semilogx(ts, m["rel_var"], "o-", ms=3, label="EGSW")
    a2.axhline(m["grpo_rel_var"], color="k", ls="--", lw=0.8, label="GRPO")
    a2.set_xlabel("temperature T")
    a2.set_ylabel("tr Cov ĝ / ‖E ĝ‖² (exact)")
    for a in (a1, a2):
        a.legend(fontsize=6)
    return save_figure(fig, figure_dir, ID)


register_claim(Claim(
    id=ID, paper="EGSW: Entropy-Guided Sequence Weighting", seed_line=45, draw=_draw, figure_family="llm_estimators",
    claim="dynamically assigning weights to generated outputs based on their advantage and entropy; temperature-scaled softmax "
          "weighting over sequences",
    theme="GR", exact="E ĝ and Cov ĝ by enumerating all groups, against ∇J and GRPO", monte_carlo="none (exact)",
    test="T → ∞ recovers GRPO; bias and variance at finite T reported",
    scales={"quick": {}, "full": {}},
    run=run, source="weights w_i = G·softmax((A_i + αH_i)/T) per CLAIMS.md row L45",
    kind="identity",
    reading="by-construction",
    reading_note=("Kind identity: \"T -> infinity giving uniform weights (GRPO) holds by the definition of the softmax; the rule checks our implementation\"."),
    quote="dynamically assigning weights to generated outputs based on their advantage and entropy; temperature-scaled softmax "
          "weighting over sequences",
    quote_source="seed abstract (line 45), via shared/CLAIMS.md",
    extension=False, unbiasedness=False, constants={},
))
