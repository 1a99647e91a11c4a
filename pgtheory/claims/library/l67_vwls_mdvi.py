r"""L67 (Kitamura et al., ICML 2023): "We demonstrate that least-squares regression weighted by the variance of an
estimated optimal value function of the next state is crucial to achieving minimax optimality."

Protocol: kind=empirical, extension=True. The quoted sentence is a statement about worst-case sample-complexity
*bounds* (as recalled here, not verified in the paper's body: LS-MDVI's analysis gives Õ(H⁴) in H = 1/(1 − γ),
VWLS-MDVI's the minimax Õ(H³), the tabular lower bound's exponent); no finite experiment can
refute a bound that holds over the worst instance. What is checked numerically asks more than the sentence: that on a
family of linear MDPs variance weighting *needs no more samples* than unweighted least squares, and that
VWLS-MDVI's fitted sample-complexity exponent in H stays within the minimax one. A failure therefore qualifies and
never refutes.

Design (fixed before the quick runs; revisions are dated below):

* **Instances.** ``tabular`` one-hot instances (a Garnet(S, A, b = 3), rewards U[0, 1], as a linear MDP with d = S·A:
  ``one_hot_linear_mdp``) and ``linear`` low-rank instances (``random_linear_mdp``: simplex features
  Dirichlet(c·1_d), μ_i ~ Dirichlet(1_S), rewards in [0, 1]) for c ∈ ``concentrations``; and low-rank ``basins``
  instances (:func:`two_basin_linear_mdp`: two slowly mixing basins, stickiness η = κ(1 − γ), so that
  Var_{s'}[V*(s')] is Θ(H²) at some pairs and O(H) at others — added 2026-11-30 on quick seeds, before any full run,
  when the random instances turned out to leave the weights uniform, see the rule's revision). The same random draws
  are used for every γ ∈ ``gammas``.
* **Algorithms** (``pgtheory.optim.linear_mdvi``): LS-MDVI and VWLS-MDVI, β = ∞ and α = γ (MDVI with the averaging
  window H, the setting of Kozuno et al. 2022 / Kitamura et al. 2023 as far as it could be read — *not verified*: the
  paper's Algorithm and constants could not be read here, see the module docstring of ``linear_mdvi``). Per-iteration
  budget N allocated over the G-optimal design (n_i = ⌈ρ_i N⌉), fresh draws every iteration. VWLS-MDVI: phase 1 is
  LS-MDVI with budget ⌈N/H⌉ (the paper's first step learns a √H-accurate v̂; at the 1/ε² rate this costs 1/H of the
  main phase), phase 2 estimates Var[v̂(s')] from one batch of N on the design, σ̂² = Var̂ + H (the floor of the
  authors' DVW code), phase 3 is MDVI weighted by 1/σ̂² on the G-optimal design of φ/σ̂. Its sample count includes
  all three phases.
* **Iterations.** K(γ) = the first k at which *exact-expectation* MDVI is within ε/4 of V* (so the remaining error is
  statistical), computed per instance and γ.
* **Criterion.** ‖V* − v_K‖∞ ≤ ε for the algorithm's value estimate v_K = w_K − α w_{K−1} (absolute ε, rewards in
  [0, 1]). Revision 2026-11-30 (on quick seeds, before any full run): the first criterion was the policy gap
  ‖V* − V^{π_K}‖∞ ≤ ε; on these random instances it is governed by the action gaps — the median gap was exactly 0
  already at N = 1 and the 90% quantile a fixed near-tie (0.002) for every N — so its "sample complexity" measures
  tie-breaking, not ε-accuracy. The policy gap is still recorded (``details``).
* **Sample complexity.** Per-iteration budgets N = ⌈d·2^{j/2}⌉ (j < ``budget_levels``); for each (instance, γ,
  method) the budgets are evaluated adaptively (``_evaluate_budgets``: down from the previous γ's level while the
  loosest criterion of the sweep holds, up by galloping until the strictest holds, then bisection to each
  criterion's first success), each with ``runs`` fresh runs; the per-run errors of every evaluated budget are
  stored. N_δ = the total generative draws per run at the smallest evaluated budget where the fraction of runs
  with error ≤ ε is ≥ 1 − δ (resolution: a factor √2). The exponent p of N_δ ∝ H^p is the OLS slope over the γ grid; its 95% interval a bootstrap over runs (the unit of replication),
  limited to the evaluated budgets (an interval end can sit on a grid level).
* **Rule, per instance.** (A) on ``linear`` instances: N_δ(VWLS) ≤ N_δ(LS) at the largest H of the grid (the one-hot
  case is the control: there weighting changes no estimate — each pair is its own regression cell — so VWLS can only
  pay for its extra phases); (B) VWLS's exponent p ≤ 3 + ``EXPONENT_TOL`` (the minimax exponent; the tolerance absorbs
  the log factors hidden by Õ and K's log(H/ε)). The instance holds when its parts hold; it is *undecided* when some
  N_δ is censored (never reached on the grid). Verdict: inconclusive when no low-rank instance with active
  weighting (below) is decided, or when more than 1 − MIN_FRACTION of the applicable instances (all but the
  weighting-inactive ones) are censored; confirmed when at least MIN_FRACTION of the decided instances hold; refuted
  otherwise (→ qualified by the protocol, extension). Revision 2026-11-30 (quick seeds, before any full run): (A)
  first asked N_δ(VWLS) ≤ N_δ(LS) at *every* γ; at the smallest H (= 5) the fixed cost of VWLS's phases 1–2 (15–160% extra on the
  quick instances) decides that comparison, while the quoted sentence is about the growth in H — so (A) now compares
  at the largest H, where the fixed costs matter least. The ratios at every γ are reported.
  Revision 2026-11-30 (quick seeds, before any full run): a low-rank instance is *undecided* ("weighting inactive")
  when the weights 1/σ̂² vary by less than a factor ``WEIGHT_SPREAD_MIN`` = 1.5 across pairs (max σ̂²/min σ̂², median
  over runs, largest evaluated budget at the largest H). On the quick instances the spread was ≤ 1.005: Var[v̂(s')]
  is O(0.01–0.1) while the floor is H ≥ 5, so VWLS-MDVI *is* LS-MDVI plus its phases 1–2 and (A) would measure that
  overhead, not the weighting the sentence is about. Such instances are reported and left out of the denominator.
* **Sensitivity.** ε and δ are swept over their declared ranges on the stored errors (K stays at the main ε's).
* **Code checks.** Exact MDVI reaches V* (K found below the cap); on one-hot features the weighted design of
  VWLS-MDVI is uniform (so its estimates equal LS-MDVI's up to the draws).

Why the random instances leave the test idle (derived during development, on quick seeds): for simplex
(latent-variable) features, Var_{s'}[V(s')] = φᵀm₂ − (φᵀm₁)² is concave in φ (Jensen), so at a pair that is a convex
combination φ = Σλ_jφ_j of design points the unweighted error Σλ_j²σ_j²/n_j is already ≤ σ²(φ)/min_j n_j: unweighted
LS adapts to the local variance there, and weighting can help only through the allocation (the weighted design
samples high-variance pairs more) and through extrapolation — and only where Var[V*(s')] is comparable to the
floor H, i.e. in slowly mixing instances such as the two-basin family, not in rapidly mixing Dirichlet ones.

Referee's audit (2026-11-30, before any full run) — open for the next revision, not yet applied: rule (A) compares
N_δ, a 90% success quantile from R runs, at one H, which moves by one or two √2 grid levels with the runs' noise (the
one-hot control, where VWLS and LS are the same algorithm, shows ratios 1.3–2.1): decide it from a bootstrap interval
over runs and count only active low-rank instances (tabular controls inflate the pass rate); rule (B) does not
discriminate (LS passes it too): require exponent_LS − exponent_VWLS > 0 with an interval on active instances. The
protocol now shows this claim as inconclusive whenever the extension holds, since the quoted minimax sentence is
undecidable by a finite run (quote_verdict); the two-basin family, the only one where the weighting acts, was added
during development for that reason.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from ...exact.evaluation import state_values
from ...exact.optimal_design import g_optimal_design
from ...exact.solvers import value_iteration
from ...optim.linear_mdvi import ls_mdvi, mdvi_exact, vwls_mdvi
from ...problems import garnet
from ...problems.linear_mdp import one_hot_linear_mdp, random_linear_mdp, two_basin_linear_mdp
from ..record import Claim, Evidence, RunContext, sweep_point
from ..registry import register_claim
from ..style import new_figure, plain_log_ticks, save_figure

ID = "L67-vwls-mdvi-variance-weighting"
EPSILON = 0.1  #: value accuracy (absolute; rewards in [0, 1]): a tenth of one step's reward range
DELTA = 0.1  #: failure probability of the (ε, δ) criterion, the paper's setting "with probability 1 − δ"
MINIMAX_EXPONENT = 3.0  #: Õ(H³): the minimax exponent in H = 1/(1 − γ) (tabular lower bound, Azar et al. 2013)
EXPONENT_TOL = 0.5  #: slack for the log factors of Õ(·) and of K ∝ H log(H/ε) over a γ grid spanning a factor 4–8 in H
BASIN_KAPPA = 0.5  #: stickiness of the two-basin instances: a basin is left after ~H/κ = 2H steps
WEIGHT_SPREAD_MIN = 1.5  #: (A) is decidable only where max σ̂²/min σ̂² ≥ 1.5: nearer uniform, WLS ≈ LS
MIN_FRACTION = 0.8  #: share of decided instances on which the rule must hold (and of instances that must be decided)
K_CAP_FACTOR = 40  #: exact MDVI must reach ε/4 within 40·H·log(H/ε) iterations (else a code check fails)
DESIGN_TOL = 1e-3  #: weighted G-optimal design to max leverage ≤ 1.001·d (Frank–Wolfe): as sparse as the unweighted one
# (revision 2026-11-30, quick seeds: 0.05 left 8 support points where 1e-3 leaves 6, each costing ≥ 1 draw per
# iteration under n_i = ⌈ρ_i N⌉ — an artefact that charged VWLS for an unconverged design)
BOOT = 1000  #: bootstrap resamples of runs for the exponent interval
EPSILON_RANGE = (0.05, 0.2)  #: declared plausible range of ε (swept)
DELTA_RANGE = (0.05, 0.2)  #: declared plausible range of δ (swept)


def _instances(settings: dict, seed: int) -> list[tuple[str, str, object]]:
    """(name, family, builder γ ↦ LinearMDP): the same random draws for every γ."""
    out = []
    S_t, A_t = settings["tabular_shape"]
    for i in range(settings["tabular"]):
        s = seed * 1000 + i
        out.append((f"tabular#{i}", "tabular",
                    lambda g, s=s: one_hot_linear_mdp(garnet(S_t, A_t, 3, discount=g, seed=s))))
    S, A, d = settings["linear_shape"]
    for c in settings["concentrations"]:
        for i in range(settings["linear"]):
            s = seed * 1000 + 100 + i + int(100 * c)
            out.append((f"linear(c={c:g})#{i}", "linear",
                        lambda g, s=s, c=c: random_linear_mdp(S, A, d, seed=s, discount=g, concentration=c)))
    for i in range(settings["basins"]):
        s = seed * 1000 + 500 + i
        out.append((f"basins#{i}", "linear", lambda g, s=s: two_basin_linear_mdp(S, A, d, discount=g, seed=s, stickiness=BASIN_KAPPA)))
    return out


def _iterations(lin, v_star: torch.Tensor, design: torch.Tensor, eps: float) -> int:
    """K: the first k at which exact MDVI (α = γ, β = ∞) has ‖V* − v_k‖∞ ≤ ε/4 (the cap if never).

    Exact MDVI is deterministic, so it is run for H·log(H/ε) iterations and doubled until it gets there (≤ the cap)."""
    H = 1.0 / (1.0 - lin.discount)
    cap = int(math.ceil(K_CAP_FACTOR * H * math.log(H / eps)))
    n = int(math.ceil(H * math.log(H / eps)))
    while True:
        ex = mdvi_exact(lin, alpha=lin.discount, beta=math.inf, iterations=min(n, cap), design=design)
        ok = ((ex.values - v_star).abs().amax(-1) <= eps / 4).nonzero()
        if len(ok):
            return int(ok[0]) + 1
        if n >= cap:
            return cap
        n *= 2


def _n_delta(err: list, samples: list, eps: float, delta: float, idx=None) -> float:
    """Draws per run at the first evaluated budget whose success fraction P̂(err ≤ ε) ≥ 1 − δ (inf if none).

    ``err``: per budget, the per-run errors (None where the budget was not evaluated); ``idx``: a resample of runs.
    """
    for e, n in zip(err, samples):
        if e is None:
            continue
        e = np.asarray(e) if idx is None else np.asarray(e)[idx]
        if (e <= eps).mean() >= 1 - delta:
            return float(n)
    return math.inf


def _evaluate_budgets(run_budget, n_budgets: int, start: int, criteria) -> tuple[list, list, list]:
    """Evaluate ``run_budget(j) -> (errors [R], gaps [R], draws)`` on the budget grid where the criteria need it.

    ``criteria``: the (ε, δ) pairs whose N_δ is wanted (the main one, and the sweep's), the loosest first and the
    strictest last. From ``start``: down while the loosest still holds; up by galloping steps (1, 2, 4, … levels) until
    the strictest holds (or the grid ends); then, for every criterion, bisection between its highest failing level
    below its lowest succeeding one, until they are adjacent — so each criterion's first success is at the grid's
    resolution, assuming the success fraction grows with the budget. Unevaluated budgets are None."""
    err, gap, num = [None] * n_budgets, [None] * n_budgets, [None] * n_budgets

    def ok(j, crit):
        if err[j] is None:
            err[j], gap[j], num[j] = run_budget(j)
        return (np.asarray(err[j]) <= crit[0]).mean() >= 1 - crit[1]

    loose, strict = criteria[0], criteria[-1]
    j = start
    while j > 0 and ok(j, loose):
        j -= 1
    j, step = start, 1
    while not ok(j, strict) and j < n_budgets - 1:
        j = min(n_budgets - 1, j + step)
        step *= 2
    for crit in criteria:
        while True:
            done = [i for i in range(n_budgets) if err[i] is not None]
            succ = [i for i in done if ok(i, crit)]
            if not succ:
                break
            fail = [i for i in done if i < succ[0]]
            lo = max(fail) if fail else -1
            if succ[0] - lo <= 1 or (lo == -1 and succ[0] == 0):
                break
            ok((lo + succ[0] + 1) // 2 if lo >= 0 else succ[0] // 2, crit)
    return err, gap, num


def measure(ctx: RunContext) -> dict:
    """Per instance, γ, method and evaluated budget: per-run value errors, policy gaps and draws (arrays only)."""
    st = ctx.settings
    n_budgets = st["budget_levels"]
    R = st["runs"]
    sweep = st["sweep"]
    # loosest first, strictest last (the sweep's corners bound every criterion the sweep decides)
    criteria = ([(max(EPSILON_RANGE), max(DELTA_RANGE)), (max(EPSILON_RANGE), DELTA), (EPSILON, max(DELTA_RANGE)),
                 (EPSILON, DELTA), (EPSILON, min(DELTA_RANGE)), (min(EPSILON_RANGE), DELTA),
                 (min(EPSILON_RANGE), min(DELTA_RANGE))] if sweep else [(EPSILON, DELTA)])
    ss = np.random.SeedSequence(ctx.seed)
    out = {"gammas": list(st["gammas"]), "instances": [], "code_checks": [], "sweep": sweep, "runs": R}
    for name, family, build in _instances(st, ctx.seed):
        lin0 = build(st["gammas"][0])
        S, A, d = lin0.n_states, lin0.n_actions, lin0.feature_dim
        design = g_optimal_design(lin0.features.reshape(S * A, -1)).weights
        rec = {"name": name, "family": family, "budgets": [int(math.ceil(d * 2 ** (j / 2) - 1e-9)) for j in range(n_budgets)], "K": [],
               "err": {"LS": [], "VW": []}, "gap": {"LS": [], "VW": []}, "samples": {"LS": [], "VW": []},
               "weight_spread": []}
        start = {"LS": 0, "VW": 0}
        for gamma in st["gammas"]:
            lin = build(gamma)
            mdp = lin.tabular()
            v_star = value_iteration(mdp).v
            H = 1.0 / (1.0 - gamma)
            K = _iterations(lin, v_star, design, EPSILON)
            if K >= int(math.ceil(K_CAP_FACTOR * H * math.log(H / EPSILON))):
                out["code_checks"].append(f"{name}, γ = {gamma}: exact MDVI did not reach ε/4 within the cap")
            rec["K"].append(K)
            gen = torch.Generator().manual_seed(int(ss.spawn(1)[0].generate_state(1)[0]))

            def run_budget(j, method, lin=lin, mdp=mdp, v_star=v_star, H=H, K=K, gamma=gamma):
                N = rec["budgets"][j]
                if method == "LS":
                    res = ls_mdvi(lin, design, N, gen, alpha=gamma, beta=math.inf, iterations=K, runs=R)
                else:
                    vw = vwls_mdvi(lin, design, N, gen, alpha=gamma, beta=math.inf, iterations=K, runs=R,
                                   phase1_budget=max(1, math.ceil(N / H)), variance_budget=N, design_tol=DESIGN_TOL)
                    if family == "tabular":
                        dev = float((vw.design - 1.0 / (S * A)).abs().max())
                        if dev > 1e-2 / (S * A):
                            out["code_checks"].append(f"{name}: weighted design of one-hot features not uniform ({dev:.2g})")
                    res = vw.result
                    spread[j] = float((vw.sigma2.amax((-2, -1)) / vw.sigma2.amin((-2, -1))).median())
                return ((v_star - res.values[:, -1]).abs().amax(-1).tolist(),
                        (v_star - state_values(mdp, res.policy)).amax(-1).tolist(), float(res.samples.double().mean()))

            spread = [None] * n_budgets  # median over runs of max σ̂² / min σ̂² (1: uniform weights)
            for m in ("LS", "VW"):
                e, g, n = _evaluate_budgets(lambda j, m=m: run_budget(j, m), n_budgets, start[m], criteria)
                rec["err"][m].append(e)
                rec["gap"][m].append(g)
                rec["samples"][m].append(n)
                start[m] = max(0, max(j for j in range(n_budgets) if e[j] is not None) - 2)
            rec["weight_spread"].append(spread)
        out["instances"].append(rec)
    return out


def _exponent(H: np.ndarray, n: np.ndarray) -> float:
    return float(np.polyfit(np.log(H), np.log(n), 1)[0])


def decide(meas: dict, eps: float = EPSILON, delta: float = DELTA, seed: int = 0) -> dict:
    """The per-instance rule and the family verdict from the stored errors (pure; no sampling of the MDPs)."""
    H = 1.0 / (1.0 - np.asarray(meas["gammas"]))
    rng = np.random.default_rng(seed)
    rows = []
    for rec in meas["instances"]:
        nd = {m: np.array([_n_delta(rec["err"][m][j], rec["samples"][m][j], eps, delta) for j in range(len(H))])
              for m in ("LS", "VW")}
        censored = not all(np.isfinite(nd[m]).all() for m in nd)
        row = {"name": rec["name"], "family": rec["family"], "n_delta_LS": nd["LS"].tolist(), "n_delta_VW": nd["VW"].tolist(),
               "censored": censored, "undecided": None}
        if not censored:
            p = {m: _exponent(H, nd[m]) for m in nd}
            boots = {m: [] for m in nd}
            R = next(len(e) for e in rec["err"]["LS"][0] if e is not None)
            for _ in range(BOOT):
                idx = rng.integers(0, R, R)
                bn = {m: np.array([_n_delta(rec["err"][m][j], rec["samples"][m][j], eps, delta, idx)
                                   for j in range(len(H))]) for m in nd}
                for m in nd:
                    if np.isfinite(bn[m]).all():
                        boots[m].append(_exponent(H, bn[m]))
            ci = {m: (np.quantile(boots[m], [0.025, 0.975]).tolist() if len(boots[m]) > 10 else [math.nan, math.nan])
                  for m in nd}
            fewer = bool(nd["VW"][-1] <= nd["LS"][-1])
            within = p["VW"] <= MINIMAX_EXPONENT + EXPONENT_TOL
            spread = [x for x in rec.get("weight_spread", [[None]])[-1] if x is not None]  # at the largest H
            active = bool(spread) and max(spread) >= WEIGHT_SPREAD_MIN
            row.update(exponent_LS=p["LS"], exponent_VW=p["VW"], ci_LS=ci["LS"], ci_VW=ci["VW"],
                       ratio_VW_LS=(nd["VW"] / nd["LS"]).tolist(), fewer=fewer, within_minimax=bool(within),
                       weight_spread=max(spread) if spread else None, weighting_active=active)
            if rec["family"] == "linear" and not active:
                row["undecided"] = "weighting inactive"  # (A) would measure VWLS's phase costs, not the weighting
            else:
                row["holds"] = bool(within and (fewer or rec["family"] == "tabular"))
        else:
            row["undecided"] = "censored"
        rows.append(row)
    decided = [r for r in rows if r["undecided"] is None]
    applicable = [r for r in rows if r["undecided"] != "weighting inactive"]  # inactive ones cannot discriminate
    weighted = [r for r in decided if r["family"] == "linear"]
    if not weighted or len(decided) < MIN_FRACTION * len(applicable):
        verdict = "inconclusive"  # no low-rank instance where weighting acted, or too many censored
    else:
        verdict = "confirmed" if np.mean([r["holds"] for r in decided]) >= MIN_FRACTION else "refuted"
    return {"verdict": verdict, "rows": rows, "decided": len(decided)}


def _draw(meas: dict, dec: dict, ctx: RunContext, verdict: str) -> str:
    H = 1.0 / (1.0 - np.asarray(meas["gammas"]))
    fig, (a1, a2) = new_figure(ID, f"samples to ‖V* − v_K‖ ≤ {EPSILON} w.p. ≥ {1 - DELTA:g} — {verdict}", ncols=2, width=4.6)
    for i, r in enumerate(dec["rows"]):
        c = f"C{i % 10}"
        ls = "--" if r["family"] == "tabular" else "-"
        nl, nv = np.asarray(r["n_delta_LS"]), np.asarray(r["n_delta_VW"])
        a1.loglog(H[np.isfinite(nl)], nl[np.isfinite(nl)], ls, color=c, marker="o", ms=3, lw=0.8, alpha=0.6)
        a1.loglog(H[np.isfinite(nv)], nv[np.isfinite(nv)], ls, color=c, marker="^", ms=4, lw=1.4)
        if not r["censored"]:
            tag = " (weights ≈ uniform)" if r["undecided"] == "weighting inactive" else ""
            a2.semilogx(H, r["ratio_VW_LS"], ls, color=c, marker="o", ms=3, lw=1, label=r["name"] + tag)
    finite = [np.asarray(r["n_delta_VW"]) for r in dec["rows"] if not r["censored"]]
    if finite:
        ref = np.median([f[0] for f in finite])
        a1.loglog(H, ref * (H / H[0]) ** MINIMAX_EXPONENT, "k:", lw=1, label="∝ H³ (minimax)")
    a1.plot([], [], "k-", marker="^", label="VWLS-MDVI")
    a1.plot([], [], "k-", marker="o", alpha=0.6, lw=0.8, label="LS-MDVI")
    a1.set_xlabel("H = 1/(1 − γ)")
    a1.set_ylabel("generative draws per run, N_δ")
    a1.legend(fontsize=7)
    a2.axhline(1.0, color="k", lw=0.8, ls=":")
    a2.set_xlabel("H = 1/(1 − γ)")
    a2.set_ylabel("N_δ(VWLS) / N_δ(LS)")
    a2.legend(fontsize=7, title="dashed: one-hot control", title_fontsize=7)
    for ax in (a1, a2):
        plain_log_ticks(ax, [round(float(h), 1) for h in H])
    return save_figure(fig, ctx.figure_dir, ID)


def run(ctx: RunContext) -> Evidence:
    meas = measure(ctx)
    dec = decide(meas, seed=ctx.seed)
    verdict = dec["verdict"]
    sens = []
    if meas["sweep"]:  # the stored errors cover the whole declared ranges (see _evaluate_budgets)
        for const, values in (("epsilon", EPSILON_RANGE), ("delta", DELTA_RANGE)):
            for v in values:
                kw = {"eps": v} if const == "epsilon" else {"delta": v}
                d = decide(meas, seed=ctx.seed, **kw)
                sens.append(sweep_point(const, v, d["verdict"], decided=d["decided"],
                                        holding=int(sum(r.get("holds", False) for r in d["rows"]))))
    rows = dec["rows"]
    decided = [r for r in rows if r["undecided"] is None]
    fitted = [r for r in rows if not r["censored"]]
    lin_rows = [r for r in fitted if r["family"] == "linear"]
    inactive = [r for r in rows if r["undecided"] == "weighting inactive"]
    spreads = [r["weight_spread"] for r in lin_rows if r.get("weight_spread") is not None]
    active = [r for r in lin_rows if r.get("weighting_active")]
    med_ratio = lambda rs: float(np.median([r["ratio_VW_LS"][-1] for r in rs])) if rs else math.nan  # noqa: E731
    med = lambda key, rs: float(np.median([r[key] for r in rs])) if rs else math.nan  # noqa: E731
    ratio_last = [r["ratio_VW_LS"][-1] for r in lin_rows]
    # the protocol turns a failed extension into "qualified"; the figure shows the verdict the ledger will show
    figure = _draw(meas, dec, ctx, "qualified (extension failed)" if verdict == "refuted" else verdict)
    R = meas["runs"]
    n_total = int(sum(n * R for rec in meas["instances"] for m in ("LS", "VW") for per_gamma in rec["samples"][m]
                      for n in per_gamma if n is not None))
    summary = (f"{len(rows)} linear MDPs ({sum(r['family'] == 'tabular' for r in rows)} one-hot), γ ∈ {meas['gammas']}, "
               f"{R} runs per budget: fitted exponent of N_δ in H: VWLS median {med('exponent_VW', fitted):.2f}, LS median "
               f"{med('exponent_LS', fitted):.2f} (minimax 3, tolerance {EXPONENT_TOL}); on low-rank instances "
               f"N_δ(VWLS)/N_δ(LS) at the largest H: median {float(np.median(ratio_last)) if ratio_last else math.nan:.2f} "
               f"(VWLS no costlier on {sum(r['fewer'] for r in lin_rows)}/{len(lin_rows)}), but the weights 1/σ̂² varied by at "
               f"most ×{max(spreads) if spreads else math.nan:.3f} (gate ×{WEIGHT_SPREAD_MIN}): weighting inactive on "
               f"{len(inactive)}/{len(lin_rows)} low-rank instances; where it acted ({len(active)}): exponent LS "
               f"{med('exponent_LS', active):.2f} vs VWLS {med('exponent_VW', active):.2f}, N_δ ratio at the largest H "
               f"{med_ratio(active):.2f}; {len(decided)}/{len(rows)} instances decided, rule held on "
               f"{sum(r['holds'] for r in decided)} → {verdict}")
    details = {"rows": rows, "K": {rec["name"]: rec["K"] for rec in meas["instances"]}, "budgets": {rec["name"]: rec["budgets"] for rec in meas["instances"]},
               "gammas": meas["gammas"],
               "errors": {rec["name"]: rec["err"] for rec in meas["instances"]},
               "policy_gaps_median": {rec["name"]: {m: [[None if g is None else float(np.median(g)) for g in gs] for gs in rec["gap"][m]]
                                                    for m in ("LS", "VW")} for rec in meas["instances"]},
               "samples": {rec["name"]: rec["samples"] for rec in meas["instances"]},
               "weight_spread_max": {rec["name"]: [max((x for x in sp if x is not None), default=None)
                                                   for sp in rec["weight_spread"]] for rec in meas["instances"]},
               "epsilon": EPSILON, "delta": DELTA}
    return Evidence(
        verdict=verdict, statistic=med("exponent_VW", fitted),
        threshold=(f"per instance: VWLS exponent ≤ {MINIMAX_EXPONENT + EXPONENT_TOL:g} and (low-rank) N_δ(VWLS) ≤ N_δ(LS) at the largest H; "
                   f"confirmed when ≥ {MIN_FRACTION:.0%} of decided instances hold"),
        n_samples=n_total, summary=summary, details=details, figure=figure,
        instances=[r["holds"] for r in decided] or [False] * len(rows),  # none decided: none held (inconclusive)
        sensitivity=sens, code_checks=meas["code_checks"],
        quote_verdict="inconclusive",
    )


register_claim(Claim(
    id=ID,
    paper="Regularization and Variance-Weighted Regression Achieves Minimax Optimality in Linear MDPs: Theory and Practice",
    seed_line=67,
    claim="least-squares regression weighted by the variance of an estimated optimal value function of the next state is "
          "crucial to achieving minimax optimality; VWLS-MDVI achieves nearly minimax optimal sample complexity",
    theme="LIN, KL",
    exact="V* by value iteration; exact-expectation MDVI (iterations K); G-optimal designs (Frank–Wolfe)",
    monte_carlo="generative-model next-state counts (multinomial) on the design; LS-MDVI and VWLS-MDVI batched over runs",
    test="per instance: VWLS's N_δ exponent in H ≤ 3.5 and, on low-rank features, N_δ(VWLS) ≤ N_δ(LS) at the largest H",
    scales={"quick": {"tabular": 1, "tabular_shape": [3, 2], "linear": 1, "linear_shape": [8, 2, 4],
                      "concentrations": [0.3], "basins": 1, "gammas": [0.8, 0.9, 0.95], "runs": 16, "budget_levels": 35,
                      "sweep": False},
            "full": {"tabular": 3, "tabular_shape": [5, 2], "linear": 2, "linear_shape": [12, 3, 5],
                     "concentrations": [0.3, 1.0], "basins": 3, "gammas": [0.8, 0.9, 0.95, 0.975], "runs": 40,
                     "budget_levels": 39, "sweep": True}},
    run=run,
    source="seed abstract; MDVI recursion of Kozuno et al. 2022; σ̂² floor H from matsuolab/Deep-Variance-Weighting-Maze "
           "(solver.py, σ*² = Var V* + H); the paper's Algorithm and constants not read (not verified)",
    kind="empirical",
    quote="We demonstrate that least-squares regression weighted by the variance of an estimated optimal value function of "
          "the next state is crucial to achieving minimax optimality.",
    quote_source="seed abstract (title at line 67, abstract line 68)",
    extension=True, unbiasedness=False,
    constants={"epsilon": list(EPSILON_RANGE), "delta": list(DELTA_RANGE), "alpha": "γ (fixed: the averaging window H)",
               "phase1_budget": "⌈N/H⌉ (fixed)", "variance_floor": "H (fixed)"},
))
