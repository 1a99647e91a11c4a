"""Benchmark: sparse transitions end to end (issue 17) — build time, memory and transitions/s at large S.

    python benchmarks/sparse_sampler.py [--states 10000 100000] [--branching 10] [--episodes 20000] [--horizon 50]

For each S: a sparse Garnet (A = 4, k = branching) built vectorised; SparseTrajectorySampler's build time and table
bytes; truncated-horizon sampling throughput against a competent numpy sampler over the same sparse support
(inverse CDF over A and over the k support entries, vectorised over episodes: O(A + k) per transition) and numpy
alias tables over the same supports (O(1) per transition, tables built once and not timed); the same random policy. Dense P at these sizes would need S·A·S·8 bytes (reported for scale: 3.2 GB at S = 10,000).
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _baselines import alias_draw, alias_rows  # noqa: E402 — the benchmarks' shared numpy baselines

from pgtheory._perf import tune_allocator
from pgtheory.problems import sparse_garnet
from pgtheory.sampling import SparseTrajectorySampler


def numpy_sparse_sampler(support, probs, pi, rho, n, H, rng):
    """Vectorised numpy: actions and next states by inverse CDF over the small supports; returns transitions drawn."""
    S, A, k = support.shape
    cdf_pi, cdf_p = np.cumsum(pi, 1), np.cumsum(probs, 2)
    s = rng.choice(S, size=n, p=rho)
    total = 0.0
    for _ in range(H):
        u = rng.random((2, n))
        a = np.minimum((u[0][:, None] > cdf_pi[s]).sum(1), A - 1)
        j = np.minimum((u[1][:, None] > cdf_p[s, a]).sum(1), k - 1)
        total += float(s.sum() > -1)  # keep the loop honest without a reward gather cost difference
        s = support[s, a, j]
    return n * H


def numpy_sparse_alias_sampler(tables, support, rho, n, H, rng, rewards=None):
    """Vectorised numpy alias tables over the policy rows and over each (s, a)'s k support entries: O(1) per draw;
    with ``rewards [S, A]`` it also accumulates each episode's return (the work of pgtheory's sample_returns)."""
    (pp, pa), (tp, ta) = tables
    S, A, k = support.shape
    flat = support.reshape(S * A, k)
    s = np.minimum(np.searchsorted(rho.cumsum(), rng.random(n)), S - 1)
    ret = np.zeros(n)
    for _ in range(H):
        a = alias_draw(pp, pa, s, rng)
        if rewards is not None:
            ret += rewards[s, a]
        row = s * A + a
        s = flat[row, alias_draw(tp, ta, row, rng)]
    return n * H


def best_of(f, repeats=3):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        f()
        times.append(time.perf_counter() - t0)
    return min(times)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--states", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--branching", type=int, default=10)
    ap.add_argument("--episodes", type=int, default=20_000)
    ap.add_argument("--horizon", type=int, default=50)
    args = ap.parse_args(argv)
    tune_allocator()
    A, k, n, H = 4, args.branching, args.episodes, args.horizon
    print(f"sparse sampler: A = {A}, k = {k}, {n} episodes × H = {H}, torch threads {torch.get_num_threads()}")
    print(f"{'S':>8} {'garnet s':>9} {'build s':>8} {'table MB':>9} {'dense P GB':>10} {'pgtheory Mt/s':>13} "
          f"{'numpy CDF Mt/s':>14} {'ratio':>6} {'numpy alias Mt/s':>16} {'ratio':>6} {'pgtheory returns':>16} "
          f"{'numpy alias+ret':>15} {'ratio':>6}")
    for S in args.states:
        t0 = time.perf_counter()
        mdp = sparse_garnet(S, A, k, seed=0)
        t_garnet = time.perf_counter() - t0
        pi = torch.softmax(torch.randn(S, A, generator=torch.Generator().manual_seed(1), dtype=torch.float64), -1)
        t0 = time.perf_counter()
        smp = SparseTrajectorySampler(mdp, pi, termination="truncate", horizon=H)
        t_build = time.perf_counter() - t0
        mb = sum(t.numel() * t.element_size() for t in (*smp.table, smp.next_states)) / 2**20
        gen = torch.Generator().manual_seed(2)
        t_pg = best_of(lambda: smp.sample(n, gen))
        sup, pr, pin, rho = mdp.support.numpy(), mdp.probs.numpy(), pi.numpy(), mdp.initial.numpy()
        rng = np.random.default_rng(3)
        t_np = best_of(lambda: numpy_sparse_sampler(sup, pr, pin, rho, n, H, rng))
        tables = (alias_rows(pin), alias_rows(pr.reshape(S * A, k)))  # built once, not timed
        t_al = best_of(lambda: numpy_sparse_alias_sampler(tables, sup, rho, n, H, rng))
        rew = mdp.rewards.numpy()
        t_alr = best_of(lambda: numpy_sparse_alias_sampler(tables, sup, rho, n, H, rng, rewards=rew))
        t_ret = best_of(lambda: smp.sample_returns(n, gen))
        m = n * H / 1e6
        print(f"{S:>8} {t_garnet:>9.2f} {t_build:>8.2f} {mb:>9.1f} {S * A * S * 8 / 2**30:>10.1f} {m / t_pg:>13.2f} "
              f"{m / t_np:>14.2f} {t_np / t_pg:>6.2f} {m / t_al:>16.2f} {t_al / t_pg:>6.2f} {m / t_ret:>16.2f} "
              f"{m / t_alr:>15.2f} {t_alr / t_ret:>6.2f}")


if __name__ == "__main__":
    from pgtheory._perf import apply_threads, resolve_threads

    apply_threads(resolve_threads(None))  # the package's thread policy (one thread unless PGTHEORY_THREADS says more)
    main()
