"""Keep time folded into the batch between consecutive 2-D ops.

Each rewrite pass emits a drop-in module (5-D in, 5-D out). This pass lets every mobile module
return its natural layout instead (``out_layout=None``) and forces a layout only where a
consumer needs one: an op that was not rewritten (it gets ``[N, C, T, H, W]``), the model's
outputs, the steps of an explicit graph (except between a step and the one that continues it,
``base.continued``), and the two sides of a residual sum (they must agree). It simulates the dataflow of
the containers that declare it (``compiler.dataflow``); an opaque container's children are each
treated as their own region, with 5-D tensors at their boundaries. Forcing is monotone (a
forced ``ncthw`` is never undone), so the fixed point is reached in a few sweeps.
"""
from __future__ import annotations

from typing import Callable

from graphspec.compiler.ir import Node

from graphspec.compiler.dataflow import InSequence, Prefix, Residual, dataflow, slot_nodes
from graphspec.compiler.traits import KEEPS_LAYOUT, has_trait

from .base import Pass, WeightedGraph, continued


def _pointwise(node: Node) -> bool:
    a = node.args
    return tuple(a["kernel_size"]) == (1, 1) and tuple(a["stride"]) == (1, 1) and tuple(a["padding"]) == (0, 0)


def _pool_natural(node: Node, layout: str) -> str:
    a = node.args
    temporal = (a["kernel_size"][0], a["stride"][0], a["padding"][0]) != (1, 1, 0)
    return "ncthw" if temporal else "folded"


#: the layout each mobile op returns given its input's, when no other is forced
NATURAL: dict[str, Callable[[Node, str], str]] = {
    "FoldedConv2d": lambda node, layout: layout if _pointwise(node) else "folded",
    "TemporalConv2d": lambda node, layout: "folded",  # it computes on 5-D; the ops after it are 2-D
    "TemporalTapConv": lambda node, layout: "folded",
    "FramesInChannelsConv2d": lambda node, layout: "folded",  # computes on 5-D; its output is folded as it is
    "FactorizedPool": _pool_natural,
    "GlobalAvgPool": lambda node, layout: "ncthw",
}

Producers = frozenset  # of id(node): the mobile nodes whose out_layout decides a tensor's layout


class KeepFoldedLayout(Pass):
    name = "keep-folded-layout"
    matches = frozenset(NATURAL)
    #: every pass that emits a mobile op, and those that remove 5-D-only ops between them
    after = ("fold-batch-norm", "frames-in-channels", "pointwise-conv-to-conv2d", "spatial-conv-to-conv2d", "temporal-conv-to-conv2d",
             "conv3d-to-taps", "global-pool-to-mean", "pool3d-to-pool2d", "squeeze-excitation-to-gemm")

    def run(self, graph: WeightedGraph) -> bool:
        mobile = {id(n): n for n in graph.walk() if n.op in NATURAL}
        before = {key: node.args.get("out_layout") for key, node in mobile.items()}
        self.forced: dict[int, str] = {}
        before_step = continued(graph.graph)
        continuing = set(before_step.values())
        for _ in range(2 * len(mobile) + 2):
            count = dict(self.forced)
            # a step gets and returns 5-D tensors, except between two steps one continues
            ends: dict[str, tuple[str, Producers]] = {}
            for step in graph.graph.steps:
                start = ends.pop(before_step[step.name]) if step.name in before_step else ("ncthw", Producers())
                end = self._flow(step.node, *start)
                if step.name in continuing:
                    ends[step.name] = end
                else:
                    self._require(*end, "ncthw")
            if self.forced == count:
                break
        for key, node in mobile.items():
            node.args["out_layout"] = self.forced.get(key)
        return any(node.args["out_layout"] != before[key] for key, node in mobile.items())

    def _require(self, layout: str, producers: Producers, want: str) -> None:
        if layout != want:
            for key in producers:
                if self.forced.get(key) != "ncthw":  # ncthw is final: it suits every consumer
                    self.forced[key] = want

    def _flow(self, node: Node | None, layout: str, producers: Producers) -> tuple[str, Producers]:
        if node is None or has_trait(node.op, KEEPS_LAYOUT):
            return layout, producers
        if node.op in NATURAL:
            return self.forced.get(id(node), NATURAL[node.op](node, layout)), Producers({id(node)})
        flow = dataflow(node)
        if isinstance(flow, InSequence):
            for child in slot_nodes(node, flow.slots_of(node)):
                layout, producers = self._flow(child, layout, producers)
            return layout, producers
        if isinstance(flow, Residual):
            return self._residual(node, flow, layout, producers)
        # opaque: it gets and returns 5-D tensors; each child is a region of its own
        prefix = slot_nodes(node, flow.slots) if isinstance(flow, Prefix) else []
        for child in prefix:
            layout, producers = self._flow(child, layout, producers)
        self._require(layout, producers, "ncthw")
        for _, child in node.children():
            if any(child is p for p in prefix):
                continue
            self._require(*self._flow(child, "ncthw", Producers()), "ncthw")
        return "ncthw", Producers()

    def _residual(self, node: Node, flow: Residual, layout: str, producers: Producers) -> tuple[str, Producers]:
        sides = []
        for slots in (flow.shortcut, flow.branch):
            side = (layout, producers)
            for child in slot_nodes(node, slots):
                side = self._flow(child, *side)
            sides.append(side)
        (l1, p1), (l2, p2) = sides
        if l1 != l2:
            # a side that cannot change (not made by a mobile op, or already forced to 5-D) wins;
            # otherwise the side that made a new tensor (not the block's input) converts
            if any(not p or any(self.forced.get(k) == "ncthw" for k in p) for p in (p1, p2)):
                self._require(l1, p1, "ncthw")
                self._require(l2, p2, "ncthw")
            elif p2 != producers:
                self._require(l2, p2, l1)
            else:
                self._require(l1, p1, l2)
        out = (l1, p1 | p2)  # the next sweep sees the forced layouts
        for child in slot_nodes(node, flow.after):
            out = self._flow(child, *out)
        return out
