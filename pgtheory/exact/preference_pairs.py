r"""Exact expected DPO / WPO losses and gradients over enumerated preference pairs (toy sequence task).

A preference pair for prompt q is drawn as two independent responses y, y' ∼ μ(·|q) from a *behaviour* policy μ and
labelled by a Bradley–Terry oracle with true reward r: y ≻ y' with probability σ(r(q,y) − r(q,y')). The data are the
labelled triples (q, y_w, y_l) with law

.. math:: D_\mu(q, y_w, y_l) = \rho_q\,\mu(y_w|q)\,\mu(y_l|q)\,\sigma(r(q,y_w) - r(q,y_l)),

which sums to 1 (each unordered draw appears once per labelling). The DPO loss of a triple (Rafailov et al. 2023) is

.. math:: \ell_\theta(q,y_w,y_l) = -\log\sigma\big(\beta[\log\tfrac{\pi_\theta(y_w|q)}{\pi_{ref}(y_w|q)}
          - \log\tfrac{\pi_\theta(y_l|q)}{\pi_{ref}(y_l|q)}]\big),

and a *weighted* preference loss is :math:`L(\theta) = \sum D_\mu\,W\,\ell_\theta` with a pair weight W held fixed
(stop-gradient) when differentiating. *On-policy* DPO uses μ = π_θ (the sampler is not differentiated); *off-policy*
DPO uses μ ≠ π_θ and W = 1; WPO (Zhou et al. 2024, "WPO: Enhancing RLHF with Weighted Preference Optimization")
uses W(q,y_w,y_l) = min(1, w(q,y_w) w(q,y_l)) with the per-response weight of :func:`wpo_log_weights`.

All tensors are float64; prompts M, enumerated responses N (``task.n_sequences``).
"""
from __future__ import annotations

import torch

from .._checks import as_tensor, check_finite, check_real
from ..policies.sequence import TabularSequencePolicy

__all__ = [
    "WPO_ALIGNMENTS",
    "bradley_terry_matrix",
    "dpo_pair_losses",
    "wpo_log_weights",
    "wpo_pair_weights",
    "importance_pair_weights",
    "labelled_pair_distribution",
    "expected_preference_loss",
    "expected_preference_gradient",
    "total_variation",
]

#: per-response weight variants of :func:`wpo_log_weights`
WPO_ALIGNMENTS = ("sampled", "length_normalised", "sequence")


def bradley_terry_matrix(rewards) -> torch.Tensor:
    """P[q, i, j] = σ(r(q, i) − r(q, j)), the probability that response i is preferred to j: ``[M, N] → [M, N, N]``."""
    r = check_finite(as_tensor(rewards, "rewards"), "rewards")
    if r.ndim != 2:
        raise ValueError(f"rewards: expected shape [M, N], got {tuple(r.shape)}")
    return torch.sigmoid(r[:, :, None] - r[:, None, :])


def _check_logp(x, name: str) -> torch.Tensor:
    t = check_finite(as_tensor(x, name), name)
    if t.ndim != 2:
        raise ValueError(f"{name}: expected shape [M, N], got {tuple(t.shape)}")
    return t


def dpo_pair_losses(logp: torch.Tensor, logp_ref, beta: float) -> torch.Tensor:
    """ℓ[q, i, j] = −log σ(β[(log π(i) − log π_ref(i)) − (log π(j) − log π_ref(j))]), i the winner: ``[M, N, N]``.

    ``logp`` and ``logp_ref``: sequence log-probabilities ``[M, N]`` (``logp`` may carry autograd history).
    """
    if not isinstance(logp, torch.Tensor):
        logp = _check_logp(logp, "logp")
    elif logp.ndim != 2:
        raise ValueError(f"logp: expected shape [M, N], got {tuple(logp.shape)}")
    ref = _check_logp(logp_ref, "logp_ref")
    if ref.shape != logp.shape:
        raise ValueError(f"logp_ref: shape {tuple(ref.shape)} differs from logp's {tuple(logp.shape)}")
    beta = check_real(beta, "beta", low=0.0)
    if beta == 0.0:
        raise ValueError("beta: must be > 0")
    h = logp - ref
    return -torch.nn.functional.logsigmoid(beta * (h[:, :, None] - h[:, None, :]))


def wpo_log_weights(policy: TabularSequencePolicy, theta, alignment: str = "sampled") -> torch.Tensor:
    r"""log w(q, y) of WPO's per-response weight, ``[M, N]`` (no gradient flows: WPO's weight is a stop-gradient).

    * ``"sampled"`` (WPO's sampled weight alignment, as in the authors' ``scripts/run_wpo.py``):
      :math:`\log w = \frac1{|y|}\sum_t [\log\pi(y_t|q,y_{<t}) - \log\sum_v \pi(v|q,y_{<t})^2]` — the
      length-normalised log-probability, each token divided by its expected probability under on-policy sampling.
    * ``"length_normalised"``: :math:`\frac1{|y|}\sum_t \log\pi(y_t|q,y_{<t})` (geometric mean token probability).
    * ``"sequence"``: :math:`\log\pi(y|q)` (the unnormalised sequence probability of WPO's conceptual derivation).
    """
    if alignment not in WPO_ALIGNMENTS:
        raise ValueError(f"alignment: expected one of {WPO_ALIGNMENTS}, got {alignment!r}")
    if not isinstance(policy, TabularSequencePolicy):
        raise TypeError(f"policy: expected a TabularSequencePolicy, got {type(policy).__name__}")
    theta = policy.check_params(theta).detach()
    if theta.ndim != 3:
        raise ValueError(f"theta: expected shape [M, n_prefixes, V] (no batch dimensions), got {tuple(theta.shape)}")
    task = policy.task
    tok_lp = policy.sequence_token_log_probs(theta)  # [M, N, L], 0 on padding
    if alignment == "sequence":
        return tok_lp.sum(-1)
    mask = task.mask.to(tok_lp.device).to(tok_lp.dtype)
    lengths = mask.sum(-1)  # [N]
    if alignment == "sampled":
        lse2 = torch.logsumexp(2.0 * policy.token_log_probs(theta), dim=-1)  # [M, P]: log Σ_v π(v|prefix)²
        tok_lp = tok_lp - lse2[:, task.prefix_ids.to(tok_lp.device)] * mask
    return tok_lp.sum(-1) / lengths


def wpo_pair_weights(log_w: torch.Tensor, *, clamp: bool = True) -> torch.Tensor:
    """W[q, i, j] = min(1, w(q, i) w(q, j)) (``clamp``, as the authors' code) or w(q, i) w(q, j): ``[M, N] → [M, N, N]``."""
    lw = _check_logp(log_w, "log_w")
    w = torch.exp(lw[:, :, None] + lw[:, None, :])
    return w.clamp(max=1.0) if clamp else w


def importance_pair_weights(target_probs, behaviour_probs) -> torch.Tensor:
    """W[q, i, j] = π(i|q)π(j|q) / (μ(i|q)μ(j|q)): the exact importance weight from μ-pairs to π-pairs, ``[M, N, N]``."""
    p = _check_logp(target_probs, "target_probs")
    m = _check_logp(behaviour_probs, "behaviour_probs")
    if (m <= 0).any():
        raise ValueError("behaviour_probs: must be > 0 everywhere (importance weights need full support)")
    r = p / m
    return r[:, :, None] * r[:, None, :]


def labelled_pair_distribution(behaviour_probs, bt: torch.Tensor, prompt_weights, weights: torch.Tensor | None = None,
                               ) -> torch.Tensor:
    """The (weighted, renormalised) law of the labelled triples (q, y_w, y_l): ``[M, N, N]``, summing to 1.

    ρ_q μ(y_w|q) μ(y_l|q) σ(r_w − r_l) W(q, y_w, y_l) / Z; with W = None it is D_μ itself (Z = 1).
    """
    m = _check_logp(behaviour_probs, "behaviour_probs")
    rho = as_tensor(prompt_weights, "prompt_weights")
    if rho.shape != (m.shape[0],):
        raise ValueError(f"prompt_weights: expected shape [{m.shape[0]}], got {tuple(rho.shape)}")
    if bt.shape != (m.shape[0], m.shape[1], m.shape[1]):
        raise ValueError(f"bt: expected shape {(m.shape[0], m.shape[1], m.shape[1])}, got {tuple(bt.shape)}")
    d = rho[:, None, None] * m[:, :, None] * m[:, None, :] * bt
    if weights is not None:
        if weights.shape != d.shape:
            raise ValueError(f"weights: expected shape {tuple(d.shape)}, got {tuple(weights.shape)}")
        d = d * weights
    z = d.sum()
    if not bool(z > 0):
        raise ValueError("weights: the weighted pair distribution has zero total mass")
    return d / z


def expected_preference_loss(policy: TabularSequencePolicy, theta: torch.Tensor, theta_ref, behaviour_probs,
                             beta: float, weights: torch.Tensor | None = None) -> torch.Tensor:
    """L(θ) = Σ_{q,w,l} D_μ(q,w,l) W(q,w,l) ℓ_θ(q,w,l) (unnormalised: W multiplies the loss), a scalar.

    ``behaviour_probs`` μ(y|q) ``[M, N]`` is data (held fixed); ``weights`` W ``[M, N, N]`` is held fixed (None = 1).
    """
    task = policy.task
    logp = policy.sequence_log_probs(theta)
    logp_ref = policy.sequence_log_probs(policy.check_params(theta_ref, "theta_ref")).detach()
    bt = bradley_terry_matrix(task.rewards)
    m = _check_logp(behaviour_probs, "behaviour_probs")
    rho = task.prompt_weights.to(m.dtype)
    d = rho[:, None, None] * m[:, :, None] * m[:, None, :] * bt
    if weights is not None:
        if weights.shape != d.shape:
            raise ValueError(f"weights: expected shape {tuple(d.shape)}, got {tuple(weights.shape)}")
        d = d * weights.detach()
    return (d * dpo_pair_losses(logp, logp_ref, beta)).sum()


def expected_preference_gradient(policy: TabularSequencePolicy, theta, theta_ref, behaviour_probs, beta: float,
                                 weights: torch.Tensor | None = None) -> torch.Tensor:
    """∇_θ of :func:`expected_preference_loss` (data law and weights held fixed), shape of θ ``[M, n_prefixes, V]``."""
    theta = policy.check_params(theta)
    with torch.enable_grad():
        th = theta.detach().requires_grad_(True)
        (g,) = torch.autograd.grad(expected_preference_loss(policy, th, theta_ref, behaviour_probs, beta, weights), th)
    return check_finite(g, "gradient")


def total_variation(p: torch.Tensor, q: torch.Tensor) -> float:
    """½ Σ |p − q| of two distributions of the same shape."""
    if p.shape != q.shape:
        raise ValueError(f"q: shape {tuple(q.shape)} differs from p's {tuple(p.shape)}")
    return float(0.5 * (p - q).abs().sum())
