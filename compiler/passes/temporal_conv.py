"""Conv3d with a kt x 1 x 1 kernel -> Conv2d with a (kt, 1) kernel over ``(T, H*W)`` of the
5-D tensor viewed as ``[N, C, T, H*W]`` (no copy). Depthwise stays depthwise."""
from __future__ import annotations

from graphspec.compiler.ir import Node

from .base import WeightedGraph, NodeRewrite, conv_args, conv_geometry


class TemporalConvToConv2d(NodeRewrite):
    name = "temporal-conv-to-conv2d"

    def rewrite(self, graph: WeightedGraph, node: Node) -> Node | None:
        geometry = conv_geometry(node)
        if geometry is None:
            return None
        kernel, stride, padding, dilation = geometry
        if kernel[0] == 1 or kernel[1:] != (1, 1) or stride[1:] != (1, 1) or padding[1:] != (0, 0):
            return None
        entries = graph.take(node.path)
        entries["weight"] = entries["weight"][..., 0]  # [O, I/g, kt, 1]
        graph.put(node.path, entries)
        return Node("TemporalConv2d", dict(conv_args(node), kernel_size=(kernel[0], 1), stride=(stride[0], 1),
                                           padding=(padding[0], 0), dilation=(dilation[0], 1)))
