"""Static inference on the IR: output type, MACs and params of every node, without running
torch modules (the one exception, an unregistered Python callable, is run on the meta device).
State layouts are derived by building an op's module on the meta device where its state rule
is ``BUILT``: the layout then cannot drift from the module.

One engine (``Inference``) infers every kind of spec; its value domain is a parameter
(``Domain``): tensor types for models (``TENSOR_TYPES``, each op's ``infer`` rule), clip layouts
for transforms and the sample dicts of data specs (``graphspec.transforms.spec.CLIP_LAYOUTS``,
each op's ``layout`` rule). Rules are ``(node, ctx, *inputs) -> value``; containers run their
children through ``ctx.run`` in the order their ``forward`` does. Shapes may hold symbols
(``"B"``). MACs are per clip (dim 0 is the batch), counted as fvcore counts them.
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


class Domain:
    """The values one kind of spec infers, for the one engine (``Inference``): how a value is
    shown, how a declared input reads, which rule an op has, and what a rule's failure means.

    Models infer ``TensorType``s (``TENSOR_TYPES``: a failure stops the inference, a located
    ``InferenceFailed``); transforms infer clip layouts (``graphspec.transforms.spec.CLIP_LAYOUTS``:
    a failure is a finding and the checks go on)."""

    #: the exception a rule raises for input its op would reject (with ``arg`` naming the argument)
    error: type[Exception] = Exception
    #: the code of this domain's findings
    code: str = ""

    def rule(self, node: Node) -> Any:
        """``(node, ctx, *inputs) -> value``, or None where the op has no rule for this domain."""
        raise NotImplementedError

    def format(self, value: Any) -> str:
        raise NotImplementedError

    def declared(self, decl: Any) -> Any:
        """The value of an input as the spec declares it."""
        raise NotImplementedError

    def unchecked(self, inputs: tuple) -> bool:
        """Inputs no rule can check any more (an earlier finding): the engine passes them on."""
        return False

    def no_rule(self, ctx: "Inference", node: Node, inputs: tuple) -> Any:
        """What the inference goes on with after an op with no rule for this domain (or raise)."""
        raise NotImplementedError

    def failed(self, ctx: "Inference", node: Node, err: Exception, inputs: tuple) -> Any:
        """What the inference goes on with after ``node``'s rule raised ``err`` (or raise)."""
        raise NotImplementedError

    def counted(self, node: Node, inputs: tuple, out: Any) -> None:
        """Facts recorded beside the output once a rule succeeded (a model's MACs)."""

    def at_arg(self, node: Node, arg: str | None) -> tuple:
        """The spec key of ``node``'s argument ``arg`` where its spec wrote it, else the node's."""
        return node.source + (arg,) if arg is not None and arg in node.given else node.source


class Inference:
    """The one inference engine: walks an IR tree, each node's rule of the ``domain`` mapping its
    input values to its output; records ``meta['inputs']`` and ``meta['output']``, and collects the
    findings the domain reports and goes on after (``diagnostics``). Containers run their children
    through ``ctx.run`` in the order their ``forward`` does."""

    def __init__(self, domain: Domain | None = None) -> None:
        self.domain = TENSOR_TYPES if domain is None else domain
        self.diagnostics: list[Diagnostic] = []

    def run(self, node: Node | None, *inputs: Any) -> Any:
        domain = self.domain
        if node is None or domain.unchecked(inputs):
            return inputs[0]
        rule = domain.rule(node)
        if rule is None:
            return domain.no_rule(self, node, inputs)
        try:
            out = rule(node, self, *inputs)
            domain.counted(node, inputs, out)
        except domain.error as err:
            return domain.failed(self, node, err, inputs)
        node.meta["inputs"] = list(inputs)
        node.meta["output"] = out
        return out

    def warn(self, node: Node, message: str, arg: str | None = None, hint: str | None = None) -> None:
        """A warning a rule reports about ``node`` (at its argument ``arg``) before it goes on."""
        self.diagnostics.append(Diagnostic(message, path=self.domain.at_arg(node, arg), severity="warning",
                                           hint=hint, code=self.domain.code))

    def run_graph(self, graph: Any, inputs: dict[str, Value]) -> dict[str, Value]:
        """Every step of a ``Graph`` in order: the values by name (inputs and step outputs)."""
        env = dict(inputs)
        for step in graph.steps:
            values = [env[name] for name in step.inputs]
            env[step.name] = self.run(step.node, values) if step.call == "list" else self.run(step.node, *values)
        return env


class TensorTypes(Domain):
    """A model's values: ``TensorType``s (lists of them for pathways), each op's ``infer`` rule;
    an unregistered Python module runs on the meta device. MACs are per clip (dim 0 is the
    batch), counted as fvcore counts them; a failure stops the inference (``InferenceFailed``)."""

    error = ShapeError
    code = "shape"

    def rule(self, node: Node) -> Any:
        if node.op == PYTHON_OP:
            return lambda node, ctx, *inputs: _meta_execute(node, inputs)
        return registry.get(node.op).infer

    def format(self, value: Value) -> str:
        return _fmt(value)

    def declared(self, decl: Any) -> Value:
        """``[B, 3, 8, 224, 224]``, or a dict of pathways to their shapes."""
        if isinstance(decl, dict):
            return [TensorType(tuple(shape)) for shape in decl.values()]
        return TensorType(tuple(decl))

    def no_rule(self, ctx: Inference, node: Node, inputs: tuple) -> Any:
        return self.failed(ctx, node, ShapeError(f"op {node.op!r} has no static shape rule"), inputs)

    def failed(self, ctx: Inference, node: Node, err: ShapeError, inputs: tuple) -> Any:
        key = err.arg[0] if isinstance(err.arg, tuple) else err.arg
        node_arg = (err.arg, node.args[key]) if key is not None and key in node.args else None
        shapes = ", ".join(self.format(v) for v in inputs)
        diagnostic = Diagnostic(f"{node.shown} ({node.op}): {err} [input {shapes}]", path=node.source, code=self.code,
                                depends_on=(("inputs",),))
        raise InferenceFailed(diagnostic, node_arg, inputs) from None

    def counted(self, node: Node, inputs: tuple, out: Value) -> None:
        if node.op == PYTHON_OP:
            own = None  # a Python module's MACs are not known
        else:
            opdef = registry.get(node.op)
            own = opdef.macs(node.args, inputs, out) if opdef.macs else 0
        parts = [own, *(child.meta.get("macs") for _, child in node.children() if "output" in child.meta)]
        node.meta["macs"] = None if any(p is None for p in parts) else sum(parts)


#: the model compiler's domain (``Inference()``'s)
TENSOR_TYPES = TensorTypes()


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
