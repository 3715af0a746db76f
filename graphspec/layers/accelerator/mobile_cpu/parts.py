"""Efficient blocks described once, as data: a list of parts ``(module path, class, kwargs)`` --
convolutions, norms, activations, pools, and for the composite blocks other efficient blocks.

The block's module is built from its parts, and the compiler sees the same parts as the node's
IR children (``part_children``; ``compiler.dataflow.PARTS``), so the two cannot disagree on names,
order or arguments. Because the parts are IR nodes, the mobile lowering passes rewrite them like
any other node, and the IR lowering (``compiler.lower_torch``) assembles the block from its
lowered parts (``PartsBlock.assemble``): one run of the passes over a model's IR lowers every block in it, and a
block's ``convert`` runs the same passes on the block's own IR (``lowering.lower_block``).
"""
from __future__ import annotations

from typing import Any, Callable, ClassVar, Iterator, Sequence

import torch.nn as nn

from graphspec import registry
from graphspec.compiler.dataflow import PARTS
from graphspec.compiler.ir import Node
from graphspec.compiler.template import expand_node

#: ``(path, class, kwargs)``; a path ``group.name`` puts the part in an ``nn.Sequential`` ``group``
Part = tuple[str, type, dict]


def attach(module: nn.Module, built: Sequence[tuple[str, nn.Module]]) -> None:
    """Attach built parts to ``module`` in order (which is the state_dict order)."""
    groups: dict[str, nn.Sequential] = {}
    for path, child in built:
        group, _, name = path.rpartition(".")
        if not group:
            module.add_module(name, child)
            continue
        if group not in groups:
            groups[group] = nn.Sequential()
            module.add_module(group, groups[group])
        groups[group].add_module(name, child)


class PartsBlock(nn.Module):
    """A module whose sub-modules are its parts: ``parts(**args)`` lists them, ``configure(**args)``
    sets its plain attributes. ``__init__`` of a subclass (which keeps PyTorchVideo's signature)
    calls ``build(locals())``; the IR lowering calls ``assemble`` with the parts it lowered."""

    #: ``parts(**args)``: the block's parts for its constructor's arguments, in registration order
    parts: ClassVar[Callable[..., list[Part]]]

    def build(self, args: dict[str, Any]) -> None:
        """Construct the parts from ``args`` (a subclass ``__init__``'s ``locals()``) and attach them."""
        args = {k: v for k, v in args.items() if k not in ("self", "__class__")}
        attach(self, [(path, cls(**kwargs)) for path, cls, kwargs in type(self).parts(**args)])
        self._finish(args)

    @classmethod
    def assemble(cls, args: dict[str, Any], built: Sequence[tuple[str, nn.Module]]) -> "PartsBlock":
        """The block of ``args`` made of parts built elsewhere (the IR lowering's, maybe rewritten
        by the mobile passes), without constructing the default ones first."""
        block = cls.__new__(cls)
        nn.Module.__init__(block)
        attach(block, built)
        block._finish(args)
        return block

    def _finish(self, args: dict[str, Any]) -> None:
        #: the arguments the block was made with: its IR node's (``convert`` lowers that node)
        self.block_args = dict(args)
        self.configure(**args)

    def configure(self, **args: Any) -> None:
        """Plain attributes the forward reads (no sub-modules: those are parts)."""


def op_name(cls: type) -> str:
    found = registry.op_for_callable(cls)
    if found is None:
        raise TypeError(f"{cls.__name__} is not a registered op")
    return found[0]


def part_children(node: Node) -> Iterator[tuple[str, Node]]:
    """The ``children`` hook of a ``PartsBlock`` op: the IR nodes of its parts, made once per node
    and kept in ``node.meta[PARTS]`` (where the mobile passes replace them)."""
    made = node.meta.get(PARTS)
    if made is None:
        cls = registry.get(node.op).target
        made = [(path, _part_node(part, kwargs, node.source)) for path, part, kwargs in cls.parts(**node.args)]
        node.meta[PARTS] = made
    return iter(made)


def _part_node(cls: type, kwargs: dict, source: tuple) -> Node:
    """A part's node; a component argument of the block that the part takes (squeeze-excitation's
    activation) is already a node: it moves into the part as it is."""
    nodes = {key: value for key, value in kwargs.items() if isinstance(value, Node)}
    part = expand_node(op_name(cls), {key: value for key, value in kwargs.items() if key not in nodes}, source)
    part.args.update(nodes)
    return part

