r"""Batched trajectories of a :class:`~pgtheory.problems.TabularMDP` on any torch device.

Two horizons:

* ``termination="geometric"`` — after every step the episode continues with probability γ, so that
  :math:`\mathbb E\sum_{t<T} r_t = \sum_t \gamma^t\,\mathbb E r_t = J(\pi)`: undiscounted sums over a
  geometric episode are *unbiased* for the discounted objective. Step weights are 1 while alive.
* ``termination="truncate"`` — exactly ``horizon`` steps with weights γ^t: unbiased for the truncated
  objective :math:`J_H = \mathbb E\sum_{t<H}\gamma^t r_t`, biased for J by O(γ^H).

Every transition costs one float64 uniform: the action, the next state and (geometric) the
continuation are drawn jointly from an alias table over the outcomes (a, s', continue) of each state,
π(a|s)·P(s'|s,a)·γ and π(a|s)·(1−γ). Same generator state and device ⇒ identical batch.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Iterator, NamedTuple

import torch

from .._checks import as_tensor, check_positive_int, check_probabilities
from ..problems.mdp import TabularMDP
from .alias import AliasTable, build_alias_table, sample_alias

__all__ = ["default_episode_cap", "resolve_horizon", "StepMajorLayout", "Trajectories", "TrajectorySampler", "sample_trajectories", "StateActionRollouts", "rollouts_from_state_actions",
           "DEFAULT_MEMORY_BUDGET", "BYTES_PER_TRANSITION"]

#: Bytes one stored transition costs while a batch is drawn: seven 8-byte arrays in :class:`Trajectories` plus the
#: per-step uniforms and outcome indices (measured peak ≈ 80 B on CPU).
BYTES_PER_TRANSITION = 80
#: Largest batch (in bytes of transitions, by expectation) that :meth:`TrajectorySampler.sample` draws in one piece.
DEFAULT_MEMORY_BUDGET = 4 * 2**30
#: Largest N × T × (trailing size) that :meth:`StepMajorLayout.backward_recursion` scans on a padded copy (8 MiB-entry
#: float64 tensors, 64 MiB); larger batches are scanned step by step over the live episodes.
PADDED_SCAN_ELEMENTS = 2**23


def default_episode_cap(discount: float) -> int:
    """The default cap on a geometric episode's length, max(10, 50/(1 − γ)) steps (survival probability γ^cap)."""
    return max(10, int(50 / (1 - discount)))


def resolve_horizon(termination: str, horizon: int | None, discount: float) -> int:
    """The number of steps of a ``"truncate"`` episode (``horizon``, required) or the safety cap of a ``"geometric"``
    one (``horizon`` or :func:`default_episode_cap`), checked; raises naming ``termination`` or ``horizon``."""
    if termination not in ("geometric", "truncate"):
        raise ValueError(f"termination: expected 'geometric' or 'truncate', got {termination!r}")
    if horizon is None:
        if termination == "truncate":
            raise ValueError("horizon: required with termination='truncate'")
        horizon = default_episode_cap(discount)
    return check_positive_int(horizon, "horizon")


class StepMajorLayout:
    """Helpers of a flat, step-major batch of episodes: fields ``episode [M]`` (ids 0..N−1), ``step_offsets``
    (T + 1 offsets; the transitions of step t are ``step_offsets[t]:step_offsets[t+1]``) and ``n`` (N). Shared by
    :class:`Trajectories` and :class:`~pgtheory.sampling.lqr.LQRTrajectories`."""

    @property
    def n_transitions(self) -> int:
        return int(self.episode.shape[0])

    @property
    def n_steps(self) -> int:
        return len(self.step_offsets) - 1

    def step_slice(self, t: int) -> slice:
        return slice(self.step_offsets[t], self.step_offsets[t + 1])

    def step_index(self) -> torch.Tensor:
        """The time index t of every transition, int64 ``[M]`` (step-major: 0 for the first step's block, …)."""
        counts = torch.tensor([self.step_offsets[i + 1] - self.step_offsets[i] for i in range(self.n_steps)],
                              device=self.episode.device)
        return torch.repeat_interleave(torch.arange(self.n_steps, device=self.episode.device), counts)

    def per_episode_sum(self, values: torch.Tensor) -> torch.Tensor:
        """Σ over each episode's transitions of ``values [M, ...]``: ``[N, ...]``."""
        out = torch.zeros(self.n, *values.shape[1:], dtype=values.dtype, device=values.device)
        return out.index_add_(0, self.episode, values)

    def backward_recursion(self, values: torch.Tensor, decay: torch.Tensor | float = 1.0) -> torch.Tensor:
        """x_t = values_t + decay_t · x_{t+1} within each episode (x = 0 after its end), for every transition.

        ``values [M, ...]`` (trailing axes are scanned together), ``decay`` a scalar or ``[M]``; output as ``values``.
        The one scan behind reward-to-go (decay 1), GAE (decay gλ) and V-trace (decay g c_t).

        Batches of at most :data:`PADDED_SCAN_ELEMENTS` entries (N episodes × T steps × trailing) are scanned on a
        padded step-major ``[T, N, ...]`` copy: decay 1 by one reversed cumulative sum, other decays by one
        multiply-add per step over all episodes; larger ones step by step over the live episodes. Every path performs
        the same floating-point operations in the same order (x = v + d·x_next, from the episode's end), so the result
        does not depend on the path or on the other episodes of the batch.
        """
        d = torch.as_tensor(decay, dtype=values.dtype, device=values.device)
        d = (d.expand(values.shape[:1]) if d.ndim == 0 else d).reshape(values.shape[:1] + (1,) * (values.ndim - 1))
        T, trailing = self.n_steps, values.shape[1:]
        if T * self.n * max(1, values[:1].numel()) <= PADDED_SCAN_ELEMENTS and values.shape[0] > 0:
            t, ep = self.step_index(), self.episode
            V = torch.zeros(T, self.n, *trailing, dtype=values.dtype, device=values.device)
            V[t, ep] = values
            if torch.as_tensor(decay).ndim == 0 and float(decay) == 1.0:
                X = V.flip(0).cumsum(0).flip(0)  # x_t = v_t + x_{t+1}, accumulated from the end as the step loop does
            else:
                D = torch.zeros(T, self.n, *([1] * len(trailing)), dtype=values.dtype, device=values.device)
                D[t, ep] = d
                X = torch.empty_like(V)
                nxt = torch.zeros_like(V[0])
                for k in range(T - 1, -1, -1):
                    nxt = V[k] + D[k] * nxt
                    X[k] = nxt
            return X[t, ep]
        out = torch.empty_like(values)
        acc = torch.zeros(self.n, *trailing, dtype=values.dtype, device=values.device)
        for k in range(T - 1, -1, -1):
            sl = self.step_slice(k)
            ep = self.episode[sl]
            x = values[sl] + d[sl] * acc[ep]
            out[sl] = x
            acc[ep] = x
        return out


@dataclass(frozen=True)
class Trajectories(StepMajorLayout):
    r"""A batch of N trajectories stored flat, step-major: all transitions of step 0, then of step 1, …

    Only live episodes are stored, so memory and cost scale with the number of transitions M, not
    with N × (longest episode). Transition arrays have shape ``[M]``; the transitions of step t are
    the slice ``step_offsets[t]:step_offsets[t+1]``. ``weights`` is the factor of each step in the
    objective: γ^t (truncated horizon) or 1 (geometric termination). ``log_target``/``log_behaviour``
    hold log π(a_t|s_t) and log μ(a_t|s_t) of the sampled actions (equal when sampled on-policy).
    """

    episode: torch.Tensor  #: int64 [M], episode id in 0..N-1
    states: torch.Tensor  #: int64 [M]
    actions: torch.Tensor  #: int64 [M]
    rewards: torch.Tensor  #: float64 [M]
    weights: torch.Tensor  #: float64 [M]
    log_target: torch.Tensor  #: float64 [M]
    log_behaviour: torch.Tensor  #: float64 [M]
    step_offsets: tuple[int, ...]  #: T + 1 offsets into the transition arrays
    n: int  #: number of episodes N
    termination: str
    discount: float

    def discounted_returns(self) -> torch.Tensor:
        """Σ_t w_t r_t per episode, ``[N]``: unbiased for J (geometric) or J_H (truncate)."""
        return self.per_episode_sum(self.weights * self.rewards)

    def cumsum(self, values: torch.Tensor) -> torch.Tensor:
        """Σ_{t' ≤ t} values_{t'} within each episode, for every transition: ``[M]`` (e.g. log of running IS ratios)."""
        out = torch.empty_like(values)
        acc = torch.zeros(self.n, dtype=values.dtype, device=values.device)
        for t in range(self.n_steps):
            sl = self.step_slice(t)
            ep = self.episode[sl]
            acc[ep] = acc[ep] + values[sl]
            out[sl] = acc[ep]
        return out

    def reverse_cumsum(self, values: torch.Tensor) -> torch.Tensor:
        """Σ_{t' ≥ t} values_{t'} within each episode, for every transition: ``[M]``."""
        return self.backward_recursion(values, 1.0)

    def next_index(self) -> torch.Tensor:
        """Index of the same episode's next transition for every transition, −1 at the episode's last one: ``[M]``."""
        out = torch.full((self.n_transitions,), -1, dtype=torch.long, device=self.states.device)
        pos = torch.full((self.n,), -1, dtype=torch.long, device=self.states.device)
        for t in range(self.n_steps - 1):
            nxt = self.step_slice(t + 1)
            pos.fill_(-1)
            pos[self.episode[nxt]] = torch.arange(nxt.start, nxt.stop, device=pos.device)
            out[self.step_slice(t)] = pos[self.episode[self.step_slice(t)]]
        return out

    def padded(self, values: torch.Tensor, fill: float = 0.0) -> torch.Tensor:
        """Scatter per-transition ``values [M]`` into an ``[N, T]`` table (for inspection and tests)."""
        out = torch.full((self.n, self.n_steps), fill, dtype=values.dtype, device=values.device)
        out[self.episode, self.step_index()] = values
        return out


def checked_policy(mdp, p, name: str) -> torch.Tensor:
    """``p`` as a validated policy ``[S, A]`` of ``mdp`` (anything with n_states, n_actions and device)."""
    p = as_tensor(p, name, device=mdp.device)
    if tuple(p.shape) != (mdp.n_states, mdp.n_actions):
        raise ValueError(f"{name}: expected shape [S, A] = {(mdp.n_states, mdp.n_actions)}, got {tuple(p.shape)}")
    return check_probabilities(p, name, atol=1e-9)


def expected_episode_transitions(n: int, termination: str, horizon: int, discount: float) -> float:
    """E[number of transitions] of ``n`` episodes: n(1 − γ^H)/(1 − γ) (geometric, capped at H) or n·H (truncate)."""
    if termination == "truncate":
        return float(n * horizon)
    return float(n * (1 - discount ** horizon) / (1 - discount))


def check_sampling_generator(generator, device: torch.device) -> None:
    """TypeError/ValueError naming ``generator`` unless it is a torch.Generator on ``device``'s type."""
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator: expected a torch.Generator, got {type(generator).__name__}")
    if generator.device.type != device.type:
        raise ValueError(f"generator: on {generator.device} but the MDP is on {device}")


def assemble_trajectories(sampler, eps: list, states: list, actions: list, offsets: list, n: int,
                          generator: torch.Generator) -> Trajectories:
    """The :class:`Trajectories` of a step-major draw: per-step episode ids, states and actions (lists of ``[M_t]``)
    and the step offsets; rewards (plus Gaussian noise where the MDP has it), step weights (1, or γ^t when truncated)
    and log-probabilities are gathered here. ``sampler`` supplies mdp, termination, has_noise, log_pi and log_mu."""
    mdp = sampler.mdp
    f64 = dict(dtype=torch.float64, device=mdp.device)
    episode, st, ac = torch.cat(eps), torch.cat(states), torch.cat(actions)
    r = mdp.rewards[st, ac]
    if sampler.has_noise:
        r = r + mdp.reward_std[st, ac] * torch.randn(r.shape, generator=generator, **f64)
    if sampler.termination == "geometric":
        w = torch.ones_like(r)
    else:
        w = torch.repeat_interleave(mdp.discount ** torch.arange(len(offsets) - 1, **f64),
                                    torch.diff(torch.tensor(offsets, device=mdp.device)))
    return Trajectories(episode, st, ac, r, w, sampler.log_pi[st, ac], sampler.log_mu[st, ac], tuple(offsets), n,
                        sampler.termination, mdp.discount)


class StepMajorSampler:
    """What every tabular trajectory sampler shares: memory-checked batches (:meth:`sample`), chunked streams
    (:meth:`sample_chunks`) and returns without trajectories (:meth:`sample_returns`), all driven by the subclass's
    ``_steps(n, generator, progress)``, which yields (t, episode ids, states, actions) of the episodes alive at step t.
    Subclasses set ``mdp``, ``termination``, ``horizon``, ``has_noise``, ``log_pi``, ``log_mu`` and ``table`` (one alias
    row per state over the outcomes a·W + w, w < W = ``_width``, then, under geometric termination, A outcomes "take a,
    then stop"), and give ``_initial_states(n, generator)`` and ``_next_states(s, o, keep)`` (the next states of the
    outcomes o from states s, of the entries ``keep`` selects when it is given: one masking per step)."""

    @property
    def _width(self) -> int:
        """W: continuing outcomes per action in a row of ``table``."""
        return (self.table.n_outcomes - (self.mdp.n_actions if self.termination == "geometric" else 0)) // self.mdp.n_actions

    def _steps(self, n: int, generator: torch.Generator, progress):
        """Step-major draw: yields (t, episode ids, states, actions) of the episodes alive at step t; one uniform per
        transition. ``progress(t, alive)`` is called at most once a second."""
        check_sampling_generator(generator, self.mdp.device)
        f64 = dict(dtype=torch.float64, device=self.mdp.device)
        W, geometric = self._width, self.termination == "geometric"
        n_cont = self.mdp.n_actions * W
        ep = torch.arange(n, device=self.mdp.device)
        s = self._initial_states(n, generator)
        last_report = time.perf_counter()
        for t in range(self.horizon):
            if progress is not None and time.perf_counter() - last_report >= 1.0:
                progress(t, int(s.shape[0]))
                last_report = time.perf_counter()
            o = sample_alias(self.table, s, torch.rand(s.shape[0], generator=generator, **f64))
            a = torch.div(o, W, rounding_mode="floor")
            if not geometric:
                yield t, ep, s, a
                s = self._next_states(s, o)
                continue
            stop = o >= n_cont
            a = torch.where(stop, o - n_cont, a)  # stop outcomes A·W + a decode to a ≥ A: map them back
            yield t, ep, s, a
            keep = ~stop
            ep, s = ep[keep], self._next_states(s, o, keep)
            if ep.numel() == 0:
                return
        if geometric:
            raise RuntimeError(f"horizon: {int(ep.numel())} of {n} geometric episodes outlived the cap of {self.horizon} "
                               "steps; raise horizon (each episode survives H steps with probability γ^H)")

    def expected_transitions(self, n: int) -> float:
        """E[number of transitions] of ``n`` episodes: n/(1 − γ) (geometric, capped at the horizon) or n·H (truncate)."""
        return expected_episode_transitions(n, self.termination, self.horizon, self.mdp.discount)

    def chunk_size(self, memory_budget: float = DEFAULT_MEMORY_BUDGET) -> int:
        """Most episodes whose expected transitions fit ``memory_budget`` bytes (at least 1)."""
        if not memory_budget > 0:
            raise ValueError(f"memory_budget: must be positive, got {memory_budget!r}")
        per_episode = self.expected_transitions(1) * BYTES_PER_TRANSITION
        return max(1, int(memory_budget // per_episode))

    def sample_chunks(self, n: int, generator: torch.Generator, *, memory_budget: float = DEFAULT_MEMORY_BUDGET,
                      chunk_size: int | None = None, progress: Callable[[int, int], None] | None = None) -> Iterator[Trajectories]:
        """Draw ``n`` trajectories as a stream of independent batches that each fit ``memory_budget`` bytes.

        The concatenation of the chunks has the law of one batch of ``n`` (episodes are i.i.d.), but not its
        random numbers: a chunked draw is reproducible for the same (generator state, chunk size), not equal to
        ``sample(n)``. ``progress(done, n)`` is called after each chunk. Feed the chunks to an estimator and a
        :class:`~pgtheory.stats.MomentAccumulator` (or use :func:`~pgtheory.stats.stream`) to summarise any n
        in bounded memory.
        """
        n = check_positive_int(n, "n")
        size = self.chunk_size(memory_budget) if chunk_size is None else check_positive_int(chunk_size, "chunk_size")
        done = 0
        while done < n:
            m = min(size, n - done)
            batch = self.sample(m, generator, memory_budget=float("inf"))
            done += m
            if progress is not None:
                progress(done, n)
            yield batch

    def sample(self, n: int, generator: torch.Generator, *, memory_budget: float = DEFAULT_MEMORY_BUDGET,
               progress: Callable[[int, int], None] | None = None) -> Trajectories:
        """Draw ``n`` independent trajectories in one batch.

        Refuses (``ValueError``) a batch whose expected size exceeds ``memory_budget`` bytes instead of failing
        inside one huge allocation: draw it with :meth:`sample_chunks` (or pass a larger budget). ``progress(t,
        alive)`` is called at most once a second with the step reached and the episodes still running — useful
        when γ is close to 1 and episodes last 10⁵ steps.
        """
        n = check_positive_int(n, "n")
        need = self.expected_transitions(n) * BYTES_PER_TRANSITION
        if need > memory_budget:
            raise ValueError(
                f"n: {n} trajectories need about {need / 2**30:.1f} GiB (expected {self.expected_transitions(n):.3g} "
                f"transitions × {BYTES_PER_TRANSITION} B), over the memory budget of {memory_budget / 2**30:.1f} GiB; "
                f"draw them with sample_chunks(n, generator) ({self.chunk_size(memory_budget)} per chunk) or raise memory_budget")
        eps, states, actions, offsets = [], [], [], [0]
        for _, ep, st, ac in self._steps(n, generator, progress):
            eps.append(ep)
            states.append(st)
            actions.append(ac)
            offsets.append(offsets[-1] + int(st.shape[0]))
        return assemble_trajectories(self, eps, states, actions, offsets, n, generator)

    def sample_returns(self, n: int, generator: torch.Generator, *,
                       progress: Callable[[int, int], None] | None = None) -> torch.Tensor:
        """The discounted returns ``[n]`` of ``n`` independent episodes, Σ_t w_t r_t (w_t = 1 geometric, γ^t truncated),
        without materialising the trajectories: memory O(n), not O(transitions).

        Same random numbers as :meth:`sample` for the same generator state: without reward noise,
        ``sample_returns(n, g)`` equals ``sample(n, g).discounted_returns()`` (tested to round-off); with noise the
        Gaussian draws are made step by step, so the two agree in law only. Unbiased for J (geometric) or J_H.
        """
        n = check_positive_int(n, "n")
        mdp = self.mdp
        f64 = dict(dtype=torch.float64, device=mdp.device)
        ret = torch.zeros(n, **f64)
        A, rewards, std = mdp.n_actions, mdp.rewards.reshape(-1), mdp.reward_std.reshape(-1)
        for t, ep, st, ac in self._steps(n, generator, progress):
            sa = st * A + ac  # flat gathers: one index tensor instead of two
            r = rewards[sa]
            if self.has_noise:
                r = r + std[sa] * torch.randn(r.shape, generator=generator, **f64)
            if self.termination != "geometric":
                r = r * mdp.discount ** t
            ret.index_add_(0, ep, r)
        return ret


class TrajectorySampler(StepMajorSampler):
    """Pre-built alias tables for sampling trajectories of ``mdp`` under a behaviour policy.

    Parameters
    ----------
    mdp : TabularMDP
    policy : Tensor [S, A]
        The behaviour policy μ that generates the actions.
    target : Tensor [S, A], optional
        The target policy π whose log-probabilities are recorded (default: μ). Must be absolutely
        continuous with respect to μ (μ(a|s) = 0 ⇒ π(a|s) = 0), else importance weights are undefined.
    termination : 'geometric' | 'truncate'
    device : torch.device or str, optional
        Where to sample (the MDP and policies are moved there once); default: the MDP's device.
    horizon : int
        Number of steps (``truncate``) or a safety cap (``geometric``: an error, not a silent
        truncation, if any episode is still alive after ``horizon`` steps; default 50/(1−γ)).
    """

    def __init__(self, mdp: TabularMDP, policy, *, target=None, termination: str = "geometric", horizon: int | None = None,
                 device: torch.device | str | None = None):
        if not isinstance(mdp, TabularMDP):
            raise TypeError(f"mdp: expected a TabularMDP, got {type(mdp).__name__}")
        if device is not None:
            mdp = mdp.to(device)
            policy = policy.to(mdp.device) if isinstance(policy, torch.Tensor) else policy
            target = target.to(mdp.device) if isinstance(target, torch.Tensor) else target
        mu = self._policy(mdp, policy, "policy")
        pi = mu if target is None else self._policy(mdp, target, "target")
        if target is not None:
            bad = (mu == 0) & (pi > 0)
            if bool(bad.any()):
                s, a = (int(i) for i in bad.nonzero()[0])
                raise ValueError(
                    f"policy: the behaviour policy has probability 0 at (s={s}, a={a}) where the target has "
                    f"{float(pi[s, a]):.3g}; importance weights are undefined"
                )
        g = mdp.discount
        self.horizon = resolve_horizon(termination, horizon, g)
        self.mdp, self.mu, self.pi, self.termination = mdp, mu, pi, termination
        S, A = mdp.n_states, mdp.n_actions
        joint = mu.unsqueeze(-1) * mdp.transitions  # [S, A, S']
        if termination == "geometric":
            cont = joint.reshape(S, A * S) * g
            stop = mu * (1 - g)  # outcome index A*S + a: take action a, then stop
            table = torch.cat([cont, stop], dim=1)
        else:
            table = joint.reshape(S, A * S)
        self.table: AliasTable = build_alias_table(table, validate=False)
        self.initial_table: AliasTable = build_alias_table(mdp.initial.unsqueeze(0), validate=False)
        self.log_mu = torch.where(mu > 0, mu.log(), torch.full_like(mu, -torch.inf))
        self.log_pi = torch.where(pi > 0, pi.log(), torch.full_like(pi, -torch.inf))
        self.has_noise = bool((mdp.reward_std > 0).any())

    @staticmethod
    def _policy(mdp: TabularMDP, p, name: str) -> torch.Tensor:
        if isinstance(p, torch.Tensor) and p.device != mdp.device:
            raise ValueError(f"{name}: on device {p.device} but the MDP is on {mdp.device}")
        return checked_policy(mdp, p, name)

    def _initial_states(self, n: int, generator: torch.Generator) -> torch.Tensor:
        f64 = dict(dtype=torch.float64, device=self.mdp.device)
        return sample_alias(self.initial_table, torch.zeros(n, dtype=torch.long, device=self.mdp.device),
                            torch.rand(n, generator=generator, **f64))

    def _next_states(self, s: torch.Tensor, o: torch.Tensor, keep: torch.Tensor | None = None) -> torch.Tensor:
        nxt = o % self.mdp.n_states  # outcome a·S + s′
        return nxt if keep is None else nxt[keep]


def sample_trajectories(mdp: TabularMDP, policy, n: int, generator: torch.Generator, *, target=None,
                        termination: str = "geometric", horizon: int | None = None,
                        device: torch.device | str | None = None) -> Trajectories:
    """One-shot convenience: build a :class:`TrajectorySampler` and draw ``n`` trajectories."""
    return TrajectorySampler(mdp, policy, target=target, termination=termination, horizon=horizon,
                             device=device).sample(n, generator)


class StateActionRollouts(NamedTuple):
    """``n`` fixed-horizon rollouts of μ from every (s, a): index [s·A + a, k] (row-major), time axis of length H + 1."""

    states: torch.Tensor  #: int64 [S·A, n, H + 1]
    actions: torch.Tensor  #: int64 [S·A, n, H + 1]; actions[..., 0] = a, later ones ∼ μ


def rollouts_from_state_actions(mdp: TabularMDP, behaviour, n: int, horizon: int, generator: torch.Generator) -> StateActionRollouts:
    """Roll out μ for ``horizon`` steps from every (s, a) (``n`` each, no termination): Q-operator estimates need them."""
    n = check_positive_int(n, "n")
    H = check_positive_int(horizon, "horizon")
    mu = check_probabilities(as_tensor(behaviour, "behaviour", device=mdp.device), "behaviour")
    if tuple(mu.shape) != (mdp.n_states, mdp.n_actions):
        raise ValueError(f"behaviour: expected shape [S, A] = {(mdp.n_states, mdp.n_actions)}, got {tuple(mu.shape)}")
    S, A = mdp.n_states, mdp.n_actions
    trans = build_alias_table(mdp.transitions.reshape(S * A, S), validate=False)
    pol = build_alias_table(mu, validate=False)
    s = torch.arange(S, device=mdp.device).repeat_interleave(A)[:, None].expand(S * A, n).reshape(-1)
    a = torch.arange(A, device=mdp.device).repeat(S)[:, None].expand(S * A, n).reshape(-1)
    states, actions = [s], [a]
    for _ in range(H):
        s = sample_alias(trans, s * A + a, torch.rand(s.shape, generator=generator, dtype=torch.float64, device=mdp.device))
        a = sample_alias(pol, s, torch.rand(s.shape, generator=generator, dtype=torch.float64, device=mdp.device))
        states.append(s)
        actions.append(a)
    shape = (S * A, n, H + 1)
    return StateActionRollouts(torch.stack(states, -1).view(shape), torch.stack(actions, -1).view(shape))
