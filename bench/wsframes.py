"""A minimal WebSocket client protocol for the stream benchmarks (stdlib only).

Raw asyncio: one handshake, then unmasked server frames parsed in place; text payloads go to
a callback with the ``time.monotonic()`` of the ``data_received`` call that completed them
(one clock read per read from the socket, not per frame). Pings are answered, a close is noted.
Server frames are never fragmented by aiohttp, so continuation frames are not handled.
"""

import base64
import os
import time

from bench.rawclient import OnText, RawClient

__all__ = ["OnText", "WsClient"]


class WsClient(RawClient):
    """One WebSocket connection; ``opened`` resolves on 101, ``closed`` on connection loss."""

    def __init__(self, host: str, port: int, path: str, on_text: OnText) -> None:
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        super().__init__(request, b"101", on_text)

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()
        if self._head(data) is not None:
            self._frames(now)

    def _frames(self, now: float) -> None:
        buffer, at, size = self._raw, 0, len(self._raw)
        while size - at >= 2:
            opcode, length, head = buffer[at] & 0x0F, buffer[at + 1] & 0x7F, 2
            if length == 126:
                if size - at < 4:
                    break
                length, head = int.from_bytes(buffer[at + 2 : at + 4], "big"), 4
            elif length == 127:
                if size - at < 10:
                    break
                length, head = int.from_bytes(buffer[at + 2 : at + 10], "big"), 10
            end = at + head + length
            if end > size:
                break
            payload = bytes(buffer[at + head : end])
            at = end
            if opcode == 0x1:
                self._on_text(payload, now)
            elif opcode == 0x9:
                self._send(0xA, payload)
            elif opcode == 0x8:
                self.close_code = int.from_bytes(payload[:2], "big") if payload else 1005
        if at:
            del buffer[:at]

    def _send(self, opcode: int, payload: bytes) -> None:
        """A masked control frame (payload ≤ 125 bytes, as control frames are)."""
        if self._transport is None or self._transport.is_closing():
            return
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self._transport.write(bytes((0x80 | opcode, 0x80 | len(payload))) + mask + masked)

    def close(self) -> None:
        """Send a close frame (1000) and let the server drop the connection."""
        self._send(0x8, (1000).to_bytes(2, "big"))
