"""Toy sequence task and bandits: enumeration, exact J, ∇J, entropy, KL, pass@k."""
import itertools
import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from pgtheory.exact import (bandit_gradient, bandit_objective, multiprompt_gradient, multiprompt_objective,
                            multiprompt_pass_at_k, pass_at_k, sequence_entropy, sequence_kl, sequence_objective,
                            sequence_policy_gradient, sequence_probs, success_probability)
from pgtheory.policies import TabularSequencePolicy
from pgtheory.problems import Bandit, MultiPromptBandit, SequenceTask, toy_sequence_task


@st.composite
def seq_setups(draw):
    V = draw(st.integers(2, 4))
    L = draw(st.integers(1, 4))
    M = draw(st.integers(1, 3))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    table = {}

    def reward(q, y):  # a random scored reward, memoised
        return table.setdefault((q, y), float(rng.normal()))

    task = SequenceTask(V, L, M, reward, eos=int(rng.integers(V)))
    pol = TabularSequencePolicy(task)
    theta = pol.random_params(2, generator=torch.Generator().manual_seed(seed), scale=1.5)
    return task, pol, theta


def test_enumeration_counts_and_structure():
    task = SequenceTask(3, 3, 1, lambda q, y: 0.0, eos=0)
    # finished: lengths 1..3 with 2^(k-1) choices; truncated: 2^3
    assert task.n_sequences == 1 + 2 + 4 + 8
    assert task.n_prefixes == 1 + 2 + 4
    seqs = {task.sequence(i) for i in range(task.n_sequences)}
    expected = {(0,)} | {(a, 0) for a in (1, 2)} | {(a, b, 0) for a in (1, 2) for b in (1, 2)} | set(itertools.product((1, 2), repeat=3))
    assert seqs == expected
    assert int(task.finished.sum()) == 7
    for i in range(task.n_sequences):
        assert task.index_of(task.sequence(i)) == i


@given(seq_setups())
def test_sequence_probabilities_sum_to_one(args):
    task, pol, theta = args
    p = sequence_probs(pol, theta)
    assert p.shape == (2, task.n_prompts, task.n_sequences)
    assert torch.allclose(p.sum(-1), torch.ones(2, task.n_prompts, dtype=p.dtype), atol=1e-12)


@given(seq_setups())
def test_sequence_log_prob_is_product_of_token_softmaxes(args):
    task, pol, theta = args
    lp = pol.sequence_log_probs(theta[0])
    q = task.n_prompts - 1
    i = task.n_sequences - 1  # the last response in the enumeration
    y = task.sequence(i)
    # walk the prefix tree by hand: prefix ids are breadth first over non-EOS tokens
    body = [t for t in range(task.vocab_size) if t != task.eos]
    total, pid, level_start, idx = 0.0, 0, 0, 0
    for k, tok in enumerate(y):
        total += float(torch.log_softmax(theta[0, q, pid], -1)[tok])
        if tok != task.eos:
            idx = idx * (task.vocab_size - 1) + body.index(tok)
            level_start += (task.vocab_size - 1) ** k
            pid = level_start + idx
    assert math.isclose(float(lp[q, i]), total, rel_tol=1e-12, abs_tol=1e-12)


@given(seq_setups())
def test_sequence_gradient_matches_finite_differences(args):
    task, pol, theta = args
    g = sequence_policy_gradient(pol, theta[0])
    rng = np.random.default_rng(0)
    for _ in range(5):
        idx = tuple(int(rng.integers(n)) for n in pol.param_shape)
        e = torch.zeros_like(theta[0])
        e[idx] = 1e-6
        fd = (sequence_objective(pol, theta[0] + e) - sequence_objective(pol, theta[0] - e)) / 2e-6
        assert abs(float(fd) - float(g[idx])) < 1e-7 * (1 + float(g.abs().max()))


@given(seq_setups())
def test_entropy_and_kl_bounds(args):
    task, pol, theta = args
    H = sequence_entropy(pol, theta)
    assert float(H.min()) >= -1e-12 and float(H.max()) <= math.log(task.n_sequences) + 1e-12
    kl_pq, kl_qp = sequence_kl(pol, theta[0], theta[1]), sequence_kl(pol, theta[1], theta[0])
    assert float(kl_pq.min()) >= -1e-12 and float(kl_qp.min()) >= -1e-12
    assert float(sequence_kl(pol, theta[0], theta[0]).abs().max()) < 1e-12


def test_kl_is_asymmetric_and_matches_direct_sum():
    task = toy_sequence_task(3, 3, 1, seed=0)
    pol = TabularSequencePolicy(task)
    gen = torch.Generator().manual_seed(0)
    a, b = pol.random_params(generator=gen, scale=2), pol.random_params(generator=gen, scale=2)
    p, q = sequence_probs(pol, a)[0], sequence_probs(pol, b)[0]
    direct = float((p * (p / q).log()).sum())
    assert math.isclose(float(sequence_kl(pol, a, b)[0]), direct, rel_tol=1e-12)
    assert not math.isclose(float(sequence_kl(pol, a, b)[0]), float(sequence_kl(pol, b, a)[0]), rel_tol=1e-3)


def test_pass_at_k_matches_monte_carlo_free_formula():
    task = toy_sequence_task(3, 3, 2, seed=1)
    pol = TabularSequencePolicy(task)
    th = pol.random_params(generator=torch.Generator().manual_seed(3))
    p = success_probability(pol, th)
    assert torch.allclose(pass_at_k(pol, th, 1), p)
    # pass@k = P(at least one of k independent responses is correct), by inclusion over k = 2
    assert torch.allclose(pass_at_k(pol, th, 2), 2 * p - p**2, atol=1e-14)
    assert bool((pass_at_k(pol, th, 16) >= pass_at_k(pol, th, 4)).all())


def test_bandit_gradient_is_autograd():
    b = Bandit([0.1, 0.5, 0.9])
    z = torch.tensor([[0.3, -1.0, 0.2], [1.0, 2.0, 3.0]], dtype=torch.float64, requires_grad=True)
    (g,) = torch.autograd.grad(bandit_objective(b, z).sum(), z)
    assert torch.allclose(bandit_gradient(b, z.detach()), g, atol=1e-15)
    assert math.isclose(float(bandit_objective(b, torch.zeros(3))), 0.5, rel_tol=1e-15)


def test_multiprompt_bandit_exact():
    mb = MultiPromptBandit([[1, 0, 0], [0, 1, 1]], prompt_weights=[0.25, 0.75])
    z = torch.zeros(2, 3, dtype=torch.float64, requires_grad=True)
    J = multiprompt_objective(mb, z)
    assert math.isclose(float(J.detach()), 0.25 / 3 + 0.75 * 2 / 3, rel_tol=1e-14)
    (g,) = torch.autograd.grad(J, z)
    assert torch.allclose(multiprompt_gradient(mb, z.detach()), g, atol=1e-15)
    assert torch.allclose(multiprompt_pass_at_k(mb, z.detach(), 2), torch.tensor([1 - (2 / 3) ** 2, 1 - (1 / 3) ** 2], dtype=torch.float64))
