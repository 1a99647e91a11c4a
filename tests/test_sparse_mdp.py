"""Sparse transitions end to end (issue 17): the padded top-k MDP, certified sparse evaluation, the sparse sampler.

Statistical tests here are deterministic (fixed seeds); each states its false-failure rate (chi-square / z at
α = 1e-4, i.e. at most 1e-4 per test had the seeds been random); each has a twin the same test rejects.
"""
import numpy as np
import pytest
import torch
from scipy import stats

from pgtheory.estimators import policy_gradient_estimates
from pgtheory.exact import evaluate_policy
from pgtheory.exact.sparse_evaluation import evaluate_policy_sparse, sparse_policy_matrix
from pgtheory.policies import TabularSoftmax
from pgtheory.problems import garnet
from pgtheory.problems.sparse_mdp import SparseTabularMDP, sparse_garnet
from pgtheory.sampling.sparse_mdp import SparseTrajectorySampler

pytestmark = pytest.mark.usefixtures("one_torch_thread")
ALPHA = 1e-4


def small(S=3, A=2, k=2):
    sup = torch.tensor([[[0, 1], [1, 2]], [[2, 0], [1, 1]], [[0, 2], [2, 1]]])[:S, :A, :k]
    p = torch.tensor([[[0.5, 0.5], [0.25, 0.75]], [[1.0, 0.0], [0.4, 0.6]], [[0.1, 0.9], [0.3, 0.7]]], dtype=torch.float64)
    return sup, p[:S, :A, :k]


def test_hand_built_sparse_mdp_densifies_to_the_expected_matrix():
    sup, p = small()
    m = SparseTabularMDP(sup, p, torch.zeros(3, 2), 0.9, torch.full((3,), 1 / 3, dtype=torch.float64))
    P = m.to_dense().transitions
    assert P[0, 1].tolist() == [0.0, 0.25, 0.75] and P[1, 1].tolist() == [0.0, 1.0, 0.0]  # a repeated index is summed
    back = SparseTabularMDP.from_dense(m.to_dense())
    assert torch.equal(back.to_dense().transitions, P)


@pytest.mark.parametrize("edit, match", [
    (lambda s, p: (s, p * 1.01), r"probs: the row of \(s=0, a=0\) sums to"),
    (lambda s, p: (s.clone().fill_(3), p), "support: next-state index 3"),
    (lambda s, p: (s, torch.where(p == 0.5, torch.tensor(-0.5, dtype=torch.float64), p)), "probs: negative probability"),
    (lambda s, p: (s.double(), p), "support: expected an integer tensor"),
])
def test_bad_sparse_mdps_are_refused_by_name(edit, match):
    sup, p = edit(*small())
    with pytest.raises(ValueError, match=match):
        SparseTabularMDP(sup, p, torch.zeros(3, 2), 0.9, torch.full((3,), 1 / 3, dtype=torch.float64))


def test_bad_discount_rewards_and_initial_are_refused():
    sup, p = small()
    ok = dict(rewards=torch.zeros(3, 2), discount=0.9, initial=torch.full((3,), 1 / 3, dtype=torch.float64))
    for key, bad, match in [("discount", 1.0, "discount"), ("rewards", torch.full((3, 2), float("nan")), "rewards"),
                            ("initial", torch.tensor([1.0, 1.0, 0.0]), "initial")]:
        with pytest.raises(ValueError, match=match):
            SparseTabularMDP(sup, p, **{**ok, key: bad})


def test_sparse_garnet_rows_are_distributions_over_distinct_states():
    m = sparse_garnet(200, 3, 5, seed=1)
    srt = m.support.sort(-1).values
    assert bool((srt[..., 1:] != srt[..., :-1]).all())  # k distinct next states per (s, a)
    assert torch.allclose(m.probs.sum(-1), torch.ones(200, 3, dtype=torch.float64), atol=1e-12)
    assert m.to_dense().transitions.shape == (200, 3, 200)
    with pytest.raises(ValueError, match="branching"):
        sparse_garnet(4, 2, 5)


def test_sparse_evaluation_matches_the_dense_solve_within_its_certified_bound():
    m = sparse_garnet(40, 3, 4, discount=0.9, seed=2)
    pi = torch.softmax(torch.randn(40, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64), -1)
    ev, dense = evaluate_policy_sparse(m, pi, tol=1e-11), evaluate_policy(m.to_dense(), pi)
    err = float((ev.v - dense.v).abs().max())
    assert err <= ev.error_bound <= 1e-11 and float((ev.q - dense.q).abs().max()) < 1e-10
    assert abs(ev.objective - float(dense.objective)) < 1e-10
    P = sparse_policy_matrix(m, pi).to_dense()
    assert torch.allclose(P, torch.einsum("sa,sat->st", pi, m.to_dense().transitions), atol=1e-14)
    with pytest.raises(ValueError, match="max_iterations"):
        evaluate_policy_sparse(m, pi, tol=1e-12, max_iterations=3)
    with pytest.raises(ValueError, match="pi: expected shape"):
        evaluate_policy_sparse(m, pi[:5])


def _step_state_counts(traj, S, T):
    out = np.zeros((T, S))
    for t in range(T):
        np.add.at(out[t], traj.states[traj.step_slice(t)].numpy(), 1)
    return out


def _exact_step_laws(mdp, pi, T):
    P = torch.einsum("sa,sat->st", pi, mdp.to_dense().transitions)
    d, laws = mdp.initial.clone(), []
    for _ in range(T):
        laws.append(d.numpy().copy())
        d = d @ P
    return np.array(laws)


@pytest.mark.statistical(false_failure_rate=ALPHA)
def test_sampled_state_laws_match_the_exact_ones_and_a_wrong_mdp_is_rejected():
    """Per-step state frequencies vs ρP_π^t (chi-square, α = 1e-4); twin: the same samples against a mis-wired MDP."""
    S, A, T, n = 12, 3, 4, 40_000
    m = sparse_garnet(S, A, 3, discount=0.9, seed=3)
    pi = torch.softmax(torch.randn(S, A, generator=torch.Generator().manual_seed(1), dtype=torch.float64), -1)
    traj = SparseTrajectorySampler(m, pi, termination="truncate", horizon=T).sample(n, torch.Generator().manual_seed(2))
    counts = _step_state_counts(traj, S, T)
    laws = _exact_step_laws(m, pi, T)
    chi = ((counts - n * laws) ** 2 / (n * laws)).sum()
    assert stats.chi2.sf(chi, T * (S - 1)) > ALPHA
    wrong = SparseTabularMDP(m.support.roll(1, dims=0), m.probs, m.rewards, m.discount, m.initial)
    wlaws = _exact_step_laws(wrong, pi, T)
    chi_w = ((counts - n * wlaws) ** 2 / (n * wlaws)).sum()
    assert stats.chi2.sf(chi_w, T * (S - 1)) < ALPHA


@pytest.mark.statistical(false_failure_rate=ALPHA)
def test_geometric_returns_are_unbiased_for_J_and_feed_the_estimators():
    S, A = 15, 2
    m = sparse_garnet(S, A, 4, discount=0.8, seed=4)
    pol = TabularSoftmax(S, A)
    th = pol.random_params(generator=torch.Generator().manual_seed(5))
    traj = SparseTrajectorySampler(m, pol.probs(th)).sample(600_000, torch.Generator().manual_seed(6))
    R = traj.discounted_returns()
    J = evaluate_policy_sparse(m, pol.probs(th)).objective
    z = (float(R.mean()) - J) / (float(R.std()) / len(R) ** 0.5)
    assert abs(z) < stats.norm.isf(ALPHA / 2)
    z_twin = (float(R.mean()) - 1.01 * J) / (float(R.std()) / len(R) ** 0.5)  # n sized so a 1% bias is caught
    assert abs(z_twin) > stats.norm.isf(ALPHA / 2)
    g = policy_gradient_estimates(traj, pol, th, "gpomdp")
    assert g.shape == (600_000, S, A) and bool(torch.isfinite(g).all())


def test_dense_and_sparse_forms_of_one_garnet_give_the_same_exact_values():
    dense = garnet(10, 3, 3, discount=0.9, seed=7)
    sp = SparseTabularMDP.from_dense(dense)
    pi = torch.full((10, 3), 1 / 3, dtype=torch.float64)
    assert abs(evaluate_policy_sparse(sp, pi).objective - float(evaluate_policy(dense, pi).objective)) < 1e-9


def test_large_sparse_mdp_tables_stay_sparse():
    S, A, k = 20_000, 4, 10
    m = sparse_garnet(S, A, k, seed=8)
    smp = SparseTrajectorySampler(m, torch.full((S, A), 1 / A, dtype=torch.float64), termination="truncate", horizon=5)
    assert smp.table.prob.shape == (S, A * k) and smp.next_states.shape == (S * A, k)  # over the support only
    traj = smp.sample(1000, torch.Generator().manual_seed(9))
    assert traj.n_transitions == 5000 and int(traj.states.max()) < S
    with pytest.raises(ValueError, match="to_dense"):
        m.to_dense()  # 1.6e9 entries: refused, not attempted
