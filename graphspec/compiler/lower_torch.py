"""Lowering to torch: each node becomes its op's module, constructed with lowered children.

The module tree therefore has exactly the IR's paths as qualified names, and a node's args are
the constructor's keyword arguments (PyTorchVideo's classes take their sub-modules that way).
A graph lowers to a model spec's own tree, or to an ``ExplicitGraph`` of its steps. An op whose
sub-nodes are parts made from its arguments (``ir.PARTS``: the Accelerator's efficient
blocks) is assembled from its lowered parts (``target.assemble(plain args, parts)``), so a pass
that rewrote a part changes the module.
"""
from __future__ import annotations

from typing import Any

import torch.nn as nn

from graphspec import registry

from .component import Component
from .graph import Graph
from .ir import PYTHON_OP, Node, parts_of
from .runtime import ExplicitGraph


def lower(node: Node) -> nn.Module:
    if node.op == PYTHON_OP:
        args, kwargs = node.meta["call"]
        return node.meta["callable"](*args, **{k: _python_value(v) for k, v in kwargs.items()})
    opdef = registry.get(node.op)
    parts = parts_of(node)
    if parts is not None:  # component arguments are lowered as the parts that hold them
        plain = {key: value for key, value in node.args.items() if not isinstance(value, Node)}
        return opdef.target.assemble(plain, [(name, lower(child)) for name, child in parts])
    kwargs = {key: lower_value(value) for key, value in node.args.items()}
    return (opdef.lower or opdef.target)(**kwargs)


def lower_graph(graph: Graph) -> nn.Module:
    """The module of a graph: a model spec's own tree, or an ``ExplicitGraph`` of its steps."""
    if graph.single:
        return lower(graph.steps[0].node)
    return ExplicitGraph({s.name: lower(s.node) for s in graph.steps}, graph.wiring, graph.inputs,
                         graph.outputs, graph.calls)


def lower_value(value: Any) -> Any:
    """An argument value for the constructor: nodes lowered; a list of nodes becomes an
    ``nn.ModuleList`` (a ``null`` item keeps its index there, as the IR paths do), or a plain
    list when its items are no modules (``object`` ops: datasets, samplers, functions)."""
    if isinstance(value, Node):
        return lower(value)
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, (Node, type(None))) for v in value):
        items = [lower(v) if v is not None else None for v in value]
        if all(isinstance(v, (nn.Module, type(None))) for v in items):
            return nn.ModuleList(items)
        return items
    return value


def _python_value(value: Any) -> Any:
    """Arguments handed to a user's own Python callable: components become callables again."""
    if isinstance(value, Component):
        return lambda *a, **k: lower(value(*a, **k))
    if isinstance(value, (list, tuple)):
        return type(value)(_python_value(v) for v in value)
    return value
