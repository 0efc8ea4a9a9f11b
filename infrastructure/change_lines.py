"""Changes of one Funko, applied one after the other in this process.

Invariant: a change is applied to the state that the change before it left, so concurrent
changes of one Funko are all applied, none is lost, and none is computed on a state the log
never held. Whoever finds no line for a Funko opens one, and a task works through it in
rounds: load the Funko (or keep the one the last round left, if all of that round was
logged), apply every waiting change in arrival order, and queue their events for the log at
once, each after the one before (see ``EventStore.append``'s ``after``). So they commit in one
batch, and none is accepted unless the one before it is. A change the aggregate refuses fails
alone. A change that conflicts (another process wrote first, or the change before it was given
up) goes, with those after it, to the next round, which loads the Funko afresh.
"""

import asyncio
from collections.abc import Awaitable, Callable, Generator
from dataclasses import dataclass
from functools import partial
from typing import Protocol
from uuid import UUID

from domain.funko import Funko
from domain.ports import (
    Command,
    IdempotencyKey,
    Recorded,
    TooMuchContention,
    VersionConflict,
)

# Rounds a change may lose in a row; each lost round means another process wrote this Funko.
MAX_ATTEMPTS = 200


class Saving(Protocol):
    """A Funko's pending event, queued for the log; awaiting it gives where it went."""

    def __await__(self) -> Generator[object, None, Recorded]: ...

    def cancel(self) -> None: ...


Load = Callable[[UUID], Awaitable[Funko]]
# Queue the event the Funko has pending, by an actor, with its request's key (or None), after
# another save (or None).
Queue = Callable[[Funko, str, IdempotencyKey | None, Saving | None], Saving]


@dataclass(eq=False)
class _Change:
    actor: str
    command: Command
    key: IdempotencyKey | None
    outcome: "asyncio.Future[Recorded]"
    attempts: int = 0

    def fail(self, error: BaseException) -> None:
        if not self.outcome.done():
            self.outcome.set_exception(error)


class ChangeLines:
    """One line of waiting changes per Funko being changed in this process."""

    def __init__(self, load: Load, queue: Queue, attempts: int = MAX_ATTEMPTS) -> None:
        self._load, self._queue, self._attempts = load, queue, attempts
        self._lines: dict[UUID, list[_Change]] = {}
        self._workers: set[asyncio.Task[None]] = set()

    async def change(
        self, funko_id: UUID, actor: str, command: Command, key: IdempotencyKey | None = None
    ) -> Recorded:
        """Apply ``command`` in its turn and log its event (FunkoRepository.change)."""
        outcome = asyncio.get_running_loop().create_future()
        change = _Change(actor, command, key, outcome)
        line = self._lines.get(funko_id)
        if line is None:
            line = self._lines[funko_id] = []
            worker = asyncio.create_task(self._work_through(funko_id, line))
            self._workers.add(worker)
            worker.add_done_callback(self._workers.discard)
        line.append(change)
        return await change.outcome

    async def _work_through(self, funko_id: UUID, line: list[_Change]) -> None:
        funko: Funko | None = None
        changes: list[_Change] = []
        try:
            while line:
                changes = line[:]
                line.clear()
                retry, funko = await self._round(funko_id, changes, funko)
                line[:0] = retry
        except BaseException as error:  # cancelled (shutdown): nobody may wait for ever
            for change in changes + line:
                change.fail(error)
            raise
        finally:
            del self._lines[funko_id]

    async def _round(
        self, funko_id: UUID, changes: list[_Change], funko: Funko | None
    ) -> tuple[list[_Change], Funko | None]:
        """Apply and log ``changes``; those to try again, and the Funko if it is as logged."""
        if funko is None:
            try:
                funko = await self._load(funko_id)
            except Exception as error:  # not found, or the database: each caller hears it
                for change in changes:
                    change.fail(error)
                return [], None
        queued: list[tuple[_Change, Saving]] = []
        previous: Saving | None = None
        for index, change in enumerate(changes):
            if change.outcome.done():  # its caller gave up
                continue
            version = funko.version
            try:
                change.command(funko)
                saving = self._queue(funko, change.actor, change.key, previous)
            except Exception as error:
                change.fail(error)
                if funko.version != version:  # state moved before the failure: reload
                    retry, _ = await self._settle(queued)
                    return retry + changes[index + 1 :], None
                continue
            previous = saving
            change.outcome.add_done_callback(partial(_abandon, saving))
            queued.append((change, saving))
        retry, logged = await self._settle(queued)
        return retry, funko if logged else None

    async def _settle(self, queued: list[tuple[_Change, Saving]]) -> tuple[list[_Change], bool]:
        """Hand each queued change its outcome; those to try again, and whether all logged."""
        retry: list[_Change] = []
        logged = True
        for change, saving in queued:
            try:
                recorded = await saving
            except VersionConflict:
                logged = False
                change.attempts += 1
                if change.attempts < self._attempts:
                    retry.append(change)
                else:
                    change.fail(TooMuchContention("other writers kept changing this Funko"))
            except asyncio.CancelledError:
                logged = False
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    raise  # this worker is being cancelled, not a caller that gave up
            except Exception as error:
                logged = False
                change.fail(error)
            else:
                if not change.outcome.done():
                    change.outcome.set_result(recorded)
        return retry, logged


def _abandon(saving: Saving, outcome: "asyncio.Future[Recorded]") -> None:
    # A caller that gives up (its request's deadline passed) must not have its change logged
    # later: the store skips a cancelled command unless its commit is already under way.
    if outcome.cancelled():
        saving.cancel()
