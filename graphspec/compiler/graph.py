"""The one IR of a model spec: a ``Graph`` of steps in dependency order.

A step is one IR tree (its root ``Node``) fed by named values (the spec's inputs or earlier
steps). An explicit graph (``nodes:``) has one step per node, named by it; the lowered module is
a ``GraphModule`` whose attributes are the node names (state_dict keys ``node.param``). A model
spec (``model:``) is a graph of one step that reads every declared input; its tree's paths start
at the root (``blocks.0.conv``) because the lowered module is that tree itself
(``Graph.single``), exactly as PyTorchVideo's builder returns it.

Inference, state layout, expand, summaries, drawing, lowering and IR passes all walk this one
structure: ``graph.steps`` in order, ``step.node.walk()`` inside each.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, Iterator

import networkx as nx
import torch.nn as nn

from graphspec import registry
from graphspec.spec.errors import Diagnostic, SpecError, did_you_mean

from .component import as_component
from .ir import PYTHON_OP, Node, assign_paths, call_mode

_RESERVED = set(dir(nn.Module))
#: name of the one step of a model spec
MODEL_STEP = "model"


@dataclass(eq=False)
class Step:
    #: the value this step produces (a graph node's name; ``model`` for a model spec)
    name: str
    #: root of the step's IR tree; its paths are the lowered module's qualified names
    node: Node
    #: the values it reads, in order
    inputs: list[str]
    #: several inputs passed as positional arguments, or as one list (multi-pathway models)
    call: registry.CallMode = "args"


@dataclass(eq=False)
class Graph:
    inputs: list[str]
    #: in dependency order (a producer before its readers; spec order where the wiring allows)
    steps: list[Step]
    #: output name -> the value it returns (a step or an input)
    outputs: dict[str, str]
    #: a model spec: the one step is the whole module, its list output split over the output names
    single: bool = False

    @property
    def nodes(self) -> dict[str, Node]:
        """Step name -> root node, in dependency order."""
        return {s.name: s.node for s in self.steps}

    @property
    def wiring(self) -> dict[str, list[str]]:
        return {s.name: list(s.inputs) for s in self.steps}

    @property
    def calls(self) -> dict[str, str]:
        return {s.name: s.call for s in self.steps}

    def walk(self) -> Iterator[Node]:
        """Every IR node: step by step, parents first."""
        for step in self.steps:
            yield from step.node.walk()


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


def make_step(name: str, node: Node, inputs: list[str], where: tuple) -> tuple[Step, list[Diagnostic]]:
    """A step reading ``inputs``; an arity finding at ``where`` when its op cannot take them."""
    found: list[Diagnostic] = []
    call = call_mode(node) if len(inputs) > 1 else "args"
    opdef = registry.find(node.op) if node.op != PYTHON_OP else None
    if opdef is not None and inputs:
        lo, hi = _arity(opdef)
        count = 1 if call == "list" else len(inputs)
        if not lo <= count <= hi:
            want = f"{lo}" if lo == hi else f"{lo} to {hi}" if hi != float("inf") else f"at least {lo}"
            shown = f"{name} ({node.op})" if name != MODEL_STEP else f"the model ({node.meta.get('builder', node.op)})"
            found.append(Diagnostic(f"{shown} takes {want} input{'s' if want != '1' else ''}, got "
                                    f"{len(inputs)} ({', '.join(inputs)})", path=where, code="arity"))
    return Step(name, node, list(inputs), call), found


def model_graph(root: Node, inputs: list[str], output_names: list[str]) -> tuple[Graph, list[Diagnostic]]:
    """A model spec as a graph: one step reading every input, in declared order."""
    step, found = make_step(MODEL_STEP, assign_paths(root), inputs, ("inputs",))
    return Graph(list(inputs), [step], {name: MODEL_STEP for name in output_names}, single=True), found


def _input_names(raw: Any) -> list:
    if raw is None:
        return []
    return [raw] if isinstance(raw, str) else list(raw) if isinstance(raw, list) else [raw]


def build_graph(spec_nodes: dict[str, Any], inputs: list[str], outputs: dict[str, str]) -> tuple[Graph | None, list[Diagnostic]]:
    """An explicit graph; None (and the findings) when it cannot be wired."""
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
            node = as_component({k: v for k, v in raw.items() if k != "in"}, path)()
        except Exception as err:  # SpecError from validation, or a builder's own ValueError
            found.extend(_as_diagnostics(err, path, raw))
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


def _as_diagnostics(err: Exception, path: tuple, raw: Any) -> list[Diagnostic]:
    if isinstance(err, SpecError):
        return err.diagnostics
    from .pipeline import builder_error

    return [builder_error(err, path, raw)]


class GraphModule(nn.Module):
    """Runs named sub-modules in dependency order; inputs by name or position."""

    def __init__(self, modules: dict[str, nn.Module], wiring: dict[str, list[str]], inputs: list[str],
                 outputs: dict[str, str], calls: dict[str, str]) -> None:
        super().__init__()
        for name, module in modules.items():
            self.add_module(name, module)
        # `wiring` is in dependency order: forward runs the steps in that order
        self.wiring, self.input_names, self.output_map, self.calls = dict(wiring), list(inputs), dict(outputs), dict(calls)

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


def lower_graph(graph: Graph) -> nn.Module:
    """The module of a graph: a model spec's own tree, or a ``GraphModule`` of its steps."""
    from .lower_torch import lower

    if graph.single:
        return lower(graph.steps[0].node)
    return GraphModule({s.name: lower(s.node) for s in graph.steps}, graph.wiring, graph.inputs,
                       graph.outputs, graph.calls)


#: the name this IR had before both spec forms shared it
GraphIR = Graph
