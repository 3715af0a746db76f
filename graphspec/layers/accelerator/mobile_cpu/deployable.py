"""Deployable forms that the mobile CPU blocks convert to: the same function as a 3-D convolution,
pool or squeeze-excitation, computed with 2-D convolutions, 2-D pools and matrix products only
(what XNNPACK runs). Each is built for one fixed input size (``input_blob_size``), so every
reshape has static dimensions; each takes and returns the original block's 5-D layout."""
from __future__ import annotations

import math
from typing import Sequence

import torch
import torch.nn as nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from graphspec.layers.mobile import TemporalTapConv


def fold_batch_norm(conv: nn.Conv3d, bn: nn.BatchNorm3d | None) -> nn.Conv3d:
    """A copy of ``conv`` with the eval-mode batch norm after it folded into its weight and bias."""
    if bn is None:
        return conv
    return fuse_conv_bn_eval(conv.eval(), bn.eval())


def _window_out(size: int, kernel: int, stride: int, pad: int, dilation: int) -> int:
    return (size + 2 * pad - dilation * (kernel - 1) - 1) // stride + 1


def _conv2d(conv: nn.Conv3d, weight: torch.Tensor, bias: torch.Tensor | None, **geometry) -> nn.Conv2d:
    """A Conv2d holding ``weight`` (4-D) and ``bias``, on the device and dtype of ``conv``."""
    out_channels, in_per_group, kh, kw = weight.shape
    conv2d = nn.Conv2d(in_per_group * conv.groups, out_channels, (kh, kw), groups=conv.groups,
                       bias=bias is not None, device=weight.device, dtype=weight.dtype, **geometry)
    with torch.no_grad():
        conv2d.weight.copy_(weight)
        if bias is not None:
            conv2d.bias.copy_(bias)
    return conv2d


def _require(conv: nn.Conv3d, what: str, ok: bool) -> None:
    if not ok:
        raise ValueError(f"cannot convert {conv}: {what}")


class PointwiseConv3dAs2d(nn.Module):
    """1x1x1 Conv3d as a pointwise Conv2d on ``[B, C, T*H, W]`` (a free reshape)."""

    def __init__(self, conv: nn.Conv3d, input_blob_size: Sequence[int]) -> None:
        super().__init__()
        _require(conv, "needs kernel 1x1x1, stride 1, no padding",
                 conv.kernel_size == (1, 1, 1) and conv.stride == (1, 1, 1) and conv.padding == (0, 0, 0))
        b, _, t, h, w = input_blob_size
        self.conv = _conv2d(conv, conv.weight[:, :, 0], conv.bias)
        self._in_size = (b, conv.in_channels, t * h, w)
        self._out_size = (b, conv.out_channels, t, h, w)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x.reshape(self._in_size)).reshape(self._out_size)


class TemporalConv3dAs2d(nn.Module):
    """ktx1x1 Conv3d as a ktx1 Conv2d over ``[B, C, T, H*W]`` (a free reshape)."""

    def __init__(self, conv: nn.Conv3d, input_blob_size: Sequence[int]) -> None:
        super().__init__()
        _require(conv, "needs spatial kernel 1x1, spatial stride 1, no spatial padding",
                 conv.kernel_size[1:] == (1, 1) and conv.stride[1:] == (1, 1) and conv.padding[1:] == (0, 0))
        b, _, t, h, w = input_blob_size
        self.conv = _conv2d(conv, conv.weight[..., 0], conv.bias, stride=(conv.stride[0], 1),
                            padding=(conv.padding[0], 0), dilation=(conv.dilation[0], 1))
        out_t = _window_out(t, conv.kernel_size[0], conv.stride[0], conv.padding[0], conv.dilation[0])
        self._in_size = (b, conv.in_channels, t, h * w)
        self._out_size = (b, conv.out_channels, out_t, h, w)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x.reshape(self._in_size)).reshape(self._out_size)


def framewise_conv2d(conv: nn.Conv3d, input_blob_size: Sequence[int]) -> TemporalTapConv:
    """A kt x kh x kw Conv3d as kt Conv2d taps on the frames (time in the batch), each reading its
    frames shifted in time: the mobile lowering's ``TemporalTapConv`` (exact: a 3-D
    cross-correlation is the sum over its temporal taps of 2-D ones), taking and returning 5-D.
    With kt = 1 (a 1xkxk Conv3d) it is one Conv2d applied to every frame."""
    frames = input_blob_size[2]
    _require(conv, "needs numeric padding and zero padding mode",
             not isinstance(conv.padding, str) and conv.padding_mode == "zeros")
    try:
        taps = TemporalTapConv(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding,
                               conv.dilation, conv.groups, bias=conv.bias is not None, frames=frames,
                               out_layout="ncthw").to(device=conv.weight.device, dtype=conv.weight.dtype)
    except ValueError as exc:  # an output frame made of temporal padding only
        raise ValueError(f"cannot convert {conv} for {frames} frames: {exc}") from None
    with torch.no_grad():
        for k, tap in enumerate(taps.taps):
            tap.weight.copy_(conv.weight[:, :, k])
        if conv.bias is not None:
            (taps.bias if taps.bias_tap is None else taps.taps[taps.bias_tap].bias).copy_(conv.bias)
    return taps


class GlobalAvgPoolAs2d(nn.Module):
    """Average over all of T, H, W as a rank-4 pool of ``[B, C, T*H, W]``; keeps the input rank
    (output ``[B, C, 1, 1, 1]`` for 5-D input, ``[B, C, 1, 1]`` for 4-D)."""

    def __init__(self, input_blob_size: Sequence[int]) -> None:
        super().__init__()
        b, c, *spatial = input_blob_size
        self._in_size = (b, c, math.prod(spatial[:-1]), spatial[-1])
        self._out_size = (b, c, *(1,) * len(spatial))
        self.pool = nn.AvgPool2d(self._in_size[2:])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(x.reshape(self._in_size)).reshape(self._out_size)


class SqueezeExcitationAsGemm(nn.Module):
    """Squeeze-excitation with its 1x1(x1) convolutions as Linear layers (Gemm) on the pooled
    ``[B, C]`` vector; the input is rescaled channel-wise by the gate."""

    def __init__(self, block: nn.Sequential, input_blob_size: Sequence[int]) -> None:
        super().__init__()
        reduce_conv, activation, expand_conv, gate = block
        self.pool = GlobalAvgPoolAs2d(input_blob_size)
        self.reduce = _linear(reduce_conv)
        self.activation = activation
        self.expand = _linear(expand_conv)
        self.gate = gate
        b, c, *spatial = input_blob_size
        self._vector_size = (b, c)
        self._scale_size = (b, c, *(1,) * len(spatial))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        squeezed = self.pool(x).reshape(self._vector_size)
        scale = self.gate(self.expand(self.activation(self.reduce(squeezed))))
        return x * scale.reshape(self._scale_size)


def _linear(conv: nn.Module) -> nn.Linear:
    weight = conv.weight.reshape(conv.out_channels, conv.in_channels)
    linear = nn.Linear(conv.in_channels, conv.out_channels, bias=conv.bias is not None,
                       device=weight.device, dtype=weight.dtype)
    with torch.no_grad():
        linear.weight.copy_(weight)
        if conv.bias is not None:
            linear.bias.copy_(conv.bias)
    return linear
