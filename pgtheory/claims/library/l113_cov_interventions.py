r"""L113 (Entropy mechanism), interventions: "Clip-Cov and KL-Cov" restrict the update of high-covariance tokens to
keep policy entropy from collapsing.

Design (fixed before running), :mod:`._multi_epoch` (``seeds`` paired batches): GRPO (token PPO clip), Clip-Cov and
KL-Cov (cov_ratio 0.02 — the reference's 2e-4 would select no token of a ~1,500-token toy batch — band (1, 5),
KL coefficient 1): exact mean entropy and J after 8 epochs.
Verdict: confirmed if both interventions keep the entropy significantly higher than GRPO (paired 95% CI above 0);
refuted if either leaves it significantly lower; inconclusive otherwise. J is reported (the price in reward).
Protocol: kind=empirical, extension=True — the quote column of CLAIMS.md holds only the methods' names; the abstract's
"helping policy escape entropy collapse" is not quoted there, so the entropy rule asks more than the quote.
"""
from __future__ import annotations

import torch

from ...stats import paired_difference
from ..record import Claim, Evidence, RunContext
from ..registry import register_claim
from ..style import new_figure, save_figure
from ._multi_epoch import llm_task, plot_epoch_metric, runs

ID = "L113-clip-cov-kl-cov"


def run(ctx: RunContext) -> Evidence:
    task = llm_task(ctx.seed)
    n = ctx.settings["seeds"]
    tr = runs(task, ("ppo_clip", "kl_cov"), n, ctx.seed)
    tr.update(runs(task, ("clip_cov",), n, ctx.seed, generator=torch.Generator().manual_seed(ctx.seed)))
    base_h = [t.entropy[-1] for t in tr["ppo_clip"]]
    dh = {k: paired_difference([t.entropy[-1] for t in tr[k]], base_h) for k in ("clip_cov", "kl_cov")}
    dj = {k: paired_difference([t.objective[-1] for t in tr[k]], [t.objective[-1] for t in tr["ppo_clip"]]) for k in dh}
    signs = {k: v.sign for k, v in dh.items()}
    if any(s == -1 for s in signs.values()):
        verdict = "refuted"
    else:
        verdict = "confirmed" if all(s == 1 for s in signs.values()) else "inconclusive"
    fig, (a1, a2) = new_figure(ID, "Covariance-based interventions: entropy and reward over epochs", ncols=2, width=4.6)
    names = {"ppo_clip": "GRPO", "clip_cov": "Clip-Cov", "kl_cov": "KL-Cov"}
    plot_epoch_metric(a1, {names[k]: tr[k] for k in names}, "entropy", "exact mean entropy (nats)")
    plot_epoch_metric(a2, {names[k]: tr[k] for k in names}, "objective", "exact J")
    return Evidence(
        verdict=verdict, statistic=dh["clip_cov"].statistic,
        threshold="paired 95% CI of the entropy difference (intervention − GRPO) after 8 epochs, for both",
        n_samples=n * 64 * 8 * 3,
        summary=("entropy after 8 epochs minus GRPO's: " + "; ".join(
            f"{names[k]} {v.statistic:+.4f} [{v.low:+.4f}, {v.high:+.4f}] (J {dj[k].statistic:+.4f})" for k, v in dh.items())),
        details={"entropy_diff": {k: v._asdict() for k, v in dh.items()}, "J_diff": {k: v._asdict() for k, v in dj.items()}},
        figure=save_figure(fig, ctx.figure_dir, ID),
        instances=[verdict == "confirmed"],  # one task; the seeds are paired replicates of one comparison
        sensitivity=[],
    )


register_claim(Claim(
    id=ID, paper="The Entropy Mechanism of Reinforcement Learning for Reasoning Language Models", seed_line=113,
    claim="Clip-Cov and KL-Cov (restricting the update of high-covariance tokens) keep policy entropy from collapsing",
    theme="GR", exact="entropy and J of the trained policies by enumeration",
    monte_carlo="multi-epoch training on sampled groups (paired seeds) with GRPO, Clip-Cov and KL-Cov",
    test="paired CI of the entropy difference after 8 epochs",
    scales={"quick": {"seeds": 6}, "full": {"seeds": 32}},
    run=run, source="Clip-Cov / KL-Cov as in PRIME-RL/Entropy-Mechanism-of-RL (via verl); cov_ratio scaled to the toy batch",
    kind="empirical",
    quote="Clip-Cov and KL-Cov",
    quote_source="seed abstract (line 113), via shared/CLAIMS.md",
    extension=True, unbiasedness=False,
    constants={"cov_ratio": [0.005, 0.05], "KL-Cov coefficient": [0.1, 10], "epochs": [1, 16], "lr (Adam)": [0.01, 0.2],
               "clip eps (GRPO)": [0.1, 0.3]},
))
