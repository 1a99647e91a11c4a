r"""The Mixed Value-at-Risk (MVaR) objective of RiskPO exactly, its policy gradient, and the bundle reward law (issue 14).

RiskPO (Ren et al. 2025, "RiskPO: Risk-based Policy Optimization via Verifiable Reward for LLM Post-Training",
arXiv:2510.00911) replaces the mean reward by a mix of two quantile-interval expectations of the reward law
(rewards: large is good, the lower tail is the risk — the convention of :mod:`pgtheory.exact.risk_measures`):

.. math:: \mathrm{MVaR}_{\alpha,\beta,\omega}(Z)
          = \frac{\omega\,\mathrm{CVaR}_\alpha(Z) + \mathrm{RVaR}_{\alpha,\beta}(Z)}{1+\omega},\qquad \mathrm{RVaR}_{\alpha,\beta}(Z) = \frac1{\beta-\alpha}\int_\alpha^\beta F^{-1}(u)\,du
          = \frac{\beta\,\mathrm{CVaR}_\beta - \alpha\,\mathrm{CVaR}_\alpha}{\beta-\alpha},

with 0 < α < β ≤ 1 and ω ≥ 0: the worst α fraction gets weight ω/(α(1+ω)) per unit of probability, the band (α, β)
gets 1/((β−α)(1+ω)), and the best 1 − β fraction gets none. Source of the form: the authors' code
(RTkenny/RiskPO, ``verl/trainer/ppo/core_algos.py``, ``compute_grpo_bundle_rvar_outcome_advantage_quantile_tracking``,
read 2026-11-30): its per-sample advantage ``(w·cvar_adv + rvar_adv)/(w + 1)`` is exactly the gradient weight ψ below
for this objective. Defaults of the authors' scripts: α = 0.2, β = 0.9, ω = 1.5 (``quantile_down``, ``quantile_up``,
``w_mix``), bundles of 5 questions. The paper body was not readable here (only its abstract), so the normalisation
1/(1+ω) is the code's, not verified against the paper's equations.

**A distortion risk measure.** Since CVaR_γ has distortion min(u/γ, 1), MVaR is the distortion risk measure with

.. math:: g(u) = a_\alpha\min(u/\alpha,1) + a_\beta\min(u/\beta,1),\qquad
          a_\alpha = \frac{\omega - \alpha/(\beta-\alpha)}{1+\omega},\quad a_\beta = \frac{\beta/(\beta-\alpha)}{1+\omega},

(a_α + a_β = 1; g is non-decreasing, concave iff a_α ≥ 0, i.e. ω ≥ α/(β−α) — below that MVaR is not coherent), so
:func:`mixed_value_at_risk` is :func:`~pgtheory.exact.risk_measures.distortion_risk` with :func:`mvar_distortion`.
Limits: ω → ∞ gives CVaR_α; ω = 0 gives RVaR_{α,β}; ω = 0, β = 1, α → 0 gives the mean.

**Gradient.** A distortion risk of a law with outcome probabilities p_k(θ) has
:math:`\nabla_\theta\rho_g = \sum_k p_k\,\psi(z_k)\,\nabla\log p_k` with :math:`\psi(x) = -\int_x^\infty g'(F(t))\,dt`
(Abel summation of Σ z_(i)[g(F_i) − g(F_{i−1})]; away from kinks, i.e. when α, β are not CDF levels). For MVaR,

.. math:: \psi(x) = \frac{1}{1+\omega}\Big[-\frac{\omega}{\alpha}(q_\alpha - x)_+
          + \frac{\mathrm{clip}(x, q_\alpha, q_\beta) - q_\beta}{\beta-\alpha}\Big]
          = a_\alpha\frac{(x-q_\alpha)\wedge 0}{\alpha} + a_\beta\frac{(x-q_\beta)\wedge 0}{\beta},

q_γ = VaR_γ (lower quantile): :func:`mvar_advantage`. Equivalently ∇MVaR = a_α ∇CVaR_α + a_β ∇CVaR_β, which
:func:`mvar_policy_gradient` computes with :func:`~pgtheory.exact.cvar_gradient.cvar_policy_gradient`, and the exact mean
of the plug-in estimator with N samples is the same mix of
:func:`~pgtheory.exact.cvar_gradient.expected_cvar_gradient_estimate` (:func:`expected_mvar_gradient_estimate`).

**Bundles.** RiskPO's bundle ("paper") aggregates one response to each of b questions; its score here is the *mean*
of the b binary rewards, :math:`S = \frac1b\sum_j R_j` with independent :math:`R_j\sim\mathrm{Bernoulli}(p_j)` — the
Poisson-binomial law on {0, 1/b, …, 1} (:func:`bundle_reward_law`). The authors' code sums the rewards; MVaR is
positively homogeneous, so the sum's MVaR and advantages are b times the mean's (and equal after std normalisation).
The bundle objective of a multi-prompt task is the average of MVaR(S) over a partition of the M prompts into bundles
(:func:`bundle_mvar_objective`). Its gradient is a per-prompt reweighting of the success gradients,
:math:`\nabla\rho = \sum_q c_q\nabla p_q` with :math:`c_q = \frac1B\,\mathbb E[\psi(S_{-q} + 1/b) - \psi(S_{-q})]`,
S_{−q} the bundle score without prompt q (:func:`bundle_mvar_prompt_weights`); for the mean objective c_q = 1/M.

**Pooled quantiles (the authors' ``track`` mode).** The authors' scripts run ``use_q_track_mode='track'``: one
quantile pair, tracked by stochastic approximation over the paper scores of *all* bundles of a batch pooled
(RTkenny/RiskPO ``ray_trainer.py``, read 2026-11-30). Its objective reading is MVaR of the *pooled* score law — the
mixture :math:`\bar P = \frac1B\sum_k P_k` of the bundle laws (:func:`pooled_bundle_reward_law`; ``pooled=True``
in :func:`bundle_mvar_objective` and :func:`bundle_mvar_prompt_weights`). Since the mixture is linear in each
bundle's law, its gradient has the same per-prompt form with ψ taken at the pooled quantiles:
:math:`c_q = \frac1B\,\mathbb E[\psi_{pool}(S_{-q} + 1/b) - \psi_{pool}(S_{-q})]`.

**Upper tail (the authors' risk-seeking variant).** ``risk_seeking_upper_tail=True`` (script
``run_qwen2.5_1.5b_risky_MVaR_math.sh``: α = 0.2, β = 0.8, ``upper_weight`` ω = 1.5) mixes the *upper* CVaR
:math:`\mathrm{CVaR}^+_\beta(Z) = \frac1{1-\beta}\int_\beta^1F^{-1}(u)\,du` with RVaR:
:math:`\mathrm{MVaR}^+ = (\omega\,\mathrm{CVaR}^+_\beta + \mathrm{RVaR}_{\alpha,\beta})/(1+\omega)`, the distortion
risk with :math:`g^+(u) = [\omega\,(u-\beta)_+/(1-\beta) + \mathrm{clip}(u-\alpha, 0, \beta-\alpha)/(\beta-\alpha)]/(1+\omega)`
(convex: it overweights the upper tail) and gradient weight
:math:`\psi^+(x) = [\omega\,(x-q_\beta)_+/(1-\beta) + (\mathrm{clip}(x,q_\alpha,q_\beta)-q_\beta)/(\beta-\alpha)]/(1+\omega)`
(up to an additive constant, which the score function ignores) — the code's ``(upper_weight·upper_cvar_adv +
rvar_adv)/(upper_weight + 1)``. ``tail="upper"`` selects it in the bundle functions. With one question per bundle
(b = 1) and binary rewards the prompt weights are explicit: q_γ = 1[p > 1 − γ], so the lower-tail weight
:math:`c \propto a_\alpha 1[p>1-\alpha]/\alpha + a_\beta 1[p>1-\beta]/\beta` is non-decreasing in p (a_α ≥ 0) and the
upper-tail weight :math:`c \propto [\omega 1[p\le 1-\beta]/(1-\beta) + 1[1-\beta<p\le 1-\alpha]/(\beta-\alpha)]/(1+\omega)`
is non-increasing in p when ω/(1−β) ≥ 1/(β−α): risk aversion puts weight on easy prompts, risk seeking on hard ones.

Everything is float64 and differentiable where stated.
"""
from __future__ import annotations

from typing import Callable

import torch

from .._checks import as_tensor, check_finite, check_finite_result, check_positive_int, check_real
from ..problems.bandits import MultiPromptBandit
from .cvar_gradient import cvar_policy_gradient, expected_cvar_gradient_estimate
from .risk_measures import check_distribution, distortion_risk, value_at_risk

__all__ = ["check_mvar_levels", "mvar_coefficients", "mvar_distortion", "mixed_value_at_risk", "mvar_advantage",
           "mvar_advantage_from_quantiles", "mvar_policy_gradient", "expected_mvar_gradient_estimate",
           "bundle_reward_law", "check_bundles", "bundle_mvar_objective", "bundle_mvar_prompt_weights",
           "multiprompt_mvar_gradient", "TAILS", "upper_mvar_distortion", "upper_mixed_value_at_risk",
           "upper_mvar_advantage_from_quantiles", "upper_mvar_advantage", "pooled_bundle_reward_law"]

#: which tail the bundle objective mixes with RVaR: ``lower`` (MVaR, risk-averse) or ``upper`` (MVaR⁺, risk-seeking)
TAILS = ("lower", "upper")


def check_mvar_levels(alpha, beta, weight) -> tuple[float, float, float]:
    """Validate 0 < α < β ≤ 1 and ω ≥ 0; returns them as floats."""
    a = check_real(alpha, "alpha", low=0.0, high=1.0, low_open=True, high_open=True)
    b = check_real(beta, "beta", low=0.0, high=1.0, low_open=True)
    if not b > a:
        raise ValueError(f"beta: must exceed alpha = {a:g}, got {b:g}")
    w = check_real(weight, "weight", low=0.0)
    return a, b, w


def mvar_coefficients(alpha, beta, weight) -> tuple[float, float]:
    r"""(a_α, a_β) with MVaR = a_α CVaR_α + a_β CVaR_β: a_α = (ω − α/(β−α))/(1+ω), a_β = β/((β−α)(1+ω)); a_α + a_β = 1."""
    a, b, w = check_mvar_levels(alpha, beta, weight)
    return (w - a / (b - a)) / (1 + w), (b / (b - a)) / (1 + w)


def mvar_distortion(alpha, beta, weight) -> Callable[[torch.Tensor], torch.Tensor]:
    r"""The distortion :math:`g(u) = a_\alpha\min(u/\alpha,1) + a_\beta\min(u/\beta,1)` of MVaR (module docstring)."""
    a, b, _ = check_mvar_levels(alpha, beta, weight)
    ca, cb = mvar_coefficients(alpha, beta, weight)
    return lambda u: ca * (u / a).clamp_max(1.0) + cb * (u / b).clamp_max(1.0)


def mixed_value_at_risk(z, p, alpha, beta, weight) -> torch.Tensor:
    r"""MVaR = (ω CVaR_α + RVaR_{α,β})/(1 + ω) of the discrete law ``z, p [..., K]`` → ``[...]``, as the distortion risk of :func:`mvar_distortion` (differentiable
    in ``p`` away from kinks)."""
    return distortion_risk(z, p, mvar_distortion(alpha, beta, weight))


def _scores_and_quantiles(x, q_alpha, q_beta) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Checked ``x [..., N]`` and the quantiles ``q_alpha, q_beta`` (scalars or ``[...]``) shaped to broadcast over N."""
    x = check_finite(as_tensor(x, "x"), "x")
    qa = check_finite(as_tensor(q_alpha, "q_alpha", device=x.device), "q_alpha")
    qb = check_finite(as_tensor(q_beta, "q_beta", device=x.device), "q_beta")
    return x, (qa.unsqueeze(-1) if qa.ndim else qa), (qb.unsqueeze(-1) if qb.ndim else qb)


def mvar_advantage_from_quantiles(x, q_alpha, q_beta, alpha, beta, weight) -> torch.Tensor:
    r""":math:`\psi(x) = a_\alpha\,\min(x-q_\alpha, 0)/\alpha + a_\beta\,\min(x-q_\beta, 0)/\beta` for given quantiles.

    Equals the RiskPO code's ``(w·cvar_adv + rvar_adv)/(w + 1)`` with ``natural_baseline_adv=True`` (no std
    normalisation). Shapes: ``x [..., N]``, ``q_alpha, q_beta`` scalars or ``[...]`` (broadcast over N) → ``[..., N]``.
    """
    a, b, _ = check_mvar_levels(alpha, beta, weight)
    ca, cb = mvar_coefficients(alpha, beta, weight)
    x, qa, qb = _scores_and_quantiles(x, q_alpha, q_beta)
    return ca * (x - qa).clamp_max(0.0) / a + cb * (x - qb).clamp_max(0.0) / b


def mvar_advantage(z, p, alpha, beta, weight) -> torch.Tensor:
    r"""Exact gradient weight ψ(z_k) of every atom of the law ``z, p [..., K]`` → ``[..., K]``, with q_γ = VaR_γ.

    :math:`\nabla\mathrm{MVaR} = \sum_k p_k\,\psi(z_k)\,\nabla\log p_k` (module docstring); at β = 1 the β-part is the
    mean's weight up to a constant (q_1 = the largest atom of positive mass).
    """
    z, p = check_distribution(z, p)
    a, b, _ = check_mvar_levels(alpha, beta, weight)
    qa, qb = value_at_risk(z, p, a), value_at_risk(z, p, b)
    return mvar_advantage_from_quantiles(z, qa, qb, a, b, weight)


def _cvar_gradient(z, p, score, level: float) -> torch.Tensor:
    """∇CVaR_level; at level 1 (the mean) Σ_k p_k z_k s_k, which cvar_policy_gradient (α < 1) does not cover."""
    if level == 1.0:
        return (p * z) @ score
    return cvar_policy_gradient(z, p, score, level)


def mvar_policy_gradient(z, p, score, alpha, beta, weight) -> torch.Tensor:
    r"""Exact :math:`\nabla_\theta\mathrm{MVaR} = a_\alpha\nabla\mathrm{CVaR}_\alpha + a_\beta\nabla\mathrm{CVaR}_\beta`.

    Shapes: ``z, p [K]`` (outcome returns and probabilities), ``score [K, P]`` (∇ log p_k) → ``[P]``. α and β must
    not be CDF levels of the law (:func:`~pgtheory.exact.cvar_gradient.cvar_policy_gradient` refuses them: a kink).
    """
    a, b, _ = check_mvar_levels(alpha, beta, weight)
    ca, cb = mvar_coefficients(alpha, beta, weight)
    z, p = check_distribution(z, p)
    score = check_finite(as_tensor(score, "score", device=z.device), "score")
    out = ca * cvar_policy_gradient(z, p, score, a) + cb * _cvar_gradient(z, p, score, b)
    return check_finite_result(out, "z, p, score", "MVaR gradient")


def expected_mvar_gradient_estimate(z, p, score, alpha, beta, weight, n: int) -> torch.Tensor:
    r"""Exact mean of the plug-in MVaR gradient estimator with N samples and lower empirical quantiles
    :math:`\hat q_\gamma = Z_{(\lceil\gamma N\rceil)}`, ``[P]``: the estimator is a_α ĝ_α + a_β ĝ_β with ĝ_γ the
    likelihood-ratio CVaR_γ estimator (:func:`pgtheory.estimators.risk_po.mvar_gradient_estimate`), so its mean is the
    same mix of :func:`~pgtheory.exact.cvar_gradient.expected_cvar_gradient_estimate`. β must be < 1 here.
    """
    a, b, _ = check_mvar_levels(alpha, beta, weight)
    if b == 1.0:
        raise ValueError("beta: the plug-in estimator's exact mean is offered for beta < 1 (at 1 its part is the mean's)")
    n = check_positive_int(n, "n")
    ca, cb = mvar_coefficients(alpha, beta, weight)
    return ca * expected_cvar_gradient_estimate(z, p, score, a, n) + cb * expected_cvar_gradient_estimate(z, p, score, b, n)


def _upper_levels(alpha, beta, weight) -> tuple[float, float, float]:
    a, b, w = check_mvar_levels(alpha, beta, weight)
    if b == 1.0:
        raise ValueError("beta: the upper tail needs beta < 1 (CVaR⁺_1 is undefined)")
    return a, b, w


def upper_mvar_distortion(alpha, beta, weight) -> Callable[[torch.Tensor], torch.Tensor]:
    r"""The distortion :math:`g^+(u) = [\omega(u-\beta)_+/(1-\beta) + \mathrm{clip}(u-\alpha,0,\beta-\alpha)/(\beta-\alpha)]/(1+\omega)`
    of the risk-seeking MVaR⁺ (module docstring); 0 < α < β < 1, ω ≥ 0."""
    a, b, w = _upper_levels(alpha, beta, weight)
    return lambda u: (w * (u - b).clamp_min(0.0) / (1 - b) + (u - a).clamp(0.0, b - a) / (b - a)) / (1 + w)


def upper_mixed_value_at_risk(z, p, alpha, beta, weight) -> torch.Tensor:
    r"""MVaR⁺ = (ω CVaR⁺_β + RVaR_{α,β})/(1 + ω) of the law ``z, p [..., K]`` → ``[...]`` (upper-tail CVaR⁺_β = mean of
    the best 1 − β fraction), as the distortion risk of :func:`upper_mvar_distortion`."""
    return distortion_risk(z, p, upper_mvar_distortion(alpha, beta, weight))


def upper_mvar_advantage_from_quantiles(x, q_alpha, q_beta, alpha, beta, weight) -> torch.Tensor:
    r""":math:`\psi^+(x) = [\omega(x-q_\beta)_+/(1-\beta) + (\mathrm{clip}(x,q_\alpha,q_\beta)-q_\beta)/(\beta-\alpha)]/(1+\omega)`,
    the RiskPO code's risk-seeking advantage ``(upper_weight·upper_cvar_adv + rvar_adv)/(upper_weight + 1)`` with
    ``natural_baseline_adv=True``. Shapes as :func:`mvar_advantage_from_quantiles`."""
    a, b, w = _upper_levels(alpha, beta, weight)
    x, qa, qb = _scores_and_quantiles(x, q_alpha, q_beta)
    clipped = torch.minimum(torch.maximum(x, qa), qb)
    return (w * (x - qb).clamp_min(0.0) / (1 - b) + (clipped - qb) / (b - a)) / (1 + w)


def upper_mvar_advantage(z, p, alpha, beta, weight) -> torch.Tensor:
    r"""Exact gradient weight ψ⁺(z_k) of every atom of ``z, p [..., K]`` → ``[..., K]`` (q_γ = VaR_γ):
    :math:`\nabla\mathrm{MVaR}^+ = \sum_k p_k\,\psi^+(z_k)\,\nabla\log p_k` away from kinks."""
    z, p = check_distribution(z, p)
    a, b, _ = _upper_levels(alpha, beta, weight)
    return upper_mvar_advantage_from_quantiles(z, value_at_risk(z, p, a), value_at_risk(z, p, b), a, b, weight)


def _risk(tail: str):
    """(risk measure, exact gradient weight, weight from given quantiles) of the ``tail``."""
    if tail == "lower":
        return mixed_value_at_risk, mvar_advantage, mvar_advantage_from_quantiles
    if tail == "upper":
        return upper_mixed_value_at_risk, upper_mvar_advantage, upper_mvar_advantage_from_quantiles
    raise ValueError(f"tail: expected one of {TAILS}, got {tail!r}")


#: how far outside [0, 1] a success probability may lie by floating-point round-off and be clamped, not refused
PROB_ROUND_OFF = 1e-12

def bundle_reward_law(success_probs) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Law of the bundle score :math:`S = \frac1b\sum_{j=1}^b R_j`, :math:`R_j\sim\mathrm{Bernoulli}(p_j)` independent.

    ``success_probs [..., b]`` (entries in [0, 1]) → (atoms ``[b+1]`` = k/b, probabilities ``[..., b+1]``), by the
    Poisson-binomial recursion (differentiable in the p_j).
    """
    p = check_finite(as_tensor(success_probs, "success_probs"), "success_probs")
    if p.ndim == 0 or p.shape[-1] == 0:
        raise ValueError(f"success_probs: expected shape [..., b] with b >= 1, got {tuple(p.shape)}")
    if bool(((p < -PROB_ROUND_OFF) | (p > 1 + PROB_ROUND_OFF)).any()):
        raise ValueError("success_probs: entries must lie in [0, 1]")
    # a success probability summed from softmax terms can exceed 1 (or fall below 0) by round-off: clamp that, no more
    # (2026-12-02: L89's seed-21 run raised on such a value)
    p = p.clamp(0.0, 1.0)
    b = p.shape[-1]
    law = torch.ones(*p.shape[:-1], 1, dtype=p.dtype, device=p.device)
    for j in range(b):
        pj = p[..., j:j + 1]
        pad = torch.zeros_like(law[..., :1])
        law = torch.cat([law, pad], -1) * (1 - pj) + torch.cat([pad, law], -1) * pj
    atoms = torch.arange(b + 1, dtype=p.dtype, device=p.device) / b
    return atoms, law


def check_bundles(bundles, n_prompts: int) -> torch.Tensor:
    """``bundles [B, b]`` (int): a partition of the prompts 0..M−1 into B bundles of b prompts each; returned as int64."""
    if not isinstance(bundles, torch.Tensor):
        try:
            bundles = torch.as_tensor(bundles)
        except (TypeError, ValueError, RuntimeError) as exc:
            raise TypeError(f"bundles: expected an integer array [B, b], got {type(bundles).__name__}") from exc
    if bundles.dtype.is_floating_point or bundles.dtype == torch.bool or bundles.is_complex():
        raise TypeError(f"bundles: expected integer prompt indices, got dtype {bundles.dtype}")
    if bundles.ndim != 2 or bundles.numel() == 0:
        raise ValueError(f"bundles: expected shape [B, b] with B, b >= 1, got {tuple(bundles.shape)}")
    flat = torch.sort(bundles.reshape(-1).long()).values
    if flat.numel() != n_prompts or not bool((flat == torch.arange(n_prompts)).all()):
        raise ValueError(f"bundles: must partition the {n_prompts} prompts (each index 0..{n_prompts - 1} exactly once)")
    return bundles.long()


def _bundle_probs(success_probs, bundles) -> tuple[torch.Tensor, torch.Tensor]:
    p = check_finite(as_tensor(success_probs, "success_probs"), "success_probs")
    if p.ndim == 0:
        raise ValueError("success_probs: expected shape [..., M], got a scalar")
    idx = check_bundles(bundles, p.shape[-1]).to(p.device)
    return p, idx


def pooled_bundle_reward_law(success_probs, bundles) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Law of the pooled paper score: the mixture :math:`\frac1B\sum_k P_k` of the bundle laws (a paper drawn from a
    uniformly chosen bundle). ``success_probs [..., M]``, ``bundles [B, b]`` → (atoms ``[b+1]``, probabilities
    ``[..., b+1]``); differentiable in the success probabilities."""
    p, idx = _bundle_probs(success_probs, bundles)
    atoms, law = bundle_reward_law(p[..., idx])  # [..., B, b+1]
    return atoms, law.mean(-2)


def bundle_mvar_objective(success_probs, bundles, alpha, beta, weight, *, tail: str = "lower",
                          pooled: bool = False) -> torch.Tensor:
    r"""The bundle objective: ``success_probs [..., M]``, ``bundles [B, b]`` → ``[...]``.

    ``pooled=False``: the average over bundles of the risk of each bundle score; ``pooled=True``: the risk of the
    pooled score law (:func:`pooled_bundle_reward_law`, the authors' ``track`` reading). ``tail``: ``"lower"`` (MVaR)
    or ``"upper"`` (MVaR⁺, risk-seeking). Differentiable in the success probabilities (autograd through p(θ) gives
    the exact policy gradient).
    """
    risk, _, _ = _risk(tail)
    if pooled:
        atoms, law = pooled_bundle_reward_law(success_probs, bundles)
        return risk(atoms, law, alpha, beta, weight)
    p, idx = _bundle_probs(success_probs, bundles)
    atoms, law = bundle_reward_law(p[..., idx])  # law [..., B, b+1]
    return risk(atoms, law, alpha, beta, weight).mean(-1)


def bundle_mvar_prompt_weights(success_probs, bundles, alpha, beta, weight, *, tail: str = "lower",
                               pooled: bool = False) -> torch.Tensor:
    r""":math:`c_q = \partial\rho/\partial p_q = \frac1B\,\mathbb E[\psi(S_{-q}+1/b) - \psi(S_{-q})]` for every prompt,
    ``success_probs [M]`` → ``[M]`` (module docstring), ψ of the ``tail`` with the lower quantiles of each bundle's
    law, or of the pooled law when ``pooled``; at a kink (α or β a CDF level of a law) this is one one-sided
    derivative. The exact gradient of :func:`bundle_mvar_objective` (same arguments) is Σ_q c_q ∇p_q.
    """
    _, exact_psi, psi_from_q = _risk(tail)
    p, idx = _bundle_probs(success_probs, bundles)
    if p.ndim != 1:
        raise ValueError(f"success_probs: expected one vector [M], got shape {tuple(p.shape)}")
    B, b = idx.shape
    c = torch.zeros_like(p)
    atoms, law = bundle_reward_law(p[idx])  # [B, b+1]
    if pooled:
        pool = law.mean(0)
        qa, qb = value_at_risk(atoms, pool, alpha), value_at_risk(atoms, pool, beta)
        psi = psi_from_q(atoms, qa, qb, alpha, beta, weight).expand_as(law)
    else:
        psi = exact_psi(atoms.expand_as(law), law, alpha, beta, weight)  # [B, b+1]
    for j in range(b):
        others = torch.cat([idx[:, :j], idx[:, j + 1:]], 1)
        if b > 1:
            _, law_o = bundle_reward_law(p[others])  # [B, b] over k = 0..b−1 successes among the others
        else:
            law_o = torch.ones(B, 1, dtype=p.dtype, device=p.device)
        c[idx[:, j]] = (law_o * (psi[:, 1:] - psi[:, :-1])).sum(-1) / B
    return check_finite_result(c, "success_probs", "MVaR prompt weights")


def multiprompt_mvar_gradient(bandit: MultiPromptBandit, logits, bundles, alpha, beta, weight) -> torch.Tensor:
    r"""Exact ∇ of :func:`bundle_mvar_objective` for a softmax multi-prompt bandit: :math:`c_q\,\pi_q\odot(1_{C_q} - p_q)`,
    ``logits [M, K]`` → ``[M, K]`` (c from :func:`bundle_mvar_prompt_weights`)."""
    if not isinstance(bandit, MultiPromptBandit):
        raise TypeError(f"bandit: expected a MultiPromptBandit, got {type(bandit).__name__}")
    z = check_finite(as_tensor(logits, "logits"), "logits")
    if tuple(z.shape) != (bandit.n_prompts, bandit.n_answers):
        raise ValueError(f"logits: expected shape {(bandit.n_prompts, bandit.n_answers)}, got {tuple(z.shape)}")
    pi = torch.softmax(z, -1)
    corr = bandit.rewards.to(z.device)
    p = (pi * corr).sum(-1)
    c = bundle_mvar_prompt_weights(p, bundles, alpha, beta, weight)
    return c.unsqueeze(-1) * pi * (corr - p.unsqueeze(-1))
