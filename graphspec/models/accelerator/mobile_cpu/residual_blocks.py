"""X3D's residual bottleneck as an efficient block for mobile CPUs."""
from __future__ import annotations

from typing import Any, Sequence, Tuple

import torch

from graphspec.accelerator.efficient_blocks.efficient_block_base import (
    EfficientBlockBase, check_blob_size, mark_converted,
)
from graphspec.compiler.dataflow import Residual
from graphspec.compiler.infer import ShapeError, TensorType
from graphspec.compiler.ir import Node
from graphspec.layers.accelerator.mobile_cpu.activation_functions import ActivationName, supported_act_functions
from graphspec.layers.accelerator.mobile_cpu.attention import SqueezeExcitation
from graphspec.layers.accelerator.mobile_cpu.convolutions import (
    Conv3d3x3x3DwBnAct, Conv3dPwBnAct, Conv3dTemporalKernel1BnAct,
)
from graphspec.layers.accelerator.mobile_cpu.lowering import lower_block
from graphspec.layers.accelerator.mobile_cpu.parts import Part, PartsBlock, part_children
from graphspec.layers.utils import round_width
from graphspec.registry import register

Flags = Tuple[bool, bool, bool]


def bottleneck_parts(*, in_channels: int, mid_channels: int, out_channels: int, use_residual: bool = True,
                     spatial_stride: int = 1, se_ratio: float = 0.0625,
                     act_functions: Tuple[str, str, str] = ("relu", "swish", "relu"),
                     bias: Flags = (False, False, False), use_bn: Flags = (True, True, True),
                     norm_eps: float = 1e-5, norm_momentum: float = 0.1) -> list[Part]:
    """The sub-blocks of ``X3dBottleneckBlock``, in registration order."""
    for name, act in zip(("act_functions[0]", "act_functions[1]", "act_functions[2]"), act_functions):
        if act not in supported_act_functions:
            raise ValueError(f"{name}={act!r} is not supported; use one of {sorted(supported_act_functions)}")
    norm = dict(norm_eps=norm_eps, norm_momentum=norm_momentum)
    parts: list[Part] = []
    if use_residual and (spatial_stride != 1 or in_channels != out_channels):
        if spatial_stride == 1:
            parts.append(("_res_proj", Conv3dPwBnAct, dict(in_channels=in_channels, out_channels=out_channels,
                                                          activation="identity", **norm)))
        else:  # a strided 1x1x1 projection
            parts.append(("_res_proj", Conv3dTemporalKernel1BnAct, dict(
                in_channels=in_channels, out_channels=out_channels, spatial_stride=spatial_stride,
                activation="identity", **norm)))
    parts.append(("layers.conv_0", Conv3dPwBnAct, dict(in_channels=in_channels, out_channels=mid_channels, bias=bias[0],
                                                       activation=act_functions[0], use_bn=use_bn[0], **norm)))
    parts.append(("layers.conv_1", Conv3d3x3x3DwBnAct, dict(in_channels=mid_channels, spatial_stride=spatial_stride,
                                                            bias=bias[1], activation="identity", use_bn=use_bn[1], **norm)))
    if se_ratio > 0:
        parts.append(("layers.se", SqueezeExcitation, dict(
            num_channels=mid_channels, num_channels_reduced=round_width(mid_channels, se_ratio), is_3d=True)))
    parts.append(("layers.act_func_1", supported_act_functions[act_functions[1]], {}))
    parts.append(("layers.conv_2", Conv3dPwBnAct, dict(in_channels=mid_channels, out_channels=out_channels, bias=bias[2],
                                                       activation="identity", use_bn=use_bn[2], **norm)))
    parts.append(("final_act", supported_act_functions[act_functions[2]], {}))
    return parts


def _residual_sum(node: Node, shortcut: TensorType, out: TensorType) -> TensorType:
    if not node.args["use_residual"]:
        return out
    if shortcut.shape != out.shape:
        raise ShapeError(f"residual {shortcut} does not match the block's output {out}")
    return out


@register(infer=Residual(shortcut=("_res_proj",), branch=("layers",), after=("final_act",), merge=_residual_sum),
          children=part_children, arg_types={"act_functions": Tuple[ActivationName, ActivationName, ActivationName]})
class X3dBottleneckBlock(PartsBlock, EfficientBlockBase):
    """X3D bottleneck: pointwise conv (``act_functions[0]``), depthwise 3x3x3 conv with the spatial
    stride, squeeze-excitation when ``se_ratio > 0``, ``act_functions[1]``, pointwise conv, then
    the residual (projected by a 1x1x1 conv and batch norm when the stride or the channels change)
    and ``act_functions[2]``."""

    parts = staticmethod(bottleneck_parts)

    def __init__(self, in_channels: int, mid_channels: int, out_channels: int, use_residual: bool = True,
                 spatial_stride: int = 1, se_ratio: float = 0.0625,
                 act_functions: Tuple[str, str, str] = ("relu", "swish", "relu"),
                 bias: Flags = (False, False, False), use_bn: Flags = (True, True, True),
                 norm_eps: float = 1e-5, norm_momentum: float = 0.1) -> None:
        super().__init__()
        self.build(locals())

    def configure(self, *, use_residual: bool = True, **args: Any) -> None:
        self._use_residual = use_residual
        self.convert_flag = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.layers(x)
        if self._use_residual:
            out = out + (self._res_proj(x) if hasattr(self, "_res_proj") else x)
        return self.final_act(out)

    def convert(self, input_blob_size: Sequence[int], convert_for_quantize: bool = False,
                native_conv3d_op_qnnpack: bool = False, **kwargs: Any) -> None:
        """The mobile lowering of the whole block (its sub-blocks' parts) for inputs of ``input_blob_size``."""
        size = check_blob_size(self, input_blob_size, 5)
        mark_converted(self)
        lower_block(self, size, keep_conv3d=native_conv3d_op_qnnpack)
