"""k1/k2/k3 KL estimators: hand values; value and as-loss gradient identities on the enumerable toy LLM, with twins.

Statistical assertions use the Bonferroni z-test at family level ALPHA = 1e-6 (false-failure rate ≤ 1e-6 each,
normal approximation, n = 60,000 responses); each identity's twin is the same test against a wrong target,
which must reject (its exact difference is asserted to be detectable with power ≥ 0.99 first).
"""
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from pgtheory.estimators import KL_ESTIMATORS, kl_estimate, kl_loss_score_coefficient, sequence_score_sum
from pgtheory.exact import sequence_kl
from pgtheory.policies import TabularSequencePolicy
from pgtheory.problems import toy_sequence_task
from pgtheory.sampling import sample_sequence_groups
from pgtheory.stats import bias_test, detection_power

ALPHA = 1e-6
N = 60_000


def test_hand_values():
    lr = torch.tensor([0.0, math.log(2.0), -1.0], dtype=torch.float64)
    assert torch.allclose(kl_estimate(lr, "k1"), -lr)
    assert torch.allclose(kl_estimate(lr, "k2"), 0.5 * lr**2)
    assert torch.allclose(kl_estimate(lr, "k3"), torch.tensor([0.0, 2 - 1 - math.log(2.0), math.exp(-1) - 1 + 1], dtype=torch.float64))
    assert bool((kl_estimate(torch.linspace(-20, 5, 101, dtype=torch.float64), "k3") >= 0).all())  # k3 ≥ 0 always
    assert torch.allclose(kl_loss_score_coefficient(lr, "k3"), 1 - lr.exp())
    assert torch.allclose(kl_estimate(lr, "k1", weights=torch.full((3,), 2.0, dtype=torch.float64)), -2 * lr)
    assert {"k1", "k2", "k3"} <= set(KL_ESTIMATORS.names())  # plus the deployed variants (tests/test_kl_deployed.py)
    with pytest.raises(ValueError, match="kind: unknown KL estimator 'k4'"):
        kl_estimate(lr, "k4")
    with pytest.raises(ValueError, match="log_ratio: contains NaN"):
        kl_estimate(torch.tensor([float("nan")]), "k1")


def _setup(seed: int):
    task = toy_sequence_task(3, 3, 1, seed=seed)
    pol = TabularSequencePolicy(task)
    g = torch.Generator().manual_seed(seed)
    th, ref = pol.random_params(generator=g), pol.random_params(generator=g)
    groups = sample_sequence_groups(pol, ref, N, 1, torch.Generator().manual_seed(seed + 1), behaviour_theta=th)  # y ~ π_θ
    token_lr = groups.token_log_target - groups.token_log_behaviour  # log π_ref − log π_θ per token, [N, 1, L]
    return pol, th, ref, groups, token_lr


def _grad(pol, fn, th):
    t = th.clone().requires_grad_(True)
    return torch.autograd.grad(fn(t), t)[0]


@settings(max_examples=4)
@given(st.integers(0, 2**20))
def test_values_k1_k3_unbiased_k2_biased(seed):
    pol, th, ref, groups, tlr = _setup(seed)
    kl = sequence_kl(pol, th, ref)[0]
    lr = tlr.sum(-1)[:, 0]
    for kind in ("k1", "k3"):
        assert bias_test(kl_estimate(lr, kind)[:, None], kl[None]).pvalue > ALPHA
    # per-token sums: k1 trivially, k3 by the chain rule of KL
    assert bias_test(kl_estimate(tlr, "k3").sum(-1)[:, :1], kl[None]).pvalue > ALPHA
    # twin: k2 is biased for the KL
    v2 = kl_estimate(lr, "k2")[:, None]
    assert detection_power((v2.mean(0) - kl).numpy(), v2.std(0).numpy(), N, alpha=ALPHA) >= 0.99
    assert bias_test(v2, kl[None]).pvalue < ALPHA


@settings(max_examples=4)
@given(st.integers(0, 2**20))
def test_gradients_as_losses(seed):
    """E∇k1 = 0, E∇k2 = ∇KL(π_θ‖π_ref), E∇k3 = ∇KL(π_ref‖π_θ); each rejects the other targets (twins)."""
    pol, th, ref, groups, tlr = _setup(seed)
    lr = tlr.sum(-1)
    targets = {
        "zero": torch.zeros_like(th),
        "reverse": _grad(pol, lambda t: sequence_kl(pol, t, ref)[0], th),
        "forward": _grad(pol, lambda t: sequence_kl(pol, ref, t)[0], th),
    }
    expected = {"k1": "zero", "k2": "reverse", "k3": "forward"}
    for kind, right in expected.items():
        est = sequence_score_sum(pol, th, groups, kl_loss_score_coefficient(lr, kind)).reshape(N, -1)
        assert bias_test(est, targets[right]).pvalue > ALPHA, kind
        powered = 0
        for wrong in sorted(set(targets) - {right}):
            diff = (targets[right] - targets[wrong]).reshape(-1)
            if detection_power(diff.numpy(), est.std(0).numpy(), N, alpha=ALPHA) >= 0.99:
                powered += 1
                assert bias_test(est, targets[wrong]).pvalue < ALPHA, (kind, wrong)
        assert powered >= 1, f"{kind}: no wrong target is detectable at n = {N}; the twin would be vacuous"


def test_per_token_sums_of_k1_and_k3_are_exactly_unbiased_for_the_sequence_kl():
    """Chain rule of KL: E_{y∼π}[Σ_t k(ℓ_t)] = KL(π‖π_ref) for k1 and k3 (exact, by enumeration); twin: k2 is not."""
    task = toy_sequence_task(3, 3, 1, seed=1)
    pol = TabularSequencePolicy(task)
    g = torch.Generator().manual_seed(4)
    th, ref = pol.random_params(generator=g), pol.random_params(generator=g)
    tok = pol.sequence_token_log_probs(ref)[0] - pol.sequence_token_log_probs(th)[0]  # ℓ_t, 0 on padding
    p = pol.sequence_log_probs(th)[0].exp()
    kl = float(sequence_kl(pol, th, ref)[0])
    for kind in ("k1", "k3"):
        per_token = (kl_estimate(tok, kind) * task.mask).sum(-1)
        assert float((p * per_token).sum()) == pytest.approx(kl, abs=1e-12)
    assert abs(float((p * (kl_estimate(tok, "k2") * task.mask).sum(-1)).sum()) - kl) > 1e-3
