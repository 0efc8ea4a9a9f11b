"""The groups phase's checks and notes, from its runs (bench/groups_phase.py): every run got
everything, and what each took, CPU included."""

from typing import Any

from bench.result import Result


def _groups(runs: dict[str, Any]) -> list[str]:
    """The runs of groups that drained a backlog (drains and processing cost)."""
    return [key for key in runs if key.startswith(("drain", "work"))]


def check(result: Result, runs: dict[str, Any]) -> None:
    """The plain passes got every event once and in order; each group had every event
    acknowledged and its checkpoint at the last; a member that failed to connect is an error."""
    plain = runs["plain"]
    result.checks["plain WS: every event once, in order (each pass)"] = plain["all_whole"]
    for key in _groups(runs):
        ready = runs[key]["ready"]
        result.failed(f"{key}: members failed: {ready['error_samples']}", ready["failed"])
        whole = runs[key]["whole"]
        result.checks[f"{key}: every event acknowledged, checkpoint at the last"] = whole
    live = runs["live"]
    result.failed("live: a member failed to connect", live["ready"]["group"]["failed"])
    result.failed(f"live: writer: {live['writes']['error_samples']}", live["writes"]["errors"])
    for who in ("group", "ws"):
        result.failed(f"live: {who}: latencies < 0 (clocks?)", live[who]["negative"])
    group, ws = live["group_whole"], live["ws_whole"]
    result.checks["live: the group acknowledged every event, checkpoint at the last"] = group
    result.checks["live: the plain subscriber got every event once, in order"] = ws


def _cpu(run: dict[str, Any], events: int) -> str:
    server, pg = run["server_cpu_s"], run["pg_cpu_s"]
    return (
        f"CPU: server {server:.2f} s, its PostgreSQL backends {pg:.2f} s"
        f" ({server / events * 1e6:.0f} + {pg / events * 1e6:.0f} µs/event)"
    )


def note(result: Result, runs: dict[str, Any]) -> None:
    """What each run took: events/s, how the events spread over members, CPU."""
    plain = runs["plain"]
    passes = ", ".join(f"{p:,.0f}" for p in plain["passes"])
    used = _cpu(plain, plain["events"])
    result.notes.append(f"plain WS: events/s by pass {passes}; the median's {used}")
    for key in _groups(runs):
        run, final = runs[key], runs[key]["final"]
        result.notes.append(
            f"{key}: {run['events']} events in {final['seconds']:.2f} s"
            f" ({run['events_per_s']:,.0f}/s); frames by member {final['per_member']}, frames"
            f" per read {final['frames'] / max(1, final['reads']):.1f}, repeats"
            f" {final['repeats']}, attempts > 1 {final['retried']}; checkpoint at the last"
            f" {run['settled']['waited_s']:.2f} s after; {_cpu(run, run['events'])}"
        )
    result.notes.append(f"sleeps alone: {runs['sleeps/s']:,.0f}/s")
    live, writes = runs["live"], runs["live"]["writes"]
    group, ws = live["group"], live["ws"]
    result.notes.append(
        f"live: {live['expected']} creates at {writes['send_rate']:.0f}/s, POST p50/p99"
        f" {writes['post_p50_ms']:.1f}/{writes['post_p99_ms']:.1f} ms; e2e p50/p99/max: group"
        f" {group['p50_ms']:.1f}/{group['p99_ms']:.1f}/{group['max_ms']:.1f} ms, plain WS"
        f" {ws['p50_ms']:.1f}/{ws['p99_ms']:.1f}/{ws['max_ms']:.1f} ms ({group['measured']}"
        f" timed); frames by member {group['per_member']}; {_cpu(live, live['expected'])}"
    )
