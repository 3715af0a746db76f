"""A window over a symbolic clip dim fits some sizes, not all: validate warns with the least size
that works, and that size is the one where torch's own forward pass starts to work."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch

import graphspec
from graphspec.compiler.symbolic_sizes import least_size

ROOT = Path(__file__).resolve().parents[1]
SIZES = {"slow_r50": [8, 224, 224], "x3d_xs": [4, 182, 182]}


def _runs(model: torch.nn.Module, clip: list[int]) -> bool:
    try:
        model(torch.empty([1, 3, *clip], device="meta"))
    except RuntimeError:
        return False
    return True


@pytest.mark.parametrize("name", sorted(SIZES))
@pytest.mark.parametrize("axis", [0, 1, 2], ids=["T", "H", "W"])
def test_least_size_warning_is_where_the_forward_pass_starts_to_work(name, axis):
    symbol = "THW"[axis]
    shape = [*SIZES[name]]
    declared = [str(d) for d in shape]
    declared[axis] = symbol
    spec = ROOT / "specs" / "models" / f"{name}.yaml"
    found = graphspec.check(spec, [f"inputs.video=[B, 3, {', '.join(declared)}]"])
    [warning] = [d for d in found if d.code == "symbolic" and d.message.startswith(f"{symbol} >= ")]
    assert warning.severity == "warning" and warning.location is not None
    least = int(re.match(rf"{symbol} >= (\d+) for ", warning.message)[1])
    model = graphspec.build(spec).to("meta")
    at, below = list(shape), list(shape)
    at[axis], below[axis] = least, least - 1
    assert _runs(model, at) and not _runs(model, below)


@pytest.mark.parametrize("expression, expected", [
    ("T", None), ("(T-8)//1+1", ("T", 8)), ("(T-1)//2+1", ("T", 1)), ("(H-7)//32+1", ("H", 7)),
    ("T-100000000", ("T", None)), ("T*H", None),
])
def test_least_size_of_an_expression(expression, expected):
    assert least_size(expression) == expected
