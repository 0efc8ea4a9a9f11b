"""Print every Funko event from a position on, then live; on a drop, resume where it left off.

.venv/bin/python examples/tail.py [AFTER] [URL]
"""

import asyncio
import json
import sys

import aiohttp


async def tail(after: int, url: str) -> None:
    async with aiohttp.ClientSession() as session:
        while True:
            try:
                async with session.ws_connect(f"{url}/ws/v1/funkos?after={after}") as ws:
                    async for message in ws:
                        frame = json.loads(message.data)
                        print(json.dumps(frame), flush=True)
                        after = frame["position"]  # CAUGHT_UP's too: all up to it was sent
            except aiohttp.ClientError as error:
                print(f"# dropped ({error}); resuming after {after}", file=sys.stderr)
            await asyncio.sleep(1)


if __name__ == "__main__":
    start = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    asyncio.run(tail(start, sys.argv[2] if len(sys.argv) > 2 else "http://127.0.0.1:8080"))
