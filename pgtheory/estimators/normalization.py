r"""Whitening and clipping of advantages or rewards over a batch, and reward scaling by a running std.

Two registries, one per family:

* ``ADVANTAGE_TRANSFORMS`` — maps ``values [..., N]`` → ``[..., N]`` computed from one batch (the trailing
  ``pool_axes`` axes, default the last; leading axes are independent replicate batches):

  - ``whiten`` — (x − m)/D, plus m back when ``shift_mean=False``, with m the batch mean and
    D = √(v + ε) (``eps_placement="variance"``) or √v + ε (``eps_placement="std"``), v the batch variance with the
    Bessel (n − 1) or population (n) divisor. By name (each read on 2026-11-30; the code, not copied):

    - verl ``verl.utils.torch_functional.masked_whiten(values, mask, shift_mean=True)`` (GAE and REINFORCE++
      advantages) = ``whiten(mask=mask, std="bessel", eps=1e-8, eps_placement="variance", pool_axes=2)`` (one mean and
      variance over the whole [B, T] batch);
    - TRL ``masked_whiten`` (experimental PPO trainer; advantages, and rewards with ``whiten_rewards=True`` and
      ``shift_mean=False``) and ``trl.core.whiten`` (``torch.var``: Bessel) = the same, also with ``pool_axes=2``;
    - Stable-Baselines3 PPO ``normalize_advantage=True`` (per minibatch; A2C likewise) =
      ``whiten(std="bessel", eps=1e-8, eps_placement="std")``;
    - OpenAI baselines ppo2 ``(advs - advs.mean()) / (advs.std() + 1e-8)`` (numpy: population std) =
      ``whiten(std="population", eps=1e-8, eps_placement="std")``.

    verl's ``masked_mean`` divides by (mask count + 1e-8), a relative change of the mean of 1e-8/n that is not
    reproduced here. ``shift_mean=False`` in verl and TRL is *not* a pure rescaling: it returns
    m + (x − m)/D, i.e. the deviations are scaled and the batch mean is put back.

  - ``clip`` — clamp(x, −c, c). TRL's (pre-October-2024) ``PPOTrainer`` ``score_clip`` (default ``None``: off)
    clipped scores this way; OpenAI baselines' ``VecNormalize`` clips scaled rewards to ±``cliprew`` (10).
    Note that verl's and TRL's ``cliprange_value`` clips the *value prediction* around the old values in the
    critic loss (a trust region for the critic), not rewards; no reward-clip option exists in verl's
    ``core_algos.py`` (searched on 2026-11-30).

* ``RUNNING_REWARD_SCALINGS`` — folds over a stream ``rewards [..., T, B]`` (T consecutive batches of B) that
  rescale each batch by running moments updated *with that batch included* (as both libraries do):

  - ``trl_score_scaling`` — TRL's ``use_score_scaling`` (and ``use_score_norm``): running moments from
    ``RunningMoments`` (mean 0, var 1, count 1e-24 initially; parallel update with the batch's population
    variance; std = √(var·n/(n − 1)) on the total count n), then scores/(std + ε) or (scores − mean)/(std + ε),
    ε = ``torch.finfo(scores.dtype).eps`` (float32's 1.19e-7 by default here, TRL's scores being float32).
  - ``vecnormalize`` — OpenAI baselines ``VecNormalize(ret=True)``: the running discounted return per stream
    ret ← γ·ret + r (zeroed after ``done``) feeds ``RunningMeanStd`` (mean 0, var 1, count 1e-4 initially,
    population variance), and the reward becomes clip(r/√(var + ε), −clip, clip), ε = 1e-8, clip = 10, γ = 0.99.

Exact gradient consequences (derived here; tests enumerate every batch with
:func:`pgtheory.exact.groups.enumerate_groups`). Let y_1..y_N be i.i.d. from π_θ, R_i = r(y_i), f the transform
and ĝ = (1/N) Σ_i f(R)_i ∇log π(y_i); ∇J = E[R ∇log π(y)].

* Whitening is affine in the own reward with batch-dependent coefficients, f_i = a(R)·R_i + b(R), with
  a, b symmetric in the batch: it has a = 1/D and b = −m/D (shifted) or b = m(1 − 1/D) (not shifted).
  By exchangeability, with α(y) = E[a | y_1 = y], β(y) = E[b | y_1 = y] and ā = E[a],

  .. math:: \mathbb E\,\hat g = \bar a\,\nabla J + \sum_y \pi(y)\,\nabla\log\pi(y)\,
            \big[r(y)\,(\alpha(y) - \bar a) + \beta(y)\big],

  so batch whitening is "a rescaling by ā" only when neither D nor m depends on the own sample; otherwise the
  bracket is a bias. The mean-shifted version subtracts the sample-dependent baseline m/D, which contains R_i/N
  (the (1 − 1/N) shrinkage of a mean baseline that includes the sample).
* With binary rewards (R ∈ {0, 1}, p = P(R = 1)) every reward-only transform gives E ĝ = c·∇p with
  c = h(1) − h(0), h(v) = E[f_1 | R_1 = v]: no bias in direction, only a p-dependent scale (which reweights
  prompts when batches pool several). For N = 2: shifted whitening has c = (1/2)/D₂ with D₂ = √(1/2 + ε)
  (Bessel; → 1/√2) or √(1/4 + ε) (population; → 1); un-shifted whitening has c = 1/2 + 1/(2D₂). Three or more
  reward levels give a bias in direction.
* ``clip`` acts on each sample alone, so E ĝ = ∇E[clip(R)] exactly: unbiased for the clipped objective, biased
  for J by Σ_y π(y)(E[clip(R) | y] − E[R | y])∇log π(y).
* Running scalings: the batch that is scaled enters its own scale, so E ĝ_t is not parallel to ∇J in general;
  scaling batch t by the moments *before* its update would give exactly E[1/σ_{t−1}]·∇J.
"""
from __future__ import annotations

from typing import Any, Callable, NamedTuple

import torch

from .._checks import as_tensor, check_finite, check_finite_result, check_mask, check_positive_int, check_real
from .._registry import Registry

__all__ = [
    "ADVANTAGE_TRANSFORMS",
    "RUNNING_REWARD_SCALINGS",
    "RunningMoments",
    "batch_moments",
    "whiten",
    "clip_values",
    "running_moments",
    "trl_score_scaling",
    "vecnormalize_rewards",
    "transform_advantages",
    "scale_rewards_running",
]

ADVANTAGE_TRANSFORMS: Registry[Callable[..., torch.Tensor]] = Registry("advantage transform")
RUNNING_REWARD_SCALINGS: Registry[Callable[..., torch.Tensor]] = Registry("running reward scaling")

#: TRL's ``RunningMoments`` starts with this count (so its first update is, in effect, the first batch alone).
TRL_INITIAL_COUNT = 1e-24
#: OpenAI baselines' ``RunningMeanStd(epsilon=1e-4)`` starts with this count (a pseudo-sample of mean 0, var 1).
BASELINES_INITIAL_COUNT = 1e-4


def _values(values: Any, name: str = "values") -> torch.Tensor:
    """A finite floating tensor (non-float input is converted to float64)."""
    if not (isinstance(values, torch.Tensor) and values.dtype.is_floating_point):
        values = as_tensor(values, name)
    return check_finite(values, name)


def _check_std(std: str) -> str:
    if std not in ("bessel", "population"):
        raise ValueError(f"std: expected 'bessel' (verl, TRL, SB3) or 'population' (OpenAI baselines), got {std!r}")
    return std


def _pool_shape(x: torch.Tensor, pool_axes: int) -> tuple[int, ...]:
    """The trailing ``pool_axes`` axes of ``x`` as one batch axis: the reshape target ``[..., n]``."""
    k = check_positive_int(pool_axes, "pool_axes")
    if x.ndim < k:
        raise ValueError(f"pool_axes: values has {x.ndim} axes, fewer than the {k} to pool")
    return (*x.shape[: x.ndim - k], -1)


def _weights(mask: Any, values: torch.Tensor, name: str = "mask") -> torch.Tensor:
    """The 0/1 ``mask`` as a float tensor of ``values``' dtype (all ones when ``mask`` is None)."""
    if mask is None:
        return torch.ones_like(values)
    m = check_mask(mask, name)
    if m.shape != values.shape:
        raise ValueError(f"{name}: expected shape {tuple(values.shape)} (as the values), got {tuple(m.shape)}")
    return m.to(device=values.device, dtype=values.dtype)


def _stream(values: Any, name: str) -> torch.Tensor:
    """A finite floating stream of batches ``[..., T, B]``."""
    x = _values(values, name)
    if x.ndim < 2:
        raise ValueError(f"{name}: expected a stream of batches [..., T, B], got shape {tuple(x.shape)}")
    return x


def batch_moments(values: torch.Tensor, weights: torch.Tensor, std: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Masked mean and variance over the last axis of ``values [..., n]`` (kept as ``[..., 1]``).

    ``weights`` (0/1, same shape) selects the entries; the variance divisor is n − 1 (``"bessel"``) or n
    (``"population"``), n the number of selected entries, which must be at least 2 (Bessel) or 1.
    """
    std = _check_std(std)
    n = weights.sum(-1, keepdim=True)
    need = 2 if std == "bessel" else 1
    if bool((n < need).any()):
        raise ValueError(f"values: the {std} variance needs at least {need} unmasked entries in every batch, "
                         f"got {int(n.min())}")
    mean = (values * weights).sum(-1, keepdim=True) / n
    var = ((values - mean) ** 2 * weights).sum(-1, keepdim=True) / (n - 1 if std == "bessel" else n)
    return mean, var


@ADVANTAGE_TRANSFORMS.register("whiten")
def whiten(values: torch.Tensor, *, mask=None, shift_mean: bool = True, std: str = "bessel", eps: float = 1e-8,
           eps_placement: str = "variance", pool_axes: int = 1) -> torch.Tensor:
    r"""Batch whitening: (x − m)/D (``shift_mean=True``) or m + (x − m)/D (``shift_mean=False``, verl/TRL).

    m, v = :func:`batch_moments` over the trailing ``pool_axes`` axes of ``values [..., *batch]`` (only entries
    where ``mask`` is true), D = √(v + ε) for ``eps_placement="variance"`` (verl, TRL: ``rsqrt(var + 1e-8)``) or
    √v + ε for ``"std"`` (SB3, OpenAI baselines: ``std + 1e-8``); ε > 0 keeps a constant batch finite (its
    output is then 0, or m when not shifted). Output: ``values``' shape, 0 where ``mask`` is false (verl and TRL
    leave the formula's value on padding, which their masked losses ignore).

    Sources (read on 2026-11-30): verl ``verl/utils/torch_functional.py`` ``masked_whiten``/``masked_var``
    (commit b178a3c); TRL ``trl/experimental/ppo/ppo_trainer.py`` ``masked_whiten`` (commit f2cd577) and
    ``trl/core.py`` ``whiten``; Stable-Baselines3 ``ppo/ppo.py`` (``normalize_advantage``, commit e05d2db);
    OpenAI baselines ``ppo2/model.py`` (commit ea25b9e). Bias: see the module docstring.
    """
    x = _values(values)
    if not isinstance(shift_mean, bool):
        raise TypeError(f"shift_mean: expected a bool, got {type(shift_mean).__name__}")
    eps = check_real(eps, "eps", low=0.0, low_open=True)
    if eps_placement not in ("variance", "std"):
        raise ValueError(f"eps_placement: expected 'variance' (√(v + ε): verl, TRL) or 'std' (√v + ε: SB3, baselines), "
                         f"got {eps_placement!r}")
    flat = _pool_shape(x, pool_axes)
    w = _weights(mask, x)
    xf, wf = x.reshape(flat), w.reshape(flat)
    mean, var = batch_moments(xf, wf, std)
    den = torch.sqrt(var + eps) if eps_placement == "variance" else torch.sqrt(var) + eps
    out = (xf - mean) / den
    if not shift_mean:
        out = out + mean
    return check_finite_result((out * wf).reshape(x.shape), "values", "whitened value")


@ADVANTAGE_TRANSFORMS.register("clip")
def clip_values(values: torch.Tensor, *, bound: float) -> torch.Tensor:
    """clamp(x, −c, c) elementwise with c = ``bound`` > 0, ``values``' shape.

    TRL ``PPOTrainer`` ``score_clip`` (``trl/trainer/ppo_trainer.py`` before commit 70036bf, October 2024);
    OpenAI baselines ``vec_env/vec_normalize.py`` ``cliprew`` (read on 2026-11-30). Unbiased for the gradient of
    E[clip(R)], biased for that of E[R] (module docstring).
    """
    x = _values(values)
    c = check_real(bound, "bound", low=0.0, low_open=True)
    return x.clamp(-c, c)


class RunningMoments(NamedTuple):
    """Running moments after each batch of a stream: every field ``[..., T]``."""

    mean: torch.Tensor  #: running mean
    var: torch.Tensor  #: running population variance M2/count (pseudo-count included)
    count: torch.Tensor  #: initial pseudo-count + number of values seen


def running_moments(values: torch.Tensor, *, initial_mean: float = 0.0, initial_var: float = 1.0,
                    initial_count: float) -> RunningMoments:
    r"""The parallel (Chan et al.) update of (mean, var, count) folded over the batches ``values [..., T, B]``.

    Starting from a pseudo-sample (``initial_mean``, ``initial_var``, ``initial_count``), batch t of B values with
    mean x̄ and population variance s² updates δ = x̄ − μ, n' = n + B, μ' = μ + δB/n',
    var' = (var·n + s²B + δ² nB/n')/n'. The result after batch t equals exactly the mean and population variance of
    the pseudo-sample pooled with every value seen so far. Same update in TRL ``RunningMoments.update``
    (``trl/trainer/utils.py``) and OpenAI baselines ``update_mean_var_count_from_moments``
    (``common/running_mean_std.py``), read on 2026-11-30.
    """
    x = _stream(values, "values")
    mu = torch.full(x.shape[:-2], check_real(initial_mean, "initial_mean"), dtype=x.dtype, device=x.device)
    var = torch.full_like(mu, check_real(initial_var, "initial_var", low=0.0))
    count = torch.full_like(mu, check_real(initial_count, "initial_count", low=0.0, low_open=True))
    B = x.shape[-1]
    means, variances, counts = [], [], []
    for t in range(x.shape[-2]):
        batch_var, batch_mean = torch.var_mean(x[..., t, :], dim=-1, correction=0)
        delta = batch_mean - mu
        total = count + B
        var = (var * count + batch_var * B + delta**2 * count * B / total) / total
        mu = mu + delta * B / total
        count = total
        means.append(mu)
        variances.append(var)
        counts.append(count)
    return RunningMoments(torch.stack(means, -1), torch.stack(variances, -1), torch.stack(counts, -1))


@RUNNING_REWARD_SCALINGS.register("trl_score_scaling")
def trl_score_scaling(scores: torch.Tensor, *, normalize: bool = False,
                      eps: float = float(torch.finfo(torch.float32).eps)) -> torch.Tensor:
    r"""TRL ``use_score_scaling`` (``normalize=True``: also ``use_score_norm``) over a stream ``scores [..., T, B]``.

    With (μ_t, var_t, n_t) = :func:`running_moments` after batch t (initial 0, 1, 1e-24) and
    σ_t = √(var_t·n_t/(n_t − 1)): score/(σ_t + ε), or (score − μ_t)/(σ_t + ε). Output ``[..., T, B]``.
    Needs B ≥ 2: with B = 1, n_1 − 1 = 1e-24 rounds to 0 and TRL's first σ is infinite.
    Source: TRL ``trl/trainer/ppo_trainer.py`` ``step`` and ``trl/trainer/utils.py`` ``RunningMoments`` at commit
    70036bf^ (removed in October 2024), read on 2026-11-30.
    """
    x = _stream(scores, "scores")
    if not isinstance(normalize, bool):
        raise TypeError(f"normalize: expected a bool, got {type(normalize).__name__}")
    eps = check_real(eps, "eps", low=0.0)
    if x.shape[-1] < 2:
        raise ValueError(f"scores: TRL's running std needs at least 2 scores per batch, got B = {x.shape[-1]}")
    m = running_moments(x, initial_count=TRL_INITIAL_COUNT)
    sigma = torch.sqrt(m.var * m.count / (m.count - 1)).unsqueeze(-1)
    centre = m.mean.unsqueeze(-1) if normalize else torch.zeros_like(sigma)
    return check_finite_result((x - centre) / (sigma + eps), "scores", "scaled score")


@RUNNING_REWARD_SCALINGS.register("vecnormalize")
def vecnormalize_rewards(rewards: torch.Tensor, *, dones=None, gamma: float = 0.99, eps: float = 1e-8,
                         clip: float = 10.0) -> torch.Tensor:
    r"""OpenAI baselines ``VecNormalize(ret=True)`` reward scaling over ``rewards [..., T, B]`` (T steps of B envs).

    ret_t = γ·ret_{t−1}·(1 − done_{t−1}) + r_t per env (ret_{−1} = 0); var_t = :func:`running_moments` of the
    ret's (initial 0, 1, 1e-4; the batch is the B envs of step t); output clip(r_t/√(var_t + ε), −clip, clip).
    ``dones [..., T, B]`` (bool, optional) marks the last step of an episode. Source: OpenAI baselines
    ``baselines/common/vec_env/vec_normalize.py`` ``step_wait`` and ``common/running_mean_std.py`` (commit ea25b9e),
    read on 2026-11-30.
    """
    r = _stream(rewards, "rewards")
    gamma = check_real(gamma, "gamma", low=0.0, high=1.0)
    eps = check_real(eps, "eps", low=0.0, low_open=True)
    clip = check_real(clip, "clip", low=0.0, low_open=True)
    keep = 1.0 - _weights(dones, r, "dones") if dones is not None else torch.ones_like(r)
    ret = torch.zeros_like(r[..., 0, :])
    returns = []
    for t in range(r.shape[-2]):
        ret = gamma * ret + r[..., t, :]
        returns.append(ret)
        ret = ret * keep[..., t, :]
    var = running_moments(torch.stack(returns, -2), initial_count=BASELINES_INITIAL_COUNT).var.unsqueeze(-1)
    return check_finite_result((r / torch.sqrt(var + eps)).clamp(-clip, clip), "rewards", "scaled reward")


def transform_advantages(values, kind: str = "whiten", **kwargs) -> torch.Tensor:
    """The named batch transform (``ADVANTAGE_TRANSFORMS``) of ``values [..., N]``; keywords checked by name."""
    fn = ADVANTAGE_TRANSFORMS.resolve(kind, kwargs, n_positional=1, arg="kind")
    return fn(values, **kwargs)


def scale_rewards_running(rewards, kind: str = "vecnormalize", **kwargs) -> torch.Tensor:
    """The named running scaling (``RUNNING_REWARD_SCALINGS``) of a stream ``rewards [..., T, B]``."""
    fn = RUNNING_REWARD_SCALINGS.resolve(kind, kwargs, n_positional=1, arg="kind")
    return fn(rewards, **kwargs)
