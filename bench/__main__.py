"""``python -m bench``: run the chosen phases on a throwaway database, print and save results."""

import os
import sys
import time
from typing import Any

import uvloop

from bench import (
    audit_phase,
    baseline,
    fanout_phase,
    http_phase,
    memory_phase,
    replay_phase,
    report,
    service_phase,
)
from bench.db import throwaway_database
from bench.figures import StreamResult
from bench.stats import PhaseResult

PHASES = ("baseline", "service", "http", "http2", "fanout", "replay", "audit", "memory")
STREAMS = frozenset({"fanout", "replay", "audit", "memory"})


def config_from_env() -> dict[str, Any]:
    phases = [p.strip() for p in os.environ.get("BENCH_PHASES", ",".join(PHASES)).split(",")]
    unknown = [p for p in phases if p and p not in PHASES]
    if unknown:
        raise SystemExit(f"BENCH_PHASES: unknown phase(s) {unknown}; choose from {PHASES}")
    return {
        "phases": [p for p in PHASES if p in phases],
        "seconds": float(os.environ.get("BENCH_SECONDS", "10")),
        "warmup": float(os.environ.get("BENCH_WARMUP", "2")),
        "profile": os.environ.get("BENCH_PROFILE") or None,
        "audit_events": int(os.environ.get("BENCH_AUDIT_EVENTS", audit_phase.EVENTS)),
        "audit_big": int(os.environ.get("BENCH_AUDIT_BIG", audit_phase.BIG)),
    }


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


async def _stream(phase: str, url: str, config: dict[str, Any]) -> StreamResult:
    _say(f"bench: {phase} ...")
    if phase == "fanout":
        profile = config["profile"] and f"{config['profile']}.fanout.json"
        result = await fanout_phase.run(url, config["warmup"], config["seconds"], profile)
    elif phase == "replay":
        result = await replay_phase.run(url, _say)
    elif phase == "audit":  # on a database of its own, filled in SQL
        result = await audit_phase.run(config["audit_events"], config["audit_big"], _say)
    else:
        result = await memory_phase.run(url)
    figures = "; ".join(f"{f.name} {f.server:.1f} vs {f.baseline:.1f}" for f in result.figures[:1])
    _say(f"bench: {phase}: {figures}")
    return result


async def run(config: dict[str, Any]) -> tuple[list[PhaseResult], list[StreamResult]]:
    warmup, seconds = config["warmup"], config["seconds"]
    results: list[PhaseResult] = []
    streams: list[StreamResult] = []
    async with throwaway_database() as url:
        for phase in config["phases"]:
            if phase in STREAMS:
                streams.append(await _stream(phase, url, config))
                continue
            _say(f"bench: {phase} ({warmup:g} s warm-up + {seconds:g} s) ...")
            if phase == "baseline":
                result = await baseline.run(url, warmup, seconds)
            elif phase == "service":
                result = await service_phase.run(url, warmup, seconds)
            else:
                processes = 2 if phase == "http2" else 1
                result = await http_phase.run(url, warmup, seconds, config["profile"], processes)
            _say(f"bench: {phase}: {result.events_per_s:.0f} events/s, p99 {result.p99_ms:.1f} ms")
            results.append(result)
    return results, streams


def main() -> int:
    config = config_from_env()
    started = time.monotonic()
    results, streams = uvloop.run(run(config))
    report.add_ratios(results)
    if results:
        print(report.table(results))
    if streams:
        print(("\n" if results else "") + report.streams_table(streams))
    path = report.write_json(results, config, streams)
    _say(f"bench: {time.monotonic() - started:.0f} s in all; results in {path}")
    return 0 if report.healthy(results, streams) else 1


if __name__ == "__main__":
    sys.exit(main())
