"""Benchmark: exact ∇J by the policy-gradient theorem vs autograd through the solve vs central differences.

    python benchmarks/exact_gradient.py [--device cpu|cuda] [--repeats 5]

Part 1: one policy on S = 1000, A = 10 (central differences timed on a subset of coordinates and
extrapolated to all 2·S·A evaluations — the full sweep would take minutes).
Part 2: S = 100, A = 5: full central differences; and a batch of 256 policies in one call against
20 sequential single-policy calls.
Targets (issue #2): PG theorem ≥ 50× faster than finite differences at S = 100; 256 batched policies no
slower than 20 sequential calls.
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch

from pgtheory._perf import tune_allocator
from pgtheory.exact import policy_gradient, policy_gradient_autograd, policy_gradient_finite_difference
from pgtheory.exact.evaluation import _evaluate_unchecked
from pgtheory.policies import TabularSoftmax
from pgtheory.problems import garnet


def timeit(fn, repeats: int, device: str) -> float:
    """Median wall time of ``fn()`` over ``repeats`` runs after one warm-up (seconds)."""
    fn()
    times = []
    for _ in range(repeats):
        if device == "cuda":
            torch.cuda.synchronize()
        t = time.perf_counter()
        fn()
        if device == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def fd_subset_time(mdp, policy, theta, n_coords: int, repeats: int, device: str) -> float:
    """Time of central differences on ``n_coords`` coordinates, extrapolated to all of them."""
    n = policy.n_params
    E = torch.eye(n, dtype=theta.dtype, device=theta.device)[:n_coords] * 1e-5

    def run():
        plus = (theta.reshape(1, n) + E).reshape(n_coords, *policy.param_shape)
        minus = (theta.reshape(1, n) - E).reshape(n_coords, *policy.param_shape)
        _evaluate_unchecked(mdp, policy.probs(plus), mdp.rewards)
        _evaluate_unchecked(mdp, policy.probs(minus), mdp.rewards)

    return timeit(run, repeats, device) * n / n_coords


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args(argv)
    dev, rep = args.device, args.repeats
    tuned = tune_allocator()
    gen = torch.Generator(dev).manual_seed(0)
    print(f"device={dev}, torch {torch.__version__}, threads={torch.get_num_threads()}, float64; median of {rep} runs; "
          f"allocator tuned: {tuned}")

    mdp = garnet(1000, 10, 5, seed=0).to(dev)
    pol = TabularSoftmax(1000, 10)
    th = pol.random_params(generator=gen, device=dev)
    t_pg = timeit(lambda: policy_gradient(mdp, pol, th), rep, dev)
    t_ad = timeit(lambda: policy_gradient_autograd(mdp, pol, th), rep, dev)
    t_fd = fd_subset_time(mdp, pol, th, 8, max(1, rep // 2), dev)
    print("\n[1] one policy, S=1000, A=10 (10,000 parameters)")
    print(f"  PG theorem            {t_pg * 1e3:10.2f} ms")
    print(f"  autograd through solve{t_ad * 1e3:10.2f} ms   ratio autograd/PG = {t_ad / t_pg:8.1f}x")
    print(f"  central FD (extrap.)  {t_fd * 1e3:10.0f} ms   ratio FD/PG       = {t_fd / t_pg:8.0f}x")

    mdp = garnet(100, 5, 5, seed=1).to(dev)
    pol = TabularSoftmax(100, 5)
    th = pol.random_params(generator=gen, device=dev)
    t_pg = timeit(lambda: policy_gradient(mdp, pol, th), rep, dev)
    t_ad = timeit(lambda: policy_gradient_autograd(mdp, pol, th), rep, dev)
    t_fd = timeit(lambda: policy_gradient_finite_difference(mdp, pol, th), max(1, rep // 2), dev)
    print("\n[2] one policy, S=100, A=5 (500 parameters)")
    print(f"  PG theorem            {t_pg * 1e3:10.3f} ms")
    print(f"  autograd through solve{t_ad * 1e3:10.3f} ms   ratio autograd/PG = {t_ad / t_pg:8.1f}x")
    print(f"  central FD (full)     {t_fd * 1e3:10.1f} ms   ratio FD/PG       = {t_fd / t_pg:8.0f}x   (target >= 50x: "
          f"{'met' if t_fd / t_pg >= 50 else 'NOT met'})")

    ths = pol.random_params(256, generator=gen, device=dev)
    t_batch = timeit(lambda: policy_gradient(mdp, pol, ths), rep, dev)
    t_seq20 = timeit(lambda: [policy_gradient(mdp, pol, ths[i]) for i in range(20)], rep, dev)
    print("\n[3] S=100, A=5: 256 policies in one call vs 20 sequential single calls")
    print(f"  batched (256)         {t_batch * 1e3:10.2f} ms   ({t_batch / 256 * 1e6:.1f} µs/policy)")
    print(f"  sequential (20)       {t_seq20 * 1e3:10.2f} ms   ({t_seq20 / 20 * 1e6:.1f} µs/policy)")
    print(f"  ratio seq20/batch256 = {t_seq20 / t_batch:.2f}   (target >= 1: {'met' if t_seq20 >= t_batch else 'NOT met'}); "
          f"per-policy speed-up {t_seq20 / 20 / (t_batch / 256):.1f}x")


if __name__ == "__main__":
    main()
