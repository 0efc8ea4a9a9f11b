"""Waiting in tests for something that happens in the background."""

import asyncio
from collections.abc import Callable


async def eventually(done: Callable[[], bool], within: float, what: str) -> None:
    """Wait until ``done()`` holds, polling; fail naming ``what`` after ``within`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not done():
        assert loop.time() < deadline, f"not within {within} s: {what}"
        await asyncio.sleep(0.005)
