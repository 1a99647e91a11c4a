r"""L223 (polychromic objectives): training on a set-level "reward × diversity" objective keeps a diverse repertoire and
gives "substantially higher coverage" in pass@k than standard policy-gradient fine-tuning.

Design (exact, no Monte Carlo). One prompt, K = RESPONSES enumerable answers, C ∈ [2, 5] of them correct (reward 1),
a pretrained softmax policy π₀ = softmax(θ₀), θ₀ ~ N(0, 1). From the same θ₀, exact gradient ascent (step ETA on the
logits) on (i) the standard objective J = E_π r (pass@1; ∇J = π(r − J)), and (ii) the polychromic objective
J_poly = E_{y_1..n}[mean r · distinct/n] (:mod:`pgtheory.exact.set_objectives`, set size SET_SIZE), each stopped exactly
at the matched pass@1 = P_STAR (the last step is shortened by bisection so that pass@1 = P_STAR to 1e-10).
Measured at the matched pass@1: the entropy of π over the correct answers (normalised by log C) and "coverage" =
pass@k under a held-out perturbation that keeps each correct answer correct w.p. KEEP (exact over the 2^C masks).
At matched pass@1 the unperturbed pass@k of one prompt is 1 − (1 − P_STAR)^k for both policies, so coverage can only
differ through how the correct mass is spread: this is the mechanism the sentence attributes the gain to.
Rule (fixed after one pilot on development seed 0, before any full run; the interval revised 2026-12-01, below): an
instance holds when poly's coverage exceeds standard PG's. Confirmed if ≥ HOLD of the instances hold and the lower
bound of the mean coverage gain is ≥ SUBSTANTIAL; refuted if < half hold or the upper bound of the mean gain is < 0;
qualified otherwise. The bounds are two-sided Student-t intervals at level 1 − α/D, α = ``ctx.alpha`` (the claim's
share of the ledger's α) and D = the number of distinct intervals the claim computes (the main one and one per
non-primary value of the four instance sweeps; the SUBSTANTIAL sweep reuses the main interval).
What the rule measures: at matched pass@1 the unperturbed pass@k is the same for both methods, so the gain exists only
through the perturbation, and perturbed pass@k decreases with Σ_{correct} π² (exactly so for k = 2): the rule is "the
polychromic policy has the lower collision probability over correct answers at matched pass@1" — the mechanism the
sentence names, not the paper's benchmark coverage.
Control (a check of the matching, not a twin of an estimator): C = 1 (a single correct answer, nothing to diversify),
matched at CONTROL_P_STAR (J_poly plateaus near pass@1 ≈ 0.69 there, trading correctness for diversity): both
coverages must be equal to round-off, so the rule cannot hold there; a nonzero gain is a code check failure.
Sweeps: P_STAR, k, KEEP, SET_SIZE over plausible ranges (the rule's verdict at each; at the primary value the main
instances themselves), and SUBSTANTIAL over its declared range (the main instances judged at each threshold).
Seeds: the main instances use ``ctx.seed``; every sweep and the control use their own stream
``SWEEP_STREAM + 1000·ctx.seed + j``, which no run seed's main instances (or other sweeps) share.

Revision 2026-12-01 (referee's audit, before any confirmatory run on the new rule; quick seeds only): (i) the interval
was a 95% normal interval (z = 1.96) that ignored ``ctx.alpha``; the protocol splits the claim's α over its decisions,
so it is now the Student-t interval at 1 − α/D above (at quick, α/D is about 4e-5). (ii) SUBSTANTIAL = 0.03 was
declared without a reason and never swept, and with gains near 0.04 it decided the verdict: it now has a stated reason
and a declared plausible range {0.01, 0.03, 0.05} that is swept. (iii) the sweeps took ``ctx.seed + 1`` (the control
``ctx.seed + 7``), i.e. the next run seeds' main instances, so verdicts of ``check --seeds`` were correlated; they now
use the separate stream above. (iv) at a sweep's primary value the sweep re-ran the primary constants on other
instances (a verdict change there would be sampling noise read as sensitivity); it now uses the main instances.
Observed on quick seed 0 after the revision: main gain +0.090, interval [0.042, 0.137] → confirmed; every non-primary
instance-sweep point qualified (10 instances: the t quantile at 1 − α/9 with 9 degrees of freedom is 7.3, so a quick
sweep point cannot confirm — a quick-scale power limit; at full, 100 instances, it is 4.3) and SUBSTANTIAL = 0.05
qualified → shown qualified (before the revision also qualified, from the 95% bounds at P_STAR 0.7, k 2, n 2).
Protocol: kind=empirical, extension=False — the sentence (higher pass@k coverage of the polychromic policy) is tested
through the mechanism it names (see "What the rule measures"), in a toy. Simplified relative to the paper: exact gradients (no PPO, no vine sampling, no modified
advantage estimate), one prompt, exact-string distinctness, perturbation model ours (the paper's "configurations").
Not verified in the paper body: the exact form of f (we use mean reward × fraction distinct, from public summaries),
the set size n, and how coverage was defined (we use pass@k over perturbed answer sets).

Revision 2026-12-01 (protocol rule of that date, after a referee of the seed-9 ledger): sweep points ran on a quarter as
many instances as the main verdict (100 vs 400 at full), so a point's verdict was not comparable with the main one;
they now run on as many (``sweep_instances`` = ``instances``). The rule is unchanged.
"""
from __future__ import annotations

import numpy as np
import torch

from ...exact.set_objectives import correct_entropy, perturbed_pass_at_k, polychromic_objective, set_table
from ..record import Claim, Evidence, RunContext, sweep_point
from ..registry import register_claim
from ..style import new_figure, save_figure

ID = "L223-polychromic-coverage"
RESPONSES = 8  #: enumerable answers per prompt
SET_SIZE, SET_SWEEP = 4, (2, 3, 4)  #: polychromic set size n
P_STAR, P_SWEEP = 0.8, (0.7, 0.8, 0.85)  #: matched pass@1 (reachable by J_poly for C ≥ 2 at n = 4: plateau ≈ 0.89)
K_MAIN, K_SWEEP = 4, (2, 4, 8)  #: attempts in pass@k
KEEP, KEEP_SWEEP = 0.5, (0.3, 0.5, 0.7)  #: probability a correct answer stays correct under the perturbation
ETA = 1.0  #: step size on the logits (exact gradients, rewards in [0, 1])
MAX_STEPS = 3000  #: an objective that has not reached P_STAR by then counts as unmatched (instance fails)
CONTROL_P_STAR = 0.6  #: below J_poly's pass@1 plateau (≈ 0.69) with a single correct answer at n = 4
CONTROL_TOL = 1e-8  #: coverage equality at matched pass@1 with C = 1 (bisection matches pass@1 to ~1e-16)
HOLD = 0.9  #: fraction of instances where poly's coverage must exceed PG's
#: "substantially higher": mean gain in pass@k of at least 3 percentage points. Reason: pass@k tables (0–100%) read a
#: difference of one point as noise and one of several points as a real gain; 3 points is the middle of the range
#: {1, 3, 5} points where "substantially" could be placed, which is declared and swept (SUBSTANTIAL_SWEEP).
SUBSTANTIAL, SUBSTANTIAL_SWEEP = 0.03, (0.01, 0.03, 0.05)
SWEEP_STREAM = 1 << 40  #: generator seeds of sweeps and control: SWEEP_STREAM + 1000·ctx.seed + j (j < 1000)


def _pass1(theta: torch.Tensor, rewards: torch.Tensor) -> float:
    return float((torch.softmax(theta, -1) * rewards).sum())


def train_to_pass1(theta0: torch.Tensor, rewards: torch.Tensor, objective, target: float, eta: float = ETA,
                   max_steps: int = MAX_STEPS) -> tuple[torch.Tensor, int, bool]:
    """Exact gradient ascent θ ← θ + η∇objective(θ) until pass@1 = ``target`` (last step bisected); (θ, steps, matched)."""
    theta = theta0.clone()
    if _pass1(theta, rewards) >= target:
        raise ValueError(f"target: the start already has pass@1 {_pass1(theta, rewards):.3f} >= {target}")
    for step in range(max_steps):
        t = theta.detach().requires_grad_(True)
        (grad,) = torch.autograd.grad(objective(t), t)
        nxt = theta + eta * grad
        if _pass1(nxt, rewards) >= target:
            lo, hi = 0.0, 1.0
            for _ in range(60):
                mid = 0.5 * (lo + hi)
                lo, hi = (mid, hi) if _pass1(theta + mid * eta * grad, rewards) < target else (lo, mid)
            return theta + hi * eta * grad, step + 1, True
        theta = nxt
    return theta, max_steps, False


def instance(gen: torch.Generator, correct: int, n: int, target: float, k: int, keep: float) -> dict[str, float]:
    """One random instance with ``correct`` correct answers: coverage and correct-answer entropy of both methods."""
    rewards = torch.zeros(RESPONSES, dtype=torch.float64)
    rewards[torch.randperm(RESPONSES, generator=gen)[:correct]] = 1.0
    theta0 = torch.randn(RESPONSES, generator=gen, dtype=torch.float64)
    while _pass1(theta0, rewards) >= target:  # the pretrained policy must leave room to improve
        theta0 = torch.randn(RESPONSES, generator=gen, dtype=torch.float64)
    sets, scores = set_table(rewards, n)
    out = {"c": correct, "pass1_0": _pass1(theta0, rewards), "entropy_0": correct_entropy(torch.softmax(theta0, -1), rewards)}
    for name, obj in (("pg", lambda t: (torch.softmax(t, -1) * rewards).sum()),
                      ("poly", lambda t: polychromic_objective(t, sets, scores))):
        theta, steps, ok = train_to_pass1(theta0, rewards, obj, target)
        pi = torch.softmax(theta, -1)
        out.update({f"{name}_matched": float(ok), f"{name}_steps": steps, f"{name}_pass1": _pass1(theta, rewards),
                    f"{name}_entropy": correct_entropy(pi, rewards), f"{name}_coverage": perturbed_pass_at_k(pi, rewards, k, keep)})
    return out


def _measure(seed: int, count: int, n: int, target: float, k: int, keep: float, single: bool = False) -> dict[str, np.ndarray]:
    gen = torch.Generator().manual_seed(seed)
    rows = [instance(gen, 1 if single else int(torch.randint(2, 6, (1,), generator=gen)), n, target, k, keep)
            for _ in range(count)]
    return {key: np.array([r[key] for r in rows], dtype=float) for key in rows[0]}


def gain_interval(gain: np.ndarray, level: float) -> tuple[float, float]:
    """Two-sided Student-t interval of the mean gain at confidence ``level`` (n − 1 degrees of freedom)."""
    from scipy.stats import t

    if not 0 < level < 1:
        raise ValueError(f"level: must lie in (0, 1), got {level}")
    if len(gain) < 2:
        raise ValueError(f"gain: needs at least 2 instances, got {len(gain)}")
    half = float(t.ppf(0.5 + level / 2, len(gain) - 1)) * gain.std(ddof=1) / np.sqrt(len(gain))
    return float(gain.mean() - half), float(gain.mean() + half)


def n_intervals() -> int:
    """D: the main interval plus one per non-primary value of the four instance sweeps."""
    primary = {"P_STAR": P_STAR, "k": K_MAIN, "keep": KEEP, "set_size": SET_SIZE}
    sweeps = {"P_STAR": P_SWEEP, "k": K_SWEEP, "keep": KEEP_SWEEP, "set_size": SET_SWEEP}
    return 1 + sum(sum(v != primary[name] for v in values) for name, values in sweeps.items())


def _decide(m: dict[str, np.ndarray], level: float,
            substantial: float = SUBSTANTIAL) -> tuple[str, np.ndarray, float, float]:
    gain = m["poly_coverage"] - m["pg_coverage"]
    holds = (gain > 0) & (m["poly_matched"] > 0) & (m["pg_matched"] > 0)
    lo, hi = gain_interval(gain, level)
    if holds.mean() >= HOLD and lo >= substantial:
        return "confirmed", holds, lo, hi
    if holds.mean() < 0.5 or hi < 0:
        return "refuted", holds, lo, hi
    return "qualified", holds, lo, hi


def run(ctx: RunContext) -> Evidence:
    count, sweep_count = ctx.settings["instances"], ctx.settings["sweep_instances"]
    level = 1 - ctx.alpha / n_intervals()
    m = _measure(ctx.seed, count, SET_SIZE, P_STAR, K_MAIN, KEEP)
    verdict, holds, lo, hi = _decide(m, level)
    stream = SWEEP_STREAM + 1000 * ctx.seed
    ctrl = _measure(stream + 999, ctx.settings["control_instances"], SET_SIZE, CONTROL_P_STAR, K_MAIN, KEEP, single=True)
    ctrl_gain = ctrl["poly_coverage"] - ctrl["pg_coverage"]
    checks = [f"control C=1: coverage gain {g:.2e} at matched pass@1 (expected 0)" for g in ctrl_gain if abs(g) > CONTROL_TOL]
    checks += ["control C=1: an objective did not reach the control pass@1"] if (ctrl["poly_matched"] * ctrl["pg_matched"]).min() == 0 else []
    sens = []
    primary = {"n": SET_SIZE, "target": P_STAR, "k": K_MAIN, "keep": KEEP}
    j = 0
    for name, values in (("P_STAR", P_SWEEP), ("k", K_SWEEP), ("keep", KEEP_SWEEP), ("set_size", SET_SWEEP)):
        for v in values:
            key = {"P_STAR": "target", "k": "k", "keep": "keep", "set_size": "n"}[name]
            if v == primary[key]:
                ms = m
            else:
                ms = _measure(stream + j, sweep_count, **dict(primary, **{key: v}))
                j += 1
            vs, hs, los, _ = _decide(ms, level)
            sens.append(sweep_point(name, v, vs, holding=float(hs.mean()), mean_gain=float((ms["poly_coverage"] - ms["pg_coverage"]).mean()),
                                    gain_low=float(los), instances=len(hs), main_instances=ms is m,
                                    poly_unmatched=int((ms["poly_matched"] == 0).sum())))
    for v in SUBSTANTIAL_SWEEP:
        vs, hs, los, _ = _decide(m, level, substantial=v)
        sens.append(sweep_point("SUBSTANTIAL", v, vs, holding=float(hs.mean()), mean_gain=float((m["poly_coverage"] - m["pg_coverage"]).mean()),
                                gain_low=float(los), instances=len(hs), main_instances=True))
    gain = m["poly_coverage"] - m["pg_coverage"]
    return Evidence(
        verdict=verdict, statistic=float(gain.mean()),
        threshold=f"poly coverage > PG coverage on ≥ {HOLD:.0%} of instances and lower bound (Student-t, level "
                  f"1 − α/{n_intervals()} = {level:.6f}) of the mean gain ≥ {SUBSTANTIAL} (pass@{K_MAIN} under perturbation keep={KEEP}, matched pass@1 = {P_STAR})",
        n_samples=count,
        summary=f"{count} instances (K={RESPONSES}, C∈[2,5], n={SET_SIZE}), matched pass@1 {P_STAR}: coverage (perturbed "
                f"pass@{K_MAIN}) poly {m['poly_coverage'].mean():.3f} vs PG {m['pg_coverage'].mean():.3f} (gain "
                f"{gain.mean():+.3f}, CI at 1 − α/{n_intervals()} [{lo:.3f}, {hi:.3f}]), higher on {holds.mean():.0%}; correct-answer entropy "
                f"poly {m['poly_entropy'].mean():.2f} vs PG {m['pg_entropy'].mean():.2f} (start {m['entropy_0'].mean():.2f}); "
                f"control C=1 at pass@1 {CONTROL_P_STAR}: max |gain| {np.abs(ctrl_gain).max():.1e}; poly unmatched {int((m['poly_matched'] == 0).sum())}",
        details={"holding": float(holds.mean()), "gain_ci": [float(lo), float(hi)], "ci_level": level,
                 "intervals_D": n_intervals(),
                 "mean_entropy": {"start": float(m["entropy_0"].mean()), "pg": float(m["pg_entropy"].mean()),
                                  "poly": float(m["poly_entropy"].mean())},
                 "mean_steps": {"pg": float(m["pg_steps"].mean()), "poly": float(m["poly_steps"].mean())},
                 "control_single_correct_max_abs_gain": float(np.abs(ctrl_gain).max())},
        instances=list(holds), sensitivity=sens, code_checks=checks,
        measurements={k: v for k, v in m.items()} | {"control_gain": ctrl_gain},
    )


def _draw(m: dict, figure_dir: str) -> str:
    """Coverage and correct-answer entropy of both methods per instance, at matched pass@1."""
    fig, (ax, ax2) = new_figure(ID, f"polychromic vs standard PG at matched pass@1 = {P_STAR}", ncols=2, width=4.6, height=3.8)
    lim = [0, 1]
    ax.plot(m["pg_coverage"], m["poly_coverage"], ".", ms=4)
    ax.plot(lim, lim, "k--", lw=0.7)
    ax.set_xlabel(f"standard PG: perturbed pass@{K_MAIN} (prob.)")
    ax.set_ylabel(f"polychromic: perturbed pass@{K_MAIN} (prob.)")
    ax2.plot(m["pg_entropy"], m["poly_entropy"], ".", ms=4)
    ax2.plot(lim, lim, "k--", lw=0.7)
    ax2.set_xlabel("standard PG: H(correct answers) / log C")
    ax2.set_ylabel("polychromic: H(correct answers) / log C")
    return save_figure(fig, figure_dir, ID)


register_claim(Claim(
    id=ID, paper="Polychromic Objectives for Reinforcement Learning", seed_line=223, draw=_draw,
    figure_family="llm_estimators",
    claim="training on the polychromic (set-level reward × diversity) objective yields substantially higher pass@k "
          "coverage than standard policy gradient, by keeping a diverse repertoire of correct answers",
    theme="GR", exact="J_poly and its gradient by enumeration of all K^n sets; pass@1, perturbed pass@k, entropy",
    monte_carlo="none (random instances only)",
    test=f"at matched pass@1 {P_STAR}: poly's perturbed pass@{K_MAIN} > PG's on ≥ {HOLD:.0%} of instances and mean "
         f"gain's lower bound (Student-t at 1 − α/D, D = {n_intervals()}) ≥ {SUBSTANTIAL}",
    scales={"quick": {"instances": 40, "sweep_instances": 40, "control_instances": 3},
            "full": {"instances": 400, "sweep_instances": 400, "control_instances": 40}},
    run=run, source="Hamid et al. 2025 (arXiv:2509.25424), abstract; f = mean reward × diversity from public summaries "
                    "(papernotes.org, the authors' Set-RL visualisation page); paper body not read",
    kind="empirical",
    reading="stand-in",
    reading_note=("the sentence reports the paper's pass@k experiments (LLMs); our toy with its own perturbation model "
                  "and coverage (pass@k over perturbed answer sets) stands in for them, and the paper body was not read"),
    quote="Moreover, when given multiple attempts in pass@k experiments, the policy achieves substantially higher "
          "coverage, demonstrating its ability to maintain and exploit a diverse repertoire of strategies.",
    quote_source="seed abstract (line 224, title line 223)",
    extension=True, unbiasedness=False,
    constants={"P_STAR": list(P_SWEEP), "k": list(K_SWEEP), "keep": list(KEEP_SWEEP), "set_size": list(SET_SWEEP),
               "SUBSTANTIAL": list(SUBSTANTIAL_SWEEP)},
))
