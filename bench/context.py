"""What a run of the bench is asked for, read once from the environment, and what every
phase is given."""

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Config:
    """The phases to run (in the registry's order) and how long and how big to make them."""

    phases: tuple[str, ...]
    seconds: float = 10.0
    warmup: float = 2.0
    profile: str | None = None  # a path: py-spy records the server (http, http2, fanout)
    audit_events: int = 200_000  # events `run.py replay` replays in the audit phase
    audit_big: int = 1_000_000  # the log the audit phase seeds and streams as NDJSON
    growth_events: int = 10_000_000  # the growth phase's big log

    @classmethod
    def from_env(cls, names: Sequence[str], default: Sequence[str] | None = None) -> "Config":
        """BENCH_PHASES (a comma-separated subset of ``names``; ``default``, or all, when
        unset), BENCH_SECONDS, BENCH_WARMUP, BENCH_PROFILE, BENCH_AUDIT_EVENTS,
        BENCH_AUDIT_BIG, BENCH_GROWTH_EVENTS."""
        everyday = ",".join(names if default is None else default)
        asked = [p.strip() for p in os.environ.get("BENCH_PHASES", everyday).split(",")]
        unknown = [p for p in asked if p and p not in names]
        if unknown:
            raise SystemExit(
                f"BENCH_PHASES: unknown phase(s) {unknown}; choose from {tuple(names)}"
            )
        return cls(
            phases=tuple(p for p in names if p in asked),
            seconds=float(os.environ.get("BENCH_SECONDS", cls.seconds)),
            warmup=float(os.environ.get("BENCH_WARMUP", cls.warmup)),
            profile=os.environ.get("BENCH_PROFILE") or None,
            audit_events=int(os.environ.get("BENCH_AUDIT_EVENTS", cls.audit_events)),
            audit_big=int(os.environ.get("BENCH_AUDIT_BIG", cls.audit_big)),
            growth_events=int(os.environ.get("BENCH_GROWTH_EVENTS", cls.growth_events)),
        )


@dataclass(frozen=True)
class Context:
    """What a phase is given: the run's throwaway database, the config, a progress line."""

    url: str
    config: Config
    say: Callable[[str], None]
