"""One binder for every kind of spec: an op's arguments as written (YAML data or Python values)
checked against its signature, giving an IR ``Node``.

Model, transform and data specs differ only in what a *component* argument binds to, which a
``Binding`` says: in a model a ``Component`` (its builder calls it later, with the sizes it
works out), in a transform the child transform's node, in a data spec another object op's node
(``TimeStampClipSampler``'s ``clip_sampler``). Everything else is the same for all three: plain
values go through the op's validators, and unknown, refused and missing names are findings with
the same codes, all collected into one ``SpecError``.

A bound node's ``args`` hold every argument, defaults filled in (what shape and layout rules
read); ``given`` names those the spec (or a builder's call) wrote: an object op (transform,
dataset, sampler) is constructed from just those (``construct``), as its Python caller would.
"""
from __future__ import annotations

from typing import Any, Collection

from pydantic import ValidationError

from graphspec import registry
from graphspec.spec.errors import Diagnostic, SpecError, did_you_mean, validation_diagnostics

from .ir import Node


class Binding:
    """What one kind of spec binds component arguments to (``component`` for one, ``components``
    for an argument that takes a list); plain values bind alike for every kind."""

    def component(self, value: Any, path: tuple) -> Any:
        raise NotImplementedError

    def components(self, value: Any, path: tuple) -> Any:
        raise NotImplementedError

    def plain(self, spec: registry.ArgSpec, value: Any, path: tuple) -> Any:
        return validated(spec, value, path)

    def missing_hint(self, key: str) -> str | None:
        """The hint of the finding for a required argument ``key`` left out."""
        return None


def validated(spec: registry.ArgSpec, value: Any, path: tuple) -> Any:
    """``value`` checked by the argument's validator; ``SpecError`` located at ``path``."""
    try:
        return spec.validate(value)
    except ValidationError as err:
        raise SpecError(validation_diagnostics(err.errors(), value, path)) from None


def written_call(data: Any, path: tuple) -> tuple[str, dict, tuple] | None:
    """``(op name, arguments, spec key of the name)`` of an op call written at ``path`` as
    ``Name`` or ``{op: Name, ...arguments}``; None for anything else, which each kind of spec
    words its own way."""
    if isinstance(data, str):
        return data, {}, path
    if isinstance(data, dict) and isinstance(data.get("op"), str):
        return data["op"], {k: v for k, v in data.items() if k != "op"}, path + ("op",)
    return None


def bind(opdef: registry.OpDef, raw: dict[str, Any], path: tuple, *, binding: Binding, partial: bool = False,
         supplied: Collection[str] = ()) -> Node:
    """The node calling ``opdef`` with the arguments ``raw`` written at spec key ``path``.

    ``partial`` allows required arguments to be missing and fills in no defaults (a model's
    preset such as ``{op: BatchNorm3d, eps: 0.001}`` that a builder completes). ``supplied``
    arguments come from elsewhere in the spec (a data spec's top-level ``transform:``): the op
    needs no value for them here and refuses one."""
    found: list[Diagnostic] = []
    values: dict[str, Any] = {}
    for key, value in raw.items():
        spec = opdef.args.get(key)
        where = path + (key,)
        if spec is None:
            found.append(Diagnostic(f"{opdef.name} has no argument {key!r}", path=where,
                                    hint=did_you_mean(key, opdef.args), code="unknown-arg"))
        elif key in supplied:
            found.append(Diagnostic(f"{key!r} is set by the spec's top-level {key!r} key", path=where, code="schema"))
        else:
            try:
                values[key] = _bind_value(binding, spec, value, where)
            except SpecError as err:
                found += err.diagnostics
    given = tuple(values)
    if not partial:
        for key, spec in opdef.args.items():
            if key in values or key in raw or key in supplied:
                continue
            if spec.required:
                found.append(Diagnostic(f"{opdef.name} needs argument {key!r}", path=path,
                                        hint=binding.missing_hint(key), code="missing-arg"))
                continue
            try:  # a default has no key of its own in the spec: errors point at the call
                values[key] = _bind_value(binding, spec, spec.default, path)
            except SpecError:  # defaults are trusted as written by the op's author
                values[key] = spec.default
    if found:
        raise SpecError(found)
    # the op's own argument order, not the spec's key order: sub-modules are registered (and
    # state_dict keys listed) in constructor order, whatever order a spec writes them in
    args = {key: values[key] for key in opdef.args if key in values}
    return Node(opdef.name, args, meta={"source": path, "given": given})


def _bind_value(binding: Binding, spec: registry.ArgSpec, value: Any, path: tuple) -> Any:
    if spec.component_list:
        return binding.components(value, path)
    if spec.component:
        return binding.component(value, path)
    return binding.plain(spec, value, path)


def construct(node: Node, *, refusals: tuple[type[Exception], ...] = (), **extra: Any) -> Any:
    """The object an object op's node stands for: its target called with the arguments the spec
    wrote (child nodes constructed first) and ``extra``. A constructor error of a type in
    ``refusals`` (``min_size > max_size``...) is a ``SpecError`` located at the node that refused."""
    kwargs = {key: _constructed(value, refusals) for key, value in node.given.items()}
    try:
        return registry.get(node.op).target(**kwargs, **extra)
    except refusals as err:
        raise SpecError([Diagnostic(str(err) or type(err).__name__, path=node.source, code="build")]) from None


def _constructed(value: Any, refusals: tuple) -> Any:
    if isinstance(value, Node):
        return construct(value, refusals=refusals)
    if isinstance(value, list) and any(isinstance(v, Node) for v in value):
        return [construct(v, refusals=refusals) if isinstance(v, Node) else v for v in value]
    return value
