"""PPO surrogates: hand values, L^CLIP ≤ L^CPI pointwise, equal value and gradient at θ_old."""
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from pgtheory.estimators import SURROGATES, cpi_objective, ppo_clip_objective


def test_hand_values():
    r = torch.tensor([0.5, 1.0, 1.5, 0.5, 1.5], dtype=torch.float64)
    a = torch.tensor([1.0, 2.0, 1.0, -1.0, -1.0], dtype=torch.float64)
    # A > 0: capped at (1+ε)A when r is large, r·A when r is small; A < 0: (1−ε)A when r small, r·A when large
    assert torch.allclose(ppo_clip_objective(r, a, eps=0.2), torch.tensor([0.5, 2.0, 1.2, -0.8, -1.5], dtype=torch.float64))
    assert torch.allclose(cpi_objective(r, a), r * a)
    with pytest.raises(ValueError, match=r"eps: the clip range must lie in \(0, 1\)"):
        ppo_clip_objective(r, a, eps=1.5)
    with pytest.raises(ValueError, match="ratio, advantage: shapes .* do not broadcast"):
        cpi_objective(r, a[:2])
    assert SURROGATES.get("ppo_clip") is ppo_clip_objective


@given(st.integers(0, 2**31 - 1), st.floats(0.01, 0.9))
def test_clip_is_a_pointwise_lower_bound_with_equal_first_order_at_one(seed, eps):
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(200, generator=g, dtype=torch.float64)
    r = torch.exp(torch.randn(200, generator=g, dtype=torch.float64))
    assert bool((ppo_clip_objective(r, a, eps=eps) <= cpi_objective(r, a) + 1e-15).all())
    # at r = 1: same value and same derivative in r (hence the same gradient in θ by the chain rule)
    one = torch.ones(200, dtype=torch.float64, requires_grad=True)
    (g_clip,) = torch.autograd.grad(ppo_clip_objective(one, a, eps=eps).sum(), one)
    (g_cpi,) = torch.autograd.grad(cpi_objective(one, a).sum(), one)
    assert torch.equal(ppo_clip_objective(one, a, eps=eps).detach(), a) and torch.allclose(g_clip, g_cpi)
