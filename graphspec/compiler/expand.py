"""``expand``: a compiled spec written back as the explicit spec that rebuilds the identical model.

Builders are templates; what they expand into is a tree of module ops, each registered with all
of its constructor arguments. ``expand_document`` writes that IR tree as nested components
(``{op: Conv3d, in_channels: 3, ...}``), child nodes nested, lists of nodes as lists, under the
original header. Compiling the result gives the same module tree, the same state_dict layout
and, with the same torch seed, the same weights. Graph specs keep their ``nodes`` and ``in:``
wiring, each node expanded the same way.

Only plain data can be written: a node wrapping an unregistered Python callable, or an argument
holding a Python object, is reported as an error (``SpecError``) located at the spec key that
produced it.
"""
from __future__ import annotations

import copy
from typing import Any

from graphspec.spec.errors import Diagnostic, SpecError

from .component import Component
from .ir import PYTHON_OP, Node
from .pipeline import CompiledModel

#: top-level keys copied unchanged (``expect`` is dropped: an overridden spec may not meet it)
HEADER_KEYS = ("graphspec", "kind", "name", "description", "inputs")


def expand_document(compiled: "CompiledModel") -> dict:
    """The spec data (header + fully expanded ``model`` or ``nodes``) that rebuilds ``compiled``."""
    data = compiled.data
    out: dict[str, Any] = {key: copy.deepcopy(data[key]) for key in HEADER_KEYS if key in data}
    problems: list[Diagnostic] = []
    graph = compiled.graph
    if graph is None:
        problems.append(Diagnostic("the spec has no model to expand (it did not compile)", code="expand"))
    elif graph.single:
        out["model"] = node_data(graph.steps[0].node, problems)
        if data.get("outputs") is not None:
            out["outputs"] = copy.deepcopy(data["outputs"])
    else:
        raw_nodes = data.get("nodes") or {}
        nodes = {}
        for step in graph.steps:  # dependency order: the state_dict order of the lowered module
            item = node_data(step.node, problems)
            raw = raw_nodes.get(step.name)
            if isinstance(raw, dict) and "in" in raw:
                wired = copy.deepcopy(raw["in"])
            else:
                wired = step.inputs[0] if len(step.inputs) == 1 else list(step.inputs)
            nodes[step.name] = {"op": item.pop("op"), "in": wired, **item}
        out["nodes"] = nodes
        out["outputs"] = copy.deepcopy(data.get("outputs"))
    if problems:
        raise SpecError(compiled.smap.attach(problems))
    return out


def node_data(node: Node, problems: list[Diagnostic]) -> dict:
    """One IR node as a component: ``{op: NAME, **args}``, sub-nodes nested."""
    where = node.shown
    if node.op == PYTHON_OP:
        fn = node.meta.get("callable")
        name = getattr(fn, "__qualname__", None) or repr(fn)
        problems.append(Diagnostic(
            f"{where}: {name!r} is a Python callable, not a registered op, so it has no YAML form",
            path=node.source, code="expand",
            hint="register it with @graphspec.register to make it expandable"))
        return {"op": PYTHON_OP}
    out: dict[str, Any] = {"op": node.op}
    for key, value in node.args.items():
        out[key] = _value(value, node, key, problems)
    return out


def _value(value: Any, node: Node, key: str, problems: list[Diagnostic]) -> Any:
    if isinstance(value, Node):
        return node_data(value, problems)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_value(v, node, key, problems) for v in value]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {k: _value(v, node, key, problems) for k, v in value.items()}
    if isinstance(value, Component) and value.pyfn is None:
        return value.to_data()
    where = node.shown
    shown = getattr(value, "__qualname__", None) or type(value).__name__
    problems.append(Diagnostic(
        f"{where}: argument {key!r} of {node.op} is a Python object ({shown}), which has no YAML form",
        path=node.source, code="expand",
        hint="use a registered op or plain values for it"))
    return None
