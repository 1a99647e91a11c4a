r"""Groups of responses for the toy sequence task, with token log-probabilities under target and behaviour.

Responses are drawn from the exact response distribution π(·|q) over the enumerated set (an alias
table per prompt), which has the same law as token-by-token autoregressive sampling and costs one
uniform per response.
"""
from __future__ import annotations

from typing import NamedTuple

import torch

from .._checks import check_positive_int
from ..policies.sequence import TabularSequencePolicy
from .alias import build_alias_table, sample_alias

__all__ = ["SequenceGroups", "sample_sequence_groups"]


class SequenceGroups(NamedTuple):
    """B groups of G responses (token axes padded to L)."""

    prompts: torch.Tensor  #: int64 [B]
    index: torch.Tensor  #: int64 [B, G], enumeration index of each response
    tokens: torch.Tensor  #: int64 [B, G, L], -1 padding
    mask: torch.Tensor  #: bool [B, G, L]
    lengths: torch.Tensor  #: int64 [B, G]
    rewards: torch.Tensor  #: float64 [B, G]
    token_log_target: torch.Tensor  #: float64 [B, G, L], log π(y_t | q, y_<t) (0 on padding)
    token_log_behaviour: torch.Tensor  #: float64 [B, G, L], log μ(y_t | q, y_<t)


def sample_sequence_groups(policy: TabularSequencePolicy, theta, n_groups: int, group_size: int, generator: torch.Generator,
                           *, behaviour_theta=None, prompts: torch.Tensor | None = None) -> SequenceGroups:
    """Draw ``n_groups`` prompts (∼ prompt weights, unless ``prompts [B]`` is given) and G responses each.

    Responses come from the behaviour policy μ = π_{behaviour_theta} (default: the target π_θ).
    """
    B = check_positive_int(n_groups, "n_groups")
    G = check_positive_int(group_size, "group_size")
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator: expected a torch.Generator, got {type(generator).__name__}")
    task = policy.task
    theta = policy.check_params(theta)
    if theta.ndim != 3:
        raise ValueError(f"theta: expected a single parameter table [M, P, V], got shape {tuple(theta.shape)}")
    beh = theta if behaviour_theta is None else policy.check_params(behaviour_theta, "behaviour_theta")
    dev = theta.device
    tok_lp_target = policy.sequence_token_log_probs(theta)  # [M, N, L]
    tok_lp_beh = tok_lp_target if behaviour_theta is None else policy.sequence_token_log_probs(beh)
    probs_beh = tok_lp_beh.sum(-1).exp()
    if prompts is None:
        wt = build_alias_table(task.prompt_weights.to(dev).unsqueeze(0), validate=False)
        prompts = sample_alias(wt, torch.zeros(B, dtype=torch.long, device=dev), torch.rand(B, generator=generator, dtype=torch.float64, device=dev))
    elif prompts.shape != (B,):
        raise ValueError(f"prompts: expected shape [B] = {(B,)}, got {tuple(prompts.shape)}")
    table = build_alias_table(probs_beh, validate=False)
    rows = prompts.unsqueeze(1).expand(B, G)
    idx = sample_alias(table, rows, torch.rand(B, G, generator=generator, dtype=torch.float64, device=dev))
    return SequenceGroups(
        prompts, idx, task.tokens.to(dev)[idx], task.mask.to(dev)[idx], task.lengths.to(dev)[idx],
        task.rewards.to(dev)[rows, idx], tok_lp_target[rows, idx], tok_lp_beh[rows, idx],
    )
