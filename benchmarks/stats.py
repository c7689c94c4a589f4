"""Summaries of repeated runs and the rows of the results table. Pure.

Every figure is measured in rounds; a round measures safeprobe and its baseline side by
side (interleaved in one process, or in two hosts signalled in turn) and gives one value
for each, and their ratio. A row shows the median of the rounds with their min and max.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100) of a non-empty sample."""
    ordered = sorted(values)
    rank = min(max(1, math.ceil(q / 100 * len(ordered))), len(ordered))
    return ordered[rank - 1]


@dataclass(frozen=True, slots=True)
class Spread:
    """Median, min and max of one value over the rounds."""

    median: float
    min: float
    max: float
    n: int

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread:
        if not values:
            raise ValueError("no values")
        return cls(statistics.median(values), min(values), max(values), len(values))


@dataclass(frozen=True, slots=True)
class Goal:
    """A target for one row: ``subject`` (safeprobe or ratio) ``op`` ``limit``."""

    text: str
    subject: str  # "safeprobe" or "ratio"
    op: str  # "<=" or ">="
    limit: float

    def met_by(self, value: float) -> bool:
        return value <= self.limit if self.op == "<=" else value >= self.limit


@dataclass(slots=True)
class Row:
    """One line of the table."""

    id: str
    figure: str
    unit: str
    safeprobe: Spread
    baseline: Spread | None = None
    ratio: Spread | None = None
    goal: Goal | None = None
    note: str = ""
    detail: dict[str, object] = field(default_factory=dict)

    @property
    def met(self) -> bool | None:
        if self.goal is None:
            return None
        subject = self.ratio if self.goal.subject == "ratio" else self.safeprobe
        if subject is None:
            return None
        return self.goal.met_by(subject.median)

    def to_json(self) -> dict[str, object]:
        data = asdict(self)
        data["met"] = self.met
        return data


def paired(
    row_id: str,
    figure: str,
    unit: str,
    ours: Sequence[float],
    theirs: Sequence[float] | None,
    *,
    goal: Goal | None = None,
    note: str = "",
    detail: dict[str, object] | None = None,
) -> Row:
    """A row from per-round values; the ratio is taken round by round (ours / theirs)."""
    ratio = None
    if theirs is not None:
        pairs = [(a, b) for a, b in zip(ours, theirs, strict=True) if b]
        ratio = Spread.of([a / b for a, b in pairs]) if pairs else None
    return Row(
        id=row_id,
        figure=figure,
        unit=unit,
        safeprobe=Spread.of(ours),
        baseline=Spread.of(theirs) if theirs is not None else None,
        ratio=ratio,
        goal=goal,
        note=note,
        detail=detail or {},
    )
