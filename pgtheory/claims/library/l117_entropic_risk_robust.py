r"""L117 (Regularized robust MDPs ⇔ risk-sensitive MDPs): "establishes its equivalence with a class of regularized
robust MDP (RMDP) problems" (KL regulariser ⇔ entropic risk) and "proving gradient domination and global
convergence of the exact policy gradient method under the tabular setting with direct parameterization".

Design (fixed before running):
(i) Donsker–Varadhan: ``instances`` random (P ~ Dirichlet(1) over 6 outcomes, X ~ N(0, 1), β = 10^U(−1, 1)):
    ρ_β(X) against a numerical min_Q E_Q X + KL(Q‖P)/β (SLSQP until 2026-12-01, mirror descent since; within 1e-6, never below the closed form by
    more than 1e-9) and the closed-form Q*'s dual value (within 1e-12).
(ii) envelope-theorem PG against central differences (h = 1e-6) on 20 Garnets (S = 5, A = 3, γ = 0.9, β = 2),
    softmax θ ~ N(0, I): max error < 1e-6 (relative to max|∇J|).
(iii) the robust Bellman optimality operator with the inner minimisation solved numerically equals the risk-sensitive one
    within 1e-6 at V*_β and at ``operator_inputs`` random V on 3 Garnets (S = 4, A = 2).
(iv) direct parameterisation: projected exact gradient ascent (η = 0.05, ``steps`` steps) from uniform π on 10
    Garnets (S = 5, A = 3, β = 2) reaches J*_β (risk VI) within 1e-3; gradient-domination ratio
    (J* − J(π)) / max_{π′}⟨π′ − π, ∇J(π)⟩ over 2000 random π per Garnet reported (bounded ⇔ domination).
Verdict: refuted if (i)–(iii) fail or PG stalls (gap > 1e-3 and not 1% smaller than at half time); inconclusive if
the gap is still falling but above 1e-3 at the last step; confirmed otherwise.

Disclosure: the first quick run (1) iterated the SLSQP robust operator 300 times and required 1e-6 on the fixed point,
which ignores the 1/(1 − γ) amplification of SLSQP's per-call error (it reported 1.9e-6) — replaced by the operator
comparison (iii); (2) called a gap of 0.011 after 300 quick-scale steps a refutation although the gap was still
falling — replaced by the stall/inconclusive rule above. Both changes were made before any full run.

Revision 2026-12-01 (after the confirmatory run at run seed 1010, which showed "refuted" because SLSQP's inner
minimum sat 1.7e-6 above the closed form, i.e. the numerical adversary had not converged; judged next on a fresh seed):
the SLSQP comparisons of (i) and (iii) are checks of our code (``code_checks``: a miss makes the claim inconclusive,
as the protocol prescribes for a bug, and never refutes — a numerical optimiser that stops early, or, within its
feasibility tolerance of ~1e-8, below the minimum, says nothing about a duality that holds exactly). The exact parts
stay in the rule: the closed-form Q* attains ρ_β (1e-12), the envelope PG (ii) and projected PG (iv).
Second revision 2026-12-01 (after the re-run at run seed 1011, inconclusive because SLSQP missed again by 1.8e-6): the
numerical minimum is entropic mirror descent on the simplex (``_dv_numeric``), exact to ~1e-14 on 3000 random
problems, so the code check tests our closed form rather than SLSQP's stopping rule. Judged next on seed 12.

Sweep (added 2026-12-01, second; a referee of the seed-13 ledger, before the seed-18 run: β = 2, γ = 0.9 were fixed and
no constant was declared): (iv) is re-run at β ∈ BETA_SWEEP and γ ∈ GAMMA_SWEEP on the same 10 Garnet seeds with the
same step size and budget; a Garnet still falling above 1e-3 at the last step leaves the point inconclusive (not
established), a stall refutes.

Clauses (2026-12-01, second; a pre-run audit found the quote's "proving gradient domination" reported, not judged,
under an as-written confirmation): the sentence is judged by its three clauses — the equivalence (the closed-form
adversary attains ρ_β, as written), gradient domination (read our-criterion: a bound over every policy with the
paper's constant, which was not read; the sampled ratio is reported) and global convergence of exact PG with the
direct parameterisation (part (iv) and the envelope PG (ii), as written). By the clause rule the undecided domination
clause leaves the sentence inconclusive unless a clause read as written is refuted. The sweep's step budget scales
with 1/(1 − γ).

Protocol: kind=theorem, extension=False — Donsker–Varadhan duality, the envelope PG and the paper's convergence theorem
are checked numerically (they fail only through a bug or a false theorem; relabelled identity → theorem on
2026-11-30, since they are the paper's own results); instances = the 10 Garnets of (iv), each
holding when (i)–(iii) held and projected PG reached J*_β within 1e-3.
Scope (stated 2026-12-02; a referee of the seed-21 ledger, F8; no rule changed): with the domination clause read
our-criterion, the sentence is undecided whatever the run gives unless a clause read as written is refuted — the record
is inconclusive by construction until the paper's domination constant is read. A search on 2026-12-02 found the paper
(later titled "Soft Robust MDPs and Risk-Sensitive MDPs: Equivalence, Policy Gradient, and Sample Complexity", ICLR 2024,
arXiv 2306.11626, OpenReview dEz3ge8QSo) but not its body; its reviews place the domination lemma between the policy
gradient theorem and the convergence theorem (Theorem 3, Lemma 2, Theorem 4 of the submitted version).
"""
from __future__ import annotations

import numpy as np
import torch

from ...exact import (entropic_risk, entropic_worst_case, risk_sensitive_objective, risk_sensitive_policy_gradient,
                      risk_sensitive_value_iteration)
from ...policies import DirectPolicy, TabularSoftmax, project_simplex
from ...problems import garnet
from ..record import Claim, Evidence, RunContext, clause, sweep_point
from ..registry import register_claim
from ..style import new_figure, save_figure

ID = "L117-entropic-risk-kl-robust"
BETA = 2.0
GAMMA = 0.9  #: discount of the convergence part (iv)
BETA_SWEEP = (0.5, 8.0)  #: risk parameters swept in (iv) (declared range [0.5, 8])
GAMMA_SWEEP = (0.8, 0.95)  #: discounts swept in (iv) (declared range [0.8, 0.95])


def _dv_numeric(x: np.ndarray, p: np.ndarray, beta: float) -> float:
    """min_Q E_Q x + KL(Q‖P)/β by entropic mirror descent on the simplex, evaluated by the objective itself (not by the
    closed form ρ_β): log Q ← (1 − λ) log Q + λ (log P − β x), renormalised, with λ = η/β = 1/2 — the mirror step
    −η ∇f(Q) = −η (x + (log Q − log P + 1)/β) up to the normalising constant — from Q = P, 200 steps (a contraction by
    1/2 per step in log-space: exact to float64 round-off). Revision 2026-12-01 (before the run at seed 12): SLSQP over the
    simplex stopped up to 1.8e-6 above the minimum at full scale, so this check of our code failed on the tool."""
    keep = p > 0
    xs, lps = x[keep], np.log(p[keep])
    lq = lps.copy()
    for _ in range(200):
        lq = 0.5 * lq + 0.5 * (lps - beta * xs)
        lq -= lq.max() + np.log(np.exp(lq - lq.max()).sum())
    q = np.exp(lq)
    return float(q @ xs + (q * (lq - lps)).sum() / beta)


def _convergence(seed: int, beta: float, gamma: float, steps: int, random_policies: int) -> dict:
    """Part (iv) on 10 Garnets (S = 5, A = 3, discount ``gamma``, risk ``beta``): projected exact gradient ascent (η = 0.05)
    from uniform π, the value gap J*_β − J_β along it, which Garnets stalled (gap > 1e-3 and not 1% below its value at
    half time) or are still falling above 1e-3, and the gradient-domination ratio at ``random_policies`` random π each."""
    gaps, ratios, curves = [], [], []
    for i in range(10):
        mdp = garnet(n_states=5, n_actions=3, branching=3, discount=gamma, seed=900 + seed * 10 + i)
        v_star, _ = risk_sensitive_value_iteration(mdp, beta)
        j_star = float((mdp.initial * v_star).sum())
        pol = DirectPolicy(5, 3)
        pi = torch.full((5, 3), 1 / 3, dtype=torch.float64)
        curve = []
        for t in range(steps):
            pi = project_simplex(pi + 0.05 * risk_sensitive_policy_gradient(mdp, pol, pi, beta))
            if t % 10 == 0 or t == steps - 1:
                curve.append(j_star - float(risk_sensitive_objective(mdp, pi, beta)))
        gaps.append(curve[-1])
        curves.append(curve)
        for _ in range(random_policies):
            p = torch.distributions.Dirichlet(torch.ones(5, 3, dtype=torch.float64)).sample()
            gr = risk_sensitive_policy_gradient(mdp, pol, p, beta)
            best = float((gr.max(-1).values - (p * gr).sum(-1)).sum())
            ratios.append((j_star - float(risk_sensitive_objective(mdp, p, beta))) / max(best, 1e-300))
    half = [c[len(c) // 2] for c in curves]
    stalled = [i for i, (gT, gh) in enumerate(zip(gaps, half)) if gT > 1e-3 and gT >= 0.99 * gh]
    unresolved = [i for i, gT in enumerate(gaps) if gT > 1e-3 and i not in stalled]
    return {"gaps": gaps, "ratios": ratios, "curves": curves, "stalled": stalled, "unresolved": unresolved}


def run(ctx: RunContext) -> Evidence:
    s = ctx.settings
    g = torch.Generator().manual_seed(ctx.seed)
    rng = np.random.default_rng(ctx.seed)
    failures = []
    # (i) duality
    dv_err, dv_star_err, below = 0.0, 0.0, 0.0
    for _ in range(s["instances"]):
        p = rng.dirichlet(np.ones(6))
        x = rng.normal(size=6)
        beta = 10 ** rng.uniform(-1, 1)
        closed = float(entropic_risk(torch.from_numpy(x), torch.from_numpy(p), beta))
        q = entropic_worst_case(torch.from_numpy(x), torch.from_numpy(p), beta).numpy()
        star = float(q @ x + (q * (np.log(q) - np.log(p))).sum() / beta)
        sc = _dv_numeric(x, p, beta)
        dv_err = max(dv_err, abs(sc - closed))
        dv_star_err = max(dv_star_err, abs(star - closed))
        below = max(below, closed - sc)
    code_checks = []  # the numerical minimum is a tool: its misses are checks of our code, never a counterexample (2026-12-01)
    if dv_star_err > 1e-12:
        failures.append(f"duality: the closed-form Q* misses ρ_β by {dv_star_err:.2g}")
    if dv_err > 1e-6 or below > 1e-9:
        code_checks.append(f"duality: the numerical minimum off the closed form by {dv_err:.2g} (below it by {below:.2g})")
    # (ii) envelope PG vs finite differences
    pg_err = 0.0
    for i in range(20):
        mdp = garnet(n_states=5, n_actions=3, branching=3, discount=0.9, seed=ctx.seed * 100 + i)
        pol = TabularSoftmax(5, 3)
        th = pol.random_params(generator=g)
        grad = risk_sensitive_policy_gradient(mdp, pol, th, BETA)
        fd = torch.zeros_like(th)
        h = 1e-6
        for j in range(th.numel()):
            e = torch.zeros(th.numel(), dtype=th.dtype)
            e[j] = h
            e = e.view_as(th)
            fd.view(-1)[j] = (risk_sensitive_objective(mdp, pol.probs(th + e), BETA) - risk_sensitive_objective(mdp, pol.probs(th - e), BETA)) / (2 * h)
        pg_err = max(pg_err, float((grad - fd).abs().max() / grad.abs().max()))
    if pg_err > 1e-6:
        failures.append(f"envelope PG ≠ finite differences (rel err {pg_err:.2g})")
    # (iii) the robust Bellman operator (inner adversary by a numerical minimum) equals the risk-sensitive operator, at random V and at V*
    rvi_err = 0.0
    for i in range(3):
        mdp = garnet(n_states=4, n_actions=2, branching=3, discount=0.9, seed=500 + ctx.seed * 10 + i)
        v_star, _ = risk_sensitive_value_iteration(mdp, BETA)
        P, r = mdp.transitions.numpy(), mdp.rewards.numpy()
        for v in [v_star.numpy()] + [rng.normal(size=4) * 3 for _ in range(s["operator_inputs"])]:
            robust = np.array([[r[a_s, a] + 0.9 * _dv_numeric(v, np.clip(P[a_s, a], 1e-300, None) / np.clip(P[a_s, a], 1e-300, None).sum(), BETA)
                                for a in range(2)] for a_s in range(4)]).max(1)
            risk = (mdp.rewards + 0.9 * entropic_risk(torch.from_numpy(v).expand(4, 2, 4), mdp.transitions, BETA)).max(-1).values
            rvi_err = max(rvi_err, float(np.abs(robust - risk.numpy()).max()))
    if rvi_err > 1e-6:
        code_checks.append(f"robust operator (numerical inner minimum) ≠ risk operator (err {rvi_err:.2g})")
    identities_held = not failures and not code_checks
    # (iv) projected PG with the direct parameterisation, and the gradient-domination ratio
    conv = _convergence(ctx.seed, BETA, GAMMA, s["steps"], s["random_policies"])
    gaps, ratios, curves, stalled, unresolved = (conv[k] for k in ("gaps", "ratios", "curves", "stalled", "unresolved"))
    if stalled:
        failures.append(f"projected PG stalled above J* − 1e-3 on Garnets {stalled}")
    verdict = "refuted" if failures else ("inconclusive" if unresolved else "confirmed")
    # the sentence's clauses (2026-12-01, second; a pre-run audit: the quote says "proving gradient domination", which
    # the rule only reported, so a confirmation "as written" decided a clause nobody judged)
    equivalence = "refuted" if dv_star_err > 1e-12 else "confirmed"
    max_ratio = float(max(ratios)) if ratios else float("nan")

    def clauses_at(stalled_: list, unresolved_: list) -> list[dict]:
        convergence = ("refuted" if (stalled_ or pg_err > 1e-6) else ("inconclusive" if unresolved_ else "confirmed"))
        return [clause("establishes its equivalence with a class of regularized robust MDP (RMDP) problems ... "
                       "KL-divergence regularization term (or equivalently the risk-sensitive MDP with an entropy risk "
                       "measure)", equivalence),
                clause("proving gradient domination", "confirmed" if np.isfinite(max_ratio) else "refuted",
                       "our-criterion", max_ratio_sampled=max_ratio,
                       note=("domination is a bound over every policy with the paper's constant, which was not read; a "
                             "finite ratio over sampled policies is consistent with it but cannot establish it")),
                clause("global convergence of the exact policy gradient method under the tabular setting with direct "
                       "parameterization", convergence, still_falling=unresolved_, stalled=stalled_)]

    clauses = clauses_at(stalled, unresolved)
    # sensitivity (added 2026-12-01, second; a referee of the seed-13 ledger: no constant declared, none swept): the
    # risk parameter β and the discount γ of (iv), on the same 10 Garnet seeds; (i)–(iii) as at the main setting (the
    # duality is checked over β = 10^U(−1, 1) already)
    sens = []
    for constant, value, beta, gamma in [("beta", b, b, GAMMA) for b in BETA_SWEEP] + [("gamma", g_, BETA, g_) for g_ in GAMMA_SWEEP]:
        # the step budget scales with the effective horizon 1/(1 − γ) (never below the main one), so a point is not
        # left undecided by the budget alone (a pre-run audit, same day)
        steps = max(s["steps"], int(round(s["steps"] * (1 - GAMMA) / (1 - gamma))))
        c = _convergence(ctx.seed, beta, gamma, steps, 0)
        v = "refuted" if (failures or c["stalled"]) else ("inconclusive" if c["unresolved"] else "confirmed")
        sens.append(sweep_point(constant, value, v, instances=len(c["gaps"]), max_final_gap=float(max(c["gaps"])),
                                clauses=clauses_at(c["stalled"], c["unresolved"]), steps=steps,
                                stalled=c["stalled"], still_falling=c["unresolved"]))
    return Evidence(
        verdict=verdict, statistic=float(len(failures)),
        threshold="Q* attains ρ_β within 1e-12; envelope PG = FD (1e-6 rel.); PG gap < 1e-3; code checks: DV by a numerical minimum within 1e-6, robust VI (numerical inner minimum) = risk VI within 1e-6",
        n_samples=0,
        summary=(f"Donsker–Varadhan exact on {s['instances']} instances (numerical minimum within {dv_err:.1g}); envelope-theorem PG = finite differences "
                 f"(rel err {pg_err:.1g}); robust Bellman operator with a numerical KL-penalised adversary = risk operator ({rvi_err:.1g}); projected exact PG "
                 f"(direct) gap to J*_β after {s['steps']} steps: max {max(gaps):.1g} over 10 Garnets ({len(unresolved)} still falling above 1e-3); gradient-domination ratio ≤ {max(ratios):.3g} over "
                 f"{len(ratios)} random policies" if not failures else "; ".join(failures[:5])),
        details={"failures": failures, "dv_error": dv_err, "dv_star_error": dv_star_err, "pg_fd_error": pg_err, "robust_operator_error": rvi_err, "unresolved": unresolved,
                 "final_gaps": gaps, "domination_ratio_max": float(max(ratios)), "domination_ratio_median": float(np.median(ratios))},
        instances=[identities_held and gT <= 1e-3 for gT in gaps],
        sensitivity=sens,
        measurements={"steps_axis": np.array([t for t in range(s["steps"]) if t % 10 == 0 or t == s["steps"] - 1]),
                      "gap_curves": np.array(curves), "domination_ratios": np.array(ratios)},
        code_checks=code_checks, clauses=clauses,
    )


def _draw(m: dict, figure_dir: str) -> str:
    """The figure, from the stored measurements: the value gap along projected PG, and gradient-domination ratios."""
    fig, (a1, a2) = new_figure(ID, "Entropic risk ⇔ KL-robust MDP: exact PG with direct parameterisation", ncols=2,
                               width=4.6)
    for c in m["gap_curves"]:
        a1.semilogy(m["steps_axis"], np.maximum(c, 1e-16), lw=0.8)
    a1.set_xlabel("projected gradient-ascent step (η = 0.05)")
    a1.set_ylabel("J*_β − J_β(π_t) (risk-sensitive value gap)")
    a2.hist(np.log10(np.maximum(m["domination_ratios"], 1e-12)), bins=40)
    a2.set_xlabel("log10 (J* − J(π)) / max_π′ ⟨π′ − π, ∇J(π)⟩ over random π")
    a2.set_ylabel("number of random policies")
    return save_figure(fig, figure_dir, ID)


register_claim(Claim(
    id=ID, paper="Regularized Robust MDPs and Risk-Sensitive MDPs: Equivalence, Policy Gradient, and Sample Complexity",
    seed_line=117, draw=_draw, figure_family="divergences",
    claim="establishes its equivalence with a class of regularized robust MDP (RMDP) problems; gradient domination and global "
          "convergence of the exact policy gradient method under the tabular setting with direct parameterization",
    theme="RISK, KL", exact="entropic-risk Bellman equation, its robust (KL-penalised adversary) form, envelope-theorem PG, risk VI",
    monte_carlo="none (exact identities; entropic mirror descent for the inner adversary)",
    test="duality, PG = FD, robust VI = risk VI, projected PG reaches J*_β; domination ratio reported",
    scales={"quick": {"instances": 200, "steps": 300, "random_policies": 100, "operator_inputs": 5},
            "full": {"instances": 5000, "steps": 3000, "random_policies": 2000, "operator_inputs": 50}},
    run=run, source="Donsker–Varadhan duality (CLAIMS.md row L117); envelope-theorem gradient derived in pgtheory.exact.risk",
    kind="theorem",
    reading="as-written",
    reading_note=("the paper body was not read; the sentence names its objects (the entropic risk measure, the "
                  "KL-penalised robust MDP, exact PG with direct parameterization), whose standard definitions "
                  "(Donsker-Varadhan duality) make the equivalence and the global convergence checkable as written; "
                  "the gradient-domination clause is read as ours (see its clause), so while the paper's constant is "
                  "unread the sentence cannot be confirmed: the record is inconclusive unless a clause read as written "
                  "is refuted"),
    quote="establishes its equivalence with a class of regularized robust MDP (RMDP) problems; proving gradient domination and "
          "global convergence of the exact policy gradient method under the tabular setting with direct parameterization; "
          "KL-divergence regularization term (or equivalently the risk-sensitive MDP with an entropy risk measure)",
    quote_source="seed abstract (line 117), via shared/CLAIMS.md",
    extension=False, unbiasedness=False, constants={"beta": [0.5, 8.0],  # risk parameter of (iv)
                                                    "gamma": [0.8, 0.95]},  # discount of (iv)
))
