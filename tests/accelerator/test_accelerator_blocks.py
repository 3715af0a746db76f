"""Every mobile CPU efficient block: its original form equals a direct plain-torch computation of the
documented operation, ``convert()`` gives a deployable form (no 3-D conv / pool, no batch norm, no
adaptive pool left) that computes the same in eval mode, and its static shape rule equals the
module's. The cases are checked to cover every registered accelerator op."""
from __future__ import annotations

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import graphspec.models  # noqa: F401  (registers the ops)
from graphspec import registry
from graphspec.accelerator.efficient_blocks import EfficientBlockBase, NoOpConvertBlock
from graphspec.compiler.infer import TensorType, infer
from graphspec.compiler.ir import assign_paths
from graphspec.compiler.template import expand_node
from graphspec.layers.accelerator.mobile_cpu import activation_functions as acts
from graphspec.layers.accelerator.mobile_cpu.attention import SqueezeExcitation
from graphspec.layers.accelerator.mobile_cpu.convolutions import (
    Conv3d3x1x1BnAct, Conv3d3x3x3DwBnAct, Conv3d5x1x1BnAct, Conv3dPwBnAct, Conv3dTemporalKernel1BnAct,
)
from graphspec.layers.accelerator.mobile_cpu.fully_connected import FullyConnected
from graphspec.layers.accelerator.mobile_cpu.pool import (
    AdaptiveAvgPool2d, AdaptiveAvgPool2dOutSize1, AdaptiveAvgPool3d, AdaptiveAvgPool3dOutSize1,
)
from graphspec.models.accelerator.mobile_cpu.residual_blocks import X3dBottleneckBlock

from accelerator_helpers import NOT_DEPLOYABLE, randomize, randomized_with_output

ACT = {"relu": F.relu, "swish": lambda x: x * torch.sigmoid(x), "hswish": F.hardswish, "identity": lambda x: x}


def _bn(x, bn):
    if bn is None:
        return x
    return F.batch_norm(x, bn.running_mean, bn.running_var, bn.weight, bn.bias, False, 0.0, bn.eps)


def _conv_bn_act(stride=1, padding=0, dilation=1, groups=1, activation="relu"):
    """The documented block: F.conv3d with this geometry, eval batch norm, activation."""

    def ref(block, x):
        conv = block.kernel.conv
        y = F.conv3d(x, conv.weight, conv.bias, stride, padding, dilation, groups)
        return ACT[activation](_bn(y, getattr(block.kernel, "bn", None)))

    return ref


def _se_ref(block, x):
    b0, b2 = block.se.block[0], block.se.block[2]
    s = x.mean(tuple(range(2, x.dim())), keepdim=True).flatten(1)
    s = torch.sigmoid(F.linear(F.relu(F.linear(s, b0.weight.flatten(1), b0.bias)), b2.weight.flatten(1), b2.bias))
    return x * s.reshape(*s.shape, *(1,) * (x.dim() - 2))


def _bottleneck_ref(block, x):
    layers = block.layers
    y = _conv_bn_act()(layers.conv_0, x)
    y = _conv_bn_act(stride=(1, 2, 2), padding=1, groups=y.shape[1], activation="identity")(layers.conv_1, y)
    y = _se_ref(layers.se, y)
    y = ACT["swish"](y)
    y = _conv_bn_act(activation="identity")(layers.conv_2, y)
    shortcut = _conv_bn_act(stride=(1, 2, 2), activation="identity")(block._res_proj, x)
    return F.relu(y + shortcut)


# op name -> (constructor, kwargs, input shape, direct computation of the documented operation)
CASES = {
    "Conv3dPwBnAct": (Conv3dPwBnAct, dict(in_channels=6, out_channels=10, activation="hswish", bias=True),
                      (2, 6, 3, 5, 7), _conv_bn_act(activation="hswish")),
    "Conv3d3x3x3DwBnAct": (Conv3d3x3x3DwBnAct, dict(in_channels=6, spatial_stride=2, activation="swish"),
                           (2, 6, 4, 9, 8), _conv_bn_act(stride=(1, 2, 2), padding=1, groups=6, activation="swish")),
    "Conv3dTemporalKernel1BnAct": (
        Conv3dTemporalKernel1BnAct, dict(in_channels=4, out_channels=8, groups=2, spatial_kernel=3, spatial_stride=2,
                                         spatial_dilation=2, bias=True),
        (1, 4, 3, 11, 10), _conv_bn_act(stride=(1, 2, 2), padding=(0, 2, 2), dilation=(1, 2, 2), groups=2)),
    "Conv3d3x1x1BnAct": (Conv3d3x1x1BnAct, dict(in_channels=4, out_channels=6, groups=2, dilation=2),
                         (2, 4, 7, 3, 5), _conv_bn_act(padding=(2, 0, 0), dilation=(2, 1, 1), groups=2)),
    "Conv3d5x1x1BnAct": (Conv3d5x1x1BnAct, dict(in_channels=5, out_channels=5, groups=5, use_bn=False),
                         (1, 5, 6, 4, 3), _conv_bn_act(padding=(2, 0, 0), groups=5)),
    "FullyConnected": (FullyConnected, dict(in_features=6, out_features=3), (2, 1, 1, 1, 6),
                       lambda block, x: F.linear(x, block.model.weight, block.model.bias)),
    "AdaptiveAvgPool3dOutSize1": (AdaptiveAvgPool3dOutSize1, {}, (2, 3, 4, 5, 6),
                                  lambda block, x: x.mean((2, 3, 4), keepdim=True)),
    "AdaptiveAvgPool2dOutSize1": (AdaptiveAvgPool2dOutSize1, {}, (2, 3, 5, 6),
                                  lambda block, x: x.mean((2, 3), keepdim=True)),
    "mobile_cpu.AdaptiveAvgPool3d": (AdaptiveAvgPool3d, dict(output_size=(2, 1, 3)), (1, 3, 4, 5, 6),
                                     lambda block, x: F.adaptive_avg_pool3d(x, (2, 1, 3))),
    "mobile_cpu.AdaptiveAvgPool2d": (AdaptiveAvgPool2d, dict(output_size=2), (1, 3, 4, 6),
                                     lambda block, x: F.adaptive_avg_pool2d(x, 2)),
    "mobile_cpu.SqueezeExcitation": (SqueezeExcitation, dict(num_channels=8, num_channels_reduced=3, is_3d=True),
                                     (2, 8, 3, 4, 5), _se_ref),
    "mobile_cpu.Swish": (acts.Swish, {}, (2, 3, 4), lambda block, x: F.silu(x)),
    "mobile_cpu.HardSwish": (acts.HardSwish, {}, (2, 3, 4), lambda block, x: F.hardswish(x)),
    "mobile_cpu.ReLU": (acts.ReLU, {}, (2, 3, 4), lambda block, x: F.relu(x)),
    "mobile_cpu.Identity": (acts.Identity, {}, (2, 3, 4), lambda block, x: x),
    "X3dBottleneckBlock": (X3dBottleneckBlock, dict(in_channels=4, mid_channels=9, out_channels=6, spatial_stride=2),
                           (2, 4, 3, 8, 8), _bottleneck_ref),
}

#: blocks whose documented deployable form is themselves (general adaptive pools have no fixed form)
KEPT = {"mobile_cpu.AdaptiveAvgPool3d", "mobile_cpu.AdaptiveAvgPool2d"}


def test_cases_cover_every_registered_accelerator_op():
    prefixes = ("graphspec.layers.accelerator.", "graphspec.models.accelerator.")
    registered = {op.name for op in registry.ops() if op.target.__module__.startswith(prefixes)}
    assert registered == set(CASES) | {"EfficientX3d"}


@pytest.mark.parametrize("op", sorted(CASES))
def test_original_equals_documented_operation_and_convert_preserves_it(op):
    cls, kwargs, shape, reference = CASES[op]
    torch.manual_seed(0)
    block = randomize(cls(**kwargs))
    assert isinstance(block, EfficientBlockBase)
    x = torch.randn(shape)
    with torch.no_grad():
        expected = reference(block, x)
        torch.testing.assert_close(block(x), expected, rtol=1e-5, atol=1e-5)
        block.convert(shape)
        torch.testing.assert_close(block(x), expected, rtol=1e-5, atol=1e-5)
    if op not in KEPT:
        assert not [m for m in block.modules() if isinstance(m, NOT_DEPLOYABLE)]


#: the part each block's convert() lowers, and the mobile lowering's module it becomes (the
#: table in mobile_cpu/convolutions.py: the same modules a mobile export holds)
MOBILE_FORM = {
    "Conv3dPwBnAct": ("kernel.conv", "FoldedConv2d"),  # pointwise Conv2d on [B, C, T*H, W]
    "Conv3d3x3x3DwBnAct": ("kernel.conv", "TemporalTapConv"),  # 3 depthwise taps shifted in time
    "Conv3dTemporalKernel1BnAct": ("kernel.conv", "FoldedConv2d"),  # Conv2d per frame
    "Conv3d3x1x1BnAct": ("kernel.conv", "TemporalConv2d"),  # 3x1 Conv2d on [B, C, T, H*W]
    "Conv3d5x1x1BnAct": ("kernel.conv", "TemporalConv2d"),
    "AdaptiveAvgPool3dOutSize1": ("pool", "GlobalAvgPool"),
    "AdaptiveAvgPool2dOutSize1": ("pool", "GlobalAvgPool"),
    "mobile_cpu.SqueezeExcitation": ("se", "SqueezeExcitationGemm"),
}


@pytest.mark.parametrize("op", sorted(MOBILE_FORM))
def test_convert_gives_the_mobile_lowerings_module(op):
    from graphspec.mobile import modules as mobile

    cls, kwargs, shape, _ = CASES[op]
    block = randomize(cls(**kwargs))
    block.convert(shape)
    path, form = MOBILE_FORM[op]
    assert type(block.get_submodule(path)) is getattr(mobile, form)
    # folded into the conv: an identity is left in its place (as in an exported model), no state under it
    assert not [m for m in block.modules() if isinstance(m, nn.BatchNorm3d)]
    assert not [key for key in block.state_dict() if key.startswith("kernel.bn.")]


@pytest.mark.parametrize("op", sorted(CASES))
def test_static_shape_rule_equals_the_module(op):
    """(The state layouts are the blocks' own, built on the meta device; the reference checkpoint
    layouts of EfficientX3d hold them, in test_efficient_x3d.py.)"""
    cls, kwargs, shape, _ = CASES[op]
    root = assign_paths(expand_node(op, kwargs))
    static = infer(root, TensorType(("B", *shape[1:])))
    block = cls(**kwargs).eval()
    with torch.no_grad():
        out = block(torch.randn(shape))
    assert static == TensorType(("B", *out.shape[1:]))


def test_conv_macs_count_the_convolution_and_the_batch_norm():
    root = assign_paths(expand_node("Conv3d3x3x3DwBnAct", dict(in_channels=6, spatial_stride=2)))
    infer(root, TensorType(("B", 6, 4, 8, 8)))
    out_elements = 6 * 4 * 4 * 4
    assert root.meta["macs"] == out_elements * 27 + out_elements * 2  # 3x3x3 per output, affine bn


def test_native_conv3d_flag_keeps_the_depthwise_conv3d_folded():
    block, x, expected = randomized_with_output(lambda: Conv3d3x3x3DwBnAct(in_channels=4), (1, 4, 3, 6, 6))
    with torch.no_grad():
        block.convert(x.shape, native_conv3d_op_qnnpack=True)
        torch.testing.assert_close(block(x), expected, rtol=1e-5, atol=1e-5)
    assert isinstance(block.kernel.conv, nn.Conv3d) and not any(isinstance(m, nn.BatchNorm3d) for m in block.modules())


def test_single_frame_clip_converts():  # the temporal taps of a one-frame clip see only zeros around it
    block, x, expected = randomized_with_output(lambda: Conv3d3x3x3DwBnAct(in_channels=3), (2, 3, 1, 5, 5))
    with torch.no_grad():
        block.convert(x.shape)
        torch.testing.assert_close(block(x), expected, rtol=1e-5, atol=1e-5)


def test_convert_errors_are_clear():
    block = Conv3dPwBnAct(in_channels=2, out_channels=3)
    with pytest.raises(ValueError, match="5-D input size"):
        block.convert((1, 2, 3))
    block.convert((1, 2, 3, 4, 4))
    with pytest.raises(RuntimeError, match="already in its deployable form"):
        block.convert((1, 2, 3, 4, 4))
    with pytest.raises(ValueError, match="use one of"):
        Conv3dPwBnAct(in_channels=2, out_channels=3, activation="relu6")
    with pytest.raises(ValueError, match=r"act_functions\[1\]"):
        X3dBottleneckBlock(in_channels=2, mid_channels=4, out_channels=2, act_functions=("relu", "gelu", "relu"))


def test_supported_act_functions_are_the_documented_names():
    assert set(acts.supported_act_functions) == {"relu", "swish", "hswish", "identity"}
    assert all(issubclass(cls, EfficientBlockBase) for cls in acts.supported_act_functions.values())


def test_no_op_convert_block_wraps_any_module():
    inner = nn.Conv2d(2, 3, 3)
    block = NoOpConvertBlock(model=inner)
    x = torch.randn(1, 2, 5, 5)
    block.convert((1, 2, 5, 5))
    assert block.model is inner and torch.equal(block(x), inner(x))


def test_bottleneck_without_residual_or_se_has_no_projection():
    block = X3dBottleneckBlock(in_channels=4, mid_channels=8, out_channels=6, use_residual=False, se_ratio=0.0)
    assert not hasattr(block, "_res_proj") and "se" not in dict(block.layers.named_children())
    same = X3dBottleneckBlock(in_channels=4, mid_channels=8, out_channels=4)
    assert not hasattr(same, "_res_proj")


@pytest.mark.parametrize("conv", [
    nn.Conv3d(2, 2, 3, padding=1, padding_mode="reflect"),  # the 2-D forms pad with zeros
    nn.Conv3d(2, 2, 3, padding="same"),
    nn.Conv3d(2, 2, (1, 3, 3), padding=1),  # output frame 0 reads only temporal padding
], ids=["reflect", "same", "padding-only-frame"])
def test_lower_ir_refuses_what_the_mobile_passes_leave_3d(conv):
    from graphspec.compiler.ir import Node
    from graphspec.layers.accelerator.mobile_cpu.lowering import lower_ir

    args = {k: getattr(conv, k) for k in ("in_channels", "out_channels", "kernel_size", "padding", "padding_mode")}
    with pytest.raises(ValueError, match=r"cannot convert Conv3d for input size \[1, 2, 4, 8, 8\]"):
        lower_ir(Node("Conv3d", args), conv.state_dict(), (1, 2, 4, 8, 8))


def test_a_component_argument_moves_into_the_part_that_takes_it(tmp_path):
    """A spec's squeeze-excitation activation is the part's node at ``se.block.1``: the block
    builds, lowers for mobile and converts with it (a direct computation with hardswish)."""
    import graphspec
    from graphspec.mobile.passes import MOBILE, WeightedGraph, run_passes

    from tiny_specs import model_spec

    spec = tmp_path / "se.yaml"
    spec.write_text(model_spec("se", {"video": [2, 8, 3, 4, 5]}, """\
model: {op: mobile_cpu.SqueezeExcitation, num_channels: 8, num_channels_reduced: 3, is_3d: true,
        activation: {op: Hardswish}}
"""))
    compiled = graphspec.compile(spec)
    assert compiled.diagnostics == [] and {n.path: n.op for n in compiled.nodes}["se.block.1"] == "Hardswish"
    torch.manual_seed(0)
    block, x = compiled.lower().eval(), torch.randn(2, 8, 3, 4, 5)
    b0, b2 = block.se.block[0], block.se.block[2]
    s = F.linear(x.mean((2, 3, 4)), b0.weight.flatten(1), b0.bias)
    expected = x * torch.sigmoid(F.linear(F.hardswish(s), b2.weight.flatten(1), b2.bias))[..., None, None, None]
    graph = WeightedGraph.of(compiled.graph, block)
    run_passes(graph, MOBILE, verify=True)
    with torch.no_grad():
        torch.testing.assert_close(graph.lower()(x), expected, rtol=1e-5, atol=1e-5)
        block.convert(x.shape)
        torch.testing.assert_close(block(x), expected, rtol=1e-5, atol=1e-5)
    assert isinstance(block.se.block[1], nn.Hardswish)
