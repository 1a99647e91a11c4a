"""Exact McNemar test (pgtheory.stats.mcnemar): hand values, exact size, a powered twin, bad input."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from pgtheory.stats.mcnemar import McNemar, mcnemar_exact

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _pairs(only_a: int, only_b: int, both: int, neither: int):
    a = [1] * only_a + [0] * only_b + [1] * both + [0] * neither
    b = [0] * only_a + [1] * only_b + [1] * both + [0] * neither
    return np.array(a), np.array(b)


def test_hand_values():
    # 9 vs 1 discordant: p = 2·P(X ≥ 9 | Bin(10, 1/2)) = 2·11/1024; the 5 concordant pairs do not enter
    r = mcnemar_exact(*_pairs(9, 1, 3, 2))
    assert r == McNemar(9, 1, 15, 8 / 15, pytest.approx(22 / 1024, abs=1e-15))
    assert r.sign(0.05) == 1 and r.sign(0.01) == 0
    assert mcnemar_exact(*_pairs(1, 9, 3, 2)).sign(0.05) == -1
    # no discordant pair: no evidence either way
    r = mcnemar_exact(*_pairs(0, 0, 4, 6))
    assert r.p_value == 1.0 and r.difference == 0.0 and r.sign(0.5) == 0
    # booleans and 0/1 integers give the same answer
    a, b = _pairs(3, 7, 1, 1)
    assert mcnemar_exact(a.astype(bool), b.astype(bool)) == mcnemar_exact(a, b)


@pytest.mark.parametrize("level", [0.05, 0.001])
def test_exact_size_never_exceeds_the_level(level):
    """Under H0 (n_ab ~ Bin(d, 1/2) given d discordant pairs) the rejection probability is ≤ level for every d."""
    for d in range(1, 41):
        size = sum(stats.binom.pmf(k, d, 0.5) for k in range(d + 1)
                   if mcnemar_exact(*_pairs(k, d - k, 0, 0)).sign(level) != 0)
        assert size <= level + 1e-12


def test_detects_a_difference_and_its_null_twin():
    rng = np.random.default_rng(3)
    n = 4000
    u = rng.random(n)
    def flip():
        return rng.random(n) < 0.02

    # a = 1 on u < 0.25, b = 1 on u < 0.2, each flipped independently w.p. 0.02: P(a) − P(b) ≈ 0.05, strongly paired
    a, b = (u < 0.25) ^ flip(), (u < 0.2) ^ flip()
    r = mcnemar_exact(a, b)
    assert r.sign(1e-4) == 1 and r.difference == pytest.approx(a.mean() - b.mean(), abs=1e-15)
    # twin: the same construction with equal marginals (exchangeable pairs) is not flagged
    twin = mcnemar_exact((u < 0.2) ^ flip(), (u < 0.2) ^ flip())
    assert twin.sign(1e-4) == 0


@pytest.mark.parametrize("a, b, name, exc", [
    ([0, 1, 2], [0, 1, 1], "a", ValueError),
    ([0, 1], [0, 1, 1], "b", ValueError),
    ([], [], "a", ValueError),
    ([[0, 1]], [[0, 1]], "a", ValueError),
    ([0, 1], [0.5, 1.0], "b", ValueError),
    (np.array([None, 1], dtype=object), [0, 1], "a", TypeError),
])
def test_bad_inputs_name_the_argument(a, b, name, exc):
    with pytest.raises(exc, match=f"^{name}"):
        mcnemar_exact(a, b)
    with pytest.raises(ValueError, match="^level"):
        mcnemar_exact([0, 1], [1, 1]).sign(1.5)
