"""Group-relative LLM estimators: advantages (BNPO special cases, pass@k), aggregations, token surrogates (GMPO = GSPO
unclipped, θ_old identities), P3O invariance — exact or hypothesis property tests, each with a twin that must fail on a
perturbed formula. No statistical assertions here (all exact)."""
import itertools
import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from pgtheory.estimators import PSPO_DEFAULT_ALPHA
from pgtheory.estimators import (LOSS_AGGREGATIONS, TOKEN_SURROGATES, aggregation_weights, group_advantages, sequence_score_sum,
                                 token_surrogate_coefficients, token_surrogate_values)
from pgtheory.exact import enumerate_groups
from pgtheory.policies import TabularSequencePolicy
from pgtheory.problems import toy_sequence_task
from pgtheory.sampling import sample_sequence_groups
from pgtheory.stats import paired_difference

T = lambda *x: torch.tensor(x, dtype=torch.float64)  # noqa: E731


@st.composite
def token_batches(draw):
    seed = draw(st.integers(0, 2**31 - 1))
    g = torch.Generator().manual_seed(seed)
    B, G, L = draw(st.integers(1, 3)), draw(st.integers(2, 5)), draw(st.integers(1, 5))
    lp = -torch.rand(B, G, L, generator=g, dtype=torch.float64) * 2
    lo = lp + draw(st.floats(0.01, 1.0)) * torch.randn(B, G, L, generator=g, dtype=torch.float64)
    mask = torch.rand(B, G, L, generator=g) < 0.7
    mask[..., 0] = True
    adv = torch.randn(B, G, generator=g, dtype=torch.float64)
    return lp, lo, adv, mask


def test_aggregation_hand_values():
    mask = torch.tensor([[True, True, False], [True, False, False]])  # G = 2, lengths 2 and 1, L_max = 3
    w = {k: aggregation_weights(mask, k) for k in LOSS_AGGREGATIONS}
    assert torch.allclose(w["token_mean"][0], T(1 / 3, 1 / 3, 0))
    assert torch.allclose(w["seq_mean_token_mean"], T(0.25, 0.25, 0, 0.5, 0, 0).view(2, 3))
    assert torch.allclose(w["seq_mean_token_sum"], T(0.5, 0.5, 0, 0.5, 0, 0).view(2, 3))
    assert torch.allclose(w["constant"], T(1 / 6, 1 / 6, 0, 1 / 6, 0, 0).view(2, 3))
    x = T(0.5, 1.0) / 1.5  # ΔL: L^{-1} normalised
    assert torch.allclose(w["delta_l"], torch.stack([x[0] * T(1, 1, 0), x[1] * T(1, 0, 0)]))
    with pytest.raises(ValueError, match="mask: every response needs at least one token"):
        aggregation_weights(torch.zeros(2, 3, dtype=torch.bool))


def test_advantage_hand_values_and_errors():
    r = T(1.0, 0.0, 0.0, 1.0)
    assert torch.allclose(group_advantages(torch.stack([r, T(1, 1, 1, 0)]), "group_mean_batch_std", eps=0.0)[0],
                          (r - 0.5) / torch.stack([r, T(1, 1, 1, 0)]).std(unbiased=True))
    with pytest.raises(ValueError, match="pass@k advantage needs binary"):
        group_advantages(T(0.5, 1.0, 0.0), "pass_at_k", k=1)
    with pytest.raises(ValueError, match="k: must be an integer"):
        group_advantages(T(1.0, 0.0, 0.0), "pass_at_k", k=3)


@pytest.mark.parametrize("n,k", [(3, 2), (4, 3), (5, 2), (4, 1)])
def test_pass_at_k_advantage_is_exactly_unbiased_with_twin(n, k):
    pi, R = T(0.3, 0.5, 0.2), T(1.0, 0.0, 0.0)
    idx, pg = enumerate_groups(pi, n)
    score = torch.eye(3, dtype=torch.float64)[idx] - pi
    expected = lambda A: (pg[:, None] * (A[..., None] * score).mean(1)).sum(0)  # noqa: E731
    p = 0.3
    truth = k * (1 - p) ** (k - 1) * pi * (R - p)  # ∇_z pass@k
    assert torch.allclose(expected(group_advantages(R[idx], "pass_at_k", k=k)), truth, atol=1e-13)
    if k > 1:  # twin: the plain RLOO advantage estimates ∇p, not ∇pass@k
        assert float((expected(group_advantages(R[idx], "rloo")) - truth).abs().max()) > 1e-3


@given(st.floats(0.01, 0.99))
def test_bnpo_special_cases_with_twin(p):
    R = T(1.0, 0.0, 1.0)
    pp = T(p)
    assert torch.allclose(group_advantages(R, "bnpo", alpha=1.0, beta=1.0, p=pp), R - p)
    grpo_like = (math.pi / 8) * (R - p) / math.sqrt(p * (1 - p))
    assert torch.allclose(group_advantages(R, "bnpo", alpha=1.5, beta=1.5, p=pp), grpo_like)
    assert not torch.allclose(group_advantages(R, "bnpo", alpha=2.0, beta=2.0, p=pp), grpo_like)  # twin


@given(token_batches())
def test_unclipped_gmpo_equals_unclipped_gspo_and_clipping_differs(batch):
    lp, lo, adv, mask = batch
    w = aggregation_weights(mask, "seq_mean_token_mean")
    for f in (token_surrogate_values, lambda *a, **h: token_surrogate_coefficients(*a, w, **h)):
        a = f("gmpo", lp, lo, adv, mask, eps_log=1e9)
        b = f("gspo", lp, lo, adv, mask, eps_seq=1e9)
        assert torch.allclose(a, b, atol=1e-12)
    # twin: a perturbed GMPO that averages ratios arithmetically (A·mean_t r_t) is not GSPO once token ratios vary
    lr = (lp - lo) * mask
    n = mask.sum(-1)
    am = adv * (torch.exp(lr) * mask).sum(-1) / n
    gm = adv * torch.exp(lr.sum(-1) / n)
    spread = (lr.masked_fill(~mask, -1e9).amax(-1) - lr.masked_fill(~mask, 1e9).amin(-1))
    if bool(((spread > 1e-2) & (adv.abs() > 1e-2)).any()):
        assert not torch.allclose(am, gm)


@given(token_batches())
def test_every_surrogate_is_the_policy_gradient_at_theta_old(batch):
    lp, _, adv, mask = batch
    w = aggregation_weights(mask, "seq_mean_token_mean")
    pg = (w * adv[..., None]) * mask
    for kind in TOKEN_SURROGATES:
        if kind in ("gspo", "gmpo"):  # sequence-level: A_i·mean_t — each token of response i gets A_i/|y_i| of the weight
            want = adv[..., None] / mask.sum(-1, keepdim=True) * w.sum(-1, keepdim=True) * mask
        elif kind in ("kl_cov", "kl_cov_ppo_clip"):  # |lp − lo| has a kink at r = 1; autograd's subgradient there is 0
            want = pg
        elif kind in ("pspo", "pspo_clip"):  # PSPO smooths r̃ = (1 − α)r + α: the gradient at θ_old is (1 − α)·PG
            want = (1 - PSPO_DEFAULT_ALPHA) * pg
        else:
            want = pg
        hp = {"generator": torch.Generator().manual_seed(0)} if kind == "clip_cov" else {}
        got = token_surrogate_coefficients(kind, lp, lp, adv, mask, w, **hp)
        if kind == "clip_cov":  # detached tokens have weight 0; every other token carries the PG weight
            assert bool(((got == 0) | torch.isclose(got, want)).all())
        else:
            assert torch.allclose(got, want, atol=1e-12), kind
    # twin: away from θ_old the clipped PPO weight differs from the PG weight on some token
    lo2 = lp + 0.5
    assert not torch.allclose(token_surrogate_coefficients("ppo_clip", lp, lo2, adv, mask, w), pg)


def test_token_coefficients_reduce_to_sequence_coefficients():
    task = toy_sequence_task(3, 3, 2, seed=0)
    pol = TabularSequencePolicy(task)
    th = pol.random_params(generator=torch.Generator().manual_seed(0))
    groups = sample_sequence_groups(pol, th, 5, 3, torch.Generator().manual_seed(1))
    c = torch.randn(5, 3, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    a = sequence_score_sum(pol, th, groups, c)
    b = sequence_score_sum(pol, th, groups, c[..., None] * groups.mask)
    assert torch.allclose(a, b)
    with pytest.raises(ValueError, match="coef: expected shape"):
        sequence_score_sum(pol, th, groups, c[:, :2])


@given(st.integers(0, 2**31 - 1), st.floats(0.1, 100.0))
def test_p3o_and_group_mean_updates_are_invariant_to_prompt_shifts(seed, scale):
    g = torch.Generator().manual_seed(seed)
    r = torch.rand(4, 6, generator=g, dtype=torch.float64)
    c = scale * torch.randn(4, 1, generator=g, dtype=torch.float64)
    pair = lambda x: 0.5 * (x[..., :, None] - x[..., None, :]).sum(-1)  # noqa: E731
    assert torch.allclose(pair(r + c), pair(r), atol=1e-9 * scale)
    assert torch.allclose(group_advantages(r + c, "mean"), group_advantages(r, "mean"), atol=1e-9 * scale)
    assert not torch.allclose(r + c, r)  # twin: the raw reward (no baseline) changes


def test_enumerate_groups_and_paired_difference():
    idx, p = enumerate_groups(T(0.2, 0.8), 3)
    assert idx.shape == (8, 3) and float(p.sum()) == pytest.approx(1.0)
    assert list(map(tuple, idx.tolist())) == list(itertools.product(range(2), repeat=3))
    with pytest.raises(ValueError, match="group_size"):
        enumerate_groups(torch.full((100,), 0.01, dtype=torch.float64), 4)
    d = paired_difference([2.0, 3.0, 4.0], [1.0, 1.0, 1.0])
    assert d.statistic == pytest.approx(2.0) and d.sign == 0  # t_{0.975,2}·1/√3 = 2.48 > 2: the CI contains 0
    assert np.isclose(d.high - 2.0, 4.302652729911275 * 1 / math.sqrt(3))
    assert paired_difference([2.0, 2.1, 1.9], [0.0, 0.0, 0.0]).sign == 1
