"""Bearer JWTs (HS256, claims sub and role): issuing, checking, requiring a role."""

import time
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import jwt
from aiohttp import web

from web.problems import Problem
from web.roles import ROLES

CLAIM_MAX = 255  # characters of sub or role


def plain_claim(value: object) -> bool:
    """Whether ``value`` is plain text fit for a sub or role: 1 to 255 characters, none of them
    a control character or a lone surrogate (JSON can carry both; the log must not)."""
    return (
        isinstance(value, str)
        and 1 <= len(value) <= CLAIM_MAX
        and all(unicodedata.category(c) not in ("Cc", "Cs") for c in value)
    )


@dataclass(frozen=True)
class Principal:
    """Who is calling (the token's sub) and in which role."""

    sub: str
    role: str


def issue_token(secret: str, role: str, sub: str, ttl: int) -> str:
    """A signed token for ``sub`` in ``role``, valid for ``ttl`` seconds."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}")
    if not plain_claim(sub):
        raise ValueError(
            f"sub must be 1 to {CLAIM_MAX} characters of text, with no control characters"
            " and valid Unicode"
        )
    now = int(time.time())
    claims = {"sub": sub, "role": role, "iat": now, "exp": now + ttl}
    return jwt.encode(claims, secret, algorithm="HS256")


def _unauthorized(detail: str) -> Problem:
    return Problem(401, "Unauthorized", detail, headers={"WWW-Authenticate": "Bearer"})


class TokenVerifier:
    """Checks bearer tokens; the signature check is cached, expiry is checked on every use."""

    def __init__(self, secret: str) -> None:
        self._decode = lru_cache(maxsize=4096)(self._decode_uncached)
        self._secret = secret

    def _decode_uncached(self, token: str) -> tuple[Principal, float]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._secret,
                algorithms=["HS256"],
                options={"require": ["exp", "sub", "role"]},
            )
        except jwt.ExpiredSignatureError:
            raise _unauthorized("The token has expired.") from None
        except jwt.InvalidTokenError as error:
            raise _unauthorized(f"The token is not valid: {error}.") from None
        sub, role, exp = claims["sub"], claims["role"], claims["exp"]
        if not plain_claim(sub) or not plain_claim(role):
            raise _unauthorized(
                f"The token's sub and role must be 1 to {CLAIM_MAX} characters of text,"
                " without control characters."
            )
        if isinstance(exp, bool) or not isinstance(exp, int | float):
            raise _unauthorized("The token's exp must be a number.")
        return Principal(sub, role), float(exp)

    def principal(self, authorization: str | None) -> Principal:
        """The caller named by an Authorization header; Problem 401 if there is none valid."""
        if not authorization:
            raise _unauthorized("A bearer token is required.")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise _unauthorized("Authorization must be 'Bearer <token>'.")
        principal, expires = self._decode(token.strip())
        if expires <= time.time():
            raise _unauthorized("The token has expired.")
        return principal


def require(request: web.Request, verifier: TokenVerifier, *roles: str) -> Principal:
    """The caller, if it holds one of ``roles``: 401 without a valid token, 403 without the role."""
    given = request.headers.getall("Authorization", [])
    if len(given) > 1:  # which one counts would be a guess, and a proxy may guess otherwise
        raise _unauthorized("Send one Authorization header.")
    principal = verifier.principal(given[0] if given else None)
    if principal.role not in roles:
        raise Problem(403, "Forbidden", f"This needs the role {' or '.join(roles)}.")
    return principal
