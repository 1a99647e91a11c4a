r"""Autoregressive policies for :class:`~pgtheory.problems.SequenceTask`.

The tabular policy has one logit vector per (prompt, prefix): θ of shape [M, n_prefixes, V], and

.. math:: \log\pi_\theta(y\mid q) = \sum_{t<|y|} \log\operatorname{softmax}(\theta[q, \text{prefix}(y_{<t})])[y_t].
"""
from __future__ import annotations

from typing import Any

import torch

from .._checks import DTYPE, as_tensor, check_finite
from ..problems.sequence import SequenceTask

__all__ = ["TabularSequencePolicy"]


class TabularSequencePolicy:
    """Per-prefix softmax policy over the vocabulary of ``task``; parameters ``[..., M, n_prefixes, V]``."""

    def __init__(self, task: SequenceTask):
        if not isinstance(task, SequenceTask):
            raise TypeError(f"task: expected a SequenceTask, got {type(task).__name__}")
        self.task = task
        self.param_shape = (task.n_prompts, task.n_prefixes, task.vocab_size)

    def check_params(self, theta: Any, name: str = "theta") -> torch.Tensor:
        t = as_tensor(theta, name)
        if t.ndim < 3 or tuple(t.shape[-3:]) != self.param_shape:
            raise ValueError(f"{name}: expected shape [..., {', '.join(map(str, self.param_shape))}], got {tuple(t.shape)}")
        return check_finite(t, name)

    def token_log_probs(self, theta: torch.Tensor) -> torch.Tensor:
        """log π(v | q, prefix) for every prompt, prefix and token: ``[..., M, n_prefixes, V]``."""
        return torch.log_softmax(theta, dim=-1)

    def sequence_token_log_probs(self, theta: torch.Tensor) -> torch.Tensor:
        """log π(y_t | q, y_<t) of every token of every enumerated response: ``[..., M, N, L]`` (0 on padding)."""
        task = self.task
        lp = self.token_log_probs(theta)  # [..., M, P, V]
        dev = lp.device
        pre = task.prefix_ids.to(dev)  # [N, L]
        tok = task.tokens.clamp_min(0).to(dev)  # [N, L]
        flat = (pre * task.vocab_size + tok).reshape(-1)  # index into the flattened (prefix, token) table
        out = lp.flatten(-2)[..., flat].unflatten(-1, pre.shape)  # [..., M, N, L]
        return out * task.mask.to(dev)

    def sequence_log_probs(self, theta: torch.Tensor) -> torch.Tensor:
        """log π(y | q) for every enumerated response: ``[..., M, N]``."""
        return self.sequence_token_log_probs(theta).sum(-1)

    def random_params(self, *batch: int, generator: torch.Generator | None = None, scale: float = 1.0,
                      device: torch.device | str = "cpu") -> torch.Tensor:
        return scale * torch.randn(*batch, *self.param_shape, generator=generator, dtype=DTYPE, device=device)

    def __repr__(self) -> str:
        return f"TabularSequencePolicy({self.task!r})"
