"""Conv3d with a kt x 1 x 1 kernel -> Conv2d with a (kt, 1) kernel over ``(T, H*W)`` of the
5-D tensor viewed as ``[N, C, T, H*W]`` (no copy). Depthwise stays depthwise."""
from __future__ import annotations

from graphspec.compiler.ir import Node

from .base import Conv3dRewrite, WeightedGraph, conv_args, slice_weight


class TemporalConvToConv2d(Conv3dRewrite):
    name = "temporal-conv-to-conv2d"

    def rewrite_conv(self, graph: WeightedGraph, node: Node, kernel, stride, padding, dilation) -> Node | None:
        if kernel[0] == 1 or kernel[1:] != (1, 1) or stride[1:] != (1, 1) or padding[1:] != (0, 0):
            return None
        slice_weight(graph, node.path, (Ellipsis, 0))  # [O, I/g, kt, 1]
        return Node("TemporalConv2d", dict(conv_args(node), kernel_size=(kernel[0], 1), stride=(stride[0], 1),
                                           padding=(padding[0], 0), dilation=(dilation[0], 1)))
