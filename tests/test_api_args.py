"""The Python API says what it expected: bool flags refuse non-bools (a string is true to ``if``),
``graphspec.build`` given YAML text, ``register`` given something that is no class or function,
a transform pipeline given a bare tensor or a (T, H, W, C) clip."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from tiny_specs import stem_model

import graphspec
from graphspec.export import export_spec
from graphspec.transforms.layout import TransformError

ROOT = Path(__file__).resolve().parents[1]
KINETICS_VAL = ROOT / "specs" / "transforms" / "kinetics_val.yaml"
TINY = stem_model()


@pytest.mark.parametrize("value", ["yes", "no", 1, None])
def test_export_int8_refuses_a_non_bool(tmp_path, value):
    spec = tmp_path / "stem.yaml"
    spec.write_text(TINY)
    with pytest.raises(TypeError, match=r"export_spec\(\): int8 must be True or False"):
        export_spec(spec, tmp_path / "m.onnx", int8=value, latency_runs=0)
    assert not (tmp_path / "m.onnx").exists()


def test_export_int8_takes_numpy_bools(tmp_path):
    spec = tmp_path / "stem.yaml"
    spec.write_text(TINY)
    report = export_spec(spec, tmp_path / "m.onnx", int8=np.bool_(False), latency_runs=0)
    assert report.int8 is None and (tmp_path / "m.onnx").is_file()


@pytest.mark.parametrize("flag", ["pretrained", "progress"])
def test_hub_flags_refuse_a_string(flag):
    from graphspec.models.hub import x3d_xs

    with pytest.raises(TypeError, match=f"{flag} must be True or False.*the string 'no' is not a bool"):
        x3d_xs(**{flag: "no"})  # before anything is built or downloaded


@pytest.mark.parametrize("function", ["build", "compile", "check", "load_spec"])
def test_yaml_text_instead_of_a_path(function):
    with pytest.raises(ValueError, match=rf"graphspec.{function}\(\) takes the path of a spec file, got YAML text"):
        getattr(graphspec, function)(TINY)


def test_a_path_with_yaml_text_look_alike_that_exists_is_read(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("{odd}.yaml").write_text(TINY)
    assert graphspec.compile("{odd}.yaml").ok


@pytest.mark.parametrize("target, words", [
    (5, "got int 5"),
    ("MyOp", "@register(name='MyOp')"),
    (None.__class__, None),  # a class is fine (NoneType is registered below under a test name)
])
def test_register_says_it_takes_a_class_or_function(target, words):
    from graphspec.registry import Registry

    registry = Registry()
    if words is None:
        registry.register(target, name="test_none_type")
        assert registry.find("test_none_type").target is target
        return
    with pytest.raises(TypeError, match="register\\(\\) takes the class or function to register") as err:
        registry.register(target)
    assert words in str(err.value)
    with pytest.raises(TypeError, match="public name"):
        registry.register(name=5)


def test_a_pipeline_given_a_bare_tensor_says_it_takes_a_dict_clip():
    transform = graphspec.build(KINETICS_VAL)
    clip = torch.zeros(3, 8, 64, 64, dtype=torch.uint8)
    with pytest.raises(TypeError, match=r"takes a dict clip .*got a tensor of shape \[3, 8, 64, 64\]; "
                                        r"call it on \{'video': clip\}"):
        transform(clip)
    assert transform({"video": clip, "label": 0})["video"].shape == (3, 8, 224, 224)


def test_a_thwc_clip_is_refused_with_the_permute_that_fixes_it():
    transform = graphspec.build(KINETICS_VAL)
    thwc = torch.zeros(8, 64, 64, 3, dtype=torch.uint8)  # as decoders and numpy arrays hold frames
    with pytest.raises(TransformError, match=r"got shape \[8, 64, 64, 3\], a \(T, H, W, C\) clip: .*"
                                             r"x\.permute\(3, 0, 1, 2\)"):
        transform({"video": thwc, "label": 0})
    fixed = transform({"video": thwc.permute(3, 0, 1, 2), "label": 0})["video"]
    assert fixed.shape == (3, 8, 224, 224)
