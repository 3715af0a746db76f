"""The registry: user ops, entry points, components from YAML and from Python."""
from __future__ import annotations

import functools
import json
from importlib import metadata

import pytest
import torch
import torch.nn as nn
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

import graphspec
from graphspec import registry
from graphspec.compiler.component import as_component
from graphspec.compiler.rules import identity_infer
from graphspec.spec.errors import SpecError


class Scale(nn.Module):
    def __init__(self, factor: float = 2.0) -> None:
        super().__init__()
        self.factor = factor

    def forward(self, x):
        return x * self.factor


@pytest.fixture
def scope():
    """Ops a test registers are gone after it."""
    with registry.scoped():
        yield


def test_user_op_registered_by_decorator_is_usable_in_a_spec(tmp_path, scope):
    graphspec.register(Scale, infer=identity_infer)
    spec = tmp_path / "scaled.yaml"
    spec.write_text(
        "graphspec: 1\nkind: model\nname: scaled\ninputs: {x: [B, 3, 4, 8, 8]}\n"
        "nodes:\n  s: {op: Scale, factor: 3.0, in: x}\noutputs: {y: s}\nexpect: {outputs: {y: [B, 3, 4, 8, 8]}}\n"
    )
    assert graphspec.check(spec) == []
    model = graphspec.build(spec)
    x = torch.randn(1, 3, 4, 8, 8)
    torch.testing.assert_close(model(x), 3 * x)


def test_entry_point_group_is_loaded(monkeypatch):
    loaded = []

    class FakeEntryPoint:
        def load(self):
            loaded.append(True)

    monkeypatch.setattr(registry.default, "_entry_points_loaded", False)
    monkeypatch.setattr(metadata, "entry_points", lambda group: [FakeEntryPoint()] if group == "graphspec.ops" else [])
    registry.load_entry_points()
    assert loaded == [True]


def test_duplicate_registration_is_refused():
    class Other(nn.Module):
        pass

    with pytest.raises(ValueError, match="already registered"):
        graphspec.register(Other, name="Conv3d")


@pytest.mark.parametrize(
    "value, op, preset",
    [
        ("BatchNorm3d", "BatchNorm3d", {}),
        ({"op": "BatchNorm3d", "momentum": 0.01}, "BatchNorm3d", {"momentum": 0.01}),
        (nn.ReLU, "ReLU", {}),
        (functools.partial(nn.BatchNorm3d, eps=1e-3), "BatchNorm3d", {"eps": 1e-3}),
    ],
)
def test_components_from_yaml_and_python(value, op, preset):
    component = as_component(value)
    assert component.op == op and component.preset == preset


def test_component_errors_are_located_and_suggest():
    with pytest.raises(SpecError) as err:
        as_component({"op": "BatchNorm3d", "momentun": 0.1, "eps": "small"}, ("model", "norm"))
    messages = {d.dotted: d for d in err.value.diagnostics}
    assert messages["model.norm.momentun"].hint == "did you mean 'momentum'?"
    assert "model.norm.eps" in messages
    with pytest.raises(SpecError) as err:
        as_component("BatchNrom3d", ("model", "norm"))
    assert err.value.diagnostics[0].hint == "did you mean 'BatchNorm3d'?"


def test_a_spec_cannot_name_an_arbitrary_python_object():
    with pytest.raises(SpecError):
        as_component("os.system")
    with pytest.raises(SpecError):
        as_component({"op": "torch.nn.Conv3d"})


class Opaque:  # not a type pydantic can validate
    pass


class Takes(nn.Module):
    def __init__(self, thing: Opaque) -> None:
        super().__init__()


def test_an_uncheckable_annotation_is_refused_by_the_check_and_at_first_use(scope):
    """Validators are built on first use, so the registry's check (run here) reports the op's
    bad annotation, and so does the first validation of that argument -- never a silent pass."""
    graphspec.register(Takes, infer=identity_infer)
    with pytest.raises(TypeError, match="Takes: argument 'thing'.*arg_types"):
        registry.check()
    with pytest.raises(TypeError, match="arg_types"):
        registry.get("Takes").args["thing"].validate(Opaque())
    graphspec.register(Takes, name="TakesInt", infer=identity_infer, arg_types={"thing": int})
    assert registry.get("TakesInt").args["thing"].validate(3) == 3


def test_every_builtin_op_annotation_is_checkable():
    """The lazily built validators of graphspec's own ops all build (what registration checked
    eagerly before they became lazy)."""
    registry.check()


def test_layer_norm_shape_is_checked():
    with pytest.raises(SpecError) as err:
        as_component({"op": "LayerNorm", "normalized_shape": "wide"}, ("model",))
    assert err.value.diagnostics[0].dotted == "model.normalized_shape"


def test_ops_registered_in_a_scope_do_not_leak():
    with registry.scoped():
        graphspec.register(Scale, name="ScopedScale", infer=identity_infer)
        assert "ScopedScale" in registry.names() and registry.op_for_callable(Scale) == ("ScopedScale", {})
    assert "ScopedScale" not in registry.names() and registry.op_for_callable(Scale) is None
    with pytest.raises(SpecError, match="unknown op"):
        registry.get("ScopedScale")


def test_a_fresh_registry_is_independent_of_the_default():
    mine = registry.Registry()
    mine.register(Scale, infer=identity_infer)
    assert mine.names() == ["Scale"] and "Scale" not in registry.names()
    assert mine.get("Scale").args["factor"].validate(3.0) == 3.0


# ---- one source for the JSON Schema and argument validation --------------------------------------
_SCHEMA = registry.json_schema()


def _distinct_plain_args() -> list[tuple[str, str]]:
    """One (op, argument) per distinct argument schema (title, default and description aside)."""
    seen: dict[str, tuple[str, str]] = {}
    for op in registry.ops():
        for spec in op.args.values():
            if spec.component or spec.component_list or spec.adapter is None:
                continue
            schema = {k: v for k, v in _SCHEMA["ops"][op.name]["properties"][spec.name].items()
                      if k not in ("title", "default", "description")}
            seen.setdefault(json.dumps(schema, sort_keys=True), (op.name, spec.name))
    return sorted(seen.values())


_PLAIN_ARGS = _distinct_plain_args()
# JSON's data model has one number type (1.0 is an integer to JSON Schema); YAML and we keep two
_JSON = st.recursive(st.none() | st.booleans() | st.integers(-3, 300)
                     | st.floats(-2, 2, allow_nan=False).filter(lambda x: not x.is_integer())
                     | st.sampled_from(["", "64", "same", "mean", "zeros", "1.5"]),
                     lambda inner: st.lists(inner, max_size=4), max_leaves=8)


@pytest.mark.parametrize("op_name, arg", _PLAIN_ARGS, ids=[f"{o}.{a}" for o, a in _PLAIN_ARGS])
@settings(max_examples=25, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=_JSON)
def test_schema_and_validation_agree(op_name, arg, value):
    """What ``graphspec schema`` accepts for an argument is exactly what the compiler accepts."""
    import jsonschema  # a test dependency (pyproject [test]): missing, the test fails, it does not skip

    schema = _SCHEMA["ops"][op_name]["properties"][arg]
    by_schema = jsonschema.Draft202012Validator({**schema, "$defs": _SCHEMA["$defs"]}).is_valid(value)
    try:
        registry.get(op_name).args[arg].validate(value)
        by_pydantic = True
    except ValidationError:
        by_pydantic = False
    assert by_schema == by_pydantic, f"{op_name}.{arg} = {value!r}: schema {by_schema}, validation {by_pydantic}"



@pytest.mark.parametrize("value, ok", [(True, False), ("64", False), (0, False), (64, True), (64.0, False)])
def test_argument_validation_is_strict(value, ok):
    spec = registry.get("Conv3d").args["out_channels"]
    if ok:
        assert spec.validate(value) == value
    else:
        with pytest.raises(ValidationError):
            spec.validate(value)


def test_a_scope_opened_first_keeps_the_builtin_ops():
    """Run in a fresh interpreter: the scope is the first use of the registry there."""
    import subprocess
    import sys

    code = ("from graphspec import registry\n"
            "with registry.scoped():\n    pass\n"
            "print(registry.get('Conv3d').kind, 'create_resnet' in registry.names())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["module", "True"]
