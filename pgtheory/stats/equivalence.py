r"""Equivalence ("unbiased within a declared margin") and the twins that show a test has power.

"Not rejected" is not "unbiased". An unbiasedness (or equality) claim is confirmed only when

1. the simultaneous confidence interval for the bias lies inside a margin declared before running,
   ``bias_bound ≤ margin`` (:meth:`~pgtheory.stats.BiasTestResult.bias_bound`), and
2. at least one **near** twin — the same test against a target off by a bias of practical size (e.g. 1% of
   the target, or the O(1/G) bias of a plausible mistake) — is powered (power ≥ 0.99 to detect it, checked
   before looking) and rejected, and no powered twin is accepted.

:func:`equivalence` turns a :class:`~pgtheory.stats.BiasTestResult` and the twins' outcomes into one
record, :class:`Equivalence`, which the claim protocol stores and checks. Where the estimator's expectation itself is
computable (every group or sequence enumerable), :func:`exact_equivalence` makes the same record without sampling: the
bias bound is the exact bias plus a stated round-off allowance (confidence level 1), and a twin is rejected when its
wrong target lies farther from the exact expectation than that bound (every exact twin is powered).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

__all__ = ["Twin", "TwinSummary", "Equivalence", "equivalence", "exact_equivalence", "summarise_twins"]


@dataclass(frozen=True)
class Twin:
    """One twin: ``rejected`` is True/False when the twin was powered, None when it was not (not counted)."""

    name: str
    near: bool
    rejected: bool | None
    offset: float | None = None  #: max |truth − wrong|, the size of the bias the twin plants (None: not recorded)


@dataclass(frozen=True)
class TwinSummary:
    """The twins of one equivalence statement; the counts are derived from them."""

    twins: tuple[Twin, ...] = field(default=())

    @property
    def count(self) -> int:
        return len(self.twins)

    @property
    def powered(self) -> int:
        return sum(t.rejected is not None for t in self.twins)

    @property
    def rejected(self) -> int:
        return sum(bool(t.rejected) for t in self.twins)

    @property
    def near_powered(self) -> int:
        return sum(t.near and t.rejected is not None for t in self.twins)

    @property
    def near_rejected(self) -> int:
        return sum(t.near and bool(t.rejected) for t in self.twins)

    @property
    def adequate(self) -> bool:
        """At least one powered near twin, and every powered twin rejected."""
        return self.near_powered >= 1 and self.near_rejected >= 1 and self.rejected == self.powered

    def to_dict(self) -> dict:
        return {"count": self.count, "powered": self.powered, "rejected": self.rejected,
                "near_powered": self.near_powered, "near_rejected": self.near_rejected,
                "each": [{"name": t.name, "near": t.near, "rejected": t.rejected, "offset": t.offset} for t in self.twins]}


def summarise_twins(twins: Iterable[Twin], margin: float | None = None) -> TwinSummary:
    """Count the twins; with a ``margin``, a twin counts as *near* only if its planted bias is at most 2·margin (a
    twin labelled near but planting a larger bias is counted as far — the label is checked, not trusted)."""
    ts = tuple(twins)
    if margin is not None:
        ts = tuple(Twin(t.name, t.near and (t.offset is None or t.offset <= 2 * margin), t.rejected, t.offset) for t in ts)
    for t in ts:
        if not isinstance(t, Twin):
            raise TypeError(f"twins: expected Twin records, got {type(t).__name__}")
    return TwinSummary(ts)


@dataclass(frozen=True)
class Equivalence:
    """An equivalence statement: |bias| ≤ ``bias_bound`` at ``confidence_level``, against ``margin``."""

    margin: float
    bias_bound: float
    confidence_level: float
    norm: str
    twins: TwinSummary
    exact_bias: float | None = None  #: set by :func:`exact_equivalence`: max |E ĝ − g| computed without sampling
    round_off: float | None = None  #: with ``exact_bias``: the stated floating-point allowance

    @property
    def exact(self) -> bool:
        """True for a record made from an exact expectation (:func:`exact_equivalence`)."""
        return self.exact_bias is not None

    @property
    def bias_detected(self) -> bool:
        """Exact records only: the exact bias exceeds the round-off allowance — a bias detected with certainty (the
        protocol then qualifies a claim inside the margin and refutes it beyond, as for a sampled bias test)."""
        return self.exact and self.exact_bias > self.round_off

    @property
    def within_margin(self) -> bool:
        return self.bias_bound <= self.margin

    @property
    def confirmed(self) -> bool:
        """Inside the margin *and* the test shown to have power by its twins."""
        return self.within_margin and self.twins.adequate

    def to_dict(self) -> dict:
        out = {"margin": self.margin, "bias_bound": self.bias_bound, "confidence_level": self.confidence_level,
               "norm": self.norm, "within_margin": self.within_margin, "twins": self.twins.to_dict()}
        if self.exact:
            out.update(exact=True, exact_bias=self.exact_bias, round_off=self.round_off, bias_detected=self.bias_detected)
        return out


def equivalence(result, margin: float, twins: Iterable[Twin], *, confidence_level: float = 0.999,
                norm: str = "max") -> Equivalence:
    """Equivalence record from a :class:`~pgtheory.stats.BiasTestResult`, a declared ``margin`` and the twins."""
    from .tests import BiasTestResult

    if not isinstance(result, BiasTestResult):
        raise TypeError(f"result: expected a BiasTestResult, got {type(result).__name__}")
    if not (isinstance(margin, (int, float)) and margin > 0 and margin < float("inf")):
        raise ValueError(f"margin: must be a positive finite number declared before running, got {margin!r}")
    return Equivalence(float(margin), result.bias_bound(confidence_level, norm), confidence_level, norm,
                       summarise_twins(twins, float(margin)))


def exact_equivalence(expectation, truth, margin: float, twins, *, round_off: float) -> Equivalence:
    """Equivalence record from an *exact* expectation of the estimator (no sampling): ``bias_bound`` = max |E ĝ − g|
    + ``round_off`` (the floating-point allowance of the enumeration, stated by the caller), confidence level 1; the
    record keeps ``exact_bias`` and ``round_off``, and an exact bias above the allowance is a detected bias
    (:attr:`Equivalence.bias_detected`; a pre-run audit, 2026-12-02: a bias measured exactly below the margin must
    qualify, not confirm, as a sampled bias test that rejects does).

    ``twins``: ``(name, wrong, near)`` triples, ``wrong`` a target (a number off by a planted bias) or the exact
    expectation of a mutant estimator run through the same enumeration; each is rejected when it lies farther from
    the exact expectation than the bias bound (exact twins are always powered), and is *near* only if its planted bias
    max |g − wrong| is at most 2·margin (as for :func:`equivalence`). Arrays of one shape throughout.
    """
    import numpy as np

    if not (isinstance(margin, (int, float)) and 0 < margin < float("inf")):
        raise ValueError(f"margin: must be a positive finite number declared before running, got {margin!r}")
    if not (isinstance(round_off, (int, float)) and 0 <= round_off < margin):
        raise ValueError(f"round_off: must be a non-negative allowance below the margin, got {round_off!r}")
    e = np.asarray(expectation, dtype=float).ravel()
    g = np.asarray(truth, dtype=float).ravel()
    if e.shape != g.shape or e.size == 0:
        raise ValueError(f"expectation, truth: expected equal non-empty shapes, got {np.shape(expectation)} and {np.shape(truth)}")
    if not (np.all(np.isfinite(e)) and np.all(np.isfinite(g))):
        raise ValueError("expectation, truth: must be finite")
    bound = float(np.abs(e - g).max()) + float(round_off)
    out = []
    for name, wrong, near in twins:
        w = np.asarray(wrong, dtype=float).ravel()
        if w.shape != g.shape:
            raise ValueError(f"twins: {name!r}'s wrong target has shape {np.shape(wrong)}, expected {g.shape}")
        out.append(Twin(str(name), bool(near), bool(np.abs(e - w).max() > bound), float(np.abs(g - w).max())))
    return Equivalence(float(margin), bound, 1.0, "max", summarise_twins(out, float(margin)),
                       exact_bias=bound - float(round_off), round_off=float(round_off))
