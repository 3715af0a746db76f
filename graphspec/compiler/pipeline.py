"""The compiler pipeline: load -> validate -> expand -> check (shapes, params, MACs, expect) -> lower.

``compile_spec`` raises ``SpecError`` when the spec cannot be expanded at all (unreadable file,
schema errors, unknown ops); findings of the static checks (shape errors, failed ``expect``)
are collected on the result, located at the spec key that causes them.

Both spec forms compile to the one IR, a ``Graph`` (``compiler.graph``): a model spec is a graph
of one step. The stable API of a compiled result (``CompiledModel``, a
``graphspec.spec.compiled.Compiled``), which IR passes and exporters build on:

* ``graph``: the ``Graph``; ``graph.steps`` in dependency order, each with ``name``, ``node``
  (the root ``Node`` of its tree: ``op``, ``args``, ``inputs``, ``path``, ``meta``), ``inputs``
  (value names it reads) and ``call``. Node paths are the lowered module's qualified names, so
  ``meta`` facts, state_dict keys and errors share them. ``graph.walk()`` yields every node.
  ``None`` only when an explicit graph could not be wired (``diagnostics`` say why).
* ``nodes``: every IR node (``graph.walk()`` as a list).
* ``inputs`` / ``outputs``: name -> static type (``TensorType`` or a list of them).
* ``params``, ``macs`` (per clip; None with symbolic dims), ``state`` (static state_dict
  layout), ``diagnostics`` (located findings), ``ok``.
* ``lower()``: the ``nn.Module`` (a model spec's own tree, or an ``ExplicitGraph``); ``build()``
  the same after refusing the findings that stop a build.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import torch.nn as nn

from graphspec.spec.compiled import Compiled, blocking
from graphspec.spec import driver
from graphspec.spec.document import ModelSpec
from graphspec.spec.errors import Diagnostic, SpecError
from graphspec.spec.source import SourceMap

from .component import expand
from .graph import Graph, model_graph
from .infer import TENSOR_TYPES, Inference, InferenceFailed, TensorType, Value, annotate_state
from .ir import Node, lint
from .limits import size_findings
from .lower_torch import lower_graph
from .symbolic_sizes import least_size_warnings
from .symbols import same_shape
from .wiring import build_graph


@dataclass
class CompiledModel(Compiled):
    spec: ModelSpec
    data: dict
    smap: SourceMap
    file: str
    graph: Graph | None = None
    inputs: dict[str, Value] = field(default_factory=dict)
    outputs: dict[str, Value] = field(default_factory=dict)
    state: list = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def nodes(self) -> list[Node]:
        """Every IR node: step by step, parents first."""
        return list(self.graph.walk()) if self.graph is not None else []

    @property
    def params(self) -> int:
        return sum(math.prod(s) for _, _, s, is_param in self.state if is_param)

    @property
    def macs(self) -> int | None:
        values = [s.node.meta.get("macs") for s in self.graph.steps] if self.graph is not None else [None]
        return None if any(v is None for v in values) else sum(values)

    def lower(self) -> nn.Module:
        if self.graph is None:
            raise SpecError([d for d in self.diagnostics if d.severity == "error"]
                            or [Diagnostic("the spec did not compile to a graph", code="graph")])
        return lower_graph(self.graph)

    def build(self) -> nn.Module:
        """``lower()``; ``SpecError`` when the spec has errors (``expect`` is not enforced: a spec
        built with overrides, e.g. another number of classes, legitimately differs from its
        published figures; ``validate`` checks it)."""
        errors = blocking(self.diagnostics)
        if errors:
            raise SpecError(errors)
        return self.lower()


def _input_findings(inputs: dict[str, Any]) -> list[Diagnostic]:
    """Declared input dims are sizes >= 1 or symbols (identifiers such as ``B``, ``T``)."""
    found = []
    for name, decl in inputs.items():
        shapes = decl.items() if isinstance(decl, dict) else [((), decl)]
        for key, shape in shapes:
            where = ("inputs", name) + ((key,) if key != () else ())
            for i, dim in enumerate(shape):
                bad = dim < 1 if isinstance(dim, int) else not dim.isidentifier()
                if bad:
                    found.append(Diagnostic(f"input dims are sizes >= 1 or symbols such as B or T, got {dim!r}",
                                            path=where + (i,), code="inputs"))
    return found


def load_spec(path: str | Path, overrides: Sequence[str] = ()) -> tuple[ModelSpec, dict, SourceMap]:
    """Read and validate a spec file; ``SpecError`` with located diagnostics on failure."""
    return driver.load(str(path), overrides)


def compile_spec(path: str | Path, overrides: Sequence[str] = ()) -> CompiledModel:
    """Compile a model spec file: ``graphspec.compile``'s path (``spec.driver``) with this compiler."""
    return driver.compile_file(str(path), overrides, _model_compiler)


def _model_compiler(kind: str):
    if kind != "model":
        raise SpecError([Diagnostic(f"compile_spec compiles model specs; this is a {kind} spec "
                                    "(graphspec.compile compiles every kind)", path=("kind",), code="kind")])
    return compile_document


def _state_errors(graph) -> list[Diagnostic]:
    """Nodes whose module refused its arguments when their state layout was built (inference.BUILT)
    though no shape rule found a fault: located findings, never a missing layout."""
    return [Diagnostic(f"{node.shown} ({node.op}): {node.meta['state_error']}", path=node.source, code="args")
            for node in graph.walk() if "state_error" in node.meta]


def compile_document(spec: ModelSpec, data: dict, smap: SourceMap, file: str) -> CompiledModel:
    result = CompiledModel(spec, data, smap, file)
    result.inputs = {name: TENSOR_TYPES.declared(decl) for name, decl in spec.inputs.items()}
    result.diagnostics += _input_findings(spec.inputs)
    if not result.ok:
        return result
    graph, found = _model_graph(spec) if spec.model is not None else _explicit_graph(spec)
    result.diagnostics += found
    if graph is None:
        return result
    result.graph = graph
    for step in graph.steps:
        result.diagnostics += lint(step.node)
        result.state += annotate_state(step.node)
    if not result.ok:
        return result
    result.diagnostics += size_findings(result)
    if not result.ok:
        return result
    try:
        env = Inference().run_graph(graph, result.inputs)
    except InferenceFailed as failed:
        diag = _refine(failed, result.data, result.inputs)
        if spec.model is not None and diag.path == ("model",):
            diag.path = _builder_argument_at_fault(spec, result.data["model"], result.inputs) or diag.path
        result.diagnostics.append(diag)
        return result
    result.diagnostics += _state_errors(graph)
    result.outputs, found = _output_values(graph, env)
    result.diagnostics += found
    result.diagnostics += least_size_warnings(graph.walk())
    result.diagnostics += size_findings(result, activations=True)
    if result.ok:
        _check_expect(result)
    return result


def _model_graph(spec: ModelSpec) -> tuple[Graph | None, list[Diagnostic]]:
    root = expand(spec.model, ("model",))
    return model_graph(root, list(spec.inputs), spec.output_names())


def _explicit_graph(spec: ModelSpec) -> tuple[Graph | None, list[Diagnostic]]:
    outputs = spec.outputs if isinstance(spec.outputs, dict) else {n: n for n in spec.outputs}
    graph, found = build_graph(spec.nodes, list(spec.inputs), outputs)
    if graph is None and not found:
        raise SpecError([Diagnostic("graph could not be built", path=("nodes",))])
    return graph, found


def _output_values(graph: Graph, env: dict[str, Value]) -> tuple[dict[str, Value], list[Diagnostic]]:
    """Output name -> type; a model spec's list output is split over several output names."""
    names = list(graph.outputs)
    if not (graph.single and len(names) > 1):
        return {name: env[src] for name, src in graph.outputs.items()}, []
    out = env[graph.steps[0].name]
    outs = out if isinstance(out, list) else [out]
    if len(outs) != len(names):
        return {}, [Diagnostic(f"model has {len(outs)} outputs, 'outputs' names {len(names)}",
                               path=("outputs",), code="outputs")]
    return dict(zip(names, outs)), []


def _refine(failed: InferenceFailed, data: dict, inputs: dict[str, Value]) -> Diagnostic:
    """Point a shape error at the spec key that set the offending value: the argument of the
    same name with that value, else the one key holding that value; an error naming no argument
    of a node given declared pathways as they are (SlowFast given three) at those inputs."""
    diag = failed.diagnostic
    if failed.node_arg is None:
        given, values = list(failed.inputs), list(inputs.values())
        declared = [name for name, value in inputs.items() if isinstance(value, list) and given in ([value], value)]
        if len(declared) == 1:
            diag.path = ("inputs", declared[0])
        elif len(values) > 1 and given in ([values], values):  # all the inputs, as one list or several
            diag.path = ("inputs",)
        return diag
    arg, value = failed.node_arg
    container = _at(data, diag.path)
    if not isinstance(container, dict):
        return diag
    if isinstance(arg, tuple):  # a key path into the argument: point there if the spec has it
        if _at(container, arg) is not _ABSENT:
            diag.path = tuple(diag.path) + arg
        return diag
    plain = list(value) if isinstance(value, (list, tuple)) else value
    if arg in container and container[arg] == plain:
        diag.path = tuple(diag.path) + (arg,)
    elif not isinstance(plain, bool):  # True/False are too common to identify a key
        hits = [k for k, v in container.items() if v == plain and not isinstance(v, bool)]
        if len(hits) == 1:
            diag.path = tuple(diag.path) + (hits[0],)
    return diag


def _builder_argument_at_fault(spec: ModelSpec, raw: Any, inputs: dict[str, Value]) -> tuple | None:
    """The key of the one builder argument written in the spec without which (at its default)
    the model passes the shape checks that failed in a node the builder made (so at ``model:``):
    X3D's head pool is sized from ``input_crop_size``, so a crop larger than the inputs is at
    that line. Each written argument is tried at its default (the model rebuilt and inferred
    again, only after a failure); None when none or several would fit."""
    if not isinstance(raw, dict):
        return None
    fits = []
    for key in raw:
        if key == "op":
            continue
        try:
            graph, found = model_graph(expand({k: v for k, v in raw.items() if k != key}, ("model",)),
                                       list(spec.inputs), spec.output_names())
            if found:
                continue
            Inference().run_graph(graph, inputs)
        except (SpecError, InferenceFailed):  # required, refused or failing at its default too
            continue
        fits.append(key)
    return ("model", fits[0]) if len(fits) == 1 else None


_ABSENT = object()


def _at(data: Any, path: tuple) -> Any:
    for part in path:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return _ABSENT
    return data


def _check_expect(result: CompiledModel) -> None:
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
    fixed = {d for value in result.inputs.values() for t in _tensors(value) for d in t.shape if isinstance(d, str)}
    binding: dict[str, Any] = {}  # a symbol the inputs do not use binds to what it meets (B -> 1)
    for name, shape in (expect.outputs or {}).items():
        if name not in result.outputs:
            found.append(Diagnostic(f"no output named {name!r} (outputs: {', '.join(result.outputs)})",
                                    path=("expect", "outputs", name), code="expect"))
        elif not same_shape(result.outputs[name], shape, fixed, binding):
            found.append(Diagnostic(f"expected output shape {TensorType(tuple(shape))}, inferred {result.outputs[name]}",
                                    path=("expect", "outputs", name), code="expect"))


def _tensors(value: Value) -> list[TensorType]:
    return [value] if isinstance(value, TensorType) else [t for v in value for t in _tensors(v)]


def build(spec: str | Path | CompiledModel, overrides: Sequence[str] = ()) -> nn.Module:
    """Compile a spec file and build its ``nn.Module`` (``CompiledModel.build``)."""
    return (spec if isinstance(spec, CompiledModel) else compile_spec(spec, overrides)).build()
