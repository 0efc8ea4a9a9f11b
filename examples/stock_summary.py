r"""Each category's stock (total, number of Funkos), kept by a member of a consumer group: every
event counts once, however often it is delivered and however often this process restarts.

The state file holds, per Funko, the version, category and stock of the newest event applied;
an event is applied only if its version is newer (so a redelivery changes nothing; a deleted
Funko keeps its version, category null), and the file is replaced whole (temp file, then
os.replace) before the events are ACKed, so a crash loses only what the group will resend.
It prints the summary (a JSON line) when it changes, and connects again, with backoff, when
the connection drops or the server goes away (1001).

Create the group once, from the start of the log (admin token); run this with a consumer token:
  curl -X PUT localhost:8080/api/v1/groups/stock-summary -H "Authorization: Bearer $ADMIN" \
       -H 'Content-Type: application/json' -d '{"startAfter": 0}'
  FUNKO_TOKEN=$(.venv/bin/python run.py token --role consumer --sub stock) \
      .venv/bin/python examples/stock_summary.py [--url URL] [--group NAME] [--state FILE]
"""

import argparse
import asyncio
import json
import os
import sys
from argparse import RawTextHelpFormatter
from pathlib import Path
from typing import Any

import aiohttp

Funkos = dict[str, dict[str, Any]]  # funkoId -> {"version", "category", "stock"}
BURST = 0.01  # seconds: frames that come this close together are applied as one batch
GIVE_UP = {401: "token refused", 403: "not a consumer token", 404: "no such group (see --help)"}


def load(path: Path) -> Funkos:
    return json.loads(path.read_text()) if path.exists() else {}


def save(path: Path, funkos: Funkos) -> None:
    """Replace the file whole: a crash leaves the old state or the new one, never half."""
    temporary = path.with_name(path.name + ".tmp")
    with temporary.open("w") as out:
        json.dump(funkos, out)
        out.flush()
        os.fsync(out.fileno())
    os.replace(temporary, path)


def apply(funkos: Funkos, event: dict[str, Any]) -> None:
    """The Funko as ``event`` left it, unless what is stored is as new (a redelivery)."""
    known = funkos.get(event["funkoId"])
    if known is not None and known["version"] >= event["version"]:
        return
    data, live = event["data"], event["type"] != "DELETE"
    category, stock = (data["category"], data["stock"]) if live else (None, 0)
    funkos[event["funkoId"]] = {"version": event["version"], "category": category, "stock": stock}


def summary(funkos: Funkos) -> dict[str, dict[str, int]]:
    """Category -> {"stock": total, "count": Funkos}, live Funkos only."""
    totals: dict[str, dict[str, int]] = {}
    for funko in funkos.values():
        if funko["category"] is not None:
            total = totals.setdefault(funko["category"], {"stock": 0, "count": 0})
            total["stock"] += funko["stock"]
            total["count"] += 1
    return dict(sorted(totals.items()))


async def arrived(ws: aiohttp.ClientWebSocketResponse) -> list[dict[str, Any]]:
    """The events that have come (one awaited, then those right behind it); none at the end."""
    events: list[dict[str, Any]] = []
    message = await ws.receive()
    while message.type is aiohttp.WSMsgType.TEXT:
        events.append(json.loads(message.data))
        try:
            message = await ws.receive(timeout=BURST)
        except TimeoutError:
            break
    return events


async def consume(ws: aiohttp.ClientWebSocketResponse, state: Path, funkos: Funkos) -> None:
    """Apply, save, then acknowledge each batch, until the connection ends."""
    shown = summary(funkos)
    while events := await arrived(ws):
        for event in events:
            apply(funkos, event)
        save(state, funkos)  # before the ACK: what is acknowledged is on disk
        await ws.send_json({"type": "ACK", "positions": [e["position"] for e in events]})
        if (now := summary(funkos)) != shown:
            print(json.dumps(now), flush=True)
            shown = now


async def run(url: str, token: str, group: str, state: Path, prefetch: int) -> None:
    """Be a member of ``group`` until stopped, connecting again whenever a connection ends."""
    funkos, backoff = load(state), 1.0
    members = f"{url}/ws/v1/groups/{group}?prefetch={prefetch}"
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as session:
        while True:
            try:
                async with session.ws_connect(members, heartbeat=30) as ws:
                    backoff = 1.0
                    await consume(ws, state, funkos)
                reason = f"closed with {ws.close_code}"  # 1001: the server is going away
            except aiohttp.WSServerHandshakeError as error:
                if error.status in GIVE_UP:  # trying again will not help
                    raise SystemExit(f"{members}: {error.status} {GIVE_UP[error.status]}") from None
                reason = str(error)
            except aiohttp.ClientError as error:
                reason = str(error) or type(error).__name__
            print(f"# {reason}; connecting again in {backoff:.0f} s", file=sys.stderr, flush=True)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 30)


if __name__ == "__main__":
    options = argparse.ArgumentParser(description=__doc__, formatter_class=RawTextHelpFormatter)
    options.add_argument("--url", default="http://127.0.0.1:8080")
    options.add_argument("--group", default="stock-summary")
    options.add_argument("--state", type=Path, default=Path("stock-summary.json"))
    options.add_argument("--prefetch", type=int, default=100)
    given, token = options.parse_args(), os.environ.get("FUNKO_TOKEN")
    if not token:
        options.error("FUNKO_TOKEN must hold a token (run.py token --role consumer)")
    asyncio.run(run(given.url, token, given.group, given.state, given.prefetch))
