r"""Public hypothesis strategies for the package's exact problems, for property tests of your own estimators.

Every strategy draws a *seed* and small integer sizes, then builds the problem with the package's own generators, so
hypothesis shrinks towards few states/actions/prompts and seed 0 — small, readable counterexamples. Use them with
:func:`hypothesis.given`; the pytest plugin (:mod:`pgtheory.testing.plugin`) registers a derandomised profile
(``pgtheory``) so a test file gives the same examples on every run.

Needs ``hypothesis`` (``pip install pgtheory[test]``).
"""
from __future__ import annotations

try:
    from hypothesis import strategies as st
except ImportError as e:  # pragma: no cover - exercised only without the test extra
    raise ImportError("pgtheory.testing.strategies needs hypothesis: pip install 'pgtheory[test]'") from e

import numpy as np
import torch

from ..problems import (LQR, Bandit, LinearMDP, MultiPromptBandit, SequenceTask, TabularMDP, random_linear_mdp, random_lqr,
                        toy_sequence_task)

__all__ = ["random_mdp", "mdps", "mdp_and_params", "bandits", "multi_prompt_bandits", "sequence_tasks",
           "sequence_task_and_params", "response_groups", "linear_mdps", "lqrs", "seeds"]

SEED_MAX = 2**31 - 1


def seeds() -> st.SearchStrategy[int]:
    """Seeds in [0, 2³¹ − 1], shrinking to 0."""
    return st.integers(0, SEED_MAX)


def random_mdp(S: int, A: int, gamma: float, seed: int, *, sparse: bool = False) -> TabularMDP:
    r"""A dense MDP with Dirichlet(1) transition rows, N(0, 1) rewards and a Dirichlet(1) start law from a seed; with
    ``sparse`` (and S > 2) about 40% of transitions are zeroed (each row keeps mass 10⁻³ on state 0)."""
    rng = np.random.default_rng(seed)
    P = rng.dirichlet(np.ones(S), size=(S, A))
    if sparse and S > 2:
        P = P * (rng.random((S, A, S)) < 0.6)
        P[..., 0] += 1e-3  # keep every row non-empty
        P /= P.sum(-1, keepdims=True)
    r = rng.normal(size=(S, A))
    rho = rng.dirichlet(np.ones(S))
    return TabularMDP(torch.from_numpy(P), torch.from_numpy(r), gamma, torch.from_numpy(rho))


@st.composite
def mdps(draw, max_states: int = 6, max_actions: int = 4, max_gamma: float = 0.95, min_states: int = 1,
         min_actions: int = 1) -> TabularMDP:
    """Tabular MDPs (:func:`random_mdp`) with S ≤ ``max_states``, A ≤ ``max_actions``, γ ∈ [0, ``max_gamma``], dense
    or sparse."""
    S = draw(st.integers(min_states, max_states))
    A = draw(st.integers(min_actions, max_actions))
    gamma = draw(st.floats(0.0, max_gamma))
    return random_mdp(S, A, gamma, draw(seeds()), sparse=draw(st.booleans()))


@st.composite
def mdp_and_params(draw, policy_cls=None, batch: int = 2, scale: float = 2.0, **kw):
    """(mdp, policy, θ [batch, ...]): an MDP from :func:`mdps` (``kw`` passed on), a tabular policy of
    ``policy_cls`` (default :class:`~pgtheory.policies.TabularSoftmax`) and ``batch`` random parameter sets."""
    from ..policies import TabularSoftmax

    mdp = draw(mdps(**kw))
    policy = (policy_cls or TabularSoftmax)(mdp.n_states, mdp.n_actions)
    theta = policy.random_params(batch, generator=torch.Generator().manual_seed(draw(seeds())), scale=scale)
    return mdp, policy, theta


@st.composite
def bandits(draw, max_arms: int = 6, kind: str | None = None) -> Bandit:
    """K-armed bandits (2 ≤ K ≤ ``max_arms``), Bernoulli with means in [0, 1] or Gaussian with means N(0, 1) and
    s.d. in [0.1, 2]; ``kind`` fixes the family."""
    K = draw(st.integers(2, max_arms))
    rng = np.random.default_rng(draw(seeds()))
    k = kind or draw(st.sampled_from(["bernoulli", "gaussian"]))
    if k == "bernoulli":
        return Bandit(torch.from_numpy(rng.random(K)), kind="bernoulli")
    return Bandit(torch.from_numpy(rng.normal(size=K)), kind="gaussian", std=torch.from_numpy(rng.uniform(0.1, 2.0, K)))


@st.composite
def multi_prompt_bandits(draw, max_prompts: int = 5, max_answers: int = 6) -> MultiPromptBandit:
    """Multi-prompt binary-reward bandits: M prompts, K answers, each answer correct with a per-prompt probability
    (so some prompts are all-wrong or all-right, as in RLVR data)."""
    M = draw(st.integers(1, max_prompts))
    K = draw(st.integers(2, max_answers))
    rng = np.random.default_rng(draw(seeds()))
    p = rng.random((M, 1))
    return MultiPromptBandit(torch.from_numpy(rng.random((M, K)) < p))


@st.composite
def sequence_tasks(draw, max_vocab: int = 4, max_length: int = 4, max_prompts: int = 3) -> SequenceTask:
    """Toy LLM tasks (:func:`~pgtheory.problems.toy_sequence_task`): vocabulary (with EOS) ≤ ``max_vocab``, responses
    of at most ``max_length`` tokens, one random correct answer per prompt."""
    return toy_sequence_task(draw(st.integers(2, max_vocab)), draw(st.integers(2, max_length)),
                             draw(st.integers(1, max_prompts)), seed=draw(st.integers(0, 10**6)))


@st.composite
def sequence_task_and_params(draw, batch: int = 1, scale: float = 1.0, **kw):
    """(task, policy, θ [batch, ...]) with a :class:`~pgtheory.policies.TabularSequencePolicy`."""
    from ..policies import TabularSequencePolicy

    task = draw(sequence_tasks(**kw))
    policy = TabularSequencePolicy(task)
    theta = policy.random_params(batch, generator=torch.Generator().manual_seed(draw(seeds())), scale=scale)
    return task, policy, theta


@st.composite
def response_groups(draw, max_groups: int = 4, max_size: int = 8, binary: bool = True) -> torch.Tensor:
    """Rewards of groups of sampled responses, ``[n_groups, G]`` (G ≥ 2): binary (verifiable rewards, including
    all-equal groups) or real-valued N(0, 1)."""
    n = draw(st.integers(1, max_groups))
    G = draw(st.integers(2, max_size))
    rng = np.random.default_rng(draw(seeds()))
    if binary:
        return torch.from_numpy((rng.random((n, G)) < rng.random((n, 1))).astype(np.float64))
    return torch.from_numpy(rng.normal(size=(n, G)))


@st.composite
def linear_mdps(draw, max_states: int = 6, max_actions: int = 3, max_dim: int = 4, max_gamma: float = 0.95) -> LinearMDP:
    """Random (simplex-feature) linear MDPs, valid by construction (:func:`~pgtheory.problems.random_linear_mdp`)."""
    S = draw(st.integers(2, max_states))
    A = draw(st.integers(1, max_actions))
    d = draw(st.integers(1, max_dim))
    return random_linear_mdp(S, A, d, seed=draw(seeds()), discount=draw(st.floats(0.0, max_gamma)),
                             concentration=draw(st.sampled_from([0.3, 1.0, 3.0])))


@st.composite
def lqrs(draw, max_states: int = 3, max_controls: int = 2, max_gamma: float = 0.95) -> LQR:
    """Random stabilisable discounted LQR instances (:func:`~pgtheory.problems.random_lqr`)."""
    return random_lqr(draw(st.integers(1, max_states)), draw(st.integers(1, max_controls)), seed=draw(seeds()),
                      discount=draw(st.floats(0.5, max_gamma)))
