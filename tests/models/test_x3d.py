"""X3D: the four zoo models match PyTorchVideo's checkpoint layouts, parameter counts and MACs
statically and on the meta device; a small X3D runs eagerly; the blocks keep PyTorchVideo's
semantics (SE on every other block, projected-pool head); shape errors name the IR path."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn as nn

import graphspec  # noqa: F401  (registers the ops)
from graphspec.compiler.infer import InferenceFailed, TensorType, annotate_state, infer
from graphspec.compiler.ir import assign_paths, lint
from graphspec.compiler.lower_torch import lower
from graphspec.compiler.pipeline import compile_spec
from graphspec.compiler.template import expand_node
from graphspec.models.x3d import (
    ProjectedPool, SqueezeExcitation, create_x3d, create_x3d_bottleneck_block, create_x3d_head,
    create_x3d_res_block, create_x3d_stem,
)

from conftest import (check_eager_softmax_classifier, check_example_on_meta, meta_tensor, reference_rows,
                      reference_zoo_table)

ROOT = Path(__file__).resolve().parents[2]

# name -> builder kwargs (model-zoo.md) and the clip the published MACs are measured at
ZOO = {
    "x3d_xs": (dict(input_clip_length=4, input_crop_size=160), (4, 182, 182)),
    "x3d_s": (dict(input_clip_length=13, input_crop_size=160), (13, 182, 182)),
    "x3d_m": (dict(input_clip_length=16, input_crop_size=224), (16, 256, 256)),
    "x3d_l": (dict(input_clip_length=16, input_crop_size=312, depth_factor=5.0), (16, 356, 356)),
}


def build_ir(op: str, kwargs: dict):
    root = assign_paths(expand_node(op, kwargs))
    assert lint(root) == []
    return root


@pytest.mark.parametrize("name", list(ZOO))  # smallest first: it pays torch's one-time meta-init import
def test_zoo_model_matches_reference(name):
    kwargs, thw = ZOO[name]
    reference = next(row for row in reference_zoo_table()[name] if row["thw"] == thw)
    root = build_ir("create_x3d", kwargs)
    shape = ("B", 3, *thw)
    assert infer(root, TensorType(shape)) == TensorType(("B", 400))
    assert root.meta["macs"] == pytest.approx(reference["gmacs"] * 1e9, rel=0.01)
    state = annotate_state(root)
    assert [(key, dtype, shape_) for key, dtype, shape_, _ in state] == reference_rows(name)
    assert root.meta["params"] == reference["params"] and len(state) == reference["entries"]
    with torch.device("meta"), torch.no_grad():
        module = lower(root)
        out = module(meta_tensor(shape))
    assert [(k, tuple(v.shape)) for k, v in module.state_dict().items()] == [(k, s) for k, _, s, _ in state]
    assert sum(p.numel() for p in module.parameters()) == root.meta["params"]
    assert tuple(out.shape) == (2, 400)


@pytest.mark.parametrize("name", sorted(ZOO))
def test_zoo_spec_meets_its_expectations(name):
    result = compile_spec(ROOT / "specs" / "models" / f"{name}.yaml")
    assert result.ok, [d.format() for d in result.diagnostics]
    assert result.spec.model["op"] == "create_x3d"
    assert {k: v for k, v in result.spec.model.items() if k != "op" and k != "model_num_class"} == ZOO[name][0]


def test_hub_builds_the_zoo_model_with_overrides():
    from graphspec.models.hub import x3d

    assert x3d.CHECKPOINT_PATHS["x3d_s"].endswith("/kinetics/X3D_S.pyth")
    model = x3d.x3d_xs(model_num_class=7, dropout_rate=0.0)
    assert model.blocks[-1].proj.out_features == 7 and model.blocks[-1].dropout is None
    assert model.blocks[-1].pool.pool.kernel_size == (4, 5, 5)


def small_x3d_kwargs(**overrides) -> dict:
    kwargs = dict(input_clip_length=4, input_crop_size=64, width_factor=0.5, depth_factor=1.0,
                  head_dim_out=32, model_num_class=5, dropout_rate=0.1)
    return {**kwargs, **overrides}


def test_small_x3d_runs_eagerly_and_agrees_with_static_inference():
    check_eager_softmax_classifier(create_x3d, small_x3d_kwargs(), (2, 3, 4, 64, 64), classes=5)


def test_squeeze_excitation_on_every_other_block_with_rounded_width():
    root = build_ir("create_x3d_res_stage", dict(depth=5, dim_in=24, dim_inner=54, dim_out=24))
    norm_b = [n for n in root.walk() if n.path.endswith("branch2.norm_b")]
    assert [b.args["modules"][1].op for b in norm_b] == ["SqueezeExcitation", "Identity"] * 2 + ["SqueezeExcitation"]
    se = norm_b[0].args["modules"][1].args
    assert (se["num_channels"], se["num_channels_reduced"], se["is_3d"]) == (54, 8, True)  # round_width(54, 1/16)
    block = create_x3d_bottleneck_block(dim_in=8, dim_inner=16, dim_out=8, se_ratio=0.0)
    assert isinstance(block.norm_b, nn.Sequential) and isinstance(block.norm_b[1], nn.Identity)
    assert type(block.act_b).__name__ == "Swish" and block.conv_b.groups == 16


def test_squeeze_excitation_rescales_channels_by_the_gated_average():
    torch.manual_seed(0)
    se = SqueezeExcitation(num_channels=6, num_channels_reduced=2, is_3d=True)
    assert [k for k in se.state_dict()] == ["block.0.weight", "block.0.bias", "block.2.weight", "block.2.bias"]
    x = torch.randn(2, 6, 3, 4, 4)
    gate = se.block(x.mean(dim=(2, 3, 4), keepdim=True))
    assert torch.allclose(se(x), x * gate)


def test_res_block_shortcut_follows_pytorchvideo():
    strided = create_x3d_res_block(dim_in=8, dim_inner=16, dim_out=8)  # stride only: conv, no norm
    assert strided.branch1_conv is not None and strided.branch1_norm is None
    widened = create_x3d_res_block(dim_in=8, dim_inner=16, dim_out=16, conv_stride=(1, 1, 1))
    assert widened.branch1_conv.stride == (1, 1, 1) and widened.branch1_norm.num_features == 16
    plain = create_x3d_res_block(dim_in=8, dim_inner=16, dim_out=8, conv_stride=(1, 1, 1))
    assert plain.branch1_conv is None and plain.branch1_norm is None


def test_stem_is_spatial_then_depthwise_temporal():
    stem = create_x3d_stem(in_channels=3, out_channels=8)
    assert stem.conv.conv_t.kernel_size == (1, 3, 3) and stem.conv.conv_t.stride == (1, 2, 2)
    assert stem.conv.conv_xy.kernel_size == (5, 1, 1) and stem.conv.conv_xy.groups == 8
    assert stem.pool is None


def test_head_projected_pool_and_options():
    head = create_x3d_head(dim_in=8, dim_inner=16, dim_out=32, num_classes=3, pool_kernel_size=None,
                           bn_lin5_on=True, activation=nn.Sigmoid, output_with_global_average=False)
    pool = head.pool
    assert isinstance(pool, ProjectedPool) and isinstance(pool.pool, nn.AdaptiveAvgPool3d)
    assert pool.post_norm.num_features == 32 and isinstance(pool.post_act, nn.ReLU)
    assert isinstance(head.activation, nn.Sigmoid) and head.output_pool is None
    root = build_ir("create_x3d_head", dict(dim_in=8, dim_inner=16, dim_out=32, num_classes=3,
                                            pool_kernel_size=None, output_with_global_average=False))
    assert infer(root, TensorType(("B", 8, 2, 3, 3))) == TensorType(("B", 3, 1, 1, 1))


def test_channel_error_deep_inside_names_the_ir_path():
    root = build_ir("create_x3d", small_x3d_kwargs())
    with pytest.raises(InferenceFailed, match=r"blocks\.0\.conv\.conv_t \(Conv3d\): expects 3 input channels"):
        infer(root, TensorType(("B", 4, 4, 64, 64)))


def test_clip_too_small_for_the_head_pool_names_the_pool():
    root = build_ir("create_x3d", dict(input_clip_length=13, input_crop_size=160))
    with pytest.raises(InferenceFailed, match=r"blocks\.5\.pool\.pool \(AvgPool3d\)"):
        infer(root, TensorType(("B", 3, 13, 64, 64)))


def test_residual_without_projection_cannot_change_channels():
    root = build_ir("create_x3d_res_block", dict(dim_in=8, dim_inner=16, dim_out=12, use_shortcut=False))
    with pytest.raises(InferenceFailed, match=r"the model \(ResBlock\): shortcut .* and residual branch"):
        infer(root, TensorType(("B", 8, 4, 16, 16)))


def test_crop_smaller_than_the_network_stride_is_rejected():
    with pytest.raises(ValueError, match="Crop size"):
        expand_node("create_x3d", dict(input_crop_size=16))


def test_variant_example_validates_and_matches_meta_execution():
    module = check_example_on_meta(ROOT / "examples" / "x3d_variant.yaml", classes=101)
    assert not any(type(m).__name__ in ("Swish", "Hardswish") for m in module.modules())