"""``kind: transform`` specs: compile (validate ops and arguments, infer the layout of every key
statically) and build the transform callable.

```yaml
graphspec: 1
kind: transform
name: kinetics_val
input:
  video: {layout: CTHW, dtype: uint8, shape: [3, T, H, W]}
  label: any
transform:
  - op: ApplyTransformToKey
    key: video
    transform:                      # a list is a Compose
      - {op: UniformTemporalSubsample, num_samples: 8}
      - Div255
      - ...
```

``compile_document`` returns a ``CompiledTransform`` whose ``outputs`` holds each key's static
layout; ``check_fits`` holds those against the inputs of a compiled model spec.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import torch
from pydantic import TypeAdapter, ValidationError

from graphspec import registry
from graphspec.compiler.bind import Binding, bind, construct, written_call
from graphspec.compiler.infer import Domain, Inference
from graphspec.compiler.ir import Node
from graphspec.spec.compiled import Compiled, blocking
from graphspec.spec.document import ClipValueDecl, TransformSpec, VideoDecl
from graphspec.spec.errors import Diagnostic, SpecError, did_you_mean, validation_diagnostics
from graphspec.spec.source import SourceMap

from . import ops  # noqa: F401  (registers the transform ops, each with its layout rule)
from . import rules as R

#: op kinds a transform spec may name (builders and graph ops make models, not transforms;
#: the graph ops with a layout rule, ``Permute`` and ``Identity``, are transforms too)
_TRANSFORM_KINDS = ("module", "object")


class _TransformBinding(Binding):
    """A transform's component argument is the child transform (or, for a list argument, each
    of them; one transform where a list is taken is a list of one), every problem collected."""

    def component(self, value: Any, path: tuple) -> Node:
        return parse(value, path)

    def components(self, value: Any, path: tuple) -> list[Node]:
        items, problems = _parse_list(value if isinstance(value, list) else [value], path)
        if problems:
            raise SpecError(problems)
        return items


TRANSFORM_BINDING = _TransformBinding()


def build(node: Node) -> Callable:
    """The transform object of a parsed transform; a constructor's refusal (``min_size >
    max_size``, ...) is a ``SpecError`` located at the op that refused."""
    return construct(node, refusals=(ValueError, TypeError))


def parse(data: Any, path: tuple) -> Node:
    """A transform component from spec data: an op name, ``{op: NAME, ...args}`` or a list
    (applied in order, a ``Compose``), as an IR node (``compiler.bind``); ``SpecError`` with
    every problem found."""
    if isinstance(data, list):
        children, found = _parse_list(data, path)
        if found:
            raise SpecError(found)
        # the list is the Compose's one argument, written at the list itself
        return Node("Compose", {"transforms": children}, meta={"source": path, "given": ("transforms",)})
    call = written_call(data, path)
    if call is None and isinstance(data, dict):
        where = path + ("op",) if "op" in data else path
        raise SpecError([Diagnostic("a transform needs an 'op' naming a registered transform", path=where,
                                    code="component")])
    if call is None:
        raise SpecError([Diagnostic(f"expected a transform (an op name, {{op: ...}} or a list), got {data!r}",
                                    path=path, code="component")])
    name, raw, op_path = call
    opdef = registry.get_or_raise_at(name, op_path)
    if opdef.kind not in _TRANSFORM_KINDS and opdef.layout is None:
        raise SpecError([Diagnostic(f"{name} is a {opdef.kind} op (it makes models), not a transform",
                                    path=path, code="component")])
    return bind(opdef, raw, path, binding=TRANSFORM_BINDING)


def _parse_list(items: list, path: tuple) -> tuple[list, list]:
    children, found = [], []
    for i, item in enumerate(items):
        try:
            children.append(parse(item, path + (i,)))
        except SpecError as err:
            found += err.diagnostics
    return children, found


class ClipLayouts(Domain):
    """The values of transform specs (and the sample dicts of data specs): clip layouts
    (``rules.VideoType``, dict clips, lists of pathways or views, ``Opaque``), each op's layout
    rule. A rule's ``LayoutError`` is a finding and the checks go on: with the op's input where
    the op can be skipped (a missing key), else unchecked after it."""

    error = R.LayoutError
    code = "layout"

    def rule(self, node: Node) -> Any:
        return registry.get(node.op).layout

    def format(self, value: R.Value) -> str:
        return R.describe(value)

    def declared(self, decl: Any) -> R.Value:
        if isinstance(decl, list):
            return [self.declared(d) for d in decl]
        return R.Opaque() if decl == "any" else video_type(decl)

    def unchecked(self, inputs: tuple) -> bool:
        return isinstance(inputs[0], R.Unchecked)

    def no_rule(self, ctx: Inference, node: Node, inputs: tuple) -> R.Value:
        ctx.warn(node, f"{node.op} has no layout rule: the layout after it is not checked")
        return R.Unchecked()

    def failed(self, ctx: Inference, node: Node, err: R.LayoutError, inputs: tuple) -> R.Value:
        ctx.diagnostics.append(Diagnostic(str(err), path=self.at_arg(node, err.arg), hint=err.hint, code=self.code))
        return inputs[0] if err.skip else R.Unchecked()


CLIP_LAYOUTS = ClipLayouts()


def video_type(decl: VideoDecl) -> R.VideoType:
    return R.VideoType(tuple(decl.shape), decl.dtype, decl.layout)


@dataclass
class CompiledTransform(Compiled):
    """A compiled transform: a ``kind: transform`` spec's (``spec``), or one written inside
    another spec (``compile_transform``; ``spec`` is None there)."""

    spec: TransformSpec | None
    data: dict
    smap: SourceMap | None
    file: str
    name: str = "transform"
    seed: int | None = None
    root: Node | None = None
    inputs: dict[str, R.Value] = field(default_factory=dict)
    #: each output key's static layout (``VideoType``, a list of them, or ``Opaque``)
    outputs: dict[str, R.Value] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)

    def build(self, seed: int | None = None, *, seeded: bool = True) -> Callable:
        """The transform callable (a dict clip in, a dict clip out). With a ``seed`` (argument,
        else the spec's ``seed``) its random draws repeat from run to run; without, they come
        from torch's global generator (``torch.manual_seed``, DataLoader worker seeding).
        ``seeded=False`` leaves the seeding to the caller: a dataset that seeds torch for each
        sample from (seed, epoch, video, clip), so the draws do not depend on the worker count."""
        errors = blocking(self.diagnostics)
        if errors or self.root is None:
            raise SpecError(errors or [Diagnostic("the transform could not be compiled", path=("transform",))])
        transform = build(self.root)
        seed = self.seed if seed is None else seed
        return transform if seed is None or not seeded else Seeded(transform, seed)


class Seeded:
    """Runs ``transform`` with random draws from its own generator, seeded by ``seed`` (and, in a
    DataLoader worker, the worker's id, so workers do not repeat each other's draws): the n-th
    call of a process gives the same output for the same input in every run, whatever else uses
    torch's random number generator."""

    def __init__(self, transform: Callable, seed: int):
        self.transform = transform
        self.seed = seed
        self._generator: torch.Generator | None = None
        self._worker: int | None = None

    def _draw_seed(self) -> int:
        info = torch.utils.data.get_worker_info()
        worker = info.id if info is not None else -1
        if self._generator is None or worker != self._worker:
            self._generator = torch.Generator().manual_seed(self.seed + 1_000_003 * (worker + 1))
            self._worker = worker
        return int(torch.randint(0, 2**62, (1,), generator=self._generator).item())

    def __call__(self, x: Any) -> Any:
        call_seed = self._draw_seed()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(call_seed)
            return self.transform(x)

    def __repr__(self) -> str:
        return f"Seeded({self.transform!r}, seed={self.seed})"


def compile_document(spec: TransformSpec, data: dict, smap: SourceMap | None, file: str) -> CompiledTransform:
    """Parse the transform, check every op's arguments, infer each key's output layout."""
    result = CompiledTransform(spec, data, smap, file, name=spec.name, seed=spec.seed)
    _infer(result, spec.input, spec.transform, ("transform",))
    if result.ok and spec.expect is not None:
        result.diagnostics += _check_expect(result)
    _locate(result)
    return result


_INPUT = TypeAdapter(dict[str, ClipValueDecl])


def compile_transform(transform: Any, input: Any, *, path: tuple = ("transform",), name: str = "transform",
                      seed: int | None = None, data: dict | None = None, smap: SourceMap | None = None,
                      file: str = "<spec>") -> CompiledTransform:
    """Compile a transform written inside another spec (a data spec's ``transform:``): ``input``
    is the clip declaration as in a transform spec (``{video: {layout: CTHW, dtype: uint8, shape:
    [3, T, H, W]}, label: any}``); findings are located at ``path`` inside ``data`` / ``smap``."""
    try:
        declared = _INPUT.validate_python(input)
    except ValidationError as err:
        raise SpecError(validation_diagnostics(err.errors(), input, path[:-1] + ("input",))) from None
    result = CompiledTransform(None, data or {}, smap, file, name=name, seed=seed)
    _infer(result, declared, transform, path)
    _locate(result)
    return result


def _infer(result: CompiledTransform, declared: dict, transform: Any, path: tuple) -> None:
    result.inputs = {key: CLIP_LAYOUTS.declared(decl) for key, decl in declared.items()}
    result.root = parse(transform, path)  # SpecError: unknown ops, bad arguments
    try:  # constructors check what the argument types cannot (transforms are cheap to make)
        build(result.root)
    except SpecError as err:
        result.diagnostics += err.diagnostics
    ctx = Inference(CLIP_LAYOUTS)
    out = ctx.run(result.root, dict(result.inputs))
    result.diagnostics += ctx.diagnostics
    if isinstance(out, dict):
        result.outputs = out
    elif not isinstance(out, R.Unchecked):
        result.diagnostics.append(Diagnostic(f"the transform must return a dict clip, it returns {R.describe(out)}",
                                             path=path, code="layout"))


def _locate(result: CompiledTransform) -> None:
    if result.smap is not None:
        result.smap.attach(result.diagnostics)


def _check_expect(result: CompiledTransform) -> list[Diagnostic]:
    found = []
    for key, decl in result.spec.expect.outputs.items():
        where = ("expect", "outputs", key)
        if key not in result.outputs:
            found.append(Diagnostic(f"no output key {key!r} (outputs: {', '.join(result.outputs)})", path=where,
                                    hint=did_you_mean(key, result.outputs), code="expect"))
            continue
        want, got = CLIP_LAYOUTS.declared(decl), result.outputs[key]
        if not _same(want, got):
            found.append(Diagnostic(f"expected {R.describe(want)}, inferred {R.describe(got)}", path=where,
                                    code="expect"))
    return found


def _same(want: R.Value, got: R.Value) -> bool:
    if isinstance(want, list):
        return isinstance(got, list) and len(want) == len(got) and all(map(_same, want, got))
    if isinstance(want, R.VideoType) and isinstance(got, R.VideoType):
        return (want.dtype, want.layout, [str(d) for d in want.shape]) == (got.dtype, got.layout,
                                                                          [str(d) for d in got.shape])
    return type(want) is type(got)


def check_fits(transform: CompiledTransform, model: Any) -> list[Diagnostic]:
    """Findings where the transform's output does not fit the model's inputs (a compiled model
    spec: ``.inputs`` of ``TensorType``s with the batch dim first, or lists for pathways).

    Each model input is fed from the output key of the same name, else (one input, one video
    key) from that key. Layouts must be CTHW, float, with the model's dims where both are known."""
    found: list[Diagnostic] = []
    where = ("transform",)
    videos = [k for k, v in transform.outputs.items() if not isinstance(v, R.Opaque)]
    for name, want in model.inputs.items():
        if name in transform.outputs:
            key = name
        elif len(model.inputs) == 1 and len(videos) == 1:
            key = videos[0]
        else:
            found.append(Diagnostic(f"the model's input {name!r} has no output key of that name in transform "
                                    f"{transform.name!r} (outputs: {', '.join(transform.outputs)})",
                                    path=where, hint=did_you_mean(name, transform.outputs), code="fit"))
            continue
        found += _fit(transform.outputs[key], want, f"{transform.name}: output {key!r}", f"model input {name!r}")
    for d in found:
        d.path = transform.root.source if transform.root is not None else d.path
        d.location = d.location or (transform.smap.locate(d.path) if transform.smap is not None else None)
    return found


def _fit(got: R.Value, want: Any, what: str, into: str) -> list[Diagnostic]:
    def problem(message: str) -> list[Diagnostic]:
        return [Diagnostic(f"{what} does not fit {into}: {message}", path=("transform",), code="fit")]

    if isinstance(got, R.Unchecked):
        return []
    if isinstance(want, list):
        if not isinstance(got, list) or len(got) != len(want):
            return problem(f"the model takes {len(want)} pathways, the transform gives {R.describe(got)}")
        return [d for i, (g, w) in enumerate(zip(got, want)) for d in _fit(g, w, f"{what}[{i}]", f"{into}[{i}]")]
    if not isinstance(got, R.VideoType):
        return problem(f"the model takes one tensor {list(want.shape)}, the transform gives {R.describe(got)}")
    if got.layout != "CTHW":
        return problem(f"the model takes CTHW clips, the transform gives {got}")
    if not got.is_float:
        return problem(f"the model takes float clips, the transform gives {got} (add Div255 or ConvertUint8ToFloat)")
    per_clip = list(want.shape[1:])
    if len(per_clip) != 4:
        return problem(f"the model input {list(want.shape)} is no batch of (C, T, H, W) clips")
    for axis, have, need in zip("CTHW", got.shape, per_clip):
        if isinstance(have, int) and isinstance(need, int) and have != need:
            return problem(f"{axis} is {have}, the model takes {need} (clip {got}, model input {list(want.shape)})")
    return []
