"""Wall time of ``graphspec validate specs/models/*.yaml`` including interpreter start-up,
side by side with a bare ``python -c 'import torch'`` (the floor). Target: under 3 s."""
from __future__ import annotations

import glob
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, check=False, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    specs = sorted(glob.glob(str(ROOT / "specs/models/*.yaml")))
    floor = min(timed([sys.executable, "-c", "import torch"]) for _ in range(3))
    total = min(timed([sys.executable, "-m", "graphspec", "validate", *specs]) for _ in range(3))
    print(f"import torch alone: {floor:.2f}s")
    print(f"graphspec validate ({len(specs)} specs): {total:.2f}s  (target < 3 s)")
    print(f"ratio to the torch-import floor: {total / floor:.2f}x")


if __name__ == "__main__":
    main()
