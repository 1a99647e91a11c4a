r"""L57 (Learning to Optimize Multi-Objective Alignment Through Dynamic Reward Weighting): "linear reward scalarization
with fixed weights, which provably fail to capture non-convex Pareto fronts" — exactly, on tabular MDPs with two rewards.

What is what. The statement is a theorem of multi-objective optimisation (e.g. Das & Dennis 1997; not in the seed): a
maximiser of w·J with w ≥ 0, w ≠ 0, lies on the boundary of the convex hull of the achievable set, so a Pareto point
strictly inside the hull ("unsupported", the non-convex part of a front) is never the answer of any fixed-weight linear
scalarisation. The paper cites it ("provably"); it does not prove it. Its twin — a convex achievable set (here: all
stochastic policies, whose (J1, J2) set is the image of the occupancy polytope, hence a polygon) has no unsupported
Pareto point, every Pareto point maximising w·J for a strictly positive w — is an identity of polyhedral geometry.
Whether a front is non-convex depends on the policy class: an unrestricted stochastic tabular class never gives one, so
the non-convex case needs a restricted class — here the deterministic policies (A^S of them), a stand-in for the
paper's "parameterized policies" whose parameter-to-objective map is non-convex. The LLM experiments, and the paper's
dynamic weighting, are not tested.

Design (fixed before running): ``instances`` Garnets (S, A from ``sizes``, branching 2, γ from ``discounts``), reward
1 the Garnet's, reward 2 drawn U(0, 1) per (s, a); J_k(π) = ρᵀV^π_k exactly (``exact.evaluate_policy``) for every
deterministic π. Exact geometry (``pareto_geometry``): the Pareto set, its upper-right convex hull (monotone chain),
the unsupported Pareto points. Per instance the rule holds when (i) each unsupported Pareto point p has a certificate,
a point q on the hull edge above it with q > p in both coordinates (so w·q > w·p for every w ≥ 0, w ≠ 0: p is never a
maximiser) and (ii) a dense sweep of WEIGHT_GRID weights w = (λ, 1 − λ) never returns an unsupported point, and (iii)
every hull vertex is the unique maximiser at the midpoint of its exact normal cone (the supported points are captured).
Twins (code checks, whose failure is a bug): the stochastic class of the same MDP (polygon conv(Y)) has no unsupported
Pareto point and every Pareto edge has a strictly positive normal; planted point sets with known answers — a concave
arc (nothing missed) and a convex-inward curve (all interior points missed).
Verdict: kind=identity, extension=False: a failure of (i)–(iii) on any instance is a failure of our hull/certificate
code, reported in ``code_checks`` with the instance, and makes the verdict inconclusive (never refuted); inconclusive
if no instance has a non-convex front (nothing tested); confirmed (shown "verified") otherwise. Reported: the fraction of instances
whose deterministic front is non-convex, the number of Pareto points missed, and the share of the front's
hypervolume (reference: the componentwise minimum of Y) that only unsupported points add — "and thus yield suboptimal
results" is not judged. Sensitivity: the verdict per (S, A) size and per discount γ (design constants).
Revision (2026-12-01, referee's audit, before any confirmatory run on the new rule): kind theorem → identity. The
statement (a maximiser of w·J, w ≥ 0, w ≠ 0, over a finite set lies on its convex hull, so a point strictly dominated by
a hull point is never chosen) is a one-line fact of convex geometry that does not depend on the MDP; checks (i)–(iii)
can fail only through a bug in our code, which was routed to "refuted" (refuting a mathematical fact because of a bug)
and a "confirmed" was counted as confirming the paper. Failures of (i)–(iii) now go to ``code_checks`` and the raw
verdict is then inconclusive. The empirical content kept as reported (not judged) measurements: how often the
deterministic class has a non-convex front, how many Pareto points are unsupported, and the hypervolume share they add.
The figure is now drawn from stored measurements (``draw=_draw``), a refactoring that changes no number.
"""
from __future__ import annotations

from dataclasses import dataclass
from itertools import product

import numpy as np
import torch

from ...exact import evaluate_policy
from ...problems import garnet
from ..record import Claim, Evidence, RunContext, sweep_point
from ..registry import register_claim
from ..style import new_figure, save_figure

ID = "L57-linear-scalarisation-nonconvex"
WEIGHT_GRID = 20_001  #: weights λ ∈ [0, 1] of the sweep (an independent check of the certificates)
TIE_TOL = 1e-12  #: |cross product| below this counts as collinear (a weakly supported point), relative to the scale
QUOTE = "linear reward scalarization with fixed weights, which provably fail to capture non-convex Pareto fronts"


@dataclass(frozen=True)
class ParetoGeometry:
    """Indices into the points: ``pareto`` (sorted by J1 ascending), ``hull`` (the Pareto points on the upper-right
    convex hull, ascending J1), ``unsupported`` (Pareto points strictly below it), ``certificates [U, 2]`` (a point on
    the hull strictly dominating each unsupported point)."""

    pareto: np.ndarray
    hull: np.ndarray
    unsupported: np.ndarray
    certificates: np.ndarray


def pareto_indices(points) -> np.ndarray:
    """Indices of the non-dominated rows of ``points [n, 2]`` (maximisation), sorted by the first coordinate ascending."""
    y = np.asarray(points, dtype=float)
    if y.ndim != 2 or y.shape[1] != 2 or y.shape[0] == 0:
        raise ValueError(f"points: expected shape [n ≥ 1, 2], got {y.shape}")
    if not np.isfinite(y).all():
        raise ValueError("points: must be finite")
    order = np.lexsort((-y[:, 1], -y[:, 0]))  # J1 descending, ties by J2 descending
    keep, best2 = [], -np.inf
    for i in order:
        if y[i, 1] > best2:
            keep.append(i)
            best2 = y[i, 1]
    return np.array(keep[::-1], dtype=int)


def pareto_geometry(points) -> ParetoGeometry:
    r"""The supported/unsupported split of the Pareto front of a finite set ``points [n, 2]`` (maximisation).

    The upper-right hull of the Pareto points (ascending J1, hence descending J2) is the monotone chain whose turns
    are all clockwise; a Pareto point off it lies strictly below the segment [a, b] of consecutive hull vertices
    around it, and q = a + λ(b − a) with λ between (p₁ − a₁)/(b₁ − a₁) and (a₂ − p₂)/(a₂ − b₂) dominates it strictly.
    """
    y = np.asarray(points, dtype=float)
    par = pareto_indices(y)
    scale = max(float(np.abs(y).max()), 1e-300) ** 2
    hull: list[int] = []
    for i in par:
        while len(hull) >= 2:
            a, b = y[hull[-2]], y[hull[-1]]
            cross = (b[0] - a[0]) * (y[i, 1] - a[1]) - (b[1] - a[1]) * (y[i, 0] - a[0])
            if cross >= -TIE_TOL * scale:  # b is on or below the segment a→i: not a strict hull vertex
                hull.pop()
            else:
                break
        hull.append(int(i))
    on_hull = set(hull)
    unsupported, certs = [], []
    for i in par:
        if i in on_hull:
            continue
        p = y[i]
        k = int(np.searchsorted(y[hull, 0], p[0]))  # hull[k-1] < p₁ < hull[k]
        a, b = y[hull[k - 1]], y[hull[k]]
        lam0 = (p[0] - a[0]) / (b[0] - a[0])
        lam1 = (a[1] - p[1]) / (a[1] - b[1])
        if not lam0 < lam1:  # on the segment up to round-off: weakly supported (a maximiser in a tie), not missed
            continue
        q = a + 0.5 * (lam0 + lam1) * (b - a)
        unsupported.append(int(i))
        certs.append(q)
    return ParetoGeometry(par, np.array(hull, dtype=int), np.array(unsupported, dtype=int),
                          np.array(certs, dtype=float).reshape(-1, 2))


def hull_normal_midpoints(points, hull) -> np.ndarray:
    """For each hull vertex, the weight λ (w = (λ, 1 − λ)) at the middle of its normal cone (exact, from its edges)."""
    y = np.asarray(points, dtype=float)
    h = np.asarray(hull, dtype=int)
    # edge e from h[e] to h[e+1] (J1 up, J2 down) is maximised by λ_e with λ Δ1 + (1 − λ) Δ2 = 0
    d = y[h[1:]] - y[h[:-1]]
    lam_edges = -d[:, 1] / (d[:, 0] - d[:, 1])
    bounds = np.concatenate([[0.0], lam_edges, [1.0]])  # vertex k is the maximiser for λ in [lam_{k-1}, lam_k]
    return 0.5 * (bounds[:-1] + bounds[1:])


def hypervolume(points, reference) -> float:
    """Area dominated by ``points [n, 2]`` above ``reference [2]`` (maximisation)."""
    y = np.asarray(points, dtype=float)
    if y.size == 0:
        return 0.0
    p = y[pareto_indices(y)]  # ascending J1, descending J2
    x_prev, area = reference[0], 0.0
    for x1, x2 in p:
        area += max(x1 - x_prev, 0.0) * max(x2 - reference[1], 0.0)
        x_prev = max(x_prev, x1)
    return float(area)


def _deterministic_objectives(mdp, r2: torch.Tensor) -> np.ndarray:
    S, A = mdp.n_states, mdp.n_actions
    acts = torch.tensor(list(product(range(A), repeat=S)))
    pi = torch.nn.functional.one_hot(acts, A).to(torch.float64)  # [A^S, S, A]
    j1 = evaluate_policy(mdp, pi).objective
    j2 = evaluate_policy(mdp, pi, rewards=r2).objective
    return torch.stack([j1, j2], -1).numpy()


def _check_instance(y: np.ndarray) -> dict:
    g = pareto_geometry(y)
    problems = []
    for i, q in zip(g.unsupported, g.certificates):  # (i) certificates
        if not (q[0] > y[i, 0] and q[1] > y[i, 1]):
            problems.append(f"certificate fails for point {i}")
    lam = np.linspace(0.0, 1.0, WEIGHT_GRID)
    returned = set(np.unique((lam[:, None] * y[None, :, 0] + (1 - lam[:, None]) * y[None, :, 1]).argmax(1)).tolist())
    if returned & set(g.unsupported.tolist()):  # (ii) no fixed weight returns an unsupported point
        problems.append("the weight sweep returned an unsupported point")
    mids = hull_normal_midpoints(y, g.hull)  # (iii) every hull vertex is captured
    won = (mids[:, None] * y[None, :, 0] + (1 - mids[:, None]) * y[None, :, 1]).argmax(1)
    if not np.array_equal(won, g.hull):
        problems.append("a hull vertex is not the maximiser at its normal-cone midpoint")
    # twin (stochastic class): the Pareto front of conv(Y) is the hull chain; each edge's normal must be strictly positive
    d = y[g.hull[1:]] - y[g.hull[:-1]]
    twin_ok = bool(np.all(d[:, 0] > 0) and np.all(d[:, 1] < 0))
    lo = y.min(0)
    hv_all = hypervolume(y[g.pareto], lo)
    hv_sup = hypervolume(y[np.setdiff1d(g.pareto, g.unsupported)], lo)
    return {"n_policies": int(len(y)), "n_pareto": int(len(g.pareto)), "n_hull": int(len(g.hull)),
            "n_unsupported": int(len(g.unsupported)), "nonconvex": bool(len(g.unsupported) > 0),
            "holds": not problems, "problems": problems, "stochastic_twin_ok": twin_ok,
            "hv_share_unsupported": float((hv_all - hv_sup) / hv_all) if hv_all > 0 else 0.0,
            "returned_by_sweep": len(returned)}


def _planted_twins() -> list[str]:
    """Point sets with known answers; returns failures (code checks)."""
    fails = []
    phi = np.linspace(0, np.pi / 2, 9)
    arc = np.stack([np.cos(phi), np.sin(phi)], 1)  # concave front: every point supported
    if len(pareto_geometry(arc).unsupported) != 0:
        fails.append("concave arc: a point was called unsupported")
    x = np.linspace(0, 1, 9)
    inward = np.stack([x, (1 - np.sqrt(x)) ** 2], 1)  # convex-inward front: only the two ends supported
    g = pareto_geometry(inward)
    if sorted(g.unsupported.tolist()) != list(range(1, 8)):
        fails.append(f"inward curve: expected points 1..7 unsupported, got {g.unsupported.tolist()}")
    return fails


def run(ctx: RunContext) -> Evidence:
    s = ctx.settings
    rng = np.random.default_rng(ctx.seed)
    code_checks = _planted_twins()
    results = []
    for i in range(s["instances"]):
        S, A = s["sizes"][i % len(s["sizes"])]
        gamma = s["discounts"][(i // len(s["sizes"])) % len(s["discounts"])]
        mdp = garnet(S, A, 2, discount=gamma, seed=int(rng.integers(2**31)))
        r2 = torch.from_numpy(rng.random((S, A)))
        y = _deterministic_objectives(mdp, r2)
        res = _check_instance(y)
        res.update(S=S, A=A, gamma=gamma, points=y.tolist())
        results.append(res)
        code_checks += [f"instance {i}: {msg}" for msg in res["problems"]]
        if not res["stochastic_twin_ok"]:
            code_checks.append(f"instance {i}: a Pareto edge of the stochastic class has a non-positive normal")
    holds = [r["holds"] for r in results]
    nonconvex = [r for r in results if r["nonconvex"]]
    # an identity: a failed check is a bug in our code (code_checks), so nothing is verified — never a refutation
    verdict = "inconclusive" if code_checks or not nonconvex else "confirmed"

    def sub_verdict(sub):
        if not all(r["holds"] for r in sub):
            return "inconclusive"
        return "confirmed" if any(r["nonconvex"] for r in sub) else "inconclusive"

    sens = [sweep_point("size_SxA", f"{S}x{A}", sub_verdict([r for r in results if (r["S"], r["A"]) == (S, A)]),
                        nonconvex_fraction=float(np.mean([r["nonconvex"] for r in results if (r["S"], r["A"]) == (S, A)])),
                        instances=sum((r["S"], r["A"]) == (S, A) for r in results), stratum=True)
            for S, A in s["sizes"]]
    sens += [sweep_point("discount", g, sub_verdict([r for r in results if r["gamma"] == g]),
                         nonconvex_fraction=float(np.mean([r["nonconvex"] for r in results if r["gamma"] == g])),
                         instances=sum(r["gamma"] == g for r in results), stratum=True)
             for g in s["discounts"]]
    missed = int(sum(r["n_unsupported"] for r in results))
    n_par = int(sum(r["n_pareto"] for r in results))
    hv = [r["hv_share_unsupported"] for r in nonconvex]
    ex = max(results, key=lambda r: (r["n_unsupported"], r["n_pareto"]))  # the figure's example
    return Evidence(
        verdict=verdict, statistic=float(len(nonconvex) / len(results)),
        threshold=("every unsupported Pareto point has a strictly dominating hull point (never a w·J maximiser, w ≥ 0), "
                   f"no weight of a {WEIGHT_GRID}-point sweep returns one, every hull vertex wins at its normal-cone midpoint; "
                   "needs ≥ 1 instance with a non-convex front"),
        n_samples=0,
        summary=(f"{len(results)} Garnets with two rewards, deterministic policy class: {len(nonconvex)} have a non-convex "
                 f"front; {missed} of {n_par} Pareto points are unsupported, each certified never to maximise any fixed w·J "
                 f"(held on {sum(holds)}/{len(results)} instances)"
                 + (f"; they add {np.median(hv):.1%} (median; max {max(hv):.1%}) of the front's hypervolume" if hv else "")
                 + "; twin: the stochastic class (a polygon) misses none on every instance"),
        details={"instances": [{k: v for k, v in r.items() if k != "points"} for r in results],
                 "nonconvex_fraction": len(nonconvex) / len(results), "missed_points": missed, "pareto_points": n_par,
                 "hv_share_unsupported": hv, "example_points": ex["points"]},
        instances=holds, sensitivity=sens, code_checks=code_checks,
        measurements={"verdict": verdict, "example_points": np.array(ex["points"]), "example_S": ex["S"], "example_A": ex["A"],
                      "example_gamma": ex["gamma"], "unsupported_per_instance": [r["n_unsupported"] for r in results]},
    )


def _draw(m: dict, figure_dir: str) -> str:
    """The figure, from the stored measurements: the example instance's front (supported vs unsupported points) and the
    number of unsupported Pareto points per instance."""
    y = np.asarray(m["example_points"], dtype=float)
    g = pareto_geometry(y)
    fig, (a1, a2) = new_figure(ID, f"fixed-weight w·J misses unsupported Pareto points [{m['verdict']}]", ncols=2, width=4.4)
    a1.plot(y[:, 0], y[:, 1], ".", color="0.7", ms=4, label="deterministic policies")
    a1.plot(y[g.hull, 0], y[g.hull, 1], "o-", color="C0", ms=5,
            label="supported (some w·J max); line: stochastic-class front")
    if len(g.unsupported):
        a1.plot(y[g.unsupported, 0], y[g.unsupported, 1], "x", color="C3", ms=7, mew=2, label="Pareto, never a w·J max")
    a1.set_xlabel("J₁ (discounted return, reward 1)")
    a1.set_ylabel("J₂ (discounted return, reward 2)")
    a1.set_title(f"instance with most misses: S = {m['example_S']}, A = {m['example_A']}, γ = {m['example_gamma']}", fontsize=8)
    a1.legend(fontsize=7)
    cnt = np.asarray(m["unsupported_per_instance"], dtype=int)
    a2.hist(cnt, bins=np.arange(cnt.max() + 2) - 0.5, color="C3", alpha=0.7)
    a2.set_xlabel("unsupported Pareto points per instance (deterministic class)")
    a2.set_ylabel("number of instances")
    return save_figure(fig, figure_dir, ID)


register_claim(Claim(
    id=ID, paper="Learning to Optimize Multi-Objective Alignment Through Dynamic Reward Weighting", seed_line=57, figure_family="exact_pg", draw=_draw,
    claim="linear scalarisation with fixed weights cannot reach unsupported (non-convex) Pareto points",
    theme="OTH", exact="J₁, J₂ of every deterministic policy (exact evaluation); Pareto set, convex hull, certificates",
    monte_carlo="none (exact)",
    test=("per instance: unsupported Pareto points certified never w·J-maximal and never returned by a dense weight sweep; "
          "hull vertices captured; twins: stochastic class (nothing missed), concave arc, inward curve"),
    scales={"quick": {"instances": 24, "sizes": [[3, 2], [3, 3]], "discounts": [0.9, 0.5]},
            "full": {"instances": 400, "sizes": [[3, 2], [3, 3], [4, 3], [5, 2]], "discounts": [0.9, 0.5, 0.99]}},
    run=run, source="seed abstract L57; theorem: Das & Dennis 1997 (not in seed); paper body not read",
    kind="identity", quote=QUOTE,
    reading="by-construction",
    reading_note=("Kind identity (relabelled from theorem): \"a one-line fact of convex geometry that does not depend on the MDP; checks (i)-(iii) can fail only through a bug in our code\"."),
    quote_source=("seed abstract (line 57), verbatim part of its first sentence (arXiv 2509.11452 v1; v2 reads "
                  "'fails'); the paper body was not read"),
    extension=False, unbiasedness=False,
    constants={"size_SxA": ["3x2", "5x2"], "discount": [0.5, 0.99]},
))
