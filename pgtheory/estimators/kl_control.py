r"""KL-coefficient controllers: how the weight β of a KL penalty evolves from the KL measured at each step.

Registry ``KL_CONTROLLERS``; every entry maps (β_t, KL_t) to β_{t+1} and names its own hyper-parameters:

* ``adaptive`` — the proportional controller of Ziegler et al. 2019 ("Fine-Tuning Language Models from Human
  Preferences", §2.2; openai/lm-human-preferences ``train_policy.py``):

  .. math:: e_t = \mathrm{clip}\big(\mathrm{KL}_t/\mathrm{KL}_{\rm target} - 1,\ -0.2,\ 0.2\big),\qquad
            \beta_{t+1} = \beta_t\,\big(1 + e_t\, n_t / H\big),

  n_t = ``n_steps`` (samples in the step; verl passes the batch size), H = ``horizon``. As verl's
  ``AdaptiveKLController.update`` (``verl/trainer/ppo/core_algos.py``, volcengine/verl at b178a3cd, 2026-01-29) and
  TRL's former ``AdaptiveKLController`` (``trl/trainer/utils.py``, removed in TRL 8c49ea39, 2024-12-19), both read on
  2026-11-30. Properties: β rises iff KL > target and falls iff KL < target (for β > 0 and n_t/H < 5); the relative
  change per step is bounded, |β_{t+1}/β_t − 1| ≤ 0.2·n_t/H. For n_t/H ≥ 5 the multiplier 1 + e_t n_t/H can reach
  ≤ 0 and β changes sign — the references do not guard against it; here a step that would make β negative raises
  a ``ValueError`` naming ``n_steps, horizon`` (a penalty turned into a bonus is never what a user meant).
* ``fixed`` — β_{t+1} = β_t (verl/TRL ``FixedKLController``).

:func:`kl_coefficient_trace` folds a controller over a trace of measured KLs. Scalars are Python floats (the
controllers are scalar recurrences); the trace is a tensor on the KL trace's device.
"""
from __future__ import annotations

from typing import Any, Callable

import torch

from .._checks import as_tensor, check_finite, check_positive_int, check_real
from .._registry import Registry

__all__ = ["KL_CONTROLLERS", "ADAPTIVE_KL_ERROR_CLIP", "adaptive_kl_coefficient", "fixed_kl_coefficient",
           "kl_coefficient_trace"]

ADAPTIVE_KL_ERROR_CLIP = 0.2  # the clip on the proportional error (Ziegler et al. 2019; verl; TRL)

ControllerFn = Callable[..., float]
KL_CONTROLLERS: Registry[ControllerFn] = Registry("KL controller")


def _coef_and_kl(coef: Any, kl: Any) -> tuple[float, float]:
    return check_real(coef, "coef", low=0.0), check_real(kl, "kl")


@KL_CONTROLLERS.register("adaptive")
def adaptive_kl_coefficient(coef: float, kl: float, *, target: float, horizon: float, n_steps: int) -> float:
    """β·(1 + clip(KL/target − 1, ±0.2)·n_steps/horizon): the next coefficient; coef ≥ 0, target > 0, horizon > 0,
    n_steps ≥ 1 (verl's batch size), KL any finite real (a k1 batch mean can be negative)."""
    coef, kl = _coef_and_kl(coef, kl)
    target = check_real(target, "target", low=0.0, low_open=True)
    horizon = check_real(horizon, "horizon", low=0.0, low_open=True)
    n_steps = check_positive_int(n_steps, "n_steps")
    error = min(max(kl / target - 1.0, -ADAPTIVE_KL_ERROR_CLIP), ADAPTIVE_KL_ERROR_CLIP)
    out = coef * (1.0 + error * n_steps / horizon)
    if out < 0:  # verl and TRL do not guard: their coefficient changes sign and the penalty becomes a bonus
        raise ValueError(f"n_steps, horizon: n_steps/horizon = {n_steps / horizon:g} with the error clipped at "
                         f"{error:+g} drives the coefficient negative ({out:g}); keep n_steps/horizon below "
                         f"1/{ADAPTIVE_KL_ERROR_CLIP:g}")
    return check_real(out, "coef, kl, target, horizon, n_steps")


@KL_CONTROLLERS.register("fixed")
def fixed_kl_coefficient(coef: float, kl: float) -> float:
    """β (the measured KL is validated and ignored)."""
    coef, _ = _coef_and_kl(coef, kl)
    return coef


def kl_coefficient_trace(kl_trace: torch.Tensor, init_coef: float, kind: str = "adaptive", **hyper: Any) -> torch.Tensor:
    """β_0 = ``init_coef``, β_{t+1} = controller(β_t, KL_t) over ``kl_trace [T]``: the coefficients ``[T + 1]``.

    β_t is the coefficient in force while KL_t is measured. ``hyper`` are the chosen controller's keywords
    (``target=, horizon=, n_steps=`` for ``adaptive``, none for ``fixed``); any other raises ``TypeError``.
    """
    update = KL_CONTROLLERS.resolve(kind, hyper, n_positional=2, arg="kind")
    if not (isinstance(kl_trace, torch.Tensor) and kl_trace.dtype.is_floating_point):
        kl_trace = as_tensor(kl_trace, "kl_trace")
    kl_trace = check_finite(kl_trace, "kl_trace")
    if kl_trace.ndim != 1:
        raise ValueError(f"kl_trace: expected a vector [T] of measured KLs, got shape {tuple(kl_trace.shape)}")
    coefs = [check_real(init_coef, "init_coef", low=0.0)]
    for kl in kl_trace.tolist():
        coefs.append(update(coefs[-1], kl, **hyper))
    return torch.tensor(coefs, dtype=kl_trace.dtype, device=kl_trace.device)
