"""Conv3d with a 1x1x1 kernel (and no temporal stride) -> a pointwise Conv2d: on the folded
tensor, or, with stride 1, on the free ``[N, C, T*H, W]`` view of the 5-D one."""
from __future__ import annotations

from graphspec.compiler.ir import Node

from .base import Conv3dRewrite, WeightedGraph, folded_conv2d


class PointwiseConvToConv2d(Conv3dRewrite):
    name = "pointwise-conv-to-conv2d"

    def rewrite_conv(self, graph: WeightedGraph, node: Node, kernel, stride, padding, dilation) -> Node | None:
        if kernel != (1, 1, 1) or stride[0] != 1 or padding[0] != 0:
            return None
        return folded_conv2d(graph, node, kernel, stride, padding, dilation)
