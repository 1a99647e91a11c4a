r"""L11 (RPG): "how different KL divergence formulations can be estimated and integrated into surrogate loss
functions" — which KL each estimator estimates, and which KL each one differentiates when used as a loss.

Design (fixed before running): toy LLM (V = 3 with EOS, L = 3, one prompt; 13 responses, 21 parameters),
π_θ random, π_ref logits = θ + s·Δ with Δ ~ N(0, I) fixed and spreads s ∈ logspace(−1, 0.7, 6). For each s:
N responses y ~ π_θ, ℓ = log π_ref(y) − log π_θ(y). Values: k1, k3 tested against KL(π_θ‖π_ref), k2 expected
biased. Losses: the Monte Carlo mean of c(ℓ)∇log π_θ(y) tested against 0, ∇KL(π_θ‖π_ref) and ∇KL(π_ref‖π_θ).
Every test at α = 1e-6 (Bonferroni z); a wrong target is required to be rejected only where its difference is
detectable with power ≥ 0.99.
Equivalence (verdict protocol): the k3 value (the estimator used as a KL penalty in practice) against KL(π_θ‖π_ref) at
the spread where its exact per-sample s.d. is largest relative to KL (worst case: the most samples needed), on a fresh
sample there of the size planned by ``stats.equivalence_sample_size`` (power 0.99 for an unbiased k3 to be bounded
inside the margin at the decision's level; at least N, at most EQ_MAX_SAMPLES); near twin KL·(1 + 1%), far twin the
other direction KL(π_ref‖π_θ). k1 and the gradient identities keep their bias tests and twins.
Protocol: kind=identity, extension=False, unbiasedness=True — E k1 = E k3 = KL and the as-loss gradients are algebraic
identities (fail only through a bug); the equivalence makes "unbiased" a bounded statement.

Revision 2026-12-01 (multiplicity; referee of the paper draft; before the confirmatory run at seed 8): the equivalence
interval (and the bias bound that picks its worst spread) was at 0.999, its twins at α = 1e-6; now 1 − ctx.alpha/k with
k = 31 = 5 bias tests per spread × 6 spreads (k1 and k3 values, the k1/k2/k3 gradients) + 1 equivalence, and the twins
at α_d = ctx.alpha/k (the level of the decision they vouch for). The 30 bias tests stay at α = 1e-6, stricter than
ctx.alpha/31 ≈ 1.3e-5; the wrong-target rejections are their twins (power checks at the same 1e-6), not counted in k.
Second revision the same day (before the seed-8 run): the equivalence reused the N samples of the bias tests at the
spread with the largest *sampled* bias bound (selected on the data it then judged) and was not planned for power: at a
seed-7 development run its bound was 3.1e-4 against a margin of 2.5e-4 with N = 10⁶ (inconclusive). The spread is now
chosen by the exact s.d. of k3 and the sample is fresh and planned (for that instance about 3.0·10⁶, at s = 0.1).
"""
from __future__ import annotations

import numpy as np
import torch

from ...estimators import kl_estimate, kl_loss_score_coefficient, sequence_score_sum
from ...exact import sequence_kl
from ...policies import TabularSequencePolicy
from ...problems import toy_sequence_task
from ...sampling import sample_sequence_groups
from ...stats import bias_test, detection_power, equivalence_sample_size
from ..protocol import equivalence_verdict, twin
from ..record import Claim, DeclaredMargin, Evidence, RunContext
from ..registry import register_claim
from ..style import new_figure, save_figure

ID = "L11-kl-estimators-as-losses"
ALPHA = 1e-6
EXPECTED_GRADIENT = {"k1": "zero", "k2": "reverse", "k3": "forward"}
#: equivalence margin, relative: a bias of 1% of the true KL(π_θ‖π_ref) is of practical size for a KL penalty
MARGIN_REL = 0.01
EQ_POWER = 0.99  #: planned probability that an unbiased k3's bias bound falls inside the margin
EQ_MAX_SAMPLES = 30_000_000  #: cap on the planned equivalence sample (≈ 1 min of sampling); reported when it binds


def _grad(fn, th):
    t = th.clone().requires_grad_(True)
    return torch.autograd.grad(fn(t), t)[0]


def _k3_sd(pol: TabularSequencePolicy, th: torch.Tensor, ref: torch.Tensor) -> float:
    """Exact per-sample s.d. of k3(ℓ) = e^ℓ − 1 − ℓ, ℓ = log π_ref(y) − log π_θ(y), under y ~ π_θ (one prompt)."""
    lp, lq = pol.sequence_log_probs(th)[0], pol.sequence_log_probs(ref)[0]
    p, k3 = lp.exp(), kl_estimate(lq - lp, "k3")
    mean = (p * k3).sum()
    return float((p * (k3 - mean) ** 2).sum().sqrt())


def _k3_sample(pol: TabularSequencePolicy, th: torch.Tensor, ref: torch.Tensor, n: int, gen: torch.Generator,
               chunk: int = 1_000_000) -> torch.Tensor:
    """``n`` k3 values, y ~ π_θ, drawn in chunks (memory stays that of one chunk's responses): ``[n]``."""
    out = []
    for start in range(0, n, chunk):
        m = min(chunk, n - start)
        groups = sample_sequence_groups(pol, ref, m, 1, gen, behaviour_theta=th)
        out.append(kl_estimate((groups.token_log_target - groups.token_log_behaviour).sum(-1)[:, 0], "k3"))
    return torch.cat(out)


def run(ctx: RunContext) -> Evidence:
    n = ctx.settings["responses"]
    task = toy_sequence_task(3, 3, 1, seed=ctx.seed)
    pol = TabularSequencePolicy(task)
    g = torch.Generator().manual_seed(ctx.seed)
    th, delta = pol.random_params(generator=g), pol.random_params(generator=g)
    spreads = np.logspace(-1, 0.7, 6)
    failures, rows = [], []
    # multiplicity: k = 5 bias tests per spread (k1, k3 values; k1/k2/k3 gradients) + 1 equivalence; the bias tests stay
    # at ALPHA (stricter than ctx.alpha/k), the equivalence and its twins use the share α_d = ctx.alpha/k
    n_decisions = 5 * len(spreads) + 1
    alpha_eq = ctx.alpha / n_decisions
    level = 1 - alpha_eq
    for k, s in enumerate(spreads):
        ref = th + float(s) * delta
        groups = sample_sequence_groups(pol, ref, n, 1, torch.Generator().manual_seed(ctx.seed * 100 + k), behaviour_theta=th)
        lr = (groups.token_log_target - groups.token_log_behaviour).sum(-1)  # [n, 1]
        kl = sequence_kl(pol, th, ref)[0]
        row = {"spread": float(s), "kl": float(kl), "kl_forward": float(sequence_kl(pol, ref, th)[0])}
        for kind in ("k1", "k2", "k3"):
            v = kl_estimate(lr[:, 0], kind)
            row[f"{kind}_mean"], row[f"{kind}_sd"] = float(v.mean()), float(v.std())
            res_v = bias_test(v[:, None], kl[None])
            if kind != "k2" and res_v.pvalue <= ALPHA:
                failures.append(f"{kind} value biased at s={s:.2g}")
        targets = {"zero": torch.zeros_like(th), "reverse": _grad(lambda t: sequence_kl(pol, t, ref)[0], th),
                   "forward": _grad(lambda t: sequence_kl(pol, ref, t)[0], th)}
        for kind, right in EXPECTED_GRADIENT.items():
            est = sequence_score_sum(pol, th, groups, kl_loss_score_coefficient(lr, kind)).reshape(n, -1)
            mean = est.mean(0)
            for name, tgt in targets.items():
                t = tgt.reshape(-1)
                row[f"{kind}_cos_{name}"] = float(mean @ t / (mean.norm() * t.norm())) if float(t.norm()) > 0 else float("nan")
            if bias_test(est, targets[right]).pvalue <= ALPHA:
                failures.append(f"{kind} gradient ≠ {right} at s={s:.2g}")
            for wrong in set(targets) - {right}:
                diff = (targets[right] - targets[wrong]).reshape(-1)
                if detection_power(diff.numpy(), est.std(0).numpy(), n, alpha=ALPHA) >= 0.99 and bias_test(est, targets[wrong]).pvalue > ALPHA:
                    failures.append(f"{kind} gradient not told apart from {wrong} at s={s:.2g}")
        rows.append(row)
    verdict = "confirmed" if not failures else "refuted"
    # equivalence: the spread whose k3 needs the most samples to be bounded within 1% of KL (exact s.d. / KL), and a
    # fresh sample there of the planned size (revision of 2026-12-01, second)
    ratios = [_k3_sd(pol, th, th + float(s) * delta) / float(sequence_kl(pol, th, th + float(s) * delta)[0])
              for s in spreads]
    k_eq = int(np.argmax(ratios))
    s_eq, ref_eq = float(spreads[k_eq]), th + float(spreads[k_eq]) * delta
    kl_eq, klf_eq = sequence_kl(pol, th, ref_eq)[0][None], sequence_kl(pol, ref_eq, th)[0][None]
    n_planned = equivalence_sample_size(ratios[k_eq] * float(kl_eq[0]), MARGIN_REL * float(kl_eq[0]),
                                        confidence_level=level, power=EQ_POWER)
    n_eq = min(max(n_planned, n), EQ_MAX_SAMPLES)
    x_eq = _k3_sample(pol, th, ref_eq, n_eq, torch.Generator().manual_seed(ctx.seed * 100 + 99))[:, None]
    res_eq = bias_test(x_eq, kl_eq)
    twins_eq = [twin("KL·(1 + 1%)", x_eq, kl_eq, kl_eq * (1 + MARGIN_REL), near=True, alpha=alpha_eq),
                twin("forward KL(π_ref‖π_θ)", x_eq, kl_eq, klf_eq, near=False, alpha=alpha_eq)]
    verdict_eq, eq = equivalence_verdict(res_eq, MARGIN_REL * float(kl_eq), twins_eq, confidence_level=level)
    if verdict_eq == "refuted" or (verdict == "confirmed" and verdict_eq != "confirmed"):
        verdict = verdict_eq
    kls = np.array([r["kl"] for r in rows])
    keys = ("mean", "sd", "cos_reverse", "cos_forward")
    curves = {kind: {key: np.array([r[f"{kind}_{key}"] for r in rows]) for key in keys} for kind in ("k1", "k2", "k3")}
    last = rows[-1]
    return Evidence(
        verdict=verdict, statistic=float(len(failures)),
        threshold=(f"every identity holds at α = 1e-6 at every spread, and every powered wrong target is rejected; k3 value "
                   f"within 1% of KL at level 1 − {ctx.alpha:.2g}/{n_decisions}"),
        n_samples=n * len(spreads) + n_eq,
        summary=(f"k1, k3: no bias detected against KL(π‖π_ref); k2 biased (at KL = {last['kl']:.2f}: k2 mean {last['k2_mean']:.2f}); as losses "
                 f"k1 → 0, k2 → ∇KL(π‖π_ref), k3 → ∇KL(π_ref‖π) (the forward KL) at all {len(spreads)} spreads"
                 if not failures else "; ".join(failures[:5]))
                + f". Equivalence (k3 value vs KL, worst spread s = {s_eq:.2g}): bias bound {eq.bias_bound:.3g} vs margin "
                  f"{eq.margin:.3g} (1% of KL; level 1 − {alpha_eq:.2g}; {n_eq:,} fresh samples, planned {n_planned:,}"
                  + (f", capped at {EQ_MAX_SAMPLES:,}" if n_planned > EQ_MAX_SAMPLES else "") + f") → {verdict_eq}",
        details={"failures": failures, "rows": rows, "equivalence_spread": s_eq, "equivalence_samples": n_eq,
                 "equivalence_planned_samples": n_planned, "k3_sd_over_kl": [float(r) for r in ratios]},
        instances=[verdict == "confirmed"], sensitivity=[], equivalence=eq, measurements={"kl": kls, **curves},
    )


def _draw(m: dict, figure_dir: str) -> str:
    """The figure, from the stored measurements: k1/k2/k3 bias and s.d. relative to KL, and the cosines of E∇(loss)."""
    kls = m["kl"]
    fig, (a1, a2) = new_figure(ID, "k1/k2/k3: value bias and the KL each one differentiates as a loss", ncols=2,
                               width=4.8)
    for i, kind in enumerate(("k1", "k2", "k3")):
        bias = m[kind]["mean"] - kls
        sd = m[kind]["sd"]
        a1.plot(kls, bias / kls, "o-", ms=3, color=f"C{i}", label=f"{kind}: bias / KL")
        a1.plot(kls, sd / kls, "s--", ms=3, color=f"C{i}", alpha=0.6, label=f"{kind}: s.d. / KL")
        if kind != "k1":  # E∇k1 = 0: its Monte Carlo cosines are pure noise
            a2.plot(kls, m[kind]["cos_reverse"], "o-", ms=3, color=f"C{i}", label=f"{kind} · ∇KL(π‖π_ref)")
            a2.plot(kls, m[kind]["cos_forward"], "s--", ms=3, color=f"C{i}", alpha=0.6, label=f"{kind} · ∇KL(π_ref‖π)")
    a1.set_xscale("log")
    a1.set_xlabel("KL(π_θ ‖ π_ref) (nats)")
    a1.set_ylabel("relative to the true KL (dimensionless)")
    a2.set_xscale("log")
    a2.set_xlabel("KL(π_θ ‖ π_ref) (nats)")
    a2.set_ylabel("cosine of E∇(loss) with each KL gradient (k1: E∇ = 0)")
    a1.legend(fontsize=6)
    a2.legend(fontsize=6)
    return save_figure(fig, figure_dir, ID)


register_claim(Claim(
    id=ID, paper="On the Design of KL-Regularized Policy Gradient Algorithms for LLM Reasoning (RPG)", seed_line=11,
    draw=_draw, figure_family="divergences",
    claim="how different KL divergence formulations can be estimated and integrated into surrogate loss functions",
    theme="KL", exact="KL both ways and their gradients by enumeration of all responses",
    monte_carlo="k1/k2/k3 values and their as-loss gradients (score form) on sampled responses",
    test="k1, k3 unbiased for KL(π‖π_ref); as losses k1 → 0, k2 → ∇KL(π‖π_ref), k3 → ∇KL(π_ref‖π); wrong targets rejected where powered",
    scales={"quick": {"responses": 40_000}, "full": {"responses": 1_000_000}},
    run=run, source="k1/k2/k3: Schulman 2020 blog 'Approximating KL divergence' (not in seed); gradient identities derived "
                    "in pgtheory.estimators.divergences and checked by enumeration",
    kind="identity",
    reading="by-construction",
    reading_note=("Kind identity: \"E k1 = E k3 = KL and the as-loss gradients are algebraic identities (fail only through a bug)\"."),
    quote="how different KL divergence formulations can be estimated and integrated into surrogate loss functions",
    quote_source="seed abstract (line 11), via shared/CLAIMS.md (k1/k2/k3 themselves not in seed)",
    extension=False, unbiasedness=True, margin=DeclaredMargin(MARGIN_REL, "the exact KL(π_θ‖π_ref) of the instance"), constants={},
))
