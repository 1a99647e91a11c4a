r"""L55 (TRPO): the surrogate lower bound η(π̃) ≥ L_π(π̃) − C·D_KL^max(π, π̃), C = 4εγ/(1−γ)², ε = max|A_π|.

Schulman et al. 2015, Theorem 1 (with α² ≤ D_TV² ≤ D_KL), in the unnormalised-return convention:
L_π(π̃) = η(π) + Σ_s ρ_π(s) Σ_a π̃(a|s) A_π(s,a), ρ_π = d^π_ρ/(1−γ) the discounted visitation.
Random pairs (π, π̃): π̃ = softmax(θ + σ·ξ) for a range of perturbation sizes σ, on random Garnets.
Protocol: kind=theorem, extension=False — Theorem 1 and the monotone MM iteration it implies, checked numerically
(a violation would be a counterexample to the paper's theorem, or a bug). Relabelled identity → theorem on 2026-11-30
(a referee: an exact check of the paper's own theorem was shown as a check of our code). Instances: each random Garnet of the bound check and each Garnet of the MM iteration.
"""
from __future__ import annotations

import numpy as np
import torch

from ...exact import evaluate_policy
from ...policies import TabularSoftmax
from ...problems import garnet
from ..record import Claim, Evidence, RunContext
from ..registry import register_claim
from ..style import new_figure, save_figure

ID = "L55-trpo-lower-bound"
ROUND_OFF = 1e-10


def _surrogate_bound(mdp, pol, th_old, th):
    """M_π(π̃) = L_π(π̃) − C·D_KL^max(π, π̃) (a minorant of η(π̃) that touches it at π̃ = π)."""
    pi, pi2 = pol.probs(th_old), pol.probs(th)
    ev = evaluate_policy(mdp, pi)
    g = mdp.discount
    L = ev.objective + (ev.occupancy / (1 - g) * (pi2 * ev.advantage).sum(-1)).sum(-1)
    C = 4 * float(ev.advantage.abs().max()) * g / (1 - g) ** 2
    return L - C * (pi * (pi.log() - pol.log_probs(th))).sum(-1).amax(-1)


def _mm_iteration(mdp, pol, th, outer: int, inner: int) -> list[float]:
    """η(π_k) along the MM iteration π_{k+1} ≈ argmax M_{π_k}: backtracking ascent accepting only M-increases."""
    etas = [float(evaluate_policy(mdp, pol.probs(th)).objective)]
    for _ in range(outer):
        th_old, cur = th.clone(), th.clone()
        m_cur = float(_surrogate_bound(mdp, pol, th_old, cur))
        for _ in range(inner):
            t = cur.clone().requires_grad_(True)
            (grad,) = torch.autograd.grad(_surrogate_bound(mdp, pol, th_old, t), t)
            step = 1.0
            while step > 1e-8:
                cand = cur + step * grad
                m_c = float(_surrogate_bound(mdp, pol, th_old, cand))
                if m_c > m_cur:
                    cur, m_cur = cand, m_c
                    break
                step /= 2
        th = cur
        etas.append(float(evaluate_policy(mdp, pol.probs(th)).objective))
    return etas


def run(ctx: RunContext) -> Evidence:
    rng = np.random.default_rng(ctx.seed)
    gen = torch.Generator().manual_seed(ctx.seed)
    slack_all, kl_all, gain_all = [], [], []
    for _ in range(ctx.settings["mdps"]):
        S, A = int(rng.integers(3, 12)), int(rng.integers(2, 5))
        mdp = garnet(S, A, min(S, 3), discount=float(rng.uniform(0.5, 0.95)), seed=int(rng.integers(2**31))).to(ctx.device)
        pol = TabularSoftmax(S, A)
        P = ctx.settings["pairs_per_mdp"]
        th = pol.random_params(generator=gen).to(ctx.device)
        sigma = torch.logspace(-3, 0.5, P, dtype=torch.float64).to(ctx.device)[:, None, None]
        th2 = th + sigma * torch.randn(P, S, A, generator=gen, dtype=torch.float64).to(ctx.device)
        pi, pi2 = pol.probs(th), pol.probs(th2)
        ev, ev2 = evaluate_policy(mdp, pi), evaluate_policy(mdp, pi2)
        g = mdp.discount
        L = ev.objective + (ev.occupancy / (1 - g) * (pi2 * ev.advantage).sum(-1)).sum(-1)
        eps = float(ev.advantage.abs().max())
        C = 4 * eps * g / (1 - g) ** 2
        kl_max = (pi * (pi.log() - pi2.log())).sum(-1).amax(-1)
        slack = ev2.objective - (L - C * kl_max)
        slack_all.append(slack.cpu().numpy())
        kl_all.append(kl_max.cpu().numpy())
        gain_all.append((ev2.objective - ev.objective).cpu().numpy())
    slack, kl = np.concatenate(slack_all), np.concatenate(kl_all)
    violations = int((slack < -ROUND_OFF).sum())
    # the MM iteration of the bound (Algorithm 1 with exact quantities): η must never decrease
    curves = []
    for k in range(ctx.settings["mm_mdps"]):
        mdp = garnet(6, 3, 3, discount=0.9, seed=ctx.seed * 100 + k).to(ctx.device)
        pol = TabularSoftmax(6, 3)
        curves.append(_mm_iteration(mdp, pol, pol.random_params(generator=gen).to(ctx.device), ctx.settings["mm_outer"], 20))
    curves = np.array(curves)
    decreases = int((np.diff(curves, axis=1) < -ROUND_OFF).sum())
    improved = bool((curves[:, -1] > curves[:, 0]).all())
    per_instance = [bool((sl >= -ROUND_OFF).all()) for sl in slack_all] + \
        [bool((np.diff(c) >= -ROUND_OFF).all() and c[-1] > c[0]) for c in curves]
    return Evidence(
        verdict="confirmed" if violations == 0 and decreases == 0 and improved else "refuted", statistic=float(slack.min()),
        threshold=f"zero pairs with slack < −{ROUND_OFF:g}; zero decreases of η along the MM iteration, and net improvement",
        n_samples=len(slack),
        summary=f"{len(slack)} random policy pairs on {ctx.settings['mdps']} Garnets: {violations} violations, "
                f"min slack {slack.min():.2e}; MM iteration on {len(curves)} Garnets × {curves.shape[1] - 1} steps: "
                f"{decreases} decreases of η, mean gain {float((curves[:, -1] - curves[:, 0]).mean()):.3g}",
        details={"violations": violations, "min_slack": float(slack.min()), "median_slack": float(np.median(slack)),
                 "mm_decreases": decreases, "mm_improved_everywhere": improved, "mm_gain": (curves[:, -1] - curves[:, 0]).tolist()},
        instances=per_instance, sensitivity=[], measurements={"kl": kl, "slack": slack, "mm_curves": curves},
    )


def _draw(m: dict, figure_dir: str) -> str:
    """The figure, from the stored measurements: slack against KL over all pairs, and the MM iteration's gains."""
    fig, (ax, ax2) = new_figure(ID, "TRPO: lower bound slack, and the exact MM iteration", ncols=2, width=4.6)
    for c in m["mm_curves"]:
        ax2.plot(np.arange(len(c)), c - c[0], lw=1)
    ax2.set_xlabel("MM iteration k")
    ax2.set_ylabel("η(π_k) − η(π_0) (return units)")
    ax.loglog(np.maximum(m["kl"], 1e-16), np.maximum(m["slack"], 1e-16), ".", ms=2, alpha=0.5, rasterized=True)  # 1e5 points: keep the PDF small
    ax.set_xlabel("max_s KL(π(·|s) ‖ π̃(·|s)) (nats)")
    ax.set_ylabel("slack (return units; ≥ 0: bound holds)")
    return save_figure(fig, figure_dir, ID)


register_claim(Claim(
    id=ID, paper="Trust Region Policy Optimization", seed_line=55, draw=_draw, figure_family="trust_region",
    claim="minimizing a certain surrogate objective function guarantees policy improvement with non-trivial step sizes "
          "(Theorem 1: η(π̃) ≥ L_π(π̃) − C·D_KL^max, C = 4εγ/(1−γ)²)",
    theme="TR", exact="η, L_π, A_π, ε, D_KL^max for every pair", monte_carlo="none",
    test=f"zero violations (slack < −{ROUND_OFF:g}) over random pairs spanning KL_max from ~1e-7 to ~10; the exact MM "
         "iteration (ascent on L − C·KL_max accepting only increases) never decreases η and improves it",
    scales={"quick": {"mdps": 20, "pairs_per_mdp": 100, "mm_mdps": 3, "mm_outer": 15},
            "full": {"mdps": 500, "pairs_per_mdp": 400, "mm_mdps": 20, "mm_outer": 100}},
    run=run, source="Schulman et al. 2015 (arXiv:1502.05477), Theorem 1; form cross-checked against a public summary "
           "(shortscience.org) — D_KL^max(π_old, π_new) with the old policy first, C = 4εγ/(1−γ)², ε = max|A_π|",
    kind="theorem",
    reading="as-written",
    quote="iterative procedure for optimizing policies, with guaranteed monotonic improvement",
    quote_source="seed abstract (line 55), via shared/CLAIMS.md; the bound tested is Theorem 1 of the paper body (CLAIMS.md, cross-checked)",
    extension=False, unbiasedness=False, constants={},
))
