"""Drawings of a compiled spec as Graphviz DOT or Mermaid, and the short shape and nesting-level
texts that drawings and summaries share.

Both spec forms draw the one IR graph: inputs, the dataflow through its steps, outputs; each
step's sub-tree hangs below it (dashed) to ``depth`` levels (a model spec's one step is the
model's tree, parent -- child, op and output shape in each label).
"""
from __future__ import annotations

from typing import Any

from .infer import TensorType

#: default depth of drawings (and of ``graphspec summary``): the model, its blocks, their sub-blocks
DEFAULT_DEPTH = 3


def node_level(path: str, graph_form: bool) -> int:
    """Nesting level shown by ``--depth``: the model (or each graph node) is 1, ``blocks.1`` 2,
    ``blocks.1.res_blocks.0`` 3. A list item (``blocks.1``) is one level with its list."""
    if not path:
        return 1
    steps = sum(1 for p in path.split(".") if not p.isdigit())
    return steps + (0 if graph_form else 1)


def shape_text(value: Any) -> str:
    """``[B, 3, 8, 224, 224]``; a list of values (pathways) as ``([...], [...])``; ``?`` unknown."""
    if value is None:
        return "?"
    if isinstance(value, TensorType):
        return str(value)
    return "(" + ", ".join(shape_text(v) for v in value) + ")"


def shape_data(value: Any) -> Any:
    """A value's shape as JSON data: a list of dims, or a list of those; None when unknown."""
    if isinstance(value, TensorType):
        return list(value.shape)
    if isinstance(value, (list, tuple)):
        return [shape_data(v) for v in value]
    return None


def dot_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def mermaid_quote(text: str) -> str:
    escaped = (text.replace("&", "#amp;").replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")
               .replace("\n", "<br/>"))
    return f'"{escaped}"'


class Drawing:
    """Nodes (id, label, kind) and edges (a, b, style) of a drawing, rendered as DOT or Mermaid."""

    def __init__(self, title: str) -> None:
        self.title = title
        self.nodes: list[tuple[str, str, str]] = []
        self.edges: list[tuple[str, str, str]] = []

    def node(self, label: str, kind: str = "op") -> str:
        ident = f"n{len(self.nodes)}"
        self.nodes.append((ident, label, kind))
        return ident

    def edge(self, a: str, b: str, style: str = "data") -> None:
        self.edges.append((a, b, style))

    def dot(self) -> str:
        shapes = {"op": "box", "input": "ellipse", "output": "ellipse"}
        lines = [f"digraph {dot_quote(self.title)} {{", "  rankdir=TB;",
                 '  node [shape=box, style="rounded", fontname="Helvetica", fontsize=10];']
        for ident, label, kind in self.nodes:
            extra = ', style="filled", fillcolor="#e8f0fe"' if kind != "op" else ""
            lines.append(f"  {ident} [label={dot_quote(label)}, shape={shapes[kind]}{extra}];")
        for a, b, style in self.edges:
            lines.append(f"  {a} -> {b}" + (" [style=dashed, arrowhead=none]" if style == "tree" else "") + ";")
        lines.append("}")
        return "\n".join(lines)

    def mermaid(self) -> str:
        lines = ["flowchart TB"]
        for ident, label, kind in self.nodes:
            quoted = mermaid_quote(label)
            lines.append(f"  {ident}([{quoted}])" if kind != "op" else f"  {ident}[{quoted}]")
        for a, b, style in self.edges:
            lines.append(f"  {a} {'-.-' if style == 'tree' else '-->'} {b}")
        return "\n".join(lines)

    def render(self, fmt: str) -> str:
        """``dot`` or ``mermaid``."""
        return self.mermaid() if fmt == "mermaid" else self.dot()


def _node_label(node, name: str | None = None) -> str:
    head = name if name is not None else (node.path.rsplit(".", 1)[-1] if node.path else "model")
    if node.path and name is None and node.path.split(".")[-1].isdigit():
        head = ".".join(node.path.split(".")[-2:])
    return f"{head}\n{node.op}\n{shape_text(node.meta.get('output'))}"


def _draw_tree(drawing: Drawing, node, parent_id: str | None, depth: int, graph_form: bool,
               name: str | None = None) -> str:
    ident = drawing.node(_node_label(node, name))
    if parent_id is not None:
        drawing.edge(parent_id, ident, "tree")
    for _, child in node.children():
        if depth < 0 or node_level(child.path, graph_form) <= depth:
            _draw_tree(drawing, child, ident, depth, graph_form)
    return ident


def draw(compiled, depth: int = DEFAULT_DEPTH) -> Drawing:
    """The drawing of a compiled model spec, nodes to ``depth`` levels (-1: all): the inputs,
    each step's tree (a model spec's one tree, labelled by paths; a graph's nodes by name), the
    dataflow between them, the outputs."""
    drawing = Drawing(compiled.spec.name)
    graph = compiled.graph
    ids = {k: drawing.node(f"{k}\n{shape_text(v)}", "input") for k, v in compiled.inputs.items()}
    for step in graph.steps:
        ids[step.name] = _draw_tree(drawing, step.node, None, depth, not graph.single,
                                    name=None if graph.single else step.name)
    for step in graph.steps:
        for src in step.inputs:
            drawing.edge(ids[src], ids[step.name])
    for out_name, src in graph.outputs.items():
        drawing.edge(ids[src], drawing.node(f"{out_name}\n{shape_text(compiled.outputs.get(out_name))}", "output"))
    return drawing
