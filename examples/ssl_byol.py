"""Train BYOL (examples/byol_tiny.yaml) for a few steps on synthetic clips; the loss falls.

The target network's momentum follows the BYOL paper's cosine schedule from the spec's ``mmt``
towards 1 (``cosine_momentum``, set with ``update_mmt`` before each step).

    python examples/ssl_byol.py [--steps 30]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import graphspec  # noqa: E402
from graphspec.models.byol import cosine_momentum  # noqa: E402
from ssl_common import report, train  # noqa: E402

SPEC = Path(__file__).resolve().with_name("byol_tiny.yaml")


def main(steps: int = 30, seed: int = 0) -> list[float]:
    torch.manual_seed(seed)
    model = graphspec.build(SPEC)
    base = model.get_mmt()
    return train(model, steps=steps, seed=seed, on_step=lambda step: model.update_mmt(cosine_momentum(base, step, steps)))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30)
    started = time.perf_counter()
    report("BYOL", main(parser.parse_args().steps), started)
