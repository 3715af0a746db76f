"""``graphspec graph SPEC``: draw the model as Graphviz DOT or Mermaid (``graphspec.compiler.draw``)."""
from __future__ import annotations

import argparse

from . import guard, specs
from .output import DEFAULT_DEPTH, EXIT_FINDINGS, depth_arg, emit

HELP = "draw the model as Graphviz DOT or Mermaid"
DESCRIPTION = "Draw the node tree (model specs) or the dataflow (graph specs)."


def configure(parser: argparse.ArgumentParser) -> None:
    specs.add_spec_arguments(parser)
    parser.add_argument("--format", choices=("dot", "mermaid"), default="dot", help="dot (default) or mermaid")
    parser.add_argument("--depth", type=depth_arg, default=None,
                        help=f"levels of nodes to draw (default {DEFAULT_DEPTH}; -1: all)")
    parser.add_argument("-o", "--output", metavar="FILE", help="write the drawing here instead of printing it")


def run(args: argparse.Namespace) -> int:
    from graphspec.compiler.draw import draw

    guard.check_outputs(args, [("-o", args.output)])
    compiled, code = specs.compile_for_report(args.spec, args.set, "graph")
    if compiled.graph is None:
        return max(code, EXIT_FINDINGS)  # nothing to draw; the findings were printed
    drawing = draw(compiled, DEFAULT_DEPTH if args.depth is None else args.depth)
    emit(drawing.render(args.format), args.output)
    return code
