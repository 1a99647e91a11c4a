r"""L125 (RLEV): "RLEV policies ... learn a value-sensitive termination policy: concise for low-value prompts, thorough for
high-value ones. We demonstrate this behavior stems from value-weighted gradient amplification on end-of-sequence tokens."

Definitions. Utility U(x, y) = v(x)·1_correct(y) with v(x) the normalised exam score of the question (read in the
themoonlight.io review of arXiv 2510.20187 via the `pages` search; the paper body itself was not readable here). The
training reward is a value-scaled correctness s(v)·1_correct; the paper's exact surrogate map s(v) (we recall a clipped
1 + min(α v, 1), range [1, 2]) and its EOS-gradient derivation were **not verified**: both value ranges are swept.

Mechanism tested (our reading, an extension). In a toy where thinking longer raises the chance of being correct but each
token costs c (reward s·p(k) − c·|y|), the exact gradient on each EOS logit is affine in s: ∂J/∂θ_EOS = s·g_corr − c·g_len,
so s amplifies the correctness part of the EOS gradient (with c = 0 it is exactly s times the v-free gradient — checked,
a code check). We measure whether the optimum's and the trained policies' expected length E|y| grow with s.

Design (fixed before running). V = 2 (EOS = 0, token 1 = "think"), L = 6: responses "k think tokens then EOS"
(k = 0..5) or 6 think tokens truncated (no answer, never correct). Instance: a correctness curve p(k) = 1 − (1 − p₀)e^{−κk}
with p₀ ~ U(0.05, 0.5), κ ~ U(0.2, 1); one prompt per value of the grid (same curve, only s differs). Per prompt:
(i) the exact optimum (best deterministic response, ties to the shorter) and its length; (ii) the policy after T_STEPS of
exact gradient ascent (step ETA) from uniform logits, and (iii) after the same number of exact expected GRPO updates
(G = GROUP_SIZE, Bessel-std advantages, enumerating all 7^G groups) — their E|y|.
Rule: an instance holds when E|y| after exact-gradient training increases with s (each step of the grid ≥ −TOL and the
last minus the first > TOL) and the optimum's length is non-decreasing in s. Verdict confirmed if all instances hold,
refuted otherwise (→ qualified: extension). Sensitivity: the rule at each cost c ∈ COSTS, each value range, and with the
GRPO-trained policy in place of the exact gradient (at c = 0 GRPO's per-group std normalisation cancels s exactly).
Protocol: kind=empirical, extension=True (the cost mechanism and toy curve are ours; the paper's derivation was not read).
Revisions (2026-12-01, on quick seeds, before any full run): COSTS (0, 0.01, 0.03) → (0, 0.05, 0.15) and primary
0.01 → 0.05, because at c ≤ 0.03 the optimum was the longest answer for every s (the optimum part of the rule was
vacuous); TOL 1e-9 → 1e-3 tokens, because GRPO's ε = 1e-6 in the std left a 1e-6-token spread at c = 0 that the old
tolerance counted as value sensitivity.
Revision (2026-12-01, referee's audit, before any confirmatory run on the new rule): the Evidence now reports
quote_verdict="inconclusive" — the toy cannot decide a sentence about trained LLMs whose EOS derivation we did not read,
and without it an exact identity (GRPO's per-group std cancels s, so its c = 0 sweep point always "refutes") made the shown
verdict "qualified" (partial support) whatever the evidence. Reported beside the rule (not in it), because s multiplies
the reward and hence the effective step: the *matched-step* effect, E|y| after the same T_STEPS exact-gradient steps with
the step normalised by the value weight (η/s per prompt, equal effective step) — at c = 0 it is exactly zero (the
trajectory does not depend on s), so what remains at c > 0 is value sensitivity beyond training speed. The optimum part of
the rule cannot fail (argmax_k s·p(k) − c·k is non-decreasing in s for increasing p: monotone comparative statics); it is
labelled an identity and kept only as a check. The figure is now drawn from stored measurements (``draw=_draw``).
Simplified: single prompt per value (no cross-prompt batch normalisation), no clipping/KL, expected (not sampled) updates.
"""
from __future__ import annotations

import numpy as np
import torch

from ...estimators import group_advantages
from ...exact import enumerate_groups, sequence_policy_gradient, sequence_probs
from ...exact.token_advantages import token_scores
from ...policies import TabularSequencePolicy
from ...problems import SequenceTask
from ..record import Claim, Evidence, RunContext, sweep_point
from ..registry import register_claim
from ..style import new_figure, save_figure

ID = "L125-rlev-value-sensitive-length"
L = 6
VALUE_GRIDS = {"s in [1, 2]": (1.0, 1.25, 1.5, 1.75, 2.0), "s = v in [0.1, 1]": (0.1, 0.3, 0.5, 0.7, 1.0)}  #: both maps swept
MAIN_GRID = "s in [1, 2]"  #: the (unverified) clipped surrogate range is the primary
COSTS = (0.0, 0.05, 0.15)  #: per-token cost c in reward units (rewards are of order 1); 0.05 is primary
MAIN_COST = 0.05
ETA, T_STEPS = 2.0, 60  #: exact-gradient step and horizon (a short budget: the policy has not converged)
GROUP_SIZE = 4  #: GRPO group size for the expected GRPO update
TOL = 1e-3  #: tokens: a change of E|y| below a thousandth of a token is no value sensitivity (GRPO's ε = 1e-6 leaves ~1e-6)
EOS_ID_TOL = 1e-12  #: code check: EOS gradient at c = 0 equals s × the v-free gradient


def correctness_curve(p0: float, kappa: float) -> np.ndarray:
    """p(k) = 1 − (1 − p₀) e^{−κk} for k = 0..L−1 think tokens before EOS; 0 for the truncated response."""
    k = np.arange(L)
    return np.append(1 - (1 - p0) * np.exp(-kappa * k), 0.0)


def chain_task(values, p: np.ndarray, cost: float) -> SequenceTask:
    """One prompt per value s: reward s·p(k) − cost·|y| on the N = L + 1 responses (V = 2, EOS = 0)."""
    base = SequenceTask(2, L, 1, lambda q, y: 0.0)
    k = torch.tensor([sum(1 for t in base.sequence(n) if t != 0) if base.finished[n] else L for n in range(base.n_sequences)])
    pk = torch.tensor([p[int(kk)] if bool(base.finished[n]) else 0.0 for n, kk in enumerate(k)], dtype=torch.float64)
    R = torch.stack([s * pk - cost * base.lengths.to(torch.float64) for s in values])
    return SequenceTask(2, L, len(values), R, name=f"think_chain(L={L},M={len(values)})")


def expected_length(task: SequenceTask, probs: torch.Tensor) -> torch.Tensor:
    """E|y| per prompt, ``[M]``."""
    return probs @ task.lengths.to(probs.dtype)


def optimum_length(task: SequenceTask) -> list[int]:
    """Length of the best deterministic response of each prompt (ties to the shorter)."""
    out = []
    for q in range(task.n_prompts):
        r = task.rewards[q]
        best = r.max()
        out.append(int(task.lengths[(r >= best - 1e-12)].min()))
    return out


def grpo_credit_tables(task: SequenceTask, G: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Per prompt: (every ordered group ``idx [N^G, G]``, credit table ``C [N^G, N]`` = Σ_i 1[y_i = n] A_i / G).

    GRPO advantages depend on the group's rewards only, so C is fixed; E ĝ = Σ_n (pg(θ) @ C)[n] ∇log π(y_n)."""
    N = task.n_sequences
    idx, _ = enumerate_groups(torch.full((N,), 1.0 / N, dtype=torch.float64), G)
    out = []
    for q in range(task.n_prompts):
        A = group_advantages(task.rewards[q][idx], "grpo")
        C = torch.zeros(len(idx), N, dtype=torch.float64).scatter_add_(1, idx, A / G)
        out.append((idx, C))
    return out


def grpo_expected_update(pol, theta, tables):
    """E ĝ of GRPO (Bessel-std advantages, ĝ = (1/G) Σ_i A_i ∇log π(y_i)) per prompt, ``[M, P, V]`` (exact)."""
    task = pol.task
    probs = sequence_probs(pol, theta)
    out = torch.zeros_like(theta)
    for q, (idx, C) in enumerate(tables):
        W = probs[q][idx].prod(-1) @ C
        out[q] = (W @ token_scores(pol, theta, q).sum(1)).reshape(task.n_prefixes, task.vocab_size)
    return out


def train(pol, update: str, steps: int = T_STEPS, eta: float | torch.Tensor = ETA) -> torch.Tensor:
    """θ after ``steps`` exact updates from uniform logits: ``"pg"`` (∇J per prompt) or ``"grpo"`` (E ĝ_GRPO).

    ``eta``: one step size, or a tensor ``[M, 1, 1]`` of per-prompt step sizes (prompts are updated independently)."""
    if update not in ("pg", "grpo"):
        raise ValueError(f"update: expected 'pg' or 'grpo', got {update!r}")
    task = pol.task
    tables = grpo_credit_tables(task, GROUP_SIZE) if update == "grpo" else None
    th = torch.zeros(pol.param_shape, dtype=torch.float64)
    for _ in range(steps):
        g = sequence_policy_gradient(pol, th) * task.n_prompts if update == "pg" else grpo_expected_update(pol, th, tables)
        th = th + eta * g
    return th


def eos_gradient_scaling_error(values, p) -> float:
    """max |∂J_q/∂θ_EOS − s_q ∂J_1/∂θ_EOS| at c = 0 over prompts and prefixes (exact, at random logits)."""
    task = chain_task(values, p, 0.0)
    unit = chain_task((1.0,), p, 0.0)
    g = torch.Generator().manual_seed(0)
    th = torch.randn(1, task.n_prefixes, 2, generator=g, dtype=torch.float64)
    gq = sequence_policy_gradient(TabularSequencePolicy(task), th.expand(task.n_prompts, -1, -1).clone()) * task.n_prompts
    g1 = sequence_policy_gradient(TabularSequencePolicy(unit), th)
    s = torch.tensor(values, dtype=torch.float64)
    return float((gq[..., 0] - s[:, None] * g1[0, :, 0]).abs().max())


def eos_value_slope_negative(values, p, cost) -> float:
    """Fraction of prefixes where d(∂J/∂θ_EOS)/ds < 0 at uniform logits: a higher value pushes EOS down (longer)."""
    task = chain_task(values, p, cost)
    pol = TabularSequencePolicy(task)
    g = sequence_policy_gradient(pol, torch.zeros(pol.param_shape, dtype=torch.float64))[..., 0]  # [M, P]
    slope = g[-1] - g[0]
    return float((slope < 0).to(torch.float64).mean())


def _increasing(x) -> bool:
    d = np.diff(np.asarray(x))
    return bool((d >= -TOL).all() and x[-1] - x[0] > TOL)


def measure_instance(values, p, cost) -> dict:
    task = chain_task(values, p, cost)
    pol = TabularSequencePolicy(task)
    out = {"optimum_length": optimum_length(task)}
    for upd in ("pg", "grpo"):
        out[f"{upd}_length"] = expected_length(task, sequence_probs(pol, train(pol, upd))).tolist()
    matched = ETA / torch.tensor(values, dtype=torch.float64)[:, None, None]  # step normalised by the value weight
    out["pg_matched_length"] = expected_length(task, sequence_probs(pol, train(pol, "pg", eta=matched))).tolist()
    out["eos_slope_negative"] = eos_value_slope_negative(values, p, cost)
    return out


def _holds(m, upd="pg") -> bool:
    return _increasing(m[f"{upd}_length"]) and bool((np.diff(m["optimum_length"]) >= 0).all())


def run(ctx: RunContext) -> Evidence:
    s = ctx.settings
    rng = np.random.default_rng(ctx.seed)
    curves = [correctness_curve(rng.uniform(0.05, 0.5), rng.uniform(0.2, 1.0)) for _ in range(s["instances"])]
    rows = {}
    for grid in VALUE_GRIDS:
        for c in COSTS:
            if grid != MAIN_GRID and c != MAIN_COST:
                continue
            for i, p in enumerate(curves):
                rows[(grid, c, i)] = measure_instance(VALUE_GRIDS[grid], p, c)
    main = [rows[(MAIN_GRID, MAIN_COST, i)] for i in range(len(curves))]
    holds = [_holds(m) for m in main]
    verdict = "confirmed" if all(holds) else "refuted"
    id_err = max(eos_gradient_scaling_error(VALUE_GRIDS[g], p) for g in VALUE_GRIDS for p in curves)
    code_checks = [] if id_err <= EOS_ID_TOL else [f"EOS gradient at c = 0 is not s × the unit gradient (error {id_err:.2g})"]

    def rule(rs, upd="pg"):
        return "confirmed" if all(_holds(m, upd) for m in rs) else "refuted"

    sens = [sweep_point("cost", c, rule([rows[(MAIN_GRID, c, i)] for i in range(len(curves))]), instances=len(curves))
            for c in COSTS if c != MAIN_COST]
    sens += [sweep_point("value_range", g, rule([rows[(g, MAIN_COST, i)] for i in range(len(curves))]), instances=len(curves))
             for g in VALUE_GRIDS if g != MAIN_GRID]
    grpo_by_cost = {c: rule([rows[(MAIN_GRID, c, i)] for i in range(len(curves))], "grpo") for c in COSTS}
    sens += [sweep_point("update", f"GRPO (c = {c})", v, instances=len(curves)) for c, v in grpo_by_cost.items()]
    grpo_spread0 = max(float(np.ptp(rows[(MAIN_GRID, 0.0, i)]["grpo_length"])) for i in range(len(curves)))
    med = lambda key: np.median([m[key] for m in main], axis=0)  # noqa: E731
    vals = VALUE_GRIDS[MAIN_GRID]
    eos_neg = float(np.mean([m["eos_slope_negative"] for m in main]))
    opt_rises = sum(m["optimum_length"][-1] > m["optimum_length"][0] for m in main)
    grpo_main = [_increasing(m["grpo_length"]) for m in main]
    grpo_fail_flat = sum((not g) and m["optimum_length"][-1] == m["optimum_length"][0] for g, m in zip(grpo_main, main))
    effect = lambda rs, key: [m[key][-1] - m[key][0] for m in rs]  # noqa: E731  (E|y| at the top minus the bottom value)
    by_cost = {c: [rows[(MAIN_GRID, c, i)] for i in range(len(curves))] for c in COSTS}
    fixed_eff = {c: effect(rs, "pg_length") for c, rs in by_cost.items()}
    matched_eff = {c: effect(rs, "pg_matched_length") for c, rs in by_cost.items()}
    summary = (f"Toy think-then-answer task (L = {L}, per-token cost c = {MAIN_COST}, s ∈ {list(vals)}): after {T_STEPS} exact-gradient "
               f"steps E|y| rises with the value weight on {sum(holds)}/{len(holds)} instances (median {med('pg_length')[0]:.2f} → "
               f"{med('pg_length')[-1]:.2f} tokens); the optimum's length rises with s on {opt_rises}/{len(main)} instances (median "
               f"{med('optimum_length')[0]:.0f} → {med('optimum_length')[-1]:.0f} tokens). "
               f"At c = 0 the EOS-logit gradient is exactly s times the value-free one (max error {id_err:.1g}); at uniform logits a higher "
               f"value lowers the EOS gradient on {eos_neg:.0%} of prefixes (mean over instances; it raises it near the truncation "
               f"limit). GRPO with per-group std: at c = 0 its trained length does not depend on s (max spread {grpo_spread0:.1g} tokens: "
               f"the normaliser cancels s, so no amplification reaches the EOS logits); at c = {MAIN_COST} its length rises with s on "
               f"{sum(grpo_main)}/{len(main)} instances ({grpo_fail_flat} of the {len(main) - sum(grpo_main)} others have a value-flat optimum); "
               "rule under GRPO by cost: "
               + ", ".join(f"c = {c}: {v}" for c, v in grpo_by_cost.items())
               + ". Speed vs value (reported, not in the rule): E|y| at the top minus the bottom value weight after "
               f"{T_STEPS} steps, fixed step η vs step normalised by s (η/s, equal effective step), median [min, max] over instances: "
               + "; ".join(f"c = {c}: {np.median(fixed_eff[c]):+.2f} [{min(fixed_eff[c]):+.2f}, {max(fixed_eff[c]):+.2f}] vs "
                           f"{np.median(matched_eff[c]):+.2f} [{min(matched_eff[c]):+.2f}, {max(matched_eff[c]):+.2f}] tokens"
                           for c in COSTS)
               + " (at c = 0 the matched-step effect is zero: the fixed-step effect there is training speed only). "
               "The optimum part of the rule is an identity (argmax_k s·p(k) − c·k is non-decreasing in s).")
    return Evidence(
        verdict=verdict, statistic=float(np.mean(holds)),
        threshold=f"E|y| after exact-gradient training increasing in s (steps ≥ −{TOL:g}, total > {TOL:g}) and optimum length non-decreasing, on every instance",
        n_samples=0, summary=summary,
        details={"eos_identity_error": id_err, "optimum_rises": opt_rises, "grpo_rises_main_cost": grpo_main, "grpo_length_spread_c0": grpo_spread0, "grpo_rule_by_cost": grpo_by_cost,
                 "eos_slope_negative_fraction": eos_neg,
                 "rows": {f"{g}|c{c}|i{i}": m for (g, c, i), m in rows.items()}},
        instances=holds, sensitivity=sens, code_checks=code_checks, quote_verdict="inconclusive",
        measurements={"verdict": verdict, "values": list(vals), "costs": list(COSTS),
                      "main_pg_length": [m["pg_length"] for m in main], "main_grpo_length": [m["grpo_length"] for m in main],
                      "main_pg_matched_length": [m["pg_matched_length"] for m in main],
                      "main_optimum_length": [m["optimum_length"] for m in main],
                      "median_pg_length_by_cost": [np.median([m["pg_length"] for m in by_cost[c]], 0) for c in COSTS],
                      "median_grpo_length_by_cost": [np.median([m["grpo_length"] for m in by_cost[c]], 0) for c in COSTS],
                      "median_pg_matched_length_by_cost": [np.median([m["pg_matched_length"] for m in by_cost[c]], 0) for c in COSTS]},
    )


def _draw(m: dict, figure_dir: str) -> str:
    """The figure, from the stored measurements: per-instance E|y| against s at the primary cost (exact PG at fixed and
    matched step, GRPO, optimum), and the medians by cost."""
    vals = np.asarray(m["values"], dtype=float)
    fig, (a1, a2) = new_figure(ID, f"RLEV: expected length vs value weight (c = {MAIN_COST}) — {m['verdict']} (raw)", ncols=2, width=4.6)
    for pg, pm, gr, op in zip(m["main_pg_length"], m["main_pg_matched_length"], m["main_grpo_length"], m["main_optimum_length"]):
        a1.plot(vals, pg, color="C0", alpha=0.4, lw=0.8)
        a1.plot(vals, pm, color="C3", alpha=0.4, lw=0.8, ls="-.")
        a1.plot(vals, gr, color="C1", alpha=0.4, lw=0.8, ls="--")
        a1.plot(vals, op, color="C2", alpha=0.3, lw=0.8, ls=":")
    a1.plot([], [], color="C0", label=f"exact PG, step η, T = {T_STEPS}")
    a1.plot([], [], color="C3", ls="-.", label="exact PG, step η/s (matched)")
    a1.plot([], [], color="C1", ls="--", label=f"GRPO (G = {GROUP_SIZE}), T = {T_STEPS}")
    a1.plot([], [], color="C2", ls=":", label="optimum")
    a1.set_xlabel("value weight s(v)")
    a1.set_ylabel("expected length E|y| (tokens)")
    a1.legend(fontsize=7)
    for j, c in enumerate(m["costs"]):
        a2.plot(vals, m["median_pg_length_by_cost"][j], marker="o", color=f"C{j}", label=f"PG, c = {c}")
        a2.plot(vals, m["median_pg_matched_length_by_cost"][j], marker="s", ls="-.", color=f"C{j}", label=f"PG η/s, c = {c}")
        a2.plot(vals, m["median_grpo_length_by_cost"][j], marker="x", ls="--", color=f"C{j}", label=f"GRPO, c = {c}")
    a2.set_xlabel("value weight s(v)")
    a2.set_ylabel("median E|y| over instances (tokens)")
    a2.legend(fontsize=6, ncol=3)
    return save_figure(fig, figure_dir, ID)


register_claim(Claim(
    id=ID, paper="Every Question Has Its Own Value: Reinforcement Learning with Explicit Human Values (RLEV)", seed_line=125,
    figure_family="llm_estimators", draw=_draw,
    claim="value-weighted rewards amplify EOS gradients and yield a value-sensitive termination policy (longer for high-value prompts)",
    theme="GR", exact="exact ∇J and exact expected GRPO updates (all 7^G groups) on a think-then-answer toy; exact optima",
    monte_carlo="none (exact)",
    test="E|y| after exact training increases with the value weight s, optimum length non-decreasing, on every instance",
    scales={"quick": {"instances": 4}, "full": {"instances": 20}},
    run=run,
    source="U = v·1_correct and v = score/total: review of arXiv 2510.20187 (themoonlight.io); surrogate map s(v) and the "
           "EOS-gradient derivation of the paper body not read (swept / our derivation)",
    kind="empirical",
    reading="stand-in",
    reading_note=("\"the toy cannot decide a sentence about trained LLMs whose EOS derivation we did not read\"; also \"the cost mechanism and toy curve are ours\" (our-criterion as second ground)."),
    quote="Crucially, RLEV policies not only improve value-weighted accuracy but also learn a value-sensitive termination policy: "
          "concise for low-value prompts, thorough for high-value ones. We demonstrate this behavior stems from value-weighted "
          "gradient amplification on end-of-sequence tokens.",
    quote_source="seed abstract (line 126, paper title on line 125)",
    extension=True, unbiasedness=False,
    constants={"cost": list(COSTS), "value_range": list(VALUE_GRIDS), "update": ["exact PG", "GRPO"]},
))
