r"""Exact expected Contrastive Policy Gradient (CoPG) losses and updates over enumerated responses.

Source: Flet-Berliac et al. 2024, "Contrastive Policy Gradient: Aligning LLMs on sequence-level scores in a
supervised-friendly fashion" (arXiv 2406.19185). Read there (abstract, and the loss as quoted by third-party
summaries of the body): the KL-regularised target is

.. math:: J_\beta(\pi) = \sum_x \rho_x \big(E_{y\sim\pi(\cdot|x)} R(x,y) - \beta\,KL(\pi(\cdot|x)\,\|\,\pi_{ref}(\cdot|x))\big),
          \qquad \pi^*(y|x) \propto \pi_{ref}(y|x)\,e^{R(x,y)/\beta},

the *regularised reward* of a response is :math:`D_\pi(x,y) = R(x,y) - \beta\log\frac{\pi(y|x)}{\pi_{ref}(y|x)}`, and the
CoPG loss of a pair y, y' of independent responses to the same prompt x, drawn from any behaviour policy μ, is

.. math:: \ell(x,y,y';\pi) = \tfrac{1}{4\beta}\big(D_\pi(x,y) - D_\pi(x,y')\big)^2 .

Its negative gradient is :math:`\tfrac12 (D_\pi(y)-D_\pi(y'))(\nabla\log\pi(y) - \nabla\log\pi(y'))`: an off-policy policy
gradient without importance weights in which each response's regularised reward is contrasted with that of the other
response (the *contrastive state baseline*). The overall constant (here 1/(4β), chosen so that on-policy the expected
update equals ∇J_β, see :func:`on_policy_regularised_gradient`) was not read from the paper body; fixed points do not
depend on it.

Everything here is an exact expectation over ``prompt_weights`` ρ [M] and μ(·|x) ⊗ μ(·|x) over N enumerated responses:
log-probabilities ``logp`` [M, N] (any parameterisation: a softmax bandit's log_softmax(z), or a tabular sequence
policy's sequence log-likelihoods), ``logp_ref`` [M, N], ``behaviour`` μ [M, N] (rows on the simplex), ``rewards`` [M, N].
"""
from __future__ import annotations

import torch

from .._checks import as_tensor, check_finite, check_probabilities, check_real

__all__ = [
    "regularised_reward",
    "kl_regularised_optimum",
    "copg_expected_loss",
    "cross_prompt_contrastive_loss",
    "copg_softmax_update",
    "offpolicy_pg_softmax_update",
    "kl_regularised_objective",
    "on_policy_regularised_gradient",
    "copg_pair_loss",
    "ipo_pair_loss",
]


def _table(x, name: str, shape: tuple[int, ...] | None = None) -> torch.Tensor:
    t = x if isinstance(x, torch.Tensor) and x.requires_grad else check_finite(as_tensor(x, name), name)
    if t.ndim != 2:
        raise ValueError(f"{name}: expected shape [M, N], got {tuple(t.shape)}")
    if shape is not None and tuple(t.shape) != shape:
        raise ValueError(f"{name}: expected shape {shape}, got {tuple(t.shape)}")
    return t


def _beta(beta) -> float:
    b = check_real(beta, "beta", low=0.0)
    if b == 0.0:
        raise ValueError("beta: must be > 0")
    return b


def _weights(prompt_weights, M: int, like: torch.Tensor) -> torch.Tensor:
    if prompt_weights is None:
        return torch.full((M,), 1.0 / M, dtype=like.dtype, device=like.device)
    w = as_tensor(prompt_weights, "prompt_weights", device=like.device)
    if tuple(w.shape) != (M,):
        raise ValueError(f"prompt_weights: expected shape [M] = {(M,)}, got {tuple(w.shape)}")
    return check_probabilities(w, "prompt_weights")


def _behaviour(behaviour, shape: tuple[int, ...]) -> torch.Tensor:
    mu = _table(behaviour, "behaviour", shape)
    return check_probabilities(mu, "behaviour")


def regularised_reward(logp, logp_ref, rewards, beta) -> torch.Tensor:
    """D_π(x, y) = R(x, y) − β (log π(y|x) − log π_ref(y|x)): ``[M, N]`` (keeps autograd history of ``logp``)."""
    logp = _table(logp, "logp")
    ref = _table(logp_ref, "logp_ref", tuple(logp.shape))
    r = _table(rewards, "rewards", tuple(logp.shape))
    return r - _beta(beta) * (logp - ref)


def kl_regularised_optimum(logp_ref, rewards, beta) -> torch.Tensor:
    """log π*(y|x) = log π_ref(y|x) + R(x,y)/β − log Z_β(x), the maximiser of J_β: ``[M, N]``."""
    ref = _table(logp_ref, "logp_ref")
    r = _table(rewards, "rewards", tuple(ref.shape))
    z = ref + r / _beta(beta)
    return z - torch.logsumexp(z, dim=-1, keepdim=True)


def copg_expected_loss(logp, logp_ref, rewards, behaviour, beta, prompt_weights=None) -> torch.Tensor:
    r"""L(π) = Σ_x ρ_x E_{y,y'∼μ(·|x)} (D_π(x,y) − D_π(x,y'))² / (4β) = Σ_x ρ_x Var_{μ(·|x)}[D_π(x,·)] / (2β): a scalar.

    Differentiable in ``logp``. Zero iff D_π(x,·) is constant on the support of μ(·|x) for every prompt, i.e. (full
    support) iff π = π*.
    """
    D = regularised_reward(logp, logp_ref, rewards, beta)
    mu = _behaviour(behaviour, tuple(D.shape))
    w = _weights(prompt_weights, D.shape[0], D)
    mean = (mu * D).sum(-1, keepdim=True)
    var = (mu * (D - mean) ** 2).sum(-1)
    return (w * var).sum() / (2.0 * _beta(beta))


def cross_prompt_contrastive_loss(logp, logp_ref, rewards, behaviour, beta, prompt_weights=None) -> torch.Tensor:
    r"""The CoPG loss with the contrast taken across prompts (a *wrong state baseline*, twin of :func:`copg_expected_loss`):

    L_×(π) = E_{x,x'∼ρ} E_{y∼μ(·|x), y'∼μ(·|x')} (D_π(x,y) − D_π(x',y'))² / (4β) = Var_{x∼ρ, y∼μ(·|x)}[D_π(x,y)] / (2β).
    """
    D = regularised_reward(logp, logp_ref, rewards, beta)
    mu = _behaviour(behaviour, tuple(D.shape))
    w = _weights(prompt_weights, D.shape[0], D)
    joint = w[:, None] * mu
    mean = (joint * D).sum()
    return (joint * (D - mean) ** 2).sum() / (2.0 * _beta(beta))


def copg_softmax_update(logits, logp_ref, rewards, behaviour, beta, prompt_weights=None) -> torch.Tensor:
    r"""Expected CoPG update for a softmax bandit π(·|x) = softmax(z_x): ``−∇_z L = ρ_x μ(y|x) (D_π(x,y) − E_{μ(·|x)} D_π(x,·))``.

    ``logits`` z [M, K]; returns [M, K]. (With ∇_z log π(y) = e_y − π, the π terms of the pair (y, y') cancel.)
    """
    z = _table(logits, "logits")
    logp = torch.log_softmax(z, -1)
    D = regularised_reward(logp, logp_ref, rewards, beta)
    mu = _behaviour(behaviour, tuple(D.shape))
    w = _weights(prompt_weights, D.shape[0], D)
    return w[:, None] * mu * (D - (mu * D).sum(-1, keepdim=True))


def offpolicy_pg_softmax_update(logits, logp_ref, rewards, behaviour, beta, baseline, prompt_weights=None) -> torch.Tensor:
    r"""Expected off-policy PG update *without* importance weights, with a state baseline b(x), for a softmax bandit:

    g[x] = ρ_x E_{y∼μ(·|x)} (D_π(x,y) − b(x)) ∇_z log π(y|x) = ρ_x [μ ⊙ (D − b) − (Σ_y μ(y)(D(y) − b)) π].

    ``baseline``: "none" (b = 0), "behaviour" (b = E_μ D_π, which gives exactly :func:`copg_softmax_update`),
    "on_policy" (b = E_π D_π, the usual on-policy value baseline) or a tensor b [M]. Returns [M, K].
    """
    z = _table(logits, "logits")
    logp = torch.log_softmax(z, -1)
    pi = logp.exp()
    D = regularised_reward(logp, logp_ref, rewards, beta)
    mu = _behaviour(behaviour, tuple(D.shape))
    w = _weights(prompt_weights, D.shape[0], D)
    if isinstance(baseline, str):
        if baseline == "none":
            b = torch.zeros(D.shape[0], dtype=D.dtype, device=D.device)
        elif baseline == "behaviour":
            b = (mu * D).sum(-1)
        elif baseline == "on_policy":
            b = (pi * D).sum(-1)
        else:
            raise ValueError(f"baseline: expected 'none', 'behaviour', 'on_policy' or a tensor [M], got {baseline!r}")
    else:
        b = check_finite(as_tensor(baseline, "baseline", device=D.device), "baseline")
        if tuple(b.shape) != (D.shape[0],):
            raise ValueError(f"baseline: expected shape [M] = {(D.shape[0],)}, got {tuple(b.shape)}")
    adv = D - b[:, None]
    return w[:, None] * (mu * adv - (mu * adv).sum(-1, keepdim=True) * pi)


def kl_regularised_objective(logp, logp_ref, rewards, beta, prompt_weights=None) -> torch.Tensor:
    """J_β(π) = Σ_x ρ_x Σ_y π(y|x) D_π(x, y) = Σ_x ρ_x (E_π R − β KL(π‖π_ref)): a scalar, differentiable in ``logp``."""
    D = regularised_reward(logp, logp_ref, rewards, beta)
    w = _weights(prompt_weights, D.shape[0], D)
    return (w * (logp.exp() * D).sum(-1)).sum()


def on_policy_regularised_gradient(logits, logp_ref, rewards, beta, prompt_weights=None) -> torch.Tensor:
    """∇_z J_β for a softmax bandit by autograd: ``[M, K]`` (the target of CoPG's on-policy limit μ = π)."""
    z = _table(logits, "logits").detach().clone().requires_grad_(True)
    with torch.enable_grad():
        J = kl_regularised_objective(torch.log_softmax(z, -1), logp_ref, rewards, beta, prompt_weights)
        (g,) = torch.autograd.grad(J, z)
    return g


def copg_pair_loss(logp_y, logp_yp, logp_ref_y, logp_ref_yp, reward_y, reward_yp, beta) -> torch.Tensor:
    """ℓ(y, y') = (R(y) − R(y') − β[log π(y)/π_ref(y) − log π(y')/π_ref(y')])² / (4β), elementwise over equal shapes."""
    b = _beta(beta)
    args = [as_tensor(a, n) for a, n in ((logp_y, "logp_y"), (logp_yp, "logp_yp"), (logp_ref_y, "logp_ref_y"),
                                         (logp_ref_yp, "logp_ref_yp"), (reward_y, "reward_y"), (reward_yp, "reward_yp"))]
    ly, lyp, ry_ref, ryp_ref, Ry, Ryp = args
    return (Ry - Ryp - b * ((ly - ry_ref) - (lyp - ryp_ref))) ** 2 / (4.0 * b)


def ipo_pair_loss(logp_w, logp_l, logp_ref_w, logp_ref_l, tau) -> torch.Tensor:
    r"""IPO loss of a preference pair (Azar et al. 2023): (h − 1/(2τ))², h = log π(y_w)π_ref(y_l) / (π(y_l)π_ref(y_w)).

    With R(y_w) − R(y_l) = 1/2 and β = τ, :func:`copg_pair_loss` equals τ/4 times this (our derivation of the abstract's
    "generalize ... IPO"; the paper's exact reduction was not read).
    """
    t = _beta(tau)
    h = (as_tensor(logp_w, "logp_w") - as_tensor(logp_ref_w, "logp_ref_w")) - (as_tensor(logp_l, "logp_l") - as_tensor(logp_ref_l, "logp_ref_l"))
    return (h - 1.0 / (2.0 * t)) ** 2
