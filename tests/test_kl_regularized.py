"""KL-regularised surrogates (RPG): documented coefficients, and exact expected gradients by enumeration.

Exact (no sampling): E_{y∼π_old}[c(y)∇log π_θ(y)] is summed over every response of the toy LLM and compared
with ∇[J − βKL] to 1e-10; the twin drops the importance weight off-policy and must miss by more than 1e-3.
"""
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from pgtheory.estimators import KL_REGULARIZED_SURROGATES, surrogate_score_coefficient
from pgtheory.exact import sequence_kl, sequence_objective
from pgtheory.policies import TabularSequencePolicy
from pgtheory.problems import toy_sequence_task

BETA = 0.3
TASK = toy_sequence_task(3, 3, 1, seed=2)
POL = TabularSequencePolicy(TASK)


def _expected_gradient(name, th, old, ref, *, drop_weights=False):
    lp, lo, lr = (POL.sequence_log_probs(t)[0] for t in (th, old, ref))
    c = surrogate_score_coefficient(name, lp, lp if drop_weights else lo, lr, TASK.rewards[0], BETA)
    jac = torch.func.jacrev(lambda t: POL.sequence_log_probs(t)[0])(th)  # [N, M, P, V]
    return torch.einsum("n,n...->...", lo.exp() * c, jac)


def _intended(th, ref, direction):
    t = th.clone().requires_grad_(True)
    kl = sequence_kl(POL, t, ref)[0] if direction == "reverse" else sequence_kl(POL, ref, t)[0]
    return torch.autograd.grad(sequence_objective(POL, t) - BETA * kl, t)[0]


def test_documented_coefficients():
    lp, lo, lr, r = (torch.tensor([x], dtype=torch.float64) for x in (-1.0, -1.5, -0.5, 1.0))
    w, ref_old, ref_pi = torch.exp(lp - lo), torch.exp(lr - lo), torch.exp(lr - lp)
    want = {
        "reverse_differentiable": w * (r - BETA * (lp - lr) - BETA), "reverse_reinforce": w * (r - BETA * (lp - lr)),
        "reverse_ukl": w * (r - BETA * (lp - lr)), "forward_differentiable": w * r + BETA * ref_old,
        "forward_reinforce": w * (r - BETA + BETA * ref_pi), "forward_ukl": w * (r - BETA) + BETA * ref_old,
    }
    for name, c in want.items():
        assert torch.allclose(surrogate_score_coefficient(name, lp, lo, lr, r, BETA), c)


@given(st.integers(0, 2**31 - 1), st.sampled_from(KL_REGULARIZED_SURROGATES.names()))
def test_expected_gradient_is_the_intended_one_off_policy(seed, name):
    g = torch.Generator().manual_seed(seed)
    th = POL.random_params(generator=g)
    ref, old = th + POL.random_params(generator=g), th + POL.random_params(generator=g)
    want = _intended(th, ref, KL_REGULARIZED_SURROGATES.get(name).regulariser)
    assert torch.allclose(_expected_gradient(name, th, old, ref), want, atol=1e-10)
    assert torch.allclose(_expected_gradient(name, th, th, ref), want, atol=1e-10)  # on-policy
    # twin: the on-policy formula on off-policy samples (no importance weight) is biased
    assert float((_expected_gradient(name, th, old, ref, drop_weights=True) - want).abs().max()) > 1e-3


def test_bad_input():
    x = torch.zeros(3, dtype=torch.float64)
    with pytest.raises(ValueError, match="reward: expected shape"):
        surrogate_score_coefficient("reverse_reinforce", x, x, x, torch.zeros(2, dtype=torch.float64), 0.1)
    with pytest.raises(ValueError, match="beta: must be non-negative"):
        surrogate_score_coefficient("reverse_reinforce", x, x, x, x, -1.0)
    with pytest.raises(ValueError, match="unknown KL-regularised surrogate"):
        surrogate_score_coefficient("nope", x, x, x, x, 0.1)
