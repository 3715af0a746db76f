"""``kind: train`` specs: a model spec, data specs (train, val, optionally a multi-view val) and a
recipe (loss, optimizer, schedule, precision, evaluation, checkpoints, export), checked statically
before anything runs.

```yaml
graphspec: 1
kind: train
name: x3d_xs_kinetics400
model: ../models/x3d_xs.yaml           # a path, inline {inputs, model, ...}, or {extends: PATH, ...}
model_inputs: from_data                # build the model at each phase's clip size (X3D: 160 / 182)
num_classes: 400                       # labels in the data
data:
  train: {extends: ../data/kinetics400_train.yaml, transform: ../transforms/x3d_xs_train.yaml}
  val: ...
batch_size: 256                        # global: split over the ranks (and accumulation steps)
epochs: 300
loss: {op: soft_target_cross_entropy}
mix: {op: MixVideo, num_classes: 400}  # batch mixing in the training step: needs a soft-target loss
optimizer: {op: SGD, lr: 0.4, momentum: 0.9, weight_decay: 5.0e-5, no_decay_norm_bias: true}
schedule: {op: cosine, warmup_epochs: 35}
```

A referenced model or data spec (a path, or ``{extends: PATH, ...}``) is inlined when the train
spec is loaded (``inline_references``), before ``--set`` is applied, so ``--set
model.model.model_num_class=101`` reaches into it; errors inside it still name its own file and
line. The model's ``expect`` and a data spec's own ``model:`` are left out (the recipe's model is
the one the clips must fit; published figures belong to the model spec's own ``validate``).

``compile_document`` checks, each finding at the key that causes it: the model's classes vs
``num_classes``, the loss vs the model's output (a class loss needs ``[B, K]`` logits, ``loss:
{op: model}`` a model that computes a scalar loss), each phase's clips vs the model's inputs,
``mix`` without a soft-target loss (or for another number of classes), a batch size that does
not divide over ``ranks`` x ``accumulate``, ``init`` and ``export`` settings.
"""
from __future__ import annotations

import copy
import os
import re
from dataclasses import dataclass, field
from typing import Any, Optional

from graphspec.spec.compiled import Compiled, blocking
from graphspec.spec.errors import Diagnostic, SpecError

PHASES = ("train", "val", "val_views")
#: the spec parts a train spec may reference by path (inlined on load), with their kinds
PARTS = {("model",): "model", **{("data", phase): "data" for phase in PHASES}}
#: keys of a referenced part the recipe does not use (see the module doc)
_DROPPED = {"model": ("expect",), "data": ("model",)}
#: path-valued keys of a data spec, relative to the file that declares them (made absolute on inlining)
_RELATIVE_KEYS = {"data": ("transform",), "model": ()}


from graphspec.spec.train import (  # noqa: F401  (the schema, re-exported)
    SOFT_TARGET_LOSSES, AdamW, Checkpoints, Constant, Cosine, CrossEntropy, Eval, Export, Init, Loss, ModelLoss,
    Optimizer, Schedule, SGD, SoftTargetCrossEntropy, Step, TrainSpec)


# -- loading: referenced parts become part of the document -----------------------------------
def inline_references(data: dict, smap, file: str) -> None:
    """Replace each part given by path (or ``{extends: PATH, ...}``) with the spec it names,
    positions kept, so ``--set`` reaches into it. ``SpecError`` when one cannot be read."""
    from graphspec.spec.source import SourceMap, load_document, merge_over

    found: list[Diagnostic] = []
    for key, kind in PARTS.items():
        value = _at(data, key)
        if isinstance(value, str):
            ref, own = value, None
        elif isinstance(value, dict) and isinstance(value.get("extends"), str):
            ref, own = value["extends"], {k: v for k, v in value.items() if k != "extends"}
        else:
            continue
        declared = smap.locate(key + (("extends",) if own is not None else ()))
        path = _relative_to(declared.file, file, ref)
        if not os.path.isfile(path):  # at the line that names it (load_document places it in the missing file)
            found.append(Diagnostic(f"no {kind} spec at {path}" + (" (a folder)" if os.path.isdir(path) else ""),
                                    path=key, location=declared, code="io", unusable=True))
            continue
        try:
            part, pmap = load_document(path)
        except SpecError as err:
            for d in err.diagnostics:  # the part's own problems keep their place; an unreadable file is ours
                if d.location is None or d.location.file != path:
                    d.location, d.path = declared, key
            found += err.diagnostics
            continue
        if own is not None:
            child = SourceMap(declared.file, smap.subtree(key))
            child.drop(("extends",))
            merge_over(part, pmap, own, child)
        for name in _DROPPED.get(kind, ()):
            part.pop(name, None)
        for name in _RELATIVE_KEYS[kind]:
            if isinstance(part.get(name), str):
                part[name] = _relative_to(pmap.locate((name,)).file, path, part[name])
        where = smap.locate(key)
        _set_at(data, key, part)
        smap.drop(key)
        smap.graft(key, {rel: loc for rel, loc in pmap.items() if rel})
        smap.set(key, where)
    if found:
        raise SpecError(found)


def _relative_to(declared_in: str, file: str, ref: str) -> str:
    base = file if declared_in.startswith("<") else declared_in  # "<--set>": relative to the spec itself
    return os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(base)), ref))


def _at(data: Any, key: tuple) -> Any:
    for part in key:
        if not isinstance(data, dict) or part not in data:
            return None
        data = data[part]
    return data


def _set_at(data: dict, key: tuple, value: Any) -> None:
    for part in key[:-1]:
        data = data[part]
    data[key[-1]] = value


# -- compiling ---------------------------------------------------------------------------------
@dataclass
class CompiledTrain(Compiled):
    """A checked train spec: the compiled model (per phase with ``model_inputs: from_data``), the
    compiled data specs by phase, the batch mix, and the findings."""

    spec: TrainSpec
    data: dict
    smap: Any
    file: str
    model: Any = None  # the model spec compiled as declared
    models: dict = field(default_factory=dict)  # phase -> compiled model (the size it runs at)
    parts: dict = field(default_factory=dict)  # phase -> CompiledData
    mix: Any = None  # the mix's transform node (graphspec.transforms.spec.parse)
    classes: Optional[int] = None  # the model's output classes (supervised)
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def self_supervised(self) -> bool:
        return self.spec.loss.op == "model"

    def build(self):
        """The model (``nn.Module``) the recipe trains, with random weights."""
        errors = blocking(self.diagnostics)
        if errors or self.model is None:
            raise SpecError(errors or [Diagnostic("the model could not be compiled", path=("model",))])
        return self.model.lower()


def _finding(message: str, path: tuple, code: str = "train", hint: Optional[str] = None,
             severity: str = "error") -> Diagnostic:
    return Diagnostic(message, path=path, code=code, hint=hint, severity=severity)


def compile_part(data: dict, key: tuple, kind: str, name: str, smap, file: str, found: list) -> Any:
    """Compile the (inlined) part at ``key`` as a ``kind`` spec; its findings, keyed by their
    full path in the train spec, go to ``found``. None when it does not compile."""
    from graphspec import api
    from graphspec.spec.source import SourceMap

    body = _at(data, key)
    if not isinstance(body, dict):
        found.append(_finding(f"expected a {kind} spec (a path or an inline mapping)", key, "schema"))
        return None
    if body.get("kind", kind) != kind:
        found.append(_finding(f"this is a {body.get('kind')} spec; {'.'.join(key)} takes a {kind} spec", key,
                              "kind"))
        return None
    document = {"graphspec": 1, "kind": kind, "name": f"{name}.{'.'.join(key)}", **copy.deepcopy(body)}
    sub = SourceMap(smap.locate(key).file, smap.subtree(key))
    try:
        compiled = api.compile_loaded(document, sub, file)
    except SpecError as err:
        found += _prefixed(err.diagnostics, key, sub)
        return None
    found += _prefixed(compiled.diagnostics, key, sub)
    return compiled


def _prefixed(diagnostics: list[Diagnostic], key: tuple, sub) -> list[Diagnostic]:
    """The part's findings with the part's key in front of their path; those of files the part
    names in turn (a data spec's transform file) keep their own."""
    for d in diagnostics:
        if d.location is None or d.location == sub.locate(d.path):
            d.path = key + tuple(d.path)
            d.location = None
    return diagnostics


def compile_document(spec: TrainSpec, data: dict, smap, file: str) -> CompiledTrain:
    """Compile the model and data parts and check that they fit the recipe; never reads data."""
    result = CompiledTrain(spec, data, smap, file)
    found = result.diagnostics
    result.model = compile_part(data, ("model",), "model", spec.name, smap, file, found)
    for phase in spec.data:
        result.parts[phase] = compile_part(data, ("data", phase), "data", spec.name, smap, file, found)
    if spec.mix is not None:
        result.mix = _compile_mix(spec.mix, found)
    if result.model is not None and result.model.ok:
        _check_model_per_phase(result)
        _check_outputs(result)
    _check_batch(result)
    _check_files(result)
    for d in found:
        if d.location is None:
            d.location = smap.locate(d.path)
    return result


def _compile_mix(mix: Any, found: list) -> Any:
    from graphspec.transforms.spec import build, parse

    try:
        node = parse(mix, ("mix",))
    except SpecError as err:
        found += err.diagnostics
        return None
    if node.op not in MIX_OPS:
        found.append(_finding(f"{node.op} is no batch mix; mix takes one of {', '.join(MIX_OPS)}", ("mix",),
                              "schema"))
        return None
    try:
        build(node)
    except SpecError as err:
        found += err.diagnostics
    return node


#: the batch mixes ``mix:`` takes (they turn labels into soft targets)
MIX_OPS = ("MixUp", "CutMix", "MixVideo")


def _video_outputs(part: Any) -> Any:
    """The static clip layouts a compiled data spec gives: output key -> value."""
    transform = getattr(part, "transform", None)
    return None if transform is None or not transform.ok else transform


def _feeds(transform: Any, model: Any) -> Any:
    """``transform`` as the model sees it: the views of a multi-view ``video`` key feed a model
    with that many inputs (SimCLR / BYOL ``view1``, ``view2``) in order."""
    from dataclasses import replace

    from graphspec.transforms import rules as R

    names = list(model.inputs)
    video = transform.outputs.get("video")
    if isinstance(video, list) and len(names) == len(video) and not any(n in transform.outputs for n in names):
        return replace(transform, outputs={n: v for n, v in zip(names, video)})
    feeds = {n: transform.outputs[DATA_KEYS[n]] for n in names if n in DATA_KEYS}
    if feeds:  # MemoryBank's `index`: the dataset's video index, no clip layout to check
        outputs = {k: v for k, v in transform.outputs.items()}
        outputs.update({n: R.Unchecked() for n in feeds})
        return replace(transform, outputs=outputs)
    return transform


#: a clip dimension the model's declared input does not match (``check_fits``' wording)
_SIZE_MISMATCH = re.compile(r"\b[THW] is \d+, the model takes \d+")
#: model inputs fed from a sample key other than a video (MemoryBank's index of the video)
DATA_KEYS = {"index": "video_index"}


def _check_model_per_phase(result: CompiledTrain) -> None:
    """Each phase's clips fit the model: as declared, or (``from_data``) the model compiled at the
    clip size of each phase, holding the same weights."""
    from graphspec.transforms.spec import check_fits

    spec = result.spec
    for phase, part in result.parts.items():
        transform = _video_outputs(part)
        if transform is None:
            result.models[phase] = result.model
            continue
        where = ("data", phase, "transform")
        model = result.model
        if spec.model_inputs == "from_data":
            model = _model_at_size(result, transform, phase)
            if model is None:
                continue
        result.models[phase] = model
        for d in check_fits(_feeds(transform, model), model):
            d.path, d.location = where, None
            if spec.model_inputs == "declared" and _SIZE_MISMATCH.search(d.message):
                d.hint = "model_inputs: from_data builds the model at each phase's clip size"
            result.diagnostics.append(d)


def _model_at_size(result: CompiledTrain, transform: Any, phase: str) -> Any:
    from graphspec.transforms import rules as R

    inputs = result.data["model"].get("inputs", {})
    feeds = _feeds(transform, result.model).outputs
    sized = copy.deepcopy(result.data["model"])
    for name in inputs:
        clip = feeds.get(name)
        if not isinstance(clip, R.VideoType) or not isinstance(inputs[name], list):
            continue
        sized["inputs"][name] = [inputs[name][0], *clip.shape]
    sized.pop("expect", None)
    found: list[Diagnostic] = []
    model = compile_part({"model": sized}, ("model",), "model", result.spec.name, result.smap, result.file, found)
    where = ("data", phase, "transform")
    for d in found:
        if d.severity == "error":
            d.message = f"the model at the {phase} clip size: {d.message}"
            d.path, d.location = where, None
            result.diagnostics.append(d)
    if model is None or not model.ok:
        return None
    if [s[:3] for s in model.state] != [s[:3] for s in result.model.state]:
        result.diagnostics.append(_finding(f"at the {phase} clip size the model has other weights than as "
                                           "declared: one set of weights cannot serve both", ("model_inputs",)))
        return None
    return model


def _check_outputs(result: CompiledTrain) -> None:
    """The loss against the model's output; the classes against num_classes and the mix."""
    from graphspec.compiler.infer import TensorType

    spec, model = result.spec, result.model
    outputs = list(model.outputs.items())
    if not outputs:
        return
    name, out = outputs[0]
    scalar = isinstance(out, TensorType) and len(out.shape) == 0
    if spec.loss.op == "model":
        if not scalar:
            result.diagnostics.append(_finding(
                f"loss: model needs a model that computes its loss (a scalar output); output {name!r} is {out}",
                ("loss", "op"), hint="a supervised model takes loss: {op: cross_entropy}"))
        return
    if not (isinstance(out, TensorType) and len(out.shape) == 2):
        result.diagnostics.append(_finding(
            f"{spec.loss.op} takes [B, classes] logits; the model's output {name!r} is {out}", ("loss", "op"),
            hint="a model that computes its own loss (SimCLR, BYOL) takes loss: {op: model}" if scalar else None))
        return
    classes = out.shape[1]
    result.classes = classes if isinstance(classes, int) else None
    if spec.num_classes is not None and result.classes is not None and result.classes != spec.num_classes:
        result.diagnostics.append(_finding(
            f"the model gives {result.classes} classes, the data has num_classes {spec.num_classes}",
            ("num_classes",), hint="make the model's head give num_classes outputs (a builder's model_num_class)"))
    mix = result.mix
    if mix is not None:
        if spec.loss.op not in SOFT_TARGET_LOSSES:
            result.diagnostics.append(_finding(
                f"{mix.op} gives soft targets; loss {spec.loss.op} takes class labels", ("mix",),
                hint="use loss: {op: soft_target_cross_entropy}"))
        mixed = mix.args.get("num_classes")
        if result.classes is not None and mixed != result.classes:
            where = ("mix", "num_classes") if "num_classes" in mix.given else ("mix",)
            result.diagnostics.append(_finding(
                f"{mix.op} makes targets for {mixed} classes, the model gives {result.classes}", where))


def _check_batch(result: CompiledTrain) -> None:
    spec = result.spec
    if spec.epochs is not None and spec.steps is not None:
        result.diagnostics.append(_finding("a train spec gives epochs or steps, not both", ("steps",), "schema",
                                           hint="remove one (steps: optimizer steps; epochs: passes over data.train)"))
    elif spec.epochs is None and spec.steps is None:
        result.diagnostics.append(_finding("a train spec needs its length: epochs or steps", (), "schema",
                                           hint="add epochs: N (passes over data.train) or steps: N"))
    if "train" not in spec.data:
        result.diagnostics.append(_finding("a train spec needs data.train (the clips it trains on)", ("data",),
                                           "schema"))
    ranks = spec.ranks or 1
    if spec.batch_size % (ranks * spec.accumulate):
        split = f"{ranks} ranks x {spec.accumulate} accumulation steps" if spec.accumulate > 1 else f"{ranks} ranks"
        result.diagnostics.append(_finding(f"batch_size {spec.batch_size} does not divide over {split}",
                                           ("batch_size",), hint=f"a multiple of {ranks * spec.accumulate}"))
    elif spec.mix is not None and spec.batch_size // (ranks * spec.accumulate) < 2:
        result.diagnostics.append(_finding("a batch mix pairs clips within a batch: it needs 2 or more per rank",
                                           ("mix",)))
    for phase, part in result.parts.items():
        if part is not None and part.spec.loader.persistent_workers:
            result.diagnostics.append(_finding(
                "persistent workers keep the dataset of the first epoch: each epoch's new clips (set_epoch) "
                "would not reach them", ("data", phase, "loader", "persistent_workers"), hint="remove it"))
    if "val_views" in spec.data and result.parts.get("val_views") is not None:
        call = result.parts["val_views"].sampler_call
        if call is not None and call.op != "ConstantClipsPerVideoSampler":
            result.diagnostics.append(_finding(
                f"the multi-view protocol takes a fixed number of clips per video; {call.op} gives "
                "clips by duration", ("data", "val_views", "clip_sampler"), severity="warning",
                hint="ConstantClipsPerVideoSampler(clip_duration, clips_per_video, augs_per_clip)"))
    if spec.export is not None and spec.export.calibrate is not None and spec.export.calibrate not in spec.data:
        result.diagnostics.append(_finding(f"no data.{spec.export.calibrate} to calibrate on",
                                           ("export", "calibrate")))
    if spec.export is not None and spec.export.min_cosine is not None and not spec.export.int8:
        result.diagnostics.append(_finding("min_cosine checks an int8 export; this one is fp32 (int8: false)",
                                           ("export", "min_cosine"), hint="add int8: true, or remove min_cosine"))
    if spec.export is not None and spec.export.int8 and spec.export.to == "onnx":
        result.diagnostics.append(_finding("int8 export takes to: mobile or executorch", ("export", "int8")))
    if spec.precision == "fp16":
        result.diagnostics.append(_finding("fp16 runs on CUDA only (on CPU use bf16)", ("precision",),
                                           severity="warning"))


def _check_files(result: CompiledTrain) -> None:
    init = result.spec.init
    if init is not None:
        path = checkpoint_path(result)
        if not os.path.isfile(path):
            result.diagnostics.append(_finding(f"no checkpoint at {path} (yet: training needs it)",
                                               ("init", "checkpoint"), "io", severity="warning",
                                               hint="point it at the file with --set init.checkpoint=PATH"))


def checkpoint_path(result: CompiledTrain) -> str:
    """``init.checkpoint`` resolved against the file that declares it."""
    declared = result.smap.locate(("init", "checkpoint")).file
    return _relative_to(declared, result.file, result.spec.init.checkpoint)
