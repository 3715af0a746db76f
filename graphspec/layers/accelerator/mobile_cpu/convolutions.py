"""Convolution blocks for mobile CPUs: ``kernel = Sequential(conv, [bn], act)`` with a Conv3d of one
fixed geometry each; the three are the block's IR children (``parts``), which the mobile passes
lower in a model's mobile export, and on the block's own IR in ``convert(input_blob_size)``
(``lowering.lower_block``): the batch norm is folded into the convolution and the Conv3d becomes
the 2-D work XNNPACK has kernels for:

=============================  ====================================  ==============================
block                          Conv3d                                deployable form
=============================  ====================================  ==============================
Conv3dPwBnAct                  1x1x1                                 pointwise Conv2d on [B,C,T*H,W]
Conv3d3x3x3DwBnAct             3x3x3 depthwise, stride (1,s,s)       3 depthwise 3x3 Conv2d taps,
                                                                     shifted in time and summed
Conv3dTemporalKernel1BnAct     1xkxk, stride (1,s,s)                 Conv2d per frame (T in batch)
Conv3d3x1x1BnAct / 5x1x1       3x1x1 / 5x1x1 (any groups)            3x1 / 5x1 Conv2d on [B,C,T,H*W]
=============================  ====================================  ==============================

``native_conv3d_op_qnnpack=True`` keeps the depthwise 3x3x3 as a (folded) Conv3d, for runtimes
with a native 3-D kernel. ``convert_for_quantize`` is accepted for PyTorchVideo compatibility:
the deployable forms are plain tensor ops that onnxruntime's static quantization handles as they
are, so it changes nothing here.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import torch
import torch.nn as nn

from graphspec.accelerator.efficient_blocks.efficient_block_base import (
    EfficientBlockBase, check_blob_size, mark_converted,
)
from graphspec.compiler.dataflow import InSequence
from graphspec.registry import register

from .activation_functions import ActivationName, activation_class
from .lowering import lower_block
from .parts import Part, PartsBlock, part_children


class _Conv3dBnAct(PartsBlock, EfficientBlockBase):
    """conv -> optional BatchNorm3d -> activation, the parts ``kernel.conv``, ``kernel.bn`` and
    ``kernel.act``. Subclasses give the Conv3d's arguments as a function of the block's
    (``conv_args``)."""

    conv_args: Callable[[dict], dict]

    @classmethod
    def parts(cls, **args: Any) -> list[Part]:
        conv, activation = cls.conv_args(args), activation_class(args["activation"])
        parts: list[Part] = [("kernel.conv", nn.Conv3d, conv)]
        if args["use_bn"]:
            parts.append(("kernel.bn", nn.BatchNorm3d, dict(num_features=conv["out_channels"], eps=args["norm_eps"],
                                                             momentum=args["norm_momentum"])))
        return [*parts, ("kernel.act", activation, {})]

    def configure(self, **args: Any) -> None:
        self.convert_flag = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.kernel(x)

    def convert(self, input_blob_size: Sequence[int], convert_for_quantize: bool = False,
                native_conv3d_op_qnnpack: bool = False, **kwargs: Any) -> None:
        """Fold the batch norm and rewrite the Conv3d for inputs of ``input_blob_size``."""
        size = check_blob_size(self, input_blob_size, 5)
        mark_converted(self)
        lower_block(self, size, keep_conv3d=native_conv3d_op_qnnpack)


class Conv3dPwBnAct(_Conv3dBnAct):
    """Pointwise (1x1x1) Conv3d, batch norm, activation."""

    def __init__(self, in_channels: int, out_channels: int, bias: bool = False, activation: ActivationName = "relu",
                 use_bn: bool = True, norm_eps: float = 1e-5, norm_momentum: float = 0.1) -> None:
        super().__init__()
        self.build(locals())

    @staticmethod
    def conv_args(a: dict) -> dict:
        return dict(in_channels=a["in_channels"], out_channels=a["out_channels"], kernel_size=(1, 1, 1), bias=a["bias"])


class Conv3d3x3x3DwBnAct(_Conv3dBnAct):
    """Depthwise 3x3x3 Conv3d (padding 1, stride (1, spatial_stride, spatial_stride)), batch norm,
    activation."""

    def __init__(self, in_channels: int, spatial_stride: int = 1, bias: bool = False,
                 activation: ActivationName = "relu", use_bn: bool = True, norm_eps: float = 1e-5,
                 norm_momentum: float = 0.1) -> None:
        super().__init__()
        self.build(locals())

    @staticmethod
    def conv_args(a: dict) -> dict:
        c = a["in_channels"]
        return dict(in_channels=c, out_channels=c, kernel_size=(3, 3, 3), stride=(1, a["spatial_stride"], a["spatial_stride"]),
                    padding=(1, 1, 1), groups=c, bias=a["bias"])


class Conv3dTemporalKernel1BnAct(_Conv3dBnAct):
    """Conv3d with temporal kernel 1: kernel (1, k, k), stride (1, s, s), dilation (1, d, d),
    'same' spatial padding ``d * (k - 1) // 2``; batch norm, activation."""

    def __init__(self, in_channels: int, out_channels: int, bias: bool = False, groups: int = 1,
                 spatial_kernel: int = 1, spatial_stride: int = 1, spatial_dilation: int = 1,
                 activation: ActivationName = "relu", use_bn: bool = True, norm_eps: float = 1e-5,
                 norm_momentum: float = 0.1) -> None:
        super().__init__()
        self.build(locals())

    @staticmethod
    def conv_args(a: dict) -> dict:
        k, s, d = a["spatial_kernel"], a["spatial_stride"], a["spatial_dilation"]
        return dict(in_channels=a["in_channels"], out_channels=a["out_channels"], kernel_size=(1, k, k),
                    stride=(1, s, s), padding=(0, d * (k - 1) // 2, d * (k - 1) // 2), dilation=(1, d, d),
                    groups=a["groups"], bias=a["bias"])


class _TemporalConvBnAct(_Conv3dBnAct):
    """ktx1x1 Conv3d, padding ``dilation * (kt - 1) // 2`` in time (the clip keeps its length)."""

    temporal_kernel: int

    def __init__(self, in_channels: int, out_channels: int, bias: bool = False, groups: int = 1, dilation: int = 1,
                 activation: ActivationName = "relu", use_bn: bool = True, norm_eps: float = 1e-5,
                 norm_momentum: float = 0.1) -> None:
        super().__init__()
        self.build(locals())

    @classmethod
    def conv_args(cls, a: dict) -> dict:
        kt, d = cls.temporal_kernel, a["dilation"]
        return dict(in_channels=a["in_channels"], out_channels=a["out_channels"], kernel_size=(kt, 1, 1),
                    padding=(d * (kt - 1) // 2, 0, 0), dilation=(d, 1, 1), groups=a["groups"], bias=a["bias"])


class Conv3d3x1x1BnAct(_TemporalConvBnAct):
    """3x1x1 Conv3d (temporal padding ``dilation``), batch norm, activation."""

    temporal_kernel = 3


class Conv3d5x1x1BnAct(_TemporalConvBnAct):
    """5x1x1 Conv3d (temporal padding ``2 * dilation``), batch norm, activation."""

    temporal_kernel = 5


for _cls in (Conv3dPwBnAct, Conv3d3x3x3DwBnAct, Conv3dTemporalKernel1BnAct, Conv3d3x1x1BnAct, Conv3d5x1x1BnAct):
    register(_cls, infer=InSequence(("kernel",)), children=part_children)
