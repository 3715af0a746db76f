"""Property: whatever a spec says, the compiler answers with findings, never an internal error;
and a spec it finds clean builds and runs on its declared inputs, with the output shapes static
inference promised.

Hypothesis mutates the zoo (specs/models) and the example model specs: values (numbers, bools,
strings, nulls, components), keys (removed, misspelt, added), list lengths and input shapes.
The module is built and run on the meta device (no memory, no arithmetic), so a mutation to a
huge size is cheap to check. The transform specs (specs/transforms) get the same mutations: a
clean one builds and runs on a clip of its declared input, giving the layouts inference
promised; the data specs (specs/data) compile to findings or a clean result, never an internal
error (they read no data). ``GRAPHSPEC_PROPERTY_EXAMPLES`` sets the number of examples.
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


def _kind_corpus(folder: str, kind: str) -> dict[str, dict]:
    """Every ``kind`` spec under ``specs/<folder>``, ``extends`` resolved and the spec paths it
    references (``transform:``, ``model:``) made absolute, so the mutated copy stands alone."""
    from graphspec.data.spec import resolve_path

    found = {}
    for path in sorted((ROOT / "specs" / folder).rglob("*.yaml")):
        data, smap = load_document(path)
        if data.get("kind") != kind:
            continue
        for key in ("transform", "model"):
            if kind == "data" and isinstance(data.get(key), str):
                data[key] = resolve_path(str(path), data[key], smap, key)
        found[str(path.relative_to(ROOT))] = data
    return found


CORPUS = _corpus()
TRANSFORMS = _kind_corpus("transforms", "transform")
DATA = _kind_corpus("data", "data")
OP_NAMES = sorted(o.name for o in registry.ops() if o.kind != "object")
ALL_OP_NAMES = sorted(o.name for o in registry.ops())

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
#: transform and data specs also name the object ops (datasets, samplers, transform functions)
_ANY_VALUES = st.one_of(_VALUES, st.sampled_from(ALL_OP_NAMES).map(lambda name: {"op": name}),
                        st.sampled_from(ALL_OP_NAMES))
_ANY_MUTATIONS = st.tuples(st.sampled_from(["set", "delete", "rename", "add_key", "grow", "shrink", "dim"]),
                           st.integers(0, 10**6), _ANY_VALUES)


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
    if kind == "dim":  # a model's input shapes, a transform's declared video shapes
        shapes = [p for root in ("inputs", "input") if root in data for p in _paths(data[root], (root,))
                  if isinstance(_at(data, p), list) and _at(data, p)
                  and all(isinstance(d, (int, str)) for d in _at(data, p))]
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
        # (a window over T fits some T, not all): torch may refuse the one size bound here, and
        # then static inference at that size must say so too.
        if not binding or not _refused_at(data, binding):
            raise
        return
    assert got == {name: _static(value, binding) for name, value in compiled.outputs.items()}


def _refused_at(data: dict, binding: dict[str, int]) -> bool:
    """Whether ``data`` with its input symbols bound to sizes is refused by static inference
    (an error other than a failed ``expect``)."""
    concrete = copy.deepcopy(data)
    for path in _paths(concrete.get("inputs", {}), ("inputs",)):
        value = _at(concrete, path)
        if isinstance(value, list) and all(isinstance(d, (int, str)) for d in value):
            value[:] = [binding.get(d, BATCH) if isinstance(d, str) else d for d in value]
    return refused(concrete)


def refused(data: dict) -> bool:
    """Whether static inference refuses ``data`` (an error other than a failed ``expect``)."""
    compiled = compiled_or_none(data)
    return compiled is None or any(d.severity == "error" and d.code != "expect" for d in compiled.diagnostics)


#: the settings of every mutation property
PROPERTY = settings(max_examples=EXAMPLES, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def mutated(corpus: dict[str, dict], name: str, mutations: list) -> tuple[dict, dict[str, int]]:
    """A copy of ``corpus[name]`` with ``mutations`` applied, and the sizes of the symbols they
    put into its input shapes."""
    data = copy.deepcopy(corpus[name])
    binding: dict[str, int] = {}
    for mutation in mutations:
        mutate(data, mutation, binding)
    return data, binding


# --------------------------------------------------------------------------- transform and data specs

#: sizes of the symbols of the transform specs' declared clips (small: the transforms run for real)
CLIP_SIZES = {"T": 20, "H": 36, "W": 48}
#: a transform whose spec holds a larger number may allocate that much when it runs (a crop or a
#: scale to 10**12 over a symbolic frame size passes static inference): such an example is
#: checked statically only
RUN_LIMIT = 4096


def _numbers(value: Any) -> list:
    if isinstance(value, dict):
        return [n for v in value.values() for n in _numbers(v)]
    if isinstance(value, list):
        return [n for v in value for n in _numbers(v)]
    return [value] if isinstance(value, (int, float)) and not isinstance(value, bool) else []


def _clip(inputs: dict, sizes: dict[str, int]) -> dict:
    """A clip of the declared layouts: random frames, 7 for an opaque value (a label)."""
    from graphspec.transforms.rules import VideoType

    clip = {}
    for key, value in inputs.items():
        if not isinstance(value, VideoType):
            clip[key] = 7
            continue
        shape = [_concrete(d, sizes) for d in value.shape]
        dtype = getattr(torch, value.dtype)
        clip[key] = (torch.randint(0, 256, shape, dtype=torch.uint8).to(dtype) if dtype == torch.uint8
                     else torch.rand(shape, dtype=dtype))
    return clip


def _agrees(static: Any, got: Any, sizes: dict[str, int]) -> bool:
    """A run's value has the layout inference gave it (dims inference cannot know, ``?``, aside)."""
    from graphspec.transforms.rules import Opaque, Unchecked, VideoType

    if isinstance(static, (Opaque, Unchecked)):
        return True
    if isinstance(static, list):
        return isinstance(got, (list, tuple)) and len(got) == len(static) and all(
            _agrees(s, g, sizes) for s, g in zip(static, got))
    if isinstance(static, dict):
        return isinstance(got, dict) and set(got) == set(static) and all(
            _agrees(static[k], got[k], sizes) for k in static)
    assert isinstance(static, VideoType)
    if not isinstance(got, torch.Tensor) or str(got.dtype) != f"torch.{static.dtype}" or got.ndim != len(static.shape):
        return False
    return all("?" in str(d) or _concrete(d, sizes) == n for d, n in zip(static.shape, got.shape))


def _write(data: dict, folder: str) -> Path:
    path = Path(folder) / "mutated.yaml"
    path.write_text(yaml_dump(data))
    return path


def compiled_or_none(data: dict):
    """``data`` compiled (any kind), its findings each located; None when it cannot be compiled
    at all (a ``SpecError``, naming its located findings)."""
    import graphspec

    with tempfile.TemporaryDirectory() as folder:
        try:
            compiled = graphspec.compile(_write(data, folder))
        except SpecError as err:
            assert err.diagnostics and all(d.location is not None for d in err.diagnostics), err
            return None
    assert all(d.location is not None for d in compiled.diagnostics), [str(d) for d in compiled.diagnostics]
    return compiled


def check_transform(data: dict, binding: dict[str, int]) -> None:
    """The property for a transform spec: findings (located), or a transform that runs on a clip
    of its declared input and gives the layouts static inference promised."""
    sizes = {**CLIP_SIZES, **binding}
    compiled = compiled_or_none(data)
    if compiled is None or not compiled.ok or any(abs(n) > RUN_LIMIT for n in _numbers(data)):
        return
    clip = _clip(compiled.inputs, sizes)
    try:
        out = compiled.build(seed=0)(clip)
    except (RuntimeError, ValueError, IndexError):
        # a symbolic frame size passes a crop or a window that one bound size may not: static
        # inference at the sizes of this clip must refuse it then
        if not _transform_refused_at(data, sizes):
            raise
        return
    assert _agrees(compiled.outputs, out, sizes), (compiled.outputs, {k: getattr(v, "shape", v) for k, v in out.items()})


def _transform_refused_at(data: dict, sizes: dict[str, int]) -> bool:
    """Whether ``data`` with its clip symbols bound to ``sizes`` is refused by static inference."""
    concrete = copy.deepcopy(data)
    for decl in concrete.get("input", {}).values():
        if isinstance(decl, dict) and isinstance(decl.get("shape"), list):
            decl["shape"] = [sizes.get(d, d) if isinstance(d, str) else d for d in decl["shape"]]
    return refused(concrete)


def check_data(data: dict) -> None:
    """The property for a data spec: findings, each located, or a clean result (no data read)."""
    compiled = compiled_or_none(data)
    assert compiled is None or compiled.ok == (not any(d.severity == "error" for d in compiled.diagnostics))


def test_the_corpora_hold_every_transform_and_data_spec():
    assert len(TRANSFORMS) >= 10 and len(DATA) >= 10


#: per kind: its corpus, the mutations it gets, and the property each spec of it holds (given the
#: sizes of the symbols the mutations put into its input shapes)
KINDS = {
    "model": (CORPUS, _MUTATIONS, check),
    "transform": (TRANSFORMS, _ANY_MUTATIONS, check_transform),
    "data": (DATA, _ANY_MUTATIONS, lambda data, binding: check_data(data)),
}


@pytest.mark.parametrize("kind, name", [(kind, name) for kind, (corpus, *_) in KINDS.items() for name in sorted(corpus)])
def test_every_unmutated_spec_holds_the_property_of_its_kind(kind, name):
    corpus, _, holds = KINDS[kind]
    holds(copy.deepcopy(corpus[name]), {})


@pytest.mark.parametrize("kind", KINDS)
@PROPERTY
@given(drawn=st.data())
def test_mutated_specs_give_located_findings_or_run_as_inferred(kind, drawn):
    corpus, mutations, holds = KINDS[kind]
    name = drawn.draw(st.sampled_from(sorted(corpus)), label="name")
    holds(*mutated(corpus, name, drawn.draw(st.lists(mutations, min_size=1, max_size=3), label="mutations")))
