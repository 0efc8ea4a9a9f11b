"""The results: a table on stdout and the same figures in bench/results/latest.json."""

import json
import platform
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.figures import StreamResult
from bench.stats import PhaseResult

RESULTS = Path(__file__).resolve().parent / "results"


def add_ratios(results: Sequence[PhaseResult]) -> PhaseResult | None:
    """Fill each phase's ratio vs the baseline (if it ran) and the p99 check; return it."""
    baseline = next((r for r in results if r.phase.startswith("baseline")), None)
    if baseline is None or baseline.events_per_s == 0:
        return baseline
    for result in results:
        result.ratio_vs_baseline = result.events_per_s / baseline.events_per_s
        if result is not baseline:
            result.extra["p99_within_baseline_p99"] = result.p99_ms <= baseline.p99_ms
    return baseline


def table(results: Sequence[PhaseResult]) -> str:
    header = (
        f"{'phase':<20} {'events/s':>10} {'p50 ms':>9} {'p99 ms':>9}"
        f" {'vs baseline':>12} {'errors':>7}"
    )
    lines = [header, "-" * len(header)]
    for r in results:
        ratio = "-" if r.ratio_vs_baseline is None else f"{r.ratio_vs_baseline:.2f}x"
        lines.append(
            f"{r.phase:<20} {r.events_per_s:>10.0f} {r.p50_ms:>9.2f} {r.p99_ms:>9.2f}"
            f" {ratio:>12} {r.errors:>7}"
        )
    for r in results:
        checks = []
        if "p99_within_baseline_p99" in r.extra:
            within = "yes" if r.extra["p99_within_baseline_p99"] else "NO"
            checks.append(f"p99 <= baseline p99: {within}")
        if "log_matches_201s" in r.extra:
            verdict = "yes" if r.extra["log_matches_201s"] else "NO"
            checks.append(
                f"events logged = 201s: {verdict}"
                f" ({r.extra['events_logged']} logged, {r.extra['created_201']} x 201)"
            )
        if "hash_chain" in r.extra:
            checks.append(_hashing(r.extra["hash_chain"]))
        if checks:
            lines.append(f"{r.phase}: " + "; ".join(checks))
        for sample in r.error_samples:
            lines.append(f"{r.phase} error: {sample}")
    return "\n".join(lines)


def _hashing(chain: dict[str, Any]) -> str:
    within = "yes" if chain["hashing_within_target"] else "NO"
    return (
        f"hash chain {chain['hashing_us_per_event']:.1f} µs/event ="
        f" {chain['hashing_share_of_append']:.1%} of the append path's"
        f" {chain['append_us_per_event']:.0f} µs/event (<= {chain['target']:.0%}: {within}),"
        f" {chain['hashing_share_of_commit']:.1%} of commit time"
    )


def streams_table(results: Sequence[StreamResult]) -> str:
    """The stream phases: each figure beside its own baseline, the ratio and the target."""
    header = (
        f"{'stream phase':<8} {'figure':<28} {'server':>10} {'baseline':>10} {'ratio':>7}"
        f" {'target':>18} {'met':>4}"
    )
    lines = [header, "-" * len(header)]
    for r in results:
        for f in r.figures:
            ratio = "-" if f.ratio is None else f"{f.ratio:.2f}x"
            met = "" if f.met is None else ("yes" if f.met else "NO")
            lines.append(
                f"{r.phase:<8} {f.name:<28} {f.server:>10.2f} {f.baseline:>10.2f} {ratio:>7}"
                f" {f.target:>18} {met:>4}"
            )
    for r in results:
        lines.append(f"{r.phase}: baseline = {r.baseline}")
        for check, ok in r.checks.items():
            lines.append(f"{r.phase}: {check}: {'yes' if ok else 'NO'}")
        for sample in r.error_samples:
            lines.append(f"{r.phase} error: {sample}")
    return "\n".join(lines)


def write_json(
    results: Sequence[PhaseResult],
    config: dict[str, Any],
    streams: Sequence[StreamResult] = (),
) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / "latest.json"
    document = {
        "at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "host": {"machine": platform.machine(), "python": platform.python_version()},
        "config": config,
        "phases": [r.as_dict() for r in results],
        "streams": [r.as_dict() for r in streams],
    }
    path.write_text(json.dumps(document, indent=2) + "\n")
    return path


def healthy(results: Sequence[PhaseResult], streams: Sequence[StreamResult] = ()) -> bool:
    """No errors anywhere, the HTTP log count matched the 201s, every stream check held.

    (Targets missed are reported, not failures.)"""
    writes = all(r.errors == 0 and r.extra.get("log_matches_201s", True) for r in results)
    return writes and all(r.errors == 0 and all(r.checks.values()) for r in streams)
