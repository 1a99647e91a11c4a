"""Tests for the issue-15 remainder: L51 (VaGraM vs MLE linear models on LQR: models, planning, the claim's rule) and the
L137 building block (reward-table estimation by low-rank completion; the L137 claim itself was not built)."""
from __future__ import annotations

import importlib
import math

import numpy as np
import pytest
import torch

from pgtheory.estimators.low_rank_reward_completion import (aggregate_observations, als_complete, als_objective,
                                                            greedy_suboptimality, tabular_estimate)
from pgtheory.estimators.value_weighted_linear_models import (quadratic_value_gradient_weights, reduced_rank_mle,
                                                              reduced_rank_weighted_fit, weighted_model_loss)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _data(N=400, n=4, p=6, rank=2, noise=0.0, seed=0, scales=None):
    g = torch.Generator().manual_seed(seed)
    M = torch.randn(n, rank, generator=g, dtype=torch.float64) @ torch.randn(rank, p, generator=g, dtype=torch.float64)
    Z = torch.randn(N, p, generator=g, dtype=torch.float64) * (1.0 if scales is None else scales)
    Y = Z @ M.T + noise * torch.randn(N, n, generator=g, dtype=torch.float64)
    return M, Z, Y


# -- models ------------------------------------------------------------------------------------------------------------
def test_value_gradient_weights_by_hand():
    Y = torch.tensor([[1.0, 2.0]], dtype=torch.float64)
    P = torch.tensor([[1.0, 0.0], [0.0, 2.0]], dtype=torch.float64)
    # ∂V/∂s = −2Ps' = −(2, 8): squared (4, 64)
    assert torch.allclose(quadratic_value_gradient_weights(Y, P), torch.tensor([[4.0, 64.0]], dtype=torch.float64))
    M = torch.zeros(2, 1, dtype=torch.float64)
    Z = torch.ones(1, 1, dtype=torch.float64)
    # loss of the zero model: 4·1² + 64·2² = 260
    assert float(weighted_model_loss(M, Z, Y, quadratic_value_gradient_weights(Y, P))) == pytest.approx(260.0)


def test_reduced_rank_mle_recovers_a_noiseless_rank_r_model_and_full_rank_is_least_squares():
    M, Z, Y = _data()
    assert torch.allclose(reduced_rank_mle(Z, Y, 2), M, atol=1e-10)
    _, Z, Y = _data(noise=0.5, seed=1)
    ols = torch.linalg.lstsq(Z, Y).solution.T
    assert torch.allclose(reduced_rank_mle(Z, Y, 4), ols, atol=1e-10)


def test_reduced_rank_mle_is_the_minimiser_and_a_naive_truncation_twin_is_worse():
    # anisotropic inputs: truncating the SVD of M_ols itself (ignoring Σ_zz) is not the least-squares rank-r fit
    _, Z, Y = _data(noise=0.5, seed=2, rank=4, scales=torch.tensor([5.0, 3.0, 1.0, 0.3, 0.2, 0.1], dtype=torch.float64))
    ones = torch.ones_like(Y)
    rrr = reduced_rank_mle(Z, Y, 2)
    ols = torch.linalg.lstsq(Z, Y).solution.T
    U, S, Vh = torch.linalg.svd(ols)
    naive = U[:, :2] * S[:2] @ Vh[:2]
    best = float(weighted_model_loss(rrr, Z, Y, ones))
    assert best < float(weighted_model_loss(naive, Z, Y, ones)) - 1e-6
    g = torch.Generator().manual_seed(3)
    Ur, Sr, Vr = torch.linalg.svd(rrr)
    A, B = Ur[:, :2] * Sr[:2], Vr[:2].T
    for _ in range(20):  # random perturbations of the rank-2 factors never do better
        cand = (A + 0.1 * torch.randn(4, 2, generator=g, dtype=torch.float64)) @ \
            (B + 0.1 * torch.randn(6, 2, generator=g, dtype=torch.float64)).T
        assert float(weighted_model_loss(cand, Z, Y, ones)) >= best - 1e-12


def test_weighted_fit_with_uniform_weights_matches_least_squares_and_never_increases_the_loss():
    _, Z, Y = _data(noise=0.3, seed=4, rank=4)
    ones = torch.ones_like(Y)
    ols = torch.linalg.lstsq(Z, Y).solution.T
    fit = reduced_rank_weighted_fit(Z, Y, ones, 4, init=reduced_rank_mle(Z, Y, 4), iters=3)
    assert torch.allclose(fit, ols, atol=1e-8)
    w = torch.rand(Y.shape, generator=torch.Generator().manual_seed(5), dtype=torch.float64) * 3
    init = reduced_rank_mle(Z, Y, 2)
    losses = [float(weighted_model_loss(reduced_rank_weighted_fit(Z, Y, w, 2, init=init, iters=k), Z, Y, w))
              for k in (1, 2, 5, 20)]
    assert losses[0] <= float(weighted_model_loss(init, Z, Y, w)) + 1e-12
    assert all(b <= a + 1e-12 for a, b in zip(losses, losses[1:]))


def test_zero_weight_coordinates_are_ignored_and_the_weighted_rows_recovered_exactly():
    # rows 0-1: a rank-2 map (the "task"); rows 2-3: large unrelated noise (a "distractor"), weight 0
    g = torch.Generator().manual_seed(6)
    Z = torch.randn(300, 5, generator=g, dtype=torch.float64)
    T = torch.randn(2, 5, generator=g, dtype=torch.float64)
    Y = torch.cat([Z @ T.T, 30 * torch.randn(300, 2, generator=g, dtype=torch.float64)], 1)
    w = torch.cat([torch.ones(300, 2), torch.zeros(300, 2)], 1).double()
    fit = reduced_rank_weighted_fit(Z, Y, w, 2, init=reduced_rank_mle(Z, Y, 2), iters=30)
    assert torch.allclose(fit[:2], T, atol=1e-8)
    assert float(fit[2:].abs().max()) < 1e-8  # minimum-norm rows where nothing is weighted
    # the MLE twin spends its rank on the distractor rows and misses the task rows
    assert float((reduced_rank_mle(Z, Y, 2)[:2] - T).abs().max()) > 0.1


def test_bad_inputs_raise_naming_the_argument():
    _, Z, Y = _data()
    with pytest.raises(ValueError, match="^rank:"):
        reduced_rank_mle(Z, Y, 5)
    with pytest.raises(ValueError, match="^Y:"):
        reduced_rank_mle(Z, Y[:-1], 2)
    with pytest.raises(TypeError, match="^Z:"):
        reduced_rank_mle(Z[0], Y, 2)
    with pytest.raises(ValueError, match="^weights:"):
        reduced_rank_weighted_fit(Z, Y, -torch.ones_like(Y), 2, init=torch.zeros(4, 6, dtype=torch.float64))
    with pytest.raises(ValueError, match="^init:"):
        reduced_rank_weighted_fit(Z, Y, torch.ones_like(Y), 2, init=torch.zeros(3, 6, dtype=torch.float64))
    with pytest.raises(ValueError, match="^P:"):
        quadratic_value_gradient_weights(Y, torch.eye(3, dtype=torch.float64))


# -- L51 claim ---------------------------------------------------------------------------------------------------------
def test_true_cost_matches_the_exact_lqr_objective_and_is_minimal_at_the_optimum():
    from pgtheory.claims.library import l51_vagram_lqr as mod
    from pgtheory.exact.lqr import lqr_objective, lqr_optimal_gain
    from pgtheory.policies.gaussian import LinearGaussianPolicy

    lqr = mod._problem(np.random.default_rng(0), 2, 1, 2, 3.0)
    K = lqr_optimal_gain(lqr).gain
    pol = LinearGaussianPolicy(lqr.state_dim, lqr.action_dim, std=1e-9)
    assert mod._true_cost(lqr, K) == pytest.approx(-float(lqr_objective(lqr, pol, K)), rel=1e-10)
    assert mod._true_cost(lqr, K + 0.05) > mod._true_cost(lqr, K)
    assert mod._true_cost(lqr, torch.zeros_like(K)) == float("inf")  # open loop is unstable under γ (radius 1.1)
    assert mod._true_cost(lqr, None) == float("inf")


def test_claim_rule_has_teeth_a_uniform_weight_twin_never_beats_mle(monkeypatch):
    from pgtheory.claims.library import l51_vagram_lqr as mod

    cfg = dict(mod.PRIMARY["distractors"], N=300)
    real = [mod._instance(k, **cfg) for k in range(3)]
    assert all(r["better"] for r in real)  # the distractor arm: VaGraM plans a stabilising policy, MLE does not
    # twin: "VaGraM" with all weights one is the MLE loss; from the MLE fit it cannot improve on MLE
    monkeypatch.setattr(mod, "quadratic_value_gradient_weights", lambda Y, P: torch.ones_like(Y))
    twin = [mod._instance(k, **cfg) for k in range(3)]
    assert not any(r["better"] for r in twin)
    monkeypatch.undo()  # the claim's own code-check twin is the same: all ties (here both unstable), never better
    assert all(r["tie"] and not r["better"] for r in (mod._instance(k, **cfg, uniform_weights=True) for k in range(3)))


def test_arm_and_claim_verdict_rules():
    from pgtheory.claims.library import l51_vagram_lqr as mod

    mk = lambda b, tie=False: {"better": b, "tie": tie}  # noqa: E731
    assert mod._arm_verdict([mk(True)] * 3 + [mk(False)]) == "confirmed"
    assert mod._arm_verdict([mk(True)] * 2 + [mk(False)] * 2) == "refuted"
    assert mod._arm_verdict([mk(True)] * 2 + [mk(False)]) == "qualified"
    # one tie rule (2026-12-01): a tie counts as "not better"; left out only in the reported, unjudged variant
    assert mod._arm_verdict([mk(True)] * 3 + [mk(False, True)]) == "confirmed"
    assert mod._arm_verdict([mk(True)] * 2 + [mk(False, True)] * 2) == "refuted"
    assert mod._arm_verdict([mk(True)] * 2 + [mk(False, True)] * 2, exclude_ties=True) == "confirmed"
    assert mod._arm_verdict([mk(False, True)] * 2, exclude_ties=True) == "inconclusive"
    assert mod._combine(["confirmed", "confirmed"]) == "confirmed"
    assert mod._combine(["confirmed", "refuted"]) == "refuted"
    assert mod._combine(["confirmed", "qualified"]) == "qualified"


def test_ties_infinite_and_finite_are_one_rule_and_not_better():
    from pgtheory.claims.library import l51_vagram_lqr as mod

    inf = float("inf")
    assert mod._tie(inf, inf) and not mod._better(inf, inf)  # both planned policies unstable: a tie, not better
    assert mod._tie(0.2, 0.2 * (1 - mod.TIE / 2)) and not mod._better(0.2, 0.2 * (1 - mod.TIE / 2))  # finite tie
    assert not mod._tie(inf, 0.3) and mod._better(inf, 0.3)  # VaGraM stable, MLE not
    assert not mod._tie(0.3, inf) and not mod._better(0.3, inf)
    assert mod._better(0.2, 0.1) and not mod._better(0.1, 0.2)
    # twin of the tie tolerance: a difference just above TIE is a real improvement
    assert mod._better(0.2, 0.2 * (1 - 2 * mod.TIE)) and not mod._tie(0.2, 0.2 * (1 - 2 * mod.TIE))


def test_instance_seeds_of_run_seeds_are_disjoint_and_rank_one_is_not_swept():
    from pgtheory.claims.library import l51_vagram_lqr as mod

    from pgtheory.claims.registry import all_claims

    n_full = next(c for c in all_claims() if c.id == mod.ID).scales["full"]["instances"]
    offsets = [1000 * a + k for a in range(2) for k in range(n_full)]
    offsets += [10_000 * (1 + 10 * j + i) + k for j, (_, _, vals) in enumerate(mod.SWEEPS) for i in range(len(vals))
                for k in range(n_full)]
    assert max(offsets) < mod.SEED_STRIDE and len(set(offsets)) == len(offsets)
    assert 1 not in dict(((a, c), v) for a, c, v in mod.SWEEPS)[("capacity", "rank")]


@pytest.mark.slow
def test_l51_quick_run_returns_a_complete_record(tmp_path):
    import pgtheory.claims.library.l51_vagram_lqr as mod
    from pgtheory.claims.runner import check

    rec = check([mod.ID], scale="quick", results=tmp_path)[0]
    for key in ("verdict", "summary", "instances", "sensitivity", "kind", "quote", "figure"):
        assert key in rec
    assert rec["kind"] == "empirical" and len(rec["sensitivity"]) == sum(len(v) for _, _, v in mod.SWEEPS)
    for pt in rec["sensitivity"]:  # every point as large as a main arm; at the primary value it is the main arm
        arm, const = pt["constant"].split(".")
        assert pt["instances"] == 10 and pt["main_instances"] == (pt["value"] == mod.PRIMARY[arm][const])
        if pt["main_instances"]:
            assert pt["arm_verdict"] == rec["details"]["arm_verdicts"][arm]
            assert pt["fraction_vagram_better"] == rec["details"]["fraction_better"][arm]
    assert "ties_excluded_reported_not_judged" in rec["details"]
    assert not rec["code_checks"]


# -- L137 building block: reward-table estimation (the claim itself was not built: see the helper's report) ----------


def test_aggregate_tabular_and_greedy_suboptimality_by_hand():
    s = torch.tensor([0, 0, 1])
    a = torch.tensor([1, 1, 0])
    y = torch.tensor([1.0, 3.0, -2.0], dtype=torch.float64)
    counts, sums = aggregate_observations(s, a, y, 2, 2)
    assert counts.tolist() == [[0.0, 2.0], [1.0, 0.0]] and sums.tolist() == [[0.0, 4.0], [-2.0, 0.0]]
    est = tabular_estimate(counts, sums)
    assert est[0, 1] == 2.0 and est[1, 0] == -2.0 and torch.isinf(est[0, 0]) and est[0, 0] < 0
    R = torch.tensor([[5.0, 1.0], [0.0, 2.0]], dtype=torch.float64)
    # greedy picks a = 1 in state 0 (gap 4) and a = 0 in state 1 (gap 2): mean 3
    assert float(greedy_suboptimality(R, est)) == pytest.approx(3.0)
    assert float(greedy_suboptimality(R, R)) == 0.0


def test_als_recovers_a_low_rank_table_from_a_subset_and_a_full_rank_twin_is_not_recovered():
    g = torch.Generator().manual_seed(7)
    S, A, r = 30, 30, 2
    R = torch.randn(S, r, generator=g, dtype=torch.float64) @ torch.randn(r, A, generator=g, dtype=torch.float64)
    mask = (torch.rand(S, A, generator=g) < 0.5).double()
    est, U, V = als_complete(mask, mask * R, r, ridge=1e-10, iters=300, tol=0.0)
    assert float((est - R).abs().max()) < 1e-6  # half the entries, noiseless: exact completion
    assert float(greedy_suboptimality(R, est)) == 0.0
    F = torch.randn(S, A, generator=g, dtype=torch.float64)  # twin: no low-rank structure
    est_f = als_complete(mask, mask * F, r, ridge=1e-10, iters=300, tol=0.0)[0]
    assert float(((est_f - F) * (1 - mask)).abs().mean()) > 0.5


def test_als_objective_never_increases_with_more_sweeps():
    g = torch.Generator().manual_seed(8)
    R = torch.randn(12, 2, generator=g, dtype=torch.float64) @ torch.randn(2, 10, generator=g, dtype=torch.float64)
    counts = torch.randint(0, 3, (12, 10), generator=g).double()
    sums = counts * R + torch.randn(12, 10, generator=g, dtype=torch.float64) * counts.sqrt()
    objs = []
    for k in (1, 2, 5, 20):
        _, U, V = als_complete(counts, sums, 2, ridge=1e-2, iters=k, tol=0.0)
        objs.append(float(als_objective(U, V, counts, sums, 1e-2)))
    assert all(b <= a + 1e-10 for a, b in zip(objs, objs[1:]))


def test_completion_bad_inputs_raise_naming_the_argument():
    counts = torch.ones(3, 4, dtype=torch.float64)
    with pytest.raises(ValueError, match="^rank:"):
        als_complete(counts, counts, 4)
    with pytest.raises(ValueError, match="^ridge:"):
        als_complete(counts, counts, 1, ridge=0.0)
    with pytest.raises(ValueError, match="^counts:"):
        als_complete(torch.zeros(3, 4, dtype=torch.float64), counts, 1)
    with pytest.raises(ValueError, match="^counts:"):
        tabular_estimate(-counts, counts)
    with pytest.raises(ValueError, match="^states:"):
        aggregate_observations(torch.tensor([3]), torch.tensor([0]), torch.tensor([1.0]), 3, 4)
    with pytest.raises(ValueError, match="^estimate:"):
        greedy_suboptimality(counts, torch.full((3, 4), float("nan")))


def test_l51_is_a_stand_in_whose_failed_arm_leaves_the_sentence_undecided():
    """The stand-in rule (protocol rule 2, 2026-12-01): linear LQR models stand in for the paper's neural MBRL, so a
    failed arm neither refutes nor qualifies the sentence (symmetric with a held one, which confirms nothing)."""
    from pgtheory.claims import CLAIMS, Evidence
    from pgtheory.claims.protocol import apply_protocol
    from pgtheory.stats import replication_summary

    from pgtheory.claims.registry import load_claims

    load_claims()
    claim = CLAIMS.get("L51-vagram-lqr")
    assert claim.extension is True
    refuted = Evidence("refuted", 0.47, "rule", 60, "capacity arm failed", quote_verdict="inconclusive",
                       instances=replication_summary([True] * 28 + [False] * 32), sensitivity=[])
    out = apply_protocol(claim, refuted)
    assert out["verdict"] == "inconclusive" and "the extension failed" in out["protocol_notes"][0]
    # since 2026-12-01 the claim declares its reading (stand-in): even evidence claiming the quoted sentence itself
    # failed leaves it undecided (kept as the quoted part's verdict); the twin: the same claim read as written is refuted
    own = Evidence("refuted", 0.47, "rule", 60, "capacity arm failed", quote_verdict="refuted",
                   instances=replication_summary([True] * 28 + [False] * 32), sensitivity=[])
    assert claim.reading == "stand-in"
    stood_in = apply_protocol(claim, own)
    assert stood_in["verdict"] == "inconclusive" and stood_in["quote_part_verdict"] == "refuted"
    import dataclasses
    assert apply_protocol(dataclasses.replace(claim, reading="as-written"), own)["verdict"] == "refuted"


def test_l51_runs_its_arms_sweep_points_and_twins_as_shards(tmp_path):
    """L51 hands its independent shards to ``RunContext.map``: a mapper that runs them concurrently (and records
    what it was given) gives the serial run's verdicts and numbers (to round-off: its LAPACK calls are not
    bit-reproducible run to run)."""
    from concurrent.futures import ThreadPoolExecutor

    import pgtheory.claims.runner as runner

    seen = []

    def threads(fn, items):
        seen.append(len(items))
        with ThreadPoolExecutor(2) as ex:
            return list(ex.map(fn, items))

    serial = runner.run_claim("L51-vagram-lqr", "quick", 0, "cpu", str(tmp_path / "a"), "v")
    mapped = runner.run_claim("L51-vagram-lqr", "quick", 0, "cpu", str(tmp_path / "b"), "v", mapper=threads)
    mod = importlib.import_module("pgtheory.claims.library.l51_vagram_lqr")
    n_sweep = sum(len(values) - 1 for _, _, values in mod.SWEEPS)
    assert seen == [2 * len(mod.PRIMARY) + n_sweep]  # one call: every arm, non-primary sweep point and twin
    for key in ("verdict", "raw_verdict", "instances", "n_samples"):
        assert mapped[key] == serial[key]
    assert [(p["constant"], p["value"], p["verdict"], p["fraction_vagram_better"]) for p in mapped["sensitivity"]] == \
        [(p["constant"], p["value"], p["verdict"], p["fraction_vagram_better"]) for p in serial["sensitivity"]]
    for p, q in zip(mapped["sensitivity"], serial["sensitivity"]):
        assert math.isclose(p["median_sub_mle"], q["median_sub_mle"], rel_tol=1e-9)
