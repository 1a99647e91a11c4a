r"""KL-regularised policies from an uncertain reward model: vanilla and uncertainty-aware (conservative) Gibbs policies.

Setting (Banerjee & Gopalan, "Towards Reliable Alignment: Uncertainty-aware RLHF", arXiv:2410.23726; the Gibbs form
is the KL-regularised RLHF optimum, the penalty form is the one catalogued in shared/CLAIMS.md row L155). A prompt
has K responses (arms) with true rewards r ∈ R^K and a reference policy π_ref > 0. An ensemble of M reward models
gives estimates r̂_k ∈ R^K, k = 1..M, with ensemble mean r̄ and per-response spread σ̂ (the unbiased standard
deviation over members).

* KL-regularised optimum (Gibbs policy) of an estimate r̂ at temperature β > 0:

  .. math:: \pi_\beta(y) = \frac{\pi_{ref}(y)\, e^{\hat r(y)/\beta}}{\sum_{y'} \pi_{ref}(y')\, e^{\hat r(y')/\beta}}
            = \arg\max_\pi\ \mathbb E_\pi[\hat r] - \beta\,\mathrm{KL}(\pi\|\pi_{ref}).

* Vanilla policy: the Gibbs policy of the ensemble mean r̄. Conservative policy: the Gibbs policy of the lower
  confidence reward r̄ − c·σ̂/√M (c standard errors of the ensemble mean, c ≥ 0; c = 0 is the vanilla policy).
* True value J(π) = Σ_y π(y) r(y); distance moved KL(π‖π_ref).
* Matched KL: for a tilt t = 1/β, KL(π_t‖π_ref) is non-decreasing in t (dKL/dt = t·Var_{π_t}(r̂) ≥ 0), from 0 at
  t = 0 to −log π_ref(argmax r̂) as t → ∞; :func:`beta_for_kl` inverts it (safeguarded Newton on log t), so two
  methods can be compared at the same KL budget.
* Law of the true value over reward-model draws: mean, variance, a lower quantile and the probability of ending
  below a threshold (the reference policy's value: the "risk of outputting a worse policy than the default").

Shapes: every function works over leading batch axes ``[...]`` (e.g. many reward-model draws); the response axis is
last. All computations in float64.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import torch

from .._checks import as_tensor, check_finite, check_finite_result, check_probabilities, check_real

__all__ = ["LOG_TILT_BRACKET", "NEWTON_BRACKET_WIDTH", "gibbs_policy", "ensemble_mean_and_spread", "lower_confidence_reward",
           "uncertainty_aware_policy", "true_value", "gibbs_kl", "max_tilt_kl", "beta_for_kl", "MatchedPolicies",
           "matched_kl_policies", "ValueLaw", "value_law"]

#: initial bracket of log(1/β): β from e^-40 (near-greedy) to e^40 (near-reference)
LOG_TILT_BRACKET = (-40.0, 40.0)
#: below this bracket width in log(1/β), Newton steps replace bisection
NEWTON_BRACKET_WIDTH = 1e-3


def _reference(reference) -> torch.Tensor:
    p = check_probabilities(as_tensor(reference, "reference"), "reference")
    if bool((p <= 0).any()):
        raise ValueError("reference: must be strictly positive (the Gibbs policy lives on the reference's support)")
    return p


def _reward(reward, name: str = "reward") -> torch.Tensor:
    r = check_finite(as_tensor(reward, name), name)
    if r.ndim == 0:
        raise ValueError(f"{name}: expected at least one (response) axis, got a scalar")
    return r


def _beta(beta) -> torch.Tensor:
    b = check_finite(as_tensor(beta, "beta"), "beta")
    if bool((b <= 0).any()):
        raise ValueError("beta: the KL coefficient must be positive")
    return b


def _broadcast(reference: torch.Tensor, reward: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    if reference.shape[-1] != reward.shape[-1]:
        raise ValueError(f"reward: has {reward.shape[-1]} responses but reference has {reference.shape[-1]}")
    try:
        shape = torch.broadcast_shapes(reference.shape, reward.shape)
    except RuntimeError as exc:
        raise ValueError(f"reward: shape {tuple(reward.shape)} does not broadcast with reference {tuple(reference.shape)}") from exc
    return reference.expand(shape), reward.expand(shape)


def _gibbs_log_probs(log_ref: torch.Tensor, reward: torch.Tensor, tilt: torch.Tensor) -> torch.Tensor:
    return torch.log_softmax(log_ref + tilt.unsqueeze(-1) * reward, dim=-1)


def gibbs_policy(reference, reward, beta) -> torch.Tensor:
    r"""π(y) ∝ π_ref(y)·exp(r̂(y)/β), the maximiser of E_π[r̂] − β·KL(π‖π_ref).

    reference ``[..., K]`` (strictly positive), reward ``[..., K]`` (broadcast together), beta a positive number or a
    tensor broadcast against the batch axes ``[...]``. Returns ``[..., K]``.
    """
    ref, r = _broadcast(_reference(reference), _reward(reward))
    b = _beta(beta)
    try:
        tilt = (1.0 / b).expand(r.shape[:-1])
    except RuntimeError as exc:
        raise ValueError(f"beta: shape {tuple(b.shape)} does not broadcast to the batch axes {tuple(r.shape[:-1])}") from exc
    return check_finite_result(_gibbs_log_probs(ref.log(), r, tilt).exp(), "reward, beta", "Gibbs policy")


def ensemble_mean_and_spread(ensemble) -> tuple[torch.Tensor, torch.Tensor]:
    """Ensemble mean r̄ and unbiased standard deviation σ̂ over the member axis.

    ensemble ``[..., M, K]`` with M ≥ 2 members; returns two ``[..., K]`` tensors.
    """
    e = _reward(ensemble, "ensemble")
    if e.ndim < 2 or e.shape[-2] < 2:
        raise ValueError(f"ensemble: expected shape [..., M, K] with M >= 2 members, got {tuple(e.shape)}")
    return e.mean(-2), e.std(-2, unbiased=True)


def lower_confidence_reward(ensemble, penalty: float) -> torch.Tensor:
    r"""r̄ − c·σ̂/√M: the ensemble mean lowered by ``penalty`` = c standard errors (c ≥ 0; c = 0 gives r̄).

    ensemble ``[..., M, K]``; returns ``[..., K]``.
    """
    c = check_real(penalty, "penalty", low=0.0)
    mean, spread = ensemble_mean_and_spread(ensemble)
    return mean - c * spread / math.sqrt(ensemble.shape[-2])


def uncertainty_aware_policy(reference, ensemble, beta, penalty: float) -> torch.Tensor:
    """The Gibbs policy of the lower confidence reward r̄ − c·σ̂/√M (``penalty`` = c; c = 0 is the vanilla policy).

    reference ``[..., K]``, ensemble ``[..., M, K]``, beta as in :func:`gibbs_policy`; returns ``[..., K]``.
    """
    return gibbs_policy(reference, lower_confidence_reward(_reward(ensemble, "ensemble"), penalty), beta)


def true_value(policy, reward) -> torch.Tensor:
    """J(π) = Σ_y π(y) r(y) over the last axis: policy ``[..., K]``, true reward ``[..., K]`` → ``[...]``."""
    p = check_probabilities(as_tensor(policy, "policy"), "policy")
    r = _reward(reward)
    if p.shape[-1] != r.shape[-1]:
        raise ValueError(f"reward: has {r.shape[-1]} responses but policy has {p.shape[-1]}")
    return (p * r).sum(-1)


def gibbs_kl(reference, reward, beta) -> torch.Tensor:
    r"""KL(π_β‖π_ref) of the Gibbs policy, computed from log-probabilities (no 0·log 0 issue): ``[...]``."""
    ref, r = _broadcast(_reference(reference), _reward(reward))
    pi = gibbs_policy(ref, r, beta)
    return (pi * (pi.log() - ref.log())).sum(-1).clamp_min(0.0)


def max_tilt_kl(reference, reward) -> torch.Tensor:
    r"""sup_β KL(π_β‖π_ref) = −log π_ref(argmax r̂) (ties: the reference mass of the whole argmax set): ``[...]``."""
    ref, r = _broadcast(_reference(reference), _reward(reward))
    top = r == r.max(-1, keepdim=True).values
    return -(ref * top).sum(-1).log()


def beta_for_kl(reference, reward, target_kl, *, iterations: int = 200, tolerance: float = 1e-10) -> torch.Tensor:
    r"""The β > 0 at which KL(π_β‖π_ref) = ``target_kl``, for every batch entry.

    reference ``[..., K]``, reward ``[..., K]``, target_kl a number or ``[...]`` in (0, −log π_ref(argmax r̂)).
    With u = log(1/β), KL is non-decreasing in u (dKL/du = e^{2u}·Var_{π_β}(r̂)), so a safeguarded Newton
    iteration on u converges: a bracket starts at :data:`LOG_TILT_BRACKET` and is bisected until it is narrower than
    :data:`NEWTON_BRACKET_WIDTH` (KL saturates in u, where Newton steps overshoot), then Newton steps take over; a
    Newton step that leaves the bracket is replaced by its midpoint. The iteration stops when every entry is within
    ``tolerance`` of the target or its bracket is as narrow as u's float64 resolution (ValueError if that takes more
    than ``iterations`` steps). Returns β ``[...]``.
    """
    ref, r = _broadcast(_reference(reference), _reward(reward))
    target = check_finite(as_tensor(target_kl, "target_kl"), "target_kl").expand(r.shape[:-1])
    if bool((target <= 0).any()):
        raise ValueError("target_kl: must be positive")
    reachable = max_tilt_kl(ref, r)
    if bool((target >= reachable).any()):
        raise ValueError("target_kl: not below −log π_ref(argmax r̂) for some entry (no finite β reaches it)")
    log_ref = ref.log()
    lo = torch.full(r.shape[:-1], LOG_TILT_BRACKET[0], dtype=r.dtype, device=r.device)
    hi = torch.full_like(lo, LOG_TILT_BRACKET[1])
    u = 0.5 * (lo + hi)
    stalled = torch.zeros_like(u, dtype=torch.bool)
    for _ in range(iterations):
        tilt = u.exp()
        lp = _gibbs_log_probs(log_ref, r, tilt)
        pi = lp.exp()
        gap = (pi * (lp - log_ref)).sum(-1) - target
        # done when within tolerance, or when the bracket has shrunk to u's float64 resolution (KL can be so steep in
        # u that no float u is within tolerance; the best float u is then returned — seen in L155's full run, 2026-11-30)
        resolved = ((hi - lo) <= 8 * torch.finfo(u.dtype).eps * u.abs().clamp_min(1.0)) | stalled
        done = (gap.abs() <= tolerance) | resolved
        if bool(done.all()):
            return (-u).exp()
        above = gap > 0
        hi = torch.where(above, u, hi)
        lo = torch.where(above, lo, u)
        mean = (pi * r).sum(-1, keepdim=True)
        slope = tilt.square() * (pi * (r - mean).square()).sum(-1)
        step = u - gap / slope.clamp_min(1e-300)
        inside = (step > lo) & (step < hi) & torch.isfinite(step) & (hi - lo < NEWTON_BRACKET_WIDTH)
        new_u = torch.where(done, u, torch.where(inside, step, 0.5 * (lo + hi)))  # converged entries stay put
        stalled = new_u == u  # a Newton step below u's resolution: the best float u has been found
        u = new_u
    raise ValueError(f"target_kl: not reached within {iterations} iterations (target too close to the greedy limit, "
                     "or the reward nearly constant)")


class MatchedPolicies(NamedTuple):
    """Vanilla and conservative Gibbs policies at the same KL(π‖π_ref) (each ``[..., K]``) and their β (``[...]``)."""

    vanilla: torch.Tensor
    conservative: torch.Tensor
    beta_vanilla: torch.Tensor
    beta_conservative: torch.Tensor


def matched_kl_policies(reference, ensemble, target_kl, penalty: float) -> MatchedPolicies:
    r"""Vanilla (Gibbs of r̄) and conservative (Gibbs of r̄ − c·σ̂/√M) policies, each with its own β chosen so that
    KL(π‖π_ref) = ``target_kl`` exactly (a fair comparison: both move the same distance from the reference).

    reference ``[..., K]``, ensemble ``[..., M, K]``, target_kl a number or ``[...]``, penalty = c ≥ 0.
    """
    e = _reward(ensemble, "ensemble")
    c = check_real(penalty, "penalty", low=0.0)
    mean, spread = ensemble_mean_and_spread(e)
    both = torch.stack([mean, mean - c * spread / math.sqrt(e.shape[-2])])  # [2, ..., K]: one solve for both methods
    beta = beta_for_kl(reference, both, target_kl)
    pi = gibbs_policy(reference, both, beta)
    return MatchedPolicies(pi[0], pi[1], beta[0], beta[1])


class ValueLaw(NamedTuple):
    """Summary of the law of a policy's true value J over reward-model draws."""

    mean: float
    variance: float  #: unbiased sample variance
    lower_quantile: float  #: the ``level``-quantile (linear interpolation between order statistics)
    prob_below: float  #: fraction of draws with J < threshold
    level: float
    threshold: float
    n: int


def value_law(values, *, level: float, threshold: float) -> ValueLaw:
    """Mean, variance, ``level``-quantile and P(J < ``threshold``) of the draws ``values`` ``[N]`` (N ≥ 2)."""
    v = check_finite(as_tensor(values, "values"), "values")
    if v.ndim != 1 or v.numel() < 2:
        raise ValueError(f"values: expected a vector of at least 2 draws, got shape {tuple(v.shape)}")
    a = check_real(level, "level", low=0.0, high=1.0, low_open=True, high_open=True)
    t = check_real(threshold, "threshold")
    return ValueLaw(float(v.mean()), float(v.var(unbiased=True)), float(torch.quantile(v, a)),
                    float((v < t).double().mean()), a, t, int(v.numel()))
