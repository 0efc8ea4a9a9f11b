"""``run.py serve``: the app on WORKERS processes sharing one port, under gunicorn.

gunicorn's arbiter binds the port, forks the workers (aiohttp's uvloop worker), restarts one
that dies, and on SIGTERM tells every worker to stop: each then closes its subscribers with
1001, lets requests in flight finish for up to SHUTDOWN_TIMEOUT, and exits. The database is
resolved (and an embedded one started) once, before the fork; every worker builds its own pool,
store, reader and subscribers, as a separate server process on the same database would.
"""

import gc
import logging
import resource
from typing import Any

from aiohttp import web
from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger

from infrastructure.settings import Settings
from web.app import create_app
from web.request_ids import AccessLog

# On SIGTERM, what is in flight gets this long to finish (requests have a 3 s deadline, so only
# a stream can need more); aiohttp then cancels what is left and waits as long again. aiohttp's
# 60 s would let one stalled NDJSON reader hold the exit up for two minutes.
SHUTDOWN_TIMEOUT = 5.0
WORKER = "aiohttp.GunicornUVLoopWebWorker"
OPEN_FILES_WANTED = 1 << 20  # when the hard limit is "unlimited" (Linux's nr_open default)
BACKLOG = 4096  # connections waiting to be accepted (Linux caps it at net.core.somaxconn)
log = logging.getLogger(__name__)


async def _freeze_startup_objects(_: web.Application) -> None:
    # What exists once serving starts lives as long as the process: keep it out of the
    # garbage collector's full passes, whose pauses are the stream's latency tail.
    gc.collect()
    gc.freeze()


class JsonLogs(Logger):  # type: ignore[misc]  # gunicorn has no type hints
    """gunicorn's own lines (workers starting, stopping) as the process's JSON log lines; the
    access log is aiohttp's (web/request_ids.py)."""

    def setup(self, cfg: Any) -> None:
        self.cfg = cfg
        self.error_log.handlers.clear()
        self.error_log.propagate = True
        self.error_log.setLevel(logging.INFO)
        self.access_log.disabled = True


class Serving(BaseApplication):  # type: ignore[misc]  # gunicorn has no type hints
    """The service as a gunicorn application."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        super().__init__()

    def load_config(self) -> None:
        settings = self.settings
        for name, value in {
            "bind": f"{settings.host}:{settings.port}",
            "workers": settings.workers,
            "worker_class": WORKER,
            "graceful_timeout": int(2 * SHUTDOWN_TIMEOUT) + 1,  # a worker's own drain, and some
            "timeout": 30,  # a worker silent this long is killed and replaced
            "keepalive": 75,  # aiohttp's own default for idle connections
            "backlog": BACKLOG,
            "logger_class": JsonLogs,
            "control_socket_disable": True,  # one per user by default: servers would share it
        }.items():
            self.cfg.set(name, value)

    def load(self) -> Any:
        async def runner() -> web.AppRunner:  # per worker, after the fork
            app = create_app(self.settings)
            app.on_startup.append(_freeze_startup_objects)
            return web.AppRunner(
                app,
                access_log=logging.getLogger("aiohttp.access"),
                access_log_class=AccessLog,
                shutdown_timeout=SHUTDOWN_TIMEOUT,
            )

        return runner


def raise_open_files_limit() -> int:
    """Every subscriber holds a socket: lift this process's open-files limit (its workers
    inherit it) to the most the OS allows it; the limit now."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = OPEN_FILES_WANTED if hard == resource.RLIM_INFINITY else hard
    if soft < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
        except (ValueError, OSError) as error:  # an infinite hard limit, a container's rules
            log.warning("could not raise the open-files limit from %d: %s", soft, error)
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return soft


def serve(settings: Settings) -> int:
    """Serve until told to stop; the arbiter's exit code."""
    limit = raise_open_files_limit()
    log.info("open files limit %d: about %d subscribers per worker", limit, limit - 100)
    Serving(settings).run()
    return 0
