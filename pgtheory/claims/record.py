"""Claim records: a paper's quoted claim, the test fixed before running, and the evidence a run returns."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Callable

__all__ = ["VERDICTS", "Claim", "Evidence", "RunContext"]

VERDICTS = ("confirmed", "refuted", "qualified", "inconclusive")


@dataclass(frozen=True)
class RunContext:
    """What a claim's run function receives: the scale's settings, a seed, a device, and where to draw."""

    scale: str
    settings: dict[str, Any]
    seed: int
    device: str
    figure_dir: str


@dataclass
class Evidence:
    """What a run returns: the verdict and the numbers behind it (JSON-serialisable)."""

    verdict: str
    statistic: float
    threshold: str
    n_samples: int
    summary: str
    details: dict[str, Any] = field(default_factory=dict)
    figure: str | None = None

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict: expected one of {VERDICTS}, got {self.verdict!r}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Claim:
    """A checkable claim from a source paper.

    ``id`` is ``L<seed line>-<slug>``; ``test`` and ``threshold`` state the decision rule, fixed before
    any run; ``scales`` maps 'quick'/'full' to the settings the run function reads; ``run`` composes the
    exact, sampling, estimator and stats layers and returns :class:`Evidence`.
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

    def __post_init__(self) -> None:
        if not self.id.startswith(f"L{self.seed_line}-"):
            raise ValueError(f"id: must start with 'L{self.seed_line}-' (its seed line), got {self.id!r}")
        for s in ("quick", "full"):
            if s not in self.scales:
                raise ValueError(f"scales: claim {self.id} lacks the {s!r} scale")

    def describe(self) -> dict[str, Any]:
        d = {k: getattr(self, k) for k in ("id", "paper", "seed_line", "claim", "theme", "exact", "monte_carlo", "test", "source")}
        d["scales"] = self.scales
        return d
