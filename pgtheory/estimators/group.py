r"""Group-relative advantages over G responses to one prompt, and the pairwise-consistency surrogate.

Rewards ``[..., G]`` → advantages ``[..., G]`` (registry ``GROUP_ADVANTAGES``):

* ``mean``   — A_i = R_i − R̄ (Dr. GRPO without the length term; RAPID's group advantage). With the sample
  itself in R̄, E[A_i ∇log π(y_i)] = (1 − 1/G)·Cov(R, ∇log π): unbiased up to the factor (1 − 1/G).
* ``rloo``   — A_i = R_i − (1/(G−1))Σ_{j≠i} R_j = G/(G−1)·(R_i − R̄): exactly unbiased (leave-one-out).
* ``grpo``   — A_i = (R_i − R̄)/(std(R) + ε) (population std, as in GRPO implementations; ε = 1e-6 default).
* ``reinforce_pp`` — A_i = (R_i − R̄_group)/std over the whole batch (REINFORCE++-style global normalisation).
* ``bnpo``   — A_i = (R_i − p)/f(p; α, β), f the Beta(α, β) density at the prompt's success probability p
  (the true p if given, else the group mean; BNPO, seed L71). α = β = 1 is REINFORCE with baseline p;
  α = β = 3/2 gives f = (8/π)√(p(1 − p)), i.e. GRPO's Bernoulli-std normalisation up to the constant 8/π.
  Where f(p) = 0 (p ∈ {0, 1} with α, β > 1) every reward equals p for binary rewards and A = 0.
* ``pass_at_k`` — for binary rewards, A_i = k·Ĉ_{−i}·(R_i − mean_{j≠i} R_j) with Ĉ_{−i} = C(n−1−c_{−i}, k−1)/C(n−1, k−1)
  (c_{−i} successes among the other n − 1 responses), an unbiased U-statistic for (1 − p)^{k−1}. Since
  ∇pass@k = k(1 − p)^{k−1}∇p and everything but y_i comes from the other responses, (1/n)Σ_i A_i∇log π(y_i) is
  exactly unbiased for ∇pass@k (needs n ≥ k + 1 ≥ 2; derived here, in the spirit of pass@k policy optimisation).

The pairwise-consistency surrogate (seed L65, "group-relative REINFORCE is secretly off-policy"): with
u_i = R_i − τ log(π_θ(y_i)/π_old(y_i)),

.. math:: L(\theta) = \frac{1}{2G^2}\sum_{i,j}(u_i - u_j)^2 = \frac1G\sum_i (u_i - \bar u)^2,

whose minimisers over π make u constant on the sampled support — π ∝ π_old e^{R/τ} there, whatever
distribution the responses came from — and whose negative gradient at θ = θ_old is
(2τ/G)Σ_i (R_i − R̄)∇log π(y_i): the group-mean REINFORCE update, for samples from *any* μ.
"""
from __future__ import annotations

from typing import Callable

import torch

from .._checks import check_finite
from .._registry import Registry

__all__ = ["GROUP_ADVANTAGES", "group_advantages", "pairwise_consistency_loss", "beta_pdf"]

AdvFn = Callable[..., torch.Tensor]
GROUP_ADVANTAGES: Registry[AdvFn] = Registry("group advantage")


def _check(rewards: torch.Tensor, min_g: int = 1) -> torch.Tensor:
    check_finite(rewards, "rewards")
    if rewards.ndim < 1 or rewards.shape[-1] < min_g:
        raise ValueError(f"rewards: expected a group axis of at least {min_g} responses (last axis), got shape {tuple(rewards.shape)}")
    return rewards


@GROUP_ADVANTAGES.register("mean")
def mean_advantage(rewards: torch.Tensor, **_) -> torch.Tensor:
    """R_i − R̄ (group mean including the sample itself)."""
    return rewards - rewards.mean(-1, keepdim=True)


@GROUP_ADVANTAGES.register("rloo")
def rloo_advantage(rewards: torch.Tensor, **_) -> torch.Tensor:
    """R_i − mean_{j≠i} R_j (needs G ≥ 2)."""
    _check(rewards, 2)
    G = rewards.shape[-1]
    return G / (G - 1) * (rewards - rewards.mean(-1, keepdim=True))


@GROUP_ADVANTAGES.register("grpo")
def grpo_advantage(rewards: torch.Tensor, *, eps: float = 1e-6, **_) -> torch.Tensor:
    """(R_i − R̄)/(std(R) + ε), population standard deviation."""
    c = rewards - rewards.mean(-1, keepdim=True)
    return c / (rewards.std(-1, unbiased=False, keepdim=True) + eps)


@GROUP_ADVANTAGES.register("reinforce_pp")
def reinforce_pp_advantage(rewards: torch.Tensor, *, eps: float = 1e-6, **_) -> torch.Tensor:
    """(R_i − R̄_group) / (std over every response of the batch + ε)."""
    c = rewards - rewards.mean(-1, keepdim=True)
    return c / (rewards.std(unbiased=False) + eps)


def beta_pdf(p: torch.Tensor, a: float, b: float) -> torch.Tensor:
    """Beta(a, b) density at p ∈ [0, 1] (0 where it vanishes at an endpoint)."""
    lg = torch.lgamma(torch.tensor(a + b, dtype=p.dtype)) - torch.lgamma(torch.tensor(a, dtype=p.dtype)) - torch.lgamma(torch.tensor(b, dtype=p.dtype))
    return torch.exp(lg + torch.xlogy(torch.tensor(a - 1, dtype=p.dtype), p) + torch.xlogy(torch.tensor(b - 1, dtype=p.dtype), 1 - p))


@GROUP_ADVANTAGES.register("bnpo")
def bnpo_advantage(rewards: torch.Tensor, *, alpha: float = 1.5, beta: float = 1.5, p: torch.Tensor | None = None, **_) -> torch.Tensor:
    """(R_i − p)/Beta(α, β) density at p; p = the true success probability [...] if given, else the group mean."""
    if not (alpha > 0 and beta > 0):
        raise ValueError(f"alpha, beta: must be positive, got {alpha}, {beta}")
    pp = rewards.mean(-1, keepdim=True) if p is None else p[..., None].to(rewards.dtype)
    f = beta_pdf(pp, alpha, beta)
    return torch.where(f > 0, (rewards - pp) / torch.where(f > 0, f, torch.ones_like(f)), torch.zeros_like(rewards))


@GROUP_ADVANTAGES.register("pass_at_k")
def pass_at_k_advantage(rewards: torch.Tensor, *, k: int = 2, **_) -> torch.Tensor:
    """k·Ĉ_{−i}·(R_i − mean_{j≠i} R_j) for binary rewards (unbiased for ∇pass@k with (1/n)Σ A_i ∇log π)."""
    n = rewards.shape[-1]
    if not (isinstance(k, int) and 1 <= k <= n - 1):
        raise ValueError(f"k: must be an integer in [1, n − 1] = [1, {n - 1}], got {k}")
    if bool(((rewards != 0) & (rewards != 1)).any()):
        raise ValueError("rewards: the pass@k advantage needs binary (0/1) rewards")
    c_others = rewards.sum(-1, keepdim=True) - rewards  # successes among the other n − 1
    fails = (n - 1) - c_others
    lg = torch.lgamma
    # C(fails, k−1)/C(n−1, k−1), zero when fails < k − 1
    ok = fails >= k - 1
    f = torch.where(ok, fails, torch.full_like(fails, float(k - 1)))
    log_ratio = (lg(f + 1) - lg(f - k + 2)) - (lg(torch.tensor(float(n))) - lg(torch.tensor(float(n - k + 1))))
    c_hat = torch.where(ok, torch.exp(log_ratio), torch.zeros_like(fails))
    loo = c_others / (n - 1)
    return k * c_hat * (rewards - loo)


def group_advantages(rewards: torch.Tensor, kind: str = "mean", **kwargs) -> torch.Tensor:
    """Advantages of the named kind for rewards ``[..., G]`` (same shape)."""
    fn = GROUP_ADVANTAGES.get(kind)
    return fn(_check(rewards), **kwargs)


def pairwise_consistency_loss(rewards: torch.Tensor, log_ratio: torch.Tensor, tau: float) -> torch.Tensor:
    """(1/G)Σ_i (u_i − ū)², u = R − τ·log(π_θ/π_old), per group: ``[...]`` (differentiable in ``log_ratio``)."""
    _check(rewards)
    if log_ratio.shape != rewards.shape:
        raise ValueError(f"log_ratio: expected shape {tuple(rewards.shape)} (as rewards), got {tuple(log_ratio.shape)}")
    if not float(tau) > 0:
        raise ValueError(f"tau: must be positive, got {tau}")
    u = rewards - tau * log_ratio
    return ((u - u.mean(-1, keepdim=True)) ** 2).mean(-1)
