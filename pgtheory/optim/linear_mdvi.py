r"""Mirror descent value iteration with linear least squares: LS-MDVI, VWLS-MDVI and LSVI (Kitamura et al. 2023).

**MDVI** (Geist et al. 2019; Vieillard et al. 2020; Kozuno et al. 2022) is value iteration regularised by
λ·KL(π‖π_k) and an entropy bonus τ·H(π). With β = 1/(λ + τ) and α = λ/(λ + τ) ∈ [0, 1] it can be written on the
*sum* of past Q-estimates (Vieillard et al. 2020; Kozuno et al. 2022; the equation numbers of those papers were not
checked here, the identity is derived below):

.. math::
    v_k = w_k - \alpha\,w_{k-1},\qquad q_{k+1} = r + \gamma P v_k,\qquad s_{k+1} = q_{k+1} + \alpha s_k,\qquad
    w_{k+1}(s) = \tfrac1\beta\log\sum_a e^{\beta s_{k+1}(s,a)},\qquad \pi_{k+1}(\cdot|s) \propto e^{\beta s_{k+1}(s,\cdot)},

from s_0 = w_0 = w_{−1} = 0 (derivation: log π_{k+1} = β(s_k − w_k), so ⟨π_{k+1}, q_k − λ log(π_{k+1}/π_k) − τ log π_{k+1}⟩ =
w_k − α w_{k−1} for every action). β = ∞ is, as recalled here (not verified), the limit analysed by Kozuno et al.
(2022) and Kitamura et al. (2023): w_k(s) = max_a s_k(s, a) and π_k greedy with respect to s_k. **LSVI** is α = 0, β = ∞ (plain value iteration).
For α < 1 and finite β the iteration converges to the entropy-regularised optimum with temperature τ = (1 − α)/β
(π* ∝ exp(Q*_τ/τ)); for β = ∞ to Q*.

**Linear function approximation.** On a linear MDP the backup r + γPv is linear in φ for every v, so q_{k+1} is
obtained by (weighted) least squares on a design: pairs i with allocation n_i = ⌈ρ_i N⌉ (ρ a G-optimal design of
the features, N the per-iteration budget; the allocation of Lattimore, Szepesvári & Weisz 2020), targets
ȳ_i = r_i + γ P̂_i v_k (the mean of v over n_i fresh generative draws, :mod:`pgtheory.sampling.generative`), and

.. math:: \theta_{k+1} = \arg\min_\theta \sum_i \frac{n_i}{\sigma^2_i}\,(\phi_i^\top\theta - \bar y_i)^2,\qquad q_{k+1} = \Phi\theta_{k+1},

with σ² ≡ 1 for **LS-MDVI** and σ² = σ̂² for **VWLS-MDVI**, whose design is then the G-optimal design of the
*weighted* features φ/σ̂ (the weighted Kiefer–Wolfowitz theorem of Kitamura et al. 2023). VWLS-MDVI runs in three
phases: (1) LS-MDVI with a smaller budget gives v̂ ≈ V*; (2) σ̂²(s,a) = Var_{s'~P(·|s,a)}[v̂(s')] + floor, where
P v̂ and P v̂² are each estimated by least squares from one batch of draws (both are linear in φ); (3) MDVI with the
weights 1/σ̂².

What is from the paper and what is ours: the variance weighting by an estimated V*, the first phase that learns
v̂, the generative model and the G-optimal design are in the paper's abstract and public summaries of it (the
"weighted Kiefer–Wolfowitz theorem"); the β = ∞ limit and α are recalled from Kozuno et al. (2022), not checked.
The paper's own Algorithm (its constants, the variance floor and clipping, whether ρ weights the regression or
allocates samples, the phase budgets) could not be read here (not verified). The floor default H = 1/(1 − γ) is
the one of the authors' public DVW code (σ*² = Var V* + H, ``matsuolab/Deep-Variance-Weighting-Maze``,
``solver.py``); the allocation n_i = ⌈ρ_i N⌉ is Lattimore et al.'s.

On a design with exactly d support points (common: a G-optimal design needs at least d and often has no more),
least squares interpolates the d pair means, so the weights 1/σ² change no estimate; variance weighting then acts
only through the weighted design (which pairs are sampled, and how often).

With exact expectations (:func:`mdvi_exact`) the regression recovers r + γPv exactly whenever the design spans R^d,
so the iterates are those of tabular MDVI on ``lin.tabular()`` whatever the weights (a check used by the tests).
"""
from __future__ import annotations

import math
from typing import NamedTuple

import torch

from .._checks import DTYPE, as_tensor, check_finite, check_positive_int, check_real
from ..exact.optimal_design import g_optimal_design
from ..problems.linear_mdp import LinearMDP
from ..sampling.generative import (conditional_binomial_probabilities, empirical_next_means, multinomial_counts,
                                   sample_next_state_counts)

__all__ = ["MDVIResult", "VWLSResult", "mdvi_state_value", "mdvi_policy", "design_allocation",
           "weighted_least_squares", "least_squares_smoother", "mdvi_exact", "ls_mdvi", "estimate_next_value_variance", "vwls_mdvi"]


class MDVIResult(NamedTuple):
    """Output of :func:`mdvi_exact` (no run dimension) or :func:`ls_mdvi` (leading run dimension R)."""

    policy: torch.Tensor  #: π_K ∝ exp(β s_K) (greedy for β = ∞), [(R,) S, A]
    s: torch.Tensor  #: s_K, the discounted sum of the q-estimates, [(R,) S, A]
    q: torch.Tensor  #: q_K = Φθ_K, [(R,) S, A]
    values: torch.Tensor  #: v_k = w_k − α w_{k−1} for k = 1..K, [(R,) K, S]
    samples: torch.Tensor  #: generative draws used per run (0 for the exact version), [(R,)]


class VWLSResult(NamedTuple):
    """Output of :func:`vwls_mdvi`: the final (weighted) run and what its weights were built from."""

    result: MDVIResult  #: phase 3 (weighted MDVI); ``samples`` counts all three phases
    phase1: MDVIResult  #: the unweighted LS-MDVI run that gave v̂
    sigma2: torch.Tensor  #: σ̂² = Var̂ + floor, [R, S, A]
    design: torch.Tensor  #: the G-optimal design of the weighted features, per run, [R, SA]


def _check_alpha_beta(alpha, beta) -> tuple[float, float]:
    a = check_real(alpha, "alpha", low=0.0, high=1.0)
    b = float(beta) if beta == math.inf else check_real(beta, "beta", low=0.0, low_open=True)
    return a, b


def mdvi_state_value(s: torch.Tensor, beta: float) -> torch.Tensor:
    r"""w(s) = (1/β) log Σ_a exp(β s(s, a)), or max_a s(s, a) for β = ∞: ``[..., S]`` from ``s [..., S, A]``."""
    if beta == math.inf:
        return s.amax(-1)
    return torch.logsumexp(beta * s, -1) / beta


def mdvi_policy(s: torch.Tensor, beta: float) -> torch.Tensor:
    """π ∝ exp(β s), or the greedy one-hot policy (lowest index on ties) for β = ∞: ``[..., S, A]``."""
    if beta == math.inf:
        return torch.nn.functional.one_hot(s.argmax(-1), s.shape[-1]).to(s.dtype)
    return torch.softmax(beta * s, -1)


def design_allocation(design, budget: int, *, threshold: float = 1e-12) -> torch.Tensor:
    """n_i = ⌈ρ_i N⌉ for ρ_i > ``threshold``, else 0 (Lattimore et al. 2020): ``[..., n]`` int64 from ``design [..., n]``."""
    rho = check_finite(as_tensor(design, "design"), "design")
    if bool((rho < 0).any()):
        raise ValueError("design: weights must be non-negative")
    N = check_positive_int(budget, "budget")
    return torch.where(rho > threshold, torch.ceil(rho * N - 1e-9).clamp_min(1.0), torch.zeros_like(rho)).to(torch.int64)


def _weighted_gram_cholesky(features: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    G = torch.einsum("ni,rn,nj->rij", features, weights, features)
    L, info = torch.linalg.cholesky_ex(G)
    if bool((info != 0).any()):
        raise ValueError("weights: the weighted design matrix ΦᵀWΦ is singular for some run (the pairs with positive "
                         "weight do not span R^d)")
    return L


def weighted_least_squares(features: torch.Tensor, targets: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    r"""θ = argmin Σ_i w_i (φ_iᵀθ − y_i)² = (ΦᵀWΦ)⁻¹ΦᵀWy, batched: ``features [n, d]``, ``targets, weights [R, n]`` → ``[R, d]``.

    Raises ``ValueError`` when ΦᵀWΦ is singular for some run (the weighted pairs do not span R^d).
    """
    L = _weighted_gram_cholesky(features, weights)
    b = torch.einsum("ni,rn,rn->ri", features, weights, targets)
    return torch.cholesky_solve(b.unsqueeze(-1), L).squeeze(-1)


def least_squares_smoother(features: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    r"""The linear map y ↦ Φθ̂(y) of :func:`weighted_least_squares`: :math:`\Phi(\Phi^\top W\Phi)^{-1}\Phi^\top W`,
    ``[R, n, n]`` from ``features [n, d]`` and ``weights [R, n]`` (fixed weights: one factorisation for all iterations).
    """
    L = _weighted_gram_cholesky(features, weights)
    rhs = (features.T.unsqueeze(0) * weights.unsqueeze(1))  # [R, d, n] = ΦᵀW
    return features @ torch.cholesky_solve(rhs, L)


def _check_design(lin: LinearMDP, design, name: str = "design") -> torch.Tensor:
    rho = check_finite(as_tensor(design, name, device=lin.device), name)
    n = lin.n_states * lin.n_actions
    if rho.shape[-1] != n or rho.ndim not in (1, 2):
        raise ValueError(f"{name}: expected weights over the S·A = {n} pairs, shape [{n}] or [R, {n}], got {tuple(rho.shape)}")
    if bool((rho < 0).any()) or bool(((rho.sum(-1) - 1).abs() > 1e-6).any()):
        raise ValueError(f"{name}: must be a distribution over the pairs (non-negative, summing to 1)")
    return rho


def _check_variance(lin: LinearMDP, variance, R: int | None) -> torch.Tensor | None:
    if variance is None:
        return None
    var = check_finite(as_tensor(variance, "variance", device=lin.device), "variance")
    S, A = lin.n_states, lin.n_actions
    if tuple(var.shape[-2:]) != (S, A) or var.ndim not in (2, 3) or (var.ndim == 3 and R is not None and var.shape[0] != R):
        raise ValueError(f"variance: expected σ² of shape [S, A] = [{S}, {A}] or [R, S, A], got {tuple(var.shape)}")
    if bool((var <= 0).any()):
        raise ValueError("variance: σ² must be positive (add a floor)")
    return var


def _mdvi_loop(lin: LinearMDP, backup, weights: torch.Tensor, alpha: float, beta: float, K: int, R: int) -> MDVIResult:
    """The MDVI recursion with a regression step; ``backup(v [R, S]) → targets [R, SA]``, ``weights [R, SA]``."""
    S, A = lin.n_states, lin.n_actions
    Phi = lin.features.reshape(S * A, -1)
    s = torch.zeros(R, S, A, dtype=DTYPE, device=lin.device)
    w_prev = torch.zeros(R, S, dtype=DTYPE, device=lin.device)
    w = torch.zeros_like(w_prev)
    values = torch.empty(R, K, S, dtype=DTYPE, device=lin.device)
    q = torch.zeros_like(s)
    smoother = least_squares_smoother(Phi, weights)  # [R, SA, SA]: q = Φθ̂ is linear in the targets
    for k in range(K):
        v = w - alpha * w_prev
        q = (smoother @ backup(v).unsqueeze(-1)).reshape(R, S, A)
        s = q + alpha * s
        w_prev, w = w, mdvi_state_value(s, beta)
        values[:, k] = w - alpha * w_prev
    check_finite(s, "mdvi: s_K")
    return MDVIResult(mdvi_policy(s, beta), s, q, values, torch.zeros(R, dtype=torch.int64, device=lin.device))


def mdvi_exact(lin: LinearMDP, *, alpha: float, beta: float, iterations: int, design=None, variance=None) -> MDVIResult:
    r"""(W)LS-MDVI with exact expectations (infinitely many samples): targets r_i + γ(Pv)_i on the design's support.

    ``design [SA]``: the pairs regressed on with weights ρ_i/σ²_i (default: the G-optimal design of the features);
    ``variance [S, A]``: σ² (default 1). Returns an :class:`MDVIResult` without run dimension (policy [S, A], values
    [K, S], samples 0). On a linear MDP this equals tabular MDVI on ``lin.tabular()`` for any spanning design.
    """
    if not isinstance(lin, LinearMDP):
        raise TypeError(f"lin: expected a LinearMDP, got {type(lin).__name__}")
    alpha, beta = _check_alpha_beta(alpha, beta)
    K = check_positive_int(iterations, "iterations")
    S, A = lin.n_states, lin.n_actions
    rho = (g_optimal_design(lin.features.reshape(S * A, -1)).weights if design is None else _check_design(lin, design))
    if rho.ndim != 1:
        raise ValueError(f"design: the exact version takes one design [SA], got shape {tuple(rho.shape)}")
    var = _check_variance(lin, variance, None)
    wts = rho / (1.0 if var is None else var.reshape(S * A))
    P = lin.transitions.reshape(S * A, S)
    r = lin.rewards.reshape(S * A)
    out = _mdvi_loop(lin, lambda v: r + lin.discount * v @ P.T, wts.unsqueeze(0), alpha, beta, K, 1)
    return MDVIResult(*(x[0] for x in out))


def ls_mdvi(lin: LinearMDP, design, budget: int, generator: torch.Generator, *, alpha: float, beta: float,
            iterations: int, runs: int, variance=None) -> MDVIResult:
    r"""Sampled (W)LS-MDVI, R independent runs batched: each iteration draws n_i = ⌈ρ_i N⌉ fresh next states per pair.

    ``design [SA]`` or ``[R, SA]``: ρ (per run when 2-D); ``budget``: N, the per-iteration budget; ``variance``
    ``[S, A]`` or ``[R, S, A]``: σ² of the weights 1/σ² (None: unweighted LS-MDVI). Targets ȳ_i = r_i + γ P̂_i v_k,
    regression weights n_i/σ²_i. ``samples`` = K·Σ_i n_i per run. Returns an :class:`MDVIResult` with run dimension.
    """
    if not isinstance(lin, LinearMDP):
        raise TypeError(f"lin: expected a LinearMDP, got {type(lin).__name__}")
    alpha, beta = _check_alpha_beta(alpha, beta)
    K = check_positive_int(iterations, "iterations")
    R = check_positive_int(runs, "runs")
    rho = _check_design(lin, design)
    if rho.ndim == 2 and rho.shape[0] != R:
        raise ValueError(f"design: expected [R, SA] with R = runs = {R}, got {tuple(rho.shape)}")
    n = design_allocation(rho, budget).expand(R, -1)  # [R, SA]
    var = _check_variance(lin, variance, R)
    S, A = lin.n_states, lin.n_actions
    support = (n > 0).any(0).nonzero().squeeze(-1)  # pairs any run queries
    n_sup = n[:, support]
    r_sup = lin.rewards.reshape(S * A)[support]
    wts = n.to(DTYPE) / (1.0 if var is None else var.reshape(-1, S * A).expand(R, -1))
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator: expected a torch.Generator, got {type(generator).__name__}")
    cond = conditional_binomial_probabilities(lin.transitions.reshape(S * A, S)[support])
    inv_n = torch.where(n_sup > 0, 1.0 / n_sup.clamp_min(1).to(DTYPE), torch.zeros((), dtype=DTYPE))
    y = torch.zeros(R, S * A, dtype=DTYPE, device=lin.device)

    def backup(v: torch.Tensor) -> torch.Tensor:
        counts = multinomial_counts(cond, n_sup, generator)  # [R, C, S]
        y[:, support] = r_sup + lin.discount * torch.einsum("rct,rt->rc", counts, v) * inv_n
        return y

    out = _mdvi_loop(lin, backup, wts, alpha, beta, K, R)
    return out._replace(samples=K * n.sum(-1))


def estimate_next_value_variance(lin: LinearMDP, values: torch.Tensor, design, budget: int,
                                 generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Var̂_{s'~P(·|s,a)}[v(s')] for every pair from one batch of draws on a design, per run.

    ``values [R, S]`` (v̂ per run); ``design [SA]`` or ``[R, SA]``; ``budget`` N (n_i = ⌈ρ_i N⌉ draws per pair).
    On a linear MDP both Pv and Pv² are linear in φ, so each is fitted by least squares (weights n_i) on the empirical
    means, and Var̂ = max(Φθ₂ − (Φθ₁)², 0). Returns ``(variance [R, S, A], samples [R])``.
    """
    v = check_finite(as_tensor(values, "values", device=lin.device), "values")
    S, A = lin.n_states, lin.n_actions
    if v.ndim != 2 or v.shape[1] != S:
        raise ValueError(f"values: expected shape [R, S] = [R, {S}], got {tuple(v.shape)}")
    R = v.shape[0]
    rho = _check_design(lin, design)
    n = design_allocation(rho, budget).expand(R, -1)
    support = (n > 0).any(0).nonzero().squeeze(-1)
    n_sup = n[:, support]
    counts = sample_next_state_counts(lin.transitions, support, n_sup, generator)
    m1 = torch.zeros(R, S * A, dtype=DTYPE, device=lin.device)
    m2 = torch.zeros_like(m1)
    m1[:, support] = empirical_next_means(counts, v, n_sup)
    m2[:, support] = empirical_next_means(counts, v * v, n_sup)
    Phi = lin.features.reshape(S * A, -1)
    w = n.to(DTYPE)
    p1 = (Phi @ weighted_least_squares(Phi, m1, w).T).T
    p2 = (Phi @ weighted_least_squares(Phi, m2, w).T).T
    return (p2 - p1 * p1).clamp_min(0.0).reshape(R, S, A), n.sum(-1)


def vwls_mdvi(lin: LinearMDP, design, budget: int, generator: torch.Generator, *, alpha: float, beta: float,
              iterations: int, runs: int, phase1_budget: int, variance_budget: int, variance_floor: float | None = None,
              design_tol: float = 1e-2) -> VWLSResult:
    r"""VWLS-MDVI (Kitamura et al. 2023), R runs batched: LS-MDVI → σ̂² → MDVI weighted by 1/σ̂² on a weighted design.

    Phase 1: :func:`ls_mdvi` with ``phase1_budget`` on ``design`` (the unweighted G-optimal design [SA]) gives
    v̂ = v_K. Phase 2: σ̂² = Var̂[v̂(s')] + ``variance_floor`` (default H = 1/(1 − γ)) by
    :func:`estimate_next_value_variance` with ``variance_budget``. Phase 3: the G-optimal design of φ/σ̂ per run
    (Frank–Wolfe to max leverage ≤ d(1 + ``design_tol``)) and :func:`ls_mdvi` with weights 1/σ̂² and ``budget``.
    ``result.samples`` counts the draws of all three phases.
    """
    if not isinstance(lin, LinearMDP):
        raise TypeError(f"lin: expected a LinearMDP, got {type(lin).__name__}")
    H = 1.0 / (1.0 - lin.discount)
    floor = H if variance_floor is None else check_real(variance_floor, "variance_floor", low=0.0, low_open=True)
    R = check_positive_int(runs, "runs")
    first = ls_mdvi(lin, design, phase1_budget, generator, alpha=alpha, beta=beta, iterations=iterations, runs=R)
    var, n_var = estimate_next_value_variance(lin, first.values[:, -1], design, variance_budget, generator)
    sigma2 = var + floor
    S, A = lin.n_states, lin.n_actions
    Phi = lin.features.reshape(S * A, -1)
    wdesign = torch.stack([g_optimal_design(Phi / sigma2[i].reshape(S * A, 1).sqrt(), tol=design_tol).weights
                           for i in range(R)])
    final = ls_mdvi(lin, wdesign, budget, generator, alpha=alpha, beta=beta, iterations=iterations, runs=R,
                    variance=sigma2)
    total = first.samples + n_var + final.samples
    return VWLSResult(final._replace(samples=total), first, sigma2, wdesign)
