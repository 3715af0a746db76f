"""Static inference on the IR: output type, MACs and params of every node, without running
torch modules (the one exception, an unregistered Python callable, is run on the meta device).
State layouts are derived by building an op's module on the meta device where its state rule
is ``BUILT``: the layout then cannot drift from the module.

Each op's ``infer`` rule maps input types to output types; containers run their children
through ``ctx.run`` in the order their ``forward`` does. Shapes may hold symbols (``"B"``).
MACs are per clip (dim 0 is the batch), counted as fvcore counts them.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any, Sequence, Union

from graphspec import registry
from graphspec.spec.errors import Diagnostic

from .ir import PYTHON_OP, Node

Dim = Union[int, str]


@dataclass(frozen=True, repr=False)
class TensorType:
    shape: tuple[Dim, ...]
    dtype: str = "float32"

    @property
    def rank(self) -> int:
        return len(self.shape)

    def with_shape(self, shape: Sequence[Dim]) -> "TensorType":
        return TensorType(tuple(shape), self.dtype)

    def __str__(self) -> str:
        return "[" + ", ".join(str(d) for d in self.shape) + "]"

    __repr__ = __str__  # messages show shapes, in lists too, never the dataclass form


Value = Union[TensorType, list]  # a tensor, or a list of values (multi-pathway models)


class ShapeError(Exception):
    """Raised by a shape rule; ``arg`` names the node argument at fault, when one is (or a key
    path into it: ``("blocks", 1)``)."""

    def __init__(self, message: str, arg: str | tuple | None = None):
        super().__init__(message)
        self.arg = arg


class InferenceFailed(Exception):
    """A shape rule failed: the located finding, and ``(argument, value)`` of the node argument
    at fault (if the rule named one), so the pipeline can point at the spec key that set it."""

    def __init__(self, diagnostic: Diagnostic, node_arg: tuple[str, Any] | None = None, inputs: tuple = ()):
        super().__init__(diagnostic.format())
        self.diagnostic = diagnostic
        self.node_arg = node_arg
        #: the values the failing node was given (a declared input itself: the input is at fault)
        self.inputs = inputs


def per_sample_numel(value: TensorType) -> int | None:
    """Elements of one sample (dim 0 is the batch); None when another dim is symbolic."""
    rest = value.shape[1:]
    return math.prod(rest) if all(isinstance(d, int) for d in rest) else None


class Inference:
    """Walks an IR tree with input types; records ``meta['output']`` and ``meta['macs']``."""

    def run(self, node: Node | None, *inputs: Value) -> Value:
        if node is None:
            return inputs[0]
        try:
            if node.op == PYTHON_OP:
                out, own_macs = _meta_execute(node, inputs), None
            else:
                opdef = registry.get(node.op)
                if opdef.infer is None:
                    raise ShapeError(f"op {node.op!r} has no static shape rule")
                out = opdef.infer(node, self, *inputs)
                own_macs = opdef.macs(node.args, inputs, out) if opdef.macs else 0
        except ShapeError as err:
            key = err.arg[0] if isinstance(err.arg, tuple) else err.arg
            node_arg = (err.arg, node.args[key]) if key is not None and key in node.args else None
            raise InferenceFailed(self._diagnostic(node, err, inputs), node_arg, inputs) from None
        children = [child.meta.get("macs") for _, child in node.children() if "output" in child.meta]
        parts = [own_macs, *children]
        node.meta["macs"] = None if any(p is None for p in parts) else sum(parts)
        node.meta["inputs"] = list(inputs)
        node.meta["output"] = out
        return out

    @staticmethod
    def _diagnostic(node: Node, err: ShapeError, inputs: tuple) -> Diagnostic:
        where = node.shown
        shapes = ", ".join(_fmt(v) for v in inputs)
        return Diagnostic(f"{where} ({node.op}): {err} [input {shapes}]", path=node.source, code="shape",
                          depends_on=(("inputs",),))

    def run_graph(self, graph: Any, inputs: dict[str, Value]) -> dict[str, Value]:
        """Every step of a ``Graph`` in order: the values by name (inputs and step outputs)."""
        env = dict(inputs)
        for step in graph.steps:
            values = [env[name] for name in step.inputs]
            env[step.name] = self.run(step.node, values) if step.call == "list" else self.run(step.node, *values)
        return env


def _fmt(value: Value) -> str:
    return str(value) if isinstance(value, TensorType) else "[" + ", ".join(_fmt(v) for v in value) + "]"


def infer(root: Node, *inputs: Value) -> Value:
    return Inference().run(root, *inputs)


def _meta_execute(node: Node, inputs: tuple) -> Value:
    """Shape of an unregistered Python module: run it on the meta device. Symbols are bound to
    distinct large primes and mapped back, so a symbolic batch survives."""
    import torch

    from .lower_torch import lower

    primes = iter((1009, 1013, 1019, 1021, 1031, 1033, 1039, 1049))
    binding: dict[str, int] = {}

    def concrete(value: Value) -> Any:
        if isinstance(value, list):
            return [concrete(v) for v in value]
        dims = [d if isinstance(d, int) else binding.setdefault(d, next(primes)) for d in value.shape]
        return torch.empty(dims, device="meta", dtype=getattr(torch, value.dtype))

    with torch.device("meta"):
        module = lower(node)
    try:
        out = module(*[concrete(v) for v in inputs])
    except Exception as err:  # the user's module rejected the shapes: report, don't crash
        raise ShapeError(f"{type(err).__name__}: {err}") from None
    back = {v: k for k, v in binding.items()}

    def typed(t: Any) -> Value:
        if isinstance(t, (list, tuple)):
            return [typed(x) for x in t]
        return TensorType(tuple(back.get(d, d) for d in t.shape), str(t.dtype).replace("torch.", ""))

    node.meta["inferred_by"] = "meta-execution"
    return typed(out)


#: an op's ``state`` rule saying its layout is what its module builds: the module is constructed
#: on the meta device from the node's arguments (no hand-kept copy of the layout to drift from it)
BUILT = "built"


def annotate_state(root: Node) -> list[tuple[str, str, tuple, bool]]:
    """Static state_dict layout ``(key, dtype, shape, is_param)`` of the lowered tree, in module
    registration order; also records ``meta['params']`` on every node. A node whose module
    cannot be built from its arguments (state ``BUILT``) gets ``meta['state_error']`` instead of
    entries: the shape rules usually name the fault first, the pipeline reports it otherwise."""
    entries: list[tuple[str, str, tuple, bool]] = []
    _state(root, entries)
    return entries


def _state(node: Node, entries: list) -> int:
    if node.op == PYTHON_OP:
        return _python_state(node, entries)
    opdef = registry.get(node.op)
    if opdef.state == BUILT:
        own = built_state(opdef.lower or opdef.target, node)
    else:
        own = opdef.state(node.args) if opdef.state is not None else []
    total = _record(node, own, entries)
    for _, child in node.children():
        total += _state(child, entries)
    node.meta["params"] = total
    return total


def _record(node: Node, own: Sequence[tuple], entries: list) -> int:
    """Append ``own`` entries under the node's path; the count of parameter elements."""
    total = 0
    for key, dtype, shape, is_param in own:
        entries.append((f"{node.path}.{key}" if node.path else key, dtype, tuple(shape), is_param))
        total += math.prod(shape) if is_param else 0
    return total


def module_entries(module: Any) -> tuple[tuple[str, str, tuple, bool], ...]:
    """``(key, dtype, shape, is_param)`` of a module's state_dict, in its order."""
    params = {name for name, _ in module.named_parameters()}
    return tuple((key, str(t.dtype).removeprefix("torch."), tuple(t.shape), key in params)
                 for key, t in module.state_dict(keep_vars=True).items())


def built_state(cls: Any, node: Node) -> tuple:
    """The layout of ``cls(**node.args)`` built on the meta device (cached per argument set: models
    repeat their blocks). Component arguments are passed as None: their entries are their own
    nodes'. An argument set the constructor refuses is recorded as ``meta['state_error']``."""
    args = {key: None if isinstance(value, Node) else value for key, value in node.args.items()}
    frozen = _frozen(args)
    try:
        return _built(cls, frozen) if frozen is not None else _build(cls, args)
    except Exception as err:  # the constructor's own check; reported as the node's finding
        node.meta["state_error"] = f"{type(err).__name__}: {err}"
        return ()


def _frozen(value: Any) -> Any:
    """A hashable, order-keeping stand-in for plain argument values (None when there is none)."""
    if isinstance(value, dict):
        items = tuple((k, _frozen(v)) for k, v in value.items())
        return None if any(f is None for _, f in items) else ("dict", items)
    if isinstance(value, (list, tuple)):
        items = tuple(_frozen(v) for v in value)
        return None if any(f is None for f in items) else ("list" if isinstance(value, list) else "tuple", items)
    if value is None or isinstance(value, (bool, int, float, str)):
        return (type(value).__name__, value)  # the type too: True and 1 are equal keys
    return None


def _thawed(frozen: Any) -> Any:
    kind, items = frozen
    if kind == "dict":
        return {k: _thawed(v) for k, v in items}
    if kind in ("list", "tuple"):
        return (list if kind == "list" else tuple)(_thawed(v) for v in items)
    return items


@functools.lru_cache(maxsize=4096)
def _built(cls: Any, frozen: Any) -> tuple:
    return _build(cls, _thawed(frozen))


def _build(cls: Any, args: dict) -> tuple:
    import torch

    with torch.device("meta"):
        return module_entries(cls(**args))


def _python_state(node: Node, entries: list) -> int:
    import torch

    from .lower_torch import lower

    with torch.device("meta"):
        module = lower(node)
    node.meta["params"] = total = _record(node, module_entries(module), entries)
    return total
