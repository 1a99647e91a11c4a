r"""L9 (Definitive Guide to PG) "convergence results" and "benefits of regularization", made quantitative with
Mei et al. 2020 (not in the seed): exact softmax PG has sub-optimality Θ(1/t); with entropy regularisation
it converges linearly.

Design (fixed before running): Garnet S = 5, A = 3, b = 3, γ = 0.8, uniform ρ, rewards in [0, 1]; K random
initialisations θ₀ ~ N(0, 1) (the "seeds" of the bootstrap); step size η = (1 − γ)³/8 (Mei et al. Thm 4),
and η = (1 − γ)³/(8 + τ(4 + 8 log A)) with τ = 0.1 for the regularised run (their Thm 6).
Protocol: kind=asymptotic, extension=True — the abstract states no rate ("convergence results", "benefits of
regularization"); the Θ(1/t) and linear rates are Mei et al.'s, so a failed rate qualifies, never refutes. The rule
already gates on the window (pre-asymptotic → inconclusive, never refuted); it is kept rather than re-routed through
``asymptotic_verdict`` (a different statistic, not a small change).
"""
from __future__ import annotations

import math

import numpy as np
import torch

from ...exact import (policy_gradient, regularized_objective, regularized_policy_gradient, soft_value_iteration,
                      value_iteration, evaluate_policy)
from ...policies import TabularSoftmax
from ...problems import garnet
from ...stats import fit_rate
from ..record import Claim, Evidence, RunContext
from ..registry import register_claim
from ..style import new_figure, save_figure

ID = "L9-softmax-pg-rates"
TAU = 0.1


def _ascent(grad_fn, gap_fn, theta, eta, T, checkpoints):
    gaps = []
    cps = set(checkpoints)
    for t in range(1, T + 1):
        theta = theta + eta * grad_fn(theta)
        if t in cps:
            gaps.append(gap_fn(theta))
    return torch.stack(gaps, 1)  # [K, len(checkpoints)]


def run(ctx: RunContext) -> Evidence:
    T, K = ctx.settings["iterations"], ctx.settings["inits"]
    mdp = garnet(5, 3, 3, discount=0.8, seed=ctx.seed).to(ctx.device)
    pol = TabularSoftmax(5, 3)
    th0 = pol.random_params(K, generator=torch.Generator().manual_seed(ctx.seed)).to(ctx.device)
    g = mdp.discount
    cps = sorted({int(round(x)) for x in np.logspace(0, math.log10(T), 40)})
    J_star = float((mdp.initial * value_iteration(mdp).v).sum())
    eta = (1 - g) ** 3 / 8
    gap = _ascent(lambda th: policy_gradient(mdp, pol, th), lambda th: J_star - evaluate_policy(mdp, pol.probs(th)).objective,
                  th0, eta, T, cps).clamp_min(1e-300).cpu().numpy()
    soft = soft_value_iteration(mdp, TAU)
    Js = float((mdp.initial * soft.v).sum())
    eta_s = (1 - g) ** 3 / (8 + TAU * (4 + 8 * math.log(3)))
    gap_s = _ascent(lambda th: regularized_policy_gradient(mdp, pol, th, TAU),
                    lambda th: Js - regularized_objective(mdp, pol.probs(th), TAU), th0, eta_s, T, cps).cpu().numpy()
    t = np.array(cps, float)
    tail = t >= T / 10
    rate = fit_rate(t[tail], gap[:, tail])
    # adequacy (is the window asymptotic?): the two halves of the window, in log t, must agree on the slope
    mid = np.sqrt(T / 10 * T)
    first, second = fit_rate(t[tail & (t <= mid)], gap[:, tail & (t <= mid)]), fit_rate(t[tail & (t >= mid)], gap[:, tail & (t >= mid)])
    progressed = bool(np.median(gap[:, -1] / gap[:, 0]) <= 1e-2)  # left the initial plateau of softmax PG
    asymptotic = progressed and abs(first.slope - second.slope) <= 0.15
    # regularised: log-gap linear in t on the points above the round-off floor (gap > 1e-11 for every init)
    live = (gap_s > 1e-11).all(0) & (t >= 10)
    lin = None
    if live.sum() >= 3:
        y = np.log(gap_s[:, live])
        slopes = np.array([np.polyfit(t[live], yi, 1)[0] for yi in y])
        r2 = np.array([np.corrcoef(t[live], yi)[0, 1] ** 2 for yi in y])
        lin = {"median_slope_per_iter": float(np.median(slopes)), "min_r2": float(r2.min()), "points": int(live.sum())}
    fast_enough = rate.ci_high <= -0.9
    too_slow = rate.ci_low > -0.9
    linear = lin is not None and lin["min_r2"] >= 0.99 and lin["median_slope_per_iter"] < 0
    if not asymptotic:
        verdict = "inconclusive"  # a pre-asymptotic window says nothing about an asymptotic rate
    elif fast_enough and linear:
        verdict = "confirmed"
    elif too_slow or (lin is not None and not linear):
        verdict = "refuted"
    else:
        verdict = "inconclusive"
    fig, (a1, a2) = new_figure(ID, "exact softmax PG: Θ(1/t) vs entropy-regularised linear rate", ncols=2, width=4.6)
    for k in range(min(K, 12)):
        a1.loglog(t, gap[k], color="C0", alpha=0.4, lw=0.8)
        a2.semilogy(t, np.maximum(gap_s[k], 1e-16), color="C1", alpha=0.4, lw=0.8)
    a1.loglog(t[tail], np.exp(rate.intercept) * t[tail] ** rate.slope, "k--", lw=1,
              label=f"fit slope {rate.slope:.2f} [{rate.ci_low:.2f}, {rate.ci_high:.2f}]")
    a1.set_xlabel("iteration t")
    a1.set_ylabel("J* − J(π_t) (return units)")
    a1.set_title("unregularised, η = (1−γ)³/8", fontsize=8)
    a1.legend(fontsize=7)
    a2.set_xlabel("iteration t")
    a2.set_ylabel("J*_τ − J_τ(π_t) (return units)")
    a2.set_title(f"entropy-regularised, τ = {TAU}", fontsize=8)
    return Evidence(
        verdict=verdict, statistic=rate.slope,
        threshold="window asymptotic (median gap reduced ≥ 100x from t = 1 to T, half-window slopes within 0.15); then 95% CI of log-log slope on t ∈ [T/10, T] ≤ −0.9, "
                  "and log-gap linear in t (R² ≥ 0.99, slope < 0) for every init",
        n_samples=K,
        summary=(("" if asymptotic else f"window not asymptotic (median gap ratio T/1 = {np.median(gap[:, -1] / gap[:, 0]):.2g}, "
                                         f"half-window slopes {first.slope:.2f} vs {second.slope:.2f}); ")
                 + f"unregularised slope {rate.slope:.3f} (95% CI [{rate.ci_low:.3f}, {rate.ci_high:.3f}], {K} inits, T = {T}); "
                 + (f"regularised log-gap slope {lin['median_slope_per_iter']:.2e}/iter, min R² {lin['min_r2']:.4f}" if lin else
                    "regularised gap reached round-off too early to fit")),
        details={"gap_ratio_T_over_1": float(np.median(gap[:, -1] / gap[:, 0])), "slope": rate.slope, "ci": [rate.ci_low, rate.ci_high], "half_window_slopes": [first.slope, second.slope],
                 "asymptotic": asymptotic, "regularised": lin, "iterations": T, "eta": eta, "eta_reg": eta_s},
        figure=save_figure(fig, ctx.figure_dir, ID),
        instances=[verdict == "confirmed"], sensitivity=[],
    )


register_claim(Claim(
    id=ID, paper="The Definitive Guide to Policy Gradients in Deep Reinforcement Learning", seed_line=9,
    claim="convergence results ... insights on the benefits of regularization (quantified as Mei et al. 2020: "
          "exact softmax PG gap O(1/t); entropy-regularised PG linear)",
    theme="TR", exact="J*, J*_τ by (soft) value iteration; exact gradients along the ascent", monte_carlo="none",
    test="inconclusive unless the fit window is asymptotic (gap reduced ≥ 100x from t = 1, slopes of the window's halves "
         "within 0.15); then log-log slope CI ≤ −0.9 "
         "(at least ≈1/t) and log(gap) linear in t with R² ≥ 0.99 under τ = 0.1",
    scales={"quick": {"iterations": 4000, "inits": 16}, "full": {"iterations": 200000, "inits": 64}},
    run=run, source="Mei, Xiao, Szepesvári, Schuurmans 2020 (not in seed); seed abstract L9",
    kind="asymptotic",
    quote="convergence results; insights on the benefits of regularization",
    quote_source="seed abstract (line 9), via shared/CLAIMS.md (rates: Mei et al. 2020, not in seed)",
    extension=True, unbiasedness=False,
    constants={"step_size": [1e-3, 1.0], "entropy_tau": [0.01, 1.0], "discount": [0.8, 0.99]},
))
