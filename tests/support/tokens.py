"""Bearer tokens for every suite: issued as ``run.py token`` issues them, or forged (any role,
claims, secret or algorithm; unsigned) to see the server refuse them.

One secret signs them all, and every server a test starts is given it.
"""

import base64
import json
import time
from typing import Any

import jwt

from web.auth import issue_token

SECRET = "tests-secret-" + "0123456789abcdef" * 4  # ≥ 64 bytes, or PyJWT warns (HS512 test)


def as_bearer(token: str) -> dict[str, str]:
    """The Authorization header that carries ``token``."""
    return {"Authorization": f"Bearer {token}"}


def bearer(role: str = "admin", sub: str = "staff", ttl: int = 600) -> dict[str, str]:
    """A header with a token the server's own issuer signs."""
    return as_bearer(issue_token(SECRET, role, sub, ttl))


ADMIN = bearer("admin")
AUDITOR = bearer("auditor", "auditor")
CONSUMER = bearer("consumer", "indexer")


def signed(claims: dict[str, Any], secret: str = SECRET, alg: str = "HS256") -> str:
    """A token of exactly ``claims``, signed with ``secret`` by ``alg``."""
    return jwt.encode(claims, secret, algorithm=alg)


def signed_bearer(
    role: str, sub: str = "someone", ttl: int = 600, secret: str = SECRET
) -> dict[str, str]:
    """A header with a token for any role (issue_token only makes admin and auditor ones)."""
    return as_bearer(signed({"sub": sub, "role": role, "exp": int(time.time()) + ttl}, secret))


def _segment(part: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=").decode()


def unsigned_token(role: str = "admin") -> str:
    """A token claiming ``alg: none``: anyone could have written it."""
    claims = {"sub": "mallory", "role": role, "exp": int(time.time()) + 600}
    return f"{_segment({'alg': 'none', 'typ': 'JWT'})}.{_segment(claims)}."
