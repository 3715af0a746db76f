"""The Python API: ``load_spec``, ``compile``, ``build`` and ``check``, for every kind of spec.

A spec's ``kind`` picks its compiler: ``model`` specs go through ``graphspec.compiler`` (the
result lowers to an ``nn.Module``); ``transform`` and ``data`` specs go to
``graphspec.transforms.spec`` and ``graphspec.data.spec`` (``compile_document``), imported only
when such a spec is compiled. Every result is a ``graphspec.spec.compiled.Compiled`` (``.spec``,
``.diagnostics``, ``.ok``, ``.build()``) and has the ``.file`` it was read from. Loading,
validating and locating are ``graphspec.spec.driver``'s, the model compiler's ``compile_spec`` too.
"""
from __future__ import annotations

import importlib
import json
import os
from collections.abc import Mapping
from typing import Any, Sequence, Union

from graphspec.registry import require_bool  # noqa: F401  (graphspec.api.require_bool, as before)
from graphspec.spec.compiled import Compiled, blocking  # noqa: F401  (blocking: part of this API)
from graphspec.spec.errors import Diagnostic, SpecError

#: the module compiling each kind of spec (``compile_document(spec, data, smap, file)``)
KIND_COMPILERS = {
    "model": "graphspec.compiler.pipeline",
    "transform": "graphspec.transforms.spec",
    "data": "graphspec.data.spec",
    "train": "graphspec.train.spec",
}
#: kinds whose spec files name other specs that become part of them on load (``inline_references``
#: of the kind's compiler), before ``--set`` applies, so an override reaches into them
INLINING_KINDS = ("train",)

SpecPath = Union[str, os.PathLike]
#: ``["model.model_num_class=10", ...]`` or ``{"model.model_num_class": 10, ...}``
Overrides = Union[Sequence[str], Mapping[str, Any]]


def _spec_path(path: Any, function: str) -> str:
    text = path.strip() if isinstance(path, str) else ""
    if ("\n" in text or text.startswith(("graphspec:", "{"))) and not os.path.exists(path):
        first = text.splitlines()[0][:40]
        raise ValueError(f"graphspec.{function}() takes the path of a spec file, got YAML text ({first!r}...); "
                         "write it to a file first, e.g. pathlib.Path('spec.yaml').write_text(text)")
    if isinstance(path, (str, os.PathLike)):
        return os.fspath(path)
    raise TypeError(f"graphspec.{function}() takes the path of a spec file (str or pathlib.Path), "
                    f"got {type(path).__name__}" + (" (None)" if path is None else ""))


def override_list(overrides: Any, function: str = "compile") -> list[str]:
    """``overrides`` as ``PATH=VALUE`` strings: a list of them as is; a mapping's values (plain
    data or registered ops, e.g. ``nn.ReLU``) written as YAML (JSON is YAML)."""
    if isinstance(overrides, Mapping):
        from graphspec.registry import as_spec_data

        items = []
        for key, value in overrides.items():
            if not isinstance(key, str):
                raise TypeError(f"graphspec.{function}(): override keys are dotted key paths (str), "
                                f"got {key!r}")
            try:
                items.append(f"{key}={json.dumps(as_spec_data(value))}")
            except ValueError as err:
                raise TypeError(f"graphspec.{function}(): override {key!r}: {err}") from None
        return items
    if isinstance(overrides, (str, bytes)) or not isinstance(overrides, Sequence):
        hint = " (wrap one override in a list: [\"PATH=VALUE\"])" if isinstance(overrides, str) else ""
        raise TypeError(f"graphspec.{function}(): overrides must be a list of 'PATH=VALUE' strings or a mapping "
                        f"of paths to values, got {type(overrides).__name__}{hint}")
    bad = [o for o in overrides if not isinstance(o, str)]
    if bad:
        raise TypeError(f"graphspec.{function}(): every override is a 'PATH=VALUE' string, got {bad[0]!r}")
    return list(overrides)


def _inline_references(data: dict, smap, path: str) -> None:
    """The specs a document of the ``INLINING_KINDS`` names, inlined by the kind's compiler."""
    if isinstance(data, dict) and data.get("kind") in INLINING_KINDS:
        importlib.import_module(KIND_COMPILERS[data["kind"]]).inline_references(data, smap, path)


def compile_loaded(data: dict, smap, file: str):
    """Compile a document already loaded (``data`` with its source map): a part of another spec,
    such as a train spec's model and data specs. Findings are located through ``smap``."""
    from graphspec.spec import driver

    spec = driver.validated(data, smap)
    return driver.compile_validated(_compile_document, spec, data, smap, file)


def _compile_document(kind: str):
    """The ``compile_document`` of the compiler of ``kind``."""
    return _compiler(kind).compile_document


def ensure_builtin_ops() -> None:
    """Register graphspec's own ops (torch primitives, graph ops, the model builders, the
    transforms, the datasets and samplers): importing ``graphspec`` alone does not, so that the
    command line starts without torch."""
    from graphspec import data, models, ops, transforms  # noqa: F401  (importing registers them)


def _compiler(kind: str):
    """The module compiling ``kind``; a located, unusable finding when it is not installed."""
    name = KIND_COMPILERS[kind]
    ensure_builtin_ops()
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as err:
        if err.name is None or not name.startswith(err.name):
            raise  # a missing dependency inside the compiler: a bug, not bad input
        raise SpecError([Diagnostic(f"kind {kind!r} is not supported by this installation ({name} is missing)",
                                    path=("kind",), code="kind", unusable=True)]) from None


def load_spec(path: SpecPath, overrides: Overrides = ()):
    """Read a spec file (``extends`` resolved, ``overrides`` applied) into its typed document
    (``ModelSpec``, or the document of its kind)."""
    from graphspec.spec import driver

    return driver.load(_spec_path(path, "load_spec"), override_list(overrides, "load_spec"), _inline_references)[0]


def compile(path: SpecPath, overrides: Overrides = ()):  # noqa: A001 (mirrors the CLI verb)
    """Statically check a spec of any kind. For a model: IR, per-node shapes, params, MACs and
    findings (``.diagnostics``); ``SpecError`` when it cannot be expanded at all."""
    from graphspec.spec import driver

    file, overrides = _spec_path(path, "compile"), override_list(overrides, "compile")
    return driver.compile_file(file, overrides, _compile_document, _inline_references)


def build(spec: Any, overrides: Overrides = ()):
    """Compile a spec (a path, or a result of ``compile``) and build it: a model spec gives the
    ``nn.Module`` PyTorchVideo's builder would build, a transform spec its transform, a data spec
    its ``DataLoader``. ``SpecError`` when the spec has errors."""
    if isinstance(spec, Compiled):
        if overrides:
            raise TypeError("graphspec.build(): overrides apply to a spec file; this spec is already compiled")
        return spec.build()
    return compile(_spec_path(spec, "build"), override_list(overrides, "build")).build()


def check(path: SpecPath, overrides: Overrides = ()) -> list[Diagnostic]:
    """Every finding of a spec (located), as ``graphspec validate`` reports them; [] when clean."""
    try:
        return compile(_spec_path(path, "check"), overrides).diagnostics
    except SpecError as err:
        return err.diagnostics
