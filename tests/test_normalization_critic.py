"""Batch whitening, reward clipping, running reward scaling and the finite-sample critic: hand values in each
library's convention, exact expectations by enumerating every batch (no sampling) or from exact statistics, the
twin each exact check rejects, and named errors."""
import dataclasses

import pytest
import torch

from pgtheory.estimators.advantages import gae_advantages
from pgtheory.estimators.critic import (CRITIC_FITS, CriticStatistics, expected_gae_gradient,
                                        expected_td_lambda_statistics, fit_critic, monte_carlo_critic, solve_critic,
                                        td_lambda_critic, td_lambda_statistics)
from pgtheory.estimators.normalization import (ADVANTAGE_TRANSFORMS, RUNNING_REWARD_SCALINGS, clip_values,
                                               running_moments, scale_rewards_running, transform_advantages,
                                               trl_score_scaling, vecnormalize_rewards, whiten)
from pgtheory.estimators.policy_gradient import fit_state_baseline, policy_gradient_estimates, score_contraction
from pgtheory.exact import evaluate_policy, policy_gradient
from pgtheory.exact.groups import enumerate_groups
from pgtheory.policies import TabularSoftmax
from pgtheory.problems import TabularMDP
from pgtheory.sampling import TrajectorySampler, Trajectories
from pgtheory.stats import bias_test

from .conftest import random_mdp

T = lambda *x: torch.tensor(x, dtype=torch.float64)  # noqa: E731
EPS32 = float(torch.finfo(torch.float32).eps)
ALPHA = 1e-6

# ----------------------------------------------------------------------------------------------------------------
# Batch transforms: hand values in each library's convention
# ----------------------------------------------------------------------------------------------------------------


def test_whiten_verl_trl_masked_whiten_convention():
    """verl/TRL masked_whiten([[1, 2, 3, 100]], mask [[1, 1, 1, 0]]): mean 2, Bessel var 1, rsqrt(var + 1e-8)."""
    x = T(1.0, 2.0, 3.0, 100.0).reshape(1, 4)
    mask = torch.tensor([[True, True, True, False]])
    out = whiten(x, mask=mask, std="bessel", eps=1e-8, eps_placement="variance", pool_axes=2)
    assert torch.allclose(out, T(-1.0, 0.0, 1.0, 0.0).reshape(1, 4) / (1 + 1e-8) ** 0.5, rtol=0, atol=1e-15)
    # shift_mean=False (TRL whiten_rewards): the batch mean is put back, m + (x − m)/D
    y = T(0.0, 2.0, 4.0)  # m = 2, Bessel var = 4
    assert torch.allclose(whiten(y, shift_mean=False), 2 + (y - 2) / (4 + 1e-8) ** 0.5, rtol=0, atol=1e-15)
    # verl and TRL pool the whole [B, T] batch: two rows of different scale, one mean and variance over all six
    z = T(1.0, 2.0, 3.0, 10.0, 20.0, 30.0).reshape(2, 3)
    m, v = z.mean(), z.reshape(-1).var(unbiased=True)
    for shift in (True, False):
        want = (z - m) / (v + 1e-8) ** 0.5 + (0 if shift else m)
        got = whiten(z, mask=torch.ones(2, 3, dtype=torch.bool), shift_mean=shift, pool_axes=2)
        assert torch.allclose(got, want, rtol=0, atol=1e-12)
        assert not torch.allclose(whiten(z, shift_mean=shift), want)  # twin: per-row whitening (pool_axes=1)


def test_whiten_sb3_and_openai_baselines_conventions():
    y = T(0.0, 2.0, 4.0)
    sb3 = whiten(y, std="bessel", eps=1e-8, eps_placement="std")  # torch .std(): Bessel, + 1e-8 outside
    assert torch.allclose(sb3, (y - 2) / (2 + 1e-8), rtol=0, atol=1e-15)
    ppo2 = whiten(y, std="population", eps=1e-8, eps_placement="std")  # numpy .std(): population
    assert torch.allclose(ppo2, (y - 2) / ((8 / 3) ** 0.5 + 1e-8), rtol=0, atol=1e-15)
    # twin: the other divisor is a different number
    assert (sb3 - ppo2).abs().max() > 0.1
    # leading axes are independent replicate batches
    both = whiten(torch.stack([y, 10 * y]))
    assert torch.allclose(both[0], whiten(y)) and torch.allclose(both[1], whiten(10 * y))


def test_clip_hand_values_and_registry_call():
    assert torch.equal(clip_values(T(-5.0, 0.5, 3.0), bound=1.0), T(-1.0, 0.5, 1.0))
    assert torch.equal(transform_advantages(T(-5.0, 0.5, 3.0), "clip", bound=1.0), T(-1.0, 0.5, 1.0))
    assert set(ADVANTAGE_TRANSFORMS.names()) == {"whiten", "clip"}
    assert torch.equal(transform_advantages(T(0.0, 2.0, 4.0)), whiten(T(0.0, 2.0, 4.0)))


# ----------------------------------------------------------------------------------------------------------------
# Batch transforms: exact expectations over every ordered batch
# ----------------------------------------------------------------------------------------------------------------

PI = torch.softmax(T(0.3, -0.2, 0.5), -1)


def _scores(idx: torch.Tensor) -> torch.Tensor:
    """∇_θ log softmax(θ)(y) = e_y − π for every draw: ``[..., K]``."""
    return torch.eye(3, dtype=torch.float64)[idx] - PI


def _expected_update(transform, rewards: torch.Tensor, n: int) -> torch.Tensor:
    """E[(1/n) Σ_i f(R)_i ∇log π(y_i)] exactly: a sum over all 3^n ordered batches."""
    idx, prob = enumerate_groups(PI, n)
    f = transform(rewards[idx])
    return (prob[:, None] * (f[..., None] * _scores(idx)).mean(1)).sum(0)


def _true_gradient(rewards: torch.Tensor) -> torch.Tensor:
    return (PI[:, None] * rewards[:, None] * _scores(torch.arange(3))).sum(0)


def _off_direction(g: torch.Tensor, direction: torch.Tensor) -> float:
    """|part of ``g`` orthogonal to ``direction``| / |g|: the sine of their angle (0 iff g is a multiple of it)."""
    u = direction / direction.norm()
    return float((g - (g @ u) * u).norm() / g.norm())


@pytest.mark.parametrize("shift_mean", [True, False])
@pytest.mark.parametrize("std", ["bessel", "population"])
def test_whitening_bias_is_the_affine_exchangeability_formula(shift_mean, std):
    """E ĝ = ā∇J + Σ_y π(y)∇log π(y)[r(y)(α(y) − ā) + β(y)] with f_i = a R_i + b, a = 1/D, b = −m/D or m(1 − 1/D)."""
    n, eps = 3, 1e-8
    r = T(0.0, 0.3, 1.0)
    idx, prob = enumerate_groups(PI, n)
    R = r[idx]
    m = R.mean(-1)
    D = (R.var(-1, correction=1 if std == "bessel" else 0) + eps).sqrt()
    a = 1 / D
    b = -m / D if shift_mean else m * (1 - 1 / D)
    f = whiten(R, shift_mean=shift_mean, std=std, eps=eps)
    assert torch.allclose(f, a[:, None] * R + b[:, None], rtol=0, atol=1e-12)  # the affine form
    first = idx[:, 0]
    alpha = torch.zeros(3, dtype=torch.float64).index_add_(0, first, prob * a) / PI
    beta = torch.zeros(3, dtype=torch.float64).index_add_(0, first, prob * b) / PI
    a_bar = (prob * a).sum()
    grad_j = _true_gradient(r)
    predicted = a_bar * grad_j + (PI[:, None] * (r * (alpha - a_bar) + beta)[:, None] * _scores(torch.arange(3))).sum(0)
    exact = _expected_update(lambda x: whiten(x, shift_mean=shift_mean, std=std, eps=eps), r, n)
    assert torch.allclose(exact, predicted, rtol=0, atol=1e-12)
    # twin: "whitening is a rescaling by E[1/D]" — the same comparison rejects it, and no rescaling of ∇J fits
    assert float((exact - a_bar * grad_j).abs().max()) > 1e-3
    assert _off_direction(exact, grad_j) > 1e-4


@pytest.mark.parametrize("std, d2", [("bessel", 0.5), ("population", 0.25)])
def test_whitening_binary_rewards_two_draws_closed_form(std, d2):
    """R ∈ {0, 1}, n = 2: E ĝ = ∇p/(2√(d2 + ε)) shifted, (1/2 + 1/(2√(d2 + ε)))∇p un-shifted (d2 = 1/2 or 1/4)."""
    eps = 1e-8
    r = T(1.0, 0.0, 1.0)
    grad_p = _true_gradient(r)
    D = (d2 + eps) ** 0.5
    shifted = _expected_update(lambda x: whiten(x, std=std, eps=eps), r, 2)
    kept = _expected_update(lambda x: whiten(x, std=std, eps=eps, shift_mean=False), r, 2)
    assert torch.allclose(shifted, grad_p / (2 * D), rtol=0, atol=1e-12)
    assert torch.allclose(kept, (0.5 + 0.5 / D) * grad_p, rtol=0, atol=1e-12)
    # twin: the other std convention's constant is rejected by the same check
    other = (0.75 - d2 + eps) ** 0.5
    assert float((shifted - grad_p / (2 * other)).abs().max()) > 1e-3


def test_clipping_is_exactly_unbiased_for_the_clipped_objective_only():
    r, c = T(-2.0, 0.3, 1.5), 1.0
    exact = _expected_update(lambda x: clip_values(x, bound=c), r, 2)
    grad_clipped = _true_gradient(r.clamp(-c, c))
    grad_j = _true_gradient(r)
    assert torch.allclose(exact, grad_clipped, rtol=0, atol=1e-14)
    assert torch.allclose(exact - grad_j, _true_gradient(r.clamp(-c, c) - r), rtol=0, atol=1e-14)  # the bias, exactly
    # twin: "clipping is unbiased for ∇J" is rejected
    assert float((exact - grad_j).abs().max()) > 1e-2


# ----------------------------------------------------------------------------------------------------------------
# Running reward scaling
# ----------------------------------------------------------------------------------------------------------------


def test_running_moments_equal_the_pooled_moments_with_the_pseudo_sample():
    x = torch.randn(2, 4, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    m0, v0, c0 = 0.5, 2.0, 0.3
    rm = running_moments(x, initial_mean=m0, initial_var=v0, initial_count=c0)
    for t in range(4):
        seen = x[:, : t + 1].reshape(2, -1)
        n = seen.shape[-1]
        mean = (c0 * m0 + seen.sum(-1)) / (c0 + n)
        var = (c0 * (v0 + (m0 - mean) ** 2) + ((seen - mean[:, None]) ** 2).sum(-1)) / (c0 + n)
        assert torch.allclose(rm.mean[:, t], mean, rtol=0, atol=1e-13)
        assert torch.allclose(rm.var[:, t], var, rtol=0, atol=1e-13)
        assert torch.allclose(rm.count[:, t], torch.full((2,), c0 + n, dtype=torch.float64))


def test_trl_score_scaling_hand_values():
    """TRL RunningMoments on one batch [1, 3]: mean 2, std = √(var·n/(n − 1)) = √2; scores/(std + eps32)."""
    s = T(1.0, 3.0).reshape(1, 2)
    assert torch.allclose(trl_score_scaling(s), s / (2**0.5 + EPS32), rtol=0, atol=1e-12)
    assert torch.allclose(trl_score_scaling(s, normalize=True), T(-1.0, 1.0).reshape(1, 2) / (2**0.5 + EPS32),
                          rtol=0, atol=1e-12)
    assert torch.equal(scale_rewards_running(s, "trl_score_scaling"), trl_score_scaling(s))
    # twin: the population std of the same batch (1) is a different scale
    assert float((trl_score_scaling(s) - s / (1 + EPS32)).abs().max()) > 0.1


def test_vecnormalize_hand_values_with_discounted_returns_resets_and_clip():
    """baselines VecNormalize: ret ← γ ret + r (reset after done), RunningMeanStd(count 1e-4) of ret, r/√(var + 1e-8)."""
    g = 0.5
    r = T(1.0, 3.0, 2.0, 0.0).reshape(2, 2)  # T = 2 steps of B = 2 envs
    dones = torch.tensor([[True, False], [False, False]])
    ret = torch.stack([r[0], g * r[0] * T(0.0, 1.0) + r[1]])  # env 0 restarts after step 0
    c, m, v = 1e-4, 0.0, 1.0
    expected = []
    for t in range(2):
        bm, bv = ret[t].mean(), ret[t].var(correction=0)
        tot = c + 2
        v = (v * c + bv * 2 + (bm - m) ** 2 * c * 2 / tot) / tot
        m, c = m + (bm - m) * 2 / tot, tot
        expected.append(r[t] / (v + 1e-8) ** 0.5)
    out = vecnormalize_rewards(r, dones=dones, gamma=g)
    assert torch.allclose(out, torch.stack(expected), rtol=0, atol=1e-13)
    # twin: without the reset the second step's returns (and scale) differ
    assert float((vecnormalize_rewards(r, gamma=g) - out).abs().max()) > 1e-3
    big = torch.zeros(1, 200, dtype=torch.float64)
    big[0, 0] = 1e6  # one outlier among 200 envs: r/σ ≈ √200 > 10
    assert float(vecnormalize_rewards(big).max()) == 10.0  # cliprew = 10


def test_running_scaling_enters_its_own_batch_so_is_biased_in_direction():
    """T = 2 batches of B = 2 (all 3^4 streams): TRL's update-then-scale is not parallel to ∇J; the lagged scale
    (moments of batch 1 only) gives exactly E[1/(σ₁ + ε)]·∇J."""
    r = T(0.0, 0.3, 1.0)
    idx, prob = enumerate_groups(PI, 4)
    R = r[idx].reshape(-1, 2, 2)
    scores2 = _scores(idx.reshape(-1, 2, 2)[:, 1])
    grad_j = _true_gradient(r)

    def expected(f2):  # E[(1/B) Σ_i f2_i ∇log π(y_2i)]
        return (prob[:, None] * (f2[..., None] * scores2).mean(1)).sum(0)

    library = expected(trl_score_scaling(R)[:, 1])
    rm = running_moments(R[:, :1], initial_count=1e-24)
    sigma1 = (rm.var[:, 0] * rm.count[:, 0] / (rm.count[:, 0] - 1)).sqrt() + EPS32
    lagged = expected(R[:, 1] / sigma1[:, None])
    # (a constant first batch has σ₁ = 0 and is scaled by 1/ε ≈ 8.4e6: hence the relative tolerance)
    assert torch.allclose(lagged, (prob / sigma1).sum() * grad_j, rtol=1e-12, atol=0)
    # twin: the library's own-batch scale fails the same "multiple of ∇J" check
    assert _off_direction(library, grad_j) > 1e-4


# ----------------------------------------------------------------------------------------------------------------
# Critic: hand values on a hand-built batch
# ----------------------------------------------------------------------------------------------------------------


def _hand_batch() -> Trajectories:
    """Geometric termination. Episode 0: s0 (a0, r 1) → s1 (a1, r 0) → end; episode 1: s1 (a0, r 2) → end.
    State 2 is never visited."""
    i = lambda *v: torch.tensor(v, dtype=torch.long)  # noqa: E731
    lp = torch.log(T(0.5, 0.5, 0.5))
    return Trajectories(episode=i(0, 1, 0), states=i(0, 1, 1), actions=i(0, 0, 1), rewards=T(1.0, 2.0, 0.0),
                        weights=T(1.0, 1.0, 1.0), log_target=lp, log_behaviour=lp, step_offsets=(0, 2, 3), n=2,
                        termination="geometric", discount=0.9)


def test_critic_hand_values():
    traj = _hand_batch()
    # Monte Carlo: V(s0) = 1, V(s1) = (0 + 2)/2; unvisited s2 gets the prior
    assert torch.allclose(monte_carlo_critic(traj, 3, prior=-7.0), T(1.0, 1.0, -7.0))
    assert torch.allclose(monte_carlo_critic(traj, 3), fit_state_baseline(traj, 3))
    # ridge κ = 1 toward 0: V(s0) = 1/2, V(s1) = 2/3
    assert torch.allclose(monte_carlo_critic(traj, 3, ridge=1.0), T(0.5, 2 / 3, 0.0))
    # batch TD(0) = certainty equivalence: V(s1) = 1 (both visits end), V(s0) = 1 + V(s1) = 2
    assert torch.allclose(td_lambda_critic(traj, 3, lam=0.0, prior=-7.0), T(2.0, 1.0, -7.0))
    # TD(0) with ridge 1: 3V(s1) = 2, 2V(s0) − V(s1) = 1
    assert torch.allclose(td_lambda_critic(traj, 3, lam=0.0, ridge=1.0), T(5 / 6, 2 / 3, 0.0))
    # TD(1/2): s1: (−V1) + (2 − V1) = 0; s0: (1 + V1 − V0) + ½(−V1) = 0
    assert torch.allclose(fit_critic(traj, 3, "td_lambda", lam=0.5), T(1.5, 1.0, 0.0))
    assert torch.allclose(td_lambda_critic(traj, 3, lam=1.0, ridge=0.4, prior=T(1.0, 2.0, 3.0)),
                          monte_carlo_critic(traj, 3, ridge=0.4, prior=T(1.0, 2.0, 3.0)))
    assert set(CRITIC_FITS.names()) == {"monte_carlo", "td_lambda"}


# ----------------------------------------------------------------------------------------------------------------
# Critic: infinite-data limit from exact statistics
# ----------------------------------------------------------------------------------------------------------------


def _setup(seed: int = 3, gamma: float = 0.6):
    """A random 4-state, 2-action MDP with rewards shifted by +1 (so V^π is far from a critic's prior 0)."""
    base = random_mdp(4, 2, gamma, seed)
    mdp = TabularMDP(base.transitions, base.rewards + 1.0, gamma, base.initial)
    pol = TabularSoftmax(4, 2)
    th = pol.random_params(generator=torch.Generator().manual_seed(seed))
    return mdp, pol, th, pol.probs(th)


@pytest.mark.parametrize("lam", [0.0, 0.3, 0.9, 1.0])
def test_expected_statistics_solve_to_v_pi(lam):
    mdp, _, _, pi = _setup()
    v = evaluate_policy(mdp, pi).v
    stats = expected_td_lambda_statistics(mdp, pi, lam)
    assert torch.allclose(solve_critic(stats), v, rtol=0, atol=1e-10)
    # twin: double discounting (bootstrap with γ on top of geometric termination) solves (I − γ²P_π)⁻¹r_π instead
    P = torch.einsum("sa,sat->st", pi, mdp.transitions)
    d = stats.visits
    g = mdp.discount
    trace = torch.linalg.inv(torch.eye(4, dtype=torch.float64) - g * g * lam * P)
    twin = CriticStatistics(d[:, None] * (torch.eye(4, dtype=torch.float64) - g * g * (1 - lam) * P @ trace),
                            d * (trace @ (pi * mdp.rewards).sum(-1)), d)
    assert float((solve_critic(twin) - v).abs().max()) > 1e-2


def test_batch_statistics_approach_the_exact_ones_and_the_termination_flag_matters():
    mdp, _, _, pi = _setup(gamma=0.8)
    traj = TrajectorySampler(mdp, pi).sample(20_000, torch.Generator().manual_seed(0))
    stats = td_lambda_statistics(traj, 4, 0.5)
    exact = expected_td_lambda_statistics(mdp, pi, 0.5)
    assert float((stats.matrix / traj.n - exact.matrix).abs().max()) < 0.03
    assert float((stats.target / traj.n - exact.target).abs().max()) < 0.03
    v = evaluate_policy(mdp, pi).v
    assert float((solve_critic(stats) - v).abs().max()) < 0.05
    # twin: the same data labelled "truncate" bootstraps with γ on top of the geometric stop (double discount):
    # it converges to (I − γ²P_π)⁻¹r_π, far from V^π
    wrong = td_lambda_critic(dataclasses.replace(traj, termination="truncate"), 4, lam=0.5)
    P = torch.einsum("sa,sat->st", pi, mdp.transitions)
    v_double = torch.linalg.solve(torch.eye(4, dtype=torch.float64) - 0.64 * P, (pi * mdp.rewards).sum(-1))
    assert float((wrong - v_double).abs().max()) < 0.05
    assert float((wrong - v).abs().max()) > 1.0


# ----------------------------------------------------------------------------------------------------------------
# GAE with a critic fitted on an independent batch
# ----------------------------------------------------------------------------------------------------------------


def _small_batch_critics(mdp, pi, k: int, *, lam_fit=0.0, ridge=1.0):
    sampler = TrajectorySampler(mdp, pi)
    return torch.stack([td_lambda_critic(sampler.sample(3, torch.Generator().manual_seed(100 + i)), 4, lam=lam_fit,
                                         ridge=ridge) for i in range(k)])


def test_gae_bias_given_a_fitted_critic_is_exact_zero_at_lambda_one_and_affine_in_the_critic():
    mdp, pol, th, pi = _setup(seed=4, gamma=0.8)
    truth = policy_gradient(mdp, pol, th)
    critics = _small_batch_critics(mdp, pi, 16)
    v_pi = evaluate_policy(mdp, pi).v
    for lam in (0.0, 0.5, 0.9):
        per_critic = torch.stack([expected_gae_gradient(mdp, pol, th, v, lam) for v in critics])
        at_mean = expected_gae_gradient(mdp, pol, th, critics.mean(0), lam)
        assert torch.allclose(per_critic.mean(0), at_mean, rtol=0, atol=1e-12)  # E_critic[g(V̂)] = g(E V̂)
        assert float((at_mean - truth).abs().max()) > 1e-2  # a small-batch ridge critic biases GAE(λ < 1)
        assert torch.allclose(expected_gae_gradient(mdp, pol, th, v_pi, lam), truth, rtol=0, atol=1e-10)
    for v in critics:
        assert torch.allclose(expected_gae_gradient(mdp, pol, th, v, 1.0), truth, rtol=0, atol=1e-10)


def test_gae_with_independent_fitted_critic_matches_its_exact_conditional_mean():
    mdp, pol, th, pi = _setup(seed=4, gamma=0.8)
    critic = td_lambda_critic(TrajectorySampler(mdp, pi).sample(3, torch.Generator().manual_seed(7)), 4, lam=0.0,
                              ridge=1.0)
    batch = TrajectorySampler(mdp, pi).sample(20_000, torch.Generator().manual_seed(8))  # independent of the critic
    est = policy_gradient_estimates(batch, pol, th, "gae", values=critic, lam=0.5)
    expected = expected_gae_gradient(mdp, pol, th, critic, 0.5)
    assert bias_test(est, expected).pvalue > ALPHA
    # twin: the same test rejects ∇J (the critic's bias is detectable at this n)
    assert bias_test(est, policy_gradient(mdp, pol, th)).pvalue < ALPHA


@pytest.mark.parametrize("lam", [0.0, 0.5, 1.0])
def test_same_batch_critic_centres_each_states_advantages(lam):
    """Twin: critic and advantages from the SAME batch. The TD(λ) fit makes Σ_{t: s_t = s} Â_t = 0 in every state
    (an independent critic does not), so a state whose visits all take one action gets exactly zero gradient."""
    mdp, _, _, pi = _setup()
    sampler = TrajectorySampler(mdp, pi)
    traj = sampler.sample(30, torch.Generator().manual_seed(11))
    per_state = lambda v: torch.zeros(4, dtype=torch.float64).index_add_(0, traj.states, gae_advantages(traj, v, lam))  # noqa: E731
    same = td_lambda_critic(traj, 4, lam=lam)
    assert float(per_state(same).abs().max()) < 1e-10
    independent = td_lambda_critic(sampler.sample(30, torch.Generator().manual_seed(12)), 4, lam=lam)
    assert float(per_state(independent).abs().max()) > 1e-3
    ridged = td_lambda_critic(traj, 4, lam=lam, ridge=0.7, prior=2.0)  # the fixed-point equation with a ridge
    assert torch.allclose(per_state(ridged), 0.7 * (ridged - 2.0), rtol=0, atol=1e-10)
    short = TrajectorySampler(mdp, pi, termination="truncate", horizon=4).sample(30, torch.Generator().manual_seed(13))
    sums = torch.zeros(4, dtype=torch.float64).index_add_(
        0, short.states, gae_advantages(short, td_lambda_critic(short, 4, lam=lam), lam))
    assert float(sums.abs().max()) < 1e-10  # the same identity under a truncated horizon (g = γ in GAE)

    hand = _hand_batch()  # state 0 is visited once (one action): its gradient row vanishes with the same-batch critic
    pol = TabularSoftmax(3, 2)
    th = torch.zeros(3, 2, dtype=torch.float64)
    g_same = score_contraction(hand, gae_advantages(hand, td_lambda_critic(hand, 3, lam=lam), lam), pol, th).sum(0)
    assert float(g_same[0].abs().max()) < 1e-12
    g_other = score_contraction(hand, gae_advantages(hand, T(0.0, 0.0, 0.0), lam), pol, th).sum(0)
    assert float(g_other[0].abs().max()) > 0.1


# ----------------------------------------------------------------------------------------------------------------
# Named errors
# ----------------------------------------------------------------------------------------------------------------


def test_normalization_bad_inputs_are_named():
    x = T(1.0, 2.0, 3.0)
    with pytest.raises(ValueError, match="^mask: expected shape"):
        whiten(x, mask=torch.tensor([True, False]))
    with pytest.raises(ValueError, match="^std: expected"):
        whiten(x, std="sample")
    with pytest.raises(ValueError, match="^eps: must be positive"):
        whiten(x, eps=0.0)
    with pytest.raises(ValueError, match="^eps_placement: expected"):
        whiten(x, eps_placement="both")
    with pytest.raises(ValueError, match="^values: contains NaN"):
        whiten(T(1.0, float("nan")))
    with pytest.raises(ValueError, match="^values: the bessel variance needs at least 2"):
        whiten(T(1.0))
    with pytest.raises(ValueError, match="^pool_axes: values has 1 axes"):
        whiten(x, pool_axes=2)
    with pytest.raises(TypeError, match="^shift_mean: expected a bool"):
        whiten(x, shift_mean=1)
    with pytest.raises(ValueError, match="^bound: must be positive"):
        clip_values(x, bound=0.0)
    with pytest.raises(ValueError, match="^kind: unknown advantage transform"):
        transform_advantages(x, "standardise")
    with pytest.raises(TypeError, match="^shift_men: unexpected keyword"):
        transform_advantages(x, "whiten", shift_men=False)
    with pytest.raises(ValueError, match="^scores: TRL's running std needs at least 2"):
        trl_score_scaling(T(1.0, 2.0).reshape(2, 1))
    with pytest.raises(ValueError, match="^rewards: expected a stream"):
        vecnormalize_rewards(x)
    with pytest.raises(ValueError, match="^dones: expected a boolean mask"):
        vecnormalize_rewards(x.reshape(1, 3), dones=T(0.5, 0.0, 1.0).reshape(1, 3))
    with pytest.raises(ValueError, match="^gamma: must lie in"):
        vecnormalize_rewards(x.reshape(1, 3), gamma=1.5)
    with pytest.raises(ValueError, match="^initial_count: must be positive"):
        running_moments(x.reshape(1, 3), initial_count=0.0)
    with pytest.raises(ValueError, match="^kind: unknown running reward scaling"):
        scale_rewards_running(x.reshape(1, 3), "popart")
    assert set(RUNNING_REWARD_SCALINGS.names()) == {"trl_score_scaling", "vecnormalize"}


def test_critic_bad_inputs_are_named():
    traj = _hand_batch()
    mdp, pol, th, pi = _setup()
    with pytest.raises(ValueError, match="^n_states: the trajectories visit state 1"):
        td_lambda_critic(traj, 1, lam=0.0)
    with pytest.raises(ValueError, match="^lam: must lie in"):
        td_lambda_critic(traj, 3, lam=1.5)
    with pytest.raises(ValueError, match="^ridge: must be non-negative"):
        monte_carlo_critic(traj, 3, ridge=-1.0)
    with pytest.raises(ValueError, match=r"^prior: expected shape \[S\]"):
        monte_carlo_critic(traj, 3, prior=T(1.0, 2.0))
    with pytest.raises(TypeError, match="^traj: expected a Trajectories batch"):
        td_lambda_statistics([1, 2], 3, 0.0)
    with pytest.raises(TypeError, match="^stats: expected CriticStatistics"):
        solve_critic((torch.eye(2), T(1.0, 1.0), T(1.0, 1.0)))
    with pytest.raises(ValueError, match=r"^stats: expected shape matrix \[S, S\]"):
        solve_critic(CriticStatistics(torch.eye(3, dtype=torch.float64), T(1.0, 1.0), T(1.0, 1.0)))
    with pytest.raises(ValueError, match="^kind: unknown critic fit"):
        fit_critic(traj, 3, "lstd")
    with pytest.raises(TypeError, match="^lam: required keyword argument"):
        fit_critic(traj, 3, "td_lambda")
    with pytest.raises(ValueError, match="^policy: built for S=3"):
        expected_gae_gradient(mdp, TabularSoftmax(3, 2), torch.zeros(3, 2), T(0.0, 0.0, 0.0, 0.0), 0.5)
    with pytest.raises(TypeError, match="^mdp: expected a TabularMDP"):
        expected_td_lambda_statistics(None, pi, 0.5)


def test_every_entry_creates_its_tensors_on_the_inputs_device():
    """With the default device set to 'meta', a tensor made without ``device=`` would land there and fail."""
    x = torch.randn(2, 3, 4, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    traj = _hand_batch()
    torch.set_default_device("meta")
    try:
        kw = {"clip": {"bound": 1.0}}
        for kind in ADVANTAGE_TRANSFORMS.names():
            assert transform_advantages(x, kind, **kw.get(kind, {})).device.type == "cpu", kind
        for kind in RUNNING_REWARD_SCALINGS.names():
            assert scale_rewards_running(x, kind).device.type == "cpu", kind
        for kind in CRITIC_FITS.names():
            fit = fit_critic(traj, 3, kind, **({"lam": 0.5} if kind == "td_lambda" else {}), prior=1.0)
            assert fit.device.type == "cpu", kind
    finally:
        torch.set_default_device("cpu")
