r"""Independent runs of sampled REINFORCE on softmax bandit logits (batched over runs and starting policies).

Each run takes ``steps`` updates z ← z + (η/B) Σ_b (r_{a_b} − b)(e_{a_b} − π), a_b ∼ π = softmax(z) i.i.d. — the
process whose one-step law :func:`pgtheory.exact.sampled_step.expected_reinforce_step_change` gives exactly.
"""
from __future__ import annotations

from typing import Any

import torch

from .._checks import as_tensor, check_finite, check_finite_result, check_positive_int, check_real

__all__ = ["bandit_reinforce_runs"]


def bandit_reinforce_runs(logits: Any, rewards: Any, step: float, batch: int, steps: int, runs: int,
                          generator: torch.Generator, *, baseline: float = 0.0, record_every: int = 1) -> torch.Tensor:
    """Logits along ``runs`` independent runs from each start ``logits [P, K]``: ``[n_records, runs, P, K]``.

    ``rewards [K]`` per arm (deterministic). Records the logits at t = 0, record_every, 2·record_every, … and the
    last step, so ``n_records = steps // record_every + 1`` (+1 when ``record_every`` does not divide ``steps``).
    """
    z0 = check_finite(as_tensor(logits, "logits"), "logits")
    if z0.ndim != 2 or z0.shape[-1] < 2:
        raise ValueError(f"logits: expected [P, K] with K >= 2, got {tuple(z0.shape)}")
    P, K = z0.shape
    r = check_finite(as_tensor(rewards, "rewards", device=z0.device), "rewards")
    if tuple(r.shape) != (K,):
        raise ValueError(f"rewards: expected [K] = [{K}], got {tuple(r.shape)}")
    eta = check_real(step, "step", low=0.0)
    B = check_positive_int(batch, "batch")
    T = check_positive_int(steps, "steps")
    R = check_positive_int(runs, "runs")
    every = check_positive_int(record_every, "record_every")
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator: expected a torch.Generator, got {type(generator).__name__}")
    b = check_real(baseline, "baseline")
    z = z0.expand(R, P, K).clone()
    out = [z.clone()]
    adv = r - b
    for t in range(1, T + 1):
        pi = torch.softmax(z, -1)
        a = torch.multinomial(pi.reshape(-1, K), B, replacement=True, generator=generator)  # [R·P, B]
        counts = torch.zeros(R * P, K, dtype=torch.float64, device=z.device).scatter_add_(
            1, a, torch.ones_like(a, dtype=torch.float64)).reshape(R, P, K)
        w = counts * adv / B
        z = z + eta * (w - w.sum(-1, keepdim=True) * pi)
        if t % every == 0 or t == T:
            out.append(z.clone())
    return check_finite_result(torch.stack(out), "logits, rewards, step", "REINFORCE run logits")
