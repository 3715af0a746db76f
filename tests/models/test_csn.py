"""CSN: the zoo model csn_r101 matches PyTorchVideo's checkpoint layout, parameter count and MACs
statically and on the meta device; conv_b is channel-separated and carries the stage stride; a small
CSN runs eagerly; shape errors deep inside name the IR path; the variant example validates."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn as nn

import graphspec  # noqa: F401  (registers the ops)
from graphspec.compiler.infer import InferenceFailed, TensorType, infer
from graphspec.compiler.ir import assign_paths
from graphspec.compiler.pipeline import compile_spec
from graphspec.compiler.template import expand_node
from graphspec.models.csn import create_csn

from conftest import check_eager_softmax_classifier, check_example_on_meta, check_zoo_model, reference_zoo_table

ROOT = Path(__file__).resolve().parents[2]


def test_csn_r101_matches_zoo():
    check_zoo_model("csn_r101", "create_csn",
                    dict(model_depth=101, stem_pool="MaxPool3d", head_pool_kernel_size=(4, 7, 7)))


def test_csn_r101_spec_meets_its_expectations():
    result = compile_spec(ROOT / "specs/models/csn_r101.yaml")
    assert result.ok, [d.format() for d in result.diagnostics]
    assert result.params == reference_zoo_table()["csn_r101"][0]["params"]


def test_conv_b_is_channel_separated():
    root = assign_paths(expand_node("create_csn", dict(stage_conv_b_width_per_group=4)))
    conv_b = {n.path: n.args for n in root.walk() if n.path.endswith("branch2.conv_b")}
    assert conv_b["blocks.1.res_blocks.0.branch2.conv_b"]["groups"] == 64 // 4
    assert conv_b["blocks.4.res_blocks.2.branch2.conv_b"]["groups"] == 512 // 4
    # conv_a never strides; conv_b takes the stage's (temporal, spatial, spatial) stride
    assert conv_b["blocks.2.res_blocks.0.branch2.conv_b"]["stride"] == (2, 2, 2)
    assert conv_b["blocks.2.res_blocks.1.branch2.conv_b"]["stride"] == (1, 1, 1)
    assert all(n.args["stride"] == (1, 1, 1) for n in root.walk() if n.path.endswith("conv_a"))


def test_small_csn_runs_eagerly():
    kwargs = dict(model_depth=50, stem_dim_out=8, model_num_class=5, head_pool_kernel_size=(1, 2, 2),
                  head_activation=nn.Softmax, dropout_rate=0.1)
    check_eager_softmax_classifier(create_csn, kwargs, (2, 3, 4, 32, 32), classes=5)


def test_channel_error_deep_inside_names_the_ir_path():
    # 64 inner channels cannot be split into groups of 3: reported at the first stage's conv_b
    root = assign_paths(expand_node("create_csn", dict(stage_conv_b_width_per_group=3)))
    with pytest.raises(InferenceFailed, match=r"blocks\.1\.res_blocks\.0\.branch2\.conv_b \(Conv3d\): groups=21"):
        infer(root, TensorType(("B", 3, 8, 112, 112)))


def test_clip_too_small_for_the_head_pool_names_the_head():
    root = assign_paths(expand_node("create_csn", {}))
    with pytest.raises(InferenceFailed, match=r"blocks\.5\.pool \(AvgPool3d\)"):
        infer(root, TensorType(("B", 3, 8, 64, 64)))


def test_unsupported_depth_is_rejected():
    with pytest.raises(ValueError, match="model_depth"):
        expand_node("create_csn", dict(model_depth=18))


def test_variant_example_validates_and_matches_meta_execution():
    check_example_on_meta(ROOT / "examples/csn_r50_variant.yaml", classes=101)


def test_hub_csn_r101_builds_the_zoo_model_with_overrides():
    from graphspec.models.hub.csn import CHECKPOINT_PATHS, csn_r101

    assert CHECKPOINT_PATHS["csn_r101"].endswith("/pytorchvideo/model_zoo/kinetics/CSN_32x2_R101.pyth")
    model = csn_r101(model_num_class=7)
    assert model.blocks[0].pool is not None and model.blocks[-1].pool.kernel_size == (4, 7, 7)
    assert model.blocks[-1].proj.out_features == 7
