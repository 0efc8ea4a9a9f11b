"""HTTP load from wrk (Debian's package): a C load generator, so the load takes little of the
cores the servers under test need. Creates: one POST body for every request; with ``keyed``,
each request carries an Idempotency-Key of its own. Reads: GETs of a list of paths in turn."""

import asyncio
import re
import shutil
import tempfile
import uuid
from dataclasses import dataclass

import orjson

CONNECTIONS = 64
THREADS = 2
SCRIPT = """
wrk.method = "POST"
wrk.body = {body}
wrk.headers = {{["Content-Type"] = "application/json", ["Authorization"] = {authorization}}}
local keyed, threads, count = {keyed}, 0, 0
function setup(t) threads = threads + 1; t:set("id", threads) end
request = keyed and function()
    count = count + 1
    local headers = {{}}
    for name, value in pairs(wrk.headers) do headers[name] = value end
    headers["Idempotency-Key"] = {run} .. "-" .. id .. "-" .. count
    return wrk.format(nil, nil, headers)
end or nil
"""
READS = """
local paths, n = {paths}, 0
request = function()
    n = n % #paths + 1
    return wrk.format("GET", paths[n])
end
"""
UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


@dataclass(frozen=True)
class Load:
    """What wrk measured: requests/s, latency percentiles (ms), completed and failed requests."""

    requests_per_s: float
    p50_ms: float
    p99_ms: float
    requests: int
    not_2xx: int
    socket_errors: int


def _lua(text: str) -> str:
    return orjson.dumps(text).decode()  # a JSON string is a Lua string literal here


async def wrk(url: str, body: dict[str, object], token: str, seconds: float, keyed: bool) -> Load:
    """``seconds`` of POSTs to ``url`` from CONNECTIONS connections."""
    script = SCRIPT.format(
        body=_lua(orjson.dumps(body).decode()),
        authorization=_lua(f"Bearer {token}"),
        keyed="true" if keyed else "false",
        run=_lua(uuid.uuid4().hex),  # keys unique across runs, warm-ups included
    )
    return await _run(script, url, seconds)


async def reads(base: str, paths: list[str], seconds: float) -> Load:
    """``seconds`` of GETs from CONNECTIONS connections to the server at ``base``, each
    thread's requests going round ``paths`` in turn."""
    script = READS.format(paths="{" + ",".join(_lua(path) for path in paths) + "}")
    return await _run(script, base, seconds)


async def _run(script: str, url: str, seconds: float) -> Load:
    binary = shutil.which("wrk")
    if binary is None:
        raise RuntimeError("wrk is not installed (apt-get install wrk; make bench does)")
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as lua:
        lua.write(script)
        lua.flush()
        argv = [
            binary,
            f"-t{THREADS}",
            f"-c{CONNECTIONS}",
            f"-d{max(1, round(seconds))}s",
            "--latency",
        ]
        proc = await asyncio.create_subprocess_exec(
            *argv, "-s", lua.name, url, stdout=asyncio.subprocess.PIPE
        )
        out, _ = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"wrk exited with {proc.returncode}: {out.decode()[-500:]}")
    return parse(out.decode())


def parse(text: str) -> Load:
    """wrk's report (with --latency) as a Load."""
    rate = re.search(r"Requests/sec:\s+([\d.]+)", text)
    done = re.search(r"(\d+) requests in", text)
    if rate is None or done is None:
        raise RuntimeError(f"wrk's report has no rate: {text[-500:]}")
    not_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text
    )
    return Load(
        float(rate[1]),
        _percentile(text, "50%"),
        _percentile(text, "99%"),
        int(done[1]),
        int(not_2xx[1]) if not_2xx else 0,
        sum(int(n) for n in errors.groups()) if errors else 0,
    )


def _percentile(text: str, which: str) -> float:
    found = re.search(rf"^\s*{re.escape(which)}\s+([\d.]+)(us|ms|s)\s*$", text, re.MULTILINE)
    if found is None:
        raise RuntimeError(f"wrk's report has no {which} latency")
    return float(found[1]) * UNITS[found[2]]
