"""Conv3d with a 1x1x1 kernel (and no temporal stride) -> a pointwise Conv2d: on the folded
tensor, or, with stride 1, on the free ``[N, C, T*H, W]`` view of the 5-D one."""
from __future__ import annotations

from graphspec.compiler.ir import Node

from .base import WeightedGraph, NodeRewrite, conv_args, conv_geometry


class PointwiseConvToConv2d(NodeRewrite):
    name = "pointwise-conv-to-conv2d"

    def rewrite(self, graph: WeightedGraph, node: Node) -> Node | None:
        geometry = conv_geometry(node)
        if geometry is None:
            return None
        kernel, stride, padding, dilation = geometry
        if kernel != (1, 1, 1) or stride[0] != 1 or padding[0] != 0:
            return None
        entries = graph.take(node.path)
        entries["weight"] = entries["weight"][:, :, 0]
        graph.put(node.path, entries)
        return Node("FoldedConv2d", dict(conv_args(node), kernel_size=(1, 1), stride=stride[1:],
                                         padding=padding[1:], dilation=dilation[1:]))
