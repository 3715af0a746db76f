"""Acoustic ResNet: PyTorchVideo's signature and defaults, a separable (temporal + spatial)
stem and first two stages, static shapes / state / params / MACs equal to the lowered module,
an eager forward on a small spectrogram, and located errors."""
from __future__ import annotations

import inspect
import re

import pytest
import torch
import torch.nn as nn
from torch.utils.flop_counter import FlopCounterMode

import graphspec  # noqa: F401  (registers the ops)
from graphspec.compiler.infer import InferenceFailed, TensorType, annotate_state, infer
from graphspec.layers.convolutions import ConvReduce3D
from graphspec.models.resnet import (
    BottleneckBlock, SeparableBottleneckBlock, create_acoustic_bottleneck_block, create_acoustic_resnet,
    create_bottleneck_block,
)
from graphspec.models.stem import create_acoustic_res_basic_stem

from conftest import REFERENCE, SPECS, check_eager_softmax_classifier, reference_rows
from test_head_stem import build_ir, check_against_lowered

SPECTROGRAM = (1, 1, 32, 1, 48)  # batch, channel, time, 1, frequency: the smallest the head pool allows


def test_signature_and_defaults_follow_pytorchvideo():
    defaults = {name: p.default for name, p in inspect.signature(create_acoustic_resnet).parameters.items()}
    assert defaults == dict(
        input_channel=1, model_depth=50, model_num_class=400, dropout_rate=0.5, norm=nn.BatchNorm3d,
        activation=nn.ReLU, stem_dim_out=64, stem_conv_kernel_size=(9, 1, 9), stem_conv_stride=(1, 1, 3),
        stem_pool=None, stem_pool_kernel_size=(3, 1, 3), stem_pool_stride=(2, 1, 2),
        stem=create_acoustic_res_basic_stem, stage1_pool=None, stage1_pool_kernel_size=(2, 1, 1),
        stage_conv_a_kernel_size=(3, 1, 1), stage_conv_b_kernel_size=(3, 1, 3),
        stage_conv_b_num_groups=(1, 1, 1, 1), stage_conv_b_dilation=(1, 1, 1),
        stage_spatial_h_stride=(1, 1, 1, 1), stage_spatial_w_stride=(1, 2, 2, 2),
        stage_temporal_stride=(1, 2, 2, 2),
        bottleneck=(create_acoustic_bottleneck_block, create_acoustic_bottleneck_block,
                    create_bottleneck_block, create_bottleneck_block),
        head_pool=nn.AvgPool3d, head_pool_kernel_size=(4, 1, 2), head_output_size=(1, 1, 1),
        head_activation=None, head_output_with_global_average=True,
    )


def test_structure_separable_stem_and_first_two_stages():
    with torch.device("meta"):
        model = create_acoustic_resnet()
    stem = model.blocks[0]
    assert isinstance(stem.conv, ConvReduce3D) and stem.pool is None
    assert [c.weight.shape for c in stem.conv.convs] == [(64, 1, 9, 1, 1), (64, 1, 1, 1, 9)]
    assert [c.stride for c in stem.conv.convs] == [(1, 1, 3), (1, 1, 3)]
    for stage, width in zip(model.blocks[1:3], (64, 128)):
        block = stage.res_blocks[0].branch2
        assert isinstance(block, SeparableBottleneckBlock) and block.reduce_method == "sum"
        frequency, temporal = block.conv_b  # conv_b.0 is 1 x kh x kw, conv_b.1 kt x 1 x 1 (model-zoo.md)
        assert frequency.kernel_size == (1, 1, 3) and temporal.kernel_size == (3, 1, 1)
        assert temporal.weight.shape[0] == width and len(block.norm_b) == len(block.act_b) == 2
    for stage in model.blocks[3:5]:
        assert isinstance(stage.res_blocks[0].branch2, BottleneckBlock)
        assert stage.res_blocks[0].branch2.conv_b.kernel_size == (3, 1, 3)
    # temporal and frequency strides 2 from the second stage on, on conv_a and conv_b respectively
    first = model.blocks[2].res_blocks[0]
    assert first.branch2.conv_a.stride == (2, 1, 1) and first.branch2.conv_b[0].stride == (1, 1, 2)
    assert first.branch1_conv.stride == (2, 1, 2)
    assert model.blocks[5].pool.kernel_size == (4, 1, 2) and model.blocks[5].proj.out_features == 400


def test_static_shapes_state_params_and_macs_match_the_reference_and_torch():
    """The static facts against independent ones: every node's output against the lowered
    module's run on the meta device, the state layout and parameter count against PyTorchVideo's
    checkpoint layout (tests/reference), the MACs against torch's FlopCounterMode."""
    root = build_ir("create_acoustic_resnet", {})
    out, module = check_against_lowered(root, TensorType(("B", *SPECTROGRAM[1:])))
    assert out == TensorType(("B", 400))
    assert [(k, d, s) for k, d, s, _ in annotate_state(root)] == reference_rows("acoustic_resnet")
    assert root.meta["params"] == _layout_header()["parameters"]
    # fvcore's count: convolution and linear multiply-adds, plus two per batch-norm element
    norm_elements = []
    for m in module.modules():
        if isinstance(m, nn.BatchNorm3d):
            m.register_forward_hook(lambda mod, i, o: norm_elements.append(o[0].numel()))
    with FlopCounterMode(display=False) as counter:
        module.eval()(torch.empty(SPECTROGRAM, device="meta"))
    assert root.meta["macs"] == counter.get_total_flops() // 2 + 2 * sum(norm_elements)


def test_small_spectrogram_runs_eagerly_and_agrees_with_static_inference():
    kwargs = dict(model_depth=18, model_num_class=7, stem_dim_out=8, dropout_rate=0.0,
                  head_activation=nn.Softmax)
    check_eager_softmax_classifier(create_acoustic_resnet, kwargs, (2, 1, 32, 1, 48), classes=7)


def test_spectrogram_too_short_for_the_head_pool_names_the_pool():
    root = build_ir("create_acoustic_resnet", {})
    with pytest.raises(InferenceFailed, match=r"blocks\.5\.pool \(AvgPool3d\): window 4 .* larger than"):
        infer(root, TensorType(("B", 1, 16, 1, 48)))


def test_channel_error_names_the_stem_convolution():
    root = build_ir("create_acoustic_resnet", {})
    with pytest.raises(InferenceFailed, match=r"blocks\.0\.conv \(ConvReduce3D\): convs\.0: expects 1 input"):
        infer(root, TensorType(("B", 2, 32, 1, 48)))


def test_per_stage_settings_need_one_entry_per_stage():
    with pytest.raises(ValueError, match="stage_conv_b_num_groups has 3 entries, the model has 4 stages"):
        build_ir("create_acoustic_resnet", dict(stage_conv_b_num_groups=(1, 1, 1)))


def _layout_header() -> dict[str, int]:
    """``# parameters: N`` and ``# entries: N`` of the reference layout file."""
    text = (REFERENCE / "checkpoint-layouts" / "acoustic_resnet.txt").read_text()
    return {key: int(value) for key, value in re.findall(r"^# (parameters|entries): (\d+)$", text, re.M)}


def test_default_model_has_the_reference_checkpoint_layout():
    with torch.device("meta"):
        model = create_acoustic_resnet()
    state = model.state_dict()
    assert [(k, str(v.dtype).removeprefix("torch."), tuple(v.shape)) for k, v in state.items()] == \
        reference_rows("acoustic_resnet")
    header = _layout_header()
    assert sum(p.numel() for p in model.parameters()) == header["parameters"]
    assert len(state) == header["entries"]


def test_zoo_spec_compiles_to_the_reference_layout():
    compiled = graphspec.compile(SPECS / "models" / "acoustic_resnet.yaml")
    assert compiled.diagnostics == []
    assert [(k, dtype, shape) for k, dtype, shape, _ in compiled.state] == reference_rows("acoustic_resnet")
    assert compiled.params == _layout_header()["parameters"]
