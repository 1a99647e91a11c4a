r"""L113 (Entropy mechanism), interventions: "Clip-Cov and KL-Cov" restrict the update of high-covariance tokens to
keep policy entropy from collapsing.

Design, :mod:`._multi_epoch` (``seeds`` paired batches): GRPO (token PPO clip), Clip-Cov and KL-Cov (cov_ratio 0.02 —
the reference's 2e-4 would select one token of a ~1,500-token toy batch — band (1, 5), KL coefficient 1): exact mean
entropy and J after each epoch over the same batch.
Verdict (decided after epoch 1, the regime the method is used in: each batch is passed over once or a few times): confirmed
if both interventions keep the entropy significantly higher than GRPO (paired CI above 0, at 1 − ctx.alpha/8: see the
revision of 2026-12-01 below); refuted if either leaves
it significantly lower; inconclusive otherwise. J is reported (the price in reward). Sensitivity: the same rule after
2, 4 and 8 epochs over the same batch (epochs is a design constant a user varies).
Revision (2026-11-30, issue 11): KL-Cov was built on the PPO-clip objective; the reference (and verl) adds its penalty
to the *unclipped* r·A. With the reference base the 8-epoch comparison reverses (KL-Cov's entropy falls below GRPO's,
since nothing clips its ratios), so the claim is now decided after one epoch and the epoch dependence is reported
(the old hybrid stays available as ``kl_cov_ppo_clip``).
Revision 2026-12-01 (multiplicity; referee of the paper draft; before the confirmatory run at seed 8): the paired
t intervals of the entropy difference (intervention − GRPO) that decide the verdict (epoch 1) and the sweep points
(epochs 2, 4, 8) were at 95%; now 1 − ctx.alpha/k with k = 8 (4 epoch settings, each decided by its own pair of
intervals, Clip-Cov and KL-Cov; the J differences are reported only and use the same level).
Protocol: kind=empirical, extension=True — the quote column of CLAIMS.md holds only the methods' names; the abstract's
"helping policy escape entropy collapse" is not quoted there, so the entropy rule asks more than the quote.

Revision 2026-12-01 (a referee of the seed-9 ledger; before the confirmatory run at seed 10): every claim with an
extension now states the verdict of its quoted sentence. Here it is ``inconclusive``: the quoted text names the two methods and asserts no result. The rule's own verdict
is kept as the raw verdict and reported; it no longer decides the sentence either way.

Revision 2026-12-01 (a referee of the seed-10 ledger, before the seed-13 run): the quote was the CLAIMS.md column
("Clip-Cov and KL-Cov"), a sentence with no result, which made the claim undecidable by construction. It now quotes the
abstract's result sentence ("Experiments show that these methods encourage exploration, thus helping policy escape
entropy collapse ..."), read as a stand-in (``Claim.reading``): a statement about the paper's LLM experiments tested on a
toy LLM. The verdict shown is still inconclusive on the sentence; the entropy rule is the extension's result. The
deciding epoch (1) was fixed in the 2026-11-30 revision after the 8-epoch reversal was seen; the epoch sweep reports
the other three.
Revision 2026-12-02 (the referees' count of single-instance records; judged from the next run): each replicate has its
own task (:func:`._multi_epoch.task_family`) besides its own batch, and ``instances`` counts the replicates on which
both interventions end the deciding epoch with more entropy than GRPO (descriptive; the verdict rests on the paired
intervals). Still one shared learning rate (a stand-in's extension; a matched-progress design is left).
Revision 2026-12-02, second (issue 10's item 6 names this claim among those to compare "on progress frontiers …, never
at one shared learning rate"; a referee of the seed-22 ledger, finding 5: KL-Cov's "refuted" points at epochs 4 and 8
came with J +0.10 and +0.30 above GRPO's — the unclipped base simply moves further. Made after the seed-22 records were
read, so judged from the next run, on an unseen seed): the extension's rule compares entropy at matched J gained
(J_LEVELS), each method over the learning-rate sweep LRS at the rate whose mean entropy over replicates is highest at
that level (:func:`pgtheory.stats.frontier_at_progress`, ``best="max"``: each method at its best setting for the
property claimed), read between measured epochs only (:func:`._multi_epoch.frontier_after_first_epoch`), paired over
replicates, intervals simultaneous over levels and the two interventions at the claim's share of α. Per intervention
(:func:`pgtheory.stats.matched_verdict` of "GRPO's entropy is lower"): confirmed = higher at every level reached.
Combined: refuted if either intervention's entropy is significantly lower at every level; confirmed if both are
higher at every level; qualified if any intervention is higher at some level and lower at another; inconclusive
otherwise. The equal-epoch comparison at the shared learning rate 0.05 (the previous rule) is reported, not decisive.
Sensitivity: GRPO's clip ε at 0.1 and 0.3 (declared range) against the same intervention runs; the learning rate and
the epochs are inside the rule. The full sweep's learning rates are L129's (0.005 … 0.2; at quick scale, 0.02 … 0.2,
most runs' first epoch already passes J +0.01, so that level is mostly not read there).
A pre-run audit of this design the same day (docs/reviews/2026-12-02-l113-matched-progress-prerun-audit.md) found two
blocking faults, both fixed before any run of it: the matched differences were GRPO − intervention under the label
"intervention − GRPO" (now intervention − GRPO, :func:`higher_verdict`, a test recomputes them from the stored
frontiers), and the levels, L129's, stopped before entropy collapses on this toy (it rises with J up to about
0.15–0.2), so 0.2 and 0.3 are added (read only where half the runs of a learning rate reach them). Clip-Cov's random
choices come from the second stream (seed + 2³¹), which no replicate's batch uses; the declared lr range is the swept one.
The reading (stand-in) is unchanged: the shown verdict stays inconclusive whichever way the rule comes out.
"""
from __future__ import annotations

import numpy as np
import torch

from ..._seeds import second_stream_seed
from ...stats import matched_comparison, matched_verdict, paired_difference
from ..record import Claim, Evidence, RunContext, sweep_point
from ..registry import register_claim
from ..style import new_figure, save_figure
from ._multi_epoch import (describe_matched, frontier_after_first_epoch, lr_sweep, matched_arrays, matched_records,
                           mean_matched_difference, plot_epoch_metric,
                           progress_arrays, task_family)

ID = "L113-clip-cov-kl-cov"
INTERVENTIONS = ("clip_cov", "kl_cov")
NAMES = {"ppo_clip": "GRPO", "clip_cov": "Clip-Cov", "kl_cov": "KL-Cov"}
#: matched progress: exact J gained. L129's levels and, since the pre-run audit of this design (same day), 0.2 and 0.3:
#: on the toy LLM entropy rises with J up to about 0.15–0.2 and collapses beyond, the regime the claim is about
J_LEVELS = (0.01, 0.03, 0.1, 0.2, 0.3)
EPS_GRPO_SWEEP = (0.1, 0.3)  #: GRPO's clip ε swept over its declared range (the main comparison: ε = 0.2)
SHARED_LR = 0.05  #: the previous rule's one learning rate (reported)
EPOCHS = (1, 2, 4, 8)  #: the previous rule's epochs over the same batch (reported at SHARED_LR)


def combine(verdicts: dict[str, str]) -> str:
    """The extension's rule over the interventions' matched verdicts ("GRPO's entropy is lower" per intervention):
    refuted if either is refuted (its entropy significantly lower at every level), confirmed if both are confirmed,
    qualified if either is qualified (higher at one level, lower at another), inconclusive otherwise."""
    v = list(verdicts.values())
    if "refuted" in v:
        return "refuted"
    if all(x == "confirmed" for x in v):
        return "confirmed"
    return "qualified" if "qualified" in v else "inconclusive"


def higher_verdict(points) -> str:
    """The verdict of "the intervention's entropy is higher than GRPO's" from matched points of (intervention − GRPO):
    :func:`pgtheory.stats.matched_verdict` reads "a is lower than b", so its confirmed and refuted swap."""
    v = matched_verdict(points)
    return {"confirmed": "refuted", "refuted": "confirmed"}.get(v, v)


def _entropy_arrays(sweep) -> np.ndarray:
    """``[R, C, epochs + 1]`` exact mean entropy of an :func:`._multi_epoch.lr_sweep`."""
    return np.array([[t.entropy for t in row] for row in sweep])


def run(ctx: RunContext) -> Evidence:
    n = ctx.settings["seeds"]
    lrs = tuple(ctx.settings["lrs"])
    task = task_family(ctx.seed, n)  # one task per replicate (2026-12-02)
    sweeps = {"ppo_clip": lr_sweep(task, "ppo_clip", n, ctx.seed, lrs),
              "kl_cov": lr_sweep(task, "kl_cov", n, ctx.seed, lrs),
              # Clip-Cov's random choice of tokens draws from its own generator (one stream over the sweep, in order)
              "clip_cov": lr_sweep(task, "clip_cov", n, ctx.seed, lrs,
                                   generator=torch.Generator().manual_seed(second_stream_seed(ctx.seed)))}
    # the claim's share of α over its matched comparisons (levels inside each): two interventions × (main GRPO + the
    # two swept GRPO clips)
    k_comparisons = len(INTERVENTIONS) * (1 + len(EPS_GRPO_SWEEP))
    conf = 1 - ctx.alpha / k_comparisons
    dj = {k: progress_arrays(sw)[2] for k, sw in sweeps.items()}
    ent = {k: _entropy_arrays(sw) for k, sw in sweeps.items()}
    front = {k: frontier_after_first_epoch(dj[k], ent[k], J_LEVELS, best="max") for k in sweeps}
    # (intervention − GRPO) at each level: the reported order (a pre-run audit, same day: the first draft reported
    # GRPO − intervention under the label "entropy minus GRPO's")
    points = {k: matched_comparison(front[k], front["ppo_clip"], J_LEVELS, confidence_level=conf) for k in INTERVENTIONS}
    per = {k: higher_verdict(points[k]) for k in INTERVENTIONS}
    verdict = combine(per)
    sensitivity = []
    for eps in EPS_GRPO_SWEEP:  # GRPO's clip over its declared range, against the same intervention runs
        sw = lr_sweep(task, "ppo_clip", n, ctx.seed, lrs, eps=eps)
        f_eps = frontier_after_first_epoch(progress_arrays(sw)[2], _entropy_arrays(sw), J_LEVELS, best="max")
        pts = {k: matched_comparison(front[k], f_eps, J_LEVELS, confidence_level=conf) for k in INTERVENTIONS}
        per_eps = {k: higher_verdict(v) for k, v in pts.items()}
        sensitivity.append(sweep_point("clip eps (GRPO)", eps, combine(per_eps), instances=n,
                                       per_intervention=per_eps,
                                       matched={NAMES[k]: describe_matched(v, prefix="J +") for k, v in pts.items()}))
    # reported: the previous rule, after equal epochs at one shared learning rate
    i_lr = lrs.index(SHARED_LR) if SHARED_LR in lrs else 0
    same = {e: {k: paired_difference(ent[k][:, i_lr, e], ent["ppo_clip"][:, i_lr, e], confidence_level=conf)
                for k in INTERVENTIONS} for e in EPOCHS if e < ent["ppo_clip"].shape[-1]}
    same_j = {e: {k: paired_difference(dj[k][:, i_lr, e], dj["ppo_clip"][:, i_lr, e], confidence_level=conf)
                  for k in INTERVENTIONS} for e in same}
    # per replicate (descriptive): both interventions' entropy above GRPO's at every J level the replicate reached
    inst = []
    for r in range(n):
        ok, seen = True, False
        for k in INTERVENTIONS:
            both = np.isfinite(front[k][r]) & np.isfinite(front["ppo_clip"][r])
            seen |= bool(both.any())
            ok &= bool((front[k][r][both] > front["ppo_clip"][r][both]).all())
        if seen:
            inst.append(ok)
    return Evidence(
        quote_verdict="inconclusive",  # the sentence is read as a stand-in (see the docstring)
        verdict=verdict, statistic=mean_matched_difference(points["clip_cov"]),
        threshold=(f"entropy at matched J gained ({', '.join(map(str, J_LEVELS))}), each method at its best learning rate "
                   f"of {list(lrs)} (highest mean entropy at the level), read between measured epochs, paired over "
                   f"replicates, CIs simultaneous over levels and the {k_comparisons} comparisons (level {conf:.6g} = 1 − α/"
                   f"{k_comparisons}): both interventions higher at every level → confirmed; either lower at every "
                   "level → refuted; either with both signs → qualified; otherwise inconclusive"),
        n_samples=n * 64 * 8 * (3 + len(EPS_GRPO_SWEEP)) * len(lrs),
        summary=("entropy minus GRPO's at matched J gained (each at its best learning rate): " + "; ".join(
            f"{NAMES[k]}: {describe_matched(points[k], prefix='J +')} ({per[k]})" for k in INTERVENTIONS)
            + f". Reported, after equal epochs at one shared lr {lrs[i_lr]} (the previous rule): " + " | ".join(
            f"{e}: " + "; ".join(f"{NAMES[k]} {v.statistic:+.4f} [{v.low:+.4f}, {v.high:+.4f}] (J {same_j[e][k].statistic:+.4f})"
                                 for k, v in same[e].items()) for e in same)),
        details={"matched": {k: matched_records(points[k]) for k in INTERVENTIONS},
                 "per_intervention": per, "lrs": list(lrs), "j_levels": list(J_LEVELS),
                 "shared_lr_entropy_diff": {e: {k: v._asdict() for k, v in same[e].items()} for e in same},
                 "shared_lr_J_diff": {e: {k: v._asdict() for k, v in same_j[e].items()} for e in same},
                 "confidence_level": conf},
        instances=inst,
        sensitivity=sensitivity,  # the learning rate and the epochs are inside the rule (frontier over both)
        measurements={**{k: {"entropy": ent[k][:, i_lr], "objective": np.array([row[i_lr].objective for row in sweeps[k]])}
                         for k in NAMES},
                      **{f"matched_{k}": matched_arrays(points[k]) for k in INTERVENTIONS},
                      "frontier": {k: front[k] for k in NAMES}},
    )


def _draw(m: dict, figure_dir: str) -> str:
    """The figure, from the stored measurements: exact entropy and J per epoch (median and range over seeds) of GRPO,
    Clip-Cov and KL-Cov."""
    fig, (a1, a2) = new_figure(ID, "Covariance-based interventions: entropy and reward over epochs (lr 0.05)", ncols=2,
                               width=4.6)
    names = {"ppo_clip": "GRPO", "clip_cov": "Clip-Cov", "kl_cov": "KL-Cov"}
    plot_epoch_metric(a1, {names[k]: m[k]["entropy"] for k in names}, "exact mean entropy (nats)")
    plot_epoch_metric(a2, {names[k]: m[k]["objective"] for k in names}, "exact J")
    return save_figure(fig, figure_dir, ID)


register_claim(Claim(
    id=ID, paper="The Entropy Mechanism of Reinforcement Learning for Reasoning Language Models", seed_line=113,
    draw=_draw, figure_family="llm_estimators",
    claim="Clip-Cov and KL-Cov (restricting the update of high-covariance tokens) keep policy entropy from collapsing",
    theme="GR", exact="entropy and J of the trained policies by enumeration",
    monte_carlo="multi-epoch training on sampled groups (paired seeds) with GRPO, Clip-Cov and KL-Cov",
    test="paired CIs of the entropy difference (intervention − GRPO) at matched J gained over a learning-rate sweep",
    scales={"quick": {"seeds": 6, "lrs": [0.02, 0.05, 0.2]}, "full": {"seeds": 32, "lrs": [0.005, 0.01, 0.02, 0.05, 0.1, 0.2]}},
    run=run, source="Clip-Cov / KL-Cov as in PRIME-RL/Entropy-Mechanism-of-RL and verl's compute_policy_loss_kl_cov (unclipped base); cov_ratio scaled to the toy batch",
    kind="empirical",
    reading="stand-in",
    reading_note=("the sentence reports the paper's experiments (reasoning LLMs at scale); the toy LLM of _multi_epoch "
                  "stands in for them, so whichever way the entropy rule comes out the sentence stays undecided"),
    quote="Experiments show that these methods encourage exploration, thus helping policy escape entropy collapse and "
          "achieve better downstream performance.",
    quote_source="seed abstract (line 114), the sentence after the one naming Clip-Cov and KL-Cov",
    extension=True, unbiasedness=False,
    constants={"cov_ratio": [0.005, 0.05], "KL-Cov coefficient": [0.1, 10], "epochs": [1, 16], "lr (Adam)": [0.005, 0.2],
               "clip eps (GRPO)": [0.1, 0.3]},
))
