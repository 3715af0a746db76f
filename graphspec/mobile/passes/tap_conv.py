"""Any other Conv3d (kt x kh x kw, temporal stride) -> the sum of kt Conv2d taps on the folded
tensor, each shifted in time (``TemporalTapConv``); exact, with no padding op."""
from __future__ import annotations

from graphspec.compiler.ir import Node
from graphspec.mobile.modules import bias_tap, tap_segments

from .base import Conv3dRewrite, WeightedGraph, conv_args, input_shape


class Conv3dToTaps(Conv3dRewrite):
    name = "conv3d-to-taps"
    #: it takes any Conv3d: the cheaper special forms first
    after = (*Conv3dRewrite.after, "pointwise-conv-to-conv2d", "spatial-conv-to-conv2d", "temporal-conv-to-conv2d")

    def rewrite_conv(self, graph: WeightedGraph, node: Node, kernel, stride, padding, dilation) -> Node | None:
        try:
            segments = tap_segments(input_shape(node)[2], kernel[0], stride[0], padding[0], dilation[0])
        except ValueError:  # an output frame made of padding only: leave it (the op-set check names it)
            return None
        new = Node("TemporalTapConv", dict(conv_args(node), kernel_size=kernel, stride=stride, padding=padding,
                                           dilation=dilation))
        entries = graph.take(node.path)
        for k in range(kernel[0]):
            graph.put(f"{node.path}.taps.{k}", {"weight": entries["weight"][:, :, k]})
        if "bias" in entries:
            carrier = bias_tap(segments, kernel[0])
            graph.put(node.path if carrier is None else f"{node.path}.taps.{carrier}", {"bias": entries["bias"]})
        return new
