"""``@builder``: a PyTorchVideo builder written once, as a template that expands into IR.

The decorated function receives validated arguments (callables arrive as ``Component``s) and
returns an IR ``Node``. The decorator registers it as a ``builder`` op and returns the public
Python function, which keeps PyTorchVideo's signature and returns the lowered ``nn.Module``.
Templates call each other through ``other_builder.node(...)``.
"""
from __future__ import annotations

import functools
import inspect
from typing import Any, Callable

from graphspec import registry

from .component import Component
from .ir import Node


def builder(fn: Callable | None = None, *, name: str | None = None, arg_types: dict[str, Any] | None = None):
    def deco(template: Callable) -> Callable:
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
