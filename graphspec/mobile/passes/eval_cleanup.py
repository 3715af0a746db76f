"""Eval clean-up: dropout is the identity at inference, so it leaves the graph."""
from __future__ import annotations

from graphspec.compiler.ir import Node

from .base import WeightedGraph, NodeRewrite

DROPOUTS = frozenset({"Dropout", "Dropout2d", "Dropout3d"})


class EvalCleanup(NodeRewrite):
    name = "eval-cleanup"
    matches = DROPOUTS

    def rewrite(self, graph: WeightedGraph, node: Node) -> Node | None:
        return Node("Identity")
