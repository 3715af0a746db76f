"""Heads: pooling, dropout, projection, activation and global averaging."""
from __future__ import annotations

from typing import Callable, Optional, Tuple

import torch
import torch.nn as nn

from graphspec.compiler.infer import Inference, ShapeError, TensorType
from graphspec.compiler.ir import Node
from graphspec.compiler.template import builder
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


def _basic_head_infer(node: Node, ctx: Inference, x: TensorType) -> TensorType:
    a = node.args
    x = ctx.run(a.get("pool"), x)
    x = ctx.run(a.get("dropout"), x)
    x = project_channels(ctx, a.get("proj"), x)
    x = ctx.run(a.get("activation"), x)
    return _global_average(ctx, a.get("output_pool"), x)


@register(infer=_basic_head_infer)
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
        if self.dropout is not None:
            x = self.dropout(x)
        if self.proj is not None:
            x = x.permute((0, 2, 3, 4, 1))
            x = self.proj(x)
            x = x.permute((0, 4, 1, 2, 3))
        if self.activation is not None:
            x = self.activation(x)
        if self.output_pool is not None:
            x = self.output_pool(x)
            x = x.view(x.shape[0], -1)
        return x


def head_activation(activation: Optional[Callable]) -> Optional[Node]:
    """Softmax normalises over classes (dim 1); other activations take no arguments."""
    if activation is None:
        return None
    return activation(dim=1) if activation.op == "Softmax" else activation()


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
    from graphspec.compiler.component import Component

    return Node(
        "ResNetBasicHead",
        dict(
            pool=head_pool(pool, output_size, pool_kernel_size, pool_stride, pool_padding),
            dropout=Component("Dropout")(p=dropout_rate) if dropout_rate > 0 else None,
            proj=Component("Linear")(in_features=in_features, out_features=out_features),
            activation=head_activation(activation),
            output_pool=Component("AdaptiveAvgPool3d")(output_size=1) if output_with_global_average else None,
        ),
    )
