"""Composite efficient blocks described once, as data: a list of parts ``(module path, block class,
kwargs)``. The module is built from the parts, and the compiler's static rules walk the same parts
as IR children, so the two cannot disagree on names, order or arguments."""
from __future__ import annotations

from typing import Callable, Iterator, Sequence

import torch.nn as nn

from graphspec import registry
from graphspec.compiler.ir import Node
from graphspec.compiler.template import expand_node

#: ``(path, block class, kwargs)``; a path ``group.name`` puts the block in an ``nn.Sequential`` ``group``
Part = tuple[str, type, dict]


def attach_parts(module: nn.Module, parts: Sequence[Part]) -> None:
    """Construct the parts as sub-modules of ``module``, in order (which is the state_dict order)."""
    groups: dict[str, nn.Sequential] = {}
    for path, cls, kwargs in parts:
        group, _, name = path.rpartition(".")
        child = cls(**kwargs)
        if not group:
            module.add_module(name, child)
            continue
        if group not in groups:
            groups[group] = nn.Sequential()
            module.add_module(group, groups[group])
        groups[group].add_module(name, child)


def part_children(parts_of: Callable[..., list]) -> Callable[[Node], Iterator[tuple[str, Node]]]:
    """An op's ``children`` hook: the IR nodes of ``parts_of(**node.args)``, made once per node."""

    def children(node: Node) -> Iterator[tuple[str, Node]]:
        made = node.meta.get("parts")
        if made is None:
            made = [(path, expand_node(_op_name(cls), kwargs, node.source)) for path, cls, kwargs in parts_of(**node.args)]
            node.meta["parts"] = made
        return iter(made)

    return children


def _op_name(cls: type) -> str:
    found = registry.op_for_callable(cls)
    if found is None:
        raise TypeError(f"{cls.__name__} is not a registered op")
    return found[0]
