"""A minimal server-sent events client protocol for the stream benchmarks (stdlib only).

Raw asyncio, like bench.wsframes: one GET, the response head skipped (200 expected), the
chunked body de-chunked (a chunk is taken once it is whole) and split into events at blank
lines. Each event's ``data`` (its ``data:`` lines joined) goes to a callback with the
``time.monotonic()`` of the ``data_received`` call that completed it (one clock read per read
from the socket, not per event). Comments (``:`` lines, the server's heartbeats) and events
without data are skipped; ``event:`` and ``id:`` are not looked at: the data is the envelope
JSON (or ``{"type":"CAUGHT_UP","position":P}``), and its position is all that is needed. The
server ends lines with LF alone, as this parser expects.
"""

import time

from bench.rawclient import OnText, RawClient


class SseClient(RawClient):
    """One event stream; ``opened`` resolves on the 200's head, ``closed`` on connection loss
    (the client hangs up when the server ends the body); ``close_code`` is set (0) when the
    server ended the stream before ``close()``."""

    def __init__(self, host: str, port: int, path: str, on_text: OnText) -> None:
        request = (
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: text/event-stream\r\n"
            "Cache-Control: no-store\r\n\r\n"
        )
        super().__init__(request, b"200", on_text)
        self._body = bytearray()  # the de-chunked body from the end of the last whole event
        self._chunked = self._closing = False

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()
        head = self._head(data)
        if head is None:
            return
        if head:
            self._chunked = b"\r\ntransfer-encoding: chunked" in head.lower()
        if self._chunked:
            try:
                self._dechunk()
            except ValueError as error:
                self._fail(f"bad chunk: {error}")
                return
        else:
            self._body += self._raw
            self._raw.clear()
        self._events(now)

    def _dechunk(self) -> None:
        """Move every whole chunk from the raw buffer to the body."""
        raw, at, size = self._raw, 0, len(self._raw)
        while True:
            eol = raw.find(b"\r\n", at)
            if eol < 0:
                break
            length = int(raw[at:eol].split(b";", 1)[0], 16)
            start = eol + 2
            end = start + length
            if end + 2 > size:
                break  # the chunk (or its CRLF) is still to come
            if length == 0:  # the last chunk: the server ended the body; hang up
                at = size
                self._ended()
                if self._transport is not None:
                    self._transport.close()
                break
            if raw[end : end + 2] != b"\r\n":
                raise ValueError(f"no CRLF after a chunk of {length} bytes")
            self._body += raw[start:end]
            at = end + 2
        if at:
            del raw[:at]

    def _events(self, now: float) -> None:
        body, at = self._body, 0
        while (end := body.find(b"\n\n", at)) >= 0:
            data = [
                line[6:] if line.startswith(b"data: ") else line[5:]
                for line in body[at:end].split(b"\n")
                if line.startswith(b"data:")
            ]
            at = end + 2
            if data:
                self._on_text(bytes(b"\n".join(data)), now)
        if at:
            del body[:at]

    def _ended(self) -> None:
        if not self._closing and self.close_code is None:
            self.close_code = 0

    def abort(self) -> None:
        if self._transport is not None:
            self._closing = True
            self._transport.abort()

    def close(self) -> None:
        """Hang up (an event stream's client just closes its connection)."""
        if self._transport is not None:
            self._closing = True
            self._transport.close()
