"""Subscribers that stop reading: sockets small enough to push back on a server soon, and a
peer that opens the stream by hand and then reads nothing until the test says so."""

import asyncio
import base64
import os
import socket
from typing import Any

from tests.support.shop import decode
from tests.support.streams import SSE, WS, Frame

ESTABLISHED = 1  # tcpi_state in Linux's struct tcp_info


def tiny_socket(addr_info: Any) -> socket.socket:
    """A TCP socket with small buffers and segments, so a client that reads slowly pushes back."""
    family, kind, proto = addr_info[0], addr_info[1], addr_info[2]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, 536)
    return sock


def parse_frames(data: bytes) -> tuple[list[Frame], int | None]:
    """The server's (unmasked, unfragmented) text frames in ``data``, and its close code."""
    frames: list[Frame] = []
    code, at = None, 0
    while at + 2 <= len(data):
        opcode, length, at = data[at] & 0x0F, data[at + 1] & 0x7F, at + 2
        if length >= 126:
            size = 2 if length == 126 else 8
            length, at = int.from_bytes(data[at : at + size], "big"), at + size
        payload, at = data[at : at + length], at + length
        if len(payload) < length:
            break  # cut short by the server dropping the connection
        if opcode == 0x1:
            frames.append(decode(payload.decode()))
        elif opcode == 0x8:
            code = int.from_bytes(payload[:2], "big")
    return frames, code


class StalledPeer:
    """A WebSocket (or server-sent events) client that opens the stream by hand, then stops
    reading."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    @classmethod
    async def connect(cls, host: str, port: int, path: str = WS) -> "StalledPeer":
        key = base64.b64encode(os.urandom(16)).decode()
        handshake = (
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        return await cls._opened(host, port, handshake, b"HTTP/1.1 101 ")

    @classmethod
    async def event_stream(cls, host: str, port: int) -> "StalledPeer":
        """The same on GET /api/v1/stream (server-sent events)."""
        request = f"GET {SSE} HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: text/event-stream\r\n\r\n"
        return await cls._opened(host, port, request, b"HTTP/1.1 200 ")

    @classmethod
    async def _opened(cls, host: str, port: int, request: str, status: bytes) -> "StalledPeer":
        loop = asyncio.get_running_loop()
        sock = tiny_socket((socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP))
        sock.setblocking(False)
        await loop.sock_connect(sock, (host, port))
        await loop.sock_sendall(sock, request.encode())
        answer = b""
        while not answer.endswith(b"\r\n\r\n"):
            answer += await loop.sock_recv(sock, 1)
        assert answer.startswith(status), answer
        return cls(sock)

    def dropped(self) -> bool:
        """Whether the server has closed or reset the connection, seen without reading."""
        return self.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 8)[0] != ESTABLISHED

    async def read_to_end(self, within: float) -> tuple[list[Frame], int | None]:
        """Read again, to the end: what the server had sent, and the close code it gave."""
        loop = asyncio.get_running_loop()
        data = b""
        try:
            async with asyncio.timeout(within):
                while chunk := await loop.sock_recv(self.sock, 65536):
                    data += chunk
        except ConnectionResetError:
            pass
        except TimeoutError:
            raise AssertionError(f"the server kept the connection open {within} s") from None
        finally:
            self.sock.close()
        return parse_frames(data)
