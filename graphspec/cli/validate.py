"""``graphspec validate SPEC...``: load, compile and check specs (any kind), evaluating ``expect``."""
from __future__ import annotations

import argparse
import json

from graphspec.spec.report import diagnostic_json, errors, format_diagnostic, format_github

from . import specs
from .output import EXIT_FINDINGS, EXIT_INTERNAL, EXIT_OK, EXIT_UNUSABLE, UsageError, out, plural

HELP = "check specs: load, compile, evaluate expect"
DESCRIPTION = ("Load, compile and check specs (model, transform, data and train specs), evaluating their expect: "
               "blocks. Exit 0 clean (warnings allowed), 1 findings, 2 unusable input, 3 internal error.")


def configure(parser: argparse.ArgumentParser) -> None:
    specs.add_spec_arguments(parser, many=True)
    parser.add_argument("--format", choices=("text", "github", "json"), default="text",
                        help="text (default), github (workflow annotations) or json (a list of findings)")


def run(args: argparse.Namespace) -> int:
    from graphspec.spec.errors import Diagnostic, SpecError

    from .main import internal_error

    files, unmatched = specs.expand_spec_args(args.specs)
    results: list[tuple[str, list, int]] = []  # (spec, diagnostics, exit code)
    for pattern in unmatched:
        results.append((pattern, [Diagnostic("no files match this pattern", code="io", unusable=True)],
                        EXIT_UNUSABLE))
    if not files and not unmatched:
        raise UsageError("no YAML spec files among the arguments (non-YAML files and __init__.py are skipped)")
    for spec in files:
        try:
            compiled = specs.compile_file(spec, args.set)
            diags, code = compiled.diagnostics, specs.findings_exit(compiled.diagnostics)
        except SpecError as err:
            diags, code = err.diagnostics, err.exit_code
        except Exception as exc:  # a bug: report it for this file (every format), go on with the others
            summary = internal_error(exc, f"while validating {spec}")
            diags = [Diagnostic(f"internal error: {summary}", code="internal",
                                hint="a bug in graphspec, not in the spec; GRAPHSPEC_DEBUG=1 shows the traceback")]
            code = EXIT_INTERNAL
        results.append((spec, diags, code))

    if args.format == "json":
        items = [diagnostic_json(d, spec, args.set) for spec, diags, _ in results for d in diags]
        out(json.dumps(items, indent=2))
    else:
        fmt = format_github if args.format == "github" else format_diagnostic
        for spec, diags, _ in results:
            for d in diags:
                out(fmt(d, spec, args.set))
        if args.format == "text":
            out(_summary(results, len(unmatched)))
    return max((code for _, _, code in results), default=EXIT_OK)


def _summary(results, unmatched: int) -> str:
    checked = results[unmatched:]
    counts_by_code = {code: sum(1 for _, _, c in checked if c == code)
                      for code in (EXIT_OK, EXIT_FINDINGS, EXIT_UNUSABLE, EXIT_INTERNAL)}
    parts = [f"{counts_by_code[EXIT_OK]} clean"]
    if counts_by_code[EXIT_FINDINGS]:
        parts.append(f"{counts_by_code[EXIT_FINDINGS]} with findings")
    if counts_by_code[EXIT_UNUSABLE]:
        parts.append(f"{counts_by_code[EXIT_UNUSABLE]} unusable")
    if counts_by_code[EXIT_INTERNAL]:
        parts.append(plural(counts_by_code[EXIT_INTERNAL], "internal error"))
    n_errors = sum(len(errors(d)) for _, d, _ in results)
    n_warnings = sum(1 for _, ds, _ in results for d in ds if d.severity == "warning")
    counts = [plural(n_errors, "error")] if n_errors else []
    counts += [plural(n_warnings, "warning")] if n_warnings else []
    text = f"{plural(len(checked), 'file')}: {', '.join(parts)}"
    if unmatched:
        text += f"; {plural(unmatched, 'pattern')} matched nothing"
    return text + (f" ({', '.join(counts)})" if counts else "")
