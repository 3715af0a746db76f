"""R(2+1)D: Du Tran, Heng Wang, Lorenzo Torresani, Jamie Ray, Yann LeCun, Manohar Paluri,
"A closer look at spatiotemporal convolutions for action recognition", CVPR 2018.

A ResNet whose bottleneck conv_b is a (2+1)D convolution: a temporal (kt x 1 x 1) convolution,
norm and activation, then a spatial (1 x kh x kw) convolution.
"""
from __future__ import annotations

from typing import Any, Callable, Optional, Tuple, Union

import torch.nn as nn

from graphspec.compiler.component import Component
from graphspec.compiler.ir import Node
from graphspec.compiler.template import builder, call_with
from graphspec.layers.convolutions import create_conv_2plus1d

from .csn import conv_b_strided_stages
from .head import create_res_basic_head
from .resnet import create_bottleneck_block, head_node, same_padded_stem
from .stem import create_res_basic_stem

Triple = Tuple[int, int, int]
PerStage = Tuple[Triple, ...]


@builder(signature_of=create_bottleneck_block, defaults=dict(
    conv_a_kernel_size=(1, 1, 1), conv_a_stride=(1, 1, 1), conv_a_padding=(0, 0, 0), conv_b_kernel_size=(3, 3, 3),
    conv_b_stride=(2, 2, 2), conv_b_padding=(1, 1, 1), conv_b=create_conv_2plus1d,
))
def create_2plus1d_bottleneck_block(*, conv_b, norm, norm_eps, norm_momentum, activation, **arguments: Any) -> Node:
    """Bottleneck whose conv_b is a (2+1)D convolution (``Conv2plus1d``) with its own norm and
    activation between the temporal and the spatial convolution.

    As in PyTorchVideo, conv_b is always built by ``create_conv_2plus1d``: ``create_res_block``
    hands every bottleneck its plain ``nn.Conv3d`` default for ``conv_b``, which cannot take the
    norm/activation arguments, so the argument is accepted for signature compatibility only."""
    conv_2plus1d = Component("create_conv_2plus1d", dict(
        norm=norm, norm_eps=norm_eps, norm_momentum=norm_momentum, activation=activation,
    ))
    return create_bottleneck_block.node(conv_b=conv_2plus1d, norm=norm, norm_eps=norm_eps, norm_momentum=norm_momentum,
                                        activation=activation, **arguments)


@builder
def create_r2plus1d(
    *,
    input_channel: int = 3,
    model_depth: int = 50,
    model_num_class: int = 400,
    dropout_rate: float = 0.0,
    norm: Optional[Callable] = nn.BatchNorm3d,
    norm_eps: float = 1e-5,
    norm_momentum: float = 0.1,
    activation: Optional[Callable] = nn.ReLU,
    stem_dim_out: int = 64,
    stem_conv_kernel_size: Triple = (1, 7, 7),
    stem_conv_stride: Triple = (1, 2, 2),
    stage_conv_a_kernel_size: Union[Triple, PerStage] = ((1, 1, 1), (1, 1, 1), (1, 1, 1), (1, 1, 1)),
    stage_conv_b_kernel_size: Union[Triple, PerStage] = ((3, 3, 3), (3, 3, 3), (3, 3, 3), (3, 3, 3)),
    stage_conv_b_num_groups: Tuple[int, ...] = (1, 1, 1, 1),
    stage_conv_b_dilation: Union[Triple, PerStage] = ((1, 1, 1), (1, 1, 1), (1, 1, 1), (1, 1, 1)),
    stage_spatial_stride: Tuple[int, ...] = (2, 2, 2, 2),
    stage_temporal_stride: Tuple[int, ...] = (1, 1, 2, 2),
    stage_bottleneck: Union[Callable, Tuple[Callable, ...]] = (
        create_2plus1d_bottleneck_block, create_2plus1d_bottleneck_block,
        create_2plus1d_bottleneck_block, create_2plus1d_bottleneck_block,
    ),
    head_pool: Optional[Callable] = nn.AvgPool3d,
    head_pool_kernel_size: Triple = (4, 7, 7),
    head_output_size: Triple = (1, 1, 1),
    head_activation: Optional[Callable] = nn.Softmax,
    head_output_with_global_average: bool = True,
) -> Node:
    """R(2+1)D: a stem without pooling, four stages of (2+1)D bottlenecks whose conv_b carries the
    stage's temporal and spatial stride, and a ResNet basic head (softmax by default)."""
    stem = same_padded_stem(
        create_res_basic_stem.node, in_channels=input_channel, out_channels=stem_dim_out,
        conv_kernel_size=stem_conv_kernel_size, conv_stride=stem_conv_stride, pool=None, norm=norm,
        norm_eps=norm_eps, norm_momentum=norm_momentum, activation=activation,
    )
    stages, dim = conv_b_strided_stages(
        model_depth=model_depth, dim_in=stem_dim_out, bottleneck_ratio=4, bottleneck=stage_bottleneck,
        conv_a_kernel_size=stage_conv_a_kernel_size, conv_b_kernel_size=stage_conv_b_kernel_size,
        conv_b_num_groups=stage_conv_b_num_groups, conv_b_dilation=stage_conv_b_dilation,
        spatial_stride=stage_spatial_stride, temporal_stride=stage_temporal_stride, norm=norm,
        activation=activation, norm_eps=norm_eps, norm_momentum=norm_momentum,
    )
    head = call_with(head_node, locals(), head=create_res_basic_head.node, pool_kernel_size=head_pool_kernel_size)
    return Node("Net", dict(blocks=[stem, *stages, head]))
