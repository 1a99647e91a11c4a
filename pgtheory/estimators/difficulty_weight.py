r"""The per-question weight a group advantage puts on the policy gradient of a binary-reward question.

With G i.i.d. responses, binary rewards R_i ∈ {0, 1} of success probability p(θ), and an advantage A_i that depends on
the group only through its rewards (symmetric in the others), the expected update Σ_i E[A_i ∇log π(y_i)]/G equals

.. math:: \mathbb E\,\hat g = w_G(p)\,\nabla p,\qquad w_G(p) = \mathbb E[A_1 \mid R_1 = 1] - \mathbb E[A_1 \mid R_1 = 0],

because E[∇log π(y) 1{R = 1}] = ∇p = −E[∇log π(y) 1{R = 0}] and, given R_1, A_1 depends only on the other G − 1
rewards, K ∼ Binomial(G − 1, p). So the question's gradient ∇J_q = ∇p is scaled by w_G(p): for RLOO w = 1, for
R − R̄ (Dr. GRPO) w = 1 − 1/G (constant: unbiased up to scale), and for GRPO's (R − R̄)/(std + ε) a function of p —
the question-level difficulty weighting (Dr. GRPO, §3.1). :func:`difficulty_weight` evaluates w_G(p) exactly by the
sum over K; any advantage of :func:`pgtheory.estimators.group_advantages` can be passed by name and keywords.

Population vs Bessel std: std_B = std_P·sqrt(G/(G − 1)) for every group, so with ε = 0 the two GRPO weights differ by
the constant factor sqrt((G − 1)/G) (0.71 at G = 2, 0.97 at G = 16): the same difficulty profile, a different step.
"""
from __future__ import annotations

import math

import torch

from .._checks import as_tensor, check_positive_int
from .group import group_advantages

__all__ = ["difficulty_weight"]


def difficulty_weight(p, group_size: int, advantage: str = "grpo", **kwargs) -> torch.Tensor:
    """w_G(p) of the module docstring for success probabilities ``p [...]`` (each in [0, 1]) → ``[...]``.

    ``advantage`` and ``kwargs`` name a group advantage (e.g. ``"grpo", std="population", eps=1e-6``); G ≥ 2.
    """
    p = as_tensor(p, "p")
    if bool(((p < 0) | (p > 1)).any()):
        raise ValueError("p: success probabilities must lie in [0, 1]")
    G = check_positive_int(group_size, "group_size", minimum=2)
    k = torch.arange(G, dtype=torch.float64)  # successes among the other G − 1
    others = (torch.arange(G - 1)[None, :] < k[:, None]).to(torch.float64)  # [G, G−1]
    diff = torch.zeros(G, dtype=torch.float64)
    for r in (1.0, 0.0):
        R = torch.cat([torch.full((G, 1), r, dtype=torch.float64), others], -1)  # [G (values of K), G]
        a1 = group_advantages(R, advantage, **kwargs)[:, 0]
        diff = diff + (a1 if r == 1.0 else -a1)
    binom = torch.tensor([math.comb(G - 1, int(j)) for j in k], dtype=torch.float64)
    pk = binom * p[..., None] ** k * (1 - p[..., None]) ** (G - 1 - k)  # [..., G]
    return (pk * diff).sum(-1)
