"""Import assessments from a CSV file through the streamed, validated, audited path.

Builds 6 sites, one product and indication, N_PATIENTS patients with their enrollments, and
N_ASSESSMENTS valid assessments (default 100,000), writes the assessments to a CSV file and
imports it the way ``regmed import`` does (:func:`regmed.registry.io.open_folder` +
:func:`regmed.registry.stream.import_files` in one :func:`regmed.registry.run_write` unit of
work) on SQLite (a temporary file) and on PostgreSQL (``REGMED_TEST_POSTGRES_URL``, default
``postgresql+psycopg://postgres@127.0.0.1:5432/test``; a fresh schema dropped afterwards), each
run in a fresh child process on a fresh registry, printing the best and the median rows/s and
the child's peak resident memory (``VmHWM``: reading, validation, pseudonymization,
reference and date checks, bulk insert, audit events with their hash chain, commit); then
``verify_audit`` of the whole trail in another child, with its time and peak memory. The
machine's load average is printed: the figures are wall-clock times and shift with other work
on the machine.

Run: ``PYTHONPATH=src python benchmarks/bench_import.py [N_ASSESSMENTS [REPEATS]] [--no-pg]``
"""

from __future__ import annotations

import os
import resource
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import text

import regmed.registry as reg
from regmed.registry.io import open_folder

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _scratch import in_child  # noqa: E402

from regmed.registry.stream import import_files

N_ASSESSMENTS = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
REPEATS = int(sys.argv[2]) if len(sys.argv) > 2 else 3
WITH_PG = "--no-pg" not in sys.argv
N_PATIENTS = 5_000
PG_URL = os.environ.get(
    "REGMED_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def build(rng: np.random.Generator) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """The registry's base tables and the assessments, all as text."""
    sites = pd.DataFrame(
        {"site_code": [f"S{i:02d}" for i in range(1, 7)], "name": [f"Site {i}" for i in range(6)]}
    )
    site = rng.choice(sites["site_code"].to_numpy(), N_PATIENTS)
    ref = np.array([f"P{i:05d}" for i in range(N_PATIENTS)])
    birth = rng.integers(1940, 2000, N_PATIENTS)
    index_on = pd.Timestamp("2019-01-01") + pd.to_timedelta(rng.integers(0, 700, N_PATIENTS), "D")
    base = {
        "sites": sites,
        "products": pd.DataFrame(
            [
                {
                    "product_code": "MSC1",
                    "name": "BM-MSC",
                    "type": "autologous",
                    "approval_kind": "conditional",
                }
            ]
        ),
        "indications": pd.DataFrame(
            [{"indication_code": "SCI", "product_code": "MSC1", "name": "Spinal cord injury"}]
        ),
        "patients": pd.DataFrame(
            {
                "site_code": site,
                "patient_ref": ref,
                "sex": rng.choice(["F", "M"], N_PATIENTS),
                "birth_year": birth.astype(str),
            }
        ),
        "enrollments": pd.DataFrame(
            {
                "site_code": site,
                "patient_ref": ref,
                "indication_code": "SCI",
                "cohort": rng.choice(list(reg.COHORTS), N_PATIENTS),
                "direction": "prospective",
                "index_on": index_on.strftime("%Y-%m-%d"),
                "enrolled_on": (index_on + pd.Timedelta(days=7)).strftime("%Y-%m-%d"),
            }
        ),
    }
    who = rng.integers(0, N_PATIENTS, N_ASSESSMENTS)
    days = rng.integers(30, 400, N_ASSESSMENTS)
    assessments = pd.DataFrame(
        {
            "assessment_ref": [f"A{i:07d}" for i in range(N_ASSESSMENTS)],
            "site_code": site[who],
            "patient_ref": ref[who],
            "endpoint": "ais_grade",
            "visit": np.where(days < 100, "day49", "day180"),
            "assessed_on": (index_on[who] + pd.to_timedelta(days, "D")).strftime("%Y-%m-%d"),
            "value": rng.integers(0, 5, N_ASSESSMENTS).astype(str),
            "value_text": rng.choice(list("ABCDE"), N_ASSESSMENTS),
            "assessor": rng.choice(["dr_a", "dr_b", "dr_c"], N_ASSESSMENTS),
            "assessor_role": rng.choice(
                ["treating_physician", "blinded_independent", "blinded_central"], N_ASSESSMENTS
            ),
            "blinded": rng.choice(["true", "false"], N_ASSESSMENTS),
        }
    )
    return base, assessments


def _peak_mib() -> float:
    """This process's peak resident memory (MiB) since it started its program: ``VmHWM``
    (``ru_maxrss`` would count the parent's memory at the fork that made the child)."""
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # pragma: no cover


def run_import(url: str, folder: Path, base: dict[str, pd.DataFrame]) -> dict:
    """A fresh registry: import the base tables, then stream the assessments file the way
    ``regmed import`` does. Runs in a child process of its own (its peak RSS is the import's)."""
    engine = reg.make_engine(url)
    try:
        reg.upgrade(engine)
        t0 = time.perf_counter()
        with reg.session_scope(engine) as session:
            reg.import_tables(session, base, actor="bench")
        t1 = time.perf_counter()
        files = open_folder(folder)
        summary = reg.run_write(engine, lambda s: import_files(s, files, actor="bench"))
        t2 = time.perf_counter()
    finally:
        engine.dispose()
    return {"base": t1 - t0, "assessments": t2 - t1, "inserted": summary.inserted["assessments"],
            "peak_mib": _peak_mib()}


def run_verify(url: str) -> dict:
    """``verify_audit`` of the whole trail, as ``regmed audit verify`` runs it (own process)."""
    engine = reg.make_engine(url)
    try:
        t0 = time.perf_counter()
        with reg.session_scope(engine) as session:
            check = reg.verify_audit(session)
        t1 = time.perf_counter()
    finally:
        engine.dispose()
    assert check.ok, check.message
    return {"verify": t1 - t0, "events": check.events, "verify_peak_mib": _peak_mib()}


def run_once(url: str, folder: Path, base: dict[str, pd.DataFrame]) -> dict:
    return {**in_child(run_import, url, folder, base), **in_child(run_verify, url)}


def report(name: str, runs: list[dict], base: dict[str, pd.DataFrame], n: int,
           size_mb: float) -> None:
    assert all(r["inserted"] == n for r in runs)
    n_base = sum(len(f) for f in base.values())
    best = min(r["assessments"] for r in runs)
    median = statistics.median(r["assessments"] for r in runs)
    base_best = min(r["base"] for r in runs)
    print(
        f"{name:<11} assessments {n:,} rows ({size_mb:.0f} MB CSV): best {best:6.1f} s = "
        f"{n / best:>7,.0f} rows/s, median {median:6.1f} s = {n / median:>7,.0f} rows/s "
        f"(of {len(runs)}), peak RSS {max(r['peak_mib'] for r in runs):,.0f} MiB | "
        f"base tables {n_base:,} rows: {n_base / base_best:>6,.0f} rows/s | "
        f"verify_audit {runs[0]['events']:,} events: {min(r['verify'] for r in runs):5.1f} s, "
        f"peak RSS {max(r['verify_peak_mib'] for r in runs):,.0f} MiB"
    )


def main() -> None:
    os.environ.setdefault("REGMED_PSEUDONYM_KEY", "benchmark-key")
    base, assessments = build(np.random.default_rng(20261122))
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory() as data:
        folder = Path(data) / "import"
        folder.mkdir()
        assessments.to_csv(folder / "assessments.csv", index=False)
        size_mb = (folder / "assessments.csv").stat().st_size / 1e6
        del assessments
        runs = []
        for _ in range(REPEATS):
            with tempfile.TemporaryDirectory() as tmp:
                runs.append(run_once(f"sqlite:///{Path(tmp) / 'bench.sqlite'}", folder, base))
        report("SQLite", runs, base, N_ASSESSMENTS, size_mb)
        if not WITH_PG:
            return
        admin = reg.make_engine(PG_URL)
        sep = "&" if "?" in PG_URL else "?"
        runs = []
        try:
            for _ in range(REPEATS):
                schema = f"bench_{uuid.uuid4().hex[:10]}"
                with admin.begin() as conn:
                    conn.execute(text(f'CREATE SCHEMA "{schema}"'))
                try:
                    url = f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
                    runs.append(run_once(url, folder, base))
                finally:
                    with admin.begin() as conn:
                        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        finally:
            admin.dispose()
        report("PostgreSQL", runs, base, N_ASSESSMENTS, size_mb)
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
