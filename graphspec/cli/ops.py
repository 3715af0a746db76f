"""``graphspec ops [NAME]``: list registered ops, or show one op's arguments."""
from __future__ import annotations

import argparse
import json

from .output import EXIT_OK, UsageError, out, plural, table

HELP = "list registered ops, or show one op's arguments"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", nargs="?", metavar="NAME", help="an op to describe")
    parser.add_argument("--kind", choices=("module", "builder", "graph", "object"), help="only ops of this kind")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def _first_paragraph(doc: str, limit: int = 400) -> str:
    text = " ".join(doc.strip().split("\n\n", 1)[0].split()).replace("``", "`") if doc else ""
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."


def _default_text(spec) -> str:
    from graphspec.schema import default_data

    if spec.required:
        return "(required)"
    try:
        value = default_data(spec)
    except ValueError:
        return repr(spec.default)
    return "null" if value is None else json.dumps(value) if not isinstance(value, str) else value


def _op_args(opdef) -> list[dict]:
    from graphspec.schema import default_data, type_name

    items = []
    for spec in opdef.args.values():
        try:
            default = None if spec.required else default_data(spec)
        except ValueError:
            default = repr(spec.default)
        items.append({"name": spec.name, "type": type_name(spec), "required": spec.required, "default": default})
    return items


def run(args: argparse.Namespace) -> int:
    from graphspec.api import ensure_builtin_ops

    ensure_builtin_ops()
    from graphspec import registry
    from graphspec.schema import first_line, type_name
    from graphspec.spec.errors import did_you_mean

    if args.name:
        if args.name not in registry.names():
            hint = did_you_mean(args.name, registry.names())
            raise UsageError(f"unknown op {args.name!r}" + (f" ({hint})" if hint else "")
                             + "; `graphspec ops` lists them")
        opdef = registry.get(args.name)
        if args.json:
            out(json.dumps({"name": opdef.name, "kind": opdef.kind, "doc": opdef.doc,
                            "args": _op_args(opdef)}, indent=2))
            return EXIT_OK
        out(f"{opdef.name} ({opdef.kind})")
        if opdef.doc:
            out(f"  {_first_paragraph(opdef.doc)}")
        if not opdef.args:
            out("no arguments")
            return EXIT_OK
        rows = [[s.name, type_name(s), _default_text(s)] for s in opdef.args.values()]
        out("")
        out("\n".join(table(["argument", "type", "default"], rows)))
        return EXIT_OK
    ops = [op for op in registry.ops() if args.kind is None or op.kind == args.kind]
    if args.json:
        out(json.dumps([{"name": op.name, "kind": op.kind, "doc": first_line(op.doc)} for op in ops], indent=2))
        return EXIT_OK
    rows = [[op.name, op.kind, first_line(op.doc)] for op in ops]
    out("\n".join(table(["op", "kind", "description"], rows)))
    out(f"{plural(len(ops), 'op')}; `graphspec ops NAME` shows an op's arguments")
    return EXIT_OK
