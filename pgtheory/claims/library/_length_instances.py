r"""Toy LLM instances with a spread of response lengths, shared by the length/normalisation claims from practice.

Each instance is one prompt of a small :class:`~pgtheory.problems.SequenceTask` at one random θ, with everything an
exact expected-update computation needs: π_θ(·|q) ``[N]``, the per-token scores ∇_θ log π_θ(y_t) ``[N, L, D]``, the
rewards ``[N]``, the mask ``[N, L]``, ∇J_q and ∇E|y| (the gradient of the expected response length), all exact.

Tasks (three sizes, three length–reward relations):

* ``length_only(V=2,L=5)``: one non-EOS token, so a response is its length (1–5, 5 = truncated); prompt 0 rewards
  length 2, prompt 1 length 5.
* ``length_correlated(V=3,L=4)``: 31 responses; prompt 0 rewards long responses (length ≥ 3) starting with token 1,
  prompt 1 the single short response (2, EOS) — the reward–length correlation of pgtheory's L63 claim.
* ``toy_seq(V=4,L=3)``: 40 responses; :func:`pgtheory.problems.toy_sequence_task` with random answers (seeded).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ...exact import sequence_probs
from ...policies import TabularSequencePolicy
from ...problems import SequenceTask, toy_sequence_task

__all__ = ["LengthInstance", "length_tasks", "small_length_tasks", "length_instances", "stale_ratios", "cosine", "length_drift"]


@dataclass(frozen=True)
class LengthInstance:
    """One prompt q of a task at parameters θ: exact ingredients of a group update (see module docstring)."""

    name: str
    policy: TabularSequencePolicy
    prompt: int
    theta: torch.Tensor
    probs: torch.Tensor  # [N]
    scores: torch.Tensor  # [N, L, D]
    rewards: torch.Tensor  # [N]
    mask: torch.Tensor  # [N, L] bool
    grad_j: torch.Tensor  # [D]
    grad_len: torch.Tensor  # [D]

    @property
    def mean_length(self) -> float:
        return float((self.probs * self.policy.task.lengths).sum())

    @property
    def length_sd(self) -> float:
        L = self.policy.task.lengths.to(torch.float64)
        return float(((self.probs * (L - (self.probs * L).sum()) ** 2).sum()).sqrt())


def _length_only():
    return SequenceTask(2, 5, 2, lambda q, y: float(len(y) == (2 if q == 0 else 5)), name="length_only(V=2,L=5)")


def _length_correlated():
    return SequenceTask(3, 4, 2, lambda q, y: float(len(y) >= 3 and y[0] == 1) if q == 0 else float(tuple(y) == (2, 0)),
                        name="length_correlated(V=3,L=4)")


def length_tasks(seed: int) -> list[SequenceTask]:
    """The three tasks of the module docstring (the random answers of the third drawn from ``seed``)."""
    return [_length_only(), _length_correlated(), toy_sequence_task(4, 3, 2, seed=int(seed) % (2**31))]


def _token_scores(policy: TabularSequencePolicy, theta: torch.Tensor) -> torch.Tensor:
    """∇_θ log π_θ(y_t | q, y_<t) for every prompt, response and token: ``[M, N, L, D]``."""
    jac = torch.func.jacrev(policy.sequence_token_log_probs)(theta)  # [M, N, L, M, P, V]
    return jac.reshape(*jac.shape[:3], -1)


def small_length_tasks(seed: int) -> list[SequenceTask]:
    """Tasks with at most 15 responses, for batches of several groups (N^{BG} groups to enumerate): the length-only
    task, a V=3/L=3 length-correlated task (prompt 0 rewards length 3 starting with 1, prompt 1 the response (2, EOS))
    and a V=3/L=3 :func:`pgtheory.problems.toy_sequence_task` with random answers."""
    corr = SequenceTask(3, 3, 2, lambda q, y: float(len(y) == 3 and y[0] == 1) if q == 0 else float(tuple(y) == (2, 0)),
                        name="length_correlated(V=3,L=3)")
    return [_length_only(), corr, toy_sequence_task(3, 3, 2, seed=int(seed) % (2**31))]


def length_instances(seed: int, thetas_per_task: int, *, scale: float = 1.0, tasks=None) -> list[LengthInstance]:
    """Every prompt of every task (default :func:`length_tasks`) at ``thetas_per_task`` random θ (N(0, scale²) logits)."""
    gen = torch.Generator().manual_seed(int(seed))
    out = []
    for task in (length_tasks(seed) if tasks is None else tasks):
        pol = TabularSequencePolicy(task)
        lengths = task.lengths.to(torch.float64)
        for k in range(thetas_per_task):
            th = pol.random_params(generator=gen, scale=scale)
            probs = sequence_probs(pol, th)
            scores = _token_scores(pol, th)
            for q in range(task.n_prompts):
                p, S, R = probs[q], scores[q], task.rewards[q]
                seq_score = S.sum(1)  # ∇ log π(y) [N, D]
                out.append(LengthInstance(
                    name=f"{task.name}|q{q}|θ{k}", policy=pol, prompt=q, theta=th, probs=p, scores=S, rewards=R,
                    mask=task.mask, grad_j=((p * R)[:, None] * seq_score).sum(0),
                    grad_len=((p * lengths)[:, None] * seq_score).sum(0)))
    return out


def stale_ratios(inst: LengthInstance, delta: float, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """A stale sampler: θ_old = θ − δ·Z (Z standard normal). Returns π_old(·|q) ``[N]`` and the token ratios
    π_θ(y_t)/π_old(y_t) ``[N, L]`` (1 on padding), for an update at θ from data drawn under θ_old."""
    pol = inst.policy
    th_old = inst.theta - float(delta) * torch.randn(inst.theta.shape, generator=gen, dtype=torch.float64)
    lp = pol.sequence_token_log_probs(inst.theta)[inst.prompt]
    lo = pol.sequence_token_log_probs(th_old)[inst.prompt]
    return sequence_probs(pol, th_old)[inst.prompt], torch.exp(lp - lo)


def cosine(a: torch.Tensor, b: torch.Tensor) -> float:
    """cos(a, b); 0 when either is the zero vector."""
    den = float(a.norm() * b.norm())
    return float(a @ b) / den if den > 0 else 0.0


def length_drift(update: torch.Tensor, inst: LengthInstance) -> float:
    """⟨u, ∇E|y|⟩ / ⟨u, ∇J⟩ − ⟨∇J, ∇E|y|⟩ / ‖∇J‖²: the change of the expected length per unit gain of J along the
    update u, minus the same along the true gradient (0 for any u ∝ ∇J; > 0: the update lengthens responses more
    than the true gradient does for the same objective gain). NaN-free: 0 when ⟨u, ∇J⟩ = 0."""
    gj, gl = inst.grad_j, inst.grad_len
    num = float(update @ gj)
    if num == 0.0 or float(gj @ gj) == 0.0:
        return 0.0
    return float(update @ gl) / num - float(gj @ gl) / float(gj @ gj)


