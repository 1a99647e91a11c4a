"""Samplers: exact alias tables, determinism, the law of sampled trajectories, bad input."""
import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from pgtheory.exact import evaluate_policy
from pgtheory.policies import TabularSequencePolicy, TabularSoftmax
from pgtheory.problems import Bandit, MultiPromptBandit, toy_sequence_task
from pgtheory.sampling import (TrajectorySampler, build_alias_table, sample_alias, sample_bandit,
                               sample_multiprompt_groups, sample_sequence_groups, sample_trajectories)
from pgtheory.stats import bias_test, detection_power

from .conftest import random_mdp

ALPHA = 1e-6  # family-wise false-failure rate of every statistical assertion in this file


@given(st.integers(1, 6), st.integers(1, 40), st.integers(0, 2**31 - 1), st.floats(0.0, 0.7))
def test_alias_table_implies_exactly_p(rows, K, seed, zero_frac):
    rng = np.random.default_rng(seed)
    p = rng.dirichlet(np.ones(K), size=rows) * (rng.random((rows, K)) >= zero_frac)
    p[:, 0] += 1e-3
    p /= p.sum(1, keepdims=True)
    t = build_alias_table(torch.from_numpy(p))
    implied = torch.zeros(rows, K, dtype=torch.float64)
    implied.scatter_add_(1, torch.arange(K).expand(rows, K), t.prob / K)
    implied.scatter_add_(1, t.alias, (1 - t.prob) / K)
    assert torch.allclose(implied, torch.from_numpy(p), atol=1e-13)
    # outcomes with p = 0 are never produced, whatever the uniform
    u = torch.linspace(0, 1 - 1e-12, 5001, dtype=torch.float64)
    for r in range(rows):
        draws = sample_alias(t, torch.full_like(u, r, dtype=torch.long), u)
        assert bool((torch.from_numpy(p)[r, draws] > 0).all())


def test_same_seed_same_batch_and_different_seed_different_batch():
    mdp = random_mdp(6, 3, 0.9, 0)
    pi = torch.softmax(torch.randn(6, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0)), -1)
    smp = TrajectorySampler(mdp, pi)
    a = smp.sample(500, torch.Generator().manual_seed(7))
    b = smp.sample(500, torch.Generator().manual_seed(7))
    c = smp.sample(500, torch.Generator().manual_seed(8))
    assert torch.equal(a.states, b.states) and torch.equal(a.actions, b.actions) and torch.equal(a.rewards, b.rewards)
    assert not torch.equal(a.states[:100], c.states[:100])
    # the padded view puts each episode's transitions in order, and the flat layout round-trips
    table = a.padded(a.states.double(), fill=-1.0)
    assert table.shape == (500, a.n_steps) and int((table >= 0).sum()) == a.n_transitions
    assert torch.equal(table[a.episode, torch.repeat_interleave(torch.arange(a.n_steps), torch.diff(torch.tensor(a.step_offsets)))],
                       a.states.double())


def test_device_argument_moves_problem_and_policy():
    mdp = random_mdp(4, 2, 0.8, 0)
    pi = torch.full((4, 2), 0.5, dtype=torch.float64)
    a = sample_trajectories(mdp, pi, 300, torch.Generator().manual_seed(1), device="cpu")
    b = sample_trajectories(mdp, pi, 300, torch.Generator().manual_seed(1))
    assert a.states.device.type == "cpu" and torch.equal(a.states, b.states)
    if torch.cuda.is_available():  # same seed on one device is reproducible there
        c = sample_trajectories(mdp, pi, 300, torch.Generator("cuda").manual_seed(1), device="cuda")
        d = sample_trajectories(mdp, pi, 300, torch.Generator("cuda").manual_seed(1), device="cuda")
        assert c.states.is_cuda and torch.equal(c.states, d.states)


def _visit_counts(traj, S, A):
    """Per-episode discounted visit counts of each (s, a), [N, S*A]."""
    idx = traj.episode * (S * A) + traj.states * A + traj.actions
    return torch.zeros(traj.n * S * A, dtype=torch.float64).index_add_(0, idx, traj.weights).view(traj.n, S * A)


@pytest.mark.parametrize("termination", ["geometric", "truncate"])
def test_visit_counts_match_exact_occupancy(termination):
    """E[Σ_t w_t 1(s_t=s, a_t=a)] = d(s)π(a|s)/(1−γ) (minus the γ^H tail for truncation, made negligible)."""
    S, A, g = 5, 3, 0.8
    mdp = random_mdp(S, A, g, 3)
    pi = torch.softmax(torch.randn(S, A, dtype=torch.float64, generator=torch.Generator().manual_seed(1)), -1)
    H = 200 if termination == "truncate" else None  # γ^200 ≈ 4e-20
    traj = sample_trajectories(mdp, pi, 100_000, torch.Generator().manual_seed(2), termination=termination, horizon=H)
    ev = evaluate_policy(mdp, pi)
    truth = (ev.occupancy.unsqueeze(-1) * pi / (1 - g)).reshape(-1)
    assert bias_test(_visit_counts(traj, S, A), truth).pvalue > ALPHA
    assert bias_test(traj.discounted_returns()[:, None], ev.objective[None]).pvalue > ALPHA


def test_visit_count_check_catches_a_short_horizon():
    """Twin: truncating at H = 3 biases the visit counts; the same test at the same n must flag it."""
    S, A, g = 5, 3, 0.8
    mdp = random_mdp(S, A, g, 3)
    pi = torch.softmax(torch.randn(S, A, dtype=torch.float64, generator=torch.Generator().manual_seed(1)), -1)
    traj = sample_trajectories(mdp, pi, 100_000, torch.Generator().manual_seed(2), termination="truncate", horizon=3)
    ev = evaluate_policy(mdp, pi)
    truth = (ev.occupancy.unsqueeze(-1) * pi / (1 - g)).reshape(-1)
    x = _visit_counts(traj, S, A)
    # power from the exact bias of the truncated counts: Σ_{t≥3} γ^t Pr(s_t, a_t)
    P_pi = torch.einsum("sa,sat->st", pi, mdp.transitions)
    dist, head = mdp.initial.clone(), torch.zeros(S, dtype=torch.float64)
    for t in range(3):
        head += g**t * dist
        dist = dist @ P_pi
    exact_bias = ((head - ev.occupancy / (1 - g)).unsqueeze(-1) * pi).reshape(-1)
    assert detection_power(exact_bias.numpy(), x.std(0).numpy(), x.shape[0], alpha=ALPHA) >= 0.99
    assert bias_test(x, truth).pvalue < ALPHA


def test_bandit_and_group_samplers():
    b = Bandit([0.2, 0.7, 0.5])
    pi = torch.tensor([0.5, 0.3, 0.2], dtype=torch.float64)
    d = sample_bandit(b, pi, 200_000, torch.Generator().manual_seed(0))
    onehot = torch.nn.functional.one_hot(d.actions, 3).to(torch.float64)
    assert bias_test(onehot, pi).pvalue > ALPHA
    assert bias_test(d.rewards[:, None], (pi * b.means).sum()[None]).pvalue > ALPHA
    mb = MultiPromptBandit([[1, 0, 0], [0, 1, 1]])
    piq = torch.tensor([[0.2, 0.5, 0.3], [0.6, 0.3, 0.1]], dtype=torch.float64)
    gr = sample_multiprompt_groups(mb, piq, 50_000, 4, torch.Generator().manual_seed(1))
    assert gr.actions.shape == (50_000, 4) and gr.prompts.shape == (50_000,)
    for q in (0, 1):
        sel = gr.rewards[gr.prompts == q].reshape(-1, 1)
        assert bias_test(sel, (piq[q] * mb.rewards[q]).sum()[None]).pvalue > ALPHA
    # twin: the same test at the same n rejects a wrong action law (uniform instead of pi), with power ≥ 0.99
    wrong = torch.full((3,), 1 / 3, dtype=torch.float64)
    assert detection_power((pi - wrong).numpy(), onehot.std(0).numpy(), onehot.shape[0], alpha=ALPHA) >= 0.99
    assert bias_test(onehot, wrong).pvalue < ALPHA


def test_sequence_groups_follow_the_exact_response_law():
    task = toy_sequence_task(3, 3, 2, seed=0)
    pol = TabularSequencePolicy(task)
    gen = torch.Generator().manual_seed(0)
    th, beh = pol.random_params(generator=gen), pol.random_params(generator=gen)
    groups = sample_sequence_groups(pol, th, 20_000, 8, torch.Generator().manual_seed(3), behaviour_theta=beh)
    probs_beh = pol.sequence_log_probs(beh).exp()
    probs_target = pol.sequence_log_probs(th).exp()
    for q in (0, 1):
        idx = groups.index[groups.prompts == q].reshape(-1)
        onehot = torch.nn.functional.one_hot(idx, task.n_sequences).to(torch.float64)
        assert bias_test(onehot, probs_beh[q]).pvalue > ALPHA
        # twin: responses drawn from μ are told apart from the target π's law at the same n (power ≥ 0.99 first)
        assert detection_power((probs_beh[q] - probs_target[q]).numpy(), onehot.std(0).numpy(), onehot.shape[0], alpha=ALPHA) >= 0.99
        assert bias_test(onehot, probs_target[q]).pvalue < ALPHA
    # recorded token log-probs sum to the sequence log-probs under each policy
    lp_t = pol.sequence_log_probs(th)[groups.prompts[:, None], groups.index]
    assert torch.allclose(groups.token_log_target.sum(-1), lp_t, atol=1e-12)
    assert bool((groups.tokens[groups.mask] >= 0).all())


def test_sampler_bad_input():
    mdp = random_mdp(3, 2, 0.9, 0)
    ok = torch.full((3, 2), 0.5, dtype=torch.float64)
    gen = torch.Generator().manual_seed(0)
    with pytest.raises(ValueError, match="policy: rows must sum to 1"):
        TrajectorySampler(mdp, torch.full((3, 2), 0.6, dtype=torch.float64))
    mu = ok.clone()
    mu[1] = torch.tensor([1.0, 0.0])
    with pytest.raises(ValueError, match=r"policy: the behaviour policy has probability 0 at \(s=1, a=1\).*importance weights are undefined"):
        TrajectorySampler(mdp, mu, target=ok)
    with pytest.raises(ValueError, match="n: must be >= 1"):
        TrajectorySampler(mdp, ok).sample(0, gen)
    with pytest.raises(ValueError, match="horizon: must be >= 1"):
        TrajectorySampler(mdp, ok, termination="truncate", horizon=0)
    with pytest.raises(ValueError, match="horizon: required"):
        TrajectorySampler(mdp, ok, termination="truncate")
    with pytest.raises(ValueError, match="termination: expected"):
        TrajectorySampler(mdp, ok, termination="poisson")
    with pytest.raises(ValueError, match="policy: on device meta but the MDP is on cpu"):
        TrajectorySampler(mdp, torch.empty(3, 2, device="meta"))
    with pytest.raises(TypeError, match="generator: expected a torch.Generator"):
        TrajectorySampler(mdp, ok).sample(10, 0)
    with pytest.raises(RuntimeError, match="horizon: .* outlived the cap"):
        TrajectorySampler(random_mdp(3, 2, 0.99, 0), ok, horizon=2).sample(1000, gen)
    with pytest.raises(ValueError, match="n_groups: must be >= 1"):
        sample_multiprompt_groups(MultiPromptBandit([[1, 0]]), torch.tensor([[0.5, 0.5]]), 0, 4, gen)


def test_sampler_refuses_a_batch_over_its_memory_budget_and_streams_it_in_chunks():
    """Issue 18: n = 1e8 trajectories was one allocation that failed. Over the budget, `sample` refuses with a
    message naming n and `sample_chunks`; the chunks cover n exactly, report progress, and their pooled returns are
    unbiased for J (α = 1e-6), with the twin J + 0.25 (≈ 5% of J; power ≥ 0.99 checked) rejected."""
    from pgtheory.stats import twin_rejects

    mdp = random_mdp(5, 3, 0.9, seed=11)
    pi = torch.softmax(torch.randn(5, 3, generator=torch.Generator().manual_seed(3), dtype=torch.float64), -1)
    sampler = TrajectorySampler(mdp, pi)
    with pytest.raises(ValueError, match=r"n: 100000000 trajectories need about .* sample_chunks"):
        sampler.sample(100_000_000, torch.Generator().manual_seed(0))
    from pgtheory.sampling.mdp import BYTES_PER_TRANSITION

    budget = sampler.expected_transitions(2_000) * BYTES_PER_TRANSITION  # 2,000 episodes (E length ≈ 10) per chunk
    assert sampler.chunk_size(budget) == 2_000
    seen = []
    chunks = list(sampler.sample_chunks(50_001, torch.Generator().manual_seed(1), memory_budget=budget,
                                        progress=lambda done, total: seen.append((done, total))))
    assert [c.n for c in chunks] == [2_000] * 25 + [1]
    assert seen[-1] == (50_001, 50_001) and len(seen) == 26
    returns = torch.cat([c.discounted_returns() for c in chunks])[:, None]
    J = evaluate_policy(mdp, pi).objective.reshape(1)
    assert bias_test(returns, J).pvalue > ALPHA
    assert twin_rejects(returns, J, J + 0.25, alpha=ALPHA) is True


def test_sampler_reports_progress_on_long_episodes(monkeypatch):
    import pgtheory.sampling.mdp as mdp_mod

    clock = iter(range(0, 10_000_000, 2))  # every call to the clock advances 2 s
    monkeypatch.setattr(mdp_mod.time, "perf_counter", lambda: float(next(clock)))
    mdp = random_mdp(3, 2, 0.99, seed=0)
    calls = []
    TrajectorySampler(mdp, torch.full((3, 2), 0.5, dtype=torch.float64)).sample(
        20, torch.Generator().manual_seed(0), progress=lambda t, alive: calls.append((t, alive)))
    assert calls and all(0 < alive <= 20 for _, alive in calls) and calls[0][0] == 0


@pytest.mark.parametrize("termination", ["geometric", "truncate"])
def test_sample_returns_equals_the_returns_of_sample_without_materialising(termination):
    """Same generator state → the same random numbers: sample_returns equals sample(...).discounted_returns() to
    round-off (issue 17: returns in O(n) memory). Twin: another generator state gives other returns."""
    from pgtheory.problems import garnet
    from pgtheory.sampling import TrajectorySampler

    mdp = garnet(12, 3, 4, discount=0.8, seed=3)
    pi = torch.softmax(torch.randn(12, 3, generator=torch.Generator().manual_seed(1), dtype=torch.float64), -1)
    smp = TrajectorySampler(mdp, pi, termination=termination, horizon=None if termination == "geometric" else 15)
    full = smp.sample(5000, torch.Generator().manual_seed(7)).discounted_returns()
    fast = smp.sample_returns(5000, torch.Generator().manual_seed(7))
    assert fast.shape == (5000,) and torch.allclose(fast, full, rtol=0, atol=1e-12)
    other = smp.sample_returns(5000, torch.Generator().manual_seed(8))
    assert not torch.allclose(other, full)


def test_sample_returns_with_reward_noise_is_unbiased_for_J_and_a_shifted_target_is_rejected():
    """With Gaussian reward noise the per-step draws differ from sample's, so the check is in law: the returns' mean is
    within a 1 − 1e-6 t-interval of the exact J (false-failure rate 1e-6), and the same test rejects J + 0.05."""
    from pgtheory.exact import evaluate_policy
    from pgtheory.problems import garnet
    from pgtheory.sampling import TrajectorySampler
    from pgtheory.stats import bias_test

    base = garnet(8, 2, 3, discount=0.7, seed=5)
    mdp = type(base)(base.transitions, base.rewards, base.discount, base.initial, reward_std=torch.full((8, 2), 0.5, dtype=torch.float64))
    pi = torch.full((8, 2), 0.5, dtype=torch.float64)
    J = float(evaluate_policy(mdp, pi).objective)
    ret = TrajectorySampler(mdp, pi).sample_returns(200_000, torch.Generator().manual_seed(0))
    assert bias_test(ret[:, None], torch.tensor([J], dtype=torch.float64)).pvalue > 1e-6
    assert bias_test(ret[:, None], torch.tensor([J + 0.05], dtype=torch.float64)).pvalue < 1e-6
