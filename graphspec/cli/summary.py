"""``graphspec summary SPEC``: per-node table of output shapes, parameters and MACs (per clip)."""
from __future__ import annotations

import argparse
import json
from typing import Any

from . import specs
from .output import DEFAULT_DEPTH, EXIT_FINDINGS, depth_arg, emit, human, out, table

HELP = "per-node table: output shape, params, MACs"
DESCRIPTION = "Per-node table of output shapes, parameters and MACs (per clip), with totals."


def configure(parser: argparse.ArgumentParser) -> None:
    specs.add_spec_arguments(parser)
    parser.add_argument("--json", action="store_true", help="machine-readable output (all nodes unless --depth)")
    parser.add_argument("--depth", type=depth_arg, default=None,
                        help=f"levels of nodes to show: the model is 1, blocks.1 is 2, blocks.1.res_blocks.0 is 3 "
                             f"(default {DEFAULT_DEPTH}; -1: all)")


def run(args: argparse.Namespace) -> int:
    compiled, code = specs.compile_for_report(args.spec, args.set, "summary")
    if compiled.graph is None:
        return max(code, EXIT_FINDINGS)  # the graph could not be built; its findings were printed
    if args.json:
        depth = -1 if args.depth is None else args.depth
        emit(json.dumps(summary_data(compiled, depth), indent=2), None)
    else:
        out("\n".join(summary_lines(compiled, DEFAULT_DEPTH if args.depth is None else args.depth)))
    return code


def _node_rows(compiled, depth: int) -> list[tuple[int, Any]]:
    from graphspec.compiler.draw import node_level

    graph_form = not compiled.graph.single
    rows = []
    for node in compiled.nodes:
        level = node_level(node.path, graph_form)
        if depth < 0 or level <= depth:
            rows.append((level, node))
    return rows


def summary_data(compiled, depth: int = -1) -> dict:
    """The ``summary --json`` object: totals, inputs, outputs and one entry per node."""
    from graphspec.compiler.draw import shape_data

    spec = compiled.spec
    return {
        "name": spec.name,
        "params": compiled.params,
        "macs": compiled.macs,
        "inputs": {name: _plain_decl(decl) for name, decl in spec.inputs.items()},
        "outputs": {name: shape_data(value) for name, value in compiled.outputs.items()},
        "nodes": [
            {
                "path": node.path,
                "op": node.op,
                "output": shape_data(node.meta.get("output")),
                "params": node.meta.get("params"),
                "macs": node.meta.get("macs"),
            }
            for _, node in _node_rows(compiled, depth)
        ],
    }


def _plain_decl(decl: Any) -> Any:
    if isinstance(decl, dict):
        return {k: list(v) for k, v in decl.items()}
    return list(decl)


def _decl_text(decl: Any) -> str:
    if isinstance(decl, dict):
        return "{" + ", ".join(f"{k}: {_decl_text(v)}" for k, v in decl.items()) + "}"
    return "[" + ", ".join(str(d) for d in decl) + "]"


def summary_lines(compiled, depth: int = DEFAULT_DEPTH) -> list[str]:
    """The summary table: one row per node to ``depth`` levels (-1: all), then the total."""
    from graphspec.compiler.draw import shape_text

    graph = compiled.graph
    graph_form = not graph.single
    model = None if graph_form else graph.steps[0].node  # a model spec's one step: the total row
    rows = []
    for level, node in _node_rows(compiled, depth):
        if node is model:
            continue
        indent = "  " * (level - (1 if graph_form else 2))
        rows.append([indent + node.path, node.op, shape_text(node.meta.get("output")),
                     f"{node.meta.get('params', 0):,}", human(node.meta.get("macs"))])
    outputs = ", ".join(f"{k} {shape_text(v)}" for k, v in compiled.outputs.items()) or "?"
    total_op = "graph" if model is None else model.op
    rows.append([f"total ({compiled.spec.name})", total_op, outputs, f"{compiled.params:,}",
                 human(compiled.macs)])
    lines = table(["path", "op", "output", "params", "MACs"], rows, right=(3, 4))
    lines.insert(-1, lines[1])  # a rule above the total
    inputs = ", ".join(f"{k} {_decl_text(decl)}" for k, decl in compiled.spec.inputs.items())
    note = "MACs per clip (batch dim excluded)" + ("" if depth < 0 else f"; nodes to depth {depth} (--depth -1: all)")
    return [f"inputs: {inputs}"] + lines + [note]
