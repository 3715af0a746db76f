"""Squeeze-excitation's 1x1x1 convolutions act on a [N, C, 1, 1, 1] vector: as fully connected
layers (Gemm) on the per-clip channel means (``SqueezeExcitationGemm``, same state keys)."""
from __future__ import annotations

from graphspec.compiler.ir import Node
from graphspec.layers.squeeze_excitation import SqueezeExcitationNode

from .base import WeightedGraph, NodeRewrite, input_shape


class SqueezeExcitationToGemm(NodeRewrite):
    name = "squeeze-excitation-to-gemm"
    matches = frozenset({"SqueezeExcitation"})

    def rewrite(self, graph: WeightedGraph, node: Node) -> Node | None:
        shape = input_shape(node)
        if not node.args.get("is_3d") or shape is None:
            return None
        entries = graph.take(node.path)
        for key in ("block.0.weight", "block.2.weight"):
            entries[key] = entries[key].flatten(1)
        graph.put(node.path, entries)
        reduced = entries["block.0.weight"].shape[0]
        return SqueezeExcitationNode("SqueezeExcitationGemm", dict(
            num_channels=node.args["num_channels"], num_channels_reduced=reduced, frames=shape[2],
            activation=node.args.get("activation")))
