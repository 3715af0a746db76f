"""Explicit graphs: named nodes wired by ``in:``, checked on a networkx view, lowered to a
``GraphModule`` whose attributes are the node names (so state_dict keys are ``node.param``)."""
from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import torch.nn as nn

from graphspec import registry
from graphspec.spec.errors import Diagnostic, did_you_mean

from .component import as_component
from .ir import PYTHON_OP, Node, assign_paths

_RESERVED = set(dir(nn.Module))


@dataclass
class GraphIR:
    inputs: list[str]
    nodes: dict[str, Node]  # in topological order
    wiring: dict[str, list[str]]
    outputs: dict[str, str]
    calls: dict[str, str] = field(default_factory=dict)  # node -> "args" | "list"


def _input_names(raw: Any) -> list:
    if raw is None:
        return []
    return [raw] if isinstance(raw, str) else list(raw) if isinstance(raw, list) else [raw]


def _arity(opdef: registry.OpDef) -> tuple[int, float]:
    """(min, max) positional inputs of the op's forward."""
    forward = getattr(opdef.target, "forward", None)
    if forward is None:
        return 1, 1
    params = list(inspect.signature(forward).parameters.values())[1:]
    if any(p.kind == p.VAR_POSITIONAL for p in params):
        return 1, float("inf")
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return sum(p.default is p.empty for p in positional), len(positional)


def build_graph(spec_nodes: dict[str, Any], inputs: list[str], outputs: dict[str, str]) -> tuple[GraphIR | None, list[Diagnostic]]:
    found: list[Diagnostic] = []
    g = nx.DiGraph()
    g.add_nodes_from(inputs)
    nodes: dict[str, Node] = {}
    wiring: dict[str, list[str]] = {}
    calls: dict[str, str] = {}
    known = set(inputs) | set(spec_nodes)
    for name, raw in spec_nodes.items():
        path = ("nodes", name)
        if not name.isidentifier() or name in _RESERVED or name in inputs:
            found.append(Diagnostic(f"node name {name!r} must be a Python identifier, not an input name and not a "
                                    "reserved nn.Module attribute", path=path, code="graph"))
            continue
        if isinstance(raw, str):
            raw = {"op": raw}
        if not isinstance(raw, dict):
            found.append(Diagnostic("a node is a component: {op: NAME, in: INPUT, ...args}", path=path, code="graph"))
            continue
        ins = _input_names(raw.get("in"))
        if not ins:
            found.append(Diagnostic(f"node {name!r} has no 'in' (the values it reads)", path=path, code="graph"))
        for i, src in enumerate(ins):
            where = path + ("in",) + ((i,) if isinstance(raw.get("in"), list) else ())
            if src not in known:
                found.append(Diagnostic(f"unknown input {src!r}", path=where, hint=did_you_mean(str(src), known),
                                        code="graph"))
            else:
                g.add_edge(src, name)
        g.add_node(name)
        try:
            # `in` wires the node into the graph; it is no argument of the op
            component = as_component({k: v for k, v in raw.items() if k != "in"}, path)
            node = component()
        except Exception as err:  # SpecError from validation, or a builder's own ValueError
            found.extend(_as_diagnostics(err, path, raw))
            continue
        node.meta["source"] = path
        opdef = registry.get(node.op) if node.op != PYTHON_OP else None
        if opdef is not None and ins:
            lo, hi = _arity(opdef)
            calls[name] = "list" if opdef.call == "list" and len(ins) > 1 else "args"
            count = 1 if calls[name] == "list" else len(ins)
            if not lo <= count <= hi:
                want = f"{lo}" if lo == hi else f"{lo} to {hi}" if hi != float("inf") else f"at least {lo}"
                found.append(Diagnostic(f"{node.op} takes {want} inputs, got {len(ins)}", path=path + ("in",),
                                        code="arity"))
        nodes[name] = assign_paths(node, name)
        wiring[name] = ins
    for out_name, src in outputs.items():
        if src not in known:
            found.append(Diagnostic(f"output {out_name!r} reads unknown node {src!r}", path=("outputs", out_name),
                                    hint=did_you_mean(str(src), known), code="graph"))
    try:
        cycle = nx.find_cycle(g)
        found.append(Diagnostic("graph has a cycle: " + " -> ".join([a for a, _ in cycle] + [cycle[0][0]]),
                                path=("nodes", cycle[0][1]), code="cycle"))
    except nx.NetworkXNoCycle:
        pass
    if found:
        return None, found
    for name in inputs:
        if g.out_degree(name) == 0 and name not in outputs.values():
            found.append(Diagnostic(f"input {name!r} is never used", path=("inputs", name), code="unused-input"))
    live = set().union(*(nx.ancestors(g, src) | {src} for src in outputs.values())) if outputs else set()
    for name in spec_nodes:
        if name in nodes and name not in live:
            found.append(Diagnostic(f"node {name!r} does not reach any output", path=("nodes", name),
                                    severity="warning", code="dead-node"))
    order = [n for n in nx.topological_sort(g) if n in nodes]
    return GraphIR(inputs, {n: nodes[n] for n in order}, wiring, dict(outputs), calls), found


def _as_diagnostics(err: Exception, path: tuple, raw: Any) -> list[Diagnostic]:
    from graphspec.spec.errors import SpecError

    if isinstance(err, SpecError):
        return err.diagnostics
    from .pipeline import builder_error

    return [builder_error(err, path, raw)]


class GraphModule(nn.Module):
    """Runs named sub-modules in topological order; inputs by name or position."""

    def __init__(self, modules: dict[str, nn.Module], wiring: dict[str, list[str]], inputs: list[str],
                 outputs: dict[str, str], calls: dict[str, str]) -> None:
        super().__init__()
        for name, module in modules.items():
            self.add_module(name, module)
        self.wiring, self.input_names, self.output_map, self.calls = wiring, list(inputs), dict(outputs), dict(calls)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        env = dict(zip(self.input_names, args))
        env.update(kwargs)
        missing = [n for n in self.input_names if n not in env]
        if missing:
            raise TypeError(f"missing graph inputs: {missing}")
        for name, ins in self.wiring.items():
            values = [env[i] for i in ins]
            module = getattr(self, name)
            env[name] = module(values) if self.calls.get(name) == "list" else module(*values)
        outs = {k: env[v] for k, v in self.output_map.items()}
        return next(iter(outs.values())) if len(outs) == 1 else outs


def lower_graph(graph: GraphIR) -> GraphModule:
    from .lower_torch import lower

    return GraphModule({n: lower(node) for n, node in graph.nodes.items()}, graph.wiring, graph.inputs,
                       graph.outputs, graph.calls)
