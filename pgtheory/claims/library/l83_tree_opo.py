r"""L83 (Tree-OPO): "introducing a novel tree-structured setting for advantage estimation"; "prefix-conditioned reward
signals"; "advantage saturation and reward signal collapse".

Completions start from prefixes of different depths (a tree of partial responses). Design (fixed before running),
:mod:`._multi_epoch` toy LLM (V = 4, L = 4, M = 4, binary reward), θ random, G = 8 completions per prefix:
(i) saturation: exact probability that all G completions of a prefix tie, p^G + (1 − p)^G with p = V(prefix), averaged
    over prefixes of depth d weighted by their reach probability, d = 0…3;
(ii) bias: mixing prefixes of depths 0–3 in one group (two prefixes per depth, drawn by reach probability) with the
     group-mean baseline gives E[A_i | prefix_i] = V(p_i) − V̄_group, not 0; the prefix-conditioned baseline V(p_i) gives
     0 by definition (its Monte Carlo estimate is checked in L215). Exact over ``groups`` random mixed groups: mean |bias|.
Verdict: confirmed if saturation rises with depth (monotone) and the mixed-depth group-mean advantage is biased (mean
|bias| > 1e-3); refuted otherwise.
"""
from __future__ import annotations

import numpy as np
import torch

from ...exact import prefix_values
from ...policies import TabularSequencePolicy
from ..record import Claim, Evidence, RunContext
from ..registry import register_claim
from ..style import new_figure, save_figure
from ._multi_epoch import llm_task

ID = "L83-tree-opo-prefix-advantages"
G = 8


def _depths(task):
    d = torch.zeros(task.n_prefixes, dtype=torch.long)
    for t in range(task.max_length):
        live = task.mask[:, t]
        d[task.prefix_ids[live, t]] = t
    return d


def run(ctx: RunContext) -> Evidence:
    task = llm_task(ctx.seed)
    pol = TabularSequencePolicy(task)
    g = torch.Generator().manual_seed(ctx.seed)
    th = pol.random_params(generator=g)
    V, reach = prefix_values(pol, th)  # [M, P]
    depth = _depths(task)
    sat = []
    for d in range(task.max_length):
        sel = depth == d
        w = reach[:, sel]
        p = V[:, sel]
        sat.append(float((w * (p**G + (1 - p) ** G)).sum() / w.sum()))
    monotone = all(a <= b + 1e-12 for a, b in zip(sat, sat[1:]))
    # mixed-depth groups: two prefixes per depth for one prompt, by reach probability within the depth
    n = ctx.settings["groups"]
    bias_mix = []
    for _ in range(n):
        q = int(torch.randint(task.n_prompts, (1,), generator=g))
        picks = []
        for d in range(task.max_length):
            ids = (depth == d).nonzero().flatten()
            w = reach[q, ids]
            picks.append(ids[torch.multinomial(w / w.sum(), 2, replacement=True, generator=g)])
        pids = torch.cat(picks)
        v = V[q, pids]
        bias_mix.append(float((v - v.mean()).abs().mean()))  # E[R_i − R̄ | prefixes] = V(p_i) − mean V (one completion each)
    bm = float(np.mean(bias_mix))
    verdict = "confirmed" if monotone and bm > 1e-3 else "refuted"
    fig, (a1, a2) = new_figure(ID, "Tree-structured groups: saturation by depth and mixed-depth baseline bias", ncols=2, width=4.6)
    a1.plot(range(task.max_length), sat, "o-")
    a1.set_xlabel("prefix depth d (tokens already generated)")
    a1.set_ylabel(f"P(all {G} completions tie) = E[p^G + (1 − p)^G] (exact)")
    a2.hist(bias_mix, bins=40)
    a2.set_xlabel("mean |E[A_i | prefixes]| in a mixed-depth group (group-mean baseline; exact)")
    a2.set_ylabel("number of groups (the prefix-conditioned baseline gives 0)")
    return Evidence(
        verdict=verdict, statistic=bm,
        threshold="saturation monotone in depth; mixed-depth group-mean bias > 1e-3",
        n_samples=0,
        summary=(f"probability that all {G} completions tie (zero group advantage) by depth " +
                 ("(monotone): " if monotone else "(NOT monotone — the rule fails, though the deepest prefixes saturate most): ") +
                 ", ".join(f"d = {d}: {s:.3f}" for d, s in enumerate(sat)) +
                 f"; a mixed-depth group-mean baseline is biased by {bm:.3f} on average (|V(p_i) − V̄|), a prefix-conditioned one is not. "
                 f"Tree-OPO's own estimator and its statistical fixes are not implemented"),
        details={"saturation_by_depth": sat, "mixed_bias_mean": bm},
        figure=save_figure(fig, ctx.figure_dir, ID),
    )


register_claim(Claim(
    id=ID, paper="Tree-OPO: Off-policy Monte Carlo Tree-Guided Advantage Optimization", seed_line=83,
    claim="introducing a novel tree-structured setting for advantage estimation; prefix-conditioned reward signals; advantage "
          "saturation and reward signal collapse",
    theme="ADV, GR", exact="prefix values V(p) and reach probabilities by enumeration; tie probabilities; exact conditional biases",
    monte_carlo="random mixed-depth groups of prefixes (their biases are exact)",
    test="saturation monotone in depth; mixed-depth group-mean baseline biased, prefix-conditioned not",
    scales={"quick": {"groups": 500}, "full": {"groups": 20_000}},
    run=run, source="CLAIMS.md row L83; Tree-OPO's estimator (paper body) not implemented",
))
