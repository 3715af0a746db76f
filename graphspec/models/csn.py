"""Channel-Separated Convolutional Networks (CSN): Du Tran, Heng Wang, Lorenzo Torresani,
Matt Feiszli, "Video classification with channel-separated convolutional networks", ICCV 2019.

A ResNet whose conv_b is depthwise (one group per ``stage_conv_b_width_per_group`` channels)
and carries both the temporal and the spatial stride of its stage.
"""
from __future__ import annotations

from typing import Callable, Optional, Sequence, Tuple

import torch.nn as nn

from graphspec.compiler.ir import Node
from graphspec.compiler.template import builder, call_with

from .head import create_res_basic_head
from .resnet import (
    _MODEL_STAGE_DEPTH, create_bottleneck_block, create_res_stage, half, head_node, same_padded_stem, stage_depths,
    stage_settings,
)
from .stem import create_res_basic_stem

Triple = Tuple[int, int, int]

#: stage depths of the bottleneck ResNets that CSN and R(2+1)D are built on
_BOTTLENECK_DEPTHS = {depth: _MODEL_STAGE_DEPTH[depth] for depth in (50, 101, 152)}


def conv_b_strided_stages(
    *, model_depth: int, dim_in: int, bottleneck_ratio: int, bottleneck, conv_a_kernel_size, conv_b_kernel_size,
    conv_b_dilation, spatial_stride: Sequence[int], temporal_stride: Sequence[int], norm, activation,
    conv_b_num_groups: Sequence[int] = (1, 1, 1, 1), conv_b_width_per_group: Optional[int] = None,
    norm_eps: float = 1e-5, norm_momentum: float = 0.1,
) -> tuple[list[Node], int]:
    """The residual stages of CSN and R(2+1)D: unlike ``create_resnet``, conv_a never strides and
    conv_b takes the stage's (temporal, spatial, spatial) stride. Kernels, dilations and the
    bottleneck are one value for all stages or one per stage. conv_b has ``conv_b_num_groups[stage]``
    groups, or groups of ``conv_b_width_per_group`` channels when that is set (CSN).
    Returns the stages and the channels of the last one."""
    depths = stage_depths(model_depth, _BOTTLENECK_DEPTHS)
    (conv_a_kernels, conv_b_kernels, dilations), bottlenecks = stage_settings(
        len(depths), broadcast=dict(stage_conv_a_kernel_size=conv_a_kernel_size,
                                    stage_conv_b_kernel_size=conv_b_kernel_size, stage_conv_b_dilation=conv_b_dilation),
        bottleneck=("stage_bottleneck", bottleneck),
        listed=dict(stage_conv_b_num_groups=conv_b_num_groups, stage_spatial_stride=spatial_stride,
                    stage_temporal_stride=temporal_stride),
    )
    stages, dim_out = [], dim_in * 4
    for idx, depth in enumerate(depths):
        dim_inner = dim_out // bottleneck_ratio
        groups = dim_inner // conv_b_width_per_group if conv_b_width_per_group else conv_b_num_groups[idx]
        stages.append(create_res_stage.node(
            depth=depth, dim_in=dim_in, dim_inner=dim_inner, dim_out=dim_out, bottleneck=bottlenecks[idx],
            conv_a_kernel_size=conv_a_kernels[idx], conv_a_stride=(1, 1, 1), conv_a_padding=half(conv_a_kernels[idx]),
            conv_b_kernel_size=conv_b_kernels[idx],
            conv_b_stride=(temporal_stride[idx], spatial_stride[idx], spatial_stride[idx]),
            conv_b_padding=half(conv_b_kernels[idx]), conv_b_num_groups=groups,
            conv_b_dilation=dilations[idx], norm=norm, norm_eps=norm_eps, norm_momentum=norm_momentum,
            activation=activation,
        ))
        dim_in, dim_out = dim_out, dim_out * 2
    return stages, dim_in


@builder
def create_csn(
    *,
    input_channel: int = 3,
    model_depth: int = 50,
    model_num_class: int = 400,
    dropout_rate: float = 0,
    norm: Optional[Callable] = nn.BatchNorm3d,
    activation: Optional[Callable] = nn.ReLU,
    stem_dim_out: int = 64,
    stem_conv_kernel_size: Triple = (3, 7, 7),
    stem_conv_stride: Triple = (1, 2, 2),
    stem_pool: Optional[Callable] = None,
    stem_pool_kernel_size: Triple = (1, 3, 3),
    stem_pool_stride: Triple = (1, 2, 2),
    stage_conv_a_kernel_size: Triple = (1, 1, 1),
    stage_conv_b_kernel_size: Triple = (3, 3, 3),
    stage_conv_b_width_per_group: int = 1,
    stage_spatial_stride: Tuple[int, ...] = (1, 2, 2, 2),
    stage_temporal_stride: Tuple[int, ...] = (1, 2, 2, 2),
    bottleneck: Callable = create_bottleneck_block,
    bottleneck_ratio: int = 4,
    head_pool: Optional[Callable] = nn.AvgPool3d,
    head_pool_kernel_size: Triple = (1, 7, 7),
    head_output_size: Triple = (1, 1, 1),
    head_activation: Optional[Callable] = None,
    head_output_with_global_average: bool = True,
) -> Node:
    """CSN: ResNet stem, four stages of bottlenecks with a channel-separated (depthwise for
    ``stage_conv_b_width_per_group=1``) conv_b, and a ResNet basic head."""
    stem = same_padded_stem(
        create_res_basic_stem.node, in_channels=input_channel, out_channels=stem_dim_out,
        conv_kernel_size=stem_conv_kernel_size, conv_stride=stem_conv_stride, pool=stem_pool,
        pool_kernel_size=stem_pool_kernel_size, pool_stride=stem_pool_stride, norm=norm, activation=activation,
    )
    stages, dim = conv_b_strided_stages(
        model_depth=model_depth, dim_in=stem_dim_out, bottleneck_ratio=bottleneck_ratio, bottleneck=bottleneck,
        conv_a_kernel_size=stage_conv_a_kernel_size, conv_b_kernel_size=stage_conv_b_kernel_size,
        conv_b_width_per_group=stage_conv_b_width_per_group, conv_b_dilation=(1, 1, 1),
        spatial_stride=stage_spatial_stride, temporal_stride=stage_temporal_stride, norm=norm, activation=activation,
    )
    head = call_with(head_node, locals(), head=create_res_basic_head.node, pool_kernel_size=head_pool_kernel_size)
    return Node("Net", dict(blocks=[stem, *stages, head]))
