"""Exact evaluation: Bellman equations, occupancy, the performance-difference lemma, hand-computed values."""
import math

import torch
from hypothesis import given
from hypothesis import strategies as st

from pgtheory.exact import bellman_residual, evaluate_policy, policy_transition_matrix
from pgtheory.policies import TabularSoftmax
from pgtheory.problems import TabularMDP

from .conftest import mdp_and_params


def test_two_state_hand_computed():
    # s0 --a0--> s1 (r=1), s0 --a1--> s0 (r=0); s1 absorbing with r=2. π uniform in s0.
    P = torch.zeros(2, 2, 2, dtype=torch.float64)
    P[0, 0, 1] = P[0, 1, 0] = P[1, :, 1] = 1.0
    r = torch.tensor([[1.0, 0.0], [2.0, 2.0]], dtype=torch.float64)
    g = 0.5
    m = TabularMDP(P, r, g, torch.tensor([1.0, 0.0]))
    pi = torch.tensor([[0.5, 0.5], [0.5, 0.5]], dtype=torch.float64)
    ev = evaluate_policy(m, pi)
    v1 = 2 / (1 - g)  # 4
    # v0 = 0.5 (1 + g v1) + 0.5 (0 + g v0)  =>  v0 (1 - g/2) = 0.5 (1 + g v1)
    v0 = 0.5 * (1 + g * v1) / (1 - g / 2)
    assert torch.allclose(ev.v, torch.tensor([v0, v1], dtype=torch.float64), atol=1e-14)
    assert math.isclose(float(ev.objective), v0, rel_tol=1e-14)
    assert torch.allclose(ev.q[0], torch.tensor([1 + g * v1, g * v0], dtype=torch.float64), atol=1e-14)
    # occupancy: P(s_t = s0) = (1/2)^t  => d(s0) = (1-g) Σ (g/2)^t = (1-g)/(1-g/2)
    d0 = (1 - g) / (1 - g / 2)
    assert torch.allclose(ev.occupancy, torch.tensor([d0, 1 - d0], dtype=torch.float64), atol=1e-14)


@given(mdp_and_params())
def test_bellman_equations(args):
    mdp, policy, theta = args
    pi = policy.probs(theta)
    ev = evaluate_policy(mdp, pi)
    assert float(bellman_residual(mdp, pi, ev.v).max()) < 1e-10 * (1 + float(ev.v.abs().max()))
    # V = Σ_a π Q, Σ_a π A = 0, Q = r + γ P V
    assert torch.allclose((pi * ev.q).sum(-1), ev.v, atol=1e-10)
    assert float((pi * ev.advantage).sum(-1).abs().max()) < 1e-10 * (1 + float(ev.v.abs().max()))


@given(mdp_and_params())
def test_occupancy_is_a_distribution_and_flow_equation(args):
    mdp, policy, theta = args
    pi = policy.probs(theta)
    d = evaluate_policy(mdp, pi).occupancy
    assert torch.allclose(d.sum(-1), torch.ones(d.shape[0], dtype=d.dtype), atol=1e-12)
    assert float(d.min()) > -1e-13
    # d = (1-γ) ρ + γ d P_π
    rhs = (1 - mdp.discount) * mdp.initial + mdp.discount * torch.einsum("bs,bst->bt", d, policy_transition_matrix(mdp, pi))
    assert torch.allclose(d, rhs, atol=1e-12)
    # J = Σ_s d(s) r_π(s) / (1-γ)
    J = (d * (pi * mdp.rewards).sum(-1)).sum(-1) / (1 - mdp.discount)
    assert torch.allclose(J, evaluate_policy(mdp, pi).objective, atol=1e-10)


@given(mdp_and_params())
def test_performance_difference_lemma(args):
    r"""J(π') − J(π) = (1/(1−γ)) Σ_s d^{π'}(s) Σ_a π'(a|s) A^π(s,a)  (Kakade & Langford 2002)."""
    mdp, policy, theta = args
    pi, pi2 = policy.probs(theta[0]), policy.probs(theta[1])
    ev, ev2 = evaluate_policy(mdp, pi), evaluate_policy(mdp, pi2)
    rhs = (ev2.occupancy * (pi2 * ev.advantage).sum(-1)).sum() / (1 - mdp.discount)
    lhs = ev2.objective - ev.objective
    assert abs(float(lhs - rhs)) < 1e-10 * (1 + abs(float(ev.objective)))


@given(mdp_and_params(batch=5))
def test_batch_equals_loop(args):
    mdp, policy, theta = args
    pis = policy.probs(theta)
    batched = evaluate_policy(mdp, pis)
    for i in range(theta.shape[0]):
        single = evaluate_policy(mdp, pis[i])
        assert torch.allclose(batched.v[i], single.v, atol=1e-12)
        assert torch.allclose(batched.occupancy[i], single.occupancy, atol=1e-12)


def test_nested_batch_shape(small_mdp):
    pol = TabularSoftmax(5, 3)
    th = pol.random_params(2, 3, generator=torch.Generator().manual_seed(1))
    ev = evaluate_policy(small_mdp, pol.probs(th))
    assert ev.v.shape == (2, 3, 5) and ev.q.shape == (2, 3, 5, 3) and ev.objective.shape == (2, 3)


def test_alternative_reward(small_mdp):
    pi = torch.full((5, 3), 1 / 3, dtype=torch.float64)
    ones = torch.ones(5, 3, dtype=torch.float64)
    ev = evaluate_policy(small_mdp, pi, rewards=ones)
    assert torch.allclose(ev.v, torch.full((5,), 1 / (1 - 0.9), dtype=torch.float64), atol=1e-12)


def test_state_action_occupancy_sums_to_one(small_mdp):
    from pgtheory.exact import state_action_occupancy

    pi = torch.softmax(torch.randn(4, 5, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0)), -1)
    d = state_action_occupancy(small_mdp, pi)
    assert d.shape == (4, 5, 3) and torch.allclose(d.sum((-2, -1)), torch.ones(4, dtype=torch.float64))
    assert torch.allclose(d.sum(-1), evaluate_policy(small_mdp, pi).occupancy)


@given(st.integers(1, 8), st.integers(0, 2**31 - 1))
def test_project_simplex_is_the_euclidean_projection(K, seed):
    from pgtheory.policies import project_simplex

    x = torch.randn(6, K, dtype=torch.float64, generator=torch.Generator().manual_seed(seed)) * 2
    p = project_simplex(x)
    assert torch.allclose(p.sum(-1), torch.ones(6, dtype=torch.float64)) and bool((p >= 0).all())
    # optimality (KKT): x − p = τ on the support and ≤ τ off it, for one τ per row
    tau = ((x - p) * (p > 0)).sum(-1) / (p > 0).sum(-1)
    assert torch.allclose(torch.where(p > 0, x - p, tau[:, None]), tau[:, None].expand_as(x), atol=1e-12)
    assert bool(((x - p) <= tau[:, None] + 1e-12).all())
    assert torch.allclose(project_simplex(p), p, atol=1e-12)  # idempotent
    hand = project_simplex(torch.tensor([[0.5, 0.5, 0.5]], dtype=torch.float64))
    assert torch.allclose(hand, torch.full((1, 3), 1 / 3, dtype=torch.float64))


def test_batched_evaluation_in_chunks_equals_one_call_and_keeps_gradients(monkeypatch):
    """Chunking a large batch (issue 17: cache) changes no number beyond round-off, keeps the batch shape and
    autograd; a reward table per policy (batched rewards) is evaluated in one call."""
    import pgtheory.exact.evaluation as E
    from pgtheory.problems import garnet

    mdp = garnet(12, 3, 4, seed=5)
    th = torch.randn(4, 5, 12, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(6), requires_grad=True)
    whole = E.evaluate_policy(mdp, torch.softmax(th, -1))
    (g_whole,) = torch.autograd.grad(whole.objective.sum(), th)
    monkeypatch.setattr(E, "_CHUNK_BYTES", 8 * 12 * 12 * 3)  # 3 policies per chunk: 7 chunks, the last one of 2
    assert E._chunk_policies(12) == 3
    parts = E.evaluate_policy(mdp, torch.softmax(th, -1))
    for a, b in zip(whole, parts):
        assert a.shape == b.shape and torch.allclose(a, b, rtol=0, atol=1e-12)
    (g_parts,) = torch.autograd.grad(parts.objective.sum(), th)
    assert torch.allclose(g_whole, g_parts, rtol=0, atol=1e-12)
    r = torch.randn(4, 5, 12, 3, dtype=torch.float64)
    per_policy = E.evaluate_policy(mdp, torch.softmax(th, -1), rewards=r)
    assert torch.allclose(per_policy.v[1, 2], E.evaluate_policy(mdp, torch.softmax(th[1, 2], -1), rewards=r[1, 2]).v,
                          rtol=0, atol=1e-12)


def test_host_lapack_fast_path_equals_the_torch_path_and_never_hides_a_gradient():
    """Small single policies on the CPU go through LAPACK on the host (issue 17); the numbers equal the torch path's
    to round-off (single, batched, policy iteration's values), and anything that needs a gradient — autograd or
    torch.func.jacrev — takes the torch path (a host computation would return a constant: zero gradient)."""
    import pgtheory.exact.evaluation as E
    from pgtheory.problems import garnet

    mdp = garnet(15, 3, 4, seed=8)
    pi = torch.softmax(torch.randn(6, 15, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(9)), -1)
    ref = E._evaluate_unchecked(mdp, pi, mdp.rewards)
    for got in (E.evaluate_policy(mdp, pi), E.PolicyEvaluation(*(torch.stack(f) for f in zip(
            *[E.evaluate_policy(mdp, p) for p in pi])))):
        for a, b in zip(got, ref):
            assert a.shape == b.shape and torch.allclose(a, b, rtol=0, atol=1e-12)
    v, q = E._values_unchecked(mdp, pi[0])
    assert torch.allclose(v, ref.v[0], rtol=0, atol=1e-12) and torch.allclose(q, ref.q[0], rtol=0, atol=1e-12)
    p = pi[0].clone().requires_grad_(True)
    E.evaluate_policy(mdp, p).objective.backward()
    jac = torch.func.jacrev(lambda x: E.evaluate_policy(mdp, x).objective)(pi[0])
    assert float(p.grad.abs().max()) > 1e-3 and torch.allclose(jac, p.grad, rtol=0, atol=1e-12)


def test_batched_host_loop_equals_the_torch_batch_and_keeps_gradients():
    """From _LAPACK_LOOP_MIN_STATES states a batch of plain CPU policies is evaluated by a loop of host solves (issue 17:
    a batched call must not be slower than a loop); its numbers and shapes equal the torch batch's, and a batch that
    needs a gradient still takes the torch path (twin: its gradient is non-zero and matches autograd per policy)."""
    import pgtheory.exact.evaluation as E
    from pgtheory.problems import garnet

    S = E._LAPACK_LOOP_MIN_STATES
    mdp = garnet(S, 2, 3, seed=4)
    pi = torch.softmax(torch.randn(2, 3, S, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(5)), -1)
    got, ref = E.evaluate_policy(mdp, pi), E._evaluate_unchecked(mdp, pi, mdp.rewards)
    for a, b in zip(got, ref):
        assert a.shape == b.shape and torch.allclose(a, b, rtol=0, atol=1e-12)
    p = pi.clone().requires_grad_(True)
    E.evaluate_policy(mdp, p).objective.sum().backward()
    q = pi[1, 2].clone().requires_grad_(True)
    E._evaluate_unchecked(mdp, q, mdp.rewards).objective.backward()
    assert float(p.grad.abs().max()) > 0 and torch.allclose(p.grad[1, 2], q.grad, rtol=0, atol=1e-12)


def test_fast_paths_step_aside_for_forward_mode_and_torch_func():
    """A referee's finding (2026-12-01): the host fast paths must not run under forward-mode AD (a dual tensor has
    requires_grad False — the tangent came back None or wrong) nor inside torch.func transforms (jvp, jacfwd, jacrev
    with respect to the rewards, vmap of policy iteration's values); each derivative equals reverse-mode autograd."""
    import torch.autograd.forward_ad as fwAD

    import pgtheory.exact.evaluation as E
    from pgtheory.problems import garnet

    mdp = garnet(6, 3, 3, seed=4)
    gen = torch.Generator().manual_seed(5)
    th = torch.randn(6, 3, dtype=torch.float64, generator=gen)
    v = torch.randn(6, 3, dtype=torch.float64, generator=gen)

    def J(t):
        return E.evaluate_policy(mdp, torch.softmax(t, -1)).objective

    t = th.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(J(t), t)
    expected = float((g * v).sum())
    with fwAD.dual_level():
        tangent = fwAD.unpack_dual(J(fwAD.make_dual(th, v))).tangent
    assert tangent is not None and abs(float(tangent) - expected) < 1e-12
    assert abs(float(torch.func.jvp(J, (th,), (v,))[1]) - expected) < 1e-12
    assert torch.allclose(torch.func.jacfwd(J)(th), g, rtol=0, atol=1e-12)
    pi = torch.softmax(th, -1)
    r = mdp.rewards.clone().requires_grad_(True)
    (gr,) = torch.autograd.grad(E.evaluate_policy(mdp, pi, rewards=r).objective, r)
    jr = torch.func.jacrev(lambda rr: E.evaluate_policy(mdp, pi, rewards=rr).objective)(mdp.rewards)
    assert torch.allclose(jr, gr, rtol=0, atol=1e-12)
    batch = torch.softmax(torch.randn(4, 6, 3, dtype=torch.float64, generator=gen), -1)
    vv, _ = torch.func.vmap(lambda p: E._values_unchecked(mdp, p))(batch)
    assert torch.allclose(vv, E._evaluate_unchecked(mdp, batch, mdp.rewards).v, rtol=0, atol=1e-12)


def test_probability_check_fast_path_keeps_bfloat16_and_negative_views_working():
    from pgtheory._checks import check_probabilities

    p = torch.tensor([[0.25, 0.75], [0.5, 0.5]], dtype=torch.bfloat16)
    assert check_probabilities(p, "p").shape == (2, 2)
    z = torch.tensor([[0.25 - 0.25j, 0.75 - 0.75j]])
    neg_view = z.conj().imag  # a negative-bit view: numpy cannot share it
    assert neg_view.is_neg() and torch.equal(check_probabilities(neg_view, "p"), torch.tensor([[0.25, 0.75]]))
