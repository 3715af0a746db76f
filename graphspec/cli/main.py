"""The ``graphspec`` parser and entry point: one subcommand per module of ``graphspec.cli``.

``main(argv)`` returns the exit code instead of exiting, so tests can call it:

* 0  clean (warnings do not fail)
* 1  findings: the spec is readable but has errors (shape mismatch, unknown op, failed expect)
* 2  unusable input: YAML syntax, missing file, bad ``--set``, bad command line, unwritable ``-o``
* 3  internal error: a bug in graphspec (never bad input): one short line on stderr (and, in
  ``validate``, a finding in every output format); ``GRAPHSPEC_DEBUG=1`` adds the traceback
* 130 interrupted

Adding a command: write ``graphspec/cli/NAME.py`` with ``HELP`` (one line), optionally
``DESCRIPTION``, ``configure(parser)`` (its arguments; a command with subcommands adds its own
subparsers there) and ``run(args) -> int``, and add ``"NAME"`` to ``COMMANDS`` below. Command
modules import torch and the compiler inside ``run`` only, so ``--help`` and ``--version`` stay fast.
"""
from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys
import traceback
import typing
from typing import Sequence

from .output import EXIT_BROKEN_PIPE, EXIT_FINDINGS, EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_UNUSABLE, PROG, \
    UsageError, err

#: the subcommands, in ``--help`` order: each is the module ``graphspec.cli.<name>``
COMMANDS = ("validate", "build", "summary", "expand", "graph", "ops", "zoo", "schema", "export", "data", "train", "plot")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> typing.NoReturn:  # usage errors: exit 2, short hint
        self.print_usage(sys.stderr)
        self.exit(EXIT_UNUSABLE, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    from graphspec import __version__

    parser = _Parser(prog=PROG, description="graphspec: check, build and inspect declarative video-model specs.",
                     epilog="exit codes: 0 clean, 1 findings, 2 unusable input, 3 internal error")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMANDS:
        module = importlib.import_module(f"graphspec.cli.{name}")
        command = sub.add_parser(name, help=module.HELP, description=getattr(module, "DESCRIPTION", module.HELP))
        module.configure(command)
        command.set_defaults(func=module.run)
    return parser


def internal_error(exc: BaseException, context: str = "") -> str:
    """Report a bug in one short line on stderr (the traceback with ``GRAPHSPEC_DEBUG=1``);
    returns ``Type: first line of the message``."""
    where = f" {context}" if context else ""
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    summary = type(exc).__name__ + (f": {detail}" if detail else "")
    err(f"{PROG}: internal error{where}: {summary}")
    if os.environ.get("GRAPHSPEC_DEBUG"):
        traceback.print_exception(exc, file=sys.stderr)
    else:
        err(f"{PROG}: this is a bug in graphspec, not in your spec; please report it with the command line "
            "and the spec (GRAPHSPEC_DEBUG=1 shows the traceback)")
    return summary


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``graphspec`` command line; returns the exit code."""
    try:
        parser = build_parser()
        try:
            args = parser.parse_args(argv)
        except SystemExit as stop:  # --help, --version, usage errors
            return stop.code if isinstance(stop.code, int) else EXIT_UNUSABLE
        if args.command is None:
            parser.print_help(sys.stderr)
            return EXIT_UNUSABLE
        return _run(args)
    except KeyboardInterrupt:
        err(f"{PROG}: interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `graphspec ops | head`: the reader is gone; stay quiet
        with contextlib.suppress(Exception):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        return EXIT_BROKEN_PIPE


def _one_line_warning(message, category, filename, lineno, line=None) -> str:  # noqa: ARG001
    """A Python warning as the CLI shows it: ``graphspec: warning: MESSAGE``, like its findings
    (not Python's ``file:line: Category: ...`` with a source line)."""
    return f"{PROG}: warning: {message}\n"


@contextlib.contextmanager
def _warnings_as_lines() -> typing.Iterator[None]:
    """Format warnings as one line for the command's run (DataLoader workers forked inside it too);
    only the format changes: a caller that records warnings (pytest) still records them."""
    import warnings

    previous, warnings.formatwarning = warnings.formatwarning, _one_line_warning
    try:
        yield
    finally:
        warnings.formatwarning = previous


def _run(args: argparse.Namespace) -> int:
    from graphspec.spec.errors import SpecError
    from graphspec.spec.report import format_diagnostic

    spec = getattr(args, "spec", None)
    overrides = getattr(args, "set", [])
    try:
        with _warnings_as_lines():
            return args.func(args)
    except SpecError as error:
        for diag in error.diagnostics:
            err(format_diagnostic(diag, spec, overrides))
        return error.exit_code or EXIT_FINDINGS
    except UsageError as error:
        err(f"{PROG} {args.command}: error: {error}")
        return EXIT_UNUSABLE
    except (KeyboardInterrupt, BrokenPipeError):
        raise
    except OSError as error:  # files we read (outside the spec loader) or write
        name = f" {error.filename}" if getattr(error, "filename", None) else ""
        reason = error.strerror or str(error)
        err(f"{PROG} {args.command}: error: cannot write{name}: {reason}" if name else
            f"{PROG} {args.command}: error: {reason}")
        return EXIT_UNUSABLE
    except Exception as exc:  # noqa: BLE001  (anything else is our bug)
        internal_error(exc, f"in `{PROG} {args.command}`")
        return EXIT_INTERNAL


if __name__ == "__main__":
    raise SystemExit(main())
