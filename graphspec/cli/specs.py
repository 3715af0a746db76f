"""Spec arguments shared by the commands: ``SPEC`` / ``SPEC...`` with ``--set``, glob and folder
expansion, and compiling with the findings split the way each command needs them."""
from __future__ import annotations

import argparse
import functools
import gc
import glob
import os
from dataclasses import replace
from pathlib import Path
from typing import Sequence

from graphspec.spec.report import format_diagnostic

from .output import UsageError, err

_YAML_SUFFIXES = (".yaml", ".yml")
_GLOB_CHARS = set("*?[")


def add_spec_arguments(parser: argparse.ArgumentParser, many: bool = False) -> None:
    """``SPEC`` (or ``SPEC...`` with ``many``) and the repeatable ``--set PATH=VALUE``."""
    if many:
        parser.add_argument("specs", nargs="+", metavar="SPEC",
                            help="spec files, folders (their *.yaml, recursively) or glob patterns (** allowed)")
    else:
        parser.add_argument("spec", metavar="SPEC", help="spec file (.yaml)")
    parser.add_argument("--set", action="append", default=[], metavar="PATH=VALUE",
                        help="override a value by dotted key path, e.g. --set model.model_num_class=174 "
                             "(repeatable; the value is YAML)")


def expand_spec_args(args: Sequence[str]) -> tuple[list[str], list[str]]:
    """Spec files named by ``args``: files, folders (their ``*.yaml``, recursively) and glob
    patterns (``*``, ``?``, ``[...]``, ``**``), expanded here for shells that don't. Non-YAML
    files and ``__init__.py`` are skipped. Returns (files, patterns that matched nothing)."""
    files: list[str] = []
    unmatched: list[str] = []

    def add_dir(folder: str) -> None:
        found = sorted(str(p) for p in Path(folder).rglob("*") if p.is_file() and _is_spec_name(p.name))
        files.extend(found)

    for arg in args:
        if os.path.isdir(arg):
            add_dir(arg)
        elif _GLOB_CHARS & set(arg) and not os.path.exists(arg):
            matches = sorted(glob.glob(arg, recursive=True))
            if not matches:
                unmatched.append(arg)
            for match in matches:
                if os.path.isdir(match):
                    add_dir(match)
                elif _is_spec_name(os.path.basename(match)):
                    files.append(match)
        elif _is_spec_name(os.path.basename(arg)) or not os.path.exists(arg):
            files.append(arg)  # a missing file is reported by the loader, located
    seen: set[str] = set()
    unique = []
    for f in files:
        key = os.path.normpath(f)
        if key not in seen:
            seen.add(key)
            unique.append(f)
    return unique, unmatched


def _is_spec_name(name: str) -> bool:
    return name.endswith(_YAML_SUFFIXES) and name != "__init__.py"


@functools.cache
def _register_ops_and_freeze() -> None:
    """Register graphspec's ops, then move all the command's process holds so far -- torch's and
    graphspec's modules and the registry, kept to its end -- to the garbage collector's permanent
    generation: the full collections that compiling specs triggers then no longer traverse them
    (~0.3 s CPU, 15% of validating the zoo). The command line only, as it owns its process: a
    library call must not freeze its caller's objects."""
    from graphspec import api

    api.ensure_builtin_ops()
    gc.freeze()


def compile_file(spec: str, overrides: Sequence[str]):
    """Compile any kind of spec (model, transform, data) through the Python API."""
    from graphspec import api

    _register_ops_and_freeze()
    return api.compile(spec, list(overrides))


def is_model(compiled) -> bool:
    return compiled.spec.kind == "model"


def require_model(compiled, command: str) -> None:
    """``summary``, ``expand`` and ``graph`` describe models; other kinds are a usage error."""
    if not is_model(compiled):
        raise UsageError(f"`{command}` describes model specs; {compiled.file} is a {compiled.spec.kind} spec "
                         "(`graphspec validate` checks it, `graphspec build` builds it)")


def report(diagnostics, spec: str | None, overrides: Sequence[str], as_warnings: bool = False) -> None:
    """Print findings of a non-``validate`` command to stderr."""
    for diag in diagnostics:
        if as_warnings and diag.severity == "error":
            diag = replace(diag, severity="warning")
        err(format_diagnostic(diag, spec, overrides))


def split_findings(diagnostics) -> tuple[list, list]:
    """(errors that stop build/expand, the rest: warnings and failed ``expect`` assertions)."""
    from graphspec.spec.compiled import blocking

    hard = blocking(diagnostics)
    return hard, [d for d in diagnostics if d not in hard]


def findings_exit(diagnostics) -> int:
    """The exit code of a compiled spec's findings, the same in ``validate``, ``summary`` and
    ``graph``: 2 when an error makes the input unusable (a referenced spec that is not there),
    1 when any is an error (a failed ``expect`` too), else 0 (warnings allowed)."""
    from graphspec.spec.errors import SpecError

    return SpecError(list(diagnostics)).exit_code


def compile_for_report(spec: str, overrides: Sequence[str], command: str):
    """Compile for ``summary``/``graph``: the findings are printed as ``validate`` prints them
    and give its exit code (the partial result is still shown, to help find them).
    Returns (compiled, exit code so far)."""
    compiled = compile_file(spec, overrides)
    require_model(compiled, command)
    report(compiled.diagnostics, spec, overrides)
    return compiled, findings_exit(compiled.diagnostics)


def compile_for_build(spec: str, overrides: Sequence[str], command: str | None = None):
    """Compile for ``build``/``expand``: any error but a failed ``expect`` stops the command;
    with ``command``, only a model spec is accepted."""
    from graphspec.spec.errors import SpecError

    compiled = compile_file(spec, overrides)
    if command is not None:
        require_model(compiled, command)
    hard, soft = split_findings(compiled.diagnostics)
    report(soft, spec, overrides, as_warnings=True)
    if hard:
        raise SpecError(hard)
    return compiled
