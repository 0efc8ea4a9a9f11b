"""``python -m bench``: run the chosen phases on a throwaway database, print and save results."""

import sys
import time

import uvloop

from bench import report
from bench.context import Config, Context
from bench.db import throwaway_database
from bench.phases import EVERYDAY, NAMES, Phase, chosen
from bench.result import Result


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _headline(result: Result) -> str:
    """The first figure beside its baseline, and the errors: a progress line."""
    shown = [
        f"{f.name} {f.value:.1f} vs {'-' if f.baseline is None else f'{f.baseline:.1f}'}; "
        for f in result.figures[:1]
    ]
    return "".join(shown) + f"{result.errors} errors"


async def run(config: Config) -> list[tuple[Phase, Result]]:
    """Each chosen phase in turn, then its figures set beside its ``beside`` phases' figures."""
    done: dict[str, Result] = {}
    ran: list[tuple[Phase, Result]] = []
    async with throwaway_database() as url:
        context = Context(url, config, _say)
        for phase in chosen(config.phases):
            _say(f"bench: {phase.name}: {phase.measures} ...")
            result = done[phase.name] = await phase.run(context)
            for beside in phase.beside:  # the first that has a figure gives its baseline
                if beside in done:
                    result.compare(done[beside])
            _say(f"bench: {phase.name}: {_headline(result)}")
            ran.append((phase, result))
    return ran


def main() -> int:
    config = Config.from_env(NAMES, EVERYDAY)
    started = time.monotonic()
    ran = uvloop.run(run(config))
    if ran:
        print(report.table(ran))
    path = report.write_json(ran, config)
    _say(f"bench: {time.monotonic() - started:.0f} s in all; results in {path}")
    return 0 if all(result.healthy for _, result in ran) else 1


if __name__ == "__main__":
    sys.exit(main())
