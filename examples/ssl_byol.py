"""Train BYOL (examples/byol_tiny.yaml) for a few steps on synthetic clips; the loss falls.

The target network's momentum follows the BYOL paper's cosine schedule from the spec's ``mmt``
towards 1 (``cosine_momentum``, set with ``update_mmt`` before each step).

    python examples/ssl_byol.py [--steps 30]
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from graphspec.models.byol import cosine_momentum  # noqa: E402
from ssl_common import build, run, train  # noqa: E402


def main(steps: int = 30, seed: int = 0) -> list[float]:
    model = build("byol_tiny.yaml", seed)
    base = model.get_mmt()
    return train(model, steps=steps, seed=seed, on_step=lambda step: model.update_mmt(cosine_momentum(base, step, steps)))


if __name__ == "__main__":
    run("BYOL", main, __doc__)
