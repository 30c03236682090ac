"""End-to-end ``regmed evaluate`` (no PDF) on registries of N historical controls.

For each size, a registry of the demo scenario "sci" (120 treated, 240 concurrent controls and
N historical registry controls, each with its baseline, enrollment, assessments and follow-up)
is built through the audited importer (:func:`regmed.registry.import_tables`, as ``regmed demo``
does; the importer's own bulk path), its study dictionary stored and its plan locked. Then
:func:`regmed.app.evaluation.run_evaluation` — what ``regmed evaluate --no-pdf`` runs — is
timed in a fresh child process, step by step:

``open``          plan, lock check and registry connection;
``read tables``   the registry's records into frames (extraction before the derivation);
``study data``    the derivation of the analysis frame (:func:`build_study_data`);
``ps fit``        :func:`regmed.evidence.fit_propensity` (all analyses);
``matching``      :func:`regmed.evidence.match`;
``balance``       :func:`regmed.evidence.balance`;
``distributions`` the propensity-score distribution stored for the report;
``analysis``      the rest of the comparisons (effects, heterogeneity, sensitivity, quality,
                  checklist, power);
``validate``      :func:`regmed.document.validate_document`;
``store``         :func:`regmed.registry.extract.store_evaluation` (audited) and the commit;
``load``          reading the stored document back and checking its seal;
``outputs``       the analysis data sets (CSV) and the HTML report.

With ``--baseline-src DIR`` each registry is evaluated first by the regmed of ``DIR`` (say a
checkout of main, in a fresh interpreter) and then by the current code, for a before/after
comparison on the same records. Each step's wall time is given with the child's CPU time in it
(``time.process_time``: on a machine shared with other work the wall time grows, the CPU time
much less). Each step's peak resident memory is the child's ``VmHWM`` since the step began
(the kernel's high-water mark is reset at every step boundary through
``/proc/self/clear_refs``), so the figures are per step and need no tracing; ``peak`` is the
largest of them. The document's size is its stored JSON. Registries of a size can be kept
(``--keep DIR``, SQLite only) so that a second run skips the import.

Run::

    PYTHONPATH=src python benchmarks/bench_evaluate.py --sizes 10000 100000 1000000 \
        [--database postgresql+psycopg://postgres@127.0.0.1:5432/test] [--keep DIR] \
        [--baseline-src /path/to/main/src]
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _scratch import in_child, scratch_url  # noqa: E402

STEPS = ("open", "read tables", "study data", "ps fit", "matching", "balance", "distributions",
         "analysis", "validate", "store", "load", "outputs")
PLAN = "demo-sci"


def _hwm_mib() -> float:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")  # pragma: no cover


def _reset_hwm() -> None:
    with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
        fh.write("5")


class Steps:
    """Wall time and peak RSS per step; the current step is a stack (a wrapped call returns
    to the step it interrupted)."""

    def __init__(self) -> None:
        self.time = dict.fromkeys(STEPS, 0.0)
        self.cpu = dict.fromkeys(STEPS, 0.0)
        self.peak = dict.fromkeys(STEPS, 0.0)
        self.stack = ["open"]
        self.started = time.perf_counter()
        self.cpu_started = time.process_time()
        _reset_hwm()

    def _close(self) -> None:
        now, cpu = time.perf_counter(), time.process_time()
        step = self.stack[-1]
        self.time[step] += now - self.started
        self.cpu[step] += cpu - self.cpu_started
        self.peak[step] = max(self.peak[step], _hwm_mib())
        self.started, self.cpu_started = now, cpu
        _reset_hwm()

    def switch(self, step: str) -> None:
        self._close()
        self.stack[-1] = step

    @contextmanager
    def inside(self, step: str) -> Iterator[None]:
        self._close()
        self.stack.append(step)
        try:
            yield
        finally:
            self._close()
            self.stack.pop()

    def wrap(self, owner: Any, name: str, step: str) -> None:
        inner = getattr(owner, name)

        @functools.wraps(inner)
        def timed(*args: Any, **kwargs: Any) -> Any:
            with self.inside(step):
                return inner(*args, **kwargs)

        setattr(owner, name, timed)

    def finish(self) -> None:
        self._close()


def build(url: str, n: int, seed: int) -> dict[str, Any]:
    """A registry of the "sci" demo with ``n`` historical controls, imported and locked."""
    from regmed import demo, registry
    from regmed.app.study import store_demo_dictionary
    from regmed.registry.plans import lock_plan

    t0 = time.perf_counter()
    data = demo.generate("sci", seed=seed, n_historical=n)
    t1 = time.perf_counter()
    engine = registry.make_engine(url)
    try:
        registry.upgrade(engine)
        store_demo_dictionary(engine, "sci", data.plan_yaml)
        with registry.session_scope(engine) as session:
            summary = registry.import_tables(session, data.tables, actor="bench",
                                             reason="benchmark registry")
        with registry.session_scope(engine) as session:
            lock_plan(data.plan_yaml, session=session, name=PLAN, signer="Bench Statistician",
                      reason="benchmark", actor="bench")
        if url.startswith("sqlite"):  # fold the WAL in: the file alone is the registry
            with engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        engine.dispose()
    return {"generate": t1 - t0, "import": time.perf_counter() - t1,
            "rows": sum(summary.inserted.values()), "import_peak": _hwm_mib()}


def run(url: str, out: str) -> dict[str, Any]:
    """``regmed evaluate --no-pdf`` on the registry at ``url``, step by step."""
    import regmed.document as document
    import regmed.report as report
    from regmed import evidence
    from regmed.app import evaluation as app
    from regmed.evaluate import comparison, workflow
    from regmed.registry import extract

    steps = Steps()
    steps.wrap(extract, "build_study_data", "study data")
    steps.wrap(evidence, "fit_propensity", "ps fit")
    steps.wrap(evidence, "match", "matching")
    steps.wrap(evidence, "balance", "balance")
    steps.wrap(comparison, "_ps_distribution", "distributions")
    steps.wrap(workflow, "validate_document", "validate")
    steps.wrap(document, "validate_document", "validate")
    steps.wrap(extract, "load_evaluation", "load")
    steps.wrap(app, "write_analysis_data", "outputs")
    steps.wrap(report, "write_report", "outputs")
    labels = {"reading the plan and the registry": "open", "extracting study data": "read tables",
              "storing the evaluation": "store"}

    def progress(label: str) -> None:
        steps.switch(labels.get(label, "analysis"))

    t0 = time.perf_counter()
    doc, files = app.run_evaluation(plan=PLAN, version=None, exploratory=False, out=Path(out),
                                    pdf=False, url=url, actor="bench", progress=progress)
    steps.finish()
    total = time.perf_counter() - t0
    primary = [a for a in doc["analyses"] if a["role"] == "primary"]
    return {"time": steps.time, "cpu": steps.cpu, "peak": steps.peak, "total": total,
            "total_cpu": sum(steps.cpu.values()),
            "doc_mb": Path(files["evaluation"]).stat().st_size / 1e6,
            "effects": [(a["control_source"], a["effect"]["estimate"], a["n_control"])
                        for a in primary]}


def run_in(src: str | None, url: str, out: str) -> dict[str, Any]:
    """:func:`run` in a fresh interpreter that imports regmed from ``src`` (default the one
    this benchmark runs with): the same registry evaluated by another version of the code."""
    if src is None:
        return in_child(run, url, out)
    env = {**os.environ, "PYTHONPATH": src}
    done = subprocess.run([sys.executable, __file__, "--child", url, out], env=env,
                          capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"the run with {src} failed:\n{done.stderr[-3000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def report_line(label: str, n: int, built: dict[str, Any] | None, r: dict[str, Any]) -> str:
    cpu = r.get("cpu") or {}
    steps = "  ".join(f"{s} {r['time'][s]:.1f}s" + (f" (cpu {cpu[s]:.1f})" if cpu else "")
                      + f"/{r['peak'][s]:,.0f}M" for s in STEPS)
    made = "" if built is None else (f"  [built: {built['rows']:,} rows imported in "
                                     f"{built['import']:.0f} s, peak {built['import_peak']:,.0f}"
                                     " MiB]")
    total_cpu = f" (cpu {r['total_cpu']:.1f} s)" if "total_cpu" in r else ""
    return (f"{label:<19} {n:>9,} controls: total {r['total']:6.1f} s{total_cpu}, peak "
            f"{max(r['peak'].values()):,.0f} MiB, document {r['doc_mb']:.2f} MB\n    {steps}"
            f"\n    primary effects {r['effects']}{made}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--database", default=None,
                        help="a PostgreSQL URL (a scratch schema is made); default SQLite")
    parser.add_argument("--keep", type=Path, default=None,
                        help="folder for the built SQLite registries (reused when present)")
    parser.add_argument("--seed", type=int, default=20261204)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument("--baseline-src", default=None,
                        help="also evaluate each registry with regmed imported from this src "
                             "folder (e.g. a checkout of main), before the current code")
    parser.add_argument("--child", nargs=2, metavar=("URL", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:  # the run of --baseline-src, in its own interpreter
        print(json.dumps(run(*args.child)))
        return
    os.environ.setdefault("REGMED_PSEUDONYM_KEY", "benchmark-pseudonym-key")
    os.environ.setdefault("REGMED_AUDIT_KEY", "benchmark-audit-key")
    backend = "PostgreSQL" if args.database else "SQLite"
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs", flush=True)
    results = []
    for n in args.sizes:
        with scratch_url(args.database, f"eval{n}") as url:
            built = None
            kept = None if args.keep is None or args.database else args.keep / f"sci-{n}.sqlite"
            if kept is not None and kept.exists():
                shutil.copyfile(kept, url.removeprefix("sqlite:///"))
            else:
                built = in_child(build, url, n, args.seed)
                if kept is not None:
                    kept.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(url.removeprefix("sqlite:///"), kept)
            runs = [("baseline", args.baseline_src)] if args.baseline_src else []
            for label, src in [*runs, ("current", None)]:
                with tempfile.TemporaryDirectory() as out:
                    r = run_in(src, url, out)
                print(report_line(f"{backend} {label}" if runs else backend, n, built, r),
                      flush=True)
                results.append({"backend": backend, "code": label, "n": n, "built": built, **r})
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
