"""Wall time of ``graphspec validate specs/models/*.yaml`` including interpreter start-up, side by
side with a bare ``python -c 'import torch'`` (the floor; target: within 1.3x of it), rounds
interleaved so both share the machine's noise, best of each -- in wall time and in CPU time
(user + system of the child), which a machine shared with other work disturbs less -- both with
their bytecode cached (``bytecode_env``). Then where validate's time goes, in one process:
importing torch, registering graphspec's ops, compiling the specs (and of both, building the
pydantic argument validators the specs use).

    python benchmarks/validate_walltime.py [--rounds 3]
"""
from __future__ import annotations

import argparse
import glob
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET = 1.3

#: run in a fresh interpreter: the phases of validate, timed in one process
PHASES = """
import glob, sys, time
import pydantic
spent = [0.0]
build = pydantic.TypeAdapter.__init__
def timed(self, *args, **kwargs):
    start = time.perf_counter(); build(self, *args, **kwargs); spent[0] += time.perf_counter() - start
pydantic.TypeAdapter.__init__ = timed
t0 = time.perf_counter()
import torch
t1 = time.perf_counter()
from graphspec import api
api.ensure_builtin_ops()
t2 = time.perf_counter()
for spec in sys.argv[1:]:
    api.compile(spec)
t3 = time.perf_counter()
print(f"  import torch {t1 - t0:.2f}s; register the ops {t2 - t1:.2f}s; compile {len(sys.argv) - 1} specs "
      f"{t3 - t2:.2f}s (of both, building argument validators, on first use: {spent[0]:.2f}s)")
"""


def bytecode_env(cache: str) -> dict[str, str]:
    """The children's environment: bytecode cached under ``cache``, for torch and graphspec alike.
    An installed package has its bytecode; with PYTHONDONTWRITEBYTECODE set (as on a shared
    checkout) graphspec would recompile its ~100 modules from source every run, torch none."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return {**env, "PYTHONPYCACHEPREFIX": cache}


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds (user + system) of running ``cmd`` in a child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, check=False, capture_output=True, env=env)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    specs = sorted(glob.glob(str(ROOT / "specs/models/*.yaml")))
    floor_cmd = [sys.executable, "-c", "import torch"]
    validate_cmd = [sys.executable, "-m", "graphspec", "validate", *specs]
    floors, totals = [], []
    with tempfile.TemporaryDirectory(prefix="graphspec-bytecode-") as cache:
        env = bytecode_env(cache)
        timed(floor_cmd, env), timed(validate_cmd, env)  # untimed: they write the bytecode
        for _ in range(args.rounds):
            floors.append(timed(floor_cmd, env))
            totals.append(timed(validate_cmd, env))
        for measure, index in (("wall", 0), ("CPU", 1)):
            floor, total = min(t[index] for t in floors), min(t[index] for t in totals)
            print(f"{measure} time: import torch alone {floor:.2f}s; graphspec validate ({len(specs)} specs) "
                  f"{total:.2f}s; ratio {total / floor:.2f}x (target {TARGET}x)")
        print("where validate's time goes (one process):")
        sys.stdout.flush()
        subprocess.run([sys.executable, "-c", PHASES, *specs], cwd=ROOT, check=False, env=env)


if __name__ == "__main__":
    main()
