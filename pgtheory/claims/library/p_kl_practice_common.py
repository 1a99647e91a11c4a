"""Shared design of the practice claims on KL placement (issue 20: trl #4967, trl #6503, NeMo-RL #2506): the family of
toy LLMs, the reference and stale policies, exact relative distances, and the Monte Carlo equivalence check of one
placement's per-sample gradient against its claimed target. Registers no claim.

Instances (declared 2026-12-01, before any run): toy sequence tasks (V, L, M) ∈ {(3,2,1), (3,3,1), (3,3,2), (4,3,1),
(3,4,1), (4,4,1)} — vocabularies with EOS, lengths up to L (so lengths spread from 1 to L), 1–2 prompts; θ ~ N(0, I);
π_ref logits θ + s·Δ (Δ ~ N(0, I), s the reference spread); a stale sampler π_old with logits θ + d·Δ' (d the
staleness). Each instance's generator is derived from the run seed and the instance's index.

Revision 2026-12-01 (multiplicity; referee of the paper draft; before the confirmatory run at seed 8): the Monte Carlo
equivalence interval of :func:`mc_equivalence` was at 0.999 (the protocol's old default) while its twins and the
sample-size planning (:func:`planned_n`) used the caller's α = 1e-6; now the caller passes the decision's share
α_d = ctx.alpha/k (k = the claim's interval/test decisions, counted by each claim) and the interval is at 1 − α_d,
the twins at α_d (the level of the decision they vouch for); the planning stays at min(α_d, PLANNING_ALPHA) = 1e-6,
so no planned sample shrank.
"""
from __future__ import annotations

import torch

from ...policies import TabularSequencePolicy
from ...problems import toy_sequence_task
from ...stats import bias_test, required_sample_size
from ..protocol import PLANNING_ALPHA, equivalence_verdict, twin

INSTANCE_SHAPES = ((3, 2, 1), (3, 3, 1), (3, 3, 2), (4, 3, 1), (3, 4, 1), (4, 4, 1))
MC_INSTANCE = 1  #: the Monte Carlo check runs on (V, L, M) = (3, 3, 1): 15 responses, 21 parameters (declared)


def make_instance(k: int, seed: int, spread: float, staleness: float):
    """(policy, θ, θ_ref, θ_old, label) of instance k: θ ~ N(0, I), θ_ref = θ + spread·Δ, θ_old = θ + staleness·Δ'."""
    V, L, M = INSTANCE_SHAPES[k]
    task = toy_sequence_task(V, L, M, seed=seed % (2**31) + k)
    pol = TabularSequencePolicy(task)
    g = torch.Generator().manual_seed(seed * 1000 + k)
    th = pol.random_params(generator=g)
    delta, delta_old = pol.random_params(generator=g), pol.random_params(generator=g)
    return pol, th, th + spread * delta, th + staleness * delta_old, f"V={V},L={L},M={M}"


def rel(a: torch.Tensor, b: torch.Tensor) -> float:
    """‖a − b‖ / ‖b‖ (‖a‖ when b = 0)."""
    nb = float(b.norm())
    return float((a - b).norm()) / nb if nb > 0 else float(a.norm())


def sample_per_response(per_response: torch.Tensor, probs: torch.Tensor, weights: torch.Tensor, n: int,
                        generator: torch.Generator) -> torch.Tensor:
    """n i.i.d. per-sample gradients: prompt q ∼ w, response y ∼ probs[q], row per_response[q, y]; ``[n, D]``."""
    q = torch.multinomial(weights, n, replacement=True, generator=generator)
    y = torch.multinomial(probs[q], 1, generator=generator)[:, 0]
    return per_response[q, y]


def exact_sd(per_response: torch.Tensor, probs: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Per-coordinate standard deviation of the per-sample gradient, exactly, ``[D]``."""
    p = (weights[:, None] * probs)[..., None]
    m = (p * per_response).sum((0, 1))
    return ((p * (per_response - m) ** 2).sum((0, 1))).clamp_min(0).sqrt()


def planned_n(margin: float, sd: torch.Tensor, alpha: float, cap: int) -> int:
    """Samples for power 0.99 to detect a bias of one margin on the noisiest coordinate (≤ cap); ``alpha``: the
    equivalence decision's share α_d (the level its near twin is tested at)."""
    s = float(sd.max())
    if s == 0:
        return 2
    return min(cap, required_sample_size(margin, s, alpha=min(alpha, PLANNING_ALPHA), power=0.99, n_tests=int(sd.numel())))


def mc_equivalence(samples: torch.Tensor, truth: torch.Tensor, margin: float, far_wrong: torch.Tensor, far_name: str,
                   alpha: float):
    """(verdict, Equivalence, bias-test result): samples [n, D] against truth [D]; near twin truth + margin·sign(truth)
    on every coordinate (a bias of exactly the margin), far twin ``far_wrong``. ``alpha``: the decision's share α_d of
    the claim's α — the simultaneous interval is at level 1 − α_d and both twins are tested (and powered) at α_d."""
    res = bias_test(samples, truth)
    near_wrong = truth + margin * torch.where(truth >= 0, 1.0, -1.0).to(truth)
    twins = [twin(f"target shifted by the margin ({margin:.3g}) on every coordinate", samples, truth, near_wrong,
                  near=True, alpha=alpha),
             twin(far_name, samples, truth, far_wrong, near=False, alpha=alpha)]
    verdict, eq = equivalence_verdict(res, margin, twins, confidence_level=1 - alpha)
    return verdict, eq, res

