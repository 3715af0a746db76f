"""Property: whatever a spec says, the compiler answers with findings, never an internal error;
and a spec it finds clean builds and runs on its declared inputs, with the output shapes static
inference promised.

Hypothesis mutates the zoo (specs/models) and the example model specs: values (numbers, bools,
strings, nulls, components), keys (removed, misspelt, added), list lengths and input shapes.
The module is built and run on the meta device (no memory, no arithmetic), so a mutation to a
huge size is cheap to check. ``GRAPHSPEC_PROPERTY_EXAMPLES`` sets the number of examples.
"""
from __future__ import annotations

import copy
import os
import re
import tempfile
from pathlib import Path
from typing import Any

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graphspec import registry
from graphspec.compiler.infer import TensorType
from graphspec.compiler.pipeline import compile_spec
from graphspec.spec.errors import SpecError
from graphspec.spec.source import load_document, yaml_dump

from conftest import ROOT

EXAMPLES = int(os.environ.get("GRAPHSPEC_PROPERTY_EXAMPLES", "30"))
BATCH = 2


def _corpus() -> dict[str, dict]:
    """Every model spec of the zoo and the examples, ``extends`` resolved (so the mutated copy
    stands alone)."""
    found = {}
    for path in sorted([*(ROOT / "specs" / "models").glob("*.yaml"), *(ROOT / "examples").glob("*.yaml")]):
        data, _ = load_document(path)
        if data.get("kind") == "model":
            found[str(path.relative_to(ROOT))] = data
    return found


CORPUS = _corpus()
OP_NAMES = sorted(o.name for o in registry.ops() if o.kind != "object")

_SCALARS = st.one_of(
    st.sampled_from([-1, 0, 1, 2, 3, 7, 64, 10**12]),
    st.booleans(),
    st.sampled_from(["64", "", "same", "Relu", "ReLU", "B", "T"]),
    st.sampled_from([0.0, 0.5, -1.0, 1e30]),
    st.none(),
)
_VALUES = st.one_of(
    _SCALARS,
    st.lists(st.sampled_from([0, 1, 2, 3, 7, "T"]), max_size=4),
    st.sampled_from(OP_NAMES).map(lambda name: {"op": name}),
    st.just({}),
)
_MUTATIONS = st.tuples(st.sampled_from(["set", "delete", "rename", "add_key", "grow", "shrink", "dim"]),
                       st.integers(0, 10**6), _VALUES)


def _paths(data: Any, prefix: tuple = ()) -> list[tuple]:
    """Every key path below ``data`` (containers and leaves), parents first."""
    out = [prefix]
    if isinstance(data, dict):
        for key, value in data.items():
            out += _paths(value, prefix + (key,))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            out += _paths(value, prefix + (i,))
    return out


def _at(data: Any, path: tuple) -> Any:
    for part in path:
        data = data[part]
    return data


def mutate(data: dict, mutation: tuple, binding: dict[str, int]) -> None:
    """Apply one mutation in place; ``binding`` collects a value for every symbol put into an
    input shape (the dim it replaced), so the forward pass runs on a size that fits."""
    kind, pick, value = mutation
    if kind == "dim":
        shapes = [p for p in _paths(data.get("inputs", {}), ("inputs",))
                  if isinstance(_at(data, p), list) and all(isinstance(d, (int, str)) for d in _at(data, p))]
        if not shapes:
            return
        shape = _at(data, shapes[pick % len(shapes)])
        i = pick // 7 % len(shape)
        new = value if isinstance(value, (int, str)) and not isinstance(value, bool) else "T"
        if isinstance(new, str) and new.isidentifier() and isinstance(shape[i], int):
            binding.setdefault(new, shape[i])
        shape[i] = new
        return
    paths = [p for p in _paths(data) if p and p[0] != "graphspec"]
    path = paths[pick % len(paths)]
    parent, last = _at(data, path[:-1]), path[-1]
    target = _at(data, path)
    if kind == "set":
        parent[last] = copy.deepcopy(value)
    elif kind == "delete":
        del parent[last]
    elif kind == "rename" and isinstance(parent, dict):
        parent[f"{last}x" if pick % 2 else str(last).capitalize()] = parent.pop(last)
    elif kind == "add_key" and isinstance(target, dict):
        target["extra_key" if pick % 2 else "in_channels"] = copy.deepcopy(value)
    elif kind == "grow" and isinstance(target, list) and target:
        target.append(copy.deepcopy(target[pick % len(target)]))
    elif kind == "shrink" and isinstance(target, list) and target:
        target.pop(pick % len(target))


def _concrete(dim: Any, binding: dict[str, int]) -> int:
    """A static dim at the sizes the forward pass runs with (``(T-3)//2+1`` evaluated)."""
    if isinstance(dim, int):
        return dim
    expression = re.sub(r"[A-Za-z_]\w*", lambda m: str(binding.get(m.group(), BATCH)), dim)
    assert re.fullmatch(r"[\d+\-*/() ]+", expression), dim
    return int(eval(expression, {"__builtins__": {}}))  # noqa: S307 (digits and operators only)


def _meta(value: Any, binding: dict[str, int]) -> Any:
    if isinstance(value, list):
        return [_meta(v, binding) for v in value]
    return torch.empty([_concrete(d, binding) for d in value.shape], device="meta", dtype=getattr(torch, value.dtype))


def _shapes(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_shapes(v) for v in value]
    return tuple(value.shape)


def _static(value: Any, binding: dict[str, int]) -> Any:
    if isinstance(value, list):
        return [_static(v, binding) for v in value]
    assert isinstance(value, TensorType)
    return tuple(_concrete(d, binding) for d in value.shape)


def run_forward(compiled, binding: dict[str, int]) -> dict[str, Any]:
    """The lowered module run on the meta device on the declared inputs: output name -> shapes."""
    with torch.device("meta"):
        model = compiled.lower()
    graph = compiled.graph
    values = [_meta(v, binding) for v in compiled.inputs.values()]
    names = list(graph.outputs)
    with torch.no_grad():
        if graph.single:
            out = model(values) if graph.steps[0].call == "list" else model(*values)
            outs = dict(zip(names, out)) if len(names) > 1 else {names[0]: out}
        else:
            out = model(*values)
            outs = out if len(names) > 1 else {names[0]: out}
    return {name: _shapes(v) for name, v in outs.items()}


def check(data: dict, binding: dict[str, int]) -> None:
    """The property for one spec document; ``binding`` sizes the symbols a mutation put into the
    inputs (B, the batch, is 2)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "mutated.yaml"
        path.write_text(yaml_dump(data))
        try:
            compiled = compile_spec(path)
        except SpecError as err:
            assert err.diagnostics, "a SpecError names its findings"
            return
    for d in compiled.diagnostics:
        assert "TensorType(" not in d.message, d.message
    if any(d.severity == "error" and d.code != "expect" for d in compiled.diagnostics):
        return
    try:
        got = run_forward(compiled, binding)
    except RuntimeError:
        # A symbolic clip size is checked for every size it may take only where the rules can
        # (a window over T fits some T, not all): at the one size bound here torch may refuse.
        if binding:
            return
        raise
    assert got == {name: _static(value, binding) for name, value in compiled.outputs.items()}


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_every_unmutated_spec_builds_and_runs_as_inferred(name):
    check(copy.deepcopy(CORPUS[name]), {})


@settings(max_examples=EXAMPLES, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(name=st.sampled_from(sorted(CORPUS)), mutations=st.lists(_MUTATIONS, min_size=1, max_size=3))
def test_mutated_specs_give_findings_or_a_model_that_runs_as_inferred(name, mutations):
    data = copy.deepcopy(CORPUS[name])
    binding: dict[str, int] = {}
    for mutation in mutations:
        mutate(data, mutation, binding)
    check(data, binding)
