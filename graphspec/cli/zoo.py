"""``graphspec zoo``: the zoo specs with their params and MACs (from each spec's ``expect``)."""
from __future__ import annotations

import argparse
import json
from typing import Any

from .output import EXIT_FINDINGS, EXIT_OK, err, human, out, plural, table

HELP = "list the zoo specs with their params and MACs"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def _entries() -> list[dict]:
    from graphspec.compiler.pipeline import load_spec
    from graphspec.models.hub.utils import zoo_dir
    from graphspec.spec.errors import SpecError
    from graphspec.spec.report import format_diagnostic

    entries = []
    for path in sorted(zoo_dir().glob("*.yaml")):
        entry: dict[str, Any] = {"name": path.stem, "file": str(path)}
        try:
            spec = load_spec(path)[0]
        except SpecError as error:
            entry["error"] = format_diagnostic(error.diagnostics[0], str(path)) if error.diagnostics else "unreadable"
            entries.append(entry)
            continue
        expect = spec.expect
        macs = expect.macs_expect if expect else None
        entry.update(name=spec.name, params=expect.params if expect else None,
                     macs=macs.value if macs else None, description=" ".join(spec.description.split()))
        entries.append(entry)
    return entries


def run(args: argparse.Namespace) -> int:
    from graphspec.models.hub.utils import zoo_dir
    from graphspec.schema import first_line

    entries = _entries()
    if args.json:
        out(json.dumps(entries, indent=2))
    else:
        rows = [[e["name"], "?" if e.get("params") is None else human(e["params"]),
                 "?" if e.get("macs") is None else human(e["macs"]),
                 first_line(e.get("description") or "", 90)] for e in entries if "error" not in e]
        out("\n".join(table(["model", "params", "MACs", "description"], rows, right=(1, 2))))
        out(f"{plural(len(rows), 'zoo spec')} in {zoo_dir()} (params and MACs per clip from each spec's expect); "
            "`graphspec summary FILE` shows one in detail")
        for e in entries:
            if "error" in e:
                err(e["error"])
    return EXIT_FINDINGS if any("error" in e for e in entries) else EXIT_OK
