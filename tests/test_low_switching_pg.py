"""The simplified LPO (pgtheory.optim.low_switching_pg) and its claims L43-lpo-switches / L43-lpo-sample-rate."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from pgtheory.exact.evaluation import evaluate_policy
from pgtheory.optim.low_switching_pg import (critic_operator, determinant_switch, feature_covariance, low_switching_pg,
                                             optimistic_linear_critic, switch_count_bound)
from pgtheory.problems.linear_mdp import one_hot_linear_mdp, random_linear_mdp
from tests.conftest import random_mdp

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _logdet(M: torch.Tensor) -> torch.Tensor:
    return torch.linalg.slogdet(M).logabsdet


# ------------------------------------------------------------------------------------------------ switching rule
def test_determinant_switch_hand_computed():
    phi = torch.tensor([[[1.0, 0.0], [0.0, 1.0]]], dtype=torch.float64)  # S = 1, A = 2, d = 2: φ = e1, e2
    last = _logdet(feature_covariance(phi, torch.zeros(1, 2, dtype=torch.float64), 1.0))  # det I = 1
    once = _logdet(feature_covariance(phi, torch.tensor([[1.0, 0.0]], dtype=torch.float64), 1.0))  # diag(2, 1): det 2
    twice = _logdet(feature_covariance(phi, torch.tensor([[2.0, 0.0]], dtype=torch.float64), 1.0))  # diag(3, 1): det 3
    assert float(once.exp()) == pytest.approx(2.0, abs=1e-12)
    assert float(twice.exp()) == pytest.approx(3.0, abs=1e-12)
    assert not bool(determinant_switch(once, last, 2.0))  # det 2 is not > 2·1
    assert bool(determinant_switch(twice, last, 2.0))  # det 3 > 2
    assert not bool(determinant_switch(twice, last, 4.0))
    both = _logdet(feature_covariance(phi, torch.tensor([[1.0, 1.0]], dtype=torch.float64), 0.5))  # diag(1.5, 1.5)
    assert float(both.exp()) == pytest.approx(2.25, abs=1e-12)


def test_switch_count_bound_hand_computed():
    # d = 2, λ = 1, L = 1, T = 6, c = 2: 2·log2(1 + 6/2) = 4
    assert float(switch_count_bound(6, 2, 1.0, 1.0, 2.0)) == pytest.approx(4.0, abs=1e-12)
    # c = 4 halves it; T = 0 gives 0
    assert float(switch_count_bound(6, 2, 1.0, 1.0, 4.0)) == pytest.approx(2.0, abs=1e-12)
    assert float(switch_count_bound(0, 3, 0.5, 2.0)) == 0.0
    np.testing.assert_allclose(switch_count_bound([2, 6], 2, 1.0, 1.0), [2.0, 4.0], atol=1e-12)


def _stream_switches(features: torch.Tensor, reg: float, ratio: float, every_step: bool) -> np.ndarray:
    """Switch counts after each of the T feature vectors of ``features [T, d]`` under the rule (or switching always)."""
    d = features.shape[1]
    lam = reg * torch.eye(d, dtype=torch.float64)
    last = _logdet(lam)
    out, n = [], 0
    for x in features:
        lam = lam + torch.outer(x, x)
        now = _logdet(lam)
        if every_step or bool(determinant_switch(now, last, ratio)):
            n, last = n + 1, now
        out.append(n)
    return np.array(out)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_switches_obey_the_determinant_bound_on_random_streams(seed):
    g = torch.Generator().manual_seed(seed)
    d, T, reg, ratio = 3, 400, 0.5, 2.0
    x = torch.randn(T, d, generator=g, dtype=torch.float64)
    x = x / x.norm(dim=1, keepdim=True) * torch.rand(T, 1, generator=g, dtype=torch.float64).sqrt()  # ‖φ‖ ≤ 1
    L = float(x.norm(dim=1).max())
    bound = switch_count_bound(np.arange(1, T + 1), d, reg, L, ratio)
    rule = _stream_switches(x, reg, ratio, every_step=False)
    assert np.all(rule <= bound + 1e-12)
    assert rule[-1] >= 1
    # twin: switching after every sample breaks the bound (the check can fail)
    twin = _stream_switches(x, reg, ratio, every_step=True)
    assert twin[-1] > bound[-1]
    # near twin (a realistic bug, referee's S6): the rule that forgets to update det Λ_last at a switch — it then
    # switches at every step once det Λ_t > c·λ^d, and the same check catches it
    lam, first = reg * torch.eye(d, dtype=torch.float64), _logdet(reg * torch.eye(d, dtype=torch.float64))
    stale, n = [], 0
    for v in x:
        lam = lam + torch.outer(v, v)
        n += int(bool(determinant_switch(_logdet(lam), first, ratio)))
        stale.append(n)
    assert np.any(np.array(stale) > bound + 1e-12)


def test_algorithm_switches_obey_the_bound_and_the_twin_breaks_it():
    lin = random_linear_mdp(4, 2, 3, seed=5, discount=0.7, concentration=0.5)
    tr = low_switching_pg(lin, [11, 12], 1024, npg_steps=5, episodes_per_round=2, n_checkpoints=8)
    assert np.all(tr.switches <= tr.bound + 1e-9)
    assert np.all(np.diff(tr.switches, axis=1) >= 0)
    assert all(len(s) == int(w) for s, w in zip(tr.switch_samples, tr.switches[:, -1]))
    assert np.all(tr.suboptimality >= 0) and tr.policy.shape == (2, 4, 2)
    twin = low_switching_pg(lin, [11, 12], 1024, npg_steps=1, switch_rule="every_round", episodes_per_round=2,
                            n_checkpoints=8)
    assert np.all(twin.switches[:, -1] > twin.bound[-1])


def test_algorithm_is_deterministic_given_seeds():
    lin = random_linear_mdp(4, 2, 3, seed=6, discount=0.7)
    a = low_switching_pg(lin, [3, 4], 512, npg_steps=5, n_checkpoints=6)
    b = low_switching_pg(lin, [3, 4], 512, npg_steps=5, n_checkpoints=6)
    np.testing.assert_array_equal(a.suboptimality, b.suboptimality)
    np.testing.assert_array_equal(a.switches, b.switches)


def test_npg_cap_binding_is_reported():
    from pgtheory.problems.gap_family import gap_linear_mdp
    lin = gap_linear_mdp(0.2, base_success=0.5, discount=0.8, best_action=1)
    kw = dict(reg=1.0, bonus=2.0, step_size=5.0, episodes_per_round=4, n_checkpoints=6)
    # one NPG step with an unreachable tolerance: the cap binds at every switch, and the advantage left is reported
    capped = low_switching_pg(lin, [1, 2], 512, npg_steps=1, advantage_tol=1e-12, **kw)
    np.testing.assert_array_equal(capped.npg_capped, [len(sw) for sw in capped.switch_samples])  # all its switches
    assert np.all(capped.npg_capped >= 1) and np.all(capped.npg_residual > 1e-12)
    # a cap far above what the tolerance needs: it never binds, and every switch ends within the tolerance
    free = low_switching_pg(lin, [1, 2], 512, npg_steps=1000, advantage_tol=1e-3, **kw)
    np.testing.assert_array_equal(free.npg_capped, [0, 0])
    assert np.all(free.npg_residual <= 1e-3) and np.all(free.switches[:, -1] >= 1)


# ---------------------------------------------------------------------------------------------------- the critic
def _tabular_count_evaluation(N, Rs, pi, reg, beta, gamma, vmax, iterations):
    """Tabular optimistic evaluation with counts, written out: Q = clip((R + γ N V)/(λ + n) + β/√(λ + n), 0, V_max)."""
    n = N.sum(-1)
    v = torch.zeros(N.shape[0], dtype=torch.float64)
    for _ in range(iterations):
        q = ((Rs + gamma * N @ v) / (reg + n) + beta / (reg + n).sqrt()).clamp(0.0, vmax)
        v = (pi * q).sum(-1)
    return q


def test_critic_on_one_hot_features_equals_tabular_counts():
    mdp = random_mdp(4, 3, 0.8, seed=2)
    phi = one_hot_linear_mdp(type(mdp)(mdp.transitions, mdp.rewards.clamp(0, 1), 0.8, mdp.initial)).features
    g = torch.Generator().manual_seed(0)
    N = torch.randint(0, 6, (4, 3, 4), generator=g).to(torch.float64)
    N[0, 1] = 0.0  # two pairs never visited: their Q is the bonus alone
    N[2, 0] = 0.0
    Rs = N.sum(-1) * torch.rand(4, 3, generator=g, dtype=torch.float64)
    pi = torch.softmax(torch.randn(4, 3, generator=g, dtype=torch.float64), -1)
    kw = dict(reg=0.7, bonus=1.0, discount=0.8, value_cap=2.5, iterations=60)
    q = optimistic_linear_critic(phi, N, Rs, pi, **kw)
    ref = _tabular_count_evaluation(N, Rs, pi, 0.7, 1.0, 0.8, 2.5, 60)
    torch.testing.assert_close(q, ref, atol=1e-12, rtol=0)
    assert float(ref[0, 1]) == pytest.approx(1.0 / math.sqrt(0.7), abs=1e-12)  # unvisited: bonus β/√λ
    assert bool((ref >= 2.5 - 1e-12).any())  # the clip at V_max binds somewhere: the clipped branch is exercised
    # the solve start reaches the same fixed point (iterated to convergence)
    q_conv = optimistic_linear_critic(phi, N, Rs, pi, **{**kw, "iterations": 400})
    q_solve = optimistic_linear_critic(phi, N, Rs, pi, **{**kw, "iterations": 400}, solve=True, tol=1e-13)
    torch.testing.assert_close(q_solve, q_conv, atol=1e-10, rtol=0)


def test_critic_with_exact_data_is_q_pi_of_the_linear_mdp_and_a_bonus_twin_is_not():
    lin = random_linear_mdp(5, 3, 3, seed=9, discount=0.8)
    c = 1000.0
    N = c * lin.transitions  # every (s, a) seen c times, next states in exact proportion
    Rs = c * lin.rewards
    pi = torch.softmax(torch.randn(5, 3, generator=torch.Generator().manual_seed(1), dtype=torch.float64), -1)
    kw = dict(reg=1e-9, discount=0.8, value_cap=1 / 0.2, iterations=300)
    q = optimistic_linear_critic(lin.features, N, Rs, pi, bonus=0.0, **kw)
    q_pi = evaluate_policy(lin.tabular(), pi).q
    torch.testing.assert_close(q, q_pi, atol=1e-9, rtol=0)
    twin = optimistic_linear_critic(lin.features, N, Rs, pi, bonus=1.0, **kw)  # a bonus must show
    assert float((twin - q_pi).abs().max()) > 1e-3


def test_critic_operator_reproduces_one_backup():
    lin = random_linear_mdp(3, 2, 2, seed=4, discount=0.5)
    g = torch.Generator().manual_seed(3)
    N = torch.randint(0, 4, (2, 3, 2, 3), generator=g).to(torch.float64)  # a batch of 2 datasets
    Rs = torch.rand(2, 3, 2, generator=g, dtype=torch.float64) * N.sum(-1)
    op = critic_operator(lin.features, N, Rs, reg=1.0)
    v = torch.rand(2, 3, generator=g, dtype=torch.float64)
    phi = lin.features
    for b in range(2):
        lam = torch.eye(2, dtype=torch.float64) + torch.einsum("sa,sai,saj->ij", N[b].sum(-1), phi, phi)
        w = torch.linalg.solve(lam, torch.einsum("sai,sa->i", phi, Rs[b] + 0.5 * N[b] @ v[b]))
        ref = phi @ w
        got = op.offset[b] + 0.5 * (op.transition[b] @ v[b])
        torch.testing.assert_close(got, ref, atol=1e-12, rtol=0)
        width = torch.einsum("sai,ij,saj->sa", phi, torch.linalg.inv(lam), phi).sqrt()
        torch.testing.assert_close(op.width[b], width, atol=1e-12, rtol=0)


# ---------------------------------------------------------------------------------------------------- bad inputs
def test_bad_inputs():
    lin = random_linear_mdp(3, 2, 2, seed=1, discount=0.5)
    phi = lin.features
    with pytest.raises(ValueError, match="^samples"):
        switch_count_bound(-1, 2, 1.0, 1.0)
    with pytest.raises(ValueError, match="^ratio"):
        switch_count_bound(5, 2, 1.0, 1.0, ratio=1.0)
    with pytest.raises(ValueError, match="^reg"):
        switch_count_bound(5, 2, 0.0, 1.0)
    with pytest.raises(ValueError, match="^log_det_now"):
        determinant_switch(torch.zeros(2, dtype=torch.float64), torch.zeros(3, dtype=torch.float64))
    with pytest.raises(TypeError, match="^log_det_now"):
        determinant_switch(0.0, torch.zeros(()))
    with pytest.raises(ValueError, match="^counts"):
        feature_covariance(phi, -torch.ones(3, 2, dtype=torch.float64), 1.0)
    with pytest.raises(ValueError, match="^transition_counts"):
        optimistic_linear_critic(phi, torch.zeros(3, 2, 2, dtype=torch.float64), torch.zeros(3, 2, dtype=torch.float64),
                                 torch.full((3, 2), 0.5, dtype=torch.float64), reg=1.0, bonus=0.0, discount=0.5,
                                 value_cap=2.0, iterations=3)
    with pytest.raises(ValueError, match="^policy"):
        optimistic_linear_critic(phi, torch.zeros(3, 2, 3, dtype=torch.float64), torch.zeros(3, 2, dtype=torch.float64),
                                 torch.full((3, 2), 0.7, dtype=torch.float64), reg=1.0, bonus=0.0, discount=0.5,
                                 value_cap=2.0, iterations=3)
    with pytest.raises(ValueError, match="^switch_rule"):
        low_switching_pg(lin, [0], 100, switch_rule="sometimes")
    with pytest.raises(TypeError, match="^lin"):
        low_switching_pg(lin.tabular(), [0], 100)
    with pytest.raises(ValueError, match="^first_checkpoint"):
        low_switching_pg(lin, [0], 100, first_checkpoint=100)
    from pgtheory.problems.linear_mdp import LinearMDP
    scaled = LinearMDP(lin.features, lin.mu, 3.0 * lin.reward_weights + 1.0, lin.initial, lin.discount)
    with pytest.raises(ValueError, match="^lin"):
        low_switching_pg(scaled, [0], 100)


# ----------------------------------------------------------------------------------------------------- the claims
def _quick_record(claim_id, tmp_path):
    import pgtheory.claims.library.l43_lpo  # noqa: F401  (registers the claims)
    from pgtheory.claims.protocol import validate_record
    from pgtheory.claims.runner import check

    (rec,) = check([claim_id], scale="quick", results=tmp_path)
    validate_record(rec)
    assert rec["verdict"] in ("verified", "confirmed", "refuted", "qualified", "inconclusive")
    assert rec["instances"]["count"] >= 1 and rec["sensitivity"]
    return rec


def test_switch_claim_quick_record(tmp_path):
    rec = _quick_record("L43-lpo-switches", tmp_path)
    assert rec["kind"] == "identity" and rec["extension"] is False
    assert rec["verdict"] in ("verified", "confirmed")  # the determinant bound holds by construction of the rule: a violation is a bug
    assert "NPG cap" in rec["summary"] and len(rec["details"]["npg_capped_switches"]) >= 1


@pytest.mark.slow
def test_rate_claim_quick_record(tmp_path):
    rec = _quick_record("L43-lpo-sample-rate", tmp_path)
    assert rec["kind"] == "asymptotic" and rec["extension"] is True
    assert math.isfinite(rec["statistic"]) or rec["verdict"] == "inconclusive"
    assert rec["verdict"] != "confirmed"  # the stand-in cannot confirm LPO's sentence (quote_verdict inconclusive)
    d = rec["details"]
    assert d["npg_capped_switches"] >= 0 and d["n_boot"] >= 100_000
    assert d["family"]["outcome"] in ("holds", "fails", "undecided") and len(d["family"]["fine_per_instance"]) >= 1
    assert all(sp.get("npg_capped") is not None for sp in rec["sensitivity"])


# ------------------------------------------------------------------------------------------- the rate rule's pieces
def test_censoring_at_half_the_horizon_hand_made():
    from pgtheory.claims.library.l43_lpo import censor_at_half_horizon
    needed = np.array([[16.0, 2048.0, 2049.0, np.inf], [4000.0, 1.0, 4096.0, 300.0]])
    out = censor_at_half_horizon(needed, 4096)
    np.testing.assert_array_equal(out, [[16.0, 2048.0, np.inf, np.inf], [np.inf, 1.0, np.inf, 300.0]])
    with pytest.raises(ValueError, match="^needed"):
        censor_at_half_horizon([np.nan], 10)
    with pytest.raises(ValueError, match="^horizon"):
        censor_at_half_horizon([1.0], 0)


def test_target_grid_and_bootstrap_size():
    from pgtheory.claims.library.l43_lpo import bootstrap_size, rate_targets
    np.testing.assert_allclose(rate_targets(5), [0.4, 0.4 / math.sqrt(2), 0.2, 0.1, 0.05], rtol=1e-15)
    np.testing.assert_allclose(rate_targets(4), [0.4, 0.4 / math.sqrt(2), 0.2, 0.1], rtol=1e-15)
    assert bootstrap_size(0.95) == 100_000  # the floor
    assert bootstrap_size(1 - 2.0**-14) == 327_680  # 10 replicates beyond each end: 10 / 2^-15
    with pytest.raises(ValueError, match="^n_targets"):
        rate_targets(3)
    with pytest.raises(ValueError, match="^n_targets"):
        rate_targets(6)
    with pytest.raises(ValueError, match="^level"):
        bootstrap_size(1.0)


# ------------------------------------------------------------------ "ε-optimal for good" at round resolution (B1)
def test_samples_until_optimal_for_good_hand_made():
    from pgtheory.optim.low_switching_pg import samples_until_optimal_for_good
    T = np.array([[0, 10, 20, 30, 40, 50], [0, 10, 20, 30, 40, 50]], dtype=float)
    G = np.array([[1.0, 0.5, 0.05, 0.5, 0.05, 0.05], [1.0, 0.05, 0.05, 0.05, 0.05, 0.9]])
    # run 0, ε = 0.1: the policy of round 3 (samples 31–40) is bad, so ε-optimal for good only from 40 on
    np.testing.assert_array_equal(samples_until_optimal_for_good(T, G, [0.1, 0.6, 2.0], 45), [[40, 10, 0], [10, 10, 0]])
    # the last policy (deployed from sample 51) is used only when the horizon exceeds 50: run 1 then never gets there
    np.testing.assert_array_equal(samples_until_optimal_for_good(T, G, [0.1], 55), [[40], [np.inf]])
    with pytest.raises(ValueError, match="^round_samples"):
        samples_until_optimal_for_good(T[:, ::-1], G, [0.1], 45)
    with pytest.raises(ValueError, match="^round_samples, round_suboptimality"):
        samples_until_optimal_for_good(T, G[:, :3], [0.1], 45)
    with pytest.raises(ValueError, match="^targets"):
        samples_until_optimal_for_good(T, G, [0.0], 45)
    with pytest.raises(ValueError, match="^horizon"):
        samples_until_optimal_for_good(T, G, [0.1], 0)


def test_round_readout_sees_a_bad_policy_between_checkpoints_and_the_checkpoint_twin_does_not():
    """On a real trace: every policy deployed after N is ε-optimal and the one deployed just before is not (brute force
    over the rounds); the 24-checkpoint readout (the twin, the readout before revision 6) misses a bad policy deployed
    and replaced between two checkpoints, so it puts N earlier on some run."""
    from pgtheory.optim.low_switching_pg import samples_until_optimal_for_good
    from pgtheory.problems.gap_family import gap_linear_mdp
    from pgtheory.stats import first_passage
    eps, T_max = 0.2, 2048
    lin = gap_linear_mdp(eps, base_success=0.5, discount=0.8, best_action=0)
    tr = low_switching_pg(lin, [40, 41, 42, 43], T_max, reg=1.0, bonus=2.0, step_size=5.0, npg_steps=1000,
                          advantage_tol=1e-3, episodes_per_round=8, first_checkpoint=16)
    N = samples_until_optimal_for_good(tr.round_samples, tr.round_suboptimality, [eps], T_max)[:, 0]
    for r in range(N.size):
        Th, G = tr.round_samples[r], tr.round_suboptimality[r]
        used = Th < T_max
        if np.isfinite(N[r]):
            k = int(np.searchsorted(Th, N[r], side="left"))  # the round whose policy starts after N
            assert Th[k] == N[r] and np.all(G[k:][used[k:]] <= eps) and (k == 0 or G[k - 1] > eps)
        else:
            assert G[used][-1] > eps
    fm = np.maximum.accumulate(tr.suboptimality[:, ::-1], axis=1)[:, ::-1]
    N24 = first_passage(np.broadcast_to(tr.checkpoints, fm.shape), fm, [eps])[:, 0]
    both = np.isfinite(N) & np.isfinite(N24)
    assert np.any(N24[both] < N[both])  # the twin is too early on some run: the checkpoint lattice misses a bad policy


# ------------------------------------------------------------------- the pooled, instance-stratified rule (rev. 6)
def _synthetic_needed(exponent: float, runs: int = 16, seed: int = 0, n_targets: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """N_r(ε_j) = 20·(ε_0/ε_j)^p × lognormal(0, 0.15) noise per run and target, on the declared grid."""
    from pgtheory.claims.library.l43_lpo import rate_targets
    eps = rate_targets(n_targets)
    rng = np.random.default_rng(seed)
    return eps, 20.0 * (eps[0] / eps) ** exponent * np.exp(0.15 * rng.standard_normal((runs, eps.size)))


def test_pooled_fit_hand_made_and_stratified_bootstrap():
    from pgtheory.claims.library.l43_lpo import pooled_sample_complexity
    eps = np.array([0.4, 0.4 / math.sqrt(2), 0.2, 0.1, 0.05])
    exact = 10.0 * (eps[0] / eps) ** 2.0  # N ∝ ε⁻² exactly, the same on every run
    a, b = np.tile(exact, (3, 1)), np.tile(exact, (5, 1))
    fit = pooled_sample_complexity(eps, [a, b], 0.9, 1000, seed=0)
    for key in ("exponent", "coarse", "fine"):
        assert fit[key] == pytest.approx(2.0, abs=1e-12)
    np.testing.assert_allclose(fit["fine_ci"], [2.0, 2.0], atol=1e-12)  # no spread between runs: no width
    assert fit["runs"] == 8 and np.all(fit["reached"] == 1.0)
    # pooled medians: instance A at 1×, instance B at 4× on the finest target only → pooled median of 3 + 5 runs
    b2 = b.copy()
    b2[:, -1] *= 4.0
    fit2 = pooled_sample_complexity(eps, [a, b2], 0.9, 1000, seed=0)
    assert fit2["median_samples"][-1] == pytest.approx(4.0 * exact[-1])  # 5 of 8 runs at 4×: the median is 4×
    assert fit2["fine"] == pytest.approx(2.0 + math.log(4.0) / math.log(4.0), abs=1e-12)  # fine half spans ln 4
    # stratification: every replicate keeps 3 runs of A and 5 of B, so the pooled median at ε = 0.05 stays at 4×;
    # the unstratified twin (all 8 runs resampled together) sometimes draws ≥ 4 runs of A and moves it
    assert fit2["fine_ci"][0] == pytest.approx(fit2["fine"], abs=1e-12)
    unstrat = pooled_sample_complexity(eps, [np.concatenate([a, b2])], 0.9, 1000, seed=0)
    assert unstrat["fine_ci"][0] < fit2["fine"] - 0.1
    # chunking does not change the draws' distribution: n_boot above one chunk works and keeps every replicate
    assert pooled_sample_complexity(eps, [a, b2], 0.9, 5000, seed=1)["replicates_kept"] == 5000
    with pytest.raises(ValueError, match="^needed_by_instance"):
        pooled_sample_complexity(eps, [a[:, :4]], 0.9, 10, seed=0)
    with pytest.raises(ValueError, match="^targets"):
        pooled_sample_complexity(eps[::-1], [a], 0.9, 10, seed=0)
    with pytest.raises(ValueError, match="^level"):
        pooled_sample_complexity(eps, [a], 1.0, 10, seed=0)
    with pytest.raises(ValueError, match="^n_boot"):
        pooled_sample_complexity(eps, [a], 0.9, 0, seed=0)


def test_rate_rule_on_synthetic_power_laws_and_its_twin():
    from pgtheory.claims.library.l43_lpo import EXPONENT_BOUND, TWIN_OFFSET, _family_outcome, pooled_sample_complexity
    level = 0.99
    eps, N2a = _synthetic_needed(2.0, runs=8, seed=0)
    _, N2b = _synthetic_needed(2.0, runs=8, seed=1)
    res = _family_outcome(eps, [N2a, N2b], level, boot_seed=3)
    assert res["outcome"] == "holds" and res["fine_ci"][1] <= EXPONENT_BOUND and res["runs"] == 16
    assert res["twin_holds"] is False and res["twin_fine_ci"][0] > EXPONENT_BOUND  # the power twin is judged to fail
    assert len(res["fine_per_instance"]) == 2
    # the twin, fitted by hand: the same runs tilted to 3.5 on the fine half fail the rule
    tilt = EXPONENT_BOUND + TWIN_OFFSET - res["fine"]
    tw = pooled_sample_complexity(eps, [N * (eps / eps[0]) ** (-tilt) for N in (N2a, N2b)], level, 100_000, seed=4)
    assert tw["fine_ci"][0] > EXPONENT_BOUND
    _, N4 = _synthetic_needed(4.0)
    assert _family_outcome(eps, [N4], level, boot_seed=3)["outcome"] == "fails"
    # a cliff: N flat over the targets is undecided, not "holds"
    _, N0 = _synthetic_needed(0.0)
    flat = _family_outcome(eps, [N0], level, boot_seed=3)
    assert flat["outcome"] == "undecided" and "cliff" in flat["reason"]
    # censoring: a fine target reached by too few of the pooled runs is undecided
    Nc = N2a.copy()
    Nc[:5, -1] = np.inf
    assert _family_outcome(eps, [Nc, N2b], level, boot_seed=3)["outcome"] == "undecided"
    # too few runs for the power twin to be rejected: undecided (the rule does not let a weak design say "holds")
    weak = _family_outcome(eps, [N2a[:3] * np.exp(np.array([[0.0, 0.9, -0.9, 0.9, -0.9]]))], level, boot_seed=3)
    assert weak["outcome"] == "undecided"


def test_behavioural_negative_control_coin_flip_and_commit_is_never_holds():
    """A learner that commits to a random action after a fixed number of samples (the coin-flip-and-commit learner of
    the two-point argument, or β = 0 locking in): its N(ε) is that fixed time when it guessed right and never otherwise,
    whatever ε — no rate regime, so the rule must say undecided, never "holds" (referee's S7)."""
    from pgtheory.claims.library.l43_lpo import _family_outcome
    eps = np.array([0.4, 0.4 / math.sqrt(2), 0.2, 0.1, 0.05])
    rng = np.random.default_rng(0)
    right = rng.random((64, 1)) < 0.5  # guessed right on about half the runs, the same guess for every target
    N = np.where(right, 64.0 * np.exp(0.1 * rng.standard_normal((64, 5))), np.inf)
    res = _family_outcome(eps, [N[:32], N[32:]], 0.99, boot_seed=0)
    assert res["outcome"] == "undecided" and "not reached" in res["reason"]
    # a lucky learner that always guesses right: N flat in ε, a cliff — still undecided
    lucky = _family_outcome(eps, [64.0 * np.exp(0.1 * rng.standard_normal((64, 5)))], 0.99, boot_seed=0)
    assert lucky["outcome"] == "undecided" and "cliff" in lucky["reason"]


def test_a_held_extension_is_shown_inconclusive(tmp_path, monkeypatch):
    """B2: with measurements that hold (synthetic ε⁻² runs in place of the algorithm's), the raw verdict is confirmed
    and the ledger shows inconclusive — the stand-in cannot decide LPO's sentence (quote_verdict inconclusive)."""
    import pgtheory.claims.library.l43_lpo as L
    from pgtheory.claims.runner import check

    def synthetic(ctx, n_inst, runs, samples, n_targets, salt, **over):
        out = []
        for i in range(n_inst):
            eps, N = _synthetic_needed(2.0, runs=64, seed=100 * salt + i, n_targets=n_targets)
            out.append({"T": np.array([16.0, float(samples)]), "targets": eps, "needed": N,
                        "gap_over_eps": [np.array([2.0, 0.5])] * n_targets, "npg_capped": 0, "npg_residual": 0.0,
                        "base_success": 0.5, "best_action": 0})
        return out

    monkeypatch.setattr(L, "_measure_rate", synthetic)
    (rec,) = check(["L43-lpo-sample-rate"], scale="quick", results=tmp_path)
    assert rec["raw_verdict"] == "confirmed" and rec["details"]["family"]["outcome"] == "holds"
    assert all(sp["verdict"] == "confirmed" for sp in rec["sensitivity"]), [(sp["reason"], sp["fine_ci"]) for sp in rec["sensitivity"]]
    assert rec["verdict"] == "inconclusive" and any("sentence itself undecided" in n for n in rec["protocol_notes"])
