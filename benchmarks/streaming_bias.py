"""Streaming Monte Carlo at scale: GPOMDP estimates summarised chunk by chunk, then a bias test.

    python benchmarks/streaming_bias.py [--transitions 1e8] [--device cpu|cuda] [--chunk 200000]

Garnet S = 10, A = 4, γ = 0.9, geometric termination (unbiased for the discounted objective), random
softmax policy. Memory stays bounded by one chunk; the result is a Bonferroni bias test of the mean
gradient estimate against the exact ∇J, with the achieved precision (max standard error).
"""
from __future__ import annotations

import argparse
import time

import torch

from pgtheory._perf import tune_allocator
from pgtheory.exact import evaluate_policy, policy_gradient
from pgtheory.estimators import policy_gradient_estimates
from pgtheory.policies import TabularSoftmax
from pgtheory.problems import garnet
from pgtheory.sampling import TrajectorySampler
from pgtheory.stats import bias_test, stream


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--transitions", type=float, default=1e8)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--chunk", type=int, default=200_000, help="trajectories per chunk")
    args = ap.parse_args(argv)
    tune_allocator()
    dev = args.device
    mdp = garnet(10, 4, 4, discount=0.9, seed=0).to(dev)
    pol = TabularSoftmax(10, 4)
    th = pol.random_params(generator=torch.Generator(dev).manual_seed(0), device=dev)
    pi = pol.probs(th)
    ev = evaluate_policy(mdp, pi)
    smp = TrajectorySampler(mdp, pi)
    n_traj = int(args.transitions * (1 - mdp.discount))  # E[length] = 1/(1−γ)
    count = {"transitions": 0}

    def chunk(n, g):
        tr = smp.sample(n, g)
        count["transitions"] += tr.n_transitions
        return policy_gradient_estimates(tr, pol, th, "gpomdp", baseline=ev.v)

    t = time.perf_counter()
    res = stream(chunk, n_traj, args.chunk, torch.Generator(dev).manual_seed(1), full_covariance=False)
    dt = time.perf_counter() - t
    test = bias_test(res.accumulator, policy_gradient(mdp, pol, th))
    m = count["transitions"]
    print(f"device={dev}: {n_traj:,} trajectories, {m:,} transitions in {dt:.1f} s "
          f"({m / dt:,.0f} transitions/s including estimation and accumulation)")
    print(f"bias test vs exact ∇J: max|z| = {test.statistic:.2f}, p = {test.pvalue:.3f}; "
          f"max standard error {test.standard_error.max():.2e} (‖∇J‖∞ = {abs(test.truth).max():.3f})")


if __name__ == "__main__":
    main()
