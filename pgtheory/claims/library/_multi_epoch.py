r"""Shared harness for the multi-epoch LLM-style claims (GSPO, GMPO, SPO, ASPO): one batch of groups drawn from
π_old, several epochs of mini-batch Adam steps on a token surrogate, exact statistics after every epoch.

Fixed design (before any run): toy LLM with EOS, V = 4, L = 4, M = 4 prompts (121 responses), binary reward with a
random quarter of each prompt's responses correct; θ_old ~ N(0, I); a batch of B = 64 groups of G = 8; GRPO
advantages; seq-mean-token-mean aggregation; 8 epochs × 4 mini-batches of 16 groups; Adam, lr 0.05.

Revisions (2026-12-02, before any seed-21 record of a claim using this harness was read; judged from the next
confirmatory run on): (a) the mini-batch order of a run seeded ``s`` is drawn from :func:`pgtheory._seeds.second_stream_seed`
``(s)`` = s + 2³¹, no longer from ``s + 1``, which is the next replicate's θ_old and batch stream (replicates were not
independent; a first draft's s + 2³² was found by a pre-run audit the same day to be the stream of s itself: torch keeps
the seed's low 32 bits);
(b) matched-progress comparisons read levels only between a run's epochs 1…E (:func:`frontier_after_first_epoch`),
no longer interpolating from the start (progress 0, side effect 0): below the first epoch that made every smallest
level one measurement rescaled linearly, which favours the run whose first epoch went further whenever the side effect
grows sub-linearly in the progress (a ratio range grows like √KL); L41 already read its levels this way (re-applied
to the stored seed-20 arrays, a pre-run audit: L197's ratio clause confirmed → inconclusive, L103 at ε 0.2 qualified →
inconclusive, L129 loses J 0.01 — the old reading's smallest levels were one first-epoch measurement rescaled); (c) the
lr-swept matched comparisons (L197, L103, L129) give each replicate its own task (:func:`task_family`: its own random
quarter of correct responses), so their replicates are a family of instances, not paired batches of one task, and each
record counts on how many replicates the comparison went the confirming way (:func:`replicates_lower`).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from ...estimators import aggregation_weights, group_advantages, token_surrogate_values
from ..._seeds import second_stream_seed
from ...exact import sequence_entropy, sequence_kl, sequence_objective
from ...policies import TabularSequencePolicy
from ...problems import SequenceTask
from ...sampling import sample_sequence_groups
from ...stats import frontier_at_progress

B, G, EPOCHS, MINIBATCHES, LR = 64, 8, 8, 4, 0.05


def llm_task(seed: int) -> SequenceTask:
    """V = 4, L = 4, M = 4; a random quarter of each prompt's 121 responses is correct (binary reward)."""
    rng = np.random.default_rng(10_000 + seed)
    correct: dict = {}

    def reward(q, y):
        key = (q, tuple(y))
        if key not in correct:
            correct[key] = float(rng.uniform() < 0.25)
        return correct[key]

    return SequenceTask(4, 4, 4, reward, name="llm_toy(V=4,L=4,M=4)")


def task_family(seed: int, n: int) -> list[SequenceTask]:
    """``n`` tasks of the :func:`llm_task` kind, one per replicate: task k = ``llm_task(seed · 1000 + k)``. For a run seed
    ≥ 1 and n ≤ 1000 these task seeds lie in [1000·seed, 1000·seed + 999], never a run seed below 1000 (so never the
    single task ``llm_task(run seed)`` a claim uses elsewhere). Replicate k of every claim built on this harness has
    the same task and θ_old: such claims are not independent corroboration of one another."""
    return [llm_task(seed * 1000 + k) for k in range(n)]


def _task_of(task, k: int) -> SequenceTask:
    """Replicate k's task: ``task`` itself, or ``task[k]`` when a family (a sequence, one task per replicate) is given."""
    if isinstance(task, SequenceTask):
        return task
    if k >= len(task):
        raise ValueError(f"task: a family of {len(task)} tasks has none for replicate {k}")
    return task[k]


@dataclass
class EpochTrace:
    """Per-epoch statistics of one multi-epoch run (epoch 0 = before any update)."""

    token_log_ratios: list = field(default_factory=list)  #: log r_t of every real token of the batch, per epoch
    seq_log_ratios: list = field(default_factory=list)  #: log π_k(y)/π_old(y) per response, per epoch
    seq_mean_log_ratios: list = field(default_factory=list)  #: (1/|y|) log π_k(y)/π_old(y): log of GSPO's s, per epoch
    kl: list = field(default_factory=list)  #: exact mean_q KL(π_old ‖ π_k)
    objective: list = field(default_factory=list)  #: exact J(π_k)
    entropy: list = field(default_factory=list)  #: exact mean_q H(π_k(·|q))
    theta: list = field(default_factory=list)


def run_multi_epoch(task: SequenceTask, surrogate: str, seed: int, *, lr: float = LR, **hp) -> EpochTrace:
    pol = TabularSequencePolicy(task)
    g = torch.Generator().manual_seed(seed)
    th_old = pol.random_params(generator=g)
    batch = sample_sequence_groups(pol, th_old, B, G, g)
    adv = group_advantages(batch.rewards, "grpo")
    lo = batch.token_log_target
    w = aggregation_weights(batch.mask, "seq_mean_token_mean")
    th = th_old.clone().requires_grad_(True)
    opt = torch.optim.Adam([th], lr=lr)
    trace = EpochTrace()
    rows = batch.prompts[:, None].expand(B, G)

    def record():
        with torch.no_grad():
            lp = pol.sequence_token_log_probs(th)[rows, batch.index]
            lr = (lp - lo) * batch.mask
            trace.token_log_ratios.append(lr[batch.mask].numpy().copy())
            trace.seq_log_ratios.append(lr.sum(-1).reshape(-1).numpy().copy())
            trace.seq_mean_log_ratios.append((lr.sum(-1) / batch.mask.sum(-1)).reshape(-1).numpy().copy())
            trace.kl.append(float(sequence_kl(pol, th_old, th).mean()))
            trace.objective.append(float(sequence_objective(pol, th)))
            trace.entropy.append(float(sequence_entropy(pol, th).mean()))
            trace.theta.append(th.detach().clone())

    record()
    perm_g = torch.Generator().manual_seed(second_stream_seed(seed))
    for _ in range(EPOCHS):
        order = torch.randperm(B, generator=perm_g)
        for mb in order.chunk(MINIBATCHES):
            lp = pol.sequence_token_log_probs(th)[rows[mb], batch.index[mb]]
            vals = token_surrogate_values(surrogate, lp, lo[mb], adv[mb], batch.mask[mb], **hp)
            loss = -(w[mb] * vals).sum() / len(mb)
            opt.zero_grad()
            loss.backward()
            opt.step()
        record()
    return trace


def runs(task, surrogates: tuple[str, ...], seeds: int, base_seed: int, *, lr: float = LR,
         **hp) -> dict[str, list[EpochTrace]]:
    """The same ``seeds`` batches (θ_old, samples) trained with each surrogate: paired across surrogates. ``task``: one
    :class:`SequenceTask` for every replicate, or a family (:func:`task_family`), replicate k on ``task[k]``."""
    return {s: [run_multi_epoch(_task_of(task, k), s, base_seed * 1000 + k, lr=lr, **hp) for k in range(seeds)]
            for s in surrogates}


def lr_sweep(task, surrogate: str, seeds: int, base_seed: int, lrs: tuple[float, ...], **hp) -> list[list[EpochTrace]]:
    """``[seed][lr]`` traces: each seed's batch trained at every learning rate (paired across surrogates by seed).
    ``task``: one :class:`SequenceTask` for every replicate, or a family (:func:`task_family`), replicate k on ``task[k]``."""
    return [[run_multi_epoch(_task_of(task, k), surrogate, base_seed * 1000 + k, lr=lr, **hp) for lr in lrs]
            for k in range(seeds)]


def replicates_lower(a_front, b_front, *, skip_zero_ties: bool = False) -> list[bool]:
    """Per replicate (row of two ``[R, L]`` frontiers, as :func:`frontier_after_first_epoch` gives) that reached at least
    one level with both methods: True when a < b at every level both reached. Replicates that reached none are left out
    (unchecked, not failed). ``skip_zero_ties``: also leave out a replicate's levels where both are exactly 0 (a
    quantity that neither method moved, e.g. no ratio outside a band). This is a descriptive, per-instance reading of
    the sign — the verdict rests on the paired intervals over the replicates, a different rule — and records say so
    beside the count."""
    a, b = np.asarray(a_front, dtype=float), np.asarray(b_front, dtype=float)
    if a.shape != b.shape or a.ndim != 2:
        raise ValueError(f"a_front, b_front: expected two equal [R, L] arrays, got {a.shape} and {b.shape}")
    both = np.isfinite(a) & np.isfinite(b)
    if skip_zero_ties:
        both &= ~((a == 0) & (b == 0))
    return [bool(np.all(a[r][both[r]] < b[r][both[r]])) for r in range(a.shape[0]) if both[r].any()]


def progress_arrays(sweep: list[list[EpochTrace]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(kl, ratio_range, J gained)`` as ``[R, C, epochs + 1]`` arrays from an :func:`lr_sweep` (epoch 0 = the start:
    KL 0, range 0, J gained 0)."""
    kl = np.array([[t.kl for t in row] for row in sweep])
    kl[..., 0] = 0.0  # exactly: KL(π_old ‖ π_old) (enumeration leaves round-off of order 1e-17)
    rr = token_ratio_arrays(sweep, lambda v: np.abs(v).max())
    dj = np.array([[np.array(t.objective) - t.objective[0] for t in row] for row in sweep])
    return kl, rr, dj


def frontier_after_first_epoch(progress, value, levels, **kw) -> np.ndarray:
    """:func:`pgtheory.stats.frontier_at_progress` of ``[R, C, epochs + 1]`` arrays read between epochs 1…E only: a
    level below a run's first-epoch progress is not reached by that run (NaN), so it is matched only by learning rates
    whose runs pass it after a measured epoch, never by one measurement rescaled from the start. ``→ [R, L]``."""
    p, v = np.asarray(progress, dtype=float), np.asarray(value, dtype=float)
    if p.ndim != 3 or p.shape != v.shape or p.shape[-1] < 2:
        raise ValueError(f"progress, value: expected equal [R, C, epochs + 1] shapes with epochs ≥ 1, got {p.shape} and {v.shape}")
    return frontier_at_progress(p[..., 1:], v[..., 1:], levels, **kw)


def median_over_runs(front) -> np.ndarray:
    """``[R, L]`` → ``[L]``: the median over the runs that reached each level (NaN, silently, where none did — a level a
    quick run does not reach is drawn as a gap)."""
    f = np.asarray(front, dtype=float)
    out = np.full(f.shape[1], np.nan)
    ok = np.isfinite(f).any(0)
    out[ok] = np.nanmedian(f[:, ok], 0)
    return out


def token_ratio_arrays(sweep: list[list[EpochTrace]], statistic) -> np.ndarray:
    """``statistic(log r_t of the batch's tokens)`` after every epoch of an :func:`lr_sweep`: ``[R, C, epochs + 1]``."""
    return np.array([[[float(statistic(v)) for v in t.token_log_ratios] for t in row] for row in sweep])


def ratio_range(trace: EpochTrace, epoch: int = -1) -> float:
    """max_t |log r_t| over the batch after an epoch."""
    return float(np.abs(trace.token_log_ratios[epoch]).max())


def plot_ratio_distributions(ax, traces: dict[str, list[EpochTrace]], epoch: int = -1) -> None:
    """Histogram of log r_t after ``epoch`` (pooled over seeds), one line per surrogate."""
    allv = np.concatenate([np.concatenate([t.token_log_ratios[epoch] for t in ts]) for ts in traces.values()])
    bins = np.linspace(np.quantile(allv, 0.0005), np.quantile(allv, 0.9995), 80)
    for i, (name, ts) in enumerate(traces.items()):
        v = np.concatenate([t.token_log_ratios[epoch] for t in ts])
        h, e = np.histogram(v, bins=bins, density=True)
        ax.step(e[:-1], h, where="post", color=f"C{i}", label=name)
    ax.set_yscale("log")
    ax.set_xlabel(f"token log-ratio log π_θ/π_old after {len(next(iter(traces.values()))[0].kl) - 1} epochs")
    ax.set_ylabel("density (pooled over seeds)")
    ax.legend(fontsize=6)


def plot_epoch_metric(ax, series: dict[str, np.ndarray], ylabel: str) -> None:
    """Median over seeds (band: min–max) of an exact per-epoch metric, one line per label: ``series`` maps a label to
    its values ``[seeds, epochs]`` (e.g. the stored ``[t.entropy for t in traces]``)."""
    for i, (name, v) in enumerate(series.items()):
        v = np.asarray(v)
        x = np.arange(v.shape[1])
        ax.plot(x, np.median(v, 0), "o-", ms=3, color=f"C{i}", label=f"{name} (median of {len(v)} seeds)")
        ax.fill_between(x, v.min(0), v.max(0), color=f"C{i}", alpha=0.2)
    ax.set_xlabel("epoch over the same batch")
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=6)


def describe_matched(points, prefix: str = "KL ", digits: int = 3) -> str:
    """'KL 0.01: −0.022 [−0.075, +0.031] (n=6), …' for the points of :func:`pgtheory.stats.matched_comparison`.

    ``digits`` decimals, or two significant digits where the interval's largest end would round to 0 at that many
    (a referee of the seed-22 ledger, finding 6: L129's only significant difference, −1.4e-4 [−1.9e-4, −1.0e-4],
    printed as "−0.000 [−0.000, −0.000]"). An interval end that would round to 0 but is not 0 keeps two significant
    digits, so an interval that excludes 0 never reads as touching it (seed-24 referee F5: L197's +0.00016 printed as
    "+0.00")."""
    def fmt(p) -> str:
        lo, hi, x = p.diff.low, p.diff.high, p.diff.statistic
        f = f"+.{digits}f" if max(abs(lo), abs(hi), abs(x)) >= 0.5 * 10 ** -digits else "+.2g"

        def end(v: float) -> str:
            return f"{v:+.2g}" if f != "+.2g" and v != 0 and abs(v) < 0.5 * 10 ** -digits else f"{v:{f}}"
        return f"{x:{f}} [{end(lo)}, {end(hi)}] (n={p.n_pairs})"
    return ", ".join(f"{prefix}{p.level:g}: " + ("not reached" if p.diff is None else fmt(p)) for p in points)


def mean_matched_difference(points) -> float:
    """The mean of the matched points' paired differences over the levels reached (NaN when none was): a record's
    ``statistic`` for a matched comparison."""
    return float(np.nanmean([p.diff.statistic for p in points if p.diff is not None] or [np.nan]))


def matched_records(points) -> list[dict]:
    """The points of :func:`pgtheory.stats.matched_comparison` as JSON-safe dicts for a record's ``details``."""
    return [{"level": p.level, "n_pairs": p.n_pairs, "diff": None if p.diff is None else p.diff._asdict()} for p in points]


def matched_arrays(points) -> dict[str, np.ndarray]:
    """The points of :func:`pgtheory.stats.matched_comparison` as arrays to store (NaN where a level was not reached)."""
    nan = float("nan")
    return {"level": np.array([p.level for p in points]),
            "statistic": np.array([nan if p.diff is None else p.diff.statistic for p in points]),
            "low": np.array([nan if p.diff is None else p.diff.low for p in points]),
            "high": np.array([nan if p.diff is None else p.diff.high for p in points])}


def plot_matched(ax, d: dict, **style) -> None:
    """The paired differences at the levels reached (stored :func:`matched_arrays`), with their intervals, on ``ax``."""
    ok = ~np.isnan(np.asarray(d["statistic"], dtype=float))
    st, lo, hi = (np.asarray(d[k], dtype=float)[ok] for k in ("statistic", "low", "high"))
    ax.errorbar(np.asarray(d["level"], dtype=float)[ok], st, yerr=[st - lo, hi - st], fmt="o-", ms=3, capsize=2, **style)
