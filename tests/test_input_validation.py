"""Issue #18: wrong input must raise a named error, never be accepted silently.

(1) unknown keywords raise TypeError naming the keyword and the accepted ones (no ``**_`` swallowing);
(2) shapes of policy, parameters, baseline, critic, values, logits, weights are checked against the batch;
(3) std-normalising group advantages never return 0/0 = NaN (zero-std convention: advantage 0);
(4) probability checks use the tolerance of the input's dtype, so float32-normalised input is accepted.
"""
import inspect

import numpy as np
import pytest
import torch

from pgtheory._checks import as_tensor, check_probabilities, probability_tolerance, source_dtype
from pgtheory._registry import Registry
from pgtheory.estimators import (GROUP_ADVANTAGES, IS_ESTIMATORS, KL_ESTIMATORS, LOSS_AGGREGATIONS, PG_ESTIMATORS, SURROGATES,
                                 TOKEN_SURROGATES, aggregation_weights, bandit_optimal_baseline, bandit_reinforce_estimates,
                                 bandit_reinforce_trace_variance, fit_state_baseline, gae_advantages, group_advantages,
                                 importance_estimates, kl_estimate, policy_gradient_estimates, sequence_ratio, td_errors,
                                 token_surrogate_coefficients, token_surrogate_values, vtrace_targets)
from pgtheory.exact import evaluate_policy
from pgtheory.policies import DirectPolicy, TabularSoftmax
from pgtheory.problems import Bandit, MultiPromptBandit, TabularMDP, toy_sequence_task
from pgtheory.sampling import TrajectorySampler, sample_bandit

from .conftest import random_mdp

T = lambda *x: torch.tensor(x, dtype=torch.float64)  # noqa: E731


@pytest.fixture(scope="module")
def batch():
    """A 4-state, 3-action MDP, a softmax policy and 200 on-policy trajectories."""
    mdp = random_mdp(4, 3, 0.8, 0)
    pol = TabularSoftmax(4, 3)
    th = pol.random_params(generator=torch.Generator().manual_seed(0))
    traj = TrajectorySampler(mdp, pol.probs(th)).sample(200, torch.Generator().manual_seed(1))
    assert int(traj.states.max()) == 3  # every state is visited, so a 3-state table must be rejected
    return mdp, pol, th, traj


# -- (1) keywords ------------------------------------------------------------------------------------------------

def test_misspelt_baseline_raises_instead_of_running_without_baseline(batch):
    mdp, pol, th, traj = batch
    v = evaluate_policy(mdp, pol.probs(th)).v
    with pytest.raises(TypeError, match=r"basline: unexpected keyword argument for policy-gradient estimator 'gpomdp'; "
                                        r"accepted keywords: baseline"):
        policy_gradient_estimates(traj, pol, th, "gpomdp", basline=v)
    with pytest.raises(TypeError, match="baseline: unexpected keyword argument for policy-gradient estimator 'actor_critic_q'"):
        policy_gradient_estimates(traj, pol, th, "actor_critic_q", critic=torch.zeros(4, 3, dtype=torch.float64), baseline=v)
    with pytest.raises(TypeError, match="critic: required keyword argument of policy-gradient estimator 'actor_critic_q'"):
        policy_gradient_estimates(traj, pol, th, "actor_critic_q")


def test_misspelt_hyperparameters_raise_everywhere(batch):
    *_, traj = batch
    r = T(1.0, 0.0, 1.0, 1.0)
    with pytest.raises(TypeError, match=r"epsilon: unexpected keyword argument for group advantage 'grpo'; accepted keywords: eps"):
        group_advantages(r, "grpo", epsilon=0.1)
    with pytest.raises(TypeError, match="eps: unexpected keyword argument for group advantage 'mean'; accepted keywords: none"):
        group_advantages(r, "mean", eps=0.1)
    with pytest.raises(TypeError, match="clip: unexpected keyword argument for importance-sampling estimator 'pdis'"):
        importance_estimates(traj, "pdis", clip=2.0)
    mask = torch.ones(2, 3, dtype=torch.bool)
    with pytest.raises(TypeError, match="alpha: unexpected keyword argument for loss aggregation 'token_mean'"):
        aggregation_weights(mask, "token_mean", alpha=2.0)
    lp = -torch.ones(1, 2, 3, dtype=torch.float64)
    adv = torch.ones(1, 2, dtype=torch.float64)
    with pytest.raises(TypeError, match=r"epsilon: .*token surrogate 'ppo_clip'; accepted keywords: eps"):
        token_surrogate_values("ppo_clip", lp, lp, adv, mask[None], epsilon=0.3)
    with pytest.raises(TypeError, match="eps: unexpected keyword argument for token surrogate 'pg'"):
        token_surrogate_coefficients("pg", lp, lp, adv, mask[None], torch.ones_like(lp), eps=0.3)


def test_no_registry_entry_swallows_keywords():
    for reg in (PG_ESTIMATORS, IS_ESTIMATORS, KL_ESTIMATORS, GROUP_ADVANTAGES, LOSS_AGGREGATIONS, TOKEN_SURROGATES, SURROGATES):
        for name in reg:
            params = inspect.signature(reg.get(name)).parameters.values()
            assert not any(p.kind == p.VAR_KEYWORD for p in params), f"{reg.kind} {name!r} takes **kwargs"
    reg = Registry("test entry")
    with pytest.raises(TypeError, match=r"fn: test entry 'f' takes \*\*kwargs"):
        reg.register("f")(lambda x, **_: x)


def test_registry_call_checks_keywords():
    reg = Registry("thing")
    reg.register("f")(lambda x, *, a=1: x + a)
    assert reg.call("f", 1, a=2) == 3
    with pytest.raises(TypeError, match="b: unexpected keyword argument for thing 'f'; accepted keywords: a"):
        reg.call("f", 1, b=2)
    with pytest.raises(ValueError, match="kind: unknown thing 'g'"):
        reg.resolve("g", {}, 1, arg="kind")


# -- (2) shapes ---------------------------------------------------------------------------------------------------

def test_policy_with_more_states_than_the_trajectories_is_rejected(batch):
    mdp, pol, th, traj = batch
    big = TabularSoftmax(7, 3)
    th7 = big.random_params(generator=torch.Generator().manual_seed(3))
    with pytest.raises(ValueError, match=r"theta: log π_θ\(a\|s\) of the policy TabularSoftmax\(S=7, A=3\).*sampled with"):
        policy_gradient_estimates(traj, big, th7, "gpomdp")
    with pytest.raises(ValueError, match=r"theta: .*sampled with"):  # the right policy, the wrong parameters
        policy_gradient_estimates(traj, pol, th + 0.5 * torch.arange(3.0, dtype=torch.float64), "gpomdp")


def test_float32_sampled_batch_passes_the_on_policy_check(batch):
    mdp, pol, th, _ = batch
    traj = TrajectorySampler(mdp, pol.probs(th).float()).sample(100, torch.Generator().manual_seed(2))
    est = policy_gradient_estimates(traj, pol, th, "gpomdp")
    assert est.shape == (100, 4, 3) and bool(torch.isfinite(est).all())


def test_policy_with_fewer_states_is_a_named_error_not_an_index_error(batch):
    *_, traj = batch
    small = TabularSoftmax(3, 3)
    with pytest.raises(ValueError, match=r"policy: has shape \[S, A\] = \(3, 3\) but the trajectories visit state 3"):
        policy_gradient_estimates(traj, small, torch.zeros(3, 3, dtype=torch.float64), "gpomdp")
    with pytest.raises(ValueError, match=r"theta: expected shape \[\.\.\., 4, 3\], got \(4, 2\)"):
        policy_gradient_estimates(traj, TabularSoftmax(4, 3), torch.zeros(4, 2, dtype=torch.float64), "gpomdp")


@pytest.mark.parametrize("estimator,kw,arg", [
    ("gpomdp", {"baseline": torch.zeros(6, dtype=torch.float64)}, "baseline"),
    ("gpomdp", {"baseline": torch.zeros(4, 5, dtype=torch.float64)}, "baseline"),
    ("actor_critic_q", {"critic": torch.zeros(5, 3, dtype=torch.float64)}, "critic"),
    ("gae", {"values": torch.zeros(9, dtype=torch.float64), "lam": 0.5}, "values"),
])
def test_too_large_tables_are_rejected(batch, estimator, kw, arg):
    mdp, pol, th, traj = batch
    with pytest.raises(ValueError, match=rf"{arg}: expected a table \[S\] = \(4,\) or \[S, A\] = \(4, 3\).*got shape"):
        policy_gradient_estimates(traj, pol, th, estimator, **kw)


def test_too_small_tables_are_named_errors_in_direct_calls(batch):
    *_, traj = batch
    with pytest.raises(ValueError, match=r"baseline: has 3 states \(shape \(3,\)\) but the trajectories visit state 3; expected at least 4"):
        PG_ESTIMATORS.get("gpomdp")(traj, baseline=torch.zeros(3, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"critic: has 2 actions"):
        PG_ESTIMATORS.get("actor_critic_q")(traj, critic=torch.zeros(4, 2, dtype=torch.float64))
    for f in (td_errors, lambda t, v: gae_advantages(t, v, 0.5), vtrace_targets):
        with pytest.raises(ValueError, match="values: has 2 states"):
            f(traj, torch.zeros(2, dtype=torch.float64))
    with pytest.raises(ValueError, match="n_states: the trajectories visit state 3"):
        fit_state_baseline(traj, 3)


def test_bandit_logits_and_token_weights_shapes():
    bandit = Bandit([0.2, 0.5, 0.9])
    draws = sample_bandit(bandit, T(0.2, 0.3, 0.5), 50, torch.Generator().manual_seed(0))
    with pytest.raises(ValueError, match=r"logits: has K = 2 arms"):
        bandit_reinforce_estimates(draws, T(0.0, 0.0))
    with pytest.raises(ValueError, match=r"logits: expected K = 3"):
        bandit_reinforce_trace_variance(bandit, T(0.0, 0.0, 0.0, 0.0))
    with pytest.raises(ValueError, match=r"logits: expected K = 3"):
        bandit_optimal_baseline(bandit, T(0.0, 0.0))
    assert torch.isfinite(bandit_optimal_baseline(bandit, T(1e4, 0.0, 0.0)))  # deterministic π: no 0/0
    lp = -torch.ones(1, 2, 3, dtype=torch.float64)
    mask = torch.ones(1, 2, 3, dtype=torch.bool)
    with pytest.raises(ValueError, match=r"weights: expected shape \(1, 2, 3\)"):
        token_surrogate_coefficients("pg", lp, lp, torch.ones(1, 2, dtype=torch.float64), mask, torch.ones(2, 3, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"lo, mask, adv: expected shapes"):
        token_surrogate_values("pg", lp, lp, torch.ones(1, 3, dtype=torch.float64), mask)
    with pytest.raises(ValueError, match="mask: every response needs at least one token"):
        token_surrogate_values("gspo", lp, lp, torch.ones(1, 2, dtype=torch.float64), torch.zeros_like(mask))
    with pytest.raises(ValueError, match="weights: expected a shape broadcasting"):
        kl_estimate(T(0.1, 0.2), "k3", weights=T(1.0, 1.0, 1.0))
    with pytest.raises(ValueError, match="mask: expected a boolean mask"):
        sequence_ratio(lp[0], lp[0], torch.full((2, 3), 0.5, dtype=torch.float64))


def test_overflow_is_a_named_error_not_inf():
    lp = torch.zeros(1, 1, 1, dtype=torch.float64)
    lo = torch.full((1, 1, 1), -800.0, dtype=torch.float64)  # e^{800} overflows float64
    with pytest.raises(ValueError, match="lp, lo, adv: the pg surrogate .* is not finite"):
        token_surrogate_values("pg", lp, lo, torch.ones(1, 1, dtype=torch.float64), torch.ones(1, 1, 1, dtype=torch.bool))
    with pytest.raises(ValueError, match="log_ratio: the k3 value is not finite"):
        kl_estimate(T(800.0), "k3")


# -- (3) zero std -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["grpo", "group_mean_batch_std"])
@pytest.mark.parametrize("value", [0.0, 1.0, 0.1, -3.7])
def test_constant_rewards_give_zero_advantage_for_every_eps(kind, value):
    r = torch.full((2, 5), value, dtype=torch.float64)  # 0.1 · 5 / 5 ≠ 0.1 in floating point: the mean has round-off
    for eps in (0.0, 1e-6):
        a = group_advantages(r, kind, eps=eps)
        assert torch.equal(a, torch.zeros_like(r)), (kind, eps, a)


def test_zero_std_only_in_some_groups():
    r = torch.stack([T(0.1, 0.1, 0.1), T(1.0, 0.0, 1.0)])
    a = group_advantages(r, "grpo", eps=0.0)
    assert torch.equal(a[0], torch.zeros(3, dtype=torch.float64))
    assert torch.allclose(a[1], (r[1] - r[1].mean()) / r[1].std(unbiased=True))
    b = group_advantages(r, "group_mean_batch_std", eps=0.0)  # batch std > 0: the constant group still gets exactly 0
    assert torch.equal(b[0], torch.zeros(3, dtype=torch.float64)) and bool(torch.isfinite(b).all())
    with pytest.raises(ValueError, match="eps: must be non-negative"):
        group_advantages(r, "grpo", eps=-1e-3)
    with pytest.raises(ValueError, match="eps: must be finite"):
        group_advantages(r, "group_mean_batch_std", eps=float("nan"))


# -- (4) dtype-aware probability tolerance ------------------------------------------------------------------------

def _float32_distributions(shape, seed):
    """Rows normalised in float32 whose float64 row sums miss 1 by more than float64's 1e-8 (the old, failing case)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(*shape, generator=g, dtype=torch.float32) + 0.01
    p = x / x.sum(-1, keepdim=True)
    return p


def test_float32_normalised_mdp_is_accepted_and_renormalised():
    S, A = 40, 3
    P = _float32_distributions((S, A, S), 0)
    rho = _float32_distributions((S,), 1)
    err32 = float((P.double().sum(-1) - 1).abs().max())
    assert 1e-8 < err32 < probability_tolerance(S, torch.float32)  # the old check rejected this; the new one accepts it
    mdp = TabularMDP(P, torch.zeros(S, A), 0.9, rho)
    assert mdp.transitions.dtype == torch.float64
    assert float((mdp.transitions.sum(-1) - 1).abs().max()) < 1e-14  # renormalised in float64
    assert float((mdp.initial.sum() - 1).abs()) < 1e-14


def test_float32_policies_and_weights_are_accepted():
    p = _float32_distributions((30, 40), 2)
    assert float((p.double().sum(-1) - 1).abs().max()) > 1e-8
    th = DirectPolicy(30, 40).check_params(p)
    assert th.dtype == torch.float64 and float((th.sum(-1) - 1).abs().max()) < 1e-14
    w = _float32_distributions((50,), 3)
    b = MultiPromptBandit(torch.ones(50, 2, dtype=torch.bool), prompt_weights=w.numpy())
    assert float((b.prompt_weights.sum() - 1).abs()) < 1e-14
    mdp = random_mdp(30, 40, 0.5, 0)
    TrajectorySampler(mdp, p)  # the sampler's check (atol 1e-9) is scaled to float32 too
    assert toy_sequence_task(3, 2, 50, prompt_weights=w).prompt_weights.dtype == torch.float64


def test_badly_normalised_float32_is_rejected_with_dtype_and_tolerance():
    P = np.full((2, 2, 2), 0.5, dtype=np.float32)
    P[1, 0] = [0.5, 0.49]
    with pytest.raises(ValueError, match=r"transitions: rows must sum to 1 within 1\.69e-06 \(the tolerance for input dtype "
                                         r"torch\.float32 and 2 entries\), but the row at index \(1, 0\) sums to 0\.99"):
        TabularMDP(P, np.zeros((2, 2)), 0.9, np.array([0.5, 0.5]))


def test_float64_tolerance_is_unchanged():
    p = torch.tensor([0.5, 0.5 + 2e-8], dtype=torch.float64)
    with pytest.raises(ValueError, match=r"p: rows must sum to 1 within 1e-08 \(the tolerance for input dtype torch\.float64"):
        check_probabilities(p, "p")
    q = as_tensor(p.float().numpy(), "q")  # the same numbers given in float32 pass at float32's tolerance
    assert source_dtype(q) == torch.float32
    assert float((check_probabilities(q, "q").sum() - 1).abs()) < 1e-15
