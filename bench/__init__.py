"""The write-path benchmark: a plain-SQL baseline, the service layer, and the HTTP API.

Run with ``python -m bench`` (or ``make bench``). Environment:

- ``DATABASE_URL``: the server to make a throwaway database on (default: the embedded one);
- ``BENCH_SECONDS``: how long each phase measures (default 10), after ``BENCH_WARMUP`` (2);
- ``BENCH_PHASES``: a comma-separated subset of ``baseline,service,http``;
- ``BENCH_PROFILE``: a path; if set, py-spy records the server during the HTTP phase.
"""
