"""The sampler benchmark's strong numpy baselines (issue 17) sample the right law, so a throughput ratio compares like
with like. Deterministic (seeded); each check is a chi-square goodness-of-fit test at level 1e-6 (false-failure rate
≤ 1e-6 per check, 4 checks), with a twin: the same test rejects a row of a different law."""
import runpy
from pathlib import Path

import numpy as np
from scipy import stats

BENCH = runpy.run_path(str(Path(__file__).resolve().parents[1] / "benchmarks" / "sampler_throughput.py"))
SPARSE = runpy.run_path(str(Path(__file__).resolve().parents[1] / "benchmarks" / "sparse_sampler.py"))


def _rejects(counts: np.ndarray, p: np.ndarray) -> bool:
    return bool(stats.chisquare(counts, counts.sum() * p).pvalue < 1e-6)


def test_numpy_alias_and_searchsorted_baselines_draw_the_transition_law():
    rng = np.random.default_rng(0)
    S, A, n = 6, 3, 200_000
    P = rng.dirichlet(np.ones(S), size=(S, A)).reshape(S * A, S)
    prob, alias = BENCH["alias_rows"](P)
    row = np.full(n, 7)
    u = rng.random(n) * S
    k = u.astype(np.int64)
    alias_draw = np.where(u - k < prob[row, k], k, alias[row, k])
    cdf = (P.cumsum(-1) + np.arange(S * A)[:, None]).ravel()
    ss_draw = np.minimum(np.searchsorted(cdf, row + rng.random(n)) - row * S, S - 1)
    for draw in (alias_draw, ss_draw):
        counts = np.bincount(draw, minlength=S)
        assert not _rejects(counts, P[7])
        assert _rejects(counts, P[8])  # twin: another row's law is rejected
    r, pi, rho = rng.random((S, A)), rng.dirichlet(np.ones(A), size=S), rng.dirichlet(np.ones(S))
    tables = (BENCH["alias_rows"](pi), (prob, alias))
    assert BENCH["alias_numpy"](tables, r, rho, 1000, 5, rng) == 5000
    assert BENCH["searchsorted_numpy"](P.reshape(S, A, S), r, pi, rho, 1000, 5, rng) == 5000


def test_sparse_numpy_alias_baseline_moves_along_the_support():
    """Every next state the sparse alias baseline reaches is in the support of its (s, a): a wrong index would leave it."""
    from pgtheory.problems import sparse_garnet

    mdp = sparse_garnet(50, 3, 4, seed=0)
    sup, pr, rho = mdp.support.numpy(), mdp.probs.numpy(), mdp.initial.numpy()
    pi = np.full((50, 3), 1 / 3)
    tables = (SPARSE["alias_rows"](pi), SPARSE["alias_rows"](pr.reshape(150, 4)))
    assert SPARSE["numpy_sparse_alias_sampler"](tables, sup, rho, 200, 3, np.random.default_rng(0)) == 600
    prob, alias = tables[1]
    row = np.arange(150).repeat(50)
    j = SPARSE["alias_draw"](prob, alias, row, np.random.default_rng(1))
    assert ((j >= 0) & (j < 4)).all() and (pr.reshape(150, 4)[row, j] > 0).all()
