"""The compiler pipeline: load -> validate -> expand -> check (shapes, params, MACs, expect) -> lower.

``compile_spec`` raises ``SpecError`` when the spec cannot be expanded at all (unreadable file,
schema errors, unknown ops); findings of the static checks (shape errors, failed ``expect``)
are collected on the result, located at the spec key that causes them.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import torch.nn as nn

from graphspec.spec.document import ModelSpec, validate_document
from graphspec.spec.errors import Diagnostic, SpecError
from graphspec.spec.source import SourceMap, load_document

from .component import as_component
from .graph import GraphIR, build_graph, lower_graph
from .infer import Inference, InferenceFailed, TensorType, Value, annotate_state
from .ir import Node, assign_paths, lint
from .lower_torch import lower


@dataclass
class Compiled:
    spec: ModelSpec
    data: dict
    smap: SourceMap
    file: str
    root: Node | None = None  # model form
    graph: GraphIR | None = None  # graph form
    inputs: dict[str, Value] = field(default_factory=dict)
    outputs: dict[str, Value] = field(default_factory=dict)
    state: list = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def nodes(self) -> list[Node]:
        """Every IR node, parents first."""
        roots = [self.root] if self.root is not None else list(self.graph.nodes.values())
        return [n for r in roots for n in r.walk()]

    @property
    def params(self) -> int:
        return sum(math.prod(s) for _, _, s, is_param in self.state if is_param)

    @property
    def macs(self) -> int | None:
        roots = [self.root] if self.root is not None else list(self.graph.nodes.values())
        values = [r.meta.get("macs") for r in roots]
        return None if any(v is None for v in values) else sum(values)

    @property
    def ok(self) -> bool:
        return not any(d.severity == "error" for d in self.diagnostics)

    def lower(self) -> nn.Module:
        return lower(self.root) if self.root is not None else lower_graph(self.graph)


def input_value(decl: Any) -> Value:
    if isinstance(decl, dict):
        return [TensorType(tuple(shape)) for shape in decl.values()]
    return TensorType(tuple(decl))


def load_spec(path: str | Path, overrides: Sequence[str] = ()) -> tuple[ModelSpec, dict, SourceMap]:
    """Read and validate a spec file; ``SpecError`` with located diagnostics on failure."""
    data, smap = load_document(path, overrides)
    try:
        return validate_document(data), data, smap
    except SpecError as err:
        raise SpecError(locate(err.diagnostics, smap)) from None


def locate(diagnostics: list[Diagnostic], smap: SourceMap) -> list[Diagnostic]:
    """Give each diagnostic the file, line and column of its key path."""
    for d in diagnostics:
        if d.location is None:
            d.location = smap.locate(d.path)
    return diagnostics


def compile_spec(path: str | Path, overrides: Sequence[str] = ()) -> Compiled:
    spec, data, smap = load_spec(path, overrides)
    try:
        result = compile_document(spec, data, smap, str(path))
    except SpecError as err:
        raise SpecError(locate(err.diagnostics, smap)) from None
    locate(result.diagnostics, smap)
    return result


def compile_document(spec: ModelSpec, data: dict, smap: SourceMap, file: str) -> Compiled:
    result = Compiled(spec, data, smap, file)
    result.inputs = {name: input_value(decl) for name, decl in spec.inputs.items()}
    if spec.model is not None:
        _compile_model(result, spec)
    else:
        _compile_graph(result, spec)
    if result.ok:
        _check_expect(result)
    return result


def _compile_model(result: Compiled, spec: ModelSpec) -> None:
    try:
        root = as_component(spec.model, ("model",))()
    except (ValueError, TypeError, AssertionError) as err:  # a builder rejected its arguments
        raise SpecError([builder_error(err, ("model",), spec.model)]) from None
    result.root = assign_paths(root)
    result.diagnostics += lint(root)
    result.state = annotate_state(root)
    try:
        out = Inference().run(root, *result.inputs.values())
    except InferenceFailed as failed:
        result.diagnostics.append(_refine(failed.diagnostic, result.data))
        return
    names = spec.output_names()
    outs = out if isinstance(out, list) and len(names) > 1 else [out]
    if len(outs) != len(names):
        result.diagnostics.append(Diagnostic(f"model has {len(outs)} outputs, 'outputs' names {len(names)}",
                                             path=("outputs",), code="outputs"))
    result.outputs = dict(zip(names, outs))


def _compile_graph(result: Compiled, spec: ModelSpec) -> None:
    outputs = spec.outputs if isinstance(spec.outputs, dict) else {n: n for n in spec.outputs}
    graph, found = build_graph(spec.nodes, list(spec.inputs), outputs)
    result.diagnostics += found
    if graph is None:
        if not found:
            raise SpecError([Diagnostic("graph could not be built", path=("nodes",))])
        return
    result.graph = graph
    env: dict[str, Value] = dict(result.inputs)
    ctx = Inference()
    for name, node in graph.nodes.items():
        result.diagnostics += lint(node)
        result.state += annotate_state(node)
        values = [env[i] for i in graph.wiring[name]]
        try:
            env[name] = ctx.run(node, values) if graph.calls.get(name) == "list" else ctx.run(node, *values)
        except InferenceFailed as failed:
            result.diagnostics.append(_refine(failed.diagnostic, result.data))
            return
    result.outputs = {k: env[v] for k, v in graph.outputs.items()}


def builder_error(err: Exception, path: tuple, raw: Any) -> Diagnostic:
    """A builder's own ValueError, located at the argument its message starts with, if any."""
    message = str(err) or type(err).__name__
    first = message.split(" ", 1)[0]
    if isinstance(raw, dict) and first in raw:
        path = path + (first,)
    return Diagnostic(message, path=path, code="build")


def _refine(diag: Diagnostic, data: dict) -> Diagnostic:
    """Point a shape error at the spec key that set the offending value: the argument of the
    same name with that value, else the one key holding that value."""
    node_arg = diag.__dict__.pop("node_arg", None)
    if node_arg is None:
        return diag
    arg, value = node_arg
    container = _at(data, diag.path)
    if not isinstance(container, dict):
        return diag
    plain = list(value) if isinstance(value, (list, tuple)) else value
    if arg in container and container[arg] == plain:
        diag.path = tuple(diag.path) + (arg,)
    elif not isinstance(plain, bool):  # True/False are too common to identify a key
        hits = [k for k, v in container.items() if v == plain and not isinstance(v, bool)]
        if len(hits) == 1:
            diag.path = tuple(diag.path) + (hits[0],)
    return diag


def _at(data: Any, path: tuple) -> Any:
    for part in path:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _same_shape(got: Value, want: list) -> bool:
    return isinstance(got, TensorType) and [str(d) for d in got.shape] == [str(d) for d in want]


def _check_expect(result: Compiled) -> None:
    expect = result.spec.expect
    if expect is None:
        return
    found = result.diagnostics
    if expect.params is not None and result.params != expect.params:
        found.append(Diagnostic(f"expected {expect.params:,} parameters, the model has {result.params:,}",
                                path=("expect", "params"), code="expect"))
    if expect.state_entries is not None and len(result.state) != expect.state_entries:
        found.append(Diagnostic(f"expected {expect.state_entries} state_dict entries, got {len(result.state)}",
                                path=("expect", "state_entries"), code="expect"))
    macs = expect.macs_expect
    if macs is not None:
        got = result.macs
        if got is None:
            found.append(Diagnostic("MACs cannot be counted with symbolic spatial/temporal input dims",
                                    path=("expect", "macs"), code="expect"))
        elif abs(got - macs.value) > macs.rtol * macs.value:
            found.append(Diagnostic(f"expected {macs.value / 1e9:.4g} GMACs (rtol {macs.rtol}), counted "
                                    f"{got / 1e9:.4g} GMACs", path=("expect", "macs"), code="expect"))
    for name, shape in (expect.outputs or {}).items():
        if name not in result.outputs:
            found.append(Diagnostic(f"no output named {name!r} (outputs: {', '.join(result.outputs)})",
                                    path=("expect", "outputs", name), code="expect"))
        elif not _same_shape(result.outputs[name], shape):
            found.append(Diagnostic(f"expected output shape {TensorType(tuple(shape))}, inferred {result.outputs[name]}",
                                    path=("expect", "outputs", name), code="expect"))


def build(spec: str | Path | Compiled, overrides: Sequence[str] = ()) -> nn.Module:
    """Compile a spec file and lower it to an ``nn.Module``; ``SpecError`` if it has errors.

    ``expect`` is not enforced here (``validate`` checks it): a spec built with overrides, e.g.
    another number of classes, legitimately differs from the published figures."""
    result = spec if isinstance(spec, Compiled) else compile_spec(spec, overrides)
    errors = [d for d in result.diagnostics if d.severity == "error" and d.code != "expect"]
    if errors:
        raise SpecError(errors)
    return result.lower()
