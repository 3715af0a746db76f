"""The one output guard every writing command runs before any work: nothing a user owns is
destroyed. An output may not be one of the run's inputs (the spec, every spec it extends or
references, ``--weights``, ``--calibrate`` and what that data spec reads), and it must be
writable. ``data prepare``'s output folder may not be, be inside or contain its ``--from``."""
from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path
from typing import Iterable, Sequence

from .output import UsageError, check_writable

#: keys of a data spec that name another spec file (``transform: ../transforms/x.yaml``)
_REFERENCE_KEYS = ("transform", "model")


def spec_files(spec: str | Path, overrides: Sequence[str] = (),
               role: str = "the input spec") -> list[tuple[Path, str]]:
    """``spec`` (as ``role``) and every spec file a run of it reads, each with the words that
    name its role: the ``extends`` parents (recursively) and, for a data spec, its ``transform:``
    and ``model:`` specs and theirs. Files that cannot be read are left to the loader."""
    from graphspec.spec.errors import SpecError
    from graphspec.spec.source import load_document, load_yaml

    found: dict[str, tuple[Path, str]] = {}

    def add(file: str, role: str) -> bool:
        real = os.path.realpath(file)
        if real in found:
            return False
        found[real] = (Path(file), role)
        return True

    def extends_chain(file: str) -> None:
        try:
            data, _ = load_yaml(file)
        except (SpecError, OSError):
            return
        refs = data.get("extends") if isinstance(data, dict) else None
        for ref in [refs] if isinstance(refs, str) else refs if isinstance(refs, list) else []:
            if isinstance(ref, str):
                parent = os.path.normpath(os.path.join(os.path.dirname(file), ref))
                if add(parent, f"{parent}, which {file} extends"):
                    extends_chain(parent)

    def visit(file: str, role: str, sets: Sequence[str]) -> None:
        if not add(file, role):
            return
        extends_chain(file)
        try:
            data, smap = load_document(file, sets)
        except (SpecError, OSError):
            return
        if not isinstance(data, dict) or data.get("kind") != "data":
            return
        from graphspec.data.spec import resolve_path  # the data spec's own rule

        for key in _REFERENCE_KEYS:
            if isinstance(data.get(key), str):
                referenced = resolve_path(file, data[key], smap, key)
                visit(referenced, f"{referenced}, the {key} spec of {file}", ())

    visit(os.fspath(spec), f"{role} {spec}", overrides)
    return list(found.values())


def run_inputs(args: argparse.Namespace) -> list[tuple[Path, str]]:
    """Every file the command in ``args`` reads, with its role: ``SPEC`` (with ``--set``, or
    ``data prepare``'s overrides) and its spec files, ``--weights``, ``--calibrate`` and its files."""
    inputs: list[tuple[Path, str]] = []
    spec = getattr(args, "spec", None)
    if spec:
        inputs += spec_files(spec, getattr(args, "set", None) or getattr(args, "overrides", None) or ())
    if getattr(args, "weights", None):
        inputs.append((Path(args.weights), f"the --weights checkpoint {args.weights}"))
    if getattr(args, "calibrate", None):
        inputs += spec_files(args.calibrate, role="the --calibrate data spec")
    return inputs


def same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist
        return os.path.realpath(a) == os.path.realpath(b)


def check_outputs(args: argparse.Namespace, outputs: Iterable[tuple[str, str | Path | None]],
                  folder: tuple[str, str | Path] | None = None) -> None:
    """Refuse, before any work, an output that is one of the run's inputs or cannot be written.
    ``outputs``: ``(flag, path)`` pairs (``("-o", "model.pt")``; None or ``-``: stdout). With
    ``folder`` (``("--to", OUT)``), that output folder must not be, be inside or contain
    ``args.raw`` (``--from``); no output file may lie inside ``--from`` either."""
    outputs = [(flag, Path(path)) for flag, path in outputs if path is not None and str(path) != "-"]
    inputs = run_inputs(args)
    for flag, path in outputs:
        for source, role in inputs:
            if same_file(path, source):
                raise UsageError(f"{flag} {path} would overwrite {role}; choose another output name")
    raw = getattr(args, "raw", None)
    if folder is not None:
        flag, out_dir = folder
        if raw:
            _check_apart(Path(out_dir), flag, Path(raw))
        _check_folder_writable(Path(out_dir), flag)
    if raw:
        for flag, path in outputs:
            if _inside(path, Path(raw)):
                raise UsageError(f"{flag} {path} is inside --from {raw}, the raw videos; write it elsewhere")
    for _, path in outputs:
        check_writable(path)


def _check_folder_writable(folder: Path, flag: str) -> None:
    """The output folder is a folder, or can be made: its nearest existing ancestor takes files."""
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"{flag} {folder} is a file; give a folder (it is created when missing)")
    existing = next(p for p in [folder, *folder.absolute().parents] if p.exists())
    try:  # as the outputs will be written: files in that folder (root passes any access check)
        if not existing.is_dir():
            raise NotADirectoryError(20, "not a directory")
        fd, probe = tempfile.mkstemp(prefix=".graphspec-", suffix=".probe", dir=existing)
    except OSError as error:
        raise UsageError(f"{flag} {folder}: cannot create files in {existing} ({error.strerror or error})") from None
    os.close(fd)
    os.unlink(probe)


def _inside(path: Path, folder: Path) -> bool:
    """``path`` is ``folder`` or below it (links resolved)."""
    path, folder = Path(os.path.realpath(path)), Path(os.path.realpath(folder))
    return path == folder or folder in path.parents


def _check_apart(out_dir: Path, flag: str, raw: Path) -> None:
    if _inside(out_dir, raw):
        where = "is" if same_file(out_dir, raw) else "is inside"
        raise UsageError(f"{flag} {out_dir} {where} --from {raw}: the outputs would replace the raw videos "
                         "and be read as raw input on a rerun; choose an output folder outside --from")
    if _inside(raw, out_dir):
        raise UsageError(f"{flag} {out_dir} contains --from {raw}: its raw videos would be read and written in "
                         "the same tree; choose an output folder that does not contain --from")
