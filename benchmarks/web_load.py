"""Load test of the web application: concurrent site users saving assessment forms.

Makes a fresh registry (SQLite in a temp folder, or ``--database`` a PostgreSQL URL whose
schema is created and dropped), creates ``--users`` investigators spread over 5 sites with one
patient each, starts the app with uvicorn in its own process(es) (``--workers``; the clients
play the browsers, so they do not share the server's interpreter), logs every user in, then
each user saves ``--requests`` assessments through ``POST /api/patients/{id}/assessments`` at
the same time, pausing about ``--think`` seconds (deterministic jitter 0.5-1.5x) before each
save, as a person filling in the next form does (0: no pause, a stress run).
Prints p50/p95/max latency of the saves, the throughput, the number of errors, and the result
of ``verify_audit`` on the registry afterwards (the hash chain and every record).

Run: PYTHONPATH=src python benchmarks/web_load.py [--users 50] [--requests 20] [--think 1.5]
     [--workers 1] [--database postgresql+psycopg://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pandas as pd
from _scratch import scratch_url

import regmed.registry as reg

KEY = b"web-load-key-0123456789"
PASSWORD = "load-test-password"
SECRET = "load-test-secret-0123456789"
TARGET_P95_S = 0.300


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


def _serve(url: str, port: int, workers: int) -> subprocess.Popen[bytes]:
    env = dict(os.environ, REGMED_DATABASE_URL=url, REGMED_WEB_SECRET_KEY=SECRET,
               REGMED_PSEUDONYM_KEY=KEY.decode(), REGMED_WEB_INSECURE_COOKIES="1")
    src = str(Path(__file__).resolve().parents[1] / "src")
    env["PYTHONPATH"] = os.pathsep.join([src, env.get("PYTHONPATH", "")])
    cmd = [sys.executable, "-m", "uvicorn", "--factory", "regmed.web.app:app_from_env",
           "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
           "--log-level", "warning", "--no-access-log"]
    proc = subprocess.Popen(cmd, env=env)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/login", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.terminate()
    raise SystemExit("the server did not start")


def _user_run(base: str, i: int, n: int, think: float,
              start: threading.Barrier) -> tuple[list[float], int]:
    times, errors = [], 0
    with httpx.Client(base_url=base, timeout=60) as c:
        r = c.post("/api/login", json={"username": f"site{i}", "password": PASSWORD})
        ok = r.status_code == 200
        h = {"X-CSRF-Token": r.json()["csrf_token"]} if ok else {}
        pid = c.get("/api/patients").json()[0]["id"] if ok else 0
        start.wait()
        if not ok:
            return [], n
        for k in range(n):
            time.sleep(think * (0.5 + (i * 7919 + k * 104729) % 1000 / 1000))
            body = {"endpoint": "score", "visit": "day49", "assessed_on": "2026-02-19",
                    "value": float(k), "assessor": f"Dr {i}",
                    "assessor_role": "treating_physician", "blinded": False}
            t0 = time.perf_counter()
            try:
                r = c.post(f"/api/patients/{pid}/assessments", json=body, headers=h)
                errors += r.status_code != 201
            except httpx.HTTPError:
                errors += 1
            times.append(time.perf_counter() - t0)
    return times, errors


def _run(base: str, users: int, requests: int, think: float
         ) -> tuple[list[float], int, float]:
    start = threading.Barrier(users + 1)
    with ThreadPoolExecutor(users) as pool:
        futures = [pool.submit(_user_run, base, i, requests, think, start)
                   for i in range(users)]
        start.wait()
        t0 = time.perf_counter()
        results = [f.result() for f in futures]
        wall = time.perf_counter() - t0
    times = sorted(t for ts, _ in results for t in ts)
    return times, sum(e for _, e in results), wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--users", type=int, default=50)
    ap.add_argument("--requests", type=int, default=20, help="saves per user")
    ap.add_argument("--think", type=float, default=0.0,
                    help="mean seconds a user spends on a form before each save (0: stress)")
    ap.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    ap.add_argument("--database", default=None, help="PostgreSQL URL (default: SQLite)")
    args = ap.parse_args()
    with scratch_url(args.database, "load") as url:
        engine = reg.make_engine(url)
        proc = None
        try:
            reg.upgrade(engine)
            _seed(engine, args.users)
            port = _free_port()
            proc = _serve(url, port, args.workers)
            times, errors, wall = _run(f"http://127.0.0.1:{port}", args.users, args.requests,
                                       args.think)
            proc.terminate()
            proc.wait(30)
            with reg.session_scope(engine) as s:
                check = reg.verify_audit(s)
                saved = s.query(reg.Assessment).count()
        finally:
            if proc is not None and proc.poll() is None:
                proc.kill()
            engine.dispose()
    q = statistics.quantiles(times, n=100) if len(times) > 1 else times * 99
    backend = "postgresql" if args.database else "sqlite"
    print(f"web_load ({backend}, {args.workers} worker(s)): {args.users} concurrent users x "
          f"{args.requests} saves = {len(times)} requests, think {args.think:g} s, in "
          f"{wall:.1f} s ({len(times) / wall:.0f} saves/s)")
    met = "met" if q[94] < TARGET_P95_S and errors == 0 else "NOT met"
    print(f"  latency p50 {q[49] * 1000:.0f} ms  p95 {q[94] * 1000:.0f} ms  "
          f"max {times[-1] * 1000:.0f} ms  errors {errors}  "
          f"(target p95 < {TARGET_P95_S * 1000:.0f} ms, no errors: {met})")
    print(f"  assessments stored {saved}; {check.message}")
    if not check.ok:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
