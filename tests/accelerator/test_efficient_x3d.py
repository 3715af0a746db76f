"""EfficientX3d and its zoo specs against the reference: the state_dict layout of PyTorchVideo's hub
models (keys, dtypes, shapes, order), parameters, entries and MACs from model-zoo.md, static shapes
equal to the lowered module's on the meta device; the hub functions and their checkpoint loading."""
from __future__ import annotations

import importlib
import inspect
import shutil

import pytest
import torch

import graphspec.models  # noqa: F401  (registers the ops)
from graphspec.compiler.infer import TensorType, infer
from graphspec.compiler.ir import assign_paths
from graphspec.compiler.pipeline import compile_spec
from graphspec.compiler.template import expand_node
from graphspec.models.accelerator.mobile_cpu.efficient_x3d import EfficientX3d, create_x3d
from graphspec.models.hub import efficient_x3d_mobile_cpu as hub
from graphspec.spec.errors import SpecError

from conftest import REFERENCE, SPECS, check_zoo_model, meta_tensor, reference_rows, reference_zoo_table

EFFICIENT = sorted(name for name in reference_zoo_table() if name.startswith("efficient_x3d"))
EXPANSION = {"efficient_x3d_xs": "XS", "efficient_x3d_s": "S"}


def _rows(module: torch.nn.Module) -> list[tuple]:
    return [(k, str(v.dtype).removeprefix("torch."), tuple(v.shape)) for k, v in module.state_dict().items()]


def test_reference_lists_both_models():
    assert EFFICIENT == ["efficient_x3d_s", "efficient_x3d_xs"]


@pytest.mark.parametrize("name", EFFICIENT)
def test_static_layout_params_macs_and_meta_lowering_match_reference(name):
    check_zoo_model(name, "EfficientX3d", {"expansion": EXPANSION[name]})


@pytest.mark.parametrize("name", EFFICIENT)
def test_zoo_spec_validates_clean_and_matches_reference(name):
    compiled = compile_spec(SPECS / "models" / f"{name}.yaml")
    assert compiled.diagnostics == []
    reference = reference_zoo_table()[name][0]
    assert [(k, d, s) for k, d, s, _ in compiled.state] == reference_rows(name)
    assert compiled.params == reference["params"] and len(compiled.state) == reference["entries"]
    assert compiled.macs == pytest.approx(reference["gmacs"] * 1e9, rel=0.01)
    assert compiled.spec.inputs["video"][2:] == list(reference["thw"])


@pytest.mark.parametrize("name", EFFICIENT)
def test_eager_module_and_hub_function_have_the_reference_layout(name):
    assert _rows(EfficientX3d(expansion=EXPANSION[name])) == reference_rows(name)
    assert _rows(getattr(hub, name)()) == reference_rows(name)


def test_forward_is_a_classifier_and_head_can_be_left_out():
    torch.manual_seed(0)
    model = create_x3d(num_classes=7, head_act="identity").eval()
    x = torch.randn(2, 3, 4, 32, 32)
    with torch.no_grad():
        out = model(x)
    assert out.shape == (2, 7)
    # the head as documented: conv_5, global average, lin_5, projection on channels-last, mean
    with torch.no_grad():
        features = model.s5(model.s4(model.s3(model.s2(model.s1(x)))))
        pooled = model.head.lin_5(model.head.conv_5(features).mean((2, 3, 4), keepdim=True))
        expected = torch.nn.functional.linear(pooled.flatten(1), model.projection.model.weight,
                                              model.projection.model.bias)
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-5)

    trunk = EfficientX3d(enable_head=False)
    assert not hasattr(trunk, "head") and not hasattr(trunk, "projection")
    root = assign_paths(expand_node("EfficientX3d", {"enable_head": False}))
    static = infer(root, TensorType(("B", 3, 4, 64, 64)))
    with torch.device("meta"):
        out = EfficientX3d(enable_head=False)(meta_tensor(("B", 3, 4, 64, 64)))
    assert static == TensorType(("B", 192, 4, 2, 2)) and tuple(out.shape) == (2, 192, 4, 2, 2)


def test_head_act_is_applied_in_eval_only():
    torch.manual_seed(0)
    model = EfficientX3d(num_classes=5, head_act="relu").eval()
    x = torch.randn(1, 3, 4, 32, 32)
    with torch.no_grad():
        out = model(x)
        model.act = EfficientX3d(head_act="identity").act
        logits = model(x)
    torch.testing.assert_close(out, logits.clamp_min(0))
    calls = []
    model.act.register_forward_hook(lambda *args: calls.append(model.training))
    with torch.no_grad():
        model.train()(x)
        model.eval()(x)
    assert calls == [False]


@pytest.mark.parametrize("bad, match", [
    ({"expansion": "M"}, "expansion 'M'"), ({"head_act": "relu6"}, "head_act 'relu6'"), ({"dropout": 1.5}, "dropout"),
])
def test_bad_arguments_are_clear_errors(bad, match):
    with pytest.raises(ValueError, match=match):
        EfficientX3d(**bad)


def test_bad_spec_values_are_located_findings():
    compiled = compile_spec(SPECS / "models" / "efficient_x3d_xs.yaml", ["inputs.video=[1, 4, 4, 160, 160]"])
    assert [d.code for d in compiled.diagnostics] == ["shape"]
    assert "input channels" in compiled.diagnostics[0].message
    with pytest.raises(SpecError, match=r"model\.dropout: Input should be less than or equal to 1"):
        compile_spec(SPECS / "models" / "efficient_x3d_xs.yaml", ["model.dropout=1.5"])


def test_hub_signature_kwargs_and_pretrained_loading(monkeypatch, tmp_path):
    for fn in (hub.efficient_x3d_xs, hub.efficient_x3d_s):
        params = inspect.signature(fn).parameters
        assert params["pretrained"].default is False and params["progress"].default is True
    assert hub.efficient_x3d_xs(num_classes=7).projection.model.out_features == 7

    torch.manual_seed(0)
    source = EfficientX3d(expansion="S")
    path = tmp_path / "efficient_x3d_s_original_form.pyth"
    torch.save(source.state_dict(), path)  # the published files hold a bare state_dict
    calls = []

    def fake_download(url, dst, hash_prefix=None, progress=True):  # into torch.hub's cache, then read weights-only
        calls.append(url)
        shutil.copyfile(path, dst)

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    monkeypatch.setattr(torch.hub, "download_url_to_file", fake_download)
    loaded = hub.efficient_x3d_s(pretrained=True)
    assert calls == [hub.CHECKPOINT_PATHS["efficient_x3d_s"]]
    for key, value in source.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key


_MINE = ("layers.accelerator.", "accelerator.", "models.accelerator.", "models.hub.efficient_x3d_mobile_cpu.")


def test_every_accelerator_name_of_the_reference_exists():
    names = [n.strip() for n in (REFERENCE / "api-names.txt").read_text().splitlines() if n.startswith(_MINE)]
    assert len(names) >= 25
    for name in names:
        module, attr = name.rsplit(".", 1)
        assert hasattr(importlib.import_module(f"graphspec.{module}"), attr), name
