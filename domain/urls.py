"""What the contract calls an absolute http(s) URL: RFC 3986's grammar, for http and https."""

import ipaddress
import re

# RFC 3986 for http(s): a host (then checked by _known_host), an optional port, a path,
# query and fragment of pchars. No userinfo: RFC 9110 forbids it in http(s) URIs. Written in
# the syntax Python and ECMA-262 share, so the OpenAPI document can state it as it is.
_PCT = "%[0-9A-Fa-f]{2}"
_PCHAR = rf"(?:[A-Za-z0-9._~!$&'()*+,;=:@-]|{_PCT})"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
HTTP_URL = (
    rf"[Hh][Tt][Tt][Pp][Ss]?://({_LABEL}(?:\.{_LABEL})*|\[[0-9A-Fa-f:.]+\])(?::([0-9]{{1,5}}))?"
    rf"(?:/{_PCHAR}*)*(?:\?(?:{_PCHAR}|[/?])*)?(?:#(?:{_PCHAR}|[/?])*)?"
)
_HTTP_URL = re.compile(HTTP_URL)
# A last label that reads as a number makes the host an IPv4 address (as browsers parse it).
_NUMERIC = re.compile(r"[0-9]+|0[Xx][0-9A-Fa-f]*")


def is_http_url(value: str) -> bool:
    """Whether ``value`` is an absolute http(s) URL with a valid host and port."""
    url = _HTTP_URL.fullmatch(value)
    return url is not None and _known_host(url[1]) and _port(url[2])


def _known_host(host: str) -> bool:
    """An IPv6 literal or IPv4 address that ``ipaddress`` takes, or else a DNS name."""
    try:
        if host.startswith("["):
            ipaddress.IPv6Address(host[1:-1])
        elif _NUMERIC.fullmatch(host.rsplit(".", 1)[-1]):
            ipaddress.IPv4Address(host)
    except ValueError:
        return False
    return True


def _port(port: str | None) -> bool:
    return port is None or 1 <= int(port) <= 65535
