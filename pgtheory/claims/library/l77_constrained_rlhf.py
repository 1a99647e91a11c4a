r"""L77 (constrained RLHF with composite reward models): constraining each component RM at its "proxy point" keeps every
RM within its useful range and improves the true (evaluation) utility over unconstrained composite optimisation.

Design (exact, no Monte Carlo). K responses; reference π_ref = softmax(ξ), ξ ~ N(0, 1); two component RMs with
correlation ρ across responses, R₁ = z₁, R₂ = ρz₁ + √(1 − ρ²)z₂ (z ~ N(0, 1) i.i.d.); a true utility with
overoptimisation beyond a usefulness point c: u(y) = Σ_i h(R_i(y)), h(r) = r − GAMMA·max(0, r − C_USEFUL)², and
U(π) = E_π u. Composite RLHF with fixed equal weights follows the KL path π_t ∝ π_ref exp(t(R₁ + R₂)), t ∈ [0, T_MAX]
(t = 1/β); the *proxy points* are θ_i = E_{π_t*} R_i at t* = argmax_t U(π_t) (the paper's "points" past which more
reward is associated with worse human ratings; here located exactly on a grid of PATH_POINTS values of t).
Methods compared at the strongest optimisation β = 1/T_MAX: (a) unconstrained composite (path end, overoptimised) and
(b) constrained: max Σ E R_i − β KL s.t. E R_i ≤ θ_i, solved exactly by its convex dual
(:mod:`pgtheory.exact.constrained_tilt`); its optimum is a tilt with weights (1 − λ_i)/β, λ the Lagrange multipliers.
Judged (since 2026-12-01, see the revision below): (c) the constrained policy with thresholds θ_i^single located on
each RM's own path π ∝ π_ref exp(tR_i) (θ_i^single = E R_i where U peaks on that path), which are not read off the
composite path whose end is judged. Rule: an instance holds when U(c) > U(a) + U_TOL. Confirmed if all instances hold;
refuted if fewer than half hold; qualified otherwise. Instances without overoptimisation on the composite path
(t* = T_MAX) have nothing to prevent and are reported apart (not counted).
Code checks (not decided): every constrained solve meets its KKT conditions to KKT_TOL; (b) with the composite proxy
points equals the oracle early-stopped U(π_t*) to EARLY_STOP_TOL on every counted instance (the moment-matching tilt
is unique and π_t* is such a tilt, so (b)'s gain over (a) is that of oracle early stopping, by construction); and a
twin that must fail the rule: thresholds at the path end θ_i = E_{π_{T_MAX}} R_i (the constraints never bind), where
the constrained optimum is the unconstrained one, U equal to U(a) to EARLY_STOP_TOL, so the rule holds on no instance.
Also measured: how the proxy points move with ρ; U(b) and its gain over (a).
Sweeps: ρ ∈ RHO_SWEEP, T_MAX ∈ TMAX_SWEEP, C_USEFUL ∈ C_SWEEP.
Protocol: kind=empirical, extension=False — the quoted sentence (each RM stays in range → better evaluation) is tested
directly in the toy. Simplified: an exact bandit instead of PPO on an LLM; judged proxy points located exactly on each RM's own
KL path (the paper finds them from composite training runs); inequality constraints (the paper also has equality variants).
Not verified in the paper body: the exact constrained objective and how proxy points were obtained (abstract only).

Revision 2026-12-01 (referee's audit s6d B2, before any confirmatory run on the new rule; no full run of this claim
exists): the rule was judged on (b), thresholds read off the same composite path, where "U(b) > U(a)" holds by
construction on every counted instance (U(b) = the oracle early stop = the path maximum); only numerics could fail it,
so "confirmed" was a check of our code, not evidence. The rule now judges (c), single-RM thresholds (the less
favourable choice; it was already computed and shown, 71% at the development quick seed), the equality U(b) = U(early
stop) became a code check, a KKT failure is a code check (a solver failure, not evidence about the paper) instead of a
non-holding instance, and the end-of-path twin was added. Its first quick run (development seed) showed U_TOL = 1e-9
below the solver's accuracy: the twin, equal to (a) in exact arithmetic, came out above U(a) by up to 1.2e-8 and
"held" on 2/31 instances, so U_TOL is now EARLY_STOP_TOL = 1e-6 (stricter for the judged rule; no judged gain lies
between the two tolerances at that seed). Also (referee's suggestion): the sweep instances come from a
stream of their own (seed·1000 + 1), not from seed + 1, which is the next run seed's main stream.
"""
from __future__ import annotations

import numpy as np
import torch

from ...exact.constrained_tilt import constrained_kl_rlhf, tilt
from ..record import Claim, Evidence, RunContext, sweep_point
from ..registry import register_claim
from ..style import new_figure, save_figure

ID = "L77-constrained-rlhf-proxy-points"
RESPONSES = 64  #: enumerable responses
GAMMA = 1.0  #: curvature of the overoptimisation penalty (utility units per reward unit²)
C_USEFUL, C_SWEEP = 1.0, (0.5, 1.0, 1.5)  #: reward level (in RM standard deviations) past which the RM stops helping
RHO_MAIN, RHO_SWEEP = 0.5, (0.0, 0.5, 0.9)  #: correlation of the two component RMs across responses
T_MAX, TMAX_SWEEP = 10.0, (5.0, 10.0, 20.0)  #: strongest optimisation, 1/β
PATH_POINTS = 401  #: grid of t ∈ [0, T_MAX] on which the proxy points are located
KKT_TOL = 1e-6  #: constraint satisfaction / complementary slackness of the exact dual solution
EARLY_STOP_TOL = 1e-6  #: |U(b) − U(early stop)| and |U(twin) − U(a)|: utilities of tilts equal to a KKT_TOL solve
U_TOL = EARLY_STOP_TOL  #: U(c) must exceed U(a) by more than the accuracy of a KKT_TOL solve (revised 2026-12-01)


def utility(rewards: torch.Tensor, c: float) -> torch.Tensor:
    """u(y) = Σ_i [R_i − GAMMA·max(0, R_i − c)²] ([m, K] → [K])."""
    return (rewards - GAMMA * (rewards - c).clamp(min=0) ** 2).sum(0)


def instance(gen: torch.Generator, rho: float, t_max: float, c: float) -> dict[str, float]:
    """One random instance: proxy points, U of the unconstrained / constrained / early-stopped policies."""
    log_ref = torch.log_softmax(torch.randn(RESPONSES, generator=gen, dtype=torch.float64), -1)
    z = torch.randn(2, RESPONSES, generator=gen, dtype=torch.float64)
    rewards = torch.stack([z[0], rho * z[0] + (1 - rho ** 2) ** 0.5 * z[1]])
    u = utility(rewards, c)
    ts = torch.linspace(0, t_max, PATH_POINTS, dtype=torch.float64)
    path = tilt(log_ref, ts[:, None] * torch.ones(1, 2, dtype=torch.float64), rewards)  # [T, K]
    U_path = path @ u
    i_star = int(U_path.argmax())
    theta = rewards @ path[i_star]
    sol = constrained_kl_rlhf(log_ref, rewards, 1 / t_max, theta)
    # each RM alone: where U peaks along π ∝ π_ref exp(t R_i) (for the correlation measurement)
    single = []
    for i in range(2):
        w = torch.zeros(PATH_POINTS, 2, dtype=torch.float64)
        w[:, i] = ts
        p_i = tilt(log_ref, w, rewards)
        single.append(float(rewards[i] @ p_i[int((p_i @ u).argmax())]))
    sol_single = constrained_kl_rlhf(log_ref, rewards, 1 / t_max, torch.tensor(single, dtype=torch.float64))
    sol_end = constrained_kl_rlhf(log_ref, rewards, 1 / t_max, rewards @ path[-1])  # twin: constraints never bind
    return {"overopt": float(i_star < PATH_POINTS - 1), "t_star": float(ts[i_star]),
            "theta1": float(theta[0]), "theta2": float(theta[1]), "single1": single[0], "single2": single[1],
            "U_ref": float(U_path[0]), "U_uncon": float(U_path[-1]), "U_early": float(U_path[i_star]),
            "U_con": float(sol.policy @ u), "U_con_single": float(sol_single.policy @ u), "U_con_end": float(sol_end.policy @ u),
            "kkt": max(sol.kkt_residual, sol_single.kkt_residual, sol_end.kkt_residual), "lam1": float(sol.multipliers[0]),
            "lam2": float(sol.multipliers[1])}


def _measure(seed: int, count: int, rho: float, t_max: float, c: float) -> dict[str, np.ndarray]:
    gen = torch.Generator().manual_seed(seed)
    rows = [instance(gen, rho, t_max, c) for _ in range(count)]
    return {k: np.array([r[k] for r in rows]) for k in rows[0]}


def _rule(m: dict[str, np.ndarray], key: str = "U_con_single") -> np.ndarray:
    """Per instance: the constrained policy ``key`` beats the unconstrained composite by more than U_TOL."""
    return m[key] > m["U_uncon"] + U_TOL


def _code_checks(m: dict[str, np.ndarray]) -> list[str]:
    """Failed checks of our code: KKT of every solve, U(b) = U(early stop), the end-of-path twin fails the rule."""
    counted, out = m["overopt"] > 0, []
    if not (m["kkt"] <= KKT_TOL).all():
        out.append(f"a constrained solve missed its KKT conditions (max residual {m['kkt'].max():.1e} > {KKT_TOL:g})")
    gap = np.abs(m["U_con"] - m["U_early"])[counted]
    if gap.size and gap.max() > EARLY_STOP_TOL:
        out.append(f"U(constrained at composite proxy points) ≠ U(oracle early stop): gap {gap.max():.1e}")
    twin_gap = np.abs(m["U_con_end"] - m["U_uncon"])
    if twin_gap.max() > EARLY_STOP_TOL or _rule(m, "U_con_end")[counted].any():
        out.append(f"the end-of-path twin (constraints never binding) did not fail the rule (max |U − U_uncon| "
                   f"{twin_gap.max():.1e})")
    return out


def _decide(m: dict[str, np.ndarray]) -> tuple[str, np.ndarray, np.ndarray]:
    counted = m["overopt"] > 0
    holds = _rule(m)
    h = holds[counted]
    if h.size == 0:
        return "inconclusive", holds, counted
    return ("confirmed" if h.all() else ("refuted" if h.mean() < 0.5 else "qualified")), holds, counted


def run(ctx: RunContext) -> Evidence:
    count, sweep_count = ctx.settings["instances"], ctx.settings["sweep_instances"]
    m = _measure(ctx.seed, count, RHO_MAIN, T_MAX, C_USEFUL)
    verdict, holds, counted = _decide(m)
    checks = _code_checks(m)
    sens, by_rho = [], {}
    for name, values in (("rho", RHO_SWEEP), ("T_MAX", TMAX_SWEEP), ("c_useful", C_SWEEP)):
        for v in values:
            args = {"rho": RHO_MAIN, "t_max": T_MAX, "c": C_USEFUL}
            args[{"rho": "rho", "T_MAX": "t_max", "c_useful": "c"}[name]] = v
            ms = _measure(ctx.seed * 1000 + 1, sweep_count, **args)
            checks += [f"{name} = {v}: {c}" for c in _code_checks(ms)]
            vs, hs, cs = _decide(ms)
            sens.append(sweep_point(name, v, vs, holding=float(hs[cs].mean()) if cs.any() else None,
                                    overoptimised=int(cs.sum()), mean_gain=float((ms["U_con_single"] - ms["U_uncon"])[cs].mean()) if cs.any() else None,
                                    instances=int(cs.sum())))  # counted as the main one: the overoptimised instances
            if name == "rho":
                by_rho[str(v)] = {"theta1_mean": float(ms["theta1"][cs].mean()) if cs.any() else None,
                                  "single1_minus_theta1_mean": float((ms["single1"] - ms["theta1"])[cs].mean()) if cs.any() else None}
    gain = (m["U_con_single"] - m["U_uncon"])[counted]
    gain_proxy = (m["U_con"] - m["U_uncon"])[counted]
    gap_early = np.abs(m["U_con"] - m["U_early"])[counted]
    n_c = int(counted.sum())
    return Evidence(
        verdict=verdict, statistic=float(gain.min()) if n_c else float("nan"),
        threshold=f"every overoptimised instance: U(constrained at single-RM proxy points) > U(unconstrained) + "
                  f"{U_TOL:g}; refuted if < 50% hold (KKT ≤ {KKT_TOL:g}, U(composite proxy points) = U(early stop) and "
                  f"the end-of-path twin failing are code checks)",
        n_samples=count,
        summary=f"{count} instances (K={RESPONSES}, ρ={RHO_MAIN}, c={C_USEFUL}, 1/β={T_MAX}); {n_c} overoptimised on the "
                f"composite path; constrained at thresholds from each RM optimised alone (judged): beats unconstrained on "
                f"{int(holds[counted].sum())}/{n_c}, U gain mean {gain.mean():+.3f} (min {gain.min():+.3f}). Code checks: "
                f"at the composite proxy points (= oracle early stop by construction, gain {gain_proxy.mean():+.3f}) max "
                f"|U_con − U_early-stop| {gap_early.max():.1e}; end-of-path twin max |U − U_uncon| "
                f"{float(np.abs(m['U_con_end'] - m['U_uncon']).max()):.1e} (holds on "
                f"{int(_rule(m, 'U_con_end')[counted].sum())}/{n_c}); max KKT residual {m['kkt'].max():.1e}. Proxy point "
                f"θ₁ on the composite path by ρ: "
                + ", ".join(f"ρ={k}: {v['theta1_mean']:.2f}" for k, v in by_rho.items() if v["theta1_mean"] is not None),
        details={"overoptimised": n_c,
                 "single_rm_thresholds": {"beats_unconstrained": float(holds[counted].mean()) if n_c else None,
                                          "mean_gain": float(gain.mean()) if n_c else None,
                                          "mean_shortfall_to_early_stop": float((m["U_early"] - m["U_con_single"])[counted].mean()) if n_c else None},
                 "composite_proxy_points_mean_gain": float(gain_proxy.mean()) if n_c else None,
                 "max_abs_gap_to_early_stop": float(gap_early.max()) if n_c else None,
                 "end_twin_max_abs_gap_to_unconstrained": float(np.abs(m["U_con_end"] - m["U_uncon"]).max()),
                 "proxy_points_by_rho": by_rho, "mean_multipliers": [float(m["lam1"][counted].mean()), float(m["lam2"][counted].mean())]},
        instances=list(holds[counted]), sensitivity=sens, code_checks=checks,
        measurements={k: v[counted] for k, v in m.items()},
    )


def _draw(m: dict, figure_dir: str) -> str:
    """U of the three policies per instance, and the proxy points (composite vs single-RM paths)."""
    fig, (ax, ax2) = new_figure(ID, "constrained RLHF at the proxy points vs unconstrained composite", ncols=2, width=4.6)
    idx = np.arange(len(m["U_con"]))
    ax.plot(idx, m["U_uncon"] - m["U_ref"], "v", ms=3, label="unconstrained (1/β = T_MAX)")
    ax.plot(idx, m["U_con_single"] - m["U_ref"], "s", ms=3, mfc="none", label="constrained, single-RM points (judged)")
    ax.plot(idx, m["U_con"] - m["U_ref"], "o", ms=3, mfc="none", label="constrained at composite points")
    ax.plot(idx, m["U_early"] - m["U_ref"], ".", ms=2, label="oracle early stop")
    ax.set_xlabel("instance")
    ax.set_ylabel("U(π) − U(π_ref) (utility units)")
    ax.legend(fontsize=7)
    ax2.plot(m["theta1"], m["single1"], ".", ms=4)
    lo, hi = float(min(m["theta1"].min(), m["single1"].min())), float(max(m["theta1"].max(), m["single1"].max()))
    ax2.plot([lo, hi], [lo, hi], "k--", lw=0.7)
    ax2.set_xlabel("proxy point of RM 1 on the composite path (E R₁)")
    ax2.set_ylabel("proxy point of RM 1 optimised alone (E R₁)")
    return save_figure(fig, figure_dir, ID)


register_claim(Claim(
    id=ID, paper="Confronting Reward Model Overoptimization with Constrained RLHF", seed_line=77, draw=_draw,
    figure_family="llm_estimators",
    claim="constraining each component RM at its proxy point (Lagrange multipliers as dynamic weights) keeps every RM in "
          "its useful range and improves the true utility over unconstrained composite optimisation",
    theme="OTH", exact="KL path of the composite RM, proxy points, constrained optimum via the convex dual, U",
    monte_carlo="none (random instances only)",
    test=f"every overoptimised instance: U(constrained at single-RM proxy points) > U(unconstrained); code checks: KKT "
         f"≤ {KKT_TOL:g}, U(composite proxy points) = U(oracle early stop), end-of-path twin (never binding) fails",
    scales={"quick": {"instances": 40, "sweep_instances": 15}, "full": {"instances": 1000, "sweep_instances": 300}},
    run=run, source="Moskovitz et al. 2023 (arXiv:2310.04373), abstract only; constrained objective and proxy-point "
                    "procedure are our reading (not verified in the body)",
    kind="empirical",
    reading="stand-in",
    reading_note=("Performance sentence (\"improving evaluation performance\") about RLHF with learned RMs, tested in \"an exact bandit instead of PPO on an LLM\"; also \"constrained objective and proxy-point procedure are our reading\"."),
    quote="As a result, each RM stays within the range at which it is an effective proxy, improving evaluation performance.",
    quote_source="seed abstract (line 78, title line 77)",
    extension=True, unbiasedness=False,
    constants={"rho": list(RHO_SWEEP), "T_MAX": list(TMAX_SWEEP), "c_useful": list(C_SWEEP)},
))
