"""One ledger of what every member of a consumer group received and acknowledged, and the
order checks that read it.

The test's event loop does one thing at a time, so the ledger's steps are the order in which
things happened. An acknowledgement is written down before it is sent, so when a server hands
out a Funko's next event only after the one before was acknowledged, that acknowledgement is
always earlier in the ledger. An acknowledgement a killed server never read is still written
down: then the event comes again, and a receipt of the Funko's next event before that second
delivery is acknowledged shows as out of order.
"""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

Event = dict[str, Any]


@dataclass(frozen=True)
class Step:
    """One thing a member did: received (``got``) or acknowledged (``ack``) a position."""

    number: int
    kind: str
    member: str
    position: int
    attempt: int = 0


class Ledger:
    """Every receipt and acknowledgement of a group's members, in the order they happened."""

    def __init__(self) -> None:
        self.steps: list[Step] = []

    def got(self, member: str, event: Event) -> None:
        self.steps.append(Step(len(self.steps), "got", member, event["position"], event["attempt"]))

    def acking(self, member: str, positions: Sequence[int]) -> None:
        self.steps += [Step(len(self.steps) + i, "ack", member, p) for i, p in enumerate(positions)]

    def received(self, since: int = 0) -> list[Step]:
        """The receipts from step ``since`` on."""
        return [s for s in self.steps[since:] if s.kind == "got"]

    def acknowledged(self) -> set[int]:
        return {s.position for s in self.steps if s.kind == "ack"}

    def disorder(self, log: Sequence[Event]) -> list[str]:
        """Receipts of an event while an earlier event of its Funko was not acknowledged (never
        received, or received again since its last acknowledgement), or after a later one."""
        funko_of = {e["position"]: e["funkoId"] for e in log}
        of_funko: dict[str, list[int]] = defaultdict(list)
        for position in sorted(funko_of):
            of_funko[funko_of[position]].append(position)
        latest: dict[int, Step] = {}  # each position's latest step so far
        newest: dict[str, int] = {}  # each Funko's highest position received so far
        problems: list[str] = []
        for step in self.steps:
            funko = funko_of[step.position]
            if step.kind == "got":
                if newest.get(funko, 0) > step.position:
                    problems.append(f"{step}: after {newest[funko]} of its Funko")
                before = [p for p in of_funko[funko] if p < step.position]
                pending = [p for p in before if p not in latest or latest[p].kind != "ack"]
                if pending:
                    problems.append(f"{step}: before {pending} of its Funko were acknowledged")
                newest[funko] = max(newest.get(funko, 0), step.position)
            latest[step.position] = step
        return problems
