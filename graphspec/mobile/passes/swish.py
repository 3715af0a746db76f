"""Swish -> ``x * sigmoid(x)`` as two plain ops (``SigmoidMul``): Sigmoid and Mul are XNNPACK ops,
and nothing is left for an exporter to trace through an autograd.Function."""
from __future__ import annotations

from graphspec.compiler.ir import Node

from .base import WeightedGraph, NodeRewrite


class SwishToSigmoidMul(NodeRewrite):
    name = "swish-to-sigmoid-mul"
    matches = frozenset({"Swish"})

    def rewrite(self, graph: WeightedGraph, node: Node) -> Node | None:
        return Node("SigmoidMul")
