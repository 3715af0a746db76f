"""SlowFast (Feichtenhofer et al., https://arxiv.org/abs/1812.03982): a slow pathway at a low frame
rate and a light fast pathway at a high one, with lateral fast->slow fusions after the stem and
every stage; ``create_slowfast`` for recognition, ``create_slowfast_with_roi_head`` for detection."""
from __future__ import annotations

import functools
import inspect
from typing import Any, Callable, List, Optional, Tuple, Union

import torch
import torch.nn as nn

from graphspec.compiler.component import Component, as_component
from graphspec.compiler.infer import Inference, ShapeError, TensorType
from graphspec.compiler.ir import Node
from graphspec.compiler.template import builder, call_with
from graphspec.registry import register

from .head import create_res_basic_head, create_res_roi_pooling_head
from .head import head_pool as head_pool_node
from .resnet import (
    conv_b_padding, create_bottleneck_block, create_res_stage, detection_network, entries, half, head_node,
    roi_head_node, same_padded_stem, stage_depths,
)
from .stem import create_res_basic_stem, norm_node, optional

Triple = Tuple[int, int, int]
PerPathway = Tuple[Triple, ...]
#: per pathway, per stage: one kernel for all blocks, or one kernel per block
PerPathwayStageNested = Tuple[Tuple[Union[Triple, Tuple[Triple, ...]], ...], ...]
PerPathwayStage = Tuple[Tuple[Triple, ...], ...]
PerPathwayStageInt = Tuple[Tuple[int, ...], ...]

# Depth 18 is a one-block-per-stage SlowFast (PyTorchVideo's table), not the 2-2-2-2 ResNet-18.
_MODEL_STAGE_DEPTH = {18: (1, 1, 1, 1), 50: (3, 4, 6, 3), 101: (3, 4, 23, 3), 152: (3, 8, 36, 3)}


# ---- modules ----------------------------------------------------------------------------------
def _pathways(node: Node, xs: Any, count: int | None = None) -> list[TensorType]:
    if not isinstance(xs, list) or not all(isinstance(x, TensorType) for x in xs):
        raise ShapeError(f"{node.op} takes a list of pathway tensors, got {xs}")
    if count is not None and len(xs) != count:
        raise ShapeError(f"{node.op} takes {count} pathways, got {len(xs)}")
    return xs


def _same_except(dim: int, a: TensorType, b: TensorType) -> bool:
    if a.rank != b.rank:
        return False
    dim %= a.rank
    return all(i == dim or x == y for i, (x, y) in enumerate(zip(a.shape, b.shape)))


def _pool_concat_infer(node: Node, ctx: Inference, xs: Any) -> Any:
    xs = _pathways(node, xs)
    pools = node.args.get("pool")
    if pools is not None and len(pools) != len(xs):
        raise ShapeError(f"{len(pools)} pools for {len(xs)} pathways", "pool")
    outs = [ctx.run(pools[i], x) if pools is not None else x for i, x in enumerate(xs)]
    dim = node.args.get("dim", 1)
    for i, out in enumerate(outs[1:], start=1):
        if not _same_except(dim, out, outs[0]):
            raise ShapeError(f"pathway {i} is {out} after pooling, pathway 0 is {outs[0]}: they must agree "
                             f"except in dim {dim} (pool windows must match each pathway's clip length)", "pool")
    dim %= outs[0].rank
    sizes = [out.shape[dim] for out in outs]
    if not all(isinstance(s, int) for s in sizes):
        raise ShapeError(f"cannot concatenate along symbolic dim {dim} ({sizes})", "dim")
    out = outs[0].with_shape((*outs[0].shape[:dim], sum(sizes), *outs[0].shape[dim + 1:]))
    return [out] if node.args.get("retain_list", False) else out


@register(infer=_pool_concat_infer, call="list")
class PoolConcatPathway(nn.Module):
    """Pool each pathway (``pool[i]`` on pathway ``i``, when given) and concatenate the results
    along ``dim``; with ``retain_list`` the result is returned as a one-element list."""

    def __init__(self, retain_list: bool = False, pool: Optional[nn.ModuleList] = None, dim: int = 1) -> None:
        super().__init__()
        self.retain_list, self.pool, self.dim = retain_list, pool, dim

    def forward(self, x: List[torch.Tensor]) -> Union[torch.Tensor, List[torch.Tensor]]:
        if self.pool is not None:
            if len(x) != len(self.pool):
                raise ValueError(f"expected {len(self.pool)} pathways, got {len(x)}")
            x = [pool(t) if t is not None and pool is not None else t for pool, t in zip(self.pool, x)]
        out = torch.cat([t for t in x if t is not None], dim=self.dim)
        return [out] if self.retain_list else out


def _fuse_fast_to_slow_infer(node: Node, ctx: Inference, xs: Any) -> list:
    slow, fast = _pathways(node, xs, 2)
    conv = node.args["conv_fast_to_slow"]
    takes = conv.args.get("in_channels") if isinstance(conv, Node) else None
    if isinstance(takes, int) and isinstance(fast.shape[1], int) and fast.shape[1] != takes:
        raise ShapeError(f"the fast pathway has {fast.shape[1]} channels, conv_fast_to_slow takes {takes} "
                         "(fusion_dim_in // slowfast_channel_reduction_ratio must be the fast width)",
                         "conv_fast_to_slow")
    fused = fast
    for key in ("conv_fast_to_slow", "norm", "activation"):
        fused = ctx.run(node.args.get(key), fused)
    if not _same_except(1, fused, slow):
        raise ShapeError(f"fast->slow features {fused} do not match the slow pathway {slow} outside the channel "
                         "dim (the fusion conv's temporal stride must be the fast/slow frame-rate ratio alpha)",
                         "conv_fast_to_slow")
    channels = slow.shape[1] + fused.shape[1] if isinstance(slow.shape[1], int) else slow.shape[1]
    # Set by create_slowfast: the slow channels the next stage was built for.
    expected = node.meta.get("slow_channels_out")
    if expected is not None and isinstance(channels, int) and channels != expected:
        raise ShapeError(f"fusion gives the slow pathway {slow.shape[1]} + {fused.shape[1]} = {channels} channels, "
                         f"the next slow stage takes {expected} (slowfast_conv_channel_fusion_ratio and "
                         "slowfast_channel_reduction_ratio disagree with the fusion conv)", "conv_fast_to_slow")
    return [slow.with_shape((slow.shape[0], channels, *slow.shape[2:])), fast]


@register(infer=_fuse_fast_to_slow_infer, call="list")
class FuseFastToSlow(nn.Module):
    """Lateral connection: ``conv_fast_to_slow`` (+ norm, activation) maps the fast pathway to the
    slow one's frame rate; the result is concatenated to the slow features. Returns [slow, fast]."""

    def __init__(self, conv_fast_to_slow: nn.Module, norm: Optional[nn.Module] = None,
                 activation: Optional[nn.Module] = None) -> None:
        super().__init__()
        self.conv_fast_to_slow, self.norm, self.activation = conv_fast_to_slow, norm, activation

    def forward(self, x: List[torch.Tensor]) -> List[torch.Tensor]:
        slow, fast = x[0], x[1]
        fused = self.conv_fast_to_slow(fast)
        if self.norm is not None:
            fused = self.norm(fused)
        if self.activation is not None:
            fused = self.activation(fused)
        return [torch.cat([slow, fused], dim=1), fast]


# ---- fusion builder ---------------------------------------------------------------------------
@builder(name="FastToSlowFusionBuilder")
def _fast_to_slow_fusion(
    *,
    fusion_dim_in: int,
    stage_idx: int,
    slowfast_channel_reduction_ratio: int,
    conv_fusion_channel_ratio: float,
    conv_kernel_size: Triple,
    conv_stride: Triple,
    norm: Optional[Callable] = nn.BatchNorm3d,
    norm_eps: float = 1e-5,
    norm_momentum: float = 0.1,
    activation: Optional[Callable] = nn.ReLU,
    max_stage_idx: int = 3,
) -> Node:
    """``FastToSlowFusionBuilder(...).create_module(fusion_dim_in, stage_idx)`` as an op: the
    component is preset with the builder's settings, a template completes the call. After the
    last stage (``stage_idx > max_stage_idx``) there is nothing to fuse: an Identity."""
    if stage_idx > max_stage_idx:
        return Component("Identity")()
    conv_dim_in = fusion_dim_in // slowfast_channel_reduction_ratio
    conv_dim_out = int(conv_dim_in * conv_fusion_channel_ratio)
    return Node("FuseFastToSlow", dict(
        conv_fast_to_slow=Component("Conv3d")(in_channels=conv_dim_in, out_channels=conv_dim_out,
                                              kernel_size=conv_kernel_size, stride=conv_stride,
                                              padding=half(conv_kernel_size), bias=False),
        norm=norm_node(norm, conv_dim_out, norm_eps, norm_momentum),
        activation=optional(activation),
    ))


class _PresetFusion(functools.partial):
    """``create_module`` of a ``FastToSlowFusionBuilder``: a preset of the registered op (so a
    builder given it still expands statically) that also takes PyTorchVideo's positional call."""

    def __call__(self, fusion_dim_in: int, stage_idx: int) -> nn.Module:
        return super().__call__(fusion_dim_in=fusion_dim_in, stage_idx=stage_idx)


class FastToSlowFusionBuilder:
    """Builds the fast->slow fusion of each stage: ``create_module(fusion_dim_in, stage_idx)``
    returns a ``FuseFastToSlow`` (Conv3d from the fast width ``fusion_dim_in //
    slowfast_channel_reduction_ratio`` to ``conv_fusion_channel_ratio`` times that, norm,
    activation), or ``nn.Identity`` after the last stage. In YAML, write
    ``fusion_builder: {op: FastToSlowFusionBuilder, slowfast_channel_reduction_ratio: 8, ...}``."""

    def __init__(self, slowfast_channel_reduction_ratio: int, conv_fusion_channel_ratio: float,
                 conv_kernel_size: Tuple[int], conv_stride: Tuple[int], norm: Callable = nn.BatchNorm3d,
                 norm_eps: float = 1e-5, norm_momentum: float = 0.1, activation: Callable = nn.ReLU,
                 max_stage_idx: int = 3) -> None:
        self.slowfast_channel_reduction_ratio = slowfast_channel_reduction_ratio
        self.conv_fusion_channel_ratio = conv_fusion_channel_ratio
        self.conv_kernel_size, self.conv_stride = conv_kernel_size, conv_stride
        self.norm, self.norm_eps, self.norm_momentum = norm, norm_eps, norm_momentum
        self.activation, self.max_stage_idx = activation, max_stage_idx

    @property
    def create_module(self) -> Callable[[int, int], nn.Module]:
        settings = inspect.signature(FastToSlowFusionBuilder.__init__).parameters
        return _PresetFusion(_fast_to_slow_fusion, **{k: getattr(self, k) for k in settings if k != "self"})


# ---- builders ---------------------------------------------------------------------------------
def _per_pathway(name: str, value: Any, pathways: int) -> list:
    return entries(name, value, pathways, "pathways")


def _bottleneck_grid(bottleneck: Any, pathways: int, stages: int) -> list[list[Component]]:
    """``bottleneck`` as [pathway][stage] components: one callable for all, or PyTorchVideo's
    nested per-pathway, per-stage tuples (plain data here: the registry checks one list level)."""
    if not isinstance(bottleneck, (list, tuple)):
        return [[as_component(bottleneck, ("bottleneck",))] * stages] * pathways
    grid = _per_pathway("bottleneck", bottleneck, pathways)
    out = []
    for p, row in enumerate(grid):
        row = entries(f"bottleneck[{p}]", row if isinstance(row, (list, tuple)) else [row] * stages, stages)
        out.append([as_component(b, ("bottleneck", p, s)) for s, b in enumerate(row)])
    return out


def slowfast_blocks(
    *, slowfast_channel_reduction_ratio, slowfast_conv_channel_fusion_ratio, slowfast_fusion_conv_kernel_size,
    slowfast_fusion_conv_stride, fusion_builder, input_channels, model_depth, norm, activation, stem_function,
    stem_dim_outs, stem_conv_kernel_sizes, stem_conv_strides, stem_pool, stem_pool_kernel_sizes, stem_pool_strides,
    stage_conv_a_kernel_sizes, stage_conv_b_kernel_sizes, stage_conv_b_num_groups, stage_conv_b_dilations,
    stage_spatial_strides, stage_temporal_strides, bottleneck, head_pool, head_pool_kernel_sizes, head_output_size,
) -> tuple[list[Node], int]:
    """Stems and stages as ``MultiPathWayWithFuse`` blocks (each followed by its fast->slow
    fusion), then the ``PoolConcatPathway`` that pools and joins the pathways; shared by the
    recognition and detection builders. Returns the blocks and the joined channel count."""
    depths = stage_depths(model_depth, _MODEL_STAGE_DEPTH)
    pathways = len(input_channels)
    ratios = (slowfast_channel_reduction_ratio,) if isinstance(slowfast_channel_reduction_ratio, int) \
        else tuple(slowfast_channel_reduction_ratio)
    if len(ratios) != pathways - 1:
        raise ValueError(f"slowfast_channel_reduction_ratio has {len(ratios)} entries, one per fast pathway "
                         f"({pathways - 1}) is needed")
    stem_pools = stem_pool if isinstance(stem_pool, (list, tuple)) else [stem_pool] * pathways
    per_pathway = {name: _per_pathway(name, value, pathways) for name, value in dict(
        stem_function=stem_function, stem_dim_outs=stem_dim_outs, stem_conv_kernel_sizes=stem_conv_kernel_sizes,
        stem_conv_strides=stem_conv_strides, stem_pool=stem_pools, stem_pool_kernel_sizes=stem_pool_kernel_sizes,
        stem_pool_strides=stem_pool_strides, stage_conv_a_kernel_sizes=stage_conv_a_kernel_sizes,
        stage_conv_b_kernel_sizes=stage_conv_b_kernel_sizes, stage_conv_b_num_groups=stage_conv_b_num_groups,
        stage_conv_b_dilations=stage_conv_b_dilations, stage_spatial_strides=stage_spatial_strides,
        stage_temporal_strides=stage_temporal_strides,
    ).items()}
    for name in ("stage_conv_a_kernel_sizes", "stage_conv_b_kernel_sizes", "stage_conv_b_num_groups",
                 "stage_conv_b_dilations", "stage_spatial_strides", "stage_temporal_strides"):
        for p, row in enumerate(per_pathway[name]):
            entries(f"{name}[{p}]", row, len(depths))
    bottlenecks = _bottleneck_grid(bottleneck, pathways, len(depths))
    if fusion_builder is None:
        fusion_builder = Component("FastToSlowFusionBuilder", dict(
            slowfast_channel_reduction_ratio=ratios[0], conv_fusion_channel_ratio=slowfast_conv_channel_fusion_ratio,
            conv_kernel_size=slowfast_fusion_conv_kernel_size, conv_stride=slowfast_fusion_conv_stride,
            norm=norm, activation=activation, max_stage_idx=len(depths) - 1,
        ))

    def widths(dim: int) -> list[int]:
        """Channels of each pathway at a stage boundary where the slow pathway has ``dim``
        before fusion; the slow one also gets the fused fast features."""
        return [dim + dim * slowfast_conv_channel_fusion_ratio // ratios[0], *(dim // r for r in ratios)]

    def fused(pathway_blocks: list[Node], fusion_dim_in: int, stage_idx: int) -> Node:
        fusion = fusion_builder(fusion_dim_in=fusion_dim_in, stage_idx=stage_idx)
        if fusion.op == "FuseFastToSlow" and stage_idx < len(depths):
            fusion.meta["slow_channels_out"] = widths(fusion_dim_in)[0]  # checked statically by the fusion
        return Node("MultiPathWayWithFuse", dict(multipathway_blocks=pathway_blocks, multipathway_fusion=fusion))

    stems = []
    for p in range(pathways):
        stems.append(same_padded_stem(
            per_pathway["stem_function"][p], in_channels=input_channels[p],
            out_channels=per_pathway["stem_dim_outs"][p], conv_kernel_size=per_pathway["stem_conv_kernel_sizes"][p],
            conv_stride=per_pathway["stem_conv_strides"][p], pool=per_pathway["stem_pool"][p],
            pool_kernel_size=per_pathway["stem_pool_kernel_sizes"][p], pool_stride=per_pathway["stem_pool_strides"][p],
            norm=norm, activation=activation,
        ))
    blocks = [fused(stems, stem_dim_outs[0], 0)]

    dim_in, dim_out = stem_dim_outs[0], stem_dim_outs[0] * 4
    for idx, depth in enumerate(depths):
        ins, outs = widths(dim_in), [dim_out, *(dim_out // r for r in ratios)]
        stage = []
        for p in range(pathways):
            conv_a_kernel = per_pathway["stage_conv_a_kernel_sizes"][p][idx]
            conv_b_kernel = per_pathway["stage_conv_b_kernel_sizes"][p][idx]
            dilation = per_pathway["stage_conv_b_dilations"][p][idx]
            spatial_stride = per_pathway["stage_spatial_strides"][p][idx]
            stage.append(create_res_stage.node(
                depth=depth, dim_in=ins[p], dim_inner=outs[p] // 4, dim_out=outs[p],
                bottleneck=bottlenecks[p][idx], conv_a_kernel_size=conv_a_kernel,
                conv_a_stride=(per_pathway["stage_temporal_strides"][p][idx], 1, 1),
                conv_a_padding=half(conv_a_kernel), conv_b_kernel_size=conv_b_kernel,
                conv_b_stride=(1, spatial_stride, spatial_stride),
                conv_b_padding=conv_b_padding(conv_b_kernel, dilation),
                conv_b_num_groups=per_pathway["stage_conv_b_num_groups"][p][idx], conv_b_dilation=dilation,
                norm=norm, activation=activation,
            ))
        blocks.append(fused(stage, dim_out, idx + 1))
        dim_in, dim_out = dim_out, dim_out * 2

    pools = None
    if head_pool is not None:
        kernels = _per_pathway("head_pool_kernel_sizes", head_pool_kernel_sizes, pathways)
        pools = [head_pool_node(head_pool, head_output_size, kernels[p], (1, 1, 1), (0, 0, 0)) for p in range(pathways)]
    blocks.append(Node("PoolConcatPathway", dict(retain_list=False, pool=pools)))
    return blocks, dim_in + sum(dim_in // r for r in ratios)


_FOUR_BOTTLENECKS = (create_bottleneck_block,) * 4


@builder(arg_types={"bottleneck": Any})
def create_slowfast(
    *,
    slowfast_channel_reduction_ratio: Union[int, Tuple[int, ...]] = (8,),
    slowfast_conv_channel_fusion_ratio: int = 2,
    slowfast_fusion_conv_kernel_size: Triple = (7, 1, 1),  # deprecated in PyTorchVideo: use fusion_builder
    slowfast_fusion_conv_stride: Triple = (4, 1, 1),  # deprecated in PyTorchVideo: use fusion_builder
    fusion_builder: Optional[Callable] = None,
    input_channels: Tuple[int, ...] = (3, 3),
    model_depth: int = 50,
    model_num_class: int = 400,
    dropout_rate: float = 0.5,
    norm: Optional[Callable] = nn.BatchNorm3d,
    activation: Optional[Callable] = nn.ReLU,
    stem_function: Tuple[Callable, ...] = (create_res_basic_stem, create_res_basic_stem),
    stem_dim_outs: Tuple[int, ...] = (64, 8),
    stem_conv_kernel_sizes: PerPathway = ((1, 7, 7), (5, 7, 7)),
    stem_conv_strides: PerPathway = ((1, 2, 2), (1, 2, 2)),
    stem_pool: Union[Callable, Tuple[Optional[Callable], ...]] = (nn.MaxPool3d, nn.MaxPool3d),
    stem_pool_kernel_sizes: PerPathway = ((1, 3, 3), (1, 3, 3)),
    stem_pool_strides: PerPathway = ((1, 2, 2), (1, 2, 2)),
    stage_conv_a_kernel_sizes: PerPathwayStageNested = (
        ((1, 1, 1), (1, 1, 1), (3, 1, 1), (3, 1, 1)),
        ((3, 1, 1), (3, 1, 1), (3, 1, 1), (3, 1, 1)),
    ),
    stage_conv_b_kernel_sizes: PerPathwayStage = (
        ((1, 3, 3), (1, 3, 3), (1, 3, 3), (1, 3, 3)),
        ((1, 3, 3), (1, 3, 3), (1, 3, 3), (1, 3, 3)),
    ),
    stage_conv_b_num_groups: PerPathwayStageInt = ((1, 1, 1, 1), (1, 1, 1, 1)),
    stage_conv_b_dilations: PerPathwayStage = (
        ((1, 1, 1), (1, 1, 1), (1, 1, 1), (1, 1, 1)),
        ((1, 1, 1), (1, 1, 1), (1, 1, 1), (1, 1, 1)),
    ),
    stage_spatial_strides: PerPathwayStageInt = ((1, 2, 2, 2), (1, 2, 2, 2)),
    stage_temporal_strides: PerPathwayStageInt = ((1, 1, 1, 1), (1, 1, 1, 1)),
    bottleneck: Union[Callable, Tuple[Tuple[Callable, ...], ...]] = (_FOUR_BOTTLENECKS, _FOUR_BOTTLENECKS),
    head: Optional[Callable] = create_res_basic_head,
    head_pool: Optional[Callable] = nn.AvgPool3d,
    head_pool_kernel_sizes: PerPathway = ((8, 7, 7), (32, 7, 7)),
    head_output_size: Triple = (1, 1, 1),
    head_activation: Optional[Callable] = None,
    head_output_with_global_average: bool = True,
) -> Node:
    """SlowFast for recognition: per-pathway stems and four residual stages, each followed by a
    fast->slow fusion (``fusion_builder``, by default ``FastToSlowFusionBuilder`` from the
    slowfast_* settings); the pathways are pooled (``head_pool``, one window per pathway) and
    concatenated, then ``head`` (called with ``pool=None``) classifies. Inputs: [slow, fast]."""
    blocks, dim = call_with(slowfast_blocks, locals())
    if head is not None:
        blocks.append(call_with(head_node, dict(locals(), head_pool=None)))  # the pathways are pooled already
    return Node("Net", dict(blocks=blocks))


@builder(arg_types={"bottleneck": Any}, signature_of=create_slowfast, defaults=dict(
    model_num_class=80,
    stage_conv_b_dilations=(((1, 1, 1), (1, 1, 1), (1, 1, 1), (1, 2, 2)), ((1, 1, 1), (1, 1, 1), (1, 1, 1), (1, 2, 2))),
    stage_spatial_strides=((1, 2, 2, 1), (1, 2, 2, 1)), head_pool_kernel_sizes=((8, 1, 1), (32, 1, 1)),
    head_activation=nn.Sigmoid, head_output_with_global_average=False,
))
def create_slowfast_with_roi_head(
    *, head: Callable = create_res_roi_pooling_head,
    head_output_with_global_average,  # the base's last parameter: the RoI settings follow it
    head_spatial_resolution: Tuple[int, int] = (7, 7), head_spatial_scale: float = 1.0 / 16.0,
    head_sampling_ratio: int = 0, **backbone: Any,
) -> Node:
    """SlowFast for detection (AVA): the ``create_slowfast`` backbone with a dilated, stride-16
    last stage and temporal-only head pooling, followed by ``head`` (an RoI head, called with
    ``pool=None``) that pools each box. A ``DetectionBBoxNetwork``: inputs ([slow, fast], boxes)."""
    blocks, dim = call_with(slowfast_blocks, backbone)
    detection_head = roi_head_node({**backbone, **locals(), "head_pool": None})  # the pathways are pooled already
    return detection_network(blocks, detection_head)
