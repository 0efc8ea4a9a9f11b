"""The registry: every phase, in the order they run. A new phase is one entry.

Each entry names the phase (as BENCH_PHASES spells it), says what it measures and gives the
coroutine that runs it. The write phases' figures stand beside the same figures of the phase
named in ``beside`` (the plain-SQL baseline, measured earlier in the same run); the other
phases measure their own baseline (see bench/README.md). A phase that is not ``everyday``
runs only when BENCH_PHASES names it.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from bench import (
    audit_phase,
    baseline,
    fanout_phase,
    groups_phase,
    growth_phase,
    http_phase,
    memory_phase,
    replay_phase,
    replica_phase,
    service_phase,
)
from bench.context import Context
from bench.result import Result


@dataclass(frozen=True)
class Phase:
    """A phase: its name, what it measures, how it runs, whose figures are its baseline."""

    name: str
    measures: str
    run: Callable[[Context], Awaitable[Result]]
    # Earlier phases whose same-named figures are this one's baselines (the first that has a
    # figure gives it), if the baseline is not the phase's own.
    beside: tuple[str, ...] = ()
    everyday: bool = True  # runs when BENCH_PHASES is unset


PHASES = (
    Phase(
        "baseline",
        "plain-SQL appends: 16 connections, one locked INSERT + NOTIFY per transaction",
        baseline.run,
        beside=("baseline",),
    ),
    Phase(
        "service",
        "FunkoService.create from 64 tasks over the group-committing store; the hash chain",
        service_phase.run,
        beside=("baseline",),
    ),
    Phase(
        "crud",
        "a plain CRUD server on the same stack (one transaction per create), wrk, 64 connections",
        http_phase.crud,
    ),
    Phase(
        "ceiling",
        "the same stack answering creates with no database: the HTTP ceiling",
        http_phase.ceiling,
    ),
    Phase(
        "http",
        "POST /api/v1/funkos to run.py serve with one worker, wrk, 64 connections",
        http_phase.service,
        beside=("crud", "ceiling"),
    ),
    Phase(
        "http-cores",
        "the same with one worker per core",
        http_phase.service_on_every_core,
        beside=("crud",),
    ),
    Phase(
        "http-keyed",
        "the same with one worker, every request with an Idempotency-Key of its own",
        http_phase.service_keyed,
        beside=("http",),
    ),
    Phase(
        "fanout",
        "send-to-receipt latency at 1,000 subscribers (WebSocket; SSE at 20/s), 20 and 100"
        " writes/s from a writer process; its POST p99 beside no subscriber's",
        fanout_phase.run,
    ),
    Phase(
        "replay",
        "one subscriber from after=0 to CAUGHT_UP over 200,000 events",
        replay_phase.run,
    ),
    Phase(
        "audit",
        "run.py replay; server RSS while the whole log streams as NDJSON (own database)",
        audit_phase.run,
    ),
    Phase(
        "memory",
        "server RSS per idle subscriber, 1,000 connected",
        memory_phase.run,
    ),
    Phase(
        "groups",
        "consumer groups: a 20,000-event backlog drained by 1, 2, 4 members beside a plain"
        " subscriber; 1 ms/event members, 2 beside 1; live latency at 500 writes/s beside a"
        " plain subscriber's",
        groups_phase.run,  # everyday: 40-46 s on a quiet machine (74 s under others' tests)
    ),
    Phase(
        "replica",
        "catalog pages, WebSocket replays and NDJSON reads from a server on the primary and one"
        " reading a streaming replica, under 100 writes/s; the replica's lag meanwhile",
        replica_phase.run,
        # It builds PostgreSQL clusters of its own with Debian's server binaries: everyday
        # where they are installed (46 s), else only when named (and it says what is missing).
        everyday=Path("/usr/lib/postgresql").is_dir(),
    ),
    Phase(
        "growth",
        "a small log and a 10M-event one (BENCH_GROWTH_EVENTS), restored from made-up files:"
        " creates, resume, catalog, PATCH of a long history, restore, verify, side by side",
        growth_phase.run,
        everyday=False,  # its 10M-event log takes far longer than every other phase together
    ),
)
NAMES = tuple(p.name for p in PHASES)
EVERYDAY = tuple(p.name for p in PHASES if p.everyday)


def chosen(names: tuple[str, ...]) -> list[Phase]:
    """The phases named, in the registry's order."""
    return [p for p in PHASES if p.name in names]
