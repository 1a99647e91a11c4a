r"""P-trl-6654 (LUSPO aggregation): with a ``(B, T)`` per-token loss, TRL's old LUSPO reduction
``(x * mask.sum(1, keepdim=True)).mean()`` weights each sequence by L_b²/T instead of L_b (huggingface/trl#6654).

Protocol: kind=identity, extension=False. The review comment states an algebraic identity of two formulas; it is
checked exactly (float64, relative tolerance ``IDENTITY_RTOL``) and so is a check of the formulas as transcribed in
:mod:`pgtheory.estimators.luspo_reduction`, counted apart from confirmations of papers.

Design (fixed before running). Identity part, on ``tables`` random tables per (B, T) ∈ ``shapes`` (lengths uniform
on 1..T, at least one of length < T; valid losses N(0, 1), padding 0): (i) old = (1/B) Σ_b (L_b²/T) x̄_b;
(ii) new = (1/B) Σ_b L_b x̄_b; (iii) for a ``(B, 1)`` loss old = new (the recommended sequence-level setup);
(iv) autograd ∂old/∂x = L_b/(BT), ∂new/∂x = m/B. Twin (a close-but-wrong reading the same check must reject): with
nonzero padding entries — as TRL's token-level ratios and KL give — old differs from the L²/T formula (the padding
leak), while old = L²/T part + leak stays exact. Effect part (reported, not part of the verdict): the exact on-policy
expected update (RLOO advantages, G ∈ ``group_sizes``, every group enumerated) of the token-level surrogate under
each reduction on the toy-LLM instances of :mod:`pgtheory.claims.library._length_instances`: ``masked`` is
seq-mean-token-sum (unbiased up to scale); ``mask_sum`` with T = L_max (a fixed padded width) and with T = the
group's longest response (padding to the batch) — its cosine with ∇J and its excess length drift.
Rule: verified (confirmed) iff (i)–(iv) hold on every table and the twin is rejected on every table; refuted if
(i) fails. Sensitivity: the padded width T (each T in ``shapes``).

Not verified: the TRL code at other versions; the effect part uses the unclipped token-level surrogate at θ = θ_old.
Scope: the old and new forms agree for the recommended (B, 1) sequence-level loss (check (iii)); the difference
arises only for a (B, T) per-token loss.

Revision, 2026-12-01 (referee's audit s6c, before any confirmatory run on the new rule; no full run had been made):
the full-scale group sizes of the (reported) effect part are capped at G ≤ 3 (were [2, 3, 4]): the V=4/L=3 task
has N = 40 responses and 40⁴ = 2,560,000 groups exceed :func:`pgtheory.exact.enumerate_groups`' limit of
2,000,000, so the full run would have crashed. The declared ``group_size`` range is now [2, 3]
(tests/test_practice_length.py computes N^G for every task and G of both scales). The verdict does not use G.
"""
from __future__ import annotations

import time

import numpy as np
import torch

from ...estimators.group_update_expectation import expected_group_update
from ...estimators.luspo_reduction import luspo_loss, luspo_token_weights, luspo_valid_decomposition
from ..record import Claim, Evidence, RunContext, sweep_point
from ..registry import register_claim
from ..style import new_figure, save_figure
from ._length_instances import cosine, length_drift, length_instances

ID = "P-trl-6654-luspo-weighting"
IDENTITY_RTOL = 1e-12  # float64 sums of ≤ 64 terms: rounding only
TWIN_GAP = 1e-6  # the leak must move the loss by more than rounding for the twin to count as rejected
FORMS = ("masked", "mask_sum_fixed_T", "mask_sum_batch_T")
LABELS = {"masked": "new: (x·m).sum(-1).mean()", "mask_sum_fixed_T": "old, T = L_max",
          "mask_sum_batch_T": "old, T = longest in group"}


def _close(a: torch.Tensor, b: torch.Tensor) -> bool:
    return bool((a - b).abs().max() <= IDENTITY_RTOL * max(1.0, float(b.abs().max())))


def _table(B: int, T: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    L = torch.randint(1, T + 1, (B,), generator=gen)
    L[0] = torch.randint(1, T, (1,), generator=gen)  # at least one padded row
    m = (torch.arange(T)[None, :] < L[:, None]).to(torch.float64)
    return torch.randn(B, T, generator=gen, dtype=torch.float64) * m, m


def _check_table(x: torch.Tensor, m: torch.Tensor, gen: torch.Generator) -> dict:
    B, T = m.shape
    L = m.sum(1)
    xbar = (x * m).sum(1) / L
    old, new = luspo_loss(x, m, "mask_sum"), luspo_loss(x, m, "masked")
    out = {"old_is_L2_over_T": _close(old, (L**2 / T * xbar).mean()), "new_is_L": _close(new, (L * xbar).mean())}
    xs = torch.randn(B, 1, generator=gen, dtype=torch.float64)
    out["seq_level_equal"] = _close(luspo_loss(xs, m, "mask_sum"), luspo_loss(xs, m, "masked"))
    xg = x.clone().requires_grad_(True)
    (g_old,) = torch.autograd.grad(luspo_loss(xg, m, "mask_sum"), xg)
    (g_new,) = torch.autograd.grad(luspo_loss(xg, m, "masked"), xg)
    out["grad_weights"] = _close(g_old, luspo_token_weights(m, "mask_sum")) and _close(g_new, luspo_token_weights(m, "masked"))
    x_pad = x + torch.randn(B, T, generator=gen, dtype=torch.float64) * (1 - m)  # nonzero padding (twin)
    old_pad = luspo_loss(x_pad, m, "mask_sum")
    valid, leak = luspo_valid_decomposition(x_pad, m)
    out["twin_rejected"] = float((old_pad - (L**2 / T * xbar).mean()).abs()) > TWIN_GAP
    out["decomposition_exact"] = _close(old_pad, valid + leak)
    out["relative_weight_spread"] = float((L / T).max() / (L / T).min())  # how unequal L_b/T is in this table
    return out


def _weights(form: str):
    if form == "masked":
        return lambda mk: luspo_token_weights(mk, "masked")
    if form == "mask_sum_fixed_T":
        return lambda mk: luspo_token_weights(mk, "mask_sum")
    return lambda mk: luspo_token_weights(mk, "mask_sum") * mk.shape[-1] / mk.sum(-1).amax(-1)[..., None, None]


def run(ctx: RunContext) -> Evidence:
    t0 = time.process_time()
    gen = torch.Generator().manual_seed(ctx.seed)
    shapes = [tuple(s) for s in ctx.settings["shapes"]]
    checks = {}
    for B, T in shapes:
        checks[(B, T)] = [_check_table(*_table(B, T, gen), gen) for _ in range(ctx.settings["tables"])]
    keys = ("old_is_L2_over_T", "new_is_L", "seq_level_equal", "grad_weights", "twin_rejected", "decomposition_exact")
    per_table = [all(c[k] for k in keys) for cs in checks.values() for c in cs]
    core = all(c["old_is_L2_over_T"] for cs in checks.values() for c in cs)
    verdict = "confirmed" if all(per_table) else ("refuted" if not core else "inconclusive")
    sensitivity = [sweep_point("padded_width_T", T, "confirmed" if all(all(c[k] for k in keys) for c in cs) else "refuted",
                               batch=B, instances=len(cs), stratum=True) for (B, T), cs in checks.items()]
    # effect on the expected update
    insts = length_instances(ctx.seed, ctx.settings["thetas_per_task"])
    sizes = list(ctx.settings["group_sizes"])
    cos = np.zeros((len(insts), len(sizes), len(FORMS)))
    drift = np.zeros_like(cos)
    for i, inst in enumerate(insts):
        for a, G in enumerate(sizes):
            for f, form in enumerate(FORMS):
                mu = expected_group_update(inst.probs, inst.scores, inst.rewards, inst.mask, G, _weights(form), advantage="rloo")
                cos[i, a, f] = cosine(mu, inst.grad_j)
                drift[i, a, f] = length_drift(mu, inst)
    min_cos = {form: float(cos[..., f].min()) for f, form in enumerate(FORMS)}
    old_drift = drift[..., 1]
    answer = ("aggregate LUSPO as (per_token_loss * mask).sum(-1).mean() (TRL after #6654): with any (B, T) loss — token-level "
              "IS, beta > 0, vLLM ratios — the old mask.sum form weights sequences by L²/T, a length-dependent weighting that biases the update")
    summary = (f"Identity verified on {sum(per_table)}/{len(per_table)} random (B, T) tables: old = mean_b(L_b²/T · x̄_b) and new = "
               f"mean_b(L_b · x̄_b) to 1e-12, equal for a (B, 1) loss, autograd weights L_b/(BT) vs m/B; twin (nonzero padding) "
               f"rejected — then the old form also leaks padded entries. Effect (exact, {len(insts)} toy-LLM prompts, G ∈ {sizes}, "
               f"RLOO): new min cos(E ĝ, ∇J) = {min_cos['masked']:.12f}; old with fixed T {min_cos['mask_sum_fixed_T']:.4f}, "
               f"with batch T {min_cos['mask_sum_batch_T']:.4f}; per unit J gain the old form (fixed T) lengthens responses more "
               f"than ∇J in {int((old_drift > 1e-9).sum())} and less in {int((old_drift < -1e-9).sum())} of {old_drift.size} "
               f"settings. Practitioner: {answer}.")
    measurements = {"forms": np.array(FORMS), "group_sizes": np.array(sizes), "one_minus_cos": np.clip(1 - cos, 0, None),
                    "drift": drift,
                    "weight_spread": np.array([c["relative_weight_spread"] for cs in checks.values() for c in cs])}
    return Evidence(
        verdict=verdict, statistic=float(sum(not x for x in per_table)),
        threshold="every table: old = mean_b(L_b²/T x̄_b), new = mean_b(L_b x̄_b), (B,1) equal, autograd weights, to rel. 1e-12; "
                  "nonzero-padding twin off by > 1e-6",
        n_samples=len(per_table), summary=summary,
        details={"checks_failed": {f"B{B}|T{T}": [k for k in keys if not all(c[k] for c in cs)] for (B, T), cs in checks.items()},
                 "min_cos_expected_update": min_cos,
                 "old_length_drift_range": [float(old_drift.min()), float(old_drift.max())],
                 "cpu_seconds": time.process_time() - t0, "practitioner_answer": answer},
        instances=per_table, sensitivity=sensitivity, measurements=measurements,
    )


def _draw(m: dict, figure_dir: str) -> str:
    """Exact bias and length drift of the expected update under the old and new LUSPO reductions."""
    fig, (a1, a2) = new_figure(ID, "LUSPO reduction: L_b²/T (old) vs L_b (new) weighting", ncols=2, width=4.6)
    forms = [str(f) for f in m["forms"]]
    x, d = np.asarray(m["one_minus_cos"]), np.asarray(m["drift"])
    for f, form in enumerate(forms):
        v = np.maximum(x[..., f].reshape(-1), 1e-17)
        a1.scatter(np.full(v.size, f) + np.linspace(-0.25, 0.25, v.size), v, s=8, color=f"C{f}")
        w = d[..., f].reshape(-1)
        a2.scatter(np.full(w.size, f) + np.linspace(-0.25, 0.25, w.size), w, s=8, color=f"C{f}")
    for ax in (a1, a2):
        ax.set_xticks(range(len(forms)))
        ax.set_xticklabels([LABELS.get(f, f) for f in forms], rotation=15, fontsize=6)
    a1.set_yscale("log")
    a1.set_ylabel("1 − cos(E ĝ, ∇J), on-policy (1e-17 = 0)")
    a2.axhline(0, color="gray", lw=0.8)
    a2.set_ylabel("excess ΔE|y| per unit ΔJ vs ∇J (tokens)")
    return save_figure(fig, figure_dir, ID)


register_claim(Claim(
    id=ID, seed_line=0, practice_source="huggingface/trl#6654 (2026-08-06)",
    paper="[GRPO] Apply the completion mask elementwise in the luspo loss aggregation",
    claim="With a (B, T) per-token loss, TRL's old LUSPO reduction (x * mask.sum(1, keepdim=True)).mean() weights each "
          "sequence's mean loss by L_b²/T instead of L_b",
    theme="GR", exact="the two reductions on random (B, T) tables (identity, autograd weights); E ĝ of each on toy LLMs "
                      "by enumerating all N^G groups (N ≤ 40, G ≤ 3)",
    monte_carlo="none (exact)",
    test="identity to relative 1e-12 on every table, nonzero-padding twin rejected",
    scales={"quick": {"shapes": [[2, 3], [4, 5], [8, 16]], "tables": 20, "thetas_per_task": 2, "group_sizes": [2, 3]},
            "full": {"shapes": [[2, 3], [4, 5], [8, 16], [16, 64]], "tables": 200, "thetas_per_task": 6, "group_sizes": [2, 3]}},
    run=run, draw=_draw, figure_family="practice",
    source="huggingface/trl#6654 diff and review (grpo_trainer.py luspo branch, old and new lines), read via the stored thread",
    kind="identity",
    reading="by-construction",
    reading_note=("Kind identity: \"The review comment states an algebraic identity of two formulas; it is checked exactly ... counted apart from confirmations of papers\"."),
    quote="So once `x` is `(B, T)`, the old form weights each sequence by `L_b^2 / T` instead of `L_b` — a quadratic "
          "length weighting",
    quote_source="GitHub thread huggingface/trl#6654, comment by albertvillanova on 2026-08-06 (review of trl/trainer/grpo_trainer.py)",
    extension=False, unbiasedness=False,
    constants={"padded_width_T": [3, 64], "group_size": [2, 3]},
))
