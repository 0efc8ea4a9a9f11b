"""Measurement windows and percentiles (standard library only: the load generator and the
subscriber process import this too)."""

import math
import time
from typing import Any


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of already sorted values (0.0 when there are none)."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(q * len(sorted_values)))
    return sorted_values[rank - 1]


class Window:
    """A warm-up then a fixed measuring span; operations finishing inside it are counted."""

    def __init__(self, warmup: float, seconds: float) -> None:
        self.start = time.perf_counter() + warmup
        self.end = self.start + seconds
        self.seconds = seconds
        self.latencies: list[float] = []
        self.errors = 0
        self.error_samples: list[str] = []

    def open(self) -> bool:
        """Whether workers should start another operation."""
        return time.perf_counter() < self.end

    def record(self, started: float) -> None:
        """One operation begun at ``started`` (perf_counter) has just succeeded."""
        finished = time.perf_counter()
        if self.start <= finished <= self.end:
            self.latencies.append(finished - started)

    def failed(self, what: str) -> None:
        """One operation failed (counted whenever it happens, warm-up included)."""
        self.errors += 1
        if len(self.error_samples) < 5 and what not in self.error_samples:
            self.error_samples.append(what)

    def summary(self) -> dict[str, Any]:
        """Events, events/s and latency percentiles (ms) of the measured span."""
        ordered = sorted(self.latencies)
        return {
            "events": len(ordered),
            "seconds": self.seconds,
            "events_per_s": len(ordered) / self.seconds,
            "p50_ms": percentile(ordered, 0.50) * 1000,
            "p99_ms": percentile(ordered, 0.99) * 1000,
            "errors": self.errors,
            "error_samples": self.error_samples,
        }
