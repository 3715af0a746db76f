"""How a container's forward moves its input through its children, declared once on the op.

A container registered with one of these as its ``infer`` rule states its dataflow as data: the
shape inference runs the children in that order, and the IR passes read the same declaration
(``dataflow(node)``) to know which leaves feed each other. The three forms:

* ``InSequence(slots)``: the slots one after the other on one tensor (None skipped; every item of
  a list slot applied), as ``nn.Sequential`` does;
* ``Residual(shortcut, branch, after, merge)``: ``after(merge(shortcut(x), branch(x)))``;
* ``Prefix(slots, rest)``: the slots in order on the input, then more (``rest``) the passes do
  not look into.

A slot is an argument, or -- for an op whose ``children`` hook makes its sub-nodes from its
arguments and keeps them in ``node.meta[PARTS]`` (the Accelerator's efficient blocks) -- a module
name of its parts: the slot ``kernel`` is the parts ``kernel.conv``, ``kernel.bn``, ... in order.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from graphspec import registry

from .infer import Inference, ShapeError
from .ir import PARTS, Node, parts_of  # noqa: F401  (PARTS: the passes and the parts blocks read it here)


def slot_value(node: Node, slot: str) -> Any:
    """The argument ``slot``, or the parts under the module name ``slot`` (a list; None when none)."""
    parts = parts_of(node)
    if parts is None:
        return node.args.get(slot)
    return [child for name, child in parts if name == slot or name.startswith(slot + ".")] or None


def _run_slots(node: Node, ctx: Inference, slots: tuple[str, ...], x: Any) -> Any:
    for slot in slots:
        value = slot_value(node, slot)
        if isinstance(value, list):
            for i, item in enumerate(value):
                if item is None:  # forward calls every item: a null one would fail there
                    raise ShapeError(f"{slot}[{i}] is null: {node.op} applies every item of {slot}", (slot, i))
                x = ctx.run(item, x)
        elif value is not None:
            x = ctx.run(value, x)
    return x


@dataclass(frozen=True)
class InSequence:
    """The slots applied in order; ``order(node)`` gives another order where an argument swaps
    them (``Conv2plus1d(conv_xy_first=True)``)."""

    slots: tuple[str, ...]
    order: Callable[[Node], tuple[str, ...]] | None = None

    def slots_of(self, node: Node) -> tuple[str, ...]:
        return self.order(node) if self.order is not None else self.slots

    def __call__(self, node: Node, ctx: Inference, x: Any) -> Any:
        return _run_slots(node, ctx, self.slots_of(node), x)


@dataclass(frozen=True)
class Residual:
    """``after(merge(node, shortcut(x), branch(x)))``: ``merge`` is the shape rule of the sum
    (or fusion) of the two sides."""

    shortcut: tuple[str, ...]
    branch: tuple[str, ...]
    after: tuple[str, ...]
    merge: Callable[[Node, Any, Any], Any]

    def __call__(self, node: Node, ctx: Inference, x: Any) -> Any:
        merged = self.merge(node, _run_slots(node, ctx, self.shortcut, x), _run_slots(node, ctx, self.branch, x))
        return _run_slots(node, ctx, self.after, merged)


@dataclass(frozen=True)
class Prefix:
    """The slots in order on the input, then ``rest(node, ctx, x)``."""

    slots: tuple[str, ...]
    rest: Callable[[Node, Inference, Any], Any]

    def __call__(self, node: Node, ctx: Inference, x: Any) -> Any:
        return self.rest(node, ctx, _run_slots(node, ctx, self.slots, x))


Dataflow = InSequence | Residual | Prefix


def dataflow(node: Node) -> Dataflow | None:
    """The dataflow ``node``'s op declares (its ``infer`` rule), or None for a leaf or a
    container whose forward is opaque."""
    opdef = registry.find(node.op)
    rule = opdef.infer if opdef is not None else None
    return rule if isinstance(rule, (InSequence, Residual, Prefix)) else None


def slot_nodes(node: Node, slots: tuple[str, ...]) -> list[Node]:
    """The child nodes in ``slots``, in order (list slots flattened, None skipped)."""
    items: list = []
    for slot in slots:
        value = slot_value(node, slot)
        items.extend(value if isinstance(value, (list, tuple)) else [value])
    return [v for v in items if isinstance(v, Node)]
