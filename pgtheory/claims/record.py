"""Claim records: a paper's quoted claim, the test fixed before running, and the evidence a run returns."""
from __future__ import annotations

import re

from dataclasses import dataclass, field
from typing import Any, Callable

from ..stats import Equivalence, ReplicationSummary, replication_summary

__all__ = ["VERDICTS", "KINDS", "READINGS", "UNDECIDED_READINGS", "Claim", "DeclaredMargin", "Evidence", "RunContext",
           "sweep_point", "clause"]

VERDICTS = ("confirmed", "refuted", "qualified", "inconclusive")
KINDS = ("identity", "theorem", "empirical", "asymptotic")
#: how a claim's rule reads its quoted sentence (required of every claim since 2026-12-01; see the protocol's rule 2):
#: "as-written" — the sentence's own criterion, on a case the sentence is about; "our-criterion" — the paper's criterion,
#: definition or conditions could not be read and the rule uses ours; "stand-in" — the sentence is about another class
#: of problems than the one tested; "no-result" — the sentence asserts no checkable result; "by-construction" — the
#: sentence holds by definition or algebra (kind identity, and only it)
READINGS = ("as-written", "our-criterion", "stand-in", "no-result", "by-construction")
#: readings under which the evidence cannot decide the quoted sentence: its quote verdict is inconclusive
UNDECIDED_READINGS = ("our-criterion", "stand-in", "no-result")


@dataclass(frozen=True)
class RunContext:
    """What a claim's run function receives: the scale's settings, a seed, a device, and where to draw."""

    scale: str
    settings: dict[str, Any]
    seed: int  #: the run seed: the user's seed plus the scale's base (quick and full seeds are disjoint)
    device: str
    figure_dir: str
    alpha: float = 1e-3  #: this claim's share of the ledger's family-wise error rate
    #: the counterexamples earlier runs found (``Claim.counterexamples``): the run re-checks each and returns the
    #: outcomes as ``Evidence.rechecked`` (the protocol refuses a record that skips one)
    counterexamples: tuple = ()
    #: how :meth:`map` runs shards: None for a plain loop in this process; the Ray backend passes one that runs each
    #: shard as a Ray task (``mapper(fn, items) -> results in order``)
    mapper: Callable[[Callable[[Any], Any], list], list] | None = field(default=None, repr=False, compare=False)

    def map(self, fn: Callable[[Any], Any], items) -> list:
        """``[fn(x) for x in items]`` — the claim's independent shards (instances, seeds, sweep points) — in order.

        Locally a plain loop; under ``pgtheory check --backend ray`` each shard runs as a Ray task. ``fn`` must be a
        module-level function (picklable) and every random number it draws must derive from its item (an instance
        seed, not a shared generator), so that the results do not depend on where or in which order shards ran.
        """
        items = list(items)
        if self.mapper is None or len(items) < 2:
            return [fn(x) for x in items]
        out = list(self.mapper(fn, items))
        if len(out) != len(items):
            raise RuntimeError(f"mapper: returned {len(out)} results for {len(items)} shards")
        return out


def _count(instances: Any) -> int | None:
    """The instance count of a sweep point: an int, or a dict/summary with ``count``; None when absent or malformed."""
    n = instances.get("count") if isinstance(instances, dict) else getattr(instances, "count", instances)
    return n if isinstance(n, int) and not isinstance(n, bool) and n >= 0 else None


def sweep_point(constant: str, value: Any, verdict: str, *, instances: Any, stratum: bool = False,
                **measured: Any) -> dict[str, Any]:
    """One point of a sensitivity sweep: the verdict the claim's rule gives at ``constant = value``; for a claim with an
    extension, pass the quoted sentence's verdict at that point as ``quote_verdict`` (the protocol reads it).

    ``instances``: on how many instances the point's verdict rests, in the unit of the claim's main
    ``Evidence.instances`` count (an int ≥ 0 — 0 when the setting left nothing to judge, e.g. no over-optimised
    instance — or a dict with ``count``). Required since 2026-12-01 (a referee of the
    seed-10 ledger: the same-instances rule was enforced only for points that happened to use this key; L37-direct's
    sweep ran on one of its three judged instances unnoticed). ``stratum``: the point is the main rule read on the
    main verdict's instances whose constant *is* ``value`` (the constant is a property of the instance: its size, its
    group size, its discount; or a cell of the main design grid, crossed with every instance in the main run), not a
    re-run at another value; its count is that stratum's, and it is no subset."""
    if verdict not in VERDICTS:
        raise ValueError(f"verdict: expected one of {VERDICTS}, got {verdict!r}")
    n = _count(instances)
    if n is None:
        raise ValueError(f"instances: sweep point {constant} = {value!r} must state on how many instances its verdict "
                         f"rests (an int >= 0), got {instances!r}")
    stray = [k for k in measured if re.match(r"quote(_|$)", k) and k != "quote_verdict"]
    if stray:
        # 2026-12-01: L127 stored its quote verdict as ``quote`` and L121 as ``quote_rule``, which the protocol never read
        raise ValueError(f"{stray[0]}: pass the quoted sentence's verdict at a sweep point as quote_verdict= (the "
                         "protocol reads that key)")
    if measured.get("quote_verdict") not in (None, *VERDICTS):
        raise ValueError(f"quote_verdict: expected one of {VERDICTS}, got {measured['quote_verdict']!r}")
    return {"constant": constant, "value": value, "verdict": verdict, "instances": n, **({"stratum": True} if stratum else {}),
            **measured}


def clause(text: str, verdict: str, reading: str = "as-written", **measured: Any) -> dict[str, Any]:
    """One clause of a quoted sentence that asserts several things, with the verdict the evidence gives it and how the
    rule reads it (:data:`READINGS`). A claim that returns ``Evidence.clauses`` has its quote verdict derived from them
    by one rule (:func:`pgtheory.claims.protocol.quote_verdict_from_clauses`)."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError("text: a clause quotes the part of the sentence it is")
    if verdict not in VERDICTS:
        raise ValueError(f"verdict: expected one of {VERDICTS}, got {verdict!r}")
    if reading not in READINGS or reading == "by-construction":
        raise ValueError(f"reading: a clause is read one of {[r for r in READINGS if r != 'by-construction']}, "
                         f"got {reading!r} (a clause that holds by construction is a code check, not a clause)")
    return {"text": text, "verdict": verdict, "reading": reading, **measured}


@dataclass
class Evidence:
    """What a run returns: the raw verdict, the numbers behind it (JSON-serialisable) and the protocol's evidence.

    ``instances``: on how many instances the rule was checked and held (a bool, a list of bools, or a
    :class:`~pgtheory.stats.ReplicationSummary`; one bool = one instance). ``sensitivity``: the sweep of
    declared design constants (:func:`sweep_point` records; empty when nothing was swept).
    ``equivalence``: the margin, bias bound and twins of an unbiasedness/equality claim. ``quote_verdict``: for a
    claim whose rule extends its quote, the verdict of the part that tests the quoted sentence itself (a refutation
    there stands; a failure of the extension only qualifies). ``code_checks``: failures of checks of pgtheory's own
    code run inside the claim (identities used as sanity checks) — a bug to fix, never evidence about the paper.
    ``measurements``: what the figure is drawn from (arrays and scalars, see :mod:`pgtheory.claims.measurements`);
    a claim with ``Claim.draw`` returns them instead of a figure, and the runner stores them and draws from the store.
    """

    verdict: str
    statistic: float
    threshold: str
    n_samples: int
    summary: str
    details: dict[str, Any] = field(default_factory=dict)
    figure: str | None = None
    instances: ReplicationSummary | None = None
    sensitivity: list[dict[str, Any]] | None = None
    equivalence: Equivalence | None = None
    quote_verdict: str | None = None
    code_checks: list[str] | None = None
    measurements: dict[str, Any] | None = None
    #: the quoted sentence's clauses (:func:`clause`) when it asserts several things; the protocol derives the quote
    #: verdict from them
    clauses: list[dict[str, Any]] | None = None
    #: the re-check of every counterexample the claim declares (``Claim.counterexamples``): ``{"instance": spec,
    #: "holds": bool, ...}`` each, in the claim's order
    rechecked: list[dict[str, Any]] | None = None

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict: expected one of {VERDICTS}, got {self.verdict!r}")
        if self.quote_verdict is not None and self.quote_verdict not in VERDICTS:
            raise ValueError(f"quote_verdict: expected one of {VERDICTS} or None, got {self.quote_verdict!r}")
        if isinstance(self.instances, bool):
            self.instances = replication_summary([self.instances])
        elif self.instances is not None and not isinstance(self.instances, ReplicationSummary):
            self.instances = replication_summary(list(self.instances))
        if self.equivalence is not None and not isinstance(self.equivalence, Equivalence):
            raise TypeError(f"equivalence: expected a pgtheory.stats.Equivalence, got {type(self.equivalence).__name__}")
        for p in self.sensitivity or []:
            if not {"constant", "value", "verdict"} <= set(p):
                raise ValueError(f"sensitivity: each point needs constant, value and verdict (use sweep_point), got {sorted(p)}")
        for c in self.clauses or []:
            if not {"text", "verdict", "reading"} <= set(c):
                raise ValueError(f"clauses: each clause needs text, verdict and reading (use clause), got {sorted(c)}")
        for r in self.rechecked or []:
            if not ("instance" in r and isinstance(r.get("holds"), bool)):
                raise ValueError(f"rechecked: each re-checked counterexample needs instance and holds (bool), got {sorted(r)}")


@dataclass(frozen=True)
class DeclaredMargin:
    """The equivalence margin of an unbiasedness/equality claim, fixed in the record before any run.

    ``value`` is a positive number; ``of`` says what it is measured against — "absolute (reward units)" or, for a
    relative margin, the quantity it multiplies (e.g. "‖∇J‖∞ of the instance"). The run computes the margin in
    units from exactly this declaration; the record stores it beside the margin used.
    """

    value: float
    of: str

    def __post_init__(self) -> None:
        if not (isinstance(self.value, (int, float)) and not isinstance(self.value, bool) and 0 < self.value < float("inf")):
            raise ValueError(f"value: a declared margin must be a positive finite number, got {self.value!r}")
        if not isinstance(self.of, str) or not self.of.strip():
            raise ValueError("of: say what the margin is measured against (absolute units, or the quantity it multiplies)")

    def describe(self) -> str:
        return f"{self.value:g} × {self.of}" if not self.of.startswith("absolute") else f"{self.value:g} ({self.of})"


@dataclass(frozen=True)
class Claim:
    """A checkable claim from a source paper.

    ``id`` is ``L<seed line>-<slug>``; ``test`` and ``threshold`` state the decision rule, fixed before
    any run; ``scales`` maps 'quick'/'full' to the settings the run function reads; ``run`` composes the
    exact, sampling, estimator and stats layers and returns :class:`Evidence`.

    Protocol fields (see :mod:`pgtheory.claims.protocol`): ``kind`` (identity | theorem | empirical | asymptotic),
    ``quote`` (the sentence tested, verbatim) and ``quote_source`` (where it was read: the seed abstract or
    the paper's body, with the section), ``extension`` (the rule asks more than the quote: it can qualify,
    never refute), ``unbiasedness`` (the claim asserts unbiasedness or equality: equivalence evidence is
    required), ``margin`` (its :class:`DeclaredMargin`, required with ``unbiasedness``), ``constants`` (free design
    constants → their plausible range, swept at full scale).

    ``figure_family``: the figure family that draws its figure (``experiments/<family>.py``, ``pgtheory figures
    <family>``); empty puts it in the family 'other'. ``draw(measurements, figure_dir) -> png path``: measure →
    decide → draw — the run returns ``Evidence.measurements`` and no figure; the runner stores them and calls ``draw``
    on the stored copy, and ``pgtheory figures`` redraws from the store without running the claim.
    ``practice_source``: for a claim from practice rather than from a seed paper, the public thread it settles,
    ``"owner/repo#number (YYYY-MM-DD)"``; its id is ``P-<repo>-<number>-<slug>`` and its ``seed_line`` 0.

    ``reading`` (:data:`READINGS`, required by the protocol since 2026-12-01) says how the rule reads the quoted
    sentence and ``reading_note`` why, for any reading but "as-written"; a reading in :data:`UNDECIDED_READINGS` makes
    the quote verdict inconclusive. ``counterexamples``: instances on which an earlier run found the rule to fail,
    ``{"instance": spec, "found": "run seed N at commit C", "part": "quote" | "extension", ...}``; every later run
    re-checks them (protocol rule 4), and one to the quoted part that still fails refutes the sentence.
    """

    id: str
    paper: str
    seed_line: int
    claim: str
    theme: str
    exact: str
    monte_carlo: str
    test: str
    scales: dict[str, dict[str, Any]]
    run: Callable[[RunContext], Evidence]
    source: str = ""
    kind: str = ""
    quote: str = ""
    quote_source: str = ""
    extension: bool = False
    unbiasedness: bool = False
    margin: DeclaredMargin | None = None
    constants: dict[str, Any] = field(default_factory=dict)
    figure_family: str = ""
    draw: Callable[[dict[str, Any], str], str] | None = None
    practice_source: str = ""
    reading: str = ""
    reading_note: str = ""
    counterexamples: tuple = ()
    #: an identity whose quoted sentence asserts more than the identity: the part it verifies, and what is left unjudged
    #: (2026-12-01, a referee of the seed-18 ledger: "verified" had covered behavioural clauses nobody decided)
    verifies: str = ""

    def __post_init__(self) -> None:
        if self.practice_source:
            if not (self.id.startswith("P-") and self.seed_line == 0):
                raise ValueError(f"id: a claim from practice ({self.practice_source}) has an id 'P-<repo>-<thread>-<slug>' "
                                 f"and seed_line 0, got {self.id!r} with seed_line {self.seed_line}")
            repo, _, thread = self.practice_source.partition("#")
            if repo.count("/") != 1 or not thread.split()[0].isdigit():
                raise ValueError(f"practice_source: expected 'owner/repo#number (date)', got {self.practice_source!r}")
        elif not self.id.startswith(f"L{self.seed_line}-"):
            raise ValueError(f"id: must start with 'L{self.seed_line}-' (its seed line), got {self.id!r}")
        for s in ("quick", "full"):
            if s not in self.scales:
                raise ValueError(f"scales: claim {self.id} lacks the {s!r} scale")
        if self.kind and self.kind not in KINDS:
            raise ValueError(f"kind: expected one of {KINDS}, got {self.kind!r}")
        if self.unbiasedness and not isinstance(self.margin, DeclaredMargin):
            raise ValueError(f"margin: claim {self.id} asserts unbiasedness/equality; declare its equivalence margin "
                             "(a DeclaredMargin) in the record, before any run")
        if self.figure_family and not self.figure_family.isidentifier():
            raise ValueError(f"figure_family: expected a name like 'llm_estimators', got {self.figure_family!r}")
        if self.margin is not None and not isinstance(self.margin, DeclaredMargin):
            raise TypeError(f"margin: expected a DeclaredMargin or None, got {type(self.margin).__name__}")
        if self.reading:
            if self.reading not in READINGS:
                raise ValueError(f"reading: claim {self.id}: expected one of {READINGS}, got {self.reading!r}")
            if (self.kind == "identity") != (self.reading == "by-construction"):
                raise ValueError(f"reading: claim {self.id} is kind {self.kind!r} read {self.reading!r}; a sentence that "
                                 "holds by construction is kind identity, and an identity's reading is 'by-construction'")
            if self.reading in UNDECIDED_READINGS and not self.extension:
                raise ValueError(f"extension: claim {self.id} reads its sentence {self.reading!r}, so its rule is not the "
                                 "sentence's: declare extension=True (its quote verdict is inconclusive)")
            if self.reading != "as-written" and not self.reading_note.strip():
                raise ValueError(f"reading_note: claim {self.id} reads its sentence {self.reading!r}; say why")
        if self.verifies and self.kind != "identity":
            raise ValueError(f"verifies: claim {self.id} is kind {self.kind!r}; only an identity names the part of its "
                             "sentence it verifies (a claim that judges several parts returns clauses)")
        for c in self.counterexamples:
            if not (isinstance(c, dict) and "instance" in c and str(c.get("found", "")).strip()
                    and c.get("part", "quote") in ("quote", "extension")):
                raise ValueError(f"counterexamples: claim {self.id}: each is a dict with the instance spec ('instance'), "
                                 f"where it was found ('found': run seed and commit) and the part it fails ('part': "
                                 f"'quote' (default) or 'extension'), got {c!r}")

    def describe(self) -> dict[str, Any]:
        d = {k: getattr(self, k) for k in ("id", "paper", "seed_line", "claim", "theme", "exact", "monte_carlo", "test", "source",
                                           "kind", "quote", "quote_source", "extension", "unbiasedness", "constants",
                                           "figure_family", "practice_source", "reading", "reading_note", "verifies")}
        d["counterexamples"] = list(self.counterexamples)
        d["margin_declared"] = self.margin.describe() if self.margin is not None else None
        d["scales"] = self.scales
        return d
