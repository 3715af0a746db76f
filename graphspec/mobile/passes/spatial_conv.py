"""Conv3d with a 1 x kh x kw kernel -> Conv2d on every frame, time folded into the batch."""
from __future__ import annotations

from graphspec.compiler.ir import Node

from .base import Conv3dRewrite, WeightedGraph, folded_conv2d


class SpatialConvToConv2d(Conv3dRewrite):
    name = "spatial-conv-to-conv2d"

    def rewrite_conv(self, graph: WeightedGraph, node: Node, kernel, stride, padding, dilation) -> Node | None:
        if kernel[0] != 1 or kernel == (1, 1, 1) or stride[0] != 1 or padding[0] != 0:
            return None
        return folded_conv2d(graph, node, kernel, stride, padding, dilation)
