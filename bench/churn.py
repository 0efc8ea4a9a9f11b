"""A steady writer: creates and stock changes of Funkos at a fixed rate, until told to stop.

``python -m bench.churn '<json options>'`` (host, port, token, rate) writes in a process of its
own, so the bench's loop and the load generators cannot hold up its schedule: write i is sent
at ``start + i / rate``, every PATCH_EVERY-th a PATCH of the stock of a Funko (one of the
catalog's first page, or one it created), the others a POST of a new Funko. It stops when a
line (or EOF) comes on stdin and prints one JSON line: its writes, errors, answer times and the
last log position a write answered.
"""

import asyncio
import json
import random
import sys
import time
from typing import Any

import aiohttp
import uvloop

from bench.funkos import random_body
from bench.stats import percentile

PATH = "/api/v1/funkos"
PATCH_EVERY = 2  # one write in two changes a Funko that exists; the others create one
CONNECTIONS = 16


class Churn:
    """Writes on one server, and what came of them."""

    def __init__(self, session: aiohttp.ClientSession, base: str, funkos: list[str]) -> None:
        self.session, self.url, self.funkos = session, f"{base}{PATH}", funkos
        self.latencies: list[float] = []
        self.errors: list[str] = []
        self.posts = self.patches = self.position = 0

    async def write(self, i: int) -> None:
        patch = i % PATCH_EVERY == PATCH_EVERY - 1 and bool(self.funkos)
        started = time.monotonic()
        try:
            if patch:
                url, body = f"{self.url}/{random.choice(self.funkos)}", {"stock": i % 1000}
                answer = self.session.patch(url, json=body)
            else:
                answer = self.session.post(self.url, data=random_body())
            async with answer as response:
                document = await response.json(content_type=None)
                self._answered(response, document, 200 if patch else 201)
        except (aiohttp.ClientError, TimeoutError, ValueError) as error:
            self.errors.append(repr(error))
            return
        self.latencies.append(time.monotonic() - started)

    def _answered(self, response: aiohttp.ClientResponse, document: Any, status: int) -> None:
        if response.status != status:
            self.errors.append(f"{response.method} {response.status} {str(document)[:200]}")
            return
        self.position = max(self.position, int(response.headers["X-Log-Position"]))
        if status == 201:
            self.posts += 1
            self.funkos.append(document["id"])
        else:
            self.patches += 1


async def _first_page(session: aiohttp.ClientSession, base: str) -> list[str]:
    async with session.get(f"{base}{PATH}?size=100") as response:
        return [funko["id"] for funko in (await response.json())["content"]]


async def churn(host: str, port: int, token: str, rate: float) -> dict[str, Any]:
    """Write at ``rate`` per second until stdin has a line or ends; what came of it."""
    base = f"http://{host}:{port}"
    headers = {"Authorization": f"Bearer {token}"}
    connector = aiohttp.TCPConnector(limit=CONNECTIONS)
    async with aiohttp.ClientSession(headers=headers, connector=connector) as session:
        writer = Churn(session, base, await _first_page(session, base))
        print(json.dumps({"writing": True}), flush=True)
        stop = asyncio.ensure_future(asyncio.to_thread(sys.stdin.readline))
        tasks: set[asyncio.Task[None]] = set()
        began, sent = time.monotonic(), 0
        while not stop.done():
            await asyncio.wait([stop], timeout=max(0.0, began + sent / rate - time.monotonic()))
            if stop.done():
                break
            task = asyncio.create_task(writer.write(sent))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            sent += 1
        sending = time.monotonic() - began
        await asyncio.gather(*tasks)
    latencies = sorted(writer.latencies)
    return {
        "sent": sent,
        "rate": sent / sending if sending else 0.0,
        "posts": writer.posts,
        "patches": writer.patches,
        "position": writer.position,
        "p50_ms": percentile(latencies, 0.50) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "errors": len(writer.errors),
        "error_samples": sorted(set(writer.errors))[:5],
    }


async def _main(options: dict[str, Any]) -> None:
    report = await churn(
        options["host"], int(options["port"]), options["token"], float(options["rate"])
    )
    print(json.dumps(report), flush=True)


def main() -> int:
    uvloop.run(_main(json.loads(sys.argv[1])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
