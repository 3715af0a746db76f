"""The registry: user ops, entry points, components from YAML and from Python."""
from __future__ import annotations

import functools
from importlib import metadata

import pytest
import torch
import torch.nn as nn

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


def test_user_op_registered_by_decorator_is_usable_in_a_spec(tmp_path):
    if "Scale" not in registry.names():
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


def test_an_uncheckable_annotation_is_refused_at_registration():
    with pytest.raises(TypeError, match="arg_types"):
        graphspec.register(Takes, infer=identity_infer)
    graphspec.register(Takes, infer=identity_infer, arg_types={"thing": int})
    assert registry.get("Takes").args["thing"].validate(3) == 3


def test_layer_norm_shape_is_checked():
    with pytest.raises(SpecError) as err:
        as_component({"op": "LayerNorm", "normalized_shape": "wide"}, ("model",))
    assert err.value.diagnostics[0].dotted == "model.normalized_shape"
