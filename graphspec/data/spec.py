"""``kind: data`` specs: a dataset op, a clip sampler, a transform and loader settings, compiled
(checked without touching the data) and built into a ``torch.utils.data.DataLoader``.

```yaml
graphspec: 1
kind: data
name: kinetics400_train
dataset: {op: Kinetics, data_path: data/kinetics400/train.csv, video_path_prefix: data/kinetics400}
clip_sampler: {op: RandomClipSampler, clip_duration: 2.0}
transform: ../transforms/kinetics_train.yaml      # or inline: {input: {...}, transform: [...]}
loader: {batch_size: 8, num_workers: 8}
model: ../models/slow_r50.yaml                     # optional: the clips must fit its input
```

``compile_document`` validates every op and argument and the transform (and its fit to the
model) but never opens ``data_path``: a spec validates on a machine without the dataset;
``build`` needs the data. Two dataset arguments follow from the transform when the spec leaves
them out and the dataset takes them: ``frames_per_clip`` from a leading
``UniformTemporalSubsample(n)`` of the video key, for a dataset op that declares it keeps those
frames (trait ``UNIFORM_FRAMES_PER_CLIP`` of ``graphspec.data.traits``; the decoder then converts
only those ``n`` frames: the same pixels, much less work) and ``video_dtype`` from the
transform's declared input.

Relative paths resolve against the file that writes them, as ``extends:`` does: the dataset's
path arguments (``data_path``, ``video_path_prefix``, ``*_file``, ``*_file_path``...),
``transform:`` and ``model:`` against the spec (or the parent spec it inherits them from; a
``--set`` value against the spec it is applied to). ``build`` (and ``data inspect`` / ``bench``)
refuse a missing file or folder before reading anything, naming the resolved path (exit 2).

``seed:`` is the dataset's seed (a finding on a dataset without one). The clip datasets (trait
``PER_SAMPLE_SEEDS``) seed the transform's torch draws per sample from (seed, epoch, video,
clip): there the transform is built unseeded (its own ``seed:`` stands in when the data spec
sets none), so a seed gives the same clips whatever the number of DataLoader workers.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import torch.utils.data
from graphspec import registry
from graphspec.compiler.bind import Binding, bind, construct, written_call
from graphspec.compiler.ir import Node
from graphspec.spec.compiled import Compiled, blocking
from graphspec.spec.document import DataSpec
from graphspec.spec.errors import Diagnostic, SpecError, did_you_mean, format_path
from graphspec.spec.source import SourceMap
from graphspec.transforms.composition import leading_temporal_subsample

from .errors import BadVideoError
from .labeled_video_dataset import VIDEO_SAMPLERS
from .labeled_video_paths import LabeledVideoPaths
from .traits import PER_SAMPLE_SEEDS, UNIFORM_FRAMES_PER_CLIP

#: dataset arguments a data spec fills from its top-level keys of the same names
_SUPPLIED = ("clip_sampler", "transform", "seed")
#: dataset arguments that name a file or folder (``data_path``, ``video_path_prefix``,
#: ``label_map_file``, ``video_info_file_path``...): resolved against the spec, checked by ``build``
PATH_ARG = re.compile(r"(_path|_file|_prefix)$")


class _DataBinding(Binding):
    """A data spec's component argument is another object op (``TimeStampClipSampler``'s
    ``clip_sampler``); a ``video_sampler`` is named (``RandomSampler``); list-of-callable arguments
    are Python-only."""

    def __init__(self, opdef: registry.OpDef) -> None:
        self.opdef = opdef

    def component(self, value: Any, path: tuple) -> Node:
        return bind_object(value, path)

    def components(self, value: Any, path: tuple) -> Any:
        raise SpecError([Diagnostic(f"{self.opdef.name}.{path[-1]} takes a list of callables, which a data spec "
                                    "does not set", path=path, code="schema")])

    def plain(self, spec: registry.ArgSpec, value: Any, path: tuple) -> Any:
        if spec.name != "video_sampler" or not isinstance(value, str):
            return super().plain(spec, value, path)
        if value not in VIDEO_SAMPLERS:
            raise SpecError([Diagnostic(f"unknown video sampler {value!r} (known: {', '.join(VIDEO_SAMPLERS)})",
                                        path=path, hint=did_you_mean(value, VIDEO_SAMPLERS), code="schema")])
        return VIDEO_SAMPLERS[value]

    def missing_hint(self, key: str) -> str | None:
        return f"set it with the top-level {key!r} key" if key in _SUPPLIED else None


def bind_object(data: Any, path: tuple, supplied: frozenset = frozenset()) -> Node:
    """An ``object`` op (``Name`` or ``{op: Name, ...arguments}``) with its arguments checked
    against its signature (``compiler.bind``); ``supplied`` arguments come from elsewhere in the
    spec. ``construct`` makes the object from the arguments written."""
    call = written_call(data, path)
    if call is None:
        raise SpecError([Diagnostic("expected an op: a name or {op: NAME, ...arguments}", path=path,
                                    code="component")])
    name, raw, op_path = call
    opdef = registry.get_or_raise_at(name, op_path)
    if opdef.kind != "object":
        objects = [n for n in registry.names() if registry.get(n).kind == "object"]
        raise SpecError([Diagnostic(f"{name} is a {opdef.kind} op, not a dataset or sampler", path=op_path,
                                    hint=did_you_mean(name, objects), code="component")])
    return bind(opdef, raw, path, binding=_DataBinding(opdef), supplied=supplied)


def _accepts(node: Node, name: str) -> bool:
    return name in registry.get(node.op).args


def _declares(node: Node, trait: str) -> bool:
    """Whether the node's op declares ``trait`` (one of ``graphspec.data.traits``)."""
    return trait in registry.get(node.op).traits


@dataclass
class CompiledData(Compiled):
    """A compiled data spec. ``build()`` gives the DataLoader; ``dataset()`` the dataset alone."""

    spec: DataSpec
    data: dict
    smap: Optional[SourceMap]
    file: str
    #: the dataset's and the clip sampler's bound op calls (IR nodes, ``compiler.bind``)
    dataset_call: Optional[Node] = None
    sampler_call: Optional[Node] = None
    transform: Any = None  # a CompiledTransform
    model: Any = None  # a compiled model spec
    #: dataset arguments derived from the transform (``frames_per_clip``, ``video_dtype``)
    derived: dict = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)

    def dataset(self) -> Any:
        """The dataset object (reads ``data_path``: a missing path is a located error)."""
        errors = blocking(self.diagnostics)
        if errors or self.dataset_call is None:
            raise SpecError(errors or [Diagnostic("the data spec could not be compiled", path=("dataset",))])
        missing = self._missing_paths()
        if missing:
            raise SpecError(missing)
        extra: dict[str, Any] = dict(self.derived)
        if self.sampler_call is not None:
            extra["clip_sampler"] = construct(self.sampler_call)
        seeds_samples = _declares(self.dataset_call, PER_SAMPLE_SEEDS)
        if self.transform is not None:
            extra["transform"] = self.transform.build(seeded=not seeds_samples)
        seed = self.spec.seed
        if seed is None and seeds_samples and self.transform is not None:
            seed = self.transform.seed  # the transform's seed, applied per sample by the dataset
        if seed is not None:
            extra["seed"] = seed
        try:
            dataset = construct(self.dataset_call, **extra)
        except (FileNotFoundError, NotADirectoryError, ValueError) as err:  # the data is not where the spec says
            path = self.dataset_call.source + (("data_path",) if "data_path" in self.dataset_call.given else ())
            raise SpecError([Diagnostic(f"cannot read the dataset: {err}", path=path, code="data", unusable=True,
                                        location=self.smap.locate(path) if self.smap else None,
                                        hint="point it at the data with --set dataset.data_path=...")]) from None
        self._check_labels(dataset)
        return dataset

    def _check_labels(self, dataset: Any) -> None:
        """Labels that are no class indices (negative, or past the classes of the ``model:``
        spec) under the dataset's bad-file policy: each video skipped with a warning naming the
        label's file and line, or (``bad_files: strict``) one finding per label. A dataset says
        which with ``label_problems(num_classes)`` (Charades, SSv2, AVA); the path-list datasets
        (Kinetics, UCF101, HMDB51) by their ``LabeledVideoPaths``."""
        problems = getattr(dataset, "label_problems", None)
        if problems is None:
            paths = getattr(dataset, "_labeled_videos", None)
            problems = paths.label_problems if isinstance(paths, LabeledVideoPaths) else None
        bad = problems(_classes(self.model)) if problems is not None else []
        if not bad:
            return
        if getattr(dataset, "_bad_policy", "skip") == "strict":
            found = []
            for problem in bad:
                where = self.dataset_call.source + (problem.arg,)
                others = len(problem.videos) - 1
                more = f" (and {others} more video{'s' if others > 1 else ''})" if others else ""
                found.append(Diagnostic(f"{problem.videos[0]}{more}: {problem.reason}", path=where, code="data",
                                        location=self.smap.locate(where) if self.smap else None,
                                        hint="fix the label, or bad_files: skip to leave the video out"))
            raise SpecError(found)
        for problem in bad:  # recorded as bad files: the reader never opens them
            for video in problem.videos:
                dataset._bad(BadVideoError(video, problem.reason))

    def _missing_paths(self) -> list[Diagnostic]:
        """An unusable finding per path argument whose file or folder is not there (a prefix
        must be a folder), naming the resolved path."""
        found = []
        for key, value in self.dataset_call.given.items():
            if not (PATH_ARG.search(key) and isinstance(value, str) and value):
                continue
            folder = key.endswith("_prefix")
            if os.path.isdir(value) if folder else os.path.exists(value):
                continue
            what = "folder" if folder else "file or folder"
            where = self.dataset_call.source + (key,)
            found.append(Diagnostic(f"no such {what}: {value}", path=where, code="data", unusable=True,
                                    location=self.smap.locate(where) if self.smap else None,
                                    hint=f"point it at the data with --set {format_path(where)}=..."))
        return found

    def build(self) -> torch.utils.data.DataLoader:
        """The DataLoader over ``dataset()`` with the spec's loader settings."""
        dataset = self.dataset()
        loader = self.spec.loader
        iterable = isinstance(dataset, torch.utils.data.IterableDataset)
        if loader.shuffle and iterable:
            raise SpecError([Diagnostic(f"{self.dataset_call.op} orders its own videos (video_sampler); "
                                        "loader.shuffle is for map-style datasets", path=("loader", "shuffle"),
                                        code="schema",
                                        location=self.smap.locate(("loader", "shuffle")) if self.smap else None)])
        options: dict[str, Any] = dict(batch_size=loader.batch_size, num_workers=loader.num_workers,
                                       pin_memory=loader.pin_memory, drop_last=loader.drop_last)
        if loader.num_workers > 0:
            options.update(persistent_workers=loader.persistent_workers, prefetch_factor=loader.prefetch_factor)
        if not iterable:
            options["shuffle"] = loader.shuffle
        if loader.collate == "list":
            options["collate_fn"] = _as_list
        return torch.utils.data.DataLoader(dataset, **options)


def _classes(model: Any) -> Optional[int]:
    """The class count of a compiled model spec: its one output's last dim, when that is known."""
    outputs = list(getattr(model, "outputs", {}).values()) if model is not None else []
    shape = getattr(outputs[0], "shape", None) if len(outputs) == 1 else None
    return shape[-1] if shape and isinstance(shape[-1], int) else None


def _as_list(samples: list) -> list:
    return samples


def resolve_path(file: str, relative: str, smap: Optional[SourceMap] = None, key: tuple | str = ()) -> str:
    """``relative`` as written where the spec key ``key`` is: against the folder of the file that
    declares it (an inherited ``transform:`` is relative to the parent spec that holds it; a
    ``--set`` value to the spec it is applied to)."""
    key = (key,) if isinstance(key, str) else key
    declared = smap.locate(key).file if smap is not None and key else file
    base = file if declared.startswith("<") else declared  # "<--set>": the spec itself
    return os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(base)), relative))


def _resolve_data_paths(call: Node, file: str, smap: Optional[SourceMap]) -> None:
    for key, value in call.given.items():
        if PATH_ARG.search(key) and isinstance(value, str) and value:
            call.args[key] = resolve_path(file, os.path.expanduser(value), smap, call.source + (key,))


def _compile_referenced(result: "CompiledData", key: str, file: str, smap: Optional[SourceMap]) -> Any:
    """The compiled spec that ``key`` (``transform:``, ``model:``) names, None after a finding; a
    file that is not there is reported at the referencing line with its resolved path."""
    from graphspec import api

    path = resolve_path(file, getattr(result.spec, key), smap, (key,))
    if not os.path.isfile(path):
        problem = "file not found" if not os.path.exists(path) else "is a directory, not a spec file"
        result.diagnostics.append(Diagnostic(f"{problem}: {path}", path=(key,), code="io", unusable=True))
        return None
    try:
        return api.compile(path)
    except SpecError as err:
        result.diagnostics += err.diagnostics
        return None


def _compile_transform(spec: DataSpec, data: dict, smap, file: str, result: CompiledData) -> None:
    from graphspec.transforms import spec as transform_spec

    if isinstance(spec.transform, str):
        compiled = _compile_referenced(result, "transform", file, smap)
        if compiled is None:
            return
        if compiled.spec is None or compiled.spec.kind != "transform":
            result.diagnostics.append(Diagnostic(f"{spec.transform} is a {compiled.spec.kind} spec, not a transform",
                                                 path=("transform",), code="schema"))
            return
        result.diagnostics += compiled.diagnostics
        result.transform = compiled
        return
    body = spec.transform
    unknown = [k for k in body if k not in ("input", "transform", "seed")]
    for key in unknown:
        result.diagnostics.append(Diagnostic(f"an inline transform has no key {key!r}", path=("transform", key),
                                             hint=did_you_mean(key, ("input", "transform", "seed")), code="schema"))
    for key in ("input", "transform"):
        if key not in body:
            result.diagnostics.append(Diagnostic(f"an inline transform needs {key!r}", path=("transform",),
                                                 code="schema"))
    if unknown or "input" not in body or "transform" not in body:
        return
    try:
        compiled = transform_spec.compile_transform(body["transform"], body["input"], path=("transform", "transform"),
                                                    name=f"{spec.name}.transform", seed=body.get("seed"),
                                                    data=data, smap=smap, file=file)
    except SpecError as err:
        result.diagnostics += err.diagnostics
        return
    result.diagnostics += compiled.diagnostics
    result.transform = compiled


def _derive_from_transform(result: CompiledData) -> None:
    """``frames_per_clip`` and ``video_dtype`` from the transform, where the dataset takes them
    and the spec does not set them."""
    call, transform = result.dataset_call, result.transform
    if call is None or transform is None or transform.root is None:
        return
    leading = _leading_video_subsample(transform)
    if leading is not None and _declares(call, UNIFORM_FRAMES_PER_CLIP) and "frames_per_clip" not in call.given:
        result.derived["frames_per_clip"] = leading
    declared = transform.inputs.get("video")
    dtype = getattr(declared, "dtype", None)
    if dtype in ("uint8", "float32") and _accepts(call, "video_dtype"):
        given = call.given.get("video_dtype")
        if given is None:
            result.derived["video_dtype"] = dtype
        elif given != dtype:
            result.diagnostics.append(Diagnostic(f"the dataset gives {given} clips, the transform takes {dtype}",
                                                 path=call.source + ("video_dtype",), code="fit"))


def _leading_video_subsample(transform: Any) -> Optional[int]:
    """``n`` when the built transform starts by subsampling the ``video`` key to ``n`` frames: the
    rule the datasets apply to a Python transform (``leading_temporal_subsample``), so a spec
    derives what the same transform written in Python gets. A transform that cannot be built
    derives nothing (its findings are reported already)."""
    try:
        built = transform.build(seeded=False)
    except SpecError:
        return None
    return leading_temporal_subsample(built)


def _compile_model(spec: DataSpec, file: str, smap: Optional[SourceMap], result: CompiledData) -> None:
    result.model = _compile_referenced(result, "model", file, smap)
    if result.model is None:
        return
    if result.transform is None:
        result.diagnostics.append(Diagnostic("a model is named but no transform: nothing to check the clips "
                                             "against", path=("model",), severity="warning", code="fit"))
        return
    from graphspec.transforms.spec import check_fits

    fits = check_fits(result.transform, result.model)
    for d in fits:
        d.path, d.location = ("model",), None  # reported at this spec's `model:` key
    result.diagnostics += fits


def compile_document(spec: DataSpec, data: dict, smap: Optional[SourceMap], file: str) -> CompiledData:
    """Check the dataset and clip sampler ops and arguments, the transform and its fit to the
    model; never reads the dataset itself."""
    from graphspec import api

    api.ensure_builtin_ops()
    import graphspec.data  # noqa: F401  (registers the datasets and samplers)
    import graphspec.transforms  # noqa: F401  (registers the transforms)

    result = CompiledData(spec, data, smap, file)
    supplied = frozenset(k for k in _SUPPLIED if getattr(spec, k) is not None)
    try:
        result.dataset_call = bind_object(spec.dataset, ("dataset",), supplied)
        _resolve_data_paths(result.dataset_call, file, smap)
    except SpecError as err:
        result.diagnostics += err.diagnostics
    if spec.seed is not None and result.dataset_call is not None and not _accepts(result.dataset_call, "seed"):
        result.diagnostics.append(Diagnostic(
            f"{result.dataset_call.op} takes no seed: its clips have no random choice to seed", path=("seed",),
            hint="remove 'seed:'; a random transform takes its own 'seed:' (in the transform spec)", code="schema"))
    if spec.clip_sampler is not None:
        try:
            result.sampler_call = bind_object(spec.clip_sampler, ("clip_sampler",))
        except SpecError as err:
            result.diagnostics += err.diagnostics
    if spec.transform is not None:
        _compile_transform(spec, data, smap, file, result)
    _derive_from_transform(result)
    if spec.model is not None:
        _compile_model(spec, file, smap, result)
    if spec.prepare is not None:  # `graphspec data prepare` options: checked without reading data
        from .prepare.steps import check_prepare

        dataset = spec.dataset
        result.diagnostics += check_prepare(dataset.get("op") if isinstance(dataset, dict) else dataset, spec.prepare)
    if smap is not None:
        smap.attach(result.diagnostics)
    return result
