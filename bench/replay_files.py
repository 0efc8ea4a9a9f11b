"""Replay files made up for the growth phase: lines exactly as ``run.py replay`` writes them,
so ``run.py restore`` takes them, written with plain string formatting (no Mapper, no JSON
encoder) at a few hundred thousand lines a second.

A log of ``events`` holds: the long-history Funko (its CREATE at position 1, then stock
changes spread over the whole log), ``events // 10`` live Funkos in all, ``events // 1000``
more created and later deleted, and stock or price changes of live Funkos for the rest. Every
Funko's data is what the service would serve after the event; prices are spelt as the service
spells them (orjson's shortest float: 10.0, 12.5, 0.1), times with microseconds and "Z". Five
live Funkos carry the word RARE in their name at any size. Deterministic for a seed.
"""

import random
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import IO

from bench.funkos import CATEGORIES, WORDS

LONG_HISTORY = 10_000
RARE = "Zyzzyva"  # in no other name, nor inside one
RARE_COUNT = 5
PRICE_CENTS = (100, 100_000)  # 1.00 to 999.99: a range 9.99 wide holds about 1% of them
START = datetime(2026, 1, 1, tzinfo=UTC)
ACTORS = ("alice", "bob", "carol", "bench")
CHUNK = 10_000  # lines a write


@dataclass(frozen=True)
class Shape:
    """How many events of each kind a log holds (they add up to ``events``)."""

    events: int
    long_history: int
    live: int  # live Funkos besides the long-history one
    deleted: int  # Funkos created, then deleted
    updates: int  # of live Funkos besides the long-history one

    @classmethod
    def of(cls, events: int, long_history: int = LONG_HISTORY) -> "Shape":
        live, deleted = max(1, events // 10 - 1), events // 1000
        updates = events - long_history - live - 2 * deleted
        if updates < 0:
            raise ValueError(f"{events} events cannot hold a {long_history}-event history")
        return cls(events, long_history, live, deleted, updates)


@dataclass(frozen=True)
class Written:
    """What a generated log holds that the bench asks about."""

    events: int
    long_funko: str  # the id of the long-history Funko
    live: int  # live Funkos, the long-history one included
    rare: int  # live Funkos with RARE in their name


class _Clock:
    """Event times as the contract spells them: a millisecond apart, microseconds that vary,
    always growing; formatted without strftime, the seconds' text made once a second."""

    def __init__(self) -> None:
        self._second, self._text = -1, ""

    def at(self, position: int) -> str:
        second, milli = divmod(position, 1000)
        if second != self._second:
            moment = START + timedelta(seconds=second)
            self._second, self._text = second, moment.strftime("%Y-%m-%dT%H:%M:%S")
        return f"{self._text}.{milli:03d}{position * 7 % 1000:03d}Z"


class _Funko:
    """A Funko as served, its text that never changes kept in two pieces."""

    __slots__ = ("cents", "created", "head", "id", "middle", "stock", "version")

    def __init__(self, funko_id: str, name: str, image: str, category: str, at: str) -> None:
        self.id, self.created, self.version = funko_id, at, 1
        self.head = f'{{"id":"{funko_id}","name":"{name}","price":'
        self.middle = f',"image":{image},"category":"{category}","version":'
        self.cents = self.stock = 0


def _price(cents: int) -> str:
    return repr(cents / 100)  # orjson writes a price's float the same way: shortest


def _id_prefix(rng: random.Random) -> str:
    """The first 24 characters of every id in a log (its Funkos are numbered after them)."""
    return f"{rng.getrandbits(32):08x}-{rng.getrandbits(16):04x}-4000-8000-"


def long_funko(seed: int) -> str:
    """The id of the long-history Funko in the log made with ``seed`` (the first created)."""
    return f"{_id_prefix(random.Random(seed))}{0:012x}"


class _Log:
    """The lines of one log, position by position. (Written for speed: an update's line is
    one f-string, random numbers are scaled from random(), not randrange's.)"""

    def __init__(self, shape: Shape, seed: int) -> None:
        self.rng, self.clock, self.position = random.Random(seed), _Clock(), 0
        self.prefix = _id_prefix(self.rng)
        self.created, self.rare = 0, 0
        self.rare_every = max(1, shape.live // RARE_COUNT)
        self.live: list[_Funko] = []  # besides the long-history one
        self.doomed: deque[_Funko] = deque()  # created, to be deleted

    def _line(self, kind: str, funko: _Funko, changes: str) -> str:
        self.position = position = self.position + 1
        at = self.clock.at(position)
        return (
            f'{{"entity":"FUNKOS","type":"{kind}","position":{position}'
            f',"funkoId":"{funko.id}","version":{funko.version},"data":{funko.head}'
            f'{_price(funko.cents)},"stock":{funko.stock}{funko.middle}{funko.version}'
            f',"createdAt":"{funko.created}","updatedAt":"{at}"}},"changes":{changes}'
            f',"createdAt":"{at}","actor":"{ACTORS[position & 3]}"}}'
        )

    def create(self, rare: bool = False) -> tuple[_Funko, str]:
        rng, number = self.rng, self.created
        self.created += 1
        name = f"{rng.choice(WORDS)} {RARE if rare else rng.choice(WORDS)} #{number}"
        image = "null" if number % 4 == 0 else f'"https://images.example.com/funko/{number}.png"'
        category = rng.choice(CATEGORIES)
        at = self.clock.at(self.position + 1)
        funko = _Funko(f"{self.prefix}{number:012x}", name, image, category, at)
        funko.cents = PRICE_CENTS[0] + int(rng.random() * (PRICE_CENTS[1] - PRICE_CENTS[0]))
        funko.stock = int(rng.random() * 1000)
        changes = (
            f'{{"name":"{name}","price":{_price(funko.cents)},"stock":{funko.stock}'
            f',"image":{image},"category":"{category}"}}'
        )
        return funko, self._line("CREATE", funko, changes)

    def create_live(self) -> str:
        rare = len(self.live) % self.rare_every == 0 and self.rare < RARE_COUNT
        self.rare += rare
        funko, line = self.create(rare)
        self.live.append(funko)
        return line

    def create_doomed(self) -> str:
        funko, line = self.create()
        self.doomed.append(funko)
        return line

    def update(self, funko: _Funko, draw: float) -> str:
        """A change of stock, or of price (one in five) when ``draw`` (in [0, 1)) says so."""
        funko.version += 1
        if draw < 0.2:
            funko.cents = PRICE_CENTS[0] + int(draw * 5 * (PRICE_CENTS[1] - PRICE_CENTS[0]))
            return self._line("UPDATE", funko, f'{{"price":{_price(funko.cents)}}}')
        funko.stock = int((draw - 0.2) * 1250)
        return self._line("UPDATE", funko, f'{{"stock":{funko.stock}}}')

    def delete(self) -> str:
        funko = self.doomed.popleft()
        funko.version += 1
        return self._line("DELETE", funko, "{}")


def lines(shape: Shape, seed: int = 15) -> Iterator[str]:
    """Every line of the log ``shape`` describes, without its newline, in position order.

    Each kind of event is drawn in proportion to how many of it are left, so each is spread
    evenly over the log; an update waits for a live Funko, a delete for a doomed one."""
    log = _Log(shape, seed)
    long, first = log.create()
    yield first
    # updates, the long history's, live creates, doomed creates, deletes: commonest first
    left = [shape.updates, shape.long_history - 1, shape.live, shape.deleted, shape.deleted]
    total, draw, live = sum(left), log.rng.random, log.live
    while total:
        pick, kind = draw() * total, 0
        while kind < 4 and pick >= left[kind]:
            pick -= left[kind]
            kind += 1
        if not left[kind] or (kind == 0 and not live) or (kind == 4 and not log.doomed):
            continue  # not yet possible (or a float's edge): draw again
        left[kind] -= 1
        total -= 1
        if kind == 0:
            yield log.update(live[int(draw() * len(live))], draw())
        elif kind == 1:
            yield log.update(long, 0.2 + draw() * 0.8)  # its stock only
        elif kind == 2:
            yield log.create_live()
        elif kind == 3:
            yield log.create_doomed()
        else:
            yield log.delete()


def write(out: IO[str], shape: Shape, seed: int = 15) -> Written:
    """The log ``shape`` describes, one line per event, to ``out``."""
    chunk: list[str] = []
    for line in lines(shape, seed):
        chunk.append(line)
        if len(chunk) == CHUNK:
            out.write("\n".join(chunk) + "\n")
            chunk = []
    if chunk:
        out.write("\n".join(chunk) + "\n")
    return Written(shape.events, long_funko(seed), shape.live + 1, min(RARE_COUNT, shape.live))
