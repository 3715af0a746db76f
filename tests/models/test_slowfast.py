"""SlowFast: the zoo models match PyTorchVideo's checkpoint layouts, parameter counts and MACs
statically and on the meta device; a SlowFast runs eagerly; fusion mismatches fail statically at
the fusion node; PyTorchVideo's Python API (FastToSlowFusionBuilder, modules) behaves."""
from pathlib import Path

import pytest
import torch
import torch.nn as nn

import graphspec  # noqa: F401  (registers the ops)
from graphspec.compiler.infer import InferenceFailed, TensorType, annotate_state, infer
from graphspec.compiler.ir import PYTHON_OP, assign_paths
from graphspec.compiler.pipeline import compile_spec
from graphspec.compiler.template import expand_node
from graphspec.models.slowfast import (
    FastToSlowFusionBuilder, FuseFastToSlow, PoolConcatPathway, create_slowfast,
)

from conftest import check_eager_softmax_classifier, check_zoo_model, meta_tensor, zoo_reference

ROOT = Path(__file__).resolve().parents[2]
RES4_16X8 = ((3, 1, 1),) * 6 + ((1, 1, 1),) * 17

#: the zoo models' builder arguments (model-zoo.md); their figures come from its reference table
ZOO = {
    "slowfast_r50": dict(model_depth=50, slowfast_fusion_conv_kernel_size=(7, 1, 1)),
    "slowfast_r101": dict(model_depth=101, slowfast_fusion_conv_kernel_size=(5, 1, 1)),
    "slowfast_16x8_r101_50_50": dict(
        model_depth=101, slowfast_fusion_conv_kernel_size=(5, 1, 1), head_pool_kernel_sizes=((16, 7, 7), (64, 7, 7)),
        stage_conv_a_kernel_sizes=(((1, 1, 1), (1, 1, 1), RES4_16X8, (3, 1, 1)),
                                   ((3, 1, 1), (3, 1, 1), RES4_16X8, (3, 1, 1))),
    ),
}


def pathways(frames: int, size: int = 256, batch="B") -> list[TensorType]:
    """[slow, fast] inputs: the slow pathway sees a quarter of the frames (alpha 4)."""
    return [TensorType((batch, 3, frames // 4, size, size)), TensorType((batch, 3, frames, size, size))]


def reference_pathways(thw: tuple) -> list[TensorType]:
    """The pathways of a reference input T x H x W (H == W)."""
    return pathways(thw[0], thw[1])


@pytest.mark.parametrize("name", sorted(ZOO))
def test_zoo_model_matches_reference(name):
    check_zoo_model(name, "create_slowfast", ZOO[name], inputs=reference_pathways)


@pytest.mark.parametrize("name", sorted(ZOO))
def test_zoo_spec_meets_its_expectations(name):
    result = compile_spec(ROOT / "specs" / "models" / f"{name}.yaml")
    assert result.ok, [d.format() for d in result.diagnostics]
    reference = zoo_reference(name)
    assert result.params == reference["params"]
    assert result.inputs["video"] == reference_pathways(reference["thw"])


def test_slowfast_runs_eagerly_and_agrees_with_static_inference():
    kwargs = dict(model_num_class=7, head_pool_kernel_sizes=((2, 1, 1), (8, 1, 1)), head_activation=nn.Softmax)
    model = check_eager_softmax_classifier(create_slowfast, kwargs, [(2, 3, 2, 32, 32), (2, 3, 8, 32, 32)], classes=7)
    # the tree PyTorchVideo builds: 5 pathway blocks (the last fusion is an identity), pool-concat, head
    assert [type(b).__name__ for b in model.blocks] == ["MultiPathWayWithFuse"] * 5 + ["PoolConcatPathway",
                                                                                       "ResNetBasicHead"]
    assert isinstance(model.blocks[4].multipathway_fusion, nn.Identity)
    assert model.blocks[6].pool is None


def test_fusion_channels_disagreeing_with_the_slow_pathway_fail_at_the_fusion():
    # beta 1/5: the fusion conv gives (64 // 5) * 2 = 24 channels, the slow res2 was built for 64 * 2 // 5 = 25
    root = assign_paths(expand_node("create_slowfast", dict(slowfast_channel_reduction_ratio=5, stem_dim_outs=(64, 12))))
    with pytest.raises(InferenceFailed, match=r"blocks\.0\.multipathway_fusion \(FuseFastToSlow\): fusion gives "
                                              r"the slow pathway 64 \+ 24 = 88 channels, the next slow stage takes 89"):
        infer(root, pathways(32))


def test_fast_width_disagreeing_with_the_fusion_conv_fails_at_the_fusion():
    root = assign_paths(expand_node("create_slowfast", dict(stem_dim_outs=(64, 16))))
    with pytest.raises(InferenceFailed, match=r"blocks\.0\.multipathway_fusion \(FuseFastToSlow\): the fast "
                                              r"pathway has 16 channels, conv_fast_to_slow takes 8"):
        infer(root, pathways(32))


def test_frame_rate_ratio_disagreeing_with_the_fusion_stride_fails_at_the_fusion():
    root = assign_paths(expand_node("create_slowfast", {}))
    with pytest.raises(InferenceFailed, match=r"blocks\.0\.multipathway_fusion \(FuseFastToSlow\): fast->slow "
                                              r"features \[B, 16, 16, 64, 64\] do not match the slow pathway"):
        infer(root, [TensorType(("B", 3, 8, 256, 256)), TensorType(("B", 3, 64, 256, 256))])


def test_fusion_error_in_a_spec_is_located_and_names_the_ir_path():
    result = compile_spec(ROOT / "specs/models/slowfast_r50.yaml", ["model.stem_dim_outs=[64, 16]"])
    assert not result.ok
    assert any("blocks.0.multipathway_fusion (FuseFastToSlow)" in d.message for d in result.diagnostics)


def test_head_pool_windows_must_fit_each_pathway():
    root = assign_paths(expand_node("create_slowfast", dict(head_pool_kernel_sizes=((8, 7, 7), (16, 7, 7)))))
    with pytest.raises(InferenceFailed, match=r"blocks\.5 \(PoolConcatPathway\): pathway 1 is \[B, 256, 17, 2, 2\]"):
        infer(root, pathways(32))


def test_fusion_builder_python_api():
    fusion = FastToSlowFusionBuilder(slowfast_channel_reduction_ratio=8, conv_fusion_channel_ratio=2,
                                     conv_kernel_size=(7, 1, 1), conv_stride=(4, 1, 1))
    module = fusion.create_module(64, 0)  # PyTorchVideo calls it positionally too
    assert isinstance(module, FuseFastToSlow)
    conv = module.conv_fast_to_slow
    assert (conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding) == (
        8, 16, (7, 1, 1), (4, 1, 1), (3, 0, 0))
    assert conv.bias is None and isinstance(module.norm, nn.BatchNorm3d) and isinstance(module.activation, nn.ReLU)
    assert isinstance(fusion.create_module(fusion_dim_in=2048, stage_idx=4), nn.Identity)
    # handed to a builder it stays a registered op: the model is expanded and checked statically
    root = assign_paths(expand_node("create_slowfast", dict(fusion_builder=fusion.create_module)))
    assert all(n.op != PYTHON_OP for n in root.walk())
    default = assign_paths(expand_node("create_slowfast", {}))
    assert annotate_state(root) == annotate_state(default)


def test_fusion_builder_as_a_yaml_component():
    fusion = dict(op="FastToSlowFusionBuilder", slowfast_channel_reduction_ratio=8, conv_fusion_channel_ratio=2,
                  conv_kernel_size=[3, 1, 1], conv_stride=[4, 1, 1], activation=None)
    root = assign_paths(expand_node("create_slowfast", dict(fusion_builder=fusion, model_depth=18)))
    node = next(n for n in root.walk() if n.path == "blocks.2.multipathway_fusion")
    assert node.op == "FuseFastToSlow" and node.args["activation"] is None
    assert node.args["conv_fast_to_slow"].args["kernel_size"] == (3, 1, 1)
    assert infer(root, pathways(32)) == TensorType(("B", 400))


def test_nested_bottlenecks_per_pathway_and_stage():
    # one callable for all, or PyTorchVideo's [pathway][stage] nesting (names in YAML)
    single = assign_paths(expand_node("create_slowfast", dict(bottleneck="create_bottleneck_block")))
    nested = assign_paths(expand_node("create_slowfast", dict(bottleneck=[["create_bottleneck_block"] * 4] * 2)))
    assert annotate_state(single) == annotate_state(nested)
    with pytest.raises(ValueError, match=r"bottleneck\[0\] has 3 entries"):
        expand_node("create_slowfast", dict(bottleneck=[["create_bottleneck_block"] * 3] * 2))


def test_depth_and_per_pathway_arguments_are_checked():
    with pytest.raises(ValueError, match="model_depth"):
        expand_node("create_slowfast", dict(model_depth=34))
    with pytest.raises(ValueError, match="stem_dim_outs has 1 entries, the model has 2 pathways"):
        expand_node("create_slowfast", dict(stem_dim_outs=(64,)))
    with pytest.raises(ValueError, match=r"stage_spatial_strides\[1\] has 3 entries, the model has 4 stages"):
        expand_node("create_slowfast", dict(stage_spatial_strides=((1, 2, 2, 2), (1, 2, 2))))


def test_pool_concat_pathway_and_fuse_fast_to_slow_modules():
    slow, fast = torch.randn(2, 16, 2, 4, 4), torch.randn(2, 4, 8, 4, 4)
    joined = PoolConcatPathway(pool=nn.ModuleList([nn.AvgPool3d((2, 4, 4)), nn.AvgPool3d((8, 4, 4))]))([slow, fast])
    assert joined.shape == (2, 20, 1, 1, 1)
    assert torch.allclose(joined[:, :16], slow.mean(dim=(2, 3, 4), keepdim=True), atol=1e-6)
    kept = PoolConcatPathway(retain_list=True)([slow, slow])
    assert isinstance(kept, list) and kept[0].shape == (2, 32, 2, 4, 4)
    fuse = FuseFastToSlow(conv_fast_to_slow=nn.Conv3d(4, 8, (5, 1, 1), stride=(4, 1, 1), padding=(2, 0, 0)))
    new_slow, same_fast = fuse([slow, fast])
    assert new_slow.shape == (2, 24, 2, 4, 4) and same_fast is fast
    assert torch.equal(new_slow[:, :16], slow)


def test_alpha8_example_validates_and_builds():
    result = compile_spec(ROOT / "examples/slowfast_alpha8.yaml")
    assert result.ok, [d.format() for d in result.diagnostics]
    slow, fast = result.inputs["video"]
    assert (slow.shape[2], fast.shape[2]) == (4, 32)
    fusion = next(n for n in result.nodes if n.path == "blocks.1.multipathway_fusion.conv_fast_to_slow")
    assert (fusion.args["in_channels"], fusion.args["out_channels"], fusion.args["stride"]) == (64, 128, (8, 1, 1))
    with torch.device("meta"):
        module = result.lower()
    assert {k: tuple(v.shape) for k, v in module.state_dict().items()} == {k: s for k, _, s, _ in result.state}
    assert tuple(module.eval()(meta_tensor(result.inputs["video"])).shape) == (2, 400)


def test_hub_builds_from_the_spec_with_overrides():
    from graphspec.models.hub import slowfast as hub

    assert set(hub.CHECKPOINT_PATHS) == {"slowfast_r50", "slowfast_r101", "slowfast_16x8_r101_50_50",
                                         "slowfast_r50_detection"}
    assert hub.CHECKPOINT_PATHS["slowfast_r50"].endswith("/kinetics/SLOWFAST_8x8_R50.pyth")
    model = hub.slowfast_r50(model_num_class=7)
    assert model.blocks[-1].proj.out_features == 7
    assert model.blocks[0].multipathway_fusion.conv_fast_to_slow.kernel_size == (7, 1, 1)
