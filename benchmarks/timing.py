"""Wall-time helper shared by the benchmark scripts (imported as ``timing``: each script runs
with ``benchmarks/`` first on ``sys.path``)."""
from __future__ import annotations

import time
from collections.abc import Callable


def run_times(fn: Callable[[], object], runs: int = 5) -> list[float]:
    """Seconds taken by each of ``runs`` calls of ``fn``."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times
