r"""pytest plugin of pgtheory (entry point ``pytest11``), active wherever pgtheory is installed.

* fixtures ``pgtheory_seed`` (an int: ``--pgtheory-seed`` (default 0) mixed with a stable hash of the test's node id,
  so each test has its own reproducible seed) and ``torch_generator`` (a ``torch.Generator`` seeded with it);
* the marker ``@pytest.mark.statistical(false_failure_rate=...)`` for statistical tests: the terminal summary lists
  every such test that ran with its stated rate, and their sum (a union bound on the chance that at least one of them
  failed by chance alone);
* a hypothesis profile ``pgtheory`` (derandomised, no deadline) — opt in with ``--hypothesis-profile=pgtheory`` or
  ``hypothesis.settings.load_profile("pgtheory")``; the plugin does not change other projects' settings.
"""
from __future__ import annotations

import zlib

import pytest

_RATES: list[tuple[str, float]] = []


def _register_profile() -> None:
    try:
        from hypothesis import HealthCheck, settings
    except ImportError:  # hypothesis not installed: nothing to register
        return
    settings.register_profile("pgtheory", derandomize=True, deadline=None, max_examples=25, print_blob=True,
                              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


_register_profile()


def pytest_addoption(parser):
    parser.addoption("--pgtheory-seed", type=int, default=0,
                     help="pgtheory: base seed of the pgtheory_seed / torch_generator fixtures (default 0)")


def pytest_configure(config):
    config.addinivalue_line("markers", "statistical(false_failure_rate): a statistical test and its stated chance of "
                                       "failing when the property holds (summed in pgtheory's terminal summary)")


def _rate(item) -> float | None:
    m = item.get_closest_marker("statistical")
    if m is None:
        return None
    rate = m.kwargs.get("false_failure_rate", m.args[0] if m.args else None)
    if not isinstance(rate, (int, float)) or not 0 <= rate < 1:
        raise pytest.UsageError(f"{item.nodeid}: @pytest.mark.statistical needs false_failure_rate in [0, 1), got {rate!r}")
    return float(rate)


def pytest_runtest_setup(item):
    rate = _rate(item)
    if rate is not None:
        _RATES.append((item.nodeid, rate))


def pytest_terminal_summary(terminalreporter):
    if not _RATES:
        return
    tr = terminalreporter
    tr.section("pgtheory statistical tests")
    for nodeid, rate in _RATES:
        tr.write_line(f"{rate:.3g}  {nodeid}")
    tr.write_line(f"{len(_RATES)} statistical tests; chance that any failed by chance alone ≤ {sum(r for _, r in _RATES):.3g}"
                  " (union bound of their stated false-failure rates)")


@pytest.fixture
def pgtheory_seed(request) -> int:
    """A reproducible per-test seed: ``--pgtheory-seed`` + crc32(node id) mod 2³¹."""
    base = request.config.getoption("--pgtheory-seed")
    return (base + zlib.crc32(request.node.nodeid.encode())) % (2**31)


@pytest.fixture
def torch_generator(pgtheory_seed):
    """A CPU ``torch.Generator`` seeded with :func:`pgtheory_seed`."""
    import torch

    return torch.Generator().manual_seed(pgtheory_seed)
