"""The op registry.

Every name a spec may use is an op registered here, keyed by its public Python name (as timm
keys its models). Four kinds exist:

* ``module``  -- lowers to one ``nn.Module`` class (``Conv3d``, ``ResNetBasicStem``, ...). Its
  arguments are plain values or child components (sub-modules).
* ``builder`` -- a template (``create_resnet``, ...) that expands into an IR tree of other ops.
* ``graph``   -- small dataflow ops for explicit graphs (``Concat``, ``Add``, ...); also modules.
* ``object``  -- builds a plain Python object by calling its target with its (lowered) arguments:
  datasets, clip samplers, transform functions -- the parts of data and transform specs.

Each op carries a typed argument schema derived from its Python signature: one pydantic model per
op (``OpDef.args_model``), whose fields also validate each argument (``ArgSpec.validate``), so
the JSON Schema (``json_schema()``) and validation cannot drift. Validation is strict: ``true``
is no number and ``"64"`` no integer; sizes, counts and strides are >= 1, probabilities in [0, 1]
(``ARG_RANGES``, for model, transform and data ops alike). An
argument that takes a callable in Python (``norm=nn.BatchNorm3d``) takes a *component* in YAML
(``{op: BatchNorm3d}`` or the bare name).

A ``Registry`` holds the ops; ``default`` is the one specs use, and the module-level
``register``, ``add``, ``get``, ``names``, ``ops`` are its methods. ``with default.scoped():``
(or ``registry.scoped()``) lets a test register ops that are gone when the block ends. Installed
packages add ops through the ``graphspec.ops`` entry-point group.

The registry imports no compiler, model or CLI code (the layering test holds this).
"""
from __future__ import annotations

import collections.abc
import importlib
import contextlib
import enum
import inspect
import re
import types
import typing
from dataclasses import dataclass, field
from functools import lru_cache, partial, wraps
from typing import Annotated, Any, Callable, Iterator, Literal

from pydantic.json_schema import GenerateJsonSchema
from pydantic import BeforeValidator, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StrictStr, TypeAdapter, WithJsonSchema, create_model

from graphspec.spec.errors import Diagnostic, SpecError, did_you_mean

OpKind = Literal["module", "builder", "graph", "object"]
CallMode = Literal["args", "list"]

_MISSING = inspect.Parameter.empty
#: Constructor arguments of torch modules that a spec must not set (placement is not architecture).
_HIDDEN_ARGS = frozenset({"self", "device", "dtype", "args", "kwargs"})
_UNIONS = (typing.Union, types.UnionType)

#: Value ranges by argument name, as data: ``(name pattern, bounds of every int in it, bounds of
#: every float in it)``, bounds as pydantic ``Field`` constraints; the first matching pattern
#: applies. Sizes, channel and class counts, strides, dilations and groups are >= 1 (torch would
#: fail at build or forward time, or build a useless layer); paddings and indices >= 0; scales
#: and epsilons > 0. Repeat counts are bounded above too: a builder expands them into that many
#: IR nodes before anything is sized. The transform and data ops follow the same rules: frame,
#: clip, view and crop counts and sizes >= 1, durations > 0, probabilities in [0, 1].
MAX_REPEAT = 10_000
ARG_RANGES: tuple[tuple[str, dict | None, dict | None], ...] = (
    (r"(^|_)(in|out|num|inner|input|reduced)?_?channels?(_reduced)?$", {"ge": 1}, None),
    (r"(^|_)(in|out|num)_features$", {"ge": 1}, None),
    (r"(^|_)num_class(es)?$", {"ge": 1}, None),
    (r"(^|_)dim_(in|out|inner)s?$|^(stem|head|fusion)_dim_(in|out)s?$", {"ge": 1}, None),
    (r"(^|_)(kernel_sizes?|strides?|dilations?|groups|num_groups|output_size|resolution)$", {"ge": 1}, {"gt": 0}),
    (r"(^|_)(clip_length|crop_size|width_per_group|normalized_shape|divisor_override)$", {"ge": 1}, None),
    (r"(^|_)depths?$", {"ge": 1, "le": MAX_REPEAT}, None),
    (r"(^|_)(bottleneck_ratio|channel_reduction_ratio|channel_fusion_ratio)$", {"ge": 1}, None),
    (r"(^|_)paddings?$|(^|_)stage_idx$|^rank$", {"ge": 0}, None),
    (r"(^|_)(depth_factor|width_factor|bottleneck_factor)$", None, {"gt": 0, "le": 100}),
    (r"(^|_)(eps|spatial_scale|reduction_ratio)$", None, {"gt": 0}),
    (r"^dropout_rate$", None, {"ge": 0}),  # the builders word their own upper bound
    # transform and data ops: sizes and counts of frames, clips, views, crops and tries
    (r"(^|_)(size|height|width|num_samples|frame_ratios|frames_per_(clip|second)|num_(views|clips|tries|layers|"
     r"heads|sample_op|input_clips|forecast_actions)|clips_per_video|augs_per_clip|split_id|world_size)$",
     {"ge": 1}, None),
    (r"(^|_)(duration|seconds_per_clip|clip_time_stride|std|scale|aspect_ratio|(mixup|cutmix)_alpha)$",
     None, {"gt": 0}),
    (r"^(transforms_prob|magnitude)$", {"ge": 0}, {"ge": 0}),  # weights, levels: not bounded by 1
    (r"^(prob|dropout|label_smoothing)$|_prob$", None, {"ge": 0, "le": 1}),  # Dropout's p: a located shape rule
)


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


# ---- strict argument types ---------------------------------------------------------------------
def _bound(bound: dict | None) -> list:
    return [Field(**bound)] if bound else []


def _reject_bool(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("expected a number, not a boolean")
    return value


def strict_type(annotation: Any, int_bound: dict | None = None, float_bound: dict | None = None) -> Any:
    """``annotation`` with strict scalars (no bool -> int/float, no str -> number) and the range
    bounds applied to every int / float inside it; containers and unions are rebuilt around them."""
    if annotation is bool:
        return StrictBool
    if annotation is int:
        return Annotated[(StrictInt, *_bound(int_bound))] if int_bound else StrictInt
    if annotation is float:  # strict: an int is a fine float; a bool or a numeric string is not
        return Annotated[(StrictFloat, *_bound(float_bound))] if float_bound else StrictFloat
    if annotation is str:
        return StrictStr
    if inspect.isclass(annotation) and issubclass(annotation, enum.Enum):  # an int-valued enum is no bool
        return Annotated[annotation, BeforeValidator(_reject_bool)]
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is Literal:
        return Annotated[annotation, BeforeValidator(_reject_bool)] if not any(isinstance(a, bool) for a in args) \
            else annotation
    if origin is Annotated:
        return Annotated[(strict_type(args[0], int_bound, float_bound), *annotation.__metadata__)]
    if origin in _UNIONS:
        return typing.Union[tuple(strict_type(a, int_bound, float_bound) for a in args)]
    if origin in (list, tuple, collections.abc.Sequence, typing.List, typing.Tuple) and args:
        inner = tuple(a if a is Ellipsis else strict_type(a, int_bound, float_bound) for a in args)
        rebuilt = {list: typing.List, tuple: typing.Tuple, collections.abc.Sequence: typing.Sequence}.get(origin, origin)
        return rebuilt[inner] if len(inner) > 1 or origin is tuple else rebuilt[inner[0]]
    return annotation


def _range_index(name: str) -> int | None:
    """The index of the first ``ARG_RANGES`` pattern ``name`` matches."""
    return next((i for i, (pattern, _, _) in enumerate(ARG_RANGES) if re.search(pattern, name)), None)


@lru_cache(maxsize=None)
def _shared_checker(annotation: Any, range_index: int | None) -> tuple[Any, TypeAdapter]:
    bounds = (None, None) if range_index is None else ARG_RANGES[range_index][1:]
    checked = strict_type(annotation, *bounds)
    return checked, TypeAdapter(checked)


def _checker_of(annotation: Any, range_index: int | None) -> tuple[Any, TypeAdapter]:
    """The strict type of ``annotation`` under the range ``range_index`` and its validator, one
    per distinct pair: the zoo's ops share a few dozen argument types among ~800 arguments."""
    try:
        hash(annotation)
    except TypeError:  # an annotation with unhashable metadata: its own validator
        return _shared_checker.__wrapped__(annotation, range_index)
    return _shared_checker(annotation, range_index)


def _checked_type(annotation: Any, name: str, default: Any) -> tuple[Any, TypeAdapter]:
    """The strict type of an argument with its name's range bounds, unless the op's own default
    is outside them (AugMix's ``depth=-1``, "drawn at random"): a default is a documented value."""
    range_index = _range_index(name)
    bounded, adapter = _checker_of(annotation, range_index)
    if default is not _MISSING and range_index is not None:
        try:
            adapter.validate_python(as_spec_data(default))
        except ValueError:  # ValidationError, or a default with no spec form (then no bound to doubt)
            plain, plain_adapter = _checker_of(annotation, None)
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
            self._model = _args_model(self)
        return self._model


#: stands for a component in generated schemas until ``json_schema`` puts the caller's ``$ref``
_COMPONENT = {"x-graphspec": "component"}


def _component_schema(spec: ArgSpec) -> dict:
    item = {"anyOf": [_COMPONENT, {"type": "null"}]}
    if spec.component and spec.component_list:
        schema: dict = {"anyOf": [_COMPONENT, {"type": "array", "items": item}]}
    elif spec.component_list:
        schema = {"type": "array", "items": item}
    else:
        schema = dict(_COMPONENT)
    return {"anyOf": [schema, {"type": "null"}]} if spec.nullable else schema


def _with_ref(schema: Any, ref: str) -> Any:
    if isinstance(schema, dict):
        out = {k: _with_ref(v, ref) for k, v in schema.items() if k != "x-graphspec"}
        return {**out, "$ref": ref} if schema.get("x-graphspec") == "component" else out
    if isinstance(schema, list):
        return [_with_ref(v, ref) for v in schema]
    return schema


class _SpecJsonSchema(GenerateJsonSchema):
    """A Python-only type (``type``, ``Callable`` inside a dict) has no spec value: in the schema
    it admits nothing, as validation of spec data admits nothing there."""

    def handle_invalid_for_json_schema(self, schema: Any, error_info: str) -> dict:
        return {"not": {}, "description": "a Python object: no spec value"}


def _args_model(opdef: OpDef) -> type:
    fields: dict[str, Any] = {}
    for spec in opdef.args.values():
        kind = spec.field_type
        if spec.component or spec.component_list:
            kind = Annotated[Any, WithJsonSchema(_component_schema(spec))]
        if spec.required:
            fields[spec.name] = (kind, ...)
            continue
        try:
            fields[spec.name] = (kind, Field(default=as_spec_data(spec.default)))
        except ValueError:  # a default with no spec form (a Python object): optional, not shown
            fields[spec.name] = (kind, Field(default_factory=lambda d=spec.default: d))
    return create_model(f"{opdef.name}Args", __config__=ConfigDict(extra="forbid", title=opdef.name), **fields)


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
                doc=inspect.getdoc(obj) or "", infer=infer, state=state, macs=macs, call=call,
                children=children, lower=lower, aliases=aliases, public=obj, traits=frozenset(traits),
            ))
            return obj

        return deco(target) if target is not None else deco

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
        ops: dict[str, dict] = {}
        defs: dict[str, dict] = {}
        for op in self.ops():
            generated = op.args_model.model_json_schema(ref_template="#/$defs/{model}", schema_generator=_SpecJsonSchema)
            schema = _with_ref(generated, component_ref)
            defs.update(schema.pop("$defs", {}))
            schema["description"] = op.doc.split("\n", 1)[0] if op.doc else op.name
            ops[op.name] = schema
        return {"ops": ops, "$defs": defs}

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


def python_scalars(value: Any) -> Any:
    """``value`` with every numpy scalar in it (``np.int64``, ``np.float32``, what ``np.prod``
    returns; inside tuples, lists and dicts too) as the Python scalar it holds, so that strict
    validation accepts it as the int / float it is. A numpy bool becomes a bool and a numpy
    string a str: still no number. numpy itself is not imported (torch does not need it)."""
    if type(value).__module__ == "numpy" and getattr(value, "ndim", None) == 0:
        return value.item()
    if isinstance(value, (list, tuple)):
        return type(value)(python_scalars(v) for v in value) if type(value) in (list, tuple) else value
    if isinstance(value, dict):
        return {k: python_scalars(v) for k, v in value.items()}
    return value


def require_bool(function: str, **flags: Any) -> None:
    """``TypeError`` for a flag given something other than True or False (or a numpy bool):
    ``int8="yes"`` and ``pretrained="no"`` are both true to ``if``, so a string would silently
    mean yes. Here, below the API and the hub functions, so that both can check their flags."""
    for name, value in flags.items():
        numpy_bool = type(value).__module__ == "numpy" and type(value).__name__ in ("bool", "bool_")
        if not isinstance(value, bool) and not numpy_bool:
            hint = f" (the string {value!r} is not a bool)" if isinstance(value, str) else ""
            raise TypeError(f"{function}(): {name} must be True or False, got {type(value).__name__} "
                            f"{value!r}{hint}")


def python_scalar_args(target: Callable) -> Callable:
    """``target`` (a function, or a class: its ``__init__`` in place) called with the numpy scalars
    in its arguments as Python scalars (``python_scalars``): what specs and builders get from
    validation, for ops a Python caller constructs directly (the transforms)."""
    function = target.__init__ if inspect.isclass(target) else target
    if getattr(function, "takes_numpy_scalars", False):
        return target

    @wraps(function)
    def call(*args: Any, **kwargs: Any) -> Any:
        return function(*python_scalars(args), **python_scalars(kwargs))

    call.takes_numpy_scalars = True
    if not inspect.isclass(target):
        return call
    target.__init__ = call
    return target


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
