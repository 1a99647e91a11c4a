r"""L39 (PPO): "a novel objective function that enables multiple epochs of minibatch updates" with "some of the
benefits of trust region policy optimization".

Design (fixed before running). Part 1, exact, on random Garnets with tabular softmax: the population surrogates
L^CPI(θ) = Σ_s d_old(s) Σ_a π_old(a|s) r A_old and L^CLIP (the same with min(rA, clip(r)A)); checks
L^CLIP ≤ L^CPI at random θ, and equal value and gradient at θ_old, where ∇L^CPI(θ_old) = (1−γ)∇J(θ_old).
Part 2, Monte Carlo ratio drift: 2,048 transitions from π_old (geometric episodes, Garnet S = 8, A = 3,
γ = 0.9), exact advantages A_old, K epochs of Adam (lr 0.01) over minibatches of 64 with ε = 0.2, clipped and
unclipped; after each epoch the fraction of sampled (s, a) with r ∉ [1 − ε, 1 + ε], max |r − 1| and the mean
KL(π_old ‖ π) under d_old.
Protocol: kind=empirical, extension=True — part 1 (L^CLIP ≤ L^CPI, equal value and gradient at θ_old) is an identity,
a check of our code (``code_checks``: a failure makes the claim inconclusive, it never refutes PPO); the confirmed/qualified decision rests on the ratio drift, and "ratios stay inside [1−ε, 1+ε]" asks
more than "some of the benefits of TRPO" (it can qualify, never refute). Instances = drift seeds (identities and that
seed's final fraction); sensitivity = the same rule after each epoch K (the epochs are already swept).

Revision 2026-12-01 (a referee of the seed-9 ledger; before the confirmatory run at seed 10): every claim with an
extension now states the verdict of its quoted sentence. Here the rule itself is the reading of the sentence's
trust-region benefit, so ``quote_verdict`` is the rule's verdict (its failure branch is ``qualified`` by design: the
sentence claims "some of" TRPO's benefits). The comparison is at one Adam learning rate, not at matched progress.

Revision 2026-12-02, second (issue 10, item 6 names L39 among the comparisons to make "on progress frontiers …, never at
one shared learning rate"; the first review: "the result is set by the learning rate: 46% outside after one epoch at lr
0.01, 0% after three epochs at lr 0.001"; made after the seed-22 records were read, so judged on an unseen seed):
part 2's rule compares L^CLIP with L^CPI at matched progress — J gained as a fraction of each seed's gap J* − J(θ_old)
(exact; GAP_LEVELS) — each surrogate at the learning rate of the declared range with the fewest ratios outside
[1 − ε, 1 + ε] at that level (one rate for all seeds, by the mean), read between measured epochs
(:func:`._multi_epoch.frontier_after_first_epoch`), paired over seeds, intervals simultaneous over levels and the three
clip widths: clipping keeps significantly fewer ratios outside at every level → confirmed; more at every level →
refuted; both signs → qualified; otherwise inconclusive (:func:`clip_verdict`). Sensitivity: ε = 0.1 and 0.3 (declared),
each read in its own band. The previous absolute rule (≤ 5% outside after the last epoch at lr 0.01) is reported.
The reading is unchanged (our criterion), so the shown verdict stays inconclusive whichever way the rule comes out. A
caution recorded before any run: L177's note found that at matched J gained PPO clip's KL equals unclipped PG's on a
development seed, so a matched reading may show no trust-region effect; that would be a result, not a reason to move
the levels or the measure. A pre-run audit the same day (docs/reviews/2026-12-02-l39-matched-progress-prerun-audit.md)
found one blocking fault, fixed before any run: at the smallest level both surrogates left no ratio outside the band
on every dev seed (interval [0, 0]), so the main width could never confirm or refute; such all-tied levels are left out
of the verdict (:func:`clip_verdict`).
"""
from __future__ import annotations

import numpy as np
import torch

from ...estimators import cpi_objective, ppo_clip_objective
from ...exact import evaluate_policy, objective as objective_of, policy_gradient, value_iteration
from ...policies import TabularSoftmax
from ...problems import garnet
from ...sampling import TrajectorySampler
from ..record import Claim, Evidence, RunContext, sweep_point
from ..registry import register_claim
from ..style import new_figure, save_figure
from ...stats import matched_comparison, matched_verdict
from ._multi_epoch import (describe_matched, frontier_after_first_epoch, matched_arrays, matched_records,
                           mean_matched_difference, replicates_lower)

ID = "L39-ppo-clip-surrogate"
EPS, LR, MINIBATCH, N_TRANSITIONS = 0.2, 0.01, 64, 2048
MAX_OUTSIDE = 0.05


def _population_surrogates(mdp, pol, th_old, th):
    pi_old, pi = pol.probs(th_old), pol.probs(th)
    ev = evaluate_policy(mdp, pi_old)
    w = ev.occupancy.unsqueeze(-1) * pi_old
    r = pi / pi_old
    return (w * cpi_objective(r, ev.advantage)).sum((-2, -1)), (w * ppo_clip_objective(r, ev.advantage, eps=EPS)).sum((-2, -1))


def _identities(ctx: RunContext) -> dict:
    rng = np.random.default_rng(ctx.seed)
    gen = torch.Generator().manual_seed(ctx.seed)
    worst_value = worst_grad = 0.0
    violations = 0
    for _ in range(ctx.settings["mdps"]):
        S, A = int(rng.integers(3, 10)), int(rng.integers(2, 5))
        mdp = garnet(S, A, min(S, 3), discount=float(rng.uniform(0.5, 0.95)), seed=int(rng.integers(2**31)))
        pol = TabularSoftmax(S, A)
        th_old = pol.random_params(generator=gen)
        th = th_old + torch.logspace(-3, 0.5, 50, dtype=torch.float64)[:, None, None] * torch.randn(50, S, A, generator=gen, dtype=torch.float64)
        cpi, clip = _population_surrogates(mdp, pol, th_old, th)
        violations += int((clip > cpi + 1e-12).sum())
        t = th_old.clone().requires_grad_(True)
        cpi0, clip0 = _population_surrogates(mdp, pol, th_old, t)
        g_cpi, g_clip = (torch.autograd.grad(f, t, retain_graph=True)[0] for f in (cpi0, clip0))
        g_true = (1 - mdp.discount) * policy_gradient(mdp, pol, th_old)
        scale = 1 + float(g_true.abs().max())
        worst_value = max(worst_value, abs(float((cpi0 - clip0).detach())))
        worst_grad = max(worst_grad, float((g_clip - g_true).abs().max()) / scale, float((g_cpi - g_true).abs().max()) / scale)
    return {"violations": violations, "max_value_gap_at_old": worst_value, "max_grad_err_at_old": worst_grad}


#: J gained as a fraction of the instance's gap J* − J(θ_old): the matched-progress levels (2026-12-02, second)
#: (0.05, 0.1, 0.2): chosen for reachability on dev seed 0 at quick scale (0.25 was reached by 2 of 4 seeds, 0.5 by none;
#: a fixed sample of 2,048 transitions limits what minibatch epochs can gain), before any full run of this design
GAP_LEVELS = (0.05, 0.1, 0.2)
EPS_BANDS = (0.1, 0.2, 0.3)  #: the clip widths swept (declared range [0.1, 0.3]; EPS = 0.2 the main one)
COLS = ("progress", "kl", "max_abs_r_minus_1") + tuple(f"outside_{e}" for e in EPS_BANDS)


def _drift(ctx: RunContext, clip_eps: float | None, seed: int, epochs: int, lr: float = LR) -> np.ndarray:
    """One run of K epochs of minibatch Adam on L^CLIP (``clip_eps``) or L^CPI (None) from seed's θ_old and sample.
    ``[epochs + 1, len(COLS)]`` per epoch (row 0: θ_old): J gained over the gap J* − J(θ_old), E_{d_old} KL(π_old‖π),
    max |r − 1| over the sample, and the fraction of sampled (s, a) with r outside [1 − e, 1 + e] for each e of
    EPS_BANDS."""
    mdp = garnet(8, 3, 3, discount=0.9, seed=ctx.seed)
    pol = TabularSoftmax(8, 3)
    th_old = pol.random_params(generator=torch.Generator().manual_seed(seed))
    pi_old = pol.probs(th_old)
    ev = evaluate_policy(mdp, pi_old)
    j_star = float(mdp.initial @ value_iteration(mdp).v)
    gap = j_star - float(ev.objective)
    g = torch.Generator().manual_seed(seed + 10_000)
    traj = TrajectorySampler(mdp, pi_old).sample(N_TRANSITIONS, g)
    s, a = traj.states[:N_TRANSITIONS], traj.actions[:N_TRANSITIONS]
    adv, lp_old = ev.advantage[s, a], torch.log(pi_old[s, a])
    th = th_old.clone().requires_grad_(True)
    opt = torch.optim.Adam([th], lr=lr)
    objective = (lambda r, A: ppo_clip_objective(r, A, eps=clip_eps)) if clip_eps is not None else cpi_objective
    out = [[0.0, 0.0, 0.0] + [0.0] * len(EPS_BANDS)]
    for _ in range(epochs):
        perm = torch.randperm(N_TRANSITIONS, generator=g)
        for i in range(0, N_TRANSITIONS, MINIBATCH):
            idx = perm[i:i + MINIBATCH]
            ratio = torch.exp(torch.log_softmax(th, -1)[s[idx], a[idx]] - lp_old[idx])
            loss = -objective(ratio, adv[idx]).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():
            pi = pol.probs(th)
            r = pi[s, a] / pi_old[s, a]
            kl = float((ev.occupancy * (pi_old * (pi_old.log() - pi.log())).sum(-1)).sum())
            progress = (float(objective_of(mdp, pi)) - float(ev.objective)) / gap if gap > 0 else float("nan")
            out.append([progress, kl, float((r - 1).abs().max())]
                       + [float(((r < 1 - e) | (r > 1 + e)).double().mean()) for e in EPS_BANDS])
    return np.array(out)


def _all_tied(p) -> bool:
    """A matched level at which every pair is tied at zero difference (both surrogates leave no ratio outside the band
    on every seed: the interval is [0, 0]); it can decide nothing."""
    return p.diff is not None and p.diff.low == 0 and p.diff.high == 0


def clip_verdict(points) -> str:
    """"Clipping keeps fewer ratios outside the band than no clipping at matched progress": confirmed when significantly
    fewer at every level reached, refuted when significantly more at every level, qualified with both signs,
    inconclusive otherwise (:func:`pgtheory.stats.matched_verdict`, "a is lower than b"). A level where every pair is
    tied at zero (:func:`_all_tied`) is left out (a pre-run audit, 2026-12-02: at the smallest level no ratio leaves the
    band under either surrogate, which would make the main width unable to confirm or refute); with no other level the
    verdict is inconclusive."""
    kept = [p for p in points if not _all_tied(p)]
    return matched_verdict(kept) if kept else "inconclusive"


def run(ctx: RunContext) -> Evidence:
    ident = _identities(ctx)
    epochs, seeds, lrs = ctx.settings["epochs"], ctx.settings["seeds"], tuple(ctx.settings["lrs"])
    runs_seeds = [ctx.seed * 1000 + k for k in range(seeds)]
    # [R, C, E + 1, cols]: unclipped once per (seed, lr), clipped once per band
    plain = np.array([[_drift(ctx, None, sd, epochs, lr) for lr in lrs] for sd in runs_seeds])
    clipped = {e: np.array([[_drift(ctx, e, sd, epochs, lr) for lr in lrs] for sd in runs_seeds]) for e in EPS_BANDS}
    exact_ok = ident["violations"] == 0 and ident["max_value_gap_at_old"] < 1e-10 and ident["max_grad_err_at_old"] < 1e-10
    # the exact part (L^CLIP ≤ L^CPI, equal value and gradient at θ_old) checks our surrogates: a failure is a bug
    code_checks = [] if exact_ok else [f"PPO-clip identities: {ident['violations']} violations, value gap "
                                       f"{ident['max_value_gap_at_old']:.2g}, gradient error {ident['max_grad_err_at_old']:.2g}"]
    conf = 1 - ctx.alpha / len(EPS_BANDS)  # the claim's share of α over its three matched comparisons (levels inside)
    col = {e: COLS.index(f"outside_{e}") for e in EPS_BANDS}
    by_eps = {}
    for e in EPS_BANDS:
        front_c = frontier_after_first_epoch(clipped[e][..., 0], clipped[e][..., col[e]], GAP_LEVELS)
        front_p = frontier_after_first_epoch(plain[..., 0], plain[..., col[e]], GAP_LEVELS)
        pts = matched_comparison(front_c, front_p, GAP_LEVELS, confidence_level=conf)
        by_eps[e] = {"points": pts, "verdict": clip_verdict(pts), "front_c": front_c, "front_p": front_p}
    main = by_eps[EPS]
    verdict = main["verdict"]
    # reported: the previous rule (≤ MAX_OUTSIDE of ratios outside after the last epoch at lr LR, one shared rate)
    i_lr = lrs.index(LR) if LR in lrs else 0
    frac_end = float(clipped[EPS][:, i_lr, -1, col[EPS]].mean())
    sensitivity = [sweep_point("clip_eps", e, by_eps[e]["verdict"], instances=seeds,
                               matched=describe_matched(by_eps[e]["points"], prefix="gap fraction "))
                   for e in EPS_BANDS if e != EPS]
    old = lambda arr: np.stack([arr[:, i_lr, 1:, col[EPS]], arr[:, i_lr, 1:, 2], arr[:, i_lr, 1:, 1]], -1)
    return Evidence(
        verdict=verdict, statistic=mean_matched_difference(main["points"]),
        threshold=(f"identities exact to 1e-10 and zero L^CLIP > L^CPI (code checks); at matched J gained "
                   f"({', '.join(map(str, GAP_LEVELS))} of each instance's gap J* − J(θ_old)), each surrogate at its learning "
                   f"rate of {list(lrs)} with the fewest ratios outside [1 − ε, 1 + ε] (ε = {EPS}), read between measured "
                   f"epochs, paired over seeds (CIs at level {conf:.6g} = 1 − α/{len(EPS_BANDS)}, simultaneous over levels): "
                   "L^CLIP significantly fewer at every level → confirmed; more at every level → refuted; both signs → "
                   "qualified; otherwise inconclusive"),
        n_samples=seeds * N_TRANSITIONS * len(lrs) * (1 + len(EPS_BANDS)),
        summary=(f"L^CLIP ≤ L^CPI on all random θ ({ident['violations']} violations); at θ_old equal value (gap "
                 f"{ident['max_value_gap_at_old']:.1e}) and gradient = (1−γ)∇J (err {ident['max_grad_err_at_old']:.1e}). "
                 f"Fraction of ratios outside [{1 - EPS}, {1 + EPS}], L^CLIP − L^CPI at matched J gained (fraction of the gap), "
                 f"each at its best learning rate: {describe_matched(main['points'], prefix='')}"
                 + "".join(f"; with ε = {e}: {by_eps[e]['verdict']}" for e in EPS_BANDS if e != EPS)
                 + f". Reported (the previous rule, one shared lr {lrs[i_lr]}, minibatch {MINIBATCH}): after {epochs} epochs "
                 f"{frac_end:.1%} of ratios outside with clipping (max |r−1| {clipped[EPS][:, i_lr, -1, 2].mean():.2f}) vs "
                 f"{plain[:, i_lr, -1, col[EPS]].mean():.1%} without"),
        details={**ident, "lrs": list(lrs), "gap_levels": list(GAP_LEVELS), "confidence_level": conf,
                 "matched": {str(e): matched_records(by_eps[e]["points"])
                             for e in EPS_BANDS},
                 "shared_lr_fraction_outside_end": frac_end, "previous_rule_max_outside": MAX_OUTSIDE},
        instances=replicates_lower(main["front_c"], main["front_p"], skip_zero_ties=True), sensitivity=sensitivity, code_checks=code_checks,
        quote_verdict=verdict,  # the rule is our reading of "some of the benefits of TRPO" (reading our-criterion)
        measurements={"clipped": old(clipped[EPS]), "unclipped": old(plain),
                      "matched": matched_arrays(main["points"])},
    )


def _draw(m: dict, figure_dir: str) -> str:
    """The figure, from the stored measurements: fraction outside [1−ε, 1+ε], max |r − 1| and KL against epochs."""
    clipped, plain = m["clipped"], m["unclipped"]
    K = np.arange(1, clipped.shape[1] + 1)
    fig, (a1, a2, a3) = new_figure(ID, f"PPO clip (ε = {EPS}): ratio drift over epochs, {len(clipped)} seeds", ncols=3,
                                   width=3.8)
    for data, name, c in ((clipped, "L^CLIP", "C0"), (plain, "L^CPI (no clip)", "C3")):
        for ax, j in ((a1, 0), (a2, 1), (a3, 2)):
            ax.plot(K, data[:, :, j].mean(0), "o-", ms=2, color=c, label=name)
            ax.fill_between(K, np.quantile(data[:, :, j], 0.1, 0), np.quantile(data[:, :, j], 0.9, 0), color=c,
                            alpha=0.15)
    a1.axhline(MAX_OUTSIDE, color="k", ls="--", lw=0.8)
    a1.set_ylabel(f"fraction of samples with r ∉ [{1 - EPS}, {1 + EPS}]")
    a2.set_ylabel("max |r − 1| over the batch")
    a2.axhline(EPS, color="k", ls="--", lw=0.8)
    a3.set_ylabel("E_{d_old} KL(π_old ‖ π) (nats)")
    for ax in (a1, a2, a3):
        ax.set_xlabel("epochs K")
        ax.legend(fontsize=7)
    return save_figure(fig, figure_dir, ID)


register_claim(Claim(
    id=ID, paper="Proximal Policy Optimization Algorithms", seed_line=39, draw=_draw, figure_family="trust_region",
    claim="a novel objective function that enables multiple epochs of minibatch updates; have some of the benefits of "
          "trust region policy optimization (TRPO)",
    theme="TR", exact="population L^CPI, L^CLIP and their gradients; ∇J", monte_carlo="ratios after K epochs of minibatch Adam",
    test="identities exact; fraction of ratios outside [1−ε, 1+ε], L^CLIP vs L^CPI, at matched J gained over an lr sweep",
    scales={"quick": {"mdps": 10, "epochs": 16, "seeds": 4, "lrs": [0.003, 0.01, 0.03]},
            "full": {"mdps": 200, "epochs": 32, "seeds": 32, "lrs": [0.001, 0.003, 0.01, 0.03, 0.1]}},
    run=run, source="Schulman et al. 2017 (arXiv:1707.06347), Eq. 6–7; seed abstract L39",
    kind="empirical",
    reading="our-criterion",
    reading_note=("the sentence promises \"some of the benefits of TRPO\" without a measure; ratios staying inside "
                  "[1 - eps, 1 + eps] is the measure we chose, so the rule's verdict is ours, not the sentence's"),
    quote="a novel objective function that enables multiple epochs of minibatch updates; have some of the benefits of trust region "
          "policy optimization (TRPO)",
    quote_source="seed abstract (line 39), via shared/CLAIMS.md",
    extension=True, unbiasedness=False,
    constants={"epochs": [1, 32], "lr": [1e-3, 1e-1], "clip_eps": [0.1, 0.3], "minibatch": [32, 512]},
))
