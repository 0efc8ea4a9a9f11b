"""Typed settings, read once from the environment and passed down."""

import contextlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / ".data"
N = TypeVar("N", int, float)


class BadSetting(ValueError):
    """An environment variable holds a value the service cannot use."""


@dataclass(frozen=True)
class Settings:
    """Everything configurable, with the contract's defaults."""

    database_url: str | None = None
    database_replica_url: str | None = None  # a streaming replica of it, for reads
    host: str = "127.0.0.1"
    port: int = 8080
    jwt_secret: str = ""
    ws_heartbeat: float = 30.0
    workers: int = os.cpu_count() or 1  # server processes sharing the port
    allowed_origins: tuple[str, ...] = ()
    send_timeout: float = 10.0  # seconds an answer or frame may wait for a client not reading
    # Not in the environment (tests and benchmarks set it): entries a live subscriber may
    # have waiting before it goes back to reading the log.
    ws_buffer: int = 1024

    @property
    def url(self) -> str:
        """The database's URL, once resolved (bootstrap.with_database)."""
        if self.database_url is None:
            raise BadSetting("no database: resolve the settings with bootstrap.with_database")
        return self.database_url

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> "Settings":
        env = dict(os.environ if env is None else env)
        return cls(
            database_url=env.get("DATABASE_URL") or None,
            database_replica_url=env.get("DATABASE_REPLICA_URL") or None,
            host=env.get("HOST", cls.host),
            port=_number(env, "PORT", cls.port, int),
            jwt_secret=env.get("FUNKO_JWT_SECRET") or kept_secret(),
            ws_heartbeat=_number(env, "WS_HEARTBEAT", cls.ws_heartbeat, float),
            workers=_number(env, "WORKERS", cls.workers, int),
            allowed_origins=_origins(env.get("ALLOWED_ORIGINS", "")),
            send_timeout=_number(env, "SEND_TIMEOUT", cls.send_timeout, float),
        )


def _number(env: dict[str, str], key: str, default: N, kind: type[N]) -> N:
    raw = env.get(key)
    if raw is None or raw == "":
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise BadSetting(f"{key} must be a number, not {raw!r}") from None
    if value <= 0:
        raise BadSetting(f"{key} must be positive, not {raw!r}")
    return value


def _origins(raw: str) -> tuple[str, ...]:
    return tuple(o.strip().rstrip("/") for o in raw.split(",") if o.strip())


def kept_secret(path: Path = DATA_DIR / "jwt-secret") -> str:
    """A random signing secret made once and kept under .data/, so server and CLI agree."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        candidate = path.with_suffix(f".{os.getpid()}")
        candidate.write_text(secrets.token_urlsafe(48))
        candidate.chmod(0o600)
        # link() fails if another process won the race; then theirs is the secret.
        with contextlib.suppress(FileExistsError):
            os.link(candidate, path)
        candidate.unlink()
    return path.read_text().strip()
