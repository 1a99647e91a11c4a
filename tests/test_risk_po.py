"""RiskPO (L89): the MVaR objective exactly, its gradient, the bundle law, the sampled estimator's exact mean, the claim."""
from __future__ import annotations

import itertools
import math

import pytest
import torch

from pgtheory.exact.cvar_gradient import cvar_policy_gradient
from pgtheory.exact.groups import enumerate_groups
from pgtheory.exact.mixed_var import (bundle_mvar_objective, bundle_mvar_prompt_weights, bundle_reward_law,
                                      expected_mvar_gradient_estimate, mixed_value_at_risk, multiprompt_mvar_gradient,
                                      mvar_advantage, mvar_coefficients, mvar_distortion, mvar_policy_gradient,
                                      pooled_bundle_reward_law, upper_mixed_value_at_risk, upper_mvar_advantage,
                                      upper_mvar_distortion)
from pgtheory.exact.risk_measures import cvar, mean, value_at_risk
from pgtheory.estimators.risk_po import (RISK_PO_ADVANTAGES, empirical_quantiles, mvar_gradient_estimate, paper_scores,
                                         risk_po_advantages, risk_po_gradient_estimate)
from pgtheory.problems import MultiPromptBandit

pytestmark = pytest.mark.usefixtures("one_torch_thread")
D = torch.float64
A, B, W = 0.2, 0.9, 1.5  # the authors' defaults


def _law(seed=0, K=6):
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(K, generator=g, dtype=D)
    th = torch.randn(K, generator=g, dtype=D)
    return z, th


# ------------------------------------------------------------------ the objective

def test_mvar_hand_value_on_a_coin():
    # Z ∈ {0, 1} w.p. 1/2: CVaR_0.2 = 0, RVaR_{0.2,0.9} = (0.9 − 0.5)/0.7, MVaR = (1.5·0 + 0.4/0.7)/2.5
    z, p = torch.tensor([0.0, 1.0], dtype=D), torch.tensor([0.5, 0.5], dtype=D)
    assert float(mixed_value_at_risk(z, p, A, B, W)) == pytest.approx(0.4 / 0.7 / 2.5, abs=1e-14)


def test_mvar_is_the_mix_of_cvar_and_rvar_and_coefficients_sum_to_one():
    for seed in range(5):
        z, th = _law(seed)
        p = torch.softmax(th, 0)
        for a, b, w in ((0.2, 0.9, 1.5), (0.13, 0.71, 0.0), (0.3, 1.0, 4.0)):
            rvar = (b * cvar(z, p, b) - a * cvar(z, p, a)) / (b - a)
            want = (w * cvar(z, p, a) + rvar) / (1 + w)
            assert float(mixed_value_at_risk(z, p, a, b, w)) == pytest.approx(float(want), abs=1e-12)
            ca, cb = mvar_coefficients(a, b, w)
            assert ca + cb == pytest.approx(1.0, abs=1e-15)


def test_mvar_limits_cvar_and_mean():
    z, th = _law(1)
    p = torch.softmax(th, 0)
    # ω → ∞: CVaR_α (error O(1/ω))
    assert float(mixed_value_at_risk(z, p, A, B, 1e9)) == pytest.approx(float(cvar(z, p, A)), abs=1e-8)
    # ω = 0, β = 1, α → 0: the mean (RVaR_{α,1} − mean = O(α·range))
    assert float(mixed_value_at_risk(z, p, 1e-10, 1.0, 0.0)) == pytest.approx(float(mean(z, p)), abs=1e-8)


def test_distortion_shape_and_coherence_threshold():
    u = torch.linspace(0, 1, 101, dtype=D)
    g = mvar_distortion(A, B, W)(u)
    assert float(g[0]) == 0.0 and float(g[-1]) == pytest.approx(1.0, abs=1e-15)
    assert bool((g[1:] >= g[:-1] - 1e-15).all())
    # concave (coherent) iff a_α ≥ 0 iff ω ≥ α/(β − α)
    assert mvar_coefficients(A, B, W)[0] > 0 and mvar_coefficients(A, B, 0.2)[0] < 0


# ------------------------------------------------------------------ the exact gradient

def test_gradient_formula_equals_autograd_and_finite_differences():
    for seed in range(4):
        z, th = _law(seed + 10)
        p = torch.softmax(th, 0)
        score = torch.eye(6, dtype=D) - p  # ∇_θ log softmax(θ)_k
        t = th.clone().requires_grad_(True)
        (auto,) = torch.autograd.grad(mixed_value_at_risk(z, torch.softmax(t, 0), A, B, W), t)
        formula = mvar_policy_gradient(z, p, score, A, B, W)
        via_psi = (p * mvar_advantage(z, p, A, B, W)) @ score
        h = 1e-6
        def f(t):
            return mixed_value_at_risk(z, torch.softmax(t, 0), A, B, W)

        fd = torch.stack([(f(th + h * e) - f(th - h * e)) / (2 * h) for e in torch.eye(6, dtype=D)])
        assert torch.allclose(auto, formula, atol=1e-12) and torch.allclose(via_psi, formula, atol=1e-12)
        assert torch.allclose(fd, formula, atol=1e-7)
        # the mix of the CVaR gradients (a_α ∇CVaR_α + a_β ∇CVaR_β)
        ca, cb = mvar_coefficients(A, B, W)
        mix = ca * cvar_policy_gradient(z, p, score, A) + cb * cvar_policy_gradient(z, p, score, B)
        assert torch.allclose(mix, formula, atol=1e-14)


def test_advantage_matches_the_authors_formula():
    # RTkenny/RiskPO: rvar = (clamp(S − q_d, 0) − clamp(S − q_u, 0) + q_d − q_u)/(β − α); cvar = −clamp(q_d − S, 0)/α
    z, th = _law(3)
    p = torch.softmax(th, 0)
    qd, qu = value_at_risk(z, p, A), value_at_risk(z, p, B)
    rvar = ((z - qd).clamp_min(0) - (z - qu).clamp_min(0) + qd - qu) / (B - A)
    cv = -(qd - z).clamp_min(0) / A
    assert torch.allclose(mvar_advantage(z, p, A, B, W), (W * cv + rvar) / (W + 1), atol=1e-14)


# ------------------------------------------------------------------ bundles

def test_bundle_law_equals_enumeration():
    p = torch.tensor([0.1, 0.55, 0.8], dtype=D)
    atoms, law = bundle_reward_law(p)
    want = torch.zeros(4, dtype=D)
    for r in itertools.product((0, 1), repeat=3):
        want[sum(r)] += math.prod(float(p[j]) if r[j] else 1 - float(p[j]) for j in range(3))
    assert torch.allclose(law, want, atol=1e-15) and torch.allclose(atoms, torch.arange(4, dtype=D) / 3)


def test_bundle_gradient_reweights_prompts_and_matches_autograd():
    g = torch.Generator().manual_seed(5)
    correct = torch.rand(6, 4, generator=g) < 0.4
    correct[:, 0] = True
    bandit = MultiPromptBandit(correct)
    logits = torch.randn(6, 4, generator=g, dtype=D)
    bundles = torch.tensor([[0, 3, 5], [1, 2, 4]])
    t = logits.clone().requires_grad_(True)
    p = (torch.softmax(t, -1) * bandit.rewards).sum(-1)
    (auto,) = torch.autograd.grad(bundle_mvar_objective(p, bundles, A, B, W), t)
    assert torch.allclose(multiprompt_mvar_gradient(bandit, logits, bundles, A, B, W), auto, atol=1e-13)
    # the weights are ∂ρ/∂p_q
    pd = p.detach().clone().requires_grad_(True)
    (dp,) = torch.autograd.grad(bundle_mvar_objective(pd, bundles, A, B, W), pd)
    assert torch.allclose(bundle_mvar_prompt_weights(p.detach(), bundles, A, B, W), dp, atol=1e-13)


# ------------------------------------------------------------------ the sampled estimator

def _groups(seed=2, K=4, G=5):
    z = torch.tensor([0.0, 0.3, 0.6, 1.0], dtype=D)[:K]
    th = torch.randn(K, generator=torch.Generator().manual_seed(seed), dtype=D)
    p = torch.softmax(th, 0)
    score = torch.eye(K, dtype=D) - p
    idx, prob = enumerate_groups(p, G)
    return z, p, score, z[idx].unsqueeze(-2), score[idx].unsqueeze(-3), prob


def test_estimator_exact_mean_by_enumeration_and_its_twin():
    a, b, w, G = 0.23, 0.87, 1.5, 5  # levels off the CDF levels of this law (no kink)
    z, p, score, R, S, prob = _groups(G=G)
    exact = mvar_policy_gradient(z, p, score, a, b, w)
    plug_in = (prob[:, None] * risk_po_gradient_estimate(R, S, "mvar", alpha=a, beta=b, weight=w)).sum(0)
    assert torch.allclose(plug_in, expected_mvar_gradient_estimate(z, p, score, a, b, w, G), atol=1e-13)
    # with the true quantiles the estimator is unbiased
    q = (value_at_risk(z, p, a), value_at_risk(z, p, b))
    true_q = (prob[:, None] * risk_po_gradient_estimate(R, S, "mvar", alpha=a, beta=b, weight=w, quantiles=q)).sum(0)
    assert torch.allclose(true_q, exact, atol=1e-13)
    # twin: the same check rejects the plug-in estimator at G = 5 (its quantile bias is of practical size)
    assert float((plug_in - exact).abs().max()) > 1e-2 * float(exact.abs().max())


def test_plug_in_bias_shrinks_with_the_group_size():
    a, b, w = 0.23, 0.87, 1.5
    z, p, score, *_ = _groups()
    exact = mvar_policy_gradient(z, p, score, a, b, w)
    bias = [float((expected_mvar_gradient_estimate(z, p, score, a, b, w, n) - exact).abs().max()) for n in (5, 50, 500)]
    assert bias[0] > bias[1] > bias[2]


def test_estimator_is_the_mix_of_cvar_estimators_and_hand_advantages():
    z, p, score, R, S, _ = _groups(G=4)
    assert torch.allclose(mvar_gradient_estimate(R[:, 0], S[:, 0], A, B, W),
                          risk_po_gradient_estimate(R, S, "mvar"), atol=1e-14)
    # one bundle of one question, rewards [0, 1, 1, 1, 0]: q_0.2 = 0, q_0.9 = 1; ψ(0) = −1/((β − α)(1 + ω)), ψ(1) = 0
    r = torch.tensor([[0.0, 1.0, 1.0, 1.0, 0.0]], dtype=D)
    adv = risk_po_advantages(r, "mvar")
    assert torch.allclose(adv, torch.tensor([[-1 / (0.7 * 2.5), 0, 0, 0, -1 / (0.7 * 2.5)]], dtype=D), atol=1e-14)
    std = math.sqrt(0.3)
    assert torch.allclose(risk_po_advantages(r, "riskpo"), adv / (std + 1e-6), atol=1e-14)
    assert torch.allclose(risk_po_advantages(r, "mvar", quantile="linear"), adv, atol=1e-14)
    assert torch.equal(risk_po_advantages(torch.ones(2, 3, dtype=D), "riskpo"), torch.zeros(2, 3, dtype=D))


def test_paper_scores_and_bundle_credit():
    r = torch.tensor([[1.0, 0.0, 1.0], [1.0, 1.0, 0.0]], dtype=D)  # b = 2 questions, G = 3 papers
    assert torch.allclose(paper_scores(r), torch.tensor([1.0, 0.5, 0.5], dtype=D))
    adv = risk_po_advantages(r, "mvar")
    assert torch.equal(adv[0], adv[1])  # every response of a paper gets the paper's advantage
    assert set(RISK_PO_ADVANTAGES.names()) == {"mvar", "riskpo"}
    lo, lin = empirical_quantiles(torch.tensor([0.0, 1.0, 2.0, 3.0], dtype=D), (0.5,), "lower") + \
        empirical_quantiles(torch.tensor([0.0, 1.0, 2.0, 3.0], dtype=D), (0.5,), "linear")
    assert float(lo) == 1.0 and float(lin) == 1.5


def test_expected_sampled_prompt_weights_against_monte_carlo():
    """The claim's exact expected-update weights (RiskPO bundles, GRPO) against a seeded Monte Carlo; twin: the
    exact-objective MVaR weights, which the same comparison rejects."""
    from pgtheory.claims.library.l89_riskpo import expected_grpo_weights, expected_riskpo_weights
    from pgtheory.estimators.group import group_advantages

    gen = torch.Generator().manual_seed(11)
    p = torch.tensor([0.15, 0.5, 0.7, 0.9], dtype=D)
    bundles = torch.tensor([[0, 1], [2, 3]])
    cfg = {"bundles": bundles, "alpha": A, "beta": B, "weight": W, "G": 5}
    n = 200_000
    # Bernoulli "policy" with one logit per prompt: score R − p, ∇p = p(1 − p)
    mc, se = torch.zeros(4, dtype=D), torch.zeros(4, dtype=D)
    for k in range(2):
        idx = bundles[k]
        R = (torch.rand(n, 2, 5, generator=gen, dtype=D) < p[idx][None, :, None]).to(D)
        S = (R - p[idx][None, :, None]).unsqueeze(-1) * torch.eye(2, dtype=D)[None, :, None, :]
        est = risk_po_gradient_estimate(R, S, "riskpo", quantile="linear") / 2
        mc[idx], se[idx] = est.mean(0), est.std(0) / math.sqrt(n)
    want = expected_riskpo_weights(p, cfg) * p * (1 - p)
    assert bool(((mc - want).abs() < 5 * se).all())
    twin = bundle_mvar_prompt_weights(p, bundles, A, B, W) * p * (1 - p)
    assert bool(((mc - twin).abs() > 5 * se).any())
    R = (torch.rand(n, 4, 5, generator=gen, dtype=D) < p[None, :, None]).to(D)
    est = (group_advantages(R, "grpo") * (R - p[None, :, None])).mean(-1) / 4
    want = expected_grpo_weights(p, cfg) * p * (1 - p)
    assert bool(((est.mean(0) - want).abs() < 5 * est.std(0) / math.sqrt(n)).all())


# ------------------------------------------------------------------ the upper tail and the pooled reading

def test_upper_mvar_hand_value_and_its_cvar_form():
    # coin: CVaR⁺_0.8 = 1, RVaR_{0.2,0.8} = (0.8 − 0.5)/0.6 = 0.5, MVaR⁺ = (1.5·1 + 0.5)/2.5 = 0.8
    z, p = torch.tensor([0.0, 1.0], dtype=D), torch.tensor([0.5, 0.5], dtype=D)
    assert float(upper_mixed_value_at_risk(z, p, 0.2, 0.8, 1.5)) == pytest.approx(0.8, abs=1e-14)
    for seed in range(4):
        z, th = _law(seed)
        p = torch.softmax(th, 0)
        for a, b, w in ((0.2, 0.8, 1.5), (0.13, 0.71, 0.0), (0.3, 0.95, 4.0)):
            upper = (mean(z, p) - b * cvar(z, p, b)) / (1 - b)
            rvar = (b * cvar(z, p, b) - a * cvar(z, p, a)) / (b - a)
            assert float(upper_mixed_value_at_risk(z, p, a, b, w)) == pytest.approx(float((w * upper + rvar) / (1 + w)),
                                                                                   abs=1e-12)
    u = torch.linspace(0, 1, 101, dtype=D)
    g = upper_mvar_distortion(0.2, 0.8, 1.5)(u)
    assert float(g[0]) == 0.0 and float(g[-1]) == pytest.approx(1.0, abs=1e-15)
    assert bool((g[1:] >= g[:-1] - 1e-15).all())
    assert bool((g[2:] - 2 * g[1:-1] + g[:-2] >= -1e-14).all())  # convex: it overweights the upper tail


def test_upper_mvar_gradient_weight_equals_autograd_and_the_authors_formula():
    a, b, w = 0.2, 0.8, 1.5
    for seed in range(4):
        z, th = _law(seed + 20)
        p = torch.softmax(th, 0)
        t = th.clone().requires_grad_(True)
        (auto,) = torch.autograd.grad(upper_mixed_value_at_risk(z, torch.softmax(t, 0), a, b, w), t)
        via_psi = (p * upper_mvar_advantage(z, p, a, b, w)) @ (torch.eye(6, dtype=D) - p)
        assert torch.allclose(via_psi, auto, atol=1e-12)
    # RTkenny/RiskPO risk_seeking_upper_tail: (w·clamp(S − q_u, 0)/(1 − β) + rvar)/(w + 1), natural baseline
    qd, qu = value_at_risk(z, p, a), value_at_risk(z, p, b)
    rvar = ((z - qd).clamp_min(0) - (z - qu).clamp_min(0) + qd - qu) / (b - a)
    want = (w * (z - qu).clamp_min(0) / (1 - b) + rvar) / (w + 1)
    assert torch.allclose(upper_mvar_advantage(z, p, a, b, w), want, atol=1e-14)


@pytest.mark.parametrize("tail", ["lower", "upper"])
def test_pooled_and_upper_bundle_weights_match_autograd(tail):
    g = torch.Generator().manual_seed(7)
    p = torch.rand(10, generator=g, dtype=D)
    bundles = torch.randperm(10, generator=g).reshape(2, 5)
    for pooled in (False, True):
        pd = p.clone().requires_grad_(True)
        (dp,) = torch.autograd.grad(bundle_mvar_objective(pd, bundles, 0.2, 0.8, 1.5, tail=tail, pooled=pooled), pd)
        c = bundle_mvar_prompt_weights(p, bundles, 0.2, 0.8, 1.5, tail=tail, pooled=pooled)
        assert torch.allclose(c, dp, atol=1e-13)
    # the pooled law is the mixture of the bundle laws; with one bundle pooling changes nothing
    atoms, pool = pooled_bundle_reward_law(p, bundles)
    assert torch.allclose(pool, 0.5 * (bundle_reward_law(p[bundles[0]])[1] + bundle_reward_law(p[bundles[1]])[1]),
                          atol=1e-15)
    one = torch.arange(5).reshape(1, 5)
    assert torch.allclose(bundle_mvar_prompt_weights(p[:5], one, 0.2, 0.8, 1.5, tail=tail, pooled=True),
                          bundle_mvar_prompt_weights(p[:5], one, 0.2, 0.8, 1.5, tail=tail), atol=1e-15)
    # twin: with two bundles the pooled weights differ from the per-bundle ones
    assert float((bundle_mvar_prompt_weights(p, bundles, 0.2, 0.8, 1.5, tail=tail, pooled=True) -
                  bundle_mvar_prompt_weights(p, bundles, 0.2, 0.8, 1.5, tail=tail)).abs().max()) > 1e-3


def test_single_question_bundles_weights_by_hand():
    # b = 1, binary reward: q_γ = 1[p > 1 − γ]; lower c = a_α 1[p > 1 − α]/α + a_β 1[p > 1 − β]/β,
    # upper c = [ω 1[p ≤ 1 − β]/(1 − β) + 1[1 − β < p ≤ 1 − α]/(β − α)]/(1 + ω)
    p = torch.tensor([0.05, 0.5, 0.85, 0.95], dtype=D)
    one = torch.arange(4).reshape(4, 1)
    ca, cb = mvar_coefficients(0.2, 0.9, 1.5)
    lower = torch.tensor([0.0, cb / 0.9, ca / 0.2 + cb / 0.9, ca / 0.2 + cb / 0.9], dtype=D) / 4
    assert torch.allclose(bundle_mvar_prompt_weights(p, one, 0.2, 0.9, 1.5), lower, atol=1e-14)
    upper = torch.tensor([1.5 / 0.2, 1 / 0.6, 0.0, 0.0], dtype=D) / 2.5 / 4  # α, β, ω = 0.2, 0.8, 1.5
    assert torch.allclose(bundle_mvar_prompt_weights(p, one, 0.2, 0.8, 1.5, tail="upper"), upper, atol=1e-14)


def _bernoulli_bundle_gradient(p, bundles, G, advantage):
    """Exact E[ĝ] of a bundle estimator for one-logit Bernoulli prompts (score R − p), by enumerating every reward
    configuration of every bundle: (1/B) Σ_k E[(1/G) Σ_i Â_i (R_{q,i} − p_q)]; ``advantage(R [n, b, G]) → [n, b, G]``."""
    B, b = bundles.shape
    out = torch.zeros_like(p)
    configs = torch.tensor(list(itertools.product((0.0, 1.0), repeat=b * G)), dtype=D).reshape(-1, b, G)
    for k in range(B):
        pk = p[bundles[k]][None, :, None]
        prob = (pk ** configs * (1 - pk) ** (1 - configs)).prod(-1).prod(-1)
        adv = advantage(configs)
        out[bundles[k]] = (prob[:, None] * (adv * (configs - pk)).mean(-1)).sum(0) / B
    return out


@pytest.mark.parametrize("mode", ["eps", "zero"])
def test_expected_track_weights_against_enumeration_of_the_sampled_update(mode):
    """The pooled-reading expected update against brute-force enumeration of the sampled ``track``-mode estimator
    (an independent path: the registry's ``riskpo`` advantage with the pooled quantiles on the mean score, whose
    ε/b equals the code's ε on the summed score; ``zero`` masks all-equal bundles); twin: the batch-quantile weights."""
    from pgtheory.claims.library.l89_riskpo import CODE_EPS, expected_riskpo_weights, expected_track_riskpo_weights

    p = torch.tensor([0.15, 0.5, 0.7, 0.9], dtype=D)
    bundles, b, G = torch.tensor([[0, 2], [1, 3]]), 2, 3
    atoms, pool = pooled_bundle_reward_law(p, bundles)
    q = (value_at_risk(atoms, pool, A), value_at_risk(atoms, pool, B))
    def advantage(R):
        adv = risk_po_advantages(R, "riskpo", quantiles=q, eps=CODE_EPS / b)
        scores = R.mean(-2)
        all_equal = (scores == scores[..., :1]).all(-1)[:, None, None]
        return torch.where(all_equal, torch.zeros_like(adv), adv) if mode == "zero" else adv

    brute = _bernoulli_bundle_gradient(p, bundles, G, advantage)
    cfg = {"bundles": bundles, "alpha": A, "beta": B, "weight": W, "G": G, "all_equal": mode}
    exact = expected_track_riskpo_weights(p, cfg) * p * (1 - p)
    assert torch.allclose(exact, brute, rtol=1e-10, atol=1e-12 * float(brute.abs().max()))
    batch = expected_riskpo_weights(p, cfg) * p * (1 - p)
    assert float((batch - brute).abs().max()) > 1e-2 * float(brute.abs().max())


@pytest.mark.parametrize("b, G", [(2, 3), (3, 4)])
def test_std_credit_weights_against_enumeration_of_the_sampled_update(b, G):
    """The authors' ``credit_assign_mode='std'`` (added 2026-12-01): the exact expected weights against brute-force
    enumeration of the sampled estimator (an independent path: every reward configuration, the registry's ``riskpo``
    batch advantage divided per response by its question's Bessel std over G, or by 1 when that std ≤ 1e-3, plus ε);
    the ``uniform`` path equals :func:`expected_riskpo_weights`; twin: the uniform-credit weights, rejected."""
    from pgtheory.claims.library.l89_riskpo import (CODE_EPS, expected_riskpo_credit_weights, expected_riskpo_weights,
                                                    expected_riskpo_std_credit_weights)

    p = torch.tensor([0.15, 0.5, 0.7, 0.9, 0.35, 0.6], dtype=D)[: 2 * b]
    bundles = torch.arange(2 * b).flip(0).reshape(2, b)

    def advantage(R):
        sd = R.std(-1, unbiased=True, keepdim=True)
        return risk_po_advantages(R, "riskpo", quantile="linear") / (torch.where(sd > 1e-3, sd, torch.ones_like(sd))
                                                                      + CODE_EPS)

    brute = _bernoulli_bundle_gradient(p, bundles, G, advantage)
    cfg = {"bundles": bundles, "alpha": A, "beta": B, "weight": W, "G": G}
    exact = expected_riskpo_std_credit_weights(p, cfg) * p * (1 - p)
    assert torch.allclose(exact, brute, rtol=1e-10, atol=1e-12 * float(brute.abs().max()))
    uniform = expected_riskpo_credit_weights(p, {**cfg, "credit": "uniform"})
    assert torch.allclose(uniform, expected_riskpo_weights(p, cfg), rtol=1e-12, atol=1e-15)
    assert float((uniform * p * (1 - p) - brute).abs().max()) > 1e-2 * float(brute.abs().max())  # twin rejected


def test_track_eps_point_is_degenerate_and_the_rule_by_hand():
    """The referee's finding (2026-12-01): the ψ/ε path's expected update is its all-equal-bundle term (cosine ≈ 1,
    norm ×10³ or more); the declared rule :func:`is_degenerate` by hand, with non-degenerate twins."""
    from pgtheory.claims.library.l89_riskpo import (DEGENERATE_COSINE, _BanditInstance, all_equal_share,
                                                    is_degenerate)

    shares = [all_equal_share(_BanditInstance(seed)) for seed in (0, 1)]
    assert all(x["cosine"] > 0.9999 and x["norm_ratio"] > 1e3 for x in shares)
    assert is_degenerate(shares)
    just = {"cosine": DEGENERATE_COSINE, "norm_ratio": 1.0}
    low = {"cosine": DEGENERATE_COSINE - 1e-3, "norm_ratio": 1.0}
    assert is_degenerate([just, low]) and is_degenerate([just, just, low])
    assert not is_degenerate([just, low, low]) and not is_degenerate([low] * 4)


def test_the_rule_accepts_a_hard_prompt_update_and_rejects_an_easy_prompt_update():
    """The hard-prompt positive twin: the claim's rule (matched-gain entropy, one step and trajectory) must accept an
    update that weights prompt q by 1 − p_q (pushing hard prompts keeps probability spread) and reject one that
    weights it by p_q (sharpening easy prompts), on several instances — so a failure of MVaR is informative."""
    from pgtheory.claims.library.l89_riskpo import _BanditInstance, holds, mean_weights, measure_instance

    for seed in (0, 1, 2):
        inst = _BanditInstance(seed)
        hard = measure_instance(inst, lambda p, cfg: 1 - p, mean_weights, steps=4)
        easy = measure_instance(inst, lambda p, cfg: p.clone(), mean_weights, steps=4)
        assert holds(hard) and hard["one_step_dH"] > 0
        assert not holds(easy) and easy["one_step_dH"] < 0


def test_risk_seeking_sanity_check_and_its_twin():
    from pgtheory.claims.library.l89_riskpo import (_BanditInstance, mean_weights, measure_instance, mvar_weights,
                                                    risk_seeking_checks, risk_seeking_weights)

    insts = [_BanditInstance(seed) for seed in (0, 1)]
    averse = [measure_instance(i, mvar_weights, mean_weights, steps=1) for i in insts]
    seeking = [measure_instance(i, risk_seeking_weights, mean_weights, steps=1) for i in insts]
    assert risk_seeking_checks(insts, averse, seeking) == []
    # twin: an "upper tail" that behaves like the lower one is flagged
    assert len(risk_seeking_checks(insts, averse, averse)) == 1


# ------------------------------------------------------------------ bad input

def test_bad_inputs():
    z, p = torch.tensor([0.0, 1.0], dtype=D), torch.tensor([0.5, 0.5], dtype=D)
    with pytest.raises(ValueError, match="^beta"):
        mixed_value_at_risk(z, p, 0.5, 0.4, 1.0)
    with pytest.raises(ValueError, match="^beta"):
        mixed_value_at_risk(z, p, 0.2, 1.2, 1.0)
    with pytest.raises(ValueError, match="^weight"):
        mixed_value_at_risk(z, p, 0.2, 0.9, -1.0)
    with pytest.raises(ValueError, match="^alpha"):
        mixed_value_at_risk(z, p, 0.0, 0.9, 1.0)
    with pytest.raises(ValueError, match="^alpha"):  # a CDF level of the law: a kink, no gradient
        mvar_policy_gradient(z, p, torch.eye(2, dtype=D) - p, 0.5, 0.9, 1.0)
    with pytest.raises(ValueError, match="^success_probs"):
        bundle_reward_law(torch.tensor([0.2, 1.3], dtype=D))
    with pytest.raises(ValueError, match="^bundles"):
        bundle_mvar_objective(torch.full((4,), 0.5, dtype=D), torch.tensor([[0, 1], [1, 2]]), A, B, W)
    with pytest.raises(TypeError, match="^bundles"):
        bundle_mvar_objective(torch.full((4,), 0.5, dtype=D), torch.tensor([[0.0, 1.0], [2.0, 3.0]]), A, B, W)
    with pytest.raises(ValueError, match="^rewards"):
        risk_po_advantages(torch.zeros(5, dtype=D), "mvar")
    with pytest.raises(ValueError, match="^method"):
        risk_po_advantages(torch.zeros(1, 5, dtype=D), "mvar", quantile="nearest")
    with pytest.raises(ValueError, match="^name"):
        risk_po_advantages(torch.zeros(1, 5, dtype=D), "grpo")
    with pytest.raises(TypeError, match="^eps"):
        risk_po_advantages(torch.zeros(1, 5, dtype=D), "mvar", eps=1e-6)
    with pytest.raises(ValueError, match="^scores"):
        risk_po_gradient_estimate(torch.zeros(1, 5, dtype=D), torch.zeros(1, 4, 3, dtype=D))
    with pytest.raises(ValueError, match="^rewards"):
        risk_po_advantages(torch.tensor([[0.0, float("nan")]], dtype=D), "mvar")
    from pgtheory.claims.library.l89_riskpo import expected_riskpo_credit_weights
    with pytest.raises(ValueError, match="^credit"):
        expected_riskpo_credit_weights(torch.full((2,), 0.5, dtype=D),
                                       {"bundles": torch.tensor([[0, 1]]), "alpha": A, "beta": B, "weight": W, "G": 3,
                                        "credit": "sum-mean"})


# ------------------------------------------------------------------ the claim

@pytest.mark.slow
def test_claim_quick_run_returns_a_complete_record(tmp_path):
    import pgtheory.claims.library.l89_riskpo as mod
    from pgtheory.claims.runner import check

    rec = check([mod.ID], scale="quick", results=tmp_path)[0]
    for key in ("verdict", "summary", "instances", "sensitivity", "kind", "quote", "figure", "quote_source"):
        assert key in rec
    assert rec["kind"] == "empirical" and rec["extension"] is True and len(rec["sensitivity"]) == 12
    assert {p["value"] for p in rec["sensitivity"] if p["constant"] == "reading"} == {
        "pooled track, all-equal bundles ψ/ε (as the code)", "pooled track, all-equal bundles → 0"}
    assert rec["instances"]["count"] == 5
    assert not rec["code_checks"]
    eps = next(p for p in rec["sensitivity"] if p["value"] == "pooled track, all-equal bundles ψ/ε (as the code)")
    assert "all_equal_cosine_median" in eps and "all_equal_norm_ratio_median" in eps and "degenerate" in eps
    assert eps["verdict"] == ("inconclusive" if eps["degenerate"] else eps["verdict_by_rule"])
    assert "'std' credit" in rec["summary"] and "cosine" in rec["summary"]


def test_claim_rules_are_pure_functions():
    from pgtheory.claims.library.l89_riskpo import combined_verdict, family_verdict, holds

    assert family_verdict([True] * 4) == "confirmed" and family_verdict([True, False]) == "qualified"
    assert family_verdict([True, False, False]) == "refuted"
    assert combined_verdict("refuted", "confirmed") == "qualified" and combined_verdict("refuted", "refuted") == "refuted"
    assert combined_verdict("confirmed", "refuted") == "confirmed"
    m = {"stalled": None, "one_step_dH": 1e-3, "mean_traj_dH": 2e-3}
    assert holds(m) and not holds({**m, "stalled": "risk"}) and not holds({**m, "one_step_dH": -1e-6})
    assert holds({**m, "stalled": "base"}) and not holds({**m, "one_step_dH": float("nan")})


def test_bundle_reward_law_clamps_round_off_and_refuses_real_violations():
    """L89's seed-21 run raised on a success probability 1 + O(1e-16) (a softmax sum); round-off is clamped, a real
    violation still raises."""
    atoms, law = bundle_reward_law(torch.tensor([1 + 2e-16, 0.5], dtype=torch.float64))
    assert torch.allclose(law, bundle_reward_law(torch.tensor([1.0, 0.5], dtype=torch.float64))[1], atol=0, rtol=0)
    with pytest.raises(ValueError, match="success_probs: entries must lie in"):
        bundle_reward_law(torch.tensor([1.001, 0.5], dtype=torch.float64))
