"""JSON-schema generation: each op's argument model (the same pydantic model that validates its
arguments, so schema and validation cannot drift) and the schema of a set of ops."""
from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Callable

from pydantic import ConfigDict, Field, WithJsonSchema, create_model
from pydantic.json_schema import GenerateJsonSchema

if TYPE_CHECKING:
    from graphspec.registry.core import ArgSpec, OpDef

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


def with_component_ref(schema: Any, ref: str) -> Any:
    if isinstance(schema, dict):
        out = {k: with_component_ref(v, ref) for k, v in schema.items() if k != "x-graphspec"}
        return {**out, "$ref": ref} if schema.get("x-graphspec") == "component" else out
    if isinstance(schema, list):
        return [with_component_ref(v, ref) for v in schema]
    return schema


class _SpecJsonSchema(GenerateJsonSchema):
    """A Python-only type (``type``, ``Callable`` inside a dict) has no spec value: in the schema
    it admits nothing, as validation of spec data admits nothing there."""

    def handle_invalid_for_json_schema(self, schema: Any, error_info: str) -> dict:
        return {"not": {}, "description": "a Python object: no spec value"}


def args_model(opdef: OpDef, spec_data: Callable[[Any], Any]) -> type:
    """The pydantic model of ``opdef``'s arguments; ``spec_data`` gives a default's spec form
    (``ValueError`` where it has none: the field is then optional and not shown)."""
    fields: dict[str, Any] = {}
    for spec in opdef.args.values():
        kind = spec.field_type
        if spec.component or spec.component_list:
            kind = Annotated[Any, WithJsonSchema(_component_schema(spec))]
        if spec.required:
            fields[spec.name] = (kind, ...)
            continue
        try:
            fields[spec.name] = (kind, Field(default=spec_data(spec.default)))
        except ValueError:  # a default with no spec form (a Python object): optional, not shown
            fields[spec.name] = (kind, Field(default_factory=lambda d=spec.default: d))
    return create_model(f"{opdef.name}Args", __config__=ConfigDict(extra="forbid", title=opdef.name), **fields)


def ops_json_schema(ops: list[OpDef], component_ref: str) -> dict:
    """``{"ops": {name: object schema of its arguments}, "$defs": {shared definitions}}`` of ``ops``,
    component arguments as ``{"$ref": component_ref}``."""
    schemas: dict[str, dict] = {}
    defs: dict[str, dict] = {}
    for op in ops:
        generated = op.args_model.model_json_schema(ref_template="#/$defs/{model}", schema_generator=_SpecJsonSchema)
        schema = with_component_ref(generated, component_ref)
        defs.update(schema.pop("$defs", {}))
        schema["description"] = op.doc.split("\n", 1)[0] if op.doc else op.name
        schemas[op.name] = schema
    return {"ops": schemas, "$defs": defs}
