r"""Per-token baselines for the toy-LLM policy gradient Σ_t (R − b_t) ∇_θ log π_θ(y_t | q, y_<t).

Exact baseline tables (registry :data:`TOKEN_BASELINES`, each ``(policy, theta) → [M, P]``, one value per
prompt q and prefix p of the tabular sequence policy):

=============  ===================================================================  ==========================
name           b(q, p)                                                              variance of the estimate
=============  ===================================================================  ==========================
``none``       0                                                                    reference
``value``      V(q, p) = E[R | q, p]                                                 usually lower (not a theorem)
``optimal``    Σ_v π(v|p) ‖s_{p,v}‖² Q(q,p,v) / Σ_v π(v|p) ‖s_{p,v}‖²               the minimum over all b(q, p)
=============  ===================================================================  ==========================

with s_{p,v} = ∇_θ log π(v | q, p) and Q(q, p, v) = E[R | q, prefix p, next token v] (:func:`prefix_token_values`).

Why ``optimal`` is exactly optimal here. For the tabular policy s_{p,v} touches only the block θ[q, p, ·], and a
response passes through each prefix at most once, so the scores of different steps are orthogonal and
‖Σ_t (R − b(p_t)) s_t‖² = Σ_t (R − b(p_t))² ‖s_t‖². The trace variance E‖ĝ‖² − ‖∇J‖² therefore splits into one
quadratic in b(q, p) per prefix, minimised by the classic b* = E[‖s‖² R | p] / E[‖s‖² | p] (Greensmith et al.
2004, applied per prefix). For this parameterisation ‖s_{p,v}‖² = ‖e_v − π(·|p)‖² = 1 − 2π(v|p) + Σ_u π(u|p)².
With shared parameters (a neural network) the cross-step terms do not vanish and b* is only an approximation.

Any prefix baseline leaves the mean unchanged (E[s_t | p_t] = 0). A baseline b(q, p, v) that depends on the
token y_t itself is accepted by :func:`token_baseline_coefficients` — it is the known-biased twin, with the bias
of :func:`token_dependent_baseline_bias`.

Sample version, verl's Optimal Token Baseline (:func:`optimal_token_baseline_advantages`): verl
``compute_optimal_token_baseline_advantage`` (``adv_estimator=optimal_token_baseline``, verl-project/verl
``verl/trainer/ppo/core_algos.py``, read on 2026-11-30) uses, per prompt group and token *position* t,
B_t = Σ_i G_{i,t} W_{i,t} / (Σ_i W_{i,t} + ε) with G_{i,t} the reward-to-go and W_{i,t} = Σ_{j≤t} ‖s_{i,j}‖² the
cumulative score norm of the logits (``w = 1 − 2π_t + Σπ²``). Its "theory" docstring states
B_t* = E[G_t W_t]/E[W_t]; the choice of the cumulative W_t (rather than the step's own ‖s_t‖²) is not derived in
any public source we found (not verified: no paper located). Every response of the group enters its own
baseline, so the estimator is biased for a finite group; ``leave_one_out=True`` (our variant, not in verl)
removes the bias exactly.
"""
from __future__ import annotations

from typing import Callable

import torch

from .._checks import as_tensor, check_finite, check_finite_result, check_mask, check_real, check_shape
from .._registry import Registry
from ..exact.sequence import prefix_values
from ..policies.sequence import TabularSequencePolicy
from ..sampling.sequence import SequenceGroups
from .sequence_score import sequence_score_sum

__all__ = [
    "TOKEN_BASELINES",
    "token_baseline_table",
    "token_score_sq_norm",
    "prefix_token_values",
    "token_baseline_coefficients",
    "token_baseline_estimates",
    "token_dependent_baseline_bias",
    "optimal_token_baseline_advantages",
    "group_token_logits",
]

BaselineFn = Callable[[TabularSequencePolicy, torch.Tensor], torch.Tensor]
TOKEN_BASELINES: Registry[BaselineFn] = Registry("token baseline")


def _check_policy(policy) -> TabularSequencePolicy:
    if not isinstance(policy, TabularSequencePolicy):
        raise TypeError(f"policy: expected a TabularSequencePolicy, got {type(policy).__name__}")
    return policy


def _single_table(policy: TabularSequencePolicy, theta) -> torch.Tensor:
    return check_shape(policy.check_params(theta), "theta", policy.param_shape, "one table [M, P, V]")


def _check_groups(groups) -> SequenceGroups:
    if not isinstance(groups, SequenceGroups):
        raise TypeError(f"groups: expected SequenceGroups, got {type(groups).__name__}")
    return groups


def token_score_sq_norm(token_log_probs: torch.Tensor, sum_pi_squared: torch.Tensor, mask=None) -> torch.Tensor:
    r"""‖∇_z log softmax(z)[y]‖² = ‖e_y − π‖² = 1 − 2π(y) + Σ_u π(u)² per token, same shape as the inputs.

    ``token_log_probs`` holds log π(y_t | ·) of the sampled tokens, ``sum_pi_squared`` Σ_u π(u | ·)² at the same
    positions (verl's ``w_per_timestep``). For the tabular sequence policy this is ‖∇_θ log π(y_t | q, y_<t)‖².
    On the real tokens (``mask``, same shape; all when None) Σ_u π(u)² ≥ π(y)² must hold, else the two inputs cannot
    come from one distribution and a ``ValueError`` names ``sum_pi_squared``.
    """
    lp = check_finite(as_tensor(token_log_probs, "token_log_probs"), "token_log_probs")
    sq = check_finite(as_tensor(sum_pi_squared, "sum_pi_squared", device=lp.device), "sum_pi_squared")
    check_shape(sq, "sum_pi_squared", tuple(lp.shape), "as token_log_probs")
    if bool((lp > 0).any()):
        raise ValueError("token_log_probs: log-probabilities must be <= 0")
    if bool(((sq < 0) | (sq > 1 + 1e-12)).any()):
        raise ValueError("sum_pi_squared: Σπ² must lie in [0, 1] (0 is allowed on padding)")
    p = lp.exp()
    real = torch.ones_like(p, dtype=torch.bool) if mask is None else check_mask(mask).to(p.device)
    if real.shape != p.shape:
        raise ValueError(f"mask: expected shape {tuple(p.shape)} (as token_log_probs), got {tuple(real.shape)}")
    if bool((real & (sq < p**2 - 1e-12)).any()):  # Σ_u π(u)² ≥ π(y)² on every real token
        raise ValueError("sum_pi_squared: Σ_u π(u)² is below π(y)² = exp(token_log_probs)² at some token; the two "
                         "inputs do not come from one distribution")
    return 1 - 2 * p + sq


def _token_incidence(task) -> torch.Tensor:
    """``[P·V, N]`` (0/1, float64): response n emits token v right after prefix p."""
    V, dev = task.vocab_size, task.tokens.device
    inc = torch.zeros(task.n_prefixes * V, task.n_sequences, dtype=torch.float64, device=dev)
    responses = torch.arange(task.n_sequences, device=dev)
    for t in range(task.max_length):
        live = task.mask[:, t]
        inc[task.prefix_ids[live, t] * V + task.tokens[live, t], responses[live]] = 1.0
    return inc


def prefix_token_values(policy: TabularSequencePolicy, theta) -> torch.Tensor:
    r"""Q(q, p, v) = E_π[R | q, prefix p, next token v] for every prompt, prefix and token: ``[M, P, V]``.

    Computed by enumeration, Q = Σ_n π(n|q) R(q,n) 1[n emits v after p] / Σ_n π(n|q) 1[n emits v after p]; a
    (prefix, token) pair of zero probability gets Q = 0. ``theta``: one table ``[M, P, V]``.
    """
    theta = _single_table(_check_policy(policy), theta)
    task = policy.task
    inc = _token_incidence(task).to(device=theta.device, dtype=theta.dtype)
    probs = policy.sequence_log_probs(theta).exp()  # [M, N]
    reach = probs @ inc.T
    value = (probs * task.rewards.to(theta.device)) @ inc.T
    q = torch.where(reach > 0, value / reach.clamp_min(1e-300), torch.zeros_like(value))
    return check_finite_result(q.view(policy.param_shape), "theta", "prefix-token value")


@TOKEN_BASELINES.register("none")
def no_token_baseline(policy: TabularSequencePolicy, theta: torch.Tensor) -> torch.Tensor:
    """b(q, p) = 0, ``[M, P]``."""
    return theta.new_zeros(policy.param_shape[:2])


@TOKEN_BASELINES.register("value")
def value_token_baseline(policy: TabularSequencePolicy, theta: torch.Tensor) -> torch.Tensor:
    """b(q, p) = V(q, p) = E[R | q, prefix p], ``[M, P]``."""
    return prefix_values(policy, theta)[0]


@TOKEN_BASELINES.register("optimal")
def optimal_token_baseline(policy: TabularSequencePolicy, theta: torch.Tensor) -> torch.Tensor:
    r"""b*(q, p) = Σ_v π(v|p) ‖s_{p,v}‖² Q(q,p,v) / Σ_v π(v|p) ‖s_{p,v}‖², ‖s_{p,v}‖² = 1 − 2π(v|p) + Σ_u π(u|p)².

    ``[M, P]``. Where the weights vanish (a deterministic π(·|p): every baseline is optimal) b* = Σ_v π(v|p) Q.
    """
    pi = torch.softmax(theta, -1)
    sq_norm = 1 - 2 * pi + (pi * pi).sum(-1, keepdim=True)
    q = prefix_token_values(policy, theta)
    w = pi * sq_norm
    den = w.sum(-1)
    safe = torch.where(den > 0, den, torch.ones_like(den))
    return torch.where(den > 0, (w * q).sum(-1) / safe, (pi * q).sum(-1))


def token_baseline_table(policy: TabularSequencePolicy, theta, kind: str = "optimal") -> torch.Tensor:
    """The exact baseline table ``[M, P]`` of the named kind (see :data:`TOKEN_BASELINES`) at one θ ``[M, P, V]``."""
    fn = TOKEN_BASELINES.resolve(kind, {}, n_positional=2, arg="kind")
    theta = _single_table(_check_policy(policy), theta)
    return check_finite_result(fn(policy, theta), "theta", f"{kind} token baseline")


def _baseline_at_tokens(policy: TabularSequencePolicy, groups: SequenceGroups, baseline) -> torch.Tensor:
    """b at every token of ``groups``: ``[B, G, L]`` from a prefix table [M, P] or a (biased) token table [M, P, V]."""
    M, P, V = policy.param_shape
    dev = groups.rewards.device
    b = check_finite(as_tensor(baseline, "baseline", device=dev), "baseline")
    pre = policy.task.prefix_ids.to(dev)[groups.index]  # [B, G, L]
    q = groups.prompts[:, None, None].expand_as(pre)
    if tuple(b.shape) == (M, P):
        return b[q, pre]
    if tuple(b.shape) == (M, P, V):
        return b[q, pre, groups.tokens.clamp_min(0)]
    raise ValueError(f"baseline: expected a prefix table [M, P] = {(M, P)} or a token table [M, P, V] = {(M, P, V)}, "
                     f"got shape {tuple(b.shape)}")


def token_baseline_coefficients(policy: TabularSequencePolicy, groups: SequenceGroups, baseline) -> torch.Tensor:
    """c_{i,t} = R_i − b(q, y_{i,<t}) on real tokens, 0 on padding: ``[B, G, L]``.

    ``baseline [M, P]`` depends on the prefix only (unbiased); ``baseline [M, P, V]`` is indexed by the token y_{i,t}
    itself as well — the biased twin (:func:`token_dependent_baseline_bias`).
    """
    _check_policy(policy)
    groups = _check_groups(groups)
    b = _baseline_at_tokens(policy, groups, baseline)
    coef = (groups.rewards[..., None] - b) * groups.mask.to(b.dtype)
    return check_finite_result(coef, "baseline", "token coefficient")


def token_baseline_estimates(policy: TabularSequencePolicy, theta, groups: SequenceGroups, baseline) -> torch.Tensor:
    r"""ĝ_b = (1/G) Σ_i Σ_t (R_i − b(q_b, y_{i,<t})) ∇_θ log π_θ(y_{i,t} | q_b, y_{i,<t}): ``[B, M, P, V]``, one per group.

    Unbiased for ∇J = Σ_q w_q ∇E[R | q] with any prefix table ``baseline [M, P]`` (e.g. from
    :func:`token_baseline_table`); a token table ``[M, P, V]`` adds :func:`token_dependent_baseline_bias`.
    """
    coef = token_baseline_coefficients(policy, groups, baseline)
    est = sequence_score_sum(policy, theta, groups, coef) / groups.index.shape[1]
    return check_finite_result(est, "baseline", "token-baseline estimate")


def token_dependent_baseline_bias(policy: TabularSequencePolicy, theta, baseline) -> torch.Tensor:
    r"""Exact bias of :func:`token_baseline_estimates` with a token-dependent ``baseline [M, P, V]``: ``[M, P, V]``.

    .. math:: \mathbb E[\hat g] - \nabla J = -\sum_q w_q \sum_p \pi(p\mid q) \sum_v b(q,p,v)\,\nabla_\theta\pi(v\mid q,p),

    whose block θ[q, p, ·] is −w_q π(p|q) π(·|p) ⊙ (b(q,p,·) − Σ_v π(v|p) b(q,p,v)) for the softmax table.
    """
    theta = _single_table(_check_policy(policy), theta)
    b = check_finite(as_tensor(baseline, "baseline", device=theta.device), "baseline")
    check_shape(b, "baseline", policy.param_shape, "a token table [M, P, V]")
    reach = prefix_values(policy, theta)[1]  # [M, P]
    pi = torch.softmax(theta, -1)
    centred = b - (pi * b).sum(-1, keepdim=True)
    w = policy.task.prompt_weights.to(theta.device)[:, None, None]
    return check_finite_result(-w * reach[..., None] * pi * centred, "baseline", "token-baseline bias")


def optimal_token_baseline_advantages(token_rewards: torch.Tensor, mask, token_log_probs: torch.Tensor,
                                      sum_pi_squared: torch.Tensor, *, leave_one_out: bool = False,
                                      epsilon: float = 1e-8) -> torch.Tensor:
    r"""verl's Optimal Token Baseline advantages A_{i,t} = G_{i,t} − B_{i,t} for groups ``[..., G, L]`` (0 on padding).

    G_{i,t} = Σ_{t'≥t} r_{i,t'} (reward-to-go), W_{i,t} = Σ_{j≤t} (1 − 2π(y_{i,j}) + Σπ²) over real tokens, and per
    position t (not per prefix)

    .. math:: B_t = \frac{\sum_i G_{i,t} W_{i,t} m_{i,t}}{\sum_i W_{i,t} m_{i,t} + \varepsilon}
              \quad(\texttt{leave\_one\_out}: \text{the sums run over } j \ne i).

    A group of one response gets B = 0 (verl), and so does a position no (other) response reaches (verl's 0/ε). verl's ``handle_zero_tail`` (default off) and ``rollout_is_weights``
    are not implemented. Source: verl ``compute_optimal_token_baseline_advantage`` (read on 2026-11-30). The
    self-inclusive B_t is biased for a finite group; with ``leave_one_out`` B_{i,t} is independent of response i and
    the estimate is exactly unbiased (E[∇log π(y_t) | y_<t] = 0).
    """
    r = check_finite(as_tensor(token_rewards, "token_rewards"), "token_rewards")
    if r.ndim < 2:
        raise ValueError(f"token_rewards: expected shape [..., G, L], got {tuple(r.shape)}")
    m = check_mask(mask, "mask")
    check_shape(m, "mask", tuple(r.shape), "as token_rewards")
    check_shape(as_tensor(token_log_probs, "token_log_probs"), "token_log_probs", tuple(r.shape), "as token_rewards")
    eps = check_real(epsilon, "epsilon", low=0.0)
    if not isinstance(leave_one_out, bool):
        raise TypeError(f"leave_one_out: expected a bool, got {type(leave_one_out).__name__}")
    mf = m.to(device=r.device, dtype=r.dtype)
    w = token_score_sq_norm(token_log_probs, sum_pi_squared, mask).to(r.device) * mf
    returns = (r * mf).flip(-1).cumsum(-1).flip(-1)
    W = w.cumsum(-1) * mf
    num = (returns * W).sum(-2, keepdim=True)
    den = W.sum(-2, keepdim=True)
    if leave_one_out:
        num, den = num - returns * W, den - W
    baseline = torch.where(den > 0, num / (den + eps), torch.zeros_like(num))  # the 0/0 branch is discarded
    if r.shape[-2] == 1:
        baseline = torch.zeros_like(returns)
    return check_finite_result((returns - baseline) * mf, "token_rewards", "optimal-token-baseline advantage")


def group_token_logits(policy: TabularSequencePolicy, theta, groups: SequenceGroups) -> torch.Tensor:
    """θ[q, y_{<t}, ·]: the logits in front of every token of ``groups``, ``[B, G, L, V]`` (differentiable in θ;
    padded positions repeat the empty prefix's logits and must be masked by the caller)."""
    theta = _single_table(_check_policy(policy), theta)
    groups = _check_groups(groups)
    pre = policy.task.prefix_ids.to(theta.device)[groups.index]
    return theta[groups.prompts[:, None, None].expand_as(pre), pre]
