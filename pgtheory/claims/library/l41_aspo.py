r"""L41 (ASPO): "the Importance Sampling (IS) ratios of positive-advantage tokens are mismatched ... This mismatch
suppresses the update of low-probability tokens while over-amplifying already high-probability ones"; ASPO "flips
the IS ratios of positive-advantage tokens".

Design (fixed before running), :mod:`._multi_epoch` (``seeds`` paired batches), GRPO (token PPO clip) and ASPO
(flipped ratio for A > 0; PPO clip otherwise): after 4 and 8 epochs, for every positive-advantage token of the batch,
the effective weight w_t = ∂(aggregated surrogate)/∂log π_θ(y_t) (autograd) against the token's current probability
π_θ(y_t|·); Spearman correlation per seed. Exact entropy and J along training.
Verdict: confirmed if, after 8 epochs, GRPO's correlation is positive (t CI over seeds above 0: weight rises with
probability) and ASPO's is negative (CI below 0); refuted if GRPO's CI lies below 0; inconclusive otherwise. (CIs at
1 − ctx.alpha/k: see the revision of 2026-12-01 below.)
Protocol: kind=empirical, extension=True and reading our-criterion since the third revision of 2026-12-02 (before:
extension=False, as written) — the refuting arm is exactly the quoted mismatch (GRPO over-weights high-probability
positive tokens); ASPO's reversal only separated confirmed from inconclusive (until 2026-12-02,
second: now reported only). Instances = seeds
(both signs as claimed in that seed); sensitivity = the same rule after 4 epochs (already measured) and, at full scale,
after 8 epochs at the Adam learning rates 0.01, 0.02 and 0.1 (the declared range; added 2026-11-30, issue 10: the
verdict rested on one learning rate, 0.05).
Revision 2026-12-01, fifth (a referee of the seed-18 ledger, finding 7: the two methods were compared after 8 epochs
at one shared learning rate, where they move different distances; made after the seed-20 run, to be judged on a later
seed): the correlations are read at matched progress — where each run has moved KL(π_old ‖ π_θ) = ℓ for ℓ in
KL_LEVELS (interpolated between epochs 1…E, as L197, L103 and L129 now read theirs) — at every learning rate of the
sweep (full: 0.01, 0.02, 0.05, 0.1; the rule, not a sensitivity point, covers them), with a t interval over seeds per
(method, lr, level) at 1 − α/k, k = 2 × lrs × levels (32 full). Confirmed when GRPO's correlation is positive and
ASPO's negative at every (lr, level) both reached; refuted when GRPO's is negative at every one; qualified when GRPO's
is positive at some and negative at others; inconclusive otherwise. Each lr's own verdict is reported as a sweep
point (a breakdown of the rule's own cells, not a separate sensitivity check). The correlations after the last epoch
at lr 0.05 are reported, not decisive. A pre-run audit (same day) found two ways the first draft could not confirm,
both fixed: levels below a run's first-epoch KL were interpolated from epoch 0, where every ratio is 1 and the two
methods are one estimator (now not read), and a cell reached by 3 seeds was read (now half the seeds). Expected power,
stated before the run: with the seed-18 spreads (GRPO sd ≈ 0.22, ASPO ≈ 0.10 over 32 seeds; t quantile ≈ 5.2) the
half-widths are about 0.20 and 0.09, against GRPO means after 8 epochs of +0.29 … −0.05 over the learning rates, so
the verdict is likely to stay inconclusive; the rule is not loosened to avoid that.

Revision 2026-12-01 (multiplicity; referee of the paper draft; before the confirmatory run at seed 8): the t CIs of
the mean Spearman correlation (GRPO and ASPO) deciding the verdict (8 epochs) and every sweep point (4 epochs; each
swept lr) were at 95%; now 1 − ctx.alpha/k with k = 2 × (2 + len(sweep_lrs)) — two intervals (GRPO, ASPO) per
setting, settings = the main rule, the 4-epoch point and each swept learning rate (k = 4 quick, 10 full). The per-seed
instances are signs of exact per-seed correlations, not interval decisions.
Revision 2026-12-02 (after the seed-21 run had started, before its record was read; judged from the next run): each
replicate has its own task (:func:`._multi_epoch.task_family`) besides its own θ_old and batch, as in L197, L103 and
L129, so the seeds are a family of instances; and the mini-batch orders come from the harness's second stream
(seed + 2³¹), disjoint from every replicate's own.
Revision 2026-12-02, second (a referee of the seed-21 ledger, finding 4, while the seed-22 run was under way and before
its record was read; judged from the run after it): (a) the statistic was Spearman(whole weight, probability), whose
mean is already −0.076 at epoch 0 for both methods — the advantage and aggregation weights (1/|o|), not the IS ratio —
so the smallest levels measured that baseline. The quoted mismatch is about the ratio, so the statistic is now the
ratio's own factor: each positive-advantage token's effective weight divided by its weight at θ_old (= r_t for GRPO,
0 where clipped; 1/r_t for ASPO), against its current probability; at epoch 0 the factor is the constant 1 and is not
read. The whole-weight correlation stays reported. (b) ASPO's sign no longer decides: "flips the IS ratios" is ASPO's
definition (a clause read "no-result"), and requiring ASPO's correlation to be significantly negative in every cell
while the reading note said ASPO's form decides nothing was a contradiction. The record is decided by GRPO's sign over
every (lr, level) it reached (confirmed + everywhere, refuted − everywhere, qualified both, else inconclusive), with
the claim's α split over those cells only (k = lrs × levels = 16 at full scale; was 32 with ASPO's).
A pre-run audit of this revision (docs/reviews/2026-12-02-seed21-minor-revisions-prerun-audit.md, finding 1, same day,
before the seed-22 records were read) found that the first draft, Spearman(IS factor, current probability π_θ), still
had a baseline other than 0: π_θ = r·π_old shares the factor r (+0.09 … +0.40 with r independent of π_old), and clipping
pulls the other way. "Already high-probability" is the probability before the update, so the factor is correlated with
π_old(y_t|·), the sampling-time probability, which shares nothing with r: with the factor independent of π_old the
mean is 0, and clipping (a zero factor) counts as part of GRPO's weighting. The correlation with π_θ and the whole
weight's are reported. The auditor disclosed that on dev seed 0 Spearman(factor, π_old) was above +0.1 in 23 of 32
replicate-epochs; the choice rests on the sentence's "already", not on those numbers.
Revision 2026-12-02, third (a referee of the seed-23 ledger, finding 1, blocking; after that record was read, so judged
from the run after it; the direction is conservative: the shown verdict can only become undecided): the reading is
our-criterion, not as-written. The sentence names no measure of "suppresses ... while over-amplifying"; every part of
the statistic is ours (the IS factor with clipped tokens at 0, positive-advantage tokens only, Spearman, π_old for
"already high-probability"), as for L39 and L103, and it decides the verdict: the withdrawn statistic gave
inconclusive on the seed-23 arrays, this one qualified (GRPO "−" at KL 0.01 before the clip binds, "+" from 0.03). The
referee also found that ASPO's flipped factor, the paper's remedy, scores "+" in every cell it reached and above GRPO,
so the statistic does not separate the remedy from the estimator it fixes. The rule's outcome stays in the record as
the quoted part's verdict on our reading: the mismatch clause keeps its as-written reading, so the protocol records
its verdict as ``quote_part_verdict`` while the claim's our-criterion reading leaves the sentence undecided (a pre-run
audit of this revision, docs/reviews/2026-12-02-seed23-referee-revisions-prerun-audit.md, A1: reading the clause
our-criterion too had dropped the quoted part's verdict from the record).
"""
from __future__ import annotations

import numpy as np
import torch
from scipy.stats import spearmanr, t as student_t

from ...estimators import aggregation_weights, group_advantages, token_surrogate_coefficients
from ...exact import sequence_objective
from ...policies import TabularSequencePolicy
from ...problems import SequenceTask
from ...sampling import sample_sequence_groups
from ..record import Claim, Evidence, RunContext, clause, sweep_point
from ..registry import register_claim
from ..style import new_figure, save_figure
from ...stats import value_at_progress
from ._multi_epoch import B, G, LR, plot_epoch_metric, runs, task_family

ID = "L41-aspo-flipped-ratios"
KL_LEVELS = (0.01, 0.03, 0.1, 0.3)  #: matched progress: exact KL(π_old ‖ π_θ) moved, nats (as L197)
#: a (method, lr, level) cell is read only when at least this fraction of the seeds reached the level (fewer give t
#: quantiles of 17 to 286 at the claim's level: a cell that can only read "0")
MIN_SEED_FRACTION = 0.5
MISMATCH_CLAUSE = ("the Importance Sampling (IS) ratios of positive-advantage tokens are mismatched ... This mismatch "
                   "suppresses the update of low-probability tokens while over-amplifying already high-probability ones")
FLIP_CLAUSE = "flips the IS ratios of positive-advantage tokens"


def _ci(x, confidence_level: float):
    """Mean of ``x`` with its two-sided t interval at ``confidence_level``: (mean, low, high)."""
    x = np.asarray(x)
    h = student_t.ppf(0.5 + confidence_level / 2, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x))
    return float(x.mean()), float(x.mean() - h), float(x.mean() + h)


def is_factor_correlation(probability, weight, weight_old) -> float:
    """Spearman correlation of the IS factor ``weight / weight_old`` (a token's effective weight over its weight at
    θ_old: r_t, 0 where clipped, for GRPO) with ``probability`` (π_old(y_t|·) for the rule). The factor is rounded to 12
    decimals so that tokens sharing a context and a token (one ratio) stay tied: the quotient carries 1e-16 round-off
    that would otherwise break their ties at random."""
    return float(spearmanr(probability, np.round(np.asarray(weight) / np.asarray(weight_old), 12)).statistic)


def _correlations(task, n_seeds: int, seed: int, lr: float):
    """Per method: Spearman(weight, probability) over the positive-advantage tokens of each seed's batch after every
    epoch, ``[seeds, epochs + 1]``, the exact KL moved per epoch ``[seeds, epochs + 1]``, seed 0's scatter after the
    last epoch, and the traces. ``task``: one task, or a family (replicate j on ``task[j]``)."""
    tr = runs(task, ("ppo_clip", "aspo"), n_seeds, seed, lr=lr)
    corr, kl, scatter = {}, {}, {}
    reported = {"is_factor_vs_current_probability": {}, "weight_vs_current_probability": {}}
    for k, traces in tr.items():
        c_k, cur_k, w_k = [], [], []
        for j, trace in enumerate(traces):
            g = torch.Generator().manual_seed(seed * 1000 + j)  # the harness's seeds: rebuild the same batch
            pol = TabularSequencePolicy(task if isinstance(task, SequenceTask) else task[j])
            th_old = pol.random_params(generator=g)
            if not torch.equal(th_old, trace.theta[0]) or abs(float(sequence_objective(pol, th_old)) - trace.objective[0]) > 1e-12:
                # θ_old depends only on the seed; J(θ_old) also on the task (a pre-run audit, 2026-12-02)
                raise RuntimeError(f"replicate {j}: the rebuilt θ_old or task is not the one the harness trained on")
            batch = sample_sequence_groups(pol, th_old, B, G, g)
            adv = group_advantages(batch.rewards, "grpo")
            w = aggregation_weights(batch.mask, "seq_mean_token_mean")
            rows = batch.prompts[:, None].expand(B, G)
            pos = batch.mask & (adv[..., None] > 0)
            p_old = batch.token_log_target[pos].exp().numpy()  # π_old(y_t|·): "already high-probability"
            per_epoch, per_epoch_cur, per_epoch_w, c0 = [], [], [], None
            for ep, th in enumerate(trace.theta):
                lp = pol.sequence_token_log_probs(th)[rows, batch.index]
                c = token_surrogate_coefficients(k, lp, batch.token_log_target, adv, batch.mask, w)
                x, y = lp[pos].exp().numpy(), c[pos].numpy()
                if c0 is None:  # epoch 0: every ratio is 1, the weight is A·w (no IS factor yet)
                    c0 = y
                    per_epoch.append(float("nan"))  # the ratio factor is the constant 1: no correlation to read
                    per_epoch_cur.append(float("nan"))
                else:
                    per_epoch.append(is_factor_correlation(p_old, y, c0))
                    per_epoch_cur.append(is_factor_correlation(x, y, c0))  # reported: π_θ = r·π_old shares r
                per_epoch_w.append(float(spearmanr(x, y).statistic))  # reported: the statistic until 2026-12-02
                if j == 0 and ep == len(trace.theta) - 1:
                    scatter[k] = (x, y)
            c_k.append(per_epoch)
            cur_k.append(per_epoch_cur)
            w_k.append(per_epoch_w)
        corr[k] = np.array(c_k)
        reported["is_factor_vs_current_probability"][k] = np.array(cur_k)
        reported["weight_vs_current_probability"][k] = np.array(w_k)
        kl[k] = np.array([t.kl for t in traces])
    return corr, reported, kl, scatter, tr


def _sign(ci) -> str:
    """'+' when the t interval lies above 0, '−' below, '0' otherwise; None where too few seeds reached the level."""
    if ci is None:
        return None
    return "+" if ci[1] > 0 else ("−" if ci[2] < 0 else "0")


def _at_levels(kl: np.ndarray, corr: np.ndarray) -> np.ndarray:
    """Each run's correlation where it has moved KL = ℓ, ``[seeds, levels]``, interpolated between epochs 1…E only: at
    epoch 0 every ratio is 1 and GRPO and ASPO are the same estimator, so a level below a run's first-epoch KL is not
    read (NaN) rather than interpolated from a start both methods share (a pre-run audit, 2026-12-01)."""
    return value_at_progress(kl[:, 1:], corr[:, 1:], KL_LEVELS)


def matched_signs(corr: np.ndarray, kl: np.ndarray, confidence_level: float) -> list:
    """The sign of the mean correlation over seeds at each KL level, read where each seed's run has moved that far
    (:func:`_at_levels`); None where fewer than MIN_SEED_FRACTION of the seeds reached the level."""
    at = _at_levels(kl, corr)  # [seeds, levels]
    out = []
    for j in range(len(KL_LEVELS)):
        v = at[:, j][np.isfinite(at[:, j])]
        out.append(_sign(_ci(v, confidence_level)) if v.size >= max(2, MIN_SEED_FRACTION * at.shape[0]) else None)
    return out


def decide(grpo_signs: list) -> str:
    """The quoted mismatch from GRPO's signs over every (learning rate, KL level) GRPO reached (None: not reached):
    confirmed when GRPO's correlation is positive everywhere; refuted when negative everywhere; qualified when positive
    somewhere and negative elsewhere; inconclusive otherwise (some cell neither, or none reached)."""
    gs = [g for g in grpo_signs if g is not None]
    if not gs:
        return "inconclusive"
    if all(g == "+" for g in gs):
        return "confirmed"
    if all(g == "−" for g in gs):
        return "refuted"
    if "+" in gs and "−" in gs:
        return "qualified"
    return "inconclusive"


def aspo_reversal(aspo_signs: list) -> str:
    """ASPO's correlation, reported: "confirmed" when negative at every cell it reached, "inconclusive" otherwise. The
    flip is ASPO's definition (the clause is read "no-result"): its sign never decides the record."""
    a = [x for x in aspo_signs if x is not None]
    return "confirmed" if a and all(x == "−" for x in a) else "inconclusive"


def _clauses(grpo_signs: list, aspo_signs: list) -> list[dict]:
    return [clause(MISMATCH_CLAUSE, decide(grpo_signs), "as-written",
                   grpo_signs=["·" if x is None else x for x in grpo_signs]),
            clause(FLIP_CLAUSE, aspo_reversal(aspo_signs), "no-result",
                   aspo_signs=["·" if x is None else x for x in aspo_signs],
                   note="the flip is ASPO's definition; whether its ratio factor falls with probability is reported")]


def run(ctx: RunContext) -> Evidence:
    n_seeds = ctx.settings["seeds"]
    task = task_family(ctx.seed, n_seeds)  # one task per replicate (2026-12-02)
    lrs = tuple(ctx.settings["lrs"])
    # the claim's share of the ledger's α, split over its deciding intervals: GRPO's at each (lr, KL level); ASPO's
    # (reported) at the same level
    k_decisions = len(lrs) * len(KL_LEVELS)
    conf = 1 - ctx.alpha / k_decisions
    per_lr = {lr: _correlations(task, n_seeds, ctx.seed, lr) for lr in lrs}
    signs = {lr: {k: matched_signs(corr[k], kl[k], conf) for k in corr} for lr, (corr, _, kl, _, _) in per_lr.items()}
    grpo_all = [x for lr in lrs for x in signs[lr]["ppo_clip"]]
    aspo_all = [x for lr in lrs for x in signs[lr]["aspo"]]
    clauses = _clauses(grpo_all, aspo_all)
    verdict = decide(grpo_all)
    main_corr, main_reported, main_kl, scatter, tr = per_lr[LR] if LR in per_lr else per_lr[lrs[0]]
    # per seed (an instance, descriptive): GRPO's IS factor rises with π_old at the largest level it reached
    at_g = _at_levels(main_kl["ppo_clip"], main_corr["ppo_clip"])
    per_seed = []
    for i in range(n_seeds):
        reached = np.nonzero(np.isfinite(at_g[i]))[0]
        per_seed.append(bool(reached.size and at_g[i, reached[-1]] > 0))
    sensitivity = [sweep_point("lr", lr, decide(signs[lr]["ppo_clip"]), instances=n_seeds,
                               clauses=_clauses(signs[lr]["ppo_clip"], signs[lr]["aspo"]),
                               grpo_signs=signs[lr]["ppo_clip"], aspo_signs=signs[lr]["aspo"]) for lr in lrs]
    same_epoch = {k: _ci(main_corr[k][:, -1], conf) for k in main_corr}  # reported: after the last epoch at one lr
    # reported after the last epoch: the factor against the current probability, and the whole weight (until 2026-12-02)
    same_epoch_cur = {k: _ci(v[:, -1], conf) for k, v in main_reported["is_factor_vs_current_probability"].items()}
    same_epoch_w = {k: _ci(v[:, -1], conf) for k, v in main_reported["weight_vs_current_probability"].items()}
    measurements = {k: {"probability": x, "weight": y, "entropy": np.array([t.entropy for t in tr[k]])}
                    for k, (x, y) in scatter.items()}
    table = "; ".join(f"lr {lr}: GRPO {' '.join(x or '·' for x in signs[lr]['ppo_clip'])}, ASPO "
                      f"{' '.join(x or '·' for x in signs[lr]['aspo'])}" for lr in lrs)
    return Evidence(
        verdict=verdict, statistic=same_epoch["ppo_clip"][0],
        threshold=(f"at matched KL moved ({', '.join(map(str, KL_LEVELS))} nats) at every learning rate of {list(lrs)}: "
                   f"GRPO's Spearman(IS factor w/w₀, π_old) t CI over seeds > 0 everywhere → confirmed; < 0 "
                   f"everywhere → refuted; both signs → qualified; otherwise inconclusive (CIs at level {conf:.6g} = "
                   f"1 − α/{k_decisions}; ASPO's reported)"),
        n_samples=n_seeds * B * G * 2 * len(lrs),
        summary=(f"Sign of the Spearman correlation of the positive-token IS factor (the token's effective weight over its "
                 f"weight at θ_old: the ratio, 0 where clipped; 1/ratio for ASPO) with the token's probability before the "
                 f"update, π_old, read where "
                 f"each run has moved KL = {', '.join(map(str, KL_LEVELS))} nats (+/−: interval above/below 0, 0: neither, "
                 f"·: not reached): {table}. After the last epoch at lr {LR} (one shared learning rate, reported): GRPO "
                 f"{same_epoch['ppo_clip'][0]:+.2f} [{same_epoch['ppo_clip'][1]:+.2f}, {same_epoch['ppo_clip'][2]:+.2f}], "
                 f"ASPO {same_epoch['aspo'][0]:+.2f} [{same_epoch['aspo'][1]:+.2f}, {same_epoch['aspo'][2]:+.2f}]; the factor "
                 f"against the current probability π_θ (which shares the factor r) GRPO {same_epoch_cur['ppo_clip'][0]:+.2f}, "
                 f"ASPO {same_epoch_cur['aspo'][0]:+.2f}; with the whole weight against π_θ (advantage and aggregation weights included, the statistic before 2026-12-02) GRPO "
                 f"{same_epoch_w['ppo_clip'][0]:+.2f}, ASPO {same_epoch_w['aspo'][0]:+.2f}; final "
                 f"entropy GRPO {np.median([t.entropy[-1] for t in tr['ppo_clip']]):.3f} vs ASPO "
                 f"{np.median([t.entropy[-1] for t in tr['aspo']]):.3f} nats"),
        details={"signs": {str(lr): v for lr, v in signs.items()}, "kl_levels": list(KL_LEVELS), "lrs": list(lrs),
                 "spearman_by_epoch": {str(lr): {k: c.tolist() for k, c in per_lr[lr][0].items()} for lr in lrs},
                 "reported_by_epoch": {str(lr): {name: {k: c.tolist() for k, c in d.items()}
                                                 for name, d in per_lr[lr][1].items()} for lr in lrs},
                 "kl_by_epoch": {str(lr): {k: c.tolist() for k, c in per_lr[lr][2].items()} for lr in lrs},
                 "last_epoch_ci": same_epoch, "last_epoch_ci_factor_vs_current": same_epoch_cur,
                 "last_epoch_ci_weight": same_epoch_w, "confidence_level": conf,
                 "interval_decisions": k_decisions},
        instances=per_seed, sensitivity=sensitivity, measurements=measurements, clauses=clauses,
    )


def _draw(m: dict, figure_dir: str) -> str:
    """The figure, from the stored measurements: seed 0's positive-token weights against probability after 8 epochs,
    and the exact entropy per epoch (median and range over seeds)."""
    fig, (a1, a2) = new_figure(ID, "Positive-advantage tokens: effective weight against probability after 8 epochs",
                               ncols=2, width=4.6)
    for i, k in enumerate(("ppo_clip", "aspo")):
        a1.scatter(m[k]["probability"], m[k]["weight"], s=4, alpha=0.5, color=f"C{i}",
                   label={"ppo_clip": "GRPO (PPO clip)", "aspo": "ASPO (flipped)"}[k])
    a1.set_xlabel("current token probability π_θ(y_t | ·)")
    a1.set_ylabel("effective weight ∂L/∂log π_θ(y_t) (seed 0)")
    a1.legend(fontsize=6)
    plot_epoch_metric(a2, {"GRPO": m["ppo_clip"]["entropy"], "ASPO": m["aspo"]["entropy"]},
                      "exact mean entropy of π_θ(·|q) (nats)")
    return save_figure(fig, figure_dir, ID)


register_claim(Claim(
    id=ID, paper="ASPO: Asymmetric Importance Sampling Policy Optimization", seed_line=41,
    draw=_draw, figure_family="llm_estimators",
    claim="the IS ratios of positive-advantage tokens are mismatched ... suppresses the update of low-probability tokens while "
          "over-amplifying already high-probability ones; flips the IS ratios of positive-advantage tokens",
    theme="GR, IW", exact="per-token effective weights by autograd at the trained θ; exact entropy",
    monte_carlo="multi-epoch training on sampled groups (paired seeds) with GRPO and ASPO surrogates",
    test="sign of Spearman(IS factor, π_old) over GRPO's positive-advantage tokens at matched KL moved, every lr, CI over seeds",
    scales={"quick": {"seeds": 6, "lrs": [0.02, 0.05]}, "full": {"seeds": 32, "lrs": [0.01, 0.02, 0.05, 0.1]}},
    run=run, source="flip as in the abstract (sg(1/r)·A·log π for A > 0); the paper's soft dual clip and exact form not verified",
    kind="empirical",
    reading="our-criterion",
    reading_note=("the sentence names no measure of the mismatch; the statistic (GRPO's IS factor on positive-advantage "
                  "tokens, 0 where clipped, Spearman against pi_old) is ours and decides the rule (2026-12-02, a referee "
                  "of the seed-23 ledger; ASPO's flipped factor scores like GRPO's under it); ASPO's flip is its "
                  "definition (a clause read no-result, its correlation reported; its exact form was not verified)"),
    quote="the Importance Sampling (IS) ratios of positive-advantage tokens are mismatched, leading to unbalanced token weighting for "
          "positive and negative tokens; This mismatch suppresses the update of low-probability tokens while over-amplifying already "
          "high-probability ones; flips the IS ratios of positive-advantage tokens",
    quote_source="seed abstract (line 41), via shared/CLAIMS.md",
    extension=True, unbiasedness=False,
    constants={"epochs": [1, 16], "lr": [0.01, 0.1], "group_size": [4, 16], "clip_eps": [0.1, 0.3]},
))
