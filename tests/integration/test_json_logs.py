"""The server's logs as an operator collects them: JSON lines, each naming its request."""

import io
import json
import logging
import signal
from pathlib import Path

import aiohttp

from infrastructure import json_logs
from tests.support.servers import start_server


def test_a_line_logged_while_a_request_is_handled_carries_its_id() -> None:
    stream = io.StringIO()
    log = logging.getLogger("funko.test")
    log.addHandler(json_logs.json_handler(stream))
    token = json_logs.REQUEST_ID.set("req-7")
    try:
        log.warning("inside %s", "a request")
    finally:
        json_logs.REQUEST_ID.reset(token)
    log.warning("outside")

    inside, outside = (json.loads(line) for line in stream.getvalue().splitlines())
    assert inside["message"] == "inside a request" and inside["request_id"] == "req-7"
    assert inside["level"] == "WARNING" and inside["logger"] == "funko.test"
    assert inside["timestamp"].endswith("+00:00")
    assert outside["request_id"] is None


async def test_the_server_logs_json_lines_naming_each_request(
    database_url: str, tmp_path: Path
) -> None:
    server = await start_server(database_url, tmp_path / "server.log")
    try:
        async with aiohttp.ClientSession(server.base) as session:
            async with session.get("/health", headers={"X-Request-Id": "ops-1"}) as given:
                assert given.headers["X-Request-Id"] == "ops-1"
            async with session.get("/api/v1/funkos/not-a-uuid") as response:
                assigned = response.headers["X-Request-Id"]
                assert response.status == 400
    finally:
        server.signal(signal.SIGTERM)
        assert await server.exited(within=30) == 0

    text = server.log.read_text()
    lines = [json.loads(line) for line in text.splitlines()]  # every line is JSON
    access = {line["request_id"]: line for line in lines if line["logger"] == "aiohttp.access"}
    assert access["ops-1"]["status"] == 200 and access["ops-1"]["path"] == "/health"
    assert access[assigned]["status"] == 400
    keys = {"timestamp", "level", "logger", "message", "request_id"}
    assert all(keys <= set(line) for line in lines)
    assert any(line["logger"] == "gunicorn.error" for line in lines), "the arbiter's lines too"
