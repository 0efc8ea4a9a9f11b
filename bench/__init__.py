"""The benchmarks: the write path (a plain-SQL baseline, the service layer, the HTTP API),
the change stream (fan-out to 1,000 subscribers, replay from 0, memory per idle subscriber)
and the auditors' reads (``run.py replay``, NDJSON streaming memory), each stream figure
beside its own baseline (bench/broadcast_server.py, asyncpg paging).

Run with ``python -m bench`` (or ``make bench``). Environment:

- ``DATABASE_URL``: the server to make a throwaway database on (default: the embedded one);
- ``BENCH_SECONDS``: how long each phase measures (default 10), after ``BENCH_WARMUP`` (2);
- ``BENCH_PHASES``: a comma-separated subset of ``baseline,service,http,http2,fanout,replay,
  audit,memory`` (default: all);
- ``BENCH_AUDIT_EVENTS``: events ``run.py replay`` replays in the audit phase (default 200,000),
  ``BENCH_AUDIT_BIG``: the log it seeds and streams as NDJSON (default 1,000,000);
- ``BENCH_PROFILE``: a path; if set, py-spy records the server during the HTTP phase.
"""
