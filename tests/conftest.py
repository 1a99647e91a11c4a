"""Shared fixtures and hypothesis strategies. Hypothesis runs derandomised so the suite is deterministic."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from pgtheory.problems import TabularMDP

settings.register_profile(
    "pgtheory", derandomize=True, deadline=None, max_examples=25, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile("pgtheory")


@pytest.fixture(scope="module")
def one_torch_thread():
    """One intra-op torch thread for a test module, restored afterwards. Tiny tensors (a softmax of 60 numbers, [N, 2]
    matmuls) only gain contention from a second thread on a busy 2-core machine: 3.6 ms with 2 threads under load
    against 10 µs with 1. Use with ``pytestmark = pytest.mark.usefixtures("one_torch_thread")``."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def random_mdp(S: int, A: int, gamma: float, seed: int, *, sparse: bool = False) -> TabularMDP:
    """A dense Dirichlet(1) MDP (or, with ``sparse``, one with some zero transitions) from a seed."""
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
def mdps(draw, max_states: int = 6, max_actions: int = 4, max_gamma: float = 0.95) -> TabularMDP:
    S = draw(st.integers(1, max_states))
    A = draw(st.integers(1, max_actions))
    gamma = draw(st.floats(0.0, max_gamma))
    seed = draw(st.integers(0, 2**31 - 1))
    sparse = draw(st.booleans())
    return random_mdp(S, A, gamma, seed, sparse=sparse)


@st.composite
def mdp_and_params(draw, policy_cls=None, batch: int = 2, scale: float = 2.0, **kw):
    from pgtheory.policies import TabularSoftmax

    mdp = draw(mdps(**kw))
    policy = (policy_cls or TabularSoftmax)(mdp.n_states, mdp.n_actions)
    seed = draw(st.integers(0, 2**31 - 1))
    theta = policy.random_params(batch, generator=torch.Generator().manual_seed(seed), scale=scale)
    return mdp, policy, theta


@pytest.fixture
def small_mdp() -> TabularMDP:
    return random_mdp(5, 3, 0.9, 0)


def rel_err(a: torch.Tensor, b: torch.Tensor) -> float:
    """Max over the batch of ‖a − b‖ / max(‖b‖, 1e-12) (norms over all but the first axis)."""
    a, b = a.reshape(a.shape[0], -1), b.reshape(b.shape[0], -1)
    return float(((a - b).norm(dim=1) / b.norm(dim=1).clamp_min(1e-12)).max())
