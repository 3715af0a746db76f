"""The one IR of a model spec: a ``Graph`` of steps in dependency order.

A step is one IR tree (its root ``Node``) fed by named values (the spec's inputs or earlier
steps). An explicit graph (``nodes:``, wired by ``compiler.wiring``) has one step per node,
named by it; the lowered module is an ``ExplicitGraph`` (``compiler.runtime``) whose attributes
are the node names (state_dict keys ``node.param``). A model spec (``model:``) is a graph of one
step that reads every declared input; its tree's paths start at the root (``blocks.0.conv``)
because the lowered module is that tree itself (``Graph.single``), exactly as PyTorchVideo's
builder returns it.

Inference, state layout, expand, summaries, drawing, lowering and IR passes all walk this one
structure: ``graph.steps`` in order, ``step.node.walk()`` inside each.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Iterator

from graphspec import registry
from graphspec.spec.errors import Diagnostic

from .ir import PYTHON_OP, Node, assign_paths, call_mode

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


#: the name this IR had before both spec forms shared it
GraphIR = Graph
