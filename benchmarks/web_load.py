"""Load test of the web application: concurrent site users saving assessment forms.

Starts uvicorn on 127.0.0.1 (a free port) with a fresh registry (SQLite in a temp folder, or
``--database`` a PostgreSQL URL whose schema is created and dropped), creates ``--users``
investigators spread over 5 sites with one patient each, logs them in, then each user saves
``--requests`` assessments through ``POST /api/patients/{id}/assessments`` concurrently,
waiting about ``--think`` seconds (deterministic jitter 0.5-1.5×) before each save.
Prints p50/p95/max latency of the saves, the throughput and the number of errors.

Run: PYTHONPATH=src python benchmarks/web_load.py [--users 50] [--requests 20]
     [--database postgresql+psycopg://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import socket
import statistics
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pandas as pd
import uvicorn
from sqlalchemy import text

import regmed.registry as reg
from regmed.web import WebSettings, create_app

KEY = b"web-load-key-0123456789"
PASSWORD = "load-test-password"


def _seed(engine: object, users: int) -> None:
    sites = [f"L{i:02d}" for i in range(5)]
    patients = [{"site_code": sites[i % 5], "patient_ref": f"U{i}", "sex": "F",
                 "birth_year": 1970} for i in range(users)]
    enroll = [{"site_code": p["site_code"], "patient_ref": p["patient_ref"],
               "indication_code": "IND", "cohort": "treated", "direction": "prospective",
               "index_on": "2026-01-01", "enrolled_on": "2026-01-02"} for p in patients]
    tables = {
        "sites": pd.DataFrame({"site_code": sites, "name": sites}),
        "products": pd.DataFrame([{"product_code": "PX", "name": "X", "type": "autologous",
                                   "approval_kind": "conditional"}]),
        "indications": pd.DataFrame([{"indication_code": "IND", "product_code": "PX",
                                      "name": "ind"}]),
        "patients": pd.DataFrame(patients),
        "enrollments": pd.DataFrame(enroll),
    }
    with reg.session_scope(engine) as s:  # type: ignore[arg-type]
        reg.import_tables(s, tables, actor="load", key=KEY)
        for i in range(users):
            reg.add_user(f"site{i}", "investigator", session=s, actor="load",
                         site_code=sites[i % 5], password=PASSWORD)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _user_run(base: str, i: int, n: int, think: float) -> tuple[list[float], int]:
    times, errors = [], 0
    with httpx.Client(base_url=base, timeout=30) as c:
        r = c.post("/api/login", json={"username": f"site{i}", "password": PASSWORD})
        if r.status_code != 200:
            return [], n
        h = {"X-CSRF-Token": r.json()["csrf_token"]}
        pid = c.get("/api/patients").json()[0]["id"]
        for k in range(n):
            time.sleep(think * (0.5 + (i * 7919 + k * 104729) % 1000 / 1000))
            body = {"endpoint": "score", "visit": "day49", "assessed_on": "2026-02-19",
                    "value": float(k), "assessor": f"Dr {i}",
                    "assessor_role": "treating_physician", "blinded": False}
            t0 = time.perf_counter()
            r = c.post(f"/api/patients/{pid}/assessments", json=body, headers=h)
            times.append(time.perf_counter() - t0)
            errors += r.status_code != 201
    return times, errors


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--users", type=int, default=50)
    ap.add_argument("--requests", type=int, default=20, help="saves per user")
    ap.add_argument("--think", type=float, default=0.0,
                    help="mean seconds a user spends on a form between saves (0: saturate)")
    ap.add_argument("--database", default=None, help="PostgreSQL URL (default: SQLite)")
    args = ap.parse_args()
    tmp = tempfile.TemporaryDirectory()
    schema = None
    if args.database:
        schema = f"regmed_load_{uuid.uuid4().hex[:10]}"
        admin = reg.make_engine(args.database)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        sep = "&" if "?" in args.database else "?"
        url = f"{args.database}{sep}options=-csearch_path%3D{schema}"
    else:
        url = f"sqlite:///{Path(tmp.name) / 'load.sqlite'}"
    engine = reg.make_engine(url, pool_size=20, max_overflow=40) if schema else \
        reg.make_engine(url)
    reg.upgrade(engine)
    _seed(engine, args.users)
    settings = WebSettings(secret_key="load-test-secret-0123456789", secure_cookies=False,
                           pseudonym_key=KEY, database_url=url)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings, engine=engine),
                                           host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    base = f"http://127.0.0.1:{port}"
    try:
        t0 = time.perf_counter()
        with ThreadPoolExecutor(args.users) as pool:
            results = list(pool.map(lambda i: _user_run(base, i, args.requests, args.think),
                                    range(args.users)))
        wall = time.perf_counter() - t0
    finally:
        server.should_exit = True
        thread.join(10)
        engine.dispose()
        if schema:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            admin.dispose()
        tmp.cleanup()
    times = sorted(t for ts, _ in results for t in ts)
    errors = sum(e for _, e in results)
    q = statistics.quantiles(times, n=100) if len(times) > 1 else times * 99
    backend = "postgresql" if schema else "sqlite"
    print(f"web_load ({backend}): {args.users} concurrent users x {args.requests} saves = "
          f"{len(times)} requests, think {args.think:g} s, in {wall:.1f} s "
          f"({len(times) / wall:.0f}/s)")
    print(f"  latency p50 {q[49] * 1000:.0f} ms  p95 {q[94] * 1000:.0f} ms  "
          f"max {times[-1] * 1000:.0f} ms  errors {errors}")


if __name__ == "__main__":
    main()
