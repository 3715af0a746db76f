"""``ConvReduce3D`` builds its Conv3d modules itself; as ``ConvBranches`` with one Conv3d child
node per convolution (same state keys) the conv rewrites can lower each of them."""
from __future__ import annotations

from graphspec.compiler.ir import Node

from .base import NodeRewrite, WeightedGraph

_PER_CONV = ("stride", "padding", "padding_mode", "dilation", "groups", "bias")


class ConvReduceToBranches(NodeRewrite):
    name = "conv-reduce-to-branches"
    matches = frozenset({"ConvReduce3D"})

    def rewrite(self, graph: WeightedGraph, node: Node) -> Node | None:
        a = node.args
        convs = []
        for i, kernel in enumerate(a["kernel_size"]):
            options = {k: a[k][i] for k in _PER_CONV if a.get(k) is not None and a[k][i] is not None}
            conv = Node("Conv3d", dict(in_channels=a["in_channels"], out_channels=a["out_channels"],
                                       kernel_size=kernel, **options))
            convs.append(conv)
        return Node("ConvBranches", dict(convs=convs, reduction_method=a.get("reduction_method", "sum")))
