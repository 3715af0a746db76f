"""Components: a registered op with some arguments already set, callable like the Python class.

In a builder template, ``norm(num_features=64, eps=1e-5)`` calls a component and yields an IR
node; the same template therefore reads like PyTorchVideo's builder code. Components come from
YAML (``{op: BatchNorm3d, momentum: 0.01}`` or ``BatchNorm3d``) or from Python callables
(``nn.BatchNorm3d``, ``functools.partial(...)``, our public builder functions).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from graphspec import registry
from graphspec.spec.errors import Diagnostic, SpecError

from .bind import Binding, bind, written_call
from .ir import PYTHON_OP, Node


@dataclass(frozen=True, eq=False)
class Component:
    op: str
    preset: dict[str, Any] = field(default_factory=dict)
    #: spec key path of this component, so errors in what it expands to point back at it
    source: tuple = ()
    #: the callable itself, for an unregistered Python callable (op == PYTHON_OP)
    pyfn: Callable | None = None

    def __call__(self, *args: Any, **kwargs: Any) -> Node:
        if self.pyfn is not None:
            return Node(PYTHON_OP, meta={"callable": self.pyfn, "call": (args, kwargs), "source": self.source})
        opdef = registry.get(self.op)
        kwargs = {**_positional_to_keywords(opdef, args), **kwargs, **self.preset}
        bound = bind(opdef, kwargs, self.source, binding=MODEL_BINDING)
        if opdef.kind == "builder":
            node = opdef.target(**bound.args)
            for sub in node.walk():  # innermost located builder wins: it set these nodes' args
                if not sub.meta.get("source"):
                    sub.meta["source"] = self.source
                sub.meta.setdefault("builder", self.op)
            return node
        # a module op's own component arguments are complete sub-modules: expand them now
        bound.args = {k: _expand_children(v) for k, v in bound.args.items()}
        return bound

    def __repr__(self) -> str:
        return f"Component({self.op!r}, {self.preset!r})" if self.preset else f"Component({self.op!r})"

    def to_data(self) -> Any:
        """The YAML form of this component (bare name when nothing is preset)."""
        if self.pyfn is not None:
            return f"<python callable {getattr(self.pyfn, '__qualname__', self.pyfn)!r}>"
        if not self.preset:
            return self.op
        return {"op": self.op, **{k: to_data(v) for k, v in self.preset.items()}}


#: how a builder rejects its arguments (PyTorchVideo's builders assert, raise ValueError or
#: NotImplementedError, or look a name up in a table): a located finding, in both spec forms
BUILDER_ERRORS = (ValueError, TypeError, LookupError, AssertionError, NotImplementedError)


def expand(raw: Any, path: tuple) -> Node:
    """The IR tree of the component ``raw`` (YAML data or a callable) at spec key ``path``;
    ``SpecError`` when its arguments are bad or its builder rejects them."""
    try:
        return as_component(raw, path)()
    except SpecError:
        raise
    except BUILDER_ERRORS as err:
        raise SpecError([builder_error(err, path, raw)]) from None


def builder_error(err: Exception, path: tuple, raw: Any) -> Diagnostic:
    """A builder's own error, located at the argument its message starts with, else at the
    one argument it names in words ("Crop size doesn't match..." is ``input_crop_size``)."""
    message = str(err) or type(err).__name__
    if isinstance(err, KeyError):  # str(KeyError) is only the key's repr
        message = f"{type(err).__name__} {message}"
    first = message.split(" ", 1)[0]
    if isinstance(raw, dict) and first in raw:
        return Diagnostic(message, path=path + (first,), code="build")
    words = "_" + "_".join(message.lower().split()) + "_"
    named = [key for key in raw if isinstance(key, str) and "_" in key
             and any(f"_{tail}_" in words for tail in (key, key.split("_", 1)[1]) if "_" in tail)] \
        if isinstance(raw, dict) else []
    return Diagnostic(message, path=path + (named[0],) if len(named) == 1 else path, code="build")


def _expand_children(value: Any) -> Any:
    if isinstance(value, Component):
        return value()
    if isinstance(value, list) and any(isinstance(v, Component) for v in value):
        return [v() if isinstance(v, Component) else v for v in value]
    return value


def to_data(value: Any) -> Any:
    """Plain YAML-able data from validated argument values."""
    if isinstance(value, Component):
        return value.to_data()
    if isinstance(value, (list, tuple)):
        return [to_data(v) for v in value]
    if isinstance(value, dict):
        return {k: to_data(v) for k, v in value.items()}
    return value


def _positional_to_keywords(opdef: registry.OpDef, args: tuple) -> dict[str, Any]:
    names = list(opdef.args)
    if len(args) > len(names):
        raise TypeError(f"{opdef.name} takes at most {len(names)} positional arguments")
    return dict(zip(names, args))


def as_component(value: Any, path: tuple = ()) -> Component | None:
    """Coerce a component given as YAML data or as a Python callable; raise ``SpecError``."""
    if value is None or isinstance(value, Component):
        return value
    call = written_call(value, path)
    if call is not None:
        name, preset, op_path = call
        opdef = registry.get_or_raise_at(name, op_path)
        return Component(name, bind(opdef, preset, path, binding=MODEL_BINDING, partial=True).args, path)
    if isinstance(value, dict):
        if "op" not in value:
            raise SpecError([Diagnostic("a component needs an 'op' key", path=path, code="component")])
        raise SpecError([Diagnostic("'op' must be a string", path=path + ("op",), code="component")])
    if callable(value):
        found = registry.op_for_callable(value)
        if found is not None:
            name, preset = found
            return Component(name, bind(registry.get(name), preset, path, binding=MODEL_BINDING, partial=True).args,
                             path)
        return Component(PYTHON_OP, {}, path, pyfn=value)
    raise SpecError([Diagnostic(f"expected a component (an op name or {{op: ...}}), got {value!r}", path=path)])


class _ModelBinding(Binding):
    """A model's component argument is a ``Component``: the builder that receives it calls it."""

    def component(self, value: Any, path: tuple) -> Component | None:
        return as_component(value, path)

    def components(self, value: Any, path: tuple) -> Any:
        if isinstance(value, (list, tuple)):
            return [as_component(v, path + (i,)) for i, v in enumerate(value)]
        return as_component(value, path)


MODEL_BINDING = _ModelBinding()
