"""Train SimCLR (examples/simclr_tiny.yaml) for a few steps on synthetic clips; the loss falls.

    python examples/ssl_simclr.py [--steps 30]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import graphspec  # noqa: E402
from ssl_common import report, train  # noqa: E402

SPEC = Path(__file__).resolve().with_name("simclr_tiny.yaml")


def main(steps: int = 30, seed: int = 0) -> list[float]:
    torch.manual_seed(seed)
    model = graphspec.build(SPEC)
    return train(model, steps=steps, seed=seed)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30)
    started = time.perf_counter()
    report("SimCLR", main(parser.parse_args().steps), started)
