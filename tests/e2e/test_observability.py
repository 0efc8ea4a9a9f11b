"""What an operator sees: /metrics counts what happened, every response names its request."""

import asyncio

from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.conftest import StartServer
from tests.e2e.rest import Client, send
from tests.support.shop import FUNKOS, funko_fields
from tests.support.streams import Listener
from tests.support.tokens import ADMIN, AUDITOR
from tests.support.waiting import eventually
from web.keys import SUBSCRIBERS


async def scrape(client: Client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of /metrics, keyed by name and sorted labels."""
    response = await client.get("/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(await response.text()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


async def test_metrics_count_the_commands_this_process_handled(client: Client) -> None:
    before = await scrape(client)
    for _ in range(3):
        assert (await send(client, "POST", FUNKOS, funko_fields())).status == 201
    assert (await send(client, "POST", FUNKOS, funko_fields(price=-1))).status == 400
    after = await scrape(client)

    appended = ("funko_events_appended_total", ())
    assert after[appended] - before.get(appended, 0) == 3
    created = ("funko_command_seconds_count", (("command", "create"), ("status", "201")))
    refused = ("funko_command_seconds_count", (("command", "create"), ("status", "400")))
    assert after[created] - before.get(created, 0) == 3
    assert after[refused] - before.get(refused, 0) == 1
    assert after[("funko_database_up", ())] == 1
    head = after[("funko_log_position", (("of", "head"),))]
    assert after[("funko_log_position", (("of", "projection"),))] == head
    assert after[("funko_lag_seconds", (("of", "projection"),))] == 0


async def test_metrics_follow_subscribers_and_their_frames(client: Client) -> None:
    listener = await Listener.connect(client)  # live only: CAUGHT_UP first
    for _ in range(3):
        assert (await send(client, "POST", FUNKOS, funko_fields())).status == 201
    await listener.count(3)

    during = await scrape(client)
    assert during[("funko_ws_subscribers", ())] == 1
    assert during[("funko_ws_frames_sent_total", ())] == 1 + len(listener.events)
    await listener.close()

    closes = ("funko_ws_closes_total", (("code", "client"),))
    for _ in range(100):  # the server notices the close frame in its own time
        after = await scrape(client)
        if after.get(closes) == 1:
            break
        await asyncio.sleep(0.05)
    assert after.get(closes) == 1
    assert after[("funko_ws_subscribers", ())] == 0
    assert after[("funko_ws_frames_sent_total", ())] == during[("funko_ws_frames_sent_total", ())]


async def test_close_codes_clients_choose_are_one_label(client: Client) -> None:
    codes = [1000, 1001, 3000, 3999, 4000, 4008, 4999]  # 4008 too: a client can send ours
    for code in codes:
        listener = await Listener.connect(client)
        await listener.reach(0)
        await listener.ws.close(code=code)
        await listener.ended(within=5)
    await eventually(lambda: len(client.app[SUBSCRIBERS]) == 0, 5, "all let go")

    series = {labels for name, labels in (await scrape(client)) if name == "funko_ws_closes_total"}
    assert series == {(("code", "client"),)}, series
    assert (await scrape(client))[("funko_ws_closes_total", (("code", "client"),))] == len(codes)


async def test_every_response_names_its_request(start_server: StartServer) -> None:
    client = await start_server()
    given = await client.get("/health", headers={"X-Request-Id": "trace-42.a:b"})
    assert given.headers["X-Request-Id"] == "trace-42.a:b"

    for unsafe in ("has spaces", "x" * 129, "semi;colon", ""):
        response = await client.get("/health", headers={"X-Request-Id": unsafe})
        assert response.headers["X-Request-Id"] not in (unsafe, "")
        assert len(response.headers["X-Request-Id"]) == 32

    problem = await send(client, "POST", FUNKOS, "{", headers=ADMIN)
    missing = await client.get("/no/such/route")
    stream = await client.get(
        "/api/v1/events", headers={**AUDITOR, "Accept": "application/x-ndjson"}
    )
    await stream.read()
    socket = await client.ws_connect("/ws/v1/funkos")
    ids = {r.headers.get("X-Request-Id") for r in (problem, missing, stream, socket._response)}
    await socket.close()
    assert None not in ids and len(ids) == 4
