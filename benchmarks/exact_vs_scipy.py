"""Benchmark: the exact layer against what a user would write with numpy/scipy (issue 17, items 4–5).

    python benchmarks/exact_vs_scipy.py [--device cpu] [--states 50 200 1000] [--rounds 7] [--json PATH]

For each S (A = 4, branching 5, γ = 0.9), interleaved rounds alternate the two implementations (so drifting load hits
both) and the table reports median times and the ratio baseline / pgtheory (> 1: pgtheory is faster):

* evaluation — ``evaluate_policy`` (V, Q, A, d^π, J of one policy) against scipy: ``lu_factor`` of I − γP_π, two
  ``lu_solve`` (V and the occupancy, transposed), Q = r + γPV — the same outputs;
* policy iteration — ``policy_iteration`` against the same Howard iteration in numpy/scipy (``scipy.linalg.solve``
  per step, greedy improvement keeping the current action on ties), from the uniform policy;
* batch — 256 policies in one ``evaluate_policy`` call against a Python loop of single calls (ratio loop / batch).

The targets of issue 17: evaluation ≥ 0.67× scipy at S = 50 and ≥ 1× from S = 200; policy iteration ≥ 1× from
S = 200; a batched call never slower than the loop. Also printed: the torch thread count and the load average (the
figures are only comparable at the same load). ``--json`` writes the rows.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import time

import numpy as np
import scipy.linalg as sl
import torch

from pgtheory.exact import evaluate_policy, policy_iteration
from pgtheory.problems import garnet


def _scipy_evaluate(P: np.ndarray, R: np.ndarray, pi: np.ndarray, rho: np.ndarray, g: float):
    S = P.shape[0]
    lu = sl.lu_factor(np.eye(S) - g * np.einsum("sa,sat->st", pi, P), check_finite=False)
    v = sl.lu_solve(lu, (pi * R).sum(1), check_finite=False)
    q = R + g * P @ v
    d = (1 - g) * sl.lu_solve(lu, rho, trans=1, check_finite=False)
    return v, q, q - v[:, None], d, rho @ v


def _numpy_policy_iteration(P: np.ndarray, R: np.ndarray, g: float, max_iter: int = 10_000):
    S, A = R.shape
    act = np.zeros(S, dtype=int)
    pi = np.full((S, A), 1.0 / A)
    for _ in range(max_iter):
        v = sl.solve(np.eye(S) - g * np.einsum("sa,sat->st", pi, P), (pi * R).sum(1), check_finite=False)
        q = R + g * P @ v
        best = q.max(1)
        keep = (pi.max(1) == 1) & (q[np.arange(S), act] >= best - 1e-12 * (1 + np.abs(best)))
        new_act = np.where(keep, act, q.argmax(1))
        new_pi = np.eye(A)[new_act]
        if np.array_equal(new_pi, pi):
            return v
        act, pi = new_act, new_pi
    raise RuntimeError("no convergence")


def _interleaved(fns: dict, rounds: int) -> dict:
    """Median seconds per call of each function, timed in alternating rounds after one warm-up call each."""
    for f in fns.values():
        f()
    times: dict = {k: [] for k in fns}
    for _ in range(rounds):
        for k, f in fns.items():
            reps, t0 = 0, time.perf_counter()
            while True:  # at least 20 ms per measurement, so that timer resolution does not matter
                f()
                reps += 1
                if (el := time.perf_counter() - t0) >= 0.02:
                    break
            times[k].append(el / reps)
    return {k: statistics.median(v) for k, v in times.items()}


def main(argv=None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cpu", choices=["cpu"], help="the scipy baseline is CPU only")
    ap.add_argument("--states", type=int, nargs="+", default=[50, 200, 1000])
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--json", default=None, help="write the rows as JSON here")
    args = ap.parse_args(argv)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"torch threads {torch.get_num_threads()}, load average {load:.2f} on {os.cpu_count()} CPUs")
    rows = []
    for S in args.states:
        mdp = garnet(S, 4, 5, discount=0.9, seed=S)
        pi = torch.softmax(torch.randn(S, 4, generator=torch.Generator().manual_seed(S), dtype=torch.float64), -1)
        P, R, rho, pin, g = (mdp.transitions.numpy(), mdp.rewards.numpy(), mdp.initial.numpy(), pi.numpy(),
                             mdp.discount)
        ours, ref = evaluate_policy(mdp, pi), _scipy_evaluate(P, R, pin, rho, g)
        err = max(float(np.abs(ours.v.numpy() - ref[0]).max()), float(np.abs(ours.occupancy.numpy() - ref[3]).max()))
        t = _interleaved({"ours": lambda: evaluate_policy(mdp, pi), "scipy": lambda: _scipy_evaluate(P, R, pin, rho, g)},
                         args.rounds)
        rows.append({"S": S, "task": "evaluate_policy (V, Q, A, d, J)", "pgtheory_s": t["ours"], "baseline": "scipy",
                     "baseline_s": t["scipy"], "ratio": t["scipy"] / t["ours"], "max_abs_diff": err})
        v_pi = policy_iteration(mdp).v.numpy()
        err = float(np.abs(v_pi - _numpy_policy_iteration(P, R, g)).max())
        t = _interleaved({"ours": lambda: policy_iteration(mdp), "numpy": lambda: _numpy_policy_iteration(P, R, g)},
                         max(3, args.rounds // 2))
        rows.append({"S": S, "task": "policy_iteration", "pgtheory_s": t["ours"], "baseline": "numpy/scipy",
                     "baseline_s": t["numpy"], "ratio": t["numpy"] / t["ours"], "max_abs_diff": err})
        batch = torch.softmax(torch.randn(256, S, 4, generator=torch.Generator().manual_seed(S + 1),
                                          dtype=torch.float64), -1)
        t = _interleaved({"batch": lambda: evaluate_policy(mdp, batch),
                          "loop": lambda: [evaluate_policy(mdp, p) for p in batch]}, max(3, args.rounds // 2))
        rows.append({"S": S, "task": "256 policies: one batched call", "pgtheory_s": t["batch"],
                     "baseline": "loop of single calls", "baseline_s": t["loop"], "ratio": t["loop"] / t["batch"],
                     "max_abs_diff": 0.0})
    print(f"{'S':>6}  {'task':<34} {'pgtheory':>11} {'baseline':>22} {'ratio':>7}  max |diff|")
    for r in rows:
        print(f"{r['S']:>6}  {r['task']:<34} {r['pgtheory_s'] * 1e3:>9.3f}ms {r['baseline']:>12} "
              f"{r['baseline_s'] * 1e3:>7.3f}ms {r['ratio']:>7.2f}  {r['max_abs_diff']:.1e}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"threads": torch.get_num_threads(), "load": load, "rows": rows}, fh, indent=1)
    return rows


if __name__ == "__main__":
    main()
