"""Fidelity to deployed conventions (issue 11): each case is a hand-computed value of verl's or TRL's formula,
with a twin showing the test tells the conventions apart."""
import pytest
import torch

from pgtheory.estimators import (GROUP_ADVANTAGES, LOSS_AGGREGATIONS, TOKEN_ADVANTAGES, TOKEN_SURROGATES,
                                 aggregation_weights, group_advantages, token_advantages, token_surrogate_values)

T = lambda *x: torch.tensor(x, dtype=torch.float64)  # noqa: E731


def test_grpo_std_conventions_and_singletons():
    r = T(1.0, 0.0)  # G = 2: Bessel std √0.5, population std 0.5 — a factor √2 apart
    assert torch.allclose(group_advantages(r, "grpo", eps=0.0), T(0.5, -0.5) / 0.5 ** 0.5)  # verl, TRL
    assert torch.allclose(group_advantages(r, "grpo", eps=0.0, std="population"), T(1.0, -1.0))
    assert torch.allclose(group_advantages(r, "grpo", eps=1e-4), T(0.5, -0.5) / (0.5 ** 0.5 + 1e-4))  # TRL's ε
    one = T(0.7)[None]  # a singleton group: verl returns the raw reward (mean 0, std 1), TRL/ours 0
    assert torch.equal(group_advantages(one, "grpo", singleton="reward"), one)
    assert torch.equal(group_advantages(one, "grpo"), torch.zeros(1, 1, dtype=torch.float64))
    with pytest.raises(ValueError, match="std: expected 'bessel'"):
        group_advantages(r, "grpo", std="sample")


def test_group_mean_batch_std_pools_only_its_batch_axis():
    """Stacking two independent replicate batches must not change the first one's advantages (the old
    ``reinforce_pp`` pooled every leading axis). Twin: pooling over the replicate axis too does change them."""
    a = T(1.0, 0.0, 0.0, 0.0, 1.0, 1.0).reshape(2, 3)  # batch of B = 2 groups of G = 3
    b = 10 * T(1.0, 0.0, 5.0, 0.0, 1.0, 2.0).reshape(2, 3)
    alone = group_advantages(a, "group_mean_batch_std", eps=0.0)
    hand = (a - a.mean(-1, keepdim=True)) / a.reshape(-1).std()  # TRL scale_rewards="batch": Bessel std of the batch
    assert torch.allclose(alone, hand)
    stacked = group_advantages(torch.stack([a, b]), "group_mean_batch_std", eps=0.0)
    assert torch.allclose(stacked[0], alone)
    pooled = group_advantages(torch.stack([a, b]).reshape(1, 4, 3), "group_mean_batch_std", eps=0.0)[0, :2]
    assert not torch.allclose(pooled, alone)
    assert "reinforce_pp" not in GROUP_ADVANTAGES.names()


def test_reinforce_pp_whitens_token_returns_like_verl():
    """Two responses (B = 1 batch, G = 2), L = 3, γ = 0.5; the outcome reward sits on each response's last token."""
    rew = T(0.0, 0.0, 1.0, 0.0, 2.0, 0.0).reshape(1, 2, 3)
    mask = torch.tensor([[[True, True, True], [True, True, False]]])
    # returns-to-go: response 0: 0.25, 0.5, 1; response 1: 1, 2 (padding 0)
    ret = T(0.25, 0.5, 1.0, 1.0, 2.0)
    m, v = ret.mean(), ret.var(unbiased=True)
    want = torch.zeros(1, 2, 3, dtype=torch.float64)
    want[mask] = (ret - m) / (v + 1e-8).sqrt()
    assert torch.allclose(token_advantages(rew, mask, "reinforce_pp", gamma=0.5), want)
    # twin: γ = 1 gives other returns and other advantages
    assert not torch.allclose(token_advantages(rew, mask, "reinforce_pp", gamma=1.0), want)


def test_reinforce_pp_baseline_centres_by_group_then_whitens_tokens():
    rew = torch.zeros(1, 2, 3, dtype=torch.float64)
    rew[0, 0, 2], rew[0, 1, 1] = 1.0, 0.0
    mask = torch.tensor([[[True, True, True], [True, True, False]]])
    scores = T(0.5, -0.5)  # totals 1, 0 minus the group mean 0.5
    tok = torch.cat([scores[0].repeat(3), scores[1].repeat(2)])  # length-weighted: 3 tokens of +0.5, 2 of −0.5
    want = torch.zeros(1, 2, 3, dtype=torch.float64)
    want[mask] = (tok - tok.mean()) / (tok.var(unbiased=True) + 1e-8).sqrt()
    assert torch.allclose(token_advantages(rew, mask, "reinforce_pp_baseline"), want)
    assert set(TOKEN_ADVANTAGES.names()) == {"reinforce_pp", "reinforce_pp_baseline"}


def test_kl_cov_uses_the_unclipped_base_like_the_reference():
    """A token far outside the clip range with A > 0: the reference KL-Cov keeps r·A (no clip) and subtracts
    kl_coef·|log r| on the top-covariance token; the old hybrid (``kl_cov_ppo_clip``) clips r to 1 + ε first."""
    lp = T(0.0, -1.0, -2.0, -2.5).reshape(1, 2, 2)
    lo = T(-0.7, -1.0, -2.0, -2.5).reshape(1, 2, 2)  # r_0 = e^0.7 ≈ 2.01; token 0 has the largest covariance (no tie)
    adv = T(1.0, -1.0).reshape(1, 2)
    mask = torch.ones(1, 2, 2, dtype=torch.bool)
    r = torch.exp(lp - lo)
    A = adv[..., None].expand_as(lp)
    cov = (A - A.mean()) * (lp - lp.mean())
    top = cov.reshape(-1).argmax()
    want = (r * A).reshape(-1).clone()
    want[top] -= (lp - lo).abs().reshape(-1)[top]
    got = token_surrogate_values("kl_cov", lp, lo, adv, mask, cov_ratio=0.25)
    assert torch.allclose(got.reshape(-1), want)
    hybrid = token_surrogate_values("kl_cov_ppo_clip", lp, lo, adv, mask, cov_ratio=0.25)
    assert not torch.allclose(hybrid, got)  # twin: the clipped base differs where r > 1 + ε


def test_registry_entries_create_no_tensor_on_the_default_device():
    """Every tensor an estimator creates must follow its inputs' device. With the default device set to 'meta', a
    factory call without ``device=`` lands on meta and mixing it with the CPU inputs fails — the audit for the
    Clip-Cov/KL-Cov masks (which CUDA inputs once exposed) and everything like them."""
    g = torch.Generator().manual_seed(0)
    lp = -torch.rand(3, 4, 5, generator=g, dtype=torch.float64)
    lo = lp + 0.3 * torch.randn(3, 4, 5, generator=g, dtype=torch.float64)
    adv = torch.randn(3, 4, generator=g, dtype=torch.float64)
    mask = torch.rand(3, 4, 5, generator=g) < 0.8
    mask[..., 0] = True
    rewards = (torch.rand(3, 4, generator=g) < 0.5).to(torch.float64)
    tok_rew = torch.zeros(3, 4, 5, dtype=torch.float64)
    tok_rew[..., 0] = rewards
    torch.set_default_device("meta")
    try:
        for kind in TOKEN_SURROGATES.names():
            hp = {"generator": torch.Generator().manual_seed(0)} if kind == "clip_cov" else {}
            assert token_surrogate_values(kind, lp, lo, adv, mask, **hp).device.type == "cpu", kind
        group_kw = {"pass_at_k": {"k": 2}, "remax": {"greedy_rewards": rewards[:, 0]},
                    "opo": {"lengths": mask[:, :, 0].to(torch.float64) + 1.0}}
        for kind in GROUP_ADVANTAGES.names():
            r = rewards[..., None].expand(3, 4, 2) if kind == "gdpo" else rewards  # GDPO: reward components last
            assert group_advantages(r, kind, **group_kw.get(kind, {})).device.type == "cpu", kind
        for kind in TOKEN_ADVANTAGES.names():
            assert token_advantages(tok_rew, mask, kind).device.type == "cpu", kind
        for kind in LOSS_AGGREGATIONS.names():
            assert aggregation_weights(mask, kind).device.type == "cpu", kind
    finally:
        torch.set_default_device("cpu")
