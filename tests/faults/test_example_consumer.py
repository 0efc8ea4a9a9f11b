"""examples/stock_summary.py, a consumer group's member, as a subprocess against ``run.py serve``:
killed (SIGKILL) while Funkos of two categories are created, changed, moved and deleted, then
started again, or given every event a second time, its state ends equal to the catalog — an
event counted twice or lost would show — and the group's lag reaches 0."""

import asyncio
import json
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.faults.conftest import StartServer
from tests.support.answers import ask
from tests.support.cli import ROOT
from tests.support.shop import FUNKOS, funko_fields, unique
from tests.support.tokens import ADMIN, CONSUMER
from tests.support.waiting import eventually

GROUP = "/api/v1/groups/stock-summary"
WITHIN = 30.0
State = dict[str, dict[str, Any]]
Check = Callable[[dict[str, Any]], bool]


class Example:
    """The example's runs, one after the other, on one state file; what each printed is kept
    in a file of ``folder``, what they said on stderr in one more."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.state, self.errors = folder, folder / "state.json", folder / "err"
        self.runs: list[tuple[asyncio.subprocess.Process, Path]] = []

    async def start(self, base: str) -> None:
        out = self.folder / f"example-{len(self.runs)}.out"
        token = CONSUMER["Authorization"].removeprefix("Bearer ")
        with out.open("wb") as stdout, self.errors.open("ab") as stderr:
            process = await asyncio.create_subprocess_exec(
                *(sys.executable, "examples/stock_summary.py", "--url", base),
                *("--state", str(self.state), "--prefetch", "20"),
                cwd=ROOT,
                env={**os.environ, "FUNKO_TOKEN": token},
                stdout=stdout,
                stderr=stderr,
            )
        self.runs.append((process, out))

    def pause(self) -> None:
        self.runs[-1][0].send_signal(signal.SIGSTOP)

    async def kill(self) -> None:
        process = self.runs[-1][0]
        process.send_signal(signal.SIGKILL)
        assert await process.wait() == -signal.SIGKILL, self.errors.read_text()

    def funkos(self) -> State:
        return json.loads(self.state.read_text()) if self.state.exists() else {}

    def printed(self) -> list[Any]:
        """The summaries the last run printed."""
        return [json.loads(line) for line in self.runs[-1][1].read_text().splitlines()]


@pytest.fixture
async def example(tmp_path: Path) -> AsyncIterator[Example]:
    """The example; a run still going at the end is killed, and its stderr printed."""
    runs = Example(tmp_path)
    yield runs
    for process, _ in runs.runs:
        if process.returncode is None:
            process.kill()
            await process.wait()
    print(runs.errors.read_text() if runs.errors.exists() else "")


async def write(session: aiohttp.ClientSession, method: str, path: str, body: Any) -> Any:
    answer = await ask(session, method, path, json=body, headers=ADMIN)
    assert answer.status in (200, 201, 204), answer
    return answer.json() if answer.text else None


async def lifecycles(session: aiohttp.ClientSession, categories: list[str], count: int) -> None:
    """``count`` Funkos, four at a time: each created, restocked, moved to the other category,
    restocked again; every third deleted."""

    async def one(number: int) -> None:
        category, other = categories[number % 2], categories[1 - number % 2]
        funko = await write(session, "POST", FUNKOS, funko_fields(category=category, stock=number))
        for change in ({"stock": number + 5}, {"category": other}, {"stock": 2 * number + 1}):
            await write(session, "PATCH", f"{FUNKOS}/{funko['id']}", change)
        if number % 3 == 0:
            await write(session, "DELETE", f"{FUNKOS}/{funko['id']}", None)

    for start in range(0, count, 4):
        await asyncio.gather(*(one(n) for n in range(start, min(start + 4, count))))


async def group_shows(session: aiohttp.ClientSession, what: str, wanted: Check) -> None:
    """Once GET on the group shows ``wanted`` (fails naming ``what`` after WITHIN seconds)."""
    shown: dict[str, Any] = {}
    for _ in range(int(WITHIN / 0.05)):
        shown = (await ask(session, "GET", GROUP, headers=ADMIN)).json()
        if wanted(shown):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the group never showed {what}: {shown}")


def in_flight(shown: dict[str, Any]) -> bool:
    return bool(shown["inFlight"] > 0)


def caught_up(shown: dict[str, Any]) -> bool:
    """All acknowledged: no lag, nothing in flight, the checkpoint at the head."""
    return bool(shown["lag"] == shown["inFlight"] == 0 and shown["checkpoint"] == shown["head"])


async def catalog(session: aiohttp.ClientSession) -> State:
    """Every live Funko as GET /api/v1/funkos lists it, page by page."""
    funkos: State = {}
    for page in range(1000):
        answer = await ask(session, "GET", FUNKOS, params={"page": page, "size": 100})
        listed = answer.json()
        for funko in listed["content"]:
            funkos[funko["id"]] = {key: funko[key] for key in ("version", "category", "stock")}
        if listed["last"]:
            return funkos
    raise AssertionError("the catalog never ended")


def totals(funkos: State) -> dict[str, dict[str, int]]:
    """Category -> stock and count, of live Funkos."""
    summary: dict[str, dict[str, int]] = {}
    for funko in funkos.values():
        if funko["category"] is not None:
            total = summary.setdefault(funko["category"], {"stock": 0, "count": 0})
            total["stock"] += funko["stock"]
            total["count"] += 1
    return summary


async def test_the_stock_summary_killed_mid_way_and_restarted_ends_equal_to_the_catalog(
    fresh_database: str, servers: StartServer, example: Example
) -> None:
    server = await servers(fresh_database)
    categories = [unique("shelf").upper(), unique("shelf").upper()]
    async with aiohttp.ClientSession(base_url=server.base) as session:
        await write(session, "PUT", GROUP, {"startAfter": 0})
        await example.start(server.base)
        writing = asyncio.create_task(lifecycles(session, categories, 40))
        await eventually(lambda: len(example.funkos()) >= 8, WITHIN, "some Funkos applied")
        example.pause()  # so that it is killed holding events it has not acknowledged:
        await asyncio.sleep(0.2)  # (an ACK it sent before it stopped has come by now)
        await group_shows(session, "events in flight", in_flight)
        await example.kill()
        await asyncio.sleep(0.3)  # writes may go on while it is down
        await example.start(server.base)
        await writing
        await lifecycles(session, categories, 6)  # and after it is back
        await group_shows(session, "a lag of 0", caught_up)
        live = await catalog(session)
    await example.kill()
    funkos = example.funkos()
    assert {k: v for k, v in funkos.items() if v["category"] is not None} == live
    assert len(funkos) == 40 + 6, "the deleted ones are kept, as deleted"
    assert totals(funkos) == totals(live) == example.printed()[-1]
    assert set(totals(live)) == set(categories)


async def test_the_stock_summary_given_every_event_again_counts_each_once(
    fresh_database: str, servers: StartServer, example: Example
) -> None:
    server = await servers(fresh_database)
    categories = [unique("shelf").upper(), unique("shelf").upper()]
    async with aiohttp.ClientSession(base_url=server.base) as session:
        await write(session, "PUT", GROUP, {"startAfter": 0})
        await example.start(server.base)
        await lifecycles(session, categories, 12)
        await group_shows(session, "a lag of 0", caught_up)
        await example.kill()
        before = example.funkos()
        await write(session, "DELETE", GROUP, None)
        await write(session, "PUT", GROUP, {"startAfter": 0})  # the whole log, once more
        await example.start(server.base)
        await group_shows(session, "a lag of 0", caught_up)
        live = await catalog(session)
    await example.kill()
    assert example.funkos() == before
    assert totals(before) == totals(live) and len(totals(live)) == 2
    assert example.printed() == [], "nothing changed, so nothing was printed"
