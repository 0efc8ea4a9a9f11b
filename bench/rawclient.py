"""What the stream benchmarks' raw clients share (bench.wsframes, bench.sseframes): one HTTP
request written on connecting, the answer's head awaited and checked, then the body handed to
the subclass; ``opened`` resolves on the expected status, ``closed`` on connection loss."""

import asyncio
from collections.abc import Callable
from typing import cast

OnText = Callable[[bytes, float], None]  # a text payload and when it arrived (time.monotonic())


class RawClient(asyncio.Protocol):
    """One connection that sends ``request`` and expects ``status`` (e.g. b"101")."""

    def __init__(self, request: str, status: bytes, on_text: OnText) -> None:
        self._request, self._status, self._on_text = request.encode(), status, on_text
        self._raw = bytearray()  # what has come and is not handled yet
        self._head_read = False
        self._transport: asyncio.Transport | None = None
        loop = asyncio.get_running_loop()
        self.opened: asyncio.Future[None] = loop.create_future()
        self.closed: asyncio.Future[None] = loop.create_future()
        self.close_code: int | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self._transport.write(self._request)

    def _head(self, data: bytes) -> bytes | None:
        """Take ``data`` in; the answer's head once it is whole and has the expected status
        (then ``opened`` resolves), else None (more to come, or the connection failed)."""
        raw = self._raw
        raw += data
        if self._head_read:
            return b""
        end = raw.find(b"\r\n\r\n")
        if end < 0:
            return None
        head = bytes(raw[:end])
        if not head.startswith(b"HTTP/1.1 " + self._status):
            self._fail(head[:200].decode(errors="replace"))
            return None
        del raw[: end + 4]
        self._head_read = True
        self.opened.set_result(None)
        return head

    def _fail(self, why: str) -> None:
        self.abort()
        if not self.opened.done():
            self.opened.set_exception(ConnectionError(why))

    def _ended(self) -> None:
        """The connection is gone (a subclass may note how)."""

    def abort(self) -> None:
        if self._transport is not None:
            self._transport.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        self._ended()
        if not self.opened.done():
            self.opened.set_exception(exc or ConnectionError("closed before the answer"))
        if not self.closed.done():
            self.closed.set_result(None)
