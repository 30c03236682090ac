"""``verify_audit`` on 1,000,000 keyed audit events: wall time and peak memory (RSS).

Builds a registry whose audit trail holds N events (default 1,000,000): one insert event per
donor record, written in chunks of 100,000 through the same bulk path as the importer
(``bulk_insert`` + ``AuditWriter.add_inserts``: SHA-256 chain and HMAC per event). Then a fresh
child process runs ``verify_audit`` (walk the chain, check every MAC, compare every record with
its last audited values) and reports its time and its peak resident set size
(``getrusage(RUSAGE_SELF).ru_maxrss``), so the build's memory does not count. SQLite (a
temporary file) always; PostgreSQL (``REGMED_TEST_POSTGRES_URL``, default the local server, a
fresh schema dropped afterwards) unless ``--sqlite-only``. Wall-clock figures shift with the
machine's load (printed).

Run: ``PYTHONPATH=src python benchmarks/bench_audit.py [N_EVENTS] [--sqlite-only]``
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import text

import regmed.registry as reg
from regmed.registry.audit import AuditWriter, canonical_rows
from regmed.registry.bulk import bulk_insert, max_id

PG_URL = os.environ.get(
    "REGMED_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
CHUNK = 100_000
KEY = b"bench-audit-key-0123456789"


def build(url: str, n: int) -> float:
    """Write ``n`` donors and their insert events; returns seconds taken."""
    engine = reg.make_engine(url)
    reg.upgrade(engine)
    table = reg.Donor.__table__
    cols = ("donor_code", "sex", "birth_year")
    started = time.perf_counter()
    try:
        for start in range(0, n, CHUNK):
            stop = min(n, start + CHUNK)
            codes = [f"D{i:07d}" for i in range(start, stop)]
            sexes = ["F" if i % 2 else "M" for i in range(start, stop)]
            years = [1940 + i % 60 for i in range(start, stop)]
            with reg.session_scope(engine) as s:
                writer = AuditWriter(s, "bench", key=KEY)
                first = max_id(s, table) + 1  # type: ignore[arg-type]
                bulk_insert(s, table, cols, [codes, sexes, years])  # type: ignore[arg-type]
                ids = list(range(first, first + len(codes)))
                rows = canonical_rows(list(cols), [codes, sexes, years])
                writer.add_inserts("donors", ids, codes, rows, None)
                writer.flush()
    finally:
        engine.dispose()
    return time.perf_counter() - started


def verify_child(url: str) -> None:
    """(In a fresh process) verify and print time, peak RSS and the result as JSON."""
    engine = reg.make_engine(url)
    started = time.perf_counter()
    with reg.session_scope(engine) as s:
        result = reg.verify_audit(s, KEY)
    seconds = time.perf_counter() - started
    engine.dispose()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "peak_mb": peak_mb, "ok": result.ok,
                      "events": result.events, "records": result.records,
                      "message": result.message}))


def measure(name: str, url: str, n: int) -> None:
    built = build(url, n)
    env = dict(os.environ, PYTHONPATH=str(Path(reg.__file__).resolve().parents[2]))
    done = subprocess.run([sys.executable, __file__, "--verify", url], env=env,
                          capture_output=True, text=True, check=True)
    r = json.loads(done.stdout.strip().splitlines()[-1])
    assert r["ok"], r["message"]
    print(f"{name:10s} built {n:,} events in {built:5.1f} s; verify_audit {r['events']:,} events "
          f"+ {r['records']:,} records: {r['seconds']:5.1f} s "
          f"({r['events'] / r['seconds']:,.0f} events/s), peak RSS {r['peak_mb']:,.0f} MB")


def main(argv: list[str]) -> None:
    if argv[:1] == ["--verify"]:
        verify_child(argv[1])
        return
    n = int(argv[0]) if argv and argv[0].isdigit() else 1_000_000
    print(f"load average {os.getloadavg()[0]:.2f}; {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory() as tmp:
        measure("SQLite", f"sqlite:///{Path(tmp) / 'bench.sqlite'}", n)
    if "--sqlite-only" in argv:
        return
    admin = reg.make_engine(PG_URL)
    schema = f"regmed_bench_{uuid.uuid4().hex[:10]}"
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        sep = "&" if "?" in PG_URL else "?"
        measure("PostgreSQL", f"{PG_URL}{sep}options=-csearch_path%3D{schema}", n)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


if __name__ == "__main__":
    main(sys.argv[1:])
