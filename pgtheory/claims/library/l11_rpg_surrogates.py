r"""L11 (RPG): "derive policy gradients and corresponding surrogate loss functions for objectives regularized by
both forward and reverse KL divergences, considering both normalized and unnormalized policy distributions" with
"fully differentiable loss functions as well as REINFORCE-style gradient estimators".

Design (fixed before running): toy LLM (V = 3, L = 3, one prompt, binary reward), β = 0.5, π_θ random,
π_ref = θ + 0.7Δ, off-policy behaviour π_old = θ + 0.5Δ′ (Δ, Δ′ ~ N(0, I)). For each of the six surrogates of
:mod:`pgtheory.estimators.kl_regularized` and each setting (on-policy: y ∼ π_θ; off-policy: y ∼ π_old with IS):
``samples`` responses, per-sample autograd gradient of the surrogate, Bonferroni z test against the exact
∇[J − βKL] of the intended direction at α = 1e-6. Twins (each required where its difference has power ≥ 0.99):
the other direction's gradient is rejected; off-policy, the same surrogate without importance weights (π_old
treated as π_θ) is rejected. Variance: tr Cov of the per-sample gradient, differentiable vs REINFORCE forms.
Equivalence (verdict protocol): the surrogate × setting whose bias bound is largest relative to its margin (1% of
‖intended gradient‖∞; worst case over all 12), with the near twin "intended gradient·(1 + 1%)" and its existing twins (far).
Protocol: kind=identity, extension=False, unbiasedness=True — the surrogates are our derivations (the paper's losses
could not be read), so their unbiasedness is a theorem about our code, checked numerically.

Revision 2026-12-01 (multiplicity; referee of the paper draft; before the confirmatory run at seed 8): the equivalence
interval (and the bias bound that picks its worst surrogate × setting) was at 0.999, its twins at α = 1e-6; now
1 − ctx.alpha/k with k = 13 = 12 bias tests (6 surrogates × 2 settings) + 1 equivalence, and the equivalence's twins at
α_d = ctx.alpha/k (the level of the decision they vouch for). The 12 bias tests stay at α = 1e-6, stricter than
ctx.alpha/13 ≈ 3e-5; the wrong-target rejections are their twins (power checks at the same 1e-6), not counted in k.
Second revision 2026-12-01 (after the confirmatory seed-8 run at bdd37d8, whose row keeps the old design; a later run
needs a fresh seed): the equivalence reused the bias tests' 2·10⁶ responses and was too small for its level — at
seed 8 its bound was 0.00225 against a margin of 0.00121 (inconclusive). The worst surrogate × setting is still picked
on those responses, but it is now judged on a fresh sample planned from their s.d. (``stats.equivalence_sample_size``,
simultaneous over the 21 coordinates, power 0.99; capped at 10⁶ quick and 10⁸ full — the quick seed-0 instance plans
7.3·10⁷, so a quick run stays inconclusive), streamed through moment accumulators. A reviewer of that change found the
no-importance-weights twin circular — its power was computed from its own sample's mean, so a powered twin always
rejects (in the seed-8 row too, where these twins inflate the count of "powered twins rejected"; the other-direction
twins, whose difference is exact, carry that verdict); its power now comes from the naive estimator's exact
expectation, by enumerating the responses (``_naive_expectation``), in the pilot loop and in the fresh equivalence.
"""
from __future__ import annotations

import numpy as np
import torch

from ...estimators import KL_REGULARIZED_SURROGATES, sequence_score_sum, surrogate_score_coefficient
from ...exact import sequence_kl, sequence_objective
from ...policies import TabularSequencePolicy
from ...problems import toy_sequence_task
from ...sampling import sample_sequence_groups
from ...stats import MomentAccumulator, bias_test, detection_power, equivalence_sample_size
from ..protocol import equivalence_verdict, twin
from ..record import Claim, DeclaredMargin, Evidence, RunContext
from ..registry import register_claim
from ..style import new_figure, save_figure

ID = "L11-rpg-kl-regularized-surrogates"
ALPHA = 1e-6
BETA = 0.5
#: equivalence margin, relative: a bias of 1% of ‖∇[J − βKL]‖∞ (per coordinate) is of practical size for an update direction
MARGIN_REL = 0.01
EQ_POWER = 0.99  #: planned probability that an unbiased surrogate's bias bound falls inside the margin
SETTINGS = ("on-policy", "off-policy")  # the rows of the stored max |z| and tr Cov


def _exact(pol, th, ref, direction):
    t = th.clone().requires_grad_(True)
    kl = sequence_kl(pol, t, ref)[0] if direction == "reverse" else sequence_kl(pol, ref, t)[0]
    return torch.autograd.grad(sequence_objective(pol, t) - BETA * kl, t)[0]


def _naive_expectation(pol, th, beh, lref_all, name: str) -> torch.Tensor:
    """E_{y ~ π_beh}[c(y) ∇log π_θ(y)] of surrogate ``name`` *without* importance weights (π_beh treated as π_θ), exact
    by enumerating the responses of the one prompt: the expectation the no-IS twin is told apart from, ``[P·V]``."""
    lp = pol.sequence_log_probs(th)[0]
    p_beh = pol.sequence_log_probs(beh)[0].exp()
    r = pol.task.rewards[0]
    coef = surrogate_score_coefficient(name, lp, lp, lref_all, r, BETA)  # [N]
    score = torch.func.jacrev(lambda t: pol.sequence_log_probs(t)[0])(th).reshape(lp.shape[0], -1)  # [N, P·V]
    return ((p_beh * coef)[:, None] * score).sum(0)


def _fresh_equivalence(pol, th, beh, lref_all, exact, name: str, n: int, gen: torch.Generator, alpha_eq: float,
                       chunk: int = 250_000):
    """The bias test of surrogate ``name`` (on-policy when ``beh`` is None) on ``n`` fresh responses, streamed through
    moment accumulators in chunks (the per-sample gradients of a planned sample do not fit in memory), and its twins:
    the intended gradient·(1 + 1%) (near), the other KL direction and, off-policy, the estimator without importance
    weights (far), whose expectation is exact (:func:`_naive_expectation`; its own sample mean would make the power
    check circular: powered ⇒ rejected)."""
    sur = KL_REGULARIZED_SURROGATES.get(name)
    acc, acc_naive = MomentAccumulator(full_covariance=False), MomentAccumulator(full_covariance=False)
    for start in range(0, n, chunk):
        m = min(chunk, n - start)
        groups = sample_sequence_groups(pol, th, m, 1, gen, behaviour_theta=beh)
        lp = groups.token_log_target.sum(-1)[:, 0]
        lo = groups.token_log_behaviour.sum(-1)[:, 0] if beh is not None else lp
        lr, r = lref_all[groups.index[:, 0]], groups.rewards[:, 0]
        acc.update(sequence_score_sum(pol, th, groups, surrogate_score_coefficient(name, lp, lo, lr, r, BETA)[:, None])
                   .reshape(m, -1))
        if beh is not None:
            acc_naive.update(sequence_score_sum(pol, th, groups, surrogate_score_coefficient(name, lp, lp, lr, r, BETA)
                                                [:, None]).reshape(m, -1))
    right = exact[sur.regulariser].reshape(-1)
    other = exact["forward" if sur.regulariser == "reverse" else "reverse"].reshape(-1)
    twins = [twin("intended gradient·(1 + 1%)", acc, right, right * (1 + MARGIN_REL), near=True, alpha=alpha_eq),
             twin(f"{'forward' if sur.regulariser == 'reverse' else 'reverse'} KL gradient", acc, right, other,
                  near=False, alpha=alpha_eq)]
    if beh is not None:
        twins.append(twin("no importance weights", acc_naive, _naive_expectation(pol, th, beh, lref_all, name), right,
                          near=False, alpha=alpha_eq))
    return bias_test(acc, right), twins


def run(ctx: RunContext) -> Evidence:
    n = ctx.settings["samples"]
    task = toy_sequence_task(3, 3, 1, seed=ctx.seed)
    pol = TabularSequencePolicy(task)
    g = torch.Generator().manual_seed(ctx.seed)
    th = pol.random_params(generator=g)
    ref = th + 0.7 * pol.random_params(generator=g)
    old = th + 0.5 * pol.random_params(generator=g)
    exact = {d: _exact(pol, th, ref, d) for d in ("reverse", "forward")}
    lref_all = pol.sequence_log_probs(ref)[0]
    failures, rows = [], {}
    twins_run = 0
    # multiplicity: k = one bias test per surrogate × setting + 1 equivalence; the bias tests stay at ALPHA (stricter
    # than ctx.alpha/k), the equivalence and its twins use the share α_d = ctx.alpha/k
    n_decisions = len(KL_REGULARIZED_SURROGATES.names()) * len(SETTINGS) + 1
    alpha_eq = ctx.alpha / n_decisions
    level = 1 - alpha_eq
    worst = None  # (bias bound / margin, surrogate|setting, margin, surrogate, setting, largest per-coordinate s.d.)
    for setting, beh in (("on-policy", None), ("off-policy", old)):
        groups = sample_sequence_groups(pol, th, n, 1, torch.Generator().manual_seed(ctx.seed * 10 + (beh is not None)),
                                        behaviour_theta=beh)
        lp = groups.token_log_target.sum(-1)[:, 0]
        lo = groups.token_log_behaviour.sum(-1)[:, 0] if beh is not None else lp
        lr = lref_all[groups.index[:, 0]]
        r = groups.rewards[:, 0]
        for name in KL_REGULARIZED_SURROGATES:
            sur = KL_REGULARIZED_SURROGATES.get(name)
            est = sequence_score_sum(pol, th, groups, surrogate_score_coefficient(name, lp, lo, lr, r, BETA)[:, None]).reshape(n, -1)
            res = bias_test(est, exact[sur.regulariser])
            row = {"max_abs_z": float(np.abs(res.z).max()), "trace_cov": float((est.var(0)).sum()), "twins": {}}
            if res.pvalue <= ALPHA:
                failures.append(f"{name} ({setting}) biased for its intended gradient")
            other = "forward" if sur.regulariser == "reverse" else "reverse"
            wrongs = {f"{other} KL gradient": (est, exact[other])}
            if beh is not None:
                naive = sequence_score_sum(pol, th, groups, surrogate_score_coefficient(name, lp, lp, lr, r, BETA)[:, None]).reshape(n, -1)
                wrongs["no importance weights"] = (naive, exact[sur.regulariser])
            margin = MARGIN_REL * float(exact[sur.regulariser].abs().max())
            ratio = res.bias_bound(level) / margin
            if worst is None or ratio > worst[0]:  # the pilot: which surrogate × setting needs the most samples
                worst = (ratio, f"{name}|{setting}", margin, name, setting, float(est.std(0).max()))
            naive_exact = _naive_expectation(pol, th, beh, lref_all, name) if beh is not None else None
            for label, (x, target) in wrongs.items():
                # the twin's power from the exact difference of expectations (the naive estimator's by enumeration;
                # its own sample mean would make the check circular: powered ⇒ rejected)
                diff = ((exact[sur.regulariser].reshape(-1) if label != "no importance weights" else naive_exact)
                        - target.reshape(-1)).numpy()
                if detection_power(diff, x.std(0).numpy(), n, alpha=ALPHA) >= 0.99:
                    twins_run += 1
                    rejected = bias_test(x, target).pvalue <= ALPHA
                    row["twins"][label] = bool(rejected)
                    if not rejected:
                        failures.append(f"twin: {name} ({setting}) not told apart from {label}")
            rows[f"{name}|{setting}"] = row
    if twins_run == 0:
        failures.append("no twin was powered")
    verdict = "confirmed" if not failures else "refuted"
    _, which_eq, margin_eq, name_eq, setting_eq, sd_pilot = worst
    # the equivalence on a fresh sample of the worst case, planned from the pilot's s.d. (second revision of
    # 2026-12-01): the pilot picks which surrogate × setting, the fresh sample judges it
    n_planned = equivalence_sample_size(sd_pilot, margin_eq, confidence_level=level, power=EQ_POWER,
                                        n_tests=exact["reverse"].numel())
    cap = ctx.settings["equivalence_max_samples"]
    n_eq = min(max(n_planned, n), cap)
    res_eq, twins_eq = _fresh_equivalence(pol, th, old if setting_eq == "off-policy" else None, lref_all, exact,
                                          name_eq, n_eq, torch.Generator().manual_seed(ctx.seed * 10 + 7), alpha_eq)
    verdict_eq, eq = equivalence_verdict(res_eq, margin_eq, twins_eq, confidence_level=level)
    if verdict_eq == "refuted" or (verdict == "confirmed" and verdict_eq != "confirmed"):
        verdict = verdict_eq
    names = KL_REGULARIZED_SURROGATES.names()
    off = {k: rows[f"{k}|off-policy"]["trace_cov"] for k in names}
    return Evidence(
        verdict=verdict, statistic=float(len(failures)),
        threshold="every surrogate unbiased for its intended gradient on and off policy (α = 1e-6); powered twins rejected",
        n_samples=2 * n * len(names) + n_eq,
        summary=(f"no bias detected in any of the 6 surrogates (reverse/forward × differentiable/REINFORCE/unnormalised) against ∇[J − βKL] on- and off-policy "
                 f"(max |z| {max(v['max_abs_z'] for v in rows.values()):.2f}); {twins_run} powered twins rejected (other KL direction; "
                 f"dropping the IS weight). Off-policy tr Cov: reverse diff {off['reverse_differentiable']:.3g} vs REINFORCE "
                 f"{off['reverse_reinforce']:.3g}; forward diff {off['forward_differentiable']:.3g} vs REINFORCE {off['forward_reinforce']:.3g}; "
                 f"the unnormalised (UKL) surrogates give exactly the REINFORCE forms' per-sample gradients (for normalised π the UKL and KL gradients coincide)" if not failures else "; ".join(failures[:5]))
                + f". Equivalence (worst case, {which_eq}; level 1 − {alpha_eq:.2g}; {n_eq:,} fresh responses, planned "
                  f"{n_planned:,}" + (f", capped at {cap:,}" if n_planned > cap else "")
                + f"): bias bound {eq.bias_bound:.3g} vs margin {eq.margin:.3g} → {verdict_eq}",
        details={"failures": failures, "rows": rows, "twins_run": twins_run, "equivalence_estimator": which_eq,
                 "equivalence_samples": n_eq, "equivalence_planned_samples": n_planned},
        instances=[verdict == "confirmed"], sensitivity=[], equivalence=eq,
        measurements={"names": list(names), "n_coordinates": exact["reverse"].numel(),  # rows: on-, off-policy
                      **{key: np.array([[rows[f"{k}|{setting}"][key] for k in names] for setting in SETTINGS])
                         for key in ("max_abs_z", "trace_cov")}},
    )


def _draw(m: dict, figure_dir: str) -> str:
    """The figure, from the stored measurements: max |z| and tr Cov per surrogate, on- and off-policy."""
    fig, (a1, a2) = new_figure(ID, "RPG surrogates: expected gradient vs the intended ∇[J − βKL], and variance",
                               ncols=2, width=4.6)
    names = [str(k) for k in m["names"]]
    x = np.arange(len(names))
    for j, setting in enumerate(SETTINGS):
        a1.bar(x + 0.4 * j - 0.2, m["max_abs_z"][j], 0.4, label=setting)
        a2.bar(x + 0.4 * j - 0.2, m["trace_cov"][j], 0.4, label=setting)
    from scipy.stats import norm

    a1.axhline(norm.isf(ALPHA / 2 / m["n_coordinates"]), color="k", ls="--", lw=0.8, label="Bonferroni threshold")
    for a in (a1, a2):
        a.set_xticks(x, [k.replace("_", "\n") for k in names], fontsize=6)
        a.legend(fontsize=6)
    a1.set_ylabel("max |z| against the intended exact gradient")
    a2.set_ylabel("tr Cov of the per-sample gradient")
    a2.set_yscale("log")
    return save_figure(fig, figure_dir, ID)


register_claim(Claim(
    id=ID, paper="On the Design of KL-Regularized Policy Gradient Algorithms for LLM Reasoning (RPG)", seed_line=11,
    draw=_draw, figure_family="divergences",
    claim="derive policy gradients and corresponding surrogate loss functions for objectives regularized by both forward and reverse "
          "KL divergences, considering both normalized and unnormalized policy distributions",
    theme="KL, IW", exact="∇[J − βKL(π‖π_ref)] and ∇[J − βKL(π_ref‖π)] by autograd over the enumerated responses",
    monte_carlo="autograd gradients of six surrogates on sampled responses, on-policy and off-policy with IS weights",
    test="each surrogate unbiased for its intended gradient (α = 1e-6); other-direction and no-IS twins rejected where powered",
    scales={"quick": {"samples": 60_000, "equivalence_max_samples": 1_000_000},
            "full": {"samples": 2_000_000, "equivalence_max_samples": 100_000_000}},
    run=run, source="surrogate forms derived in pgtheory.estimators.kl_regularized (CLAIMS.md row L11); the paper's exact loss "
                    "definitions were not readable through `search`",
    kind="identity",
    verifies=(
        'Verified: our six derived surrogates (forward/reverse KL; differentiable, REINFORCE and '
        'unnormalised-KL forms) are unbiased for the gradient of J - beta KL, on and off policy. Not judged: '
        'the paper\'s own losses (not read) and "unnormalized policy distributions" (only normalised pi '
        'tested).'),
    reading="by-construction",
    reading_note=("Kind identity: \"the surrogates are our derivations (the paper's losses could not be read), so their unbiasedness is a theorem about our code\"."),
    quote="derive policy gradients and corresponding surrogate loss functions for objectives regularized by both forward and reverse "
          "KL divergences, considering both normalized and unnormalized policy distributions; fully differentiable loss functions as "
          "well as REINFORCE-style gradient estimators",
    quote_source="seed abstract (line 11), via shared/CLAIMS.md",
    extension=False, unbiasedness=True, margin=DeclaredMargin(MARGIN_REL, "‖∇[J − βKL]‖∞ of the instance (each coordinate)"), constants={},
))
