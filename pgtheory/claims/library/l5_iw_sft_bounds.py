r"""L5 (SFT on curated data is RL): "SFT can be understood as maximizing a lower bound on the RL objective in a
sparse reward setting"; the importance-weighted variant "optimizes a tighter bound to the RL objective".

With binary R, reference q, J_q = E_q R and curated law q⁺ = q·R/J_q: J(θ) = J_q·E_{q⁺}[π_θ/q], hence
log J(θ) − log J_q = log E_{q⁺}[w] ≥ E_{q⁺}[log w] (w = π_θ/q; Jensen), and the right side is the SFT objective
E_{q⁺}[log π_θ] up to a constant. Importance weighting over n curated samples gives the bounds
L_n = E[log (1/n)Σ_i w(y_i)] (the IWAE construction): L_1 is the SFT bound, L_n increases with n to log E_{q⁺}[w],
and the gradient of L_n is the self-normalised, importance-weighted SFT gradient Σ_i w̃_i ∇log π_θ(y_i). (The paper's
exact iw-SFT bound — its clipping and weight normalisation — could not be read through `search`; this is the
construction its abstract describes, CLAIMS.md row L5.)

Design (fixed before running), toy LLM (V = 3, L = 3, 2 prompts, three correct responses each, binary reward),
q = π at random θ_q:
(i) exact: SFT bound ≤ log J(θ) − log J_q at ``random`` random θ (per prompt).
(ii) Monte Carlo at θ = θ_q + 1.5Δ: L_n for n ∈ {1, 2, 4, …, 64} from ``replicates`` replicates (paired: L_n uses the
     first n of each replicate's 64 draws); L_1 equals the exact SFT bound (z test, α = 1e-6); each step L_{2n} − L_n > 0
     and L_64 ≤ log E_{q⁺}[w], one-sided z at α = 1e-6. A step significantly < 0, or L_64 significantly above the
     limit, refutes; a step not resolved either way makes the verdict inconclusive. (Disclosure: the first quick run
     used independent draws per n and mapped "not significant" to "refuted"; that maps absence of evidence to
     refutation, and was changed, together with the pairing, before any full run.)
(iii) reported: exact gradient ascent (200 steps, lr 0.5) on the SFT objective, on log E_{q⁺}[w] (iw-SFT with exact
     weights) and on J — final J of each.
Verdict: confirmed if (i) and (ii) hold.
Protocol: kind=identity, extension=False — both orderings are Jensen's inequality (SFT bound ≤ L_n ≤ log E w, L_n
monotone as in IWAE), checked numerically; they fail only through a bug. Instances: each random θ × prompt of (i),
plus the Monte Carlo test point of (ii). (The L_1 = SFT z test is a consistency check of the sampler, not an
unbiasedness claim.)
Multiplicity (2026-12-01, referee of the paper draft; before the confirmatory run at seed 8): the statistical decisions
feeding the verdict are k = 8 — the L_1 = SFT bias test, the 6 paired steps L_{2n} − L_n (each one z statistic read
in both directions: significantly < 0 refutes, not significantly > 0 leaves it unresolved) and the L_64 ≤ log E w
test. The fixed ALPHA = 1e-6 is already stricter than the claim's share split over them (ctx.alpha/8 ≈ 4.9e-5 at
α = 0.05/128), so it stays; the code uses min(ALPHA, ctx.alpha/8), which is ALPHA unless the ledger's α shrinks.
"""
from __future__ import annotations

import numpy as np
import torch
from scipy.stats import norm

from ...exact import sequence_objective
from ...policies import TabularSequencePolicy
from ...problems import toy_sequence_task
from ...stats import bias_test
from ..record import Claim, Evidence, RunContext
from ..registry import register_claim
from ..style import new_figure, save_figure

ID = "L5-iw-sft-bounds"
ALPHA = 1e-6  #: fixed test level; stricter than the claim's share ctx.alpha / N_DECISIONS (see the docstring)
NS = (1, 2, 4, 8, 16, 32, 64)
#: three correct responses per prompt: with a single correct response q⁺ is a point mass, w is constant on it and
#: every bound coincides with log J − log J_q (the first quick run used that degenerate task; all gaps were 0)
ANSWERS = [[(1, 0), (2, 0), (1, 2, 0)], [(2, 0), (2, 2, 0), (1, 1, 0)]]
N_DECISIONS = 1 + (len(NS) - 1) + 1  #: tests feeding the verdict: L_1 = SFT, each step L_2n − L_n, L_64 ≤ log E w


def _bounds(pol, th, th_q):
    """Per prompt: (SFT bound E_{q⁺} log w, log E_{q⁺} w = log J − log J_q)."""
    R = pol.task.rewards
    lp, lq = pol.sequence_log_probs(th), pol.sequence_log_probs(th_q)
    qplus = lq.exp() * R / (lq.exp() * R).sum(-1, keepdim=True)
    lw = lp - lq
    sft = (qplus * torch.where(R > 0, lw, torch.zeros_like(lw))).sum(-1)
    return sft, (qplus * lw.exp()).sum(-1).log()


def run(ctx: RunContext) -> Evidence:
    s = ctx.settings
    alpha_d = min(ALPHA, ctx.alpha / N_DECISIONS)  # = ALPHA (1e-6 < 3.9e-4 / 8)
    task = toy_sequence_task(3, 3, 2, answers=ANSWERS, seed=ctx.seed)
    pol = TabularSequencePolicy(task)
    g = torch.Generator().manual_seed(ctx.seed)
    th_q = pol.random_params(generator=g)
    failures = []
    # (i) exact ordering at random θ
    ths = pol.random_params(s["random"], generator=g, scale=2.0)
    sft, tight = _bounds(pol, ths, th_q)
    gap = tight - sft
    if float(gap.min()) < -1e-12:
        failures.append(f"SFT bound exceeds log J − log J_q (min gap {float(gap.min()):.2g})")
    # (ii) IWAE-style bounds L_n by Monte Carlo, prompt 0
    th = th_q + 1.5 * pol.random_params(generator=g)
    sft0, tight0 = (float(x[0]) for x in _bounds(pol, th, th_q))
    R = task.rewards[0]
    lq = pol.sequence_log_probs(th_q)[0]
    qplus = lq.exp() * R / (lq.exp() * R).sum()
    lw = pol.sequence_log_probs(th)[0] - lq
    m = s["replicates"]
    Ln, se = [], []
    # common random numbers: L_n uses the first n of the same 64 draws per replicate, so L_2n − L_n is paired
    y = torch.multinomial(qplus, m * NS[-1], replacement=True, generator=g).view(m, NS[-1])
    for n in NS:
        v = torch.logsumexp(lw[y[:, :n]], -1) - np.log(n)
        Ln.append(v)
        se.append(float(v.std() / m**0.5))
    if bias_test(Ln[0][:, None], torch.tensor([sft0], dtype=torch.float64)).pvalue <= alpha_d:
        failures.append("L_1 ≠ the exact SFT bound")
    z_crit = norm.isf(alpha_d)
    steps, unresolved = [], []
    for n, a, b in zip(NS, Ln, Ln[1:]):
        d = b - a
        z = float(d.mean() / (d.std() / m**0.5))
        steps.append({"n": n, "diff": float(d.mean()), "z": z})
        if z < -z_crit:
            failures.append(f"L_{2 * n} < L_{n} (z = {z:.2f})")
        elif z < z_crit:
            unresolved.append(f"L_{2 * n} − L_{n} = {float(d.mean()):.2g} not resolved (z = {z:.2f})")
    z_top = (tight0 - float(Ln[-1].mean())) / se[-1]
    if z_top < -z_crit:
        failures.append(f"L_64 exceeds log E w (z = {z_top:.2f})")
    # (iii) training curves (exact gradients)
    def ascend(obj):
        t = th_q.clone()
        js = []
        for _ in range(200):
            t = t.requires_grad_(True)
            (gr,) = torch.autograd.grad(obj(t), t)
            t = (t + 0.5 * gr).detach()
            js.append(float(sequence_objective(pol, t)))
        return js

    curves = {"SFT (E_{q⁺} log π)": ascend(lambda t: _bounds(pol, t, th_q)[0].sum()),
              "iw-SFT, exact weights (log E_{q⁺} w)": ascend(lambda t: _bounds(pol, t, th_q)[1].sum()),
              "RL (J)": ascend(lambda t: sequence_objective(pol, t))}
    verdict = "refuted" if failures else ("inconclusive" if unresolved else "confirmed")
    mc_point_holds = not unresolved and not any(f.startswith("L_") for f in failures)
    instances = (gap >= -1e-12).reshape(-1).tolist() + [mc_point_holds]
    finals = {k: v[-1] for k, v in curves.items()}
    return Evidence(
        verdict=verdict, statistic=float(len(failures)),
        threshold=f"SFT bound ≤ log J − log J_q everywhere; L_1 = SFT bound, L_n strictly increasing, L_64 ≤ log E w (α = {alpha_d:g} per test)",
        n_samples=m * sum(NS),
        summary=(f"SFT bound ≤ log J − log J_q at all {s['random']} random θ × 2 prompts (min gap {float(gap.min()):.2g}); at the test θ: "
                 f"SFT {sft0:.3f} = L_1 ≤ L_4 {float(Ln[2].mean()):.3f} ≤ L_64 {float(Ln[-1].mean()):.3f} ≤ log J − log J_q {tight0:.3f}. "
                 f"Training 200 exact steps from q: final J " + ", ".join(f"{v:.3f} ({k})" for k, v in finals.items())
                 + ("; unresolved: " + "; ".join(unresolved) if unresolved else "") if not failures else "; ".join(failures[:5])),
        details={"failures": failures, "unresolved": unresolved, "min_gap": float(gap.min()), "L_n": [float(v.mean()) for v in Ln], "se": se, "steps": steps,
                 "sft_bound": sft0, "log_ratio_target": tight0, "final_J": finals},
        instances=instances, sensitivity=[],
        measurements={"L_n": np.array([float(v.mean()) for v in Ln]), "se": np.array(se), "sft_bound": sft0,
                      "log_ratio_target": tight0, "curve_names": list(curves),
                      "curves": np.array(list(curves.values()))},
    )


def _draw(m: dict, figure_dir: str) -> str:
    """The figure, from the stored measurements: L_n against n between the exact bounds, and the training curves."""
    fig, (a1, a2) = new_figure(ID, "SFT ≤ importance-weighted bounds ≤ log J, and training", ncols=2, width=4.6)
    a1.errorbar(NS, m["L_n"], yerr=[1.96 * x for x in m["se"]], fmt="o-", ms=3,
                label="L_n = E log mean_n w (MC, 95% CI)")
    a1.axhline(m["sft_bound"], color="C1", ls="--", label="SFT bound E_{q⁺} log w (exact)")
    a1.axhline(m["log_ratio_target"], color="k", ls=":", label="log J − log J_q (exact)")
    a1.set_xscale("log", base=2)
    a1.set_xlabel("curated samples n in the importance-weighted bound")
    a1.set_ylabel("bound on log J(θ) − log J_q (nats)")
    a1.legend(fontsize=6)
    for name, js in zip(m["curve_names"], m["curves"]):
        a2.plot(np.arange(1, 201), js, label=name)
    a2.set_xlabel("gradient-ascent step (exact gradients, lr 0.5)")
    a2.set_ylabel("J(θ) (success probability, mean over prompts)")
    a2.legend(fontsize=6)
    return save_figure(fig, figure_dir, ID)


register_claim(Claim(
    id=ID, paper="Supervised Fine Tuning on Curated Data is Reinforcement Learning (and can be improved)", seed_line=5,
    draw=_draw, figure_family="off_policy",
    claim="SFT can be understood as maximizing a lower bound on the RL objective in a sparse reward setting; an importance weighted "
          "variant optimizes a tighter bound to the RL objective",
    theme="IW", exact="log J, the SFT (Jensen) bound and log E_{q⁺}[π/q] by enumeration; exact training curves",
    monte_carlo="importance-weighted bounds L_n = E log mean_n π/q over n curated samples",
    test="SFT ≤ log J − log J_q; L_1 = SFT, L_n increasing in n and ≤ log E w (α = 1e-6)",
    scales={"quick": {"random": 500, "replicates": 20_000}, "full": {"random": 20_000, "replicates": 400_000}},
    run=run, source="Jensen/IWAE construction from the abstract and CLAIMS.md row L5; the paper's exact iw-SFT loss not verified",
    kind="identity",
    verifies=(
        'Verified: SFT maximizes a lower bound on log J (binary reward, Jensen) and the importance-weighted '
        'bounds L_n are tighter, rising with n to log E w (exact and Monte Carlo). Not judged: "behaves '
        'closer to training with RL" and the paper\'s own iw-SFT bound (not read).'),
    reading="by-construction",
    reading_note=("Kind identity: \"both orderings are Jensen's inequality ... they fail only through a bug\"; the paper's exact iw-SFT bound \"could not be read\"."),
    quote="SFT can be understood as maximizing a lower bound on the RL objective in a sparse reward setting; an importance weighted "
          "variant that behaves closer to training with RL as it: i) optimizes a tighter bound to the RL objective",
    quote_source="seed abstract (line 5), via shared/CLAIMS.md",
    extension=False, unbiasedness=False, constants={},
))
