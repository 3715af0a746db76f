"""Wiring an explicit graph (``nodes:``): each node's component bound to an IR tree, its ``in``
resolved to inputs or other nodes, and the checks of the wiring -- names, unknown inputs,
cycles, unused inputs, nodes that reach no output -- as located findings. The result is a
``Graph`` (``compiler.graph``) in dependency order."""
from __future__ import annotations

from typing import Any

import torch.nn as nn

from graphspec.spec.errors import Diagnostic, SpecError, did_you_mean

from .component import expand
from .graph import Graph, Step, make_step
from .ir import assign_paths

_RESERVED = set(dir(nn.Module))


def _input_names(raw: Any) -> list:
    if raw is None:
        return []
    return [raw] if isinstance(raw, str) else list(raw) if isinstance(raw, list) else [raw]


def build_graph(spec_nodes: dict[str, Any], inputs: list[str], outputs: dict[str, str]) -> tuple[Graph | None, list[Diagnostic]]:
    """An explicit graph; None (and the findings) when it cannot be wired."""
    import networkx as nx  # only explicit graphs need it: validating the zoo's model specs does not import it

    found: list[Diagnostic] = []
    g = nx.DiGraph()
    g.add_nodes_from(inputs)
    steps: dict[str, Step] = {}
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
            if not isinstance(src, str) or src not in known:
                found.append(Diagnostic(f"unknown input {src!r}", path=where, hint=did_you_mean(str(src), known),
                                        code="graph"))
            else:
                g.add_edge(src, name)
        g.add_node(name)
        try:
            # `in` wires the node into the graph; it is no argument of the op
            node = expand({k: v for k, v in raw.items() if k != "in"}, path)
        except SpecError as err:
            found.extend(err.diagnostics)
            continue
        node.meta["source"] = path
        steps[name], problems = make_step(name, assign_paths(node, name), [str(i) for i in ins], path + ("in",))
        found += problems
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
        if name in steps and name not in live:
            found.append(Diagnostic(f"node {name!r} does not reach any output", path=("nodes", name),
                                    severity="warning", code="dead-node"))
    rank = {name: i for i, name in enumerate([*inputs, *spec_nodes])}
    order = [n for n in nx.lexicographical_topological_sort(g, key=rank.__getitem__) if n in steps]
    return Graph(list(inputs), [steps[n] for n in order], dict(outputs)), found

