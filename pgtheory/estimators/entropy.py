r"""Entropy in LLM-RL practice: the per-token entropy bonus, adaptive entropy coefficients, top-entropy token masks.

Entropy bonus. Practitioners add −c·Ĥ to the policy loss, with Ĥ the entropy of the *full* next-token distribution
at each prefix, aggregated over the tokens of the batch:
H_t = logsumexp(z_t) − Σ_v softmax(z_t)_v z_{t,v} (verl ``verl.utils.torch_functional.entropy_from_logits``) and
Ĥ = ``agg_loss(entropy, response_mask, loss_agg_mode)`` (verl ``core_algos.agg_loss``; Skywork-OR1 uses
``masked_mean`` = ``token_mean``). Read on 2026-11-30. By the chain rule of entropy, with ``seq_mean_token_sum``
aggregation E[Σ_t H_t] = H(π(·|q)), the entropy of the response distribution. But autograd through H_t on sampled
responses treats the distribution of prefixes as fixed: for the tabular sequence policy

.. math:: \mathbb E\Big[\nabla_\theta \sum_t H_t\Big] - \nabla_\theta H(\pi(\cdot|q)) = -\sum_p H(q,p)\,\nabla_\theta\pi(p\mid q),

(:func:`entropy_bonus_gradient_bias`): the practitioners' entropy gradient is biased for the gradient of the
sequence entropy (it misses the score-function term E[Σ_t H_t Σ_{t'<t} ∇log π(y_{t'})]).

Adaptive coefficients (registry :data:`ENTROPY_CONTROLLERS`; both public codes feed the controller the batch's
token-mean of −log π(y_t), a Monte Carlo estimate of the entropy, not the full-distribution entropy):

* ``sac_log_alpha`` — multiplicative: α ← α·exp(lr·(H_target − Ĥ)), one plain gradient step on log α of the SAC
  temperature loss −log α·(log π + H_target) (Haarnoja et al. 2018; stable-baselines3 ``SAC.train``, which takes the
  step with Adam instead, so its update is this one only up to Adam's normalisation);
* ``skywork_or1`` — additive: c ← clip(c + Δ if Ĥ < H_target else c − Δ, c_min, c_max), and the bonus is applied
  only while Ĥ < H_target (effective coefficient c·1[Ĥ < H_target]). Skywork-OR1 ``EntController.update``
  (SkyworkAI/Skywork-OR1 ``verl/trainer/ppo/core_algos.py`` at 64e96afa, read on 2026-11-30; He et al. 2025,
  "adaptive entropy control").

Top-entropy token masks ("Beyond the 80/20 rule", Wang et al. 2025, arXiv:2506.01939): the policy gradient is kept on
the highest-entropy fraction ρ = 0.2 of the batch's response tokens only.

* :func:`top_entropy_mask` — the authors' ``get_global_entropy_top_mask`` (Shenzhi-Wang/Beyond-the-80-20-Rule-RLVR
  ``verl/trainer/ppo/core_algos.py`` at 92731584, read on 2026-11-30): exactly k = max(1, int(n·ρ + 0.9999)) of the
  n response tokens of the whole batch tensor, chosen by ``torch.topk``; we break ties by position (stable sort), where
  ``torch.topk`` leaves them unspecified;
* :func:`entropy_quantile_mask` — TRL ``GRPOTrainer.get_high_entropy_mask`` (``top_entropy_quantile``, default 1.0 =
  no mask; read on 2026-11-30): H_t ≥ torch.quantile(batch entropies, 1 − ρ) (linear interpolation), so ties at the
  threshold are all kept.

Exact bias of a top-entropy mask (tabular sequence policy): the entropy at a token is a function of its prefix, so a
*fixed* threshold τ selects whole prefixes, and since E[(R − b(p)) ∇log π(y_t|p) | p] is the block of ∇J at θ[q,p,·],
the masked estimator has mean 1[H(q,p) ≥ τ] ⊙ ∇J blockwise: bias −1[H(q,p) < τ] ⊙ ∇J. A random mask that keeps each
token independently with probability ρ has mean ρ∇J: bias −(1−ρ)∇J, a pure shrinkage. A batch-level threshold
depends on the other tokens of the batch (including later tokens of the same response), which adds a finite-batch term
with no closed form (computed by enumeration in the tests).
"""
from __future__ import annotations

import math
from typing import Callable, NamedTuple

import torch

from .._checks import as_tensor, check_finite, check_finite_result, check_mask, check_real, check_shape
from .._registry import Registry
from ..exact.sequence import prefix_extensions
from ..policies.sequence import TabularSequencePolicy
from .aggregation import aggregation_weights

__all__ = [
    "token_entropy",
    "entropy_bonus",
    "entropy_bonus_gradient_bias",
    "EntropyCoefficient",
    "ENTROPY_CONTROLLERS",
    "update_entropy_coefficient",
    "top_entropy_mask",
    "entropy_quantile_mask",
    "entropy_threshold_mask",
]


def _check_logits(logits) -> torch.Tensor:
    if not isinstance(logits, torch.Tensor) or not logits.dtype.is_floating_point:
        raise TypeError("logits: expected a floating-point torch.Tensor [..., V]")
    if logits.ndim == 0 or logits.shape[-1] == 0:
        raise ValueError(f"logits: expected shape [..., V] with V >= 1, got {tuple(logits.shape)}")
    check_finite(logits.detach(), "logits")
    return logits


def token_entropy(logits: torch.Tensor) -> torch.Tensor:
    """H = logsumexp(z) − Σ_v softmax(z)_v z_v (nats) of each next-token distribution: ``[..., V] → [...]``.

    verl ``entropy_from_logits``; differentiable in the logits.
    """
    z = _check_logits(logits)
    return torch.logsumexp(z, -1) - (torch.softmax(z, -1) * z).sum(-1)


def entropy_bonus(logits: torch.Tensor, mask, kind: str = "token_mean") -> torch.Tensor:
    r"""Ĥ_b = Σ_{i,t} w_{i,t} H_{b,i,t} per batch b, ``logits [..., G, L, V]``, ``mask [..., G, L]`` → ``[...]``.

    w from :func:`~pgtheory.estimators.aggregation_weights` (``kind``: ``token_mean`` as Skywork-OR1 and verl's default
    ``loss_agg_mode``, ``seq_mean_token_sum`` whose expectation is the sequence entropy, …). Differentiable in the
    logits: its autograd gradient is the practitioners' entropy gradient.
    """
    H = token_entropy(logits)
    mask = check_mask(mask, "mask")
    check_shape(mask, "mask", tuple(H.shape), "logits.shape[:-1]")
    w = aggregation_weights(mask.to(H.device), kind)
    return check_finite_result((w.to(H.dtype) * H).sum((-2, -1)), "logits", "entropy bonus")


def entropy_bonus_gradient_bias(policy: TabularSequencePolicy, theta) -> torch.Tensor:
    r"""E[∇_θ Σ_t H_t] − ∇_θ Σ_q w_q H(π(·|q)) = −Σ_q w_q Σ_p H(q,p) ∇_θ π(p|q): ``[M, P, V]`` (one θ table).

    π(p|q) is the probability that a response passes through prefix p; the practitioners' gradient (autograd through
    H_t on sampled responses, ``seq_mean_token_sum``) omits exactly this term.
    """
    if not isinstance(policy, TabularSequencePolicy):
        raise TypeError(f"policy: expected a TabularSequencePolicy, got {type(policy).__name__}")
    theta = check_shape(policy.check_params(theta), "theta", policy.param_shape, "one table [M, P, V]")
    ext = prefix_extensions(policy.task).to(device=theta.device, dtype=theta.dtype)  # [P, N]
    H = token_entropy(theta)  # [M, P]
    w = policy.task.prompt_weights.to(theta.device)
    with torch.enable_grad():
        th = theta.detach().requires_grad_(True)
        reach = policy.sequence_log_probs(th).exp() @ ext.T  # [M, P]
        (g,) = torch.autograd.grad((w[:, None] * H.detach() * reach).sum(), th)
    return check_finite_result(-g, "theta", "entropy-gradient bias")


class EntropyCoefficient(NamedTuple):
    """A controller's output: the coefficient it carries to the next step and the one the loss uses there."""

    value: float  #: the controller's state
    effective: float  #: the coefficient multiplying the entropy bonus at the next step


ControllerFn = Callable[..., EntropyCoefficient]
ENTROPY_CONTROLLERS: Registry[ControllerFn] = Registry("entropy controller")


@ENTROPY_CONTROLLERS.register("sac_log_alpha")
def sac_log_alpha_step(coef: float, entropy: float, *, target: float, lr: float) -> EntropyCoefficient:
    """α ← α·exp(lr·(H_target − Ĥ)): a gradient step of size ``lr`` on log α of −log α·(log π + H_target)."""
    target = check_real(target, "target")
    lr = check_real(lr, "lr", low=0.0)
    try:
        value = coef * math.exp(lr * (target - entropy))
    except OverflowError:
        raise ValueError(f"lr: lr·(target − entropy) = {lr * (target - entropy):.6g} overflows exp") from None
    return EntropyCoefficient(value, value)


@ENTROPY_CONTROLLERS.register("skywork_or1")
def skywork_entropy_step(coef: float, entropy: float, *, target: float, delta: float, max_coef: float,
                         min_coef: float = 0.0) -> EntropyCoefficient:
    """c ← clip(c ± Δ, c_min, c_max) (+ when Ĥ < H_target), effective c·1[Ĥ < H_target] (Skywork-OR1 EntController)."""
    target = check_real(target, "target")
    delta = check_real(delta, "delta", low=0.0)
    min_coef = check_real(min_coef, "min_coef")
    max_coef = check_real(max_coef, "max_coef", low=min_coef)
    below = entropy < target
    value = min(max(coef + delta if below else coef - delta, min_coef), max_coef)
    return EntropyCoefficient(value, value * float(below))


def update_entropy_coefficient(coef: float, entropy: float, rule: str = "skywork_or1", **kwargs) -> EntropyCoefficient:
    """One step of the named controller (:data:`ENTROPY_CONTROLLERS`) from coefficient ``coef`` and measured ``entropy``.

    Keywords are the rule's (``target``, and ``lr`` or ``delta``/``max_coef``/``min_coef``); an unknown one raises.
    """
    fn = ENTROPY_CONTROLLERS.resolve(rule, kwargs, n_positional=2, arg="rule")
    coef = check_real(coef, "coef", low=0.0)
    entropy = check_real(entropy, "entropy")
    return fn(coef, entropy, **kwargs)


def _check_entropy_and_mask(entropy, mask) -> tuple[torch.Tensor, torch.Tensor]:
    H = check_finite(as_tensor(entropy, "entropy"), "entropy")
    m = check_mask(mask, "mask").to(H.device)
    check_shape(m, "mask", tuple(H.shape), "as entropy")
    return H, m


def _check_ratio(top_ratio) -> float:
    return check_real(top_ratio, "top_ratio", low=0.0, high=1.0, low_open=True)


def top_entropy_mask(entropy, mask, *, top_ratio: float = 0.2) -> torch.Tensor:
    """The k = max(1, int(n·ρ + 0.9999)) highest-entropy tokens among the n real tokens of the whole batch: bool, shape
    of ``entropy`` (any shape, e.g. [B, L]; ``mask`` the same). Ties are broken by flat position (earlier first);
    an all-padding batch gives an all-False mask. ``top_ratio`` ρ ∈ (0, 1]. "Beyond the 80/20 rule" convention.
    """
    H, m = _check_entropy_and_mask(entropy, mask)
    rho = _check_ratio(top_ratio)
    out = torch.zeros(H.numel(), dtype=torch.bool, device=H.device)
    positions = m.reshape(-1).nonzero().squeeze(1)
    n = positions.numel()
    if n == 0:
        return out.view(H.shape)
    k = max(1, int(n * rho + 0.9999))
    order = torch.sort(H.reshape(-1)[positions], descending=True, stable=True).indices
    out[positions[order[:k]]] = True
    return out.view(H.shape)


def entropy_quantile_mask(entropy, mask, *, top_ratio: float = 0.2) -> torch.Tensor:
    """H_t ≥ τ on real tokens, τ = ``torch.quantile`` (linear) of the batch's real-token entropies at 1 − ρ: bool.

    TRL's ``get_high_entropy_mask`` with ``top_entropy_quantile = ρ``; ties at τ are all kept, so more than ρ·n tokens
    may be selected. An all-padding batch gives an all-False mask.
    """
    H, m = _check_entropy_and_mask(entropy, mask)
    rho = _check_ratio(top_ratio)
    real = H[m]
    if real.numel() == 0:
        return torch.zeros_like(m)
    tau = torch.quantile(real, 1 - rho)
    return (H >= tau) & m


def entropy_threshold_mask(entropy, mask, *, threshold: float) -> torch.Tensor:
    """H_t ≥ τ on real tokens for a fixed ``threshold`` τ (the population limit of the batch masks): bool."""
    H, m = _check_entropy_and_mask(entropy, mask)
    return (H >= check_real(threshold, "threshold")) & m
