"""Group advantages of practice (ReMax, OPO, GPG, verl's pass@k, GDPO): hand values in the libraries' conventions,
exact expectations of the update (1/G)Σ_i A_i ∇_z log π(y_i) by enumerating every group
(:func:`pgtheory.exact.groups.enumerate_groups`) against the truth each docstring states, twins the same check rejects,
and named errors."""
import itertools
import math

import pytest
import torch

from pgtheory.estimators.group import GROUP_ADVANTAGES, grpo_advantage, group_advantages
from pgtheory.exact.groups import enumerate_groups

T = lambda *x: torch.tensor(x, dtype=torch.float64)  # noqa: E731

Z = T(0.4, -0.3, 0.1)  # logits of π over three responses
PI = torch.softmax(Z, -1)
R = T(1.0, 0.0, 0.4)  # distinct rewards
L = T(3.0, 1.0, 2.0)  # response lengths
GRAD_J = PI * (R - (PI * R).sum())  # ∇_z E_π[R]


def _scores(idx: torch.Tensor) -> torch.Tensor:
    """∇_z log π(y) = e_y − π for every drawn response: ``idx.shape + [N]``."""
    return torch.eye(len(PI), dtype=torch.float64)[idx] - PI


def expected_update(advantages, G: int) -> torch.Tensor:
    """Σ over all ordered groups of P(group)·(1/G)Σ_i A_i s(y_i); ``advantages`` maps indices [M, G] to A [M, G]."""
    idx, prob = enumerate_groups(PI, G)
    A = advantages(idx)
    return (prob[:, None] * (A[..., None] * _scores(idx)).mean(1)).sum(0)


def _far(a: torch.Tensor, b: torch.Tensor) -> bool:
    return float((a - b).abs().max()) > 1e-3


def test_registry_holds_the_new_kinds():
    assert {"remax", "opo", "gpg", "grpo_passk", "gdpo"} <= set(GROUP_ADVANTAGES.names())


# -- ReMax ----------------------------------------------------------------------------------------------------------

def test_remax_hand_values():
    """verl ``compute_remax_outcome_advantage``: R − reward_baselines (the greedy response's reward)."""
    assert torch.equal(group_advantages(T(1.0, 0.0, 0.5), "remax", greedy_rewards=0.5), T(0.5, -0.5, 0.0))
    batch = group_advantages(T(1.0, 0.0, 0.0, 0.0).reshape(2, 2), "remax", greedy_rewards=T(1.0, 0.0))
    assert torch.equal(batch, T(0.0, -1.0, 0.0, 0.0).reshape(2, 2))


@pytest.mark.parametrize("G", [1, 2, 3])
def test_remax_with_the_greedy_baseline_is_exactly_unbiased_with_twin(G):
    greedy = R[int(PI.argmax())]
    got = expected_update(lambda idx: group_advantages(R[idx], "remax", greedy_rewards=greedy), G)
    assert torch.allclose(got, GRAD_J, atol=1e-14)
    if G > 1:  # twin: the best *sampled* reward as the "greedy" baseline depends on the group — biased
        best_sampled = lambda idx: group_advantages(R[idx], "remax", greedy_rewards=R[idx].amax(-1))  # noqa: E731
        assert _far(expected_update(best_sampled, G), GRAD_J)


def test_remax_bad_inputs_are_named():
    with pytest.raises(TypeError, match="greedy_rewards: required keyword argument of group advantage 'remax'"):
        group_advantages(R, "remax")
    with pytest.raises(ValueError, match="greedy_rewards: expected a scalar or a shape broadcasting to"):
        group_advantages(R, "remax", greedy_rewards=T(1.0, 2.0))
    with pytest.raises(ValueError, match="greedy_rewards: contains NaN"):
        group_advantages(R, "remax", greedy_rewards=float("nan"))


# -- OPO ------------------------------------------------------------------------------------------------------------

def test_opo_hand_values():
    """verl ``compute_opo_outcome_advantage``: b = Σ L R / Σ L over the group, 0 for a singleton group."""
    r, lengths = T(1.0, 0.0, 0.5), T(1.0, 2.0, 3.0)
    assert torch.allclose(group_advantages(r, "opo", lengths=lengths), T(7 / 12, -5 / 12, 1 / 12), atol=1e-15)
    loo = group_advantages(r, "opo", lengths=lengths, leave_one_out=True)
    assert torch.allclose(loo, T(1 - 1.5 / 5, -2.5 / 4, 0.5 - 1 / 3), atol=1e-15)
    assert torch.equal(group_advantages(T(2.0), "opo", lengths=T(5.0)), T(2.0))


def test_opo_bias_is_exactly_the_length_weighted_pair_formula_at_g2():
    """E[update] = Σ_{y,y'} π(y)π(y') L(y')/(L(y)+L(y'))·(R(y) − R(y'))·s(y), summed by hand here."""
    eye = torch.eye(3, dtype=torch.float64)
    formula = sum(PI[y] * PI[v] * L[v] / (L[y] + L[v]) * (R[y] - R[v]) * (eye[y] - PI)
                  for y, v in itertools.product(range(3), repeat=2))
    got = expected_update(lambda idx: group_advantages(R[idx], "opo", lengths=L[idx]), 2)
    assert torch.allclose(got, formula, atol=1e-14)
    assert _far(got, GRAD_J)  # biased
    # twin: the plain mean baseline (equal pair weights ½) is not OPO's expectation once lengths differ
    assert _far(expected_update(lambda idx: group_advantages(R[idx], "mean"), 2), formula)


@pytest.mark.parametrize("G", [2, 3])
def test_opo_equal_lengths_shrink_by_one_minus_one_over_g_and_leave_one_out_is_unbiased(G):
    equal = expected_update(lambda idx: group_advantages(R[idx], "opo", lengths=torch.full(idx.shape, 2.0,
                                                                                           dtype=torch.float64)), G)
    assert torch.allclose(equal, (1 - 1 / G) * GRAD_J, atol=1e-14)
    loo = expected_update(lambda idx: group_advantages(R[idx], "opo", lengths=L[idx], leave_one_out=True), G)
    assert torch.allclose(loo, GRAD_J, atol=1e-14)
    # twin: OPO as deployed (its baseline includes R_i) fails the same unbiasedness check
    assert _far(expected_update(lambda idx: group_advantages(R[idx], "opo", lengths=L[idx]), G), GRAD_J)


def test_opo_bad_inputs_are_named():
    with pytest.raises(TypeError, match="lengths: required keyword argument of group advantage 'opo'"):
        group_advantages(R, "opo")
    with pytest.raises(ValueError, match=r"lengths: expected shape \(3,\)"):
        group_advantages(R, "opo", lengths=T(1.0, 2.0))
    with pytest.raises(ValueError, match="lengths: response lengths must be positive"):
        group_advantages(R, "opo", lengths=T(1.0, 0.0, 2.0))
    with pytest.raises(TypeError, match="leave_one_out: expected True or False"):
        group_advantages(R, "opo", lengths=L, leave_one_out="yes")
    with pytest.raises(ValueError, match="rewards: expected a group axis of at least 2 responses"):
        group_advantages(T(1.0), "opo", lengths=T(1.0), leave_one_out=True)


# -- GPG ------------------------------------------------------------------------------------------------------------

def test_gpg_hand_values():
    r = T(1.0, 0.0, 1.0, 1.0).reshape(2, 2)  # one valid group of two
    assert torch.equal(group_advantages(r, "gpg"), T(1.0, -1.0, 0.0, 0.0).reshape(2, 2))  # α = 1/(1/2)
    # verl compute_gpg_outcome_advantage: α = bsz / count_nonzero(scores) = 4/3
    assert torch.allclose(group_advantages(r, "gpg", rescale="nonzero_rewards"), T(2 / 3, -2 / 3, 0, 0).reshape(2, 2))
    assert torch.equal(group_advantages(r, "gpg", f_norm=2.0), T(0.5, -0.5, 0.0, 0.0).reshape(2, 2))
    # every group constant: α = 1/0.05 but all advantages are 0
    assert torch.equal(group_advantages(torch.ones(2, 3, dtype=torch.float64), "gpg"), torch.zeros(2, 3, dtype=torch.float64))


@pytest.mark.parametrize(("B", "G", "rewards"), [(2, 2, R), (2, 3, T(1.0, 0.0, 0.0)), (3, 2, T(1.0, 0.0, 0.0))])
def test_gpg_valid_group_rescaling_has_the_exact_expectation_with_twins(B, G, rewards):
    """E[(1/B)Σ_b update_b] = (1 − q^B)/(1 − q)·(1 − 1/G)·∇J, q = P(all G rewards of a group equal)."""
    levels = rewards.unique()
    p_level = torch.stack([PI[rewards == v].sum() for v in levels])
    q = float((p_level**G).sum())
    truth = (1 - q**B) / (1 - q) * (1 - 1 / G) * PI * (rewards - (PI * rewards).sum())
    idx, prob = enumerate_groups(PI, B * G)
    idx = idx.reshape(-1, B, G)

    def expected(**kw):
        A = group_advantages(rewards[idx], "gpg", **kw)
        return (prob[:, None] * (A[..., None] * _scores(idx)).mean((1, 2))).sum(0)

    assert torch.allclose(expected(), truth, atol=1e-14)
    assert _far(expected(rescale="nonzero_rewards"), truth)  # twin: verl's α (non-zero rewards, not valid groups)
    assert _far(truth, (1 - 1 / G) * PI * (rewards - (PI * rewards).sum()))  # twin: no rescaling at all


def test_gpg_bad_inputs_are_named():
    r = T(1.0, 0.0, 1.0, 1.0).reshape(2, 2)
    with pytest.raises(ValueError, match="rescale: expected 'valid_groups'"):
        group_advantages(r, "gpg", rescale="batch")
    with pytest.raises(ValueError, match="f_norm: must be positive"):
        group_advantages(r, "gpg", f_norm=0.0)
    with pytest.raises(ValueError, match="rewards: gpg needs a batch axis"):
        group_advantages(T(1.0, 0.0), "gpg")
    with pytest.raises(ValueError, match="rewards: expected a group axis of at least 2 responses"):
        group_advantages(T(1.0, 0.0).reshape(2, 1), "gpg")


# -- verl's pass@k (grpo_passk) -------------------------------------------------------------------------------------

def test_grpo_passk_hand_values():
    """verl ``compute_grpo_passk_outcome_advantage``: only the best gets r_max − r_second, ÷ (std + 1e-6) by default."""
    r = T(1.0, 0.0, 0.5, 0.0)
    assert torch.equal(group_advantages(r, "grpo_passk", norm_by_std=False), T(0.5, 0.0, 0.0, 0.0))
    std = math.sqrt(((r - r.mean()) ** 2).sum().item() / 3)  # Bessel
    assert torch.allclose(group_advantages(r, "grpo_passk"), T(0.5 / (std + 1e-6), 0.0, 0.0, 0.0), rtol=1e-14)
    assert torch.equal(group_advantages(T(1.0, 0.0, 0.5, 1.0), "grpo_passk"), torch.zeros(4, dtype=torch.float64))
    binary = group_advantages(T(0.0, 1.0, 0.0), "grpo_passk", eps=0.0)
    assert torch.allclose(binary, T(0.0, math.sqrt(3.0), 0.0), rtol=1e-14)  # 1/std([0, 1, 0]) = √3


def expected_max(z: torch.Tensor, G: int) -> torch.Tensor:
    """E[max of G i.i.d. rewards] = Σ_v v·(F(v)^G − F(v⁻)^G) over the sorted reward levels, differentiable in z."""
    pi = torch.softmax(z, -1)
    levels = R.unique()  # sorted
    cdf = torch.cumsum(torch.stack([pi[R == v].sum() for v in levels]), 0)
    below = torch.cat([cdf.new_zeros(1), cdf[:-1]])
    return (levels * (cdf**G - below**G)).sum()


@pytest.mark.parametrize("G", [2, 3, 4])
def test_grpo_passk_without_std_is_exactly_unbiased_for_the_expected_max_with_twin(G):
    z = Z.clone().requires_grad_(True)
    (grad_max,) = torch.autograd.grad(expected_max(z, G), z)
    truth = grad_max / G
    got = expected_update(lambda idx: group_advantages(R[idx], "grpo_passk", norm_by_std=False), G)
    assert torch.allclose(got, truth, atol=1e-14)
    # twin: verl's default (÷ std) is not unbiased for it
    assert _far(expected_update(lambda idx: group_advantages(R[idx], "grpo_passk"), G), truth)


def test_grpo_passk_bad_inputs_are_named():
    with pytest.raises(ValueError, match="rewards: expected a group axis of at least 2 responses"):
        group_advantages(T(1.0), "grpo_passk")
    with pytest.raises(TypeError, match="norm_by_std: expected True or False"):
        group_advantages(R, "grpo_passk", norm_by_std=1)
    with pytest.raises(ValueError, match="eps: must be non-negative"):
        group_advantages(R, "grpo_passk", eps=-1.0)


# -- GDPO -----------------------------------------------------------------------------------------------------------

def test_gdpo_hand_values():
    """TRL-GDPO (``apply_gdpo``) with ε = 0: per-component group z-scores (Bessel), weighted sum, batch z-score."""
    a = 1 / math.sqrt(2.0)  # a G = 2 group z-score: ±(1/2)/(1/√2)
    r = T(1, 0, 0, 0, 1, 1, 0, 1).reshape(1, 2, 2, 2)  # [1, B, G, K]: component 1 constant in both groups
    got = group_advantages(r, "gdpo", eps=0.0)
    assert torch.allclose(got, T(1.0, -1.0, 1.0, -1.0).reshape(1, 2, 2) * math.sqrt(3.0) / 2, atol=1e-15)
    r2 = T(1, 0, 0, 1, 1, 1, 0, 1).reshape(2, 2, 2)  # group 1 components disagree; weights favour component 1
    sums = T(-2 * a, 2 * a, a, -a)
    want = (sums / sums.std()).reshape(2, 2)
    assert torch.allclose(group_advantages(r2, "gdpo", weights=T(1.0, 3.0), eps=0.0), want, atol=1e-14)
    assert torch.allclose(want, T(-2.0, 2.0, 1.0, -1.0).reshape(2, 2) * math.sqrt(0.3), atol=1e-14)
    assert torch.allclose(group_advantages(r2, "gdpo", weights=T(1.0, 3.0)), want, rtol=1e-3)  # default ε = 1e-4
    # K = 1: GDPO is GRPO followed by the batch z-score
    single = T(1.0, 0.0, 0.3, 0.3, 0.9, 0.1).reshape(2, 3)
    grpo = grpo_advantage(single, eps=0.0).reshape(-1)
    assert torch.allclose(group_advantages(single[..., None], "gdpo", eps=0.0), (grpo / grpo.std()).reshape(2, 3))


R3 = T(1.0, 1.0, 0.0, 0.0, 0.0, 5.0, 0.5, 0.2, 1.0).reshape(3, 3)  # [N, K]: y0 wins the vote vs y1, y1 wins the sum


def _vote_truth(score) -> torch.Tensor:
    """(1/√2)Σ_y π(y) v(y) s(y), v(y) = Σ_y' π(y') score(y, y')."""
    v = torch.stack([sum(PI[u] * score(y, u) for u in range(3)) for y in range(3)])
    return (PI * v)[:, None].mul(torch.eye(3, dtype=torch.float64) - PI).sum(0) / math.sqrt(2.0)


def test_gdpo_pair_update_is_the_majority_vote_gradient_with_twin():
    W = T(1.0, 1.0, 1.0)
    vote = lambda y, u: torch.sign((W * torch.sign(R3[y] - R3[u])).sum())  # noqa: E731
    truth = _vote_truth(vote)
    got = expected_update(lambda idx: group_advantages(R3[idx][:, None], "gdpo", eps=0.0)[:, 0], 2)
    assert torch.allclose(got, truth, atol=1e-14)
    # twin: GRPO on the summed reward votes with the sign of the summed difference — a different update
    summed = expected_update(lambda idx: grpo_advantage(R3[idx].sum(-1), eps=0.0), 2)
    assert torch.allclose(summed, _vote_truth(lambda y, u: torch.sign(((R3[y] - R3[u]) * W).sum())), atol=1e-14)
    assert _far(summed, truth)


def test_gdpo_bad_inputs_are_named():
    with pytest.raises(ValueError, match="rewards: gdpo needs"):
        group_advantages(torch.ones(2, 3, dtype=torch.float64), "gdpo")
    with pytest.raises(ValueError, match=r"weights: expected one weight per reward component, shape \(2,\)"):
        group_advantages(torch.ones(1, 3, 2, dtype=torch.float64), "gdpo", weights=T(1.0, 2.0, 3.0))
    with pytest.raises(ValueError, match="weights: contains NaN"):
        group_advantages(torch.ones(1, 3, 2, dtype=torch.float64), "gdpo", weights=T(1.0, float("nan")))
    with pytest.raises(ValueError, match="eps: must be non-negative"):
        group_advantages(torch.ones(1, 3, 2, dtype=torch.float64), "gdpo", eps=-1.0)
