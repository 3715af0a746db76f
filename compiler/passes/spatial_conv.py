"""Conv3d with a 1 x kh x kw kernel -> Conv2d on every frame, time folded into the batch."""
from __future__ import annotations

from graphspec.compiler.ir import Node

from .base import WeightedGraph, NodeRewrite, conv_args, conv_geometry


class SpatialConvToConv2d(NodeRewrite):
    name = "spatial-conv-to-conv2d"

    def rewrite(self, graph: WeightedGraph, node: Node) -> Node | None:
        geometry = conv_geometry(node)
        if geometry is None:
            return None
        kernel, stride, padding, dilation = geometry
        if kernel[0] != 1 or kernel == (1, 1, 1) or stride[0] != 1 or padding[0] != 0:
            return None
        entries = graph.take(node.path)
        entries["weight"] = entries["weight"][:, :, 0]
        graph.put(node.path, entries)
        return Node("FoldedConv2d", dict(conv_args(node), kernel_size=kernel[1:], stride=stride[1:],
                                         padding=padding[1:], dilation=dilation[1:]))
