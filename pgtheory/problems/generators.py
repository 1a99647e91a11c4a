"""Generators of tabular MDP testbeds: Garnet, a hard-exploration chain, gridworlds, cliff walks, deep sea."""
from __future__ import annotations

import math

import numpy as np
import torch

from .._checks import check_discount, check_positive_int, check_real
from .mdp import TabularMDP

__all__ = ["garnet", "hard_chain", "gridworld", "cliff_walk", "stochastic_cliff", "deep_sea"]


def _rng(seed: int | np.random.Generator | None) -> np.random.Generator:
    """A numpy generator from ``seed``: a Generator, None (fresh entropy) or a non-negative integer."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is not None:
        seed = check_positive_int(seed, "seed", minimum=0)
    return np.random.default_rng(seed)


def _cell(p, name: str, height: int, width: int) -> tuple[int, int]:
    """A grid cell (row, col) inside the ``height × width`` grid."""
    if isinstance(p, (str, bytes)) or not hasattr(p, "__len__") or len(p) != 2:
        raise TypeError(f"{name}: expected a (row, col) pair, got {p!r}")
    r, c = (check_positive_int(x, name, minimum=-(2**62)) for x in p)
    if not (0 <= r < height and 0 <= c < width):
        raise ValueError(f"{name}: {(r, c)} lies outside the {height}x{width} grid")
    return r, c


def garnet(
    n_states: int,
    n_actions: int,
    branching: int,
    *,
    discount: float = 0.9,
    seed: int | np.random.Generator | None = 0,
    reward_std: float = 0.0,
    initial: str = "uniform",
) -> TabularMDP:
    r"""Random Garnet MDP (Archibald et al. 1995; Bhatnagar et al. 2009).

    Each (s, a) moves to ``branching`` distinct next states chosen uniformly, with probabilities given
    by the gaps of ``branching - 1`` sorted uniform cut points. Mean rewards are U[0, 1] i.i.d.;
    ``initial='uniform'`` gives ρ uniform, ``'random'`` a Dirichlet(1) draw.
    """
    S = check_positive_int(n_states, "n_states")
    A = check_positive_int(n_actions, "n_actions")
    b = check_positive_int(branching, "branching")
    if b > S:
        raise ValueError(f"branching: must be <= n_states = {S}, got {b}")
    rng = _rng(seed)
    P = np.zeros((S, A, S))
    for s in range(S):
        for a in range(A):
            nxt = rng.choice(S, size=b, replace=False)
            cuts = np.sort(rng.random(b - 1))
            P[s, a, nxt] = np.diff(np.concatenate([[0.0], cuts, [1.0]]))
    r = rng.random((S, A))
    if initial == "uniform":
        rho = np.full(S, 1.0 / S)
    elif initial == "random":
        rho = rng.dirichlet(np.ones(S))
    else:
        raise ValueError(f"initial: expected 'uniform' or 'random', got {initial!r}")
    return TabularMDP(torch.from_numpy(P), torch.from_numpy(r), discount, torch.from_numpy(rho),
                      reward_std=reward_std, name=f"garnet(S={S},A={A},b={b})")


def hard_chain(n_states: int, *, discount: float = 0.95, distractor_reward: float = 0.01) -> TabularMDP:
    r"""A chain whose reward a uniformly exploring policy finds with probability :math:`2^{-(n-1)}`.

    States 0..n-1, start in 0, actions {0: right, 1: reset}. ``right`` moves s → s+1, ``reset`` returns
    to 0 and pays ``distractor_reward``; the last state is absorbing and pays 1 per step under either
    action. The uniform policy reaches the last state within n-1 steps w.p. :math:`2^{-(n-1)}`, so
    vanilla softmax PG from uniform initialisation needs exponentially many iterations (Li et al. 2021;
    Mei et al. 2020).
    """
    n = check_positive_int(n_states, "n_states", minimum=2)
    check_discount(discount)
    check_real(distractor_reward, "distractor_reward")
    P = np.zeros((n, 2, n))
    r = np.zeros((n, 2))
    for s in range(n - 1):
        P[s, 0, s + 1] = 1.0
        P[s, 1, 0] = 1.0
        r[s, 1] = distractor_reward
    P[n - 1, :, n - 1] = 1.0
    r[n - 1, :] = 1.0
    rho = np.zeros(n)
    rho[0] = 1.0
    return TabularMDP(torch.from_numpy(P), torch.from_numpy(r), discount, torch.from_numpy(rho),
                      name=f"hard_chain(n={n})")


_MOVES = np.array([[-1, 0], [0, 1], [1, 0], [0, -1]])  # up, right, down, left (row, col)


def _grid_step(pos: tuple[int, int], move: np.ndarray, height: int, width: int) -> tuple[int, int]:
    r, c = pos[0] + move[0], pos[1] + move[1]
    return (min(max(r, 0), height - 1), min(max(c, 0), width - 1))


def gridworld(
    height: int = 4,
    width: int = 4,
    *,
    slip: float = 0.1,
    discount: float = 0.9,
    goal: tuple[int, int] | None = None,
    start: tuple[int, int] = (0, 0),
    reward_std: float = 0.0,
) -> TabularMDP:
    r"""A ``height × width`` gridworld with four actions and slippery moves.

    With probability ``1 - slip`` the chosen move happens, otherwise a uniformly random one of the four
    (walls keep the agent in place). Entering ``goal`` (default: bottom-right corner) pays 1 and the
    goal then moves to an absorbing, zero-reward terminal state (the extra last state). State index is
    ``row * width + col``; the terminal state is ``height * width``.
    """
    h = check_positive_int(height, "height")
    w = check_positive_int(width, "width")
    check_real(slip, "slip", low=0.0, high=1.0)
    goal = (h - 1, w - 1) if goal is None else _cell(goal, "goal", h, w)
    start = _cell(start, "start", h, w)
    S = h * w + 1
    term = h * w
    g = goal[0] * w + goal[1]
    P = np.zeros((S, 4, S))
    r = np.zeros((S, 4))
    for row in range(h):
        for col in range(w):
            s = row * w + col
            if s == g:
                P[s, :, term] = 1.0
                continue
            for a in range(4):
                for m in range(4):
                    p = (1 - slip) * (m == a) + slip / 4
                    nr, nc = _grid_step((row, col), _MOVES[m], h, w)
                    P[s, a, nr * w + nc] += p
                r[s, a] = P[s, a, g]
    P[term, :, term] = 1.0
    rho = np.zeros(S)
    rho[start[0] * w + start[1]] = 1.0
    return TabularMDP(torch.from_numpy(P), torch.from_numpy(r), discount, torch.from_numpy(rho),
                      reward_std=reward_std, name=f"gridworld({h}x{w},slip={slip})")


def cliff_walk(
    width: int = 6,
    height: int = 3,
    *,
    slip: float = 0.1,
    discount: float = 0.95,
    step_cost: float = 0.05,
    cliff_cost: float = 1.0,
    cliff_cost_std: float = 0.5,
) -> TabularMDP:
    r"""A stochastic cliff walk (Sutton & Barto Ex. 6.6 with slippery moves and random cliff costs).

    Start at the bottom-left cell, goal at the bottom-right; the bottom row between them is the cliff.
    Each move costs ``step_cost``; with probability ``slip`` the move is uniformly random. Falling off
    the cliff costs ``cliff_cost`` on average, with Gaussian noise of standard deviation
    ``cliff_cost_std`` when sampled (``reward_std`` scales with the probability of falling), and sends
    the agent back to the start. Reaching the goal moves to an absorbing zero-reward terminal state.
    """
    w = check_positive_int(width, "width", minimum=3)
    h = check_positive_int(height, "height", minimum=2)
    check_real(slip, "slip", low=0.0, high=1.0)
    check_real(step_cost, "step_cost")
    check_real(cliff_cost, "cliff_cost")
    check_real(cliff_cost_std, "cliff_cost_std", low=0.0)
    S = h * w + 1
    term = h * w
    start = (h - 1) * w
    goal = (h - 1) * w + (w - 1)
    cliff = {(h - 1) * w + c for c in range(1, w - 1)}
    P = np.zeros((S, 4, S))
    r = np.zeros((S, 4))
    std = np.zeros((S, 4))
    for row in range(h):
        for col in range(w):
            s = row * w + col
            if s == goal or s in cliff:
                # goal: terminate; cliff cells are never occupied (falling resets), make them reset too
                P[s, :, term if s == goal else start] = 1.0
                continue
            for a in range(4):
                p_fall = 0.0
                for m in range(4):
                    p = (1 - slip) * (m == a) + slip / 4
                    nr, nc = _grid_step((row, col), _MOVES[m], h, w)
                    ns = nr * w + nc
                    if ns in cliff:
                        p_fall += p
                        ns = start
                    P[s, a, ns] += p
                r[s, a] = -step_cost - cliff_cost * p_fall
                # noise std of (cost · Bernoulli(p_fall) + N(0, σ²)·1[fall]) around its mean
                # = sqrt(p_fall) · hypot(σ, cost · sqrt(1 − p_fall)), which cannot overflow for finite inputs
                std[s, a] = math.sqrt(p_fall) * math.hypot(cliff_cost_std, cliff_cost * math.sqrt(max(1 - p_fall, 0.0)))
    P[term, :, term] = 1.0
    if not (np.isfinite(r).all() and np.isfinite(std).all()):
        raise ValueError("step_cost, cliff_cost, cliff_cost_std: the rewards or their noise overflow float64")
    rho = np.zeros(S)
    rho[start] = 1.0
    return TabularMDP(torch.from_numpy(P), torch.from_numpy(r), discount, torch.from_numpy(rho),
                      reward_std=torch.from_numpy(std), name=f"cliff_walk({h}x{w},slip={slip})")


_COST_CLIFF_MOVES = ((-1, 0), (1, 0), (0, -1), (0, 1))  # up, down, left, right (row, col): stochastic_cliff's actions


def stochastic_cliff(slip: float, *, height: int = 3, width: int = 4, step_cost: float = 0.1, cliff_cost: float = 1.0,
                     discount: float = 0.8) -> tuple[TabularMDP, torch.Tensor]:
    r"""A cost cliff walk whose cost is a function of the state (moved from L37's claim module, issue 14).

    Cells ``row * width + col``; start bottom-left, goal bottom-right (absorbing, cost 0); the bottom-row cells between
    them are cliff *states* (cost ``cliff_cost`` under every action, then reset to the start); every other cell costs
    ``step_cost``. Actions (up, down, left, right); a move goes in the chosen direction with probability 1 − ``slip``
    and in a uniformly random one of the four with probability ``slip`` (walls keep the agent in place), so
    :math:`P(s'|s,a)=(1-\text{slip})\,1[s'=m_a(s)]+\frac{\text{slip}}4\sum_m1[s'=m(s)]`. ρ = δ_start.
    Unlike :func:`cliff_walk` the cliff cells are occupied for one step and there is no terminal state.

    Returns the MDP (rewards = −costs, ``discount``) and the cost table ``[S, 4]``, S = height · width.
    """
    slip = check_real(slip, "slip", low=0.0, high=1.0)
    height = check_positive_int(height, "height", minimum=2)
    width = check_positive_int(width, "width", minimum=3)
    check_real(step_cost, "step_cost")
    check_real(cliff_cost, "cliff_cost")
    discount = check_discount(discount)
    S = height * width
    P, c = np.zeros((S, 4, S)), np.zeros((S, 4))
    start, goal = (height - 1) * width, height * width - 1
    cliff = {(height - 1) * width + k for k in range(1, width - 1)}
    for r in range(height):
        for col in range(width):
            s = r * width + col
            if s == goal:
                P[s, :, s] = 1.0
                continue
            if s in cliff:
                P[s, :, start], c[s, :] = 1.0, cliff_cost
                continue
            c[s, :] = step_cost
            for a in range(4):
                for m, (dr, dc) in enumerate(_COST_CLIFF_MOVES):
                    nr, nc = min(max(r + dr, 0), height - 1), min(max(col + dc, 0), width - 1)
                    P[s, a, nr * width + nc] += (1 - slip) * (m == a) + slip / 4
    rho = np.zeros(S)
    rho[start] = 1.0
    cost = torch.from_numpy(c)
    return TabularMDP(torch.from_numpy(P), -cost, discount, torch.from_numpy(rho), name=f"cliff(slip={slip})"), cost


def deep_sea(size: int, *, discount: float = 0.9, move_cost: float | None = None,
             treasure: float = 1.0) -> TabularMDP:
    r"""The deep-sea exploration grid of bsuite (Osband et al. 2019, 2020), deterministic and without the per-cell
    action permutation.

    Cells (row, col) of a ``size × size`` grid, index ``row * size + col``, plus a terminal absorbing zero-reward
    state ``size²``; start (0, 0). Actions (0: left, 1: right): every step descends one row and moves the column by ∓1
    (clamped to the grid); a step from the last row ends the episode. Rewards r(s, a) = −``move_cost`` · 1[a = right]
    (default 0.01/size) + ``treasure`` · 1[s = (size − 1, size − 1)], so every episode lasts exactly ``size`` steps and
    every return law is discrete with finitely many atoms.
    """
    n = check_positive_int(size, "size", minimum=2)
    check_discount(discount)
    cost = 0.01 / n if move_cost is None else check_real(move_cost, "move_cost", low=0.0)
    treasure = check_real(treasure, "treasure")
    S = n * n + 1
    term = n * n
    P = np.zeros((S, 2, S))
    r = np.zeros((S, 2))
    for row in range(n):
        for col in range(n):
            s = row * n + col
            for a, dc in ((0, -1), (1, 1)):
                P[s, a, term if row == n - 1 else (row + 1) * n + min(max(col + dc, 0), n - 1)] = 1.0
                r[s, a] = -cost * a + treasure * (s == n * n - 1)
    P[term, :, term] = 1.0
    rho = np.zeros(S)
    rho[0] = 1.0
    return TabularMDP(torch.from_numpy(P), torch.from_numpy(r), discount, torch.from_numpy(rho), name=f"deep_sea({n})")
