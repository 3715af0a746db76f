"""``graphspec schema``: the JSON Schema of spec files, for editors (``graphspec.schema``)."""
from __future__ import annotations

import argparse
import json

from . import guard
from .output import EXIT_OK, emit

HELP = "JSON Schema of the spec format, for editors"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-o", "--output", metavar="FILE", help="write the schema here instead of printing it")


def run(args: argparse.Namespace) -> int:
    from graphspec.api import ensure_builtin_ops

    ensure_builtin_ops()
    from graphspec.schema import spec_schema

    guard.check_outputs(args, [("-o", args.output)])
    emit(json.dumps(spec_schema(), indent=2), args.output)
    return EXIT_OK
