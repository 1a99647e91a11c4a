r"""P-trl-4967 (huggingface/trl#4967, citing "A Comedy of Estimators", arXiv 2512.21852): "K3-in-Loss results in biased
gradients; K1-in-Reward provides unbiased gradients for the Reverse KL objective."

What is compared (exact, by enumeration; :mod:`pgtheory.exact.kl_placement`): the expected gradient of the KL term
under each placement against ∇KL(π_θ‖π_ref) of whole responses (the reverse KL of the sequence distribution):

* k3-in-loss (TRL GRPO's default): s(y) = Σ_t k3(ℓ_t), differentiated through log π_θ(y_t|·) only;
* k1-in-reward: the penalty Σ_t k1_t = log π_θ(y)/π_ref(y), computed at sampling time, enters the response's reward
  and reaches θ through the score function: s(y) = sg[w(y) Σ_t k1(ℓ^s_t)]·log π_θ(y), w = π_θ(y)/π_old(y) (= 1
  on-policy). A baseline that does not depend on y itself (leave-one-out, RLOO) changes the variance, not the
  expectation. The plain group mean includes y itself and scales the expectation by (1 − 1/G) (Dr. GRPO's R − mean:
  still ∝ ∇KL); GRPO's std normalisation (TRL's default ``scale_rewards``) divides by a group statistic that depends on
  every reward, which tilts the expected KL gradient away from ∇KL — measured in the advantage sweep below.
  (Corrected 2026-12-01, referee's audit s6c: the earlier sentence said a group-mean baseline leaves the expectation
  unchanged and did not model the std normalisation.)

On-policy both are exact identities of the algebra (k3-in-loss → the prefix-frozen *forward* per-token KL gradient;
k1-in-reward → ∇KL_seq exactly). Under staleness (π_old ≠ π_θ, as when TRL runs ``num_iterations > 1``), the frozen
penalty log π_old(y)/π_ref(y) replaces log π_θ(y)/π_ref(y), and E = Σ_y ∇π_θ(y) log(π_old(y)/π_ref(y))
= ∇KL(π_θ‖π_ref) − ∇KL(π_θ‖π_old): biased by exactly −∇KL(π_θ‖π_old) (checked in the run).

Protocol: kind=theorem (the thread states a mathematical property of two estimators), unbiasedness=True (margin
below), extension=True: the staleness sweep asks more than the sentence (which is about the on-policy setting of the
cited paper) — it can qualify, never refute. quote_verdict decides the quoted sentence on-policy.

Rule (declared 2026-12-01 before any run): quote part holds iff on every instance (i) ‖E∇(k3-in-loss) − ∇KL‖/‖∇KL‖
> EXACT_TOL (BIAS_REL until the second revision below), (ii) ‖E∇(k1-in-reward) − ∇KL‖/‖∇KL‖ ≤ EXACT_TOL, and (iii) the Monte Carlo equivalence of k1-in-reward's
per-sample gradient with ∇KL is confirmed on the declared MC instance (margin MARGIN_REL·max|∇KL|, near twin = target
shifted by the margin, far twin = E∇(k3-in-loss)), with k3-in-loss's samples rejected against ∇KL where powered.
Extension: k1-in-reward's relative bias at staleness d with KL(π_θ‖π_old) ≤ STALE_KL_MAX; above BIAS_REL on any
instance → qualified. Sweeps: the reference spread s, the staleness d, the advantage (since 2026-12-01, below);
reported: β (the share of the total update that the KL bias is, with the task's reward gradient ∇J).

Advantage sweep (added 2026-12-01, referee's audit s6c, before any confirmatory run on the new rule; no full run had
been made): the reward of the task plus the k1 penalty, R(y) − β·Σ_t k1_t (β = ADV_BETA), goes through the group
advantage ``advantage`` ∈ ADVANTAGE_KINDS (``rloo`` = leave-one-out, unscaled; ``grpo`` = (R − mean)/(std + ε), TRL's
default) with G ∈ ADV_GROUP_SIZES, every group enumerated exactly
(:func:`pgtheory.estimators.group_update_expectation.expected_group_update`, seq-mean-token-sum aggregation, one prompt
at a time). The KL part of the expected update is E ĝ(R − β k1) − E ĝ(R) (and E ĝ(−β k1) alone); the point holds iff
1 − cos(KL part, −∇KL_q) ≤ EXACT_TOL for every instance with at most ADV_MAX_RESPONSES responses (the three V=3,
L ≤ 3 instances, 4 prompts; N^4 groups enumerable fast, while N = 40–121 at G = 4 would exceed the enumeration
limit), prompt and G — else "qualified" (an extension: the sentence is about the estimator, not the
advantage normalisation). Dr. GRPO's R − mean is reported beside it (scale 1 − 1/G). The practitioner answer is
limited to RLOO / unscaled advantages accordingly. The β sweep is reported only (it does not change any rule: the
verdict at each β is the main verdict; it is kept out of the sensitivity list), and the staleness sweep points now
use the plausibility mask KL(π_θ‖π_old) ≤ STALE_KL_MAX of the main rule (before, d = 0.3 was judged on instances
beyond it). The KL bias of k3-in-loss and of the stale k1 reward is also reported as a share of the whole update.

Simplified: tabular toy LLMs instead of a transformer; the KL term summed over tokens (its expectation is then the
sequence KL; TRL's token-mean aggregation reweights tokens by 1/|y| or 1/Σ|y|, and has no KL target at all). Not
verified: the paper body of arXiv 2512.21852 (only the thread was read); the placements follow the thread and TRL's
GRPO loss as described in huggingface/trl#6586 (read 2026-12-01).

Revision 2026-12-01 (second; a referee of the seed-13 ledger, before the seed-18 run): "results in biased gradients"
was decided by our threshold, relative bias > BIAS_REL = 5%, so one instance at 4% would have "refuted" the sentence
(it did at the sweep point s = 0.2), although a 4% bias is a bias. The quoted part now reads "biased" as the sentence
does: the exact expectation misses ∇KL beyond round-off (> EXACT_TOL) on every instance; the Monte Carlo bias test that
rejects k3-in-loss's samples against ∇KL is a power check (its failure leaves the quote inconclusive, never refuted);
a bias of practical size (> 5%) moved into the extension, which can qualify, never refute.

Revision 2026-12-01 (multiplicity; referee of the paper draft; before the confirmatory run at seed 8): the Monte Carlo
equivalence interval (iii) was at 0.999, its twins and the sample-size planning at α = 1e-6; now 1 − ctx.alpha/k with
k = 2 (the equivalence of k1-in-reward and the Monte Carlo rejection of k3-in-loss against ∇KL, the claim's only
statistical decisions; (i), (ii), the extension and the sweeps are exact), and the equivalence's twins and
``planned_n`` at α_d = ctx.alpha/k (the level of the decision they vouch for). The k3-in-loss rejection stays at
α = 1e-6 (``ALPHA``), stricter than ctx.alpha/2 ≈ 2e-4.
"""
from __future__ import annotations

import time

import numpy as np
import torch

from ...exact import sequence_policy_gradient
from ...exact.kl_placement import (kl_placement_expected_gradient, kl_placement_per_response_gradients,
                                   sequence_kl_gradient)
from ...exact.sequence import sequence_kl
from ...estimators import aggregation_weights
from ...estimators.group_update_expectation import expected_group_update
from ...stats import bias_test
from ..record import Claim, DeclaredMargin, Evidence, RunContext, sweep_point
from ..registry import register_claim
from ..style import new_figure, save_figure
from ._length_instances import _token_scores, cosine
from .p_kl_practice_common import (INSTANCE_SHAPES, MC_INSTANCE, exact_sd, make_instance, mc_equivalence, planned_n,
                                   rel, sample_per_response)

ID = "P-trl-4967-k1-in-reward"
ALPHA = 1e-6
BIAS_REL = 0.05  #: a 5% error in the KL-gradient vector is of practical size (beyond step-size noise)
EXACT_TOL = 1e-9  #: an exact identity evaluated in float64 (round-off is ~1e-15)
MARGIN_REL = 0.05  #: equivalence margin: 5% of max|∇KL| per coordinate
STALE_KL_MAX = 0.1  #: staleness counted as plausible: KL(π_θ‖π_old) ≤ 0.1 nats per response (a few PPO epochs)
SPREAD = 0.5  #: default reference spread s (KL(π_θ‖π_ref) of ~0.3–1 nats per response on these tasks)
SPREADS = (0.2, 0.5, 1.0)
STALENESS = (0.03, 0.1, 0.3)
BETAS = (0.01, 0.04, 0.1, 1.0)  #: KL weights: TRL's former default 0.04, and a decade either side
ADVANTAGE_KINDS = ("rloo", "grpo")  #: unscaled leave-one-out vs TRL GRPO's default mean/std normalisation
ADV_GROUP_SIZES = (2, 4)  #: a small group and TRL-like 4 (larger G only shrinks 1/G effects)
ADV_BETA = 0.04  #: TRL's former default KL weight for the advantage sweep
ADV_MAX_RESPONSES = 15  #: instances with N ≤ 15 responses (the V=3, L ≤ 3 ones: 3 instances, 4 prompts): 15^4 groups, fast


def _on_policy(pol, th, ref):
    rev = sequence_kl_gradient(pol, th, ref)
    k3l = kl_placement_expected_gradient(pol, th, ref, "k3", "loss")
    k1r = kl_placement_expected_gradient(pol, th, ref, "k1", "reward")
    return rev, k3l, k1r


def _group_kl_updates(pol, th, ref, q: int, G: int, advantage: str, beta: float):
    """(KL part of E ĝ for task reward − β·k1, E ĝ for −β·k1 alone, −β·∇KL_q) for prompt q, exact, each ``[D]``."""
    lp, lr = pol.sequence_log_probs(th)[q], pol.sequence_log_probs(ref)[q]
    probs, k1 = lp.exp(), lp - lr
    scores = _token_scores(pol, th)[q]
    R, mask = pol.task.rewards[q], pol.task.mask

    def upd(rew):
        return expected_group_update(probs, scores, rew, mask, G, lambda m: aggregation_weights(m, "seq_mean_token_sum"),
                                     advantage=advantage)

    with torch.enable_grad():
        t = th.detach().clone().requires_grad_(True)
        a, b = pol.sequence_log_probs(t)[q], pol.sequence_log_probs(ref)[q].detach()
        (g,) = torch.autograd.grad((a.exp() * (a - b)).sum(), t)
    return upd(R - beta * k1) - upd(R), upd(-beta * k1), -beta * g.reshape(-1)


def _advantage_sweep(seed: int):
    """[instance·prompt, G, kind] arrays: 1 − cos and scale ⟨u, t⟩/‖t‖² of the KL part (task + KL, and KL alone)."""
    kinds = ADVANTAGE_KINDS + ("mean",)
    rows = []
    for k in range(len(INSTANCE_SHAPES)):
        pol, th, ref, _, label = make_instance(k, seed, SPREAD, 0.0)
        if pol.task.mask.shape[0] > ADV_MAX_RESPONSES:
            continue
        for q in range(pol.task.n_prompts):
            out = np.zeros((len(ADV_GROUP_SIZES), len(kinds), 4))
            for a, G in enumerate(ADV_GROUP_SIZES):
                for c, kind in enumerate(kinds):
                    part, alone, target = _group_kl_updates(pol, th, ref, q, G, kind, ADV_BETA)
                    tt = float(target @ target)
                    out[a, c] = [max(0.0, 1 - cosine(part, target)), max(0.0, 1 - cosine(alone, target)),
                                 float(part @ target) / tt, float(alone @ target) / tt]
            rows.append((f"{label}|q{q}", out))
    return [r[0] for r in rows], np.stack([r[1] for r in rows]), kinds


def run(ctx: RunContext) -> Evidence:
    t0 = time.process_time()
    n_inst = len(INSTANCE_SHAPES)
    labels, k3_bias, k1_bias, kls, beta_share = [], [], [], [], []
    stale_bias = np.zeros((n_inst, len(STALENESS)))
    stale_kl = np.zeros((n_inst, len(STALENESS)))
    stale_share = np.zeros((n_inst, len(STALENESS)))  # ‖β(E_stale − ∇KL)‖ / ‖−∇J + β∇KL‖ at β = ADV_BETA
    stale_identity_err = 0.0
    for k in range(n_inst):
        pol, th, ref, _, label = make_instance(k, ctx.seed, SPREAD, 0.0)
        rev, k3l, k1r = _on_policy(pol, th, ref)
        labels.append(label)
        k3_bias.append(rel(k3l, rev))
        k1_bias.append(rel(k1r, rev))
        kls.append(float((pol.task.prompt_weights * sequence_kl(pol, th, ref)).sum()))
        grad_j = sequence_policy_gradient(pol, th)
        beta_share.append([float(b * (k3l - rev).norm() / (-grad_j + b * rev).norm()) for b in BETAS])
        for j, d in enumerate(STALENESS):
            pol, th, ref, old, _ = make_instance(k, ctx.seed, SPREAD, d)
            stale = kl_placement_expected_gradient(pol, th, ref, "k1", "reward", theta_sample=old)
            stale_bias[k, j] = rel(stale, rev)
            # the bias is exactly −∇_θ KL(π_θ‖π_old): E = Σ_y ∇π_θ(y)[log(π_θ/π_ref) − log(π_θ/π_old)]
            stale_identity_err = max(stale_identity_err, rel(stale - rev, -sequence_kl_gradient(pol, th, old)))
            stale_kl[k, j] = float((pol.task.prompt_weights * sequence_kl(pol, th, old)).sum())
            stale_share[k, j] = float(ADV_BETA * (stale - rev).norm() / (-grad_j + ADV_BETA * rev).norm())
    k3_ok = [b > EXACT_TOL for b in k3_bias]  # "biased": the exact expectation misses ∇KL beyond round-off
    k3_practical = [b > BIAS_REL for b in k3_bias]  # extension: a bias of practical size
    k1_ok = [b <= EXACT_TOL for b in k1_bias]

    # Monte Carlo: k1-in-reward's per-sample gradient against ∇KL on the declared instance, planned from exact moments
    pol, th, ref, _, mc_label = make_instance(MC_INSTANCE, ctx.seed, SPREAD, 0.0)
    rev, k3l, _ = _on_policy(pol, th, ref)
    probs = pol.sequence_log_probs(th).exp()
    w = pol.task.prompt_weights
    per_k1 = kl_placement_per_response_gradients(pol, th, ref, "k1", "reward")
    per_k3 = kl_placement_per_response_gradients(pol, th, ref, "k3", "loss")
    margin = MARGIN_REL * float(rev.abs().max())
    # multiplicity: k = 2 (this equivalence and the k3-in-loss rejection below; the rest is exact); the rejection
    # stays at ALPHA (stricter than ctx.alpha/k), the equivalence, its twins and the planning use α_d = ctx.alpha/k
    alpha_eq = ctx.alpha / 2
    n = planned_n(margin, exact_sd(per_k1, probs, w), alpha_eq, ctx.settings["max_samples"])
    gen = torch.Generator().manual_seed(ctx.seed)
    x1 = sample_per_response(per_k1, probs, w, n, gen)
    x3 = sample_per_response(per_k3, probs, w, n, gen)
    verdict_eq, eq, res1 = mc_equivalence(x1, rev.reshape(-1), margin, k3l.reshape(-1), "E∇(k3-in-loss)", alpha_eq)
    k3_mc_rejected = bool(bias_test(x3, rev.reshape(-1)).pvalue <= ALPHA)

    quote_ok = all(k3_ok) and all(k1_ok)
    # the exact values decide; the Monte Carlo rejection of k3-in-loss is a power check of the sampled test (a failure
    # to reject a bias that exists exactly is absence of evidence, not a refutation; a pre-run audit, 2026-12-01)
    quote_verdict = ("refuted" if not quote_ok else "inconclusive" if not k3_mc_rejected
                     else ("confirmed" if verdict_eq == "confirmed" else verdict_eq))
    plausible = stale_kl <= STALE_KL_MAX
    stale_broken = bool((plausible & (stale_bias > BIAS_REL)).any())
    verdict = quote_verdict if (quote_verdict != "confirmed" or (not stale_broken and all(k3_practical))) else "qualified"

    sens = []
    for s in SPREADS:
        ok, practical = [], []
        for k in range(n_inst):
            pol, th, ref, _, _ = make_instance(k, ctx.seed, s, 0.0)
            rev, k3l, k1r = _on_policy(pol, th, ref)
            ok.append(rel(k3l, rev) > EXACT_TOL and rel(k1r, rev) <= EXACT_TOL)
            practical.append(rel(k3l, rev) > BIAS_REL)
        q_s = "confirmed" if all(ok) else "refuted"  # the on-policy quote there (exact, as the main quote part)
        sens.append(sweep_point("reference spread s", s, q_s if q_s != "confirmed" or all(practical) else "qualified",
                                holds_on=int(sum(ok)), practical_size_on=int(sum(practical)), quote_verdict=q_s,
                                instances=len(ok)))
    for j, d in enumerate(STALENESS):
        # judged on the plausible instances only (KL(π_θ‖π_old) ≤ STALE_KL_MAX), as the main rule (2026-12-01)
        worst = float(np.where(plausible[:, j], stale_bias[:, j], 0.0).max())
        sens.append(sweep_point("staleness d", d, "qualified" if worst > BIAS_REL else "confirmed",
                                quote_verdict=quote_verdict,  # staleness is the extension; the on-policy quote is unchanged
                                k1_reward_rel_bias_max_plausible=worst, plausible_instances=int(plausible[:, j].sum()),
                                k1_reward_rel_bias_max_all=float(stale_bias[:, j].max()),
                                kl_theta_old_max=float(stale_kl[:, j].max()),
                                bias_share_of_update_max=float(stale_share[:, j].max()),
                                instances=int(plausible[:, j].sum())))  # the plausible instances it was judged on
    share = np.array(beta_share)  # reported only: β changes no rule
    beta_report = {f"beta={b}": {"k3_loss_bias_share_of_update_median": float(np.median(share[:, i]))}
                   for i, b in enumerate(BETAS)}
    adv_labels, adv, adv_kinds = _advantage_sweep(ctx.seed)  # [row, G, kind, (1-cos part, 1-cos alone, scale part, scale alone)]
    adv_holds = {}
    for c, kind in enumerate(ADVANTAGE_KINDS):
        one_minus = adv[:, :, c, :2].max(axis=(0, 2))
        ok = bool((adv[:, :, c, :2] <= EXACT_TOL).all())
        adv_holds[kind] = ok
        sens.append(sweep_point("advantage", kind, verdict if ok else "qualified", quote_verdict=quote_verdict,
                                kl_part_one_minus_cos_max=float(adv[:, :, c, :2].max()),
                                kl_part_cos_min=float(1 - adv[:, :, c, :2].max()),
                                kl_part_scale_range=[float(adv[:, :, c, 2:].min()), float(adv[:, :, c, 2:].max())],
                                by_group_size={f"G={G}": float(one_minus[a]) for a, G in enumerate(ADV_GROUP_SIZES)},
                                # the toy LLMs with ≤ ADV_MAX_RESPONSES responses (rows are their prompts)
                                instances=len({lab.rsplit("|q", 1)[0] for lab in adv_labels})))
    k_mean = adv_kinds.index("mean")
    mean_scale = [float(adv[:, :, k_mean, 2:].min()), float(adv[:, :, k_mean, 2:].max())]
    grpo_cos_min = float(1 - adv[:, :, adv_kinds.index("grpo"), :2].max())

    worst_plausible = float(np.where(plausible, stale_bias, 0.0).max())
    answer = ("On-policy, k1 in the reward with RLOO (leave-one-out) or otherwise unscaled advantages gives exactly "
              "∇KL(π‖π_ref) as its KL gradient (R − group mean: the same times 1 − 1/G); with GRPO's std-normalised "
              f"advantages (TRL's default scale_rewards) it does not — the expected KL part is tilted (cos down to "
              f"{grpo_cos_min:.2f} here), so set scale_rewards='none' or use RLOO. k3-in-loss follows a different "
              "(forward, per-token) gradient. With stale batches recompute the penalty at π_θ or expect a bias of the "
              "order of the staleness.")
    summary = (f"On-policy on {n_inst}/{n_inst} toy LLMs: E∇(k3-in-loss) misses ∇KL(π_θ‖π_ref) by "
               f"{min(k3_bias):.0%}–{max(k3_bias):.0%} (it is the prefix-frozen forward per-token KL gradient); "
               f"E∇(k1-in-reward) = ∇KL to {max(k1_bias):.1e}; Monte Carlo ({mc_label}, n = {n}): bias bound "
               f"{eq.bias_bound:.3g} vs margin {eq.margin:.3g} (level 1 − {alpha_eq:.2g}) → {verdict_eq}. With staleness (KL(π_θ‖π_old) ≤ "
               f"{STALE_KL_MAX:g}) the frozen k1 reward is biased by up to {worst_plausible:.0%} → "
               f"{'unbiased only on-policy' if stale_broken else 'still unbiased within the margin'} (the bias is "
               f"−∇KL(π_θ‖π_old), to {stale_identity_err:.0e}; at β = {ADV_BETA:g} up to {float(np.where(plausible, stale_share, 0).max()):.1%} "
               f"of the whole update). Through group advantages (task + k1 reward, G ∈ {list(ADV_GROUP_SIZES)}, "
               f"{len(adv_labels)} prompts): RLOO keeps the KL part ∝ ∇KL (max 1 − cos {float(adv[:, :, 0, :2].max()):.1e}); "
               f"R − mean scales it by {mean_scale[0]:.3f}–{mean_scale[1]:.3f} (1 − 1/G); GRPO mean/std tilts it (min cos "
               f"{grpo_cos_min:.3f}). {answer}")
    return Evidence(
        verdict=verdict, statistic=float(min(k3_bias)),
        threshold=(f"k3-in-loss rel. bias > {EXACT_TOL} (exact) and k1-in-reward ≤ {EXACT_TOL} on every instance, k3-in-loss "
                   f"rejected by the MC bias test, MC equivalence confirmed (margin {MARGIN_REL}·max|∇KL|, level 1 − "
                   f"{alpha_eq:.2g}); extension: k3-in-loss rel. bias > {BIAS_REL} (practical size) and stale "
                   f"k1-in-reward rel. bias ≤ {BIAS_REL}"),
        n_samples=int(n), summary=summary,
        details={"labels": labels, "k3_loss_rel_bias": k3_bias, "k1_reward_rel_error": k1_bias, "kl_seq": kls,
                 "stale_rel_bias": stale_bias.tolist(), "stale_kl": stale_kl.tolist(), "mc_instance": mc_label,
                 "k3_loss_mc_rejected": k3_mc_rejected, "beta_report": beta_report,
                 "stale_bias_share_of_update": stale_share.tolist(), "advantage_rows": adv_labels,
                 "advantage_kl_part_one_minus_cos": {f"{kind}|G={G}": float(adv[:, a, c, :2].max()) for c, kind in
                                                     enumerate(adv_kinds) for a, G in enumerate(ADV_GROUP_SIZES)},
                 "advantage_kl_part_scale": {f"{kind}|G={G}": [float(adv[:, a, c, 2:].min()), float(adv[:, a, c, 2:].max())]
                                             for c, kind in enumerate(adv_kinds) for a, G in enumerate(ADV_GROUP_SIZES)},
                 "advantage_holds": adv_holds, "stale_bias_identity_error": stale_identity_err, "practitioner_answer": answer,
                 "cpu_seconds": time.process_time() - t0},
        instances=[a and b for a, b in zip(k3_ok, k1_ok)], sensitivity=sens, equivalence=eq,
        quote_verdict=quote_verdict,
        measurements={"k3_loss_rel_bias": np.array(k3_bias), "k1_reward_rel_error": np.array(k1_bias),
                      "kl_seq": np.array(kls), "staleness": np.array(STALENESS), "stale_rel_bias": stale_bias,
                      "stale_kl": stale_kl, "betas": np.array(BETAS), "beta_share": share,
                      "bias_rel": BIAS_REL, "stale_kl_max": STALE_KL_MAX},
    )


def _draw(m: dict, figure_dir: str) -> str:
    """Left: on-policy relative error of each placement's expected KL gradient per instance; right: k1-in-reward's
    bias against staleness."""
    fig, (a1, a2) = new_figure(ID, "KL placement: E∇ vs ∇KL(π_θ‖π_ref) on-policy, and with stale batches", ncols=2,
                               width=4.8)
    idx = np.arange(len(m["k3_loss_rel_bias"]))
    a1.bar(idx - 0.2, m["k3_loss_rel_bias"], width=0.4, label="k3 in the loss")
    a1.bar(idx + 0.2, np.maximum(m["k1_reward_rel_error"], 1e-16), width=0.4, label="k1 in the reward")
    a1.axhline(m["bias_rel"], color="k", lw=0.8, ls="--", label="5% (practical size)")
    a1.set_yscale("log")
    a1.set_xlabel("toy LLM instance (index)")
    a1.set_ylabel("‖E∇ − ∇KL‖ / ‖∇KL‖ (dimensionless)")
    a1.legend(fontsize=6)
    for k in range(m["stale_rel_bias"].shape[0]):
        a2.plot(m["stale_kl"][k], m["stale_rel_bias"][k], "o-", ms=3, label=f"instance {k}")
    a2.axhline(m["bias_rel"], color="k", lw=0.8, ls="--")
    a2.axvline(m["stale_kl_max"], color="grey", lw=0.8, ls=":")
    a2.set_xscale("log")
    a2.set_xlabel("staleness KL(π_θ ‖ π_old) (nats per response)")
    a2.set_ylabel("k1-in-reward ‖E∇ − ∇KL‖ / ‖∇KL‖")
    a2.legend(fontsize=6)
    return save_figure(fig, figure_dir, ID)


register_claim(Claim(
    id=ID, seed_line=0, practice_source="huggingface/trl#4967 (2026-02-04)",
    paper="Support Unbiased \"K1-in-Reward\" KL Estimator for GRPO",
    claim="K3-in-Loss (TRL GRPO's KL term) gives biased gradients; K1-in-Reward gives unbiased gradients of the reverse KL",
    theme="KL", exact="expected KL-term gradient of each placement by enumerating every response, vs ∇KL(π_θ‖π_ref)",
    monte_carlo="per-sample k1-in-reward gradients (exact per-response table, sampled responses) vs ∇KL, with twins",
    test=("on-policy: k3-in-loss rel. bias > 5% and k1-in-reward exact on every instance, MC equivalence confirmed; "
          "extension: k1-in-reward under staleness"),
    scales={"quick": {"max_samples": 200_000}, "full": {"max_samples": 2_000_000}},
    run=run, draw=_draw, figure_family="divergences",
    source="thread huggingface/trl#4967; A Comedy of Estimators (arXiv 2512.21852, body not read); derivations in "
           "pgtheory.exact.kl_placement",
    kind="theorem",
    reading="as-written",
    quote=("K3-in-Loss (current implementation) results in biased gradients.\n- K1-in-Reward (proposed implementation) "
           "provides unbiased gradients for the Reverse KL objective."),
    quote_source="GitHub thread huggingface/trl#4967, issue description by ktolnos on 2026-02-04",
    extension=True, unbiasedness=True, margin=DeclaredMargin(MARGIN_REL, "max|∇KL(π_θ‖π_ref)| of the instance"),
    constants={"reference spread s": list(SPREADS), "staleness d": list(STALENESS), "advantage": list(ADVANTAGE_KINDS)},
))
