r"""L195 (Diverse projection ensembles for distributional RL, Zanger, Böhmer & Spaan, ICLR 2024): "We establish
theoretical properties of such projection ensembles and derive an algorithm that uses ensemble disagreement, measured
by the average 1-Wasserstein distance, as a bonus for deep exploration."

Tested: the first clause — the theoretical properties of the projection mixture operator
Ω_M T^π, Ω_M η = (1/M) Σ_i Π_i η (:mod:`pgtheory.exact.projection_ensembles`): (P1) it is a c̄γ-contraction in the
maximal 1-Wasserstein metric d̄_1 when every Π_i is c_i-Lipschitz in W1 (c̄ = mean c_i); (P2) its fixed point η_M obeys
d̄_1(η_M, η^π) ≤ d̄_1(Ω_M η^π, η^π)/(1 − c̄γ). Everything is exact (no Monte Carlo).

Design (fixed before running; constants below):
Instances: ``mdps`` Garnets (S = 5, A = 2, branching 3, γ = GAMMA) with *stochastic* Bernoulli rewards R(s,a) ∈ {0, 1},
P(R = 1) = the Garnet's mean reward, and a random softmax policy (logits N(0, I)); returns lie in [0, v_max],
v_max = 1/(1 − γ). Truth η^π: the categorical fixed point on ``ref_atoms`` atoms over [0, v_max] with its proven bound
e_ref (:func:`~pgtheory.exact.distributional_control.categorical_evaluation_fixed_point`), carried into every comparison.
(A) the theorem's hypothesis holds: two categorical members with CAT_ATOMS atoms over [0, v_max] (different grids; Π_C
    is a W1 non-expansion, so c̄ = 1). (P1) rule: for ``pairs`` random pairs (η, ν) of state–action laws (K0 atoms
    ~ U[0, v_max], Dirichlet(1) probabilities), d_k = d̄_1((Ω T)^k η, (Ω T)^k ν) for k ≤ ``steps`` satisfies
    d_{k+1} ≤ γ d_k (1 + RATIO_SLACK). (P2) rule: the fixed point (iterated to FP_TOL) satisfies
    d̄_1(η_M, η̂) ≤ d̄_1(Ω η̂, η̂)/(1 − γ) + slack, slack = e_ref(1 + 2/(1 − γ)) + γ·last_change/(1 − γ) (η̂ the
    reference; a violation beyond the slack is a counterexample to P2 for the true law).
    Twins (the rules must be able to fail): the operator with discount γ′ = (1 + γ)/2 checked against γ (first pair of
    each MDP; must exceed γ at some k), and the bound without the propagation factor, d̄_1(Ω η̂, η̂) + slack (must be
    violated beyond its own slack e_ref(2 + c̄) + γ·last_change/(1 − γ) on at least one MDP).
(B) extension — the pair PE-DQN uses, a categorical member (CAT_ATOMS[0] atoms) and a quantile member (QUANT_ATOMS
    atoms). Π_Q has no finite W1 Lipschitz constant (proof in the module above), so P1/P2 do not cover it in W1;
    we ask whether it behaves as if c̄ = 1: the same (P1) and (P2) rules with c̄ = 1 and a converged fixed point.
(C) reported, not judged: the ensemble disagreement b(s,a) (average pairwise W1 of the members) at the fixed points of
    (A) and (B) against the true error d_1(η_M(s,a), η^π(s,a)) (Spearman correlation over (s, a) and instances) — the
    paper uses disagreement as an uncertainty signal; in this exact setting disagreement measures projection diversity.
Code checks: a mixture of identical projections equals that projection (to 1e-13); (A)'s fixed point has the means
Q^π (Π_C preserves means on [0, v_max]; to 1e-8).
Verdict: refuted if (A)'s P1 or P2 fails beyond its slack; inconclusive if a twin is not rejected or a code check
fails; otherwise the quoted part is confirmed, and a failed extension (B) makes it qualified.
Sensitivity: GAMMA over GAMMA_SWEEP and CAT_ATOMS over ATOM_SWEEP, (A)'s and (B)'s rules (one pair) on the first
``sweep_mdps`` Garnets; a point's verdict combines them as the main verdict does (twins are judged at the main
setting only).

Revision (2026-11-30, on quick seeds, before any full run): the bound twin was first judged with the main rule's
slack, which carries P2's factor 1/(1 − γ) on e_ref (0.26 at γ = 0.9 with 4001 reference atoms) and so could not reject
it (0/3); the twin's own uncertainty is e_ref(2 + c̄) (its right side has no 1/(1 − γ)), now used.

Protocol: kind=identity, extension=False (revision 2, 2026-11-30, after a referee's audit, before any full run; it was
theorem + extension): for an all-categorical ensemble, P1 follows from the convexity of W1 under mixtures and the
non-expansion of Π_C, and P2 from Banach's fixed-point theorem — the check verifies our operators against properties
*as recalled* (Section 4 unread), so it never counts as confirming the paper. (B), the categorical + quantile pair the
paper's agent uses, fails P1 by this module's own proof (the quantile projection has no finite W1 Lipschitz constant):
asking it of (B) could only fail, so (B) is reported (ratio, error/bound), not judged, as (C) is.
Not testable here: the abstract's claim that projection diversity improves generalisation of *neural* models
("a strong inductive bias when coupled with neural networks and gradient descent") and the bsuite/VizDoom results; the
exploration bonus's benefit (deep exploration on chains) is not run in this claim.
Simplified: p = 1 only; discrete Bernoulli reward laws; exact operators instead of sampled TD updates; uniform
ensemble weights. Definitions: the operator Ω_M, c̄_p = (mean c_i^p)^{1/p} and the form of the bound as recalled from
the paper's Section 4 — not verified against the body (the search tools return only its abstract and introduction);
both are re-derived for p = 1 in :mod:`pgtheory.exact.projection_ensembles`, so the rules stand on their own.
"""
from __future__ import annotations

import numpy as np
import torch

from ...exact import evaluate_policy
from ...exact.distributional_control import (ActionValueLaws, action_sup_wasserstein1, categorical_evaluation_fixed_point,
                                             reward_law)
from ...exact.projection_ensembles import (categorical_member, ensemble_disagreement, ensemble_fixed_point,
                                           ensemble_operator, fixed_point_error_bound, mean_lipschitz,
                                           projection_mixture, quantile_member, w1_lipschitz)
from ...exact.risk_measures import wasserstein1
from ...problems import garnet
from ..record import Claim, Evidence, RunContext, sweep_point
from ..registry import register_claim
from ..style import new_figure, save_figure

ID = "L195-projection-ensemble-contraction"
GAMMA = 0.9  #: the Garnets' discount (a common choice; swept over GAMMA_SWEEP)
GAMMA_SWEEP = (0.5, 0.95)  #: plausible range of γ for the sensitivity sweep
CAT_ATOMS = (11, 8)  #: atoms of (A)'s two categorical members (small, as in a coarse C51; non-nested grids)
ATOM_SWEEP = ((5, 4), (21, 16))  #: plausible range of CAT_ATOMS for the sweep
QUANT_ATOMS = 10  #: atoms of (B)'s quantile member (QR-DQN-like, small)
K0 = 8  #: atoms of each random law in the contraction pairs
RATIO_SLACK = 1e-10  #: relative slack on d_{k+1} ≤ γ d_k (round-off of exact W1 sums over ≤ 10^3 atoms)
FP_TOL = 1e-12  #: sup-W1 change at which the ensemble iteration stops
CODE_TOL = 1e-13  #: identical-projection mixture check
MEAN_TOL = 1e-8  #: (A)'s fixed-point means vs Q^π


def _instance(seed: int, gamma: float):
    mdp = garnet(n_states=5, n_actions=2, branching=3, discount=gamma, seed=seed)
    rewards = reward_law(mdp, torch.tensor([0.0, 1.0], dtype=torch.float64),
                         torch.stack([1 - mdp.rewards, mdp.rewards], -1))
    g = torch.Generator().manual_seed(seed)
    pi = torch.softmax(torch.randn(5, 2, generator=g, dtype=torch.float64), -1)
    return mdp, rewards, pi, g


def _random_laws(hi: float, g: torch.Generator) -> ActionValueLaws:
    z = torch.sort(hi * torch.rand(K0, generator=g, dtype=torch.float64)).values
    e = -torch.log(torch.rand(5, 2, K0, generator=g, dtype=torch.float64))  # Dirichlet(1) by normalised exponentials
    return ActionValueLaws(z, e / e.sum(-1, keepdim=True))


def _ensembles(hi: float, cat_atoms):
    a = [categorical_member(torch.linspace(0, hi, m, dtype=torch.float64)) for m in cat_atoms]
    b = [categorical_member(torch.linspace(0, hi, cat_atoms[0], dtype=torch.float64)), quantile_member(QUANT_ATOMS)]
    return a, b


def _curve(mdp, pi, members, rewards, eta, nu, steps: int) -> np.ndarray:
    d = [action_sup_wasserstein1(eta, nu)]
    for _ in range(steps):
        eta = ensemble_operator(mdp, pi, members, eta, rewards).mixture
        nu = ensemble_operator(mdp, pi, members, nu, rewards).mixture
        d.append(action_sup_wasserstein1(eta, nu))
    return np.array(d)


def _judge_fixed_point(mdp, pi, members, rewards, ref, lipschitz: float):
    g = mdp.discount
    fp = ensemble_fixed_point(mdp, pi, members, rewards, tol=FP_TOL)
    err = action_sup_wasserstein1(fp.mixture, ref.laws)
    proj = action_sup_wasserstein1(projection_mixture(members, ref.laws).mixture, ref.laws)
    bound = fixed_point_error_bound(proj, lipschitz, g)
    e_ref, tail = ref.error_bound, lipschitz * g * fp.last_change / (1 - lipschitz * g)
    slack = e_ref * (1 + (1 + lipschitz) / (1 - lipschitz * g)) + tail
    twin_slack = e_ref * (2 + lipschitz) + tail  # the twin bound d̄1(Ω η^π, η^π) moves by ≤ (1 + c̄)e_ref, the error by e_ref
    return fp, {"error": err, "projection_error": proj, "bound": bound, "slack": slack, "holds": bool(err <= bound + slack),
                "twin_violated": bool(err > proj + twin_slack), "converged": bool(fp.converged), "iterations": fp.iterations}


def _measure(seed: int, gamma: float, n_mdps: int, pairs: int, steps: int, ref_atoms: int, cat_atoms, full: bool):
    """(A), (B) and (C) on ``n_mdps`` Garnets; ``full`` adds the twins and code checks."""
    hi = 1.0 / (1 - gamma)
    out = {"a_ratio_ok": [], "a_bound": [], "b_ratio_ok": [], "b_bound": [], "a_max_ratio_over_gamma": 0.0,
           "b_max_ratio_over_gamma": 0.0, "twin_gamma": [], "curves_a": [], "curves_b": [], "disagreement": [],
           "identical_check": 0.0, "mean_check": 0.0}
    for i in range(n_mdps):
        mdp, rewards, pi, g = _instance(seed * 1000 + i, gamma)
        ens_a, ens_b = _ensembles(hi, cat_atoms)
        c_a = mean_lipschitz([w1_lipschitz(m) for m in ens_a])  # = 1: the theorem's hypothesis holds
        ok_a, ok_b = True, True
        for j in range(pairs):
            eta, nu = _random_laws(hi, g), _random_laws(hi, g)
            da = _curve(mdp, pi, ens_a, rewards, eta, nu, steps)
            ra = da[1:] / da[:-1]
            ok_a &= bool((ra <= c_a * gamma * (1 + RATIO_SLACK)).all())
            out["a_max_ratio_over_gamma"] = max(out["a_max_ratio_over_gamma"], float(ra.max() / gamma))
            out["curves_a"].append(da.tolist())
            db = _curve(mdp, pi, ens_b, rewards, eta, nu, steps)
            rb = db[1:] / db[:-1]
            ok_b &= bool((rb <= gamma * (1 + RATIO_SLACK)).all())
            out["b_max_ratio_over_gamma"] = max(out["b_max_ratio_over_gamma"], float(rb.max() / gamma))
            out["curves_b"].append(db.tolist())
            if full and j == 0:
                twin = garnet(n_states=5, n_actions=2, branching=3, discount=(1 + gamma) / 2, seed=seed * 1000 + i)
                tr = reward_law(twin, rewards.values, rewards.probs)
                dt = _curve(twin, pi, ens_a, tr, eta, nu, steps)
                out["twin_gamma"].append(bool((dt[1:] > gamma * (1 + RATIO_SLACK) * dt[:-1]).any()))
                z = ens_a[0]
                out["identical_check"] = max(out["identical_check"], action_sup_wasserstein1(
                    projection_mixture([z, z], eta).mixture, projection_mixture([z], eta).mixture))
        out["a_ratio_ok"].append(ok_a)
        ref = categorical_evaluation_fixed_point(mdp, pi, torch.linspace(0, hi, ref_atoms, dtype=torch.float64), rewards,
                                                 tol=1e-11)
        fp_a, ja = _judge_fixed_point(mdp, pi, ens_a, rewards, ref, c_a)
        out["a_bound"].append(ja)
        out["b_ratio_ok"].append(ok_b)
        fp_b, jb = _judge_fixed_point(mdp, pi, ens_b, rewards, ref, 1.0)  # c̄ = 1 asked of the pair (extension)
        out["b_bound"].append(jb)
        if full:
            out["mean_check"] = max(out["mean_check"], float((fp_a.mixture.means() - evaluate_policy(mdp, pi).q).abs().max()))
            for name, fp in (("A", fp_a), ("B", fp_b)):
                b = ensemble_disagreement(fp.members)
                e = wasserstein1(fp.mixture.support, fp.mixture.probs, ref.laws.support, ref.laws.probs)
                out["disagreement"].append({"ensemble": name, "b": b.flatten().tolist(), "error": e.flatten().tolist()})
    return out


def _rules(m) -> tuple[bool, bool]:
    """(A)'s rules P1 and P2 (the quoted part) and (B)'s rules (the extension) on measurements ``m``."""
    quoted = all(m["a_ratio_ok"]) and all(j["holds"] and j["converged"] for j in m["a_bound"])
    extension = all(m["b_ratio_ok"]) and all(j["holds"] and j["converged"] for j in m["b_bound"])
    return quoted, extension


def _spearman(x, y) -> float:
    rx, ry = np.argsort(np.argsort(x)), np.argsort(np.argsort(y))
    return float(np.corrcoef(rx, ry)[0, 1])


def run(ctx: RunContext) -> Evidence:
    s = ctx.settings
    m = _measure(ctx.seed, GAMMA, s["mdps"], s["pairs"], s["steps"], s["ref_atoms"], CAT_ATOMS, full=True)
    code_checks = []
    if m["identical_check"] > CODE_TOL:
        code_checks.append(f"mixture of identical projections ≠ that projection ({m['identical_check']:.2g})")
    if m["mean_check"] > MEAN_TOL:
        code_checks.append(f"(A)'s fixed-point means ≠ Q^π ({m['mean_check']:.2g})")
    p1 = all(m["a_ratio_ok"])
    p2 = all(j["holds"] and j["converged"] for j in m["a_bound"])
    twins_ok = all(m["twin_gamma"]) and any(j["twin_violated"] for j in m["a_bound"])
    quoted_ok, ext_ok = _rules(m)
    if not quoted_ok:
        quote_verdict = "refuted"
    elif not twins_ok:
        quote_verdict = "inconclusive"
    else:
        quote_verdict = "confirmed"
    verdict = quote_verdict  # (B) is reported, not judged (revision 2)

    sensitivity = []
    n_sw = s["sweep_mdps"]
    for constant, values in (("GAMMA", GAMMA_SWEEP), ("CAT_ATOMS", ATOM_SWEEP)):
        for v in values:
            gam, atoms = (v, CAT_ATOMS) if constant == "GAMMA" else (GAMMA, v)
            sv = _measure(ctx.seed, gam, n_sw, 1, s["steps"], s["ref_atoms"], atoms, full=False)
            q_ok, e_ok = _rules(sv)
            sensitivity.append(sweep_point(constant, list(v) if constant == "CAT_ATOMS" else v,
                                           "confirmed" if q_ok else "refuted", quoted_part_holds=q_ok,
                                           extension_holds=e_ok, a_max_ratio_over_gamma=sv["a_max_ratio_over_gamma"],
                                           b_max_ratio_over_gamma=sv["b_max_ratio_over_gamma"],
                                           a_error_over_bound=[j["error"] / j["bound"] for j in sv["a_bound"]],
                                           b_error_over_bound=[j["error"] / j["bound"] for j in sv["b_bound"]]))

    rho = {}
    for name in ("A", "B"):
        rows = [d for d in m["disagreement"] if d["ensemble"] == name]
        rho[name] = _spearman(np.concatenate([r["b"] for r in rows]), np.concatenate([r["error"] for r in rows]))
    instances = [a and j["holds"] and j["converged"] for a, j in zip(m["a_ratio_ok"], m["a_bound"])]

    fig, (a1, a2, a3) = new_figure(ID, f"quoted part {quote_verdict}; extension (B) {'holds' if ext_ok else 'fails'}",
                                   ncols=3, width=3.9)
    for key, col in (("curves_a", "C0"), ("curves_b", "C1")):
        for c in m[key]:
            c = np.array(c)
            a1.plot(range(1, len(c)), c[1:] / c[:-1] / GAMMA, lw=0.7, color=col, alpha=0.6, marker=".", ms=3)
    a1.axhline(1.0, color="k", ls="--", lw=1.2, label="bound c̄γ/γ = 1 (c̄ = 1)")
    a1.plot([], [], color="C0", label="(A) categorical ×2")
    a1.plot([], [], color="C1", label="(B) categorical + quantile")
    a1.set_xlabel("application k of Ω_M T^π")
    a1.set_ylabel("(d_k / d_k−1) / γ")
    a1.legend(fontsize=7)
    for key, col, lab in (("a_bound", "C0", "(A)"), ("b_bound", "C1", "(B), c̄ = 1 asked")):
        a2.scatter([j["bound"] for j in m[key]], [j["error"] for j in m[key]], s=18, color=col, label=lab)
    top = max(j["bound"] for j in m["a_bound"] + m["b_bound"]) * 1.05
    a2.plot([0, top], [0, top], "k--", lw=1.0, label="error = bound")
    a2.set_xlabel("bound d̄1(Ω η^π, η^π)/(1 − γ)")
    a2.set_ylabel("d̄1(fixed point, η^π)")
    a2.legend(fontsize=7)
    for d in m["disagreement"]:
        a3.scatter(d["b"], d["error"], s=8, color="C0" if d["ensemble"] == "A" else "C1", alpha=0.6)
    a3.scatter([], [], s=8, color="C0", label=f"(A) Spearman {rho['A']:.2f}")
    a3.scatter([], [], s=8, color="C1", label=f"(B) Spearman {rho['B']:.2f}")
    a3.set_xlabel("disagreement b(s,a) (avg pairwise W1)")
    a3.set_ylabel("W1(η_M(s,a), η^π(s,a))")
    a3.legend(fontsize=7)
    fig_path = save_figure(fig, ctx.figure_dir, ID)

    ea = [j["error"] / j["bound"] for j in m["a_bound"]]
    eb = [j["error"] / j["bound"] for j in m["b_bound"]]
    summary = (f"(A) two categorical members ({CAT_ATOMS[0]}, {CAT_ATOMS[1]} atoms, c̄ = 1): max d̄1 ratio/γ = "
               f"{m['a_max_ratio_over_gamma']:.6f} over {s['mdps']}×{s['pairs']} pairs × {s['steps']} steps (P1 holds: {p1}); "
               f"fixed-point error/bound = {min(ea):.3f}…{max(ea):.3f} (P2 holds: {p2}); twins rejected (γ′ "
               f"{sum(m['twin_gamma'])}/{len(m['twin_gamma'])}, bound without 1/(1−γ) violated on "
               f"{sum(j['twin_violated'] for j in m['a_bound'])}/{len(m['a_bound'])}). (B, extension) categorical + "
               f"quantile ({QUANT_ATOMS} atoms): max ratio/γ = {m['b_max_ratio_over_gamma']:.4f}, error/bound(c̄=1) = "
               f"{min(eb):.3f}…{max(eb):.3f}, converged {sum(j['converged'] for j in m['b_bound'])}/{len(m['b_bound'])}. "
               f"(C) Spearman(disagreement, true error) over (s,a): A {rho['A']:.2f}, B {rho['B']:.2f}.")
    return Evidence(
        verdict=verdict, statistic=float(m["a_max_ratio_over_gamma"]),
        threshold=(f"d_(k+1) ≤ c̄γ d_k (1 + {RATIO_SLACK:g}), c̄ = 1; d̄1(η_M, η^π) ≤ d̄1(Ω η^π, η^π)/(1 − γ) + slack "
                   "(reference error carried)"),
        n_samples=0, summary=summary,
        details={k2: v for k2, v in m.items() if not k2.startswith("curves")} | {"spearman": rho,
                                                                               "quote_verdict": quote_verdict,
                                                                               "extension_ok": ext_ok},
        figure=fig_path, instances=instances, sensitivity=sensitivity, quote_verdict=quote_verdict,
        code_checks=code_checks)


register_claim(Claim(
    id=ID, paper="Diverse Projection Ensembles for Distributional Reinforcement Learning", seed_line=195,
    claim="the projection mixture operator Ω_M T^π of a projection ensemble is a c̄γ-contraction in d̄1 and its fixed "
          "point lies within d̄1(Ω_M η^π, η^π)/(1 − c̄γ) of the true return law",
    theme="DIST", exact="exact push-forward of discrete state–action laws with Bernoulli rewards; categorical and "
                        "quantile projections; fine-grid categorical reference with a proven error bound",
    monte_carlo="none (exact)",
    test="(A) categorical×2 ensembles: d̄1 ratios ≤ γ and fixed-point error ≤ bound on Garnets with stochastic rewards; "
         "(B, extension) categorical + quantile asked to satisfy the same with c̄ = 1; (C) disagreement vs true error",
    scales={"quick": {"mdps": 3, "pairs": 2, "steps": 10, "ref_atoms": 4001, "sweep_mdps": 1},
            "full": {"mdps": 12, "pairs": 5, "steps": 12, "ref_atoms": 20001, "sweep_mdps": 3}},
    run=run, source="Zanger, Böhmer & Spaan (2024), Section 4 (as recalled); Bellemare et al. (2017) Lemma 3; "
                    "Rowland et al. (2018)",
    kind="identity",
    quote="We establish theoretical properties of such projection ensembles and derive an algorithm that uses ensemble "
          "disagreement, measured by the average 1-Wasserstein distance, as a bonus for deep exploration.",
    quote_source="seed abstract (line 195)",
    extension=False, unbiasedness=False,
    constants={"GAMMA": {"value": GAMMA, "range": list(GAMMA_SWEEP)},
               "CAT_ATOMS": {"value": list(CAT_ATOMS), "range": [list(a) for a in ATOM_SWEEP]},
               "QUANT_ATOMS": QUANT_ATOMS, "K0": K0, "RATIO_SLACK": RATIO_SLACK, "FP_TOL": FP_TOL},
))
