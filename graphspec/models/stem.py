"""Stems: the first convolution (and pooling) of a network."""
from __future__ import annotations

import math
from typing import Any, Callable, Optional, Sequence, Tuple

import torch
import torch.nn as nn

from graphspec.compiler.component import Component
from graphspec.compiler.infer import Dim, Inference, ShapeError, TensorType
from graphspec.compiler.ir import Node
from graphspec.compiler.rules import sequential
from graphspec.compiler.template import builder
from graphspec.layers.convolutions import ConvReduce3D  # noqa: F401  (registers the op the acoustic stem uses)
from graphspec.registry import register

Triple = Tuple[int, int, int]


@register(infer=sequential("conv", "norm", "activation", "pool"))
class ResNetBasicStem(nn.Module):
    """Convolution, normalization, activation, then pooling; each optional."""

    def __init__(self, *, conv: Optional[nn.Module] = None, norm: Optional[nn.Module] = None,
                 activation: Optional[nn.Module] = None, pool: Optional[nn.Module] = None) -> None:
        super().__init__()
        self.conv, self.norm, self.activation, self.pool = conv, norm, activation, pool
        assert self.conv is not None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)
        if self.norm is not None:
            x = self.norm(x)
        if self.activation is not None:
            x = self.activation(x)
        if self.pool is not None:
            x = self.pool(x)
        return x


def optional(component: Optional[Callable], **kwargs) -> Optional[Node]:
    """``component(**kwargs)``, or None when the component is None (PyTorchVideo's idiom)."""
    return None if component is None else component(**kwargs)


def norm_node(norm: Optional[Callable], channels: int, eps: float, momentum: float) -> Optional[Node]:
    return optional(norm, num_features=channels, eps=eps, momentum=momentum)


def stem_node(conv: Node, *, out_channels: int, norm: Optional[Callable], norm_eps: float, norm_momentum: float,
              activation: Optional[Callable], pool: Optional[Callable] = None, pool_kernel_size=None,
              pool_stride=None, pool_padding=None) -> Node:
    """A ``ResNetBasicStem`` around ``conv``: norm -> activation -> optional pool."""
    return Node("ResNetBasicStem", dict(
        conv=conv,
        norm=norm_node(norm, out_channels, norm_eps, norm_momentum),
        activation=optional(activation),
        pool=optional(pool, kernel_size=pool_kernel_size, stride=pool_stride, padding=pool_padding),
    ))


@builder
def create_res_basic_stem(
    *,
    in_channels: int,
    out_channels: int,
    conv_kernel_size: Triple = (3, 7, 7),
    conv_stride: Triple = (1, 2, 2),
    conv_padding: Triple = (1, 3, 3),
    conv_bias: bool = False,
    conv: Callable = nn.Conv3d,
    pool: Optional[Callable] = nn.MaxPool3d,
    pool_kernel_size: Triple = (1, 3, 3),
    pool_stride: Triple = (1, 2, 2),
    pool_padding: Triple = (0, 1, 1),
    norm: Optional[Callable] = nn.BatchNorm3d,
    norm_eps: float = 1e-5,
    norm_momentum: float = 0.1,
    activation: Optional[Callable] = nn.ReLU,
) -> Node:
    """ResNet basic stem: Conv3d -> norm -> activation -> pool (see ``ResNetBasicStem``)."""
    return stem_node(
        conv(in_channels=in_channels, out_channels=out_channels, kernel_size=conv_kernel_size,
             stride=conv_stride, padding=conv_padding, bias=conv_bias),
        out_channels=out_channels, norm=norm, norm_eps=norm_eps, norm_momentum=norm_momentum,
        activation=activation, pool=pool, pool_kernel_size=pool_kernel_size, pool_stride=pool_stride,
        pool_padding=pool_padding,
    )


@builder(signature_of=create_res_basic_stem, drop=("conv",), defaults=dict(conv_stride=(1, 1, 1)))
def create_acoustic_res_basic_stem(
    *, in_channels, out_channels, conv_kernel_size, conv_stride, conv_padding, conv_bias, **stem_arguments: Any,
) -> Node:
    """Acoustic ResNet stem: a temporal (k_t x 1 x 1) and a spatial (1 x k_h x k_w) convolution
    in parallel, summed (``ConvReduce3D``; both take ``conv_stride``), then norm -> activation
    -> pool (a ``ResNetBasicStem``)."""
    (k_t, k_h, k_w), (p_t, p_h, p_w) = conv_kernel_size, conv_padding
    conv = Component("ConvReduce3D")(
        in_channels=in_channels, out_channels=out_channels,
        kernel_size=((k_t, 1, 1), (1, k_h, k_w)), stride=(conv_stride, conv_stride),
        padding=((p_t, 0, 0), (0, p_h, p_w)), bias=(conv_bias, conv_bias), reduction_method="sum",
    )
    return stem_node(conv, out_channels=out_channels, **stem_arguments)


# ---- patch embedding (vision transformers): a clip to a sequence of tokens --------------------
def _token_count(dims: Sequence[Dim]) -> Dim:
    """Number of tokens flattened from these dims; a product expression when one is symbolic."""
    if all(isinstance(d, int) for d in dims):
        return math.prod(dims)
    return "*".join(str(d) if isinstance(d, int) or d.isidentifier() else f"({d})" for d in dims)


def _patch_embed_infer(node: Node, ctx: Inference, x: TensorType) -> TensorType:
    x = ctx.run(node.args["patch_model"], x)
    if not isinstance(x, TensorType) or x.rank < 3:
        raise ShapeError(f"patch_model must give a (batch, channels, ...) tensor of 3 or more dims, got {x}",
                         "patch_model")
    return x.with_shape((x.shape[0], _token_count(x.shape[2:]), x.shape[1]))


@register(infer=_patch_embed_infer)
class PatchEmbed(nn.Module):
    """Patches to tokens: ``patch_model`` (e.g. a strided convolution) maps batch x C x (T) x H x W
    to batch x C' x (T') x H' x W', flattened to batch x (T'H'W') tokens x C'."""

    def __init__(self, *, patch_model: Optional[nn.Module] = None) -> None:
        super().__init__()
        self.patch_model = patch_model
        assert self.patch_model is not None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.patch_model(x).flatten(2).transpose(1, 2)


@builder
def create_conv_patch_embed(
    *,
    in_channels: int,
    out_channels: int,
    conv_kernel_size: Tuple[int, ...] = (1, 16, 16),
    conv_stride: Tuple[int, ...] = (1, 4, 4),
    conv_padding: Tuple[int, ...] = (1, 7, 7),
    conv_bias: bool = True,
    conv: Callable = nn.Conv3d,
) -> Node:
    """Convolutional patch embedding: ``conv`` (Conv3d, or Conv2d with 2-D sizes) then
    flatten to tokens (see ``PatchEmbed``)."""
    return Node("PatchEmbed", dict(patch_model=conv(
        in_channels=in_channels, out_channels=out_channels, kernel_size=conv_kernel_size,
        stride=conv_stride, padding=conv_padding, bias=conv_bias,
    )))
