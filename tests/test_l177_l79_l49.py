"""PSPO (L177), CFGRL guidance (L79) and policy-gradient subspaces (L49): exact values, properties, twins, bad input."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from pgtheory.estimators import token_surrogate_coefficients
from pgtheory.estimators.pspo import smoothed_distribution, smoothed_ratio
from pgtheory.estimators.token_surrogates import TOKEN_SURROGATES
from pgtheory.exact import advantages, objective, policy_gradient
from pgtheory.exact.gradient_subspaces import loss_hessian, subspace_fraction, subspace_overlap, top_eigenspace
from pgtheory.exact.guidance import guidance_curve, guided_policy, log_optimality_factor
from pgtheory.policies import TabularSoftmax
from pgtheory.problems import garnet

pytestmark = pytest.mark.usefixtures("one_torch_thread")
D = torch.float64


# -- PSPO -------------------------------------------------------------------------------------------------------------

def _token_batch():
    """Two groups of two one-token responses; log-ratios far outside PPO's clip region, both signs of A."""
    lo = torch.log(torch.tensor([[[0.5], [0.25]], [[0.2], [0.4]]], dtype=D))
    lp = lo + torch.tensor([[[1.0], [-1.0]], [[0.7], [-0.9]]], dtype=D)  # r = e^{±1}, e^{0.7}, e^{−0.9}
    adv = torch.tensor([[1.0, -1.0], [-2.0, 0.5]], dtype=D)
    mask = torch.ones_like(lp, dtype=torch.bool)
    return lp, lo, adv, mask, torch.full_like(lp, 0.25)


def test_smoothed_ratio_hand_values_and_shrinkage():
    r = torch.tensor([2.0, 0.5, 1.0], dtype=D)
    assert torch.allclose(smoothed_ratio(r, 0.25), torch.tensor([1.75, 0.625, 1.0], dtype=D), atol=1e-15)
    assert torch.allclose(smoothed_ratio(r, 0.3) - 1, 0.7 * (r - 1), atol=1e-15)
    assert torch.equal(smoothed_ratio(r, 0.0), r)


def test_pspo_coefficient_is_exactly_one_minus_alpha_times_unclipped_and_never_zero():
    lp, lo, adv, mask, w = _token_batch()
    assert {"pspo", "pspo_clip"} <= set(TOKEN_SURROGATES.names())
    for alpha in (0.05, 0.1, 0.5):
        c = token_surrogate_coefficients("pspo", lp, lo, adv, mask, w, alpha=alpha)
        c_pg = token_surrogate_coefficients("pg", lp, lo, adv, mask, w)
        assert torch.allclose(c, (1 - alpha) * c_pg, rtol=1e-13, atol=0)
        assert bool((c != 0).all())
    # twin: PPO's clip zeroes these tokens' gradient where the clip is active in A's direction (r > 1.2, A > 0 ...)
    c_clip = token_surrogate_coefficients("ppo_clip", lp, lo, adv, mask, w, eps=0.2)
    # zero for r = e with A > 0 and r = e^{−1} with A < 0; kept where the min picks the unclipped term
    # (r = e^{0.7} with A < 0, r = e^{−0.9} with A > 0)
    assert (c_clip == 0).squeeze(-1).tolist() == [[True, True], [False, False]]


def test_pspo_clip_is_ppo_clip_at_a_wider_width_rescaled():
    lp, lo, adv, mask, w = _token_batch()
    alpha, eps = 0.2, 0.2
    c = token_surrogate_coefficients("pspo_clip", lp, lo, adv, mask, w, alpha=alpha, eps=eps)
    c_ppo = token_surrogate_coefficients("ppo_clip", lp, lo, adv, mask, w, eps=eps / (1 - alpha))
    assert torch.allclose(c, (1 - alpha) * c_ppo, rtol=1e-13, atol=1e-15)


def test_smoothing_contracts_tv_exactly_and_kl_by_convexity():
    g = torch.Generator().manual_seed(3)
    p = torch.softmax(3 * torch.randn(200, 5, generator=g, dtype=D), -1)
    q = torch.softmax(torch.randn(200, 5, generator=g, dtype=D), -1)
    for alpha in (0.1, 0.5, 0.9):
        s = smoothed_distribution(p, q, alpha)
        assert torch.allclose(s.sum(-1), torch.ones(200, dtype=D), atol=1e-14)
        tv, tv_s = 0.5 * (p - q).abs().sum(-1), 0.5 * (s - q).abs().sum(-1)
        assert torch.allclose(tv_s, (1 - alpha) * tv, atol=1e-14)
        kl, kl_s = (p * (p / q).log()).sum(-1), (s * (s / q).log()).sum(-1)
        assert bool((kl_s <= (1 - alpha) * kl + 1e-14).all())
        assert bool((kl_s < (1 - alpha) * kl).any())  # strict somewhere: the bound is an inequality, not an identity


def test_pspo_bad_input():
    with pytest.raises(ValueError, match="^alpha:"):
        smoothed_ratio(torch.ones(2, dtype=D), 1.0)
    with pytest.raises(ValueError, match="^alpha:"):
        smoothed_ratio(torch.ones(2, dtype=D), -0.1)
    with pytest.raises(TypeError, match="^ratio:"):
        smoothed_ratio([1.0, 2.0], 0.1)
    with pytest.raises(ValueError, match="^probs:"):
        smoothed_distribution(torch.tensor([0.5, 0.6], dtype=D), torch.tensor([0.5, 0.5], dtype=D))
    with pytest.raises(ValueError, match="^probs_old:"):
        smoothed_distribution(torch.tensor([0.5, 0.5], dtype=D), torch.tensor([1.0], dtype=D))
    lp, lo, adv, mask, w = _token_batch()
    with pytest.raises(ValueError, match="^alpha:"):
        token_surrogate_coefficients("pspo", lp, lo, adv, mask, w, alpha=1.5)


# -- guidance (CFGRL) -----------------------------------------------------------------------------------------------------

def test_guided_policy_hand_values_and_cfg_form():
    pi = torch.tensor([[0.5, 0.5], [0.2, 0.8]], dtype=D)
    lf = torch.tensor([[0.0, math.log(2.0)], [math.log(3.0), 0.0]], dtype=D)
    assert torch.allclose(guided_policy(pi, lf, 1.0), torch.tensor([[1 / 3, 2 / 3], [0.6 / 1.4, 0.8 / 1.4]], dtype=D), atol=1e-15)
    assert torch.allclose(guided_policy(pi, lf, 0.0), pi, atol=1e-15)
    # classifier-free guidance: π_w ∝ π̂^{1−w} π_cond^w with π_cond = π_1
    cond = guided_policy(pi, lf, 1.0)
    for w in (0.5, 2.5, 7.0):
        cfg = pi ** (1 - w) * cond ** w
        assert torch.allclose(guided_policy(pi, lf, w), cfg / cfg.sum(-1, keepdim=True), atol=1e-13)
    assert guided_policy(pi, lf, torch.tensor([0.0, 1.0], dtype=D)).shape == (2, 2, 2)


def test_guidance_improves_and_is_monotone_on_a_contextual_bandit_and_the_decreasing_twin_is_not():
    mdp = garnet(6, 3, 2, discount=0.0, seed=11)
    pi = torch.softmax(torch.randn(6, 3, generator=torch.Generator().manual_seed(1), dtype=D), -1)
    w = torch.linspace(0, 8, 41, dtype=D)
    j_ref = float(objective(mdp, pi))
    for kind in ("sigmoid", "exp"):
        J = guidance_curve(mdp, pi, w, kind, 0.25)
        assert abs(float(J[0]) - j_ref) < 1e-12
        assert bool((J.diff() >= -1e-12).all()) and float(J[-1]) > j_ref + 1e-3
    twin = guidance_curve(mdp, pi, w, "anti_sigmoid", 0.25)
    assert bool((twin[1:] < j_ref).all())
    # the bandit derivative: d/dw J at w = 0 equals Σ_s ρ(s) Cov_π̂(A, log f) (exp factor: log f = A/T)
    A = advantages(mdp, pi)
    T = 0.25 * float(A.abs().max())
    cov = (pi * A * (A / T)).sum(-1) - (pi * A).sum(-1) * (pi * A / T).sum(-1)
    h = 1e-6
    slope = (guidance_curve(mdp, pi, torch.tensor([h], dtype=D), "exp", 0.25) - j_ref) / h
    assert abs(float(slope) - float((mdp.initial * cov).sum())) < 1e-5


def test_guidance_need_not_be_monotone_in_w_on_an_mdp():
    """The L79 finding pinned: on the quick seed's γ = 0.9 Garnets some exp-factor curve J(π_w) peaks inside (0, 10)
    and falls by more than round-off — yet stays above J(π̂) (improvement over the reference holds)."""
    from pgtheory.claims.library.l79_cfgrl_guidance import W_GRID, _instances

    dips = []
    for mdp, pi in _instances(8, 0):
        if mdp.discount > 0:
            J = guidance_curve(mdp, pi, W_GRID, "exp", 0.25)
            assert bool((J >= float(objective(mdp, pi)) - 1e-10).all())
            dips.append(float(J.max() - J[-1]))
    assert max(dips) > 1e-4


def test_guidance_bad_input():
    pi = torch.full((2, 2), 0.5, dtype=D)
    with pytest.raises(ValueError, match="^weight:"):
        guided_policy(pi, torch.zeros(2, 2, dtype=D), -1.0)
    with pytest.raises(ValueError, match="^pi_ref:"):
        guided_policy(torch.tensor([[1.0, 0.0], [0.5, 0.5]], dtype=D), torch.zeros(2, 2, dtype=D), 1.0)
    with pytest.raises(ValueError, match="^log_factor:"):
        guided_policy(pi, torch.zeros(3, dtype=D), 1.0)
    with pytest.raises(ValueError, match="^kind:"):
        log_optimality_factor(torch.zeros(2, dtype=D), "step", 1.0)
    with pytest.raises(ValueError, match="^temperature:"):
        log_optimality_factor(torch.zeros(2, dtype=D), "exp", 0.0)


# -- gradient subspaces ------------------------------------------------------------------------------------------------------

def test_loss_hessian_is_minus_the_jacobian_of_the_exact_gradient():
    """Against central differences of the PG-theorem gradient (pgtheory.exact.hessian agrees to 4e-16 but its torch.func
    transform costs seconds on a first call)."""
    mdp = garnet(4, 3, 2, discount=0.8, seed=5)
    pol = TabularSoftmax(4, 3)
    th = pol.random_params(generator=torch.Generator().manual_seed(2))
    h, n = 1e-5, th.numel()
    fd = torch.stack([(policy_gradient(mdp, pol, th + h * e.view_as(th)) - policy_gradient(mdp, pol, th - h * e.view_as(th))).reshape(-1)
                      / (2 * h) for e in torch.eye(n, dtype=D)], 1)
    H = loss_hessian(mdp, pol, th)
    assert torch.allclose(H, H.T, atol=1e-12) and torch.allclose(H, -fd, atol=1e-8, rtol=0)


def test_subspace_statistics_hand_values():
    H = torch.diag(torch.tensor([3.0, -5.0, 1.0], dtype=D))
    lam, V = top_eigenspace(H, 1, "signed")
    assert float(lam[0]) == 3.0 and torch.allclose(V[:, 0].abs(), torch.tensor([1.0, 0, 0], dtype=D))
    lam, V = top_eigenspace(H, 1, "magnitude")
    assert float(lam[0]) == -5.0
    g = torch.tensor([3.0, 4.0, 0.0], dtype=D)
    e1 = torch.tensor([[1.0], [0.0], [0.0]], dtype=D)
    assert subspace_fraction(g, e1) == pytest.approx(9 / 25, abs=1e-15)
    e12 = torch.eye(3, dtype=D)[:, :2]
    assert subspace_fraction(g, e12) == pytest.approx(1.0, abs=1e-15)
    assert subspace_overlap(e12, e12) == pytest.approx(1.0, abs=1e-15)
    assert subspace_overlap(e1, torch.eye(3, dtype=D)[:, 2:]) == 0.0
    assert subspace_overlap(e12, torch.eye(3, dtype=D)[:, 1:]) == pytest.approx(0.5, abs=1e-15)


def test_random_subspace_twin_sits_at_chance():
    from pgtheory.claims.library.l49_pg_subspaces import _range_basis

    R = _range_basis(4, 3)
    shift = torch.kron(torch.eye(4, dtype=D), torch.ones(3, 1, dtype=D))
    assert torch.allclose(R.T @ R, torch.eye(8, dtype=D), atol=1e-13) and float((shift.T @ R).abs().max()) < 1e-13
    g = R @ torch.randn(8, generator=torch.Generator().manual_seed(0), dtype=D)
    gen = torch.Generator().manual_seed(1)
    Q = R @ torch.linalg.qr(torch.randn(4000, 8, 2, generator=gen, dtype=D))[0]  # 4000 Haar 2-frames of the range
    fr = [subspace_fraction(g, q) for q in Q[:200]]
    assert subspace_fraction(g, Q[0]) == pytest.approx(float(((Q[0].T @ g) ** 2).sum() / (g @ g)), abs=1e-15)
    mean = float(((Q.transpose(1, 2) @ g).pow(2).sum((1,)) / (g @ g)).mean())
    assert len(fr) == 200 and mean == pytest.approx(2 / 8, abs=0.01)  # E S_frac = k/m for a Haar subspace (sd of the mean ≈ 0.003)


def test_checkpoint_placements():
    from pgtheory.claims.library.l49_pg_subspaces import _checkpoint_steps

    assert _checkpoint_steps(np.linspace(0.0, 1.0, 301), "uniform_steps") == list(range(0, 201, 20))
    gain = np.array([0.0, 0.5, 0.8, 0.9, 0.95, 1.0])  # levels 0 | 0.1–0.5 | 0.6–0.8 | 0.9: steps 0, 1, 2, 3
    assert _checkpoint_steps(gain, "matched_progress") == [0, 1, 2, 3]
    with pytest.raises(ValueError, match="^placement:"):
        _checkpoint_steps(gain, "every_step")


def test_subspace_bad_input():
    with pytest.raises(ValueError, match="^k:"):
        top_eigenspace(torch.eye(3, dtype=D), 4)
    with pytest.raises(ValueError, match="^hessian:"):
        top_eigenspace(torch.tensor([[0.0, 1.0], [0.0, 0.0]], dtype=D), 1)
    with pytest.raises(ValueError, match="^order:"):
        top_eigenspace(torch.eye(3, dtype=D), 1, "abs")
    with pytest.raises(ValueError, match="^gradient:"):
        subspace_fraction(torch.zeros(3, dtype=D), torch.eye(3, dtype=D)[:, :1])
    with pytest.raises(ValueError, match="^basis:"):
        subspace_fraction(torch.ones(3, dtype=D), torch.eye(2, dtype=D))
    with pytest.raises(ValueError, match="^basis_b:"):
        subspace_overlap(torch.eye(3, dtype=D)[:, :1], torch.eye(3, dtype=D)[:, :2])
    with pytest.raises(ValueError, match="^theta:"):
        loss_hessian(garnet(3, 2, 2, seed=0), TabularSoftmax(3, 2), torch.zeros(2, 3, 2, dtype=D))


# -- the claims' quick runs ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("module, claim_id", [("l177_pspo", "L177-pspo-soft-trust-region"),
                                              ("l79_cfgrl_guidance", "L79-cfgrl-guidance-improvement"),
                                              ("l49_pg_subspaces", "L49-pg-gradient-subspaces")])
def test_claim_quick_run_returns_a_complete_record(tmp_path, module, claim_id):
    import importlib

    from pgtheory.claims.protocol import validate_record
    from pgtheory.claims.runner import check

    importlib.import_module(f"pgtheory.claims.library.{module}")
    (rec,) = check([claim_id], scale="quick", results=tmp_path)
    validate_record(rec)
    assert rec["verdict"] in ("confirmed", "refuted", "qualified", "inconclusive")
    assert rec["instances"]["count"] >= 3 and rec["figure"]
    if claim_id.startswith("L49"):
        # the checkpoint placement is a declared constant with the first version's uniform placement as a sweep point
        assert rec["constants"]["checkpoints"] == ["matched_progress", "uniform_steps"]
        (pt,) = [p for p in rec["sensitivity"] if p["constant"] == "checkpoints"]
        assert pt["value"] == "uniform_steps" and len(pt["mean_frac"]) == rec["instances"]["count"]
        assert len(rec["details"]["uniform_steps"]["checkpoint_steps"]) == 11


def test_l49_replication_rule_counts_instances_not_float_shares():
    """1 of 5 instances holding is a refutation (≤ 1 − 0.8 of them), 4 of 5 a confirmation, 2–3 of 5 qualified; a
    twin that passes makes any count inconclusive. (The share comparison 0.2 ≤ 1 − 0.8 is False in floating point.)"""
    from pgtheory.claims.library.l49_pg_subspaces import _decide

    def rows(k, n=5, twin=False):
        return [{"holds": i < k, "twin_passes": twin and i == 0} for i in range(n)]

    assert [_decide(rows(k)) for k in range(6)] == ["refuted", "refuted", "qualified", "qualified", "confirmed",
                                                     "confirmed"]
    assert _decide(rows(5, twin=True)) == "inconclusive"
    assert _decide(rows(8, 10)) == "confirmed" and _decide(rows(2, 10)) == "refuted" and _decide(rows(3, 10)) == "qualified"
