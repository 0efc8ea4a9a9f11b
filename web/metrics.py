"""The Prometheus metrics of one server process, in a registry of its own (one per app).

Counts that infrastructure keeps as plain numbers (events appended, frames sent, switches to
the log) are read at scrape time by ``Counts``, so nothing is updated twice on hot paths.
"""

from collections.abc import Callable, Iterator

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
