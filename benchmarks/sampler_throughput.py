"""Benchmark: trajectory-sampling throughput (transitions/s) of pgtheory's alias-table sampler.

    python benchmarks/sampler_throughput.py [--device cpu|cuda] [--horizon 50] [--max-batch 2000000]

For S ∈ {10, 100, 1000}, A = 4, dense Garnet transitions (branching = S), truncated horizon H, random
softmax policy. Side by side in one run:
  (a) a per-trajectory Python loop with numpy's Generator.choice for actions and next states;
  (b) a vectorised numpy inverse-CDF sampler (one comparison per outcome, O(S) per transition);
  (c) numpy searchsorted on one flattened, row-offset CDF (O(log SA·S) per transition, no per-row loop);
  (d) numpy alias tables (Vose, built per row once; O(1) per transition: one uniform, two gathers) — what a
      competent numpy user writes (issue 17: the strong baseline);
  pgtheory: TrajectorySampler (one uniform per transition, alias tables, O(1) per transition), which
  also gathers rewards and log-probabilities.
Targets (issue #3) at S = 100 on 2 CPU cores: ≥ 1000x (a), ≥ 2x (b); on a GPU ≥ 2e9 transitions/s.
Peak memory: the process's maximum resident set (CPU) or torch.cuda.max_memory_allocated (GPU).
"""
from __future__ import annotations

import argparse
import resource
import time

import numpy as np
import torch

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _baselines import alias_draw, alias_rows  # noqa: E402 — the benchmarks' shared numpy baselines

from pgtheory._perf import tune_allocator
from pgtheory.problems import garnet
from pgtheory.sampling import TrajectorySampler


def loop_numpy(P, r, pi, rho, n, H, rng):
    S, A = r.shape
    total = 0.0
    for _ in range(n):
        s = rng.choice(S, p=rho)
        for _ in range(H):
            a = rng.choice(A, p=pi[s])
            total += r[s, a]
            s = rng.choice(S, p=P[s, a])
    return n * H


def vectorised_numpy(P, r, pi, rho, n, H, rng):
    S, A = r.shape
    cdf_pi, cdf_P, cdf_rho = pi.cumsum(-1), P.cumsum(-1), rho.cumsum()
    s = np.minimum((rng.random(n)[:, None] > cdf_rho[None]).sum(1), S - 1)
    rew = np.zeros(n)
    for _ in range(H):
        a = np.minimum((rng.random(n)[:, None] > cdf_pi[s]).sum(1), A - 1)
        rew += r[s, a]
        s = np.minimum((rng.random(n)[:, None] > cdf_P[s, a]).sum(1), S - 1)
    return n * H


def searchsorted_numpy(P, r, pi, rho, n, H, rng):
    """(c): every row's CDF shifted by its row index into one sorted array; one searchsorted per step."""
    S, A = r.shape
    cdf_P = (P.reshape(S * A, S).cumsum(-1) + np.arange(S * A)[:, None]).ravel()
    cdf_pi = (pi.cumsum(-1) + np.arange(S)[:, None]).ravel()
    s = np.minimum(np.searchsorted(rho.cumsum(), rng.random(n)), S - 1)
    rew = np.zeros(n)
    for _ in range(H):
        a = np.minimum(np.searchsorted(cdf_pi, s + rng.random(n)) - s * A, A - 1)
        rew += r[s, a]
        row = s * A + a
        s = np.minimum(np.searchsorted(cdf_P, row + rng.random(n)) - row * S, S - 1)
    return n * H


def alias_numpy(tables, r, rho, n, H, rng, record: bool = False):
    """(d): O(1) per draw — one uniform split into a column and a coin, then prob/alias gathers; accumulates returns.
    (e) with ``record``: also keeps every transition's state, action and reward (what a trajectory estimator needs)."""
    (pp, pa), (tp, ta) = tables
    S, A = r.shape
    s = np.minimum(np.searchsorted(rho.cumsum(), rng.random(n)), S - 1)
    rew, kept = np.zeros(n), []
    for _ in range(H):
        a = alias_draw(pp, pa, s, rng)
        if record:
            kept.append((s, a, r[s, a]))
        else:
            rew += r[s, a]
        s = alias_draw(tp, ta, s * A + a, rng)
    if record:
        [np.concatenate(x) for x in zip(*kept)]
    return n * H


def _pg_rate(fn, n, H, reps, dev) -> float:
    fn(n)  # warm-up
    if dev == "cuda":
        torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(reps):
        out = fn(n)
    if dev == "cuda":
        torch.cuda.synchronize()
    del out
    return reps * n * H / (time.perf_counter() - t)


#: bytes a transition must at least move through memory (the issue's yardstick: state, action, reward, weight as 8 B each)
BYTES_PER_TRANSITION_FLOOR = 32


def copy_bandwidth(dev: str, n_bytes: int = 2**28) -> float:
    """Bytes/s of a large tensor copy on ``dev`` (read + write counted), best of 5: the memory-bandwidth yardstick."""
    x = torch.ones(n_bytes // 8, dtype=torch.float64, device=dev)
    y = torch.empty_like(x)
    best = float("inf")
    for _ in range(5):
        if dev == "cuda":
            torch.cuda.synchronize()
        t = time.perf_counter()
        y.copy_(x)
        if dev == "cuda":
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - t)
    del x, y
    return 2 * n_bytes / best


def rate(fn, *args) -> float:
    t = time.perf_counter()
    m = fn(*args)
    return m / (time.perf_counter() - t)


def peak_mb(device: str) -> float:
    if device == "cuda":
        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv=None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--horizon", type=int, default=50)
    ap.add_argument("--max-batch", type=int, default=None, help="largest batch tried (default 2e5 CPU, 2e7 GPU)")
    args = ap.parse_args(argv)
    tune_allocator()
    dev, H = args.device, args.horizon
    max_batch = args.max_batch or (20_000_000 if dev == "cuda" else 200_000)
    print(f"device={dev}, torch {torch.__version__}, threads={torch.get_num_threads()}, A=4, H={H}, truncated horizon")
    rng = np.random.default_rng(0)
    bw = copy_bandwidth(dev)
    limit = bw / BYTES_PER_TRANSITION_FLOOR
    print(f"memory copy: {bw / 1e9:.1f} GB/s → bandwidth limit {limit / 1e6:,.0f} M transitions/s at "
          f"{BYTES_PER_TRANSITION_FLOOR} B per transition")
    rows = []
    for S in (10, 100, 1000):
        mdp = garnet(S, 4, S, seed=0)
        P, r, rho = mdp.transitions.numpy(), mdp.rewards.numpy(), mdp.initial.numpy()
        pi_t = torch.softmax(torch.randn(S, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(0)), -1)
        pi = pi_t.numpy()
        r_loop = rate(loop_numpy, P, r, pi, rho, 40, H, rng)
        r_vec = rate(vectorised_numpy, P, r, pi, rho, min(20_000, max_batch), H, rng)
        n_np = min(200_000, max_batch)
        r_ss = max(rate(searchsorted_numpy, P, r, pi, rho, n_np, H, rng) for _ in range(2))
        t_alias = time.perf_counter()
        tables = (alias_rows(pi), alias_rows(P.reshape(S * 4, S)))
        t_alias = time.perf_counter() - t_alias
        r_alias = max(rate(alias_numpy, tables, r, rho, n_np, H, rng) for _ in range(2))
        t_build = time.perf_counter()
        smp = TrajectorySampler(mdp.to(dev), pi_t.to(dev), termination="truncate", horizon=H)
        t_build = time.perf_counter() - t_build
        gen = torch.Generator(dev).manual_seed(0)
        r_rec = max(rate(alias_numpy, tables, r, rho, n_np, H, rng, True) for _ in range(2))
        best, best_n, best_ret, best_ret_n = 0.0, 0, 0.0, 0
        n = 10_000
        while n <= max_batch:
            rt = _pg_rate(lambda m: smp.sample(m, gen), n, H, 3, dev)
            if rt > best:
                best, best_n = rt, n
            rt = _pg_rate(lambda m: smp.sample_returns(m, gen), n, H, 3, dev)
            if rt > best_ret:
                best_ret, best_ret_n = rt, n
            n *= 4
        print(f"\nS={S:5d}  (alias tables built in {t_build * 1e3:.0f} ms)")
        print(f"  returns only (no trajectory kept):")
        print(f"  (a) python loop + Generator.choice   {r_loop:14,.0f} transitions/s")
        print(f"  (b) vectorised numpy inverse CDF     {r_vec:14,.0f} transitions/s")
        print(f"  (c) numpy flat searchsorted          {r_ss:14,.0f} transitions/s")
        print(f"  (d) numpy alias tables               {r_alias:14,.0f} transitions/s   (built in {t_alias * 1e3:.0f} ms)")
        print(f"  pgtheory sample_returns (batch {best_ret_n:>9,}) {best_ret:14,.0f} transitions/s   "
              f"vs (a) {best_ret / r_loop:8,.0f}x   vs (b) {best_ret / r_vec:6.1f}x   vs (c) {best_ret / r_ss:5.2f}x   "
              f"vs (d) {best_ret / r_alias:5.2f}x   bandwidth fraction {best_ret / limit:.1%}")
        print(f"  trajectories kept (states, actions, rewards; pgtheory also log-probabilities and step weights):")
        print(f"  (e) numpy alias tables, recorded     {r_rec:14,.0f} transitions/s")
        print(f"  pgtheory sample (batch {best_n:>9,}) {best:14,.0f} transitions/s   vs (e) {best / r_rec:5.2f}x   "
              f"bandwidth fraction {best / limit:.1%}   peak memory {peak_mb(dev):,.0f} MB")
        rows.append({"S": S, "numpy_alias_returns": r_alias, "numpy_alias_recorded": r_rec, "numpy_searchsorted": r_ss,
                     "numpy_inverse_cdf": r_vec, "python_loop": r_loop, "pgtheory_sample_returns": best_ret,
                     "pgtheory_sample": best, "ratio_returns_vs_numpy_alias": best_ret / r_alias,
                     "ratio_sample_vs_numpy_alias_recorded": best / r_rec, "copy_bandwidth_bytes_per_s": bw,
                     "bandwidth_fraction_sample": best / limit, "bandwidth_fraction_sample_returns": best_ret / limit})
    return rows

if __name__ == "__main__":
    from pgtheory._perf import apply_threads, resolve_threads

    apply_threads(resolve_threads(None))  # the package's thread policy (one thread unless PGTHEORY_THREADS says more)
    main()
