"""Exact return laws, risk measures and distributional operators (issue 14, items 1 and 5).

Everything here is exact float64 computation except one Monte Carlo test (the truncated law against sampled returns),
which is planned as follows. Statistic: the Kolmogorov distance D_N = sup_x |F_N(x) − F(x)| between the empirical
CDF of N = 20 000 sampled returns and the exact law F. By the Dvoretzky–Kiefer–Wolfowitz inequality (Massart's
constant, valid for any law, discrete included) P(D_N > ε) ≤ 2 exp(−2Nε²), so with ε = sqrt(ln(2/α)/(2N)) and
α = 1e-6 the test rejects a true law with probability ≤ 1e-6: ε = 0.0190. Power: if the twin law F' has
sup|F − F'| = d, then under the truth D_N(F') ≥ d − D_N(F) > d − ε with probability ≥ 1 − 1e-6, so the twin is rejected
whenever d ≥ 2ε = 0.038. The twins' distances are computed exactly and asserted ≥ 2ε (measured: γ = 0.9 → 0.85 gives
d = 0.110; the geometric-termination law with the same cap gives d = 0.138), so the power is ≥ 1 − 1e-6 for both.
Measured on seed 0: D_N(F) = 0.0049.

Measured rates (``test_projected_fixed_points_converge_to_the_exact_law``): on a 2-state, 2-action MDP with γ = 1/2 and
rewards in {0, 1} the sup-W1 error of the fixed points of Π_C T^π and Π_Q T^π falls like m^{-1} (log-log slopes
−1.04 and −1.05 for m = 10 … 160 atoms; errors 0.056 → 0.0031 and 0.067 → 0.0036). The categorical rate is the one the bound Δ/(2(1−γ)) predicts; for the quantile
fixed point we assert only the decrease and report the measured slope (no rate is derived here).

A finding (``test_quantile_fixed_point_one_state_closed_form``): on the one-state MDP whose return law is Uniform[0, 2]
the fixed point of Π_Q T^π with n = 2^k atoms (lower-quantile convention) is uniform on {2(i−1)/n}, at W1 distance
1/n from the law — twice the W1 distance 1/(2n) of the best n-atom approximation Π_Q η: the fixed point of the
projected operator is not the projection of the fixed point.
"""
import itertools
import math

import pytest
import torch

from pgtheory.exact.distributional import (bellman_pushforward, categorical_fixed_point, categorical_projection,
                                           contraction_ratio, quantile_fixed_point, quantile_midpoints,
                                           quantile_projection, sup_wasserstein1, uniform_support)
from pgtheory.exact.evaluation import evaluate_policy
from pgtheory.exact.return_law import (discounted_return_law, geometric_return_law, truncated_return_law,
                                       truncated_values)
from pgtheory.exact.risk_measures import (cvar, cvar_distortion, cvar_rockafellar_uryasev, distortion_risk,
                                          kolmogorov_distance, mean, mixed_risk, value_at_risk, wasserstein1)
from pgtheory.problems.mdp import TabularMDP
from pgtheory.sampling.mdp import sample_trajectories

from .conftest import random_mdp

F64 = torch.float64
T = lambda *x: torch.tensor(x, dtype=F64)  # noqa: E731

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _policy(S: int, A: int, seed: int) -> torch.Tensor:
    return torch.softmax(torch.randn(S, A, generator=_gen(seed), dtype=F64), -1)


def _random_dist(batch, K, seed, lattice=False):
    g = _gen(seed)
    z = torch.randint(0, 5, (*batch, K), generator=g).to(F64) if lattice else torch.randn(*batch, K, generator=g, dtype=F64)
    p = torch.rand(*batch, K, generator=g, dtype=F64)
    p[..., 0] = 0.0  # a zero-probability atom
    return z, p / p.sum(-1, keepdim=True)


def _uniform_mdp() -> TabularMDP:
    """One state, two actions with rewards 0 and 1, γ = 1/2: under π = (1/2, 1/2), G = Σ_t 2^{-t} B_t ~ Uniform[0, 2]."""
    return TabularMDP(torch.ones(1, 2, 1, dtype=F64), T(0.0, 1.0).reshape(1, 2), 0.5, T(1.0))


HALF = torch.full((1, 2), 0.5, dtype=F64)


def _snap(atoms: torch.Tensor, x: torch.Tensor) -> tuple[torch.Tensor, float]:
    """Index of the nearest of the sorted ``atoms`` for each x, and the largest distance (rounding only, if < 1e-12)."""
    idx = torch.searchsorted(atoms, x).clamp(1, atoms.numel() - 1)
    near = torch.where((atoms[idx] - x).abs() < (atoms[idx - 1] - x).abs(), idx, idx - 1)
    return near, float((atoms[near] - x).abs().max())


def _w1_to_uniform(atoms: torch.Tensor, probs: torch.Tensor, a: float, b: float) -> float:
    """Exact W1 between a discrete law on [a, b] and Uniform[a, b]: ∫_a^b |F̂(x) − (x−a)/(b−a)| dx, piecewise linear."""
    order = torch.argsort(atoms)
    xs, cs = atoms[order].tolist(), probs[order].cumsum(0).tolist()
    knots = [a] + xs + [b]
    levels = [0.0] + cs  # F̂ on [knots[j], knots[j+1])
    total = 0.0
    for j in range(len(knots) - 1):
        x0, x1, c = knots[j], knots[j + 1], levels[j]
        if x1 <= x0:
            continue
        u0, u1 = (x0 - a) / (b - a) - c, (x1 - a) / (b - a) - c  # the linear integrand u(x) − c at both ends
        if u0 * u1 >= 0:
            total += abs(u0 + u1) / 2 * (x1 - x0)
        else:
            xr = x0 + (x1 - x0) * (-u0) / (u1 - u0)
            total += abs(u0) / 2 * (xr - x0) + abs(u1) / 2 * (x1 - xr)
    return total


# ------------------------------------------------------------------------------------------------------------------
# risk measures
# ------------------------------------------------------------------------------------------------------------------
def test_var_cvar_hand_case():
    z, p = T(3.0, 0.0, 2.0, 1.0), T(0.4, 0.1, 0.3, 0.2)  # unsorted on purpose; sorted CDF 0.1, 0.3, 0.6, 1.0
    assert float(mean(z, p)) == pytest.approx(2.0, abs=1e-15)
    assert float(value_at_risk(z, p, 0.25)) == 1.0
    assert float(value_at_risk(z, p, 0.3)) == 1.0  # lower quantile: F(1) = 0.3 reaches α
    assert float(value_at_risk(z, p, 0.31)) == 2.0
    assert float(value_at_risk(z, p, 0.05)) == 0.0
    # worst 25 %: all of atom 0 (0.1) and 0.15 of atom 1 → (0·0.1 + 1·0.15)/0.25
    assert float(cvar(z, p, 0.25)) == pytest.approx(0.6, abs=1e-15)
    assert float(cvar(z, p, 1.0)) == pytest.approx(2.0, abs=1e-15)
    assert float(cvar_rockafellar_uryasev(z, p, 0.25)) == pytest.approx(0.6, abs=1e-15)
    # cost convention: the upper-tail CVaR of a cost C is −CVaR_α(−C): mean of the worst (largest) 25 % of costs
    assert float(-cvar(-z, p, 0.25)) == pytest.approx(3.0, abs=1e-15)
    assert float(-cvar(-z, p, 0.5)) == pytest.approx((0.4 * 3 + 0.1 * 2) / 0.5, abs=1e-15)


@pytest.mark.parametrize("alpha", [1e-3, 0.05, 0.1, 0.25, 0.5, 0.9, 1.0])
def test_cvar_two_ways_agree(alpha):
    for lattice in (False, True):  # ties and atoms split at the quantile
        z, p = _random_dist((20,), 12, seed=int(alpha * 1000) + lattice, lattice=lattice)
        a, b = cvar(z, p, alpha), cvar_rockafellar_uryasev(z, p, alpha)
        assert torch.allclose(a, b, atol=1e-12, rtol=0)
        assert bool((a <= mean(z, p) + 1e-12).all())
        assert torch.allclose(distortion_risk(z, p, cvar_distortion(alpha)), a, atol=1e-12, rtol=0)


def test_rockafellar_uryasev_maximiser_is_the_var():
    """c ↦ c − E(c − Z)_+/α is maximal at c = VaR_α (the lower quantile), where it equals CVaR_α."""
    z, p = _random_dist((8,), 10, seed=31)
    for a in (0.1, 0.37, 0.8):
        c = value_at_risk(z, p, a)
        at_var = c - ((c.unsqueeze(-1) - z).clamp_min(0) * p).sum(-1) / a
        assert torch.allclose(at_var, cvar(z, p, a), atol=1e-12, rtol=0)
        for dc in (-0.3, 0.3):  # any other c is no better
            c2 = c + dc
            assert bool((c2 - ((c2.unsqueeze(-1) - z).clamp_min(0) * p).sum(-1) / a <= at_var + 1e-12).all())


def test_cvar_at_cdf_levels_agrees_exactly():
    z, p = T(0.0, 1.0, 2.0), T(0.25, 0.25, 0.5)
    for a in (0.25, 0.5):  # α exactly at a CDF level: no split
        assert float(cvar(z, p, a)) == pytest.approx(float(cvar_rockafellar_uryasev(z, p, a)), abs=1e-15)
    assert float(cvar(z, p, 0.5)) == pytest.approx(0.5, abs=1e-15)


def test_distortion_and_mixed():
    z, p = _random_dist((5,), 9, seed=3)
    assert torch.allclose(distortion_risk(z, p, lambda u: u), mean(z, p), atol=1e-13, rtol=0)
    lam, a = 0.3, 0.2
    g = lambda u: (1 - lam) * u + lam * (u / a).clamp_max(1.0)  # noqa: E731
    assert torch.allclose(mixed_risk(z, p, a, lam), distortion_risk(z, p, g), atol=1e-13, rtol=0)
    assert torch.allclose(mixed_risk(z, p, a, 0.0), mean(z, p), atol=1e-15, rtol=0)
    assert torch.allclose(mixed_risk(z, p, a, 1.0), cvar(z, p, a), atol=1e-15, rtol=0)


def test_wasserstein_and_kolmogorov_closed_forms():
    assert float(wasserstein1(T(0.0), T(1.0), T(1.0), T(1.0))) == 1.0
    # Bernoulli(p) vs Bernoulli(q) on {0, 1}: W1 = KS = |p − q|
    assert float(wasserstein1(T(0.0, 1.0), T(0.7, 0.3), T(0.0, 1.0), T(0.2, 0.8))) == pytest.approx(0.5, abs=1e-15)
    assert float(kolmogorov_distance(T(0.0, 1.0), T(0.7, 0.3), T(0.0, 1.0), T(0.2, 0.8))) == pytest.approx(0.5, abs=1e-15)
    # a shift by c moves W1 by |c|; W1 is symmetric and 0 on equal laws
    z, p = _random_dist((4,), 7, seed=5)
    assert torch.allclose(wasserstein1(z, p, z + 0.37, p), torch.full((4,), 0.37, dtype=F64), atol=1e-13, rtol=0)
    z2, p2 = _random_dist((4,), 3, seed=6)
    assert torch.allclose(wasserstein1(z, p, z2, p2), wasserstein1(z2, p2, z, p), atol=1e-15, rtol=0)
    assert float(wasserstein1(z, p, z, p).abs().max()) == 0.0
    # δ_0 vs uniform on {0, 1, 2, 3}: W1 = E|U| = 1.5 (unequal sizes); KS = 3/4; batch broadcasting ([4] vs [1])
    assert float(wasserstein1(T(0.0), T(1.0), T(0.0, 1.0, 2.0, 3.0), torch.full((4,), 0.25, dtype=F64))) == 1.5
    assert float(kolmogorov_distance(T(0.0), T(1.0), T(0.0, 1.0, 2.0, 3.0), torch.full((4,), 0.25, dtype=F64))) == 0.75
    # tied atoms within one law count once
    assert float(kolmogorov_distance(T(1.0, 1.0), T(0.5, 0.5), T(1.0), T(1.0))) == 0.0
    # W1 = ∫|F1 − F2| = E|X − Y| for a comonotone coupling: two-point laws by hand
    assert float(wasserstein1(T(0.0, 2.0), T(0.5, 0.5), T(1.0, 4.0), T(0.5, 0.5))) == pytest.approx(1.5, abs=1e-15)


def test_risk_measure_validation():
    z, p = T(0.0, 1.0), T(0.5, 0.5)
    with pytest.raises(ValueError, match=r"alpha: must lie in \(0, 1\]"):
        cvar(z, p, 0.0)
    with pytest.raises(ValueError, match="alpha"):
        value_at_risk(z, p, 1.5)
    with pytest.raises(ValueError, match="p: rows must sum to 1"):
        cvar(z, T(0.5, 0.6), 0.5)
    with pytest.raises(ValueError, match=r"p: expected the shape of the atoms \(2,\) \(or one broadcasting with it\), got \(3,\)"):
        mean(z, T(0.2, 0.3, 0.5))
    with pytest.raises(ValueError, match="z: contains NaN"):
        mean(T(0.0, float("nan")), p)
    with pytest.raises(ValueError, match=r"lam: must lie in \[0, 1\]"):
        mixed_risk(z, p, 0.5, 2.0)
    with pytest.raises(ValueError, match="g: a distortion needs g"):
        distortion_risk(z, p, lambda u: u + 0.1)
    with pytest.raises(ValueError, match="g: a distortion must be non-decreasing"):
        distortion_risk(T(0.0, 1.0, 2.0), T(0.25, 0.25, 0.5), lambda u: torch.where((u > 0) & (u < 1), 1 - u, u))
    with pytest.raises(TypeError, match="g: expected a callable"):
        distortion_risk(z, p, 3)
    with pytest.raises(ValueError, match="p2: rows must sum to 1"):
        wasserstein1(z, p, z, T(0.1, 0.1))


# ------------------------------------------------------------------------------------------------------------------
# exact return laws
# ------------------------------------------------------------------------------------------------------------------
def test_truncated_law_equals_enumeration_and_truncated_values():
    mdp, pi, H = random_mdp(2, 2, 0.8, 11), _policy(2, 2, 12), 4
    law = truncated_return_law(mdp, pi, H)
    P, r, g = mdp.transitions, mdp.rewards, mdp.discount
    for s0 in range(2):  # brute force over all (a_0, s_1, a_1, ..., a_{H-1}) paths
        acc = {}
        for path in itertools.product(range(2), repeat=2 * H - 1):
            s, prob, ret = s0, 1.0, 0.0
            for t in range(H):
                a = path[2 * t]
                prob *= float(pi[s, a])
                ret += g ** t * float(r[s, a])
                if t < H - 1:
                    s2 = path[2 * t + 1]
                    prob *= float(P[s, a, s2])
                    s = s2
            acc[ret] = acc.get(ret, 0.0) + prob
        atoms, probs = T(*acc.keys()), T(*acc.values())
        assert float(wasserstein1(atoms, probs, law.atoms, law.probs[s0])) < 1e-13
        # atom by atom: snap each enumerated return (summed in another order) to the nearest DP atom
        near, dist = _snap(law.atoms, atoms)
        assert dist < 1e-12
        pmf = torch.zeros_like(law.atoms).index_add_(0, near, probs)
        assert torch.allclose(pmf, law.probs[s0], atol=1e-15, rtol=0)
    assert torch.allclose(law.means(), truncated_values(mdp, pi, H), atol=1e-12, rtol=0)


@pytest.mark.parametrize("H", [1, 3, 6])
def test_truncated_law_means_match_the_exact_layer(H):
    mdp, pi = random_mdp(3, 2, 0.9, 1), _policy(3, 2, 2)
    law = truncated_return_law(mdp, pi, H)
    assert torch.allclose(law.probs.sum(-1), torch.ones(3, dtype=F64), atol=1e-13, rtol=0)
    v_h = truncated_values(mdp, pi, H)
    assert torch.allclose(law.means(), v_h, atol=1e-10, rtol=0)
    assert abs(float(law.mean()) - float(mdp.initial @ v_h)) < 1e-10
    v = evaluate_policy(mdp, pi).v  # |V_H − V^π| ≤ γ^H max|r|/(1 − γ)
    assert float((v_h - v).abs().max()) <= mdp.discount ** H * float(mdp.rewards.abs().max()) / (1 - mdp.discount)
    assert law.error_bound == 0.0 and law.kind == "truncated"


def test_truncated_law_guard_and_validation():
    mdp, pi = random_mdp(3, 2, 0.9, 1), _policy(3, 2, 2)
    with pytest.raises(ValueError, match=r"horizon: the exact law needs \d+ atoms, over max_atoms = 1000"):
        truncated_return_law(mdp, pi, 6, max_atoms=1000)
    with pytest.raises(ValueError, match=r"pi: expected shape \[\.\.\., S, A\]"):
        truncated_return_law(mdp, _policy(2, 2, 0), 3)
    with pytest.raises(ValueError, match="pi: expected a single policy"):
        truncated_return_law(mdp, _policy(3, 2, 0).expand(2, 3, 2), 3)
    with pytest.raises(ValueError, match="horizon: must be >= 0"):
        truncated_return_law(mdp, pi, -1)
    noisy = TabularMDP(mdp.transitions, mdp.rewards, 0.9, mdp.initial, reward_std=0.1)
    with pytest.raises(ValueError, match="mdp: reward_std must be 0"):
        truncated_return_law(noisy, pi, 2)
    with pytest.raises(TypeError, match="mdp: expected a TabularMDP"):
        truncated_return_law("mdp", pi, 2)
    with pytest.raises(ValueError, match="m: must be >= 2"):
        discounted_return_law(mdp, pi, 1)
    with pytest.raises(ValueError, match="cap: must be >= 1"):
        geometric_return_law(mdp, pi, cap=0)


def test_truncated_law_against_monte_carlo_with_twins():
    """KS test with the DKW threshold (plan in the module docstring): accepts the exact law, rejects both twins."""
    mdp, pi, H, N, alpha = random_mdp(3, 2, 0.9, 1), _policy(3, 2, 2), 5, 20_000, 1e-6
    law = truncated_return_law(mdp, pi, H)
    eps = math.sqrt(math.log(2 / alpha) / (2 * N))
    G = sample_trajectories(mdp, pi, N, _gen(0), termination="truncate", horizon=H).discounted_returns()
    # the sampler sums Σ γ^t r_t in another order: snap each return to the nearest exact atom (rounding only)
    near, dist = _snap(law.atoms, G)
    assert dist < 1e-12
    emp = torch.zeros_like(law.atoms).index_add_(0, near, torch.ones_like(G)) / N
    d_true = float(kolmogorov_distance(law.atoms, law.initial, law.atoms, emp))
    assert d_true <= eps  # measured 0.0049 against ε = 0.0190
    twins = {"discount 0.85": truncated_return_law(mdp.with_discount(0.85), pi, H),
             "geometric termination": geometric_return_law(mdp, pi, cap=H)}
    for name, twin in twins.items():
        d = float(kolmogorov_distance(law.atoms, law.initial, twin.atoms, twin.initial))
        assert d >= 2 * eps, name  # planned power ≥ 1 − 1e-6 (measured d = 0.110 and 0.138)
        assert float(kolmogorov_distance(twin.atoms, twin.initial, law.atoms, emp)) > eps, name


def test_geometric_law_one_state_closed_form():
    """One state, reward 1: G^geo = T ~ Geometric(1 − γ) on {1, 2, ...}; capped at N, P(G = N) = γ^{N−1}."""
    g, N = 0.7, 30
    mdp = TabularMDP(torch.ones(1, 1, 1, dtype=F64), T(1.0).reshape(1, 1), g, T(1.0))
    law = geometric_return_law(mdp, torch.ones(1, 1, dtype=F64), cap=N)
    k = torch.arange(1, N + 1, dtype=F64)
    expect = (1 - g) * g ** (k - 1)
    expect[-1] = g ** (N - 1)
    assert torch.equal(law.atoms, k)
    assert torch.allclose(law.initial, expect, atol=1e-15, rtol=0)
    # the discounted return is the constant 1/(1−γ); same mean, different law: W1 = E|T − 1/(1−γ)|
    disc = discounted_return_law(mdp, torch.ones(1, 1, dtype=F64), 11)  # grid [v, v + 1]: δ_v sits on an atom
    v = 1 / (1 - g)
    assert float(disc.mean()) == pytest.approx(v, abs=1e-10) and float(disc.initial[0]) == pytest.approx(1.0, abs=1e-10)
    assert float(wasserstein1(law.atoms, law.initial, disc.atoms, disc.initial)) == pytest.approx(
        float(expect @ (k - v).abs()), abs=1e-10)
    # E min(T, N) = (1 − γ^N)/(1 − γ): the capped mean falls short of V by exactly γ^N/(1−γ) = error_bound here
    assert float(law.mean()) == pytest.approx((1 - g ** N) / (1 - g), abs=1e-12)
    assert law.error_bound == pytest.approx(g ** N / (1 - g), rel=1e-12)


def test_geometric_and_discounted_laws_same_mean_different_law():
    P = random_mdp(3, 2, 0.8, 4).transitions
    r = torch.tensor([[0.0, 1.0], [2.0, 0.0], [1.0, 1.0]], dtype=F64)  # lattice rewards: the geometric law stays small
    mdp, pi = TabularMDP(P, r, 0.8, T(0.2, 0.3, 0.5)), _policy(3, 2, 5)
    v = evaluate_policy(mdp, pi).v
    geo = geometric_return_law(mdp, pi)
    assert geo.error_bound <= 1e-12 and geo.atoms.numel() < 500
    assert torch.allclose(geo.means(), v, atol=1e-10, rtol=0)
    disc = discounted_return_law(mdp, pi, 2001)
    assert torch.allclose(disc.means(), v, atol=1e-10, rtol=0)  # Π_C preserves means
    w = wasserstein1(geo.atoms, geo.probs, disc.atoms, disc.probs)
    assert bool((w > 0.5).all()), w  # measured 1.42 to 1.60 per state, far above the categorical error bound 0.0125
    assert disc.error_bound < 0.02
    # the undiscounted geometric sum is far more spread: variance 9.51 against 0.98 (measured)
    assert float(geo.initial @ (geo.atoms - geo.mean()) ** 2) > 5 * float(disc.initial @ (disc.atoms - disc.mean()) ** 2)


@pytest.mark.parametrize("H", [2, 4, 8, 16])
def test_categorical_law_error_bound_against_the_truncated_law(H):
    """sup_s W1(η̂, law of G) ≤ error_bound, checked through the exact truncated law (W1(G_H, G) ≤ γ^H max|r|/(1−γ)):
    W1(η̂, G_H) ≤ error_bound + γ^H/(1−γ). Measured W1(η̂, G_H) = 0.253, 0.064, 0.0132, 0.0128 for H = 2, 4, 8, 16
    against error_bound = 0.0513 plus the tail 0.5, 0.125, 0.0078, 3e-5."""
    P = random_mdp(2, 2, 0.5, 7).transitions
    mdp, pi = TabularMDP(P, T(0.0, 1.0, 1.0, 0.0).reshape(2, 2), 0.5, T(0.5, 0.5)), _policy(2, 2, 8)
    cat = discounted_return_law(mdp, pi, 40)
    trunc = truncated_return_law(mdp, pi, H)
    tail = mdp.discount ** H * 1.0 / (1 - mdp.discount)
    w = float(sup_wasserstein1(cat.atoms.expand(2, -1), cat.probs, trunc.atoms.expand(2, -1), trunc.probs))
    assert w <= cat.error_bound + tail
    ev = evaluate_policy(mdp, pi)
    assert torch.allclose(cat.means(), ev.v, atol=1e-10, rtol=0)
    assert abs(float(cat.mean()) - float(ev.objective)) < 1e-10  # J = ρᵀV^π
    # bound = Δ/(2(1−γ)) + γd/(1−γ) with Δ = 2/39; measured W1 = 0.0129 ≈ bound/4
    assert cat.error_bound == pytest.approx(2 / 39 / 2 / 0.5, rel=1e-9)


# ------------------------------------------------------------------------------------------------------------------
# distributional operators
# ------------------------------------------------------------------------------------------------------------------
def test_pushforward_is_exact_and_mean_is_bellman():
    mdp, pi = random_mdp(3, 2, 0.9, 1), _policy(3, 2, 2)
    z, p = _random_dist((3,), 4, seed=9)
    atoms, probs = bellman_pushforward(mdp, pi, z, p)
    assert tuple(atoms.shape) == (3, 2 * 3 * 4) and torch.allclose(probs.sum(-1), torch.ones(3, dtype=F64), atol=1e-14)
    r_pi = (pi * mdp.rewards).sum(-1)
    P_pi = torch.einsum("sa,sat->st", pi, mdp.transitions)
    assert torch.allclose((atoms * probs).sum(-1), r_pi + 0.9 * P_pi @ (z * p).sum(-1), atol=1e-13, rtol=0)
    # H pushforwards of δ_0 give the exact truncated law
    a, q = torch.zeros(3, 1, dtype=F64), torch.ones(3, 1, dtype=F64)
    for _ in range(3):
        a, q = bellman_pushforward(mdp, pi, a, q)
    law = truncated_return_law(mdp, pi, 3)
    assert float(wasserstein1(a, q, law.atoms.expand(3, -1), law.probs).max()) < 1e-13


def test_contraction_on_random_pairs():
    mdp, pi = random_mdp(4, 3, 0.9, 21), _policy(4, 3, 22)
    ratios = []
    for seed in range(40):
        z1, p1 = _random_dist((4,), 5, seed=100 + seed)
        z2, p2 = _random_dist((4,), 3, seed=200 + seed)
        ratios.append(contraction_ratio(mdp, pi, (3 * z1, p1), (z2, p2)))
    assert max(ratios) <= mdp.discount + 1e-12
    assert min(ratios) > 0.0  # measured ratios 0.33 to 0.75 against γ = 0.9
    # tight: one state, one action, constant reward — T is z ↦ r + γz, so the ratio is exactly γ
    one = TabularMDP(torch.ones(1, 1, 1, dtype=F64), T(2.0).reshape(1, 1), 0.9, T(1.0))
    ratio = contraction_ratio(one, torch.ones(1, 1, dtype=F64), (T(0.0, 1.0).reshape(1, 2), T(0.5, 0.5).reshape(1, 2)),
                              (T(3.0).reshape(1, 1), T(1.0).reshape(1, 1)))
    assert ratio == pytest.approx(0.9, abs=1e-14)


def test_categorical_projection_hand_cases():
    zs = T(0.0, 1.0)
    assert torch.allclose(categorical_projection(T(0.25), T(1.0), zs), T(0.75, 0.25), atol=1e-15)
    assert torch.allclose(categorical_projection(T(-3.0, 5.0), T(0.5, 0.5), zs), T(0.5, 0.5), atol=1e-15)  # clipped
    support = uniform_support(-2.0, 2.0, 9)
    z, p = _random_dist((6,), 11, seed=13)
    z = z.clamp(-2, 2)
    proj = categorical_projection(z, p, support)
    assert torch.allclose(proj @ support, (z * p).sum(-1), atol=1e-13, rtol=0)  # mean preserved inside the support
    w = wasserstein1(support.expand(6, -1), proj, z, p)
    assert bool((w <= 0.5 / 2 + 1e-14).all())  # ≤ Δ/2 with Δ = 0.5
    z2, p2 = _random_dist((6,), 4, seed=14)
    z2 = z2.clamp(-2, 2)  # non-expansion in W1
    proj2 = categorical_projection(z2, p2, support)
    assert bool((wasserstein1(support.expand(6, -1), proj, support.expand(6, -1), proj2) <= wasserstein1(z, p, z2, p2) + 1e-14).all())
    with pytest.raises(ValueError, match="support: must be strictly increasing"):
        categorical_projection(T(0.0), T(1.0), T(0.0, 0.0, 1.0))
    with pytest.raises(ValueError, match="support: expected shape"):
        categorical_projection(T(0.0), T(1.0), T(0.0))


def test_quantile_projection_hand_cases():
    assert torch.equal(quantile_midpoints(4), T(0.125, 0.375, 0.625, 0.875))
    # uniform on {0, ..., 7} projected to 4 quantiles: τ = 1/8, 3/8, 5/8, 7/8 → lower quantiles 0, 2, 4, 6
    z = torch.arange(8, dtype=F64)
    assert torch.equal(quantile_projection(z, torch.full((8,), 1 / 8, dtype=F64), 4), T(0.0, 2.0, 4.0, 6.0))
    assert torch.equal(quantile_projection(T(5.0, -1.0), T(0.3, 0.7), 2), T(-1.0, 5.0))
    # Π_Q is W1-optimal among n-atom uniform laws: not beaten by the n-point categorical-style grid on these draws
    zz, pp = _random_dist((5,), 30, seed=15)
    q = quantile_projection(zz, pp, 6)
    w_q = wasserstein1(q, torch.full((5, 6), 1 / 6, dtype=F64), zz, pp)
    for shift in (-0.05, 0.05):
        assert bool((wasserstein1(q + shift, torch.full((5, 6), 1 / 6, dtype=F64), zz, pp) >= w_q - 1e-14).all())
    with pytest.raises(ValueError, match="n: must be >= 1"):
        quantile_projection(zz, pp, 0)


@pytest.mark.parametrize("k", [1, 2, 3, 4, 5])
def test_categorical_fixed_point_one_state_closed_form(k):
    """η = Uniform[0, 2]; on m = 2^k + 1 atoms over [0, 2] the fixed point of Π_C T^π is exactly Π_C η (trapezoid
    weights 1/(2(m−1)) at the ends and 1/(m−1) inside) at W1 distance 1/(2(m−1)) from η."""
    m = 2 ** k + 1
    support = uniform_support(0.0, 2.0, m)
    fp = categorical_fixed_point(_uniform_mdp(), HALF, support)
    expect = torch.full((m,), 1 / (m - 1), dtype=F64)
    expect[[0, -1]] = 1 / (2 * (m - 1))
    assert torch.allclose(fp.probs[0], expect, atol=1e-14, rtol=0)
    assert _w1_to_uniform(support, fp.probs[0], 0.0, 2.0) == pytest.approx(1 / (2 * (m - 1)), abs=1e-13)
    law = discounted_return_law(_uniform_mdp(), HALF, m)
    assert _w1_to_uniform(law.atoms, law.initial, 0.0, 2.0) <= law.error_bound


@pytest.mark.parametrize("k", [0, 1, 2, 3, 4])
def test_quantile_fixed_point_one_state_closed_form(k):
    """η = Uniform[0, 2]; with n = 2^k atoms the fixed point of Π_Q T^π is uniform on {2(i−1)/n} (W1 = 1/n), while
    the best n-atom approximation Π_Q η = {(2i−1)/n} is at W1 = 1/(2n)."""
    n = 2 ** k
    fp = quantile_fixed_point(_uniform_mdp(), HALF, n)
    grid = 2 * torch.arange(n, dtype=F64) / n
    assert torch.allclose(fp.atoms[0], grid, atol=1e-14, rtol=0)
    w = torch.full((n,), 1 / n, dtype=F64)
    assert _w1_to_uniform(fp.atoms[0], w, 0.0, 2.0) == pytest.approx(1 / n, abs=1e-13)
    best = (2 * torch.arange(1, n + 1, dtype=F64) - 1) / n  # F^{-1}(τ_i) = 2τ_i
    assert torch.allclose(best, 2 * quantile_midpoints(n), atol=1e-15)
    assert _w1_to_uniform(best, w, 0.0, 2.0) == pytest.approx(1 / (2 * n), abs=1e-13)


def test_projected_fixed_points_converge_to_the_exact_law():
    """W1 error of the Π_C T^π and Π_Q T^π fixed points vs the exact law as the atoms grow (rates in module doc)."""
    P = random_mdp(2, 2, 0.5, 7).transitions
    mdp, pi = TabularMDP(P, T(0.0, 1.0, 1.0, 0.0).reshape(2, 2), 0.5, T(0.5, 0.5)), _policy(2, 2, 8)
    exact = truncated_return_law(mdp, pi, 16)  # W1 to the infinite-horizon law ≤ 2^-16 · 2 = 3.1e-5
    ex = (exact.atoms.expand(2, -1), exact.probs)
    sizes = [10, 20, 40, 80, 160]
    err_c, err_q = [], []
    for m in sizes:
        cat = discounted_return_law(mdp, pi, m)
        err_c.append(float(sup_wasserstein1(cat.atoms.expand(2, -1), cat.probs, *ex)))
        assert err_c[-1] <= cat.error_bound + 3.1e-5
        q = quantile_fixed_point(mdp, pi, m)
        err_q.append(float(sup_wasserstein1(q.atoms, q.probs, *ex)))
    assert all(b < a for a, b in zip(err_c, err_c[1:])) and all(b < a for a, b in zip(err_q, err_q[1:]))
    slope = lambda e: (math.log(e[-1]) - math.log(e[0])) / (math.log(sizes[-1]) - math.log(sizes[0]))  # noqa: E731
    assert -1.2 < slope(err_c) < -0.8 and -1.2 < slope(err_q) < -0.8  # measured −1.04 and −1.05 (reported, not derived)


def test_fixed_point_validation():
    mdp, pi = _uniform_mdp(), HALF
    with pytest.raises(ValueError, match="support: expected a strictly increasing"):
        categorical_fixed_point(mdp, pi, T(1.0, 0.0))
    with pytest.raises(ValueError, match="tol: must be positive"):
        quantile_fixed_point(mdp, pi, 4, tol=0.0)
    with pytest.raises(ValueError, match="v_max: must exceed v_min"):
        uniform_support(1.0, 1.0, 5)
    with pytest.raises(ValueError, match=r"probs: expected shape \[S, K\] with S = 1"):
        bellman_pushforward(mdp, pi, T(0.0, 1.0), T(0.5, 0.5))
    with pytest.raises(ValueError, match="nu: equals eta"):
        contraction_ratio(mdp, pi, (T(0.0).reshape(1, 1), T(1.0).reshape(1, 1)), (T(0.0).reshape(1, 1), T(1.0).reshape(1, 1)))
