"""The IR: a tree of nodes, each one call of a registered op.

A compiled spec is a ``Graph`` (``compiler.graph``) of steps; each step's ``node`` is the root
of such a tree. A node has an ``op`` (registered name), ``args`` (plain values, child nodes, lists of child
nodes or None), ``inputs`` (value names it reads, in explicit graphs), a ``path`` (the qualified
name of the module it lowers to, e.g. ``blocks.1.res_blocks.0.branch2.conv_a``) and ``meta``
(facts found by the compiler: output type, params, MACs, the spec key that produced it).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator

from graphspec import registry
from graphspec.spec.errors import Diagnostic

#: op name of a node wrapping an unregistered Python callable (Python API only, never YAML)
PYTHON_OP = "<python>"

#: meta key of the ``(module name, node)`` sub-nodes an op's ``children`` hook made from its arguments
PARTS = "parts"


@dataclass(eq=False)
class Node:
    op: str
    args: dict[str, Any] = field(default_factory=dict)
    inputs: list[str] = field(default_factory=list)
    path: str = ""
    meta: dict[str, Any] = field(default_factory=dict)

    def children(self) -> Iterator[tuple[str, "Node"]]:
        """Direct sub-nodes as ``(relative name, node)``: ``conv``, ``blocks.0``, ... -- the names
        the lowered module gives them (an op's ``children`` hook says so where they differ)."""
        opdef = registry.find(self.op)
        if opdef is not None and opdef.children is not None:
            return opdef.children(self)
        return argument_children(self)

    def walk(self) -> Iterator["Node"]:
        """This node and every node below it, parents first."""
        yield self
        for _, child in self.children():
            yield from child.walk()

    @property
    def shown(self) -> str:
        """The node as messages name it: its module path, or "the model" for a model spec's root."""
        return self.path or "the model"

    @property
    def given(self) -> dict[str, Any]:
        """The arguments its spec (or a builder's call) wrote, without the defaults the binder
        filled in (``compiler.bind``); a node a pass made has all its arguments given."""
        written = self.meta.get("given")
        return dict(self.args) if written is None else {key: self.args[key] for key in written if key in self.args}

    @property
    def source(self) -> tuple:
        """The spec key path whose component produced this node (for error locations)."""
        return self.meta.get("source", ())

    def __repr__(self) -> str:
        return f"Node({self.op!r}, path={self.path!r})"


def parts_of(node: Node) -> list[tuple[str, Node]] | None:
    """The node's parts (made by its ``children`` hook on first use), or None for an op whose
    sub-nodes are its arguments."""
    if PARTS not in node.meta:
        node.children()
    return node.meta.get(PARTS)


def argument_children(node: Node) -> Iterator[tuple[str, Node]]:
    """Sub-nodes named by their argument (``conv``), list items by their index (``blocks.0``;
    a ``null`` item keeps its index, as it does in the lowered ``nn.ModuleList``)."""
    for key, value in node.args.items():
        if isinstance(value, Node):
            yield key, value
        elif isinstance(value, (list, tuple)) and any(isinstance(v, Node) for v in value):
            for i, item in enumerate(value):
                if isinstance(item, Node):
                    yield f"{key}.{i}", item


def call_mode(node: Node) -> registry.CallMode:
    """How ``node`` takes several inputs: as positional arguments or as one list."""
    opdef = registry.find(node.op)
    return opdef.call_mode(node) if opdef is not None else "args"


def assign_paths(root: Node, prefix: str = "") -> Node:
    """Give every node below ``root`` the qualified module name it will lower to."""
    root.path = prefix
    for name, child in root.children():
        assign_paths(child, f"{prefix}.{name}" if prefix else name)
    return root


def lint(root: Node) -> list[Diagnostic]:
    """Structural checks of an IR tree: registered ops, known and complete arguments, no node
    shared between two parents (a module has one owner), unique paths."""
    found: list[Diagnostic] = []
    seen: set[int] = set()
    paths: set[str] = set()
    known = set(registry.names())
    for node in root.walk():
        where = node.shown
        if id(node) in seen:
            found.append(Diagnostic(f"{where}: node appears twice in the tree", path=node.source, code="ir"))
        seen.add(id(node))
        if node.path in paths and node is not root:
            found.append(Diagnostic(f"{where}: duplicate module path", path=node.source, code="ir"))
        paths.add(node.path)
        if node.op == PYTHON_OP:
            continue
        if node.op not in known:
            found.append(Diagnostic(f"{where}: unknown op {node.op!r}", path=node.source, code="ir"))
            continue
        opdef = registry.get(node.op)
        if opdef.kind == "builder":
            found.append(Diagnostic(f"{where}: builder {node.op!r} left unexpanded", path=node.source, code="ir"))
        for key in node.args:
            if key not in opdef.args:
                found.append(Diagnostic(f"{where}: {node.op} has no argument {key!r}", path=node.source, code="ir"))
        for key, spec in opdef.args.items():
            if spec.required and key not in node.args:
                found.append(Diagnostic(f"{where}: {node.op} needs argument {key!r}", path=node.source, code="ir"))
    return found
