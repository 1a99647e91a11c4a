r"""Orchestrated value mapping (Fatemi & Tavakoli, ICLR 2022): mapped, multi-channel tabular Q-learning.

The reward is split linearly into channels, :math:`r = \sum_j \lambda_j r_j`; channel :math:`j` stores its value in a
mapped space, :math:`\tilde Q_j = f_j(Q_j)`, and the agent acts on the aggregate

.. math:: Q(s,a) = \sum_j \lambda_j\, f_j^{-1}\big(\tilde Q_j(s,a)\big).

One update of channel :math:`j` at :math:`(s, a)` with a next state :math:`s'` (the two-step-size form of Log
Q-learning, van Seijen, Fatemi & Tavakoli 2019, generalised to any mapping):

.. math::
    \tilde a' &= \arg\max_{a'} Q(s', a') \quad\text{(greedy on the aggregate, shared by all channels)}\\
    U_j &= r_j(s,a) + \gamma\, f_j^{-1}\big(\tilde Q_j(s', \tilde a')\big)\\
    \hat U_j &= Q_j(s,a) + \beta_{reg}\,\big(U_j - Q_j(s,a)\big) \quad\text{(averaging in the regular space)}\\
    \tilde Q_j(s,a) &\leftarrow \tilde Q_j(s,a) + \beta_f\,\big(f_j(\max(\hat U_j, \text{floor}_j)) - \tilde Q_j(s,a)\big).

The floor is the authors' guard against log(x ≤ 0) (their released code clips the regular-space target at 0.01687
before a log mapping); it is −∞ for mappings defined on all of ℝ. Special cases: one channel with the identity is
Q-learning (step β_reg β_f); two "polar" channels (positive and negative parts of r, λ = (1, −1)) with log mappings
are Log Q-learning; several channels with identity mappings are Q-decomposition (Russell & Zimdars 2003).

Sources: the update form and the mappings' constants were read from the authors' released code
(github.com/microsoft/orchestrated-value-mapping, ``map_rl/map_dqn_agent.py``) and the Log Q-learning linear
experiments (github.com/microsoft/logrl, ``linear_experiments/agent.py``); the paper's theorem (its exact class of
mappings and step-size conditions) could not be read here — only the paper's opening section is stored.

Shapes: ``B`` independent runs (or instances), ``J`` channels, ``S`` states, ``A`` actions. All float64.
"""
from __future__ import annotations

import math
from typing import Callable, NamedTuple, Sequence

import torch

from .._checks import DTYPE, as_tensor, check_discount, check_finite, check_positive_int, check_probabilities, check_real
from .._registry import Registry
from ..sampling.generative import sample_next_states
from .algorithms import as_schedule

__all__ = ["ValueMapping", "MAPPINGS", "make_mapping", "identity_mapping", "log_mapping", "loglin_mapping",
           "square_mapping", "RewardChannels", "DECOMPOSITIONS", "decompose_rewards", "single_channel",
           "polar_channels", "random_split_channels", "channel_values", "aggregate_values", "greedy_next_values",
           "sampled_targets", "expected_targets", "mapped_update", "mean_mapped_update",
           "MappedFixedPoint", "FixedPointNotSettled", "mapped_fixed_point", "ValueMappingTrace", "orchestrated_q_learning",
           "GREEDY_MODES"]

#: how the bootstrap action is chosen: on the aggregate Q (the paper's rule) or per channel on its own Q_j (a twin)
GREEDY_MODES = ("aggregate", "channel")


class ValueMapping(NamedTuple):
    """A value mapping f (regular → mapped space), its inverse, and the floor below which targets are clipped."""

    name: str
    forward: Callable[[torch.Tensor], torch.Tensor]  #: f, elementwise
    inverse: Callable[[torch.Tensor], torch.Tensor]  #: f^{-1}, elementwise
    floor: float  #: regular-space targets are clipped to ≥ floor before f (−inf: no clipping)


MAPPINGS: Registry = Registry("value mapping")


@MAPPINGS.register("identity")
def identity_mapping() -> ValueMapping:
    """f(x) = x on ℝ: the mapped update is Q-learning's (Watkins & Dayan 1992)."""
    return ValueMapping("identity", lambda x: x, lambda y: y, -math.inf)


def _log_parameters(c, offset, d, floor) -> tuple[float, float, float, float]:
    """Validated (c, offset, d, floor) of the log-type mappings; ``floor`` defaults to the authors' clip 0.01687 when
    offset = 0 and to 0 otherwise."""
    c = check_real(c, "c", low=0, low_open=True)
    offset = check_real(offset, "offset", low=0)
    d = check_real(d, "d")
    floor = check_real((0.01687 if offset == 0 else 0.0) if floor is None else floor, "floor")
    if floor + offset <= 0:
        raise ValueError(f"floor: must exceed −offset = {-offset:g} (log of a non-positive number), got {floor:g}")
    return c, offset, d, floor


@MAPPINGS.register("log")
def log_mapping(c: float = 0.5, offset: float = 0.0, d: float = 0.0, floor: float | None = None) -> ValueMapping:
    r"""f(x) = c·ln(x + offset) + d, f^{-1}(y) = exp((y − d)/c) − offset, for x > −offset.

    van Seijen et al. (2019, Eq. 6) use offset = γ^h; the authors' Atari code uses offset = 0, c = 0.5, d = 0 and
    clips the target at 0.01687 (≈ 0.96^100). ``floor`` defaults to that clip when offset = 0 and to 0 when
    offset > 0 (f is then finite at 0, and the channel values of non-negative reward channels are ≥ 0).
    """
    c, offset, d, floor = _log_parameters(c, offset, d, floor)
    return ValueMapping("log", lambda x: c * torch.log(x + offset) + d, lambda y: torch.exp((y - d) / c) - offset, floor)


@MAPPINGS.register("loglin")
def loglin_mapping(c: float = 0.5, offset: float = 0.0, d: float = 0.0, floor: float | None = None) -> ValueMapping:
    r"""Logarithmic below a break point, linear above it, C¹ at the break (the paper's LogLin, per the authors' code).

    With z = x + offset and break point z_b = e^{−d/c}: f = c·ln z + d for z ≤ z_b, f = c·e^{d/c}·z − c for z > z_b
    (both equal 0 with slope c·e^{d/c} at z_b). ``floor`` as in :func:`log_mapping`.
    """
    c, offset, d, floor = _log_parameters(c, offset, d, floor)
    zb, slope = math.exp(-d / c), c * math.exp(d / c)

    def forward(x: torch.Tensor) -> torch.Tensor:
        z = x + offset
        return torch.where(z > zb, slope * z - c, c * torch.log(z.clamp_min(1e-300)) + d)

    def inverse(y: torch.Tensor) -> torch.Tensor:
        return torch.where(y > 0, (y + c) / slope, torch.exp((y.clamp_max(0) - d) / c)) - offset

    return ValueMapping("loglin", forward, inverse, floor)


@MAPPINGS.register("square")
def square_mapping() -> ValueMapping:
    """f(x) = x² with f^{-1}(y) = √y: not injective on ℝ (a twin outside the class: it loses the sign of Q)."""
    return ValueMapping("square", lambda x: x * x, lambda y: torch.sqrt(y.clamp_min(0.0)), -math.inf)


def make_mapping(name: str, **params) -> ValueMapping:
    """The registered mapping ``name`` with its constants (a misspelt keyword raises ``TypeError``)."""
    return MAPPINGS.call(name, **params)


class RewardChannels(NamedTuple):
    """A linear reward decomposition r = Σ_j λ_j r_j."""

    rewards: torch.Tensor  #: r_j, [..., J, S, A]
    weights: torch.Tensor  #: λ_j, [J]


DECOMPOSITIONS: Registry = Registry("reward decomposition")


@DECOMPOSITIONS.register("single")
def single_channel(rewards: torch.Tensor) -> RewardChannels:
    """One channel, λ = 1: r_1 = r."""
    return RewardChannels(rewards.unsqueeze(-3), torch.ones(1, dtype=DTYPE, device=rewards.device))


@DECOMPOSITIONS.register("polar")
def polar_channels(rewards: torch.Tensor) -> RewardChannels:
    """r₊ = max(r, 0), r₋ = max(−r, 0), λ = (1, −1): both channels non-negative (Log Q-learning; paper Eq. 13 per
    the authors' code, which also caps each at 1 — not done here, as our rewards are bounded already)."""
    return RewardChannels(torch.stack([rewards.clamp_min(0), (-rewards).clamp_min(0)], -3),
                          torch.tensor([1.0, -1.0], dtype=DTYPE, device=rewards.device))


@DECOMPOSITIONS.register("random_split")
def random_split_channels(rewards: torch.Tensor, n_channels: int, generator: torch.Generator) -> RewardChannels:
    r"""Q-decomposition-style channels: r_j = r/J + z_j − z̄ with z_j ~ N(0, 1) i.i.d. per (s, a), λ = 1, so Σ_j r_j = r."""
    J = check_positive_int(n_channels, "n_channels")
    z = torch.randn((*rewards.shape[:-2], J, *rewards.shape[-2:]), generator=generator, dtype=DTYPE,
                    device=rewards.device)
    return RewardChannels(rewards.unsqueeze(-3) / J + z - z.mean(-3, keepdim=True),
                          torch.ones(J, dtype=DTYPE, device=rewards.device))


def decompose_rewards(name: str, rewards, **params) -> RewardChannels:
    """Decompose ``rewards [..., S, A]`` with the registered decomposition ``name``; checks Σ_j λ_j r_j = r."""
    r = check_finite(as_tensor(rewards, "rewards"), "rewards")
    if r.ndim < 2:
        raise ValueError(f"rewards: expected shape [..., S, A], got {tuple(r.shape)}")
    ch = DECOMPOSITIONS.call(name, r, **params)
    recon = torch.einsum("j,...jsa->...sa", ch.weights, ch.rewards)
    if not torch.allclose(recon, r, rtol=0, atol=1e-12 * (1 + float(r.abs().max()))):
        raise ValueError(f"name: decomposition {name!r} does not sum back to the reward")
    return ch


def _check_mappings(mappings: Sequence[ValueMapping], J: int) -> list[ValueMapping]:
    ms = list(mappings)
    if len(ms) != J or not all(isinstance(m, ValueMapping) for m in ms):
        raise ValueError(f"mappings: expected {J} ValueMapping objects (one per channel), got {len(ms)}")
    return ms


def channel_values(q_tilde: torch.Tensor, mappings: Sequence[ValueMapping]) -> torch.Tensor:
    """Q_j = f_j^{-1}(Q̃_j): ``q_tilde [..., J, S, A]`` → ``[..., J, S, A]``."""
    ms = _check_mappings(mappings, q_tilde.shape[-3])
    return torch.stack([m.inverse(q_tilde[..., j, :, :]) for j, m in enumerate(ms)], -3)


def mapped_values(q: torch.Tensor, mappings: Sequence[ValueMapping]) -> torch.Tensor:
    """Q̃_j = f_j(max(Q_j, floor_j)): ``q [..., J, S, A]`` → ``[..., J, S, A]``."""
    ms = _check_mappings(mappings, q.shape[-3])
    return torch.stack([m.forward(q[..., j, :, :].clamp_min(m.floor)) for j, m in enumerate(ms)], -3)


def _weighted_sum(q: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Σ_j λ_j q_j over the channel axis −3 (a broadcast product: faster than einsum on tiny tensors)."""
    return (q * weights.view(-1, 1, 1)).sum(-3)


def aggregate_values(q_tilde: torch.Tensor, mappings: Sequence[ValueMapping], weights: torch.Tensor) -> torch.Tensor:
    """Q = Σ_j λ_j f_j^{-1}(Q̃_j): ``[..., J, S, A]`` → ``[..., S, A]``."""
    return _weighted_sum(channel_values(q_tilde, mappings), weights)


def greedy_next_values(q: torch.Tensor, weights: torch.Tensor, greedy: str | torch.Tensor = "aggregate") -> torch.Tensor:
    r"""Per-channel bootstrap values v_j(s') = Q_j(s', ã'(s')), ``q [..., J, S, A]`` → ``[..., J, S]``.

    ``greedy='aggregate'``: ã' = argmax_a Σ_j λ_j Q_j(s', a), shared by all channels (the paper's rule);
    ``'channel'``: each channel bootstraps from its own max_a Q_j(s', a) (a twin: it converges to Σ_j max, not Q*);
    an int64 tensor ``[..., S]`` of actions (batch dims as ``q``'s): a fixed deterministic policy π, v_j(s') =
    Q_j(s', π(s')) — policy evaluation, whose iterations have no greedy switches (used for mean-field biases).
    """
    if isinstance(greedy, torch.Tensor):
        return _values_at(q, _check_fixed_policy(greedy, q))
    if greedy == "aggregate":
        return _values_at(q, _weighted_sum(q, weights).argmax(-1))
    if greedy == "channel":
        return q.amax(-1)
    raise ValueError(f"greedy: expected one of {GREEDY_MODES}, got {greedy!r}")


def _values_at(q: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
    """Q_j(s', a(s')) for one action per state shared by every channel: ``q [..., J, S, A]``, ``actions [..., S]`` →
    ``[..., J, S]``."""
    idx = actions.unsqueeze(-2).unsqueeze(-1).expand(*q.shape[:-1], 1)  # [..., J, S, 1]
    return q.gather(-1, idx).squeeze(-1)


def _check_fixed_policy(actions: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """``actions`` as a fixed deterministic policy for ``q [..., J, S, A]``: int64, shape (batch dims of q, S), in [0, A)."""
    if actions.dtype != torch.int64:
        raise TypeError(f"greedy: a fixed policy must be an int64 tensor of actions, got dtype {actions.dtype}")
    S, A = q.shape[-2:]
    if actions.shape[-1] != S or actions.shape[:-1] != q.shape[:-3]:
        raise ValueError(f"greedy: a fixed policy needs shape {tuple(q.shape[:-3]) + (S,)} (batch dims, S), got "
                         f"{tuple(actions.shape)}")
    if bool(((actions < 0) | (actions >= A)).any()):
        raise ValueError(f"greedy: fixed-policy actions must lie in [0, {A}), got {actions.min()}..{actions.max()}")
    return actions


def sampled_targets(q: torch.Tensor, channels: RewardChannels, next_states: torch.Tensor, discount: float,
                    greedy: str | torch.Tensor = "aggregate") -> torch.Tensor:
    r"""U_j(s,a) = r_j(s,a) + γ v_j(s'_{sa}) for sampled next states ``next_states [B, S, A]`` (int64).

    ``q [B, J, S, A]`` regular-space channel values; returns ``[B, J, S, A]``.
    """
    B, J, S, A = q.shape
    v = greedy_next_values(q, channels.weights, greedy)  # [B, J, S]
    idx = next_states.reshape(B, 1, S * A).expand(B, J, S * A)
    return channels.rewards + discount * v.gather(-1, idx).reshape(B, J, S, A)


def expected_targets(q: torch.Tensor, channels: RewardChannels, transitions: torch.Tensor, discount: float,
                     greedy: str | torch.Tensor = "aggregate") -> torch.Tensor:
    r"""E[U_j] = r_j + γ Σ_{s'} P(s'|s,a) v_j(s'): the regular-space expectation of the target, ``[..., J, S, A]``."""
    v = greedy_next_values(q, channels.weights, greedy)  # [..., J, S]
    return channels.rewards + discount * torch.einsum("...sat,...jt->...jsa", transitions, v)


def mapped_update(q_tilde: torch.Tensor, targets: torch.Tensor, mappings: Sequence[ValueMapping], beta_reg: float,
                  beta_f: float, q: torch.Tensor | None = None) -> torch.Tensor:
    r"""Q̃_j ← Q̃_j + β_f (f_j(max(Q_j + β_reg (U_j − Q_j), floor_j)) − Q̃_j), all ``[..., J, S, A]``.

    ``q``: the regular-space values f_j^{-1}(Q̃_j) when the caller already has them (saves one inverse mapping).
    """
    if q is None:
        q = channel_values(q_tilde, mappings)
    return q_tilde + beta_f * (mapped_values(q + beta_reg * (targets - q), mappings) - q_tilde)


def mean_mapped_update(q_tilde: torch.Tensor, channels: RewardChannels, mappings: Sequence[ValueMapping],
                       transitions: torch.Tensor, discount: float, beta_reg: float, beta_f: float,
                       greedy: str | torch.Tensor = "aggregate") -> torch.Tensor:
    r"""The expectation over s' of one synchronous sampled update (its mean field), ``[..., J, S, A]``:

    .. math:: \tilde Q_j + \beta_f\Big(\sum_{s'} P(s'|s,a)\, f_j\big(Q_j + \beta_{reg}(r_j + \gamma v_j(s') - Q_j)\big) - \tilde Q_j\Big).

    f is nonlinear, so this differs from :func:`mapped_update` with :func:`expected_targets` by a Jensen term of
    order β_reg·Var(U): the bias a stochastic run carries when β_reg does not vanish.
    """
    ms = _check_mappings(mappings, q_tilde.shape[-3])
    q = channel_values(q_tilde, ms)
    v = greedy_next_values(q, channels.weights, greedy)  # [..., J, S']
    u = channels.rewards.unsqueeze(-1) + discount * v.unsqueeze(-2).unsqueeze(-2)  # [..., J, S, A, S']
    hat = q.unsqueeze(-1) + beta_reg * (u - q.unsqueeze(-1))
    mapped = torch.stack([m.forward(hat[..., j, :, :, :].clamp_min(m.floor)) for j, m in enumerate(ms)], -4)
    mean = torch.einsum("...sat,...jsat->...jsa", transitions, mapped)
    return q_tilde + beta_f * (mean - q_tilde)


class FixedPointNotSettled(RuntimeError):
    """:func:`mapped_fixed_point` reached ``max_iter`` with the aggregate still moving by more than ``tol``."""


class MappedFixedPoint(NamedTuple):
    q_tilde: torch.Tensor  #: [..., J, S, A]
    aggregate: torch.Tensor  #: [..., S, A]
    iterations: int
    change: float  #: sup-norm change of the aggregate in the last iteration


def mapped_fixed_point(transitions, channels: RewardChannels, mappings: Sequence[ValueMapping], discount: float, *,
                       beta_reg: float = 1.0, beta_f: float = 1.0, mode: str = "expected_target",
                       greedy: str | torch.Tensor = "aggregate", q_tilde_init: torch.Tensor | None = None, tol: float = 1e-12,
                       max_iter: int = 200_000) -> MappedFixedPoint:
    r"""Iterate a deterministic mapped update until the aggregate moves less than ``tol`` (sup norm).

    ``mode='expected_target'``: :func:`mapped_update` on :func:`expected_targets` (noise removed before the
    mapping; its fixed point is Q* for any mapping in the class). ``'mean_update'``: :func:`mean_mapped_update` (the
    stochastic algorithm's mean field; its fixed point carries the Jensen bias at fixed β_reg). Raises
    :class:`FixedPointNotSettled` (a ``RuntimeError``) when ``max_iter`` is reached. ``greedy``: as in :func:`greedy_next_values` (a string, or a fixed
    policy's actions ``[..., S]``; with the aggregate's greedy action the mean field at a fixed β_reg — seen at 1, ½ and
    ¼ — can cycle between greedy choices at near-tied states instead of settling).
    """
    P = check_probabilities(as_tensor(transitions, "transitions"), "transitions")
    gamma = check_discount(discount)
    br = check_real(beta_reg, "beta_reg", low=0, high=1, low_open=True)
    bf = check_real(beta_f, "beta_f", low=0, high=1, low_open=True)
    check_positive_int(max_iter, "max_iter")
    if mode not in ("expected_target", "mean_update"):
        raise ValueError(f"mode: expected 'expected_target' or 'mean_update', got {mode!r}")
    ms = _check_mappings(mappings, channels.rewards.shape[-3])
    qt = (mapped_values(torch.zeros_like(channels.rewards), ms) if q_tilde_init is None
          else check_finite(as_tensor(q_tilde_init, "q_tilde_init"), "q_tilde_init").clone())
    agg = aggregate_values(qt, ms, channels.weights)
    for k in range(1, max_iter + 1):
        if mode == "expected_target":
            q = channel_values(qt, ms)
            qt = mapped_update(qt, expected_targets(q, channels, P, gamma, greedy), ms, br, bf, q=q)
        else:
            qt = mean_mapped_update(qt, channels, ms, P, gamma, br, bf, greedy)
        new = aggregate_values(qt, ms, channels.weights)
        check_finite(new, "aggregate (mapped fixed-point iteration)")
        change = float((new - agg).abs().max())
        agg = new
        if change <= tol:
            return MappedFixedPoint(qt, agg, k, change)
    raise FixedPointNotSettled(f"mapped_fixed_point: aggregate still moving by {change:.3g} after max_iter={max_iter}")


class ValueMappingTrace(NamedTuple):
    steps: list[int]  #: checkpoint steps (number of synchronous updates done)
    aggregate: torch.Tensor  #: aggregate Q at each checkpoint, [K, B, S, A]
    q_tilde: torch.Tensor  #: final mapped channel values, [B, J, S, A]
    next_states_first: torch.Tensor  #: the next states of the first update, [B, S, A] (for exact replays in tests)


def orchestrated_q_learning(transitions, channels: RewardChannels, mappings: Sequence[ValueMapping], discount: float,
                            steps: int, *, beta_reg, beta_f, generator: torch.Generator,
                            checkpoints: Sequence[int] | None = None, greedy: str = "aggregate",
                            q_tilde_init: torch.Tensor | None = None) -> ValueMappingTrace:
    r"""Synchronous orchestrated mapped Q-learning from a generative model, batched over ``B`` independent runs.

    Each step draws one s' ~ P(·|s,a) for every (run, s, a) and applies :func:`mapped_update` to all pairs with
    targets :func:`sampled_targets`, step sizes β_reg,t and β_f,t (a constant or a
    :class:`~pgtheory.optim.PowerSchedule`, each in (0, 1] at t = 0 and non-increasing).

    ``transitions [B, S, A, S]`` (or ``[S, A, S]``, shared), ``channels.rewards [B, J, S, A]`` (or ``[J, S, A]``);
    start from Q_j = 0 (mapped, with floors) unless ``q_tilde_init [B, J, S, A]``. Records the aggregate Q at
    ``checkpoints`` (default: the last step).
    """
    P = check_probabilities(as_tensor(transitions, "transitions"), "transitions")
    gamma = check_discount(discount)
    T = check_positive_int(steps, "steps")
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator: expected a torch.Generator, got {type(generator).__name__}")
    sched = {}
    for name, val in (("beta_reg", beta_reg), ("beta_f", beta_f)):
        s = as_schedule(val, name)
        if s(0) > 1 + 1e-12:  # round-off of c·s^(−p) with c = s^p
            raise ValueError(f"{name}: must lie in (0, 1], starts at {s(0):g}")
        sched[name] = s
    if greedy not in GREEDY_MODES:
        raise ValueError(f"greedy: expected one of {GREEDY_MODES}, got {greedy!r}")
    r = channels.rewards
    if P.ndim == 3:
        P = P.unsqueeze(0)
    if r.ndim == 3:
        r = r.unsqueeze(0)
    if P.ndim != 4 or r.ndim != 4 or P.shape[-3:-1] != r.shape[-2:] or P.shape[-1] != P.shape[-3]:
        raise ValueError(f"transitions: shape {tuple(P.shape)} does not fit channel rewards {tuple(r.shape)}")
    B = max(P.shape[0], r.shape[0])
    if P.shape[0] not in (1, B) or r.shape[0] not in (1, B):
        raise ValueError(f"transitions: run dimension {P.shape[0]} does not match the rewards' {r.shape[0]}")
    r = r.expand(B, *r.shape[1:])
    ch = RewardChannels(r, channels.weights)
    ms = _check_mappings(mappings, r.shape[1])
    cdf = P.cumsum(-1).expand(B, *P.shape[1:])
    cks = sorted(set([T] if checkpoints is None else [int(c) for c in checkpoints]))
    if cks[0] < 0 or cks[-1] > T:
        raise ValueError(f"checkpoints: must lie in [0, steps = {T}], got {cks[0]}..{cks[-1]}")
    qt = (mapped_values(torch.zeros_like(r), ms) if q_tilde_init is None
          else check_finite(as_tensor(q_tilde_init, "q_tilde_init"), "q_tilde_init").clone())
    saved, first = [], None
    if cks[0] == 0:
        saved.append(aggregate_values(qt, ms, ch.weights))
    for t in range(T):
        nxt = sample_next_states(cdf, generator)
        if first is None:
            first = nxt
        q = channel_values(qt, ms)
        qt = mapped_update(qt, sampled_targets(q, ch, nxt, gamma, greedy), ms, sched["beta_reg"](t), sched["beta_f"](t), q=q)
        if t + 1 in cks:
            agg = aggregate_values(qt, ms, ch.weights)
            check_finite(agg, "aggregate Q (orchestrated Q-learning)")
            saved.append(agg)
    return ValueMappingTrace(cks, torch.stack(saved), qt, first)
