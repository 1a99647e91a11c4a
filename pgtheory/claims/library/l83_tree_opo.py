r"""L83 (Tree-OPO): "introducing a novel tree-structured setting for advantage estimation"; "prefix-conditioned reward
signals"; "advantage saturation and reward signal collapse".

Completions start from prefixes of different depths (a tree of partial responses). Design, :mod:`._multi_epoch` toy
LLM (V = 4, L = 4, M = 4, binary reward), G = 8 completions per prefix, replicated over a family of ``instances``
(task reward assignment and θ ~ N(0, I) drawn per instance):
(i) saturation: exact probability that all G completions of a prefix tie, p^G + (1 − p)^G with p = V(prefix), averaged
    over prefixes of depth d weighted by their reach probability, d = 0…3; per instance, the least-squares slope of
    saturation against depth (rises with depth: slope > 0), and whether it is monotone (reported);
(ii) bias: mixing prefixes of depths 0–3 in one group (two prefixes per depth, drawn by reach probability) with the
     group-mean baseline gives E[A_i | prefix_i] = V(p_i) − V̄_group, not 0; the prefix-conditioned baseline V(p_i) gives
     0 by definition (its Monte Carlo estimate is checked in L215). Exact over ``groups`` random mixed groups: mean |bias|.
Rule per instance: saturation rises with depth (slope > 0) and the mixed-depth group-mean advantage is biased (mean
|bias| > 1e-3). Family verdict (Clopper–Pearson interval at 1 − α_claim, the claim's share of the ledger's family-wise α): confirmed if its
lower end ≥ 0.8, refuted if its upper end < 0.5, qualified if its upper end < 0.8 (the rule fails on a clear share),
inconclusive otherwise (too few instances to tell — e.g. 10/10 at quick scale).
Protocol: kind=empirical, extension=True — the abstract only names "advantage saturation"; saturation rising with prefix
depth asks more (it can qualify, not refute). The mixed-depth bias part is exact (V(p_i) − V̄ by definition).
Rule revision (2026-11-30, issue 10): the first version judged one random θ on "saturation monotone in depth" and was
refuted (0.14, 0.27, 0.21, 0.47); a review found monotonicity holds on 27 of 50 policies while saturation rises with
depth on average on every one. The rule now asks for a rising trend (slope), on a family of instances; monotonicity is
reported beside it. The revision was made on quick seeds; the full run uses fresh seeds (protocol: seed + 1000).
"""
from __future__ import annotations

import numpy as np
import torch

from ...exact import prefix_values
from ...policies import TabularSequencePolicy
from ...stats import replication_summary
from ..record import Claim, Evidence, RunContext
from ..registry import register_claim
from ..style import new_figure, save_figure
from ._multi_epoch import llm_task

ID = "L83-tree-opo-prefix-advantages"
G = 8
BIAS_MIN = 1e-3  #: a mixed-depth baseline bias below this is treated as none (rewards are 0/1)


def _depths(task):
    d = torch.zeros(task.n_prefixes, dtype=torch.long)
    for t in range(task.max_length):
        live = task.mask[:, t]
        d[task.prefix_ids[live, t]] = t
    return d


def _instance(seed: int, n_groups: int) -> tuple[list[float], float]:
    """(saturation by depth, mean mixed-depth group-mean bias) of one (task, θ) instance."""
    task = llm_task(seed)
    pol = TabularSequencePolicy(task)
    g = torch.Generator().manual_seed(seed)
    th = pol.random_params(generator=g)
    V, reach = prefix_values(pol, th)  # [M, P]
    depth = _depths(task)
    sat = []
    for d in range(task.max_length):
        sel = depth == d
        w = reach[:, sel]
        p = V[:, sel]
        sat.append(float((w * (p**G + (1 - p) ** G)).sum() / w.sum()))
    bias_mix = []
    for _ in range(n_groups):  # two prefixes per depth for one prompt, by reach probability within the depth
        q = int(torch.randint(task.n_prompts, (1,), generator=g))
        picks = []
        for d in range(task.max_length):
            ids = (depth == d).nonzero().flatten()
            w = reach[q, ids]
            picks.append(ids[torch.multinomial(w / w.sum(), 2, replacement=True, generator=g)])
        v = V[q, torch.cat(picks)]
        bias_mix.append(float((v - v.mean()).abs().mean()))  # E[R_i − R̄ | prefixes] = V(p_i) − mean V
    return sat, float(np.mean(bias_mix))


def _family_verdict(rep) -> str:
    """lower end ≥ 0.8 → confirmed; upper end < 0.5 → refuted; upper end < 0.8 → qualified; else (too few) inconclusive."""
    if rep.ci_low >= 0.8:
        return "confirmed"
    if rep.ci_high < 0.5:
        return "refuted"
    return "qualified" if rep.ci_high < 0.8 else "inconclusive"


def run(ctx: RunContext) -> Evidence:
    n_inst, n_groups = ctx.settings["instances"], ctx.settings["groups"]
    sats, biases = [], []
    for k in range(n_inst):
        s, b = _instance(ctx.seed * 1000 + k, n_groups)
        sats.append(s)
        biases.append(b)
    sats = np.array(sats)  # [instances, depths]
    depths = np.arange(sats.shape[1])
    dc = depths - depths.mean()
    slopes = (sats - sats.mean(1, keepdims=True)) @ dc / (dc @ dc)
    monotone = np.all(np.diff(sats, axis=1) >= -1e-12, axis=1)
    holds = (slopes > 0) & (np.array(biases) > BIAS_MIN)
    rep = replication_summary(holds, confidence_level=1 - ctx.alpha)  # the claim's share of the ledger's α
    verdict = _family_verdict(rep)
    fig, (a1, a2) = new_figure(ID, "Tree-structured groups: saturation by depth and mixed-depth baseline bias", ncols=2, width=4.6)
    for row, ok in zip(sats, holds):
        a1.plot(depths, row, "-", lw=0.6, alpha=0.5, color="C0" if ok else "C3")
    a1.plot(depths, np.median(sats, 0), "ko-", ms=3, label=f"median of {n_inst} instances (red: rule fails)")
    a1.set_xlabel("prefix depth d (tokens already generated)")
    a1.set_ylabel(f"P(all {G} completions tie) (exact)")
    a1.legend(fontsize=6)
    a2.hist(biases, bins=20)
    a2.axvline(BIAS_MIN, color="k", lw=0.8)
    a2.set_xlabel("mean |E[A_i | prefixes]|, mixed-depth group-mean baseline (exact)")
    a2.set_ylabel("instances (prefix-conditioned baseline: 0)")
    med = np.median(sats, 0)
    return Evidence(
        verdict=verdict, statistic=rep.fraction,
        threshold="fraction of instances where saturation rises with depth (slope > 0) and the mixed-depth group-mean baseline "
                  "is biased (> 1e-3): Clopper–Pearson (1 − α_claim) lower end ≥ 0.8 → confirmed, upper end < 0.5 → refuted, upper end < 0.8 → "
                  "qualified, else inconclusive",
        n_samples=0,
        summary=(f"saturation (P(all {G} completions tie)) rises with prefix depth on {int((slopes > 0).sum())}/{n_inst} instances "
                 f"(median by depth " + ", ".join(f"{m:.3f}" for m in med) + f"); strictly monotone on {int(monotone.sum())}/{n_inst}; "
                 f"mixed-depth group-mean baselines are biased (median {np.median(biases):.3f}; > {BIAS_MIN:g} on "
                 f"{int((np.array(biases) > BIAS_MIN).sum())}/{n_inst}); the rule holds on {rep.holding}/{rep.count} "
                 f"[{rep.ci_low:.2f}, {rep.ci_high:.2f}]. Tree-OPO's own estimator is not implemented"),
        details={"saturation_by_depth": sats.tolist(), "slopes": slopes.tolist(), "monotone": monotone.tolist(),
                 "mixed_bias_mean": biases},
        figure=save_figure(fig, ctx.figure_dir, ID),
        instances=rep,
        sensitivity=[],
    )


register_claim(Claim(
    id=ID, paper="Tree-OPO: Off-policy Monte Carlo Tree-Guided Advantage Optimization", seed_line=83,
    claim="introducing a novel tree-structured setting for advantage estimation; prefix-conditioned reward signals; advantage "
          "saturation and reward signal collapse",
    theme="ADV, GR", exact="prefix values V(p) and reach probabilities by enumeration; tie probabilities; exact conditional biases",
    monte_carlo="random mixed-depth groups of prefixes (their biases are exact); a family of (task, θ) instances",
    test="per instance: saturation rises with depth and the mixed-depth group-mean baseline is biased; fraction of instances",
    scales={"quick": {"instances": 10, "groups": 100}, "full": {"instances": 50, "groups": 2_000}},
    run=run, source="CLAIMS.md row L83; Tree-OPO's estimator (paper body) not implemented",
    kind="empirical",
    quote="prefix-conditioned reward signals; advantage saturation and reward signal collapse",
    quote_source="seed abstract (line 83), via shared/CLAIMS.md",
    extension=True, unbiasedness=False,
    constants={"G (completions per prefix)": [4, 32], "prefixes per depth in a mixed group": [1, 8]},
))
