"""Findings as text, GitHub Actions annotations or JSON: how ``graphspec validate`` (and every
other command) shows a ``Diagnostic``.

Each formatter takes the spec that was checked (``spec``) and the ``--set`` overrides, so a
finding located in another file says which spec it belongs to: in a parent reached through
``extends`` it reads ``[in child.yaml, inherited from base.yaml:13:3]``; in an override it reads
``[--set a.b=1, applied to child.yaml]``.
"""
from __future__ import annotations

import os
from typing import Sequence

from .errors import Diagnostic, SpecError
from .source import OVERRIDE_FILE


def _override_text(diag: Diagnostic, overrides: Sequence[str]) -> str | None:
    """The ``--set`` override a finding is located in (its line is the override's number)."""
    loc = diag.location
    if loc is None or loc.file != OVERRIDE_FILE:
        return None
    return overrides[loc.line - 1] if 0 < loc.line <= len(overrides) else ""


def inherited_from(diag: Diagnostic, spec: str | None) -> str | None:
    """``base.yaml:13:3`` when the finding lies in a file other than ``spec`` (a parent reached
    through ``extends``); None when it lies in ``spec`` itself, an override, or nowhere."""
    loc = diag.location
    if spec is None or loc is None or loc.file == OVERRIDE_FILE:
        return None
    if os.path.normpath(loc.file) == os.path.normpath(spec):
        return None
    return str(loc)


def overrides_inside(diag: Diagnostic, overrides: Sequence[str]) -> list[str]:
    """The ``--set`` overrides that changed a value inside the key a finding is located at (a
    builder refusing ``--set model.input_crop_size=600`` at ``model:``) or inside a key it
    follows from (``--set inputs.video=...`` for a shape error, ``Diagnostic.depends_on``):
    they may be its cause."""
    from .source import parse_override

    if diag.location is not None and diag.location.file == OVERRIDE_FILE:
        return []
    keys = [tuple(str(p) for p in key) for key in (diag.path, *diag.depends_on) if key]
    found = []
    for text in overrides:
        try:
            path = tuple(str(p) for p in parse_override(text)[0])
        except SpecError:
            continue
        if any(path[:len(key)] == key for key in keys):
            found.append(text)
    return found


def _context_note(diag: Diagnostic, overrides: Sequence[str], spec: str | None) -> str:
    """`` [--set a.b=1, applied to FILE]`` or `` [in FILE, inherited from BASE:L:C]``, with
    `` [after --set a.b.c=1]`` for overrides inside the key, else ``""``."""
    text = _override_text(diag, overrides)
    if text is not None:
        return f" [--set {text}".rstrip() + (f", applied to {spec}]" if spec else "]")
    parent = inherited_from(diag, spec)
    inside = overrides_inside(diag, overrides)
    after = f" [after --set {', --set '.join(inside)}]" if inside else ""
    return (f" [in {spec}, inherited from {parent}]" if parent else "") + after


def format_diagnostic(diag: Diagnostic, spec: str | None = None, overrides: Sequence[str] = ()) -> str:
    """``file:line:col: [warning:] dotted.path: message (hint)``. A finding with no location is
    shown at the spec file; one located in a ``--set`` override or an inherited file also names
    the spec it was found for."""
    if diag.location is not None or spec is None:
        return diag.format() + _context_note(diag, overrides, spec)
    sev = "" if diag.severity == "error" else f" {diag.severity}:"
    key = f" {diag.dotted}:" if diag.path else ""
    hint = f" ({diag.hint})" if diag.hint else ""
    return f"{spec}:{sev}{key} {diag.message}{hint}"


def _github_escape(text: str, prop: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return text.replace(":", "%3A").replace(",", "%2C") if prop else text


def format_github(diag: Diagnostic, spec: str | None = None, overrides: Sequence[str] = ()) -> str:
    """A GitHub Actions workflow command: ``::error file=F,line=L,col=C,title=graphspec::msg``."""
    loc = diag.location
    if loc is None or loc.file == OVERRIDE_FILE:  # annotate the spec file itself
        file, line, col = spec or (loc.file if loc else "<spec>"), 1, 1
    else:
        file, line, col = loc.file, loc.line, loc.col
    level = "warning" if diag.severity == "warning" else "error"
    message = (f"{diag.dotted}: " if diag.path else "") + diag.message
    if diag.hint:
        message += f" ({diag.hint})"
    message += _context_note(diag, overrides, None if inherited_from(diag, spec) is None else spec)
    props = f"file={_github_escape(str(file), True)},line={line},col={col},title=graphspec"
    return f"::{level} {props}::{_github_escape(message)}"


def diagnostic_json(diag: Diagnostic, spec: str | None = None, overrides: Sequence[str] = ()) -> dict:
    """One finding as a JSON object; ``spec`` is the file checked, ``file`` where the finding
    lies (``inherited_from`` is set when those differ through ``extends``)."""
    loc = diag.location
    out = {
        "file": loc.file if loc else spec,
        "line": loc.line if loc else None,
        "col": loc.col if loc else None,
        "path": diag.dotted,
        "severity": diag.severity,
        "code": diag.code,
        "message": diag.message,
        "hint": diag.hint,
        "spec": spec,
    }
    override = _override_text(diag, overrides)
    if override is not None:
        out["override"] = override
    inside = overrides_inside(diag, overrides)
    if inside:
        out["after_overrides"] = inside
    parent = inherited_from(diag, spec)
    if parent is not None:
        out["inherited_from"] = parent
    return out


def errors(diagnostics: Sequence[Diagnostic]) -> list[Diagnostic]:
    return [d for d in diagnostics if d.severity == "error"]
