"""Stems: the first convolution (and pooling) of a network."""
from __future__ import annotations

from typing import Callable, Optional, Tuple

import torch
import torch.nn as nn

from graphspec.compiler.ir import Node
from graphspec.compiler.rules import sequential
from graphspec.compiler.template import builder
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
    return Node(
        "ResNetBasicStem",
        dict(
            conv=conv(in_channels=in_channels, out_channels=out_channels, kernel_size=conv_kernel_size,
                      stride=conv_stride, padding=conv_padding, bias=conv_bias),
            norm=norm_node(norm, out_channels, norm_eps, norm_momentum),
            activation=optional(activation),
            pool=optional(pool, kernel_size=pool_kernel_size, stride=pool_stride, padding=pool_padding),
        ),
    )
