"""``graphspec expand SPEC``: the spec with its model replaced by the full IR, as YAML that
rebuilds the identical model."""
from __future__ import annotations

import argparse

from . import guard, specs
from .output import EXIT_OK, emit

HELP = "print the full IR as a spec that rebuilds the identical model"
DESCRIPTION = ("Print the spec with its model replaced by the full IR as explicit nested components; "
               "compiling it rebuilds the identical model.")


def configure(parser: argparse.ArgumentParser) -> None:
    specs.add_spec_arguments(parser)
    parser.add_argument("-o", "--output", metavar="FILE", help="write the YAML here instead of printing it")


def expanded_yaml(compiled, source: str | None = None) -> str:
    """The expanded spec as YAML, headed by a comment naming ``source``."""
    from graphspec.compiler.expand import expand_document
    from graphspec.spec.source import yaml_dump

    text = yaml_dump(expand_document(compiled))
    head = f"# expanded by `graphspec expand` from {source}\n" if source else ""
    return head + text


def run(args: argparse.Namespace) -> int:
    guard.check_outputs(args, [("-o", args.output)])
    compiled = specs.compile_for_build(args.spec, args.set, "expand")
    emit(expanded_yaml(compiled, args.spec), args.output)
    return EXIT_OK
