"""``@builder``: a PyTorchVideo builder written once, as a template that expands into IR.

The decorated function receives validated arguments (callables arrive as ``Component``s) and
returns an IR ``Node``. The decorator registers it as a ``builder`` op and returns the public
Python function, which keeps PyTorchVideo's signature and returns the lowered ``nn.Module``.
Templates call each other through ``other_builder.node(...)``.

PyTorchVideo's builders come in families whose signatures differ only in a few defaults
(``create_acoustic_resnet`` is ``create_resnet`` with audio defaults). ``@builder(signature_of=...,
defaults=..., drop=...)`` writes such a signature once: see ``derive_signature``.
"""
from __future__ import annotations

import functools
import inspect
import typing
from typing import Any, Callable, Iterable

from graphspec import registry

from .component import Component
from .ir import Node


def builder(fn: Callable | None = None, *, name: str | None = None, arg_types: dict[str, Any] | None = None,
            signature_of: Callable | None = None, defaults: dict[str, Any] | None = None,
            drop: Iterable[str] = ()):
    def deco(template: Callable) -> Callable:
        if signature_of is not None:
            derive_signature(template, signature_of, defaults=defaults or {}, drop=tuple(drop))
        opname = name or template.__name__
        opdef = registry.OpDef(
            name=opname,
            kind="builder",
            target=template,
            args=registry.derive_args(template, arg_types),
            doc=inspect.getdoc(template) or "",
        )

        @functools.wraps(template)
        def public(*args: Any, **kwargs: Any):
            from .lower_torch import lower

            if args:
                raise TypeError(f"{opname}() takes keyword arguments only")
            return lower(expand_node(opname, kwargs))

        public.node = lambda **kwargs: expand_node(opname, kwargs)  # type: ignore[attr-defined]
        public.template = template  # type: ignore[attr-defined]
        public.__graphspec_op__ = opname  # type: ignore[attr-defined]
        opdef.public = public
        registry.add(opdef)
        return public

    return deco(fn) if fn is not None else deco


def derive_signature(template: Callable, base: Callable, *, defaults: dict[str, Any], drop: tuple[str, ...]) -> None:
    """Give ``template`` the signature of the builder ``base`` (names, order, types, defaults), less
    the parameters in ``drop``, with ``defaults`` replaced, and merged with the template's own:

    * a bare name (no annotation, no default) is the base's parameter, used by the body;
    * a name with an annotation or a default replaces the base's parameter in its place;
    * a new name goes right after the template parameter before it (first, when none is);
    * ``**arguments`` receives the base's parameters the template does not name.

    The template's ``__signature__`` and resolved ``__annotations__`` are set, so the registry's
    argument schema and the public function's ``inspect.signature`` are the derived ones."""
    base_signature, base_hints = inspect.signature(base), typing.get_type_hints(getattr(base, "template", base))
    own, own_hints = inspect.signature(template), typing.get_type_hints(template)
    unknown = (set(defaults) | set(drop)) - set(base_signature.parameters)
    if unknown:
        raise TypeError(f"{template.__name__}: {sorted(unknown)} are no parameters of {base.__name__}")
    params = [p.replace(default=defaults.get(p.name, p.default), annotation=base_hints.get(p.name, p.empty))
              for p in base_signature.parameters.values() if p.name not in drop]
    cursor, takes_the_rest = 0, False
    for p in own.parameters.values():
        if p.kind is p.VAR_KEYWORD:
            takes_the_rest = True
            continue
        names = [q.name for q in params]
        bare = p.annotation is p.empty and p.default is p.empty
        if bare and p.name not in names:
            raise TypeError(f"{template.__name__}: {p.name!r} has no type and {base.__name__} no such parameter")
        if p.name in names:
            cursor = names.index(p.name)
            if not bare:
                params[cursor] = p.replace(annotation=own_hints.get(p.name, p.empty))
            cursor += 1
        else:
            params.insert(cursor, p.replace(annotation=own_hints.get(p.name, p.empty)))
            cursor += 1
    missing = [q.name for q in params if q.name not in own.parameters]
    if missing and not takes_the_rest:
        raise TypeError(f"{template.__name__} takes neither {missing} nor **arguments")
    template.__signature__ = inspect.Signature(params, return_annotation=own.return_annotation)
    template.__annotations__ = {q.name: q.annotation for q in params if q.annotation is not q.empty}


def call_with(fn: Callable, arguments: dict[str, Any], **extra: Any) -> Any:
    """``fn`` called with those of a builder's ``arguments`` (its ``locals()``) that ``fn`` takes,
    plus ``extra``: builders that share a backbone pass their arguments through by name."""
    accepted = _keyword_names(fn)
    return fn(**{k: v for k, v in arguments.items() if k in accepted}, **extra)


@functools.lru_cache(maxsize=None)
def _keyword_names(fn: Callable) -> frozenset[str]:
    return frozenset(inspect.signature(fn).parameters)


def expand_node(op: str, kwargs: dict[str, Any], source: tuple = ()) -> Node:
    """Expand one op call into IR (builders recursively; module ops into one node)."""
    return Component(op, {}, source)(**kwargs)
