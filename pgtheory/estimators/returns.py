r"""Time-major multi-step returns, GAE and V-trace (value targets and actor-side advantages), in rlax's conventions.

Arrays carry time on the LAST axis, ``[..., T]`` (rlax works on one time-major ``[T]`` sequence and vmaps over the
batch; any leading axes here are independent sequences). For a window s_0, a_0, r_0, s_1, …, s_T:

* ``rewards`` [..., T] — r_t, the reward after taking a_t in s_t (rlax ``r_t``, "times [1, T]");
* ``discounts`` [..., T] — γ_t ∈ [0, 1], the discount on what follows step t, 0 when s_{t+1} is terminal
  (rlax ``discount_t``);
* ``values`` [..., T] — V(s_t) for t = 0 … T−1 (rlax ``v_tm1``);
* ``bootstrap_value`` [...] — V(s_T), the critic where the window was truncated (rlax: the last entry of ``v_t``);
* ``lam`` [] or [..., T] — λ_t ∈ [0, 1] (rlax ``lambda_``; entry t mixes at s_{t+1});
* ``rhos`` [..., T] — ρ_t = π(a_t|s_t)/μ(a_t|s_t) ≥ 0 (rlax ``rho_tm1``).

rlax's arrays are recovered as ``v_t = concat(values[..., 1:], bootstrap_value)`` (``lambda_returns``,
``n_step_bootstrapped_returns``, ``vtrace``: ``v_tm1 = values``) and ``concat(values, bootstrap_value)`` (the
``values`` of ``truncated_generalized_advantage_estimation``). With V(s_{t+1}) written V_{t+1} (V_T the bootstrap)
and δ_t = r_t + γ_t V_{t+1} − V(s_t):

* λ-return      G_t = r_t + γ_t[(1 − λ_t) V_{t+1} + λ_t G_{t+1}],  G_T = V_T;
* n-step        the same recursion cut after n steps: G^{(n)}_t bootstraps from V(s_{min(t+n, T)});
* GAE           Â_t = δ_t + γ_t λ_t Â_{t+1},  Â_T = 0, so Â_t = G_t − V(s_t) for the same λ;
* V-trace       v_t − V(s_t) = ρ̃_t δ_t + γ_t c_t (v_{t+1} − V_{t+1}),  v_T = V_T, with ρ̃_t = min(ρ̄, ρ_t) and
                c_t = λ_t min(c̄, ρ_t); actor advantage A^{pg}_t = min(ρ̄_pg, ρ_t)(q_t − V(s_t)),
                q_t = r_t + γ_t[λ_t v_{t+1} + (1 − λ_t) V_{t+1}];
* leaky V-trace every clipped ratio min(b, ρ) replaced by (1 − α)ρ + α min(b, ρ): α = 1 is V-trace, α = 0 full
                per-decision importance sampling.

Exact properties, derived here and checked by enumerating every trajectory of a tabular MDP over a finite window
(``tests/test_returns.py``). The critic is time-indexed, V_t(s) for t = 0 … T (V_T gives the bootstrap); B(s) is the
true value of continuing from s_T, and V^π_t the finite-horizon value with terminal value B:
V^π_T = B, V^π_t(s) = Σ_a π(a|s) Q^π_t(s,a), Q^π_t(s,a) = r(s,a) + E_{s'}[γ(s') V^π_{t+1}(s')]. Write e_t = V_t − V^π_t
(so e_T = V_T − B is the bootstrap error), Γ_{t:k} = Π_{i=t}^{k−1} γ_i and
Q^V_t(s,a) = r(s,a) + E_{s'}[γ(s') V_{t+1}(s')].

* On-policy λ-returns and n-step returns are unbiased for V^π_t(s_t) when V = V^π (every λ, n). With λ ≡ 1 (or
  n ≥ T) they equal the Monte-Carlo return Σ_{k≥t} Γ_{t:k} r_k + Γ_{t:T} V_T on every trajectory, for any critic.
  In general, with λ_{T−1} read as 0 (it never matters), E_π[G_t − V^π_t(s_t) | s_t] =
  E_π[Σ_{k=t+1}^{T} Γ_{t:k} (Π_{i=t}^{k−2} λ_i)(1 − λ_{k−1}) e_k(s_k) | s_t]: λ ≡ 1 leaves only the bootstrap error.
* GAE: E_π[Â_t | s_t, a_t] = A^π_t(s_t, a_t) = Q^π_t − V^π_t when V = V^π.
* V-trace: v_t − V_t(s_t) = Σ_{k≥t} Γ_{t:k}(Π_{i=t}^{k−1} c_i) ρ̃_k δ_k, and E_μ[ρ̃_k δ_k | s_k = s] =
  Σ_a min(ρ̄ μ(a|s), π(a|s)) (Q^V_k(s,a) − V_k(s)). These vanish for every k and s exactly when V = V^{π_ρ̄} with
  V_T = B, π_ρ̄ ∝ min(ρ̄ μ, π) (backward induction). So V^{π_ρ̄} is the fixed point for EVERY c̄ and λ — the
  c̄ ≤ ρ̄ of Espeholt et al. 2018, Thm 1, is needed for the infinite-horizon operator to contract, not for the
  fixed point. With ρ̄ = c̄ = ∞ and λ = 1 the target is per-decision importance sampling: E_μ[v_t | s_t] =
  V^π_t(s_t) for any V_0 … V_{T−1} (bootstrap exact, V_T = B). For another critic E_μ[v_t − V_t | s_t = s] = E_t(s),
  E_T = 0, E_t(s) = Σ_a μ(a|s)[ρ̃(s,a)(Q^V_t(s,a) − V_t(s)) + λ c(s,a) E_{s'}γ(s') E_{t+1}(s')] (scalar λ).
  Leaky V-trace: the fixed point is V^{π_α}, π_α ∝ (1 − α) π + α min(ρ̄ μ, π), by the same argument.
* Actor side: E_μ[A^{pg}_t 𝟙{a_t = a} | s_t = s] = min(ρ̄_pg μ(a|s), π(a|s)) (Q̂_t(s,a) − V_t(s)) with
  Q̂_t(s,a) = r(s,a) + E_{s'}γ(s')[V_{t+1}(s') + λ E_{t+1}(s')] (leaky: μ times the mixed ratio in place of the min).
  Without clipping, with λ = 1 (any critic) or V = V^π (any λ), Q̂ = Q^π and Σ_t Γ_{0:t} (Π_{i<t} ρ_i) A^{pg}_t
  ∇log π(a_t|s_t) has expectation ∇_θ V^π_0(s_0); dropping the prefix ratios Π_{i<t} ρ_i (as IMPALA does)
  weights the states by μ's visitation instead of π's: biased.

Sources: rlax ``rlax/_src/multistep.py`` (``lambda_returns``, ``n_step_bootstrapped_returns``,
``truncated_generalized_advantage_estimation``) and ``rlax/_src/vtrace.py`` (``vtrace``,
``vtrace_td_error_and_advantage``, ``leaky_vtrace``, ``leaky_vtrace_td_error_and_advantage``), and verl
``verl/trainer/ppo/core_algos.py`` (``compute_gae_advantage_return``), all read on 2026-11-30 (conventions
learnt, code not copied). Papers: Espeholt et al. 2018 (IMPALA, V-trace); Zahavy et al. 2020 (Self-Tuning
Deep RL, leaky V-trace); Schulman et al. 2016 (GAE); Sutton & Barto (λ-returns).
Differences from rlax: c̄ is a parameter here (rlax fixes c̄ = 1: ``c = λ min(1, ρ)``); rlax's
``sample_mask`` and ``stop_target_gradients`` are not reproduced (these are values, not losses).
"""
from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np
import torch

from .._checks import as_tensor, check_finite, check_finite_result, check_mask, check_positive_int, check_real
from .._registry import Registry

__all__ = ["RETURN_TARGETS", "ACTOR_ADVANTAGES", "return_targets", "actor_advantages", "lambda_returns",
           "n_step_returns", "truncated_gae", "verl_gae", "vtrace_returns", "vtrace_pg_advantages",
           "leaky_vtrace_returns", "leaky_vtrace_pg_advantages"]

#: value targets [..., T] from (rewards, discounts, values, bootstrap_value): "n_step", "lambda", "vtrace",
#: "leaky_vtrace"
RETURN_TARGETS: Registry[Callable[..., torch.Tensor]] = Registry("return target")
#: actor-side advantages [..., T] from the same arrays: "gae", "vtrace", "leaky_vtrace"
ACTOR_ADVANTAGES: Registry[Callable[..., torch.Tensor]] = Registry("actor advantage")

_WINDOW = "rewards, discounts, values, bootstrap_value"


# ----------------------------------------------------------------------------------------------- validation
def _window(rewards, discounts, values, bootstrap_value) -> tuple[torch.Tensor, ...]:
    """The four window arrays as float64 tensors on ``rewards``' device, with shapes and ranges checked."""
    r = check_finite(as_tensor(rewards, "rewards"), "rewards")
    if r.ndim == 0 or r.shape[-1] == 0:
        raise ValueError(f"rewards: expected shape [..., T] with T >= 1, got {tuple(r.shape)}")
    g = check_finite(as_tensor(discounts, "discounts", device=r.device), "discounts")
    v = check_finite(as_tensor(values, "values", device=r.device), "values")
    b = check_finite(as_tensor(bootstrap_value, "bootstrap_value", device=r.device), "bootstrap_value")
    for x, name in ((g, "discounts"), (v, "values")):
        if x.shape != r.shape:
            raise ValueError(f"{name}: expected shape [..., T] = {tuple(r.shape)} (as rewards), got {tuple(x.shape)}")
    if b.shape != r.shape[:-1]:
        raise ValueError(f"bootstrap_value: expected shape [...] = {tuple(r.shape[:-1])} (rewards without its time "
                         f"axis), got {tuple(b.shape)}")
    if bool(((g < 0) | (g > 1)).any()):
        raise ValueError("discounts: every γ_t must lie in [0, 1]")
    return r, g, v, b


def _lam(lam: Any, like: torch.Tensor) -> torch.Tensor:
    """λ as a scalar or an array broadcasting to ``like``'s shape [..., T], entries in [0, 1], expanded to it."""
    if not isinstance(lam, (torch.Tensor, np.ndarray, list, tuple)):
        return like.new_full(like.shape, check_real(lam, "lam", low=0.0, high=1.0))
    t = check_finite(as_tensor(lam, "lam", device=like.device), "lam")
    try:
        shape = torch.broadcast_shapes(t.shape, like.shape)
    except RuntimeError:
        shape = None
    if shape != like.shape:
        raise ValueError(f"lam: expected a scalar or a shape broadcasting to [..., T] = {tuple(like.shape)}, "
                         f"got {tuple(t.shape)}")
    if bool(((t < 0) | (t > 1)).any()):
        raise ValueError("lam: every λ_t must lie in [0, 1]")
    return t.expand(like.shape)


def _rhos(rhos: Any, like: torch.Tensor) -> torch.Tensor:
    """Importance ratios ρ_t ≥ 0 of shape [..., T] (exactly ``like``'s shape)."""
    t = check_finite(as_tensor(rhos, "rhos", device=like.device), "rhos")
    if t.shape != like.shape:
        raise ValueError(f"rhos: expected shape [..., T] = {tuple(like.shape)} (as rewards), got {tuple(t.shape)}")
    if bool((t < 0).any()):
        raise ValueError("rhos: importance ratios must be non-negative")
    return t


def _threshold(x: Any, name: str) -> float:
    """A clipping threshold in (0, ∞]; ``math.inf`` means no clipping."""
    if isinstance(x, float) and x == math.inf:
        return x
    return check_real(x, name, low=0.0, low_open=True)


def _alpha(alpha: Any) -> float:
    return check_real(alpha, "alpha", low=0.0, high=1.0)


# ----------------------------------------------------------------------------------------------- recursions
def _next_values(values: torch.Tensor, bootstrap_value: torch.Tensor) -> torch.Tensor:
    """V(s_{t+1}) for t = 0 … T−1: ``values`` shifted left with the bootstrap value V(s_T) appended."""
    return torch.cat([values[..., 1:], bootstrap_value.unsqueeze(-1)], dim=-1)


def _backward(x: torch.Tensor, coef: torch.Tensor, last: torch.Tensor) -> torch.Tensor:
    """y_t = x_t + coef_t · y_{t+1} for t = T−1 … 0, with y_T = ``last`` [...]; returns y_{0:T} [..., T]."""
    out = torch.empty_like(x)
    acc = last
    for t in range(x.shape[-1] - 1, -1, -1):
        acc = x[..., t] + coef[..., t] * acc
        out[..., t] = acc
    return out


def _mixed_ratio(rho: torch.Tensor, bar: float, alpha: float) -> torch.Tensor:
    """(1 − α) ρ + α min(b, ρ): the clipped ratio of V-trace (α = 1) leaking towards plain IS (α = 0)."""
    return (1.0 - alpha) * rho + alpha * rho.clamp(max=bar)


# ----------------------------------------------------------------------------------------------- returns
@RETURN_TARGETS.register("lambda")
def lambda_returns(rewards, discounts, values, bootstrap_value, *, lam=1.0) -> torch.Tensor:
    r"""λ-returns G_t = r_t + γ_t[(1 − λ_t) V(s_{t+1}) + λ_t G_{t+1}], G_T = V(s_T), ``[..., T]``.

    ``lam`` is a scalar or per-step [..., T] (entry t mixes at s_{t+1}; the last entry has no effect). λ ≡ 1 gives
    the discounted Monte-Carlo return bootstrapped once at s_T; λ ≡ 0 the one-step target r_t + γ_t V(s_{t+1}).
    V(s_0) = ``values[..., 0]`` is not used. Unbiased for V^π_t(s_t) on-policy when V = V^π; bias for other
    critics in the module docstring. rlax ``lambda_returns(r_t, discount_t, v_t, lambda_)`` with
    ``v_t = concat(values[1:], bootstrap_value)``.
    """
    r, g, v, b = _window(rewards, discounts, values, bootstrap_value)
    lam = _lam(lam, r)
    v_next = _next_values(v, b)
    out = _backward(r + g * (1.0 - lam) * v_next, g * lam, b)
    return check_finite_result(out, _WINDOW, "λ-return")


@RETURN_TARGETS.register("n_step")
def n_step_returns(rewards, discounts, values, bootstrap_value, *, n: int, lam=1.0) -> torch.Tensor:
    r"""n-step bootstrapped returns ``[..., T]``: the λ-return recursion run for n steps from each t,

    .. math:: G^{(n)}_t = r_t + γ_t[(1-λ_t)V(s_{t+1}) + λ_t G^{(n)}_{t+1 ↦ t+n}],\qquad
              G^{(n)}_{t+n ↦ t+n} = V(s_{t+n}),

    cut at the window's end (steps past T−1 are skipped, the target bootstraps from V(s_T)). With λ ≡ 1:
    G^{(n)}_t = Σ_{k=t}^{m−1} Γ_{t:k} r_k + Γ_{t:m} V(s_m), m = min(t + n, T), Γ_{t:k} = Π_{i=t}^{k−1} γ_i.
    n ≥ T gives the λ-return (Monte-Carlo with λ ≡ 1). Unbiased for V^π_t(s_t) on-policy when V = V^π.
    rlax ``n_step_bootstrapped_returns(r_t, discount_t, v_t, n, lambda_t)`` with
    ``v_t = concat(values[1:], bootstrap_value)``.
    """
    r, g, v, b = _window(rewards, discounts, values, bootstrap_value)
    n = check_positive_int(n, "n")
    lam = _lam(lam, r)
    T = r.shape[-1]
    n = min(n, T)  # every step past the window's end is the identity, so n > T changes nothing
    pad_shape = (*r.shape[:-1], n - 1)
    v_next = _next_values(v, b)
    # Pad with n − 1 identity steps (r = 0, γ = λ = 1, V = V(s_T)) so every window t … t+n−1 is in range.
    r_p = torch.cat([r, r.new_zeros(pad_shape)], -1)
    g_p = torch.cat([g, g.new_ones(pad_shape)], -1)
    lam_p = torch.cat([lam, lam.new_ones(pad_shape)], -1)
    v_p = torch.cat([v_next, b.unsqueeze(-1).expand(pad_shape)], -1)
    target = v_p[..., n - 1:n - 1 + T]  # V(s_{min(t+n, T)})
    for i in range(n - 1, -1, -1):  # step t + i of every window, last step first
        window = slice(i, i + T)
        target = r_p[..., window] + g_p[..., window] * ((1.0 - lam_p[..., window]) * v_p[..., window]
                                                        + lam_p[..., window] * target)
    return check_finite_result(target, _WINDOW, "n-step return")


@ACTOR_ADVANTAGES.register("gae")
def truncated_gae(rewards, discounts, values, bootstrap_value, *, lam) -> torch.Tensor:
    r"""Truncated GAE Â_t = δ_t + γ_t λ_t Â_{t+1}, Â_T = 0, δ_t = r_t + γ_t V(s_{t+1}) − V(s_t), ``[..., T]``.

    Equals ``lambda_returns(...) − values`` for the same (per-step) λ. With V = V^π, E_π[Â_t | s_t, a_t] =
    A^π_t(s_t, a_t) for every λ. rlax ``truncated_generalized_advantage_estimation(r_t, discount_t, lambda_,
    values)`` with ``values = concat(values, bootstrap_value)`` [T + 1]. For verl's convention see :func:`verl_gae`.
    """
    r, g, v, b = _window(rewards, discounts, values, bootstrap_value)
    lam = _lam(lam, r)
    delta = r + g * _next_values(v, b) - v
    return check_finite_result(_backward(delta, g * lam, torch.zeros_like(b)), _WINDOW, "GAE advantage")


def verl_gae(token_rewards, values, mask, *, gamma: float, lam: float) -> tuple[torch.Tensor, torch.Tensor]:
    r"""verl's ``compute_gae_advantage_return`` before whitening: ``(advantages, returns)``, each ``[..., T]``.

    ``token_rewards``, ``values`` and the response ``mask`` are ``[..., T]`` (verl: [B, T]); scalar γ and λ.
    Backwards over t, skipping tokens with mask 0:

    .. math:: δ_t = r_t + γ\,V_{\rm next} − V(s_t),\quad Â_t = δ_t + γλ\,Â_{\rm next},

    where V_next and Â_next belong to the next token with mask 1 — and are 0 after the last one. On a masked
    token the output repeats Â_next (verl carries it; its losses ignore those tokens). ``returns = advantages +
    values`` on every token. verl then whitens the advantages over the batch (``masked_whiten``); that step is
    not part of this function.

    How it differs from :func:`truncated_gae` (rlax). On the real tokens, in order, verl equals
    ``truncated_gae(r, discounts=[γ, …, γ, 0], values, bootstrap_value=0, lam=λ)``: (i) the last real token is
    always treated as terminal — a response cut at the maximum length is NOT bootstrapped with V(s_T); (ii) γ and
    λ are scalars, with no per-step discount to mark an episode end inside the window; (iii) masked tokens (e.g.
    tool observations in multi-turn rollouts) are skipped, so the real tokens on either side are joined by one
    factor γ (resp. γλ). On a contiguous response of L real tokens whose continuation has value V(s_L),
    Â^{verl}_t = Â^{rlax}_t − γ(γλ)^{L−1−t} V(s_L), where Â^{rlax} bootstraps with γ_{L−1} = γ and V(s_L). So with
    V = V^π verl's Â_t is unbiased for A^π_t when the response really ends at its last token (EOS, V^π(s_L) = 0),
    and on a response cut at the maximum length its bias is −γ(γλ)^{L−1−t} E[V^π(s_L) | s_t, a_t].
    Source: verl ``verl/trainer/ppo/core_algos.py`` ``compute_gae_advantage_return``, read on 2026-11-30 (the
    version that skips observation tokens, verl PR #2337).
    """
    r = check_finite(as_tensor(token_rewards, "token_rewards"), "token_rewards")
    if r.ndim == 0 or r.shape[-1] == 0:
        raise ValueError(f"token_rewards: expected shape [..., T] with T >= 1, got {tuple(r.shape)}")
    v = check_finite(as_tensor(values, "values", device=r.device), "values")
    if v.shape != r.shape:
        raise ValueError(f"values: expected shape [..., T] = {tuple(r.shape)} (as token_rewards), got {tuple(v.shape)}")
    m = check_mask(mask, "mask")
    if m.shape != r.shape:
        raise ValueError(f"mask: expected shape [..., T] = {tuple(r.shape)} (as token_rewards), got {tuple(m.shape)}")
    m = m.to(r.device)
    gamma = check_real(gamma, "gamma", low=0.0, high=1.0)
    lam = check_real(lam, "lam", low=0.0, high=1.0)
    adv = torch.empty_like(r)
    next_value = torch.zeros_like(r[..., 0])
    next_adv = torch.zeros_like(r[..., 0])
    for t in range(r.shape[-1] - 1, -1, -1):
        a_t = r[..., t] + gamma * next_value - v[..., t] + gamma * lam * next_adv
        next_value = torch.where(m[..., t], v[..., t], next_value)
        next_adv = torch.where(m[..., t], a_t, next_adv)
        adv[..., t] = next_adv
    adv = check_finite_result(adv, "token_rewards, values", "verl GAE advantage")
    return adv, adv + v


# ----------------------------------------------------------------------------------------------- V-trace
def _vtrace(r, g, v, b, rhos, lam, rho_bar: float, c_bar: float, alpha: float) -> torch.Tensor:
    """(Leaky) V-trace targets v_t [..., T] from validated arrays."""
    delta = r + g * _next_values(v, b) - v
    rho_tilde = _mixed_ratio(rhos, rho_bar, alpha)
    c = lam * _mixed_ratio(rhos, c_bar, alpha)
    return v + _backward(rho_tilde * delta, g * c, torch.zeros_like(b))


def _pg_advantages(r, g, v, b, rhos, lam, targets: torch.Tensor, pg_rho_bar: float, alpha: float) -> torch.Tensor:
    """((1 − α) ρ_t + α min(ρ̄_pg, ρ_t)) (q_t − V(s_t)), q_t = r_t + γ_t[λ_t v_{t+1} + (1 − λ_t) V(s_{t+1})]."""
    q = r + g * (lam * _next_values(targets, b) + (1.0 - lam) * _next_values(v, b))
    return _mixed_ratio(rhos, pg_rho_bar, alpha) * (q - v)


def _vtrace_inputs(rewards, discounts, values, bootstrap_value, rhos, lam, rho_bar, c_bar):
    r, g, v, b = _window(rewards, discounts, values, bootstrap_value)
    return (r, g, v, b, _rhos(rhos, r), _lam(lam, r),
            _threshold(rho_bar, "rho_bar"), _threshold(c_bar, "c_bar"))


@RETURN_TARGETS.register("vtrace")
def vtrace_returns(rewards, discounts, values, bootstrap_value, *, rhos, lam=1.0, rho_bar: float = 1.0,
                   c_bar: float = 1.0) -> torch.Tensor:
    r"""(λ-)V-trace targets v_t ``[..., T]`` (Espeholt et al. 2018, Eq. 1; λ-V-trace as in rlax):

    .. math:: v_t = V(s_t) + \min(\bar\rho, ρ_t)\,δ_t + γ_t\,λ_t\min(\bar c, ρ_t)\,(v_{t+1} − V(s_{t+1})),
              \quad v_T = V(s_T).

    Fixed point V^{π_ρ̄}, π_ρ̄ ∝ min(ρ̄ μ, π), for every c̄ and λ; unbiased for V^π with ρ̄ = c̄ = ∞, λ = 1 and any
    critic V_0..V_{T−1} provided the bootstrap value is exact, V(s_T) = V^π(s_T) (module docstring). ``rho_bar``/``c_bar`` in (0, ∞] (``math.inf``: no clipping). rlax
    ``vtrace(v_tm1, v_t, r_t, discount_t, rho_tm1, lambda_, clip_rho_threshold)`` returns v_t − V(s_t) with c̄ = 1.
    """
    r, g, v, b, rho, lam, rho_bar, c_bar = _vtrace_inputs(rewards, discounts, values, bootstrap_value, rhos, lam,
                                                          rho_bar, c_bar)
    return check_finite_result(_vtrace(r, g, v, b, rho, lam, rho_bar, c_bar, 1.0), _WINDOW + ", rhos", "V-trace target")


@ACTOR_ADVANTAGES.register("vtrace")
def vtrace_pg_advantages(rewards, discounts, values, bootstrap_value, *, rhos, lam=1.0, rho_bar: float = 1.0,
                         c_bar: float = 1.0, pg_rho_bar: float = 1.0) -> torch.Tensor:
    r"""IMPALA's actor-side advantage ``[..., T]``: A^{pg}_t = min(ρ̄_pg, ρ_t)(q_t − V(s_t)),

    q_t = r_t + γ_t[λ_t v_{t+1} + (1 − λ_t) V(s_{t+1})] with v the V-trace targets of :func:`vtrace_returns`
    (v_T = V(s_T)); λ = 1 gives IMPALA's r_t + γ_t v_{t+1}. E_μ[A^{pg}_t 𝟙{a_t = a} | s_t = s] =
    min(ρ̄_pg μ(a|s), π(a|s))(Q̂_t(s,a) − V_t(s)) (module docstring); when c̄ = ρ̄ = ρ̄_pg, v_t = V(s_t) + A^{pg}_t.
    rlax ``vtrace_td_error_and_advantage(...).pg_advantage`` (c̄ = 1, ``clip_pg_rho_threshold`` = ρ̄_pg).
    """
    r, g, v, b, rho, lam, rho_bar, c_bar = _vtrace_inputs(rewards, discounts, values, bootstrap_value, rhos, lam,
                                                          rho_bar, c_bar)
    pg_rho_bar = _threshold(pg_rho_bar, "pg_rho_bar")
    targets = _vtrace(r, g, v, b, rho, lam, rho_bar, c_bar, 1.0)
    return check_finite_result(_pg_advantages(r, g, v, b, rho, lam, targets, pg_rho_bar, 1.0), _WINDOW + ", rhos",
                               "V-trace policy-gradient advantage")


@RETURN_TARGETS.register("leaky_vtrace")
def leaky_vtrace_returns(rewards, discounts, values, bootstrap_value, *, rhos, alpha: float, lam=1.0,
                         rho_bar: float = 1.0, c_bar: float = 1.0) -> torch.Tensor:
    r"""Leaky V-trace targets ``[..., T]`` (Zahavy et al. 2020): :func:`vtrace_returns` with

    ρ̃_t = (1 − α) ρ_t + α min(ρ̄, ρ_t) and c_t = λ_t[(1 − α) ρ_t + α min(c̄, ρ_t)], α ∈ [0, 1].

    α = 1 is V-trace; α = 0 is per-decision importance sampling (unbiased for V^π with λ = 1 and any critic
    V_0..V_{T−1}, given an exact bootstrap value). Fixed
    point V^{π_α}, π_α ∝ (1 − α) π + α min(ρ̄ μ, π) (derived here, not checked against the paper's statement). rlax
    ``leaky_vtrace(..., alpha_, lambda_, clip_rho_threshold)`` returns v_t − V(s_t) with c̄ = 1.
    """
    r, g, v, b, rho, lam, rho_bar, c_bar = _vtrace_inputs(rewards, discounts, values, bootstrap_value, rhos, lam,
                                                          rho_bar, c_bar)
    out = _vtrace(r, g, v, b, rho, lam, rho_bar, c_bar, _alpha(alpha))
    return check_finite_result(out, _WINDOW + ", rhos", "leaky V-trace target")


@ACTOR_ADVANTAGES.register("leaky_vtrace")
def leaky_vtrace_pg_advantages(rewards, discounts, values, bootstrap_value, *, rhos, alpha: float, lam=1.0,
                               rho_bar: float = 1.0, c_bar: float = 1.0, pg_rho_bar: float = 1.0) -> torch.Tensor:
    r"""Leaky V-trace actor advantage ``[..., T]``: ((1 − α) ρ_t + α min(ρ̄_pg, ρ_t))(q_t − V(s_t)), with q_t from
    the leaky targets (:func:`leaky_vtrace_returns`) as in :func:`vtrace_pg_advantages`. α = 0 with λ = 1 is the
    unclipped per-decision IS advantage ρ_t(r_t + γ_t v_{t+1} − V(s_t)). rlax
    ``leaky_vtrace_td_error_and_advantage(...).pg_advantage`` (c̄ = 1).
    """
    r, g, v, b, rho, lam, rho_bar, c_bar = _vtrace_inputs(rewards, discounts, values, bootstrap_value, rhos, lam,
                                                          rho_bar, c_bar)
    alpha = _alpha(alpha)
    pg_rho_bar = _threshold(pg_rho_bar, "pg_rho_bar")
    targets = _vtrace(r, g, v, b, rho, lam, rho_bar, c_bar, alpha)
    return check_finite_result(_pg_advantages(r, g, v, b, rho, lam, targets, pg_rho_bar, alpha), _WINDOW + ", rhos",
                               "leaky V-trace policy-gradient advantage")


# ----------------------------------------------------------------------------------------------- front functions
def return_targets(rewards, discounts, values, bootstrap_value, kind: str = "lambda", **kwargs) -> torch.Tensor:
    """Value targets ``[..., T]`` of the named kind (``RETURN_TARGETS``); ``kwargs`` are that entry's keywords."""
    fn = RETURN_TARGETS.resolve(kind, kwargs, n_positional=4, arg="kind")
    return fn(rewards, discounts, values, bootstrap_value, **kwargs)


def actor_advantages(rewards, discounts, values, bootstrap_value, kind: str = "gae", **kwargs) -> torch.Tensor:
    """Actor-side advantages ``[..., T]`` of the named kind (``ACTOR_ADVANTAGES``); ``kwargs`` are its keywords."""
    fn = ACTOR_ADVANTAGES.resolve(kind, kwargs, n_positional=4, arg="kind")
    return fn(rewards, discounts, values, bootstrap_value, **kwargs)
