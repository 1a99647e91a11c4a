"""Distributional control operators (C51 theory, L191) and quantile regression / distortions (IQN, L231).

Everything is exact except ``test_sgd_quantile_regression_is_consistent_and_rejects_a_near_twin``: B = 400 runs of
N = 4000 draws from Uniform{0, 1/999, …, 1} (1000 atoms; median 0.5 — the lower quantile at τ = 0.5 is atom 499/999),
suffix-averaged SGD at τ = 0.5. The run means are compared with the truth and with a twin truth + 0.02 by a t
statistic with threshold 5 (two-sided p ≈ 6e-7 under the null). Power: the per-run sd of the estimate is about
sqrt(τ(1−τ)/(N/2))/f = 0.011 (f = 1 on [0, 1]), so the standard error of the mean over 400 runs is ≈ 5.6e-4 and the twin
offset 0.02 is ≈ 36 standard errors: rejected with probability ≈ 1. Measured on this seed: see the assertion values.
"""
import importlib
import math
from dataclasses import replace

import numpy as np
import pytest
import torch

from pgtheory.exact.bellman_losses import huber
from pgtheory.estimators.quantile_regression import (DISTORTIONS, bisect_inverse, distorted_expectation,
                                                     distorted_levels, distortion, distortion_inverse,
                                                     expected_quantile_huber_loss, quantile_huber_gradient,
                                                     quantile_huber_loss, quantile_huber_minimiser,
                                                     sgd_quantile_regression)
from pgtheory.exact.distributional import bellman_pushforward, categorical_projection
from pgtheory.exact.distributional_control import (ActionValueLaws, categorical_evaluation_fixed_point,
                                                   categorical_projection_map, compact, control_operator,
                                                   evaluation_operator, greedy_policy, mean_evaluation_operator,
                                                   non_contraction_example, reward_law, action_sup_kolmogorov,
                                                   action_sup_wasserstein1, tied_oscillation_example)
from pgtheory.exact.evaluation import evaluate_policy
from pgtheory.exact.risk_measures import cvar, value_at_risk, wasserstein1
from pgtheory.problems import garnet
from pgtheory.problems.mdp import TabularMDP

F64 = torch.float64
T = lambda *x: torch.tensor(x, dtype=F64)  # noqa: E731

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _bernoulli(seed: int, gamma: float = 0.9):
    mdp = garnet(4, 2, 2, discount=gamma, seed=seed)
    return mdp, reward_law(mdp, T(0.0, 1.0), torch.stack([1 - mdp.rewards, mdp.rewards], -1))


def _laws(S, A, K, seed, lo=-3.0, hi=8.0):
    g = torch.Generator().manual_seed(seed)
    z = torch.sort(lo + (hi - lo) * torch.rand(K, generator=g, dtype=F64)).values
    p = torch.rand(S, A, K, generator=g, dtype=F64) + 0.05
    return ActionValueLaws(z, p / p.sum(-1, keepdim=True))


def _policy(S, A, seed):
    return torch.softmax(torch.randn(S, A, generator=torch.Generator().manual_seed(seed), dtype=F64), -1)


# ---------------------------------------------------------------- evaluation operator


def test_evaluation_operator_hand_computed_one_state():
    # one state, one action, R ∈ {0, 1} w.p. 1/2, γ = 1/2, Z0 = δ_0: TZ = ½δ_0 + ½δ_1; T²Z = ¼ each on {0, .5, 1, 1.5}
    mdp = TabularMDP(torch.ones(1, 1, 1, dtype=F64), T(0.5).reshape(1, 1), 0.5, T(1.0))
    rw = reward_law(mdp, T(0.0, 1.0), T(0.5, 0.5).reshape(1, 1, 2))
    pi = torch.ones(1, 1, dtype=F64)
    z1 = evaluation_operator(mdp, pi, ActionValueLaws(T(0.0), torch.ones(1, 1, 1, dtype=F64)), rw)
    assert torch.equal(z1.support, T(0.0, 1.0)) and torch.allclose(z1.probs, T(0.5, 0.5).reshape(1, 1, 2))
    z2 = evaluation_operator(mdp, pi, z1, rw)
    assert torch.allclose(z2.support, T(0.0, 0.5, 1.0, 1.5)) and torch.allclose(z2.probs, torch.full((1, 1, 4), 0.25, dtype=F64))


def test_compact_merges_ties_and_drops_zero_atoms():
    out = compact(T(2.0, 1.0, 2.0, 5.0), T(0.25, 0.5, 0.25, 0.0).reshape(1, 4))
    assert torch.equal(out.support, T(1.0, 2.0)) and torch.equal(out.probs, T(0.5, 0.5).reshape(1, 2))


def test_mean_of_the_distributional_operator_is_the_classical_operator():
    mdp, rw = _bernoulli(3)
    z, pi = _laws(4, 2, 5, 0), _policy(4, 2, 1)
    tz = evaluation_operator(mdp, pi, z, rw)
    assert (tz.means() - mean_evaluation_operator(mdp, pi, z.means())).abs().max() < 1e-12


def test_state_action_operator_matches_the_state_pushforward():
    # deterministic rewards and Z(s, a) = η(s): the π-mixture over a of (T^π Z)(s, a) is bellman_pushforward(η)(s)
    mdp = garnet(3, 2, 2, discount=0.8, seed=5)
    pi = _policy(3, 2, 2)
    g = torch.Generator().manual_seed(4)
    atoms = torch.sort(torch.rand(4, generator=g, dtype=F64)).values
    eta = torch.softmax(torch.randn(3, 4, generator=g, dtype=F64), -1)
    tz = evaluation_operator(mdp, pi, ActionValueLaws(atoms, eta[:, None, :].expand(3, 2, 4).clone()))
    mixed = (pi[:, :, None] * tz.probs).sum(1)
    za, pa = bellman_pushforward(mdp, pi, atoms, eta)
    assert float(wasserstein1(tz.support, mixed, za, pa).max()) < 1e-12


def test_evaluation_operator_contracts_by_gamma_and_twins_fail():
    ratios, ks_ratios, twin_ratios = [], [], []
    for seed in range(4):
        mdp, rw = _bernoulli(seed, 0.7)
        pi = _policy(4, 2, seed)
        twin = replace(mdp, discount=0.85)
        for j in range(3):
            a, b = _laws(4, 2, 4, 10 * seed + j), _laws(4, 2, 4, 100 + 10 * seed + j)
            for _ in range(4):
                ta, tb = evaluation_operator(mdp, pi, a, rw), evaluation_operator(mdp, pi, b, rw)
                ratios.append(action_sup_wasserstein1(ta, tb) / action_sup_wasserstein1(a, b))
                ks_ratios.append(action_sup_kolmogorov(ta, tb) / action_sup_kolmogorov(a, b))
                wa, wb = evaluation_operator(twin, pi, a, rw), evaluation_operator(twin, pi, b, rw)
                twin_ratios.append(action_sup_wasserstein1(wa, wb) / action_sup_wasserstein1(a, b))
                a, b = ta, tb
    assert max(ratios) <= 0.7 * (1 + 1e-10)
    assert max(ks_ratios) > 0.7  # the wrong metric: not contracted by γ
    assert max(twin_ratios) > 0.7  # the wrong operator (discount 0.85) violates the γ = 0.7 bound


def test_contraction_ratio_approaches_gamma():
    # W1 ≥ |Δ mean| makes d_k/γ^k non-increasing with a positive limit: the one-step ratio tends to γ
    mdp, rw = _bernoulli(7, 0.8)
    pi = _policy(4, 2, 7)
    a, b = _laws(4, 2, 4, 1), _laws(4, 2, 4, 2, lo=0.0, hi=12.0)
    d = [action_sup_wasserstein1(a, b)]
    for _ in range(10):
        a, b = evaluation_operator(mdp, pi, a, rw), evaluation_operator(mdp, pi, b, rw)
        d.append(action_sup_wasserstein1(a, b))
    assert abs(d[-1] / d[-2] - 0.8) < 1e-3


# ---------------------------------------------------------------- control operator


def test_greedy_policy_tie_breaking():
    laws = ActionValueLaws(T(0.0, 1.0), T(0.5, 0.5, 0.5, 0.5, 0.0, 1.0).reshape(1, 3, 2))  # means 0.5, 0.5, 1
    assert torch.equal(greedy_policy(laws), T(0.0, 0.0, 1.0).reshape(1, 3))
    tied = ActionValueLaws(T(0.0, 1.0), T(0.5, 0.5, 0.0, 1.0, 0.5, 0.5).reshape(1, 3, 2))  # means 0.5, 1, 0.5
    assert torch.equal(greedy_policy(tied), T(0.0, 1.0, 0.0).reshape(1, 3))
    even = ActionValueLaws(T(0.0, 1.0), torch.full((1, 3, 2), 0.5, dtype=F64))
    assert torch.equal(greedy_policy(even, "first"), T(1.0, 0.0, 0.0).reshape(1, 3))
    assert torch.equal(greedy_policy(even, "last"), T(0.0, 0.0, 1.0).reshape(1, 3))
    with pytest.raises(ValueError, match="^tie_break"):
        greedy_policy(even, "random")


@pytest.mark.parametrize("eps,gamma", [(0.05, 0.9), (0.2, 0.9), (0.1, 0.5)])
def test_proposition1_control_operator_is_not_a_contraction(eps, gamma):
    ex, z = non_contraction_example(eps, gamma)
    ts, pi_star = control_operator(ex.mdp, ex.z_star, ex.rewards)
    assert action_sup_wasserstein1(ts, ex.z_star) == 0.0 and int(pi_star[1].argmax()) == 1  # Z* is the fixed point
    tz, pi = control_operator(ex.mdp, z, ex.rewards)
    assert int(pi[1].argmax()) == 0  # the perturbed Z makes a1 greedy at x2
    assert math.isclose(action_sup_wasserstein1(z, ex.z_star), 2 * eps, rel_tol=1e-12)
    ratio = action_sup_wasserstein1(tz, ts) / action_sup_wasserstein1(z, ex.z_star)
    assert math.isclose(ratio, gamma / (2 * eps), rel_tol=1e-12) and ratio > 1


def _iterate(ex, z, n):
    d, acts, means = [], [], []
    for _ in range(n):
        new, pi = control_operator(ex.mdp, z, ex.rewards)
        d.append(float(wasserstein1(z.support, z.probs[0, 0], new.support, new.probs[0, 0])))
        acts.append(int(pi[1].argmax()))
        means.append(float(new.means()[0, 0]))
        z = new
    return np.array(d), acts, np.array(means)


def test_tied_actions_make_the_control_iterates_oscillate_and_the_twin_converges():
    z0 = _laws(4, 2, 3, 11, lo=-2.0, hi=2.0)
    ex = tied_oscillation_example(0.7, 1.0, 1.5, 0.0)
    d, acts, means = _iterate(ex, z0, 16)
    assert all(acts[k] != acts[k + 1] for k in range(1, 15))  # from k = 1 on, the greedy action at s alternates
    assert d[-1] > 0.05 and d[-1] > 0.5 * d[-5]  # the law at x0 keeps moving
    assert abs(means[-1]) <= 0.7 ** 16 * float(z0.means().abs().max()) + 1e-12  # while E Z → Q* = 0 (Lemma 4)
    twin = tied_oscillation_example(0.7, 1.0, 1.5, 0.3)
    dt, acts_t, _ = _iterate(twin, z0, 16)
    assert acts_t[-4:] == [1, 1, 1, 1] and dt[-1] < 0.1 * d[-1] and dt[-1] < 0.5 * dt[-5]  # unique optimum: converges


# ---------------------------------------------------------------- categorical projection and fixed point


def test_categorical_projection_map_equals_categorical_projection():
    z = torch.linspace(0, 4, 9, dtype=F64)
    x = T(-1.0, 0.0, 0.3, 2.0, 3.99, 4.0, 7.0)
    lo, frac = categorical_projection_map(x, z)
    dense = torch.zeros(7, 9, dtype=F64)
    dense[range(7), lo] += 1 - frac
    dense[range(7), lo + 1] += frac
    assert (dense - categorical_projection(x[:, None], torch.ones(7, 1, dtype=F64), z)).abs().max() == 0


def test_categorical_fixed_point_preserves_means_and_meets_its_bound():
    mdp, rw = _bernoulli(2, 0.6)
    pi = _policy(4, 2, 3)
    hi = 1 / (1 - 0.6)
    ref = categorical_evaluation_fixed_point(mdp, pi, torch.linspace(0, hi, 2001, dtype=F64), rw, tol=1e-13)
    q = evaluate_policy(mdp, pi).q
    errs = []
    for m in (6, 11, 21):
        fp = categorical_evaluation_fixed_point(mdp, pi, torch.linspace(0, hi, m, dtype=F64), rw, tol=1e-13)
        assert (fp.laws.means() - q).abs().max() < 1e-10
        e = action_sup_wasserstein1(fp.laws, ref.laws)
        assert e <= (hi / (m - 1)) / (2 * 0.4) + 2 * ref.error_bound
        errs.append(e)
    assert errs[0] > errs[1] > errs[2]
    with pytest.raises(ValueError, match="^support"):
        categorical_evaluation_fixed_point(mdp, pi, torch.linspace(0, 1, 5, dtype=F64), rw)


def test_distributional_control_bad_inputs():
    mdp, _ = _bernoulli(0)
    with pytest.raises(ValueError, match="^probs"):
        reward_law(mdp, T(0.0, 1.0), torch.full((4, 2, 2), 0.5, dtype=F64))  # means 0.5 ≠ rewards
    with pytest.raises(ValueError, match="^values"):
        reward_law(mdp, T(1.0, 0.0), torch.full((4, 2, 2), 0.5, dtype=F64))
    with pytest.raises(ValueError, match="^probs"):
        evaluation_operator(mdp, _policy(4, 2, 0), ActionValueLaws(T(0.0, 1.0), torch.full((4, 3, 2), 0.5, dtype=F64)))
    with pytest.raises(TypeError, match="^laws"):
        evaluation_operator(mdp, _policy(4, 2, 0), (T(0.0), torch.ones(4, 2, 1, dtype=F64)))
    with pytest.raises(ValueError, match="^epsilon"):
        non_contraction_example(1.5)
    with pytest.raises(ValueError, match="^gap"):
        tied_oscillation_example(gap=-0.1)


# ---------------------------------------------------------------- quantile-Huber loss


def test_quantile_huber_hand_values():
    assert torch.allclose(huber(T(0.5, -2.0), 1.0), T(0.125, 1.5))
    assert torch.allclose(quantile_huber_loss(T(2.0, -2.0, 0.5), 0.25, 1.0), T(0.375, 1.125, 0.03125))
    assert torch.allclose(quantile_huber_loss(T(2.0, -2.0), 0.25, 0.0), T(0.5, 1.5))  # pinball
    assert torch.allclose(quantile_huber_gradient(T(2.0, -2.0, 0.5), 0.25, 1.0), T(-0.25, 0.75, -0.125))
    assert torch.allclose(quantile_huber_gradient(T(2.0, -2.0), 0.25, 0.0), T(-0.25, 0.75))


def test_quantile_huber_tends_to_the_pinball_loss():
    u = torch.linspace(-3, 3, 601, dtype=F64)
    for kappa in (1e-2, 1e-4, 1e-6):
        gap = (quantile_huber_loss(u, 0.3, kappa) - quantile_huber_loss(u, 0.3, 0.0)).abs().max()
        assert gap <= kappa / 2 + 1e-15  # |ρ^κ − ρ| ≤ max(τ, 1−τ)·κ/2


def test_quantile_huber_gradient_is_the_derivative():
    u = T(-2.5, -0.7, -0.2, 0.3, 0.8, 3.0)
    for kappa in (0.0, 0.5, 1.0):
        theta = torch.zeros_like(u, requires_grad=True)
        quantile_huber_loss(u - theta, 0.7, kappa).sum().backward()
        assert torch.allclose(theta.grad, quantile_huber_gradient(u, 0.7, kappa), atol=1e-14)


def test_minimiser_of_expected_pinball_loss_is_the_quantile_and_huber_is_not():
    g = torch.Generator().manual_seed(3)
    z = torch.randn(40, generator=g, dtype=F64)
    p = torch.rand(40, generator=g, dtype=F64)
    p = p / p.sum()
    taus = T(0.1, 0.33, 0.5, 0.9)
    q = torch.stack([value_at_risk(z, p, float(t)) for t in taus])
    assert torch.equal(quantile_huber_minimiser(z, p, taus, 0.0), q)
    # exact: the convex piecewise-linear expected pinball loss is minimised over the atoms at the quantile
    losses = expected_quantile_huber_loss(z, p, z[:, None], taus[None, :], 0.0)  # [atoms, taus]
    assert torch.equal(z[losses.argmin(0)], q)
    # κ > 0: the root of the expected gradient; a local check and the twin (it is not the quantile for κ = 1)
    hub = quantile_huber_minimiser(z, p, taus, 1.0)
    for d in (1e-6, -1e-6):
        assert bool((expected_quantile_huber_loss(z, p, hub + d, taus, 1.0) >= expected_quantile_huber_loss(z, p, hub, taus, 1.0) - 1e-15).all())
    assert (hub - q).abs().max() > 0.05
    assert (quantile_huber_minimiser(z, p, taus, 1e-9) - q).abs().max() < 1e-6  # κ → 0 recovers the quantile


def test_sgd_quantile_regression_is_consistent_and_rejects_a_near_twin():
    g = torch.Generator().manual_seed(0)
    z = torch.linspace(0, 1, 1000, dtype=F64)
    y = z[torch.randint(0, 1000, (400, 4000), generator=g)]
    est = sgd_quantile_regression(y, T(0.5), 0.0, lr=0.3, checkpoints=[400, 4000])  # [B, 2, 1]
    assert est.shape == (400, 2, 1)
    truth = float(value_at_risk(z, torch.full((1000,), 1e-3, dtype=F64), 0.5))
    e = est[:, -1, 0]
    t_true = (float(e.mean()) - truth) / (float(e.std()) / 20)
    t_twin = (float(e.mean()) - truth - 0.02) / (float(e.std()) / 20)
    assert abs(t_true) < 5 and abs(t_twin) > 5
    assert float((est[:, 0, 0] - truth).abs().mean()) > float((e - truth).abs().mean())  # error falls with N


def test_sgd_with_huber_loss_learns_the_huber_minimiser_not_the_quantile():
    # law on [0, 1] and κ = 1: the loss is quadratic on the support, so the minimiser is the 0.9-expectile
    # (0.9(1−θ)² = 0.1θ² on Uniform[0, 1]: θ = 0.75), far from the 0.9-quantile
    g = torch.Generator().manual_seed(1)
    z = torch.linspace(0, 1, 1000, dtype=F64)
    p = torch.full((1000,), 1e-3, dtype=F64)
    hub = float(quantile_huber_minimiser(z, p, T(0.9), 1.0)[0])
    assert abs(hub - 0.75) < 1e-3
    y = z[torch.randint(0, 1000, (200, 4000), generator=g)]
    e = sgd_quantile_regression(y, T(0.9), 1.0, lr=1.0)[:, -1, 0]
    # finite-N SGD bias and noise are O(1e-3) here (measured: mean 0.7500, s.e. 3e-4), the twin offset is 0.15
    assert abs(float(e.mean()) - hub) < 0.01
    assert abs(float(e.mean()) - float(value_at_risk(z, p, 0.9))) > 0.1


def test_quantile_regression_bad_inputs():
    with pytest.raises(ValueError, match="^tau"):
        quantile_huber_loss(T(1.0), 1.0, 0.5)
    with pytest.raises(ValueError, match="^kappa"):
        quantile_huber_loss(T(1.0), 0.5, -1.0)
    with pytest.raises(ValueError, match="^samples"):
        sgd_quantile_regression(T(1.0, 2.0), T(0.5), 0.0)
    with pytest.raises(ValueError, match="^checkpoints"):
        sgd_quantile_regression(torch.zeros(2, 10, dtype=F64), T(0.5), 0.0, checkpoints=[5, 3])
    with pytest.raises(ValueError, match="^power"):
        sgd_quantile_regression(torch.zeros(2, 10, dtype=F64), T(0.5), 0.0, power=0.4)


# ---------------------------------------------------------------- distortions


def test_cvar_distortion_is_exactly_cvar_and_neutral_is_the_mean():
    g = torch.Generator().manual_seed(1)
    z = torch.randn(3, 30, generator=g, dtype=F64)
    p = torch.softmax(torch.randn(3, 30, generator=g, dtype=F64), -1)
    for eta in (0.05, 0.25, 0.6, 1.0):
        assert (distorted_expectation(z, p, "cvar", eta) - cvar(z, p, eta)).abs().max() < 1e-14
    assert (distorted_expectation(z, p, "neutral") - (z * p).sum(-1)).abs().max() < 1e-14
    # twin: a wrong CVaR level is far from it
    assert (distorted_expectation(z, p, "cvar", 0.3) - cvar(z, p, 0.25)).abs().max() > 1e-3


@pytest.mark.parametrize("name,eta", [("wang", -0.75), ("wang", 0.75), ("power", -2.0), ("power", 1.5), ("cvar", 0.3)])
def test_closed_form_inverses_match_bisection(name, eta):
    u = torch.linspace(0, 1, 101, dtype=F64)
    closed = distortion_inverse(name, u, eta)
    bis = bisect_inverse(lambda t: distortion(name, t, eta), u)
    assert (closed - bis).abs().max() < 1e-12


def test_distortions_are_distortions_and_risk_ordered():
    t = torch.linspace(0, 1, 201, dtype=F64)
    for name, eta in (("cvar", 0.4), ("wang", -0.75), ("cpw", 0.71), ("power", -2.0), ("power", 2.0)):
        b = distortion(name, t, eta)
        top = eta if name == "cvar" else 1.0  # IQN's CVaR map β(τ) = ητ ends at η
        assert abs(float(b[0])) < 1e-15 and abs(float(b[-1]) - top) < 1e-15 and bool((b[1:] >= b[:-1] - 1e-15).all())
    g = torch.Generator().manual_seed(2)
    z, p = torch.randn(50, generator=g, dtype=F64), torch.full((50,), 0.02, dtype=F64)
    m = float((z * p).sum())
    assert float(distorted_expectation(z, p, "wang", -0.75)) < m < float(distorted_expectation(z, p, "wang", 0.75))
    assert float(distorted_expectation(z, p, "power", -2.0)) < m < float(distorted_expectation(z, p, "power", 2.0))
    assert torch.allclose(distorted_levels("cvar", 4, 0.5), 0.5 * T(0.125, 0.375, 0.625, 0.875))
    assert "cpw" in DISTORTIONS
    with pytest.raises(ValueError, match="^eta"):
        distortion("cpw", t, 0.2)
    with pytest.raises(ValueError, match="^name"):
        distortion("exponential", t, 1.0)
    with pytest.raises(TypeError, match="^eta"):
        distortion("cvar", t)


# ---------------------------------------------------------------- claims


def test_l191_quick_run_returns_a_complete_record(tmp_path):
    importlib.import_module("pgtheory.claims.library.l191_c51")
    from pgtheory.claims.protocol import validate_record
    from pgtheory.claims.runner import check

    (rec,) = check(["L191-c51-contraction-instability"], scale="quick", results=tmp_path)
    validate_record(rec)
    assert rec["verdict"] in ("confirmed", "qualified", "inconclusive", "refuted")
    assert rec["code_checks"] == [] and len(rec["sensitivity"]) == 2


@pytest.mark.slow
def test_l231_quick_run_returns_a_complete_record(tmp_path):
    importlib.import_module("pgtheory.claims.library.l231_iqn")
    from pgtheory.claims.protocol import validate_record
    from pgtheory.claims.runner import check

    (rec,) = check(["L231-iqn-quantile-risk"], scale="quick", results=tmp_path)
    validate_record(rec)
    assert rec["verdict"] in ("confirmed", "qualified", "inconclusive", "refuted")
    assert rec["code_checks"] == [] and len(rec["sensitivity"]) == 2 and len(rec["details"]["kappa_finding"]) == 2
