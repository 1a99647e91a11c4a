"""Benchmark: LSTD(λ) for many feature sets in one call against a Python loop of numpy solves (issue 13, item 6).

    python benchmarks/lstd_batched.py [--device cpu|cuda] [--sets 1000] [--dim 16] [--episodes 20000]
                                      [--loop-sets 50] [--lams 0 0.5] [--stream-transitions 1e7]

Garnet S = 50, A = 4, branching 5, γ = 0.9, geometric termination, a random softmax π; N episodes (≈ 10 N
transitions), B Gaussian feature sets of dimension d (S·A = 200 > d, so the projection matters; every pair is visited
≈ 10 N / 200 times, so each A is well conditioned). Expected-SARSA target, on-policy.

* batched: one ``lstd_statistics_batched`` call (the feature-free tabular counts built once, then contracted with all
  B feature sets by batched matmuls) and one ``lstd_solve`` of the [B, d, d] systems;
* loop: for each feature set, numpy builds A and b from the transitions — gather φ_t and Σ_a' π(a'|s')φ(s', a'),
  for λ > 0 a backward trace scan over the step-major layout, then two [M, d] matmuls — and calls
  ``np.linalg.solve`` (what a user writes without the batched statistics). The feature-independent index arrays are
  prepared once, outside the timing. Timed on ``--loop-sets`` sets and reported per set.

A second baseline separates the algorithm from the batching: a numpy loop over the B sets that reuses the shared
counts (A = ΦᵀFΦ − ΦᵀGΨ per set; the counts themselves are not timed). All must agree to 1e-8 (max relative
difference of the solutions). Target on 2 CPU cores at
B = 1000, d = 16: ≥ 20× feature sets per second. With ``--stream-transitions`` > 0 a last line streams that many
transitions (``lstd_stream``, chunks of 100 000 episodes, λ = 0, all B feature sets) in bounded memory.
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from pgtheory._perf import tune_allocator
from pgtheory.estimators.linear_td import lstd_solve, lstd_statistics_batched, lstd_stream, td_counts, td_transitions
from pgtheory.problems import garnet
from pgtheory.sampling import TrajectorySampler


def _numpy_inputs(traj, A: int) -> dict:
    """Feature-independent arrays for the numpy loop: indices, next states, rewards, step slices."""
    nxt = traj.next_index().cpu().numpy()
    st = traj.states.cpu().numpy()
    return {"idx": st * A + traj.actions.cpu().numpy(), "next_state": np.where(nxt >= 0, st[np.maximum(nxt, 0)], 0),
            "has_next": (nxt >= 0).astype(np.float64), "nxt": np.where(nxt >= 0, nxt, len(nxt)),
            "r": traj.rewards.cpu().numpy(), "offsets": traj.step_offsets}


def _numpy_lstd(phi: np.ndarray, pi: np.ndarray, lam: float, z: dict) -> np.ndarray:
    """One feature set [S, A, d]: A = Σ_t z_t(φ_t − φ̄_{t+1})ᵀ, b = Σ_t z_t r_t (geometric: ω = β = 1), solved."""
    S, A, d = phi.shape
    flat = phi.reshape(S * A, d)
    psi = np.einsum("sa,sad->sd", pi, phi)
    x = flat[z["idx"]]
    u = np.concatenate([x - z["has_next"][:, None] * psi[z["next_state"]], z["r"][:, None]], 1)  # [M, d + 1]
    if lam > 0:  # backward view: g_k = u_k + λ g_{k+1} within the episode
        g = np.zeros((u.shape[0] + 1, d + 1))
        off = z["offsets"]
        for t in range(len(off) - 2, -1, -1):
            sl = slice(off[t], off[t + 1])
            g[sl] = u[sl] + lam * g[z["nxt"][sl]]
        u = g[:-1]
    Ab = x.T @ u
    return np.linalg.solve(Ab[:, :d], Ab[:, d])


def _numpy_from_counts(phi: np.ndarray, pi: np.ndarray, F: np.ndarray, G: np.ndarray, r: np.ndarray) -> np.ndarray:
    """One feature set from the shared tabular counts (:func:`td_counts`): A = ΦᵀFΦ − ΦᵀGΨ, b = Φᵀr, solved."""
    S, A, d = phi.shape
    flat = phi.reshape(S * A, d)
    psi = np.einsum("sa,sad->sd", pi, phi)
    return np.linalg.solve(flat.T @ F @ flat - (flat.T @ G) @ psi, flat.T @ r)


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--sets", type=int, default=1000)
    ap.add_argument("--dim", type=int, default=16)
    ap.add_argument("--episodes", type=int, default=20000)
    ap.add_argument("--loop-sets", type=int, default=50)
    ap.add_argument("--lams", type=float, nargs="+", default=[0.0, 0.5])
    ap.add_argument("--stream-transitions", type=float, default=1e7)
    args = ap.parse_args(argv)
    tune_allocator()
    dev = args.device
    S, A, B, d = 50, 4, args.sets, args.dim
    mdp = garnet(S, A, 5, discount=0.9, seed=0).to(dev)
    g = torch.Generator(dev).manual_seed(0)
    pi = torch.softmax(torch.randn(S, A, generator=g, dtype=torch.float64, device=dev), -1)
    feats = torch.randn(B, S, A, d, generator=g, dtype=torch.float64, device=dev)
    sampler = TrajectorySampler(mdp, pi)
    traj = sampler.sample(args.episodes, torch.Generator(dev).manual_seed(1))
    z = _numpy_inputs(traj, A)
    feats_np, pi_np = feats.cpu().numpy(), pi.cpu().numpy()
    nloop = min(args.loop_sets, B)
    print(f"device {dev}, torch threads {torch.get_num_threads()}, B = {B}, d = {d}, S·A = {S * A}, "
          f"{traj.n:,} episodes, {traj.n_transitions:,} transitions")
    out = {}
    for lam in args.lams:
        stats = lstd_statistics_batched(traj, feats[:2], pi, lam)  # warm-up
        t0 = time.perf_counter()
        stats = lstd_statistics_batched(traj, feats, pi, lam)
        w = lstd_solve(stats.A, stats.b)
        if dev == "cuda":
            torch.cuda.synchronize()
        t_batch = time.perf_counter() - t0
        t0 = time.perf_counter()
        w_np = np.stack([_numpy_lstd(feats_np[i], pi_np, lam, z) for i in range(nloop)])
        t_loop = (time.perf_counter() - t0) / nloop
        counts = td_counts(td_transitions(traj, pi, lam))  # the shared statistics, for the second baseline
        F, G, r = (x[0].cpu().numpy() for x in counts[:3])
        t0 = time.perf_counter()
        w_c = np.stack([_numpy_from_counts(feats_np[i], pi_np, F, G, r) for i in range(B)])
        t_counts = (time.perf_counter() - t0) / B
        w_all = w.cpu().numpy()
        err = float(np.max(np.abs(w_all[:nloop] - w_np)) / np.max(np.abs(w_np)))
        err_c = float(np.max(np.abs(w_all - w_c)) / np.max(np.abs(w_c)))
        batched, looped, looped_c = B / t_batch, 1.0 / t_loop, 1.0 / t_counts
        ok = max(err, err_c) <= 1e-8
        out[f"lambda={lam:g}"] = {"batched_sets_per_s": batched, "loop_sets_per_s": looped,
                                  "speedup": batched / looped, "counts_loop_sets_per_s": looped_c,
                                  "speedup_vs_counts_loop": batched / looped_c, "max_rel_diff": max(err, err_c),
                                  "agree": ok}
        print(f"lambda={lam:<4g} batched {batched:8.0f} sets/s ({t_batch:5.3f} s for {B})   loop {looped:6.1f} sets/s"
              f"   speed-up {batched / looped:6.1f}x   [numpy loop over shared counts {looped_c:7.0f} sets/s: "
              f"{batched / looped_c:4.1f}x]   max rel diff {max(err, err_c):.1e} ({'ok' if ok else 'FAIL'} at 1e-8)")
    if args.stream_transitions > 0:
        n_ep = int(round(args.stream_transitions * (1 - mdp.discount)))
        t0 = time.perf_counter()
        acc = lstd_stream(sampler, n_ep, torch.Generator(dev).manual_seed(2), feats, chunk_size=100_000)
        w = acc.solve()
        dt = time.perf_counter() - t0
        out["stream"] = {"transitions": acc.n_transitions, "seconds": dt}
        print(f"stream     {acc.n_transitions:,} transitions of {n_ep:,} episodes in {acc.n_chunks} chunks, "
              f"{B} feature sets: {dt:.1f} s ({acc.n_transitions / dt:,.0f} transitions/s, sampling included)")
    return out


if __name__ == "__main__":
    main()
