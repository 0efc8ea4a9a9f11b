"""The member process of the groups phase: N members of one consumer group in one uvloop
process, each a raw WebSocket connection that answers the server's events with ACK frames.

Usage: ``python -m bench.memberclient '<json options>'`` (host, port, path, token, count,
work_ms). It connects ``count`` members and prints one JSON line (connected, failed). A member
acknowledges what it is sent as it comes: with ``work_ms`` 0, the frames that one read from the
socket brought, in one ACK, at once; else one event at a time in the order received, each ACKed
alone after ``work_ms`` of sleep (a handler doing work). It then reads one JSON line on stdin,
``{"expected": [positions…], "sent": [[position, sent at]…]}``, waits until every expected
position is acknowledged (or a timeout), prints a summary and exits: seconds from before the
first connection to the ACK of the last expected position, frames (and the reads that brought
them), repeats, retries, each member's share, and end-to-end latency (first receipt minus send)
of the positions in ``sent``.
Every time is ``time.monotonic()``, the clock the writer process stamps its sends with.
"""

import asyncio
import json
import sys
import time
from typing import Any

import uvloop

from bench.memberframes import MemberClient, ack_frame
from bench.stats import percentile
from bench.subscriber import POSITION, hang_up
from bench.wsclient import emit

WAIT = 180.0  # seconds to wait for the last expected acknowledgement
FIRST_ATTEMPT = b',"attempt":1}'


class Member:
    """One member: what it was sent and when, and when it acknowledged each position."""

    def __init__(self, work_ms: float) -> None:
        self.work = work_ms / 1000
        self.client: MemberClient | None = None
        self.received: dict[int, float] = {}  # position -> first receipt
        self.acked: dict[int, float] = {}  # position -> when its ACK was written
        self.order: list[int] = []  # the positions acknowledged, as they were
        self.frames = self.retried = 0
        self.reads = 0  # reads from the socket that brought frames (~ the server's sends)
        self._counted = 0  # frames when the last read was counted
        self._read: list[int] = []  # this read's positions, ACKed together at its end
        self._todo: asyncio.Queue[int] = asyncio.Queue()

    def on_text(self, payload: bytes, now: float) -> None:
        at = payload.index(POSITION) + len(POSITION)
        position = int(payload[at : payload.index(b",", at)])
        self.frames += 1
        self.retried += not payload.endswith(FIRST_ATTEMPT)
        self.received.setdefault(position, now)
        if self.work:
            self._todo.put_nowait(position)
        else:
            self._read.append(position)

    def on_read(self, now: float) -> None:
        """A read from the socket is handled: ACK what it brought (when not working)."""
        self.reads += self.frames > self._counted
        self._counted = self.frames
        if self._read and self.client is not None:
            self.client.send_text(ack_frame(self._read))
            self.acked.update(dict.fromkeys(self._read, now))
            self.order += self._read
            self._read = []

    async def handle(self) -> None:
        """Work on each event in turn, then ACK it alone (``work_ms`` mode), until cancelled."""
        while True:
            position = await self._todo.get()
            await asyncio.sleep(self.work)
            if self.client is not None:
                self.client.send_text(ack_frame([position]))
                self.acked[position] = time.monotonic()
                self.order.append(position)


async def _connect(options: dict[str, Any], member: Member) -> str:
    """Connect ``member``: '' once upgraded, else what went wrong."""
    host, port = options["host"], int(options["port"])
    loop = asyncio.get_running_loop()
    try:
        _, client = await loop.create_connection(
            lambda: MemberClient(
                host, port, options["path"], options["token"], member.on_text, member.on_read
            ),
            host,
            port,
        )
        member.client = client
        await client.opened
    except OSError as error:
        return repr(error)
    return ""


def summary(
    members: list[Member], began: float, expected: list[int], sent: dict[int, float]
) -> dict[str, Any]:
    """What came and was acknowledged, against ``expected``; latencies of ``sent``."""
    acked: dict[int, float] = {}
    received: dict[int, float] = {}
    for member in members:
        acked.update(member.acked)
        for position, at in member.received.items():
            received[position] = min(at, received.get(position, at))
    missing = [p for p in expected if p not in acked]
    frames = sum(m.frames for m in members)
    latencies = sorted(received[p] - t for p, t in sent.items() if p in received)
    return {
        "frames": frames,
        "distinct": len(received),
        "repeats": frames - len(received),
        "retried": sum(m.retried for m in members),
        "missing": len(missing),
        "unexpected": len(set(received) - set(expected)),
        "per_member": [m.frames for m in members],
        "reads": sum(m.reads for m in members),
        "closed_by_server": [
            m.client.close_code for m in members if m.client and m.client.close_code
        ],
        "seconds": max((acked[p] for p in expected if p in acked), default=began) - began,
        "measured": len(latencies),
        "negative": sum(1 for t in latencies if t < 0),  # would mean the clocks disagree
        "p50_ms": percentile(latencies, 0.50) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "max_ms": (latencies[-1] if latencies else 0.0) * 1000,
    }


async def _acknowledged(members: list[Member], expected: list[int]) -> None:
    """Until every expected position is acknowledged, by whichever member, or WAIT has passed
    (each look takes only the acknowledgements written since the last: cheap while draining)."""
    left, seen = set(expected), [0] * len(members)
    deadline = time.monotonic() + WAIT
    while left and time.monotonic() < deadline:
        for i, member in enumerate(members):
            order = member.order
            left.difference_update(order[seen[i] :])
            seen[i] = len(order)
        await asyncio.sleep(0.01)


async def run(options: dict[str, Any]) -> None:
    members = [Member(float(options.get("work_ms", 0))) for _ in range(int(options["count"]))]
    working = [asyncio.create_task(m.handle()) for m in members if m.work]
    began = time.monotonic()
    failures = [f for f in await asyncio.gather(*(_connect(options, m) for m in members)) if f]
    emit(
        {
            "connected": len(members) - len(failures),
            "failed": len(failures),
            "error_samples": sorted(set(failures))[:5],
            "connect_s": time.monotonic() - began,
        }
    )
    command = json.loads(await asyncio.to_thread(sys.stdin.readline) or "{}")
    expected: list[int] = command.get("expected", [])
    await _acknowledged(members, expected)
    sent = {int(p): float(t) for p, t in command.get("sent", [])}
    emit(summary(members, began, expected, sent))
    for task in working:
        task.cancel()
    await hang_up(member.client for member in members)


def main() -> int:
    uvloop.run(run(json.loads(sys.argv[1])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
