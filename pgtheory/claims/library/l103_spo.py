r"""L103 (SPO): "By slightly modifying the policy loss used in PPO" SPO offers "stronger theoretical properties and
better constraining the probability ratio within the trust region".

Design (fixed before running):
(i) the per-sample SPO objective rA − |A|(r − 1)²/(2ε) is maximised at r* = 1 + sign(A)ε (closed form against scipy's
    bounded scalar maximiser on 1000 random A, |Δr| < 1e-6) and its r-derivative at r = 1 is A (the PG); PPO's clipped
    objective is flat beyond 1 ± ε (no restoring gradient).
(ii) multi-epoch (:mod:`._multi_epoch`, ``seeds`` paired batches) with PPO clip, SPO, GSPO, GMPO and the unclipped PG:
     fraction of tokens with |r − 1| > ε = 0.2 after 8 epochs, exact KL(π_old‖π_8) and J; ratio distributions.
Verdict: refuted if (i) fails or SPO's out-of-region fraction is significantly larger than PPO's (paired 95% CI);
confirmed if significantly smaller; inconclusive otherwise.
Protocol: kind=empirical, extension=False — the verdict rests on the paired out-of-region comparison, which is what
"better constraining the probability ratio within the trust region" says; the maximiser/PG part (i) is an identity check.
"""
from __future__ import annotations

import numpy as np
import torch
from scipy.optimize import minimize_scalar

from ...estimators import token_surrogate_values
from ...stats import paired_difference
from ..record import Claim, Evidence, RunContext
from ..registry import register_claim
from ..style import new_figure, save_figure
from ._multi_epoch import final_difference, llm_task, plot_ratio_distributions, runs

ID = "L103-spo-trust-region"
EPS = 0.2
NAMES = {"ppo_clip": "PPO clip", "spo": "SPO", "gspo": "GSPO", "gmpo": "GMPO", "pg": "unclipped PG"}


def _outside(t, epoch=-1):
    return float(np.mean(np.abs(np.exp(t.token_log_ratios[epoch]) - 1) > EPS))


def run(ctx: RunContext) -> Evidence:
    rng = np.random.default_rng(ctx.seed)
    failures = []
    max_err, deriv_err = 0.0, 0.0
    one = torch.zeros(1, 1, 1, dtype=torch.float64)
    mask = torch.ones(1, 1, 1, dtype=torch.bool)
    for A in rng.normal(size=1000):
        res = minimize_scalar(lambda r: -(r * A - abs(A) * (r - 1) ** 2 / (2 * EPS)), bounds=(0.0, 3.0), method="bounded",
                              options={"xatol": 1e-10})
        max_err = max(max_err, abs(res.x - (1 + np.sign(A) * EPS)))
        lp = torch.zeros(1, 1, 1, dtype=torch.float64, requires_grad=True)
        (gr,) = torch.autograd.grad(token_surrogate_values("spo", lp, one, torch.tensor([[A]], dtype=torch.float64), mask, eps=EPS).sum(), lp)
        deriv_err = max(deriv_err, abs(float(gr) - A))
    if max_err > 1e-6 or deriv_err > 1e-12:
        failures.append(f"per-sample maximiser off by {max_err:.2g} / PG at r = 1 off by {deriv_err:.2g}")
    task = llm_task(ctx.seed)
    tr = runs(task, tuple(NAMES), ctx.settings["seeds"], ctx.seed)
    out = {k: [_outside(t) for t in v] for k, v in tr.items()}
    d_out = paired_difference(out["spo"], out["ppo_clip"])
    d_kl, d_j = (final_difference(tr["spo"], tr["ppo_clip"], m) for m in ("kl", "objective"))
    verdict = "refuted" if failures or d_out.sign == 1 else {-1: "confirmed", 0: "inconclusive"}[d_out.sign]
    fig, (a1, a2) = new_figure(ID, "Token ratios after 8 epochs on one batch: PPO, SPO, GSPO, GMPO, unclipped", ncols=2, width=4.6)
    plot_ratio_distributions(a1, {NAMES[k]: v for k, v in tr.items()})
    a1.axvline(np.log(1 - EPS), color="k", lw=0.6, ls=":")
    a1.axvline(np.log(1 + EPS), color="k", lw=0.6, ls=":")
    for i, (k, v) in enumerate(tr.items()):
        frac = np.array([[_outside(t, e) for e in range(len(t.kl))] for t in v])
        a2.plot(np.arange(frac.shape[1]), np.median(frac, 0), "o-", ms=3, color=f"C{i}", label=NAMES[k])
    a2.set_xlabel("epoch over the same batch")
    a2.set_ylabel(f"fraction of tokens with |r − 1| > {EPS} (median over seeds)")
    a2.legend(fontsize=6)
    med = {NAMES[k]: float(np.median(v)) for k, v in out.items()}
    return Evidence(
        verdict=verdict, statistic=d_out.statistic,
        threshold="maximiser/PG identities exact; paired 95% CI of the out-of-region fraction (SPO − PPO) decides",
        n_samples=ctx.settings["seeds"] * 64 * 8 * len(NAMES),
        summary=(f"SPO's per-sample maximiser is r* = 1 ± ε (err {max_err:.1g}) with the PG at r = 1. After 8 epochs the fraction of tokens "
                 f"outside [0.8, 1.2]: " + ", ".join(f"{k} {v:.2f}" for k, v in med.items()) +
                 f"; SPO − PPO {d_out.statistic:+.3f} [{d_out.low:+.3f}, {d_out.high:+.3f}]; KL drift {d_kl.statistic:+.3f} "
                 f"[{d_kl.low:+.3f}, {d_kl.high:+.3f}]; J {d_j.statistic:+.3f} [{d_j.low:+.3f}, {d_j.high:+.3f}]"
                 if not failures else "; ".join(failures)),
        details={"maximiser_error": max_err, "derivative_error": deriv_err, "outside_fraction": out, "outside_diff": d_out._asdict(),
                 "kl_diff": d_kl._asdict(), "J_diff": d_j._asdict()},
        figure=save_figure(fig, ctx.figure_dir, ID),
        instances=[verdict == "confirmed"],  # one task; the seeds are paired replicates of one comparison
        sensitivity=[],
    )


register_claim(Claim(
    id=ID, paper="Simple Policy Optimization (SPO)", seed_line=103,
    claim="By slightly modifying the policy loss used in PPO, SPO offers stronger theoretical properties and better constrains the "
          "probability ratio within the trust region",
    theme="TR", exact="per-sample maximiser (closed form vs scipy), derivative at r = 1; exact KL and J along training",
    monte_carlo="multi-epoch training on sampled groups (paired seeds) with five surrogates",
    test="paired CI of the fraction of tokens outside [1 − ε, 1 + ε] after 8 epochs, SPO − PPO",
    scales={"quick": {"seeds": 6}, "full": {"seeds": 32}},
    run=run, source="SPO objective r·A − |A|(r − 1)²/(2ε) per CLAIMS.md row L103 (paper body / public code — unverified)",
    kind="empirical",
    quote="By slightly modifying the policy loss used in PPO; offering stronger theoretical properties and better constraining "
          "the probability ratio within the trust region",
    quote_source="seed abstract (line 103), via shared/CLAIMS.md",
    extension=False, unbiasedness=False,
    constants={"eps": [0.1, 0.3], "epochs": [1, 16], "lr (Adam)": [0.01, 0.2], "G": [4, 16], "batch groups B": [16, 256]},
))
