"""Build overhead: ``graphspec.build`` of slow_r50 from its spec (YAML load, validation,
expansion, static checks, lowering) vs calling the Python builder directly with the same
arguments, and vs constructing the modules alone (lowering a pre-expanded IR: the floor).
Target ratio <= 1.2x. Prints the ratios; asserts nothing."""
from __future__ import annotations

import statistics
from pathlib import Path

import torch

import graphspec
from graphspec.compiler.lower_torch import lower
from graphspec.compiler.template import expand_node
from graphspec.models.resnet import create_resnet
from timing import run_times

SPEC = Path(__file__).resolve().parents[1] / "specs" / "models" / "slow_r50.yaml"


def best_and_median(fn, repeats: int = 5) -> tuple[float, float]:
    times = run_times(fn, repeats)
    return min(times), statistics.median(times)


def main() -> None:
    torch.set_num_threads(1)
    direct = best_and_median(lambda: create_resnet(stem_conv_kernel_size=(1, 7, 7), head_pool_kernel_size=(8, 7, 7)))
    spec = best_and_median(lambda: graphspec.build(SPEC))
    node = expand_node("create_resnet", dict(stem_conv_kernel_size=(1, 7, 7), head_pool_kernel_size=(8, 7, 7)))
    modules_only = best_and_median(lambda: lower(node))
    print(f"modules only (floor): best {modules_only[0]:.3f}s median {modules_only[1]:.3f}s")
    print(f"direct builder: best {direct[0]:.3f}s median {direct[1]:.3f}s")
    print(f"graphspec.build: best {spec[0]:.3f}s median {spec[1]:.3f}s")
    print(f"ratio spec/builder (best): {spec[0] / direct[0]:.2f}x  (target <= 1.2x)")
    print(f"ratio spec/modules-only (best): {spec[0] / modules_only[0]:.2f}x")


if __name__ == "__main__":
    main()
