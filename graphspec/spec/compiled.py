"""``Compiled``: what a compiled spec of every kind is to its callers (the API, the command line).

A model, transform, data or train spec compiles to its own result class (``CompiledModel``,
``CompiledTransform``, ``CompiledData``, ``CompiledTrain``); each subclasses this protocol, so
``isinstance(x, Compiled)`` tells a compiled result from a spec path, and ``ok`` and the
findings that stop ``build()`` are defined once.
"""
from __future__ import annotations

from typing import Any, Protocol, Sequence, runtime_checkable

from .errors import Diagnostic


def blocking(diagnostics: Sequence[Diagnostic]) -> list[Diagnostic]:
    """The findings that stop a build: errors other than a failed ``expect`` (a spec built with
    overrides, e.g. another number of classes, legitimately differs from its published figures)."""
    return [d for d in diagnostics if d.severity == "error" and d.code != "expect"]


@runtime_checkable
class Compiled(Protocol):
    #: the typed document (``ModelSpec``, ``TransformSpec``, ...)
    spec: Any
    #: located findings, errors and warnings
    diagnostics: list[Diagnostic]

    @property
    def ok(self) -> bool:
        """No errors (warnings allowed; a failed ``expect`` is an error)."""
        return not any(d.severity == "error" for d in self.diagnostics)

    def build(self) -> Any:
        """The object the spec describes (``nn.Module``, transform, ``DataLoader``); ``SpecError``
        with the ``blocking`` findings when there are any."""
        ...
