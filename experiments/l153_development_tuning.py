"""Development tuning of L153 (version 2): one configuration per method for the whole instance family.

Runs every configuration of the grids in the claim's docstring on the *development* instances (run seed 0, two
instances; never the full-scale ones), 16 runs each with a budget of 20 000 trajectories, and records N̄ — the
trajectories after which the mean gap over runs stays ≤ ε — per instance and target; then, for each method whose best
configuration sits at the edge of a grid, the pre-registered one-step extension in that direction. Writes
``experiments/l153_development_tuning.json`` (the run of 2026-12-01 is the committed file; about 30 CPU-minutes).

    python experiments/l153_development_tuning.py
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import torch

import pgtheory.claims.library.l153_mo_variance_reduction as L
from pgtheory.exact import objective_vector, scalarised_optimum
from pgtheory.problems import ScalarisedMDP, make_scalarisation

BUDGET, RUNS, CHECKPOINTS = 20_000, 16, 120
GRID = {"mopg": [dict(step_size=e, objective_batch=n, batch_size=n, max_step=d)
                 for e in (1.0, 10.0) for d in (0.03, 0.1, 0.3, 1.0) for n in (8, 32, 128)],
        "mo_tsivr_pg": [dict(step_size=e, big_batch=N, batch_size=B, epoch_length=m, max_step=d)
                        for e in (1.0, 10.0) for d in (0.03, 0.1, 0.3, 1.0) for N, B, m in ((32, 4, 8), (128, 8, 16))]}
#: the one-step extensions of the grid edges the winners sat on (MOPG: η = 10 → 30; MO-TSIVR-PG: η = 1 → 0.3,
#: δ = 0.03 → 0.01, the loop (32, 4, 8) → (16, 2, 4)), one parameter at a time
EXTENSION = [("mopg", dict(step_size=30.0, objective_batch=32, batch_size=32, max_step=0.1)),
             ("mo_tsivr_pg", dict(step_size=0.3, big_batch=32, batch_size=4, epoch_length=8, max_step=0.03)),
             ("mo_tsivr_pg", dict(step_size=1.0, big_batch=32, batch_size=4, epoch_length=8, max_step=0.01)),
             ("mo_tsivr_pg", dict(step_size=1.0, big_batch=16, batch_size=2, epoch_length=4, max_step=0.03))]


def passages(method: str, c: dict, insts, f) -> list[list[float]]:
    out = []
    for i, (mo, theta0, _) in enumerate(insts):
        F_star = scalarised_optimum(mo, f)[0]
        gap0 = F_star - float(f(objective_vector(mo, torch.softmax(theta0, -1))))
        targets = gap0 * np.array(L.TARGET_FRACTIONS)
        n, g = L.gap_runs(ScalarisedMDP(mo, f), method, c, theta0, range(900_000 + 1000 * i, 900_000 + 1000 * i + RUNS),
                          BUDGET, CHECKPOINTS, "cpu")
        out.append(L.last_exit(n, g.mean(0), targets, BUDGET).tolist())
    return out


def main() -> None:
    torch.set_num_threads(1)
    insts = L._instances(2, 0)
    f = make_scalarisation("soft_min", temperature=L.BETA)
    table, extension = {}, []
    for method, c in [(m, c) for m, cs in GRID.items() for c in cs] + EXTENSION:
        t0 = time.time()
        key = f"{method} {json.dumps(c, sort_keys=True)}"
        table[key] = passages(method, c, insts, f)
        if (method, c) in EXTENSION:
            extension.append(key)
        print(key, table[key], f"{time.time() - t0:.1f}s", flush=True)
    out = Path(__file__).with_suffix(".json")
    out.write_text(json.dumps({"budget": BUDGET, "runs": RUNS, "instances": "run seed 0, 2 instances",
                               "table": table, "extension": extension}, indent=1))


if __name__ == "__main__":
    main()
