"""Static layout inference for transform specs.

Each transform op has a rule: how it changes the declared layout of what it is given (a video's
dims and dtype, a dict clip's keys, a list of pathways or views). A rule raises ``LayoutError``
for input the transform would reject at run time (``Normalize`` on uint8, a wrong key, a crop
larger than the frames), so ``graphspec validate`` reports it at the op's spec key, and the
rules give each output key's layout for ``check_fits`` against a model spec. Dims are ints or
symbols (``T``); ``?`` is a dim no rule can know (the size a random scale picks).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, Callable, Union

from graphspec.spec.errors import did_you_mean

Dim = Union[int, str]
UNKNOWN = "?"
FLOAT_DTYPES = ("float16", "bfloat16", "float32", "float64")


@dataclass(frozen=True)
class VideoType:
    """A video tensor's static layout: ``shape`` in the order of ``layout`` (e.g. ``CTHW``).
    ``min_side`` is a lower bound of the shorter spatial side when the sides are not known."""

    shape: tuple[Dim, ...]
    dtype: str = "uint8"
    layout: str = "CTHW"
    min_side: int | None = None

    def dim(self, axis: str) -> Dim:
        return self.shape[self.layout.index(axis)]

    def with_dims(self, **dims: Dim) -> "VideoType":
        shape = list(self.shape)
        for axis, value in dims.items():
            shape[self.layout.index(axis)] = value
        return replace(self, shape=tuple(shape))

    @property
    def is_float(self) -> bool:
        return self.dtype in FLOAT_DTYPES

    def __str__(self) -> str:
        return f"{self.dtype} {self.layout} [{', '.join(str(d) for d in self.shape)}]"


@dataclass(frozen=True)
class Opaque:
    """A value transforms carry along without looking at it (a label, a name, audio)."""

    def __str__(self) -> str:
        return "any"


#: a video, a dict clip, a list (pathways, views), or an opaque value
Value = Union[VideoType, Opaque, dict, list]


def describe(value: Value) -> str:
    if isinstance(value, dict):
        return "a dict clip with keys " + ", ".join(map(str, value))
    if isinstance(value, list):
        return "a list of " + str(len(value)) + " (" + "; ".join(describe(v) for v in value) + ")"
    return f"a video {value}" if isinstance(value, VideoType) else "an opaque value"


class LayoutError(Exception):
    """What a transform would reject; ``arg`` names the op argument at fault, when one is."""

    def __init__(self, message: str, arg: str | None = None, hint: str | None = None, skip: bool = False):
        super().__init__(message)
        self.arg = arg
        self.hint = hint
        #: the op can be skipped and the checks go on with its input (a dict op's missing key)
        self.skip = skip


#: ``(node, ctx, value) -> value``, as the model ops' ``infer`` rules: ``node`` is the op's IR node
#: (``.op``, ``.args`` with the defaults and the child transforms' nodes), ``ctx`` the engine
#: (``compiler.infer.Inference``: ``ctx.run(child, value)``, ``ctx.warn(...)``)
Rule = Callable[[Any, Any, Value], Value]


def video(value: Value, op: str, layouts: str = "CTHW") -> VideoType:
    """``value`` as a video of one of ``layouts`` (comma separated), else a ``LayoutError``."""
    if not isinstance(value, VideoType):
        raise LayoutError(f"{op} takes a video tensor ({layouts}), got {describe(value)}")
    if value.layout not in layouts.split(","):
        raise LayoutError(f"{op} takes a video in layout {layouts}, got {value}"
                          + (" (RandAugment/AugMix frames are TCHW: Permute [1, 0, 2, 3] first)"
                             if "TCHW" in layouts else ""))
    return value


def float_video(value: Value, op: str) -> VideoType:
    v = video(value, op)
    if not v.is_float:
        raise LayoutError(f"{op} needs a float video, got {v}",
                          hint="convert it with Div255 or ConvertUint8ToFloat before this op")
    return v


def clip(value: Value, op: str, *keys: str) -> dict:
    """``value`` as a dict clip holding ``keys`` (each checked, with a did-you-mean)."""
    if not isinstance(value, dict):
        raise LayoutError(f"{op} takes a dict clip, got {describe(value)}")
    for key in keys:
        if key not in value:
            raise LayoutError(f"{op}: the clip has no key {key!r} (keys: {', '.join(value)})",
                              arg="key", hint=did_you_mean(key, value), skip=True)
    return value


def known(*dims: Dim) -> bool:
    return all(isinstance(d, int) for d in dims)


def scaled_short_side(v: VideoType, size: int, rounding: Callable[[float], int] = math.floor) -> VideoType:
    """The video after scaling its shorter side to ``size``, the aspect ratio kept."""
    h, w = v.dim("H"), v.dim("W")
    if not known(h, w):
        return replace(v.with_dims(H=UNKNOWN, W=UNKNOWN), min_side=size)
    if w < h:
        return replace(v.with_dims(H=int(rounding(h / w * size)), W=size), min_side=None)
    return replace(v.with_dims(H=size, W=int(rounding(w / h * size))), min_side=None)


def cropped(v: VideoType, op: str, height: int, width: int, pads: bool = False, arg: str = "size") -> VideoType:
    """The video after a ``height x width`` crop; a crop larger than the frames is an error
    unless the op pads (``pads``)."""
    h, w = v.dim("H"), v.dim("W")
    if not pads:
        if known(h, w) and (height > h or width > w):
            raise LayoutError(f"{op}: crop {height} x {width} is larger than the frames {h} x {w} of {v}", arg=arg)
        if not known(h, w) and v.min_side is not None and max(height, width) > v.min_side:
            raise LayoutError(f"{op}: crop {height} x {width} can be larger than the frames: the shorter side "
                              f"may be as small as {v.min_side}", arg=arg)
    return replace(v.with_dims(H=height, W=width), min_side=None)


def pair(size: Any) -> tuple[int, int]:
    if isinstance(size, int):
        return size, size
    size = list(size)
    return (size[0], size[0]) if len(size) == 1 else (size[0], size[1])


def subsampled(v: VideoType, temporal_dim: int, frames: Dim) -> VideoType:
    shape = list(v.shape)
    shape[temporal_dim] = frames
    return replace(v, shape=tuple(shape))


def ratio_frames(t: Dim, ratio: int) -> Dim:
    return t // ratio if isinstance(t, int) else f"{t}//{ratio}"


def permuted(v: VideoType, dims: list[int], op: str) -> VideoType:
    if sorted(d % 4 for d in dims) != [0, 1, 2, 3]:
        raise LayoutError(f"{op}: dims {dims} are not a permutation of the 4 video dims", arg="dims")
    order = [d % 4 for d in dims]
    return replace(v, shape=tuple(v.shape[d] for d in order), layout="".join(v.layout[d] for d in order))


def same_layout(values: list[Value], op: str) -> Value:
    first = values[0]
    for other in values[1:]:
        if other != first:
            raise LayoutError(f"{op}: its transforms give different layouts ({describe(first)} vs {describe(other)})")
    return first


@dataclass(frozen=True)
class Unchecked:
    """The value after an op whose layout is not known (no rule, or an error already reported)."""

    def __str__(self) -> str:
        return "unchecked"
