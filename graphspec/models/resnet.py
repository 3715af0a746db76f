"""ResNet family builders: bottleneck blocks, residual blocks and stages, ``create_resnet``
(the modules they build are in ``models.resnet_blocks``; exported here too, as PyTorchVideo's
``pytorchvideo.models.resnet`` does)."""
from __future__ import annotations

import math
from typing import Any, Callable, Optional, Sequence, Tuple, Union

import torch.nn as nn

from graphspec.compiler.ir import Node
from graphspec.compiler.template import builder, call_with

from .head import create_res_basic_head, create_res_roi_pooling_head
from .resnet_blocks import BottleneckBlock, ResBlock, ResStage, SeparableBottleneckBlock  # noqa: F401  (exported)
from .stem import create_acoustic_res_basic_stem, create_res_basic_stem, norm_node, optional

Triple = Tuple[int, int, int]
PerStage = Tuple[Triple, ...]
#: per stage: one kernel for all blocks, or a list of kernels repeated over the stage's blocks
PerStageNested = Tuple[Union[Triple, Tuple[Triple, ...]], ...]

_MODEL_STAGE_DEPTH = {18: (2, 2, 2, 2), 50: (3, 4, 6, 3), 101: (3, 4, 23, 3), 152: (3, 8, 36, 3)}

@builder
def create_bottleneck_block(
    *,
    dim_in: int,
    dim_inner: int,
    dim_out: int,
    conv_a_kernel_size: Triple = (3, 1, 1),
    conv_a_stride: Triple = (2, 1, 1),
    conv_a_padding: Triple = (1, 0, 0),
    conv_a: Callable = nn.Conv3d,
    conv_b_kernel_size: Triple = (1, 3, 3),
    conv_b_stride: Triple = (1, 2, 2),
    conv_b_padding: Triple = (0, 1, 1),
    conv_b_num_groups: int = 1,
    conv_b_dilation: Triple = (1, 1, 1),
    conv_b: Callable = nn.Conv3d,
    conv_c: Callable = nn.Conv3d,
    norm: Optional[Callable] = nn.BatchNorm3d,
    norm_eps: float = 1e-5,
    norm_momentum: float = 0.1,
    activation: Optional[Callable] = nn.ReLU,
) -> Node:
    """Bottleneck: 1x1-ish conv_a, grouped/dilated conv_b, 1x1x1 conv_c, each with norm/act."""
    return Node("BottleneckBlock", dict(
        conv_a=conv_a(in_channels=dim_in, out_channels=dim_inner, kernel_size=conv_a_kernel_size,
                      stride=conv_a_stride, padding=conv_a_padding, bias=False),
        norm_a=norm_node(norm, dim_inner, norm_eps, norm_momentum),
        act_a=optional(activation),
        conv_b=conv_b(in_channels=dim_inner, out_channels=dim_inner, kernel_size=conv_b_kernel_size,
                      stride=conv_b_stride, padding=conv_b_padding, bias=False, groups=conv_b_num_groups,
                      dilation=conv_b_dilation),
        norm_b=norm_node(norm, dim_inner, norm_eps, norm_momentum),
        act_b=optional(activation),
        conv_c=conv_c(in_channels=dim_inner, out_channels=dim_out, kernel_size=(1, 1, 1), bias=False),
        norm_c=norm_node(norm, dim_out, norm_eps, norm_momentum),
    ))


@builder(signature_of=create_bottleneck_block,
         defaults=dict(conv_b_kernel_size=(1, 1, 1), conv_b_stride=(1, 1, 1), conv_b_padding=(0, 0, 0)))
def create_acoustic_bottleneck_block(
    *, dim_in, dim_inner, dim_out, conv_a_kernel_size, conv_a_stride, conv_a_padding, conv_a, conv_b_kernel_size,
    conv_b_stride, conv_b_padding, conv_b_num_groups, conv_b_dilation, conv_b, conv_c, norm, norm_eps, norm_momentum,
    activation,
) -> Node:
    """Acoustic bottleneck: conv_b split into a frequency (1 x k_h x k_w) and a temporal (k_t x 1 x 1)
    convolution, in that order (``conv_b.0``, ``conv_b.1`` as in PyTorchVideo's checkpoints), summed."""
    k, s, p, d = conv_b_kernel_size, conv_b_stride, conv_b_padding, conv_b_dilation

    def conv_b_branch(kernel, padding, dilation) -> Node:
        return conv_b(in_channels=dim_inner, out_channels=dim_inner, kernel_size=kernel, stride=s,
                      padding=padding, bias=False, groups=conv_b_num_groups, dilation=dilation)

    temporal = conv_b_branch((k[0], 1, 1), (p[0], 0, 0), (d[0], 1, 1))
    spatial = conv_b_branch((1, k[1], k[2]), (0, p[1], p[2]), (1, d[1], d[2]))
    branch_norms = [norm_node(norm, dim_inner, norm_eps, norm_momentum) for _ in range(2)]
    branch_acts = [optional(activation) for _ in range(2)]
    return Node("SeparableBottleneckBlock", dict(
        conv_a=conv_a(in_channels=dim_in, out_channels=dim_inner, kernel_size=conv_a_kernel_size,
                      stride=conv_a_stride, padding=conv_a_padding, bias=False),
        norm_a=norm_node(norm, dim_inner, norm_eps, norm_momentum),
        act_a=optional(activation),
        conv_b=[spatial, temporal],
        norm_b=branch_norms if norm is not None else None,
        act_b=branch_acts if activation is not None else None,
        conv_c=conv_c(in_channels=dim_inner, out_channels=dim_out, kernel_size=(1, 1, 1), bias=False),
        norm_c=norm_node(norm, dim_out, norm_eps, norm_momentum),
        reduce_method="sum",
    ))


def _stride_product(a: Sequence[int], b: Sequence[int]) -> tuple:
    return tuple(x * y for x, y in zip(a, b))


@builder(arg_types={"branch_fusion": Any}, signature_of=create_bottleneck_block, drop=("activation",))
def create_res_block(
    *, dim_in, dim_out, bottleneck: Callable, use_shortcut: bool = False, branch_fusion: Any = "sum",
    conv_a_stride, conv_b_stride, conv_c, conv_skip: Callable = nn.Conv3d, norm, norm_eps, norm_momentum,
    activation_bottleneck: Optional[Callable] = nn.ReLU, activation_block: Optional[Callable] = nn.ReLU,
    **bottleneck_arguments: Any,
) -> Node:
    """Residual block around a bottleneck; a 1x1x1 projection shortcut when shapes change."""
    skip_stride = _stride_product(conv_a_stride, conv_b_stride)
    needs_projection = use_shortcut or dim_in != dim_out or math.prod(skip_stride) != 1
    return Node("ResBlock", dict(
        branch1_conv=conv_skip(in_channels=dim_in, out_channels=dim_out, kernel_size=(1, 1, 1),
                               stride=skip_stride, bias=False) if needs_projection else None,
        branch1_norm=norm_node(norm, dim_out, norm_eps, norm_momentum) if needs_projection else None,
        branch2=bottleneck(
            dim_in=dim_in, dim_out=dim_out, conv_a_stride=conv_a_stride, conv_b_stride=conv_b_stride,
            conv_c=conv_c, norm=norm, norm_eps=norm_eps, norm_momentum=norm_momentum,
            activation=activation_bottleneck, **bottleneck_arguments,
        ),
        activation=optional(activation_block),
        branch_fusion=branch_fusion,
    ))


def repeat_to_depth(value: Sequence, depth: int) -> list:
    """A single tuple, or a list of tuples repeated until it covers ``depth`` blocks."""
    if not value:
        raise ValueError("a kernel or padding list is empty")
    items = [value] if isinstance(value[0], int) else list(value)
    return (items * depth)[:depth]


@builder(signature_of=create_bottleneck_block)
def create_res_stage(
    *, depth: int, dim_in, dim_out, bottleneck: Callable,
    conv_a_kernel_size: Union[Triple, Tuple[Triple, ...]] = (3, 1, 1), conv_a_stride,
    conv_a_padding: Union[Triple, Tuple[Triple, ...]] = (1, 0, 0), conv_b_stride, activation,
    **block_arguments: Any,
) -> Node:
    """``depth`` residual blocks; only the first one strides and changes channels."""
    kernels = repeat_to_depth(conv_a_kernel_size, depth)
    paddings = repeat_to_depth(conv_a_padding, depth)
    blocks = [
        create_res_block.node(
            dim_in=dim_in if i == 0 else dim_out, dim_out=dim_out, bottleneck=bottleneck,
            conv_a_kernel_size=kernels[i], conv_a_stride=conv_a_stride if i == 0 else (1, 1, 1),
            conv_a_padding=paddings[i], conv_b_stride=conv_b_stride if i == 0 else (1, 1, 1),
            activation_bottleneck=activation, activation_block=activation, **block_arguments,
        )
        for i in range(depth)
    ]
    return Node("ResStage", dict(res_blocks=blocks))


def per_stage(value: Sequence, stages: int, name: str) -> list:
    """Broadcast one tuple to every stage; check a per-stage list has one entry per stage."""
    if not value:
        raise ValueError(f"{name} is empty; give one value for all stages or one per stage")
    items = [value] * stages if isinstance(value[0], int) else list(value)
    if len(items) != stages:
        raise ValueError(f"{name} has {len(items)} entries, the model has {stages} stages")
    return items


def entries(name: str, value: Sequence, count: int, what: str = "stages") -> list:
    """``value`` as a list with an entry for each of ``count`` stages (or pathways)."""
    items = list(value)
    if len(items) < count:
        raise ValueError(f"{name} has {len(items)} entries, the model has {count} {what}")
    return items


def stage_settings(count: int, *, broadcast: dict[str, Sequence], bottleneck: tuple[str, Any],
                   listed: dict[str, Sequence]) -> tuple[list[list], list]:
    """A ResNet-style builder's per-stage arguments, keyed by the names the builder gives them (its
    errors name them): the ``broadcast`` kernels and dilations and the ``(name, value)`` bottleneck
    as one entry per stage of ``count``; the ``listed`` sequences checked to have an entry per stage.
    Returns the broadcast lists, in the order given, and the bottlenecks."""
    values = [per_stage(value, count, name) for name, value in broadcast.items()]
    name, value = bottleneck
    bottlenecks = entries(name, value if isinstance(value, (list, tuple)) else [value] * count, count)
    for name, seq in listed.items():
        entries(name, seq, count)
    return values, bottlenecks


def stage_depths(model_depth: int, table: dict[int, tuple[int, ...]] = _MODEL_STAGE_DEPTH) -> tuple[int, ...]:
    """Blocks per stage of a ResNet of ``model_depth`` layers (a family may have its own table)."""
    if model_depth not in table:
        raise ValueError(f"model_depth must be one of {sorted(table)}, got {model_depth}")
    return table[model_depth]


def same_padded_stem(stem: Callable, *, conv_kernel_size: Sequence[int], pool_kernel_size: Sequence[int] = (1, 3, 3),
                     **kwargs: Any) -> Node:
    """``stem`` called as every ResNet-style builder calls it: conv and pool padded by half their kernels."""
    return stem(conv_kernel_size=conv_kernel_size, conv_padding=half(conv_kernel_size),
                pool_kernel_size=pool_kernel_size, pool_padding=half(pool_kernel_size), **kwargs)


def half(kernel: Sequence) -> list:
    """'Same' padding of a kernel, or of each kernel in a list."""
    return [k // 2 for k in kernel] if isinstance(kernel[0], int) else [[k // 2 for k in ks] for ks in kernel]


def conv_b_padding(kernel: Sequence[int], dilation: Sequence[int]) -> list:
    """PyTorchVideo's conv_b padding: half the temporal kernel; spatially the dilation where it is
    above 1 (a dilated 3x3 keeps the size), else half the kernel."""
    return [kernel[0] // 2, *(d if d > 1 else k // 2 for k, d in zip(kernel[1:], dilation[1:]))]


def head_node(head: Callable, *, dim: int, model_num_class: int, head_pool: Optional[Callable],
              head_output_size: Sequence[int], dropout_rate: float, head_activation: Optional[Callable],
              head_output_with_global_average: bool, **head_kwargs: Any) -> Node:
    """``head`` on the last stage's ``dim`` channels, given a builder's ``head_*`` arguments under
    the names a head takes, plus ``head_kwargs`` (the pool window, the RoI settings)."""
    return head(in_features=dim, out_features=model_num_class, pool=head_pool, output_size=head_output_size,
                dropout_rate=dropout_rate, activation=head_activation,
                output_with_global_average=head_output_with_global_average, **head_kwargs)


def resnet_blocks(
    *, input_channel, model_depth, norm, activation, stem_dim_out, stem_conv_kernel_size,
    stem_conv_stride, stem_pool, stem_pool_kernel_size, stem_pool_stride, stem, stage1_pool,
    stage1_pool_kernel_size, stage_conv_a_kernel_size, stage_conv_b_kernel_size, stage_conv_b_num_groups,
    stage_conv_b_dilation, stage_spatial_h_stride, stage_spatial_w_stride, stage_temporal_stride, bottleneck,
) -> tuple[list[Node], int]:
    """Stem and stages of a ResNet (shared by the classification and detection builders);
    returns the blocks and the channels of the last stage."""
    depths = stage_depths(model_depth)
    (conv_a_kernels, conv_b_kernels, dilations), bottlenecks = stage_settings(
        len(depths), broadcast=dict(stage_conv_a_kernel_size=stage_conv_a_kernel_size,
                                    stage_conv_b_kernel_size=stage_conv_b_kernel_size,
                                    stage_conv_b_dilation=stage_conv_b_dilation),
        bottleneck=("bottleneck", bottleneck),
        listed=dict(stage_conv_b_num_groups=stage_conv_b_num_groups, stage_spatial_h_stride=stage_spatial_h_stride,
                    stage_spatial_w_stride=stage_spatial_w_stride, stage_temporal_stride=stage_temporal_stride),
    )
    blocks = [same_padded_stem(
        stem, in_channels=input_channel, out_channels=stem_dim_out, conv_kernel_size=stem_conv_kernel_size,
        conv_stride=stem_conv_stride, pool=stem_pool, pool_kernel_size=stem_pool_kernel_size,
        pool_stride=stem_pool_stride, norm=norm, activation=activation,
    )]
    dim_in, dim_out = stem_dim_out, stem_dim_out * 4
    for idx, depth in enumerate(depths):
        blocks.append(create_res_stage.node(
            depth=depth, dim_in=dim_in, dim_inner=dim_out // 4, dim_out=dim_out, bottleneck=bottlenecks[idx],
            conv_a_kernel_size=conv_a_kernels[idx], conv_a_stride=(stage_temporal_stride[idx], 1, 1),
            conv_a_padding=half(conv_a_kernels[idx]), conv_b_kernel_size=conv_b_kernels[idx],
            conv_b_stride=(1, stage_spatial_h_stride[idx], stage_spatial_w_stride[idx]),
            conv_b_padding=conv_b_padding(conv_b_kernels[idx], dilations[idx]), conv_b_num_groups=stage_conv_b_num_groups[idx],
            conv_b_dilation=dilations[idx], norm=norm, activation=activation,
        ))
        dim_in, dim_out = dim_out, dim_out * 2
        if idx == 0 and stage1_pool is not None:
            blocks.append(stage1_pool(kernel_size=stage1_pool_kernel_size, stride=stage1_pool_kernel_size,
                                      padding=(0, 0, 0)))
    return blocks, dim_in


@builder
def create_resnet(
    *,
    input_channel: int = 3,
    model_depth: int = 50,
    model_num_class: int = 400,
    dropout_rate: float = 0.5,
    norm: Optional[Callable] = nn.BatchNorm3d,
    activation: Optional[Callable] = nn.ReLU,
    stem_dim_out: int = 64,
    stem_conv_kernel_size: Triple = (3, 7, 7),
    stem_conv_stride: Triple = (1, 2, 2),
    stem_pool: Optional[Callable] = nn.MaxPool3d,
    stem_pool_kernel_size: Triple = (1, 3, 3),
    stem_pool_stride: Triple = (1, 2, 2),
    stem: Callable = create_res_basic_stem,
    stage1_pool: Optional[Callable] = None,
    stage1_pool_kernel_size: Triple = (2, 1, 1),
    stage_conv_a_kernel_size: Union[Triple, PerStageNested] = ((1, 1, 1), (1, 1, 1), (3, 1, 1), (3, 1, 1)),
    stage_conv_b_kernel_size: Union[Triple, PerStage] = ((1, 3, 3), (1, 3, 3), (1, 3, 3), (1, 3, 3)),
    stage_conv_b_num_groups: Tuple[int, ...] = (1, 1, 1, 1),
    stage_conv_b_dilation: Union[Triple, PerStage] = ((1, 1, 1), (1, 1, 1), (1, 1, 1), (1, 1, 1)),
    stage_spatial_h_stride: Tuple[int, ...] = (1, 2, 2, 2),
    stage_spatial_w_stride: Tuple[int, ...] = (1, 2, 2, 2),
    stage_temporal_stride: Tuple[int, ...] = (1, 1, 1, 1),
    bottleneck: Union[Callable, Tuple[Callable, ...]] = create_bottleneck_block,
    head: Optional[Callable] = create_res_basic_head,
    head_pool: Optional[Callable] = nn.AvgPool3d,
    head_pool_kernel_size: Triple = (4, 7, 7),
    head_output_size: Triple = (1, 1, 1),
    head_activation: Optional[Callable] = None,
    head_output_with_global_average: bool = True,
) -> Node:
    """ResNet for video: stem, four residual stages (optionally a pool after the first), head."""
    blocks, dim = call_with(resnet_blocks, locals())
    if head is not None:
        blocks.append(call_with(head_node, locals(), pool_kernel_size=head_pool_kernel_size))
    return Node("Net", dict(blocks=blocks))



@builder(signature_of=create_resnet, drop=("head",), defaults=dict(
    input_channel=1, stem_conv_kernel_size=(9, 1, 9), stem_conv_stride=(1, 1, 3), stem_pool=None,
    stem_pool_kernel_size=(3, 1, 3), stem_pool_stride=(2, 1, 2), stem=create_acoustic_res_basic_stem,
    stage_conv_a_kernel_size=(3, 1, 1), stage_conv_b_kernel_size=(3, 1, 3), stage_conv_b_dilation=(1, 1, 1),
    stage_spatial_h_stride=(1, 1, 1, 1), stage_spatial_w_stride=(1, 2, 2, 2), stage_temporal_stride=(1, 2, 2, 2),
    bottleneck=(create_acoustic_bottleneck_block, create_acoustic_bottleneck_block,
                create_bottleneck_block, create_bottleneck_block),
    head_pool_kernel_size=(4, 1, 2),
))
def create_acoustic_resnet(**arguments: Any) -> Node:
    """ResNet for audio: ``create_resnet`` with acoustic defaults. The input is a log-mel
    spectrogram laid out as (batch, 1, time, 1, frequency); the stem and the first two stages
    convolve time and frequency separately (summed), the last two jointly."""
    return create_resnet.node(**arguments)  # the same arguments, only the defaults differ


def detection_network(blocks: list[Node], head: Node) -> Node:
    """A ``DetectionBBoxNetwork``: the backbone ``blocks`` as its ``model``, ``head`` pooling each box."""
    return Node("DetectionBBoxNetwork", dict(model=Node("Net", dict(blocks=blocks)), detection_head=head))


def roi_head_node(arguments: dict[str, Any], **head_kwargs: Any) -> Node:
    """``head_node`` for a detection builder's RoI head, given the builder's ``arguments`` (and
    ``dim``): its ``head_spatial_*`` settings under the names the head takes, plus ``head_kwargs``."""
    return call_with(head_node, arguments, resolution=arguments["head_spatial_resolution"],
                     spatial_scale=arguments["head_spatial_scale"], sampling_ratio=arguments["head_sampling_ratio"],
                     **head_kwargs)


@builder(signature_of=create_resnet, defaults=dict(
    model_num_class=80, stem_conv_kernel_size=(1, 7, 7),
    stage_conv_b_dilation=((1, 1, 1), (1, 1, 1), (1, 1, 1), (1, 2, 2)),
    stage_spatial_h_stride=(1, 2, 2, 1), stage_spatial_w_stride=(1, 2, 2, 1),
    head_pool_kernel_size=(4, 1, 1), head_activation=nn.Sigmoid, head_output_with_global_average=False,
))
def create_resnet_with_roi_head(
    *, head: Callable = create_res_roi_pooling_head,
    head_output_with_global_average,  # the base's last parameter: the RoI settings follow it
    head_spatial_resolution: Tuple[int, int] = (7, 7), head_spatial_scale: float = 1.0 / 16.0,
    head_sampling_ratio: int = 0, **backbone: Any,
) -> Node:
    """ResNet for detection (AVA): the ``create_resnet`` stem and stages (by default a dilated,
    stride-16 last stage) as ``model``, and an RoI ``head`` pooling each box. A
    ``DetectionBBoxNetwork``: inputs (clip, boxes)."""
    blocks, dim = call_with(resnet_blocks, backbone)
    detection_head = roi_head_node({**backbone, **locals()}, pool_kernel_size=backbone["head_pool_kernel_size"])
    return detection_network(blocks, detection_head)
