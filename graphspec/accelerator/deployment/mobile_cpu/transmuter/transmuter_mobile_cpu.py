"""Transmuters for mobile CPUs: a plain ``nn.Conv3d`` whose geometry one of the convolution blocks
has becomes that block (without batch norm, identity activation), holding the same weights.
Each returns ``None`` for any other module. They are tried in the order of
``EFFICIENT_BLOCK_TRANSMUTER_MOBILE_CPU`` (a 1x1x1 conv is a pointwise block, not a temporal-kernel-1
one), which the model transmuter takes as the ``mobile_cpu`` target's (this module imports no
transmuter: the transmuter imports it)."""
from __future__ import annotations

from typing import Optional

import torch.nn as nn

from graphspec.accelerator.efficient_blocks.efficient_block_base import EfficientBlockBase
from graphspec.layers.accelerator.mobile_cpu.convolutions import (
    Conv3d3x1x1BnAct, Conv3d3x3x3DwBnAct, Conv3d5x1x1BnAct, Conv3dPwBnAct, Conv3dTemporalKernel1BnAct,
)


def _plain_conv3d(module: nn.Module) -> Optional[nn.Conv3d]:
    ok = type(module) is nn.Conv3d and module.padding_mode == "zeros" and not isinstance(module.padding, str)
    return module if ok else None


def _same_geometry(conv: nn.Conv3d, block: EfficientBlockBase) -> Optional[EfficientBlockBase]:
    """``block`` holding ``conv``'s weights when its Conv3d has exactly ``conv``'s geometry."""
    mine = block.kernel.conv
    fields = ("in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation", "groups")
    if any(getattr(mine, f) != getattr(conv, f) for f in fields) or (mine.bias is None) != (conv.bias is None):
        return None
    mine.load_state_dict(conv.state_dict())
    mine.to(device=conv.weight.device, dtype=conv.weight.dtype)
    return block


def _block_args(conv: nn.Conv3d) -> dict:
    return dict(bias=conv.bias is not None, activation="identity", use_bn=False)


def transmute_Conv3dPwBnAct(input_module: nn.Module) -> Optional[EfficientBlockBase]:
    """A 1x1x1 Conv3d (stride 1, no padding, one group) -> ``Conv3dPwBnAct``."""
    conv = _plain_conv3d(input_module)
    if conv is None or conv.kernel_size != (1, 1, 1) or conv.groups != 1:
        return None
    return _same_geometry(conv, Conv3dPwBnAct(conv.in_channels, conv.out_channels, **_block_args(conv)))


def transmute_Conv3d3x3x3DwBnAct(input_module: nn.Module) -> Optional[EfficientBlockBase]:
    """A depthwise 3x3x3 Conv3d (padding 1, stride (1, s, s)) -> ``Conv3d3x3x3DwBnAct``."""
    conv = _plain_conv3d(input_module)
    if conv is None or conv.kernel_size != (3, 3, 3) or conv.stride[1] != conv.stride[2]:
        return None
    return _same_geometry(conv, Conv3d3x3x3DwBnAct(conv.in_channels, spatial_stride=conv.stride[1], **_block_args(conv)))


def transmute_Conv3dTemporalKernel1BnAct(input_module: nn.Module) -> Optional[EfficientBlockBase]:
    """A 1xkxk Conv3d (stride (1, s, s), dilation (1, d, d), 'same' padding) -> ``Conv3dTemporalKernel1BnAct``."""
    conv = _plain_conv3d(input_module)
    if conv is None or conv.kernel_size[0] != 1 or conv.kernel_size[1] != conv.kernel_size[2]:
        return None
    if conv.stride[1] != conv.stride[2] or conv.dilation[1] != conv.dilation[2]:
        return None
    return _same_geometry(conv, Conv3dTemporalKernel1BnAct(
        conv.in_channels, conv.out_channels, groups=conv.groups, spatial_kernel=conv.kernel_size[1],
        spatial_stride=conv.stride[1], spatial_dilation=conv.dilation[1], **_block_args(conv)))


def _temporal(input_module: nn.Module, block_cls: type) -> Optional[EfficientBlockBase]:
    conv = _plain_conv3d(input_module)
    if conv is None or conv.kernel_size != (block_cls.temporal_kernel, 1, 1):
        return None
    return _same_geometry(conv, block_cls(conv.in_channels, conv.out_channels, groups=conv.groups,
                                          dilation=conv.dilation[0], **_block_args(conv)))


def transmute_Conv3d3x1x1BnAct(input_module: nn.Module) -> Optional[EfficientBlockBase]:
    """A 3x1x1 Conv3d (stride 1, temporal padding = dilation) -> ``Conv3d3x1x1BnAct``."""
    return _temporal(input_module, Conv3d3x1x1BnAct)


def transmute_Conv3d5x1x1BnAct(input_module: nn.Module) -> Optional[EfficientBlockBase]:
    """A 5x1x1 Conv3d (stride 1, temporal padding = 2 * dilation) -> ``Conv3d5x1x1BnAct``."""
    return _temporal(input_module, Conv3d5x1x1BnAct)


#: the mobile CPU transmuters in the order they are tried
EFFICIENT_BLOCK_TRANSMUTER_MOBILE_CPU = [
    transmute_Conv3dPwBnAct, transmute_Conv3d3x3x3DwBnAct, transmute_Conv3dTemporalKernel1BnAct,
    transmute_Conv3d3x1x1BnAct, transmute_Conv3d5x1x1BnAct,
]
