"""Shared fixtures and reference facts (read from tests/reference, a copy of PyTorchVideo's documented
figures and checkpoint layouts kept in the repository so a user's clone tests alone; never hard-coded)."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Callable

import pytest
import torch

from graphspec.compiler.infer import TensorType, annotate_state, infer
from graphspec.compiler.ir import assign_paths, lint
from graphspec.compiler.lower_torch import lower
from graphspec.compiler.template import expand_node

ROOT = Path(__file__).resolve().parents[1]
SPECS = ROOT / "specs"
REFERENCE = ROOT / "tests" / "reference"

torch.set_num_threads(min(2, torch.get_num_threads()))


def reference_rows(name: str) -> list[tuple[str, str, tuple]]:
    """checkpoint-layouts/NAME.txt as ``[(key, dtype, shape)]``, in state_dict order."""
    rows = []
    for line in (REFERENCE / "checkpoint-layouts" / f"{name}.txt").read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        key, dtype, shape = line.split("\t")
        rows.append((key, dtype, tuple(int(d) for d in re.findall(r"\d+", shape))))
    return rows


def reference_layout(name: str) -> dict[str, tuple[str, tuple]]:
    """``key -> (dtype, shape)`` from checkpoint-layouts/NAME.txt."""
    return {key: (dtype, shape) for key, dtype, shape in reference_rows(name)}


def meta_tensor(value):
    """A meta-device tensor for a ``TensorType`` or a shape (symbols become 2); lists map over."""
    if isinstance(value, list):
        return [meta_tensor(v) for v in value]
    shape = value.shape if hasattr(value, "shape") else value
    return torch.empty([2 if isinstance(d, str) else d for d in shape], device="meta")


def check_example_on_meta(path: Path, classes: int) -> torch.nn.Module:
    """An example model spec validates to ``[B, classes]`` logits, and its module on the meta device
    agrees with static inference: the state_dict layout, and every node's output (symbols as 2).
    Returns the module."""
    from graphspec.compiler.pipeline import compile_spec

    result = compile_spec(path)
    assert result.ok, [d.format() for d in result.diagnostics]
    assert result.outputs["logits"] == TensorType(("B", classes))
    with torch.device("meta"):
        module = result.lower()
    assert [(k, tuple(v.shape)) for k, v in module.state_dict().items()] == [(k, s) for k, _, s, _ in result.state]
    shapes = {}
    hooks = [m.register_forward_hook(lambda mod, i, o, name=name: shapes.__setitem__(name, tuple(o.shape)))
             for name, m in module.named_modules()]
    with torch.device("meta"):
        out = module(*[meta_tensor(v.shape) for v in result.inputs.values()])
    for hook in hooks:
        hook.remove()
    assert tuple(out.shape) == (2, classes)
    for node in result.nodes:
        assert shapes[node.path] == tuple(2 if isinstance(d, str) else d for d in node.meta["output"].shape), node.path
    return module


def zoo_reference(name: str) -> dict:
    """The model-zoo.md row of ``name`` that has GMACs, and the input they are counted at."""
    return next(row for row in reference_zoo_table()[name] if row["gmacs"] is not None)


def check_zoo_model(name: str, op: str, kwargs: dict,
                    inputs: Callable[[tuple], Any] = lambda thw: TensorType(("B", 3, *thw))) -> None:
    """Static layout, params, entries and MACs equal the reference (``zoo_reference``) at the
    model's ``inputs`` for the reference's T x H x W (one clip by default); the module lowered on
    the meta device has the same state and output shape."""
    reference = zoo_reference(name)
    root = assign_paths(expand_node(op, kwargs))
    assert lint(root) == []
    model_inputs = inputs(reference["thw"])
    assert infer(root, model_inputs) == TensorType(("B", 400))
    assert root.meta["macs"] == pytest.approx(reference["gmacs"] * 1e9, rel=0.01)
    state = annotate_state(root)
    assert [(key, dtype, shape_) for key, dtype, shape_, _ in state] == reference_rows(name)
    assert root.meta["params"] == reference["params"] and len(state) == reference["entries"]
    with torch.device("meta"):
        module = lower(root)
        out = module(meta_tensor(model_inputs))
    assert [(k, tuple(v.shape)) for k, v in module.state_dict().items()] == [(k, s) for k, _, s, _ in state]
    assert sum(p.numel() for p in module.parameters()) == root.meta["params"]
    assert tuple(out.shape) == (2, 400)


def check_eager_softmax_classifier(builder: Callable, kwargs: dict, shapes, classes: int) -> torch.nn.Module:
    """``builder(**kwargs)`` (seeded random weights, eval) on random clips of ``shapes`` (one shape,
    or a list of pathway shapes): the output is (batch, ``classes``), as static inference of the same
    call says, each row a softmax (sums to 1); the module has the statically counted parameters.
    Returns the module."""
    torch.manual_seed(0)
    model = builder(**kwargs).eval()
    pathways = isinstance(shapes, list)
    x = [torch.randn(s) for s in shapes] if pathways else torch.randn(shapes)
    static = [TensorType(tuple(s)) for s in shapes] if pathways else TensorType(tuple(shapes))
    batch = (shapes[0] if pathways else shapes)[0]
    with torch.no_grad():
        y = model(x)
    root = assign_paths(expand_node(builder.__graphspec_op__, kwargs))
    assert lint(root) == []
    assert tuple(y.shape) == (batch, classes) and infer(root, static) == TensorType((batch, classes))
    assert torch.allclose(y.sum(dim=1), torch.ones(batch), atol=1e-5)
    annotate_state(root)
    assert sum(p.numel() for p in model.parameters()) == root.meta["params"]
    return model


def reference_zoo_table() -> dict[str, list[dict]]:
    """Rows of model-zoo.md's 'Sizes and cost' table: name -> [{params, entries, thw, gmacs}]."""
    rows: dict[str, list[dict]] = {}
    text = (REFERENCE / "model-zoo.md").read_text()
    table = text.split("## Sizes and cost", 1)[1]
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 5 or not cells[1].replace(",", "").isdigit():
            continue
        thw = tuple(int(x) for x in re.findall(r"\d+", cells[3])) if cells[3] else None
        rows.setdefault(cells[0], []).append(dict(
            params=int(cells[1].replace(",", "")), entries=int(cells[2]), thw=thw,
            gmacs=float(cells[4]) if cells[4] else None,
        ))
    return rows


def zoo_specs() -> list[Path]:
    return sorted(p for p in (SPECS / "models").glob("*.yaml"))

