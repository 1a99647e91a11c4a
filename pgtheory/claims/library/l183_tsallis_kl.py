r"""L183 (Generalized Munchausen RL with Tsallis KL): "q = 1 corresponds to the standard KL divergence; q > 1
provides a range of new options" and "we characterize the types of policies learned under the Tsallis KL".

Design (fixed before running):
(i) divergence: ``pairs`` Dirichlet(1) pairs (π, μ) over K = 5 outcomes; q ∈ Q_GRID. D_q ≥ 0 and D_q(π‖π) = 0 in
    the package's '1-q' convention; max|D_{1±ε} − KL| falls ≥ 50-fold when ε goes 1e-3 → 1e-5 (the limit, at its
    linear rate); the 'q-1' convention's sign recorded for q > 2.
(ii) Monte Carlo: for q ∈ {0.5, 1, 1.5, 2, 3}, ``samples`` draws y ∼ π of −ln_q(μ/π) for one fixed pair; unbiased
    at α = 1e-6 (Bonferroni z); twin: the 'q-1' estimator is rejected against the '1-q' truth where powered ≥ 0.99.
(iii) greedy policies: argmax ⟨π,Q⟩ − τD_q(π‖μ) (closed form + bisection) against scipy SLSQP on ``greedy`` random
    (Q ~ N(0, I), μ ~ Dirichlet) problems with K = 5 per q ∈ {0.5, 1.5, 2, 3}; closed form must be at least as good
    (objective ≥ SLSQP − 1e-7); support size against q and τ.
(iv) exact Tsallis-KL value iteration on a Garnet (S = 10, A = 4, τ = 0.5, 50 iterations): the implicit-averaging
    identity π_{k+1} = G_q(Σ_j Q_j; π_0) holds to 1e-10 at q = 1; its deviation at q ≠ 1 is reported.
Verdict: confirmed if (i)–(iii) hold and (iv) holds at q = 1 (the deviations for q ≠ 1 characterise the new
policies; the Atari improvement is not tested here).
Protocol: kind=identity, extension=False, unbiasedness=True — q → 1 gives KL, D_q ≥ 0, the greedy closed form and
E_π[−ln_q(μ/π)] = D_q are mathematics (fail only through a bug); the MC estimator's unbiasedness is judged by equivalence
(margin 1% of D_q) at every q tested, with a near twin D_q·1.01 and the far 'q-1'-convention twin (q ≠ 1), and the
worst q is reported (revised 2026-11-30, issue 10: it was judged on the first q only). The Monte Carlo sample size is
planned from that margin (revised 2026-11-30, before the next full run: the third round's fixed 5·10⁶ left the worst q's
near twin unpowered): a pilot on a stream of its own, ``required_sample_size`` for a bias of 1% of D_q at power 0.99,
×1.2, within [samples, max_samples]; where the cap binds the near twin may stay unpowered and the verdict inconclusive.

Revision 2026-12-01 (multiplicity; referee of the paper draft; before the confirmatory run at seed 8): the five
equivalence intervals (one per q; the verdict takes the worst) were at 0.999, their twins and the sample-size planning
for the near twin at α = 1e-6; now 1 − ctx.alpha/k with k = 10 = 5 bias tests + 5 equivalence intervals (one each per
q ∈ {0.5, 1, 1.5, 2, 3}), and the equivalence twins at α_d = ctx.alpha/k (the level of the decision they vouch for);
``required_sample_size`` stays at min(α_d, PLANNING_ALPHA) = 1e-6, so the planned sample did not shrink. The 5 bias tests stay at α = 1e-6, stricter than ctx.alpha/10 ≈ 3.9e-5; the 'q-1' twins
that must be rejected vouch for those bias tests and keep 1e-6 (not counted in k). The exact checks (i), (iii), (iv)
make no statistical decision.
"""
from __future__ import annotations

import numpy as np
import torch
from scipy.optimize import minimize

from ...estimators import tsallis_kl_estimate
from ...exact import kl_divergence, tsallis_kl, tsallis_kl_greedy, tsallis_kl_value_iteration
from ...problems import garnet
from ...stats import bias_test, detection_power, required_sample_size
from ..protocol import PLANNING_ALPHA, equivalence_verdict, twin, worst_equivalence
from ..record import Claim, DeclaredMargin, Evidence, RunContext
from ..registry import register_claim
from ..style import new_figure, save_figure

ID = "L183-tsallis-kl"
ALPHA = 1e-6
PILOT = 20_000  #: draws of the pilot that plans the Monte Carlo sample size
MARGIN_REL = 0.01  # equivalence margin: 1% of the exact D_q(π‖μ) — a bias of practical size in a divergence
Q_GRID = (0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0)


def _dirichlet(n, k, g):
    x = -torch.log(torch.rand(n, k, generator=g, dtype=torch.float64))
    return x / x.sum(-1, keepdim=True)


def _greedy_objective(pi, Q, mu, tau, q):
    return float((pi * Q).sum() - tau * tsallis_kl(pi, mu, q))


def _slsqp(Q, mu, tau, q):
    K = len(Q)

    def neg(x):
        x = np.clip(x, 0, None)
        x = x / x.sum()
        return -_greedy_objective(torch.as_tensor(x), Q, mu, tau, q)

    res = minimize(neg, np.full(K, 1.0 / K), method="SLSQP", bounds=[(0, 1)] * K,
                   constraints=[{"type": "eq", "fun": lambda x: x.sum() - 1}], options={"ftol": 1e-12, "maxiter": 500})
    return -res.fun


def run(ctx: RunContext) -> Evidence:
    s = ctx.settings
    g = torch.Generator().manual_seed(ctx.seed)
    failures = []
    # (i) divergence properties
    pi, mu = _dirichlet(s["pairs"], 5, g), _dirichlet(s["pairs"], 5, g)
    kl = kl_divergence(pi, mu)
    dq = {q: tsallis_kl(pi, mu, q) for q in Q_GRID}
    dq_alt = {q: tsallis_kl(pi, mu, q, convention="q-1") for q in Q_GRID}
    min_dq = {q: float(v.min()) for q, v in dq.items()}
    if min(min_dq.values()) < 0:
        failures.append("D_q < 0 in the '1-q' convention")
    self_div = max(float(tsallis_kl(pi, pi, q).abs().max()) for q in Q_GRID)
    if self_div > 1e-12:
        failures.append(f"D_q(π‖π) = {self_div:.2g}")
    # D_{1+ε} − KL = ε ∂_q D_q + O(ε²): the limit holds iff the error falls linearly with ε (∂_q D_q is unbounded over pairs)
    err = {e: float((tsallis_kl(pi, mu, 1 + e) - kl).abs().max()) for e in (1e-3, -1e-3, 1e-5, -1e-5)}
    limit_err = max(err[1e-5], err[-1e-5])
    limit_order = max(err[1e-5] / err[1e-3], err[-1e-5] / err[-1e-3])
    if limit_order > 0.02:
        failures.append(f"q → 1: error shrank only by {limit_order:.2g} when ε fell 100-fold")
    negative_alt = {q: float((v < 0).double().mean()) for q, v in dq_alt.items()}
    # (ii) Monte Carlo estimator; the sample size is planned from the declared margin (revision 2026-11-30, before the
    # next full run: the third round's fixed 5e6 left the worst q's near twin unpowered): a pilot of PILOT draws from a
    # stream of its own gives each q's per-sample s.d.; n is the largest required_sample_size for a bias of the margin
    # (1% of D_q) at power 0.99 and α = 1e-6, times 1.2 for the pilot's s.d. error, within [samples, max_samples];
    # since 2026-12-01 (multiplicity) planned at the equivalence's α_d = ctx.alpha/k, k = 5 bias tests + 5 equivalences
    mc_qs = (0.5, 1.0, 1.5, 2.0, 3.0)
    n_decisions = 2 * len(mc_qs)
    alpha_eq = ctx.alpha / n_decisions
    level = 1 - alpha_eq
    p1, m1 = pi[0], mu[0]
    gp = torch.Generator().manual_seed(ctx.seed + 1_000_003)
    lr_pilot = (m1.log() - p1.log())[torch.multinomial(p1, PILOT, replacement=True, generator=gp)]
    needed = {q: required_sample_size(MARGIN_REL * abs(float(tsallis_kl(p1, m1, q))),
                                      float(tsallis_kl_estimate(lr_pilot, q).std()),
                                      alpha=min(alpha_eq, PLANNING_ALPHA), power=0.99)
              for q in mc_qs}
    n = int(min(max(s["samples"], 1.2 * max(needed.values())), s["max_samples"]))
    y = torch.multinomial(p1, n, replacement=True, generator=g)
    lr = (m1.log() - p1.log())[y]
    mc, eq_by_q = {}, {}
    for q in mc_qs:
        est = tsallis_kl_estimate(lr, q)
        truth = tsallis_kl(p1, m1, q)
        mc[q] = {"truth": float(truth), "mean": float(est.mean()), "sd": float(est.std())}
        res = bias_test(est[:, None], truth[None])
        if res.pvalue <= ALPHA:
            failures.append(f"D_q estimator biased at q={q}")
        alt = tsallis_kl_estimate(lr, q, convention="q-1")
        gap = float(tsallis_kl(p1, m1, q, convention="q-1") - truth)
        powered = detection_power(np.array([gap]), np.array([float(alt.std())]), n, alpha=ALPHA) >= 0.99
        mc[q]["far_twin_powered"] = bool(powered)  # the q-1-convention twin; the near twin is in the equivalence record
        if powered and bias_test(alt[:, None], truth[None]).pvalue > ALPHA:
            failures.append(f"twin: 'q-1' estimator not told apart at q={q}")
        margin = MARGIN_REL * abs(float(truth))
        eq_twins = [twin("same samples against D_q·(1 + 1%)", est[:, None], truth[None], truth[None] * (1 + MARGIN_REL),
                         near=True, alpha=alpha_eq)]
        if q != 1.0:  # the two q-log conventions coincide at q = 1
            eq_twins.append(twin("'q-1' estimator against the '1-q' D_q (existing twin)", alt[:, None],
                                 tsallis_kl(p1, m1, q, convention="q-1")[None], truth[None], near=False, alpha=alpha_eq))
        eq_by_q[q] = equivalence_verdict(res, margin, eq_twins, confidence_level=level)
    eq_part, eq = worst = worst_equivalence(eq_by_q.values())
    eq_q = next(q for q, v in eq_by_q.items() if v is worst)
    # (iii) greedy policies
    greedy_gap, support = [], {}
    for q in (0.5, 1.5, 2.0, 3.0):
        for j in range(s["greedy"]):
            Q = torch.randn(5, generator=g, dtype=torch.float64)
            m = _dirichlet(1, 5, g)[0]
            closed = tsallis_kl_greedy(Q, m, 0.5, q)
            greedy_gap.append(_slsqp(Q, m, 0.5, q) - _greedy_objective(closed, Q, m, 0.5, q))
    if max(greedy_gap) > 1e-7:
        failures.append(f"closed-form greedy worse than SLSQP by {max(greedy_gap):.2g}")
    taus = (0.1, 0.3, 1.0, 3.0)
    Qs = torch.randn(2000, 5, generator=g, dtype=torch.float64)
    unif = torch.full((2000, 5), 0.2, dtype=torch.float64)
    for tau in taus:
        support[tau] = {q: float((tsallis_kl_greedy(Qs, unif, tau, q) > 0).sum(-1).double().mean()) for q in Q_GRID}
    # (iv) implicit averaging
    mdp = garnet(n_states=10, n_actions=4, branching=3, discount=0.9, seed=ctx.seed)
    averaging = {}
    for q in (0.5, 1.0, 1.5, 2.0, 3.0):
        r = tsallis_kl_value_iteration(mdp, 0.5, q, 50)
        averaging[q] = float((r.policies - r.averaged_policies).abs().max())
    if averaging[1.0] > 1e-10:
        failures.append(f"implicit averaging fails at q = 1 ({averaging[1.0]:.2g})")
    verdict = eq_part if not failures else "refuted"  # unbiasedness is confirmed only inside the margin with powered twins
    return Evidence(
        verdict=verdict, statistic=float(len(failures)),
        threshold=("D_q ≥ 0 ('1-q'), |D_{1±ε} − KL| linear in ε, MC unbiased at α = 1e-6 and within 1% of D_q at level "
                   f"1 − {ctx.alpha:.2g}/{n_decisions} for every q, greedy ≥ SLSQP − 1e-7, averaging at q = 1 within 1e-10"),
        n_samples=n + PILOT,  # draws (the five estimators share them)
        summary=(f"'1-q' convention: D_q ≥ 0 for all q ∈ {list(Q_GRID)} (min {min(min_dq.values()):.2g}), → KL at q = 1 "
                 f"(err {limit_err:.1g}); the 'q-1' convention is negative for q > 2 on {negative_alt[3.0]:.0%} (q = 3) of pairs and "
                 f"identically 0 at q = 2. Greedy policies: support {support[0.3][1.0]:.1f} → {support[0.3][3.0]:.1f} of 5 actions "
                 f"from q = 1 to 3 (τ = 0.3). Implicit averaging: exact at q = 1 ({averaging[1.0]:.1g}), off by "
                 f"{averaging[2.0]:.2f} at q = 2. MC estimator (worst q = {eq_q}): |bias| ≤ {eq.bias_bound:.3g} (level 1 − {alpha_eq:.2g}) against a margin "
                 f"{eq.margin:.3g} (1% of D_q), near twins powered/rejected {eq.twins.near_powered}/{eq.twins.near_rejected}. "
                 f"Atari gains not tested." if not failures else "; ".join(failures[:5])),
        details={"failures": failures, "min_dq": min_dq, "negative_fraction_q_minus_1": negative_alt, "limit_error": limit_err, "limit_error_ratio": limit_order,
                 "samples_planned": n, "samples_needed_by_q": {str(q): v for q, v in needed.items()},
                 "monte_carlo": mc, "greedy_gap_max": max(greedy_gap), "support": support, "averaging_deviation": averaging},
        instances=[not failures],  # one (π, μ) pair carries the MC rule; its equivalence is judged by the protocol
        sensitivity=[],
        equivalence=eq,
        measurements={"dq": np.array([[float(dq[q][i]) for q in Q_GRID] for i in range(3)]),
                      "dq_q_minus_1": np.array([[float(dq_alt[q][i]) for q in Q_GRID] for i in range(3)]),
                      "taus": np.array(taus), "support": np.array([[support[tau][q] for q in Q_GRID] for tau in taus]),
                      "averaging_q": np.array(sorted(averaging)),
                      "averaging_deviation": np.array([averaging[q] for q in sorted(averaging)])},
    )


def _draw(m: dict, figure_dir: str) -> str:
    """The figure, from the stored measurements: D_q in both conventions, greedy support sizes, averaging deviations."""
    fig, (a1, a2, a3) = new_figure(ID, "Tsallis KL: the q-log convention, sparse greedy policies, implicit averaging",
                                   ncols=3, width=4.6)
    qs = np.array(Q_GRID)
    for i in range(3):
        a1.plot(qs, m["dq"][i], "o-", ms=3, color=f"C{i}", label=f"pair {i}, ln_q: x^(1−q)")
        a1.plot(qs, m["dq_q_minus_1"][i], "s--", ms=3, color=f"C{i}", alpha=0.6, label=f"pair {i}, ln_q: x^(q−1)")
    a1.axhline(0, color="k", lw=0.6)
    a1.set_yscale("symlog", linthresh=0.1)
    a1.set_xlabel("entropic index q")
    a1.set_ylabel("D_q(π ‖ μ) (symlog; nats at q = 1)")
    a1.legend(fontsize=5)
    for tau, sup in zip(m["taus"], m["support"]):
        a2.plot(qs, sup, "o-", ms=3, label=f"τ = {float(tau)}")
    a2.set_xlabel("entropic index q")
    a2.set_ylabel("greedy policy: mean support size (of 5)")
    a2.legend(fontsize=6)
    a3.semilogy(m["averaging_q"], np.maximum(m["averaging_deviation"], 1e-17), "o-")
    a3.set_xlabel("entropic index q")
    a3.set_ylabel("max|π_k − G_q(Σ_j Q_j; π_0)|, 50 iterations")
    return save_figure(fig, figure_dir, ID)


register_claim(Claim(
    id=ID, paper="General Munchausen Reinforcement Learning with Tsallis Kullback-Leibler Divergence (Zhu et al. 2023)",
    seed_line=183, draw=_draw, figure_family="divergences",
    claim="q = 1 corresponds to the standard KL divergence; q > 1 provides a range of new options; we characterize the types of policies learned under the Tsallis KL",
    theme="TS, KL", exact="D_q both q-log conventions; regularised greedy policy (KKT + bisection vs SLSQP); Tsallis-KL value iteration",
    monte_carlo="−ln_q(μ/π) on samples of π (unbiasedness, variance against q)",
    test="D_q ≥ 0, = 0 iff equal, → KL at q = 1; MC unbiased (α = 1e-6) with a wrong-convention twin; greedy optimal; implicit averaging exact only at q = 1",
    scales={"quick": {"pairs": 2000, "samples": 200_000, "max_samples": 2_000_000, "greedy": 10},
            "full": {"pairs": 100_000, "samples": 5_000_000, "max_samples": 20_000_000, "greedy": 100}},
    run=run,
    source="Tsallis (1988) relative entropy; q-log convention pinned in pgtheory.exact.divergences. The paper's own q-log "
           "convention could not be read through `search` (abstract pages only); both conventions are reported.",
    kind="identity",
    verifies=(
        'Verified: "q = 1 corresponds to the standard KL divergence" (D_q -> KL as q -> 1, D_q >= 0), the '
        'greedy closed form and an unbiased Monte Carlo estimate of D_q. Not judged: "q > 1 provides a range '
        'of new options" and "we characterize the types of policies learned" (support sizes only reported).'),
    reading="by-construction",
    reading_note=("Kind identity: \"q -> 1 gives KL, D_q >= 0, the greedy closed form and E[-ln_q(mu/pi)] = D_q are mathematics (fail only through a bug)\"."),
    quote="q = 1 corresponds to the standard KL divergence; q > 1 provides a range of new options; We characterize the types "
          "of policies learned under the Tsallis KL",
    quote_source="seed abstract (line 183), via shared/CLAIMS.md",
    extension=False, unbiasedness=True, margin=DeclaredMargin(MARGIN_REL, "the exact D_q(π‖μ) of the instance"), constants={},
))
