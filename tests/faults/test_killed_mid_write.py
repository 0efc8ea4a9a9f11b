"""``run.py serve`` killed (SIGKILL) in the middle of concurrent writes, then started again."""

import asyncio
import itertools
import signal
from collections import defaultdict
from json import dumps
from typing import Any

import aiohttp

from tests.faults.conftest import StartServer
from tests.support.answers import ask, events_after
from tests.support.cli import run_cli
from tests.support.shop import FUNKOS, decode, funko_fields
from tests.support.tokens import ADMIN, AUDITOR
from tests.support.waiting import eventually

CLIENTS = 8
WRITTEN_BEFORE_THE_KILL = 200  # acknowledged writes, a second or so of load
Funko = dict[str, Any]


class Writer:
    """One client: creates a Funko, changes it a few times, deletes it, again and again, until
    the server goes away. Keeps what was acknowledged, and the request left unanswered."""

    def __init__(self, session: aiohttp.ClientSession, number: int) -> None:
        self.session, self.number = session, number
        self.acknowledged: list[Funko] = []
        self.unanswered: tuple[str, str, dict[str, Any]] | None = None

    async def run(self) -> None:
        for round_ in itertools.count():
            created = await self._write("POST", FUNKOS, funko_fields(stock=0), 201)
            if created is None:
                return
            item = f"{FUNKOS}/{created['id']}"
            for stock in range(1, 4):
                change = {"stock": stock, "price": round(stock + self.number / 100, 2)}
                if await self._write("PATCH", item, change, 200) is None:
                    return
            if round_ % 2 and await self._write("DELETE", item, None, 204) is None:
                return

    async def _write(self, method: str, path: str, body: Any, status: int) -> Funko | None:
        try:
            async with self.session.request(method, path, json=body, headers=ADMIN) as response:
                text = await response.text()
        except aiohttp.ClientError:
            self.unanswered = (method, path, body)
            return None
        assert response.status == status, f"{method} {path}: {response.status} {text}"
        funko: Funko = decode(text) if text else {"id": path.rsplit("/", 1)[1]}
        self.acknowledged.append({"method": method, **funko})
        return funko


async def test_a_server_killed_mid_write_keeps_every_acknowledged_write_and_no_half_command(
    fresh_database: str, servers: StartServer
) -> None:
    server = await servers(fresh_database)
    async with aiohttp.ClientSession(base_url=server.base) as session:
        writers = [Writer(session, n) for n in range(CLIENTS)]
        load = asyncio.gather(*(w.run() for w in writers))

        def under_way() -> bool:
            return sum(len(w.acknowledged) for w in writers) >= WRITTEN_BEFORE_THE_KILL

        await eventually(under_way, 30, "writes under way")
        server.signal(signal.SIGKILL)
        assert await server.exited(within=5) == -signal.SIGKILL
        await asyncio.wait_for(load, 10)
    assert all(w.unanswered for w in writers), "each client stops at a write left unanswered"

    # Before the restart: its start-up catch-up would hide a read model left behind.
    verified = await run_cli(fresh_database, "verify")
    assert verified.code == 0, verified.stdout + verified.stderr

    restarted = await servers(fresh_database)
    async with aiohttp.ClientSession(base_url=restarted.base) as session:
        log = await events_after(session, 0)
        positions = [e["position"] for e in log]
        assert positions == sorted(set(positions))
        logged = {(e["funkoId"], e["version"]): e for e in log}
        versions: dict[str, list[int]] = defaultdict(list)
        for logged_event in log:
            versions[logged_event["funkoId"]].append(logged_event["version"])
        # Each Funko's events run 1, 2, 3, …: no command lost in the middle of its history.
        assert all(v == list(range(1, len(v) + 1)) for v in versions.values())

        for write in (w for writer in writers for w in writer.acknowledged):
            if write["method"] == "DELETE":
                last = logged[(write["id"], len(versions[write["id"]]))]
                assert last["type"] == "DELETE", f"an acknowledged DELETE is not logged: {write}"
                continue
            event = logged.get((write["id"], write["version"]))
            assert event is not None, f"an acknowledged write is not in the log: {write}"
            assert event["data"] == {k: v for k, v in write.items() if k != "method"}

        # The read model shows each Funko as its last event left it (or not at all, deleted).
        for funko_id, funko_versions in versions.items():
            last = logged[(funko_id, funko_versions[-1])]
            shown = await ask(session, "GET", f"{FUNKOS}/{funko_id}")
            if last["type"] == "DELETE":
                assert shown.status == 404, shown
            else:
                assert (shown.status, decode(shown.text)) == (200, last["data"])

        # A write the kill cut off is in the log whole, or not at all.
        for writer in writers:
            assert writer.unanswered is not None
            method, path, body = writer.unanswered
            if method == "POST":
                named = [e for e in log if e["data"]["name"] == body["name"]]
                assert [e["changes"] for e in named] in (
                    [],
                    [decode(dumps(body)) | {"category": body["category"].upper()}],
                ), named
            elif method == "PATCH":
                funko_id = path.rsplit("/", 1)[1]
                seen = max(w.get("version", 0) for w in writer.acknowledged if w["id"] == funko_id)
                later = [e["changes"] for e in log if e["funkoId"] == funko_id][seen:]
                assert later in ([], [decode(dumps(body))]), later

        after_restart = await ask(session, "POST", FUNKOS, json=funko_fields(), headers=ADMIN)
        assert after_restart.status == 201, after_restart
        newest = decode(
            (await ask(session, "GET", "/api/v1/events", params={"after": 0}, headers=AUDITOR)).text
        )["head"]
        assert newest > max(positions, default=0)
    verified = await run_cli(fresh_database, "verify")
    assert verified.code == 0, verified.stdout + verified.stderr
