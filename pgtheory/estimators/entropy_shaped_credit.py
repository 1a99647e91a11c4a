r"""GTPO's entropy-weighted token rewards (Dynamic Entropy Weighting) and their group-normalised token advantages.

Source: Tan et al., "GTPO and GRPO-S: Token and Sequence-Level Reward Shaping with Policy Entropy" (arXiv 2508.04349).
The weight ratio H_{i,t}/Σ_k H_{k,t} (k over the group's responses at position t) is in the paper's v6 abstract; the
full form below (Eq. 3, 5, 6 of the paper) was read in a third-party reimplementation that cites those equations
(github.com/teilomillet/textpolicy, ``textpolicy/algorithms/grpo.py``, ``compute_gtpo_shaped_rewards``), not in the
paper body, which could not be read here. With O⁺ the correct responses of the group and O⁻ the others, at position t:

.. math:: \tilde r^+_{i,t} = \alpha_1 r_i + \alpha_2\,\frac{H_{i,t}}{\sum_{k\in O^+_t} H_{k,t}}\,d_t,\qquad
          \tilde r^-_{j,t} = -\alpha_1 - \alpha_2\,\frac{1/H_{j,t}}{\sum_{k\in O^-_t} 1/H_{k,t}}\,h_t,

d_t = |O⁺_t|, h_t = |O⁻_t| the responses of each set that still have a token at position t. Advantages: the shaped
rewards standardised over the group's real tokens, either jointly (``"joint"``) or within O⁺ and O⁻ separately
(``"split"``, the reimplementation's reading of Eq. 6). Shapes: rewards ``[..., G]``, entropies and mask ``[..., G, L]``.
"""
from __future__ import annotations

import torch

from .._checks import check_finite_result, check_mask

__all__ = ["gtpo_shaped_token_rewards", "gtpo_token_advantages", "GTPO_NORMALISATIONS"]

GTPO_NORMALISATIONS = ("joint", "split")


def _inputs(rewards, entropies, mask):
    for name, x in (("rewards", rewards), ("entropies", entropies)):
        if not isinstance(x, torch.Tensor) or not x.is_floating_point():
            raise TypeError(f"{name}: expected a floating tensor, got {type(x).__name__}")
    mask = check_mask(mask)
    if entropies.shape != mask.shape or rewards.shape != entropies.shape[:-1]:
        raise ValueError(f"entropies: shapes must be rewards [..., G], entropies and mask [..., G, L]; got "
                         f"{tuple(rewards.shape)}, {tuple(entropies.shape)}, {tuple(mask.shape)}")
    if bool((entropies[mask] < 0).any()):
        raise ValueError("entropies: must be non-negative on real tokens")
    return mask


def gtpo_shaped_token_rewards(rewards: torch.Tensor, entropies: torch.Tensor, mask: torch.Tensor, *, alpha1: float = 1.0,
                              alpha2: float = 0.1, threshold: float = 0.5, eps: float = 1e-8) -> torch.Tensor:
    """r̃_{i,t} of every token ``[..., G, L]`` (0 on padding); responses with reward > ``threshold`` form O⁺."""
    mask = _inputs(rewards, entropies, mask)
    if not (alpha1 >= 0 and alpha2 >= 0):
        raise ValueError(f"alpha1: the weights must be non-negative, got alpha1={alpha1}, alpha2={alpha2}")
    m = mask.to(entropies.dtype)
    pos = (rewards > threshold).to(entropies.dtype)[..., None] * m  # [..., G, L]
    neg = m - pos
    Hp = entropies * pos
    w_pos = Hp / Hp.sum(-2, keepdim=True).clamp_min(eps)
    inv = neg / (entropies + eps)
    w_neg = inv / inv.sum(-2, keepdim=True).clamp_min(eps)
    d = pos.sum(-2, keepdim=True)
    h = neg.sum(-2, keepdim=True)
    shaped = pos * (alpha1 * rewards[..., None] + alpha2 * w_pos * d) - neg * (alpha1 + alpha2 * w_neg * h)
    return check_finite_result(shaped, "entropies", "shaped token reward")


def _standardise(x: torch.Tensor, sel: torch.Tensor, eps: float) -> torch.Tensor:
    n = sel.sum((-2, -1), keepdim=True)
    mean = (x * sel).sum((-2, -1), keepdim=True) / n.clamp_min(1)
    dev = (x - mean) * sel
    std = ((dev**2).sum((-2, -1), keepdim=True) / n.clamp_min(1)).sqrt()
    # values equal up to float64 round-off (e.g. H/ΣH·d = 1 ± 1 ulp for equal entropies) count as constant: credit 0
    return torch.where(std > 1e-12 * (mean.abs() + 1), dev / (std + eps), torch.zeros_like(dev))


def gtpo_token_advantages(rewards: torch.Tensor, entropies: torch.Tensor, mask: torch.Tensor, *, normalisation: str = "joint",
                          alpha1: float = 1.0, alpha2: float = 0.1, threshold: float = 0.5, eps: float = 1e-6) -> torch.Tensor:
    """GTPO token advantages ``[..., G, L]``: shaped rewards standardised (population std) over the group's real tokens.

    ``"joint"``: one mean and std over all tokens of the group; ``"split"``: separately over the tokens of O⁺ and of
    O⁻. A set whose shaped rewards are all equal (to 1e-12 relative, i.e. up to round-off) gets advantage 0 (as GRPO's
    zero-std convention).
    """
    if normalisation not in GTPO_NORMALISATIONS:
        raise ValueError(f"normalisation: expected one of {GTPO_NORMALISATIONS}, got {normalisation!r}")
    shaped = gtpo_shaped_token_rewards(rewards, entropies, mask, alpha1=alpha1, alpha2=alpha2, threshold=threshold)
    m = mask.to(shaped.dtype)
    if normalisation == "joint":
        return _standardise(shaped, m, eps)
    pos = (rewards > threshold).to(shaped.dtype)[..., None] * m
    return _standardise(shaped, pos, eps) + _standardise(shaped, m - pos, eps)
