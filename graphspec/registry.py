"""The one op registry.

Every name a spec may use is an op registered here, keyed by its public Python name (as timm
keys its models). Four kinds exist:

* ``module``  -- lowers to one ``nn.Module`` class (``Conv3d``, ``ResNetBasicStem``, ...). Its
  arguments are plain values or child components (sub-modules).
* ``builder`` -- a template (``create_resnet``, ...) that expands into an IR tree of other ops.
* ``graph``   -- small dataflow ops for explicit graphs (``Concat``, ``Add``, ...); also modules.
* ``object``  -- builds a plain Python object by calling its target with its (lowered) arguments:
  datasets, clip samplers, transform functions -- the parts of data and transform specs.

Each op carries a typed argument schema derived from its Python signature. An argument that takes
a callable in Python (``norm=nn.BatchNorm3d``) takes a *component* in YAML (``{op: BatchNorm3d}``
or the bare name). Ops are added with ``@register`` or the ``graphspec.ops`` entry-point group.
"""
from __future__ import annotations

import collections.abc
import inspect
import types
import typing
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Callable, Literal

from pydantic import TypeAdapter

from graphspec.spec.errors import Diagnostic, SpecError, did_you_mean

OpKind = Literal["module", "builder", "graph", "object"]

_MISSING = inspect.Parameter.empty
#: Constructor arguments of torch modules that a spec must not set (placement is not architecture).
_HIDDEN_ARGS = frozenset({"self", "device", "dtype", "args", "kwargs"})


_UNIONS = (typing.Union, types.UnionType)


class ComponentType:
    """Marker used in annotations: this argument is a component (a callable in Python)."""


def is_component_annotation(annotation: Any) -> bool:
    """True for ``Callable``, ``nn.Module`` types and Optionals of them."""
    import torch.nn as nn

    origin = typing.get_origin(annotation)
    if origin in _UNIONS:
        return any(is_component_annotation(a) for a in typing.get_args(annotation) if a is not type(None))
    # typing.Callable, Callable[..., X] and collections.abc.Callable all have this origin
    if annotation is ComponentType or collections.abc.Callable in (annotation, origin):
        return True
    return inspect.isclass(annotation) and issubclass(annotation, nn.Module)


def is_component_list_annotation(annotation: Any) -> bool:
    """``List[nn.Module]``, ``Tuple[Callable, ...]``, ``nn.ModuleList``: a list of components."""
    import torch.nn as nn

    if inspect.isclass(annotation) and issubclass(annotation, nn.ModuleList):
        return True
    origin = typing.get_origin(annotation)
    if origin in _UNIONS:
        return any(is_component_list_annotation(a) for a in typing.get_args(annotation) if a is not type(None))
    if origin in (list, tuple, collections.abc.Sequence):
        args = [a for a in typing.get_args(annotation) if a is not Ellipsis]
        return bool(args) and all(is_component_annotation(a) for a in args)
    return False


@dataclass
class ArgSpec:
    """One argument of an op: its name, annotation and default."""

    name: str
    annotation: Any = Any
    default: Any = _MISSING
    component: bool = False  # a component (callable in Python, {op: ...} in YAML)
    component_list: bool = False  # a list of components
    adapter: TypeAdapter | None = None

    @property
    def required(self) -> bool:
        return self.default is _MISSING

    def validate(self, value: Any) -> Any:
        """Validate a plain value (not a component) against the annotation."""
        if self.adapter is None:
            return value
        return self.adapter.validate_python(value)


@dataclass
class OpDef:
    """A registered op. ``target`` is the module class (module/graph ops) or template function."""

    name: str
    kind: OpKind
    target: Callable
    args: dict[str, ArgSpec]
    doc: str = ""
    #: static shape rule ``(node, ctx, *inputs) -> value`` (see compiler.infer)
    infer: Callable | None = None
    #: state rule ``(args) -> [(key, dtype, shape, is_param)]`` for leaf modules
    state: Callable | None = None
    #: MAC rule ``(args, inputs, output) -> int | None`` for leaf modules (fvcore's counting)
    macs: Callable | None = None
    #: how several inputs are passed: as positional args, or as one list (multi-pathway nets)
    call: Literal["args", "list"] = "args"
    #: Python classes / callables that name this op when passed from Python (nn.Conv3d -> Conv3d)
    aliases: tuple = ()
    #: the public Python callable (for builders: returns nn.Module)
    public: Callable | None = None
    extra: dict = field(default_factory=dict)


_REGISTRY: dict[str, OpDef] = {}
_BY_CALLABLE: dict[int, str] = {}
_entry_points_loaded = False


def _type_hints(fn: Callable) -> dict[str, Any]:
    try:
        return typing.get_type_hints(fn)
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
        spec = ArgSpec(name=name, annotation=annotation, default=param.default)
        spec.component_list = is_component_list_annotation(annotation)
        spec.component = is_component_annotation(annotation)
        if not (spec.component or spec.component_list) and annotation is not Any:
            try:
                spec.adapter = TypeAdapter(annotation)
            except Exception as err:  # no silent gap in validation: the op's author must say the type
                raise TypeError(f"{getattr(fn, '__name__', fn)}: argument {name!r} has an annotation pydantic "
                                f"cannot check ({annotation!r}); give its spec type in arg_types") from err
        out[name] = spec
    return out


def add(opdef: OpDef) -> OpDef:
    """Add an op; a second op of the same name is a programming error."""
    if opdef.name in _REGISTRY and _REGISTRY[opdef.name].target is not opdef.target:
        raise ValueError(f"op {opdef.name!r} is already registered")
    _REGISTRY[opdef.name] = opdef
    for alias in (opdef.target, opdef.public, *opdef.aliases):
        if alias is not None:
            _BY_CALLABLE[id(alias)] = opdef.name
    return opdef


def register(
    target: Callable | None = None,
    *,
    name: str | None = None,
    kind: OpKind | None = None,
    infer: Callable | None = None,
    state: Callable | None = None,
    macs: Callable | None = None,
    call: Literal["args", "list"] = "args",
    arg_types: dict[str, Any] | None = None,
    aliases: tuple = (),
):
    """Register a module class (or a graph op) under its public name. Usable as a decorator.

    ``infer`` is the static shape rule; leaf modules also give ``state`` and ``macs`` rules.
    ``arg_types`` replaces annotations the signature lacks (e.g. ``{"conv": ComponentType}``).
    """

    def deco(obj: Callable) -> Callable:
        add(
            OpDef(
                name=name or obj.__name__,
                kind=kind or "module",
                target=obj,
                args=derive_args(obj, arg_types),
                doc=inspect.getdoc(obj) or "",
                infer=infer,
                state=state,
                macs=macs,
                call=call,
                aliases=aliases,
                public=obj,
            )
        )
        return obj

    return deco(target) if target is not None else deco


def get(name: str) -> OpDef:
    """The op called ``name``; a ``SpecError`` with a did-you-mean hint if there is none."""
    return get_or_raise_at(name, ())


def get_or_raise_at(name: str, path: tuple) -> OpDef:
    """Like ``get``, the error located at the spec key ``path``."""
    load_entry_points()
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        raise SpecError(
            [Diagnostic(f"unknown op {name!r}", path=path, hint=did_you_mean(str(name), _REGISTRY), code="unknown-op")]
        ) from None


def names() -> list[str]:
    load_entry_points()
    return sorted(_REGISTRY)


def ops() -> list[OpDef]:
    return [_REGISTRY[n] for n in names()]


def op_for_callable(fn: Any) -> tuple[str, dict] | None:
    """Map a Python callable to ``(op name, preset kwargs)``: ``nn.ReLU`` -> ("ReLU", {}),
    ``partial(nn.BatchNorm3d, eps=1e-3)`` -> ("BatchNorm3d", {"eps": 1e-3})."""
    load_entry_points()
    if isinstance(fn, partial) and not fn.args:
        inner = op_for_callable(fn.func)
        if inner is not None:
            return inner[0], {**inner[1], **fn.keywords}
        return None
    name = _BY_CALLABLE.get(id(fn))
    return (name, {}) if name else None


def as_spec_data(value: Any) -> Any:
    """A Python argument value as spec data: tuples become lists, a registered callable
    (``nn.ReLU``, one of our builders) its op name. ``ValueError`` for anything else, a
    ``functools.partial`` included (its preset has no bare-name form)."""
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


def load_entry_points() -> None:
    """Import the ops that installed packages declare in the ``graphspec.ops`` entry-point group.

    This is the only way code outside graphspec adds ops; a spec itself never imports anything.
    """
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    from importlib.metadata import entry_points

    for ep in entry_points(group="graphspec.ops"):
        ep.load()  # importing the module runs its @register decorators
