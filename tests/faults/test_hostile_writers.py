"""Writers a hostile or unlucky client sends, against ``run.py serve`` as shipped (uvloop): a
token no log can hold beside innocent writes, and many writes racing on one Funko."""

import asyncio
from collections import Counter

import aiohttp
import pytest

from tests.faults.conftest import StartServer
from tests.support.answers import Answer, ask, events_after
from tests.support.servers import ServerProcess
from tests.support.shop import FUNKOS, funko_fields
from tests.support.tokens import ADMIN, signed_bearer

INNOCENT = 100


@pytest.mark.parametrize("sub", ["caf\udce9", "\ud800", "nul\x00"], ids=["latin1", "lone", "nul"])
async def test_a_token_no_log_can_hold_is_refused_and_sinks_no_other_write(
    fresh_database: str, servers: StartServer, sub: str
) -> None:
    server = await servers(fresh_database)
    async with aiohttp.ClientSession(base_url=server.base) as session:
        answers = await asyncio.gather(
            *(
                ask(session, "POST", FUNKOS, json=funko_fields(), headers=ADMIN)
                for _ in range(INNOCENT // 2)
            ),
            ask(session, "POST", FUNKOS, json=funko_fields(), headers=signed_bearer("admin", sub)),
            *(
                ask(session, "POST", FUNKOS, json=funko_fields(), headers=ADMIN)
                for _ in range(INNOCENT // 2)
            ),
        )
        hostile = answers.pop(INNOCENT // 2)
        assert hostile.status == 401, hostile
        assert Counter(a.status for a in answers) == {201: INNOCENT}
        logged = await events_after(session, 0)
    assert sorted(e["funkoId"] for e in logged) == sorted(a.json()["id"] for a in answers)


async def patch_at_once(servers: list[ServerProcess], writes: int) -> tuple[str, list[Answer]]:
    """``writes`` concurrent PATCHes without If-Match of one new Funko, spread over ``servers``;
    the Funko's id and the answers."""
    sessions = [aiohttp.ClientSession(base_url=s.base) for s in servers]
    try:
        created = await ask(sessions[0], "POST", FUNKOS, json=funko_fields(), headers=ADMIN)
        path = f"{FUNKOS}/{created.json()['id']}"
        answers = await asyncio.gather(
            *(
                ask(sessions[n % len(sessions)], "PATCH", path, json={"stock": n}, headers=ADMIN)
                for n in range(writes)
            )
        )
        return created.json()["id"], list(answers)
    finally:
        for session in sessions:
            await session.close()


async def check_all_applied(server: ServerProcess, funko_id: str, answers: list[Answer]) -> None:
    """Every PATCH answered 200 with its own version, and the log holds exactly those."""
    problems = [a for a in answers if a.status != 200]
    assert not problems, f"{len(problems)} not applied, e.g. {problems[0]}"
    versions = sorted(a.json()["version"] for a in answers)
    assert versions == list(range(2, len(answers) + 2))
    async with aiohttp.ClientSession(base_url=server.base) as session:
        logged = [e for e in await events_after(session, 0) if e["funkoId"] == funko_id]
    assert [e["version"] for e in logged] == list(range(1, len(answers) + 2))
    by_version = {a.json()["version"]: a.json()["stock"] for a in answers}
    assert all(e["data"]["stock"] == by_version[e["version"]] for e in logged[1:])


@pytest.mark.parametrize("writes", [100, 300])
async def test_concurrent_patches_of_one_funko_on_one_server_are_all_applied(
    fresh_database: str, servers: StartServer, writes: int
) -> None:
    server = await servers(fresh_database)
    funko_id, answers = await patch_at_once([server], writes)
    await check_all_applied(server, funko_id, answers)


async def test_concurrent_patches_of_one_funko_on_two_servers_are_all_applied(
    fresh_database: str, servers: StartServer
) -> None:
    both = [await servers(fresh_database), await servers(fresh_database)]
    funko_id, answers = await patch_at_once(both, 150)
    await check_all_applied(both[0], funko_id, answers)
