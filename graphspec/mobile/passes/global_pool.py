"""Global average pooling over (T, H, W) -- ``AdaptiveAvgPool3d(1)`` or an ``AvgPool3d`` whose
window is the whole input -- as rank-4 mean reductions (``GlobalAvgPool``)."""
from __future__ import annotations

from graphspec.compiler.ir import Node

from .base import WeightedGraph, NodeRewrite, input_shape, triple


def is_global_average(node: Node, shape: tuple) -> bool:
    a = node.args
    if node.op == "AdaptiveAvgPool3d":
        return triple(a.get("output_size")) == (1, 1, 1)
    if node.op == "AvgPool3d":
        return (triple(a["kernel_size"]) == tuple(shape[2:]) and triple(a.get("padding", 0)) == (0, 0, 0)
                and a.get("divisor_override") is None)
    return False


class GlobalPoolToMean(NodeRewrite):
    name = "global-pool-to-mean"
    matches = frozenset({"AdaptiveAvgPool3d", "AvgPool3d"})

    def rewrite(self, graph: WeightedGraph, node: Node) -> Node | None:
        shape = input_shape(node)
        if shape is None or len(shape) != 5 or not is_global_average(node, shape):
            return None
        return Node("GlobalAvgPool", dict(frames=shape[2], out_layout="ncthw"))
