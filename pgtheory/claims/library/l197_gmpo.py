r"""L197 (GMPO): "GMPO maximizes the geometric mean of token-level rewards, which is inherently less sensitive to
outliers and maintains a more stable range of importance sampling ratio".

Design (fixed before running):
(i) identity: unclipped GMPO (A·exp(mean_t log r_t)) equals unclipped GSPO (s·A) in value and per-token gradient on
    200 random batches (< 1e-12); AM–GM: the GMPO sequence factor exp(mean_t log r_t) ≤ mean_t r_t everywhere;
    outlier sensitivity: ∂/∂r_t of the geometric mean is GM/(|y| r_t) against 1/|y| for the arithmetic mean.
(ii) multi-epoch (:mod:`._multi_epoch` design, ``seeds`` paired batches): after 8 epochs, ratio range max_t|log r_t|,
     exact KL(π_old‖π_8) and J(π_8) for GMPO (ε_log = 0.4) against GRPO (token PPO clip, ε = 0.2); paired t 95% CI.
Verdict: refuted if GMPO's ratio range is significantly larger than GRPO's, confirmed if significantly smaller
(and (i) holds), inconclusive if the CI contains 0.
"""
from __future__ import annotations

import numpy as np
import torch

from ...estimators import aggregation_weights, token_surrogate_coefficients, token_surrogate_values
from ...stats import paired_difference
from ..record import Claim, Evidence, RunContext
from ..registry import register_claim
from ..style import new_figure, save_figure
from ._multi_epoch import final_difference, llm_task, plot_epoch_metric, plot_ratio_distributions, ratio_range, runs

ID = "L197-gmpo-ratio-range"


def run(ctx: RunContext) -> Evidence:
    g = torch.Generator().manual_seed(ctx.seed)
    failures = []
    id_err, amgm_viol = 0.0, 0
    for _ in range(200):
        lp = -torch.rand(4, 8, 5, generator=g, dtype=torch.float64) * 2
        lo = lp + 0.5 * torch.randn(4, 8, 5, generator=g, dtype=torch.float64)
        mask = torch.rand(4, 8, 5, generator=g) < 0.8
        mask[..., 0] = True
        adv = torch.randn(4, 8, generator=g, dtype=torch.float64)
        w = aggregation_weights(mask, "seq_mean_token_mean")
        vg = token_surrogate_values("gmpo", lp, lo, adv, mask, eps_log=1e9)
        vs = token_surrogate_values("gspo", lp, lo, adv, mask, eps_seq=1e9)
        cg = token_surrogate_coefficients("gmpo", lp, lo, adv, mask, w, eps_log=1e9)
        cs = token_surrogate_coefficients("gspo", lp, lo, adv, mask, w, eps_seq=1e9)
        id_err = max(id_err, float((vg - vs).abs().max()), float((cg - cs).abs().max()))
        lr = (lp - lo) * mask
        n = mask.sum(-1)
        gm = torch.exp(lr.sum(-1) / n)
        am = (torch.exp(lr) * mask).sum(-1) / n
        amgm_viol += int((gm > am + 1e-12).sum())
    if id_err > 1e-12 or amgm_viol:
        failures.append(f"identity error {id_err:.2g}, AM–GM violations {amgm_viol}")
    task = llm_task(ctx.seed)
    tr = runs(task, ("ppo_clip", "gmpo"), ctx.settings["seeds"], ctx.seed)
    rng_g = [ratio_range(t) for t in tr["gmpo"]]
    rng_p = [ratio_range(t) for t in tr["ppo_clip"]]
    d_range = paired_difference(rng_g, rng_p)
    d_kl, d_j = (final_difference(tr["gmpo"], tr["ppo_clip"], m) for m in ("kl", "objective"))
    if failures:
        verdict = "refuted"
    else:
        verdict = {1: "refuted", -1: "confirmed", 0: "inconclusive"}[d_range.sign]
    fig, (a1, a2) = new_figure(ID, "GMPO vs GRPO: token ratio distributions and KL drift over epochs", ncols=2, width=4.6)
    plot_ratio_distributions(a1, {"GRPO (PPO clip 0.2)": tr["ppo_clip"], "GMPO (log clip 0.4)": tr["gmpo"]})
    plot_epoch_metric(a2, {"GRPO": tr["ppo_clip"], "GMPO": tr["gmpo"]}, "kl", "exact KL(π_old ‖ π_θ) (nats, mean over prompts)")
    return Evidence(
        verdict=verdict, statistic=d_range.statistic,
        threshold="paired 95% CI of GMPO − GRPO ratio range (max|log r_t| after 8 epochs) excludes 0; identities exact",
        n_samples=ctx.settings["seeds"] * 64 * 8 * 2,
        summary=(f"unclipped GMPO = unclipped GSPO (err {id_err:.1g}); GM ≤ AM on every sequence. After 8 epochs GMPO's ratio range "
                 f"max|log r_t| is {np.median(rng_g):.2f} vs GRPO {np.median(rng_p):.2f} (median; paired diff {d_range.statistic:+.2f} "
                 f"[{d_range.low:+.2f}, {d_range.high:+.2f}]); KL(π_old‖π) diff {d_kl.statistic:+.3f} [{d_kl.low:+.3f}, {d_kl.high:+.3f}]; "
                 f"J diff {d_j.statistic:+.3f} [{d_j.low:+.3f}, {d_j.high:+.3f}]" if not failures else "; ".join(failures)),
        details={"identity_error": id_err, "amgm_violations": amgm_viol, "range_gmpo": rng_g, "range_grpo": rng_p,
                 "range_diff": d_range._asdict(), "kl_diff": d_kl._asdict(), "J_diff": d_j._asdict()},
        figure=save_figure(fig, ctx.figure_dir, ID),
    )


register_claim(Claim(
    id=ID, paper="GMPO: Geometric-Mean Policy Optimization", seed_line=197,
    claim="GMPO maximizes the geometric mean of token-level rewards, which is inherently less sensitive to outliers and maintains a "
          "more stable range of importance sampling ratio",
    theme="GR, TR", exact="surrogate identities by autograd; exact KL and J along training",
    monte_carlo="multi-epoch training on sampled groups (paired seeds) with GRPO and GMPO surrogates",
    test="identities exact; paired CI of the ratio-range difference (GMPO − GRPO) decides",
    scales={"quick": {"seeds": 6}, "full": {"seeds": 32}},
    run=run, source="GMPO objective per CLAIMS.md row L197 (token clip in log space, range ±0.4 as in the paper's default — unverified)",
))
