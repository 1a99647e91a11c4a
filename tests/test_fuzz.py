"""Fuzz the public constructors and estimators with random shapes and values, NaN/inf/empty/wrong-shape/wrong-type input.

Contract checked on every call: it either returns output whose floating-point tensors are all finite, or raises
``ValueError``/``TypeError`` whose message starts with the name of one of the call's arguments (``"name: ..."``, or
several names ``"lp, lo, adv: ..."``). Any other exception, an unnamed error or a silent NaN/inf fails the test.

Deterministic (``derandomize=True``, no example database) and quick (≈40 examples per target).
"""
from __future__ import annotations

import dataclasses
import inspect
import math

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from pgtheory._checks import as_tensor, check_probabilities, probability_tolerance
from pgtheory.estimators import (GROUP_ADVANTAGES, IS_ESTIMATORS, KL_ESTIMATORS, KL_REGULARIZED_SURROGATES, LOSS_AGGREGATIONS,
                                 PG_ESTIMATORS, TOKEN_SURROGATES, action_baseline_bias, aggregation_weights,
                                 bandit_optimal_baseline, bandit_reinforce_estimates, bandit_reinforce_trace_variance,
                                 cpi_objective, fit_state_baseline, gae_advantages, gae_expected_advantage, group_advantages,
                                 importance_estimates, iwae_bound, kl_estimate, kl_loss_score_coefficient,
                                 length_normalized_ratio, optimal_state_baseline, pairwise_consistency_loss,
                                 policy_gradient_estimates, ppo_clip_objective, q_trace_targets, sequence_ratio,
                                 sequence_score_sum, surrogate_score_coefficient, td_errors, token_ratios,
                                 token_surrogate_coefficients, token_surrogate_values, tsallis_kl_estimate, vtrace_targets,
                                 weighted_is)
from pgtheory.policies import DirectPolicy, LogLinearSoftmax, TabularSequencePolicy, TabularSoftmax
from pgtheory.problems import (Bandit, GaussianLatentModel, MultiPromptBandit, SequenceTask, TabularMDP, cliff_walk, garnet,
                               gridworld, hard_chain, toy_sequence_task)
from pgtheory.sampling import TrajectorySampler, rollouts_from_state_actions, sample_bandit, sample_sequence_groups

FUZZ = settings(max_examples=40, deadline=None, derandomize=True, database=None, print_blob=False,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])

# -- the contract -------------------------------------------------------------------------------------------------


def _params(fn) -> set[str]:
    try:
        return {p for p in inspect.signature(fn).parameters if p not in ("kwargs", "hp", "args")}
    except (TypeError, ValueError):
        return set()


def _all_finite(x, depth: int = 0) -> bool:
    if depth > 3:
        return True
    if isinstance(x, torch.Tensor):
        return not x.dtype.is_floating_point or x.numel() == 0 or bool(torch.isfinite(x.detach()).all())
    if isinstance(x, (float, np.floating)):
        return math.isfinite(float(x))
    if isinstance(x, (tuple, list)):
        return all(_all_finite(v, depth + 1) for v in x)
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        return all(_all_finite(getattr(x, f.name), depth + 1) for f in dataclasses.fields(x))
    return True


def check(fn, *args, also: tuple[str, ...] = (), **kwargs):
    """Call ``fn``; accept finite output or a ValueError/TypeError whose message starts with an argument name."""
    names = _params(fn) | set(kwargs) | set(also)
    try:
        out = fn(*args, **kwargs)
    except (ValueError, TypeError) as exc:
        head = str(exc).split(":", 1)[0]
        named = {h.strip() for h in head.replace("/", ",").split(",")}
        assert named & names, f"{type(exc).__name__} from {getattr(fn, '__name__', fn)} names none of {sorted(names)}: {exc}"
        return None
    assert _all_finite(out), f"{getattr(fn, '__name__', fn)} returned non-finite output silently: {out}"
    return out


# -- strategies ---------------------------------------------------------------------------------------------------

SPECIAL = [float("nan"), float("inf"), -float("inf"), 0.0, -0.0, 1e300, -1e300, 5e-324]
BAD_SCALARS = ["x", None, [1.0, 2.0], True, object()]


def reals(lo: float = -3.0, hi: float = 3.0):
    """Moderate floats, with NaN, ±inf, huge and subnormal values mixed in."""
    return st.one_of(st.floats(lo, hi), st.floats(lo, hi), st.sampled_from(SPECIAL))


def scalars(lo: float = -3.0, hi: float = 3.0):
    """A hyper-parameter value: mostly a real, sometimes an int or a value of the wrong type."""
    return st.one_of(reals(lo, hi), reals(lo, hi), st.integers(-3, 5), st.sampled_from(BAD_SCALARS))


def arrays(shape=None, lo: float = -3.0, hi: float = 3.0, special: bool = True):
    """float64 torch tensors of the given (or a random small, possibly empty) shape."""
    shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4) if shape is None else st.just(shape)
    elements = reals(lo, hi) if special else st.floats(lo, hi)
    return hnp.arrays(np.float64, shapes, elements=elements).map(torch.from_numpy)


# -- fixtures (built once) ----------------------------------------------------------------------------------------

def _mdp(S=4, A=3, seed=0, gamma=0.7):
    rng = np.random.default_rng(seed)
    return TabularMDP(rng.dirichlet(np.ones(S), size=(S, A)), rng.normal(size=(S, A)), gamma, np.full(S, 1 / S))


MDP = _mdp()
POL = TabularSoftmax(4, 3)
TH = POL.random_params(generator=torch.Generator().manual_seed(0))
MU = torch.softmax(torch.randn(4, 3, generator=torch.Generator().manual_seed(5), dtype=torch.float64), -1)
TRAJ = TrajectorySampler(MDP, POL.probs(TH)).sample(30, torch.Generator().manual_seed(1))
TRAJ_TRUNC = TrajectorySampler(MDP, POL.probs(TH), termination="truncate", horizon=3).sample(20, torch.Generator().manual_seed(2))
TRAJ_OFF = TrajectorySampler(MDP, MU, target=POL.probs(TH)).sample(30, torch.Generator().manual_seed(3))
ROLLOUTS = rollouts_from_state_actions(MDP, MU, 3, 3, torch.Generator().manual_seed(4))
BANDIT = Bandit([0.1, 0.5, 0.9])
DRAWS = sample_bandit(BANDIT, [0.2, 0.3, 0.5], 40, torch.Generator().manual_seed(0))
TASK = toy_sequence_task(3, 3, 2, seed=0)
SEQ_POL = TabularSequencePolicy(TASK)
SEQ_TH = SEQ_POL.random_params(generator=torch.Generator().manual_seed(0))
GROUPS = sample_sequence_groups(SEQ_POL, SEQ_TH, 3, 4, torch.Generator().manual_seed(1))
LATENT = GaussianLatentModel(torch.zeros(2, dtype=torch.float64))

OTHER_POLICIES = [POL, TabularSoftmax(7, 3), TabularSoftmax(3, 3), TabularSoftmax(4, 2), DirectPolicy(4, 3),
                  LogLinearSoftmax(torch.randn(4, 3, 2, generator=torch.Generator().manual_seed(7), dtype=torch.float64))]


def _valid_distribution(shape, seed):
    x = np.random.default_rng(seed).random(shape) + 0.05
    return x / x.sum(-1, keepdims=True)


# -- constructors -------------------------------------------------------------------------------------------------

def sometimes_bad(valid, bad, one_in: int = 5):
    """``valid`` values, replaced by ``bad`` ones about once in ``one_in`` draws (so that success paths run too)."""
    return st.integers(1, one_in).flatmap(lambda i: bad if i == 1 else valid)


def ints(lo: int, hi: int, bad_lo: int = -1):
    return sometimes_bad(st.integers(lo, hi), st.one_of(st.integers(bad_lo, lo - 1) if bad_lo < lo else st.nothing(),
                                                        st.sampled_from(BAD_SCALARS + [2.5, "3"])))


def reals_in(lo: float, hi: float):
    return sometimes_bad(st.floats(lo, hi), scalars())


BAD_ARRAYS = st.one_of(arrays(), st.sampled_from(BAD_SCALARS))


@FUZZ
@given(st.integers(1, 3), st.integers(1, 3), st.integers(0, 2**16), st.data())
def test_fuzz_tabular_mdp(S, A, seed, data):
    P = data.draw(sometimes_bad(st.just(_valid_distribution((S, A, S), seed)), st.one_of(BAD_ARRAYS, arrays((S, A, S), 0, 1)),
                                one_in=4), "P")
    if isinstance(P, np.ndarray) and data.draw(st.booleans()):  # normalised in float32 or float16: accepted
        P = P.astype(data.draw(st.sampled_from([np.float32, np.float16])))
        P = P / P.sum(-1, keepdims=True)
    r = data.draw(sometimes_bad(arrays((S, A), special=False), st.one_of(BAD_ARRAYS, arrays((S, A)))), "r")
    rho = data.draw(sometimes_bad(st.just(_valid_distribution((S,), seed + 1)), st.one_of(BAD_ARRAYS, arrays((S,), 0, 1))), "rho")
    gamma = data.draw(reals_in(0, 0.99), "gamma")
    std = data.draw(st.one_of(st.none(), reals_in(0, 2), sometimes_bad(arrays((S, A), 0, 2, special=False), BAD_ARRAYS)), "std")
    mdp = check(TabularMDP, P, r, gamma, rho, reward_std=std)
    if mdp is not None:
        assert float((mdp.transitions.sum(-1) - 1).abs().max()) < 1e-12


@FUZZ
@given(ints(2, 5), ints(1, 4), ints(1, 2), reals_in(0, 0.99),
       sometimes_bad(st.one_of(st.integers(0, 10), st.none()), st.sampled_from([-1, "seed", 1.5])), reals_in(0, 2),
       sometimes_bad(st.sampled_from(["uniform", "random"]), st.sampled_from(["bogus", 3])))
def test_fuzz_garnet(S, A, b, gamma, seed, std, initial):
    check(garnet, S, A, b, discount=gamma, seed=seed, reward_std=std, initial=initial)


CELLS = sometimes_bad(st.tuples(st.integers(0, 2), st.integers(0, 2)),
                      st.one_of(st.tuples(st.integers(-1, 4), st.integers(-1, 4)), st.sampled_from([(1,), "ab", (0, 0, 0), 3, None])))


@FUZZ
@given(ints(3, 5), ints(3, 5), reals_in(0, 1), reals_in(0, 0.99), reals_in(-1, 1), reals_in(0, 2),
       st.one_of(st.none(), CELLS), CELLS)
def test_fuzz_grid_generators(h, w, slip, gamma, cost, cost_std, goal, start):
    check(hard_chain, h, discount=gamma, distractor_reward=cost)
    check(gridworld, h, w, slip=slip, discount=gamma, goal=goal, start=start, reward_std=cost_std)
    check(cliff_walk, w, h, slip=slip, discount=gamma, step_cost=cost, cliff_cost=cost, cliff_cost_std=cost_std)


BOOL_ARRAYS = hnp.arrays(np.bool_, hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=3)).map(torch.from_numpy)


@FUZZ
@given(sometimes_bad(arrays((3,), 0, 1, special=False), st.one_of(BAD_ARRAYS, arrays((3,), -1, 2)), one_in=3),
       sometimes_bad(st.sampled_from(["bernoulli", "gaussian"]), st.sampled_from(["cauchy", None])),
       st.one_of(reals_in(0, 2), sometimes_bad(arrays((3,), 0, 2, special=False), BAD_ARRAYS)),
       sometimes_bad(BOOL_ARRAYS, st.one_of(BAD_ARRAYS, BOOL_ARRAYS.map(lambda c: c.to(torch.float64) * 0.5))),
       st.one_of(st.none(), st.integers(1, 3).flatmap(lambda m: st.just(torch.full((m,), 1 / m, dtype=torch.float32))), BAD_ARRAYS),
       sometimes_bad(arrays((2,), special=False), BAD_ARRAYS))
def test_fuzz_bandits_and_latent(means, kind, std, correct, weights, mu):
    check(Bandit, means, kind=kind, std=std)
    check(MultiPromptBandit, correct, prompt_weights=weights)
    check(GaussianLatentModel, mu)


ANSWERS = sometimes_bad(st.none(), st.lists(st.lists(st.lists(st.integers(-1, 4), max_size=3).map(tuple), max_size=2), max_size=3)
                        | st.sampled_from(BAD_SCALARS), one_in=3)


@FUZZ
@given(ints(2, 4), ints(2, 3), ints(1, 3), ANSWERS, st.one_of(st.none(), arrays((2,), 0, 1), BAD_ARRAYS),
       sometimes_bad(st.integers(0, 5), st.sampled_from([-1, "s", None])), ints(0, 1))
def test_fuzz_sequence_tasks(V, L, M, answers, weights, seed, eos):
    task = check(toy_sequence_task, V, L, M, answers=answers, seed=seed, prompt_weights=weights)
    if task is not None:
        pol = check(TabularSequencePolicy, task)
        th = check(pol.check_params, torch.zeros(pol.param_shape, dtype=torch.float64))
        assert th is not None and _all_finite(pol.sequence_log_probs(th))
    check(SequenceTask, V, L, M, reward=lambda q, y: float(len(y)), eos=eos, prompt_weights=weights)


@FUZZ
@given(ints(1, 4), ints(1, 4), st.sampled_from([TabularSoftmax, DirectPolicy]),
       sometimes_bad(arrays((2, 3, 2), -1e3, 1e3, special=False), BAD_ARRAYS), st.data())
def test_fuzz_tabular_policies(S, A, cls, features, data):
    pol = check(cls, S, A)
    if pol is not None:
        valid = pol.random_params(data.draw(st.integers(0, 2)), generator=torch.Generator().manual_seed(0), scale=3.0)
        theta = data.draw(sometimes_bad(st.just(valid), st.one_of(BAD_ARRAYS, arrays(tuple(valid.shape), -1e3, 1e3))), "theta")
        th = check(pol.check_params, theta)
        if th is not None:
            check(pol.probs, th)
            check(pol.vjp_probs, th, torch.ones(pol.n_states, pol.n_actions, dtype=torch.float64))
    lin = check(LogLinearSoftmax, features)
    if lin is not None:
        theta = data.draw(sometimes_bad(arrays((2,), -1e3, 1e3, special=False), BAD_ARRAYS), "theta_lin")
        th = check(lin.check_params, theta)
        if th is not None:
            check(lin.probs, th)
            check(lin.log_probs, th)


# -- estimators on arrays -----------------------------------------------------------------------------------------

def named_kinds(registry):
    return sometimes_bad(st.sampled_from(list(registry)), st.sampled_from(["bogus", 3, None]), one_in=8)


def hyperparameters(valid: dict, typos=("epsilon", "basline", "clip_eps")):
    """Keyword dicts: a subset of ``valid`` (name → strategy), each value sometimes bad, sometimes a misspelt key added."""
    keys = sorted(valid)
    base = st.lists(st.sampled_from(keys), unique=True, max_size=len(keys)) if keys else st.just([])

    def build(ks):
        d = st.fixed_dictionaries({k: sometimes_bad(valid[k], st.one_of(scalars(), arrays())) for k in ks})
        extra = sometimes_bad(st.just({}), st.dictionaries(st.sampled_from(typos), scalars(), min_size=1, max_size=1), one_in=6)
        return st.tuples(d, extra).map(lambda t: {**t[0], **t[1]})

    return base.flatmap(build)


GROUP_HP = {"grpo": {"eps": st.floats(0, 0.1)}, "group_mean_batch_std": {"eps": st.floats(0, 0.1)},
            "bnpo": {"alpha": st.floats(0.1, 5), "beta": st.floats(0.1, 5), "p": st.floats(0, 1)}, "pass_at_k": {"k": st.integers(1, 4)},
            "remax": {"greedy_rewards": st.floats(-3, 3)}, "opo": {"lengths": st.floats(1, 5)}}


@st.composite
def group_calls(draw):
    kind = draw(named_kinds(GROUP_ADVANTAGES))
    B, G = draw(st.integers(0, 3)), draw(st.integers(1, 5))
    binary = draw(st.booleans())
    valid = hnp.arrays(np.float64, (B, G), elements=st.sampled_from([0.0, 1.0]) if binary else st.floats(-3, 3)).map(torch.from_numpy)
    rewards = draw(sometimes_bad(valid, st.one_of(arrays(), arrays((B, G)), st.sampled_from(BAD_SCALARS))))
    kw = draw(hyperparameters(GROUP_HP.get(kind, {}) if isinstance(kind, str) else {}))
    return rewards, kind, kw


@FUZZ
@given(group_calls())
def test_fuzz_group_advantages(call):
    rewards, kind, kw = call
    check(group_advantages, rewards, kind, also=("eps", "alpha", "beta", "p", "k", "greedy_rewards", "lengths", "weights"),
          **kw)  # defaults of the kind count


@FUZZ
@given(sometimes_bad(arrays((2, 3), special=False), st.one_of(arrays(), st.sampled_from(BAD_SCALARS))),
       sometimes_bad(arrays((2, 3), special=False), st.one_of(arrays(), arrays((2, 3)))), reals_in(0.01, 3))
def test_fuzz_group_losses(rewards, log_ratio, tau):
    check(pairwise_consistency_loss, rewards, log_ratio, tau)


@st.composite
def token_batches(draw):
    B, G, L = draw(st.integers(0, 2)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    shape = (B, G, L)
    lp = draw(sometimes_bad(arrays(shape, -6, 0, special=False), st.one_of(arrays(shape, -6, 0), arrays())))
    lo = draw(sometimes_bad(arrays(shape, -6, 0, special=False), st.one_of(arrays(shape, -900, 0, special=False),
                                                                           arrays(shape, -6, 0), arrays())))
    adv = draw(sometimes_bad(arrays((B, G), special=False), st.one_of(arrays((B, G)), arrays())))
    valid_mask = hnp.arrays(np.bool_, st.just(shape)).map(torch.from_numpy)
    mask = draw(sometimes_bad(valid_mask, st.one_of(valid_mask.map(lambda m: m.to(torch.float64)), arrays(shape, 0, 1, special=False),
                                                    st.sampled_from(BAD_SCALARS))))
    if isinstance(mask, torch.Tensor) and mask.dtype == torch.bool and draw(st.integers(0, 4)):
        mask[..., 0] = True  # usually every response has a token
    return lp, lo, adv, mask


POS = st.floats(0.01, 2)
TOKEN_HP = {"ppo_clip": {"eps": POS}, "clip_higher": {"eps_low": POS, "eps_high": POS}, "dual_clip": {"eps": POS, "c": st.floats(1, 5)},
            "spo": {"eps": POS}, "cispo": {"eps_high": POS}, "aspo": {"eps": POS}, "gspo": {"eps_seq": st.floats(1e-4, 1e9)},
            "gmpo": {"eps_log": st.floats(1e-3, 1e9)},
            "clip_cov": {"eps": POS, "cov_ratio": st.floats(0, 1), "cov_lb": st.floats(-2, 0), "cov_ub": st.floats(0.5, 5),
                         "generator": st.just(torch.Generator().manual_seed(0))},
            "kl_cov": {"cov_ratio": st.floats(0, 1), "kl_coef": st.floats(0, 2)},
            "kl_cov_ppo_clip": {"eps": POS, "cov_ratio": st.floats(0, 1), "kl_coef": st.floats(0, 2)},
            "sapo": {"tau_pos": POS, "tau_neg": POS},
            "vespo": {"k_pos": st.floats(0, 4), "lambda_pos": st.floats(0, 4), "k_neg": st.floats(0, 4), "lambda_neg": st.floats(0, 4)}}


@FUZZ
@given(named_kinds(TOKEN_SURROGATES), token_batches(), st.data())
def test_fuzz_token_surrogates_and_aggregations(kind, batch, data):
    lp, lo, adv, mask = batch
    hp = data.draw(hyperparameters(TOKEN_HP.get(kind, {}) if isinstance(kind, str) else {}), "hp")
    check(token_surrogate_values, kind, lp, lo, adv, mask, **hp)
    agg = data.draw(named_kinds(LOSS_AGGREGATIONS), "agg")
    agg_hp = {"delta_l": {"alpha": st.floats(-3, 3)}, "seq_mean_token_sum_norm": {"loss_scale_factor": st.floats(0.5, 10)}}
    agg_kw = data.draw(hyperparameters(agg_hp.get(agg, {}) if isinstance(agg, str) else {}), "agg_kw")
    w = check(aggregation_weights, mask, agg, **agg_kw)
    weights = w if w is not None else torch.ones(lp.shape, dtype=torch.float64)
    check(token_surrogate_coefficients, kind, lp, lo, adv, mask, weights, **hp)
    for fn in (token_ratios, sequence_ratio, length_normalized_ratio):
        check(fn, lp, lo, mask)


@FUZZ
@given(sometimes_bad(arrays(special=False), st.one_of(arrays(lo=-900, hi=900, special=False), arrays())), named_kinds(KL_ESTIMATORS),
       st.one_of(st.none(), sometimes_bad(arrays(lo=0, hi=3, special=False), arrays())), reals_in(0.1, 3),
       sometimes_bad(st.sampled_from(["1-q", "q-1"]), st.just("bogus")))
def test_fuzz_kl_estimators(log_ratio, kind, weights, q, convention):
    also = ("name",)  # the KL registry's unknown-name error keeps its historical 'name:' prefix (tests/test_divergences.py)
    check(kl_estimate, log_ratio, kind, weights=weights, also=also)
    check(kl_loss_score_coefficient, log_ratio, kind, weights=weights, also=also)
    check(tsallis_kl_estimate, log_ratio, q, convention=convention, weights=weights)


@FUZZ
@given(named_kinds(KL_REGULARIZED_SURROGATES), st.integers(0, 3), st.data())
def test_fuzz_kl_regularized(name, n, data):
    lp, lo, lr = (data.draw(sometimes_bad(arrays((n,), -6, 0, special=False), st.one_of(arrays((n,), -800, 0), arrays())))
                  for _ in range(3))
    r = data.draw(sometimes_bad(arrays((n,), special=False), arrays()))
    check(surrogate_score_coefficient, name, lp, lo, lr, r, data.draw(reals_in(0, 2)), also=("name",))


@FUZZ
@given(sometimes_bad(arrays((3,), 0, 3, special=False), st.one_of(arrays(lo=-1, hi=3), st.sampled_from(BAD_SCALARS))),
       sometimes_bad(arrays((3,), special=False), st.one_of(arrays(), arrays((3,)))), reals_in(0.01, 0.99))
def test_fuzz_clip_surrogates(ratio, advantage, eps):
    check(cpi_objective, ratio, advantage)
    check(ppo_clip_objective, ratio, advantage, eps=eps)


# -- estimators on sampled batches --------------------------------------------------------------------------------

S_TABLE = arrays((4,), special=False)
SA_TABLE = arrays((4, 3), special=False)
BAD_TABLES = st.one_of(arrays((4,)), arrays((4, 3)), arrays((6,)), arrays((3,)), arrays((3, 3)), arrays((4, 2)), arrays((7, 3)),
                       arrays(), st.sampled_from(BAD_SCALARS))
PG_HP = {"reinforce": {"baseline": st.floats(-2, 2)}, "gpomdp": {"baseline": st.one_of(st.floats(-2, 2), S_TABLE, SA_TABLE)},
         "actor_critic_q": {"critic": SA_TABLE}, "actor_critic_adv": {"critic": SA_TABLE},
         "gae": {"values": S_TABLE, "lam": st.floats(0, 1)}}


@st.composite
def pg_calls(draw):
    policy = draw(sometimes_bad(st.just(POL), st.sampled_from(OTHER_POLICIES[1:] + ["policy"])))
    theta = draw(sometimes_bad(st.just(TH), st.one_of(arrays((4, 3)), arrays((7, 3)), arrays((2, 4, 3), special=False), arrays(),
                                                      st.sampled_from(BAD_SCALARS))))
    estimator = draw(named_kinds(PG_ESTIMATORS))
    valid = PG_HP.get(estimator, {}) if isinstance(estimator, str) else {}
    required = {"actor_critic_q": ["critic"], "actor_critic_adv": ["critic"], "gae": ["values", "lam"]}.get(estimator, [])
    kw = draw(hyperparameters(valid))
    if draw(st.integers(0, 5)):  # usually with the required keywords
        kw = {**{k: draw(valid[k]) for k in required}, **kw}
    kw = {k: (draw(BAD_TABLES) if k in ("baseline", "critic", "values") and not draw(st.integers(0, 4)) else v) for k, v in kw.items()}
    return policy, theta, estimator, kw


@FUZZ
@given(pg_calls(), st.sampled_from([TRAJ, TRAJ_TRUNC]))
def test_fuzz_policy_gradient_estimates(call, traj):
    policy, theta, estimator, kw = call
    check(policy_gradient_estimates, traj, policy, theta, estimator, also=("baseline", "critic", "values", "lam"), **kw)


@FUZZ
@given(named_kinds(IS_ESTIMATORS), st.data(), sometimes_bad(S_TABLE, BAD_TABLES), reals_in(0, 1), reals_in(0.01, 3),
       reals_in(0.01, 3), ints(4, 6), reals_in(-2, 2))
def test_fuzz_trajectory_estimators(kind, data, values, lam, rho_bar, c_bar, n_states, prior):
    kw = data.draw(hyperparameters({"clip": st.floats(0.01, 3)} if kind == "truncated_is" else {}), "kw")
    check(importance_estimates, TRAJ_OFF, kind, **kw)
    check(weighted_is, TRAJ_OFF)
    check(td_errors, TRAJ, values)
    check(gae_advantages, TRAJ_TRUNC, values, lam)
    check(vtrace_targets, TRAJ_OFF, values, rho_bar=rho_bar, c_bar=c_bar)
    check(fit_state_baseline, TRAJ, n_states, prior=prior)


@FUZZ
@given(sometimes_bad(st.sampled_from([POL.probs(TH), MU]), st.one_of(arrays((4, 3), 0, 1), arrays(), st.sampled_from(BAD_SCALARS))),
       sometimes_bad(S_TABLE, BAD_TABLES), sometimes_bad(SA_TABLE, BAD_TABLES), reals_in(0, 1),
       sometimes_bad(st.just(POL), st.sampled_from(OTHER_POLICIES[1:] + ["policy"])),
       sometimes_bad(st.just(TH), st.one_of(arrays((4, 3)), arrays())), named_kinds(["is", "retrace", "tree_backup", "q_lambda"]))
def test_fuzz_exact_helpers(pi, values, q, lam, policy, theta, trace):
    check(gae_expected_advantage, MDP, pi, values, lam)
    check(optimal_state_baseline, policy, theta, q)
    check(action_baseline_bias, MDP, policy, theta, q)
    check(q_trace_targets, MDP, pi, MU, q, ROLLOUTS, trace, lam)


@FUZZ
@given(sometimes_bad(st.one_of(arrays((3,), -1e3, 1e3, special=False), arrays((2, 3), -50, 50, special=False)),
                     st.one_of(arrays(lo=-1e3, hi=1e3), st.sampled_from(BAD_SCALARS))), reals_in(-2, 2))
def test_fuzz_bandit_estimators(logits, baseline):
    check(bandit_reinforce_estimates, DRAWS, logits, baseline)
    check(bandit_reinforce_trace_variance, BANDIT, logits, baseline)
    check(bandit_optimal_baseline, BANDIT, logits)


@FUZZ
@given(sometimes_bad(arrays((2,), special=False), arrays()),
       sometimes_bad(arrays((3, 1, 2, 2), special=False), st.one_of(arrays((3, 1, 2, 2)), arrays())),
       sometimes_bad(st.one_of(st.floats(-2, 2), arrays((2,), special=False)), st.one_of(scalars(), arrays())),
       sometimes_bad(st.one_of(st.floats(-2, 2), arrays((2,), special=False)), st.one_of(scalars(), arrays())), reals_in(0.1, 2))
def test_fuzz_iwae(x, eps, A, b, sigma):
    check(iwae_bound, LATENT, x, eps, A, b, sigma)


@FUZZ
@given(sometimes_bad(st.just(SEQ_TH), st.one_of(arrays(SEQ_POL.param_shape), arrays())),
       sometimes_bad(st.one_of(arrays((3, 4), special=False), arrays(tuple(GROUPS.mask.shape), special=False)),
                     st.one_of(arrays((3, 4)), arrays(), st.sampled_from(BAD_SCALARS))))
def test_fuzz_sequence_score(theta, coef):
    check(sequence_score_sum, SEQ_POL, theta, GROUPS, coef)


@FUZZ
@given(st.sampled_from([torch.float16, torch.bfloat16, torch.float32, torch.float64]), st.integers(1, 3), st.integers(1, 60),
       st.integers(0, 2**16), st.booleans())
def test_fuzz_probability_dtypes(dtype, rows, n, seed, perturb):
    """Rows normalised in any floating dtype pass the check and come back as float64 rows summing to 1; a row off by
    far more than that dtype's round-off is rejected with a message naming the argument, the dtype and the tolerance."""
    x = torch.rand(rows, n, generator=torch.Generator().manual_seed(seed), dtype=torch.float64).to(dtype) + 0.01
    p = x / x.sum(-1, keepdim=True)
    if perturb:
        p = p.double()
        p[0, 0] += 0.05  # rejected unless 0.05 is within the dtype's tolerance 10·√n·ε (bfloat16 and float16 rows)
        p = p.to(dtype)
    q = as_tensor(p, "pi")
    tol = probability_tolerance(n, dtype)
    err = float((p.double().sum(-1) - 1).abs().max())
    out = check(check_probabilities, q, "pi", also=("pi",))
    if out is None:
        assert err > tol
    else:
        assert err <= tol and out.dtype == torch.float64 and float((out.sum(-1) - 1).abs().max()) < 1e-12


def test_the_contract_catches_silent_nan_and_unnamed_errors():
    """The harness itself: a NaN output, an unnamed error and a foreign exception type all fail it."""
    with pytest.raises(AssertionError, match="non-finite"):
        check(lambda x: torch.tensor(float("nan")), 1.0)
    with pytest.raises(AssertionError, match="names none of"):
        check(lambda x: (_ for _ in ()).throw(ValueError("something went wrong")), 1.0)
    with pytest.raises(IndexError):
        check(lambda x: [][0], 1.0)
    assert check(lambda x: (_ for _ in ()).throw(ValueError("x: bad")), 1.0) is None
