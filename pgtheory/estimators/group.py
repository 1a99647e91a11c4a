r"""Group-relative advantages over G responses to one prompt, and the pairwise-consistency surrogate.

Rewards ``[..., G]`` → advantages ``[..., G]`` (registry ``GROUP_ADVANTAGES``):

* ``mean``   — A_i = R_i − R̄ (Dr. GRPO without the length term; RAPID's group advantage). With the sample
  itself in R̄, E[A_i ∇log π(y_i)] = (1 − 1/G)·Cov(R, ∇log π): unbiased up to the factor (1 − 1/G).
* ``rloo``   — A_i = R_i − (1/(G−1))Σ_{j≠i} R_j = G/(G−1)·(R_i − R̄): exactly unbiased (leave-one-out).
* ``grpo``   — A_i = (R_i − R̄)/(std(R) + ε), ε ≥ 0 (1e-6 default). ``std="bessel"`` (default: the (G − 1)
  divisor of torch's ``std``, as verl's ``compute_grpo_outcome_advantage`` and TRL's GRPO trainer use) or
  ``std="population"`` (the G divisor; the two differ by √(G/(G − 1)): 1.41 at G = 2, 1.07 at G = 8). Singleton
  groups (G = 1): ``singleton="zero"`` (default; TRL needs G ≥ 2 and ours gives 0) or ``"reward"`` (verl: mean 0,
  std 1, so the raw reward). By name: verl = ``grpo(std="bessel", eps=1e-6, singleton="reward")``; TRL
  (``scale_rewards="group"``) = ``grpo(std="bessel", eps=1e-4)``. Constants that rest on the convention: BNPO's
  α = β = 3/2 special case (L71) equals GRPO's normalisation up to 8/π for the *population* std of a Bernoulli
  reward with the true p, √(p(1 − p)); with the Bessel std the factor is (8/π)√((G − 1)/G).
* ``group_mean_batch_std`` — A_i = (R_i − R̄_group)/(std over the group axis and ``batch_dim`` + ε): the group mean
  is subtracted, the std pools the groups of one batch (TRL's ``scale_rewards="batch"``, Bessel std). The pooling
  axis is explicit, so stacking independent replicate batches on another leading axis does not change any of
  them. (Named ``reinforce_pp`` before 2026-11-30, which it is not: REINFORCE++ whitens token-level returns —
  see :mod:`pgtheory.estimators.reinforce_pp`.)

  Zero-std convention of both (TRL's GRPO also gives such groups 0): a group whose rewards are all equal gets
  advantages exactly 0 for every ε — including ε = 0, where the formula is 0/0 — and so does every group where
  std + ε = 0. Without it a constant group of 0.1s with ε = 0 gave −1 everywhere (the round-off of R̄ divided by a
  round-off std) and a constant group of 1s gave NaN.
* ``bnpo``   — A_i = (R_i − p)/f(p; α, β), f the Beta(α, β) density at the prompt's success probability p
  (the true p if given, else the group mean; BNPO, seed L71). α = β = 1 is REINFORCE with baseline p;
  α = β = 3/2 gives f = (8/π)√(p(1 − p)), i.e. GRPO's Bernoulli-std normalisation up to the constant 8/π.
  Where f(p) = 0 (p ∈ {0, 1} with α, β > 1) every reward equals p for binary rewards and A = 0.
* ``pass_at_k`` — for binary rewards, A_i = k·Ĉ_{−i}·(R_i − mean_{j≠i} R_j) with Ĉ_{−i} = C(n−1−c_{−i}, k−1)/C(n−1, k−1)
  (c_{−i} successes among the other n − 1 responses), an unbiased U-statistic for (1 − p)^{k−1}. Since
  ∇pass@k = k(1 − p)^{k−1}∇p and everything but y_i comes from the other responses, (1/n)Σ_i A_i∇log π(y_i) is
  exactly unbiased for ∇pass@k (needs n ≥ k + 1 ≥ 2; derived here, in the spirit of pass@k policy optimisation).

Group advantages of practice. Sources read on 2026-11-30: verl ``verl/trainer/ppo/core_algos.py`` (volcengine/verl at
b178a3cd, 2026-01-29); the GPG authors' trainers (AMAP-ML/GPG at e096da8c); NVlabs/GDPO at b080e63d. Below
s(y) = ∇log π(y), J = E[R], and "the update" is (1/G)Σ_i A_i s(y_i) for one group of G i.i.d. responses.

* ``remax`` — A_i = R_i − R(ŷ), ŷ the greedy response (``greedy_rewards [...]``, one per group). ReMax (Li et al.
  2023, arXiv 2310.10505); verl ``compute_remax_outcome_advantage`` (``reward_baselines``; its token-level returns
  equal R_i on every token for an outcome reward). The greedy response depends on θ only, so E[update] = ∇J exactly.
* ``opo`` — A_i = R_i − b, b = Σ_j L_j R_j / Σ_j L_j with response lengths ``lengths [..., G]`` (the optimal baseline
  E[‖s‖²R]/E[‖s‖²] with ‖s‖² ∝ L; Hao et al. 2025, arXiv 2505.23585; verl ``compute_opo_outcome_advantage``, which
  gives singleton groups baseline 0). b contains R_i, so OPO is **biased**: by exchangeability
  E[update] = ∇J − E[b(y_{1:G})·s(y_1)]; with equal lengths b = R̄ and E[update] = (1 − 1/G)∇J; at G = 2
  E[update] = Σ_{y,y'} π(y)π(y') L(y')/(L(y) + L(y'))·(R(y) − R(y'))·s(y) (pair weight L(y')/(L(y)+L(y')) where
  ∇J has 1). ``leave_one_out=True`` (b_{−i} over j ≠ i; an addition here, not verl's) does not depend on y_i: exactly
  unbiased.
* ``gpg`` — rewards ``[..., B, G]``: A = α(R_i − R̄_group)/F_norm (GPG, Chu et al. 2025, arXiv 2504.02546).
  ``rescale="valid_groups"`` (default; the GPG authors' open-r1 ``gpg_trainer.py`` divides the loss by
  max(1 − M/B, 0.05), M the groups whose rewards are all equal): α = 1/max((B − M)/B, 0.05). For B ≤ 20 i.i.d.
  groups and q = P(a group's G rewards are all equal), E[(1/B)Σ_groups update] = (1 − q^B)/(1 − q)·(1 − 1/G)·∇J
  exactly (α averages the update over the valid groups only: E[update | valid] = E[update]/(1 − q), and no valid
  group has probability q^B). ``rescale="nonzero_rewards"`` reproduces verl's ``compute_gpg_outcome_advantage``,
  whose α = (B·G)/#{responses with R ≠ 0} — the count of non-zero *rewards*, not of valid groups (for binary
  rewards α = 1/batch accuracy); its expectation has no closed form (enumerate). verl's ``f_norm`` = F_norm (1).
* ``grpo_passk`` — verl's ``compute_grpo_passk_outcome_advantage`` (verl cites arXiv 2503.19595; not verified against
  that paper's text): only the best response gets r_max − r_second, divided by (Bessel std + ε) with ``norm_by_std``
  (verl's default ``norm_adv_by_std_in_grpo=True``, ε = 1e-6). Without the std this is the leave-one-out advantage
  max_j R_j − max_{j≠i} R_j (0 for all but a unique best), and max_{j≠i} R_j does not depend on y_i, so
  E[update] = (1/G)∇E[max_{j≤G} R_j] exactly (derived here); with the std, biased. Not the ``pass_at_k`` above.
* ``gdpo`` — multi-reward: rewards ``[..., B, G, K]`` (component axis last, as TRL's ``rewards_per_func [N, K]``) →
  advantages ``[..., B, G]``: each component GRPO-normalised in its group (Bessel std + ε), the K results summed with
  ``weights [K]``, the sums normalised over the B·G responses of the batch (Bessel std + ε), ε = 1e-4 — as
  NVlabs/GDPO ``trl-GDPO/.../grpo_trainer.py`` (``apply_gdpo``; GDPO, arXiv 2601.05242). For B = 1, G = 2,
  ε = 0, A_1 = sign(Σ_k w_k sign(r_k(y_1) − r_k(y_2)))/√2: a weighted majority vote of the components, so
  E[update] = (1/√2)Σ_y π(y) v(y) s(y) with v(y) = E_{y'∼π} sign(Σ_k w_k sign(r_k(y) − r_k(y'))) — whereas GRPO on
  the summed reward votes with sign(Σ_k w_k (r_k(y) − r_k(y'))). (NVlabs' verl-GDPO variant sums two components
  without weights and whitens per token with verl's ``masked_whiten``; that length-weighted version is not
  reproduced here. TRL-GDPO replaces NaN rewards by 0; here non-finite rewards raise.)

The pairwise-consistency surrogate (seed L65, "group-relative REINFORCE is secretly off-policy"): with
u_i = R_i − τ log(π_θ(y_i)/π_old(y_i)),

.. math:: L(\theta) = \frac{1}{2G^2}\sum_{i,j}(u_i - u_j)^2 = \frac1G\sum_i (u_i - \bar u)^2,

whose minimisers over π make u constant on the sampled support — π ∝ π_old e^{R/τ} there, whatever
distribution the responses came from — and whose negative gradient at θ = θ_old is
(2τ/G)Σ_i (R_i − R̄)∇log π(y_i): the group-mean REINFORCE update, for samples from *any* μ.
"""
from __future__ import annotations

from typing import Any, Callable

import torch

from .._checks import as_tensor, check_finite, check_finite_result, check_real
from .._registry import Registry

__all__ = ["GROUP_ADVANTAGES", "group_advantages", "pairwise_consistency_loss", "beta_pdf", "per_group_values",
           "GPG_MIN_VALID_FRACTION"]

AdvFn = Callable[..., torch.Tensor]
GROUP_ADVANTAGES: Registry[AdvFn] = Registry("group advantage")


def _rewards(rewards: Any, name: str = "rewards") -> torch.Tensor:
    """A floating tensor (non-float input is converted to float64), finite."""
    if not (isinstance(rewards, torch.Tensor) and rewards.dtype.is_floating_point):
        rewards = as_tensor(rewards, name)
    return check_finite(rewards, name)


def _check(rewards: torch.Tensor, min_g: int = 1) -> torch.Tensor:
    rewards = _rewards(rewards)
    if rewards.ndim < 1 or rewards.shape[-1] < min_g:
        raise ValueError(f"rewards: expected a group axis of at least {min_g} responses (last axis), got shape {tuple(rewards.shape)}")
    return rewards


def _check_eps(eps: float) -> float:
    return check_real(eps, "eps", low=0.0)


def _std(x: torch.Tensor, dims: tuple[int, ...], convention: str) -> torch.Tensor:
    """Std over ``dims`` (kept), Bessel (n − 1) or population (n) divisor; 0 where fewer than 2 values (no warning)."""
    n = 1
    for d in dims:
        n *= x.shape[d]
    if n < 2:
        return torch.zeros_like(x.sum(dims, keepdim=True))
    return x.std(dims, unbiased=convention == "bessel", keepdim=True)


def _check_convention(std: str) -> str:
    if std not in ("bessel", "population"):
        raise ValueError(f"std: expected 'bessel' (verl, TRL) or 'population', got {std!r}")
    return std


def _constant_groups(rewards: torch.Tensor) -> torch.Tensor:
    """``[..., 1]``: True where every reward of the group (last axis) is equal."""
    return (rewards == rewards[..., :1]).all(-1, keepdim=True)


def _centred(rewards: torch.Tensor) -> torch.Tensor:
    """R_i − R̄ over the last axis, exactly 0 in a constant group (no round-off residue of R̄)."""
    centred = rewards - rewards.mean(-1, keepdim=True)
    return torch.where(_constant_groups(rewards), torch.zeros_like(centred), centred)


def _std_normalised(rewards: torch.Tensor, std: torch.Tensor, eps: float) -> torch.Tensor:
    """(R − R̄_group)/(std + eps), defined as 0 in a constant group or where std + eps = 0 — never 0/0."""
    if not bool(torch.isfinite(std).all()):
        raise ValueError("rewards: their standard deviation overflows float64 (|rewards| too large to normalise)")
    den = std + eps
    zero = _constant_groups(rewards) | (den == 0)
    return torch.where(zero, torch.zeros_like(rewards), _centred(rewards) / torch.where(zero, torch.ones_like(den), den))


@GROUP_ADVANTAGES.register("mean")
def mean_advantage(rewards: torch.Tensor) -> torch.Tensor:
    """R_i − R̄ (group mean including the sample itself)."""
    return rewards - rewards.mean(-1, keepdim=True)


@GROUP_ADVANTAGES.register("rloo")
def rloo_advantage(rewards: torch.Tensor) -> torch.Tensor:
    """R_i − mean_{j≠i} R_j (needs G ≥ 2)."""
    rewards = _check(rewards, 2)
    G = rewards.shape[-1]
    return G / (G - 1) * (rewards - rewards.mean(-1, keepdim=True))


@GROUP_ADVANTAGES.register("grpo")
def grpo_advantage(rewards: torch.Tensor, *, eps: float = 1e-6, std: str = "bessel", singleton: str = "zero") -> torch.Tensor:
    """(R_i − R̄)/(std(R) + ε), ε ≥ 0; ``std`` 'bessel' (default, as verl and TRL) or 'population'.

    Zero-std convention (TRL's GRPO also gives such groups 0): in a group whose rewards are all equal the
    advantages are exactly 0, for every ε including ε = 0 (no 0/0), and likewise wherever std + ε underflows to 0.
    Singleton groups: 0 (``singleton="zero"``) or the raw reward (``singleton="reward"``, verl's convention).
    """
    eps = _check_eps(eps)
    std = _check_convention(std)
    if singleton not in ("zero", "reward"):
        raise ValueError(f"singleton: expected 'zero' or 'reward' (verl), got {singleton!r}")
    if rewards.shape[-1] == 1 and singleton == "reward":
        return rewards.clone()
    return _std_normalised(rewards, _std(rewards, (-1,), std), eps)


@GROUP_ADVANTAGES.register("group_mean_batch_std")
def group_mean_batch_std_advantage(rewards: torch.Tensor, *, eps: float = 1e-6, batch_dim: int = -2,
                                   std: str = "bessel") -> torch.Tensor:
    """(R_i − R̄_group) / (std over the groups of the batch + ε), ε ≥ 0; rewards ``[..., B, G]``.

    The std pools the group axis (−1) and ``batch_dim`` (default −2, the groups of one batch) only, so other
    leading axes (independent replicate batches) are normalised separately. Zero-std convention as for ``grpo``:
    advantages are exactly 0 in a group whose rewards are all equal, and everywhere when the batch std + ε is 0.
    """
    eps = _check_eps(eps)
    std = _check_convention(std)
    if rewards.ndim < 2:
        raise ValueError(f"rewards: group_mean_batch_std needs a batch axis and a group axis [..., B, G], got shape "
                         f"{tuple(rewards.shape)}")
    if isinstance(batch_dim, bool) or not isinstance(batch_dim, int) or not -rewards.ndim <= batch_dim < rewards.ndim:
        raise ValueError(f"batch_dim: expected an axis of rewards (ndim {rewards.ndim}), got {batch_dim!r}")
    bd = batch_dim % rewards.ndim
    if bd == rewards.ndim - 1:
        raise ValueError("batch_dim: must differ from the group axis (−1)")
    return _std_normalised(rewards, _std(rewards, (bd, rewards.ndim - 1), std), eps)


def per_group_values(x: Any, name: str, rewards: torch.Tensor) -> torch.Tensor:
    """``x`` as one finite value per group, ``[..., 1]`` in the dtype and on the device of ``rewards [..., G]``.

    ``x`` is a scalar or has a shape broadcasting to rewards' shape without the group axis; otherwise ``ValueError``
    naming ``name``.
    """
    xt = check_finite(as_tensor(x, name, device=rewards.device), name)
    batch = tuple(rewards.shape[:-1])
    if xt.numel() == 1:
        xt = xt.reshape(())
    try:
        ok = torch.broadcast_shapes(xt.shape, batch) == batch
    except RuntimeError:
        ok = False
    if not ok:
        raise ValueError(f"{name}: expected a scalar or a shape broadcasting to {batch} (rewards without the group axis), "
                         f"got {tuple(xt.shape)}")
    return xt.expand(batch)[..., None].to(rewards.dtype)


def beta_pdf(p: torch.Tensor, a: float, b: float) -> torch.Tensor:
    """Beta(a, b) density at p ∈ [0, 1] (0 where it vanishes at an endpoint); a, b > 0."""
    a = check_real(a, "a", low=0.0, low_open=True)
    b = check_real(b, "b", low=0.0, low_open=True)
    p = check_finite(p, "p")
    if bool(((p < 0) | (p > 1)).any()):
        raise ValueError("p: must lie in [0, 1]")
    const = lambda x: torch.tensor(x, dtype=p.dtype, device=p.device)  # noqa: E731  (on p's device: CUDA-safe)
    lg = torch.lgamma(const(a + b)) - torch.lgamma(const(a)) - torch.lgamma(const(b))
    return torch.exp(lg + torch.xlogy(const(a - 1), p) + torch.xlogy(const(b - 1), 1 - p))


@GROUP_ADVANTAGES.register("bnpo")
def bnpo_advantage(rewards: torch.Tensor, *, alpha: float = 1.5, beta: float = 1.5, p: torch.Tensor | None = None) -> torch.Tensor:
    """(R_i − p)/Beta(α, β) density at p; p = the true success probability ``[...]`` (rewards' shape without the group
    axis, or broadcasting to it) if given, else the group mean (in [0, 1]). Output: rewards' shape."""
    alpha = check_real(alpha, "alpha", low=0.0, low_open=True)
    beta = check_real(beta, "beta", low=0.0, low_open=True)
    if p is None:
        pp = rewards.mean(-1, keepdim=True)
        if bool(((pp < 0) | (pp > 1)).any()):
            raise ValueError("rewards: BNPO's default p is the group mean reward, which must lie in [0, 1] (pass p=)")
    else:
        pp = per_group_values(p, "p", rewards)
        if bool(((pp < 0) | (pp > 1)).any()):
            raise ValueError("p: success probabilities must lie in [0, 1]")
    f = beta_pdf(pp, alpha, beta)
    return torch.where(f > 0, (rewards - pp) / torch.where(f > 0, f, torch.ones_like(f)), torch.zeros_like(rewards))


@GROUP_ADVANTAGES.register("pass_at_k")
def pass_at_k_advantage(rewards: torch.Tensor, *, k: int = 2) -> torch.Tensor:
    """k·Ĉ_{−i}·(R_i − mean_{j≠i} R_j) for binary rewards (unbiased for ∇pass@k with (1/n)Σ A_i ∇log π)."""
    n = rewards.shape[-1]
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= n - 1:
        raise ValueError(f"k: must be an integer in [1, n − 1] = [1, {n - 1}] for groups of n = {n} rewards, got {k!r}")
    if bool(((rewards != 0) & (rewards != 1)).any()):
        raise ValueError("rewards: the pass@k advantage needs binary (0/1) rewards")
    c_others = rewards.sum(-1, keepdim=True) - rewards  # successes among the other n − 1
    fails = (n - 1) - c_others
    lg = torch.lgamma
    # C(fails, k−1)/C(n−1, k−1), zero when fails < k − 1
    ok = fails >= k - 1
    f = torch.where(ok, fails, torch.full_like(fails, float(k - 1)))
    const = lambda x: torch.tensor(float(x), dtype=rewards.dtype, device=rewards.device)  # noqa: E731
    log_ratio = (lg(f + 1) - lg(f - k + 2)) - (lg(const(n)) - lg(const(n - k + 1)))
    c_hat = torch.where(ok, torch.exp(log_ratio), torch.zeros_like(fails))
    loo = c_others / (n - 1)
    return k * c_hat * (rewards - loo)


GPG_MIN_VALID_FRACTION = 0.05  # GPG authors' open-r1 trainer: loss / max(1 − lr_ratio, 0.05)


def _check_flag(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name}: expected True or False, got {type(value).__name__}")
    return value


@GROUP_ADVANTAGES.register("remax")
def remax_advantage(rewards: torch.Tensor, *, greedy_rewards: torch.Tensor) -> torch.Tensor:
    """R_i − R(ŷ), ŷ the greedy response of the group's prompt: ``greedy_rewards [...]`` (or a scalar) → ``[..., G]``.

    Exactly unbiased: the greedy response is a function of θ alone, not of the sampled group.
    """
    return rewards - per_group_values(greedy_rewards, "greedy_rewards", rewards)


def _lengths(lengths: Any, rewards: torch.Tensor) -> torch.Tensor:
    """Response lengths with rewards' shape, positive and finite, in rewards' dtype and device."""
    L = check_finite(as_tensor(lengths, "lengths", device=rewards.device), "lengths")
    if L.shape != rewards.shape:
        raise ValueError(f"lengths: expected shape {tuple(rewards.shape)} (as rewards), got {tuple(L.shape)}")
    if bool((L <= 0).any()):
        raise ValueError("lengths: response lengths must be positive")
    return L.to(rewards.dtype)


@GROUP_ADVANTAGES.register("opo")
def opo_advantage(rewards: torch.Tensor, *, lengths: torch.Tensor, leave_one_out: bool = False) -> torch.Tensor:
    """R_i − Σ_j L_j R_j / Σ_j L_j (``lengths [..., G]``, the sum over j ≠ i with ``leave_one_out``).

    Singleton groups (G = 1) get baseline 0, as verl (``leave_one_out`` needs G ≥ 2).
    """
    L = _lengths(lengths, rewards)
    leave_one_out = _check_flag(leave_one_out, "leave_one_out")
    weighted = L * rewards
    if leave_one_out:
        rewards = _check(rewards, 2)
        return rewards - (weighted.sum(-1, keepdim=True) - weighted) / (L.sum(-1, keepdim=True) - L)
    if rewards.shape[-1] == 1:
        return rewards.clone()
    return rewards - weighted.sum(-1, keepdim=True) / L.sum(-1, keepdim=True)


def _gpg_scale(rewards: torch.Tensor, rescale: str) -> torch.Tensor:
    """α ``[..., 1, 1]`` for rewards ``[..., B, G]``: 1/max(valid-group fraction, 0.05), or BG/max(#{R ≠ 0}, 1)."""
    if rescale == "valid_groups":
        valid = (~_constant_groups(rewards)).to(rewards.dtype).mean(-2, keepdim=True)
        return 1.0 / valid.clamp(min=GPG_MIN_VALID_FRACTION)
    if rescale == "nonzero_rewards":
        nonzero = (rewards != 0).to(rewards.dtype).sum((-2, -1), keepdim=True)
        return rewards.shape[-2] * rewards.shape[-1] / nonzero.clamp(min=1.0)
    raise ValueError(f"rescale: expected 'valid_groups' (GPG authors) or 'nonzero_rewards' (verl), got {rescale!r}")


@GROUP_ADVANTAGES.register("gpg")
def gpg_advantage(rewards: torch.Tensor, *, rescale: str = "valid_groups", f_norm: float = 1.0) -> torch.Tensor:
    """α·(R_i − R̄_group)/F_norm for rewards ``[..., B, G]`` (B groups of one batch, G ≥ 2); α from ``rescale``.

    Constant groups get exactly 0. Leading axes before B are independent batches, each with its own α.
    """
    f_norm = check_real(f_norm, "f_norm", low=0.0, low_open=True)
    if rewards.ndim < 2:
        raise ValueError(f"rewards: gpg needs a batch axis and a group axis [..., B, G], got shape {tuple(rewards.shape)}")
    rewards = _check(rewards, 2)
    return _gpg_scale(rewards, rescale) * _centred(rewards) / f_norm


@GROUP_ADVANTAGES.register("grpo_passk")
def grpo_passk_advantage(rewards: torch.Tensor, *, eps: float = 1e-6, norm_by_std: bool = True) -> torch.Tensor:
    """Only the best response of a group gets r_max − r_second (÷ (Bessel std + ε) with ``norm_by_std``); G ≥ 2.

    Ties for the best give every response 0; so does a zero denominator (std + ε = 0 only if all rewards are equal).
    """
    eps = _check_eps(eps)
    norm_by_std = _check_flag(norm_by_std, "norm_by_std")
    rewards = _check(rewards, 2)
    top = rewards.topk(2, dim=-1)
    gap = top.values[..., :1] - top.values[..., 1:]
    if norm_by_std:
        den = _std(rewards, (-1,), "bessel") + eps
        zero = (gap == 0) | (den == 0)
        gap = torch.where(zero, torch.zeros_like(gap), gap / torch.where(zero, torch.ones_like(den), den))
    return torch.zeros_like(rewards).scatter(-1, top.indices[..., :1], gap)


def _component_weights(weights: Any, rewards: torch.Tensor) -> torch.Tensor:
    """``[K]`` reward-component weights (default all 1), finite, in rewards' dtype and device."""
    K = rewards.shape[-1]
    if weights is None:
        return torch.ones(K, dtype=rewards.dtype, device=rewards.device)
    w = check_finite(as_tensor(weights, "weights", device=rewards.device), "weights")
    if tuple(w.shape) != (K,):
        raise ValueError(f"weights: expected one weight per reward component, shape ({K},), got {tuple(w.shape)}")
    return w.to(rewards.dtype)


@GROUP_ADVANTAGES.register("gdpo")
def gdpo_advantage(rewards: torch.Tensor, *, weights: torch.Tensor | None = None, eps: float = 1e-4) -> torch.Tensor:
    """GDPO for rewards ``[..., B, G, K]`` (K reward components last) → advantages ``[..., B, G]``.

    Each component is GRPO-normalised within its group (Bessel std + ε), the K results are summed with ``weights``
    ``[K]`` (default 1), and the sums are normalised over the B·G responses of the batch (Bessel std + ε). Zero-std
    convention as ``grpo``: a constant component or a constant batch contributes exactly 0.
    """
    eps = _check_eps(eps)
    if rewards.ndim < 3:
        raise ValueError(f"rewards: gdpo needs [..., B, G, K] (batch, group, reward-component axes), got shape "
                         f"{tuple(rewards.shape)}")
    w = _component_weights(weights, rewards)
    per_component = rewards.movedim(-1, -3)  # [..., K, B, G]
    normalised = _std_normalised(per_component, _std(per_component, (-1,), "bessel"), eps)
    summed = (w[:, None, None] * normalised).sum(-3)  # [..., B, G]
    flat = summed.reshape(*summed.shape[:-2], -1)
    return _std_normalised(flat, _std(flat, (-1,), "bessel"), eps).reshape(summed.shape)


def group_advantages(rewards: torch.Tensor, kind: str = "mean", **kwargs) -> torch.Tensor:
    """Advantages of the named kind for rewards ``[..., G]`` (same shape; ``gdpo`` maps ``[..., B, G, K]`` to
    ``[..., B, G]``).

    Keywords are those of the chosen kind (``eps=, std=`` for grpo and group_mean_batch_std, ``singleton=`` for
    grpo, ``batch_dim=`` for group_mean_batch_std, ``alpha=, beta=, p=`` for bnpo,
    ``k=`` for pass_at_k, ``greedy_rewards=`` (required) for remax, ``lengths=`` (required), ``leave_one_out=`` for
    opo, ``rescale=, f_norm=`` for gpg, ``eps=, norm_by_std=`` for grpo_passk, ``weights=, eps=`` for gdpo); any
    other raises ``TypeError``. Std-normalising kinds define the advantage as 0 where the std is 0 (see
    :func:`grpo_advantage`), so the output is never NaN.
    """
    fn = GROUP_ADVANTAGES.resolve(kind, kwargs, n_positional=1, arg="kind")
    return check_finite_result(fn(_check(rewards), **kwargs), "rewards", f"{kind} advantage (overflow)")


def pairwise_consistency_loss(rewards: torch.Tensor, log_ratio: torch.Tensor, tau: float) -> torch.Tensor:
    """(1/G)Σ_i (u_i − ū)², u = R − τ·log(π_θ/π_old), per group: ``[...]`` (differentiable in ``log_ratio``)."""
    rewards = _check(rewards)
    check_finite(log_ratio.detach() if isinstance(log_ratio, torch.Tensor) else log_ratio, "log_ratio")
    if log_ratio.shape != rewards.shape:
        raise ValueError(f"log_ratio: expected shape {tuple(rewards.shape)} (as rewards), got {tuple(log_ratio.shape)}")
    tau = check_real(tau, "tau", low=0.0, low_open=True)
    u = rewards - tau * log_ratio
    return check_finite_result(((u - u.mean(-1, keepdim=True)) ** 2).mean(-1), "rewards, log_ratio, tau", "loss (overflow)")
