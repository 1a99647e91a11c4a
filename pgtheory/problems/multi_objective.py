r"""Multi-objective tabular MDPs and the scalarisations that combine their objectives (seed L153).

A :class:`MultiObjectiveMDP` is one transition law with m reward channels r_1, …, r_m (each ``[S, A]``); every channel
has its own objective J_i(π) = ρᵀV_i^π (the package's unnormalised discounted convention). A *scalarisation*
f : ℝ^m → ℝ combines them into the objective F(π) = f(J_1(π), …, J_m(π)) that multi-objective policy gradients ascend
(Guidobene, Benedetti & Arapovic 2025, "Variance reduced policy gradient method for multi-objective reinforcement
learning": "objectives are combined using a non-linear scalarization function" [abstract]). Its gradient follows by the
chain rule, ∇F = Σ_i ∂_i f(J) ∇J_i; the plug-in ∂_i f(Ĵ) of an estimated Ĵ is biased when f is not linear.

Scalarisations (registry :data:`SCALARISATIONS`; each returns a :class:`Scalarisation` with f and ∇f in closed form,
``[..., m] → [...]`` and ``[..., m] → [..., m]``):

===================  =============================================  ==========================================
name                 f(J)                                           ∇f(J)
===================  =============================================  ==========================================
``linear``           Σ_i w_i J_i                                    w
``soft_min``         −β⁻¹ log Σ_i exp(−β J_i)                        softmax(−β J)
``nash_welfare``     Σ_i log(J_i + κ)   (J_i + κ > 0)               1/(J_i + κ)
===================  =============================================  ==========================================

All three are concave (``soft_min`` and ``nash_welfare`` strictly in the directions they curve), so F has no spurious
maximisers in occupancy space and its maximum is a convex program (:func:`pgtheory.exact.scalarised_optimum`).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Callable

import torch

from .._checks import as_tensor, check_finite, check_real
from .._registry import Registry
from .mdp import TabularMDP

__all__ = ["MultiObjectiveMDP", "ScalarisedMDP", "Scalarisation", "SCALARISATIONS", "make_scalarisation"]


@dataclass(frozen=True)
class MultiObjectiveMDP:
    r"""One transition law, m ≥ 1 reward channels: ``channels[i]`` is the :class:`TabularMDP` with rewards r_i.

    Build with :meth:`from_rewards`. All channels share transitions, discount and initial distribution (checked);
    ``rewards`` stacks them, ``[m, S, A]``. Rewards are deterministic (``reward_std`` 0): the multi-objective
    estimators read each channel's reward off the visited (s, a).
    """

    channels: tuple[TabularMDP, ...]

    def __post_init__(self) -> None:
        ch = tuple(self.channels)
        if not ch:
            raise ValueError("channels: need at least one reward channel")
        for i, c in enumerate(ch):
            if not isinstance(c, TabularMDP):
                raise TypeError(f"channels[{i}]: expected a TabularMDP, got {type(c).__name__}")
            if bool((c.reward_std != 0).any()):
                raise ValueError(f"channels[{i}]: reward noise is not supported (reward_std must be 0)")
            if i and (c.discount != ch[0].discount or not torch.equal(c.transitions, ch[0].transitions)
                      or not torch.equal(c.initial, ch[0].initial)):
                raise ValueError(f"channels[{i}]: must share transitions, discount and initial distribution with channel 0")
        object.__setattr__(self, "channels", ch)

    @classmethod
    def from_rewards(cls, mdp: TabularMDP, rewards) -> "MultiObjectiveMDP":
        """``mdp``'s transitions with the reward channels ``rewards [m, S, A]`` (``mdp.rewards`` is ignored)."""
        if not isinstance(mdp, TabularMDP):
            raise TypeError(f"mdp: expected a TabularMDP, got {type(mdp).__name__}")
        r = as_tensor(rewards, "rewards", device=mdp.device)
        if r.ndim != 3 or tuple(r.shape[1:]) != (mdp.n_states, mdp.n_actions):
            raise ValueError(f"rewards: expected shape [m, S, A] with [S, A] = {(mdp.n_states, mdp.n_actions)}, "
                             f"got {tuple(r.shape)}")
        check_finite(r, "rewards")
        return cls(tuple(replace(mdp, rewards=r[i], reward_std=None) for i in range(r.shape[0])))

    @property
    def base(self) -> TabularMDP:
        """Channel 0: the transition law (and its rewards) that samplers draw trajectories from."""
        return self.channels[0]

    @property
    def n_objectives(self) -> int:
        return len(self.channels)

    @property
    def n_states(self) -> int:
        return self.base.n_states

    @property
    def n_actions(self) -> int:
        return self.base.n_actions

    @property
    def discount(self) -> float:
        return self.base.discount

    @property
    def device(self) -> torch.device:
        return self.base.device

    @property
    def rewards(self) -> torch.Tensor:
        """``[m, S, A]``."""
        return torch.stack([c.rewards for c in self.channels])

    def objective_range(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Bounds every J_i(π) obeys, ``([m], [m])``: min_{s,a} r_i/(1−γ) and max_{s,a} r_i/(1−γ)."""
        r = self.rewards.flatten(1)
        return r.min(1).values / (1 - self.discount), r.max(1).values / (1 - self.discount)


@dataclass(frozen=True)
class Scalarisation:
    """f : ℝ^m → ℝ and its gradient, batched over leading dimensions (``[..., m] → [...]``, ``[..., m] → [..., m]``)."""

    name: str
    value: Callable[[torch.Tensor], torch.Tensor]
    gradient: Callable[[torch.Tensor], torch.Tensor]
    params: dict = field(default_factory=dict)

    def __call__(self, J: torch.Tensor) -> torch.Tensor:
        return self.value(J)


SCALARISATIONS: Registry = Registry("scalarisation")


def _weights(w, name: str) -> torch.Tensor:
    t = as_tensor(w, name)
    if t.ndim != 1 or t.numel() == 0:
        raise ValueError(f"{name}: expected a non-empty vector [m], got shape {tuple(t.shape)}")
    check_finite(t, name)
    return t


@SCALARISATIONS.register("linear")
def linear(*, weights) -> Scalarisation:
    """f(J) = Σ_i w_i J_i (``weights [m]``): the linear scalarisation, whose plug-in gradient is unbiased."""
    w = _weights(weights, "weights")

    def value(J):
        return (J * w.to(J)).sum(-1)

    def gradient(J):
        return w.to(J).expand_as(J).clone()

    return Scalarisation("linear", value, gradient, {"weights": w.tolist()})


@SCALARISATIONS.register("soft_min")
def soft_min(*, temperature: float) -> Scalarisation:
    """f(J) = −β⁻¹ log Σ_i exp(−β J_i), a smooth minimum (β = ``temperature`` > 0; → min_i J_i as β → ∞);
    ∇f = softmax(−βJ), with ∇²f = −β(diag(p) − ppᵀ) ⪯ 0 (concave, β-smooth)."""
    beta = check_real(temperature, "temperature", low=0, low_open=True)

    def value(J):
        return -torch.logsumexp(-beta * J, -1) / beta

    def gradient(J):
        return torch.softmax(-beta * J, -1)

    return Scalarisation("soft_min", value, gradient, {"temperature": beta})


@SCALARISATIONS.register("nash_welfare")
def nash_welfare(*, offset: float) -> Scalarisation:
    """f(J) = Σ_i log(J_i + κ) (κ = ``offset``), the Nash social welfare; ∇f = 1/(J + κ). Defined only where every
    J_i + κ > 0: a value outside raises ValueError naming the argument (never a silent NaN)."""
    kappa = check_real(offset, "offset")

    def _shifted(J):
        x = J + kappa
        if bool((x <= 0).any()):
            raise ValueError(f"J: nash_welfare needs J_i + offset > 0, got min J_i + offset = {float(x.min()):.3g}")
        return x

    def value(J):
        return torch.log(_shifted(J)).sum(-1)

    def gradient(J):
        return 1.0 / _shifted(J)

    return Scalarisation("nash_welfare", value, gradient, {"offset": kappa})


def make_scalarisation(name: str, **params) -> Scalarisation:
    """The registered scalarisation ``name`` with its parameters (a wrong keyword is a TypeError naming it)."""
    return SCALARISATIONS.call(name, **params)


@dataclass(frozen=True)
class ScalarisedMDP:
    """The problem F(θ) = f(J(θ)) that the optimiser harness ascends: a :class:`MultiObjectiveMDP` and a scalarisation."""

    mdp: MultiObjectiveMDP
    scalarisation: Scalarisation

    def __post_init__(self) -> None:
        if not isinstance(self.mdp, MultiObjectiveMDP):
            raise TypeError(f"mdp: expected a MultiObjectiveMDP, got {type(self.mdp).__name__}")
        if not isinstance(self.scalarisation, Scalarisation):
            raise TypeError(f"scalarisation: expected a Scalarisation, got {type(self.scalarisation).__name__}")

    @property
    def device(self) -> torch.device:
        return self.mdp.device

    def to(self, device) -> "ScalarisedMDP":
        """A copy on ``device``."""
        return ScalarisedMDP(MultiObjectiveMDP(tuple(c.to(device) for c in self.mdp.channels)), self.scalarisation)
