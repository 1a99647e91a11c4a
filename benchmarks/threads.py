"""Benchmark: the thread policy (issue 17, item 1) — torch intra-op threads 1 against one per core.

    python benchmarks/threads.py [--device cpu] [--rounds 7]

The package's default is one torch thread per process (``pgtheory._perf.resolve_threads``). This measures why, on
this machine and its current load: for each workload, interleaved rounds alternate the thread count (so drifting
load hits both), and the table reports the median time per call and the ratio (many threads / one thread; > 1 means
one thread is faster). Workloads: policy evaluation and value iteration at S = 50 (small solves and matrix–vector
products, the common case of the claims), a batch of 256 exact gradients at S = 100 (large batched solves), and 4096
trajectories of the sampler at S = 100. Also prints the load average, since the stall appears under load.
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

import torch

from pgtheory._perf import tune_allocator
from pgtheory.exact import evaluate_policy, policy_gradient, value_iteration
from pgtheory.policies import TabularSoftmax
from pgtheory.problems import garnet
from pgtheory.sampling import TrajectorySampler


def _workloads():
    small = garnet(n_states=50, n_actions=4, branching=5, discount=0.9, seed=0)
    pi_small = TabularSoftmax(50, 4).probs(TabularSoftmax(50, 4).random_params(generator=torch.Generator().manual_seed(0)))
    big = garnet(n_states=100, n_actions=5, branching=5, discount=0.9, seed=1)
    pol = TabularSoftmax(100, 5)
    theta = pol.random_params(256, generator=torch.Generator().manual_seed(1))
    sampler = TrajectorySampler(big, pol.probs(theta[0]), termination="truncate", horizon=20)
    gen = torch.Generator().manual_seed(2)
    return {
        "evaluate_policy S=50": lambda: evaluate_policy(small, pi_small),
        "value_iteration S=50": lambda: value_iteration(small),
        "256 exact gradients S=100": lambda: policy_gradient(big, pol, theta),
        "sampler 4096 × 20 steps S=100": lambda: sampler.sample(4096, gen),
    }


def _time(fn, threads: int) -> float:
    torch.set_num_threads(threads)
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--rounds", type=int, default=7)
    args = ap.parse_args(argv)
    if args.device != "cpu":
        print("threads: intra-op threads concern the CPU; nothing to measure on", args.device)
        return
    tune_allocator()
    many = os.cpu_count() or 1
    before = torch.get_num_threads()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"torch {torch.__version__}, {many} CPUs, load average {load:.2f}; median of {args.rounds} interleaved rounds")
    print(f"{'workload':32s} {'1 thread':>12s} {f'{many} threads':>12s} {'ratio':>7s}")
    try:
        for name, fn in _workloads().items():
            fn()  # warm-up
            one, all_ = [], []
            for _ in range(args.rounds):
                one.append(_time(fn, 1))
                all_.append(_time(fn, many))
            a, b = statistics.median(one), statistics.median(all_)
            print(f"{name:32s} {a * 1e3:10.2f}ms {b * 1e3:10.2f}ms {b / a:7.2f}")
    finally:
        torch.set_num_threads(before)


if __name__ == "__main__":
    main()
