"""Linear-Gaussian latent model and IWAE bounds: exact evidence, the optimal encoder's zero-variance weights (twin:
a perturbed encoder's bound is strictly lower), monotonicity of E IWAE_K in K, per-replicate gradients."""
import math

import pytest
import torch

from pgtheory.estimators import iwae_bound, iwae_gradients
from pgtheory.problems import GaussianLatentModel


def _setup(D=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    m = GaussianLatentModel(torch.randn(D, generator=g, dtype=torch.float64))
    x = m.mu + math.sqrt(2) * torch.randn(D, generator=g, dtype=torch.float64)
    return m, x, g


def test_optimal_encoder_gives_exact_evidence_for_every_sample():
    m, x, g = _setup()
    A, b, s = m.optimal_encoder()
    eps = torch.randn(50, 1, 3, 5, generator=g, dtype=torch.float64)
    assert torch.allclose(iwae_bound(m, x, eps, A, b, s), m.log_evidence(x).expand(50), atol=1e-12)
    worse = iwae_bound(m, x, eps, A, b + 0.3, s)  # twin: a wrong encoder is a strict lower bound on average
    assert float(worse.mean()) < float(m.log_evidence(x)) - 1e-3


def test_expected_bound_increases_with_k():
    m, x, g = _setup()
    A, b, s = m.optimal_encoder()
    vals = [float(iwae_bound(m, x, torch.randn(20_000, 1, K, 5, generator=g, dtype=torch.float64), A + 0.2, b + 0.2, s).mean())
            for K in (1, 4, 16)]
    assert vals[0] < vals[1] < vals[2] < float(m.log_evidence(x))


def test_per_replicate_gradients_match_autograd_of_one_replicate():
    m, x, _ = _setup()
    A, b, s = m.optimal_encoder()
    gm, gb = iwae_gradients(m, x, A + 0.1, b, s, n_replicates=3, n_inner=4, generator=torch.Generator().manual_seed(1))
    eps = torch.randn(3, 1, 4, 5, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    mu = m.mu.clone().requires_grad_(True)
    (one,) = torch.autograd.grad(iwae_bound(m, x, eps[1:2], A + 0.1, b, s, mu=mu).sum(), mu)
    assert torch.allclose(gm[1], one)
    assert gb.shape == (3, 5)
    with pytest.raises(ValueError, match="mu: expected a non-empty vector"):
        GaussianLatentModel(torch.zeros(2, 2))
