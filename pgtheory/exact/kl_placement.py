r"""Where a per-token KL estimator is placed in an LLM policy-gradient loss, and what its expected gradient is —
exactly, by enumerating every response of a toy sequence task.

Responses y ∼ π_s(·|q) (the sampler: π_θ detached on-policy, π_old when the batch is stale); per token
t < |y| the log-ratio ℓ_t = log π_ref(y_t|q,y_<t) − log π_θ(y_t|q,y_<t) and a KL estimator k ∈ {k1, k2, k3}
(:mod:`pgtheory.estimators.divergences`), k_t = k(ℓ_t). A *placement* is a per-response scalar s(y; θ) whose
autograd gradient, averaged over y ∼ π_s with π_s held fixed, is the expected gradient the trainer follows
(the KL term is minimised, so it is compared with +∇KL):

========================  ====================================================  =====================================
placement                 per-response scalar s(y; θ)                           used by
========================  ====================================================  =====================================
``loss``                  Σ_t k_t                                               GRPO "KL in the loss" (TRL, verl),
                                                                                NeMo-RL before its PR #2506
``loss_token_is``         Σ_t ρ_t k_t,  ρ_t = π_θ(y_t|·)/π_s(y_t|·) (with grad)  TRL ``use_bias_correction_kl``,
                                                                                ``importance_sampling_level="token"``
``loss_sequence_is``      exp(mean_t log ρ_t) · Σ_t k_t  (with grad)            the same flag with ``"sequence"``
``loss_token_score``      Σ_t [k_t + sg(k_t) log π_θ(y_t|·)]                    a token-local score-term fix
``loss_sequence_score``   Σ_t k_t + sg(Σ_t k_t) log π_θ(y)                      ∇E_{y∼π_θ}[Σ_t k_t] (score term of y)
``reward``                sg(w(y) Σ_t k(ℓ^s_t)) log π_θ(y),  ℓ^s = log π_ref −   "KL in the reward" (REINFORCE with
                          log π_s frozen at sampling, w = π_θ(y)/π_s(y)          sequence importance weight w)
========================  ====================================================  =====================================

sg = stop-gradient. Targets: the sequence reverse KL KL(π_θ‖π_ref) = Σ_q w_q Σ_y π_θ(y|q) log(π_θ(y|q)/π_ref(y|q)),
the forward KL(π_ref‖π_θ), and the *token-level* (prefix-frozen) KL gradient

.. math:: g^{\rm tok}_{\rm rev} = \nabla_\theta \sum_q w_q \sum_{p} \mathrm{sg}[P_s(p\mid q)]\,
          \mathrm{KL}\big(\pi_\theta(\cdot\mid q,p)\,\|\,\pi_{\rm ref}(\cdot\mid q,p)\big),

P_s(p|q) the probability that a response from π_s passes through the non-terminal prefix p. By the chain rule
KL(π_θ‖π_ref) = Σ_p P_θ(p) KL_p, so ∇KL_seq = g^tok_rev (at π_s = π_θ) + Σ_p KL_p ∇P_θ(p): the token-level
gradient misses how θ moves the prefixes. Derivations (on-policy, π_s = π_θ): ``loss`` with k1 → 0, with k2 →
g^tok_rev, with k3 → g^tok_fwd (forward per-token KL, prefix-frozen); ``loss_token_is`` with k3 → g^tok_rev (per
token ∇(ρ k3) = ρ log(π_θ/π_ref) ∇log π_θ); ``loss_sequence_score`` → ∇E_{π_θ}[Σ_t k_t], = ∇KL_seq for k1 and k3;
``reward`` with k1 → ∇KL_seq. Each is checked by enumeration in ``tests/test_practice_kl.py``.

All functions take one parameter table θ ``[M, P, V]`` (no batch dimensions) and return gradients of that shape;
the task's prompt weights w_q weight the prompts.
"""
from __future__ import annotations

import torch

from ..estimators.divergences import KL_ESTIMATORS, kl_estimate
from ..policies.sequence import TabularSequencePolicy
from .sequence import prefix_extensions

__all__ = ["KL_PLACEMENTS", "kl_placement_surrogates", "kl_placement_per_response_gradients",
           "kl_placement_expected_gradient", "sequence_kl_gradient", "token_level_kl_gradient", "prefix_reach"]

KL_PLACEMENTS = ("loss", "loss_token_is", "loss_sequence_is", "loss_token_score", "loss_sequence_score", "reward")


def _check(policy, theta, name: str) -> torch.Tensor:
    if not isinstance(policy, TabularSequencePolicy):
        raise TypeError(f"policy: expected a TabularSequencePolicy, got {type(policy).__name__}")
    t = policy.check_params(theta, name)
    if t.ndim != 3:
        raise ValueError(f"{name}: expected one parameter table [M, P, V], got shape {tuple(t.shape)}")
    return t


def _args(policy, theta, theta_ref, theta_sample, estimator, placement):
    th = _check(policy, theta, "theta")
    ref = _check(policy, theta_ref, "theta_ref").detach()
    smp = th.detach() if theta_sample is None else _check(policy, theta_sample, "theta_sample").detach()
    KL_ESTIMATORS.get(estimator, arg="estimator")
    if placement not in KL_PLACEMENTS:
        raise ValueError(f"placement: expected one of {KL_PLACEMENTS}, got {placement!r}")
    return th, ref, smp


def kl_placement_surrogates(policy: TabularSequencePolicy, theta, theta_ref, estimator: str, placement: str, *,
                            theta_sample=None) -> torch.Tensor:
    """s(y; θ) of the placement for every prompt and enumerated response, ``[M, N]``, differentiable in ``theta``.

    ``theta_sample``: the sampler's parameters (default: ``theta`` detached, i.e. on-policy).
    """
    th, ref, smp = _args(policy, theta, theta_ref, theta_sample, estimator, placement)
    mask = policy.task.mask.to(th.dtype)  # [N, L]
    lp = policy.sequence_token_log_probs(th)  # [M, N, L], 0 on padding
    lr = policy.sequence_token_log_probs(ref)
    ls = policy.sequence_token_log_probs(smp)
    k = kl_estimate(lr - lp, estimator) * mask  # k(0) = 0 for k1, k2, k3; the mask keeps padding out regardless
    if placement == "loss":
        return k.sum(-1)
    if placement == "loss_token_is":
        return (torch.exp(lp - ls) * k).sum(-1)
    if placement == "loss_sequence_is":
        mean_log_ratio = (lp - ls).sum(-1) / mask.sum(-1)
        return torch.exp(mean_log_ratio) * k.sum(-1)
    if placement == "loss_token_score":
        return (k + k.detach() * lp).sum(-1)
    if placement == "loss_sequence_score":
        return k.sum(-1) + k.sum(-1).detach() * lp.sum(-1)
    frozen = (kl_estimate(lr - ls, estimator) * mask).sum(-1)  # the penalty computed once, at sampling time
    w = torch.exp(lp.sum(-1) - ls.sum(-1)).detach()
    return (w * frozen) * lp.sum(-1)


def kl_placement_per_response_gradients(policy: TabularSequencePolicy, theta, theta_ref, estimator: str,
                                        placement: str, *, theta_sample=None) -> torch.Tensor:
    """∇_θ s(y; θ) for every prompt and response, ``[M, N, M·P·V]`` (flattened parameters): the per-sample gradient."""
    th = _check(policy, theta, "theta")
    f = lambda t: kl_placement_surrogates(policy, t, theta_ref, estimator, placement, theta_sample=theta_sample)  # noqa: E731
    jac = torch.autograd.functional.jacobian(f, th.detach(), vectorize=True)  # [M, N, M, P, V]
    return jac.reshape(*jac.shape[:2], -1)


def _sampler_probs(policy, theta, theta_sample) -> torch.Tensor:
    smp = theta if theta_sample is None else theta_sample
    return policy.sequence_log_probs(smp.detach()).exp()  # [M, N]


def kl_placement_expected_gradient(policy: TabularSequencePolicy, theta, theta_ref, estimator: str, placement: str, *,
                                   theta_sample=None) -> torch.Tensor:
    """E_q E_{y∼π_s(·|q)} ∇_θ s(y; θ), exactly, ``[M, P, V]``."""
    th, _, _ = _args(policy, theta, theta_ref, theta_sample, estimator, placement)
    p = _sampler_probs(policy, th, theta_sample) * policy.task.prompt_weights.to(th)[:, None]
    with torch.enable_grad():
        t = th.detach().requires_grad_(True)
        s = kl_placement_surrogates(policy, t, theta_ref, estimator, placement, theta_sample=theta_sample)
        (g,) = torch.autograd.grad((p * s).sum(), t)
    return g


def _sequence_kl(policy, a, b) -> torch.Tensor:
    la, lb = policy.sequence_log_probs(a), policy.sequence_log_probs(b)
    return (policy.task.prompt_weights.to(la) * (la.exp() * (la - lb)).sum(-1)).sum()


def sequence_kl_gradient(policy: TabularSequencePolicy, theta, theta_ref, *, direction: str = "reverse") -> torch.Tensor:
    """∇_θ Σ_q w_q KL(π_θ‖π_ref) (``"reverse"``) or KL(π_ref‖π_θ) (``"forward"``), sequence level, ``[M, P, V]``."""
    th = _check(policy, theta, "theta")
    ref = _check(policy, theta_ref, "theta_ref").detach()
    if direction not in ("reverse", "forward"):
        raise ValueError(f"direction: expected 'reverse' or 'forward', got {direction!r}")
    with torch.enable_grad():
        t = th.detach().requires_grad_(True)
        kl = _sequence_kl(policy, t, ref) if direction == "reverse" else _sequence_kl(policy, ref, t)
        (g,) = torch.autograd.grad(kl, t)
    return g


def prefix_reach(policy: TabularSequencePolicy, theta) -> torch.Tensor:
    """P_θ(p|q): probability that a response passes through non-terminal prefix p, ``[M, P]``."""
    th = _check(policy, theta, "theta")
    ext = prefix_extensions(policy.task).to(th.dtype)  # [P, N]
    return policy.sequence_log_probs(th).exp() @ ext.T


def token_level_kl_gradient(policy: TabularSequencePolicy, theta, theta_ref, *, theta_sample=None,
                            direction: str = "reverse") -> torch.Tensor:
    """∇_θ Σ_q w_q Σ_p sg[P_s(p|q)] KL_p(θ) with prefixes frozen at the sampler's reach, ``[M, P, V]``.

    KL_p = KL(π_θ(·|q,p)‖π_ref(·|q,p)) (``"reverse"``) or KL(π_ref(·|q,p)‖π_θ(·|q,p)) (``"forward"``).
    """
    th = _check(policy, theta, "theta")
    ref = _check(policy, theta_ref, "theta_ref").detach()
    if direction not in ("reverse", "forward"):
        raise ValueError(f"direction: expected 'reverse' or 'forward', got {direction!r}")
    smp = th.detach() if theta_sample is None else _check(policy, theta_sample, "theta_sample").detach()
    reach = prefix_reach(policy, smp).detach() * policy.task.prompt_weights.to(th)[:, None]
    lref = policy.token_log_probs(ref)
    with torch.enable_grad():
        t = th.detach().requires_grad_(True)
        lt = policy.token_log_probs(t)
        a, b = (lt, lref) if direction == "reverse" else (lref, lt)
        kl_p = (a.exp() * (a - b)).sum(-1)  # [M, P]
        (g,) = torch.autograd.grad((reach * kl_p).sum(), t)
    return g
