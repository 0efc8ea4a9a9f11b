"""The benchmarks: the write path (a plain-SQL baseline, the service layer, the HTTP API) and
the change stream (fan-out to 1,000 subscribers, replay from 0, memory per idle subscriber),
each stream figure beside its own baseline (bench/broadcast_server.py, asyncpg paging).

Run with ``python -m bench`` (or ``make bench``). Environment:

- ``DATABASE_URL``: the server to make a throwaway database on (default: the embedded one);
- ``BENCH_SECONDS``: how long each phase measures (default 10), after ``BENCH_WARMUP`` (2);
- ``BENCH_PHASES``: a comma-separated subset of ``baseline,service,http,http2,fanout,replay,
  memory`` (default: all);
- ``BENCH_PROFILE``: a path; if set, py-spy records the server during the HTTP phase.
"""
