"""The benchmarks: the write path (a plain-SQL baseline, the service layer, the HTTP API), the
change stream (fan-out, replay, memory per idle subscriber) and the auditors' reads, each
figure beside its own baseline measured in the same run.

Run with ``python -m bench`` (or ``make bench``); bench/README.md says what each phase measures,
the environment variables, and holds the benchmark log. The phases: bench/phases.py.
"""
