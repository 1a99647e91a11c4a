r"""HAPO's Token Level Group Average advantage (seed L203): group statistics over tokens, not responses.

For one group of G responses with outcome rewards R_i and lengths L_i (tokens), every token of response i carries
R_i; the group mean and (population) standard deviation are taken over all Σ_j L_j tokens of the group:

.. math:: \mu_{tok} = \frac{\sum_j L_j R_j}{\sum_j L_j},\qquad
          \sigma_{tok}^2 = \frac{\sum_j L_j (R_j - \mu_{tok})^2}{\sum_j L_j},\qquad
          A_i = \frac{R_i - \mu_{tok}}{\sigma_{tok} + \varepsilon},

the same A_i on every token of response i. Guard of the authors' code: if any |A_i| of the group reaches
``fallback_threshold`` (5), the whole group uses the sequence-level GRPO advantage instead (verl's
``compute_grpo_outcome_advantage``: Bessel std, ε = 1e-6, a singleton group gets its raw reward). μ_tok is OPO's
length-weighted baseline (``group_advantages(..., "opo")``), so without the std and the guard A_i = OPO's advantage.
With equal lengths the statistics are the sequence-level mean and population std.

Quirk of the authors' code, not reproduced: their guard tests |A| ≥ 5 on the whole padded token matrix, where padded
entries hold (0 − μ_tok)/(σ_tok + ε); so a group with μ_tok/σ_tok ≥ 5 (e.g. binary rewards with ≥ 25/26 of its tokens
correct) and any padding falls back to GRPO too. Here the guard reads the real tokens only (the padding width is a
property of the batch, not of the group).

Source: ``compute_hapo_outcome_advantage`` in github.com/starriver030515/HAPO (``verl/trainer/ppo/core_algos.py`` and
``recipe/train.md``, read on 2026-11-30; the recipes pair it with ``loss_agg_mode="token-mean"``). The paper body was
not read (only its abstract): the definition is the authors' code.
"""
from __future__ import annotations

from typing import Any

import torch

from .._checks import as_tensor, check_finite_result, check_real
from .group import grpo_advantage

__all__ = ["token_level_group_average_advantage"]


def token_level_group_average_advantage(rewards: Any, lengths: Any, *, eps: float = 1e-6, norm_by_std: bool = True,
                                        fallback_threshold: float | None = 5.0) -> torch.Tensor:
    """HAPO's token-level group-average advantage ``[..., G]`` for ``rewards [..., G]`` and ``lengths [..., G]`` (≥ 1).

    ``norm_by_std=False`` gives R_i − μ_tok (verl's ``norm_adv_by_std_in_grpo=False``); ``fallback_threshold=None``
    drops the authors' guard (|A| ≥ threshold anywhere in the group → the GRPO advantage for that group).
    """
    r = as_tensor(rewards, "rewards")
    n = as_tensor(lengths, "lengths")
    if r.ndim < 1 or r.shape[-1] < 1:
        raise ValueError(f"rewards: expected shape [..., G] with G >= 1, got {tuple(r.shape)}")
    if tuple(n.shape) != tuple(r.shape):
        raise ValueError(f"lengths: expected shape {tuple(r.shape)} (as rewards), got {tuple(n.shape)}")
    if bool((n < 1).any()) or bool((n != n.round()).any()):
        raise ValueError("lengths: every response needs a whole number of tokens >= 1")
    eps = check_real(eps, "eps", low=0.0)
    if not isinstance(norm_by_std, bool):
        raise TypeError(f"norm_by_std: expected a bool, got {type(norm_by_std).__name__}")
    total = n.sum(-1, keepdim=True)
    mu = (n * r).sum(-1, keepdim=True) / total
    centred = r - mu
    if norm_by_std:
        sd = ((n * centred ** 2).sum(-1, keepdim=True) / total).sqrt()
        denom = sd + eps
        # a group whose rewards are all equal gets 0 (not 0/0 when ε = 0), as the package's GRPO convention
        adv = torch.where(denom > 0, centred / torch.where(denom > 0, denom, torch.ones_like(denom)), torch.zeros_like(centred))
    else:
        adv = centred
    if fallback_threshold is not None:
        thr = check_real(fallback_threshold, "fallback_threshold", low=0.0, low_open=True)
        use_grpo = (adv.abs() >= thr).any(-1, keepdim=True)
        if bool(use_grpo.any()):
            grpo = grpo_advantage(r, eps=eps, std="bessel", singleton="reward") if norm_by_std else r - r.mean(-1, keepdim=True)
            adv = torch.where(use_grpo, grpo, adv)
    return check_finite_result(adv, "rewards, lengths, eps", "token-level group-average advantage")
