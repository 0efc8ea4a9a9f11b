"""A consumer group member's WebSocket connection for the groups phase (stdlib only).

bench.wsframes' client, with what a member needs beside it: a bearer token on the upgrade, a
call once each read from the socket has been handled (so a member can acknowledge together the
frames that came together), and masked text frames out of any length. A client's frames must
be masked (RFC 6455, 5.3): the payload is XORed with the mask as two big integers, which takes
microseconds where a loop over the bytes would take a millisecond for a large ACK.
"""

import base64
import os
import time
from collections.abc import Callable

from bench.rawclient import OnText, RawClient
from bench.wsframes import WsClient

OnRead = Callable[[float], None]  # a read is handled; when it arrived (time.monotonic())


def ack_frame(positions: list[int]) -> bytes:
    """A member's ACK of ``positions``, as the contract spells it."""
    return b'{"type":"ACK","positions":[' + ",".join(map(str, positions)).encode() + b"]}"


class MemberClient(WsClient):
    """One member's connection; ``opened`` resolves on 101, ``closed`` on connection loss."""

    def __init__(
        self, host: str, port: int, path: str, token: str, on_text: OnText, on_read: OnRead
    ) -> None:
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            f"Authorization: Bearer {token}\r\n\r\n"
        )
        RawClient.__init__(self, request, b"101", on_text)
        self._on_read = on_read

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()
        if self._head(data) is not None:
            self._frames(now)
            self._on_read(now)

    def send_text(self, payload: bytes) -> None:
        """One masked text frame."""
        if self._transport is None or self._transport.is_closing():
            return
        size, mask = len(payload), os.urandom(4)
        if size < 126:
            head = bytes((0x81, 0x80 | size))
        elif size < 1 << 16:
            head = bytes((0x81, 0x80 | 126)) + size.to_bytes(2, "big")
        else:
            head = bytes((0x81, 0x80 | 127)) + size.to_bytes(8, "big")
        key = (mask * (size // 4 + 1))[:size]
        masked = int.from_bytes(payload, "big") ^ int.from_bytes(key, "big")
        self._transport.write(head + mask + masked.to_bytes(size, "big"))
