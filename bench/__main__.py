"""``python -m bench``: run the chosen phases on a throwaway database, print and save results."""

import os
import sys
import time
from typing import Any

import uvloop

from bench import baseline, http_phase, report, service_phase
from bench.db import throwaway_database
from bench.stats import PhaseResult

PHASES = ("baseline", "service", "http", "http2")


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
    }


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


async def run(config: dict[str, Any]) -> list[PhaseResult]:
    warmup, seconds = config["warmup"], config["seconds"]
    results: list[PhaseResult] = []
    async with throwaway_database() as url:
        for phase in config["phases"]:
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
    return results


def main() -> int:
    config = config_from_env()
    started = time.monotonic()
    results = uvloop.run(run(config))
    report.add_ratios(results)
    print(report.table(results))
    path = report.write_json(results, config)
    _say(f"bench: {time.monotonic() - started:.0f} s in all; results in {path}")
    return 0 if report.healthy(results) else 1


if __name__ == "__main__":
    sys.exit(main())
