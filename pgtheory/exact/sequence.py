r"""Exact quantities for the toy sequence task, by enumerating every response.

For prompt q with weight w_q and response distribution π_θ(·|q) over the N enumerated responses:

.. math:: J(\theta) = \sum_q w_q \sum_y \pi_\theta(y|q) R(q,y),\qquad
          \mathrm{pass@}k(q) = 1 - (1 - p(q))^k,\ p(q) = \Pr_{y\sim\pi(\cdot|q)}[R(q,y) = 1].

All functions take parameters with leading batch dimensions and are differentiable in θ.
"""
from __future__ import annotations

import torch

from .._checks import check_positive_int
from ..policies.sequence import TabularSequencePolicy

__all__ = [
    "sequence_probs",
    "sequence_objective",
    "sequence_policy_gradient",
    "sequence_entropy",
    "sequence_kl",
    "success_probability",
    "pass_at_k",
    "prefix_extensions",
    "prefix_values",
]


def _check(policy, theta) -> torch.Tensor:
    if not isinstance(policy, TabularSequencePolicy):
        raise TypeError(f"policy: expected a TabularSequencePolicy, got {type(policy).__name__}")
    return policy.check_params(theta)


def sequence_probs(policy: TabularSequencePolicy, theta) -> torch.Tensor:
    """π_θ(y|q) for every prompt and enumerated response, ``[..., M, N]`` (each row sums to 1)."""
    theta = _check(policy, theta)
    return policy.sequence_log_probs(theta).exp()


def sequence_objective(policy: TabularSequencePolicy, theta, *, per_prompt: bool = False) -> torch.Tensor:
    """J(θ) = Σ_q w_q E_{y∼π(·|q)} R(q, y): ``[...]`` (or ``[..., M]`` per prompt, unweighted)."""
    theta = _check(policy, theta)
    task = policy.task
    lp = policy.sequence_log_probs(theta)
    per = (lp.exp() * task.rewards.to(lp.device)).sum(-1)
    return per if per_prompt else (per * task.prompt_weights.to(lp.device)).sum(-1)


def sequence_policy_gradient(policy: TabularSequencePolicy, theta) -> torch.Tensor:
    """∇_θ J by autograd over the enumerated table of log-likelihoods, ``[..., M, P, V]``."""
    theta = _check(policy, theta)
    with torch.enable_grad():
        th = theta.detach().requires_grad_(True)
        (g,) = torch.autograd.grad(sequence_objective(policy, th).sum(), th)
    return g


def sequence_entropy(policy: TabularSequencePolicy, theta) -> torch.Tensor:
    """Entropy H(π(·|q)) of the response distribution of each prompt, ``[..., M]`` (nats)."""
    theta = _check(policy, theta)
    lp = policy.sequence_log_probs(theta)
    return -(lp.exp() * lp).sum(-1)


def sequence_kl(policy: TabularSequencePolicy, theta_p, theta_q) -> torch.Tensor:
    r"""KL(π_p(·|q) ‖ π_q(·|q)) = Σ_y π_p(y|q) log(π_p(y|q)/π_q(y|q)) per prompt, ``[..., M]``.

    Swap the arguments for the other direction (forward vs reverse KL).
    """
    lp = policy.sequence_log_probs(_check(policy, theta_p))
    lq = policy.sequence_log_probs(_check(policy, theta_q))
    return (lp.exp() * (lp - lq)).sum(-1)


def success_probability(policy: TabularSequencePolicy, theta) -> torch.Tensor:
    """p(q) = Pr[R(q, y) = 1] under π_θ(·|q), ``[..., M]``; needs a binary (verifiable) reward."""
    if not policy.task.is_binary:
        raise ValueError("policy: its task's reward is not binary, so a success probability is undefined")
    return sequence_objective(policy, theta, per_prompt=True)


def pass_at_k(policy: TabularSequencePolicy, theta, k: int) -> torch.Tensor:
    """pass@k(q) = 1 − (1 − p(q))^k: probability that one of k i.i.d. responses is correct, ``[..., M]``."""
    k = check_positive_int(k, "k")
    return 1 - (1 - success_probability(policy, theta)) ** k


def prefix_extensions(task) -> torch.Tensor:
    """``ext [P, N]``: True where response n passes through prefix p (p is the context before one of its tokens)."""
    ext = torch.zeros(task.n_prefixes, task.n_sequences, dtype=torch.bool)
    for t in range(task.max_length):
        live = task.mask[:, t]
        ext[task.prefix_ids[live, t], torch.arange(task.n_sequences)[live]] = True
    return ext


def prefix_values(policy: TabularSequencePolicy, theta) -> tuple[torch.Tensor, torch.Tensor]:
    """(V(q, p) = E_π[R | q, prefix p], π(prefix p | q)): two ``[M, P]`` tensors (single θ table).

    V is the value of continuing from the prefix under π; the reach probability is Σ of π(y|q) over responses
    through p. Prefixes of zero reach probability get V = 0.
    """
    theta = _check(policy, theta)
    task = policy.task
    ext = prefix_extensions(task).to(theta.dtype)  # [P, N]
    probs = policy.sequence_log_probs(theta).exp()  # [M, N]
    reach = probs @ ext.T
    value = (probs * task.rewards.to(probs.device)) @ ext.T
    return torch.where(reach > 0, value / reach.clamp_min(1e-300), torch.zeros_like(value)), reach
