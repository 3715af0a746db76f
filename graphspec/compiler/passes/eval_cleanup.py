"""Eval clean-up: dropout is the identity at inference, so it leaves the graph."""
from __future__ import annotations

from graphspec.compiler.ir import Node

from .base import WeightedGraph, NodeRewrite

DROPOUTS = frozenset({"Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout", "FeatureAlphaDropout"})


class EvalCleanup(NodeRewrite):
    name = "eval-cleanup"

    def rewrite(self, graph: WeightedGraph, node: Node) -> Node | None:
        return Node("Identity") if node.op in DROPOUTS else None
