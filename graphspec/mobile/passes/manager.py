"""The pass manager: runs passes in a checked order, re-infers the graph after each one and, when
asked (tests, ``graphspec export --verify-passes``), verifies it, as torch.fx's ``Graph.lint()``
and shape propagation do:

* before running: every op a pass declares it matches is registered, and each pass's ``after``
  names are known passes that come earlier in the list (``check_passes``);
* after each pass that changed the graph: shape inference over the whole graph (``replace`` dropped the
  replaced nodes' derived facts; the next pass reads fresh shapes, channel widths included);
* after each pass, with ``verify``: the graph's outputs keep their types, the IR lints clean
  (registered ops, known and complete arguments, one owner per node, unique paths, each the
  module name of the node's place), and the
  graph lowers on the meta device with a strict load of its state (every tensor has its module,
  of its shape).

A failure raises ``PassError`` naming the pass that left the graph broken.
"""
from __future__ import annotations

from typing import Iterable, Iterator, Sequence

from graphspec import registry
from graphspec.compiler.infer import Inference, InferenceFailed, Value
from graphspec.compiler.ir import Node, lint
from graphspec.spec.errors import SpecError

from .base import NodeRewrite, Pass, WeightedGraph


class PassError(Exception):
    """A pass list that cannot run (unknown op, order against a pass's ``after``), or a pass
    that left the graph broken."""


def _known_pass_names() -> set[str]:
    found, todo = set(), [Pass]
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls.name:
            found.add(cls.name)
    return found


def check_passes(passes: Sequence[Pass]) -> None:
    """``PassError`` unless every matched op is registered and every pass comes after the passes
    its ``after`` names that are in ``passes`` (each name must be a known pass)."""
    known = _known_pass_names()
    position = {p.name: i for i, p in enumerate(passes)}
    for i, p in enumerate(passes):
        if isinstance(p, NodeRewrite) and not p.matches:
            raise PassError(f"pass {p.name} rewrites nodes but declares no ops it matches")
        unknown = sorted(op for op in p.matches if registry.find(op) is None)
        if unknown:
            raise PassError(f"pass {p.name} matches unregistered ops: {', '.join(unknown)}")
        for name in p.after:
            if name not in known:
                raise PassError(f"pass {p.name} must run after {name!r}, which is no pass")
            if position.get(name, -1) > i:
                raise PassError(f"pass {p.name} must run after {name}, which comes later in the list")


def _outputs(graph: WeightedGraph, after: str) -> dict[str, Value]:
    """The graph outputs' types (every node's meta inferred again); ``PassError`` when they do not infer."""
    try:
        env = Inference().run_graph(graph.graph, graph.inputs)
    except InferenceFailed as failed:
        raise PassError(f"{after} does not infer: {failed.diagnostic.message}") from None
    except SpecError as err:  # an unregistered op
        raise PassError(f"{after} does not infer: {'; '.join(d.message for d in err.diagnostics)}") from None
    return {name: env[source] for name, source in graph.graph.outputs.items()}


def _misplaced(node: Node, path: str) -> Iterator[str]:
    """Nodes whose ``path`` is not the module name their place gives them (state keys, messages
    and the export's op-set check name nodes by it)."""
    if node.path != path:
        yield f"{path or '<root>'}: the node ({node.op}) says its path is {node.path or '<root>'}"
    for name, child in node.children():
        yield from _misplaced(child, f"{path}.{name}" if path else name)


def _verify(graph: WeightedGraph, before: dict[str, Value], after: dict[str, Value]) -> list[str]:
    problems = [f"output {name} is {after.get(name)}, was {value}" for name, value in before.items()
                if after.get(name) != value]
    problems += [d.message for step in graph.graph.steps for d in lint(step.node)]
    problems += [m for step in graph.graph.steps
                 for m in _misplaced(step.node, "" if graph.graph.single else step.name)]
    if problems:
        return problems
    try:
        graph.lower(device="meta")
    except Exception as err:  # load_state_dict's missing/unexpected/mis-shaped keys, a constructor's own check
        return [f"the graph does not lower with its state: {type(err).__name__}: {err}"]
    return []


def run_passes(graph: WeightedGraph, passes: Iterable[Pass] | None = None, *,
               verify: bool = False) -> list[tuple[str, bool]]:
    """Run ``passes`` (default: the mobile lowering) on ``graph`` in order; ``(name, changed)``
    for each. A pass none of whose ``matches`` ops is in the graph is skipped (unchanged)."""
    if passes is None:
        from . import MOBILE

        passes = MOBILE
    passes = list(passes)
    check_passes(passes)
    outputs = _outputs(graph, "the graph before the passes")
    applied = []
    for p in passes:
        graph.reindex()
        changed = (not p.matches or bool(graph.nodes_of(p.matches))) and p.run(graph)
        applied.append((p.name, bool(changed)))
        if not (changed or verify):
            continue
        now = _outputs(graph, f"pass {p.name} left a graph that")
        if verify:
            problems = _verify(graph, outputs, now)
            if problems:
                raise PassError(f"pass {p.name} left a broken graph:\n" + "\n".join(f"  {m}" for m in problems))
    return applied
