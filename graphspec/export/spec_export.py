"""``export_spec``: a spec (plus optional weights) to a verified ONNX, mobile ONNX or ExecuTorch
file, with a report. Shapes are static (the spec's ``inputs``, symbols bound to 1 unless set
with ``--set``); the file is written atomically, only after every check passed."""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Literal, Sequence

import torch
import torch.nn as nn

from graphspec.checkpoints import load_weights
from graphspec.compiler.infer import TensorType
from graphspec.files import write_bytes
from graphspec.spec.compiled import blocking
from graphspec.spec.errors import Diagnostic, SpecError

from . import int8 as int8_mod
from .onnx_export import ExportError, check, flatten, histogram, latency_ms, max_error, session, to_onnx
from .opset import check_mobile_opset

Target = Literal["onnx", "mobile", "executorch"]
TARGETS: tuple[str, ...] = ("onnx", "mobile", "executorch")
#: the file suffix each target writes
TARGET_SUFFIX = {"onnx": ".onnx", "mobile": ".onnx", "executorch": ".pte"}
#: a rank-2 input with this many columns holds boxes: (batch index, x1, y1, x2, y2)
BOX_COLUMNS = 5
RANDOM_WEIGHTS = "no --weights given: the exported weights are RANDOM (initialization only)"
RANDOM_CALIBRATION = ("!!! int8 calibrated on RANDOM input (no --calibrate DATA_SPEC): its scales fit noise, "
                      "not video; do not deploy this model !!!")


@dataclass
class ExportReport:
    spec: str
    target: str
    output: str
    inputs: dict[str, list[int]]
    bindings: dict[str, int]
    weights: str | None
    max_abs_error: float | None
    bound: float | None
    ops: dict[str, int]
    latency_ms: float | None
    passes: list[tuple[str, bool]] = field(default_factory=list)
    int8: int8_mod.Int8Quality | None = None
    outside_delegate: list[str] | None = None
    warnings: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        shapes = ", ".join(f"{k} {v}" for k, v in self.inputs.items())
        out = [f"exported {self.spec} -> {self.output} ({self.target}); inputs {shapes}"]
        if self.bindings:
            out.append("symbolic dims bound: " + ", ".join(f"{k}={v}" for k, v in self.bindings.items())
                       + " (set others with --set inputs.NAME=[...])")
        out.append(f"weights: {self.weights or 'random'}")
        if self.passes:
            out.append("passes: " + ", ".join(f"{n}{'' if c else ' (no change)'}" for n, c in self.passes))
        if self.max_abs_error is not None:  # int8 ExecuTorch: judged by cosine/top-1 instead (below)
            out.append(f"parity vs torch (fp32, random input): max abs error {self.max_abs_error:.3g} "
                       f"(bound {self.bound:.3g})")
        if self.int8 is not None:
            out += self.int8.lines()
        if self.latency_ms is not None:
            out.append(f"latency ({'ExecuTorch' if self.target == 'executorch' else 'onnxruntime'}, 2 threads): "
                       f"{self.latency_ms:.2f} ms")
        if self.outside_delegate is not None:
            out.append("ops outside the XNNPACK delegate: " + (", ".join(self.outside_delegate) or "none"))
        out.append("ops: " + ", ".join(f"{op} {n}" for op, n in sorted(self.ops.items(), key=lambda kv: (-kv[1], kv[0]))))
        out += [f"warning: {w}" for w in self.warnings]
        return out

    def __str__(self) -> str:
        return "\n".join(self.lines())


# ---- static shapes -----------------------------------------------------------------------------
def _symbols(value) -> list[str]:
    if isinstance(value, list):
        return [s for v in value for s in _symbols(v)]
    return [d for d in value.shape if isinstance(d, str)]


def static_overrides(compiled) -> tuple[list[str], dict[str, int]]:
    """``--set`` overrides binding every symbolic input dim to 1, and the bindings."""
    bindings = {s: 1 for value in compiled.inputs.values() for s in _symbols(value)}
    overrides = []
    for name, decl in compiled.spec.inputs.items():
        parts = decl.items() if isinstance(decl, dict) else [(None, decl)]
        for sub, shape in parts:
            if any(isinstance(d, str) for d in shape):
                key = f"inputs.{name}" + (f".{sub}" if sub else "")
                overrides.append(f"{key}=[{', '.join(str(bindings.get(d, d)) for d in shape)}]")
    return overrides, bindings


class UnusableArgument(ValueError):
    """An argument of ``export_spec`` that cannot be used as given (the command line's exit 2)."""


def check_target_suffix(to: str, output: str | Path) -> None:
    """``UnusableArgument`` when ``output``'s suffix is not the one ``to`` writes (an ONNX file
    named ``.pte`` would be taken for an ExecuTorch program)."""
    want, suffix = TARGET_SUFFIX[to], Path(output).suffix
    if suffix.lower() != want:
        stem = Path(output).name[: -len(suffix)] if suffix else Path(output).name
        raise UnusableArgument(f"--to {to} writes a {want} file, but the output {output} "
                               + (f"ends in {suffix}" if suffix else "has no suffix") + f"; name it {stem}{want}")


def require_model_spec(compiled) -> None:
    """A located, unusable ``SpecError`` (exit 2) when the spec to export is not a model spec."""
    found = compiled.spec.kind
    if found != "model":
        holds = "a pipeline of transforms" if found == "transform" else "a dataset and its loader"
        raise SpecError([Diagnostic(
            f"export takes a model spec; {compiled.file} is a {found} spec ({holds}), which has no model to export",
            path=("kind",), code="kind", unusable=True, location=compiled.smap.locate(("kind",)),
            hint="export the model spec it feeds" + (", named by its model: key" if found == "data" else ""))])


def require_data_spec(calibrate: str | Path) -> None:
    """``UnusableArgument`` when the ``calibrate`` spec is not a data spec (whose clips feed the model)."""
    from graphspec import api

    found = api.load_spec(calibrate).kind
    if found != "data":
        use = "give the data spec whose clips feed this model" if found == "model" else \
            f"give a data spec that reads videos through it (transform: {calibrate})"
        raise UnusableArgument(f"--calibrate {calibrate} is a {found} spec; calibration takes a data spec: {use}")


def compile_static(spec: str | Path, overrides: Sequence[str]):
    from graphspec import api

    compiled = api.compile(spec, list(overrides))
    require_model_spec(compiled)
    extra, bindings = static_overrides(compiled)
    if extra:
        compiled = api.compile(spec, [*overrides, *extra])
    errors = blocking(compiled.diagnostics)
    if errors:
        raise SpecError(errors)
    return compiled, bindings


def _shape(value: TensorType) -> list[int]:
    return [int(d) for d in value.shape]


def example_inputs(compiled, seed: int = 0) -> tuple:
    """Random inputs of the static shapes; box inputs get valid boxes inside the frames."""
    gen = torch.Generator().manual_seed(seed)
    tensors = [v for value in compiled.inputs.values() for v in (value if isinstance(value, list) else [value])]
    size = max([min(_shape(t)[-2:]) for t in tensors if len(t.shape) == 5] or [32])

    def make(value: TensorType) -> torch.Tensor:
        shape = _shape(value)
        if len(shape) == 2 and shape[1] == BOX_COLUMNS:
            corners = torch.rand(shape[0], 2, 2, generator=gen).sort(dim=1).values * (size - 1)
            return torch.cat([torch.zeros(shape[0], 1), corners.reshape(shape[0], 4)[:, [0, 1, 2, 3]]], 1)
        return torch.randn(*shape, generator=gen)

    return tuple([make(v) for v in value] if isinstance(value, list) else make(value)
                 for value in compiled.inputs.values())


def fresh(args: tuple) -> tuple:
    """New lists around the same tensors: a multi-pathway model may replace list items in place
    (``MultiPathWayWithFuse(inplace=True)``), so each call gets its own."""
    return tuple(list(a) if isinstance(a, list) else a for a in args)


def input_names(compiled) -> list[str]:
    names = []
    for name, decl in compiled.spec.inputs.items():
        names += [f"{name}.{sub}" for sub in decl] if isinstance(decl, dict) else [name]
    return names


# ---- calibration -------------------------------------------------------------------------------
def _clips(source: Any) -> Iterable[torch.Tensor]:
    """Single clips ``[1, C, T, H, W]`` from a DataLoader/iterable of batches (dicts with
    ``video``, or tensors)."""
    for batch in source:
        video = batch["video"] if isinstance(batch, dict) else batch
        if isinstance(video, (list, tuple)):
            raise ExportError("calibration of multi-pathway inputs is not supported; calibrate a one-input model")
        for clip in video.split(1):
            yield clip


def calibration_feeds(compiled, source: Any, count: int, shapes: list[list[int]]) -> list[list[torch.Tensor]]:
    if isinstance(source, (str, Path)):
        from graphspec import api

        source = api.build(source)
    clips = []
    for clip in _clips(source):
        if list(clip.shape) != shapes[0]:
            raise ExportError(f"calibration clips are {list(clip.shape)}, the model input is {shapes[0]}: "
                              "make the data spec's transform produce that shape, or --set the model's inputs")
        clips.append([clip.float()])
        if len(clips) >= count:
            break
    if not clips:
        raise ExportError("the calibration data yielded no clips")
    return clips


# ---- the export ----------------------------------------------------------------------------------
def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_bytes(path, data)  # with the user's umask, like any file the user writes


def mobile_model(compiled, model: nn.Module, args: tuple, verify_passes: bool = False, *,
                 channel_multiple: int | None = None):
    """The mobile lowering of ``model`` (weights included): the IR passes over the whole model's
    IR, then lowered. The Accelerator's efficient blocks are lowered there too: their convolutions,
    norms, activations and pools are IR children (their parts), which the same passes rewrite as
    any other node and the lowering assembles the blocks from. ``args`` (the example inputs)
    are unused: the shapes are the compiled graph's. ``verify_passes``: the pass manager checks
    the graph after every pass (``PassError``). ``channel_multiple``: what pad-channels widens
    convolutions to, for the runtime and precision the model is for (None: the pass's own, 8;
    onnxruntime int8's is ``int8.CHANNEL_MULTIPLE``)."""
    from graphspec.mobile.passes import MOBILE, PadChannels, WeightedGraph, run_passes

    passes = MOBILE if channel_multiple is None else tuple(
        PadChannels(multiple=channel_multiple) if isinstance(p, PadChannels) else p for p in MOBILE)
    from graphspec.layers.accelerator.mobile_cpu.lowering import mark_lowered

    graph = WeightedGraph.of(compiled.graph, model)
    applied = run_passes(graph, passes, verify=verify_passes)
    lowered = graph.lower()
    mark_lowered(lowered)  # its efficient blocks are in their deployable form: convert() refuses them
    return lowered, applied, {n.path for n in graph.walk()}


def export_spec(spec: str | Path, output: str | Path, *, to: Target = "onnx", weights: str | Path | None = None,
                int8: bool = False, calibrate: Any = None, calib_clips: int = 8, overrides: Sequence[str] = (),
                latency_runs: int = 10, seed: int = 0,
                min_cosine: float = int8_mod.DEFAULT_MIN_COSINE, verify_passes: bool = False) -> ExportReport:
    """Export a model spec to ``output`` and verify it (see the module doc); ``ExportError``
    (nothing written) when a check fails. ``calibrate``: a data spec path or an iterable of
    batches; without it int8 is calibrated on random input, with a loud warning. An int8 model
    whose mean cosine to fp32 on the held-out clips is below ``min_cosine`` is refused.
    ``verify_passes``: the mobile lowering's pass manager verifies the graph after every pass
    (a broken one raises ``PassError``: a bug, named)."""
    from graphspec import api

    if to not in TARGETS:
        raise ExportError(f"unknown target {to!r}; choose one of {', '.join(TARGETS)}")
    api.require_bool("export_spec", int8=int8, verify_passes=verify_passes)
    if verify_passes and to not in ("mobile", "executorch"):
        raise ValueError(f"export_spec(): verify_passes checks the mobile lowering; to={to!r} runs no passes")
    int8_mod.check_min_cosine(min_cosine)
    check_target_suffix(to, output)
    compiled, bindings = compile_static(spec, overrides)
    if isinstance(calibrate, (str, Path)):  # before the fp32 export, not after it
        require_data_spec(calibrate)
    notes: list[str] = []
    torch.manual_seed(seed)
    model = compiled.lower().eval()
    if weights is not None:
        load_weights(model, weights, notes)  # how the state_dict was found, in the report
    else:
        notes.append(RANDOM_WEIGHTS)
        warnings.warn(RANDOM_WEIGHTS, stacklevel=2)
    args = example_inputs(compiled, seed)
    with torch.no_grad():
        reference = flatten(model(*fresh(args)))
    names, outputs = input_names(compiled), list(compiled.outputs)
    applied: list = []
    exported, paths = model, {n.path for n in compiled.nodes}
    if to in ("mobile", "executorch"):
        multiple = int8_mod.CHANNEL_MULTIPLE if int8 and to == "mobile" else None  # onnxruntime int8's
        exported, applied, paths = mobile_model(compiled, model, fresh(args), verify_passes, channel_multiple=multiple)
    shapes = {n: list(t.shape) for n, t in zip(names, flatten(args))}
    if to == "executorch":
        from .executorch_export import to_executorch, to_executorch_int8

        quality = None
        if int8:
            calibration, held_out, what = _calibration_clips(compiled, calibrate, calib_clips,
                                                             list(shapes.values()), seed, notes)
            program, quality = to_executorch_int8(exported, model, fresh(args), calibration, held_out, what,
                                                  latency_runs)
            quality.require(min_cosine)
        else:
            program = to_executorch(exported, fresh(args), reference, latency_runs)
        _write_atomically(Path(output), program.buffer)
        return ExportReport(str(spec), to, str(output), shapes, bindings, str(weights) if weights else None,
                            program.max_abs_error, program.bound, program.ops, program.latency_ms, applied,
                            quality, outside_delegate=program.outside, warnings=notes)
    data = to_onnx(exported, fresh(args), names, outputs)
    proto = check(data)
    if to == "mobile":
        offences = check_mobile_opset(proto, paths)
        if offences:
            raise ExportError("not a mobile graph; refusing to write it:\n" + "\n".join(f"  {o}" for o in offences))
    sess = session(data)
    error, bound = max_error(sess, args, reference)
    if not error <= bound:
        raise ExportError(f"onnxruntime disagrees with torch: max abs error {error:.3g} > {bound:.3g}")
    quality = None
    if int8:
        data, quality = _quantize(data, *_calibration_clips(compiled, calibrate, calib_clips, list(shapes.values()),
                                                            seed, notes))
        quality.require(min_cosine)
        proto = check(data)
        if to == "mobile" and (offences := check_mobile_opset(proto, paths)):
            raise ExportError("the int8 graph is not a mobile graph:\n" + "\n".join(f"  {o}" for o in offences))
        sess = session(data)
    latency = latency_ms(sess, args, latency_runs) if latency_runs else None
    _write_atomically(Path(output), data)
    return ExportReport(str(spec), to, str(output), shapes, bindings, str(weights) if weights else None, error, bound,
                        dict(histogram(proto)), latency, applied, quality, warnings=notes)


def _quantize(fp32: bytes, calibration: list[tuple], held_out: list[tuple], what: str):
    from .onnx_export import feeds

    sess = session(fp32)
    data = int8_mod.quantize(fp32, [feeds(sess, clip) for clip in calibration])
    return data, int8_mod.judge(fp32, data, [feeds(sess, clip) for clip in held_out], what)


def _calibration_clips(compiled, calibrate: Any, count: int, shapes: list, seed: int,
                       notes: list) -> tuple[list[tuple], list[tuple], str]:
    """``(calibration clips, held-out clips, what they are)``, each clip a tuple of model args:
    ``count`` clips of the ``calibrate`` data (a data spec or batches) and at least 4 more held
    out to judge int8 on, or random ones with a loud warning when ``calibrate`` is None."""
    if len(shapes) != 1:  # random clips too: they would feed the first input only
        raise ExportError(f"int8 calibration needs a model with one video input; this one has {len(shapes)}")
    held_out = max(4, count // 2)
    if calibrate is None:
        notes.append(RANDOM_CALIBRATION)
        warnings.warn(RANDOM_CALIBRATION, stacklevel=3)  # at export_spec's caller, from either flow
        gen = torch.Generator().manual_seed(seed + 1)
        clips = [(torch.randn(*shapes[0], generator=gen),) for _ in range(count + held_out)]
        what = f"{count} random clips"
    else:
        clips = [tuple(c) for c in calibration_feeds(compiled, calibrate, count + held_out, shapes)]
        if len(clips) <= held_out:
            raise ExportError(f"the calibration data has {len(clips)} clips; need more than {held_out} "
                              "(some are held out to judge the int8 model)")
        what = f"{len(clips) - held_out} clips of {calibrate if isinstance(calibrate, (str, Path)) else 'the given data'}"
    return clips[:-held_out], clips[-held_out:], what
