"""Heads: pooling, dropout, projection, activation and global averaging."""
from __future__ import annotations

from typing import Callable, Literal, Optional, Tuple

import torch
import torch.nn as nn

from graphspec.compiler.component import Component
from graphspec.compiler.dataflow import Prefix
from graphspec.compiler.infer import Inference, ShapeError, TensorType
from graphspec.compiler.ir import Node
from graphspec.compiler.rules import sequential
from graphspec.compiler.template import builder
from graphspec.layers.roi_align import RoIAlign
from graphspec.registry import register

from .stem import optional

Triple = Tuple[int, int, int]


def _channels_last(x: TensorType) -> TensorType:
    return x.with_shape((x.shape[0], *x.shape[2:], x.shape[1]))


def _channels_first(x: TensorType) -> TensorType:
    return x.with_shape((x.shape[0], x.shape[-1], *x.shape[1:-1]))


def _global_average(ctx: Inference, output_pool: Optional[Node], x: TensorType) -> TensorType:
    if output_pool is None:
        return x
    x = ctx.run(output_pool, x)
    rest = x.shape[1:]
    if not all(isinstance(d, int) for d in rest):
        raise ShapeError(f"cannot flatten symbolic dims {list(rest)} after output_pool")
    size = 1
    for d in rest:
        size *= d
    return x.with_shape((x.shape[0], size))


def project_channels(ctx: Inference, proj: Optional[Node], x: TensorType) -> TensorType:
    """The head's projection: a linear layer over channels (channels moved last and back)."""
    if proj is None:
        return x
    if x.rank < 3:
        return ctx.run(proj, x)
    return _channels_first(ctx.run(proj, _channels_last(x)))


def _classify_infer(node: Node, ctx: Inference, x: TensorType) -> TensorType:
    """Shape rule of the heads' common tail: dropout -> projection -> activation -> average."""
    a = node.args
    x = ctx.run(a.get("dropout"), x)
    x = project_channels(ctx, a.get("proj"), x)
    x = ctx.run(a.get("activation"), x)
    return _global_average(ctx, a.get("output_pool"), x)


def _classify(head: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The heads' common tail: dropout -> linear over channels -> activation -> global average."""
    if head.dropout is not None:
        x = head.dropout(x)
    if head.proj is not None:
        x = head.proj(x.permute((0, 2, 3, 4, 1))).permute((0, 4, 1, 2, 3))
    if head.activation is not None:
        x = head.activation(x)
    if head.output_pool is not None:
        x = head.output_pool(x)
        x = x.view(x.shape[0], -1)
    return x


@register(infer=Prefix(("pool",), rest=_classify_infer))
class ResNetBasicHead(nn.Module):
    """Optional pool and dropout, a linear projection over channels, optional activation and
    an optional global average (output ``batch x classes``)."""

    def __init__(self, pool: Optional[nn.Module] = None, dropout: Optional[nn.Module] = None,
                 proj: Optional[nn.Module] = None, activation: Optional[nn.Module] = None,
                 output_pool: Optional[nn.Module] = None) -> None:
        super().__init__()
        self.pool, self.dropout, self.proj = pool, dropout, proj
        self.activation, self.output_pool = activation, output_pool
        assert self.proj is not None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.pool is not None:
            x = self.pool(x)
        return _classify(self, x)


def head_activation(activation: Optional[Callable]) -> Optional[Node]:
    """Softmax normalises over classes (dim 1); other activations take no arguments."""
    if activation is None:
        return None
    return activation(dim=1) if activation.op == "Softmax" else activation()


def classifier_nodes(*, in_features: int, out_features: int, dropout_rate: float,
                     activation: Optional[Callable]) -> dict[str, Optional[Node]]:
    """The heads' dropout (none at rate 0), linear projection and activation."""
    return dict(
        dropout=Component("Dropout")(p=dropout_rate) if dropout_rate > 0 else None,
        proj=Component("Linear")(in_features=in_features, out_features=out_features),
        activation=head_activation(activation),
    )


def global_average_node(enabled: bool) -> Optional[Node]:
    """The heads' final global average over time and space (flattened to batch x classes)."""
    return Component("AdaptiveAvgPool3d")(output_size=1) if enabled else None


def head_pool(pool: Optional[Callable], output_size, kernel_size, stride, padding) -> Optional[Node]:
    """Adaptive pools take an output size, the others a window."""
    if pool is None:
        return None
    if pool.op.startswith("Adaptive"):
        return pool(output_size=output_size)
    return pool(kernel_size=kernel_size, stride=stride, padding=padding)


@builder
def create_res_basic_head(
    *,
    in_features: int,
    out_features: int,
    pool: Optional[Callable] = nn.AvgPool3d,
    output_size: Triple = (1, 1, 1),
    pool_kernel_size: Triple = (1, 7, 7),
    pool_stride: Triple = (1, 1, 1),
    pool_padding: Triple = (0, 0, 0),
    dropout_rate: float = 0.5,
    activation: Optional[Callable] = None,
    output_with_global_average: bool = True,
) -> Node:
    """ResNet basic head: pool -> dropout -> linear -> activation -> global average."""
    return Node("ResNetBasicHead", dict(
        pool=head_pool(pool, output_size, pool_kernel_size, pool_stride, pool_padding),
        **classifier_nodes(in_features=in_features, out_features=out_features, dropout_rate=dropout_rate,
                           activation=activation),
        output_pool=global_average_node(output_with_global_average),
    ))


def _roi_head_infer(node: Node, ctx: Inference, x: TensorType, bboxes: TensorType) -> TensorType:
    a = node.args
    x = ctx.run(a.get("pool"), x)
    if a.get("roi_layer") is not None:
        if x.rank != 5:
            raise ShapeError(f"expects a 5-D (N, C, T, H, W) input before the RoI layer, got {x.rank}-D {x}")
        if x.shape[2] != 1:
            raise ShapeError(f"the temporal dim must be 1 before the RoI layer, got {x.shape[2]} "
                             "(pool it away with the head's or the pathways' pool)", "pool")
        x = ctx.run(a["roi_layer"], x.with_shape((*x.shape[:2], *x.shape[3:])), bboxes)
        x = ctx.run(a.get("pool_spatial"), x)
        x = x.with_shape((*x.shape[:2], 1, *x.shape[2:]))
    return _classify_infer(node, ctx, x)


@register(infer=_roi_head_infer)
class ResNetRoIHead(nn.Module):
    """``ResNetBasicHead`` with an RoI layer: optional 3D pool (to one frame), RoI pooling of each
    box (``bboxes``: K x 5, batch index then x1, y1, x2, y2), optional 2D pool, dropout, linear
    projection over channels, activation and optional global average. One row per box."""

    def __init__(self, pool: Optional[nn.Module] = None, pool_spatial: Optional[nn.Module] = None,
                 roi_layer: Optional[nn.Module] = None, dropout: Optional[nn.Module] = None,
                 proj: Optional[nn.Module] = None, activation: Optional[nn.Module] = None,
                 output_pool: Optional[nn.Module] = None) -> None:
        super().__init__()
        self.pool, self.pool_spatial, self.roi_layer = pool, pool_spatial, roi_layer
        self.dropout, self.proj, self.activation, self.output_pool = dropout, proj, activation, output_pool

    def forward(self, x: torch.Tensor, bboxes: torch.Tensor) -> torch.Tensor:
        if self.pool is not None:
            x = self.pool(x)
        if self.roi_layer is not None:
            if x.shape[-3] != 1:
                raise ValueError(f"the temporal dim must be 1 before the RoI layer, got {x.shape[-3]}; "
                                 "pool it away first")
            x = self.roi_layer(x.squeeze(-3), bboxes)
            if self.pool_spatial is not None:
                x = self.pool_spatial(x)
            x = x.unsqueeze(-3)
        return _classify(self, x)


@builder
def create_res_roi_pooling_head(
    *,
    in_features: int,
    out_features: int,
    resolution: Tuple[int, int],
    spatial_scale: float,
    sampling_ratio: int = 0,
    roi: Optional[Callable] = RoIAlign,
    pool: Optional[Callable] = nn.AvgPool3d,
    output_size: Triple = (1, 1, 1),
    pool_kernel_size: Triple = (1, 7, 7),
    pool_stride: Triple = (1, 1, 1),
    pool_padding: Triple = (0, 0, 0),
    pool_spatial: Optional[Callable] = nn.MaxPool2d,
    dropout_rate: float = 0.5,
    activation: Optional[Callable] = None,
    output_with_global_average: bool = True,
) -> Node:
    """ResNet RoI head: pool -> RoI align (``resolution`` bins, boxes scaled by ``spatial_scale``)
    -> 2D pool over the bins -> dropout -> linear -> activation -> global average."""
    return Node("ResNetRoIHead", dict(
        pool=head_pool(pool, output_size, pool_kernel_size, pool_stride, pool_padding),
        pool_spatial=optional(pool_spatial, kernel_size=resolution, stride=1),
        # these three arguments only, as PyTorchVideo: the RoI class keeps its own defaults (aligned=False)
        roi_layer=optional(roi, output_size=resolution, spatial_scale=spatial_scale, sampling_ratio=sampling_ratio),
        **classifier_nodes(in_features=in_features, out_features=out_features, dropout_rate=dropout_rate,
                           activation=activation),
        output_pool=global_average_node(output_with_global_average),
    ))


# ---- vision transformer head: tokens (batch, tokens, channels) in ----------------------------
def _sequence_pool_infer(node: Node, ctx: Inference, x: TensorType) -> TensorType:
    if not isinstance(x, TensorType) or x.rank != 3:
        got = f"{x.rank}-D {x}" if isinstance(x, TensorType) else f"a list of {len(x)} tensors"
        raise ShapeError(f"SequencePool expects a 3-D (batch, tokens, channels) input, got {got}")
    tokens = x.shape[1]
    if isinstance(tokens, int) and tokens < 1:
        raise ShapeError(f"SequencePool needs at least one token, got {tokens}")
    return x.with_shape((x.shape[0], x.shape[2]))


@register(infer=_sequence_pool_infer, arg_types={"mode": Literal["cls", "mean"]})
class SequencePool(nn.Module):
    """One embedding from a sequence of token embeddings (batch x tokens x channels):
    ``"cls"`` takes the class token (token 0), ``"mean"`` averages all tokens (PyTorchVideo's ``x.mean(1)``)."""

    def __init__(self, mode: str) -> None:
        super().__init__()
        if mode not in ("cls", "mean"):
            raise ValueError(f"SequencePool mode must be 'cls' or 'mean', got {mode!r}")
        self.mode = mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, 0] if self.mode == "cls" else x.mean(1)


@register(infer=sequential("sequence_pool", "dropout", "proj", "activation"))
class VisionTransformerBasicHead(nn.Module):
    """Optional sequence pool and dropout, a linear projection (over the last dim), optional
    activation. With a pool: batch x tokens x channels -> batch x classes."""

    def __init__(self, sequence_pool: Optional[nn.Module] = None, dropout: Optional[nn.Module] = None,
                 proj: Optional[nn.Module] = None, activation: Optional[nn.Module] = None) -> None:
        super().__init__()
        self.sequence_pool, self.dropout, self.proj, self.activation = sequence_pool, dropout, proj, activation
        assert self.proj is not None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.sequence_pool is not None:
            x = self.sequence_pool(x)
        if self.dropout is not None:
            x = self.dropout(x)
        x = self.proj(x)
        if self.activation is not None:
            x = self.activation(x)
        return x


@builder(arg_types={"seq_pool_type": Literal["cls", "mean", "none"]})
def create_vit_basic_head(
    *,
    in_features: int,
    out_features: int,
    seq_pool_type: str = "cls",
    dropout_rate: float = 0.5,
    activation: Optional[Callable] = None,
) -> Node:
    """Vision transformer head: sequence pool (``"cls"``, ``"mean"`` or ``"none"``) -> dropout
    -> linear -> activation."""
    return Node("VisionTransformerBasicHead", dict(
        sequence_pool=None if seq_pool_type == "none" else Component("SequencePool")(mode=seq_pool_type),
        **classifier_nodes(in_features=in_features, out_features=out_features, dropout_rate=dropout_rate,
                           activation=activation),
    ))
