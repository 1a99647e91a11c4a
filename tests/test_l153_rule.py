"""The decision rule of L153 (variance reduction for multi-objective PG, version 2) on synthetic gap curves with known
passage times: the last exit of the mean gap, the log ratio's interval with censoring, the choice of the decision
target, and the verdict table. Each synthetic run's gap is exp(−λ_r n) with λ_r log-normal (σ = 0.5, narrower than
the development runs' spread, at which an equivalence needs more runs than the full scale has), drawn from fixed
generators (deterministic); the true ratios sit far from the decision boundaries (2× against ±log 1.5 at level
1 − 1.8e-5, intervals ±0.2–0.3 at 512 runs), so a failure means a wrong rule, not bad luck."""
from __future__ import annotations

import math

import numpy as np
import pytest

from pgtheory.claims.library.l153_mo_variance_reduction import (EQUIVALENCE, PLANTED, TARGET_FRACTIONS, compare,
                                                                last_exit, outcome, passage_interval, verdict_of)

LEVEL = 1 - 0.05 / 128 / 22  # the claim's share over its 22 interval decisions at full scale
BUDGET = 20_000.0
N = np.concatenate([[0.0], np.geomspace(16, BUDGET, 199)])  # checkpoints (trajectories), log-spaced


def _gaps(rng, R: int, speed: float) -> np.ndarray:
    """[R, K] gaps of runs whose rates are ``speed`` × log-normal(σ = 0.5) around 1/500 per trajectory; gap₀ = 1."""
    lam = speed / 500 * np.exp(0.5 * rng.standard_normal(R))
    return np.exp(-lam[:, None] * N)


def test_last_exit_by_hand():
    n = np.array([0.0, 10, 20, 30, 40])
    assert last_exit(n, np.array([1.0, 0.1, np.nan, 0.1, 0.1]), np.array([0.5]), 100.0).tolist() == [30.0]  # NaN: above
    curve = np.array([1.0, 0.4, 0.2, 0.35, 0.1])
    assert last_exit(n, curve, np.array([0.5, 0.3, 0.05]), 100.0).tolist() == [10.0, 40.0, 100.0]
    # a dip below ε that comes back does not count; curves stacked on a leading axis are handled one by one
    both = last_exit(n, np.stack([curve, curve[::-1]]), np.array([0.3]), 100.0)
    assert both.tolist() == [[40.0], [100.0]]


@pytest.mark.parametrize("speed, expected", [(2.0, "faster"), (0.5, "slower"), (1.0, "equivalent")])
def test_passage_interval_and_outcome(speed, expected):
    rng = np.random.default_rng(0)
    ga, gb = _gaps(rng, 512, 1.0), _gaps(rng, 512, speed)
    L, lo, hi = passage_interval(N, ga, N, gb, 0.2, BUDGET, LEVEL, np.random.default_rng(1))
    assert lo < math.log(speed) < hi or expected == "equivalent"
    assert outcome(L, lo, hi) == expected


def test_censoring_at_the_budget_understates_the_winner():
    """MOPG's mean gap never reaches ε within the budget (censored at the budget): the VR method is still decided
    faster, and its log ratio is a lower bound (log(budget / N̄_VR))."""
    rng = np.random.default_rng(2)
    ga, gb = _gaps(rng, 512, 0.05), _gaps(rng, 512, 4.0)
    L, lo, hi = passage_interval(N, ga, N, gb, 0.05, BUDGET, LEVEL, np.random.default_rng(3))
    Nb = last_exit(N, gb.mean(0), np.array([0.05]), BUDGET)[0]
    assert L == pytest.approx(math.log(BUDGET / Nb)) and outcome(L, lo, hi) == "faster"


def test_compare_decides_at_the_finest_target_both_reach_and_reads_power():
    rng = np.random.default_rng(4)
    targets = np.array(TARGET_FRACTIONS)
    fast = compare({"mopg": (N, _gaps(rng, 512, 1.0)), "mo_tsivr_pg": (N, _gaps(rng, 512, 2.0))}, targets, BUDGET,
                   LEVEL, np.random.default_rng(5))
    assert fast["decision_target"] == 3 and fast["outcome"] == "faster" and fast["power_twin"] == "faster"
    slow = compare({"mopg": (N, _gaps(rng, 512, 0.15)), "mo_tsivr_pg": (N, _gaps(rng, 512, 0.15))}, targets, BUDGET,
                   LEVEL, np.random.default_rng(6))
    assert slow["decision_target"] == 2  # 0.01 of the gap is beyond the budget for both: decided at 0.03
    one = compare({"mopg": (N, _gaps(rng, 512, 1.0)), "mo_tsivr_pg": (N, _gaps(rng, 512, 0.1))}, targets, BUDGET,
                  LEVEL, np.random.default_rng(10))
    assert one["decision_target"] == 3 and one["one_sided"] and one["outcome"] == "slower"  # only MOPG reaches 0.01
    coarse = compare({"mopg": (N, _gaps(rng, 512, 0.05)), "mo_tsivr_pg": (N, _gaps(rng, 512, 0.05))}, targets, BUDGET,
                     LEVEL, np.random.default_rng(7))
    assert coarse["decision_target"] is None and coarse["outcome"] == "undecided"
    few = compare({"mopg": (N, _gaps(rng, 8, 1.0)), "mo_tsivr_pg": (N, _gaps(rng, 8, 1.0))}, targets, BUDGET,
                  LEVEL, np.random.default_rng(8))
    assert few["outcome"] == "undecided"  # a tie without power is not "equivalent"


def test_outcome_boundaries():
    assert outcome(0.5, 0.1, 0.9) == "faster" and outcome(-0.5, -0.9, -0.1) == "slower"
    assert outcome(0.0, -0.9 * EQUIVALENCE, 0.9 * EQUIVALENCE) == "equivalent"
    assert outcome(0.0, -1.1 * EQUIVALENCE, 0.5) == "undecided" and outcome(0.0, math.nan, 1.0) == "undecided"
    assert PLANTED == 2.0 and PLANTED > math.exp(EQUIVALENCE)  # the power reading lies beyond the equivalence margin


@pytest.mark.parametrize("outcomes, verdict", [
    (["faster"] * 10, "confirmed"),
    (["faster"] * 8 + ["undecided"] * 2, "confirmed"),
    (["faster"] * 7 + ["undecided"] * 3, "qualified"),  # 80% of *all* instances, not of the decided ones
    (["faster"] * 9 + ["slower"], "qualified"),
    (["equivalent"] * 6 + ["faster"] * 4, "refuted"),  # powered ties on a majority: not reduced
    (["slower"] * 6 + ["faster"] * 4, "refuted"),
    (["faster"] * 4 + ["undecided"] * 6, "inconclusive"),  # fewer than half decided
    (["faster"] * 3 + ["equivalent"] * 2 + ["undecided"] * 5, "qualified"),
    (["slower"] * 5 + ["undecided"] * 5, "refuted"),  # not faster on every decided instance: the extension failed
    (["equivalent"] * 3 + ["slower"] * 2 + ["undecided"] * 5, "refuted"),
])
def test_verdict_table(outcomes, verdict):
    assert verdict_of(outcomes) == verdict


def test_the_family_configurations_are_the_development_tuning_choice():
    """CONFIGS in the claim is what its selection rule picks from the committed development table — no hand edit."""
    import json
    from pathlib import Path

    from pgtheory.claims.library.l153_mo_variance_reduction import CONFIGS, choose_configs

    table = json.loads((Path(__file__).resolve().parents[1] / "experiments" / "l153_development_tuning.json").read_text())
    assert choose_configs(table) == CONFIGS
    # the rule itself: the finest target reached on every instance wins over speed at a coarser one
    toy = {"budget": 100, "table": {'m {"a": 1}': [[10, 20, 100], [10, 20, 100]],
                                    'm {"a": 2}': [[50, 60, 90], [50, 60, 99]],
                                    'm {"a": 3}': [[1, 2, 100], [1, 2, 100]]}}
    assert choose_configs(toy) == {"m": {"a": 2}}
