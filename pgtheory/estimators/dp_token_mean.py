r"""Token-mean loss across K data-parallel shards: per-rank, dp-balanced and global reductions.

Shard k holds a loss matrix ℓ_k ``[n, T]`` with mask m_k, token count N_k = Σ m_k and masked sum S_k = Σ ℓ_k m_k. DDP
(and FSDP) *average* the K ranks' gradients, so a rank loss λ_k yields the update of (1/K) Σ_k λ_k:

* ``per_rank``: λ_k = S_k / N_k (each rank's own token-mean, e.g. verl's default ``token-mean`` on a micro-batch):
  (1/K) Σ_k S_k / N_k — a mean of shard means, which weights a token by 1/(K N_k).
* ``dp_balanced``: λ_k = S_k / N̄, N̄ = (1/K) Σ_j N_j all-reduced (nvidia-cosmos/cosmos-rl#204's dp-balanced
  token-mean, as #342 describes it: "loss sum among local-dp token number divided by cross-dp mean token number"):
  (1/K) Σ_k S_k / N̄ = Σ_k S_k / Σ_k N_k — exactly the global token mean, provided S_k and N_k count the same tokens.
* ``global``: Σ_k S_k / Σ_k N_k, the token-mean of the whole batch on one device.

Shapes: ``loss [K, n, T]``, ``mask [K, n, T]`` (every shard needs a token); each function returns the scalar of
(1/K) Σ_k λ_k. The cosmos-rl code itself was not read; the reduction follows the two PR descriptions.
"""
from __future__ import annotations

import torch

from .._checks import as_tensor, check_mask

__all__ = ["DP_REDUCTIONS", "dp_token_mean_loss"]

DP_REDUCTIONS = ("per_rank", "dp_balanced", "global")


def dp_token_mean_loss(loss, mask, reduction: str = "dp_balanced") -> torch.Tensor:
    """(1/K) Σ_k λ_k for the named ``reduction`` (module docstring) of ``loss [K, n, T]`` with ``mask [K, n, T]``."""
    if reduction not in DP_REDUCTIONS:
        raise ValueError(f"reduction: expected one of {DP_REDUCTIONS}, got {reduction!r}")
    x = as_tensor(loss, "loss")
    m = check_mask(mask).to(torch.float64)
    if x.ndim != 3 or x.shape != m.shape:
        raise ValueError(f"loss: expected [K, n, T] matching mask {tuple(m.shape)}, got {tuple(x.shape)}")
    S = (x * m).sum((1, 2))
    N = m.sum((1, 2))
    if bool((N == 0).any()):
        raise ValueError("mask: every shard needs at least one token")
    if reduction == "per_rank":
        return (S / N).mean()
    if reduction == "dp_balanced":
        return (S / N.mean()).mean()
    return S.sum() / N.sum()
