"""The typed spec document. YAML is loaded with positions (``source.py``), then validated here
with pydantic; components inside ``model`` and ``nodes`` are validated against the registry by
the compiler (they are open-ended: any registered op)."""
from __future__ import annotations

from typing import Annotated, Any, Literal, Optional, Union

from pydantic import (BaseModel, Discriminator, Field, StrictInt, StrictStr, Tag, TypeAdapter,
                      ValidationError, model_validator)

from .strict import Strict as _Strict
from .errors import Diagnostic, SpecError, did_you_mean, validation_diagnostics

Dim = Union[StrictInt, StrictStr]
Shape = list[Dim]
#: an input is one tensor, or named tensors passed as one list (``{slow: [...], fast: [...]}``)
InputDecl = Union[Shape, dict[str, Shape]]




class MacsExpect(_Strict):
    value: float = Field(gt=0, description="expected multiply-accumulates per clip")
    rtol: float = Field(0.01, ge=0, description="relative tolerance")


class Expect(_Strict):
    """Facts ``graphspec validate`` checks against static inference."""

    params: Optional[int] = Field(None, ge=0, description="exact number of parameters")
    state_entries: Optional[int] = Field(None, ge=0, description="number of state_dict entries")
    macs: Optional[Union[MacsExpect, float]] = Field(None, description="MACs per clip (1% tolerance by default)")
    outputs: Optional[dict[str, Shape]] = Field(None, description="output shapes by name")

    @property
    def macs_expect(self) -> Optional[MacsExpect]:
        return MacsExpect(value=self.macs) if isinstance(self.macs, (int, float)) else self.macs


class ModelSpec(_Strict):
    """A model: one component (``model``) or an explicit graph (``nodes`` + ``outputs``)."""

    graphspec: Literal[1] = Field(description="format version")
    kind: Literal["model"]
    name: str
    description: str = ""
    inputs: dict[str, InputDecl] = Field(min_length=1)
    model: Optional[Any] = Field(None, description="one component: an op name or {op: NAME, ...args}")
    nodes: Optional[dict[str, Any]] = Field(None, description="explicit graph: name -> component with `in:`")
    outputs: Optional[Union[list[str], dict[str, str]]] = Field(
        None, description="model form: output names (default [logits]); graph form: name -> node")
    expect: Optional[Expect] = None

    @model_validator(mode="after")
    def _one_form(self) -> "ModelSpec":
        if (self.model is None) == (self.nodes is None):
            raise ValueError("a model spec needs exactly one of 'model' or 'nodes'")
        if self.nodes is not None and not self.outputs:
            raise ValueError("a graph spec ('nodes') needs 'outputs'")
        return self

    def output_names(self) -> list[str]:
        if self.outputs is None:
            return ["logits"]
        return list(self.outputs)


#: a declared clip dim: a size >= 1 or a symbol (an identifier such as T)
ClipDim = Union[Annotated[StrictInt, Field(ge=1)], Annotated[StrictStr, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]]


class VideoDecl(_Strict):
    """A video tensor of a transform spec: layout, dtype and shape (symbols allowed)."""

    layout: Literal["CTHW", "TCHW", "THWC"] = Field("CTHW", description="order of the dims in `shape`")
    dtype: Literal["uint8", "float16", "bfloat16", "float32", "float64"] = "uint8"
    shape: list[ClipDim] = Field(min_length=4, max_length=4, description="e.g. [3, T, H, W]: sizes >= 1 or symbols")


#: a clip key: a video, or ``any`` (a value the transforms pass along: label, name, audio); a
#: mapping is a video, so its errors are the video's alone
ClipValueDecl = Annotated[
    Union[Annotated[Literal["any"], Tag("any")], Annotated[VideoDecl, Tag("video")]],
    Discriminator(lambda value: "video" if isinstance(value, dict) else "any"),
]


class TransformExpect(_Strict):
    outputs: dict[str, Union[ClipValueDecl, list[VideoDecl]]] = Field(
        description="per-key output layouts (a list for pathways or views)")


class TransformSpec(_Strict):
    """A transform pipeline over dict clips (``graphspec.transforms.spec`` compiles it)."""

    graphspec: Literal[1] = Field(description="format version")
    kind: Literal["transform"]
    name: str
    description: str = ""
    input: dict[str, ClipValueDecl] = Field(min_length=1, description="the clip's keys and their layouts")
    transform: Any = Field(description="a component or a list of components (applied in order)")
    seed: Optional[StrictInt] = Field(None, description="seed of the built transform's random draws")
    expect: Optional[TransformExpect] = None


class LoaderSettings(_Strict):
    """The ``torch.utils.data.DataLoader`` a data spec builds."""

    batch_size: StrictInt = Field(8, ge=1)
    num_workers: StrictInt = Field(0, ge=0, description="worker processes (0: load in the main process)")
    pin_memory: bool = False
    drop_last: bool = False
    persistent_workers: bool = False
    prefetch_factor: Optional[StrictInt] = Field(None, ge=1, description="batches loaded ahead per worker")
    shuffle: bool = Field(False, description="map-style datasets only (iterable ones order their own videos)")
    collate: Literal["default", "list"] = Field("default", description="stack samples, or keep a list of dicts")


class DataSpec(_Strict):
    """A data pipeline: dataset op + clip sampler + transform + loader (``graphspec.data.spec``)."""

    graphspec: Literal[1] = Field(description="format version")
    kind: Literal["data"]
    name: str
    description: str = ""
    dataset: Any = Field(description="the dataset op and its arguments: {op: Kinetics, data_path: ...}")
    clip_sampler: Optional[Any] = Field(None, description="clip sampler op, given to the dataset as clip_sampler")
    transform: Optional[Union[StrictStr, dict[str, Any]]] = Field(
        None, description="a transform spec path (relative to this file) or inline {input, transform, seed}")
    loader: LoaderSettings = Field(default_factory=LoaderSettings)
    seed: Optional[StrictInt] = Field(None, description="seed of the dataset's random choices")
    model: Optional[StrictStr] = Field(None, description="a model spec path whose inputs the clips must fit")
    prepare: Optional[dict[str, Any]] = Field(None, description="`graphspec data prepare` plan overrides")


from .train import TrainSpec  # noqa: E402

SpecDocument = Annotated[Union[ModelSpec, TransformSpec, DataSpec, TrainSpec], Field(discriminator="kind")]
_ADAPTER: TypeAdapter = TypeAdapter(SpecDocument)
KINDS = ("model", "transform", "data", "train")
_KIND_MODELS: dict[str, type[BaseModel]] = {"model": ModelSpec, "transform": TransformSpec, "data": DataSpec,
                                            "train": TrainSpec}


def validate_document(data: dict) -> ModelSpec:
    """Validate the top level of a spec; every problem becomes a located-by-path diagnostic."""
    found: list[Diagnostic] = []
    version = data.get("graphspec")
    if version is None:
        found.append(Diagnostic("missing 'graphspec: 1' (the spec format version)", unusable=True, code="version"))
    elif version != 1:
        found.append(Diagnostic(f"unsupported format version {version!r}; this graphspec reads version 1",
                                path=("graphspec",), unusable=True, code="version"))
    kind = data.get("kind")
    if kind not in KINDS:
        hint = did_you_mean(str(kind), KINDS + ("data", "transform"))
        message = (f"kind {kind!r} is not supported by this version (supported: {', '.join(KINDS)})"
                   if kind in ("data", "transform", "train") else f"unknown kind {kind!r}")
        found.append(Diagnostic(message, path=("kind",), hint=None if kind in ("data", "transform") else hint,
                                unusable=True, code="kind"))
    if found:
        raise SpecError(found)
    try:
        return _ADAPTER.validate_python(data)
    except ValidationError as err:
        raise SpecError(_diagnostics(err.errors(), data)) from None


#: top-level keys that belong to a spec of another kind: (kind, key) -> what to write instead;
#: such a key makes the spec the wrong kind of input (exit 2), not a typo
_OTHER_KINDS_KEYS = {
    ("transform", "model"): "a transform spec names no model: a data spec (kind: data) checks its clips against "
                            "one, with `transform:` naming this spec and `model:` the model spec",
    ("model", "transform"): "a model spec takes no transform: a data spec (kind: data) joins a transform and a "
                            "model (`transform:` and `model:`)",
}


def _diagnostics(errors: list[dict], data: dict) -> list[Diagnostic]:
    found, per_key = [], []
    for error in errors:
        loc = tuple(error["loc"])[1:]  # the first part is the `kind` tag of the discriminated union
        misplaced = _OTHER_KINDS_KEYS.get((data["kind"], loc[0] if len(loc) == 1 else None))
        if error["type"] == "value_error" and not loc:  # a whole-document rule (model vs nodes)
            where = ("nodes",) if "nodes" in data else ("model",)
            found.append(Diagnostic(error["msg"].removeprefix("Value error, "), path=where, code="schema"))
        elif error["type"] == "extra_forbidden" and misplaced:
            found.append(Diagnostic(misplaced, path=loc, code="kind", unusable=True))
        else:
            per_key.append({**error, "loc": loc})
    top = _KIND_MODELS[data["kind"]]
    return validation_diagnostics(per_key, data, code="schema", fields_at=lambda path: _fields_at(top, path)) + found


def _fields_at(top: type[BaseModel], path: tuple) -> list[str]:
    """The valid keys at ``path`` of a ``top`` document (for did-you-mean on unknown keys)."""
    model: Any = top
    for part in path:
        field = getattr(model, "model_fields", {}).get(part)
        if field is None:
            return []
        model = field.annotation
        for arg in getattr(model, "__args__", ()):  # Optional[Expect] -> Expect
            if hasattr(arg, "model_fields"):
                model = arg
    return list(getattr(model, "model_fields", {}))


def json_schema() -> dict:
    return _ADAPTER.json_schema()
