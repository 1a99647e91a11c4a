"""Tabular PPO with a mean critic vs the PG-Rainbow quantile critic (pgtheory.optim.pg_rainbow) and claim L23."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from pgtheory.estimators.quantile_regression import expected_quantile_huber_loss, quantile_huber_minimiser
from pgtheory.exact.return_law import truncated_return_law
from pgtheory.optim.pg_rainbow import (JackpotRewards, PPOConfig, distillation_features, fit_distillation,
                                       fit_quantile_critic, grouped_quantiles, quantile_levels, run_tabular_ppo)
from pgtheory.problems import TabularMDP
from pgtheory.problems.generators import garnet

pytestmark = pytest.mark.usefixtures("one_torch_thread")

f64 = dict(dtype=torch.float64)


def _chain():
    """0 → 1 → 2 (absorbing, reward 0); reward 1 at state 0, rewards (0, 1, 3) for the three actions at state 1."""
    S, A = 3, 3
    P = torch.zeros(S, A, S, **f64)
    P[0, :, 1] = 1.0
    P[1, :, 2] = 1.0
    P[2, :, 2] = 1.0
    r = torch.zeros(S, A, **f64)
    r[0] = 1.0
    r[1] = torch.tensor([0.0, 1.0, 3.0])
    mdp = TabularMDP(P, r, 0.9, torch.tensor([1.0, 0.0, 0.0], **f64))
    pi = torch.full((S, A), 1 / 3, **f64)
    pi[1] = torch.tensor([0.2, 0.5, 0.3])
    return mdp, pi


def _lower_quantiles(atoms, probs, tau):
    cdf = probs.cumsum(-1)
    return torch.stack([atoms[int((cdf >= t - 1e-12).nonzero()[0])] for t in tau])


def test_quantile_levels_and_grouped_quantiles_by_hand():
    assert torch.allclose(quantile_levels(4), torch.tensor([0.125, 0.375, 0.625, 0.875], **f64))
    vals = torch.tensor([3.0, 1.0, 5.0, 2.0], **f64)
    grp = torch.tensor([0, 0, 2, 0])
    q, tot = grouped_quantiles(vals, grp, torch.ones(4, **f64), 3, torch.tensor([0.25, 0.5, 0.75], **f64))
    assert q.tolist() == [[1.0, 2.0, 3.0], [0.0, 0.0, 0.0], [5.0, 5.0, 5.0]]  # group 1 is empty (weight 0)
    assert tot.tolist() == [3.0, 0.0, 1.0]
    # weights: law {1: 0.1, 2: 0.6, 3: 0.3}; lower quantiles at 0.05, 0.5, 0.7 (tie: F(2) = 0.7), 0.95
    q, _ = grouped_quantiles(torch.tensor([3.0, 1.0, 2.0], **f64), torch.zeros(3, dtype=torch.long),
                             torch.tensor([0.3, 0.1, 0.6], **f64), 1, torch.tensor([0.05, 0.5, 0.7, 0.95], **f64))
    assert q.tolist() == [[1.0, 2.0, 2.0, 3.0]]


def test_grouped_quantiles_minimise_the_pinball_loss():
    """The lower quantile is the κ = 0 quantile-regression minimiser (estimators.quantile_regression)."""
    g = torch.Generator().manual_seed(3)
    z = torch.randn(7, generator=g, **f64)
    p = torch.rand(7, generator=g, **f64)
    p = p / p.sum()
    tau = quantile_levels(5)
    q, _ = grouped_quantiles(z, torch.zeros(7, dtype=torch.long), p, 1, tau)
    ref = quantile_huber_minimiser(z, p, tau, 0.0)
    loss = expected_quantile_huber_loss(z, p, q[0], tau, 0.0)
    assert torch.allclose(loss, expected_quantile_huber_loss(z, p, ref, tau, 0.0), atol=1e-12)
    # twin: moving any estimate to a neighbouring atom strictly increases the loss
    for shift in (-1e-3, 1e-3):
        assert bool((expected_quantile_huber_loss(z, p, q[0] + shift, tau, 0.0) > loss).all())


def test_quantile_critic_fixed_point_is_the_exact_return_quantiles_on_a_chain():
    """Fitted quantile iteration on the exact model (transitions weighted by π P) reaches the exact lower quantiles of
    the truncated return law (pgtheory.exact.return_law) at every state of a deterministic-reward chain."""
    mdp, pi = _chain()
    S = 3
    w = pi[:, :, None] * mdp.transitions
    s, a, s2 = (w > 0).nonzero(as_tuple=True)
    for N in (4, 8):
        tau = quantile_levels(N)
        q = fit_quantile_critic(torch.zeros(S, N, **f64), s, mdp.rewards[s, a], s2, w[s, a, s2],
                                discount=mdp.discount, sweeps=6)
        law = truncated_return_law(mdp, pi, 3)
        for st in range(S):
            assert torch.allclose(q[st], _lower_quantiles(law.atoms, law.probs[st], tau), atol=1e-12)
        # a fixed point: one more sweep changes nothing
        assert torch.equal(fit_quantile_critic(q, s, mdp.rewards[s, a], s2, w[s, a, s2], discount=mdp.discount), q)
    assert torch.allclose(q[1], torch.tensor([0, 0, 1, 1, 1, 1, 3, 3], **f64))  # law {0: .2, 1: .5, 3: .3}


def test_single_quantile_is_the_lower_median_of_the_targets():
    q0 = torch.tensor([[0.0], [2.0]], **f64)
    states = torch.tensor([0, 0, 0, 0])
    rewards = torch.tensor([1.0, 0.0, 4.0, 1.0], **f64)
    nxt = torch.tensor([1, -1, -1, 1])  # targets 1 + 2, 0, 4, 1 + 2 → sorted 0, 3, 3, 4: lower median 3
    q = fit_quantile_critic(q0, states, rewards, nxt, torch.ones(4, **f64))
    assert q.tolist() == [[3.0], [2.0]]  # state 1 unvisited: kept


def test_distillation_fit_by_hand():
    x = torch.tensor([0.0, 1.0, 2.0, 3.0, 0.0, 1.0], **f64)
    y = torch.tensor([2.0, 5.0, 8.0, 11.0, -1.0, -1.0], **f64)  # group 0: y = 2 + 3x; group 1: constant −1
    feats = torch.stack([torch.ones_like(x), x], -1)
    coef = fit_distillation(feats, y, torch.tensor([0, 0, 0, 0, 1, 1]), 2, 0.0)
    assert torch.allclose(coef, torch.tensor([[2.0, 3.0], [-1.0, 0.0]], **f64), atol=1e-8)
    # ridge on the slope only: closed form for group 0 with centred x (mean 1.5, Σ(x − x̄)² = 5): slope 15/(5 + λ)
    lam = 2.0
    c = fit_distillation(feats[:4], y[:4], torch.zeros(4, dtype=torch.long), 1, lam)
    slope = 15.0 / (5.0 + lam)
    assert torch.allclose(c, torch.tensor([[6.5 - 1.5 * slope, slope]], **f64), atol=1e-8)
    # summary inputs: concat (1, V, mean q, s.d. q); product (1, mean Vq, s.d. Vq) — Vq = (2, 6): mean 4, s.d. 2
    v, q = torch.tensor([2.0], **f64), torch.tensor([[1.0, 3.0]], **f64)
    assert distillation_features(v, q, "concat").tolist() == [[1.0, 2.0, 2.0, 1.0]]
    assert distillation_features(v, q, "product").tolist() == [[1.0, 4.0, 2.0]]
    # the dimension does not grow with N (N = 1: s.d. 0; N = 32: still 4 inputs)
    assert distillation_features(v, torch.tensor([[5.0]], **f64), "concat").tolist() == [[1.0, 2.0, 5.0, 0.0]]
    assert distillation_features(v, torch.arange(32, **f64)[None], "concat").shape == (1, 4)


def test_jackpot_noise_by_hand():
    jr = JackpotRewards(torch.tensor([[0.1, 0.5]], **f64), torch.tensor([[10.0, 2.0]], **f64))
    eps = jr.noise(torch.tensor([0, 0, 0]), torch.tensor([0, 0, 1]), torch.tensor([0.05, 0.5, 0.2], **f64))
    assert torch.allclose(eps, torch.tensor([9.0, -1.0, 1.0], **f64))
    # zero mean exactly: p·J(1 − p) + (1 − p)·(−Jp) = 0


def _problem():
    mdp = garnet(4, 2, 2, discount=0.8, seed=5)
    jr = JackpotRewards(torch.full((4, 2), 0.1, **f64), torch.full((4, 2), 5.0, **f64))
    return mdp, jr


def test_replay_zero_reduces_to_the_mean_critic_bit_for_bit():
    mdp, jr = _problem()
    base = dict(n_iterations=4, n_episodes=5)
    a = run_tabular_ppo(mdp, [1, 2], 3.0, 0.5, PPOConfig(critic="mean", **base), rewards=jr)
    b = run_tabular_ppo(mdp, [1, 2], 3.0, 0.5, PPOConfig(critic="pg_rainbow", replay=0, **base), rewards=jr)
    assert torch.equal(a.objective, b.objective) and torch.equal(a.advantage_mse, b.advantage_mse)
    assert b.quantiles is None


def test_pg_rainbow_is_not_ppo_at_beta_one():
    """Referee s4a B-L23-1: the first design's in-sample distillation reproduced the per-state batch means, so
    PG-Rainbow at any β was PPO at β = 1. Now PG-Rainbow (β = 0.3 and β = 1) must differ from PPO (β = 1) beyond
    round-off on every seed, in the policy reached and in the advantage errors; twin: the replay-0 reduction, which is
    PPO by construction, is judged equal by the same check."""
    from pgtheory.claims.library.l23_pg_rainbow import jackpot_garnet

    mdp, jr = jackpot_garnet(3)  # a development instance of the claim's family (6 states), not a run seed's
    seeds = list(range(8))
    base = dict(n_iterations=8, n_episodes=8)
    ppo = run_tabular_ppo(mdp, seeds, 10.0, 1.0, PPOConfig(critic="mean", **base), rewards=jr)

    def differs(tr):
        return (bool(((tr.objective[:, -1] - ppo.objective[:, -1]).abs() > 1e-6).all())
                and bool(((tr.advantage_mse[:, 2:] - ppo.advantage_mse[:, 2:]).abs().mean(1) > 1e-6).all()))

    for beta in (0.3, 1.0):
        rb = run_tabular_ppo(mdp, seeds, 10.0, beta, PPOConfig(critic="pg_rainbow", **base), rewards=jr)
        assert differs(rb), beta
        assert rb.distillation.shape == (8, 7, 4)
        assert bool((rb.distillation[:, :, 2:].abs() > 1e-8).any())  # the quantile summary carries weight
    twin = run_tabular_ppo(mdp, seeds, 10.0, 1.0, PPOConfig(critic="pg_rainbow", replay=0, **base), rewards=jr)
    assert not differs(twin)


def test_exact_critic_uses_the_exact_value():
    """critic = "exact": the value used is V^{π_t}, so its occupancy-weighted error is 0 at every iteration, while the
    learned mean critic's is not (twin)."""
    mdp, jr = _problem()
    cfg = dict(n_iterations=4, n_episodes=5)
    ex = run_tabular_ppo(mdp, [1, 2], 3.0, 1.0, PPOConfig(critic="exact", **cfg), rewards=jr)
    assert float(ex.value_error.abs().max()) < 1e-20 and ex.quantiles is None and ex.distillation is None
    me = run_tabular_ppo(mdp, [1, 2], 3.0, 1.0, PPOConfig(critic="mean", **cfg), rewards=jr)
    assert float(me.value_error[:, 1:].min()) > 1e-6


def test_determinism_and_batched_equals_separate_runs():
    mdp, jr = _problem()
    cfg = PPOConfig(n_iterations=3, n_episodes=4, critic="pg_rainbow", n_quantiles=3, replay=2)
    both = run_tabular_ppo(mdp, [7, 8], torch.tensor([1.0, 3.0]), torch.tensor([1.0, 0.3]), cfg, rewards=jr)
    again = run_tabular_ppo(mdp, [7, 8], torch.tensor([1.0, 3.0]), torch.tensor([1.0, 0.3]), cfg, rewards=jr)
    assert torch.equal(both.objective, again.objective) and torch.equal(both.quantiles, again.quantiles)
    one = run_tabular_ppo(mdp, [8], 3.0, 0.3, cfg, rewards=jr)
    assert torch.allclose(both.objective[1], one.objective[0], atol=1e-12)
    assert torch.allclose(both.quantiles[1], one.quantiles[0], atol=1e-12)
    assert both.objective.shape == (2, 4) and both.advantage_mse.shape == (2, 3) and both.episodes.tolist() == [0, 4, 8, 12]


def test_bad_inputs():
    mdp, jr = _problem()
    cfg = PPOConfig(n_iterations=1, n_episodes=2)
    with pytest.raises(ValueError, match="^critic"):
        PPOConfig(n_iterations=1, n_episodes=1, critic="iqn")
    with pytest.raises(ValueError, match="^input_form"):
        PPOConfig(n_iterations=1, n_episodes=1, input_form="sum")
    with pytest.raises(ValueError, match="^clip"):
        PPOConfig(n_iterations=1, n_episodes=1, clip=1.5)
    with pytest.raises(ValueError, match="^replay"):
        PPOConfig(n_iterations=1, n_episodes=1, replay=-1)
    with pytest.raises(ValueError, match="^lr"):
        run_tabular_ppo(mdp, [0], -1.0, 1.0, cfg)
    with pytest.raises(ValueError, match="^critic_step"):
        run_tabular_ppo(mdp, [0], 1.0, 0.0, cfg)
    with pytest.raises(ValueError, match="^lr"):
        run_tabular_ppo(mdp, [0, 1], torch.ones(3), 1.0, cfg)
    with pytest.raises(ValueError, match="^theta0"):
        run_tabular_ppo(mdp, [0], 1.0, 1.0, cfg, theta0=torch.zeros(3, 3))
    with pytest.raises(ValueError, match="^seeds"):
        run_tabular_ppo(mdp, [], 1.0, 1.0, cfg)
    with pytest.raises(TypeError, match="^config"):
        run_tabular_ppo(mdp, [0], 1.0, 1.0, {"n_iterations": 1})
    with pytest.raises(ValueError, match="^rewards"):
        run_tabular_ppo(mdp, [0], 1.0, 1.0, cfg, rewards=JackpotRewards(torch.zeros(2, 2), torch.zeros(2, 2)))
    with pytest.raises(ValueError, match="^prob"):
        JackpotRewards(torch.full((2, 2), 1.5), torch.ones(2, 2))
    with pytest.raises(ValueError, match="^size"):
        JackpotRewards(torch.full((2, 2), 0.5), -torch.ones(2, 2))
    with pytest.raises(ValueError, match="^values"):
        grouped_quantiles(torch.ones(3, **f64), torch.zeros(2, dtype=torch.long), torch.ones(3, **f64), 1, quantile_levels(2))
    with pytest.raises(ValueError, match="^q"):
        distillation_features(torch.zeros(3, **f64), torch.zeros(2, 4, **f64), "concat")
    with pytest.raises(ValueError, match="^q"):
        fit_quantile_critic(torch.zeros(3, **f64), torch.zeros(1, dtype=torch.long), torch.zeros(1, **f64),
                            torch.zeros(1, dtype=torch.long), torch.ones(1, **f64))


def test_rule_by_hand():
    from pgtheory.claims.library.l23_pg_rainbow import family_verdict, instance_outcome

    better = instance_outcome(np.array([1.0, 1.1, 0.9, 1.0]), 0.1, 0.01)
    assert better[0] == "better" and better[1] == pytest.approx(1.0)
    assert instance_outcome(np.array([0.0, 0.01, -0.01, 0.0]), 0.1, 0.01)[0] == "not_better"
    assert instance_outcome(np.array([2.0, -2.0, 1.0, -1.0]), 0.1, 0.01)[0] == "undecided"
    # identical runs are a tie, never "not better"; its twin, a difference of 1e-6, is judged by the t rule
    assert instance_outcome(np.zeros(4), 0.1, 0.01)[0] == "tie"
    assert instance_outcome(np.array([1e-6, 0.0, 0.0, 0.0]), 0.1, 0.01)[0] == "not_better"
    ok = ["better"] * 4 + ["undecided"]  # the exact twin has power (4/5 = MIN_FRACTION)
    assert family_verdict(["better"] * 4 + ["undecided"], ok) == "confirmed"
    assert family_verdict(["better"] * 3 + ["undecided"] * 2, ok) == "inconclusive"
    assert family_verdict(["better"] * 3 + ["not_better"] * 2, ok) == "refuted"
    assert family_verdict(["better"] * 3 + ["tie"] * 2, ok) == "inconclusive"  # ties are not "not better"
    # twin without power: nothing is decided, whatever PG-Rainbow did
    weak = ["better"] * 3 + ["undecided"] * 2
    assert family_verdict(["better"] * 5, weak) == "inconclusive"
    assert family_verdict(["not_better"] * 5, weak) == "inconclusive"
    with pytest.raises(ValueError, match="^outcomes"):
        family_verdict([], [])
    with pytest.raises(ValueError, match="^twin_outcomes"):
        family_verdict(["better"], [])


def _fake_measurements(d_rainbow, d_twin, *, n_sweeps=1, degenerate=False):
    """Measurements of the shape measure() returns, with final-J differences ``d_rainbow``/``d_twin`` [instances, R]
    against a PPO whose runs are all 5 (margin 0.05·(10 − 0) = 0.5)."""
    insts = []
    for dr, dt in zip(d_rainbow, d_twin):
        R = len(dr)
        runs = {}
        for c, d in (("mean", np.zeros(R)), ("pg_rainbow", np.asarray(dr)), ("exact", np.asarray(dt))):
            J = np.full((R, 3), 5.0)
            J[:, -1] += d
            runs[c] = {"J": J, "adv_mse": np.ones((R, 2)), "value_error": np.ones((R, 2)), "episodes": np.arange(3.0)}
        runs["pg_rainbow"].update(distillation=np.zeros(4), quantile_mean_error=np.ones((R, 2)))
        ppo_scores = [5.0, 5.2]
        rb_scores = [5.2, 5.1] if degenerate else [5.3, 5.1]
        tuned = {"mean": {"grid_scores": ppo_scores}, "pg_rainbow": {"grid_scores": rb_scores},
                 "exact": {"grid_scores": [5.0]}}
        sweeps = [{"constant": "n_quantiles", "value": 2 + i, "ppo_final": runs["mean"]["J"][:, -1],
                   "rainbow_final": runs["pg_rainbow"]["J"][:, -1]} for i in range(n_sweeps)]
        insts.append({"seed": len(insts), "j_star": 10.0, "j0": 0.0, "tuned": tuned, "runs": runs, "sweeps": sweeps})
    return {"instances": insts}


def test_decide_twin_gate_alpha_split_and_degenerate_check():
    from pgtheory.claims.library.l23_pg_rainbow import decide

    rng = np.random.default_rng(0)
    good = [1.0 + 0.1 * rng.standard_normal(10) for _ in range(5)]
    flat = [0.1 * rng.standard_normal(10) for _ in range(5)]
    d = decide(_fake_measurements(good, good, n_sweeps=1), 0.01)
    assert d["verdict"] == "confirmed" and d["twin_better"] == 5 and not d["code_checks"]
    assert d["n_decisions"] == 5 * 3 and d["alpha_side"] == pytest.approx(0.01 / (2 * 15))  # sweeps counted
    assert decide(_fake_measurements(good, good, n_sweeps=4), 0.01)["n_decisions"] == 5 * 6
    # twin: the same PG-Rainbow with a powerless positive control is inconclusive
    assert decide(_fake_measurements(good, flat), 0.01)["verdict"] == "inconclusive"
    assert decide(_fake_measurements(flat, good), 0.01)["verdict"] == "refuted"
    # identical runs: ties, not "not better" → not refuted
    ties = decide(_fake_measurements([np.zeros(10)] * 5, good), 0.01)
    assert [r["outcome"] for r in ties["rows"]] == ["tie"] * 5 and ties["verdict"] == "inconclusive"
    # the degenerate-distillation code check fires only when the tuned score equals a PPO cell's
    assert len(decide(_fake_measurements(good, good, degenerate=True), 0.01)["code_checks"]) == 5


@pytest.mark.slow
def test_claim_quick_run_returns_a_complete_record(tmp_path):
    import pgtheory.claims.library.l23_pg_rainbow  # noqa: F401  (registers the claim)
    from pgtheory.claims.protocol import validate_record
    from pgtheory.claims.runner import check

    (rec,) = check(["L23-pg-rainbow-tabular"], scale="quick", results=tmp_path)
    validate_record(rec)
    # quote_verdict "inconclusive": a held rule shows inconclusive, a failed one qualified — never confirmed/refuted
    assert rec["verdict"] in ("qualified", "inconclusive")
    assert rec["instances"]["count"] == 3 and rec["sensitivity"] and not rec["code_checks"]
    assert all("twin_outcome" in r for r in rec["details"]["rows"])
    assert len(rec["details"]["rows"]) == 3 and rec["figure"]
