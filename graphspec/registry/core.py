"""Ops and the registry that holds them: ``ArgSpec`` (one argument), ``OpDef`` (one op and its
compiler hooks), ``derive_args`` (an op's arguments from its signature), ``Registry`` and the
``default`` registry specs use, and ``as_spec_data`` (a Python value in spec form: a registered
callable becomes its op name, so it lives with the registry that knows the names)."""
from __future__ import annotations

import contextlib
import importlib
import inspect
import typing
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any, Callable, Iterator, Literal

from pydantic import TypeAdapter

from graphspec.registry.argtypes import (checker_of, is_component_annotation, is_component_list_annotation,
                                         range_index_of)
from graphspec.registry.scalars import python_scalars
from graphspec.registry.schema import args_model, ops_json_schema
from graphspec.spec.errors import Diagnostic, SpecError, did_you_mean

OpKind = Literal["module", "builder", "graph", "object"]
CallMode = Literal["args", "list"]

_MISSING = inspect.Parameter.empty
#: Constructor arguments of torch modules that a spec must not set (placement is not architecture).
_HIDDEN_ARGS = frozenset({"self", "device", "dtype", "args", "kwargs"})


def _checked_type(annotation: Any, name: str, default: Any) -> tuple[Any, TypeAdapter]:
    """The strict type of an argument with its name's range bounds, unless the op's own default
    is outside them (AugMix's ``depth=-1``, "drawn at random"): a default is a documented value."""
    range_index = range_index_of(name)
    bounded, adapter = checker_of(annotation, range_index)
    if default is not _MISSING and range_index is not None:
        try:
            adapter.validate_python(as_spec_data(default))
        except ValueError:  # ValidationError, or a default with no spec form (then no bound to doubt)
            plain, plain_adapter = checker_of(annotation, None)
            with contextlib.suppress(ValueError):
                plain_adapter.validate_python(as_spec_data(default))
                return plain, plain_adapter
    return bounded, adapter


@dataclass
class ArgSpec:
    """One argument of an op: its name, annotation and default."""

    name: str
    annotation: Any = Any
    default: Any = _MISSING
    component: bool = False  # a component (callable in Python, {op: ...} in YAML)
    component_list: bool = False  # a list of components
    #: the annotation validation checks (None: none is checked -- a component, or ``Any``)
    checked_annotation: Any = None
    #: the op this argument belongs to (named when its annotation cannot be checked)
    owner: str = ""
    _checked: tuple | None = field(default=None, repr=False)

    def _checker(self) -> tuple[Any, TypeAdapter]:
        """The checked type and its validator, built on first use: pydantic's schema build is the
        bulk of registering the ops, and one validate touches few of them (``Registry.check``
        builds them all, for the test suite)."""
        if self._checked is None:
            try:
                self._checked = _checked_type(self.checked_annotation, self.name, self.default)
            except Exception as err:  # no silent gap in validation: the op's author must say the type
                raise TypeError(f"{self.owner}: argument {self.name!r} has an annotation pydantic cannot check "
                                f"({self.checked_annotation!r}); give its spec type in arg_types") from err
        return self._checked

    @property
    def adapter(self) -> TypeAdapter | None:
        return None if self.checked_annotation is None else self._checker()[1]

    @property
    def field_type(self) -> Any:
        """The checked type: strict scalars and range bounds (what ``adapter`` and the schema use)."""
        return Any if self.checked_annotation is None else self._checker()[0]

    @property
    def required(self) -> bool:
        return self.default is _MISSING

    @property
    def nullable(self) -> bool:
        return self.default is None or self.nullable_annotation

    @property
    def nullable_annotation(self) -> bool:
        return type(None) in typing.get_args(self.annotation)

    def validate(self, value: Any) -> Any:
        """Validate a plain value (not a component) against the annotation; numpy scalars count as
        the Python numbers they are (``python_scalars``)."""
        if self.checked_annotation is None:
            return value
        return self.adapter.validate_python(python_scalars(value))


#: how an op passes several inputs: ``"args"`` (positional), ``"list"`` (one list: multi-pathway
#: blocks), or a rule ``(node) -> "args" | "list"`` for containers that pass on what a child takes
CallRule = CallMode | Callable[[Any], CallMode]


@dataclass
class OpDef:
    """A registered op. ``target`` is the module class (module/graph ops) or template function.

    The typed hooks are the op's rules for the compiler: ``infer`` (static output type),
    ``state`` (state_dict layout), ``macs`` (fvcore's count), ``call`` (how several inputs are
    passed), ``children`` (the module names of its sub-nodes, where the lowered module names them
    otherwise than its arguments) and ``lower`` (the constructor, where it is not ``target``)."""

    name: str
    kind: OpKind
    target: Callable
    args: dict[str, ArgSpec]
    doc: str = ""
    #: static shape rule ``(node, ctx, *inputs) -> value`` (see compiler.infer)
    infer: Callable | None = None
    #: static layout rule of a transform ``(node, ctx, value) -> value`` (see transforms.rules):
    #: how it changes a clip's layout; an op with one may be named in transform specs
    layout: Callable | None = None
    #: state rule ``(args) -> [(key, dtype, shape, is_param)]`` for leaf modules
    state: Callable | None = None
    #: MAC rule ``(args, inputs, output) -> int | None`` for leaf modules (fvcore's counting)
    macs: Callable | None = None
    call: CallRule = "args"
    #: ``(node) -> iterator of (relative module name, child node)``; default: the arguments' names
    children: Callable | None = None
    #: ``(**lowered_args) -> object`` building the op, when that is not ``target(**args)``
    lower: Callable | None = None
    #: Python classes / callables that name this op when passed from Python (nn.Conv3d -> Conv3d)
    aliases: tuple = ()
    #: the public Python callable (for builders: returns nn.Module)
    public: Callable | None = None
    #: what the op declares about itself to the front ends that compile it (e.g. a dataset op's
    #: ``graphspec.data.traits``); plain names, read by those front ends only
    traits: frozenset = frozenset()
    _model: Any = field(default=None, repr=False)

    def call_mode(self, node: Any) -> CallMode:
        return self.call(node) if callable(self.call) else self.call

    @property
    def args_model(self) -> type:
        """The pydantic model of this op's arguments (components typed as ``Component``)."""
        if self._model is None:
            self._model = args_model(self, as_spec_data)
        return self._model


def _type_hints(fn: Callable) -> dict[str, Any]:
    try:
        return typing.get_type_hints(fn, include_extras=True)
    except Exception:  # unresolvable forward references: fall back to raw annotations
        return dict(getattr(fn, "__annotations__", {}))


def derive_args(fn: Callable, overrides: dict[str, Any] | None = None) -> dict[str, ArgSpec]:
    """Argument schema from a signature and its type hints; ``overrides`` replace annotations."""
    target = fn.__init__ if inspect.isclass(fn) else fn
    sig = inspect.signature(target)
    hints = _type_hints(target)
    hints.update(overrides or {})
    out: dict[str, ArgSpec] = {}
    for name, param in sig.parameters.items():
        if name in _HIDDEN_ARGS or param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        annotation = hints.get(name, Any)
        spec = ArgSpec(name=name, annotation=annotation, default=param.default, owner=getattr(fn, "__name__", str(fn)))
        spec.component_list = is_component_list_annotation(annotation)
        spec.component = is_component_annotation(annotation)
        if not (spec.component or spec.component_list) and annotation is not Any:
            if param.default is None and not spec.nullable_annotation:
                annotation = typing.Optional[annotation]  # torch's `stride: _size_1_t = None`: None is its documented value
            spec.checked_annotation = annotation  # its validator is built on first use (ArgSpec._checker)
        out[name] = spec
    return out


class Registry:
    """Ops by name, and the Python callables that name them."""

    def __init__(self, *, entry_points: bool = False, builtins: tuple[str, ...] = ()) -> None:
        self._builtins = builtins  # modules whose import registers ops, imported at the first lookup
        self._ops: dict[str, OpDef] = {}
        self._by_callable: dict[int, str] = {}
        self._entry_points_loaded = not entry_points

    def add(self, opdef: OpDef) -> OpDef:
        """Add an op; a second op of the same name is a programming error."""
        if opdef.name in self._ops and self._ops[opdef.name].target is not opdef.target:
            raise ValueError(f"op {opdef.name!r} is already registered")
        self._ops[opdef.name] = opdef
        for alias in (opdef.target, opdef.public, *opdef.aliases):
            if alias is not None:
                self._by_callable[id(alias)] = opdef.name
        return opdef

    def register(
        self,
        target: Callable | None = None,
        *,
        name: str | None = None,
        kind: OpKind | None = None,
        infer: Callable | None = None,
        layout: Callable | None = None,
        state: Callable | None = None,
        macs: Callable | None = None,
        call: CallRule = "args",
        children: Callable | None = None,
        lower: Callable | None = None,
        arg_types: dict[str, Any] | None = None,
        aliases: tuple = (),
        traits: tuple = (),
    ):
        """Register a module class (or a graph op, or an object factory) under its public name.
        Usable as a decorator.

        ``infer`` is the static shape rule; leaf modules also give ``state`` and ``macs`` rules.
        ``layout`` is a transform's static layout rule (``graphspec.transforms.rules``).
        ``arg_types`` replaces annotations the signature lacks (e.g. ``{"conv": ComponentType}``).
        ``traits`` are names the op declares for the front ends (``OpDef.traits``).
        """

        if name is not None and not (isinstance(name, str) and name):
            raise TypeError(f"register(name=...) takes the op's public name (a non-empty str), got {name!r}")

        def deco(obj: Callable) -> Callable:
            if not callable(obj) or (name is None and not hasattr(obj, "__name__")):
                hint = (f"; to name the op, write @register(name={obj!r})" if isinstance(obj, str) else "")
                raise TypeError(f"register() takes the class or function to register (as @register, or "
                                f"@register(name=..., ...) above it), got {type(obj).__name__} {obj!r}{hint}")
            self.add(OpDef(
                name=name or obj.__name__, kind=kind or "module", target=obj, args=derive_args(obj, arg_types),
                doc=inspect.getdoc(obj) or "", infer=infer, layout=layout, state=state, macs=macs, call=call,
                children=children, lower=lower, aliases=aliases, public=obj, traits=frozenset(traits),
            ))
            return obj

        return deco(target) if target is not None else deco

    def add_layout_rule(self, name: str, layout: Callable) -> OpDef:
        """Give the registered op ``name`` a transform layout rule (``OpDef.layout``) where its
        registration, below the transforms, could not name one (the graph ops ``Permute`` and
        ``Identity`` are transforms too); a second rule is a programming error. Loads nothing:
        the op is registered already."""
        opdef = self._ops[name]
        if opdef.layout is not None and opdef.layout is not layout:
            raise ValueError(f"op {name!r} already has a layout rule")
        self._ops[name] = replace(opdef, layout=layout)
        return self._ops[name]

    def get(self, name: str) -> OpDef:
        """The op called ``name``; a ``SpecError`` with a did-you-mean hint if there is none."""
        return self.get_or_raise_at(name, ())

    def get_or_raise_at(self, name: str, path: tuple) -> OpDef:
        """Like ``get``, the error located at the spec key ``path``."""
        self.load_entry_points()
        try:
            return self._ops[name]
        except (KeyError, TypeError):
            raise SpecError([Diagnostic(f"unknown op {name!r}", path=path, hint=did_you_mean(str(name), self._ops),
                                        code="unknown-op")]) from None

    def find(self, name: str) -> OpDef | None:
        """The op called ``name``, or None."""
        self.load_entry_points()
        return self._ops.get(name)

    def check(self) -> None:
        """Build every op's argument validators now (they are built on first use): a ``TypeError``
        names the first annotation pydantic cannot check. The test suite runs it over the default
        registry, so a bad annotation of a built-in op fails a test without a spec naming it."""
        for op in self.ops():
            for spec in op.args.values():
                spec.adapter  # noqa: B018  (building it is the check)

    def names(self) -> list[str]:
        self.load_entry_points()
        return sorted(self._ops)

    def ops(self) -> list[OpDef]:
        return [self._ops[n] for n in self.names()]

    def op_for_callable(self, fn: Any) -> tuple[str, dict] | None:
        """Map a Python callable to ``(op name, preset kwargs)``: ``nn.ReLU`` -> ("ReLU", {}),
        ``partial(nn.BatchNorm3d, eps=1e-3)`` -> ("BatchNorm3d", {"eps": 1e-3})."""
        self.load_entry_points()
        if isinstance(fn, partial) and not fn.args:
            inner = self.op_for_callable(fn.func)
            return (inner[0], {**inner[1], **fn.keywords}) if inner is not None else None
        try:
            name = self._by_callable.get(id(fn))
        except TypeError:
            return None
        return (name, {}) if name else None

    @contextlib.contextmanager
    def scoped(self) -> Iterator["Registry"]:
        """Ops registered inside the block are removed when it ends (tests, notebooks)."""
        self.load_entry_points()  # what loads lazily belongs outside the scope: it must not be dropped
        ops, by_callable = dict(self._ops), dict(self._by_callable)
        try:
            yield self
        finally:
            self._ops, self._by_callable = ops, by_callable

    def json_schema(self, component_ref: str = "#/$defs/Component") -> dict:
        """JSON Schema of every op's arguments, from the same pydantic models that validate them:
        ``{"ops": {name: object schema of its arguments}, "$defs": {shared definitions}}``.
        Component arguments are ``{"$ref": component_ref}`` (the caller defines it)."""
        return ops_json_schema(self.ops(), component_ref)

    def load_entry_points(self) -> None:
        """Import the ops that installed packages declare in the ``graphspec.ops`` entry-point group.

        This is the only way code outside graphspec adds ops; a spec itself never imports anything.
        """
        if self._entry_points_loaded:
            return
        self._entry_points_loaded = True
        from importlib.metadata import entry_points

        for module in self._builtins:  # graphspec's own ops: imported here so `import graphspec` stays light
            importlib.import_module(module)
        for ep in entry_points(group="graphspec.ops"):
            ep.load()  # importing the module runs its @register decorators


#: the registry specs use
default = Registry(entry_points=True,
                   builtins=("graphspec.ops", "graphspec.models", "graphspec.transforms", "graphspec.data"))

add = default.add
register = default.register
get = default.get
get_or_raise_at = default.get_or_raise_at
find = default.find
names = default.names
ops = default.ops
op_for_callable = default.op_for_callable
scoped = default.scoped
check = default.check
json_schema = default.json_schema
load_entry_points = default.load_entry_points


def as_spec_data(value: Any) -> Any:
    """A Python argument value as spec data: tuples become lists, numpy scalars Python numbers
    (``python_scalars``), a registered callable (``nn.ReLU``, one of our builders) its op name.
    ``ValueError`` for anything else, a ``functools.partial`` included (its preset has no
    bare-name form)."""
    value = python_scalars(value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [as_spec_data(v) for v in value]
    if isinstance(value, dict):
        return {k: as_spec_data(v) for k, v in value.items()}
    found = op_for_callable(value) if callable(value) else None
    if found is None or found[1]:
        raise ValueError(f"{value!r} has no spec form: it is not plain data or a registered op")
    return found[0]
