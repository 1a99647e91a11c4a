"""Batched draws from bandits and the multi-prompt binary-reward bandit."""
from __future__ import annotations

from typing import NamedTuple

import torch

from .._checks import as_tensor, check_positive_int, check_probabilities
from ..problems.bandits import Bandit, MultiPromptBandit
from .alias import build_alias_table, sample_alias

__all__ = ["BanditDraws", "sample_bandit", "sample_multiprompt_groups"]


class BanditDraws(NamedTuple):
    actions: torch.Tensor  #: int64 [N] (or [B, G] for groups)
    rewards: torch.Tensor  #: float64, same shape
    prompts: torch.Tensor | None = None  #: int64 [B] for multi-prompt groups


def _gen(generator, device) -> torch.Generator:
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator: expected a torch.Generator, got {type(generator).__name__}")
    if generator.device.type != torch.device(device).type:
        raise ValueError(f"generator: on {generator.device} but the problem is on {device}")
    return generator


def sample_bandit(bandit: Bandit, pi, n: int, generator: torch.Generator) -> BanditDraws:
    """N i.i.d. (action, reward) pairs with actions ~ ``pi [K]``."""
    n = check_positive_int(n, "n")
    dev = bandit.device
    _gen(generator, dev)
    pi = check_probabilities(as_tensor(pi, "pi", device=dev), "pi")
    if tuple(pi.shape) != (bandit.n_arms,):
        raise ValueError(f"pi: expected shape [K] = {(bandit.n_arms,)}, got {tuple(pi.shape)}")
    table = build_alias_table(pi.unsqueeze(0), validate=False)
    a = sample_alias(table, torch.zeros(n, dtype=torch.long, device=dev), torch.rand(n, generator=generator, dtype=torch.float64, device=dev))
    mean = bandit.means[a]
    if bandit.kind == "bernoulli":
        r = (torch.rand(n, generator=generator, dtype=torch.float64, device=dev) < mean).to(torch.float64)
    else:
        r = mean + bandit.std[a] * torch.randn(n, generator=generator, dtype=torch.float64, device=dev)
    return BanditDraws(a, r)


def sample_multiprompt_groups(bandit: MultiPromptBandit, pi, n_groups: int, group_size: int, generator: torch.Generator,
                              *, prompts: torch.Tensor | None = None) -> BanditDraws:
    """``n_groups`` groups of ``group_size`` answers: a prompt q ~ w per group, answers ~ ``pi [M, K]``.

    Returns actions and 0/1 rewards of shape [B, G] and the prompts [B].
    """
    B = check_positive_int(n_groups, "n_groups")
    G = check_positive_int(group_size, "group_size")
    dev = bandit.device
    _gen(generator, dev)
    pi = check_probabilities(as_tensor(pi, "pi", device=dev), "pi")
    if tuple(pi.shape) != (bandit.n_prompts, bandit.n_answers):
        raise ValueError(f"pi: expected shape [M, K] = {(bandit.n_prompts, bandit.n_answers)}, got {tuple(pi.shape)}")
    if prompts is None:
        wt = build_alias_table(bandit.prompt_weights.unsqueeze(0), validate=False)
        prompts = sample_alias(wt, torch.zeros(B, dtype=torch.long, device=dev), torch.rand(B, generator=generator, dtype=torch.float64, device=dev))
    table = build_alias_table(pi, validate=False)
    rows = prompts.unsqueeze(1).expand(B, G)
    a = sample_alias(table, rows, torch.rand(B, G, generator=generator, dtype=torch.float64, device=dev))
    return BanditDraws(a, bandit.rewards[rows, a], prompts)
