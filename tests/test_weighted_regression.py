"""Exact error covariance of (weighted) least squares of a Bellman backup (pgtheory.exact.weighted_regression)."""
import pytest
import torch

from pgtheory.exact.solvers import value_iteration
from pgtheory.exact.weighted_regression import next_value_variance, prediction_variance, regression_error_covariance
from pgtheory.optim.linear_mdvi import weighted_least_squares
from pgtheory.problems.linear_mdp import two_basin_linear_mdp
from pgtheory.sampling.generative import sample_next_state_counts

pytestmark = pytest.mark.usefixtures("one_torch_thread")
F64 = torch.float64


def test_next_value_variance_hand_values():
    P = torch.tensor([[0.5, 0.5, 0.0], [0.0, 0.0, 1.0], [0.25, 0.25, 0.5]], dtype=F64)
    v = torch.tensor([0.0, 2.0, 1.0], dtype=F64)
    # rows: Bernoulli(½) on {0, 2}: 1; deterministic: 0; mean 1, E(v − 1)² = ½·1 + ½·0 = ½
    assert torch.allclose(next_value_variance(P, v), torch.tensor([1.0, 0.0, 0.5], dtype=F64), atol=1e-15)


def test_one_hot_features_give_the_tabular_variances_whatever_the_weights():
    n = torch.tensor([2.0, 5.0, 1.0], dtype=F64)
    s2 = torch.tensor([1.0, 4.0, 0.5], dtype=F64)
    for assumed in (None, torch.tensor([3.0, 0.1, 7.0], dtype=F64)):
        C = regression_error_covariance(torch.eye(3, dtype=F64), n, s2, assumed)
        assert torch.allclose(C, torch.diag(s2 / n), atol=1e-14)


def test_hand_computed_two_point_average():
    # d = 1, φ ≡ 1 at two pairs: θ̂ = (λ₁ȳ₁ + λ₂ȳ₂)/(λ₁ + λ₂), Var = (λ₁²σ₁²/n₁ + λ₂²σ₂²/n₂)/(λ₁ + λ₂)²
    X = torch.ones(2, 1, dtype=F64)
    n, s2, a = torch.tensor([1.0, 3.0], dtype=F64), torch.tensor([2.0, 1.0], dtype=F64), torch.tensor([1.0, 2.0], dtype=F64)
    lam = n / a  # (1, 1.5)
    want = (lam[0] ** 2 * 2.0 / 1.0 + lam[1] ** 2 * 1.0 / 3.0) / lam.sum() ** 2
    assert float(regression_error_covariance(X, n, s2, a)) == pytest.approx(float(want), rel=1e-14)
    # prediction variance φᵀCφ on hand-made C
    C = torch.tensor([[2.0, 0.5], [0.5, 1.0]], dtype=F64)
    assert torch.allclose(prediction_variance(torch.tensor([[1.0, 0.0], [1.0, 1.0]], dtype=F64), C),
                          torch.tensor([2.0, 4.0], dtype=F64), atol=1e-15)


def _random_problem(seed=0, n=7, d=3):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, d, generator=g, dtype=F64)
    counts = torch.randint(1, 6, (n,), generator=g).to(F64)
    s2 = torch.rand(n, generator=g, dtype=F64) * 3 + 0.1
    return X, counts, s2


def test_gauss_markov_correct_weights_give_the_smallest_covariance():
    X, n, s2 = _random_problem()
    best = regression_error_covariance(X, n, s2, s2)
    G = (X * (n / s2).unsqueeze(-1)).T @ X
    assert torch.allclose(best, torch.linalg.inv(G), atol=1e-12)  # sandwich collapses to (XᵀΛX)⁻¹
    assert torch.allclose(regression_error_covariance(X, n, s2, 3.7 * s2), best, atol=1e-12)  # weights' scale is free
    for assumed in (None, torch.linspace(0.2, 2.0, X.shape[0], dtype=F64)):
        gap = regression_error_covariance(X, n, s2, assumed) - best
        assert float(torch.linalg.eigvalsh(gap)[0]) >= -1e-12
        assert float(torch.linalg.eigvalsh(gap)[-1]) > 1e-6  # and strictly worse here


def test_d_support_points_interpolate_so_weights_change_nothing_and_budget_scales():
    X, n, s2 = _random_problem(n=3, d=3)
    C = regression_error_covariance(X, n, s2)
    assert torch.allclose(regression_error_covariance(X, n, s2, torch.tensor([5.0, 0.2, 1.0], dtype=F64)), C, atol=1e-12)
    Xinv = torch.linalg.inv(X)
    assert torch.allclose(C, Xinv @ torch.diag(s2 / n) @ Xinv.T, atol=1e-12)
    assert torch.allclose(regression_error_covariance(X, 4 * n, s2), C / 4, atol=1e-12)
    # pairs with n_i = 0 are not regressed on: adding one changes nothing
    X4 = torch.cat([X, torch.ones(1, 3, dtype=F64)])
    C4 = regression_error_covariance(X4, torch.cat([n, torch.zeros(1, dtype=F64)]), torch.cat([s2, torch.ones(1, dtype=F64)]))
    assert torch.allclose(C4, C, atol=1e-12)


def _sampled_predictions(runs: int, seed: int):
    """Sampled WLS backups on a two-basin instance (γ = 0.95, floor weights 1/(σ² + γ²H), 3 draws at each of the 16
    pairs: more pairs than d = 4, so the weights matter and the sandwich is not an interpolation)."""
    lin = two_basin_linear_mdp(8, 2, 4, discount=0.95, seed=1)
    S, A = lin.n_states, lin.n_actions
    Phi, P = lin.features.reshape(S * A, -1), lin.transitions.reshape(S * A, S)
    v = value_iteration(lin.tabular()).v
    noise = lin.discount ** 2 * next_value_variance(P, v)
    assumed = noise + lin.discount ** 2 / (1 - lin.discount)
    n = torch.full((S * A,), 3, dtype=torch.int64)
    sup = (n > 0).nonzero().squeeze(-1)
    counts = sample_next_state_counts(P, sup, n[sup], torch.Generator().manual_seed(seed), runs=runs)  # [R, C, S]
    y = torch.zeros(runs, S * A, dtype=F64)
    y[:, sup] = lin.rewards.reshape(-1)[sup] + lin.discount * (counts @ v) / n[sup].to(F64)
    theta = weighted_least_squares(Phi, y, (n.to(F64) / assumed).expand(runs, -1))
    err = theta @ Phi.T - (lin.rewards.reshape(-1) + lin.discount * P @ v)  # [R, SA]
    return err, Phi, n.to(F64), noise, assumed


def _max_z(err, exact_var):
    """Largest |z| of the per-pair empirical variances against ``exact_var`` (SE from the fourth moment)."""
    R = err.shape[0]
    m2 = (err ** 2).mean(0)  # the mean error is 0 exactly (unbiased), so E err² is the variance
    se = ((err ** 4).mean(0) - m2 ** 2).clamp_min(1e-300).sqrt() / R ** 0.5
    return float(((m2 - exact_var) / se).abs().max())


def test_monte_carlo_covariance_matches_the_sandwich_and_a_near_twin_fails():
    err, Phi, n, noise, assumed = _sampled_predictions(runs=6000, seed=5)
    assert float(err.mean(0).abs().max()) < 5 * float(err.std(0).max()) / 6000 ** 0.5  # unbiased
    exact = prediction_variance(Phi, regression_error_covariance(Phi, n, noise, assumed))
    assert _max_z(err, exact) < 4.0
    # near twin: the sandwich without γ² in the noise (10.8% too large at γ = 0.95)
    twin = prediction_variance(Phi, regression_error_covariance(Phi, n, noise / 0.95 ** 2, assumed))
    assert _max_z(err, twin) > 4.0
    # far twin: the plain-LS formula for the weighted estimator
    assert _max_z(err, prediction_variance(Phi, regression_error_covariance(Phi, n, noise))) > 4.0


@pytest.mark.parametrize("call, match", [
    (lambda: next_value_variance(torch.tensor([[0.5, 0.6]], dtype=F64), torch.zeros(2, dtype=F64)), "transitions"),
    (lambda: next_value_variance(torch.tensor([[0.5, 0.5]], dtype=F64), torch.zeros(3, dtype=F64)), "values"),
    (lambda: regression_error_covariance(torch.ones(3, dtype=F64), torch.ones(3), torch.ones(3)), "features"),
    (lambda: regression_error_covariance(torch.eye(2, dtype=F64), torch.ones(3), torch.ones(2)), "samples"),
    (lambda: regression_error_covariance(torch.eye(2, dtype=F64), torch.tensor([1.0, -1.0]), torch.ones(2)), "samples"),
    (lambda: regression_error_covariance(torch.eye(2, dtype=F64), torch.tensor([1.0, 0.0]), torch.ones(2)), "samples"),
    (lambda: regression_error_covariance(torch.eye(2, dtype=F64), torch.ones(2), torch.tensor([1.0, -1.0])), "noise_variance"),
    (lambda: regression_error_covariance(torch.eye(2, dtype=F64), torch.ones(2), torch.ones(2), torch.zeros(2)), "assumed_variance"),
    (lambda: regression_error_covariance(torch.eye(2, dtype=F64), torch.ones(2), torch.tensor([1.0, float("nan")])), "noise_variance"),
    (lambda: prediction_variance(torch.eye(2, dtype=F64), torch.eye(3, dtype=F64)), "covariance"),
])
def test_bad_inputs_raise_naming_the_argument(call, match):
    with pytest.raises(ValueError, match=f"^{match}"):
        call()
