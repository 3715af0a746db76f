"""R(2+1)D: the zoo model r2plus1d_r50 matches PyTorchVideo's checkpoint layout, parameter count and
MACs statically and on the meta device; conv_b is a Conv2plus1d (temporal then spatial) carrying the
stage stride; create_conv_2plus1d's static shapes follow either convolution order; a small R(2+1)D
runs eagerly; shape errors deep inside name the IR path."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

import graphspec  # noqa: F401  (registers the ops)
from graphspec.compiler.infer import InferenceFailed, TensorType, annotate_state, infer
from graphspec.compiler.ir import assign_paths, lint
from graphspec.compiler.pipeline import compile_spec
from graphspec.compiler.template import expand_node
from graphspec.layers.convolutions import Conv2plus1d, create_conv_2plus1d
from graphspec.models.r2plus1d import create_2plus1d_bottleneck_block, create_r2plus1d
from graphspec.models.resnet import BottleneckBlock

from conftest import check_eager_softmax_classifier, check_zoo_model, reference_zoo_table

ROOT = Path(__file__).resolve().parents[2]


def test_r2plus1d_r50_matches_zoo():
    check_zoo_model("r2plus1d_r50", "create_r2plus1d", dict(dropout_rate=0.5))


def test_r2plus1d_r50_spec_meets_its_expectations():
    result = compile_spec(ROOT / "specs/models/r2plus1d_r50.yaml")
    assert result.ok, [d.format() for d in result.diagnostics]
    assert result.params == reference_zoo_table()["r2plus1d_r50"][0]["params"]


def test_conv_b_is_a_strided_2plus1d_convolution():
    root = assign_paths(expand_node("create_r2plus1d", {}))
    nodes = {n.path: n for n in root.walk()}
    assert nodes["blocks.0"].args["pool"] is None  # the stem does not pool
    assert nodes["blocks.5.activation"].op == "Softmax"
    conv_b = nodes["blocks.3.res_blocks.0.branch2.conv_b"]  # third stage: temporal stride 2
    assert conv_b.op == "Conv2plus1d" and conv_b.args["conv_xy_first"] is False
    conv_t, conv_xy = conv_b.args["conv_t"].args, conv_b.args["conv_xy"].args
    assert (conv_t["kernel_size"], conv_t["stride"], conv_t["padding"]) == ((3, 1, 1), (2, 1, 1), (1, 0, 0))
    assert (conv_xy["kernel_size"], conv_xy["stride"], conv_xy["padding"]) == ((1, 3, 3), (1, 2, 2), (0, 1, 1))
    assert nodes["blocks.2.res_blocks.0.branch2.conv_b.conv_t"].args["stride"] == (1, 1, 1)
    assert nodes["blocks.3.res_blocks.1.branch2.conv_b.conv_xy"].args["stride"] == (1, 1, 1)
    assert all(n.args["stride"] == (1, 1, 1) for n in root.walk() if n.path.endswith("conv_a"))


@pytest.mark.parametrize("conv_xy_first", [False, True])
def test_conv_2plus1d_static_shapes_match_eager(conv_xy_first):
    kwargs = dict(in_channels=3, out_channels=8, inner_channels=5, conv_xy_first=conv_xy_first,
                  kernel_size=(3, 5, 5), stride=(2, 1, 2), padding=(1, 2, 2))
    root = assign_paths(expand_node("create_conv_2plus1d", kwargs))
    assert lint(root) == []
    x = torch.randn(2, 3, 5, 9, 9)
    static = infer(root, TensorType(("B", 3, 5, 9, 9)))
    layer = create_conv_2plus1d(**kwargs)
    assert isinstance(layer, Conv2plus1d)
    assert static.shape == ("B", *layer(x).shape[1:])
    assert [(k, tuple(v.shape)) for k, v in layer.state_dict().items()] == [
        (k, s) for k, _, s, _ in annotate_state(root)]
    # conv_t feeds the norm, inner_channels wide (or conv_xy does, when it comes first)
    first = root.args["conv_xy" if conv_xy_first else "conv_t"]
    assert first.args["out_channels"] == root.args["norm"].args["num_features"] == 5


def test_bottleneck_block_builds_conv_b_with_create_conv_2plus1d():
    block = create_2plus1d_bottleneck_block(dim_in=16, dim_inner=4, dim_out=16)
    assert isinstance(block, BottleneckBlock) and isinstance(block.conv_b, Conv2plus1d)
    assert block.conv_b.conv_t.weight.shape == (4, 4, 3, 1, 1)
    assert block.conv_b.conv_xy.weight.shape == (4, 4, 1, 3, 3)
    assert block(torch.randn(1, 16, 4, 8, 8)).shape == (1, 16, 2, 4, 4)  # conv_b's default stride (2, 2, 2)
    # create_res_block hands every bottleneck nn.Conv3d as conv_b; the (2+1)D bottleneck keeps its own
    from graphspec.models.resnet import create_res_block
    res = create_res_block(dim_in=16, dim_inner=4, dim_out=16, bottleneck=create_2plus1d_bottleneck_block)
    assert isinstance(res.branch2.conv_b, Conv2plus1d)


def test_small_r2plus1d_runs_eagerly():
    # no head_activation: the softmax is the default
    kwargs = dict(stem_dim_out=8, model_num_class=5, head_pool_kernel_size=(1, 1, 1), dropout_rate=0.5)
    check_eager_softmax_classifier(create_r2plus1d, kwargs, (2, 3, 4, 32, 32), classes=5)


def test_clip_too_short_for_the_head_pool_names_the_head():
    root = assign_paths(expand_node("create_r2plus1d", {}))
    with pytest.raises(InferenceFailed, match=r"blocks\.5\.pool \(AvgPool3d\): window 4"):
        infer(root, TensorType(("B", 3, 8, 256, 256)))  # 8 frames leave 2 for a (4, 7, 7) pool


def test_channel_error_inside_conv_2plus1d_names_the_ir_path():
    root = assign_paths(expand_node("create_r2plus1d", {}))
    conv_t = next(n for n in root.walk() if n.path == "blocks.2.res_blocks.1.branch2.conv_b.conv_t")
    conv_t.args["out_channels"] = 100  # the (2+1)D conv's norm expects 128
    with pytest.raises(InferenceFailed, match=r"blocks\.2\.res_blocks\.1\.branch2\.conv_b\.norm \(BatchNorm3d\)"):
        infer(root, TensorType(("B", 3, 16, 112, 112)))


def test_conv_2plus1d_rejects_groups():
    with pytest.raises(AssertionError, match="groups"):
        expand_node("create_r2plus1d", dict(stage_conv_b_num_groups=(1, 2, 1, 1)))


def test_hub_r2plus1d_r50_builds_the_zoo_model_with_overrides():
    from graphspec.models.hub.r2plus1d import CHECKPOINT_PATHS, r2plus1d_r50

    assert CHECKPOINT_PATHS["r2plus1d_r50"].endswith("/pytorchvideo/model_zoo/kinetics/R2PLUS1D_16x4_R50.pyth")
    model = r2plus1d_r50(model_num_class=7)
    assert model.blocks[-1].dropout.p == 0.5 and model.blocks[-1].proj.out_features == 7
    assert isinstance(model.blocks[1].res_blocks[0].branch2.conv_b, Conv2plus1d)
