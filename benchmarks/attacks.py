"""The attack list of issue 16 against a fresh registry, about 3,000 scripted requests with one
legitimate account (and a careless adjudicator): prints, per attack, what it got.

Makes a migrated registry (SQLite in a temp folder, or ``--database`` a PostgreSQL URL whose
schema is created and dropped), seeds it as the web tests do (``tests/web/conftest.seed``), and
runs ``tests/web/attacks.run_attacks`` through FastAPI's ``TestClient`` with ``--rounds``
repetitions, plus ``regmed serve --check`` in an empty folder. Ends with ``verify_audit`` of the
registry (the trail and every record). Exit status 1 when any rule broke.

Run: PYTHONPATH=src python benchmarks/attacks.py [--rounds 20]
     [--database postgresql+psycopg://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from _scratch import scratch_url

# the web tests' package, as ``web`` (a third-party ``tests`` package may shadow ``tests``)
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import regmed.registry as reg  # noqa: E402
from regmed.web import WebSettings, create_app  # noqa: E402
from web.attacks import run_attacks  # noqa: E402
from web.conftest import KEY, Clock, seed  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--database", default=None, help="PostgreSQL URL (default: SQLite)")
    args = ap.parse_args()
    with scratch_url(args.database, "attacks") as url:
        engine = reg.make_engine(url)
        try:
            reg.upgrade(engine)
            seed(engine)
            settings = WebSettings(secret_key="attack-secret-0123456789", secure_cookies=False,
                                   pseudonym_key=KEY, clock=Clock())
            app = create_app(settings, engine=engine)
            t0 = time.perf_counter()
            outcomes = run_attacks(app, rounds=args.rounds, cli=True)
            seconds = time.perf_counter() - t0
            with reg.session_scope(engine) as s:
                audit = reg.verify_audit(s)
        finally:
            engine.dispose()
    backend = "PostgreSQL" if args.database else "SQLite"
    total = sum(o.requests for o in outcomes)
    print(f"{backend}: {total} requests in {seconds:.1f} s ({args.rounds} rounds)")
    for o in outcomes:
        print(f"- {o.line()}  [{o.expected}]")
    print(f"verify_audit: {audit.message}")
    return 0 if all(o.held for o in outcomes) and audit.ok else 1


if __name__ == "__main__":
    sys.exit(main())
