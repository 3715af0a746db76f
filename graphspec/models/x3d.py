"""X3D family (https://arxiv.org/abs/2004.04730): a (2+1)D stem, residual stages of depthwise
bottlenecks with squeeze-excitation on every other block, and a projected-pool head. Widths and
depths are the base network's scaled by ``width_factor`` / ``depth_factor``."""
from __future__ import annotations

import math
from typing import Any, Callable, Optional, Tuple

import torch
import torch.nn as nn

from graphspec.compiler.component import Component
from graphspec.compiler.ir import Node
from graphspec.compiler.rules import sequential
from graphspec.compiler.template import builder
from graphspec.layers.squeeze_excitation import SqueezeExcitation, SqueezeExcitationNode  # noqa: F401  (re-exported)
from graphspec.layers.swish import Swish
from graphspec.layers.utils import round_repeats, round_width, run_in_order
from graphspec.ops.torch_ops import SequentialNode
from graphspec.registry import register

from .head import classifier_nodes, global_average_node
from .stem import create_res_basic_stem, norm_node, optional, stem_node

Triple = Tuple[int, int, int]

#: depth of each stage of the base network, before ``depth_factor``
_BASE_STAGE_DEPTHS = (1, 2, 5, 3)
#: each stage has twice the channels of the one before (rounded to multiples of 8)
_STAGE_WIDTH_GROWTH = 2.0


# ---- projected pool ---------------------------------------------------------------------------
_PROJECTED_POOL_ORDER = ("pre_conv", "pre_norm", "pre_act", "pool", "post_conv", "post_norm", "post_act")


@register(infer=sequential(*_PROJECTED_POOL_ORDER))
class ProjectedPool(nn.Module):
    """Pooling with a 1x1x1 convolution, normalization and activation before and after it (the
    X3D head); the normalizations and activations are optional."""

    def __init__(self, *, pre_conv: Optional[nn.Module] = None, pre_norm: Optional[nn.Module] = None,
                 pre_act: Optional[nn.Module] = None, pool: Optional[nn.Module] = None,
                 post_conv: Optional[nn.Module] = None, post_norm: Optional[nn.Module] = None,
                 post_act: Optional[nn.Module] = None) -> None:
        super().__init__()
        self.pre_conv, self.pre_norm, self.pre_act = pre_conv, pre_norm, pre_act
        self.pool = pool
        self.post_conv, self.post_norm, self.post_act = post_conv, post_norm, post_act
        assert all(m is not None for m in (self.pre_conv, self.pool, self.post_conv))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return run_in_order(self, _PROJECTED_POOL_ORDER, x)


# ---- builders ---------------------------------------------------------------------------------
@builder(signature_of=create_res_basic_stem, defaults=dict(conv_kernel_size=(5, 3, 3), conv_padding=(2, 1, 1)),
         drop=("conv_bias", "conv", "pool", "pool_kernel_size", "pool_stride", "pool_padding"))
def create_x3d_stem(
    *, in_channels, out_channels, conv_kernel_size, conv_stride, conv_padding, norm, norm_eps, norm_momentum, activation,
) -> Node:
    """X3D stem: a spatial conv, a depthwise temporal conv, norm and activation.

    As in PyTorchVideo, the Conv2plus1d's ``conv_t`` slot holds the spatial conv (it runs
    first) and ``conv_xy`` the temporal one; checkpoints use these names.
    """
    (kt, kh, kw), (st, sh, sw), (pt, ph, pw) = conv_kernel_size, conv_stride, conv_padding
    conv3d = Component("Conv3d")
    spatial = conv3d(in_channels=in_channels, out_channels=out_channels, kernel_size=(1, kh, kw),
                     stride=(1, sh, sw), padding=(0, ph, pw), bias=False)
    temporal = conv3d(in_channels=out_channels, out_channels=out_channels, kernel_size=(kt, 1, 1),
                      stride=(st, 1, 1), padding=(pt, 0, 0), bias=False, groups=out_channels)
    conv = Node("Conv2plus1d", dict(conv_t=spatial, norm=None, activation=None, conv_xy=temporal,
                                    conv_xy_first=False))
    return stem_node(conv, out_channels=out_channels, norm=norm, norm_eps=norm_eps, norm_momentum=norm_momentum,
                     activation=activation)


@builder
def create_x3d_bottleneck_block(
    *,
    dim_in: int,
    dim_inner: int,
    dim_out: int,
    conv_kernel_size: Triple = (3, 3, 3),
    conv_stride: Triple = (1, 2, 2),
    norm: Optional[Callable] = nn.BatchNorm3d,
    norm_eps: float = 1e-5,
    norm_momentum: float = 0.1,
    se_ratio: float = 0.0625,
    activation: Optional[Callable] = nn.ReLU,
    inner_act: Optional[Callable] = Swish,
) -> Node:
    """1x1x1 conv, norm, act; depthwise conv_b, norm_b = Sequential(norm, SE or Identity),
    inner_act; 1x1x1 conv, norm."""
    conv3d, identity = Component("Conv3d"), Component("Identity")
    squeeze_excitation = SqueezeExcitationNode("SqueezeExcitation", dict(
        num_channels=dim_inner, num_channels_reduced=round_width(dim_inner, se_ratio), reduction_ratio=2.0,
        is_3d=True, activation=None,
    )) if se_ratio > 0.0 else identity()
    return Node("BottleneckBlock", dict(
        conv_a=conv3d(in_channels=dim_in, out_channels=dim_inner, kernel_size=(1, 1, 1), bias=False),
        norm_a=norm_node(norm, dim_inner, norm_eps, norm_momentum),
        act_a=optional(activation),
        conv_b=conv3d(in_channels=dim_inner, out_channels=dim_inner, kernel_size=conv_kernel_size,
                      stride=conv_stride, padding=[k // 2 for k in conv_kernel_size], bias=False,
                      groups=dim_inner, dilation=(1, 1, 1)),
        norm_b=SequentialNode("Sequential", dict(modules=[
            norm_node(norm, dim_inner, norm_eps, norm_momentum) or identity(), squeeze_excitation,
        ])),
        act_b=optional(inner_act),
        conv_c=conv3d(in_channels=dim_inner, out_channels=dim_out, kernel_size=(1, 1, 1), bias=False),
        norm_c=norm_node(norm, dim_out, norm_eps, norm_momentum),
    ))


@builder(signature_of=create_x3d_bottleneck_block)
def create_x3d_res_block(
    *, dim_in, dim_out, bottleneck: Callable = create_x3d_bottleneck_block, use_shortcut: bool = True, conv_stride,
    norm, activation, **bottleneck_arguments: Any,
) -> Node:
    """Residual block around an X3D bottleneck. With ``use_shortcut``, a strided or
    channel-changing block projects its shortcut with a 1x1x1 conv, normalized only when the
    channels change (PyTorchVideo builds that norm with default eps and momentum)."""
    project = use_shortcut and (dim_in != dim_out or math.prod(conv_stride) > 1)
    return Node("ResBlock", dict(
        branch1_conv=Component("Conv3d")(in_channels=dim_in, out_channels=dim_out, kernel_size=(1, 1, 1),
                                         stride=conv_stride, bias=False) if project else None,
        branch1_norm=optional(norm, num_features=dim_out) if use_shortcut and dim_in != dim_out else None,
        branch2=bottleneck(dim_in=dim_in, dim_out=dim_out, conv_stride=conv_stride, norm=norm, activation=activation,
                           **bottleneck_arguments),
        activation=optional(activation),
        branch_fusion="sum",
    ))


@builder(signature_of=create_x3d_bottleneck_block)
def create_x3d_res_stage(
    *, depth: int, dim_in, dim_out, bottleneck: Callable = create_x3d_bottleneck_block, conv_stride, se_ratio,
    **block_arguments: Any,
) -> Node:
    """``depth`` X3D residual blocks; the first strides and changes channels, and blocks
    0, 2, 4, ... get squeeze-excitation."""
    return Node("ResStage", dict(res_blocks=[
        create_x3d_res_block.node(
            dim_in=dim_in if idx == 0 else dim_out, dim_out=dim_out, bottleneck=bottleneck,
            conv_stride=conv_stride if idx == 0 else (1, 1, 1), se_ratio=se_ratio if (idx + 1) % 2 else 0.0,
            **block_arguments,
        )
        for idx in range(depth)
    ]))


@builder
def create_x3d_head(
    *,
    dim_in: int,
    dim_inner: int,
    dim_out: int,
    num_classes: int,
    pool_act: Optional[Callable] = nn.ReLU,
    pool_kernel_size: Optional[Triple] = (13, 5, 5),
    norm: Optional[Callable] = nn.BatchNorm3d,
    norm_eps: float = 1e-5,
    norm_momentum: float = 0.1,
    bn_lin5_on: bool = False,
    dropout_rate: float = 0.5,
    activation: Optional[Callable] = nn.Softmax,
    output_with_global_average: bool = True,
) -> Node:
    """ProjectedPool (1x1x1 conv to ``dim_inner``, norm, act, average pool with stride 1 -- or a
    global one when ``pool_kernel_size`` is None -- then 1x1x1 conv to ``dim_out``, optional
    norm, act), dropout, linear projection, activation and global average."""
    conv3d = Component("Conv3d")
    if pool_kernel_size is None:
        pool = Component("AdaptiveAvgPool3d")(output_size=(1, 1, 1))
    else:
        pool = Component("AvgPool3d")(kernel_size=pool_kernel_size, stride=1)
    projected_pool = Node("ProjectedPool", dict(
        pre_conv=conv3d(in_channels=dim_in, out_channels=dim_inner, kernel_size=(1, 1, 1), bias=False),
        pre_norm=norm_node(norm, dim_inner, norm_eps, norm_momentum),
        pre_act=optional(pool_act),
        pool=pool,
        post_conv=conv3d(in_channels=dim_inner, out_channels=dim_out, kernel_size=(1, 1, 1), bias=False),
        post_norm=norm_node(norm, dim_out, norm_eps, norm_momentum) if bn_lin5_on else None,
        post_act=optional(pool_act),
    ))
    return Node("ResNetBasicHead", dict(
        pool=projected_pool,
        **classifier_nodes(in_features=dim_out, out_features=num_classes, dropout_rate=dropout_rate,
                           activation=activation),
        output_pool=global_average_node(output_with_global_average),
    ))


@builder
def create_x3d(
    *,
    input_channel: int = 3,
    input_clip_length: int = 13,
    input_crop_size: int = 160,
    model_num_class: int = 400,
    dropout_rate: float = 0.5,
    width_factor: float = 2.0,
    depth_factor: float = 2.2,
    norm: Optional[Callable] = nn.BatchNorm3d,
    norm_eps: float = 1e-5,
    norm_momentum: float = 0.1,
    activation: Optional[Callable] = nn.ReLU,
    stem_dim_in: int = 12,
    stem_conv_kernel_size: Triple = (5, 3, 3),
    stem_conv_stride: Triple = (1, 2, 2),
    stage_conv_kernel_size: Tuple[Triple, ...] = ((3, 3, 3), (3, 3, 3), (3, 3, 3), (3, 3, 3)),
    stage_spatial_stride: Tuple[int, ...] = (2, 2, 2, 2),
    stage_temporal_stride: Tuple[int, ...] = (1, 1, 1, 1),
    bottleneck: Callable = create_x3d_bottleneck_block,
    bottleneck_factor: float = 2.25,
    se_ratio: float = 0.0625,
    inner_act: Optional[Callable] = Swish,
    head_dim_out: int = 2048,
    head_pool_act: Optional[Callable] = nn.ReLU,
    head_bn_lin5_on: bool = False,
    head_activation: Optional[Callable] = nn.Softmax,
    head_output_with_global_average: bool = True,
) -> Node:
    """X3D: stem, four residual stages, head. The head pools over the clip as it is after the
    network's strides: ``input_clip_length`` and ``input_crop_size`` set that window."""
    stage_count = len(_BASE_STAGE_DEPTHS)
    for name, seq in (("stage_conv_kernel_size", stage_conv_kernel_size),
                      ("stage_spatial_stride", stage_spatial_stride),
                      ("stage_temporal_stride", stage_temporal_stride)):
        if len(seq) < stage_count:
            raise ValueError(f"{name} has {len(seq)} entries, X3D has {stage_count} stages")
    stem_dim_out = round_width(stem_dim_in, width_factor)
    blocks = [create_x3d_stem.node(
        in_channels=input_channel, out_channels=stem_dim_out, conv_kernel_size=stem_conv_kernel_size,
        conv_stride=stem_conv_stride, conv_padding=[k // 2 for k in stem_conv_kernel_size], norm=norm,
        norm_eps=norm_eps, norm_momentum=norm_momentum, activation=activation,
    )]
    base_widths = [stem_dim_in]
    for _ in range(stage_count - 1):
        base_widths.append(round_width(base_widths[-1], _STAGE_WIDTH_GROWTH, divisor=8))
    dim_in = stem_dim_out
    for idx in range(stage_count):
        dim_out = round_width(base_widths[idx], width_factor)
        dim_inner = int(bottleneck_factor * dim_out)
        blocks.append(create_x3d_res_stage.node(
            depth=round_repeats(_BASE_STAGE_DEPTHS[idx], depth_factor), dim_in=dim_in, dim_inner=dim_inner,
            dim_out=dim_out, bottleneck=bottleneck, conv_kernel_size=stage_conv_kernel_size[idx],
            conv_stride=(stage_temporal_stride[idx], stage_spatial_stride[idx], stage_spatial_stride[idx]),
            norm=norm, norm_eps=norm_eps, norm_momentum=norm_momentum, se_ratio=se_ratio,
            activation=activation, inner_act=inner_act,
        ))
        dim_in = dim_out

    spatial_stride = stem_conv_stride[1] * math.prod(stage_spatial_stride)
    temporal_stride = stem_conv_stride[0] * math.prod(stage_temporal_stride)
    if input_clip_length < temporal_stride:
        raise ValueError(f"Clip length doesn't match temporal stride! ({input_clip_length} < {temporal_stride})")
    if input_crop_size < spatial_stride:
        raise ValueError(f"Crop size doesn't match spatial stride! ({input_crop_size} < {spatial_stride})")
    head_pool_side = math.ceil(input_crop_size / spatial_stride)
    blocks.append(create_x3d_head.node(
        dim_in=dim_out, dim_inner=dim_inner, dim_out=head_dim_out, num_classes=model_num_class,
        pool_act=head_pool_act,
        pool_kernel_size=(input_clip_length // temporal_stride, head_pool_side, head_pool_side),
        norm=norm, norm_eps=norm_eps, norm_momentum=norm_momentum, bn_lin5_on=head_bn_lin5_on,
        dropout_rate=dropout_rate, activation=head_activation,
        output_with_global_average=head_output_with_global_average,
    ))
    return Node("Net", dict(blocks=blocks))
