"""Ports of 127.0.0.1 for the servers tests start: any free one, or one that stays free."""

import random
import socket
from pathlib import Path


def free_port() -> int:
    """A port nothing listens on now (the kernel's pick, so from the ephemeral range)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def steady_port() -> int:
    """A free port below the ephemeral range: while its server is stopped, no outgoing
    connection can be given it as its local port, so it is still free for the restart."""
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    for _ in range(100):
        port = random.randrange(10_000, max(low, 10_001))
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    return free_port()
