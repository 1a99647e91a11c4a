"""L11's equivalence is planned: the exact s.d. of k3 picks the spread, equivalence_sample_size the fresh sample."""
import math

import numpy as np
import pytest
import torch

from pgtheory.stats import bias_test, equivalence_sample_size


def test_equivalence_sample_size_hand_computed_and_errors():
    # ((z_0.975 + z_0.995)·σ/margin)² = ((1.959964 + 2.575829)·10)² = 2057.34 → 2058
    assert equivalence_sample_size(1.0, 0.1, confidence_level=0.95, power=0.99) == 2058
    # a known bias eats into the margin: ((4.535793)·1/0.05)² = 8229.4 → 8230
    assert equivalence_sample_size(1.0, 0.1, confidence_level=0.95, power=0.99, bias=0.05) == 8230
    assert equivalence_sample_size(0.0, 0.1, confidence_level=0.95) == 2
    # 21 coordinates: z at 1 − 0.05/42 (3.0381) and at 1 − 0.01/42 (3.4938): ((6.5319)·10)² = 4266.5 → 4267
    assert equivalence_sample_size(1.0, 0.1, confidence_level=0.95, power=0.99, n_tests=21) == 4267
    with pytest.raises(ValueError, match="n_tests"):
        equivalence_sample_size(1.0, 0.1, confidence_level=0.95, n_tests=0)
    for kwargs, arg in (({"confidence_level": 1.0}, "confidence_level"), ({"confidence_level": 0.9, "bias": 0.2}, "margin")):
        with pytest.raises(ValueError, match=arg):
            equivalence_sample_size(1.0, 0.1, **kwargs)


def test_planned_sample_bounds_an_unbiased_mean_inside_the_margin_at_the_planned_rate():
    """200 replicates at the planned n (power 0.99): the bias bound is inside the margin in ≥ 190 of them (expected
    198; P(≤ 189) = 6.9e-6 under Binomial(200, 0.99)), and a mean biased by 1.5 margins is never inside (twin: the
    bound is inside only if x̄ falls 6 standard errors below its mean, ~3e-10 per replicate)."""
    n = equivalence_sample_size(1.0, 0.1, confidence_level=0.999, power=0.99)
    rng = np.random.default_rng(11)
    inside = sum(bias_test(torch.from_numpy(rng.standard_normal((n, 1))), torch.zeros(1)).bias_bound(0.999) <= 0.1
                 for _ in range(200))
    assert inside >= 190
    biased = [bias_test(torch.from_numpy(rng.standard_normal((n, 1)) + 0.15), torch.zeros(1)).bias_bound(0.999) <= 0.1
              for _ in range(50)]
    assert not any(biased)


def test_k3_sd_is_the_exact_standard_deviation():
    from pgtheory.claims.library.l11_kl_estimators import _k3_sample, _k3_sd
    from pgtheory.policies import TabularSequencePolicy
    from pgtheory.problems import toy_sequence_task

    pol = TabularSequencePolicy(toy_sequence_task(3, 3, 1, seed=3))
    g = torch.Generator().manual_seed(3)
    th, delta = pol.random_params(generator=g), pol.random_params(generator=g)
    sd = _k3_sd(pol, th, th + 0.5 * delta)
    x = _k3_sample(pol, th, th + 0.5 * delta, 400_000, torch.Generator().manual_seed(4), chunk=150_000)
    assert x.shape == (400_000,)
    # this instance's k3 has kurtosis 3.18, so the sample s.d. of 4e5 draws has relative s.e. √((3.18 − 1)/(4·4e5)) ≈
    # 0.12%: 3% is 25 standard errors (false-failure rate far below 1e-6)
    assert math.isclose(float(x.std()), sd, rel_tol=0.03)
