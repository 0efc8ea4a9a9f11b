"""The results: one table on stdout and the same figures in bench/results/latest.json."""

import json
import platform
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from bench.context import Config
from bench.phases import Phase
from bench.result import Figure, Result

RESULTS = Path(__file__).resolve().parent / "results"
Ran = Sequence[tuple[Phase, Result]]


def _row(phase: str, f: Figure) -> str:
    baseline = "-" if f.baseline is None else f"{f.baseline:.2f}"
    ratio = "-" if f.ratio is None else f"{f.ratio:.2f}x"
    met = "" if f.met is None else ("yes" if f.met else "NO")
    return (
        f"{phase:<8} {f.name:<28} {f.value:>10.2f} {baseline:>10} {ratio:>7}"
        f" {f.target:>20} {met:>4}"
    ).rstrip()


def table(ran: Ran) -> str:
    """Every figure beside its baseline, the ratio and the target; then, phase by phase, what
    the baseline is, the errors, notes and checks."""
    header = (
        f"{'phase':<8} {'figure':<28} {'value':>10} {'baseline':>10} {'ratio':>7}"
        f" {'target':>20} {'met':>4}"
    )
    lines = [header, "-" * len(header)]
    lines += [_row(phase.name, f) for phase, result in ran for f in result.figures]
    lines += [line for phase, result in ran for line in _about(phase.name, result)]
    return "\n".join(lines)


def _about(phase: str, r: Result) -> list[str]:
    lines = [f"{phase}: baseline = {r.baseline}; errors: {r.errors}"]
    lines += [f"{phase}: {note}" for note in r.notes]
    lines += [f"{phase}: {check}: {'yes' if ok else 'NO'}" for check, ok in r.checks.items()]
    return lines + [f"{phase} error: {sample}" for sample in r.error_samples]


def write_json(ran: Ran, config: Config) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / "latest.json"
    document = {
        "at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "host": {"machine": platform.machine(), "python": platform.python_version()},
        "config": asdict(config),
        "phases": [
            {"phase": phase.name, "measures": phase.measures, **result.as_dict()}
            for phase, result in ran
        ],
    }
    path.write_text(json.dumps(document, indent=2) + "\n")
    return path
