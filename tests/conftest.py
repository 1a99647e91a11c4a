"""Shared fixtures. The hypothesis strategies are the public ones of :mod:`pgtheory.testing.strategies` (re-exported
here for the test modules); hypothesis runs derandomised so the suite is deterministic."""
from __future__ import annotations

import pytest
import torch
from hypothesis import HealthCheck, settings

from pgtheory.testing.strategies import mdp_and_params, mdps, random_mdp  # noqa: F401  (used by the test modules)

from pgtheory.problems import TabularMDP

# the same profile the pytest plugin (pgtheory.testing.plugin) registers; registered here too so that the suite is
# derandomised even where the plugin's entry point is not installed (a source checkout run without pip install)
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


@pytest.fixture
def small_mdp() -> TabularMDP:
    return random_mdp(5, 3, 0.9, 0)


def rel_err(a: torch.Tensor, b: torch.Tensor) -> float:
    """Max over the batch of ‖a − b‖ / max(‖b‖, 1e-12) (norms over all but the first axis)."""
    a, b = a.reshape(a.shape[0], -1), b.reshape(b.shape[0], -1)
    return float(((a - b).norm(dim=1) / b.norm(dim=1).clamp_min(1e-12)).max())


@pytest.fixture(autouse=True)
def one_claim_process(monkeypatch):
    """The CLI's ``--jobs`` defaults to one claim process per CPU; tests that run ``main(["check", ...])`` (often with
    monkeypatched claims, which a spawned worker would not see) run in this process unless they pass ``--jobs``."""
    monkeypatch.setenv("PGTHEORY_JOBS", "1")
