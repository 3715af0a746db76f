"""What every IR pass shares: the graph it rewrites (an IR tree plus the tensors of its
state_dict, since folding batch norm or splitting a kernel changes weights), node replacement
and the chains of leaves that feed each other.

A pass is a small named object: ``run(graph) -> bool`` says whether it changed the graph. It
declares the ops it matches (``matches``: checked against the registry, and the index the pass
manager and ``NodeRewrite`` visit) and the passes that must run before it (``after``). Passes
run through the pass manager (``passes.manager.run_passes``), which re-infers the shapes after
each one (``replace`` drops the replaced node's derived facts) and, when asked, verifies the
graph. After any pass, ``graph.lower()`` builds a module that computes what the original computed.
"""
from __future__ import annotations

import copy
from collections import Counter
from dataclasses import dataclass, field
from typing import Iterator

import torch
import torch.nn as nn

import graphspec.mobile.modules  # noqa: F401  (registers the mobile ops the passes emit)
from graphspec.compiler.dataflow import PARTS, InSequence, Residual, dataflow, parts_of, slot_nodes
from graphspec.compiler.graph import Graph, Step
from graphspec.compiler.infer import Value
from graphspec.compiler.ir import Node, assign_paths
from graphspec.compiler.lower_torch import lower_graph
from graphspec.compiler.traits import INTERNAL_PARTS, has_trait

#: meta facts the compiler's inference derives from a node's place and arguments (its parts too): a
#: replacement starts without them (the pass manager infers them again); the others (its spec
#: location) carry over
DERIVED_META = frozenset({"inputs", "output", "macs", "params", "inferred_by", PARTS})

#: where a node sits: its parent node (or the step whose root it is), the argument and list index
#: (``PARTS`` and the part's index for a part of an efficient block)
Place = tuple["Node | Step", "str | None", "int | None"]


@dataclass
class WeightedGraph:
    """The compiler's IR graph (``compiler.graph.Graph``: steps, each an IR tree), the tensors of
    its state_dict (keys are IR paths plus the parameter name) and the types of its inputs (for
    the pass manager's shape inference)."""

    graph: Graph
    state: dict[str, torch.Tensor] = field(default_factory=dict)
    inputs: dict[str, Value] = field(default_factory=dict)
    #: id(node) -> its place, and op -> {id(node): node}; built on first use, kept by ``replace``
    _places: dict[int, Place] | None = field(default=None, repr=False)
    _by_op: dict[str, dict[int, Node]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if not self.inputs:
            self.inputs = _input_types(self.graph)

    @classmethod
    def of(cls, graph: Graph, module: nn.Module) -> "WeightedGraph":
        """A copy of a compiled (inferred) ``graph`` with ``module``'s weights."""
        return cls(copy.deepcopy(graph), {k: v.detach().clone() for k, v in module.state_dict().items()})

    def walk(self) -> Iterator[Node]:
        for step in list(self.graph.steps):
            yield from step.node.walk()

    @property
    def roots(self) -> list[Node]:
        return [step.node for step in self.graph.steps]

    def lower(self, device: str | None = None) -> nn.Module:
        """The module with this graph's weights (``device="meta"``: shapes only, for checks)."""
        with torch.device(device or "cpu"):
            module = lower_graph(self.graph)
        module.load_state_dict(self.state, strict=True, assign=device == "meta")
        return module.eval()

    def take(self, path: str) -> dict[str, torch.Tensor]:
        """Remove and return the state entries under the module at ``path``, keyed relative to it."""
        prefix = f"{path}." if path else ""
        own = {k[len(prefix):]: v for k, v in self.state.items() if k.startswith(prefix)}
        for name in own:
            del self.state[prefix + name]
        return own

    def put(self, path: str, entries: dict[str, torch.Tensor]) -> None:
        prefix = f"{path}." if path else ""
        self.state.update({prefix + k: v for k, v in entries.items()})

    # ---- the index: each node's place and the nodes of each op ---------------------------------
    def _index(self) -> dict[int, Place]:
        if self._places is None:
            self._places, self._by_op = {}, {}
            for step in self.graph.steps:
                self._add(step.node, (step, None, None))
        return self._places

    def reindex(self) -> None:
        """Forget the index (the manager calls it before each pass, so a pass that edits the tree
        by hand is never matched against a stale one)."""
        self._places = None

    def _add(self, node: Node, place: Place) -> None:
        self._places[id(node)] = place
        self._by_op.setdefault(node.op, {})[id(node)] = node
        parts = parts_of(node)
        if parts is not None:  # its sub-nodes are its parts (an argument node, if any, is inside one)
            for i, (_, part) in enumerate(parts):
                self._add(part, (node, PARTS, i))
            return
        for key, value in node.args.items():
            if isinstance(value, Node):
                self._add(value, (node, key, None))
            elif isinstance(value, (list, tuple)):
                for i, item in enumerate(value):
                    if isinstance(item, Node):
                        self._add(item, (node, key, i))

    def _drop(self, node: Node) -> None:
        for below in node.walk():
            self._places.pop(id(below), None)
            self._by_op.get(below.op, {}).pop(id(below), None)

    def contains(self, node: Node) -> bool:
        return id(node) in self._index()

    def nodes_of(self, ops: frozenset[str] | set[str]) -> list[Node]:
        """The graph's nodes of these ops (a snapshot: replacing some does not disturb it)."""
        self._index()
        return [node for op in sorted(ops) for node in self._by_op.get(op, {}).values()]

    def replace(self, old: Node, new: Node) -> Node:
        """Put ``new`` where ``old`` is in the tree: the same module path (its children's paths
        follow), the spec location kept, the facts derived from ``old`` dropped (the pass manager
        infers them again). O(size of the two subtrees): the index knows ``old``'s place."""
        place = self._index().get(id(old))
        if place is None:
            raise KeyError(f"{old.path or '<root>'}: node is not in the graph")
        parent, key, i = place
        if isinstance(parent, Step):
            parent.node = new
        elif PARTS in parent.meta:  # such a node indexes its parts only (``_add``)
            parts = parent.meta[PARTS]
            parts[i] = (parts[i][0], new)
        elif i is None:
            parent.args[key] = new
        elif isinstance(parent.args[key], list):
            parent.args[key][i] = new
        else:
            parent.args[key] = type(parent.args[key])(new if j == i else v for j, v in enumerate(parent.args[key]))
        new.meta = {**{k: v for k, v in old.meta.items() if k not in DERIVED_META}, **new.meta}
        assign_paths(new, old.path)
        self._drop(old)
        self._add(new, place)
        return new


def _input_types(graph: Graph) -> dict[str, Value]:
    """The graph inputs' types, as the compiler's inference recorded them on the steps reading them."""
    types: dict[str, Value] = {}
    for step in graph.steps:
        seen = step.node.meta.get("inputs")
        if seen is None:
            continue
        values = seen[0] if step.call == "list" else seen
        types.update({name: value for name, value in zip(step.inputs, values) if name in graph.inputs})
    return types


class Pass:
    """A named IR rewrite; subclasses implement ``run`` (True when the graph changed).

    ``matches``: the ops it rewrites or starts from (registered ops; the manager skips a pass
    whose ops the graph does not hold). ``after``: names of passes that must run before it
    when both run (the manager checks the order)."""

    name: str = ""
    matches: frozenset[str] = frozenset()
    after: tuple[str, ...] = ()

    def run(self, graph: WeightedGraph) -> bool:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<pass {self.name}>"


class NodeRewrite(Pass):
    """A pass that rewrites single nodes of its ``matches`` ops: ``rewrite(graph, node)`` returns
    the replacement node (its state already placed) or None to leave the node alone."""

    def rewrite(self, graph: WeightedGraph, node: Node) -> Node | None:
        raise NotImplementedError

    def run(self, graph: WeightedGraph) -> bool:
        changed = False
        for node in graph.nodes_of(self.matches):
            if not graph.contains(node):  # inside a node an earlier rewrite replaced
                continue
            new = self.rewrite(graph, node)
            if new is not None:
                graph.replace(node, new)
                changed = True
        return changed


# ---- chains: the leaves that feed each other (the containers' dataflow as their ops declare it) ----


def continued(graph: Graph) -> dict[str, str]:
    """Steps of an explicit graph that continue the one step they read: step name -> the step
    before it. The value flows on unchanged in between (no other step or output reads it), so a
    pass may treat the two steps as one run."""
    readers = Counter(name for step in graph.steps for name in step.inputs)
    readers.update(graph.outputs.values())
    steps = {step.name for step in graph.steps}
    return {step.name: step.inputs[0] for step in graph.steps
            if len(step.inputs) == 1 and step.inputs[0] in steps and readers[step.inputs[0]] == 1}


def chains(graph: WeightedGraph) -> Iterator[list[Node]]:
    """Runs of leaves that feed each other directly, in execution order: sequence containers
    flattened, each residual branch and each child of an opaque container its own run. A step
    of an explicit graph that continues the step it reads (``continued``) continues that step's
    last run (passes see across the steps of a ``nodes:`` spec)."""
    before = continued(graph.graph)
    runs: list[list[Node]] = []
    tails: dict[str, list[Node]] = {}
    for step in graph.graph.steps:
        out: list[list[Node]] = [[]]
        _collect(step.node, out)
        if step.name in before:
            tail = tails[before[step.name]]
            tail.extend(out[0])
            out[0] = tail  # the same list, already in ``runs``
            runs.extend(out[1:])
        else:
            runs.extend(out)
        tails[step.name] = out[-1]
    yield from (run for run in runs if run)


def _collect(node: Node, out: list[list[Node]]) -> None:
    """Append ``node``'s leaves to the current run ``out[-1]``, opening new runs where data
    does not flow directly from one leaf to the next."""
    flow = dataflow(node)
    if isinstance(flow, InSequence):
        for child in slot_nodes(node, flow.slots_of(node)):
            _collect(child, out)
    elif isinstance(flow, Residual):
        for slots in (flow.shortcut, flow.branch, flow.after):
            out.append([])
            for child in slot_nodes(node, slots):
                _collect(child, out)
        out.append([])
    elif any(True for _ in node.children()) and not has_trait(node.op, INTERNAL_PARTS):
        out.append([])
        for _, child in node.children():
            _collect(child, out)
            out.append([])
    else:
        out[-1].append(node)


def input_shape(node: Node) -> tuple | None:
    """The static shape of the node's (first) input, recorded by the compiler's inference."""
    inputs = node.meta.get("inputs") or []
    first = inputs[0] if inputs else None
    shape = getattr(first, "shape", None)
    return tuple(shape) if shape is not None and all(isinstance(d, int) for d in shape) else None


def triple(value) -> tuple[int, int, int]:
    return tuple(value) if isinstance(value, (list, tuple)) else (value, value, value)



def conv_geometry(node: Node) -> tuple[tuple[int, int, int], ...] | None:
    """``(kernel, stride, padding, dilation)`` triples of a zero-padded Conv3d with a static
    5-D input; None for anything a 2-D rewrite cannot reproduce (string padding, other padding
    modes, unknown shapes)."""
    a = node.args
    shape = input_shape(node)
    if node.op != "Conv3d" or shape is None or len(shape) != 5 or isinstance(a.get("padding", 0), str) \
            or a.get("padding_mode", "zeros") != "zeros":
        return None
    return tuple(triple(a.get(key, default)) for key, default in
                 (("kernel_size", 1), ("stride", 1), ("padding", 0), ("dilation", 1)))


def conv_args(node: Node) -> dict:
    """The arguments every 2-D rewrite of a Conv3d keeps."""
    a = node.args
    return dict(in_channels=a["in_channels"], out_channels=a["out_channels"], groups=a.get("groups", 1),
                bias=a.get("bias", True), frames=input_shape(node)[2], out_layout="ncthw")


class Conv3dRewrite(NodeRewrite):
    """A rewrite of Conv3d nodes whose geometry a 2-D rewrite can reproduce (``conv_geometry``):
    ``rewrite_conv`` gets the four triples and returns the replacement or None. Batch norm folds
    into Conv3d nodes only, and ConvReduce3D's convolutions become Conv3d nodes: both first."""

    matches = frozenset({"Conv3d"})
    after = ("conv-reduce-to-branches", "fold-batch-norm")

    def rewrite(self, graph: WeightedGraph, node: Node) -> Node | None:
        geometry = conv_geometry(node)
        return None if geometry is None else self.rewrite_conv(graph, node, *geometry)

    def rewrite_conv(self, graph: WeightedGraph, node: Node, kernel: tuple, stride: tuple, padding: tuple,
                     dilation: tuple) -> Node | None:
        raise NotImplementedError


def slice_weight(graph: WeightedGraph, path: str, index: tuple) -> None:
    """Keep only ``weight[index]`` of the module at ``path`` (a size-1 kernel axis dropped)."""
    entries = graph.take(path)
    entries["weight"] = entries["weight"][index]
    graph.put(path, entries)


def folded_conv2d(graph: WeightedGraph, node: Node, kernel: tuple, stride: tuple, padding: tuple,
                  dilation: tuple) -> Node:
    """A Conv3d with a size-1 kernel in time (no temporal stride or padding) as ``FoldedConv2d``."""
    slice_weight(graph, node.path, (slice(None), slice(None), 0))
    return Node("FoldedConv2d", dict(conv_args(node), kernel_size=kernel[1:], stride=stride[1:],
                                     padding=padding[1:], dilation=dilation[1:]))
