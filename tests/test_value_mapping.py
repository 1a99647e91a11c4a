"""Orchestrated value mapping (pgtheory.optim.value_mapping) and the L165 claim's decision rule."""
from __future__ import annotations

import math

import pytest
import torch

from pgtheory.exact.evaluation import evaluate_policy
from pgtheory.exact.solvers import greedy_policy, value_iteration
from pgtheory.optim.algorithms import PowerSchedule
from pgtheory.sampling.generative import sample_next_states
from pgtheory.optim.value_mapping import (MAPPINGS, RewardChannels, aggregate_values, channel_values, decompose_rewards,
                                          expected_targets, make_mapping, mapped_fixed_point, mapped_update,
                                          greedy_next_values, mean_mapped_update, orchestrated_q_learning)
from pgtheory.problems import TabularMDP, garnet

pytestmark = pytest.mark.usefixtures("one_torch_thread")

GAMMA = 0.9
LOG = {"c": 0.5, "offset": GAMMA ** 20}


def _det_mdp() -> TabularMDP:
    """2 states, 2 actions, deterministic: (0,0)→1, (0,1)→0, (1,0)→0, (1,1)→1; r = [[1, 0], [0, 2]]; γ = 0.5."""
    P = torch.zeros(2, 2, 2, dtype=torch.float64)
    P[0, 0, 1] = P[0, 1, 0] = P[1, 0, 0] = P[1, 1, 1] = 1.0
    return TabularMDP(P, torch.tensor([[1.0, 0.0], [0.0, 2.0]], dtype=torch.float64), 0.5, torch.tensor([0.5, 0.5]))


def _mixed_garnet(seed: int) -> tuple[TabularMDP, torch.Tensor]:
    """A Garnet whose Q* takes both signs (rewards 2u − 1 centred by (1 − γ)·mean V*), and its Q*."""
    g = garnet(5, 3, 3, discount=GAMMA, seed=seed)
    r = 2 * g.rewards - 1
    r = r - (1 - GAMMA) * value_iteration(TabularMDP(g.transitions, r, GAMMA, g.initial)).v.mean()
    mdp = TabularMDP(g.transitions, r, GAMMA, g.initial)
    q = value_iteration(mdp).q
    assert float(q.min()) < 0 < float(q.max())
    return mdp, q


# --- hand-computed steps ---------------------------------------------------------------------------------------------

def test_identity_one_channel_is_q_learning_by_hand():
    mdp = _det_mdp()
    ch = decompose_rewards("single", mdp.rewards)
    tr = orchestrated_q_learning(mdp.transitions, ch, [make_mapping("identity")], mdp.discount, 2, beta_reg=0.5,
                                 beta_f=1.0, generator=torch.Generator().manual_seed(0), checkpoints=[1, 2])
    # step 1 from Q = 0: Q = 0.5 r; step 2: greedy V = (0.5, 1), targets (1.5, 0.25; 0.25, 2.5), Q += 0.5 (U − Q)
    torch.testing.assert_close(tr.aggregate[0, 0], torch.tensor([[0.5, 0.0], [0.0, 1.0]], dtype=torch.float64), rtol=0, atol=1e-15)
    torch.testing.assert_close(tr.aggregate[1, 0], torch.tensor([[1.0, 0.125], [0.125, 1.75]], dtype=torch.float64), rtol=0, atol=1e-15)


def test_log_mapping_polar_one_step_by_hand():
    # f(x) = 0.5 ln(x + 1): from Q = 0 (Q̃ = 0), β_reg = β_f = 1/2 gives Q̃ = ½·½ ln(1 + r/2), so Q = √(1 + r/2) − 1
    mdp = _det_mdp()
    ch = decompose_rewards("polar", mdp.rewards)
    log = make_mapping("log", c=0.5, offset=1.0)
    tr = orchestrated_q_learning(mdp.transitions, ch, [log, log], mdp.discount, 1, beta_reg=0.5, beta_f=0.5,
                                 generator=torch.Generator().manual_seed(0))
    want = torch.tensor([[math.sqrt(1.5) - 1, 0.0], [0.0, math.sqrt(2.0) - 1]], dtype=torch.float64)
    torch.testing.assert_close(tr.aggregate[-1, 0], want, rtol=0, atol=1e-15)


# --- mappings and decompositions -------------------------------------------------------------------------------------

@pytest.mark.parametrize("name,params", [("identity", {}), ("log", LOG), ("loglin", LOG), ("log", {})])
def test_mappings_round_trip_on_their_domain(name, params):
    m = make_mapping(name, **params)
    lo = -5.0 if name == "identity" else m.floor
    x = torch.linspace(lo, 20.0, 401, dtype=torch.float64)
    torch.testing.assert_close(m.inverse(m.forward(x)), x, rtol=1e-12, atol=1e-12)
    assert bool((m.forward(x).diff() > 0).all())  # strictly increasing


def test_loglin_is_c1_at_its_break_point():
    m = make_mapping("loglin", c=0.5, d=0.3)
    zb = math.exp(-0.3 / 0.5)
    h = 1e-6
    x = torch.tensor([zb - h, zb, zb + h], dtype=torch.float64)
    y = m.forward(x)
    assert abs(float(y[1])) < 1e-15  # both branches pass through 0 at the break
    left, right = float(y[1] - y[0]) / h, float(y[2] - y[1]) / h
    assert abs(left - right) < 1e-5 and abs(right - 0.5 * math.exp(0.3 / 0.5)) < 1e-5


def test_square_mapping_loses_the_sign():
    m = make_mapping("square")
    assert float(m.inverse(m.forward(torch.tensor(-1.5, dtype=torch.float64)))) == 1.5


def test_decompositions_sum_back_and_polar_is_non_negative():
    r = torch.randn(3, 4, 2, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    for name, kw in (("single", {}), ("polar", {}), ("random_split", {"n_channels": 3, "generator": torch.Generator().manual_seed(2)})):
        ch = decompose_rewards(name, r, **kw)
        torch.testing.assert_close(torch.einsum("j,...jsa->...sa", ch.weights, ch.rewards), r, rtol=0, atol=1e-14)
    assert bool((decompose_rewards("polar", r).rewards >= 0).all())


# --- exact fixed points (the theorem's limit) and twins --------------------------------------------------------------

@pytest.mark.parametrize("maps,dec", [(("identity",), "single"), (("log", "log"), "polar"), (("loglin", "loglin"), "polar"),
                                      (("log", "identity"), "polar"), (("identity",) * 3, "random_split")])
def test_expected_update_fixed_point_is_q_star(maps, dec):
    mdp, q_star = _mixed_garnet(3)
    kw = {"n_channels": 3, "generator": torch.Generator().manual_seed(0)} if dec == "random_split" else {}
    ch = decompose_rewards(dec, mdp.rewards, **kw)
    ms = [make_mapping(m, **(LOG if m in ("log", "loglin") else {})) for m in maps]
    fp = mapped_fixed_point(mdp.transitions, ch, ms, GAMMA, beta_reg=1.0, beta_f=0.5, tol=1e-12)
    assert float((fp.aggregate - q_star).abs().max()) < 1e-9
    # each channel converges to its own value under the optimal policy: Q_j = Q_j^{π*}
    pi = greedy_policy(q_star)
    for j in range(ch.rewards.shape[0]):
        want = evaluate_policy(mdp, pi, rewards=ch.rewards[j]).q
        assert float((channel_values(fp.q_tilde, ms)[j] - want).abs().max()) < 1e-8


@pytest.mark.parametrize("maps,dec,greedy", [(("log",), "single", "aggregate"),  # cannot represent negative values
                                             (("square",), "single", "aggregate"),  # not injective
                                             (("identity", "identity"), "polar", "channel")])  # wrong greedy action
def test_twins_violating_a_condition_miss_q_star(maps, dec, greedy):
    mdp, q_star = _mixed_garnet(3)
    ms = [make_mapping(m, **(LOG if m == "log" else {})) for m in maps]
    fp = mapped_fixed_point(mdp.transitions, decompose_rewards(dec, mdp.rewards), ms, GAMMA, beta_reg=1.0, beta_f=0.5,
                            greedy=greedy, tol=1e-12)
    assert float((fp.aggregate - q_star).abs().max()) > 1e-2


def test_mean_field_bias_is_zero_for_identity_and_shrinks_with_beta_reg_for_log():
    mdp, q_star = _mixed_garnet(4)
    ident = mapped_fixed_point(mdp.transitions, decompose_rewards("single", mdp.rewards), [make_mapping("identity")], GAMMA,
                               beta_reg=1.0, beta_f=0.5, mode="mean_update", tol=1e-12)
    assert float((ident.aggregate - q_star).abs().max()) < 1e-9
    ch = decompose_rewards("polar", mdp.rewards)
    log = [make_mapping("log", **LOG)] * 2
    bias = [float((mapped_fixed_point(mdp.transitions, ch, log, GAMMA, beta_reg=b, beta_f=0.5, mode="mean_update",
                                      tol=1e-12).aggregate - q_star).abs().max()) for b in (1.0, 0.5)]
    assert bias[0] > 1e-3  # averaging in the mapped space (β_reg = 1) is biased (Jensen): the T4 twin
    assert 1.5 < bias[0] / bias[1] < 2.5  # first order in β_reg


def test_fixed_policy_bootstrap_is_policy_evaluation_and_matches_greedy_where_greedy_settles_on_pi_star():
    mdp, q_star = _mixed_garnet(4)
    pi_star = q_star.argmax(-1)
    ident = mapped_fixed_point(mdp.transitions, decompose_rewards("single", mdp.rewards), [make_mapping("identity")], GAMMA,
                               beta_reg=1.0, beta_f=0.5, mode="mean_update", greedy=pi_star, tol=1e-12)
    assert float((ident.aggregate - q_star).abs().max()) < 1e-9  # Q^{π*} = Q*
    # twin: a non-optimal fixed policy evaluates to Q^π, not Q*
    pi_bad = (pi_star + 1) % 3
    bad = mapped_fixed_point(mdp.transitions, decompose_rewards("single", mdp.rewards), [make_mapping("identity")], GAMMA,
                             beta_reg=1.0, beta_f=0.5, mode="mean_update", greedy=pi_bad, tol=1e-12)
    want = evaluate_policy(mdp, torch.nn.functional.one_hot(pi_bad, 3).double(), rewards=mdp.rewards).q
    assert float((bad.aggregate - want).abs().max()) < 1e-9 and float((bad.aggregate - q_star).abs().max()) > 1e-2
    # with the log mapping, where the aggregate's greedy mean field settles on π*, both bootstraps give the same point
    ch, log = decompose_rewards("polar", mdp.rewards), [make_mapping("log", **LOG)] * 2
    for b in (1.0, 0.5):
        g = mapped_fixed_point(mdp.transitions, ch, log, GAMMA, beta_reg=b, beta_f=0.5, mode="mean_update", tol=1e-12)
        f = mapped_fixed_point(mdp.transitions, ch, log, GAMMA, beta_reg=b, beta_f=0.5, mode="mean_update",
                               greedy=pi_star, tol=1e-12)
        assert bool((g.aggregate.argmax(-1) == pi_star).all())
        assert float((g.aggregate - f.aggregate).abs().max()) < 1e-9


def test_l165_mean_field_settles_with_the_fixed_policy_where_the_greedy_one_cycles():
    """The seed-24 failure (L165 raised): on the claim's family at dev seed 900 the aggregate-greedy mean field of Log
    Q-learning at β_reg = 1 keeps cycling; bootstrapping from π* (the revised check (c)) settles in < 2000 iterations."""
    from pgtheory.claims.library import l165_value_mapping as L
    P, r, q_star = L._instances(16, 900)
    maps, dec = L.CONFIGS["Log Q-learning"]
    ch, ms = L._channels(dec, r, 900), [L._mapping(m) for m in maps]
    with pytest.raises(RuntimeError, match="still moving"):
        mapped_fixed_point(P, ch, ms, L.GAMMA, beta_reg=1.0, beta_f=L.BETA_F, mode="mean_update", tol=L.MF_STOP,
                           max_iter=5000)
    fp = mapped_fixed_point(P, ch, ms, L.GAMMA, beta_reg=1.0, beta_f=L.BETA_F, mode="mean_update",
                            greedy=q_star.argmax(-1), tol=L.MF_STOP, max_iter=2000)
    bias = (fp.aggregate - q_star).abs().amax((-1, -2)) / q_star.abs().amax((-1, -2))
    assert float(bias.min()) > L.TWIN_GAP  # the Jensen bias at β_reg = 1 stays visible (the T4 twin)


def test_mean_update_equals_sampled_update_averaged_over_next_states():
    mdp, _ = _mixed_garnet(5)
    ch = decompose_rewards("polar", mdp.rewards)
    ms = [make_mapping("log", **LOG)] * 2
    qt = torch.randn(2, 5, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 0.1
    mean = mean_mapped_update(qt, ch, ms, mdp.transitions, GAMMA, 0.3, 0.7)
    # enumerate s' for every (s, a) separately: the expectation of mapped_update over a one-hot next-state draw
    q = channel_values(qt, ms)
    agg = torch.zeros_like(qt)
    for t in range(5):
        onehot = torch.zeros_like(mdp.transitions)
        onehot[..., t] = 1.0
        agg += mdp.transitions[..., t] * mapped_update(qt, expected_targets(q, ch, onehot, GAMMA), ms, 0.3, 0.7)
    torch.testing.assert_close(mean, agg, rtol=0, atol=1e-13)


# --- sampling and subsumption ----------------------------------------------------------------------------------------

def test_next_state_sampler_matches_p_and_rejects_a_perturbed_p():
    mdp, _ = _mixed_garnet(6)
    n = 20_000
    cdf = mdp.transitions.cumsum(-1).expand(n, 5, 3, 5)
    nxt = sample_next_states(cdf, torch.Generator().manual_seed(0))
    freq = torch.nn.functional.one_hot(nxt, 5).double().mean(0)
    sd = (mdp.transitions * (1 - mdp.transitions) / n).sqrt().clamp_min(1e-12)
    assert float(((freq - mdp.transitions).abs() / sd)[mdp.transitions > 0].max()) < 5.0
    assert float((freq[mdp.transitions == 0]).max()) == 0.0
    wrong = mdp.transitions.clone()
    wrong[0, 0] = 0.9 * wrong[0, 0] + 0.1 / 5  # a close-but-wrong law the same check rejects
    assert float(((freq - wrong).abs() / sd.clamp_min(1 / n)).max()) > 5.0


def test_q_decomposition_and_beta_f_one_log_equal_plain_q_learning_on_the_same_draws():
    mdp, _ = _mixed_garnet(7)
    sched = PowerSchedule(10 ** 0.75, 0.75, 10.0)
    g = torch.Generator().manual_seed(3)
    cdf = mdp.transitions.cumsum(-1).unsqueeze(0)
    q = torch.zeros(1, 5, 3, dtype=torch.float64)
    for t in range(40):
        nxt = sample_next_states(cdf, g)
        q = q + 0.5 * sched(t) * (mdp.rewards + GAMMA * q[0].amax(-1)[nxt] - q)
    split = decompose_rewards("random_split", mdp.rewards, n_channels=3, generator=torch.Generator().manual_seed(0))
    tr = orchestrated_q_learning(mdp.transitions, split, [make_mapping("identity")] * 3, GAMMA, 40, beta_reg=sched,
                                 beta_f=0.5, generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(tr.aggregate[-1], q, rtol=0, atol=1e-12)
    q1 = torch.zeros(1, 5, 3, dtype=torch.float64)
    g = torch.Generator().manual_seed(3)
    for t in range(40):
        nxt = sample_next_states(cdf, g)
        q1 = q1 + sched(t) * (mdp.rewards + GAMMA * q1[0].amax(-1)[nxt] - q1)
    tr = orchestrated_q_learning(mdp.transitions, decompose_rewards("polar", mdp.rewards), [make_mapping("log", **LOG)] * 2,
                                 GAMMA, 40, beta_reg=sched, beta_f=1.0, generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(tr.aggregate[-1], q1, rtol=0, atol=1e-12)
    # twin: with β_f < 1 the log mapping no longer reproduces Q-learning's iterates
    tr = orchestrated_q_learning(mdp.transitions, decompose_rewards("polar", mdp.rewards), [make_mapping("log", **LOG)] * 2,
                                 GAMMA, 40, beta_reg=sched, beta_f=0.5, generator=torch.Generator().manual_seed(3))
    assert float((tr.aggregate[-1] - q).abs().max()) > 1e-6


def test_runs_are_reproducible_and_aggregate_matches_channels():
    mdp, _ = _mixed_garnet(8)
    ch = decompose_rewards("polar", mdp.rewards)
    ms = [make_mapping("loglin", **LOG)] * 2
    a = orchestrated_q_learning(mdp.transitions, ch, ms, GAMMA, 20, beta_reg=0.5, beta_f=0.5, generator=torch.Generator().manual_seed(9))
    b = orchestrated_q_learning(mdp.transitions, ch, ms, GAMMA, 20, beta_reg=0.5, beta_f=0.5, generator=torch.Generator().manual_seed(9))
    assert torch.equal(a.aggregate, b.aggregate)
    torch.testing.assert_close(aggregate_values(a.q_tilde, ms, ch.weights), a.aggregate[-1], rtol=0, atol=0)


# --- the claim's decision rule ----------------------------------------------------------------------------------------

def test_claim_stochastic_rule_on_synthetic_curves():
    from pgtheory.claims.library.l165_value_mapping import rule_verdict, stochastic_outcomes

    cks = [10, 100, 1000]
    med = torch.tensor([[1.0, 1.0, 1.0], [0.5, 0.5, 0.9], [0.05, 0.5, 2.0]], dtype=torch.float64)  # [K, M]
    out = stochastic_outcomes(cks, med, torch.ones(3, dtype=torch.float64))
    assert out == ["converged", "unresolved", "diverging"]
    assert rule_verdict([out[:1]]) == "confirmed"
    assert rule_verdict([out[:2]]) == "inconclusive"
    assert rule_verdict([out]) == "refuted"


# --- bad input --------------------------------------------------------------------------------------------------------

def test_fixed_policy_bad_actions_raise_naming_greedy():
    q = torch.zeros(2, 5, 3, dtype=torch.float64)
    w = torch.ones(2, dtype=torch.float64)
    with pytest.raises(TypeError, match="greedy"):
        greedy_next_values(q, w, torch.zeros(5))
    with pytest.raises(ValueError, match="greedy.*shape"):
        greedy_next_values(q, w, torch.zeros(4, dtype=torch.int64))
    with pytest.raises(ValueError, match="greedy.*\\[0, 3\\)"):
        greedy_next_values(q, w, torch.full((5,), 3, dtype=torch.int64))
    q[1, 2, 1] = 7.0
    assert greedy_next_values(q, w, torch.tensor([0, 0, 1, 0, 0]))[1, 2] == 7.0
    qb = torch.zeros(4, 2, 5, 3, dtype=torch.float64)  # a batch of 4: one policy per batch member, never broadcast
    with pytest.raises(ValueError, match="greedy.*shape"):
        greedy_next_values(qb, w, torch.zeros(5, dtype=torch.int64))
    with pytest.raises(ValueError, match="greedy.*shape"):
        greedy_next_values(qb, w, torch.zeros(3, 5, dtype=torch.int64))
    assert greedy_next_values(qb, w, torch.zeros(4, 5, dtype=torch.int64)).shape == (4, 2, 5)


def _run_l165_quick():
    """L165's run function at quick scale on dev seed 0 (with whatever the test has monkeypatched into its module)."""
    from pgtheory.claims.library import l165_value_mapping as L
    from pgtheory.claims.record import RunContext
    from pgtheory.claims.registry import CLAIMS, load_claims
    load_claims()
    return L.run(RunContext("quick", dict(CLAIMS.get(L.ID).scales["quick"]), 0, "cpu", "", 0.05))


def test_l165_check_c_bootstraps_from_pi_star(monkeypatch):
    """Pre-run audit A3(b): the claim's mean-field calls (mode='mean_update') pass π* = argmax Q* as a fixed policy;
    the exact checks (a) and their twins keep their string modes."""
    from pgtheory.claims.library import l165_value_mapping as L
    calls = []
    real = L.mapped_fixed_point

    def spy(*args, **kw):
        calls.append((kw.get("mode", "expected_target"), kw.get("greedy", "aggregate")))
        return real(*args, **kw)

    monkeypatch.setattr(L, "mapped_fixed_point", spy)
    class _Stop(Exception):
        pass

    def stop(*a, **k):
        raise _Stop

    monkeypatch.setattr(L, "_stochastic", stop)
    with pytest.raises(_Stop):  # stop after (a) and (c): the stochastic runs are not needed here
        _run_l165_quick()
    mean = [g for m, g in calls if m == "mean_update"]
    assert len(mean) == len(L.BETA_REG_GRID) and all(isinstance(g, torch.Tensor) for g in mean)
    from pgtheory.claims.registry import CLAIMS
    _, _, q_star = L._instances(CLAIMS.get(L.ID).scales["quick"]["mdps"], 0)
    assert all(torch.equal(g, q_star.argmax(-1)) for g in mean)
    assert all(isinstance(g, str) for m, g in calls if m != "mean_update")


def test_bad_inputs_raise_naming_the_argument():
    mdp = _det_mdp()
    ch = decompose_rewards("single", mdp.rewards)
    ident = [make_mapping("identity")]
    g = torch.Generator().manual_seed(0)
    with pytest.raises(ValueError, match="^name:"):
        make_mapping("exp")
    with pytest.raises(TypeError, match="^scale:"):
        make_mapping("log", scale=1.0)
    with pytest.raises(ValueError, match="^c:"):
        make_mapping("log", c=0.0)
    with pytest.raises(ValueError, match="^floor:"):
        make_mapping("log", offset=0.1, floor=-0.2)
    with pytest.raises(ValueError, match="^mappings:"):
        orchestrated_q_learning(mdp.transitions, ch, ident * 2, 0.5, 3, beta_reg=0.5, beta_f=0.5, generator=g)
    with pytest.raises(ValueError, match="^beta_reg:"):
        orchestrated_q_learning(mdp.transitions, ch, ident, 0.5, 3, beta_reg=1.5, beta_f=0.5, generator=g)
    with pytest.raises(ValueError, match="^greedy:"):
        orchestrated_q_learning(mdp.transitions, ch, ident, 0.5, 3, beta_reg=0.5, beta_f=0.5, generator=g, greedy="max")
    with pytest.raises(TypeError, match="^generator:"):
        orchestrated_q_learning(mdp.transitions, ch, ident, 0.5, 3, beta_reg=0.5, beta_f=0.5, generator=0)
    with pytest.raises(ValueError, match="^steps:"):
        orchestrated_q_learning(mdp.transitions, ch, ident, 0.5, 0, beta_reg=0.5, beta_f=0.5, generator=g)
    with pytest.raises(ValueError, match="^checkpoints:"):
        orchestrated_q_learning(mdp.transitions, ch, ident, 0.5, 3, beta_reg=0.5, beta_f=0.5, generator=g, checkpoints=[5])
    with pytest.raises(ValueError, match="^transitions:"):
        orchestrated_q_learning(mdp.transitions[:, :1], ch, ident, 0.5, 3, beta_reg=0.5, beta_f=0.5, generator=g)
    with pytest.raises(ValueError, match="^discount:"):
        mapped_fixed_point(mdp.transitions, ch, ident, 1.0)
    with pytest.raises(ValueError, match="^mode:"):
        mapped_fixed_point(mdp.transitions, ch, ident, 0.5, mode="sampled")
    with pytest.raises(ValueError, match="^rewards:"):
        decompose_rewards("polar", torch.tensor([1.0, float("nan")]))
    with pytest.raises(TypeError, match="^n_channels:"):
        decompose_rewards("random_split", mdp.rewards, generator=g)
    assert "identity" in MAPPINGS and isinstance(RewardChannels(ch.rewards, ch.weights), RewardChannels)


@pytest.mark.slow
def test_claim_quick_run_returns_a_complete_record(tmp_path):
    import pgtheory.claims.library.l165_value_mapping as mod
    from pgtheory.claims.runner import check

    rec = check([mod.ID], scale="quick", results=tmp_path)[0]
    for key in ("verdict", "summary", "instances", "sensitivity", "kind", "quote", "figure"):
        assert key in rec
    assert rec["kind"] == "theorem" and len(rec["sensitivity"]) == 4
    assert rec["instances"]["count"] == 3
    assert not rec["code_checks"]


def test_stochastic_rule_passes_a_decaying_schedule_and_rejects_a_constant_step_twin():
    """Rule (b) of L165 (a referee's finding, 2026-11-30): constant-step Q-learning stalls at a noise floor below
    FINAL_TOL, so "converged" also needs decay since T/10; the Robbins–Monro schedule passes, β_reg = 0.05 does not."""
    from pgtheory.claims.library import l165_value_mapping as c

    P, r, q_star = c._instances(2, 7)
    ch = c._channels("single", r, 0)
    runs, steps = 8, 4000
    cks = sorted({max(1, int(round(f * steps))) for f in c.CHECKPOINTS_FRAC})
    scale = q_star.abs().amax((-1, -2))
    out = {}
    for name, beta_reg in (("schedule", c._schedule(c.OMEGA)), ("constant", 0.05)):
        chB = RewardChannels(ch.rewards.repeat_interleave(runs, 0), ch.weights)
        tr = orchestrated_q_learning(P.repeat_interleave(runs, 0), chB, [make_mapping("identity")], c.GAMMA, steps,
                                     beta_reg=beta_reg, beta_f=1.0, generator=torch.Generator().manual_seed(3),
                                     checkpoints=cks)
        err = (tr.aggregate - q_star.repeat_interleave(runs, 0)).abs().amax((-1, -2)).view(len(cks), 2, runs)
        out[name] = c.stochastic_outcomes(cks, err.median(-1).values, scale)
    assert out["schedule"] == ["converged", "converged"], out
    assert "converged" not in out["constant"], out


def test_l165_iteration_that_does_not_settle_is_a_failed_code_check_not_a_lost_record(monkeypatch):
    """Pre-run audit A4 (seed-24 referee B1): a fixed-point iteration hitting its cap becomes a failed check of our code
    (the record is written, inconclusive), not an exception. Twin: the same quick run without the failure has none."""
    from pgtheory.claims.library import l165_value_mapping as L
    real = L.mapped_fixed_point

    from pgtheory.optim.value_mapping import FixedPointNotSettled

    def failing(where):
        def capped(*args, **kw):
            if where(kw):
                raise FixedPointNotSettled("mapped_fixed_point: aggregate still moving by 0.00175 after max_iter=50000")
            return real(*args, **kw)
        return capped

    # (c) at each β_reg (the last one too: the old min() read a NaN ratio there as passing), an exact check (a), a twin
    cases = {"(c) mean field at β_reg = 0.5": lambda kw: kw.get("mode") == "mean_update" and kw["beta_reg"] == 0.5,
             "(c) mean field at β_reg = 0.25": lambda kw: kw.get("mode") == "mean_update" and kw["beta_reg"] == 0.25,
             "(a) Q-learning": lambda kw: "mode" not in kw and "greedy" not in kw and len(calls) == 1,
             "twin T3": lambda kw: kw.get("greedy") == "channel"}
    for label, where in cases.items():
        calls = []
        monkeypatch.setattr(L, "mapped_fixed_point", lambda *a, _w=where, **kw: (calls.append(1), failing(_w)(*a, **kw))[1])
        ev = _run_l165_quick()
        assert any(c.startswith(label) for c in ev.code_checks), (label, ev.code_checks)
        assert ev.verdict == "inconclusive", label  # a NaN limit decides nothing: never confirmed, never refuted
        assert ev.summary.startswith("A fixed-point iteration did not settle")
    with pytest.raises(RuntimeError, match="boom"):  # only the cap is caught, not any other error of the iteration
        monkeypatch.setattr(L, "mapped_fixed_point", lambda *a, **kw: (_ for _ in ()).throw(RuntimeError("boom")))
        _run_l165_quick()
    monkeypatch.setattr(L, "mapped_fixed_point", real)
    ev = _run_l165_quick()
    assert not ev.code_checks and not ev.summary.startswith("A fixed-point")
