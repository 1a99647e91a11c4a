"""L9 (Definitive Guide to PG): the policy-gradient theorem equals autograd of J(θ) = ρᵀ(I − γP_π)⁻¹r_π.

Protocol: kind=identity, extension=False — the PG theorem checked numerically (fails only through a bug); the quoted
"proof of the continuous version" is tested through its discrete (tabular, log-linear) case. Instances = (MDP, policy) pairs.

Revision 2026-12-01 (after the seed-13 confirmatory run, commit 4b04126): that run showed this identity *refuted*
because one of 800 pairs (hard_chain(n=7), log-linear policy) differed from central differences (h = 1e-5) by 1.2e-6
relative, over the 1e-6 threshold, while the PG theorem agreed with autograd to 1.4e-12 on every pair. Its gradient has
norm 9.8e-7, so the relative error was the differences' round-off (about ε|J|/h ≈ 1e-11 absolute), not the theorem's:
a step of 1e-4 gives 1.6e-7 on the same pair. The FD comparison now allows for the round-off of central differences
(FD_ROUNDOFF·ε·(1 + |J|)·√n/h beside TOL_FD·‖g‖); the autograd threshold, the FD step and TOL_FD are unchanged.
Second revision, same day: judged on seed 14 that allowance still read two hard chains (γ = 0.95, 0.98) 'refuted'
(ratios 5.0 and 1.7; autograd agreement 2.8e-10 and 1.6e-11), with the FD error growing as 1/h — round-off again,
amplified by the solve that gives J: the allowance now carries the condition bound κ = (1 + γ)/(1 − γ) of I − γP_π.
Seed 14 has been seen; the re-judgement is on seed 15 (verified). Third change, same day (a referee of the seed-13
ledger: seed 15 re-checked none of the pairs that had failed): the three failing pairs of seeds 13 and 14 are declared
counterexamples, replayed from their runs' streams and judged with the fresh pairs in every run; judged on seed 16.
"""
from __future__ import annotations

import numpy as np
import torch

from ...exact import evaluate_policy, policy_gradient, policy_gradient_autograd, policy_gradient_finite_difference
from ...policies import LogLinearSoftmax, TabularSoftmax
from ...problems import cliff_walk, garnet, gridworld, hard_chain
from ..record import Claim, Evidence, RunContext
from ..registry import register_claim
from ..style import new_figure, save_figure

ID = "L9-pg-theorem-autograd"
TOL_AUTOGRAD, TOL_FD = 1e-9, 1e-6
FD_STEP = 1e-5  #: central-difference step h
#: allowance for the round-off of central differences, in units of ε·κ·(1 + |J|)·√n_params / h with κ = (1 + γ)/(1 − γ)
#: the ∞-norm condition bound of I − γP_π (revision 2026-12-01)
FD_ROUNDOFF = 10.0


def _instances(n: int, rng: np.random.Generator):
    for i in range(n):
        kind = i % 4
        if kind == 0:
            S = int(rng.integers(3, 30))
            yield garnet(S, int(rng.integers(2, 5)), min(S, 3), discount=float(rng.uniform(0.5, 0.99)), seed=int(rng.integers(2**31)))
        elif kind == 1:
            yield gridworld(3, 4, slip=float(rng.uniform(0, 0.3)), discount=float(rng.uniform(0.5, 0.99)))
        elif kind == 2:
            yield cliff_walk(5, 3, slip=float(rng.uniform(0, 0.3)))
        else:
            yield hard_chain(int(rng.integers(3, 10)), discount=float(rng.uniform(0.5, 0.99)))


def _fd_error(mdp, policy, th, g: torch.Tensor) -> float:
    """‖g − D_h‖ over what central differences can resolve: TOL_FD·‖g‖ (truncation and agreement) plus their round-off
    FD_ROUNDOFF·ε·κ·(1 + |J|)·√n / h, κ = (1 + γ)/(1 − γ) bounding the condition number of the solve that gives J; the
    pair passes below 1 (revision 2026-12-01, see the docstring)."""
    fd = policy_gradient_finite_difference(mdp, policy, th, step=FD_STEP)
    J = float(evaluate_policy(mdp, policy.probs(th)).objective)
    n = th.numel()
    kappa = (1 + mdp.discount) / (1 - mdp.discount)
    floor = FD_ROUNDOFF * torch.finfo(torch.float64).eps * kappa * (1 + abs(J)) * n ** 0.5 / FD_STEP
    return float((g - fd).norm()) / (TOL_FD * float(g.norm()) + floor)


def _rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).norm() / b.norm().clamp_min(1e-12))


def _pairs(n: int, seed: int, device: str = "cpu"):
    """The run's stream of (MDP, policy, θ) pairs for ``seed``: two policies per MDP, in order (pair index 2i, 2i + 1)."""
    rng = np.random.default_rng(seed)
    gen = torch.Generator().manual_seed(seed)
    for mdp in _instances(n, rng):
        mdp = mdp.to(device)
        for policy in (TabularSoftmax(mdp.n_states, mdp.n_actions),
                       LogLinearSoftmax(torch.randn(mdp.n_states, mdp.n_actions, 4, generator=gen, dtype=torch.float64))):
            if isinstance(policy, LogLinearSoftmax):
                policy.features = policy.features.to(device)
            yield mdp, policy, policy.random_params(generator=gen).to(device)


def _check(mdp, policy, th) -> tuple[float, float]:
    """(relative error of the PG theorem against autograd, FD error ratio) of one pair."""
    g = policy_gradient(mdp, policy, th)
    return _rel(g, policy_gradient_autograd(mdp, policy, th)), _fd_error(mdp, policy, th, g)


def _replay(spec: dict, device: str) -> tuple[float, float]:
    """Re-check one declared counterexample: pair ``spec["pair"]`` of run seed ``spec["run_seed"]``'s stream."""
    for k, (mdp, policy, th) in enumerate(_pairs(spec["pair"] // 2 + 1, spec["run_seed"], device)):
        if k == spec["pair"]:
            return _check(mdp, policy, th)
    raise ValueError(f"counterexamples: pair {spec['pair']} is not in run seed {spec['run_seed']}'s stream")


def run(ctx: RunContext) -> Evidence:
    err_ad, err_fd, labels = [], [], []
    for mdp, policy, th in _pairs(ctx.settings["instances"], ctx.seed, ctx.device):
        ad, fd = _check(mdp, policy, th)
        err_ad.append(ad)
        err_fd.append(fd)
        labels.append(f"{mdp.name}/{type(policy).__name__}")
    # the pairs earlier runs failed on (protocol rule 4), judged with the fresh ones
    rechecked = []
    for c in ctx.counterexamples:
        ad, fd = _replay(c["instance"], ctx.device)
        err_ad.append(ad)
        err_fd.append(fd)
        labels.append(f"counterexample {c['instance']}")
        rechecked.append({"instance": c["instance"], "holds": bool(ad < TOL_AUTOGRAD and fd < 1.0), "rel_err_autograd": ad,
                          "fd_error_ratio": fd})
    ea, ef = np.array(err_ad), np.array(err_fd)
    ok = bool(ea.max() < TOL_AUTOGRAD and ef.max() < 1.0)
    per_pair = ((ea < TOL_AUTOGRAD) & (ef < 1.0)).tolist()
    return Evidence(
        verdict="confirmed" if ok else "refuted",
        statistic=float(ef.max()),
        threshold=(f"max rel. error < {TOL_AUTOGRAD:g} (autograd) on every pair; vs central differences, "
                   f"‖g − D_h‖ < {TOL_FD:g}·‖g‖ + {FD_ROUNDOFF:g}·ε·(1 + |J|)·√n/h (h = {FD_STEP:g})"),
        n_samples=len(ea),
        summary=(f"{len(ea)} (MDP, policy) pairs; max rel. error {ea.max():.1e} vs autograd; FD discrepancy at most "
                 f"{ef.max():.2g} of what central differences resolve"),
        details={"max_rel_err_autograd": float(ea.max()), "max_fd_error_ratio": float(ef.max()),
                 "worst_fd_instance": labels[int(ef.argmax())]},
        instances=per_pair, sensitivity=[], measurements={"rel_err_autograd": ea, "fd_error_ratio": ef}, rechecked=rechecked,
    )


def _draw(m: dict, figure_dir: str) -> str:
    """The figure, from the stored measurements: histograms of the relative errors vs autograd and vs FD."""
    fig, (ax,) = new_figure(ID, "PG theorem vs autograd and central differences")
    bins = np.linspace(-17, -4, 40)
    ea = m["rel_err_autograd"]
    ax.hist(np.log10(np.maximum(ea, 1e-17)), bins=bins, alpha=0.7, label="relative error vs autograd through the solve")
    ax.axvline(np.log10(TOL_AUTOGRAD), color="C0", ls=":", lw=0.8, label="autograd threshold 1e-9")
    if "fd_error_ratio" in m:
        ax.hist(np.log10(np.maximum(m["fd_error_ratio"], 1e-17)), bins=np.linspace(-8, 1, 40), alpha=0.7,
                label="vs central differences: ‖g − D_h‖ / (1e-6‖g‖ + round-off)")
        ax.axvline(0.0, color="k", ls="--", lw=0.8, label="FD threshold (ratio 1)")
    else:  # records stored before the revision of 2026-12-01 (plain relative error against a fixed 1e-6)
        ax.hist(np.log10(np.maximum(m["rel_err_fd"], 1e-17)), bins=bins, alpha=0.7,
                label="relative error vs central differences (h = 1e-5)")
        ax.axvline(np.log10(TOL_FD), color="k", ls="--", lw=0.8, label="FD threshold 1e-6 (before 2026-12-01)")
    ax.set_xlabel("log10 error (dimensionless)")
    ax.set_ylabel("number of (MDP, policy) pairs")
    ax.legend(fontsize=7)
    return save_figure(fig, figure_dir, ID)


#: the pairs on which earlier full runs read the identity refuted (FD round-off before the revisions of 2026-12-01),
#: re-checked in every run (protocol rule 4)
COUNTEREXAMPLES = (
    {"instance": {"run_seed": 1013, "pair": 415}, "found": "full run seed 13 at commit 4b04126 (hard_chain(n=7), "
     "log-linear; FD relative error 1.2e-6, gradient norm 9.8e-7)"},
    {"instance": {"run_seed": 1014, "pair": 47}, "found": "full run seed 14 at commit ab897db (hard_chain(n=9), "
     "log-linear; first revision's FD ratio 5.0)"},
    {"instance": {"run_seed": 1014, "pair": 431}, "found": "full run seed 14 at commit ab897db (hard_chain(n=9), "
     "log-linear; first revision's FD ratio 1.7)"},
)

register_claim(Claim(
    id=ID, paper="The Definitive Guide to Policy Gradients in Deep Reinforcement Learning", seed_line=9, draw=_draw,
    figure_family="exact_pg",
    claim="a detailed proof of the continuous version of the Policy Gradient Theorem",
    theme="TR", exact="∇J by the PG theorem, by autograd through (I − γP_π)⁻¹ and by central differences",
    monte_carlo="none (exact identity)",
    test=f"relative error of PG theorem vs autograd < {TOL_AUTOGRAD:g} and vs FD < {TOL_FD:g} on every (MDP, policy) pair "
         "(Garnet, gridworld, cliff walk, hard chain × tabular softmax, log-linear)",
    scales={"quick": {"instances": 24}, "full": {"instances": 400}},
    run=run, source="Sutton et al. 2000 (PG theorem); seed abstract L9",
    kind="identity",
    reading="by-construction",
    reading_note=("Kind identity: \"the PG theorem checked numerically (fails only through a bug)\"; the quoted continuous proof \"is tested through its discrete (tabular, log-linear) case\"."),
    quote="a detailed proof of the continuous version of the Policy Gradient Theorem",
    quote_source="seed abstract (line 9), via shared/CLAIMS.md",
    extension=False, unbiasedness=False, constants={}, counterexamples=COUNTEREXAMPLES,
))
