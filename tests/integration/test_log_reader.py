"""The log reader: one read per wake-up, offered to every subscriber, across reconnects."""

import asyncio
from collections.abc import Sequence

import asyncpg

from domain.funko import Funko
from infrastructure.envelopes import Entry
from infrastructure.event_store import EventStore
from infrastructure.log_reader import LogReader
from tests.integration.funko_events import new_fields, pending_event
from tests.support.streams import listen_backends, log_positions
from tests.support.waiting import eventually

QUIET = 60.0  # so only a notification or a reconnect can wake the reader in these tests


class CollectingSubscriber:
    """A fake subscriber: keeps every offered batch."""

    def __init__(self) -> None:
        self.batches: list[list[Entry]] = []

    def offer(self, entries: Sequence[Entry]) -> None:
        self.batches.append(list(entries))

    @property
    def positions(self) -> list[int]:
        return [entry.position for batch in self.batches for entry in batch]


async def append_changes(store: EventStore, count: int) -> list[int]:
    """One new Funko and ``count - 1`` changes to it, one append each; their positions."""
    funko = Funko.register(new_fields())
    positions = await store.append(pending_event(funko))
    for stock in range(2, count + 1):
        funko.amend({"stock": stock})
        positions += await store.append(pending_event(funko))
    return positions


async def test_a_subscriber_is_offered_every_entry_once_in_order_across_a_lost_listen(
    database_url: str, pool: asyncpg.Pool, store: EventStore
) -> None:
    subscriber = CollectingSubscriber()
    async with LogReader(database_url, pool, quiet=QUIET) as reader:
        await eventually(reader.listening.is_set, 5, "listening")
        start = reader.position
        reader.subscribe(subscriber)
        ours = await append_changes(store, 10)
        await eventually(lambda: subscriber.positions[-1:] == ours[-1:], 3, "first entries")

        (killed,) = await listen_backends(pool)
        assert await pool.fetchval("SELECT pg_terminate_backend($1)", killed)
        await eventually(lambda: not reader.listening.is_set(), 3, "the reader notices")
        ours += await append_changes(store, 10)  # while nobody listens
        await eventually(reader.listening.is_set, 5, "listening again")
        assert await listen_backends(pool) not in ([], [killed])
        await eventually(lambda: subscriber.positions[-1:] == ours[-1:], 3, "the missed ones")

        for positions in await asyncio.gather(*(append_changes(store, 5) for _ in range(4))):
            ours += positions
        newest = max(ours)
        await eventually(lambda: subscriber.positions[-1:] == [newest], 3, "live again")
    assert subscriber.positions == await log_positions(pool, start, newest)
    assert sorted(ours) == subscriber.positions


async def test_the_reader_pages_through_a_burst_and_offers_only_what_follows_its_position(
    database_url: str, pool: asyncpg.Pool, store: EventStore
) -> None:
    early = CollectingSubscriber()
    async with LogReader(database_url, pool, page=7, quiet=QUIET) as reader:
        await eventually(reader.listening.is_set, 5, "listening")
        start = reader.position
        reader.subscribe(early)
        burst = [
            p
            for ps in await asyncio.gather(*(append_changes(store, 6) for _ in range(5)))
            for p in ps
        ]
        await eventually(lambda: reader.position == max(burst), 3, "the burst read")
        late = CollectingSubscriber()
        reader.subscribe(late)
        more = await append_changes(store, 3)
        await eventually(lambda: late.positions[-1:] == more[-1:], 3, "the late one served")
        reader.unsubscribe(early)
        last = await append_changes(store, 2)
        await eventually(lambda: late.positions[-1:] == last[-1:], 3, "read after unsubscribe")
        assert reader.subscribers == 1
    assert early.positions == sorted(burst + more) == await log_positions(pool, start, more[-1])
    assert all(len(batch) <= 7 for batch in early.batches)
    assert late.positions == more + last


async def test_the_reader_stops_promptly_when_woken_just_as_it_is_closed(
    database_url: str, pool: asyncpg.Pool
) -> None:
    reader = LogReader(database_url, pool, quiet=QUIET)
    await reader.__aenter__()
    await eventually(reader.listening.is_set, 5, "listening")
    await asyncio.sleep(0.05)  # the reader waits for a wake-up again
    reader.wake()  # a notification lands in the same loop turn as the shutdown
    closing = asyncio.create_task(reader.__aexit__(None, None, None))
    done, _ = await asyncio.wait({closing}, timeout=2)
    if not done:  # cancel once more, so the tasks do not outlive the test
        closing.cancel()
        await asyncio.gather(closing, return_exceptions=True)
    assert done, "the reader swallowed its cancellation and kept running"
