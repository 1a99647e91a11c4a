"""q-logarithm, Tsallis KL (both conventions), f-divergences, the Tsallis-KL greedy policy and Tsallis-KL VI.

Hand values and property tests (hypothesis, derandomised). The Monte Carlo test uses the Bonferroni z-test at
ALPHA = 1e-6 (false-failure rate ≤ 1e-6), with a twin that must reject a wrong convention after a power check.
"""
import math

import numpy as np
import pytest
import sympy as sp
import torch
from hypothesis import given
from hypothesis import strategies as st
from scipy.optimize import minimize

from pgtheory.estimators import tsallis_kl_estimate
from pgtheory.exact import (F_DIVERGENCES, f_divergence, kl_divergence, q_exp, q_log, tsallis_kl, tsallis_kl_greedy,
                            tsallis_kl_value_iteration)
from pgtheory.problems import garnet
from pgtheory.stats import bias_test, detection_power

ALPHA = 1e-6
T = lambda *x: torch.tensor(x, dtype=torch.float64)  # noqa: E731


@st.composite
def dist_pairs(draw, k_max=6):
    k = draw(st.integers(2, k_max))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    conc = draw(st.sampled_from([0.1, 1.0, 10.0]))
    return torch.from_numpy(rng.dirichlet(np.full(k, conc))).clamp_min(1e-12), torch.from_numpy(rng.dirichlet(np.full(k, conc))).clamp_min(1e-12)


def _renorm(p):
    return p / p.sum()


def test_hand_values():
    assert float(q_log(T(4.0), 2.0)) == pytest.approx(1 - 1 / 4)  # (x^{-1} − 1)/(−1)
    assert float(q_log(T(4.0), 2.0, convention="q-1")) == pytest.approx(3.0)
    assert float(q_exp(q_log(T(0.3), 1.7), 1.7)) == pytest.approx(0.3)
    p, m = T(0.5, 0.5), T(0.25, 0.75)
    assert float(tsallis_kl(p, m, 2.0)) == pytest.approx(0.25 / 0.25 + 0.25 / 0.75 - 1)  # Σ p²/m − 1
    assert float(tsallis_kl(p, m, 1.0)) == pytest.approx(0.5 * math.log(2) + 0.5 * math.log(2 / 3))
    assert float(f_divergence(p, m, "total_variation")) == pytest.approx(0.25)
    assert float(f_divergence(p, m, "reverse_kl")) == pytest.approx(float(kl_divergence(p, m)))
    assert float(f_divergence(p, m, "forward_kl")) == pytest.approx(float(kl_divergence(m, p)))
    mid = (p + m) / 2
    js = 0.5 * kl_divergence(p, mid) + 0.5 * kl_divergence(m, mid)
    assert float(f_divergence(p, m, "jensen_shannon")) == pytest.approx(float(js))


def test_bad_input():
    with pytest.raises(ValueError, match="q: the entropic index must be a positive"):
        tsallis_kl(T(0.5, 0.5), T(0.5, 0.5), 0.0)
    with pytest.raises(ValueError, match="convention"):
        q_log(T(1.0), 2.0, convention="x")
    with pytest.raises(ValueError, match="m: is zero where p is positive"):
        tsallis_kl(T(0.5, 0.5), T(1.0, 0.0), 2.0)
    with pytest.raises(ValueError, match="name: unknown f-divergence 'hellinger'"):
        f_divergence(T(0.5, 0.5), T(0.5, 0.5), "hellinger")


@given(dist_pairs(), st.floats(0.05, 8.0))
def test_tsallis_kl_nonnegative_in_the_pinned_convention(pair, q):
    p, m = map(_renorm, pair)
    assert float(tsallis_kl(p, m, q)) >= -1e-12
    assert abs(float(tsallis_kl(p, p, q))) < 1e-12


@given(dist_pairs(), st.floats(2.2, 8.0))
def test_twin_other_convention_is_negative_above_two(pair, q):
    """Twin of the non-negativity test: the (x^{q−1} − 1)/(q − 1) convention fails it for every q > 2."""
    p, m = map(_renorm, pair)
    if float((p - m).abs().max()) < 1e-3:
        return
    assert float(tsallis_kl(p, m, q, convention="q-1")) < 0


def test_q_to_one_limit_symbolically():
    """Termwise: lim_{q→1} −p ln_q(m/p) = p log(p/m), so D_q → KL for any number of outcomes."""
    q, p, m = sp.symbols("q p m", positive=True)
    term = -p * ((m / p) ** (1 - q) - 1) / (1 - q)
    assert sp.simplify(sp.expand_log(sp.limit(term, q, 1) - p * sp.log(p / m), force=True)) == 0


@given(dist_pairs(), st.sampled_from([0.5, 1.5, 2.0, 3.0]), st.floats(0.1, 3.0))
def test_greedy_policy_beats_slsqp(pair, q, tau):
    mu, _ = map(_renorm, pair)
    rng = np.random.default_rng(len(mu))
    Q = torch.from_numpy(rng.normal(size=len(mu)))
    pi = tsallis_kl_greedy(Q, mu, tau, q)
    obj = lambda x: float((x * Q).sum() - tau * tsallis_kl(x, mu, q))  # noqa: E731
    res = minimize(lambda x: -obj(torch.from_numpy(np.clip(x, 0, None) / np.clip(x, 0, None).sum())), mu.numpy(), method="SLSQP",
                   bounds=[(0, 1)] * len(mu), constraints=[{"type": "eq", "fun": lambda x: x.sum() - 1}], options={"ftol": 1e-12})
    assert obj(pi) >= -res.fun - 1e-7
    if q > 1:  # KKT: every action outside the support has Q no larger than any action inside it
        inside, outside = Q[pi > 0], Q[pi == 0]
        assert outside.numel() == 0 or float(outside.max()) <= float(inside.min()) + 1e-12


def test_greedy_q1_is_softmax_and_support_truncates():
    Q, mu = T(2.0, 0.0, -3.0), T(1 / 3, 1 / 3, 1 / 3)
    assert torch.allclose(tsallis_kl_greedy(Q, mu, 0.7, 1.0), torch.softmax(Q / 0.7, -1))
    assert float(tsallis_kl_greedy(Q, mu, 0.5, 2.0)[2]) == 0.0


def test_tsallis_vi_implicit_averaging_only_at_q1():
    mdp = garnet(n_states=6, n_actions=3, branching=2, discount=0.9, seed=1)
    exact = tsallis_kl_value_iteration(mdp, 0.5, 1.0, 25)
    assert float((exact.policies - exact.averaged_policies).abs().max()) < 1e-12
    other = tsallis_kl_value_iteration(mdp, 0.5, 2.0, 25)  # twin: pseudo-additivity breaks it
    assert float((other.policies - other.averaged_policies).abs().max()) > 1e-3


@pytest.mark.parametrize("q", [0.5, 2.0])
def test_tsallis_estimator_unbiased_with_twin(q):
    g = torch.Generator().manual_seed(3)
    p, m = T(0.6, 0.3, 0.1), T(0.2, 0.3, 0.5)
    n = 200_000
    y = torch.multinomial(p, n, replacement=True, generator=g)
    lr = (m.log() - p.log())[y]
    truth = tsallis_kl(p, m, q)
    assert bias_test(tsallis_kl_estimate(lr, q)[:, None], truth[None]).pvalue > ALPHA
    wrong = tsallis_kl_estimate(lr, q, convention="q-1")
    gap = float(tsallis_kl(p, m, q, convention="q-1") - truth)
    assert detection_power(np.array([gap]), np.array([float(wrong.std())]), n, alpha=ALPHA) >= 0.99
    assert bias_test(wrong[:, None], truth[None]).pvalue <= ALPHA


@given(dist_pairs())
def test_f_divergences_nonnegative_and_zero_on_equal(pair):
    p, m = map(_renorm, pair)
    for k in F_DIVERGENCES:
        assert float(f_divergence(p, m, k)) >= -1e-12
        assert abs(float(f_divergence(p, p, k))) < 1e-12


@given(dist_pairs(), st.floats(0.05, 5.0), st.integers(0, 2**31 - 1))
def test_rlhf_objective_is_reverse_kl_to_the_implicit_target(pair, beta, seed):
    """E_π r − βKL(π‖π_ref) = −βKL(π‖p*) + β log Z with p* ∝ π_ref e^{r/β}; twin: the forward KL does not fit."""
    pi, ref = map(_renorm, pair)
    r = torch.from_numpy(np.random.default_rng(seed).uniform(-1, 1, len(pi)))
    un = ref * torch.exp(r / beta)
    pstar = un / un.sum()
    lhs = (pi * r).sum() - beta * kl_divergence(pi, ref)
    assert float(lhs) == pytest.approx(float(-beta * kl_divergence(pi, pstar) + beta * un.sum().log()), abs=1e-9)
    wrong = -beta * kl_divergence(pstar, pi) + beta * un.sum().log()
    if float((pi - pstar).abs().max()) > 1e-2:
        assert abs(float(lhs - wrong)) > 1e-9
