"""What every IR pass shares: the graph it rewrites (an IR tree plus the tensors of its
state_dict, since folding batch norm or splitting a kernel changes weights), node replacement
and the dataflow order of the containers.

A pass is a small named object: ``run(graph) -> bool`` says whether it changed the graph.
After any pass, ``graph.lower()`` builds a module that computes what the original computed.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

import copy

import torch
import torch.nn as nn

import graphspec.layers.mobile  # noqa: F401  (registers the mobile ops the passes emit)
from graphspec.compiler.ir import Node
from graphspec.compiler.graph import Graph, lower_graph


@dataclass
class WeightedGraph:
    """The compiler's IR graph (``compiler.graph.Graph``: steps, each an IR tree) and the
    tensors of its state_dict (keys are IR paths plus the parameter name)."""

    graph: Graph
    state: dict[str, torch.Tensor] = field(default_factory=dict)

    @classmethod
    def of(cls, graph: Graph, module: nn.Module) -> "WeightedGraph":
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

    def replace(self, old: Node, new: Node) -> Node:
        """Put ``new`` where ``old`` is in the tree (same path, its meta facts kept)."""
        new.path, new.meta = old.path, {**old.meta, **new.meta}
        for step in self.graph.steps:
            if step.node is old:
                step.node = new
                return new
        for parent in self.walk():
            for key, value in parent.args.items():
                if value is old:
                    parent.args[key] = new
                    return new
                if isinstance(value, (list, tuple)) and any(v is old for v in value):
                    parent.args[key] = type(value)(new if v is old else v for v in value)
                    return new
        raise KeyError(f"{old.path or '<root>'}: node is not in the graph")


class Pass:
    """A named IR rewrite; subclasses implement ``run`` (True when the graph changed)."""

    name: str = ""

    def run(self, graph: WeightedGraph) -> bool:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<pass {self.name}>"


class NodeRewrite(Pass):
    """A pass that rewrites single nodes: ``rewrite(graph, node)`` returns the replacement node
    (its state already placed) or None to leave the node alone."""

    def rewrite(self, graph: WeightedGraph, node: Node) -> Node | None:
        raise NotImplementedError

    def run(self, graph: WeightedGraph) -> bool:
        changed = False
        for node in list(graph.walk()):
            new = self.rewrite(graph, node)
            if new is not None:
                graph.replace(node, new)
                changed = True
        return changed


# ---- dataflow of the containers (rules as data) ------------------------------------------------
#: containers whose forward runs these argument slots one after the other on one tensor
SEQUENCES: dict[str, tuple[str, ...]] = {
    "Net": ("blocks",),
    "Sequential": ("modules",),
    "ResStage": ("res_blocks",),
    "BottleneckBlock": ("conv_a", "norm_a", "act_a", "conv_b", "norm_b", "act_b", "conv_c", "norm_c"),
    "ResNetBasicStem": ("conv", "norm", "activation", "pool"),
    "ProjectedPool": ("pre_conv", "pre_norm", "pre_act", "pool", "post_conv", "post_norm", "post_act"),
    "Conv2plus1d": ("conv_t", "norm", "activation", "conv_xy"),
}
#: containers computing ``activation(shortcut(x) + branch2(x))``
RESIDUALS: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "ResBlock": (("branch1_conv", "branch1_norm"), ("branch2",), ("activation",)),
}
#: containers whose forward first runs these slots in order on its input, then does more
PREFIXES: dict[str, tuple[str, ...]] = {
    "ResNetBasicHead": ("pool",),
}
#: element-wise ops: they run in any layout and keep it
ELEMENTWISE = frozenset({"ReLU", "ReLU6", "LeakyReLU", "ELU", "GELU", "SiLU", "Sigmoid", "Tanh", "Hardswish",
                         "Hardsigmoid", "Identity", "Swish", "SigmoidMul", "Dropout", "ChannelAffine"})
#: modules whose component arguments are internal parts (an activation), not dataflow steps
LEAVES_WITH_CHILDREN = frozenset({"SqueezeExcitation", "SqueezeExcitationGemm"})


def sequence(node: Node) -> list[Node | None]:
    """The children of a sequence container in the order its forward runs them."""
    slots = list(SEQUENCES[node.op])
    if node.op == "Conv2plus1d" and node.args.get("conv_xy_first"):
        slots = ["conv_xy", "norm", "activation", "conv_t"]
    items: list[Node | None] = []
    for slot in slots:
        value = node.args.get(slot)
        items.extend(value if isinstance(value, (list, tuple)) else [value])
    return [v for v in items if isinstance(v, Node)]


def chains(roots: list[Node]) -> Iterator[list[Node]]:
    """Runs of leaves that feed each other directly (sequence containers flattened, each
    residual branch and each child of an opaque container its own run), in execution order."""
    out: list[list[Node]] = [[]]
    for root in roots:
        _collect(root, out)
        out.append([])
    yield from (run for run in out if run)


def _collect(node: Node, out: list[list[Node]]) -> None:
    """Append ``node``'s leaves to the current run ``out[-1]``, opening new runs where data
    does not flow directly from one leaf to the next."""
    if node.op in SEQUENCES:
        for child in sequence(node):
            _collect(child, out)
    elif node.op in RESIDUALS:
        for slots in RESIDUALS[node.op]:
            out.append([])
            for slot in slots:
                if isinstance(node.args.get(slot), Node):
                    _collect(node.args[slot], out)
        out.append([])
    elif any(True for _ in node.children()) and node.op not in LEAVES_WITH_CHILDREN:
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
    ``rewrite_conv`` gets the four triples and returns the replacement or None."""

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
