"""Diagnostics: every problem found in a spec, located as ``file:line:col: key.path: message``."""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Literal, Sequence

Severity = Literal["error", "warning"]

#: Exit codes of the CLI, also carried by ``SpecError``.
EXIT_CLEAN, EXIT_FINDINGS, EXIT_UNUSABLE = 0, 1, 2


@dataclass(frozen=True)
class Location:
    """A 1-based position in a source file."""

    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


KeyPath = tuple  # of str (mapping keys) and int (list indices)


def format_path(path: Sequence[str | int]) -> str:
    """``("model", "kernel", 2)`` -> ``model.kernel[2]``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


@dataclass
class Diagnostic:
    """One finding. ``unusable`` marks input that cannot be read as a spec at all (exit 2)."""

    message: str
    location: Location | None = None
    path: tuple = ()
    severity: Severity = "error"
    code: str = "spec"
    hint: str | None = None
    unusable: bool = False
    #: other spec keys whose values the finding follows from (a shape error from the declared
    #: ``inputs``): a ``--set`` inside one of them is named with the finding as its likely cause
    depends_on: tuple = ()

    @property
    def dotted(self) -> str:
        return format_path(self.path)

    def format(self) -> str:
        where = str(self.location) if self.location else "<spec>"
        key = f" {self.dotted}:" if self.path else ""
        hint = f" ({self.hint})" if self.hint else ""
        sev = "" if self.severity == "error" else f" {self.severity}:"
        return f"{where}:{sev}{key} {self.message}{hint}"

    def __str__(self) -> str:
        return self.format()


@dataclass
class SpecError(Exception):
    """Raised with every diagnostic found; the CLI prints them and exits with ``exit_code``."""

    diagnostics: list[Diagnostic] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(self.__str__())

    @property
    def exit_code(self) -> int:
        errors = [d for d in self.diagnostics if d.severity == "error"]
        if any(d.unusable for d in errors):
            return EXIT_UNUSABLE
        return EXIT_FINDINGS if errors else EXIT_CLEAN

    def __str__(self) -> str:
        return "\n".join(d.format() for d in self.diagnostics)


def did_you_mean(name: str, candidates: Iterable[str]) -> str | None:
    """A ``did you mean 'x'?`` hint for the nearest candidate, or None when nothing is close.
    A candidate differing only in letter case wins (``Relu`` -> ``ReLU``): edit-distance ratios
    rank short names with several case changes below unrelated ones."""
    name, candidates = str(name), list(candidates)
    folded = [c for c in candidates if str(c).casefold() == name.casefold() and c != name]
    match = folded[:1] or difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    return f"did you mean '{match[0]}'?" if match else None


def _data_path(loc: Sequence, data: Any) -> tuple[tuple, Any]:
    """The part of a pydantic error location that are keys and indices of ``data``, and the value
    they reach. Other parts name union members (``tuple[int, int, int]``, ``MacsExpect``) or a
    key that is absent (a missing field); they are not spec keys."""
    path: list = []
    node = data
    for part in loc:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, (list, tuple)) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        else:
            continue
        path.append(part)
    return tuple(path), node


def validation_diagnostics(errors: Iterable[dict], data: Any, prefix: tuple = (), code: str = "type",
                           fields_at: Callable[[tuple], Iterable[str]] | None = None) -> list[Diagnostic]:
    """Diagnostics from pydantic's ``ValidationError.errors()`` for ``data`` found at ``prefix``:
    located by spec key path, one per path (a union's alternatives are joined with 'or'), with a
    did-you-mean for unknown keys when ``fields_at(path)`` lists the valid ones."""
    errors = list(errors)
    # pydantic reports each missing position of a fixed-length tuple: the last one gives its length
    # (keyed by the location without the index, which names the union member if any)
    lengths: dict[tuple, int] = {}
    for error in errors:
        loc = tuple(error.get("loc", ()))
        if error.get("type") == "missing" and loc and isinstance(loc[-1], int):
            lengths[loc[:-1]] = max(lengths.get(loc[:-1], 0), loc[-1] + 1)
    by_path: dict[tuple, Diagnostic] = {}
    for error in _closest_members(errors, data):
        loc = tuple(error.get("loc", ()))
        path, node = _data_path(loc, data)
        kind, got = error.get("type"), error.get("input")
        hint = None
        ctx = error.get("ctx") or {}
        if kind == "extra_forbidden":
            message = f"unknown key {path[-1]!r}"
            hint = did_you_mean(str(path[-1]), fields_at(path[:-1])) if fields_at else None
        elif kind == "missing" and loc and isinstance(node, (list, tuple)) and isinstance(loc[-1], int):
            message = f"expected exactly {lengths[loc[:-1]]} items, got {list(node)!r}"
        elif kind == "too_long" and ctx.get("field_type") == "Tuple" and isinstance(got, (list, tuple)):
            message = f"expected exactly {ctx['max_length']} items, got {list(got)!r}"
        elif kind == "missing" and loc:
            message = f"missing required key {loc[-1]!r}"
        else:
            message = f"{str(error.get('msg', 'invalid value')).removeprefix('Value error, ')}, got {got!r}"
        key = prefix + path
        if key in by_path:
            if message not in by_path[key].message:
                by_path[key].message += f"; or: {message}"
            continue
        by_path[key] = Diagnostic(message, path=key, hint=hint, code=code)
    return list(by_path.values())


def _is_type_error(error: dict) -> bool:
    """A value of the wrong type for one union member (``int_type``, ``list_type``, ...)."""
    kind = str(error.get("type", ""))
    return kind.endswith("_type") or kind.endswith("_parsing") or kind == "is_instance_of"


def _closest_members(errors: list[dict], data: Any) -> list[dict]:
    """Where a union member took the value's type but refused its range (``size: -8`` for
    ``int | list[int]``), its errors alone: "not a valid list" says nothing about a number."""
    by_key: dict[tuple, list[dict]] = {}
    for error in errors:
        by_key.setdefault(_data_path(tuple(error.get("loc", ())), data)[0], []).append(error)
    kept = []
    for group in by_key.values():
        fitting = [e for e in group if not _is_type_error(e)]
        kept += fitting if fitting and len(fitting) < len(group) else group
    return kept
