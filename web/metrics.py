"""The Prometheus metrics of one server process, in a registry of its own (one per app).

Counts that infrastructure keeps as plain numbers (events appended, frames sent, switches to
the log) are read at scrape time by ``Counts``, so nothing is updated twice on hot paths.
"""

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector


class Metrics:
    """The metrics one server process exposes."""

    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry()
        self.commands = Histogram(
            "funko_command_seconds",
            "Time to handle a command (a write request), by command and status.",
            ["command", "status"],
            registry=registry,
            buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.closes = Counter(
            "funko_ws_closes",
            "WebSocket subscriptions ended, by close code.",
            ["code"],
            registry=registry,
        )
        self.log = Gauge(
            "funko_log_position",
            "Positions in the log: its head, the catalog projection's, this process's reader's.",
            ["of"],
            registry=registry,
        )
        self.lag = Gauge(
            "funko_lag_seconds",
            "Age of the oldest event not yet applied (0 when none), for"
            " the catalog projection and this process's reader.",
            ["of"],
            registry=registry,
        )
        self.group_lag = Gauge(
            "funko_group_lag",
            "Matching events after a consumer group's checkpoint.",
            ["group"],
            registry=registry,
        )
        self.group_parked = Gauge(
            "funko_group_parked",
            "A consumer group's parked events.",
            ["group"],
            registry=registry,
        )
        self.database_up = Gauge(
            "funko_database_up",
            "1 if the database answered the last scrape's query.",
            registry=registry,
        )


class Counts(Collector):
    """Reads the plain counts at scrape time: appended events, and the subscribers' (WebSocket
    count, server-sent event stream count, frames sent, switches to the log)."""

    def __init__(
        self, appended: Callable[[], int], subscribers: Callable[[], tuple[int, int, int, int]]
    ) -> None:
        self._appended, self._subscribers = appended, subscribers

    def collect(self) -> Iterator[Metric]:
        yield CounterMetricFamily(
            "funko_events_appended", "Events this process appended.", self._appended()
        )
        sockets, streams, frames, switches = self._subscribers()
        yield GaugeMetricFamily("funko_ws_subscribers", "WebSocket subscribers connected.", sockets)
        yield GaugeMetricFamily(
            "funko_sse_subscribers", "Server-sent event subscribers connected.", streams
        )
        yield CounterMetricFamily(
            "funko_ws_frames_sent", "Frames sent to subscribers (both transports).", frames
        )
        yield CounterMetricFamily(
            "funko_ws_slow_consumer_switches",
            "Times a live subscriber fell behind and went back to reading the log.",
            switches,
        )


class GroupCounts(Collector):
    """Deliveries to this process's consumer group members, by group, read at scrape time:
    every delivery, and those that were a second attempt or later."""

    def __init__(self, counts: Callable[[], tuple[Mapping[str, int], Mapping[str, int]]]) -> None:
        self._counts = counts

    def collect(self) -> Iterator[Metric]:
        delivered, redelivered = self._counts()
        for name, help_text, counts in (
            (
                "funko_group_deliveries",
                "Events this process delivered to group members.",
                delivered,
            ),
            ("funko_group_redeliveries", "Of which a second attempt or later.", redelivered),
        ):
            family = CounterMetricFamily(name, help_text, labels=["group"])
            for group, count in sorted(counts.items()):
                family.add_metric([group], count)
            yield family


class ReplicaGauges(Collector):
    """The replica's standing as the process's last check saw it (replica_reads.describe),
    read at scrape time: nothing when no replica is configured."""

    def __init__(self, standing: Callable[[], dict[str, Any] | None]) -> None:
        self._standing = standing

    def collect(self) -> Iterator[Metric]:
        standing = self._standing()
        if standing is None or not standing["configured"]:
            return
        yield GaugeMetricFamily(
            "funko_replica_lag_positions",
            "Events committed on the primary that the replica has not replayed yet.",
            standing["lag_positions"],
        )
        yield GaugeMetricFamily(
            "funko_replica_lag_seconds",
            "Seconds the replica's replay trails the primary's commits (0 when caught up).",
            standing["lag_seconds"],
        )
        target = GaugeMetricFamily(
            "funko_reads_target",
            "1 for the database reads without a position go to now (replica or primary).",
            labels=["database"],
        )
        replica = 1 if standing["reading_replica"] else 0
        target.add_metric(["replica"], replica)
        target.add_metric(["primary"], 1 - replica)
        yield target
        reads = CounterMetricFamily(
            "funko_reads", "Reads served, by the database that answered.", labels=["database"]
        )
        reads.add_metric(["replica"], standing["reads_replica"])
        reads.add_metric(["primary"], standing["reads_primary"])
        yield reads
        yield CounterMetricFamily(
            "funko_replica_fallbacks",
            "Reads the replica failed (gone, too slow, cancelled by replay), run on the primary.",
            standing["fallbacks"],
        )
