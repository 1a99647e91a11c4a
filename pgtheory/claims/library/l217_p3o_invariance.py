r"""L217 (P3O, pairwise PPO): "PPO is not invariant to equivalent reward functions containing identical preference
information"; "P3O is invariant to equivalent rewards".

Equivalent rewards r′(x, y) = r(x, y) + c(x). The pairwise update ½Σ_{i<j}(r_i − r_j)∇[log π(y_i) − log π(y_j)] is
unchanged by c(x) sample by sample. Design (fixed before running), toy LLM (V = 3, L = 3, M = 4, graded rewards
U(0, 1)), θ random, groups of G = 4 from π; shifts c(x) ~ c_scale·N(0, 1) per prompt, c_scale ∈ {0.1, 1, 10}:
(i) per-sample invariance of the pairwise (P3O, unclipped at θ_old) update on ``groups`` groups: max change < 1e-12;
(ii) the same for GRPO's group-mean baseline (also invariant — the property is shared by any group baseline);
(iii) REINFORCE without a baseline (PPO with no critic): per-sample change, and its exact variance (tr Cov) growth in
     c_scale (its mean is unchanged since E∇log π = 0).
Verdict: confirmed if (i) holds and the no-baseline estimator is changed (max change > 1e-6); refuted otherwise.
Protocol: kind=identity, extension=False — pairwise differences cancel c(x) sample by sample (algebra; fails only through
a bug); instances = the three shift scales, on each of which both halves of the rule are checked.
"""
from __future__ import annotations

import numpy as np
import torch

from ...estimators import group_advantages, sequence_score_sum
from ...policies import TabularSequencePolicy
from ...problems import SequenceTask
from ...sampling import sample_sequence_groups
from ..record import Claim, Evidence, RunContext
from ..registry import register_claim
from ..style import new_figure, save_figure

ID = "L217-p3o-reward-shift-invariance"
SCALES = (0.1, 1.0, 10.0)


def _pairwise_coefficients(r: torch.Tensor) -> torch.Tensor:
    """Coefficient of ∇log π(y_i) in ½Σ_{i<j}(r_i − r_j)(∇log π_i − ∇log π_j) = ½Σ_j (r_i − r_j): [B, G]."""
    return 0.5 * (r[..., :, None] - r[..., None, :]).sum(-1)


def run(ctx: RunContext) -> Evidence:
    rng = np.random.default_rng(ctx.seed)
    table: dict = {}
    task = SequenceTask(3, 3, 4, lambda q, y: table.setdefault((q, y), float(rng.uniform())), name="graded(V=3,L=3,M=4)")
    pol = TabularSequencePolicy(task)
    g = torch.Generator().manual_seed(ctx.seed)
    th = pol.random_params(generator=g)
    n = ctx.settings["groups"]
    groups = sample_sequence_groups(pol, th, n, 4, g)
    base = {"P3O pairwise": _pairwise_coefficients(groups.rewards), "GRPO group mean": group_advantages(groups.rewards, "mean"),
            "REINFORCE, no baseline": groups.rewards}
    grads0 = {k: sequence_score_sum(pol, th, groups, c).reshape(n, -1) for k, c in base.items()}
    change, trcov = {k: [] for k in base}, {k: [] for k in base}
    for cs in SCALES:
        shift = torch.randn(task.n_prompts, generator=g, dtype=torch.float64) * cs
        r2 = groups.rewards + shift[groups.prompts][:, None]
        shifted = {"P3O pairwise": _pairwise_coefficients(r2), "GRPO group mean": group_advantages(r2, "mean"), "REINFORCE, no baseline": r2}
        for k, c in shifted.items():
            gr = sequence_score_sum(pol, th, groups, c).reshape(n, -1)
            change[k].append(float((gr - grads0[k]).abs().max()))
            trcov[k].append(float(gr.var(0).sum()))
    inv = max(change["P3O pairwise"])
    per_scale = [p < 1e-12 and r > 1e-6 for p, r in zip(change["P3O pairwise"], change["REINFORCE, no baseline"])]
    verdict = "confirmed" if inv < 1e-12 and min(change["REINFORCE, no baseline"]) > 1e-6 else "refuted"
    return Evidence(
        verdict=verdict, statistic=inv,
        threshold="P3O update unchanged per sample (< 1e-12) while the no-baseline update changes (> 1e-6)",
        n_samples=n * 4,
        summary=(f"P3O's pairwise update is unchanged by any c(x) (max change {inv:.1g}); so is GRPO's group-mean update "
                 f"({max(change['GRPO group mean']):.1g}) — invariance holds for any group baseline; REINFORCE without a baseline "
                 f"changes per sample and its tr Cov grows from {trcov['REINFORCE, no baseline'][0]:.3g} to {trcov['REINFORCE, no baseline'][-1]:.3g} "
                 f"(c scale 0.1 → 10). PPO with a learned critic and the KL–reward frontier are not tested"),
        details={"max_change": change, "trace_cov": trcov, "scales": list(SCALES)},
        instances=per_scale,
        sensitivity=[], measurements={"estimators": list(base), "max_change": np.array([change[k] for k in base]),
                                      "trace_cov": np.array([trcov[k] for k in base])},
    )


def _draw(m: dict, figure_dir: str) -> str:
    """The figure, from the stored measurements: per-sample change and tr Cov of each estimator against the shift
    scale."""
    fig, (a1, a2) = new_figure(ID, "Reward shifts r + c(x): per-sample change and variance of three estimators", ncols=2, width=4.6)
    for i, k in enumerate(m["estimators"]):
        a1.loglog(SCALES, np.maximum(m["max_change"][i], 1e-17), "o-", ms=3, color=f"C{i}", label=k)
        a2.loglog(SCALES, m["trace_cov"][i], "o-", ms=3, color=f"C{i}", label=k)
    a1.set_xlabel("shift scale (c(x) ~ scale·N(0, 1) per prompt)")
    a1.set_ylabel("max per-sample change of the update (1e-17 = none)")
    a2.set_xlabel("shift scale")
    a2.set_ylabel("tr Cov of the per-group update")
    for a in (a1, a2):
        a.legend(fontsize=6)
    return save_figure(fig, figure_dir, ID)


register_claim(Claim(
    id=ID, paper="Pairwise Proximal Policy Optimization (P3O)", seed_line=217,
    draw=_draw, figure_family="llm_estimators",
    claim="PPO is not invariant to equivalent reward functions containing identical preference information; P3O is invariant to "
          "equivalent rewards",
    theme="GR", exact="per-sample updates before and after a prompt-dependent reward shift",
    monte_carlo="groups of responses; variance of each update against the shift scale",
    test="P3O change < 1e-12 per sample; the no-baseline update changes",
    scales={"quick": {"groups": 20_000}, "full": {"groups": 500_000}},
    run=run, source="pairwise update per CLAIMS.md row L217 (unclipped, at θ_old)",
    kind="identity",
    verifies=(
        'Verified: "P3O is invariant to equivalent rewards": its pairwise update (unclipped, at θ_old) is '
        'unchanged per sample by any shift c(x). Not judged: "PPO is not invariant to equivalent reward '
        'functions" (REINFORCE with no baseline stands in for PPO; no critic, no clipping).'),
    reading="by-construction",
    reading_note=("Kind identity: \"pairwise differences cancel c(x) sample by sample (algebra; fails only through a bug)\". PPO is represented by REINFORCE without a baseline."),
    quote="PPO is not invariant to equivalent reward functions containing identical preference information; "
          "P3O is invariant to equivalent rewards",
    quote_source="seed abstract (line 217), via shared/CLAIMS.md",
    extension=False, unbiasedness=False, constants={},
))
