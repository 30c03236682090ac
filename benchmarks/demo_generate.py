"""Time of ``regmed.demo.generate`` for the default scenarios (prints seconds per call).

Run: ``PYTHONPATH=src python benchmarks/demo_generate.py``
"""

from __future__ import annotations

import time

from regmed.demo import generate


def main(repeat: int = 5) -> None:
    generate("sci", seed=0, n_treated=2, n_concurrent=2, n_historical=2)  # warm imports
    for scenario in ("sci", "heart_failure_shortfall"):
        times = []
        for seed in range(repeat):
            start = time.perf_counter()
            demo = generate(scenario, seed=seed)
            times.append(time.perf_counter() - start)
        rows = sum(len(t) for t in demo.tables.values())
        print(f"{scenario:>24}: best {min(times):.3f} s, median {sorted(times)[repeat // 2]:.3f} s"
              f" ({rows} rows in {len(demo.tables)} tables)")


if __name__ == "__main__":
    main()
