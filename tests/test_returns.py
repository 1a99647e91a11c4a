"""Time-major returns, GAE and V-trace (pgtheory.estimators.returns): hand values, rlax's own test numbers,
exact expectations by enumerating every trajectory of a 2-state, 2-action MDP over T = 3 steps, twins, bad input."""
from __future__ import annotations

import itertools
import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from pgtheory.estimators.returns import (ACTOR_ADVANTAGES, RETURN_TARGETS, actor_advantages, lambda_returns,
                                         leaky_vtrace_pg_advantages, leaky_vtrace_returns, n_step_returns,
                                         return_targets, truncated_gae, verl_gae, vtrace_pg_advantages,
                                         vtrace_returns)
from pgtheory.exact import truncated_target_policy
from pgtheory.problems import garnet

F64 = torch.float64
INF = math.inf
TOL = 1e-10


def t64(x) -> torch.Tensor:
    return torch.tensor(x, dtype=F64)


def close(a, b, tol: float = TOL) -> bool:
    return bool(torch.allclose(torch.as_tensor(a, dtype=F64), torch.as_tensor(b, dtype=F64), rtol=0.0, atol=tol))


# ------------------------------------------------------------------------------------------------ hand values
# A 3-step window: r = [1, 0, 2], γ = [0.9, 0.5, 0.8], V(s_0..s_2) = [0.5, 1, −1], V(s_3) = 2.
# V(s_{t+1}) = [1, −1, 2]; δ = r + γ V(s_{t+1}) − V(s_t) = [1.4, −1.5, 4.6].
R3, G3, V3, B3 = t64([1.0, 0.0, 2.0]), t64([0.9, 0.5, 0.8]), t64([0.5, 1.0, -1.0]), t64(2.0)
RHO3 = t64([2.0, 0.5, 1.5])


def test_lambda_returns_and_gae_hand_values():
    # G_2 = 2 + 0.8·2 = 3.6; G_1 = 0.5(0.5·(−1) + 0.5·3.6) = 0.65; G_0 = 1 + 0.9(0.5·1 + 0.5·0.65) = 1.7425
    assert close(lambda_returns(R3, G3, V3, B3, lam=0.5), [1.7425, 0.65, 3.6])
    # Â = G − V, or Â_2 = 4.6, Â_1 = −1.5 + 0.25·4.6 = −0.35, Â_0 = 1.4 + 0.45·(−0.35) = 1.2425
    assert close(truncated_gae(R3, G3, V3, B3, lam=0.5), [1.2425, -0.35, 4.6])
    # λ = 1: Monte-Carlo 3.6, 0.5·3.6 = 1.8, 1 + 0.9·1.8 = 2.62; per-step λ = [0.5, 0.5, 0] equals λ = 0.5 (λ_{T−1} unused)
    assert close(lambda_returns(R3, G3, V3, B3), [2.62, 1.8, 3.6])
    assert close(lambda_returns(R3, G3, V3, B3, lam=t64([0.5, 0.5, 0.0])), [1.7425, 0.65, 3.6])
    # per-step λ = [0, 1, ·]: G_1 = 1.8 (λ_1 = 1), G_0 = 1 + 0.9·V(s_1) = 1.9 (λ_0 = 0)
    assert close(lambda_returns(R3, G3, V3, B3, lam=t64([0.0, 1.0, 0.3])), [1.9, 1.8, 3.6])


def test_n_step_hand_values():
    # n = 2: G_0 = 1 + 0.9·0 + 0.45·V(s_2) = 0.55; G_1 = 0 + 0.5·2 + 0.4·V(s_3) = 1.8; G_2 = 2 + 0.8·2 = 3.6
    assert close(n_step_returns(R3, G3, V3, B3, n=2), [0.55, 1.8, 3.6])
    assert close(n_step_returns(R3, G3, V3, B3, n=1), R3 + G3 * t64([1.0, -1.0, 2.0]))
    for n in (3, 4, 10):  # n ≥ T: the Monte-Carlo return bootstrapped at s_3
        assert close(n_step_returns(R3, G3, V3, B3, n=n), [2.62, 1.8, 3.6])


def test_vtrace_hand_values():
    # ρ = [2, 0.5, 1.5], ρ̄ = c̄ = 1: ρ̃ = c = [1, 0.5, 1]
    # v_2 − V = 4.6; v_1 − V = 0.5(−1.5) + 0.5·0.5·4.6 = 0.4; v_0 − V = 1.4 + 0.9·0.4 = 1.76
    assert close(vtrace_returns(R3, G3, V3, B3, rhos=RHO3), [2.26, 1.4, 3.6])
    # q = [1 + 0.9·1.4, 0.5·3.6, 2 + 0.8·2] = [2.26, 1.8, 3.6]; A^pg = min(1, ρ)(q − V) = [1.76, 0.4, 4.6]
    assert close(vtrace_pg_advantages(R3, G3, V3, B3, rhos=RHO3), [1.76, 0.4, 4.6])
    # ρ̄_pg = 5 lets ρ_0 = 2, ρ_2 = 1.5 through: [2·1.76, 0.4, 1.5·4.6]
    assert close(vtrace_pg_advantages(R3, G3, V3, B3, rhos=RHO3, pg_rho_bar=5.0), [3.52, 0.4, 6.9])
    # λ = 0.5: c = [0.5, 0.25, 0.5]; v_1 − V = −0.75 + 0.5·0.25·4.6 = −0.175; v_0 − V = 1.4 + 0.9·0.5·(−0.175) = 1.32125
    assert close(vtrace_returns(R3, G3, V3, B3, rhos=RHO3, lam=0.5), [1.82125, 0.825, 3.6])
    # q_0 = 1 + 0.9(0.5·0.825 + 0.5·1) = 1.82125; q_1 = 0.5(0.5·3.6 + 0.5·(−1)) = 0.65; q_2 = 3.6
    assert close(vtrace_pg_advantages(R3, G3, V3, B3, rhos=RHO3, lam=0.5), [1.32125, -0.175, 4.6])
    # c̄ = 0.4 < ρ̄ = 1: c = [0.4, 0.4, 0.4]; v_1 − V = −0.75 + 0.5·0.4·4.6 = 0.17; v_0 − V = 1.4 + 0.9·0.4·0.17 = 1.4612
    assert close(vtrace_returns(R3, G3, V3, B3, rhos=RHO3, c_bar=0.4), [1.9612, 1.17, 3.6])


def test_leaky_vtrace_hand_values():
    # α = 0.5: ρ̃ = c = 0.5ρ + 0.5 min(1, ρ) = [1.5, 0.5, 1.25]
    # v_2 − V = 5.75; v_1 − V = −0.75 + 0.5·0.5·5.75 = 0.6875; v_0 − V = 2.1 + 0.9·1.5·0.6875 = 3.028125
    assert close(leaky_vtrace_returns(R3, G3, V3, B3, rhos=RHO3, alpha=0.5), [3.528125, 1.6875, 4.75])
    # q = [1 + 0.9·1.6875, 0.5·4.75, 3.6]; A^pg = [1.5·2.01875, 0.5·1.375, 1.25·4.6]
    assert close(leaky_vtrace_pg_advantages(R3, G3, V3, B3, rhos=RHO3, alpha=0.5), [3.028125, 0.6875, 5.75])


def test_verl_gae_hand_values_skip_masked_tokens():
    # mask [1, 0, 1, 0], γ = 0.9, λ = 0.5. t = 3 masked: Â = 0 carried, V_next = 0.
    # t = 2: δ = 1 + 0 − 0.2 = 0.8 = Â_2. t = 1 masked: carries Â = 0.8, V_next = 0.2.
    # t = 0: δ = 0 + 0.9·0.2 − 0.5 = −0.32; Â_0 = −0.32 + 0.45·0.8 = 0.04. returns = Â + V.
    adv, ret = verl_gae(t64([[0.0, 5.0, 1.0, 7.0]]), t64([[0.5, 9.0, 0.2, 3.0]]), torch.tensor([[1, 0, 1, 0]]),
                        gamma=0.9, lam=0.5)
    assert close(adv, [[0.04, 0.8, 0.8, 0.0]])
    assert close(ret, [[0.54, 9.8, 1.0, 3.0]])


# ------------------------------------------------------------------------------------------------ rlax's test numbers
# rlax/_src/multistep_test.py and vtrace_test.py (read on 2026-11-30): rlax's v_t (values at times 1..T) is our
# concat(values[1:], bootstrap_value); values[0] = V(s_0) does not enter the returns, so any number stands in.
RLAX_R = np.array([[1.0, 0.0, -1.0, 0.0, 1.0], [0.5, 0.8, -0.7, 0.0, 2.1]])
RLAX_DISC = np.array([[0.5, 0.9, 1.0, 0.5, 0.8], [0.9, 0.5, 0.3, 0.8, 0.7]])
RLAX_V_T = np.array([[3.0, 1.0, 5.0, -5.0, 3.0], [-1.7, 1.2, 2.3, 2.2, 2.7]])


def _from_rlax_v_t(v_t: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """(values, bootstrap_value) whose concat(values[1:], bootstrap) is rlax's v_t (values[..., 0] is unused)."""
    v = torch.from_numpy(v_t)
    return torch.cat([torch.full_like(v[:, :1], 123.0), v[:, :-1]], -1), v[:, -1]


def test_rlax_lambda_returns_numbers():
    values, boot = _from_rlax_v_t(RLAX_V_T)
    expected = [[1.6460547, 0.72281253, 0.7375001, 0.6500001, 3.4], [0.7866317, 0.9913063, 0.1101501, 2.834, 3.99]]
    out = lambda_returns(RLAX_R, RLAX_DISC, values, boot, lam=0.75)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-5)
    discounted = [[1.315, 0.63000005, 0.70000005, 1.7, 3.4], [1.33592, 0.9288, 0.2576, 3.192, 3.9899998]]
    np.testing.assert_allclose(lambda_returns(RLAX_R, RLAX_DISC, values, boot).numpy(), discounted, rtol=1e-5)


def test_n_step_lambda_mixes_the_critic_inside_the_window_by_hand():
    """n = 2 < T = 3, λ = 0.5: G_t = r_t + γ_t[(1 − λ)V_{t+1} + λ(r_{t+1} + γ_{t+1}V_{t+2})] (rlax's λ inside the n-step
    window): t = 2: 2 + 0.8·2 = 3.6; t = 1: 0.5·(0.5·(−1) + 0.5·(2 + 0.8·2)) = 0.65; t = 0: 1 + 0.9·(0.5·1 + 0.5·(0 +
    0.5·(−1))) = 1.225. Twin: ignoring λ inside the window gives [0.55, 1.8, 3.6]."""
    got = n_step_returns(R3, G3, V3, B3, n=2, lam=0.5)
    assert close(got, [1.225, 0.65, 3.6])
    assert not close(got, [0.55, 1.8, 3.6])


@pytest.mark.parametrize("n, expected", [
    (3, [[2.8, -3.15, 0.7, 1.7, 3.4], [1.2155, 0.714, 0.2576, 3.192, 3.99]]),
    (5, [[1.315, 0.63, 0.7, 1.7, 3.4], [1.33592, 0.9288, 0.2576, 3.192, 3.99]]),
    (7, [[1.315, 0.63, 0.7, 1.7, 3.4], [1.33592, 0.9288, 0.2576, 3.192, 3.99]]),
])
def test_rlax_n_step_numbers(n, expected):
    values, boot = _from_rlax_v_t(RLAX_V_T)
    np.testing.assert_allclose(n_step_returns(RLAX_R, RLAX_DISC, values, boot, n=n).numpy(), expected, rtol=1e-5)
    # rlax: with n = T the n-step return with λ is the λ-return
    assert close(n_step_returns(RLAX_R, RLAX_DISC, values, boot, n=5, lam=0.75),
                 lambda_returns(RLAX_R, RLAX_DISC, values, boot, lam=0.75))


@pytest.mark.parametrize("lam, expected", [
    (1.0, [[-1.45118, -4.4557, 2.5396, 0.5249, -0.49], [3.0, 2.0, 1.0, 0.0, -4.9]]),
    (0.7, [[-0.676979, -5.248167, 2.4846, 0.6704, -0.49], [2.2899, 1.73, 1.0, 0.0, -4.9]]),
    (0.4, [[0.56731, -6.042, 2.3431, 0.815, -0.49], [1.725, 1.46, 1.0, 0.0, -4.9]]),
])
def test_rlax_truncated_gae_numbers(lam, expected):
    r = np.array([[0.0, 0.0, 1.0, 0.0, -0.5], [0.0, 0.0, 0.0, 0.0, 1.0]])
    v = t64([[1.0, 4.0, -3.0, -2.0, -1.0, -1.0], [-3.0, -2.0, -1.0, 0.0, 5.0, -1.0]])  # rlax: values at times 0..T
    disc = np.array([[0.99] * 5, [0.9, 0.9, 0.9, 0.0, 0.9]])
    out = truncated_gae(r, disc, v[:, :-1], v[:, -1], lam=lam)
    np.testing.assert_allclose(out.numpy(), expected, atol=1e-3)
    assert close(out, truncated_gae(r, disc, v[:, :-1], v[:, -1], lam=torch.full((2, 5), lam, dtype=F64)))


def _rlax_vtrace_fixture() -> SimpleNamespace:
    behaviour = torch.tensor([[[8.9, 0.7], [5.0, 1.0], [0.6, 0.1], [-0.9, -0.1]],
                              [[0.3, -5.0], [1.0, -8.0], [0.3, 1.7], [4.7, 3.3]]], dtype=torch.float32)
    target = torch.tensor([[[0.4, 0.5], [9.2, 8.8], [0.7, 4.4], [7.9, 1.4]],
                           [[1.0, 0.9], [1.0, -1.0], [-4.3, 8.7], [0.8, 0.3]]], dtype=torch.float32)
    actions = torch.tensor([[0, 1, 0, 0], [1, 0, 0, 1]])
    log_ratio = (torch.log_softmax(target.double(), -1) - torch.log_softmax(behaviour.double(), -1))
    rhos = torch.exp(log_ratio.gather(-1, actions[..., None]).squeeze(-1))
    return SimpleNamespace(
        rhos=rhos, rewards=np.array([[-1.3, -1.3, 2.3, 42.0], [1.3, 5.3, -3.3, -5.0]], dtype=np.float32),
        discounts=np.array([[0.0, 0.89, 0.85, 0.99], [0.88, 1.0, 0.83, 0.95]], dtype=np.float32),
        values=np.array([[2.1, 1.1, -3.1, 0.0], [3.1, 0.1, -1.1, 7.4]], dtype=np.float32),
        bootstrap=np.array([8.4, -1.2], dtype=np.float32))


def test_rlax_vtrace_numbers():
    """rlax vtrace_test: clip_rho_threshold = 1, λ = 1 (float32 there, float64 here). The fixture sets
    clip_pg_rho_threshold = 5 but never passes it, so the expected pg_advantage is for rlax's default ρ̄_pg = 1."""
    f = _rlax_vtrace_fixture()
    args = (f.rewards, f.discounts, f.values, f.bootstrap)
    expected_td = [[-1.6155143, -3.4973226, 1.8670533, 5.0316002e1], [1.4662437, 3.6116405, -8.3327293e-5, -1.3540000e1]]
    expected_pg = [[-1.6155143, -3.4973226, 1.8670534, 5.0316002e1], [1.4662433, 3.6116405, -8.3369283e-05, -1.3540000e1]]
    td = vtrace_returns(*args, rhos=f.rhos) - torch.from_numpy(f.values).double()
    pg = vtrace_pg_advantages(*args, rhos=f.rhos)
    np.testing.assert_allclose(td.numpy(), expected_td, rtol=1e-3, atol=1e-6)
    np.testing.assert_allclose(pg.numpy(), expected_pg, rtol=1e-3, atol=1e-6)
    # rlax's leaky test: α = 1 is V-trace
    assert close(leaky_vtrace_returns(*args, rhos=f.rhos, alpha=1.0), vtrace_returns(*args, rhos=f.rhos))


def test_rlax_lambda_q_estimate_identity():
    """rlax test_lambda_q_estimate: with c̄ = ρ̄ (= 1), v_t = V(s_t) + min(ρ̄, ρ_t)(q_t − V(s_t)) = V + A^pg (ρ̄_pg = ρ̄)."""
    f = _rlax_vtrace_fixture()
    args = (f.rewards, f.discounts, f.values, f.bootstrap)
    v = vtrace_returns(*args, rhos=f.rhos, lam=0.8)
    assert close(v, torch.from_numpy(f.values).double() + vtrace_pg_advantages(*args, rhos=f.rhos, lam=0.8))
    # twin: the identity needs c̄ = ρ̄
    v_other = vtrace_returns(*args, rhos=f.rhos, lam=0.8, c_bar=0.5)
    assert not close(v_other, torch.from_numpy(f.values).double() + vtrace_pg_advantages(*args, rhos=f.rhos, lam=0.8), 1e-4)


def test_vtrace_zero_discount_splits_episodes():
    """rlax test_vtrace_lambda_multiple_episodes_per_trace: γ_t = 0 cuts the trace into independent pieces."""
    gen = torch.Generator().manual_seed(3)
    r, rho, v = (torch.rand(8, generator=gen, dtype=F64) for _ in range(3))
    disc = t64([0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 1.0])
    lam = t64([1.0, 1.0, 1.0, 0.0, 1.0, 1.0, 1.0, 1.0])
    full = vtrace_returns(r, disc, v, t64(10.0), rhos=rho, lam=lam)
    first = vtrace_returns(r[:4], disc[:4], v[:4], v[4], rhos=rho[:4], lam=lam[:4])
    second = vtrace_returns(r[4:], disc[4:], v[4:], t64(10.0), rhos=rho[4:], lam=lam[4:])
    assert close(full, torch.cat([first, second]))


# ------------------------------------------------------------------------------------------------ identities
def _random_window(seed: int, shape=(3, 2, 5)):
    gen = torch.Generator().manual_seed(seed)
    r = torch.randn(shape, generator=gen, dtype=F64)
    g = torch.rand(shape, generator=gen, dtype=F64)
    v = torch.randn(shape, generator=gen, dtype=F64)
    b = torch.randn(shape[:-1], generator=gen, dtype=F64)
    lam = torch.rand(shape, generator=gen, dtype=F64)
    rho = torch.exp(torch.randn(shape, generator=gen, dtype=F64))
    return r, g, v, b, lam, rho


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_on_policy_vtrace_is_lambda_return_and_gae(seed):
    """ρ ≡ 1: λ-V-trace targets are λ-returns and the actor advantage is GAE, for per-step λ."""
    r, g, v, b, lam, _ = _random_window(seed)
    ones = torch.ones_like(r)
    assert close(vtrace_returns(r, g, v, b, rhos=ones, lam=lam), lambda_returns(r, g, v, b, lam=lam))
    assert close(vtrace_pg_advantages(r, g, v, b, rhos=ones, lam=lam), truncated_gae(r, g, v, b, lam=lam))
    assert close(truncated_gae(r, g, v, b, lam=lam), lambda_returns(r, g, v, b, lam=lam) - v)
    # twin: GAE is the λ-return minus V(s_t), not minus V(s_{t+1})
    v_next = torch.cat([v[..., 1:], b[..., None]], -1)
    assert not close(truncated_gae(r, g, v, b, lam=lam), lambda_returns(r, g, v, b, lam=lam) - v_next, 1e-4)


@pytest.mark.parametrize("seed", [0, 1])
def test_leaky_endpoints(seed):
    r, g, v, b, lam, rho = _random_window(seed)
    kw = dict(rhos=rho, lam=lam, rho_bar=0.8, c_bar=0.6)
    assert close(leaky_vtrace_returns(r, g, v, b, alpha=1.0, **kw), vtrace_returns(r, g, v, b, **kw))
    assert close(leaky_vtrace_pg_advantages(r, g, v, b, alpha=1.0, pg_rho_bar=0.7, **kw),
                 vtrace_pg_advantages(r, g, v, b, pg_rho_bar=0.7, **kw))
    unclipped = dict(rhos=rho, lam=lam, rho_bar=INF, c_bar=INF)
    assert close(leaky_vtrace_returns(r, g, v, b, alpha=0.0, **kw), vtrace_returns(r, g, v, b, **unclipped))
    assert close(leaky_vtrace_pg_advantages(r, g, v, b, alpha=0.0, pg_rho_bar=0.7, **kw),
                 vtrace_pg_advantages(r, g, v, b, pg_rho_bar=INF, **unclipped))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_verl_gae_is_rlax_gae_on_real_tokens_terminal_at_the_last(seed):
    """verl = truncated_gae on the real tokens in order, with γ_{last} = 0 and no bootstrap; returns = λ-returns."""
    gen = torch.Generator().manual_seed(seed)
    B, T, gamma, lam = 4, 7, 0.95, 0.8
    r = torch.randn(B, T, generator=gen, dtype=F64)
    v = torch.randn(B, T, generator=gen, dtype=F64)
    mask = torch.rand(B, T, generator=gen) < 0.7
    mask[:, 0] = True
    adv, ret = verl_gae(r, v, mask, gamma=gamma, lam=lam)
    for i in range(B):
        idx = mask[i].nonzero().squeeze(-1)
        disc = torch.full((len(idx),), gamma, dtype=F64)
        disc[-1] = 0.0
        zero = torch.zeros((), dtype=F64)
        assert close(adv[i, idx], truncated_gae(r[i, idx], disc, v[i, idx], zero, lam=lam))
        assert close(ret[i, idx], lambda_returns(r[i, idx], disc, v[i, idx], zero, lam=lam))
        # twin: rlax's bootstrap (γ at the last token, V(s_T) = 1) is a different estimator
        disc_boot = torch.full((len(idx),), gamma, dtype=F64)
        assert not close(adv[i, idx], truncated_gae(r[i, idx], disc_boot, v[i, idx], t64(1.0), lam=lam), 1e-4)


# ------------------------------------------------------------------------------------------------ exact tabular truth
T_STEPS = 3


def _problem(next_discount=(0.9, 0.6), terminal_value=(1.5, -2.0), seed: int = 4) -> SimpleNamespace:
    """A 2-state, 2-action garnet MDP, discount γ(s') on entering s', terminal value V_T = B, and π, μ with π/μ > 1 somewhere."""
    mdp = garnet(2, 2, 2, seed=seed)
    theta = t64([[1.2, -0.4], [-0.8, 0.5]])
    pi = torch.softmax(theta, -1)
    mu = t64([[0.3, 0.7], [0.6, 0.4]])
    assert float((pi / mu).max()) > 1.5 and float((pi / mu).min()) < 0.7  # clipping at 1 binds
    return SimpleNamespace(P=mdp.transitions, r=mdp.rewards, g=t64(next_discount), B=t64(terminal_value),
                           theta=theta, pi=pi, mu=mu)


def _finite_horizon(p, pi: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """V^π_t [T+1, S] and Q^π_t [T, S, A]: Q_t = r + Σ_s' P(s'|s,a) γ(s') V_{t+1}(s'), V_t = Σ_a π Q_t, V_T = B."""
    V, Q = [p.B], []
    for _ in range(T_STEPS):
        q = p.r + (p.P * (p.g * V[0])).sum(-1)
        Q.insert(0, q)
        V.insert(0, (pi * q).sum(-1))
    return torch.stack(V), torch.stack(Q)


def _paths(p, behaviour: torch.Tensor, s0: int) -> SimpleNamespace:
    """Every trajectory (a_0, s_1, …, a_{T−1}, s_T) from s_0 with its probability under ``behaviour``."""
    S, A = p.r.shape
    states, actions, prob = [], [], []
    for choice in itertools.product(range(A), range(S), repeat=T_STEPS):
        s, path_p = [s0], 1.0
        for t in range(T_STEPS):
            a, s_next = choice[2 * t], choice[2 * t + 1]
            path_p *= float(behaviour[s[-1], a]) * float(p.P[s[-1], a, s_next])
            s.append(s_next)
        states.append(s)
        actions.append(choice[0::2])
        prob.append(path_p)
    st, ac = torch.tensor(states), torch.tensor(actions)
    assert abs(sum(prob) - 1.0) < 1e-12
    return SimpleNamespace(states=st, actions=ac, prob=t64(prob), rewards=p.r[st[:, :-1], ac],
                           discounts=p.g[st[:, 1:]], rhos=(p.pi / p.mu)[st[:, :-1], ac])


def _critic(paths, table: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(values [N, T], bootstrap [N]) from a time-indexed table [T+1, S]: values[t] = table[t, s_t]."""
    steps = torch.arange(T_STEPS)
    return table[steps, paths.states[:, :-1]], table[T_STEPS, paths.states[:, -1]]


def _expect(paths, x: torch.Tensor) -> torch.Tensor:
    """Σ over trajectories of probability × x (x has a leading trajectory axis)."""
    return torch.tensordot(paths.prob, x, dims=1)


def _arbitrary_critic(terminal: torch.Tensor | None = None, seed: int = 11) -> torch.Tensor:
    """A random time-indexed critic [T+1, S]; its last row (the bootstrap) is ``terminal`` when given."""
    table = torch.randn(T_STEPS + 1, 2, generator=torch.Generator().manual_seed(seed), dtype=F64)
    if terminal is not None:
        table[T_STEPS] = terminal
    return table


def _mixed(rho: torch.Tensor, bar: float, alpha: float) -> torch.Tensor:
    return (1 - alpha) * rho + alpha * rho.clamp(max=bar)


def _expected_vtrace_excess(p, table, lam, rho_bar, c_bar, alpha=1.0) -> torch.Tensor:
    """E_μ[v_t − V_t(s_t) | s_t = s] [T+1, S] by backward DP:
    E_t(s) = Σ_a μ[ρ̃ (r + Σ_s' P γ(s') V_{t+1}(s') − V_t(s)) + λ c Σ_s' P γ(s') E_{t+1}(s')], E_T = 0."""
    rho = p.pi / p.mu
    rho_t, c = _mixed(rho, rho_bar, alpha), _mixed(rho, c_bar, alpha)
    E = [torch.zeros(2, dtype=F64)]
    for t in range(T_STEPS - 1, -1, -1):
        d = p.r + (p.P * (p.g * table[t + 1])).sum(-1) - table[t][:, None]
        nxt = (p.P * (p.g * E[0])).sum(-1)
        E.insert(0, (p.mu * (rho_t * d + lam * c * nxt)).sum(-1))
    return torch.stack(E)


@pytest.mark.parametrize("s0", [0, 1])
@pytest.mark.parametrize("lam", [0.0, 0.4, 1.0])
@pytest.mark.parametrize("next_discount", [(0.9, 0.6), (0.0, 0.8)])  # (0, 0.8): entering state 0 ends the episode
def test_lambda_and_n_step_returns_unbiased_at_v_pi(s0, lam, next_discount):
    p = _problem(next_discount=next_discount)
    V, _ = _finite_horizon(p, p.pi)
    paths = _paths(p, p.pi, s0)
    values, boot = _critic(paths, V)
    G = lambda_returns(paths.rewards, paths.discounts, values, boot, lam=lam)
    assert close(_expect(paths, G[:, 0]), V[0, s0])
    for n in (1, 2):
        assert close(_expect(paths, n_step_returns(paths.rewards, paths.discounts, values, boot, n=n, lam=lam)[:, 0]),
                     V[0, s0])
    # twin: forgetting the bootstrap value (V(s_T) = 0) is biased since B ≠ 0 (G_0 sees V(s_T) only when λ > 0)
    G_no_boot = lambda_returns(paths.rewards, paths.discounts, values, torch.zeros_like(boot), lam=lam)
    assert lam == 0.0 or not close(_expect(paths, G_no_boot[:, 0]), V[0, s0], 1e-4)
    n_no_boot = n_step_returns(paths.rewards, paths.discounts, values, torch.zeros_like(boot), n=T_STEPS, lam=1.0)
    assert not close(_expect(paths, n_no_boot[:, 0]), V[0, s0], 1e-4)


def test_lambda_one_and_n_equal_T_are_the_monte_carlo_return():
    """Per trajectory and for any critic: λ ≡ 1 and n = T give Σ_k Γ_{0:k} r_k + Γ_{0:T} V(s_T)."""
    p = _problem()
    paths = _paths(p, p.mu, 0)
    values, boot = _critic(paths, _arbitrary_critic())
    gamma_prefix = torch.cumprod(torch.cat([torch.ones_like(paths.discounts[:, :1]), paths.discounts], -1), -1)
    mc = (gamma_prefix[:, :-1] * paths.rewards).sum(-1) + gamma_prefix[:, -1] * boot
    assert close(lambda_returns(paths.rewards, paths.discounts, values, boot)[:, 0], mc)
    assert close(n_step_returns(paths.rewards, paths.discounts, values, boot, n=T_STEPS)[:, 0], mc)
    # twin: n = T − 1 bootstraps from the critic one step early
    assert not close(n_step_returns(paths.rewards, paths.discounts, values, boot, n=T_STEPS - 1)[:, 0], mc, 1e-4)


@pytest.mark.parametrize("lam", [0.3, 0.8])
def test_lambda_return_bias_formula_for_any_critic(lam):
    """E_π[G_0] − V^π_0(s_0) = E_π[Σ_{k=1}^{T} Γ_{0:k} λ^{k−1}(1 − λ_{k−1}) e_k(s_k)], λ_{T−1} read as 0, e = V − V^π."""
    p = _problem()
    V_pi, _ = _finite_horizon(p, p.pi)
    table = _arbitrary_critic()
    paths = _paths(p, p.pi, 1)
    values, boot = _critic(paths, table)
    G0 = lambda_returns(paths.rewards, paths.discounts, values, boot, lam=lam)[:, 0]
    err = (table - V_pi)[torch.arange(T_STEPS + 1), paths.states]  # e_k(s_k), [N, T+1]
    gamma_prefix = torch.cumprod(torch.cat([torch.ones_like(paths.discounts[:, :1]), paths.discounts], -1), -1)
    weight = [lam ** (k - 1) * (1 - (lam if k < T_STEPS else 0.0)) for k in range(1, T_STEPS + 1)]
    bias = sum(w * gamma_prefix[:, k] * err[:, k] for k, w in zip(range(1, T_STEPS + 1), weight))
    assert close(_expect(paths, G0) - V_pi[0, 1], _expect(paths, bias))
    assert abs(float(_expect(paths, bias))) > 1e-3  # the critic really is off: the check has something to detect
    # twin: the weights without the (1 − λ) factor
    twin = sum(lam ** (k - 1) * gamma_prefix[:, k] * err[:, k] for k in range(1, T_STEPS + 1))
    assert not close(_expect(paths, G0) - V_pi[0, 1], _expect(paths, twin), 1e-4)


@pytest.mark.parametrize("lam", [0.0, 0.6, 1.0])
def test_gae_unbiased_for_the_advantage_at_v_pi(lam):
    """E_π[Â_t 𝟙{s_t = s, a_t = a}] = Pr(s_t = s) π(a|s) A^π_t(s, a) for every t, s, a when V = V^π."""
    p = _problem()
    V, Q = _finite_horizon(p, p.pi)
    paths = _paths(p, p.pi, 0)
    values, boot = _critic(paths, V)
    adv = truncated_gae(paths.rewards, paths.discounts, values, boot, lam=lam)
    adv_no_boot = truncated_gae(paths.rewards, paths.discounts, values, torch.zeros_like(boot), lam=lam)  # twin
    for t in range(T_STEPS):
        onehot = torch.nn.functional.one_hot(paths.states[:, t] * 2 + paths.actions[:, t], 4).to(F64)  # [N, S·A]
        visit = _expect(paths, torch.nn.functional.one_hot(paths.states[:, t], 2).to(F64))
        truth = (visit[:, None] * p.pi * (Q[t] - V[t][:, None])).reshape(-1)
        assert close(_expect(paths, adv[:, t, None] * onehot), truth)
        if lam > 0 or t == T_STEPS - 1:  # Â_t sees V(s_T) only through λ, or directly at the last step
            assert not close(_expect(paths, adv_no_boot[:, t, None] * onehot), truth, 1e-4)


@pytest.mark.parametrize("terminal_value", [(1.5, -2.0), (0.0, 0.0)])
def test_verl_gae_exact_bias_on_truncated_responses(terminal_value):
    """Constant γ, full mask, V = V^π: E[Â^{verl}_0 𝟙{a_0 = a}] = π(a|s_0)(A^π_0(s_0,a) − γ(γλ)^{T−1} E[V_T(s_T)|s_0,a])."""
    gamma, lam, s0 = 0.9, 0.7, 0
    p = _problem(next_discount=(gamma, gamma), terminal_value=terminal_value)
    V, Q = _finite_horizon(p, p.pi)
    paths = _paths(p, p.pi, s0)
    values, boot = _critic(paths, V)
    adv, ret = verl_gae(paths.rewards, values, torch.ones_like(values, dtype=torch.bool), gamma=gamma, lam=lam)
    P_pi = (p.pi[:, :, None] * p.P).sum(1)
    end_value = p.P[s0] @ torch.linalg.matrix_power(P_pi, T_STEPS - 1) @ p.B  # E[V_T(s_T) | s_0, a_0 = a], [A]
    bias = -gamma * (gamma * lam) ** (T_STEPS - 1) * end_value
    onehot = torch.nn.functional.one_hot(paths.actions[:, 0], 2).to(F64)
    assert close(_expect(paths, adv[:, :1] * onehot), p.pi[s0] * (Q[0, s0] - V[0, s0] + bias))
    # rlax's truncated GAE with the bootstrap value is unbiased either way
    rlax_adv = truncated_gae(paths.rewards, paths.discounts, values, boot, lam=lam)
    assert close(_expect(paths, rlax_adv[:, :1] * onehot), p.pi[s0] * (Q[0, s0] - V[0, s0]))
    assert close(ret, adv + values)
    if any(terminal_value):  # twin: verl's advantage is not unbiased once the response is cut before its end
        assert not close(_expect(paths, adv[:, :1] * onehot), p.pi[s0] * (Q[0, s0] - V[0, s0]), 1e-4)


@pytest.mark.parametrize("s0", [0, 1])
@pytest.mark.parametrize("next_discount", [(0.9, 0.6), (0.9, 0.0)])  # (0.9, 0): entering state 1 ends the episode
def test_unclipped_vtrace_unbiased_for_v_pi_with_any_critic(s0, next_discount):
    p = _problem(next_discount=next_discount)
    V_pi, _ = _finite_horizon(p, p.pi)
    paths = _paths(p, p.mu, s0)
    values, boot = _critic(paths, _arbitrary_critic(terminal=p.B))  # any V_0 … V_{T−1}; V_T is the true terminal value
    args = (paths.rewards, paths.discounts, values, boot)
    v = vtrace_returns(*args, rhos=paths.rhos, rho_bar=INF, c_bar=INF)
    assert close(_expect(paths, v[:, 0]), V_pi[0, s0])
    assert close(_expect(paths, leaky_vtrace_returns(*args, rhos=paths.rhos, alpha=0.0, rho_bar=0.5, c_bar=0.5)[:, 0]),
                 V_pi[0, s0])
    # twins: rlax's default clipping (ρ̄ = c̄ = 1), and λ < 1 with a wrong critic, are biased for V^π
    assert not close(_expect(paths, vtrace_returns(*args, rhos=paths.rhos)[:, 0]), V_pi[0, s0], 1e-4)
    assert not close(_expect(paths, vtrace_returns(*args, rhos=paths.rhos, lam=0.5, rho_bar=INF, c_bar=INF)[:, 0]),
                     V_pi[0, s0], 1e-4)


@pytest.mark.parametrize("alpha", [1.0, 0.5])
def test_vtrace_expected_target_matches_backward_dp(alpha):
    """Any critic, ρ̄ = 1.2, c̄ = 0.7, λ = 0.6: E_μ[v_0 | s_0] = V_0(s_0) + E_0(s_0) (DP of the module docstring)."""
    p = _problem()
    table = _arbitrary_critic()
    lam, rho_bar, c_bar = 0.6, 1.2, 0.7
    excess = _expected_vtrace_excess(p, table, lam, rho_bar, c_bar, alpha)
    for s0 in (0, 1):
        paths = _paths(p, p.mu, s0)
        values, boot = _critic(paths, table)
        args = (paths.rewards, paths.discounts, values, boot)
        v = leaky_vtrace_returns(*args, rhos=paths.rhos, alpha=alpha, lam=lam, rho_bar=rho_bar, c_bar=c_bar)
        assert close(_expect(paths, v[:, 0]), table[0, s0] + excess[0, s0])
        # twin: ρ̄ and c̄ swapped
        swapped = leaky_vtrace_returns(*args, rhos=paths.rhos, alpha=alpha, lam=lam, rho_bar=c_bar, c_bar=rho_bar)
        assert not close(_expect(paths, swapped[:, 0]), table[0, s0] + excess[0, s0], 1e-4)


@pytest.mark.parametrize("c_bar", [0.5, 1.0, INF])
@pytest.mark.parametrize("lam", [1.0, 0.5])
@pytest.mark.parametrize("next_discount", [(0.9, 0.6), (0.9, 0.0)])
def test_vtrace_fixed_point_is_the_truncated_policy_value_for_every_c_bar(c_bar, lam, next_discount):
    """V = V^{π_ρ̄}, π_ρ̄ ∝ min(ρ̄μ, π): E_μ[v_t − V_t(s_t)] = 0 at every t, for c̄ below, at and above ρ̄ = 1."""
    p = _problem(next_discount=next_discount)
    rho_bar = 1.0
    V_trunc, _ = _finite_horizon(p, truncated_target_policy(p.pi, p.mu, rho_bar))
    V_pi, _ = _finite_horizon(p, p.pi)
    for s0 in (0, 1):
        paths = _paths(p, p.mu, s0)
        values, boot = _critic(paths, V_trunc)
        args = (paths.rewards, paths.discounts, values, boot)
        v = vtrace_returns(*args, rhos=paths.rhos, lam=lam, rho_bar=rho_bar, c_bar=c_bar)
        assert close(_expect(paths, v - values), torch.zeros(T_STEPS, dtype=F64))
        # twin: using c̄ for ρ̄ (when they differ) leaves V^{π_ρ̄} unfixed
        if c_bar != rho_bar:
            wrong = vtrace_returns(*args, rhos=paths.rhos, lam=lam, rho_bar=c_bar, c_bar=c_bar)
            assert not close(_expect(paths, wrong - values), torch.zeros(T_STEPS, dtype=F64), 1e-4)
        # twin: V^π itself is not the fixed point once ρ̄ clips
        values_pi, boot_pi = _critic(paths, V_pi)
        v_pi = vtrace_returns(paths.rewards, paths.discounts, values_pi, boot_pi, rhos=paths.rhos, lam=lam,
                              rho_bar=rho_bar, c_bar=c_bar)
        assert not close(_expect(paths, v_pi - values_pi), torch.zeros(T_STEPS, dtype=F64), 1e-4)


def test_leaky_vtrace_fixed_point():
    """α = 0.5, ρ̄ = 1: the fixed point is V^{π_α}, π_α ∝ (1 − α)π + α min(ρ̄μ, π); V^{π_ρ̄} (α = 1's) is not."""
    p = _problem()
    alpha, rho_bar = 0.5, 1.0
    w = (1 - alpha) * p.pi + alpha * torch.minimum(rho_bar * p.mu, p.pi)
    V_alpha, _ = _finite_horizon(p, w / w.sum(-1, keepdim=True))
    V_trunc, _ = _finite_horizon(p, truncated_target_policy(p.pi, p.mu, rho_bar))
    paths = _paths(p, p.mu, 0)
    zero = torch.zeros(T_STEPS, dtype=F64)

    def expected_excess(table: torch.Tensor) -> torch.Tensor:
        values, boot = _critic(paths, table)
        v = leaky_vtrace_returns(paths.rewards, paths.discounts, values, boot, rhos=paths.rhos, alpha=alpha,
                                 lam=0.7, rho_bar=rho_bar, c_bar=2.0)
        return _expect(paths, v - values)

    assert close(expected_excess(V_alpha), zero)
    assert not close(expected_excess(V_trunc), zero, 1e-4)  # twin: V-trace's fixed point


def _score(p, pi: torch.Tensor, paths) -> torch.Tensor:
    """∇_θ log π(a_t|s_t) for the tabular softmax, [N, T, S, A] = e_{s_t} ⊗ (e_{a_t} − π(·|s_t))."""
    e_s = torch.nn.functional.one_hot(paths.states[:, :-1], 2).to(F64)
    e_a = torch.nn.functional.one_hot(paths.actions, 2).to(F64)
    return e_s[..., :, None] * (e_a - pi[paths.states[:, :-1]])[..., None, :]


@pytest.mark.parametrize("critic, lam", [("arbitrary", 1.0), ("v_pi", 0.5)])
def test_unclipped_vtrace_actor_advantage_gives_the_policy_gradient(critic, lam):
    """Σ_t Γ_{0:t} (Π_{i<t} ρ_i) A^pg_t ∇log π(a_t|s_t) has E_μ = ∇_θ V^π_0(s_0) (no clipping); IMPALA's form
    without the prefix ratios Π_{i<t} ρ_i, and a clipped ρ̄_pg, do not."""
    p = _problem()
    s0 = 0
    theta = p.theta.clone().requires_grad_(True)
    V_theta, _ = _finite_horizon(p, torch.softmax(theta, -1))
    grad = torch.autograd.grad(V_theta[0, s0], theta)[0]
    V_pi, _ = _finite_horizon(p, p.pi)
    table = _arbitrary_critic(terminal=p.B) if critic == "arbitrary" else V_pi
    paths = _paths(p, p.mu, s0)
    values, boot = _critic(paths, table)
    args = (paths.rewards, paths.discounts, values, boot)
    a_pg = vtrace_pg_advantages(*args, rhos=paths.rhos, lam=lam, rho_bar=INF, c_bar=INF, pg_rho_bar=INF)
    ones = torch.ones_like(paths.discounts[:, :1])
    gamma_prefix = torch.cumprod(torch.cat([ones, paths.discounts[:, :-1]], -1), -1)
    ratio_prefix = torch.cumprod(torch.cat([ones, paths.rhos[:, :-1]], -1), -1)
    score = _score(p, p.pi, paths)
    estimate = (gamma_prefix * ratio_prefix * a_pg)[..., None, None] * score
    assert close(_expect(paths, estimate.sum(1)), grad)
    impala = (gamma_prefix * a_pg)[..., None, None] * score
    assert not close(_expect(paths, impala.sum(1)), grad, 1e-4)
    clipped = vtrace_pg_advantages(*args, rhos=paths.rhos, lam=lam, rho_bar=INF, c_bar=INF, pg_rho_bar=1.0)
    assert not close(_expect(paths, ((gamma_prefix * ratio_prefix * clipped)[..., None, None] * score).sum(1)), grad, 1e-4)


@pytest.mark.parametrize("alpha", [1.0, 0.5])
def test_clipped_actor_advantage_per_action(alpha):
    """E_μ[A^pg_0 𝟙{a_0 = a}] = μ(a|s_0) ρ^pg(s_0,a) (Q̂_0(s_0,a) − V_0(s_0)), Q̂_0 = r + Σ_s' P γ(s')(V_1 + λ E_1);
    for α = 1, μ ρ^pg = min(ρ̄_pg μ, π)."""
    p = _problem()
    table = _arbitrary_critic()
    lam, rho_bar, c_bar, pg_rho_bar, s0 = 0.6, 1.2, 0.7, 0.9, 1
    excess = _expected_vtrace_excess(p, table, lam, rho_bar, c_bar, alpha)
    q_hat = p.r[s0] + (p.P[s0] * (p.g * (table[1] + lam * excess[1]))).sum(-1)
    weight = p.mu[s0] * _mixed(p.pi[s0] / p.mu[s0], pg_rho_bar, alpha)
    if alpha == 1.0:
        assert close(weight, torch.minimum(pg_rho_bar * p.mu[s0], p.pi[s0]))
    paths = _paths(p, p.mu, s0)
    values, boot = _critic(paths, table)
    a_pg = leaky_vtrace_pg_advantages(paths.rewards, paths.discounts, values, boot, rhos=paths.rhos, alpha=alpha,
                                      lam=lam, rho_bar=rho_bar, c_bar=c_bar, pg_rho_bar=pg_rho_bar)
    onehot = torch.nn.functional.one_hot(paths.actions[:, 0], 2).to(F64)
    truth = weight * (q_hat - table[0, s0])
    assert close(_expect(paths, a_pg[:, :1] * onehot), truth)
    # twin: the unclipped weight π(a|s_0)
    assert not close(_expect(paths, a_pg[:, :1] * onehot), p.pi[s0] * (q_hat - table[0, s0]), 1e-4)


# ------------------------------------------------------------------------------------------------ registries, errors
def test_registries_and_front_functions():
    assert RETURN_TARGETS.names() == ["lambda", "leaky_vtrace", "n_step", "vtrace"]
    assert ACTOR_ADVANTAGES.names() == ["gae", "leaky_vtrace", "vtrace"]
    args = (R3, G3, V3, B3)
    assert close(return_targets(*args), lambda_returns(*args))
    assert close(return_targets(*args, kind="n_step", n=2), n_step_returns(*args, n=2))
    assert close(return_targets(*args, kind="vtrace", rhos=RHO3), vtrace_returns(*args, rhos=RHO3))
    assert close(actor_advantages(*args, lam=0.5), truncated_gae(*args, lam=0.5))
    assert close(actor_advantages(*args, kind="leaky_vtrace", rhos=RHO3, alpha=0.3),
                 leaky_vtrace_pg_advantages(*args, rhos=RHO3, alpha=0.3))
    with pytest.raises(ValueError, match="^kind: unknown return target"):
        return_targets(*args, kind="td")
    with pytest.raises(TypeError, match="^pg_rho_bar: unexpected keyword"):
        return_targets(*args, kind="vtrace", rhos=RHO3, pg_rho_bar=2.0)
    with pytest.raises(TypeError, match="^rhos: required keyword"):
        actor_advantages(*args, kind="vtrace")
    with pytest.raises(TypeError, match="^n: required keyword"):
        return_targets(*args, kind="n_step")


def test_batch_axes_device_and_dtype():
    r, g, v, b, lam, rho = _random_window(5, shape=(2, 3, 4))
    out = vtrace_returns(r.float(), g.float(), v.float(), b.float(), rhos=rho.float(), lam=lam.float())
    assert out.dtype == F64 and out.device == r.device and out.shape == (2, 3, 4)
    for i in range(2):  # leading axes are independent sequences
        assert close(out[i], vtrace_returns(r[i].float(), g[i].float(), v[i].float(), b[i].float(),
                                            rhos=rho[i].float(), lam=lam[i].float()))
    # numpy at the boundary
    assert close(lambda_returns(R3.numpy(), G3.numpy(), V3.numpy(), B3.numpy()), lambda_returns(R3, G3, V3, B3))


@pytest.mark.parametrize("call, match", [
    (lambda: lambda_returns(R3, G3[:2], V3, B3), "^discounts: expected shape"),
    (lambda: lambda_returns(R3, G3, V3[None], B3), "^values: expected shape"),
    (lambda: lambda_returns(R3, G3, V3, t64([2.0])), "^bootstrap_value: expected shape"),
    (lambda: lambda_returns(t64(1.0), G3, V3, B3), "^rewards: expected shape"),
    (lambda: lambda_returns(t64([1.0, float("nan"), 0.0]), G3, V3, B3), "^rewards: contains NaN"),
    (lambda: lambda_returns(R3, t64([0.9, 1.5, 0.8]), V3, B3), "^discounts: every"),
    (lambda: lambda_returns(R3, G3, V3, B3, lam=1.2), "^lam: must lie in"),
    (lambda: lambda_returns(R3, G3, V3, B3, lam=t64([0.5, 1.2, 0.5])), "^lam: every"),
    (lambda: lambda_returns(R3, G3, V3, B3, lam=t64([0.5, 0.5])), "^lam: expected a scalar or a shape"),
    (lambda: n_step_returns(R3, G3, V3, B3, n=0), "^n: must be >= 1"),
    (lambda: truncated_gae(R3, G3, V3, B3, lam=-0.1), "^lam: must lie in"),
    (lambda: vtrace_returns(R3, G3, V3, B3, rhos=t64([1.0, -0.5, 1.0])), "^rhos: importance ratios"),
    (lambda: vtrace_returns(R3, G3, V3, B3, rhos=t64([1.0, 1.0])), "^rhos: expected shape"),
    (lambda: vtrace_returns(R3, G3, V3, B3, rhos=RHO3, rho_bar=0.0), "^rho_bar: must be positive"),
    (lambda: vtrace_returns(R3, G3, V3, B3, rhos=RHO3, c_bar=-1.0), "^c_bar: must be positive"),
    (lambda: vtrace_pg_advantages(R3, G3, V3, B3, rhos=RHO3, pg_rho_bar=float("nan")), "^pg_rho_bar: must be finite"),
    (lambda: leaky_vtrace_returns(R3, G3, V3, B3, rhos=RHO3, alpha=1.5), "^alpha: must lie in"),
    (lambda: vtrace_returns(t64([1e308, 1e308, 1e308]), G3 * 0 + 1, V3, B3, rhos=RHO3 * 0 + 1), "^rewards, discounts"),
    (lambda: verl_gae(R3, V3, torch.ones(2, dtype=torch.bool), gamma=0.9, lam=0.9), "^mask: expected shape"),
    (lambda: verl_gae(R3, V3, t64([1.0, 0.5, 1.0]), gamma=0.9, lam=0.9), "^mask: expected a boolean"),
    (lambda: verl_gae(R3, V3[:2], torch.ones(3, dtype=torch.bool), gamma=0.9, lam=0.9), "^values: expected shape"),
    (lambda: verl_gae(R3, V3, torch.ones(3, dtype=torch.bool), gamma=1.1, lam=0.9), "^gamma: must lie in"),
])
def test_bad_input_is_named(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_bad_types_are_named():
    with pytest.raises(TypeError, match="^rewards: expected"):
        lambda_returns("abc", G3, V3, B3)
    with pytest.raises(TypeError, match="^n: expected an integer"):
        n_step_returns(R3, G3, V3, B3, n=2.0)
    with pytest.raises(TypeError, match="^alpha: expected a real number"):
        leaky_vtrace_returns(R3, G3, V3, B3, rhos=RHO3, alpha="0.5")


def test_every_entry_creates_tensors_on_the_inputs_device():
    """With the default device set to 'meta', a tensor created without ``device=`` would not mix with CPU inputs."""
    r, g, v, b, lam, rho = _random_window(7)
    mask = torch.rand(r.shape, generator=torch.Generator().manual_seed(0)) < 0.7
    torch.set_default_device("meta")
    try:
        for kind in RETURN_TARGETS.names():
            kw = {"n_step": {"n": 2}, "vtrace": {"rhos": rho}, "leaky_vtrace": {"rhos": rho, "alpha": 0.5}}.get(kind, {})
            assert return_targets(r, g, v, b, kind, lam=0.5, **kw).device.type == "cpu", kind
        for kind in ACTOR_ADVANTAGES.names():
            kw = {"vtrace": {"rhos": rho}, "leaky_vtrace": {"rhos": rho, "alpha": 0.5}}.get(kind, {})
            assert actor_advantages(r, g, v, b, kind, lam=lam, **kw).device.type == "cpu", kind
        assert all(x.device.type == "cpu" for x in verl_gae(r, v, mask, gamma=0.9, lam=0.8))
    finally:
        torch.set_default_device("cpu")


def test_time_major_gae_and_vtrace_agree_with_the_trajectory_implementations():
    """The same truncated episodes two ways: flat ``Trajectories`` (``gae_advantages``, ``vtrace_targets``) and time-major
    arrays (``truncated_gae``, ``vtrace_returns``, discount γ, bootstrap 0 at the horizon as the flat versions cut it),
    off-policy with clipping. Twin: bootstrapping the last step with V(s_T) instead of 0 disagrees."""
    from pgtheory.estimators import gae_advantages, vtrace_targets
    from pgtheory.sampling import TrajectorySampler

    mdp = garnet(n_states=4, n_actions=2, branching=2, discount=0.9, seed=3)
    g = torch.Generator().manual_seed(0)
    pi = torch.softmax(torch.randn(4, 2, generator=g, dtype=F64), -1)
    mu = torch.softmax(torch.randn(4, 2, generator=g, dtype=F64), -1)
    T, N = 6, 5
    traj = TrajectorySampler(mdp, mu, target=pi, termination="truncate", horizon=T).sample(N, g)
    assert traj.states.numel() == N * T  # every episode runs to the horizon
    V = torch.randn(4, generator=g, dtype=F64)
    tm = lambda x: x.view(T, N).T  # noqa: E731  the flat layout is step-major (step_offsets): [T·N] → [N, T]
    s, r, disc = tm(traj.states), tm(traj.rewards), torch.full((N, T), 0.9, dtype=F64)
    rho = tm((traj.log_target - traj.log_behaviour).exp())
    zero = torch.zeros(N, dtype=F64)
    assert close(tm(gae_advantages(traj, V, 0.7)), truncated_gae(r, disc, V[s], zero, lam=0.7))
    flat = tm(vtrace_targets(traj, V, rho_bar=1.0, c_bar=0.8))
    assert close(flat, vtrace_returns(r, disc, V[s], zero, rhos=rho, rho_bar=1.0, c_bar=0.8))
    assert not close(flat, vtrace_returns(r, disc, V[s], V[s[:, -1]], rhos=rho, rho_bar=1.0, c_bar=0.8))


def test_backward_recursion_padded_and_step_paths_agree_bit_for_bit(monkeypatch):
    """The padded [T, N] scan (small batches) and the step loop over live episodes (large ones) perform the same
    floating-point operations: equal exactly, for decay 1, a scalar, a per-transition decay and trailing axes."""
    import pgtheory.sampling.mdp as M
    from pgtheory.problems import garnet
    from pgtheory.sampling.runs import sample_policies

    mdp = garnet(6, 3, 3, discount=0.8, seed=1)
    pi = torch.softmax(torch.randn(5, 6, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(2)), -1)
    traj = sample_policies(mdp, pi, 7, [torch.Generator().manual_seed(i) for i in range(5)])
    g = torch.Generator().manual_seed(3)
    v = torch.randn(traj.n_transitions, dtype=torch.float64, generator=g)
    v2 = torch.randn(traj.n_transitions, 2, dtype=torch.float64, generator=g)
    d = torch.rand(traj.n_transitions, dtype=torch.float64, generator=g)
    cases = [(v, 1.0), (v, 0.7), (v, d), (v2, 1.0), (v2, d)]
    padded = [traj.backward_recursion(x, k) for x, k in cases]
    monkeypatch.setattr(M, "PADDED_SCAN_ELEMENTS", 0)
    stepwise = [traj.backward_recursion(x, k) for x, k in cases]
    assert all(torch.equal(a, b) for a, b in zip(padded, stepwise))
    # the comparison can fail: another decay gives another scan
    assert not torch.equal(traj.backward_recursion(v, 0.69), padded[1])
    # reward-to-go by hand on the first episode: x_t = Σ_{u ≥ t} v_u
    ep0 = (traj.episode == 0).nonzero().squeeze(1)
    assert torch.allclose(padded[0][ep0], v[ep0].flip(0).cumsum(0).flip(0), rtol=0, atol=1e-12)
