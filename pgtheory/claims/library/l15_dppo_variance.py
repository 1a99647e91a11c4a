r"""L15 (D-PPO): "derived an upper bound of the surrogate objective variance, which can grow quadratically with the
increase of the surrogate objective".

Design (fixed before running), :mod:`._multi_epoch` toy LLM (one prompt at a time, all 4 averaged), θ_old random;
θ_s = θ_old + s·D along the exact ascent direction D = ∇J(θ_old)/‖∇J(θ_old)‖·√dim θ, s ∈ linspace(0, 1.5, 31). Exact
(enumeration) surrogate L(s) = E_{π_old}[r A] and Var_{π_old}[r A], r = π_θs(y)/π_old(y), A = R − J_old. Fit
Var = c0 + c1 L + c2 L² (least squares) and a linear fit.
Verdict: confirmed if c2 > 0 and the quadratic fit's R² ≥ 0.99 while improving the linear fit's residual by ≥ 2×;
qualified if c2 > 0 but a fit criterion fails; refuted if c2 ≤ 0. (D-PPO's dropout rule is not implemented: its
criterion could not be read through `search`.)
Protocol: kind=empirical, extension=True — the quote says the variance "can grow quadratically"; requiring an
adequate, better-than-linear quadratic fit along one path asks more (it can qualify, never refute).

Revision 2026-12-01 (a referee of the seed-9 ledger; before the confirmatory run at seed 10): every claim with an
extension now states the verdict of its quoted sentence. Here it is ``inconclusive``: the sentence is about the paper's upper bound, which could not be read; only the shape of the actual variance was tested. The rule's own verdict
is kept as the raw verdict and reported; it no longer decides the sentence either way.
"""
from __future__ import annotations

import numpy as np
import torch

from ...exact import sequence_policy_gradient
from ...policies import TabularSequencePolicy
from ..record import Claim, Evidence, RunContext
from ..registry import register_claim
from ..style import new_figure, save_figure
from ._multi_epoch import llm_task

ID = "L15-dppo-surrogate-variance"
STEPS = np.linspace(0, 1.5, 31)


def run(ctx: RunContext) -> Evidence:
    task = llm_task(ctx.seed)
    pol = TabularSequencePolicy(task)
    g = torch.Generator().manual_seed(ctx.seed)
    th_old = pol.random_params(generator=g)
    grad = sequence_policy_gradient(pol, th_old)
    D = grad / grad.norm() * grad.numel() ** 0.5
    p_old = pol.sequence_log_probs(th_old).exp()
    R = task.rewards
    A = R - (p_old * R).sum(-1, keepdim=True)
    w = task.prompt_weights[:, None]
    Ls, Vs = [], []
    for s in STEPS:
        r = torch.exp(pol.sequence_log_probs(th_old + float(s) * D) - pol.sequence_log_probs(th_old))
        m = (p_old * r * A).sum(-1)
        v = (p_old * (r * A) ** 2).sum(-1) - m**2
        Ls.append(float((w[:, 0] * m).sum()))
        Vs.append(float((w[:, 0] * v).sum()))
    L, V = np.array(Ls), np.array(Vs)
    X2 = np.stack([np.ones_like(L), L, L**2], 1)
    c, *_ = np.linalg.lstsq(X2, V, rcond=None)
    res2 = ((V - X2 @ c) ** 2).sum()
    X1 = X2[:, :2]
    c1, *_ = np.linalg.lstsq(X1, V, rcond=None)
    res1 = ((V - X1 @ c1) ** 2).sum()
    r2 = 1 - res2 / ((V - V.mean()) ** 2).sum()
    if c[2] <= 0:
        verdict = "refuted"
    else:
        verdict = "confirmed" if r2 >= 0.99 and res1 >= 2 * res2 else "qualified"
    return Evidence(
        quote_verdict="inconclusive",  # see the revision of 2026-12-01 in the docstring
        verdict=verdict, statistic=float(c[2]),
        threshold="c2 > 0; quadratic R² ≥ 0.99 and residual ≤ half the linear fit's",
        n_samples=0,
        summary=(f"along the ascent path Var[rA] = {c[0]:.3g} + {c[1]:.3g}·L + {c[2]:.3g}·L² (R² {r2:.4f}; linear residual "
                 f"{res1 / max(res2, 1e-300):.1f}× the quadratic's) as L rises from {L[0]:.3f} to {L[-1]:.3f}. The dropout rule is not tested"),
        details={"coefficients": c.tolist(), "r2": float(r2), "linear_residual_ratio": float(res1 / max(res2, 1e-300)),
                 "L": L.tolist(), "Var": V.tolist()},
        instances=[verdict == "confirmed"], sensitivity=[],
        measurements={"L": L, "V": V, "quadratic": c, "linear": c1, "r2": float(r2)},
    )


def _draw(m: dict, figure_dir: str) -> str:
    """The figure, from the stored measurements: Var[rA] against L with the quadratic and linear fits, and both along
    the ascent path."""
    L, V, c, c1 = m["L"], m["V"], m["quadratic"], m["linear"]
    fig, (a1, a2) = new_figure(ID, "Surrogate variance against the surrogate value along the ascent direction", ncols=2, width=4.6)
    a1.plot(L, V, "o", ms=3, label="exact Var_{π_old}[rA]")
    ll = np.linspace(L.min(), L.max(), 100)
    a1.plot(ll, c[0] + c[1] * ll + c[2] * ll**2, "-", label=f"quadratic fit (R² {m['r2']:.4f})")
    a1.plot(ll, c1[0] + c1[1] * ll, ":", label="linear fit")
    a1.set_xlabel("surrogate L(θ) = E_{π_old}[r A]")
    a1.set_ylabel("Var_{π_old}[r A] (exact)")
    a1.legend(fontsize=6)
    a2.plot(STEPS, L, label="L(θ_s)")
    a2.plot(STEPS, V, label="Var[rA]")
    a2.set_xlabel("step s along ∇J(θ_old) (units of √dim θ)")
    a2.set_ylabel("value")
    a2.legend(fontsize=6)
    return save_figure(fig, figure_dir, ID)


register_claim(Claim(
    id=ID, paper="D-PPO: dropout strategy for PPO surrogate variance", seed_line=15,
    draw=_draw, figure_family="llm_estimators",
    claim="derived an upper bound of the surrogate objective variance, which can grow quadratically with the increase of the "
          "surrogate objective",
    theme="TR, IW", exact="surrogate value and variance under π_old by enumeration along the ascent direction", monte_carlo="none (exact)",
    test="quadratic coefficient positive; quadratic fit adequate and better than linear",
    scales={"quick": {}, "full": {}},
    run=run, source="CLAIMS.md row L15; the paper's bound and dropout criterion not verified",
    kind="empirical",
    reading="our-criterion",
    reading_note=("\"the sentence is about the paper's upper bound, which could not be read; only the shape of the actual variance was tested\"."),
    quote="derived an upper bound of the surrogate objective variance, which can grow quadratically with the increase of the "
          "surrogate objective",
    quote_source="seed abstract (line 15), via shared/CLAIMS.md",
    extension=True, unbiasedness=False,
    constants={"path_length": [0.5, 3.0]},
))
