r"""KL estimators k1, k2, k3 (Schulman 2020, "Approximating KL divergence"; RPG, seed L11): values and
the gradients they induce when used as a loss, per sample.

With y ∼ π_θ and the log-ratio ℓ = log π_ref(y) − log π_θ(y) (r = e^ℓ):

========  ===================  =============================  ==========================================
name      value                E[value]                       E[∇_θ value] (gradient not through sampling)
========  ===================  =============================  ==========================================
``k1``    −ℓ                   KL(π_θ ‖ π_ref)                0
``k2``    ½ ℓ²                 ≠ KL (biased)                  ∇_θ KL(π_θ ‖ π_ref)   (reverse KL)
``k3``    r − 1 − ℓ            KL(π_θ ‖ π_ref)                ∇_θ KL(π_ref ‖ π_θ)   (forward KL)
========  ===================  =============================  ==========================================

The gradient of each as a loss is c(ℓ)·∇log π_θ(y), with c = 1, −ℓ, 1 − r respectively (derivation:
∇ℓ = −∇log π_θ(y)); :func:`kl_loss_score_coefficient` returns c. Off-policy samples y ∼ μ carry importance
weights w = π_θ(y)/μ(y) multiplying both value and coefficient. Applied per token with token-level
log-ratios, Σ_t k1_t and Σ_t k3_t are both unbiased for the sequence KL (chain rule of KL).

**KL as deployed** (verl ``kl_penalty`` / ``kl_penalty_forward`` in ``verl/trainer/ppo/core_algos.py``, volcengine/verl
at b178a3cd (2026-01-29), read on 2026-11-30; TRL's former ``PPOTrainer._kl_penalty``, replaced in TRL 70036bf8,
2024-10-11, read on 2026-11-30). verl's names map to ours: ``"kl"``/``"k1"`` → ``k1``; ``"mse"``/``"k2"`` → ``k2``;
``"abs"`` → ``abs``; ``"low_var_kl"``/``"k3"`` → ``k3_clamped`` (verl's k3 is always clamped); ``"k1+"`` → ``k1_plus``;
``"k3+"`` → ``k3_plus``. With κ(ℓ) = e^ℓ − 1 − ℓ (the k3 value), 1{·} an indicator and C = 10:

==============  ============================  ==============================  =====================================
name            value                         E[value]                        E[∇_θ value]
==============  ============================  ==============================  =====================================
``abs``         |ℓ|                           E_π|log π/π_ref|  (≥ KL, ≠ KL)  ∇_θ Σ_y |π_θ(y) − π_ref(y)|  (= 2∇TV)
``k3_clamped``  min(κ(clamp(ℓ, −20, 20)), C)  KL(π‖π_ref) − E[(κ(ℓ) − C)₊]    ∇KL(π_ref‖π) − E[1{κ>C}(1 − r)∇log π]
``k1_plus``     −ℓ  (k1's value)              KL(π‖π_ref)                     ∇KL(π‖π_ref)  (k2's gradient)
``k3_plus``     k3_clamped's value            KL(π‖π_ref) − E[(κ(ℓ) − C)₊]    ∇KL(π‖π_ref)  (k2's gradient)
==============  ============================  ==============================  =====================================

Coefficients c (∇ = c·∇log π): abs −sign(ℓ); k3_clamped (1 − r)·1{κ(ℓ) ≤ C} (torch's clamp passes the gradient at
the bound itself); k1_plus and k3_plus −ℓ. The clamp of ℓ to ±20 never changes k3_clamped: κ exceeds C = 10 already
at ℓ ≈ 2.611 (π_ref/π ≈ 13.6) and at ℓ ≈ −11.0 (π/π_ref ≈ 6.0·10⁴), and κ(±20) > C, so value and gradient are
min(κ(ℓ), C) and (1 − r)·1{κ(ℓ) ≤ C}. The clamp's bias E[(κ − C)₊] is > 0 exactly when some response in the support
has κ(ℓ) > C, and 0 otherwise. The "+" variants are straight-through estimators: verl computes
k2 − k2.detach() + value.detach(), whose value is the base estimator's and whose gradient is k2's. (At b178a3cd verl's
``kl_penalty("k1+")`` / ``("k3+")`` pass the suffixed name on to ``kl_penalty_forward``, which raises
``NotImplementedError``; ``k1_plus`` / ``k3_plus`` implement what its docstring and docs/algo/grpo.md describe.)
verl's ``"full"`` (the exact KL over the vocabulary) raises ``NotImplementedError`` in verl and is not a per-sample
estimator; it is not registered here.
"""
from __future__ import annotations

from typing import Callable

import torch

from .._checks import check_finite, check_finite_result, check_real
from .._registry import Registry

__all__ = ["KL_ESTIMATORS", "kl_estimate", "kl_loss_score_coefficient", "tsallis_kl_estimate",
           "LOW_VAR_KL_LOG_RATIO_CLAMP", "LOW_VAR_KL_VALUE_CLAMP"]

KLFn = Callable[[torch.Tensor], torch.Tensor]
KL_ESTIMATORS: Registry[KLFn] = Registry("KL estimator")
_COEFFICIENTS: dict[str, KLFn] = {}


def _register(name: str, coefficient: KLFn):
    def deco(fn: KLFn) -> KLFn:
        KL_ESTIMATORS.register(name)(fn)
        _COEFFICIENTS[name] = coefficient
        return fn

    return deco


def _k1_coefficient(log_ratio: torch.Tensor) -> torch.Tensor:
    """1: the gradient coefficient of −ℓ."""
    return torch.ones_like(log_ratio)


def _k2_coefficient(log_ratio: torch.Tensor) -> torch.Tensor:
    """−ℓ: the gradient coefficient of ½ℓ² (used by the straight-through "+" estimators)."""
    return -log_ratio


def _k3_coefficient(log_ratio: torch.Tensor) -> torch.Tensor:
    """1 − e^ℓ: the gradient coefficient of e^ℓ − 1 − ℓ."""
    return 1 - torch.exp(log_ratio)


def _abs_coefficient(log_ratio: torch.Tensor) -> torch.Tensor:
    """−sign(ℓ): the gradient coefficient of |ℓ|."""
    return -torch.sign(log_ratio)


@_register("k1", _k1_coefficient)
def k1(log_ratio: torch.Tensor) -> torch.Tensor:
    """−ℓ."""
    return -log_ratio


@_register("k2", _k2_coefficient)
def k2(log_ratio: torch.Tensor) -> torch.Tensor:
    """½ ℓ²."""
    return 0.5 * log_ratio**2


@_register("k3", _k3_coefficient)
def k3(log_ratio: torch.Tensor) -> torch.Tensor:
    """e^ℓ − 1 − ℓ (≥ 0; expm1 keeps it accurate for small ℓ)."""
    return torch.expm1(log_ratio) - log_ratio


LOW_VAR_KL_LOG_RATIO_CLAMP = 20.0  # verl low_var_kl: ℓ is clamped to [−20, 20] "for numerical stability"
LOW_VAR_KL_VALUE_CLAMP = 10.0  # verl low_var_kl: the k3 value is clamped to [−10, 10] (k3 ≥ 0, so min(k3, 10))


def _clamped_k3_terms(log_ratio: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(ℓc = clamp(ℓ, ±20), κ(ℓc), mask where neither clamp cuts the gradient), κ(ℓ) = e^ℓ − 1 − ℓ."""
    lc = log_ratio.clamp(-LOW_VAR_KL_LOG_RATIO_CLAMP, LOW_VAR_KL_LOG_RATIO_CLAMP)
    kappa = torch.expm1(lc) - lc
    passes = (log_ratio.abs() <= LOW_VAR_KL_LOG_RATIO_CLAMP) & (kappa <= LOW_VAR_KL_VALUE_CLAMP)
    return lc, kappa, passes


def _clamped_k3_coefficient(log_ratio: torch.Tensor) -> torch.Tensor:
    """(1 − e^ℓ) where the clamps pass the gradient, 0 where they cut it."""
    lc, _, passes = _clamped_k3_terms(log_ratio)
    return torch.where(passes, -torch.expm1(lc), torch.zeros_like(log_ratio))


@_register("abs", _abs_coefficient)
def abs_kl(log_ratio: torch.Tensor) -> torch.Tensor:
    """|ℓ| (verl/TRL ``kl_penalty="abs"``); E = E_π|log π/π_ref|, expected gradient ∇‖π_θ − π_ref‖₁."""
    return log_ratio.abs()


@_register("k3_clamped", _clamped_k3_coefficient)
def k3_clamped(log_ratio: torch.Tensor) -> torch.Tensor:
    """min(κ(clamp(ℓ, −20, 20)), 10), κ(ℓ) = e^ℓ − 1 − ℓ (verl ``kl_penalty="low_var_kl"`` or ``"k3"``).

    Biased downward: E[value] = KL(π‖π_ref) − E[(κ(ℓ) − 10)₊], exactly (see the module table).
    """
    _, kappa, _ = _clamped_k3_terms(log_ratio)
    return kappa.clamp(max=LOW_VAR_KL_VALUE_CLAMP)


@_register("k1_plus", _k2_coefficient)
def k1_plus(log_ratio: torch.Tensor) -> torch.Tensor:
    """−ℓ with k2's gradient (verl ``"k1+"``, straight-through): unbiased value and unbiased ∇KL(π‖π_ref)."""
    return -log_ratio


@_register("k3_plus", _k2_coefficient)
def k3_plus(log_ratio: torch.Tensor) -> torch.Tensor:
    """verl's clamped k3 value with k2's gradient (verl ``"k3+"``, straight-through)."""
    return k3_clamped(log_ratio)


def _log_ratio(log_ratio) -> torch.Tensor:
    return check_finite(log_ratio, "log_ratio")


def _weighted(v: torch.Tensor, weights, log_ratio: torch.Tensor) -> torch.Tensor:
    """``v`` times importance ``weights`` (finite, non-negative, broadcasting to the shape of ``log_ratio``)."""
    if weights is None:
        return v
    w = check_finite(weights, "weights")
    try:
        shape = torch.broadcast_shapes(w.shape, log_ratio.shape)
    except RuntimeError:
        shape = None
    if shape != log_ratio.shape:
        raise ValueError(f"weights: expected a shape broadcasting to log_ratio's {tuple(log_ratio.shape)}, got {tuple(w.shape)}")
    if bool((w < 0).any()):
        raise ValueError("weights: importance weights must be non-negative")
    return w * v


def kl_estimate(log_ratio: torch.Tensor, kind: str = "k3", *, weights: torch.Tensor | None = None) -> torch.Tensor:
    """Per-sample values of the named estimator (times importance ``weights`` if given), same shape as ``log_ratio``."""
    fn = KL_ESTIMATORS.get(kind, arg="kind")
    lr = _log_ratio(log_ratio)
    return check_finite_result(_weighted(fn(lr), weights, lr), "log_ratio", f"{kind} value")


def kl_loss_score_coefficient(log_ratio: torch.Tensor, kind: str = "k3", *, weights: torch.Tensor | None = None) -> torch.Tensor:
    """c with ∇_θ[estimator as a loss] = c ∇_θ log π_θ(y), per sample (times ``weights`` if given)."""
    KL_ESTIMATORS.get(kind, arg="kind")  # validates the name
    lr = _log_ratio(log_ratio)
    return check_finite_result(_weighted(_COEFFICIENTS[kind](lr), weights, lr), "log_ratio", f"{kind} coefficient")


def tsallis_kl_estimate(log_ratio: torch.Tensor, q: float, *, convention: str = "1-q",
                        weights: torch.Tensor | None = None) -> torch.Tensor:
    r"""Per-sample −ln_q(e^ℓ) with ℓ = log μ(y) − log π(y), y ∼ π: unbiased for D_q(π ‖ μ) (times ``weights``
    π/ν if y ∼ ν instead). Default q-log convention '1-q' (see :mod:`pgtheory.exact.divergences`); for q > 1
    the values grow like (π/μ)^{q−1}, so the variance blows up with q when π/μ is heavy-tailed.
    """
    from ..exact.divergences import Q_LOG_CONVENTIONS

    q = check_real(q, "q", low=0.0, low_open=True)
    if convention not in Q_LOG_CONVENTIONS:
        raise ValueError(f"convention: expected one of {Q_LOG_CONVENTIONS}, got {convention!r}")
    lr = _log_ratio(log_ratio)
    e = 1.0 - q if convention == "1-q" else q - 1.0
    v = -lr if q == 1.0 else -torch.expm1(e * lr) / e  # −ln_q(e^ℓ), computed from ℓ (no overflow of e^ℓ itself)
    return check_finite_result(_weighted(v, weights, lr), "log_ratio, q", "Tsallis value")
