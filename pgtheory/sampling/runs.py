r"""Many independent runs sampled as one batch: R policies, one generator each, one vectorised loop over time steps.

Optimisers (:mod:`pgtheory.optim`) run R seeds at once; every iteration needs n trajectories of each run's own policy.
The single-policy samplers (:class:`~pgtheory.sampling.TrajectorySampler`, :func:`~pgtheory.sampling.sample_lqr_trajectories`)
would need R calls per iteration. The samplers here draw for R policies in one loop over time steps, while run r draws
every random number from ``generators[r]`` only, in an order that depends on run r's own trajectories alone: the
batch for ``[a, b]`` equals the batches for ``[a]`` and ``[b]`` drawn one at a time (the tests check this bit for bit).

* :func:`sample_policies` — tabular MDPs, ``pi [R, S, A]``, geometric termination, flat step-major
  :class:`~pgtheory.sampling.Trajectories` (episode id ``r·n + i``).
* :func:`sample_lqr_runs` — an :class:`~pgtheory.problems.LQR` under R linear-Gaussian gains ``K [R, m, n]``, geometric
  termination, a padded :class:`LQRRunBatch` ``[R, n, T]``.

Under geometric termination (continue with probability γ after each step) the undiscounted sums are unbiased for the
discounted objective and the termination does not depend on the policy, so the GPOMDP estimate and the trajectory
importance weight Π_t π'(a_t|s_t)/π(a_t|s_t) are exact (:mod:`pgtheory.sampling.mdp`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import torch

from .._checks import check_positive_int
from ..exact.lqr import check_lqr_policy
from ..policies.gaussian import LinearGaussianPolicy
from ..problems.lqr import LQR, psd_factor
from ..problems.mdp import TabularMDP
from .alias import AliasTable, build_alias_table, sample_alias
from .mdp import Trajectories, default_episode_cap

__all__ = ["seed_generators", "transition_alias_table", "sample_policies", "LQRRunBatch", "sample_lqr_runs",
           "default_episode_cap"]


def transition_alias_table(mdp: TabularMDP) -> AliasTable:
    r"""Alias table over the outcomes of each (s, a) under geometric termination, rows ``s·A + a``, ``S + 1`` outcomes:

    s' with probability γ P(s'|s, a), and outcome S (stop) with probability 1 − γ.
    """
    if not isinstance(mdp, TabularMDP):
        raise TypeError(f"mdp: expected a TabularMDP, got {type(mdp).__name__}")
    S, A, g = mdp.n_states, mdp.n_actions, mdp.discount
    cont = mdp.transitions.reshape(S * A, S) * g
    stop = torch.full((S * A, 1), 1.0 - g, dtype=cont.dtype, device=cont.device)
    return build_alias_table(torch.cat([cont, stop], dim=1), validate=False)


def seed_generators(seeds: Sequence[int], device: torch.device | str) -> list[torch.Generator]:
    """One ``torch.Generator`` on ``device`` per seed, ``manual_seed(seeds[r])`` (non-negative integers)."""
    if isinstance(seeds, (str, bytes)) or not hasattr(seeds, "__len__"):
        raise TypeError(f"seeds: expected a sequence of non-negative integers, got {type(seeds).__name__}")
    if len(seeds) == 0:
        raise ValueError("seeds: expected at least one seed, got an empty sequence")
    out = []
    for s in seeds:
        s = check_positive_int(s, "seeds", minimum=0)
        out.append(torch.Generator(device=device).manual_seed(s))
    return out


def _check_generators(generators: Sequence[torch.Generator], R: int, dev: torch.device) -> None:
    if len(generators) != R:
        raise ValueError(f"generators: expected one generator per policy ({R}), got {len(generators)}")
    for g in generators:
        if not isinstance(g, torch.Generator):
            raise TypeError(f"generators: expected torch.Generator entries, got {type(g).__name__}")
        if g.device.type != dev.type:
            raise ValueError(f"generators: a generator is on {g.device} but the problem is on {dev}")


def sample_policies(mdp: TabularMDP, pi: torch.Tensor, n: int, generators: Sequence[torch.Generator], *,
                    max_steps: int | None = None, table: AliasTable | None = None,
                    initial_table: AliasTable | None = None) -> Trajectories:
    r"""Draw ``n`` geometric-termination trajectories of each of R policies ``pi [R, S, A]`` in one batch.

    Returns one :class:`~pgtheory.sampling.Trajectories` with R·n episodes, episode id ``r·n + i`` (run-major), states
    and actions of the MDP itself, weights 1 (so Σ_t r_t is unbiased for J(π_r), as in ``TrajectorySampler``) and
    ``log_target = log_behaviour = log π_r(a_t|s_t)``. Per-episode estimators (``per_episode_sum``, ``reverse_cumsum``,
    the ψ_t of :data:`~pgtheory.estimators.PG_ESTIMATORS`) apply unchanged; :func:`per_trajectory_gradients` contracts
    with the right run's policy.

    Randomness: run r draws only from ``generators[r]``: first n uniforms for the initial states followed, in the same
    draw, by its first block; then, in blocks of
    L steps (L = max(16, ⌈1/(1−γ)⌉), capped by ``max_steps``), a ``[2, n, L]`` uniform block (action, transition) and,
    when the MDP has reward noise, an ``[n, L]`` normal block — the next block only while run r still has a live
    episode. The stream of run r is therefore the same whatever the other runs are (batched = one-at-a-time).
    Action: a = #{j < A−1 : F_r(j|s) ≤ u}, the inverse CDF of π_r(·|s); next state / stop from :func:`transition_alias_table`.

    ``max_steps`` caps the episode length (default max(10, 50/(1−γ)), as ``TrajectorySampler``): an episode still alive
    after it raises ``RuntimeError`` (no silent truncation). ``table`` (:func:`transition_alias_table`) and
    ``initial_table`` (``build_alias_table(mdp.initial[None])``) may be passed by a caller that samples the same MDP
    many times (an optimiser's every iteration); they are built here otherwise.
    """
    if not isinstance(mdp, TabularMDP):
        raise TypeError(f"mdp: expected a TabularMDP, got {type(mdp).__name__}")
    n = check_positive_int(n, "n")
    S, A, dev = mdp.n_states, mdp.n_actions, mdp.device
    if not isinstance(pi, torch.Tensor):
        raise TypeError(f"pi: expected a torch.Tensor [R, S, A], got {type(pi).__name__}")
    if pi.ndim != 3 or tuple(pi.shape[1:]) != (S, A):
        raise ValueError(f"pi: expected shape [R, S, A] = [R, {S}, {A}], got {tuple(pi.shape)}")
    if pi.device != dev:
        raise ValueError(f"pi: on device {pi.device} but the MDP is on {dev}")
    R = pi.shape[0]
    _check_generators(generators, R, dev)
    cap = default_episode_cap(mdp.discount) if max_steps is None else check_positive_int(max_steps, "max_steps")
    table = transition_alias_table(mdp) if table is None else table
    L = min(cap, max(16, math.ceil(1 / (1 - mdp.discount))))
    noisy = bool((mdp.reward_std > 0).any())
    f64 = dict(dtype=torch.float64, device=dev)
    cdf = pi.to(torch.float64).cumsum(-1)[..., : A - 1]  # [R, S, A-1]
    init_table = build_alias_table(mdp.initial.unsqueeze(0), validate=False) if initial_table is None else initial_table

    def block(alive_runs: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor | None]:
        U = torch.zeros(R, 2, n, L, **f64)
        Z = torch.zeros(R, n, L, **f64) if noisy else None
        runs = range(R) if alive_runs is None else alive_runs.tolist()
        for r in runs:
            U[r] = torch.rand(2, n, L, generator=generators[r], **f64)
            if noisy:
                Z[r] = torch.randn(n, L, generator=generators[r], **f64)
        return U, Z

    first, Z_list = [], []
    for g in generators:  # run r's stream: initial uniforms and its first block in one draw, then its first noises
        first.append(torch.rand(n + 2 * n * L, generator=g, **f64))
        if noisy:
            Z_list.append(torch.randn(n, L, generator=g, **f64))
    first = torch.stack(first)  # one stack, then views (per-run slicing cost R small ops; issue 12's batched seeds)
    u0, U = first[:, :n], first[:, n:].view(R, 2, n, L)
    Z = torch.stack(Z_list) if noisy else None

    def flat(U, Z):
        """Step-major uniforms [L, R·n] (row j: step j of every episode r·n + i, contiguous) and noises [L, R·n]."""
        return (U[:, 0].reshape(R * n, L).T.contiguous(), U[:, 1].reshape(R * n, L).T.contiguous(),
                Z.reshape(R * n, L).T.contiguous() if noisy else None)

    Ua, Us, Zf = flat(U, Z)
    cdf_rows = cdf.reshape(R * S, A - 1)
    s = sample_alias(init_table, torch.zeros(R * n, dtype=torch.long, device=dev), u0.reshape(-1))
    ep = torch.arange(R * n, device=dev)
    base = torch.div(ep, n, rounding_mode="floor") * S  # row offset of the episode's run in cdf_rows
    eps, states, actions, noise, offsets = [], [], [], [], [0]
    full = True  # every episode still alive: ep = arange(R·n), so a step's row of uniforms needs no gather
    for t in range(cap):
        j = t % L
        if j == 0 and t > 0:
            Ua, Us, Zf = flat(*block(torch.unique(torch.div(ep, n, rounding_mode="floor"))))
        ua, us = (Ua[j], Us[j]) if full else (Ua[j].index_select(0, ep), Us[j].index_select(0, ep))
        a = (cdf_rows.index_select(0, base + s) <= ua.unsqueeze(-1)).sum(-1)
        k = sample_alias(table, s * A + a, us)
        eps.append(ep)
        states.append(s)
        actions.append(a)
        if noisy:
            noise.append(Zf[j] if full else Zf[j].index_select(0, ep))
        offsets.append(offsets[-1] + int(ep.shape[0]))
        keep = (k < S).nonzero().squeeze(1)
        if keep.numel() == 0:
            break
        if keep.numel() < ep.numel():
            ep, s, base, full = ep.index_select(0, keep), k.index_select(0, keep), base.index_select(0, keep), False
        else:
            s = k
    else:
        raise RuntimeError(f"max_steps: {int(ep.numel())} of {R * n} geometric episodes outlived the cap of {cap} steps; "
                           "raise max_steps (each episode survives H steps with probability γ^H)")
    episode, st, ac = torch.cat(eps), torch.cat(states), torch.cat(actions)
    rew = mdp.rewards[st, ac]
    if noisy:
        rew = rew + mdp.reward_std[st, ac] * torch.cat(noise)
    run = torch.div(episode, n, rounding_mode="floor")
    logp = torch.where(pi > 0, pi.to(torch.float64).log(), torch.full_like(pi, -torch.inf, dtype=torch.float64))[run, st, ac]
    return Trajectories(episode, st, ac, rew, torch.ones_like(rew), logp, logp, tuple(offsets), R * n, "geometric",
                        mdp.discount)


@dataclass(frozen=True)
class LQRRunBatch:
    r"""n geometric-termination LQR trajectories for each of R runs, padded to the longest episode T: ``[R, n, T, ·]``.

    ``mask[r, i, t]`` is 1 while episode (r, i) is alive at step t; states, actions and rewards are 0 past the end.
    ``gains [R, m, n]`` and ``std`` (σ) generated the actions u_t = −K_r x_t + σ ε_t.
    """

    states: torch.Tensor  #: float64 [R, n, T, nx], x_t
    actions: torch.Tensor  #: float64 [R, n, T, m], u_t
    rewards: torch.Tensor  #: float64 [R, n, T], r_t = −(x_tᵀQx_t + u_tᵀRu_t) (0 when not alive)
    mask: torch.Tensor  #: float64 [R, n, T], 1 while alive
    gains: torch.Tensor  #: float64 [R, m, nx]
    std: float
    discount: float

    @property
    def n_runs(self) -> int:
        return int(self.states.shape[0])

    @property
    def n_per_run(self) -> int:
        return int(self.states.shape[1])

    def lengths(self) -> torch.Tensor:
        """Steps per episode, int64 ``[R, n]``."""
        return self.mask.sum(-1).long()

    def returns(self) -> torch.Tensor:
        """Σ_t r_t per episode, ``[R, n]``: unbiased for J(K_r)."""
        return self.rewards.sum(-1)

    def rewards_to_go(self) -> torch.Tensor:
        """Σ_{t' ≥ t} r_{t'} within each episode, ``[R, n, T]`` (0 past the end)."""
        return self.rewards.flip(-1).cumsum(-1).flip(-1)


def sample_lqr_runs(lqr: LQR, policy: LinearGaussianPolicy, gains: torch.Tensor, n: int,
                    generators: Sequence[torch.Generator], *, max_steps: int | None = None) -> LQRRunBatch:
    r"""Draw ``n`` geometric-termination trajectories of ``lqr`` under each of R gains ``gains [R, m, n_x]`` in one batch.

    x_0 ~ N(0, Σ_0); u_t = −K_r x_t + σ ε_t; x_{t+1} = A x_t + B u_t + w_t, w_t ~ N(0, W); r_t = −(x_tᵀQx_t + u_tᵀRu_t);
    after each step the episode continues with probability γ, so Σ_t r_t is unbiased for J(K_r) (as
    :func:`~pgtheory.sampling.sample_lqr_trajectories` with ``termination="geometric"``).

    Randomness of run r, all from ``generators[r]``: first (in one pass over the runs) n uniforms u_i giving the lengths
    T_i = 1 + ⌊log u_i / log γ⌋ (so P(T_i > t) = γ^t), then one draw of standard normals split, in order, into
    x_0 ``[n, n_x]``, ε ``[n, T_r, m]`` and w ``[n, T_r, n_x]`` with T_r = max_i T_i of run r (in a second pass). Nothing of run r depends on another run. An episode longer than
    ``max_steps`` (default max(10, 50/(1−γ))) raises ``RuntimeError`` (no silent truncation). Gains need not be
    stabilising (any K can be simulated), but then J is infinite and the estimates heavy-tailed.
    """
    if not isinstance(lqr, LQR):
        raise TypeError(f"lqr: expected an LQR, got {type(lqr).__name__}")
    check_lqr_policy(lqr, policy)
    N = check_positive_int(n, "n")
    dev = lqr.device
    if not isinstance(gains, torch.Tensor):
        raise TypeError(f"gains: expected a torch.Tensor [R, m, n], got {type(gains).__name__}")
    K = policy.check_params(gains, "gains")
    if K.ndim != 3:
        raise ValueError(f"gains: expected shape [R, m, n] = [R, {lqr.action_dim}, {lqr.state_dim}], got {tuple(K.shape)}")
    if K.device != dev:
        raise ValueError(f"gains: on device {K.device} but the LQR is on {dev}")
    R = K.shape[0]
    _check_generators(generators, R, dev)
    g = lqr.discount
    cap = default_episode_cap(g) if max_steps is None else check_positive_int(max_steps, "max_steps")
    nx, nu = lqr.state_dim, lqr.action_dim
    f64 = dict(dtype=torch.float64, device=dev)
    u = torch.stack([torch.rand(N, generator=gen, **f64) for gen in generators])  # [R, N]
    Tlen = 1 + torch.floor(torch.log(u) / math.log(g)).long() if g > 0 else torch.ones(R, N, dtype=torch.long, device=dev)
    T_run = Tlen.amax(1).tolist()
    if max(T_run) > cap:
        r = int(torch.tensor(T_run).argmax())
        raise RuntimeError(f"max_steps: an episode of run {r} lasts {T_run[r]} steps, beyond the cap of {cap}; "
                           "raise max_steps (each episode survives H steps with probability γ^H)")
    Tmax = max(T_run)
    Z = torch.zeros(R, N * nx + N * Tmax * (nu + nx), **f64)
    for r, gen in enumerate(generators):
        k = N * nx + N * T_run[r] * (nu + nx)
        Z[r, :k] = torch.randn(k, generator=gen, **f64)
    x0 = Z[:, : N * nx].view(R, N, nx)
    # run r's ε and w occupy the first N·T_r·(m + n) numbers after x_0: re-lay them onto the common [N, T_max] grid
    E = torch.zeros(R, N, Tmax, nu, **f64)
    Wn = torch.zeros(R, N, Tmax, nx, **f64)
    for T_r in sorted(set(T_run)):
        rows = [r for r in range(R) if T_run[r] == T_r]
        body = Z[rows, N * nx: N * nx + N * T_r * (nu + nx)]
        E[rows, :, :T_r] = body[:, : N * T_r * nu].reshape(len(rows), N, T_r, nu)
        Wn[rows, :, :T_r] = body[:, N * T_r * nu:].reshape(len(rows), N, T_r, nx)
    mask = (torch.arange(Tmax, device=dev) < Tlen[..., None]).to(torch.float64)  # [R, N, T]
    F0, Fw = psd_factor(lqr.initial_cov), psd_factor(lqr.noise_cov)
    sigma = float(policy.std)
    x = x0 @ F0.T  # [R, N, nx]
    Kt = K.transpose(-1, -2)  # [R, nx, m]
    At, Bt = lqr.A.T, lqr.B.T
    Wn = Wn @ Fw.T
    xs, us = [], []
    for t in range(Tmax):
        u = -(x @ Kt) + sigma * E[:, :, t]
        xs.append(x)
        us.append(u)
        x = x @ At + u @ Bt + Wn[:, :, t]
    X = torch.stack(xs, 2) * mask[..., None]
    U = torch.stack(us, 2) * mask[..., None]
    rew = -(((X @ lqr.Q) * X).sum(-1) + ((U @ lqr.R) * U).sum(-1)) * mask
    return LQRRunBatch(X, U, rew, mask, K, sigma, g)
