"""Train SimCLR (examples/simclr_tiny.yaml) for a few steps on synthetic clips; the loss falls.

    python examples/ssl_simclr.py [--steps 30]
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ssl_common import build, run, train  # noqa: E402


def main(steps: int = 30, seed: int = 0) -> list[float]:
    return train(build("simclr_tiny.yaml", seed), steps=steps, seed=seed)


if __name__ == "__main__":
    run("SimCLR", main, __doc__)
