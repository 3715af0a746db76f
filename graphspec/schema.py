"""The JSON Schema of spec files (for editors) and readable names of op argument types, both
read from the registry's argument specs, so the schema and argument validation share one source."""
from __future__ import annotations

import typing
from typing import Any


def type_name(spec) -> str:
    """Readable type of an op argument: ``int | tuple[int, int, int]``, ``component | None``."""
    optional = allows_none(spec.annotation) or spec.default is None
    if spec.component and spec.component_list:
        text = "component | list[component]"
    elif spec.component_list:
        text = "list[component]"
    elif spec.component:
        text = "component"
    else:
        return _annotation_name(spec.annotation)
    return text + (" | None" if optional else "")


def allows_none(annotation: Any) -> bool:
    return type(None) in typing.get_args(annotation)


def _annotation_name(annotation: Any) -> str:
    import types

    if annotation is Any:
        return "any"
    if annotation is type(None):
        return "None"
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        return " | ".join(_annotation_name(a) for a in args)
    if origin is typing.Literal:
        return " | ".join(repr(a) for a in args)
    if origin is not None:
        name = getattr(origin, "__name__", None) or str(origin).replace("typing.", "")
        inner = ", ".join("..." if a is Ellipsis else _annotation_name(a) for a in args)
        return f"{name}[{inner}]" if inner else name
    if isinstance(annotation, type):
        return annotation.__name__
    return str(annotation).replace("typing.", "")


def default_data(spec) -> Any:
    """An argument's default as spec data (components by op name); raises ValueError if none."""
    from graphspec.registry import as_spec_data

    return as_spec_data(spec.default)


def first_line(doc: str, limit: int = 100) -> str:
    """The first sentence of a docstring's first paragraph, at most ``limit`` characters."""
    text = " ".join(doc.strip().split("\n\n", 1)[0].split()).replace("``", "`") if doc else ""
    end = text.find(". ")
    text = text[: end + 1] if end >= 0 else text
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."


def _ref(name: str) -> dict:
    return {"$ref": f"#/$defs/{name}"}


def spec_schema() -> dict:
    """JSON Schema of spec files for editors: the document schema, with ``model`` and every
    ``nodes`` value a union over all registered ops discriminated by ``op`` (each op's arguments
    typed by the pydantic model that validates them, ``registry.json_schema``; sub-components
    ``$ref`` ``Component``). Files with
    ``extends`` may be partial: required keys and ops then come from the parent."""
    from graphspec import registry
    from graphspec.spec.document import json_schema

    schema = json_schema()
    defs = schema.setdefault("$defs", {})
    # the op arguments' schemas come from the pydantic models that validate them (one source)
    arguments = registry.json_schema(component_ref="#/$defs/Component")
    defs.update(arguments["$defs"])
    ops = registry.ops()
    names = [op.name for op in ops]
    defs["OpName"] = {"type": "string", "enum": names, "description": "a registered op (graphspec ops)"}
    for op in ops:
        generated = arguments["ops"][op.name]
        props: dict[str, Any] = {"op": {"const": op.name, "description": first_line(op.doc) or op.name}}
        for name, sub in generated["properties"].items():
            props[name] = {**sub, "description": type_name(op.args[name])}
        required = ["op"] + generated.get("required", [])
        base = {"type": "object", "title": op.name, "description": f"{op.kind} op",
                "properties": props, "required": ["op"], "additionalProperties": False}
        defs[f"op.{op.name}"] = base
        node_props = dict(props)
        node_props["in"] = _ref("NodeInputs")
        defs[f"node.{op.name}"] = {**base, "properties": node_props}
        defs[f"model.{op.name}"] = {"allOf": [_ref(f"op.{op.name}")], "required": required}
        defs[f"graphnode.{op.name}"] = {"allOf": [_ref(f"node.{op.name}")], "required": required + ["in"]}
        # merged over a parent's (extends): null removes an inherited argument, also one of the
        # parent's op when the child changes the op
        nullable = {k: v if k == "op" else {"anyOf": [v, {"type": "null"}]} for k, v in node_props.items()}
        defs[f"partial.{op.name}"] = {**base, "properties": nullable, "additionalProperties": {"type": "null"}}

    def union(prefix: str) -> dict:
        # oneOf over the ops, each branch guarded by its `op` value: a branch of another op fails
        # at once (else: false) instead of validating the whole sub-tree against the wrong op
        branches = [{"if": {"properties": {"op": {"const": n}}}, "then": _ref(f"{prefix}.{n}"), "else": False}
                    for n in names]
        return {"type": "object", "required": ["op"], "properties": {"op": _ref("OpName")}, "oneOf": branches,
                "discriminator": {"propertyName": "op", "mapping": {n: f"#/$defs/{prefix}.{n}" for n in names}}}

    defs["NodeInputs"] = {"description": "the values a node reads: an input name or node name, or a list of them",
                          "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}, "minItems": 1}]}
    defs["Component"] = {"description": "a component: an op name, or {op: NAME, ...args}",
                         "anyOf": [_ref("OpName"), union("op")]}
    defs["Model"] = {"description": "the model: one component, every required argument given",
                     "anyOf": [_ref("OpName"), union("model")]}
    defs["GraphNode"] = {"description": "a graph node: {op: NAME, in: INPUTS, ...args}", **union("graphnode")}
    no_op = {"type": "object", "not": {"required": ["op"]}}
    defs["PartialModel"] = {"description": "model overrides merged over the parent's (extends)",
                            "anyOf": [_ref("OpName"), union("partial"), no_op, {"type": "null"}]}
    defs["PartialGraphNode"] = {"description": "node overrides merged over the parent's (extends)",
                                "anyOf": [union("partial"), no_op, {"type": "null"}]}

    refs = schema.get("oneOf") or [schema]  # a union of the kinds' documents (or a reference to the one kind)
    kinds = [defs[ref["$ref"].rsplit("/", 1)[-1]] for ref in refs]
    for document in kinds:  # every kind may extend a parent: then its required keys may come from there
        document["properties"]["extends"] = {
            "description": "parent spec(s) to inherit from, relative to this file; this file's keys are merged over them",
            "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}
        document["if"] = {"required": ["extends"]}
        document["else"] = {"required": document.pop("required", [])}

    model_spec = defs["ModelSpec"]
    props = model_spec["properties"]
    props["model"] = {"description": props["model"].get("description", "")}
    props["nodes"] = {"description": props["nodes"].get("description", ""), "type": "object"}
    model_spec["not"] = {"required": ["model", "nodes"]}
    model_spec["then"] = {"properties": {
        "model": _ref("PartialModel"),
        "nodes": {"type": "object", "additionalProperties": _ref("PartialGraphNode")}}}
    model_spec["else"].update({
        "properties": {"model": _ref("Model"), "nodes": {"type": "object", "additionalProperties": _ref("GraphNode")}},
        "anyOf": [{"required": ["model"]}, {"required": ["nodes", "outputs"]}],
    })
    # a recipe's model: a path, {extends: PATH, ...overrides}, or a whole model spec inline -- not a
    # bare component (which would let any partial model file pass as a train spec)
    recipe_model = defs["TrainSpec"]["properties"]["model"]
    recipe_model.update(anyOf=[{"type": "string"}, {"type": "object", "required": ["extends"]}, _ref("ModelSpec")])
    top = {k: v for k, v in schema.items() if k not in ("$defs", "oneOf", "discriminator")}
    # anyOf, not oneOf: a partial file without `kind` (it comes from the parent) fits several kinds
    top["anyOf"] = [{"$ref": f"#/$defs/{d['title']}"} for d in kinds]
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": "graphspec spec", **top, "$defs": defs}
