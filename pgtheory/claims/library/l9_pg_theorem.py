"""L9 (Definitive Guide to PG): the policy-gradient theorem equals autograd of J(θ) = ρᵀ(I − γP_π)⁻¹r_π.

Protocol: kind=identity, extension=False — the PG theorem checked numerically (fails only through a bug); the quoted
"proof of the continuous version" is tested through its discrete (tabular, log-linear) case. Instances = (MDP, policy) pairs.

Revision 2026-12-01 (after the seed-13 confirmatory run, commit 4b04126): that run showed this identity *refuted*
because one of 800 pairs (hard_chain(n=7), log-linear policy) differed from central differences (h = 1e-5) by 1.2e-6
relative, over the 1e-6 threshold, while the PG theorem agreed with autograd to 1.4e-12 on every pair. Its gradient has
norm 9.8e-7, so the discrepancy was the differences' round-off (subtracting two nearly equal values of J), not the
theorem's. Two same-day revisions widened the FD comparison by a round-off allowance (the second after seed 14 still
failed on two hard chains); that was a tolerance changed after failures, and it was undone. The cause is removed
instead: the numerical reference is now the complex-step derivative Im J(θ + ih·e_i)/h (h = 1e-30; no subtraction,
hence no round-off from cancellation; J evaluated in complex128 by :func:`_complex_step_gradient`), judged by the
thresholds declared before any run (relative error < 1e-9 against autograd and < 1e-6 against the numerical
reference). On the pairs of seeds 13–16 it agrees to ≤ 2e-10, including the three that had failed. Those three (seed 13
pair 415, seed 14 pairs 47 and 431) are declared counterexamples, replayed from their runs' streams and judged in every
run (a referee of the seed-13 ledger: the passing seed-15 run had re-checked none). Seeds 14–16 have been seen; the
re-judgement is on seed 17.
"""
from __future__ import annotations

import numpy as np
import torch

from ...exact import policy_gradient, policy_gradient_autograd
from ...policies import LogLinearSoftmax, TabularSoftmax
from ...problems import cliff_walk, garnet, gridworld, hard_chain
from ..record import Claim, Evidence, RunContext
from ..registry import register_claim
from ..style import new_figure, save_figure

ID = "L9-pg-theorem-autograd"
TOL_AUTOGRAD, TOL_NUMERIC = 1e-9, 1e-6  #: relative-error thresholds against autograd and the numerical reference
COMPLEX_STEP = 1e-30  #: h of the complex-step derivative (no cancellation, so h can be tiny)


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


def _complex_step_gradient(mdp, policy, th: torch.Tensor) -> torch.Tensor:
    """∇_θ J by the complex step, ∂J/∂θ_i = Im J(θ + ih·e_i)/h, all n coordinates at once (``[n]`` complex copies of θ),
    with J = ρᵀ(I − γP_π)⁻¹r_π evaluated in complex128 (the exact layer is real-valued, so the evaluation is written out
    here; softmax logits: θ itself for tabular, φ·θ for log-linear). No difference of nearly equal values is taken, so
    the reference is accurate to round-off even where ∇J is tiny."""
    c, n = torch.complex128, th.numel()
    thc = (th.reshape(1, n).to(c) + torch.eye(n, dtype=c, device=th.device) * (1j * COMPLEX_STEP)).reshape(n, *policy.param_shape)
    logits = thc if isinstance(policy, TabularSoftmax) else torch.einsum("sad,nd->nsa", policy.features.to(c), thc)
    e = (logits - logits.real.amax(-1, keepdim=True)).exp()
    p = e / e.sum(-1, keepdim=True)  # [n, S, A]
    A = torch.eye(mdp.n_states, dtype=c, device=th.device) - mdp.discount * torch.einsum("nsa,sat->nst", p, mdp.transitions.to(c))
    v = torch.linalg.solve(A, (p * mdp.rewards.to(c)).sum(-1).unsqueeze(-1)).squeeze(-1)
    return ((mdp.initial.to(c) * v).sum(-1).imag / COMPLEX_STEP).reshape(th.shape)


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
    """Relative errors of the PG theorem against autograd and against the complex-step reference, for one pair."""
    g = policy_gradient(mdp, policy, th)
    return _rel(g, policy_gradient_autograd(mdp, policy, th)), _rel(g, _complex_step_gradient(mdp, policy, th))


def _replay(spec: dict, device: str) -> tuple[float, float]:
    """Re-check one declared counterexample: pair ``spec["pair"]`` of run seed ``spec["run_seed"]``'s stream."""
    for k, (mdp, policy, th) in enumerate(_pairs(spec["pair"] // 2 + 1, spec["run_seed"], device)):
        if k == spec["pair"]:
            return _check(mdp, policy, th)
    raise ValueError(f"counterexamples: pair {spec['pair']} is not in run seed {spec['run_seed']}'s stream")


def run(ctx: RunContext) -> Evidence:
    err_ad, err_cs, labels = [], [], []
    for mdp, policy, th in _pairs(ctx.settings["instances"], ctx.seed, ctx.device):
        ad, cs = _check(mdp, policy, th)
        err_ad.append(ad)
        err_cs.append(cs)
        labels.append(f"{mdp.name}/{type(policy).__name__}")
    # the pairs earlier runs failed on (protocol rule 4), judged with the fresh ones
    rechecked = []
    for c in ctx.counterexamples:
        ad, cs = _replay(c["instance"], ctx.device)
        err_ad.append(ad)
        err_cs.append(cs)
        labels.append(f"counterexample {c['instance']}")
        rechecked.append({"instance": c["instance"], "holds": bool(ad < TOL_AUTOGRAD and cs < TOL_NUMERIC),
                          "rel_err_autograd": ad, "rel_err_complex_step": cs})
    ea, ec = np.array(err_ad), np.array(err_cs)
    per_pair = ((ea < TOL_AUTOGRAD) & (ec < TOL_NUMERIC)).tolist()
    return Evidence(
        verdict="confirmed" if all(per_pair) else "refuted",
        statistic=float(ec.max()),
        threshold=f"max rel. error < {TOL_AUTOGRAD:g} (autograd) and < {TOL_NUMERIC:g} (complex step) on every pair",
        n_samples=len(ea),
        summary=(f"{len(ea)} (MDP, policy) pairs; max rel. error {ea.max():.1e} vs autograd, {ec.max():.1e} vs the "
                 "complex-step derivative"),
        details={"max_rel_err_autograd": float(ea.max()), "max_rel_err_complex_step": float(ec.max()),
                 "worst_complex_step_instance": labels[int(ec.argmax())]},
        instances=per_pair, sensitivity=[], measurements={"rel_err_autograd": ea, "rel_err_complex_step": ec},
        rechecked=rechecked,
    )


def _draw(m: dict, figure_dir: str) -> str:
    """The figure, from the stored measurements: histograms of the relative errors vs autograd and vs the numerical
    reference (complex step; central differences in records stored before 2026-12-01)."""
    fig, (ax,) = new_figure(ID, "PG theorem vs autograd and a numerical derivative")
    bins = np.linspace(-17, -4, 40)
    ea = m["rel_err_autograd"]
    ax.hist(np.log10(np.maximum(ea, 1e-17)), bins=bins, alpha=0.7, label="relative error vs autograd through the solve")
    ax.axvline(np.log10(TOL_AUTOGRAD), color="C0", ls=":", lw=0.8, label="autograd threshold 1e-9")
    if "rel_err_complex_step" in m:
        ax.hist(np.log10(np.maximum(m["rel_err_complex_step"], 1e-17)), bins=bins, alpha=0.7,
                label="relative error vs the complex-step derivative")
        ax.axvline(np.log10(TOL_NUMERIC), color="k", ls="--", lw=0.8, label="complex-step threshold 1e-6")
    else:  # records stored before the revision of 2026-12-01 (central differences, h = 1e-5)
        ax.hist(np.log10(np.maximum(m["rel_err_fd"], 1e-17)), bins=bins, alpha=0.7,
                label="relative error vs central differences (h = 1e-5)")
        ax.axvline(np.log10(TOL_NUMERIC), color="k", ls="--", lw=0.8, label="FD threshold 1e-6 (before 2026-12-01)")
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
     "log-linear; FD relative error 1.1e-5 under a withdrawn round-off allowance)"},
    {"instance": {"run_seed": 1014, "pair": 431}, "found": "full run seed 14 at commit ab897db (hard_chain(n=9), "
     "log-linear; FD relative error 2.3e-6 under a withdrawn round-off allowance)"},
)

register_claim(Claim(
    id=ID, paper="The Definitive Guide to Policy Gradients in Deep Reinforcement Learning", seed_line=9, draw=_draw,
    figure_family="exact_pg",
    claim="a detailed proof of the continuous version of the Policy Gradient Theorem",
    theme="TR", exact="∇J by the PG theorem, by autograd through (I − γP_π)⁻¹ and by the complex-step derivative",
    monte_carlo="none (exact identity)",
    test=f"relative error of PG theorem vs autograd < {TOL_AUTOGRAD:g} and vs the complex-step derivative < {TOL_NUMERIC:g} on every (MDP, policy) pair "
         "(Garnet, gridworld, cliff walk, hard chain × tabular softmax, log-linear)",
    scales={"quick": {"instances": 24}, "full": {"instances": 400}},
    run=run, source="Sutton et al. 2000 (PG theorem); seed abstract L9",
    kind="identity",
    verifies=(
        'None of the quoted sentence is verified; the check is of our code: the policy gradient theorem in its '
        'discrete case (tabular MDPs, softmax and log-linear policies), against autograd and complex-step '
        'derivatives. Not judged: "a detailed proof of the '
        'continuous version" (neither the continuous case nor the proof is checked).'),
    reading="by-construction",
    reading_note=("Kind identity: \"the PG theorem checked numerically (fails only through a bug)\"; the quoted continuous proof \"is tested through its discrete (tabular, log-linear) case\"."),
    quote="a detailed proof of the continuous version of the Policy Gradient Theorem",
    quote_source="seed abstract (line 9), via shared/CLAIMS.md",
    extension=False, unbiasedness=False, constants={}, counterexamples=COUNTEREXAMPLES,
))
