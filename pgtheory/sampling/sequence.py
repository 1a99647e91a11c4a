r"""Groups of responses for the toy sequence task, with token log-probabilities under target and behaviour.

Responses are drawn from the exact response distribution π(·|q) over the enumerated set (an alias
table per prompt), which has the same law as token-by-token autoregressive sampling and costs one
uniform per response.
"""
from __future__ import annotations

from typing import NamedTuple

import torch

from .._checks import check_positive_int
from ..exact.groups import enumerate_groups
from ..policies.sequence import TabularSequencePolicy
from .alias import build_alias_table, sample_alias

__all__ = ["SequenceGroups", "sample_sequence_groups", "enumerate_sequence_groups"]


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


def enumerate_sequence_groups(policy: TabularSequencePolicy, theta, group_size: int = 1) -> tuple[SequenceGroups, torch.Tensor]:
    """Every (prompt, ordered group of ``group_size`` responses) as one batch, with its probability.

    Returns ``(groups, prob)``: ``groups`` holds B = M·N^G groups and ``prob [B]`` = w_q Π_i π(y_i | q), summing to 1,
    so that Σ_b prob_b f(group_b) is the exact expectation of any per-group estimate f (θ: one table [M, P, V]).
    The behaviour log-probabilities equal the target's (on-policy). Memory: M·N^G groups (refused beyond 2·10⁶ per
    prompt by :func:`pgtheory.exact.enumerate_groups`).
    """
    if not isinstance(policy, TabularSequencePolicy):
        raise TypeError(f"policy: expected a TabularSequencePolicy, got {type(policy).__name__}")
    theta = policy.check_params(theta)
    if tuple(theta.shape) != policy.param_shape:
        raise ValueError(f"theta: expected one table [M, P, V] = {policy.param_shape}, got {tuple(theta.shape)}")
    G = check_positive_int(group_size, "group_size")
    task = policy.task
    dev = theta.device
    tok_lp = policy.sequence_token_log_probs(theta)  # [M, N, L]
    probs = tok_lp.sum(-1).exp()
    index, weight, prompts = [], [], []
    for q in range(task.n_prompts):
        idx, p = enumerate_groups(probs[q], G)
        index.append(idx)
        weight.append(task.prompt_weights.to(dev)[q] * p)
        prompts.append(torch.full((idx.shape[0],), q, dtype=torch.long, device=dev))
    idx, prompt = torch.cat(index), torch.cat(prompts)
    rows = prompt[:, None].expand_as(idx)
    groups = SequenceGroups(prompt, idx, task.tokens.to(dev)[idx], task.mask.to(dev)[idx], task.lengths.to(dev)[idx],
                            task.rewards.to(dev)[rows, idx], tok_lp[rows, idx], tok_lp[rows, idx])
    return groups, torch.cat(weight)
