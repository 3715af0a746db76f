"""MaxPool3d / AvgPool3d -> a 2-D pool over (H, W) on the folded tensor and a 2-D pool over
(T, H*W) (``FactorizedPool``; exact because box-window max and mean are separable)."""
from __future__ import annotations

from graphspec.compiler.ir import Node

from .base import WeightedGraph, NodeRewrite, input_shape, triple

POOLS = {"MaxPool3d": "max", "AvgPool3d": "avg"}


class Pool3dTo2d(NodeRewrite):
    name = "pool3d-to-pool2d"
    matches = frozenset(POOLS)
    after = ("global-pool-to-mean",)  # a whole-input AvgPool3d is a global mean, cheaper than a factorized pool

    def rewrite(self, graph: WeightedGraph, node: Node) -> Node | None:
        a, shape = node.args, input_shape(node)
        if shape is None or len(shape) != 5:
            return None
        if triple(a.get("dilation", 1)) != (1, 1, 1) or a.get("return_indices") or a.get("divisor_override"):
            return None  # no separable 2-D form: left for the op-set check to name
        kernel = triple(a["kernel_size"])
        stride = triple(a["stride"]) if a.get("stride") is not None else kernel
        return Node("FactorizedPool", dict(
            mode=POOLS[node.op], kernel_size=kernel, stride=stride, padding=triple(a.get("padding", 0)),
            ceil_mode=a.get("ceil_mode", False), count_include_pad=a.get("count_include_pad", True),
            frames=shape[2], out_layout="ncthw"))
