"""EfficientX3d: X3D-XS / X3D-S built from mobile CPU efficient blocks (PyTorchVideo/Accelerator's
``efficient_x3d_xs`` / ``efficient_x3d_s``; both expansions have the same network, they differ in
the clip they are run on: 4 frames for XS, 13 for S, 160x160)."""
from __future__ import annotations

from typing import Annotated, Literal

import torch
import torch.nn as nn
from pydantic import Field

from graphspec.compiler.dataflow import Prefix, slot_value
from graphspec.compiler.infer import Inference, TensorType
from graphspec.compiler.ir import Node
from graphspec.compiler.rules import expect_channels, expect_rank
from graphspec.layers.accelerator.mobile_cpu.activation_functions import (
    ActivationName, supported_act_functions,
)
from graphspec.layers.accelerator.mobile_cpu.convolutions import (
    Conv3d5x1x1BnAct, Conv3dPwBnAct, Conv3dTemporalKernel1BnAct,
)
from graphspec.layers.accelerator.mobile_cpu.fully_connected import FullyConnected
from graphspec.layers.accelerator.mobile_cpu.parts import Part, PartsBlock, part_children
from graphspec.layers.accelerator.mobile_cpu.pool import AdaptiveAvgPool3dOutSize1
from graphspec.registry import register

from .residual_blocks import X3dBottleneckBlock

Expansion = Literal["XS", "S"]

#: per expansion: stem width, then (depth, out channels, mid channels) of stages s2..s5, head widths
_ARCHITECTURES = {
    expansion: dict(stem=24, stages=((3, 24, 54), (5, 48, 108), (11, 96, 216), (7, 192, 432)), head=(432, 2048))
    for expansion in ("XS", "S")
}
_INPUT_CHANNELS = 3


def efficient_x3d_parts(*, num_classes: int = 400, dropout: float = 0.5, expansion: Expansion = "XS",
                        head_act: str = "identity", enable_head: bool = True) -> list[Part]:
    """The blocks of ``EfficientX3d``, in registration order."""
    if expansion not in _ARCHITECTURES:
        raise ValueError(f"expansion {expansion!r} is not supported; use one of {sorted(_ARCHITECTURES)}")
    if head_act not in supported_act_functions:
        raise ValueError(f"head_act {head_act!r} is not supported; use one of {sorted(supported_act_functions)}")
    if not 0.0 <= dropout <= 1.0:
        raise ValueError(f"dropout must be a probability between 0 and 1, got {dropout}")
    arch = _ARCHITECTURES[expansion]
    stem = arch["stem"]
    parts: list[Part] = [
        ("s1.pathway0_stem_conv_xy", Conv3dTemporalKernel1BnAct, dict(
            in_channels=_INPUT_CHANNELS, out_channels=stem, spatial_kernel=3, spatial_stride=2,
            activation="identity", use_bn=False)),
        ("s1.pathway0_stem_conv", Conv3d5x1x1BnAct, dict(in_channels=stem, out_channels=stem, groups=stem)),
    ]
    in_channels = stem
    for stage, (depth, out_channels, mid_channels) in enumerate(arch["stages"], start=2):
        for index in range(depth):
            parts.append((f"s{stage}.pathway0_res{index}", X3dBottleneckBlock, dict(
                in_channels=in_channels, mid_channels=mid_channels, out_channels=out_channels,
                spatial_stride=2 if index == 0 else 1,
                se_ratio=0.0625 if index % 2 == 0 else 0.0,  # squeeze-excitation on every other block
            )))
            in_channels = out_channels
    if enable_head:
        conv_5, lin_5 = arch["head"]
        parts += [
            ("head.conv_5", Conv3dPwBnAct, dict(in_channels=in_channels, out_channels=conv_5)),
            ("head.avg_pool", AdaptiveAvgPool3dOutSize1, {}),
            ("head.lin_5", Conv3dPwBnAct, dict(in_channels=conv_5, out_channels=lin_5, use_bn=False)),
            ("projection", FullyConnected, dict(in_features=lin_5, out_features=num_classes, bias=True)),
            ("dropout", nn.Dropout, dict(p=dropout)),  # applied before the projection, in training
            ("act", supported_act_functions[head_act], {}),  # applied after it, in eval mode
        ]
    return parts


#: the parts that run on the clip one after the other; the projection, on channels-last, comes after
_TRUNK = ("s1", "s2", "s3", "s4", "s5", "head")


def _head_infer(node: Node, ctx: Inference, x: TensorType) -> TensorType:
    if node.args["enable_head"]:  # channels last, dropout, projected, act, averaged over T, H, W
        (dropout,), (projection,), (act,) = (slot_value(node, slot) for slot in ("dropout", "projection", "act"))
        channels_last = ctx.run(dropout, x.with_shape((x.shape[0], *x.shape[2:], x.shape[1])))
        logits = ctx.run(act, ctx.run(projection, channels_last))
        x = logits.with_shape((x.shape[0], logits.shape[-1]))
    return x


class _ClipPrefix(Prefix):
    """``Prefix`` whose shape rule first checks the clip (rank 5, RGB)."""

    def __call__(self, node: Node, ctx: Inference, x: TensorType) -> TensorType:
        expect_rank(x, 5, "EfficientX3d")
        expect_channels(x, _INPUT_CHANNELS, "input channels")
        return super().__call__(node, ctx, x)


@register(infer=_ClipPrefix(_TRUNK, _head_infer), children=part_children,
          arg_types={"head_act": ActivationName, "dropout": Annotated[float, Field(ge=0.0, le=1.0)]})
class EfficientX3d(PartsBlock):
    """X3D for mobile CPUs: stem ``s1`` (1x3x3 conv, depthwise 5x1x1 conv), stages ``s2``..``s5``
    of ``X3dBottleneckBlock``, ``head`` (1x1x1 conv, global average pool, 1x1x1 conv) and a
    ``projection`` to ``num_classes``; ``head_act`` is applied in eval mode, dropout in training.
    Without ``enable_head`` the model ends after ``s5``."""

    parts = staticmethod(efficient_x3d_parts)

    def __init__(self, num_classes: int = 400, dropout: float = 0.5, expansion: Expansion = "XS",
                 head_act: str = "identity", enable_head: bool = True) -> None:
        super().__init__()
        self.build(locals())

    def configure(self, *, enable_head: bool = True, **args) -> None:
        self.enable_head = enable_head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.s5(self.s4(self.s3(self.s2(self.s1(x)))))
        if not self.enable_head:
            return x
        x = self.head(x).permute(0, 2, 3, 4, 1)
        x = self.projection(self.dropout(x))
        if not self.training:
            x = self.act(x)
        return x.mean([1, 2, 3]).reshape(x.shape[0], -1)


def create_x3d(*, num_classes: int = 400, dropout: float = 0.5, expansion: Expansion = "XS",
               head_act: str = "identity", enable_head: bool = True) -> EfficientX3d:
    """Build an ``EfficientX3d`` (keyword arguments as its constructor's)."""
    return EfficientX3d(num_classes=num_classes, dropout=dropout, expansion=expansion, head_act=head_act,
                        enable_head=enable_head)
