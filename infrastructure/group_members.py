"""A consumer group's members on this process: each takes its next events from PostgreSQL
(group_delivery.py) and hands them to its connection, never holding more than its prefetch.

Nothing is queued in memory: a member holds only the positions it has sent and not heard back
about (at most ``prefetch``), and what it sends next is claimed from the log when it has room.
A member claims when woken: by the log reader (an event committed), by an acknowledgement or
NACK of any member of its group on this process (a Funko may be free again), and every TICK
seconds for what the other processes' members freed or a dead process's leases that ran out.

One keeper task per process renews its members and leases (every lease/3 seconds, so they
outlive a slow renewal but not the process) and moves the checkpoints of the groups whose
members acknowledged something, at most every ADVANCE_EVERY seconds.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence

from infrastructure.database import UNAVAILABLE
from infrastructure.envelopes import Entry
from infrastructure.group_delivery import GroupDelivery

TICK = 0.5  # seconds between claims of an idle member (what other processes freed)
ADVANCE_EVERY = 0.1  # seconds between two moves of a group's checkpoint by this process
Send = Callable[[list[bytes]], Awaitable[None]]
log = logging.getLogger(__name__)


class Member:
    """One connection's membership: claims up to ``prefetch`` unacknowledged events."""

    def __init__(
        self, members: GroupMembers, group: str, name: str, prefetch: int, send: Send
    ) -> None:
        self._members, self.group, self.name, self.prefetch = members, group, name, prefetch
        self._send = send
        self.held: set[int] = set()  # delivered to this member, not yet acknowledged or NACKed
        self._wake = asyncio.Event()

    def offer(self, entries: Sequence[Entry]) -> None:
        """The log reader's wake-up: something committed (what, the claim reads for itself)."""
        self._wake.set()

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        """Claim and send while there is room, until cancelled; GroupNotFound once the group
        is deleted."""
        delivery, ticked = self._members.delivery, True
        while True:
            self._wake.clear()  # before the claim: a wake-up during it is not lost
            room = self.prefetch - len(self.held)
            # Claims are serialised per group: a member claims once a tenth of its prefetch is
            # free (or at a tick), not after every answer, so each claim takes a batch.
            if room >= max(1, self.prefetch // 10) or (room > 0 and ticked):
                claimed = await delivery.claim(self.group, self.name, room)
                if claimed:
                    self.held.update(d.position for d in claimed)
                    self._members.count(self.group, [d.attempt for d in claimed])
                    await self._send([d.envelope.encode() for d in claimed])
            ticked = False
            try:
                async with asyncio.timeout(TICK):
                    await self._wake.wait()
            except TimeoutError:
                ticked = True

    async def ack(self, positions: list[int]) -> None:
        """Acknowledge what this member holds of ``positions``; the rest is ignored."""
        mine = [p for p in positions if p in self.held]
        if mine:
            await self._members.delivery.ack(self.group, self.name, mine)
            self.held.difference_update(mine)  # acknowledged, or taken over after its lease
            self._members.freed(self.group)

    async def nack(self, positions: list[int], reason: str | None) -> None:
        """End the deliveries of what this member holds of ``positions`` unacknowledged."""
        mine = [p for p in positions if p in self.held]
        if mine:
            await self._members.delivery.end(self.group, self.name, mine, reason)
            self.held.difference_update(mine)
            self._members.freed(self.group)


class GroupMembers:
    """This process's members of every group, their renewals and checkpoint moves."""

    def __init__(self, delivery: GroupDelivery) -> None:
        self.delivery = delivery
        self._open: set[Member] = set()
        self._names = itertools.count(1)
        self._dirty: set[str] = set()  # groups whose checkpoint may move
        self._leaving: set[asyncio.Task[None]] = set()
        self.delivered: Counter[str] = Counter()  # deliveries by group, for /metrics
        self.redelivered: Counter[str] = Counter()  # of which a second attempt or later

    async def join(self, group: str, prefetch: int, send: Send) -> Member:
        member = Member(self, group, str(next(self._names)), prefetch, send)
        await self.delivery.join(group, member.name)
        self._open.add(member)
        return member

    def let_go(self, member: Member, running: asyncio.Task[None]) -> asyncio.Task[None]:
        """``member``'s connection has ended: once its ``running`` task has stopped, what it
        held goes to the group's other members (in a task that outlives its handler's)."""
        self._open.discard(member)
        task = asyncio.create_task(self._leave(member, running))
        self._leaving.add(task)
        task.add_done_callback(self._leaving.discard)
        return task

    async def letting_go(self) -> None:
        """Wait for the members that have gone to be let go."""
        await asyncio.gather(*self._leaving, return_exceptions=True)

    async def _leave(self, member: Member, running: asyncio.Task[None]) -> None:
        await asyncio.gather(running, return_exceptions=True)
        try:
            await self.delivery.leave(member.group, member.name)
        except UNAVAILABLE as error:  # its leases run out instead, as if its process had died
            log.warning("a group member could not leave: %s", error)
        self.freed(member.group)

    def count(self, group: str, attempts: list[int]) -> None:
        self.delivered[group] += len(attempts)
        self.redelivered[group] += sum(1 for attempt in attempts if attempt > 1)

    def freed(self, group: str) -> None:
        """Something of ``group`` was acknowledged, NACKed or let go: its members here may take
        the next events of those Funkos, and its checkpoint may move."""
        self._dirty.add(group)
        for member in self._open:
            if member.group == group:
                member.wake()

    async def keep(self) -> None:
        """Renew this process's members and leases, and move checkpoints, until cancelled; a
        database that does not answer is tried again at the next turn."""
        renew_every = self.delivery.lease / 3
        loop = asyncio.get_running_loop()
        renew_at = loop.time()
        while True:
            await asyncio.sleep(ADVANCE_EVERY)
            try:
                if loop.time() >= renew_at:
                    await self.delivery.renew()
                    renew_at = loop.time() + renew_every
                await self._advance()
            except UNAVAILABLE as error:
                log.warning("consumer groups' keeper: %s; trying again", error)
            except Exception:  # a bug: logged, and the keeper goes on
                log.exception("consumer groups' keeper failed; trying again")

    async def _advance(self) -> None:
        dirty, self._dirty = self._dirty, set()
        try:
            for group in list(dirty):
                await self.delivery.advance(group)
                dirty.discard(group)
        finally:
            self._dirty |= dirty  # what was not moved, next turn
