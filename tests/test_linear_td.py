"""Sampled linear policy evaluation (issue 13, item 2 sampled part): LSTD(λ) statistics, streaming and gradient TD
(:mod:`pgtheory.estimators.linear_td`) against the exact layer (:mod:`pgtheory.exact.linear_evaluation`).

Ground truth. Under geometric termination the per-episode statistics have the exact mean
E[A] = ΦᵀD_μ(Φ − γP^{(λ)}Φ)/(1 − γ), E[b] = ΦᵀD_μ r^{(λ)}/(1 − γ) (:func:`expected_lstd_statistics`), checked here
against an independent dense formula (Boyan's trace form). Every statistical check is a Bonferroni bias test at
α = 1e-6 (:func:`pgtheory.stats.bias_test`) with a twin that the same test rejects.

Sample sizes. Planned with :func:`pgtheory.stats.required_sample_size` (α = 1e-6, power 0.99, Bonferroni over the
coordinates) for the twin's most detectable coordinate, from a pilot of 20 000 episodes (5 000 truncated ones) on
seeds 1001–1010, disjoint from the seeds used here (0–99, 2000+). Problem: ``random_mdp(4, 2, 0.8, 11)``, d = 3
Gaussian features (seed 3), softmax π (seed 1), behaviour μ (seed 2); per-episode vectors [A.flatten(), b] (12
coordinates).

========================================  =========================  ========  =======  ==========  ========
test (λ)                                  twin                       bias      sd       planned n   used n
========================================  =========================  ========  =======  ==========  ========
on-policy, expected target (0.5)          textbook γ (β=γ, c=γλ)     0.0841*   0.695    4058        5000
on-policy, expected target (0.5)          traces not reset           0.144     1.08     3346        5000
off-policy, SARSA target (0.5)            traces without ratios      0.333     1.18     757         1000
truncated horizon H = 60 (0.5)            trace decay γλ with γ^t    0.0925    0.538    2015        2500
LSTD(0) residual b_n − A_n w_TD           w of the best linear fit   0.913     1.43     149         20000†
one-hot LSTD(0) residual at Q^π           Q^π of discount γ²         0.148     0.426    491         20000†
streamed moments, λ = 0                  exact mean of textbook γ   0.0638*   0.651    6173        8000
GTD2 / TDC Polyak averages (runs)         wrong-γ LSTD solution      0.054     0.0225   22          64
========================================  =========================  ========  =======  ==========  ========

(* exact bias from the dense formula; others from the pilot's means.  † "large sample" checks of convergence of the
LSTD solution, well above the planned minimum.)
"""
import math

import numpy as np
import pytest
import torch
from scipy import stats as st

from pgtheory.estimators.linear_td import (GRADIENT_TD, LSTDAccumulator, expected_lstd_statistics, gradient_td,
                                           gradient_td_iterate, gradient_td_iteration_matrix, linked_backward_recursion,
                                           lstd_solve, lstd_statistics, lstd_statistics_batched,
                                           lstd_statistics_per_episode, lstd_stream, td_counts, td_features,
                                           td_statistics, td_transitions)
from pgtheory.exact.evaluation import evaluate_policy, state_action_occupancy
from pgtheory.exact.linear_evaluation import best_linear_fit, state_action_transition_matrix, td_fixed_point
from pgtheory.problems.mdp import TabularMDP
from pgtheory.sampling.mdp import Trajectories, TrajectorySampler
from pgtheory.stats import bias_test, twin_rejects

from .conftest import random_mdp

F64 = torch.float64
ALPHA = 1e-6
pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


MDP = random_mdp(4, 2, 0.8, 11)
S, A, D = 4, 2, 3
GAMMA = MDP.discount
PI = torch.softmax(torch.randn(S, A, generator=_gen(1), dtype=F64), -1)
MU = torch.softmax(torch.randn(S, A, generator=_gen(2), dtype=F64), -1)
PHI = torch.randn(S, A, D, generator=_gen(3), dtype=F64)


def _sample(n: int, seed: int, *, behaviour=None, **kw) -> Trajectories:
    mu = PI if behaviour is None else behaviour
    return TrajectorySampler(MDP, mu, target=None if behaviour is None else PI, **kw).sample(n, _gen(seed))


def _flat(stats) -> torch.Tensor:
    return torch.cat([stats.A.flatten(-2), stats.b], -1)


def _dense_reference(mdp, pi, phi, *, bootstrap, decay, behaviour=None):
    """(1/(1−γ)) Φᵀ D_μ (I − decay·P_π)^{-1} [Φ − bootstrap·P_πΦ, r] by dense numpy algebra (Boyan 2002's form)."""
    P = state_action_transition_matrix(mdp, pi).numpy()
    Dm = state_action_occupancy(mdp, pi if behaviour is None else behaviour).reshape(-1).numpy()
    Ph = phi.reshape(-1, phi.shape[-1]).numpy()
    r = mdp.rewards.reshape(-1).numpy()
    L = Ph.T @ (Dm[:, None] * np.linalg.inv(np.eye(len(r)) - decay * P)) / (1 - mdp.discount)
    return torch.from_numpy(L @ (Ph - bootstrap * P @ Ph)), torch.from_numpy(L @ r)


def _sequential_reference(traj, phi, pi, lam, *, target="expected"):
    """The definition, episode by episode in Python: z_t = λ·ρ_t·z_{t−1} + φ_t, A += ω_t z_t(φ_t − βφ̄_{t+1})ᵀ."""
    geometric = traj.termination == "geometric"
    g = traj.discount
    beta = 1.0 if geometric else g
    st_, ac, rw = (traj.padded(x.to(F64), -1).numpy() for x in (traj.states, traj.actions, traj.rewards))
    lb = traj.padded(traj.log_behaviour, 0).numpy()
    ph, p = phi.numpy(), pi.numpy()
    Amat, b = np.zeros((phi.shape[-1],) * 2), np.zeros(phi.shape[-1])
    for n in range(traj.n):
        L = int((st_[n] >= 0).sum())
        z = np.zeros(phi.shape[-1])
        for t in range(L if geometric else L - 1):
            s, a = int(st_[n, t]), int(ac[n, t])
            rho = p[s, a] / math.exp(lb[n, t])
            z = lam * rho * z + ph[s, a]
            if t + 1 < L:
                s2, a2 = int(st_[n, t + 1]), int(ac[n, t + 1])
                nxt = p[s2] @ ph[s2] if target == "expected" else p[s2, a2] / math.exp(lb[n, t + 1]) * ph[s2, a2]
            else:
                nxt = np.zeros(phi.shape[-1])
            w = 1.0 if geometric else g ** t
            Amat += w * np.outer(z, ph[s, a] - beta * nxt)
            b += w * z * rw[n, t]
    return torch.from_numpy(Amat), torch.from_numpy(b)


def _rel(a, b) -> float:
    return float((a - b).abs().max() / b.abs().max().clamp_min(1e-300))


def _no_reset(tt):
    """Twin: the trace of an episode's last transition continues into the next episode's first one."""
    last = (tt.successor < 0).nonzero().squeeze(-1)
    ep = tt.episode[last]
    link = tt.link.clone()
    ok = ep < tt.n - 1
    link[last[ok]] = ep[ok] + 1  # step 0 holds every episode in order: transition i is episode i's first
    return tt._replace(link=link)


# ------------------------------------------------------------------------------------------------------------------
# exact: the expected statistics are the exact LSTD(λ) system
# ------------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("lam", [0.0, 0.5, 1.0])
@pytest.mark.parametrize("off_policy", [False, True])
def test_expected_statistics_are_the_exact_system_over_one_minus_gamma(lam, off_policy):
    mu = MU if off_policy else None
    ex = expected_lstd_statistics(MDP, PI, PHI, lam, behaviour=mu)
    Aref, bref = _dense_reference(MDP, PI, PHI, bootstrap=GAMMA, decay=GAMMA * lam, behaviour=mu)
    assert _rel(ex.A, Aref) < 1e-12 and _rel(ex.b, bref) < 1e-12
    assert ex.n_transitions == pytest.approx(1 / (1 - GAMMA), rel=1e-15)
    weights = state_action_occupancy(MDP, PI if mu is None else mu)
    w = td_fixed_point(MDP, PI, PHI, weights=weights, lam=lam).w
    assert _rel(ex.A @ w, ex.b) < 1e-12  # the TD fixed point solves the expected system
    # twin: the textbook placement on geometric episodes (bootstrap γ², trace γ²λ) is another system
    Aw, bw = _dense_reference(MDP, PI, PHI, bootstrap=GAMMA ** 2, decay=GAMMA ** 2 * lam, behaviour=mu)
    # (at λ = 1 the A's coincide, (I − γ²P)^{-1}(I − γ²P) = I, but the b's do not)
    assert _rel(torch.cat([Aw.flatten(), bw]), torch.cat([ex.A.flatten(), ex.b])) > 1e-3  # 9 orders above 1e-12


# ------------------------------------------------------------------------------------------------------------------
# exact on a batch: the implementations agree with the definition and with each other
# ------------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("termination", ["geometric", "truncate"])
@pytest.mark.parametrize("off_policy", [False, True])
@pytest.mark.parametrize("target", ["expected", "sarsa"])
@pytest.mark.parametrize("lam", [0.0, 0.7])
def test_statistics_match_the_sequential_definition(termination, off_policy, target, lam):
    kw = {"termination": "truncate", "horizon": 7} if termination == "truncate" else {}
    traj = _sample(40, 5, behaviour=MU if off_policy else None, **kw)
    Aref, bref = _sequential_reference(traj, PHI, PI, lam, target=target)
    for method in ("counts", "features"):
        got = lstd_statistics(traj, PHI, PI, lam, target=target, method=method)
        assert _rel(got.A, Aref) < 1e-12 and _rel(got.b, bref) < 1e-12, method
    per = lstd_statistics_per_episode(traj, PHI, PI, lam, target=target)
    assert per.A.shape == (traj.n, D, D) and per.b.shape == (traj.n, D)
    assert _rel(per.A.sum(0), Aref) < 1e-12 and _rel(per.b.sum(0), bref) < 1e-12
    n_expected = traj.n_transitions - (traj.n if termination == "truncate" else 0)  # truncation drops the last step
    assert int(per.n_transitions.sum()) == got.n_transitions == n_expected


@pytest.mark.parametrize("lam", [0.0, 0.6])
@pytest.mark.parametrize("target", ["expected", "sarsa"])
def test_batched_statistics_equal_a_loop_over_feature_sets_and_policies(lam, target):
    traj = _sample(300, 6, behaviour=MU)
    feats = torch.randn(5, S, A, D, generator=_gen(7), dtype=F64)
    pis = torch.softmax(torch.randn(5, S, A, generator=_gen(8), dtype=F64), -1)
    out = lstd_statistics_batched(traj, feats, PI, lam, target=target)
    assert out.A.shape == (5, D, D) and out.b.shape == (5, D)
    for i in range(5):
        one = lstd_statistics(traj, feats[i], PI, lam, target=target, method="features")
        assert _rel(out.A[i], one.A) < 1e-12 and _rel(out.b[i], one.b) < 1e-12
    outp = lstd_statistics_batched(traj, PHI, pis, lam, target=target)  # one feature set, five policies
    both = lstd_statistics_batched(traj, feats, pis, lam, target=target, method="features")
    for i in range(5):
        one = lstd_statistics(traj, PHI, pis[i], lam, target=target, method="features")
        assert _rel(outp.A[i], one.A) < 1e-12 and _rel(outp.b[i], one.b) < 1e-12
        pair = lstd_statistics(traj, feats[i], pis[i], lam, target=target)
        assert _rel(both.A[i], pair.A) < 1e-12
    counts = td_counts(td_transitions(traj, PI, lam), target=target)
    assert counts.diagonal == (lam == 0.0)
    if lam == 0.0:  # λ = 0: F is diagonal, the per-pair visit counts
        assert torch.equal(counts.F[0], torch.diag(counts.F[0].diagonal()))
        assert float(counts.F[0].diagonal().sum()) == traj.n_transitions


def test_linked_backward_recursion_matches_the_sequential_scan_for_any_order():
    g = _gen(9)
    M = 200
    perm = torch.randperm(M, generator=g)  # chains in scrambled storage order: 0→1→…→49, 50→…→99, …
    link = torch.full((M,), -1, dtype=torch.long)
    for c in range(4):
        for i in range(50 * c, 50 * c + 49):
            link[perm[i]] = perm[i + 1]
    v = torch.randn(M, 2, generator=g, dtype=F64)
    dcy = torch.rand(M, generator=g, dtype=F64)
    want = torch.zeros(M, 2, dtype=F64)
    for c in range(4):
        acc = torch.zeros(2, dtype=F64)
        for i in range(50 * c + 49, 50 * c - 1, -1):
            k = perm[i]
            acc = v[k] + (dcy[k] * acc if link[k] >= 0 else 0.0)
            want[k] = acc
    assert _rel(linked_backward_recursion(v, dcy, link), want) < 1e-13


# ------------------------------------------------------------------------------------------------------------------
# statistical: unbiasedness of the per-episode statistics, each with twins
# ------------------------------------------------------------------------------------------------------------------
def test_per_episode_statistics_are_unbiased_and_both_twins_are_rejected():
    """λ = 0.5, on-policy, expected target, geometric episodes; n = 5000 (planned 4058 and 3346, module table)."""
    lam = 0.5
    traj = _sample(5000, 10)
    tt = td_transitions(traj, PI, lam)
    truth = _flat(expected_lstd_statistics(MDP, PI, PHI, lam))
    ok = _flat(td_statistics(tt, PHI, per_episode=True))
    assert bias_test(ok, truth).pvalue > ALPHA
    textbook = _flat(td_statistics(tt._replace(bootstrap=GAMMA, trace_decay=GAMMA * lam), PHI, per_episode=True))
    Aw, bw = _dense_reference(MDP, PI, PHI, bootstrap=GAMMA ** 2, decay=GAMMA ** 2 * lam)
    assert bias_test(textbook, torch.cat([Aw.flatten(), bw])).pvalue > ALPHA  # the twin estimates the γ² system ...
    assert bias_test(textbook, truth).pvalue <= ALPHA  # ... and the test rejects it
    unreset = _flat(td_statistics(_no_reset(tt), PHI, per_episode=True))
    assert bias_test(unreset, truth).pvalue <= ALPHA


def test_off_policy_sarsa_statistics_need_the_ratios():
    """μ ≠ π, λ = 0.5, SARSA target: ratios in the traces and on the next action make the statistics unbiased for
    the μ-weighted exact system; without them (twin) the test rejects. n = 1000 (planned 757)."""
    lam = 0.5
    traj = _sample(1000, 11, behaviour=MU)
    tt = td_transitions(traj, PI, lam)
    truth = _flat(expected_lstd_statistics(MDP, PI, PHI, lam, behaviour=MU))
    ok = _flat(td_statistics(tt, PHI, target="sarsa", per_episode=True))
    assert bias_test(ok, truth).pvalue > ALPHA
    no_ratio = tt._replace(log_behaviour=torch.log(PI[traj.states, traj.actions]))  # pretend on-policy
    assert bias_test(_flat(td_statistics(no_ratio, PHI, target="sarsa", per_episode=True)), truth).pvalue <= ALPHA


def test_truncated_horizon_statistics_are_unbiased_up_to_the_horizon():
    """Truncation at H = 60 with weights γ^t, β = γ, trace decay λ: bias O(γ^59) ≈ 2e-6, far below the standard
    errors (≈ 0.01). Twin: the textbook trace decay γλ on top of the γ^t weights. n = 2500 (planned 2015)."""
    lam = 0.5
    traj = _sample(2500, 12, termination="truncate", horizon=60)
    tt = td_transitions(traj, PI, lam)
    truth = _flat(expected_lstd_statistics(MDP, PI, PHI, lam))
    assert bias_test(_flat(td_statistics(tt, PHI, per_episode=True)), truth).pvalue > ALPHA
    twin = _flat(td_statistics(tt._replace(trace_decay=GAMMA * lam), PHI, per_episode=True))
    assert bias_test(twin, truth).pvalue <= ALPHA


def _delta_method_bound(per, w_star, w_hat):
    """max_i |ŵ − w*|_i / SE_i with SE from the linearisation ŵ − w* ≈ Ā⁻¹ mean(b_n − A_n w*)."""
    Abar = per.A.mean(0)
    u = torch.linalg.solve(Abar, (per.b - per.A @ w_star).T).T  # [N, d]
    se = u.std(0) / math.sqrt(u.shape[0])
    return float(((w_hat - w_star).abs() / se).max())


def test_lstd_solution_converges_to_the_td_fixed_point():
    """LSTD(0) from 20 000 geometric episodes. Exact identity: the residual b_n − A_n w_TD has mean 0 (bias test);
    twin: the residual at the best linear fit's w (planned n 149). The solution lies within the delta-method
    Bonferroni bound t_{1−α/(2d)} standard errors of td_fixed_point(...).w."""
    traj = _sample(20000, 13)
    per = lstd_statistics_per_episode(traj, PHI, PI, 0.0)
    w_td = td_fixed_point(MDP, PI, PHI).w
    w_fit = best_linear_fit(MDP, PI, PHI).w
    assert bias_test(per.b - per.A @ w_td, torch.zeros(D)).pvalue > ALPHA
    assert bias_test(per.b - per.A @ w_fit, torch.zeros(D)).pvalue <= ALPHA
    w_hat = lstd_solve(per.A.sum(0), per.b.sum(0))
    crit = st.norm.isf(ALPHA / (2 * D))
    assert _delta_method_bound(per, w_td, w_hat) < crit
    assert _delta_method_bound(per, w_fit, w_hat) > crit  # twin: far from the best linear fit
    assert torch.allclose(w_hat, lstd_solve(*lstd_statistics(traj, PHI, PI)[:2]), rtol=1e-10, atol=0)


def test_one_hot_lstd0_approaches_q_pi():
    """One-hot features: the exact TD fixed point is Q^π itself, and LSTD(0) from 20 000 episodes approaches it.
    Twin: Q^π of the discount γ² (planned n 491)."""
    onehot = torch.eye(S * A, dtype=F64).reshape(S, A, S * A)
    q = evaluate_policy(MDP, PI).q.reshape(-1)
    assert torch.allclose(td_fixed_point(MDP, PI, onehot).w, q, rtol=0, atol=1e-12)
    traj = _sample(20000, 14)
    per = lstd_statistics_per_episode(traj, onehot, PI, 0.0)
    assert bias_test(per.b - per.A @ q, torch.zeros(S * A)).pvalue > ALPHA
    q_wrong = evaluate_policy(TabularMDP(MDP.transitions, MDP.rewards, GAMMA ** 2, MDP.initial), PI).q.reshape(-1)
    assert bias_test(per.b - per.A @ q_wrong, torch.zeros(S * A)).pvalue <= ALPHA
    q_hat = lstd_solve(per.A.sum(0), per.b.sum(0))
    crit = st.norm.isf(ALPHA / (2 * S * A))
    assert _delta_method_bound(per, q, q_hat) < crit
    assert _delta_method_bound(per, q_wrong, q_hat) > crit


# ------------------------------------------------------------------------------------------------------------------
# streaming
# ------------------------------------------------------------------------------------------------------------------
def _concat(chunks) -> Trajectories:
    """Concatenate batches into one step-major batch (episodes renumbered in chunk order)."""
    bases = np.cumsum([0] + [c.n for c in chunks])
    T = max(c.n_steps for c in chunks)
    names = ("episode", "states", "actions", "rewards", "weights", "log_target", "log_behaviour")
    parts = {k: [] for k in names}
    offsets = [0]
    for t in range(T):
        count = 0
        for c, base in zip(chunks, bases):
            if t < c.n_steps:
                sl = c.step_slice(t)
                for k in names:
                    parts[k].append(getattr(c, k)[sl] + (int(base) if k == "episode" else 0))
                count += sl.stop - sl.start
        offsets.append(offsets[-1] + count)
    c0 = chunks[0]
    return Trajectories(*(torch.cat(parts[k]) for k in names), tuple(offsets), int(bases[-1]), c0.termination,
                        c0.discount)


@pytest.mark.parametrize("lam", [0.0, 0.6])
def test_chunked_accumulation_equals_the_one_shot_statistics(lam):
    sampler = TrajectorySampler(MDP, PI)
    chunks = list(sampler.sample_chunks(3000, _gen(15), chunk_size=700))
    whole = _concat(chunks)
    one = lstd_statistics(whole, PHI, PI, lam)
    acc = LSTDAccumulator(PHI, PI, lam)
    for c in chunks:
        acc.update(c)
    got = acc.statistics()
    assert _rel(got.A, one.A) < 1e-10 and _rel(got.b, one.b) < 1e-10 and got.n_transitions == one.n_transitions
    assert acc.n_episodes == 3000 and acc.n_chunks == 5
    assert _rel(acc.solve(), lstd_solve(one.A, one.b)) < 1e-10
    # the streaming driver gives the same numbers for the same generator state and chunk size
    streamed = lstd_stream(sampler, 3000, _gen(15), PHI, lam=lam, chunk_size=700, moments=True)
    assert _rel(streamed.A, one.A) < 1e-10 and _rel(streamed.b, one.b) < 1e-10
    per = _flat(lstd_statistics_per_episode(whole, PHI, PI, lam))
    assert streamed.moments.n == 3000 and _rel(streamed.moments.mean, per.mean(0)) < 1e-10
    assert _rel(streamed.moments.covariance, torch.cov(per.T)) < 1e-9
    # a batch of feature sets streams too
    feats = torch.randn(4, S, A, D, generator=_gen(16), dtype=F64)
    accb = LSTDAccumulator(feats, PI, lam)
    for c in chunks:
        accb.update(c)
    oneb = lstd_statistics_batched(whole, feats, PI, lam)
    assert _rel(accb.A, oneb.A) < 1e-10 and accb.solve().shape == (4, D)


def test_streamed_moments_feed_the_bias_test():
    """Bounded memory end to end: 8000 episodes in chunks of 2000, only the per-episode moments kept, then the bias
    test on the accumulator (λ = 0). Twin: the exact mean of the textbook-γ statistics (planned n 6173)."""
    acc = lstd_stream(TrajectorySampler(MDP, PI), 8000, _gen(17), PHI, chunk_size=2000, moments=True)
    truth = _flat(expected_lstd_statistics(MDP, PI, PHI, 0.0))
    assert bias_test(acc.moments, truth).pvalue > ALPHA
    Aw, bw = _dense_reference(MDP, PI, PHI, bootstrap=GAMMA ** 2, decay=0.0)
    wrong = torch.cat([Aw.flatten(), bw])
    assert bias_test(acc.moments, wrong).pvalue <= ALPHA


# ------------------------------------------------------------------------------------------------------------------
# gradient TD
# ------------------------------------------------------------------------------------------------------------------
def _batch_means(traj):
    f = td_features(td_transitions(traj, PI, 0.0), PHI)
    M = f.phi.shape[0]
    wx = f.weight.unsqueeze(-1) * f.phi
    return wx.T @ f.difference / M, wx.T @ f.reward / M, wx.T @ f.phi / M


def _iterations_to(Mmat, tol):
    """Smallest K with ‖M^K‖₂ ≤ tol (the deterministic iteration's error factor)."""
    P = torch.eye(Mmat.shape[0], dtype=F64)
    for k in range(1, 100000):
        P = P @ Mmat
        if float(torch.linalg.matrix_norm(P, 2)) <= tol:
            return k, float(torch.linalg.matrix_norm(P, 2))
    raise AssertionError("no convergence")


@pytest.mark.parametrize("method", ["gtd2", "tdc"])
def test_full_batch_gradient_td_converges_to_the_batch_lstd_solution(method):
    """Deterministic: z_K − z* = M^K(z_0 − z*) with z* = (Ā⁻¹b̄, 0). K is the first iteration with ‖M^K‖₂ ≤ 1e-11,
    so from z_0 = 0 the error is ≤ 1e-11‖z*‖; the tolerance 1e-9 leaves a factor 100 for rounding."""
    traj = _sample(2000, 20)
    Ab, bb, Cb = _batch_means(traj)
    theta_star = lstd_solve(*lstd_statistics(traj, PHI, PI)[:2])
    assert _rel(torch.linalg.solve(Ab, bb), theta_star) < 1e-10
    alpha, beta = 0.2, 0.4
    Mmat = gradient_td_iteration_matrix(Ab, Cb, method=method, alpha=alpha, beta=beta)
    assert float(torch.linalg.eigvals(Mmat).abs().max()) < 1
    K, factor = _iterations_to(Mmat, 1e-11)
    res = gradient_td(traj, PHI, PI, method=method, alpha=alpha, beta=beta, n_iterations=K)
    assert float((res.theta[0] - theta_star).norm()) <= 1e-9 * float(theta_star.norm())
    assert float(res.w[0].norm()) <= 1e-9 * float(theta_star.norm())
    # the same iteration on the means directly
    direct = gradient_td_iterate(Ab, bb, Cb, method=method, alpha=alpha, beta=beta, n_iterations=K)
    assert _rel(direct.theta[0], res.theta[0]) < 1e-12


@pytest.mark.parametrize("method", ["gtd2", "tdc"])
def test_stochastic_gradient_td_averages_are_unbiased(method):
    """Mini-batches of 8 drawn independently of the iterate: E[θ_k] follows the full-batch iteration exactly, so the
    Polyak average over k = 1001…2000 of 64 runs is unbiased for the full-batch average (itself within
    ‖M^1000‖·‖z*‖ of the LSTD solution). Twin: the wrong-γ LSTD solution (β = γ), planned R = 22 (pilot sd 0.0225,
    bias 0.054); R = 64 used, since the s.d. varies with the batch (0.029 on this one)."""
    traj = _sample(2000, 21)
    kw = dict(method=method, alpha=0.2, beta=0.4, n_iterations=2000, average_from=1000)
    runs = gradient_td(traj, PHI, PI, batch_size=8, n_runs=64, generator=_gen(2000), **kw)
    mean_path = gradient_td(traj, PHI, PI, **kw).theta_average[0]
    Ab, bb, Cb = _batch_means(traj)
    theta_star = torch.linalg.solve(Ab, bb)
    Mmat = gradient_td_iteration_matrix(Ab, Cb, method=method, alpha=0.2, beta=0.4)
    transient = float(torch.linalg.matrix_norm(torch.linalg.matrix_power(Mmat, 1000), 2)) * float(theta_star.norm())
    assert float((mean_path - theta_star).norm()) <= transient + 1e-12
    assert bias_test(runs.theta_average, mean_path).pvalue > ALPHA
    tt = td_transitions(traj, PI, 0.0)
    fw = td_features(tt._replace(bootstrap=GAMMA), PHI)
    wx = fw.weight.unsqueeze(-1) * fw.phi
    theta_wrong = torch.linalg.solve(wx.T @ fw.difference, wx.T @ fw.reward)
    assert twin_rejects(runs.theta_average, mean_path, theta_wrong) is True


def test_off_policy_divergence_td_diverges_where_gtd2_and_tdc_converge():
    """Sutton & Barto (2018, §11.2)'s "w → 2w" in Q form, exact expectations (d = 1, reward 0, fixed point θ = 0):
    state 0 (φ = 1) → state 1; in state 1 the target takes action 1 (φ = 2), the behaviour mostly action 0 (φ = 0);
    both lead back to 0. Ā = [(1 − 2γ) + 2εγ(2 − γ)]/(1 + γ) < 0, so semi-gradient TD's factor 1 − αĀ > 1."""
    g, eps = 0.9, 0.01
    P = torch.zeros(2, 2, 2, dtype=F64)
    P[0, :, 1] = 1.0
    P[1, :, 0] = 1.0
    mdp = TabularMDP(P, torch.zeros(2, 2, dtype=F64), g, torch.tensor([1.0, 0.0], dtype=F64))
    pi = torch.tensor([[0.5, 0.5], [0.0, 1.0]], dtype=F64)
    mu = torch.tensor([[0.5, 0.5], [1 - eps, eps]], dtype=F64)
    phi = torch.tensor([[1.0, 1.0], [0.0, 2.0]], dtype=F64).reshape(2, 2, 1)
    ex = expected_lstd_statistics(mdp, pi, phi, behaviour=mu)
    Ab, bb = ex.A / ex.n_transitions, ex.b / ex.n_transitions
    assert float(Ab) == pytest.approx(((1 - 2 * g) + 2 * eps * g * (2 - g)) / (1 + g), rel=1e-12)
    Dm = state_action_occupancy(mdp, mu).reshape(-1)
    Cb = (phi.reshape(-1, 1).T * Dm) @ phi.reshape(-1, 1)
    td = gradient_td_iterate(Ab, bb, Cb, method="td", alpha=0.1, beta=0.0, n_iterations=200, theta0=[1.0])
    assert float(td.theta) == pytest.approx((1 - 0.1 * float(Ab)) ** 200, rel=1e-10) and float(td.theta) > 1e3
    for method in ("gtd2", "tdc"):
        Mmat = gradient_td_iteration_matrix(Ab, Cb, method=method, alpha=0.1, beta=0.5)
        K, _ = _iterations_to(Mmat, 1e-8)
        out = gradient_td_iterate(Ab, bb, Cb, method=method, alpha=0.1, beta=0.5, n_iterations=K, theta0=[1.0])
        assert abs(float(out.theta)) <= 1e-8, method
    assert set(GRADIENT_TD.names()) == {"gtd2", "tdc", "td"}


# ------------------------------------------------------------------------------------------------------------------
# validation
# ------------------------------------------------------------------------------------------------------------------
def test_validation_errors_name_the_argument():
    traj = _sample(20, 30)
    with pytest.raises(TypeError, match="traj: expected a Trajectories"):
        lstd_statistics("batch", PHI, PI)
    with pytest.raises(ValueError, match=r"pi: expected a policy \[S, A\]"):
        lstd_statistics(traj, PHI, PI[0])
    with pytest.raises(ValueError, match="pi: has shape"):
        lstd_statistics(traj, PHI[:2], PI[:2])
    with pytest.raises(ValueError, match="features: expected shape"):
        lstd_statistics(traj, PHI[:, :1], PI)
    with pytest.raises(ValueError, match=r"lam: must lie in \[0, 1\]"):
        lstd_statistics(traj, PHI, PI, 1.5)
    with pytest.raises(ValueError, match="gamma: must be <= the continuation probability"):
        lstd_statistics(traj, PHI, PI, gamma=0.9)
    with pytest.raises(ValueError, match="target: expected one of"):
        lstd_statistics(traj, PHI, PI, target="q")
    with pytest.raises(ValueError, match="method: expected one of"):
        lstd_statistics(traj, PHI, PI, method="fast")
    with pytest.raises(ValueError, match="features: the per-episode form takes one feature set"):
        td_statistics(td_transitions(traj, PI), torch.stack([PHI, PHI]), per_episode=True)
    with pytest.raises(ValueError, match="features: batch of 3 feature sets does not match"):
        lstd_statistics_batched(traj, torch.stack([PHI] * 3), torch.stack([PI] * 2))
    with pytest.raises(ValueError, match="A: the LSTD system"):
        lstd_solve(torch.zeros(2, 2), torch.ones(2))
    assert torch.allclose(lstd_solve(torch.zeros(2, 2), torch.ones(2), ridge=2.0), torch.full((2,), 0.5, dtype=F64))
    with pytest.raises(ValueError, match=r"b: expected shape \[..., d\]"):
        lstd_solve(torch.eye(2), torch.ones(3))
    with pytest.raises(ValueError, match="ridge: must be non-negative"):
        lstd_solve(torch.eye(2), torch.ones(2), ridge=-1.0)
    with pytest.raises(ValueError, match="method: unknown gradient-TD update"):
        gradient_td(traj, PHI, PI, method="gtd", alpha=0.1, beta=0.1, n_iterations=5)
    with pytest.raises(TypeError, match="generator: expected a torch.Generator"):
        gradient_td(traj, PHI, PI, alpha=0.1, beta=0.1, n_iterations=5, batch_size=4)
    with pytest.raises(ValueError, match="alpha: must be positive"):
        gradient_td(traj, PHI, PI, alpha=0.0, beta=0.1, n_iterations=5)
    with pytest.raises(ValueError, match="average_from: must be < n_iterations"):
        gradient_td(traj, PHI, PI, alpha=0.1, beta=0.1, n_iterations=5, average_from=5)
    with pytest.raises(ValueError, match="accumulator: no trajectories added yet"):
        LSTDAccumulator(PHI, PI).statistics()
    with pytest.raises(TypeError, match="sampler: expected a TrajectorySampler"):
        lstd_stream(traj, 10, _gen(0), PHI)
    with pytest.raises(ValueError, match="behaviour: expected shape"):
        expected_lstd_statistics(MDP, PI, PHI, behaviour=PI[:2])
    with pytest.raises(ValueError, match="traj: the LSTD matrix A is not finite"):
        lstd_statistics(traj, PHI * 1e200, PI)
