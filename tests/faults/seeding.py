"""Filling a test's database directly, faster than through HTTP."""

from pathlib import Path

from infrastructure import bootstrap
from infrastructure.subscription import PAGE
from tests.support.shop import create_bulky

ENVELOPE = 1300  # bytes, about, of a bulky Funko's event envelope


def outgrowing_socket_buffers() -> int:
    """Bulky events enough that a server whose socket to a reader is full still has a page of
    the log to read: the kernel lets a socket's send buffer grow to tcp_wmem's maximum."""
    most = int(Path("/proc/sys/net/ipv4/tcp_wmem").read_text().split()[2])
    return (most // ENVELOPE // PAGE + 2) * PAGE


async def seed_bulky(url: str, count: int) -> None:
    """``count`` new Funkos with the longest fields, written straight to the log."""
    async with bootstrap.running(url, min_size=1, max_size=4) as parts:
        await create_bulky(parts.service, count, burst=250)
