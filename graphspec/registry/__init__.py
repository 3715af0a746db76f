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

The package by job: ``argtypes`` (strict types, ranges, component annotations), ``core`` (``ArgSpec``,
``OpDef``, ``Registry``, ``default``), ``schema`` (JSON-schema generation), ``scalars`` (numpy scalars
and bool flags). Every name is importable from ``graphspec.registry`` itself.

The registry imports no compiler, model or CLI code (the layering test holds this).
"""
from graphspec.registry.argtypes import (ARG_RANGES, MAX_REPEAT, ComponentType, is_component_annotation,
                                         is_component_list_annotation, strict_type)
from graphspec.registry.core import (ArgSpec, CallMode, CallRule, OpDef, OpKind, Registry, add, as_spec_data, check,
                                     default, derive_args, find, get, get_or_raise_at, json_schema, load_entry_points,
                                     names, op_for_callable, ops, register, scoped)
from graphspec.registry.scalars import python_scalar_args, python_scalars, require_bool

__all__ = ["ARG_RANGES", "MAX_REPEAT", "ArgSpec", "CallMode", "CallRule", "ComponentType", "OpDef", "OpKind",
           "Registry", "add", "as_spec_data", "check", "default", "derive_args", "find", "get", "get_or_raise_at",
           "is_component_annotation", "is_component_list_annotation", "json_schema", "load_entry_points", "names",
           "op_for_callable", "ops", "python_scalar_args", "python_scalars", "register", "require_bool", "scoped",
           "strict_type"]
