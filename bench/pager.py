"""The replay baseline: a bare asyncpg keyset loop over the log, each page fetched and dropped.

``python -m bench.pager URL AFTER`` prints how many events it paged after position AFTER.
"""

import asyncio
import sys

import asyncpg

PAGE = 1000
QUERY = f"SELECT * FROM events WHERE position > $1 ORDER BY position LIMIT {PAGE}"


async def page_through(url: str, after: int) -> int:
    """The number of events after ``after``, every row fetched and discarded."""
    conn = await asyncpg.connect(url)
    try:
        count = 0
        while rows := await conn.fetch(QUERY, after):
            count += len(rows)
            after = rows[-1]["position"]
        return count
    finally:
        await conn.close()


if __name__ == "__main__":
    print(asyncio.run(page_through(sys.argv[1], int(sys.argv[2]))))
