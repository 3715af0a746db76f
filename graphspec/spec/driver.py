"""The one driver of every kind of spec: load the file (``extends`` merged, the specs it names
inlined, ``--set`` applied), validate it into its typed document, compile it, and locate every
finding through the source map. ``graphspec.api`` picks the compiler by the spec's kind; the
model compiler's own ``compile_spec`` runs the same path with its ``compile_document``.

Compilers are passed in, never imported here: this module sits below them all.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Callable, Iterator, Optional, Sequence

from .document import validate_document
from .errors import SpecError
from .source import SourceMap, apply_overrides, load_document

#: ``compile_document(spec, data, smap, file)`` of one kind: the result has ``diagnostics``
CompileDocument = Callable[[Any, dict, SourceMap, str], Any]
#: inlines the specs a document names (a train spec's model and data), in place
Inline = Callable[[dict, SourceMap, str], None]


@contextmanager
def located(smap: SourceMap) -> Iterator[None]:
    """A ``SpecError`` raised inside gets the location of each of its findings' key paths."""
    try:
        yield
    except SpecError as err:
        raise SpecError(smap.attach(err.diagnostics)) from None


def load_data(path: str, overrides: Sequence[str], inline: Optional[Inline] = None) -> tuple[dict, SourceMap]:
    """The file's data and source map, ``extends`` merged, then ``inline``d, then ``overrides``
    applied (and inlined again: an override may give a part as a path, --set model=other.yaml)."""
    try:
        data, smap = load_document(path)
    except SpecError:
        return load_document(path, overrides)  # the file's problems, and the overrides' own
    if inline is not None:
        with located(smap):
            inline(data, smap, path)
    apply_overrides(data, smap, overrides)
    if inline is not None and overrides:
        with located(smap):
            inline(data, smap, path)
    return data, smap


def validated(data: dict, smap: SourceMap) -> Any:
    """The typed document of ``data`` (``ModelSpec``, ``TransformSpec``, ...); located findings."""
    with located(smap):
        return validate_document(data)


def load(path: str, overrides: Sequence[str], inline: Optional[Inline] = None) -> tuple[Any, dict, SourceMap]:
    """(typed document, data, source map) of a spec file, every problem located."""
    data, smap = load_data(path, overrides, inline)
    return validated(data, smap), data, smap


#: the ``compile_document`` of a kind (``SpecError`` for a kind it does not compile)
CompilerFor = Callable[[str], CompileDocument]


def compile_validated(compiler_for: CompilerFor, spec: Any, data: dict, smap: SourceMap, file: str) -> Any:
    """The result of the compiler of ``spec.kind``, its findings (raised or collected) located."""
    with located(smap):
        result = compiler_for(spec.kind)(spec, data, smap, file)
    smap.attach(result.diagnostics)
    return result


def compile_file(path: str, overrides: Sequence[str], compiler_for: CompilerFor,
                 inline: Optional[Inline] = None) -> Any:
    """Load, validate and compile a spec file with the compiler of its kind."""
    spec, data, smap = load(path, overrides, inline)
    return compile_validated(compiler_for, spec, data, smap, path)
