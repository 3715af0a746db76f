"""Convolution layers: a reduction over parallel 3D convolutions and the
factorized (2+1)D convolution."""

from typing import Any, Callable, Literal, Optional, Tuple, Union

import torch
import torch.nn as nn

from graphspec.compiler.component import Component
from graphspec.compiler.dataflow import InSequence
from graphspec.compiler.infer import Inference, ShapeError, TensorType
from graphspec.compiler.ir import Node
from graphspec.compiler.rules import BUILT, conv_infer, conv_macs
from graphspec.compiler.template import builder
from graphspec.layers.utils import set_attributes
from graphspec.registry import register

_Size3 = Union[int, Tuple[int, int, int]]


# ---- static rules of ConvReduce3D (graphspec op): each convolution's Conv3d rule -------------
def _per_conv_args(a: dict) -> list:
    """Conv3d arguments of each convolution; a missing setting keeps Conv3d's default."""
    convs = []
    for index, kernel in enumerate(a["kernel_size"]):
        args = {"in_channels": a["in_channels"], "out_channels": a["out_channels"], "kernel_size": kernel}
        for name in ("stride", "padding", "dilation", "groups", "bias"):
            values = a.get(name)
            if values is None:
                continue
            if len(values) != len(a["kernel_size"]):
                raise ShapeError(f"{name} has {len(values)} entries, kernel_size {len(a['kernel_size'])}", name)
            if values[index] is not None:
                args[name] = values[index]
        convs.append(args)
    return convs


def _conv_reduce_infer(node: Node, ctx: Inference, x: TensorType) -> TensorType:
    outs = []
    for index, args in enumerate(_per_conv_args(node.args)):
        try:
            outs.append(conv_infer(3)(Node("Conv3d", args), ctx, x))
        except ShapeError as err:
            raise ShapeError(f"convs.{index}: {err}", err.arg) from None
    if node.args.get("reduction_method", "sum") == "sum":
        if any(out.shape != outs[0].shape for out in outs):
            raise ShapeError(f"the summed convolutions differ in shape: {', '.join(map(str, outs))}", "kernel_size")
        return outs[0]
    if any(out.shape[:1] + out.shape[2:] != outs[0].shape[:1] + outs[0].shape[2:] for out in outs):
        raise ShapeError(f"the concatenated convolutions differ in shape: {', '.join(map(str, outs))}", "kernel_size")
    return outs[0].with_shape((outs[0].shape[0], len(outs) * node.args["out_channels"], *outs[0].shape[2:]))


def _conv_reduce_macs(a: dict, inputs: tuple, out: TensorType) -> Optional[int]:
    each = out.with_shape((out.shape[0], a["out_channels"], *out.shape[2:]))  # one convolution's output
    counts = [conv_macs(3)(args, inputs, each) for args in _per_conv_args(a)]
    return None if None in counts else sum(counts)  # the sum / concat itself counts zero, as in fvcore


def _per_conv(setting: Any) -> Any:
    """Annotation of a per-convolution setting: a tuple, one optional entry per convolution."""
    return Optional[Tuple[Optional[setting], ...]]


@register(
    infer=_conv_reduce_infer, state=BUILT, macs=_conv_reduce_macs,
    arg_types=dict(
        kernel_size=Tuple[_Size3, ...], stride=_per_conv(_Size3), padding=_per_conv(_Size3),
        padding_mode=_per_conv(str), dilation=_per_conv(_Size3), groups=_per_conv(int),
        bias=_per_conv(bool), reduction_method=Literal["sum", "cat"],
    ),
)
class ConvReduce3D(nn.Module):
    """
    Builds a list of convolutional operators and reduces their outputs::

        Conv3d, Conv3d, ..., Conv3d
                       ↓
              Sum (or Concat on channels)
    """

    def __init__(
        self,
        *,
        in_channels: int,
        out_channels: int,
        kernel_size: Tuple[_Size3],
        stride: Optional[Tuple[_Size3]] = None,
        padding: Optional[Tuple[_Size3]] = None,
        padding_mode: Optional[Tuple[str]] = None,
        dilation: Optional[Tuple[_Size3]] = None,
        groups: Optional[Tuple[int]] = None,
        bias: Optional[Tuple[bool]] = None,
        reduction_method: str = "sum",
    ) -> None:
        """
        Args:
            in_channels (int): number of input channels.
            out_channels (int): number of output channels of each convolution.
            kernel_size (tuple): one kernel size per convolution; its length sets the
                number of convolutions.
            stride, padding, padding_mode, dilation, groups, bias (tuple): optional
                per-convolution settings; a missing tuple or a ``None`` entry keeps
                the ``nn.Conv3d`` default.
            reduction_method (str): ``sum`` or ``cat`` (along channels).
        """
        super().__init__()
        assert reduction_method in ("sum", "cat")
        self.reduction_method = reduction_method
        per_conv_options = {
            "stride": stride,
            "padding": padding,
            "padding_mode": padding_mode,
            "dilation": dilation,
            "groups": groups,
            "bias": bias,
        }
        convs = []
        for index, kernel in enumerate(kernel_size):
            options = {
                name: values[index]
                for name, values in per_conv_options.items()
                if values is not None and values[index] is not None
            }
            convs.append(nn.Conv3d(in_channels, out_channels, kernel, **options))
        self.convs = nn.ModuleList(convs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outputs = [conv(x) for conv in self.convs]
        if self.reduction_method == "sum":
            return torch.stack(outputs, dim=0).sum(dim=0)
        return torch.cat(outputs, dim=1)


@builder
def create_conv_2plus1d(
    *,
    # Conv configs.
    in_channels: int,
    out_channels: int,
    inner_channels: Optional[int] = None,
    conv_xy_first: bool = False,
    kernel_size: Tuple[int, int, int] = (3, 3, 3),
    stride: Tuple[int, int, int] = (2, 2, 2),
    padding: Tuple[int, int, int] = (1, 1, 1),
    bias: bool = False,
    dilation: Tuple[int, int, int] = (1, 1, 1),
    groups: int = 1,
    # BN configs.
    norm: Optional[Callable] = nn.BatchNorm3d,
    norm_eps: float = 1e-5,
    norm_momentum: float = 0.1,
    # Activation configs.
    activation: Optional[Callable] = nn.ReLU,
) -> Node:
    """
    Create a 2plus1d conv layer: a temporal (kt x 1 x 1) and a spatial
    (1 x kh x kw) convolution with normalization and activation in between::

        Conv_t (or Conv_xy if conv_xy_first = True)
          ↓
        Normalization
          ↓
        Activation
          ↓
        Conv_xy (or Conv_t if conv_xy_first = True)

    ``inner_channels`` (default ``out_channels``) is the width between the two
    convolutions. Groups and dilation other than 1 are not supported.

    Returns:
        (nn.Module): a ``Conv2plus1d`` layer (the template returns its IR node).
    """
    if inner_channels is None:
        inner_channels = out_channels
    assert groups == 1, "Support for groups is not implemented in R2+1 convolution layer"
    assert max(dilation) == 1 and min(dilation) == 1, (
        "Support for dilation is not implemented in R2+1 convolution layer"
    )

    if conv_xy_first:
        t_in, t_out, xy_in, xy_out = inner_channels, out_channels, in_channels, inner_channels
    else:
        t_in, t_out, xy_in, xy_out = in_channels, inner_channels, inner_channels, out_channels
    conv3d = Component("Conv3d")
    conv_t = conv3d(
        in_channels=t_in,
        out_channels=t_out,
        kernel_size=(kernel_size[0], 1, 1),
        stride=(stride[0], 1, 1),
        padding=(padding[0], 0, 0),
        bias=bias,
    )
    conv_xy = conv3d(
        in_channels=xy_in,
        out_channels=xy_out,
        kernel_size=(1, kernel_size[1], kernel_size[2]),
        stride=(1, stride[1], stride[2]),
        padding=(0, padding[1], padding[2]),
        bias=bias,
    )
    return Node("Conv2plus1d", dict(
        conv_t=conv_t,
        norm=None
        if norm is None
        else norm(num_features=inner_channels, eps=norm_eps, momentum=norm_momentum),
        activation=None if activation is None else activation(),
        conv_xy=conv_xy,
        conv_xy_first=conv_xy_first,
    ))


def _conv2plus1d_order(node: Node) -> tuple[str, ...]:
    if node.args.get("conv_xy_first", False):
        return ("conv_xy", "norm", "activation", "conv_t")
    return ("conv_t", "norm", "activation", "conv_xy")


@register(infer=InSequence(("conv_t", "norm", "activation", "conv_xy"), order=_conv2plus1d_order))
class Conv2plus1d(nn.Module):
    """
    2+1d convolution: a 3D convolution factorized into a 1D temporal and a 2D
    spatial convolution, with normalization and activation in between::

        Conv_t (or Conv_xy if conv_xy_first = True)
          ↓
        Normalization
          ↓
        Activation
          ↓
        Conv_xy (or Conv_t if conv_xy_first = True)

    The 2+1d Convolution is used to build the R(2+1)D network.
    """

    def __init__(
        self,
        *,
        conv_t: nn.Module = None,
        norm: nn.Module = None,
        activation: nn.Module = None,
        conv_xy: nn.Module = None,
        conv_xy_first: bool = False,
    ) -> None:
        """
        Args:
            conv_t (torch.nn.modules): temporal convolution module.
            norm (torch.nn.modules): normalization module.
            activation (torch.nn.modules): activation module.
            conv_xy (torch.nn.modules): spatial convolution module.
            conv_xy_first (bool): if True, the spatial convolution comes first.
        """
        super().__init__()
        set_attributes(self, locals())
        assert self.conv_t is not None
        assert self.conv_xy is not None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv_xy(x) if self.conv_xy_first else self.conv_t(x)
        x = self.norm(x) if self.norm else x
        x = self.activation(x) if self.activation else x
        x = self.conv_t(x) if self.conv_xy_first else self.conv_xy(x)
        return x
