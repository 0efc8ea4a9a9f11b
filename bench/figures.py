"""Results of the stream phases: each figure beside its own baseline, measured in the same run."""

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Figure:
    """One measured quantity, for the server and for the phase's baseline."""

    name: str
    server: float
    baseline: float
    target: str = ""  # shown as written, e.g. "<= 1.5x baseline"
    met: bool | None = None

    @property
    def ratio(self) -> float | None:
        return self.server / self.baseline if self.baseline else None


@dataclass
class StreamResult:
    """A stream phase: its figures, what its baseline is, pass/fail checks, errors."""

    phase: str
    baseline: str
    figures: list[Figure] = field(default_factory=list)
    checks: dict[str, bool] = field(default_factory=dict)
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def add(
        self,
        name: str,
        server: float,
        baseline: float,
        target: str = "",
        meets: Callable[[Figure], bool] | None = None,
    ) -> Figure:
        figure = Figure(name, server, baseline, target)
        if meets is not None:
            figure.met = meets(figure)
        self.figures.append(figure)
        return figure

    def failed(self, what: str, count: int = 1) -> None:
        if count <= 0:
            return
        self.errors += count
        if len(self.error_samples) < 5 and what not in self.error_samples:
            self.error_samples.append(what)

    def as_dict(self) -> dict[str, Any]:
        document = asdict(self)
        for figure, shown in zip(self.figures, document["figures"], strict=True):
            shown["ratio"] = figure.ratio
        return document


def ratio_at_most(limit: float) -> Callable[[Figure], bool]:
    return lambda f: f.ratio is not None and f.ratio <= limit


def ratio_at_least(limit: float) -> Callable[[Figure], bool]:
    return lambda f: f.ratio is not None and f.ratio >= limit


def below(limit: float) -> Callable[[Figure], bool]:
    return lambda f: f.server < limit
