"""Diagnostics: every problem found in a spec, located as ``file:line:col: key.path: message``."""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Iterable, Literal, Sequence

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
    """A ``did you mean 'x'?`` hint for the nearest candidate, or None when nothing is close."""
    match = difflib.get_close_matches(str(name), list(candidates), n=1, cutoff=0.6)
    return f"did you mean '{match[0]}'?" if match else None
