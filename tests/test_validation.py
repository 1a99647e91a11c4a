"""Bad input raises ValueError/TypeError naming the argument."""
import numpy as np
import pytest
import torch

from pgtheory.exact import evaluate_policy, pass_at_k, policy_gradient, soft_value_iteration
from pgtheory.policies import LogLinearSoftmax, TabularSequencePolicy, TabularSoftmax
from pgtheory.problems import Bandit, MultiPromptBandit, SequenceTask, TabularMDP, garnet, toy_sequence_task


def _ok():
    P = np.full((2, 2, 2), 0.5)
    return P, np.zeros((2, 2)), 0.9, np.array([0.5, 0.5])


def test_valid_mdp_constructs():
    m = TabularMDP(*_ok())
    assert (m.n_states, m.n_actions, m.discount) == (2, 2, 0.9)
    assert m.transitions.dtype == torch.float64


def test_transition_row_not_summing_to_one():
    P, r, g, rho = _ok()
    P[1, 0] = [0.5, 0.4]
    with pytest.raises(ValueError, match=r"transitions: rows must sum to 1.*\(1, 0\).*0\.9"):
        TabularMDP(P, r, g, rho)


def test_negative_probability():
    P, r, g, rho = _ok()
    P[0, 1] = [1.5, -0.5]
    with pytest.raises(ValueError, match="transitions: negative probability"):
        TabularMDP(P, r, g, rho)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nonfinite_rewards(bad):
    P, r, g, rho = _ok()
    r[1, 1] = bad
    with pytest.raises(ValueError, match=r"rewards: contains NaN or inf \(first at index \(1, 1\)\)"):
        TabularMDP(P, r, g, rho)


@pytest.mark.parametrize("gamma", [-0.1, 1.0, 1.5, float("nan")])
def test_discount_out_of_range(gamma):
    P, r, _, rho = _ok()
    with pytest.raises(ValueError, match=r"discount: must lie in \[0, 1\)"):
        TabularMDP(P, r, gamma, rho)


def test_mismatched_shapes():
    P, r, g, rho = _ok()
    with pytest.raises(ValueError, match="rewards: expected shape"):
        TabularMDP(P, np.zeros((2, 3)), g, rho)
    with pytest.raises(ValueError, match="initial: expected shape"):
        TabularMDP(P, r, g, np.ones(3) / 3)
    with pytest.raises(ValueError, match="transitions: expected shape"):
        TabularMDP(np.full((2, 2, 3), 1 / 3), r, g, rho)
    with pytest.raises(ValueError, match="initial: rows must sum to 1"):
        TabularMDP(P, r, g, np.array([0.5, 0.6]))
    with pytest.raises(TypeError, match="transitions"):
        TabularMDP("not an array", r, g, rho)


def test_policy_shape_and_probability_errors():
    m = garnet(3, 2, 2)
    with pytest.raises(ValueError, match=r"pi: expected shape \[\.\.\., S, A\]"):
        evaluate_policy(m, torch.full((3, 3), 1 / 3))
    with pytest.raises(ValueError, match="pi: rows must sum to 1"):
        evaluate_policy(m, torch.full((3, 2), 0.4))
    with pytest.raises(ValueError, match="theta: expected shape"):
        policy_gradient(m, TabularSoftmax(3, 2), torch.zeros(2, 3))
    with pytest.raises(ValueError, match="policy: built for S=4"):
        policy_gradient(m, TabularSoftmax(4, 2), torch.zeros(4, 2))
    with pytest.raises(ValueError, match="theta: contains NaN"):
        policy_gradient(m, TabularSoftmax(3, 2), torch.tensor([[0.0, float("nan")]] * 3))
    with pytest.raises(ValueError, match="features: expected shape"):
        LogLinearSoftmax(np.zeros((3, 2)))


def test_sequence_task_errors():
    with pytest.raises(ValueError, match=r"vocab_size: need EOS.*empty vocabulary"):
        SequenceTask(0, 3, 1, lambda q, y: 0.0)
    with pytest.raises(ValueError, match="vocab_size: need EOS"):
        SequenceTask(1, 3, 1, lambda q, y: 0.0)
    with pytest.raises(ValueError, match="eos: must be a token id"):
        SequenceTask(3, 3, 1, lambda q, y: 0.0, eos=5)
    with pytest.raises(ValueError, match="max_length: must be >= 1"):
        SequenceTask(3, 0, 1, lambda q, y: 0.0)
    with pytest.raises(ValueError, match="reward: contains NaN"):
        SequenceTask(3, 2, 1, lambda q, y: float("nan"))
    with pytest.raises(ValueError, match=r"reward: expected a callable or a tensor of shape \[M, N\]"):
        SequenceTask(3, 2, 1, torch.zeros(1, 2))
    task = toy_sequence_task(3, 3, 2)
    pol = TabularSequencePolicy(task)
    with pytest.raises(ValueError, match="theta: expected shape"):
        pol.check_params(torch.zeros(2, 3))
    with pytest.raises(ValueError, match="k: must be >= 1"):
        pass_at_k(pol, pol.random_params(), 0)
    with pytest.raises(ValueError, match="success probability is undefined"):
        pass_at_k(TabularSequencePolicy(SequenceTask(3, 2, 1, lambda q, y: 0.5 * len(y))), torch.zeros(1, 3, 3), 2)


def test_bandit_errors():
    with pytest.raises(ValueError, match="means: Bernoulli means must lie in"):
        Bandit([0.2, 1.2])
    with pytest.raises(ValueError, match="kind: expected"):
        Bandit([0.2], kind="poisson")
    with pytest.raises(ValueError, match="means: expected shape"):
        Bandit([])
    with pytest.raises(ValueError, match="std: must be non-negative"):
        Bandit([0.0, 1.0], kind="gaussian", std=-1.0)
    with pytest.raises(ValueError, match="correct: entries must be boolean"):
        MultiPromptBandit([[0, 2]])
    with pytest.raises(ValueError, match="prompt_weights: rows must sum to 1"):
        MultiPromptBandit([[0, 1], [1, 0]], prompt_weights=[0.3, 0.3])


def test_solver_and_generator_errors():
    with pytest.raises(ValueError, match="temperature: must be a positive"):
        soft_value_iteration(garnet(3, 2, 2), 0.0)
    with pytest.raises(ValueError, match="branching: must be <= n_states"):
        garnet(3, 2, 5)
    with pytest.raises(TypeError, match="n_states: expected an integer"):
        garnet(3.5, 2, 2)
    with pytest.raises(ValueError, match="reference: must have full support"):
        soft_value_iteration(garnet(3, 2, 2), 1.0, reference=torch.tensor([[1.0, 0.0]] * 3))
