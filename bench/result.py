"""What a phase measured: named figures, each a value beside its baseline measured in the same
run, with a target where there is one; checks that must hold; notes; errors.

A target missed is reported, not a failure; an error or a check that does not hold fails the
run (see ``healthy``). Standard library only.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Figure:
    """One measured quantity beside its baseline's (None: the baseline did not run)."""

    name: str
    value: float
    baseline: float | None = None
    target: str = ""  # shown as written, e.g. "<= 1.5x baseline"
    meets: Callable[["Figure"], bool] | None = field(default=None, repr=False)

    @property
    def ratio(self) -> float | None:
        return self.value / self.baseline if self.baseline else None

    @property
    def met(self) -> bool | None:
        """Whether the target holds; None without a target or a baseline to judge it by."""
        if self.meets is None or self.baseline is None:
            return None
        return self.meets(self)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "value": self.value,
            "baseline": self.baseline,
            "ratio": self.ratio,
            "target": self.target,
            "met": self.met,
        }


@dataclass
class Result:
    """Every phase's result: its figures, what their baseline is, checks, notes, errors."""

    baseline: str
    figures: list[Figure] = field(default_factory=list)
    checks: dict[str, bool] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def add(
        self,
        name: str,
        value: float,
        baseline: float | None = None,
        target: str = "",
        meets: Callable[[Figure], bool] | None = None,
    ) -> Figure:
        figure = Figure(name, value, baseline, target, meets)
        self.figures.append(figure)
        return figure

    def failed(self, what: str, count: int = 1) -> None:
        if count <= 0:
            return
        self.errors += count
        if len(self.error_samples) < 5 and what not in self.error_samples:
            self.error_samples.append(what)

    def compare(self, other: "Result") -> None:
        """Give each figure still without a baseline ``other``'s figure of the same name, if it
        has one."""
        values = {f.name: f.value for f in other.figures}
        for figure in self.figures:
            if figure.baseline is None and figure.name in values:
                figure.baseline = values[figure.name]

    @property
    def healthy(self) -> bool:
        """No errors and every check held."""
        return self.errors == 0 and all(self.checks.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "baseline": self.baseline,
            "figures": [f.as_dict() for f in self.figures],
            "checks": self.checks,
            "notes": self.notes,
            "errors": self.errors,
            "error_samples": self.error_samples,
            "extra": self.extra,
        }


def throughput(summary: dict[str, Any], is_baseline: bool = False) -> Result:
    """A write phase's events/s, p50 and p99 (ms) from a ``Window`` summary, its errors, and
    the target of a p99 within the baseline's. The baseline's figures are set by the run,
    from the phase the registry names in ``beside`` (for the baseline phase, itself)."""
    result = Result(
        "itself: the write phases' baseline"
        if is_baseline
        else "the baseline phase's same figures, measured in the same run"
    )
    result.add("events/s", summary["events_per_s"])
    result.add("p50 ms", summary["p50_ms"])
    p99 = result.add("p99 ms", summary["p99_ms"])
    if not is_baseline:  # the baseline's own p99 is within itself by definition
        p99.target, p99.meets = "<= baseline", ratio_at_most(1.0)
    result.errors, result.error_samples = summary["errors"], list(summary["error_samples"])
    result.extra.update(events=summary["events"], seconds=summary["seconds"])
    return result


def ratio_at_most(limit: float) -> Callable[[Figure], bool]:
    return lambda f: f.ratio is not None and f.ratio <= limit


def ratio_at_least(limit: float) -> Callable[[Figure], bool]:
    return lambda f: f.ratio is not None and f.ratio >= limit


def at_least(limit: float) -> Callable[[Figure], bool]:
    return lambda f: f.value >= limit


def below(limit: float) -> Callable[[Figure], bool]:
    return lambda f: f.value < limit
