r"""Expected conditional risk measures (ECRMs) of a cost MDP, exactly: the η-augmented MDP, its DP optimum, the
direct (nested, exact-CVaR) value of a policy and the exact policy gradient (Yu & Ying 2023, arXiv:2301.10932).

**Objective.** Deterministic costs c(s, a) (any real values, small is good; the randomness of c_t comes from the
transitions and the policy — a cost that is random given (s, a) must be made a function of a state), discount γ,
one-step risk measure

.. math:: \rho(X) = (1-\lambda)\,\mathbb E X + \lambda\,\mathrm{CVaR}_\alpha(X),\qquad
          \mathrm{CVaR}_\alpha(X) = \min_{\eta\in\mathbb R}\Big\{\eta + \tfrac{1}{1-\alpha}\mathbb E(X-\eta)_+\Big\}

(upper-tail CVaR of a cost: the mean of the worst 1 − α fraction; Rockafellar & Uryasev 2000), and the ECRM
objective (Homem-de-Mello & Pagnoncelli 2016, as used by Yu & Ying)

.. math:: J(\pi) = \mathbb E\Big[c_0 + \sum_{t\ge1}\gamma^t\,\rho\big(c_t \mid \mathcal F_{t-1}\big)\Big],
          \qquad c_t = c(s_t, a_t),

minimised over policies. The conditional law of :math:`c_t` given :math:`\mathcal F_{t-1}` comes from
:math:`s_t\sim P(\cdot|s_{t-1},a_{t-1})` and :math:`a_t\sim\pi(\cdot|s_t)`.

**Augmented MDP.** Writing each conditional CVaR by Rockafellar–Uryasev with an :math:`\mathcal F_{t-1}`-measurable
η_{t−1} and exchanging the minima, :math:`\min_\pi J = \min_{\pi,\eta}\mathbb E[\sum_t\gamma^t\tilde c_t]`: a
risk-neutral MDP with augmented states :math:`\tilde s_t = (s_t, \eta_{t-1})` (at t = 0 a *start copy* without η),
augmented actions :math:`(a_t, \eta_t)`, the same transitions for s (η_t is carried into the next state), and costs

.. math:: \tilde c\big((s,\text{start}), (a,\eta')\big) = c(s,a) + \gamma\lambda\eta', \qquad
          \tilde c\big((s,\eta), (a,\eta')\big) = (1-\lambda)c(s,a) + \tfrac{\lambda}{1-\alpha}(c(s,a)-\eta)_+ + \gamma\lambda\eta'.

Index layout (:class:`ECRMProblem`): η takes values on a grid ``eta [K]``; augmented state ``k·S + s`` carries
η_{t−1} = eta[k] (k < K), ``K·S + s`` is the start copy of s; augmented action ``j·A + a`` takes a and η_t = eta[j].

**The grid is exact.** For every fixed continuation, the η minimisation is a convex piecewise-linear problem whose
kinks lie at cost values c(s', a') (slope λ − λ/(1−α)·P(c > η) changes sign at an α-quantile of the next cost), so the
grid of the *distinct cost values* (:func:`ecrm_eta_grid`) attains the continuous-η optimum; a policy's exact ECRM is
attained with η = the upper α-quantile (VaR) of the next cost (:func:`var_eta_policy`), an atom of that grid.

**Direct value.** :func:`nested_ecrm_value` evaluates the definition itself with exact CVaR (no RU, no η): for an
augmented policy the conditional law of c_{t} given (s_{t−1}, a_{t−1}, η-index j_{t−1}) has atoms c(s', a') with
probabilities P(s'|s,a)·π_A(a'|(j, s')), so J = ρ̃ᵀ(I − γP̃_π)^{−1} r̄_π with the pseudo-cost
r̄((·,s),(j,a)) = 1[start]·c(s,a) + γ·ρ(law of c_{t+1} | s, a, j). It is ≤ the augmented (RU) value of the same
policy, with equality when every η is the VaR of the next cost — the sequential form of "CVaR via RU = exact CVaR".

**Policy gradient.** The augmented problem is an ordinary discounted MDP, so the PG theorem applies to any tabular
parameterisation of the augmented policy π(a, η' | s̃) (the direct one projected on each simplex, or softmax):
:math:`\nabla J = \frac1{1-\gamma}\sum_{\tilde s}d_{\tilde\rho}^\pi(\tilde s)\sum_{\tilde a}\tilde Q^\pi(\tilde s,\tilde a)
\nabla\pi(\tilde a|\tilde s)` with the separate first-step (start-copy) and later-step policies of the paper.

Sources: the objective, RU and the augmented-action reformulation follow the lead's CLAIMS.md row L37 and the abstract
of Yu & Ying (arXiv:2301.10932); the paper body could not be read here, so its exact notation (α convention, whether
η lives on a grid, how the first step is written) is not verified. The cost-grid exactness and the direct value are
derived in this module and checked by the tests.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from .._checks import as_tensor, check_finite, check_finite_result, check_probabilities, check_real
from ..policies.tabular import TabularPolicy
from ..problems.mdp import TabularMDP
from .evaluation import evaluate_policy
from .gradients import check_mdp_policy, policy_gradient
from .risk_measures import cvar, value_at_risk
from .solvers import Solution, policy_iteration

__all__ = ["ECRMProblem", "ecrm_eta_grid", "ecrm_problem", "one_step_risk", "ecrm_objective", "ecrm_optimum",
           "ecrm_policy_gradient", "transformed_cost", "nested_ecrm_value", "lift_action_policy", "var_eta_policy", "action_marginal"]


def ecrm_eta_grid(costs) -> torch.Tensor:
    """The distinct values of ``costs [S, A]``, sorted: ``[K]``. The η grid on which the augmented DP is exact."""
    c = check_finite(as_tensor(costs, "costs"), "costs")
    if c.ndim != 2 or c.numel() == 0:
        raise ValueError(f"costs: expected a non-empty table [S, A], got shape {tuple(c.shape)}")
    return torch.unique(c)


@dataclass(frozen=True, eq=False)
class ECRMProblem:
    r"""An ECRM problem and its η-augmented MDP (see the module docstring for the layout).

    ``base``: the original MDP (its transitions, γ, ρ); ``costs [S, A]``; ``eta [K]``; ``lam`` λ ∈ [0, 1];
    ``alpha`` α ∈ [0, 1); ``mdp``: the augmented MDP with *rewards* −c̃ (pgtheory maximises rewards), states
    S(K + 1), actions A·K, initial law ρ on the start copies unless ``augmented_initial`` was given;
    ``environment``: the same augmented chain whose rewards are the raw costs −c(s, a) (what a sampler observes).
    """

    base: TabularMDP
    costs: torch.Tensor
    eta: torch.Tensor
    lam: float
    alpha: float
    mdp: TabularMDP
    environment: TabularMDP

    @property
    def n_states(self) -> int:
        """S, the original states."""
        return self.base.n_states

    @property
    def n_actions(self) -> int:
        """A, the original actions."""
        return self.base.n_actions

    @property
    def n_eta(self) -> int:
        """K, the η grid size."""
        return int(self.eta.shape[0])

    def state_index(self, s, k) -> torch.Tensor:
        """Augmented state of original state ``s`` carrying η-index ``k`` (k = K: the start copy)."""
        return torch.as_tensor(k) * self.n_states + torch.as_tensor(s)

    def action_index(self, a, j) -> torch.Tensor:
        """Augmented action of original action ``a`` choosing η-index ``j``."""
        return torch.as_tensor(j) * self.n_actions + torch.as_tensor(a)

    def transformed_costs(self, k, j, c) -> torch.Tensor:
        """c̃ for η-index ``k`` of η_{t−1} (K at the first step), η-index ``j`` of η_t and observed cost ``c``
        (broadcasting tensors): :func:`transformed_cost` with this problem's grid, λ, α and γ."""
        return transformed_cost(c, k, j, self.eta, self.lam, self.alpha, self.base.discount)


def transformed_cost(c, k, j, eta: torch.Tensor, lam: float, alpha: float, discount: float) -> torch.Tensor:
    r"""The augmented cost c̃ of the module docstring, elementwise over broadcasting ``c``, ``k``, ``j``:

    c̃ = c + γλη_j at the first step (k = K, no η_{t−1}); otherwise
    c̃ = (1 − λ)c + λ/(1 − α)·(c − η_k)_+ + γλη_j. ``eta [K]`` the grid; ``k`` in 0..K, ``j`` in 0..K−1.
    """
    K = int(eta.shape[0])
    k = torch.as_tensor(k, device=eta.device)
    start = k >= K
    eta_prev = eta[k.clamp_max(K - 1)]
    later = (1 - lam) * c + lam / (1 - alpha) * (c - eta_prev).clamp_min(0.0)
    return torch.where(start, c, later) + discount * lam * eta[torch.as_tensor(j, device=eta.device)]


def ecrm_problem(mdp: TabularMDP, lam: float, alpha: float, *, costs=None, eta=None,
                 augmented_initial=None) -> ECRMProblem:
    r"""Build the η-augmented MDP of the ECRM objective with ρ = (1 − λ)E + λ CVaR_α.

    ``mdp``: transitions, γ and ρ of the cost MDP; ``costs [S, A]`` (default −``mdp.rewards``); ``eta [K]`` the η
    grid (default :func:`ecrm_eta_grid` — exact for the continuous-η problem); ``augmented_initial [S(K+1)]`` a start
    law on augmented states (default ρ on the start copies; an exploratory law is used by PG analyses).
    """
    if not isinstance(mdp, TabularMDP):
        raise TypeError(f"mdp: expected a TabularMDP, got {type(mdp).__name__}")
    lam = check_real(lam, "lam", low=0.0, high=1.0)
    alpha = check_real(alpha, "alpha", low=0.0, high=1.0, high_open=True)
    S, A, dev = mdp.n_states, mdp.n_actions, mdp.device
    c = -mdp.rewards if costs is None else check_finite(as_tensor(costs, "costs", device=dev), "costs")
    if tuple(c.shape) != (S, A):
        raise ValueError(f"costs: expected shape [S, A] = {(S, A)}, got {tuple(c.shape)}")
    h = ecrm_eta_grid(c) if eta is None else check_finite(as_tensor(eta, "eta", device=dev), "eta")
    if h.ndim != 1 or h.numel() == 0:
        raise ValueError(f"eta: expected a non-empty grid [K], got shape {tuple(h.shape)}")
    K, g = int(h.shape[0]), mdp.discount
    SA, AA = S * (K + 1), A * K
    P = torch.zeros(K + 1, S, K, A, K + 1, S, dtype=c.dtype, device=dev)  # [k, s, j, a, k', s']: k' = j (never the start copy)
    for j in range(K):
        P[:, :, j, :, j, :] = mdp.transitions
    P = P.reshape(SA, AA, SA)
    k_idx = torch.arange(K + 1, device=dev).view(K + 1, 1, 1, 1)
    j_idx = torch.arange(K, device=dev).view(1, 1, K, 1)
    ct = transformed_cost(c.view(1, S, 1, A), k_idx, j_idx, h, lam, alpha, g).reshape(SA, AA)  # [k, s, j, a]
    raw = c.view(1, S, 1, A).expand(K + 1, S, K, A).reshape(SA, AA)
    if augmented_initial is None:
        init = torch.zeros(SA, dtype=c.dtype, device=dev)
        init[K * S:] = mdp.initial
    else:
        init = check_probabilities(as_tensor(augmented_initial, "augmented_initial", device=dev), "augmented_initial")
        if tuple(init.shape) != (SA,):
            raise ValueError(f"augmented_initial: expected shape [S(K+1)] = [{SA}], got {tuple(init.shape)}")
    aug = TabularMDP(P, -ct, g, init, name=f"ecrm({mdp.name},λ={lam:g},α={alpha:g},K={K})")
    env = TabularMDP(P, -raw, g, init, name=f"ecrm-env({mdp.name},K={K})")
    return ECRMProblem(mdp, c, h, lam, alpha, aug, env)


def one_step_risk(z, p, lam: float, alpha: float) -> torch.Tensor:
    r"""ρ(X) = (1 − λ)E X + λ CVaR_α(X) of a *cost* law with atoms ``z [..., N]`` and probabilities ``p [..., N]``.

    Upper-tail CVaR of a cost through the lower-tail (reward) CVaR of :mod:`~pgtheory.exact.risk_measures`:
    CVaR_α(X) = −CVaR^{reward}_{1−α}(−X) (the mean of the worst 1 − α fraction of costs). ``[...]``.
    """
    lam = check_real(lam, "lam", low=0.0, high=1.0)
    alpha = check_real(alpha, "alpha", low=0.0, high=1.0, high_open=True)
    z = as_tensor(z, "z")
    p = as_tensor(p, "p", device=z.device)
    mean = (z * p).sum(-1)
    return (1 - lam) * mean + lam * (-cvar(-z, p, 1 - alpha))


def _check_problem(problem) -> ECRMProblem:
    if not isinstance(problem, ECRMProblem):
        raise TypeError(f"problem: expected an ECRMProblem (see ecrm_problem), got {type(problem).__name__}")
    return problem


def ecrm_objective(problem: ECRMProblem, pi) -> torch.Tensor:
    """J(π̃) = ρ̃ᵀṼ^π̃ in costs for augmented policies ``pi [..., S(K+1), A·K]``: ``[...]`` (differentiable)."""
    _check_problem(problem)
    return -evaluate_policy(problem.mdp, pi).objective


def ecrm_optimum(problem: ECRMProblem) -> Solution:
    r"""The DP optimum of the augmented MDP by Howard's policy iteration (exact evaluation at every step).

    Returned in *costs*: ``v [S(K+1)]`` = Ṽ* (minimal cost-to-go), ``q`` = Q̃* in costs, ``policy`` a deterministic
    optimal augmented policy. J* = ρ̃ᵀṽ. Time consistency of the ECRM is what makes this Bellman recursion valid.
    """
    _check_problem(problem)
    sol = policy_iteration(problem.mdp)
    return Solution(-sol.v, -sol.q, sol.policy, sol.iterations, sol.method)


def ecrm_policy_gradient(problem: ECRMProblem, policy: TabularPolicy, theta) -> torch.Tensor:
    r"""∇_θ J (cost) by the policy-gradient theorem on the augmented MDP, ``[..., *param_shape]``:

    .. math:: \nabla J = \frac1{1-\gamma}\sum_{\tilde s,\tilde a} d^\pi_{\tilde\rho}(\tilde s)\,\tilde Q^\pi_c(\tilde s,\tilde a)\,
              \nabla_\theta\pi_\theta(\tilde a|\tilde s)

    with Q̃_c the cost action-value (direct parameterisation: ∂J/∂π(ã|s̃) = d(s̃)Q̃_c(s̃,ã)/(1−γ); softmax: the usual
    d·π·Ã form). ``policy`` is built for S(K+1) states and A·K actions.
    """
    _check_problem(problem)
    check_mdp_policy(problem.mdp, policy)
    return -policy_gradient(problem.mdp, policy, theta)


def action_marginal(problem: ECRMProblem, pi) -> torch.Tensor:
    """π_A(a | s̃) = Σ_j π̃((j, a) | s̃) of augmented policies ``pi [..., S(K+1), A·K]``: ``[..., S(K+1), A]``."""
    _check_problem(problem)
    pi = _check_policy_table(pi, problem.mdp.n_states, problem.mdp.n_actions, "pi", problem.mdp.device)
    return pi.unflatten(-1, (problem.n_eta, problem.n_actions)).sum(-2)


def nested_ecrm_value(problem: ECRMProblem, pi) -> torch.Tensor:
    r"""The ECRM of the *action behaviour* of augmented policies ``pi [..., S(K+1), A·K]`` by its definition, with
    exact CVaR and no η: ``[...]`` (see the module docstring, "Direct value").

    The η part of the policy only selects which state copy the next action is drawn in; its η *values* play no role
    (the one-step risks are exact). Equals :func:`ecrm_objective` when every η is the VaR of the next cost
    (:func:`var_eta_policy`) and is ≤ it otherwise.
    """
    _check_problem(problem)
    pi = _check_policy_table(pi, problem.mdp.n_states, problem.mdp.n_actions, "pi", problem.mdp.device)
    S, A, K = problem.n_states, problem.n_actions, problem.n_eta
    batch = pi.shape[:-2]
    marg = action_marginal(problem, pi)[..., : K * S, :].reshape(*batch, K, S, A)  # π_A(a'|(j, s')) for j < K
    # law of the next cost given (s, a, j): atoms c(s', a'), probability P(s'|s,a) π_A(a'|(j,s'))
    prob = torch.einsum("xy,...jyb->...xjyb", problem.base.transitions.reshape(S * A, S), marg)  # [..., SA, K, S', A']
    prob = prob.reshape(*batch, S, A, K, S * A)
    atoms = problem.costs.reshape(S * A).expand_as(prob)
    m = one_step_risk(atoms, prob, problem.lam, problem.alpha)  # [..., S, A, K]
    c = problem.costs
    g = problem.base.discount
    # pseudo-cost r̄ on augmented (state copy k, s) × (j, a): 1[k = start] c(s, a) + γ m(s, a, j)
    mj = m.permute(*range(len(batch)), -1, -3, -2)  # [..., K(j), S, A]
    rbar = g * mj.unsqueeze(-4).expand(*batch, K + 1, K, S, A).clone()  # [..., k, j, s, a]
    rbar[..., K, :, :, :] = rbar[..., K, :, :, :] + c
    rbar = rbar.permute(*range(len(batch)), -4, -2, -3, -1).reshape(*batch, S * (K + 1), K * A)
    v = evaluate_policy(problem.mdp, pi, rewards=rbar).objective  # one reward table per policy in the batch
    return check_finite_result(v, "pi", "nested ECRM value")


def _check_policy_table(pi, n_states: int, n_actions: int, name: str, device) -> torch.Tensor:
    t = as_tensor(pi, name, device=device)
    if t.ndim < 2 or tuple(t.shape[-2:]) != (n_states, n_actions):
        raise ValueError(f"{name}: expected shape [..., {n_states}, {n_actions}], got {tuple(t.shape)}")
    return t if t.requires_grad else check_probabilities(t, name, atol=1e-6)


def lift_action_policy(problem: ECRMProblem, pi_action, eta_probs=None) -> torch.Tensor:
    r"""The augmented policy π̃((j, a) | (k, s)) = π(a|s)·q(j) of a stationary action policy ``pi_action [..., S, A]``
    and an η law ``eta_probs [K]`` (default uniform), the same in every state copy: ``[..., S(K+1), A·K]``."""
    _check_problem(problem)
    pi = _check_policy_table(pi_action, problem.n_states, problem.n_actions, "pi_action", problem.base.device)
    S, A, K = problem.n_states, problem.n_actions, problem.n_eta
    q = (torch.full((K,), 1.0 / K, dtype=pi.dtype, device=pi.device) if eta_probs is None
         else check_probabilities(as_tensor(eta_probs, "eta_probs", device=pi.device), "eta_probs"))
    if tuple(q.shape) != (K,):
        raise ValueError(f"eta_probs: expected shape [K] = [{K}], got {tuple(q.shape)}")
    joint = q.view(K, 1) * pi.unsqueeze(-2)  # [..., S, K, A]
    return joint.reshape(*pi.shape[:-2], S, K * A).unsqueeze(-3).expand(*pi.shape[:-2], K + 1, S, K * A).reshape(
        *pi.shape[:-2], (K + 1) * S, K * A)


def var_eta_policy(problem: ECRMProblem, pi_action) -> torch.Tensor:
    r"""The augmented policy that plays the stationary action policy ``pi_action [S, A]`` and, after (s, a), chooses
    η = VaR_α of the next cost c(s', a') (s' ∼ P(·|s, a), a' ∼ π(·|s')) — the minimiser of Rockafellar–Uryasev:
    ``[S(K+1), A·K]``. Raises if a VaR is not on the η grid (it is, for the default grid of cost values)."""
    _check_problem(problem)
    pi = _check_policy_table(pi_action, problem.n_states, problem.n_actions, "pi_action", problem.base.device)
    if pi.ndim != 2:
        raise ValueError(f"pi_action: expected one policy [S, A], got shape {tuple(pi.shape)}")
    S, A, K = problem.n_states, problem.n_actions, problem.n_eta
    prob = (problem.base.transitions.unsqueeze(-1) * pi.view(1, 1, S, A)).reshape(S, A, S * A)
    atoms = problem.costs.reshape(S * A).expand_as(prob)
    var = -value_at_risk(-atoms, prob, 1 - problem.alpha)  # the upper α-quantile of the cost: a RU minimiser
    dist = (var.unsqueeze(-1) - problem.eta).abs()  # [S, A, K]
    j = dist.argmin(-1)
    if bool((dist.gather(-1, j.unsqueeze(-1)) > 1e-12 * (1 + var.abs().unsqueeze(-1))).any()):
        raise ValueError("problem: a value at risk of the next cost is not on the η grid; use the grid of cost values")
    joint = torch.zeros(S, K, A, dtype=pi.dtype, device=pi.device)
    joint.scatter_(1, j.unsqueeze(1), pi.unsqueeze(1))  # π(a|s) at (j*(s,a), a)
    return joint.reshape(S, K * A).unsqueeze(0).expand(K + 1, S, K * A).reshape((K + 1) * S, K * A)
