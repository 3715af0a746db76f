"""One front end for every kind of spec: one binder (``compiler.bind``) giving IR nodes, one
inference engine with the value domain as a parameter, the layout rule as an op hook."""
from __future__ import annotations

import pytest
import torch
import torch.nn as nn

import graphspec
from graphspec import registry
from graphspec.compiler.component import expand
from graphspec.compiler.infer import Inference, TensorType
from graphspec.compiler.ir import Node
from graphspec.data.spec import bind_object
from graphspec.spec.errors import SpecError
from graphspec.transforms import rules as R
from graphspec.transforms.spec import CLIP_LAYOUTS, build, compile_transform, parse

VIDEO = {"video": {"layout": "CTHW", "dtype": "uint8", "shape": [3, 8, 16, 16]}, "label": "any"}


#: one op of each kind of spec with one argument misspelt, and the op's correct spelling
KINDS = {
    "model": (expand, {"op": "BatchNorm3d", "num_featurs": 8}, "num_features"),
    "transform": (parse, {"op": "UniformTemporalSubsample", "num_sampels": 4}, "num_samples"),
    "data": (bind_object, {"op": "ConstantClipsPerVideoSampler", "clip_duraton": 2.0, "clips_per_video": 2},
             "clip_duration"),
}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_kind_binds_to_an_ir_node_with_the_same_findings(kind):
    bind, written, correct = KINDS[kind]
    with pytest.raises(SpecError) as caught:
        bind(written, (kind,))
    unknown = caught.value.diagnostics[0]  # then the missing one (not in a model's preset: its builder completes it)
    wrong = next(k for k in written if k != "op")
    assert (unknown.code, unknown.path, unknown.hint) == ("unknown-arg", (kind, wrong), f"did you mean '{correct}'?")
    assert unknown.message == f"{written['op']} has no argument {wrong!r}"
    with pytest.raises(SpecError) as caught:
        bind({k: v for k, v in written.items() if k != wrong}, (kind,))
    (missing,) = caught.value.diagnostics
    assert (missing.code, missing.path, missing.message) == ("missing-arg", (kind,),
                                                             f"{written['op']} needs argument {correct!r}")
    fixed = {**{k: v for k, v in written.items() if k != wrong}, correct: written[wrong]}
    node = bind(fixed, (kind,))
    assert type(node) is Node and node.op == written["op"] and node.source == (kind,)
    assert node.given == {k: v for k, v in fixed.items() if k != "op"}  # what the spec wrote, not the defaults
    assert list(node.args) == list(registry.get(node.op).args)  # every argument, in the op's order


def test_a_transform_is_an_ir_tree_and_builds_from_what_it_wrote():
    node = parse([{"op": "ApplyTransformToKey", "key": "video", "transform": [{"op": "UniformTemporalSubsample",
                                                                               "num_samples": 2}, "Div255"]}],
                 ("transform",))
    assert [(n.op, n.source) for n in node.walk()] == [
        ("Compose", ("transform",)), ("ApplyTransformToKey", ("transform", 0)),
        ("Compose", ("transform", 0, "transform")), ("UniformTemporalSubsample", ("transform", 0, "transform", 0)),
        ("Div255", ("transform", 0, "transform", 1))]
    sample = {"video": torch.arange(3 * 4, dtype=torch.uint8).reshape(3, 4, 1, 1).expand(3, 4, 2, 2).clone()}
    out = build(node)(dict(sample))["video"]
    torch.testing.assert_close(out, sample["video"][:, [0, 3]].float() / 255)  # linspace(0, 3, 2) frames, / 255


def test_one_engine_runs_both_domains():
    compiled = compile_transform([{"op": "ApplyTransformToKey", "key": "video",
                                   "transform": {"op": "UniformTemporalSubsample", "num_samples": 4}}], VIDEO)
    subsample = compiled.root.args["transforms"][0].args["transform"]
    assert str(subsample.meta["output"]) == "uint8 CTHW [3, 4, 16, 16]"  # the engine records each node's value
    model = expand({"op": "AdaptiveAvgPool3d", "output_size": 1}, ("model",))
    out = Inference().run(model, TensorType(("B", 3, 8, 16, 16)))
    assert out.shape == ("B", 3, 1, 1, 1) and model.meta["macs"] == 0


def test_a_clip_layout_failure_is_a_finding_and_the_checks_go_on():
    ctx = Inference(CLIP_LAYOUTS)
    node = parse([{"op": "ApplyTransformToKey", "key": "vidoe", "transform": "Div255"},
                  {"op": "ApplyTransformToKey", "key": "video", "transform": {"op": "Normalize", "mean": [0.5],
                                                                             "std": [0.5]}}], ("transform",))
    out = ctx.run(node, dict(compile_transform([], VIDEO).inputs))
    assert [(d.code, d.path) for d in ctx.diagnostics] == [("layout", ("transform", 0, "key")),
                                                           ("layout", ("transform", 1, "transform"))]
    assert isinstance(out["video"], R.Unchecked) and isinstance(out["label"], R.Opaque)


class Transpose(nn.Module):
    """A user's transform: (C, T, H, W) -> (T, C, H, W)."""

    def forward(self, x):
        return x.transpose(0, 1)


def _transpose_layout(node, ctx, value):
    return R.permuted(R.video(value, node.op), [1, 0, 2, 3], node.op)


def test_a_transform_op_declares_its_layout_rule_at_registration():
    with registry.scoped():
        registry.register(Transpose, name="Transpose", layout=_transpose_layout)
        assert registry.get("Transpose").layout is _transpose_layout
        compiled = compile_transform([{"op": "ApplyTransformToKey", "key": "video", "transform": "Transpose"}], VIDEO)
        assert compiled.ok and str(compiled.outputs["video"]) == "uint8 TCHW [8, 3, 16, 16]"
        clip = build(compiled.root)({"video": torch.zeros(3, 8, 16, 16, dtype=torch.uint8)})
        assert tuple(clip["video"].shape) == (8, 3, 16, 16)
        registry.register(Transpose, name="Transpose2")  # no rule: the layout after it is not checked
        compiled = compile_transform([{"op": "ApplyTransformToKey", "key": "video", "transform": "Transpose2"}],
                                     VIDEO)
        (warning,) = compiled.diagnostics
        assert warning.severity == "warning" and "Transpose2 has no layout rule" in warning.message
    assert registry.find("Transpose") is None


def test_the_graph_ops_that_are_transforms_have_their_layout_rule_and_keep_their_shape_rule():
    for name in ("Permute", "Identity"):
        op = registry.get(name)
        assert op.layout is not None and op.infer is not None
    with pytest.raises(ValueError, match="already has a layout rule"):
        registry.default.add_layout_rule("Permute", _transpose_layout)
    compiled = compile_transform([{"op": "ApplyTransformToKey", "key": "video",
                                   "transform": {"op": "Permute", "dims": [1, 0, 2, 3]}}], VIDEO)
    assert str(compiled.outputs["video"]) == "uint8 TCHW [8, 3, 16, 16]"


def test_a_model_op_is_no_transform_and_a_transform_no_model_op(tmp_path):
    with pytest.raises(SpecError, match="create_resnet is a builder op"):
        parse({"op": "create_resnet"}, ("transform",))
    spec = tmp_path / "m.yaml"
    spec.write_text("graphspec: 1\nkind: model\nname: m\ninputs: {video: [1, 3, 4, 8, 8]}\nmodel: Div255\n")
    (found,) = graphspec.compile(str(spec)).diagnostics
    assert found.code == "shape" and "Div255 is a clip transform" in found.message
