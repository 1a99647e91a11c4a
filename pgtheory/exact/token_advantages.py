r"""Exact per-token quantities of the toy LLM: the advantage, entropy and score of every token of every response.

For prompt q and response y = (y_0, …, y_{n−1}) with prefixes p_t = y_{<t}:

.. math:: A(q, p_t, y_t) = Q(q, p_t, y_t) - V(q, p_t),\qquad
          Q(q, p_t, y_t) = \begin{cases} R(q, y) & y_t = \text{EOS or } t = L - 1\\ V(q, p_{t+1}) & \text{otherwise}\end{cases}

with V(q, p) = E_π[R | q, p] (:func:`pgtheory.exact.prefix_values`). Σ_t A(q, p_t, y_t) = R(q, y) − J_q (telescoping),
and the tabular softmax gradient is ∂J_q/∂θ[q, p, v] = Pr(reach p) π(v|p) A(q, p, v) (policy-gradient theorem).
"""
from __future__ import annotations

import torch

from .sequence import prefix_values
from ..policies.sequence import TabularSequencePolicy

__all__ = ["token_advantages", "token_entropies", "token_scores"]


def _check(policy, theta) -> torch.Tensor:
    if not isinstance(policy, TabularSequencePolicy):
        raise TypeError(f"policy: expected a TabularSequencePolicy, got {type(policy).__name__}")
    theta = policy.check_params(theta)
    if theta.ndim != 3:
        raise ValueError(f"theta: expected one parameter table [M, P, V], got shape {tuple(theta.shape)}")
    return theta


def token_advantages(policy: TabularSequencePolicy, theta) -> torch.Tensor:
    """A(q, y_<t, y_t) of every token of every enumerated response, ``[M, N, L]`` (0 on padding)."""
    theta = _check(policy, theta)
    task = policy.task
    V, _ = prefix_values(policy, theta)  # [M, P]
    N, L = task.n_sequences, task.max_length
    pre = task.prefix_ids  # [N, L]
    v_before = V[:, pre]  # [M, N, L]
    # Q: value of the next prefix where the response continues, the reward where it ends at this token
    nxt = torch.cat([pre[:, 1:], torch.zeros(N, 1, dtype=pre.dtype)], 1)
    continues = torch.cat([task.mask[:, 1:], torch.zeros(N, 1, dtype=torch.bool)], 1)  # a token follows
    q = torch.where(continues[None], V[:, nxt], task.rewards[:, :, None].expand(-1, -1, L))
    return (q - v_before) * task.mask[None]


def token_entropies(policy: TabularSequencePolicy, theta) -> torch.Tensor:
    """H(π(·|q, y_<t)) in nats at every token of every enumerated response, ``[M, N, L]`` (0 on padding)."""
    theta = _check(policy, theta)
    lp = torch.log_softmax(theta, -1)
    H = -(lp.exp() * lp).sum(-1)  # [M, P]
    return H[:, policy.task.prefix_ids] * policy.task.mask[None]


def token_scores(policy: TabularSequencePolicy, theta, prompt: int) -> torch.Tensor:
    """∇_{θ[q]} log π(y_t | q, y_<t) of every token of every response to prompt q, ``[N, L, P·V]`` (0 on padding).

    Tabular softmax: the gradient is 1[p = y_<t]·(e_{y_t} − π(·|q, p)) on the logits of prefix p only.
    """
    theta = _check(policy, theta)
    task = policy.task
    if isinstance(prompt, bool) or not isinstance(prompt, int) or not 0 <= prompt < task.n_prompts:
        raise ValueError(f"prompt: expected an index in [0, {task.n_prompts}), got {prompt!r}")
    pi = torch.softmax(theta[prompt], -1)  # [P, V]
    P, Vs = task.n_prefixes, task.vocab_size
    pre, tok, mask = task.prefix_ids, task.tokens.clamp_min(0), task.mask
    score = (torch.nn.functional.one_hot(tok, Vs).to(theta.dtype) - pi[pre]) * mask[..., None]  # [N, L, V]
    onehot_pre = torch.nn.functional.one_hot(pre, P).to(theta.dtype)  # [N, L, P]
    return (onehot_pre[..., :, None] * score[..., None, :]).reshape(task.n_sequences, task.max_length, P * Vs)
