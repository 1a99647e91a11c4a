r"""TRL's two reductions of the LUSPO loss (``GRPOTrainer._compute_loss``, ``loss_type="luspo"``), and their token weights.

With a per-token loss x ``[B, T]`` (or ``[B, 1]``, a sequence-level loss broadcast over the tokens), a 0/1 completion
mask m ``[B, T]``, lengths L_b = Σ_t m_{b,t} and T the padded width:

* ``mask_sum`` (TRL before huggingface/trl#6654): ``(x * m.sum(1, keepdim=True)).mean()``. For x ``[B, 1]`` it is
  (1/B) Σ_b L_b x_b; for x ``[B, T]`` the mean runs over all B·T entries, padding included:

  .. math:: \frac{1}{BT}\sum_{b,t} L_b x_{b,t}
            = \frac1B\sum_b \frac{L_b^2}{T}\,\bar x_b + \frac1B\sum_b \frac{L_b}{T}\sum_{t:\,m_{b,t}=0} x_{b,t},
            \qquad \bar x_b = \frac{1}{L_b}\sum_t m_{b,t}x_{b,t},

  so each sequence's mean valid loss is weighted by L_b²/T (and padded entries leak in).
* ``masked`` (after #6654): ``(x * m).sum(-1).mean()`` = (1/B) Σ_b L_b x̄_b — weight L_b, padding excluded; for
  x ``[B, 1]`` it equals ``mask_sum``.

:func:`luspo_token_weights` returns ∂loss/∂x_{b,t}: L_b/(BT) on every entry (``mask_sum``; pass ``width`` to use a
fixed T other than the padded width) or m_{b,t}/B (``masked`` = seq-mean-token-sum). Source: the #6654 diff and its
review (read 2026-12-01 through the stored thread); learned, not copied.
"""
from __future__ import annotations

import torch

from .._checks import as_tensor, check_mask

__all__ = ["LUSPO_FORMS", "luspo_loss", "luspo_token_weights", "luspo_valid_decomposition"]

LUSPO_FORMS = ("mask_sum", "masked")


def _form(form: str) -> str:
    if form not in LUSPO_FORMS:
        raise ValueError(f"form: expected one of {LUSPO_FORMS}, got {form!r}")
    return form


def _inputs(per_token_loss, mask) -> tuple[torch.Tensor, torch.Tensor]:
    x = as_tensor(per_token_loss, "per_token_loss")
    m = check_mask(mask)
    if m.ndim != 2:
        raise ValueError(f"mask: expected [B, T], got shape {tuple(m.shape)}")
    if x.ndim != 2 or x.shape[0] != m.shape[0] or x.shape[1] not in (1, m.shape[1]):
        raise ValueError(f"per_token_loss: expected [B, T] or [B, 1] with mask [B, T] = {tuple(m.shape)}, got {tuple(x.shape)}")
    if bool((m.sum(1) == 0).any()):
        raise ValueError("mask: every completion needs at least one token")
    return x, m.to(torch.float64)


def luspo_loss(per_token_loss, mask, form: str = "masked") -> torch.Tensor:
    """The scalar LUSPO loss of TRL's ``form`` (module docstring) for ``per_token_loss [B, T] or [B, 1]``, ``mask [B, T]``."""
    form = _form(form)
    x, m = _inputs(per_token_loss, mask)
    if form == "mask_sum":
        return (x * m.sum(1, keepdim=True)).mean()
    return (x * m).sum(-1).mean()


def luspo_valid_decomposition(per_token_loss, mask) -> tuple[torch.Tensor, torch.Tensor]:
    """The two parts of the ``mask_sum`` loss for x ``[B, T]``: (1/B) Σ_b (L_b²/T) x̄_b (valid tokens) and
    (1/B) Σ_b (L_b/T) Σ_{padded t} x_{b,t} (the padding leak); their sum is ``luspo_loss(x, m, "mask_sum")``."""
    x, m = _inputs(per_token_loss, mask)
    if x.shape[1] != m.shape[1]:
        raise ValueError("per_token_loss: the decomposition is for a [B, T] loss")
    B, T = m.shape
    L = m.sum(1)
    xbar = (x * m).sum(1) / L
    return (L**2 / T * xbar).sum() / B, (L / T * (x * (1 - m)).sum(1)).sum() / B


def luspo_token_weights(mask, form: str = "masked", *, width: int | None = None) -> torch.Tensor:
    """∂loss/∂x_{…,b,t} of a ``[B, T]`` per-token loss, ``mask [..., B, T]`` → ``[..., B, T]``.

    ``mask_sum``: L_b/(B·T') on every entry, T' = ``width`` or the padded width T — callers that contract the weights
    with token scores that are 0 on padding (as :mod:`pgtheory.estimators.group_update_expectation` does) drop the
    padded part; ``masked``: m_{b,t}/B.
    """
    form = _form(form)
    m = check_mask(mask).to(torch.float64)
    if m.ndim < 2:
        raise ValueError(f"mask: expected [..., B, T], got shape {tuple(m.shape)}")
    B, T = m.shape[-2:]
    if form == "masked":
        return m / B
    Tw = T if width is None else int(width)
    if Tw < 1:
        raise ValueError(f"width: expected a positive int, got {width!r}")
    return (m.sum(-1, keepdim=True) / (B * Tw)).expand(m.shape).clone()
