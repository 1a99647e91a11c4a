"""Group advantages and the pairwise-consistency surrogate: hand values; exact expectations by enumerating every
group (no sampling); the consistency-gradient identity for arbitrary behaviour distributions (hypothesis)."""
import itertools

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from pgtheory.estimators import GROUP_ADVANTAGES, group_advantages, pairwise_consistency_loss

T = lambda *x: torch.tensor(x, dtype=torch.float64)  # noqa: E731


def test_hand_values():
    r = T(1.0, 0.0, 0.0, 1.0)
    assert torch.allclose(group_advantages(r, "mean"), T(0.5, -0.5, -0.5, 0.5))
    assert torch.allclose(group_advantages(r, "rloo"), T(1 - 1 / 3, -2 / 3, -2 / 3, 1 - 1 / 3))
    assert torch.allclose(group_advantages(r, "grpo", eps=0.0, std="population"), T(1.0, -1.0, -1.0, 1.0))
    assert torch.allclose(group_advantages(r, "grpo", eps=0.0), T(1.0, -1.0, -1.0, 1.0) * (3 / 4) ** 0.5)  # Bessel (default)
    assert torch.allclose(pairwise_consistency_loss(T(1.0, 0.0), T(0.0, 0.0), 0.5), T(0.25)[0])
    with pytest.raises(ValueError, match="rewards: expected a group axis of at least 2"):
        group_advantages(T(1.0), "rloo")
    with pytest.raises(ValueError, match="rewards: contains NaN"):
        group_advantages(T(1.0, float("nan")), "mean")


def _exact_expected_update(kind, mu, r, pi, G):
    """Σ over all K^G groups of P(group)·(1/G)Σ_i A_i (e_{y_i} − π): the exact expectation (deterministic rewards)."""
    K = len(mu)
    eye = torch.eye(K, dtype=torch.float64)
    total = torch.zeros(K, dtype=torch.float64)
    for ys in itertools.product(range(K), repeat=G):
        y = torch.tensor(ys)
        adv = group_advantages(r[y], kind)
        total += mu[y].prod() * (adv[:, None] * (eye[y] - pi)).mean(0)
    return total


@pytest.mark.parametrize("G", [2, 3])
def test_rloo_exactly_unbiased_mean_baseline_shrinks_by_one_minus_one_over_g(G):
    mu, r, pi = T(0.5, 0.3, 0.2), T(1.0, 0.0, 0.4), T(0.2, 0.2, 0.6)
    cov = mu * (r - (mu * r).sum())
    assert torch.allclose(_exact_expected_update("rloo", mu, r, pi, G), cov, atol=1e-12)
    assert torch.allclose(_exact_expected_update("mean", mu, r, pi, G), (1 - 1 / G) * cov, atol=1e-12)
    # twin: the mean baseline is not unbiased for Cov
    assert float((_exact_expected_update("mean", mu, r, pi, G) - cov).abs().max()) > 1e-3


@given(st.integers(2, 8), st.integers(0, 2**31 - 1), st.floats(0.05, 2.0))
def test_consistency_gradient_is_group_reinforce_for_any_behaviour(G, seed, tau):
    g = torch.Generator().manual_seed(seed)
    K = 5
    theta_old = torch.randn(K, generator=g, dtype=torch.float64)
    y = torch.randint(0, K, (G,), generator=g)  # any data distribution
    r = torch.rand(G, generator=g, dtype=torch.float64)
    th = theta_old.clone().requires_grad_(True)
    lr = torch.log_softmax(th, -1)[y] - torch.log_softmax(theta_old, -1)[y]
    (grad,) = torch.autograd.grad(pairwise_consistency_loss(r, lr, tau), th)
    eye = torch.eye(K, dtype=torch.float64)
    reinforce = (2 * tau / G) * ((r - r.mean())[:, None] * (eye[y] - torch.softmax(theta_old, -1))).sum(0)
    assert torch.allclose(-grad, reinforce, atol=1e-12)
    # twin: away from θ_old the identity does not hold
    th2 = (theta_old + torch.randn(K, generator=g, dtype=torch.float64)).requires_grad_(True)
    lr2 = torch.log_softmax(th2, -1)[y] - torch.log_softmax(theta_old, -1)[y]
    (grad2,) = torch.autograd.grad(pairwise_consistency_loss(r, lr2, tau), th2)
    reinforce2 = (2 * tau / G) * ((r - r.mean())[:, None] * (eye[y] - torch.softmax(th2.detach(), -1))).sum(0)
    if len(set(y.tolist())) > 1 and float((r - r.mean()).abs().max()) > 1e-3:
        assert not torch.allclose(-grad2, reinforce2, atol=1e-9)


def test_registry_names():
    assert set(GROUP_ADVANTAGES.names()) >= {"mean", "rloo", "grpo"}
