"""Argument checking: the strict types and value ranges every op argument is validated with.

A spec value is checked strictly (``true`` is no number, ``"64"`` no integer) and against the range
its argument's name implies (``ARG_RANGES``); an argument that takes a callable in Python takes a
component in YAML (``is_component_annotation``). Nothing here knows about ops or the registry.
"""
from __future__ import annotations

import collections.abc
import enum
import inspect
import re
import types
import typing
from functools import lru_cache
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, StrictBool, StrictFloat, StrictInt, StrictStr, TypeAdapter

_UNIONS = (typing.Union, types.UnionType)

#: Value ranges by argument name, as data: ``(name pattern, bounds of every int in it, bounds of
#: every float in it)``, bounds as pydantic ``Field`` constraints; the first matching pattern
#: applies. Sizes, channel and class counts, strides, dilations and groups are >= 1 (torch would
#: fail at build or forward time, or build a useless layer); paddings and indices >= 0; scales
#: and epsilons > 0. Repeat counts are bounded above too: a builder expands them into that many
#: IR nodes before anything is sized. The transform and data ops follow the same rules: frame,
#: clip, view and crop counts and sizes >= 1, durations > 0, probabilities in [0, 1].
MAX_REPEAT = 10_000
ARG_RANGES: tuple[tuple[str, dict | None, dict | None], ...] = (
    (r"(^|_)(in|out|num|inner|input|reduced)?_?channels?(_reduced)?$", {"ge": 1}, None),
    (r"(^|_)(in|out|num)_features$", {"ge": 1}, None),
    (r"(^|_)num_class(es)?$", {"ge": 1}, None),
    (r"(^|_)dim_(in|out|inner)s?$|^(stem|head|fusion)_dim_(in|out)s?$", {"ge": 1}, None),
    (r"(^|_)(kernel_sizes?|strides?|dilations?|groups|num_groups|output_size|resolution)$", {"ge": 1}, {"gt": 0}),
    (r"(^|_)(clip_length|crop_size|width_per_group|normalized_shape|divisor_override)$", {"ge": 1}, None),
    (r"(^|_)depths?$", {"ge": 1, "le": MAX_REPEAT}, None),
    (r"(^|_)(bottleneck_ratio|channel_reduction_ratio|channel_fusion_ratio)$", {"ge": 1}, None),
    (r"(^|_)paddings?$|(^|_)stage_idx$|^rank$", {"ge": 0}, None),
    (r"(^|_)(depth_factor|width_factor|bottleneck_factor)$", None, {"gt": 0, "le": 100}),
    (r"(^|_)(eps|spatial_scale|reduction_ratio)$", None, {"gt": 0}),
    (r"^dropout_rate$", None, {"ge": 0}),  # the builders word their own upper bound
    # transform and data ops: sizes and counts of frames, clips, views, crops and tries
    (r"(^|_)(size|height|width|num_samples|frame_ratios|frames_per_(clip|second)|num_(views|clips|tries|layers|"
     r"heads|sample_op|input_clips|forecast_actions)|clips_per_video|augs_per_clip|split_id|world_size)$",
     {"ge": 1}, None),
    (r"(^|_)(duration|seconds_per_clip|clip_time_stride|std|scale|aspect_ratio|(mixup|cutmix)_alpha)$",
     None, {"gt": 0}),
    (r"^(transforms_prob|magnitude)$", {"ge": 0}, {"ge": 0}),  # weights, levels: not bounded by 1
    (r"^(prob|dropout|label_smoothing)$|_prob$", None, {"ge": 0, "le": 1}),  # Dropout's p: a located shape rule
)


class ComponentType:
    """Marker used in annotations: this argument is a component (a callable in Python)."""


def is_component_annotation(annotation: Any) -> bool:
    """True for ``Callable``, ``nn.Module`` types and Optionals of them."""
    import torch.nn as nn

    origin = typing.get_origin(annotation)
    if origin in _UNIONS:
        return any(is_component_annotation(a) for a in typing.get_args(annotation) if a is not type(None))
    # typing.Callable, Callable[..., X] and collections.abc.Callable all have this origin
    if annotation is ComponentType or collections.abc.Callable in (annotation, origin):
        return True
    return inspect.isclass(annotation) and issubclass(annotation, nn.Module)


def is_component_list_annotation(annotation: Any) -> bool:
    """``List[nn.Module]``, ``Tuple[Callable, ...]``, ``nn.ModuleList``: a list of components."""
    import torch.nn as nn

    if inspect.isclass(annotation) and issubclass(annotation, nn.ModuleList):
        return True
    origin = typing.get_origin(annotation)
    if origin in _UNIONS:
        return any(is_component_list_annotation(a) for a in typing.get_args(annotation) if a is not type(None))
    if origin in (list, tuple, collections.abc.Sequence):
        args = [a for a in typing.get_args(annotation) if a is not Ellipsis]
        return bool(args) and all(is_component_annotation(a) for a in args)
    return False


def _bound(bound: dict | None) -> list:
    return [Field(**bound)] if bound else []


def _reject_bool(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("expected a number, not a boolean")
    return value


def strict_type(annotation: Any, int_bound: dict | None = None, float_bound: dict | None = None) -> Any:
    """``annotation`` with strict scalars (no bool -> int/float, no str -> number) and the range
    bounds applied to every int / float inside it; containers and unions are rebuilt around them."""
    if annotation is bool:
        return StrictBool
    if annotation is int:
        return Annotated[(StrictInt, *_bound(int_bound))] if int_bound else StrictInt
    if annotation is float:  # strict: an int is a fine float; a bool or a numeric string is not
        return Annotated[(StrictFloat, *_bound(float_bound))] if float_bound else StrictFloat
    if annotation is str:
        return StrictStr
    if inspect.isclass(annotation) and issubclass(annotation, enum.Enum):  # an int-valued enum is no bool
        return Annotated[annotation, BeforeValidator(_reject_bool)]
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is Literal:
        return Annotated[annotation, BeforeValidator(_reject_bool)] if not any(isinstance(a, bool) for a in args) \
            else annotation
    if origin is Annotated:
        return Annotated[(strict_type(args[0], int_bound, float_bound), *annotation.__metadata__)]
    if origin in _UNIONS:
        return typing.Union[tuple(strict_type(a, int_bound, float_bound) for a in args)]
    if origin in (list, tuple, collections.abc.Sequence, typing.List, typing.Tuple) and args:
        inner = tuple(a if a is Ellipsis else strict_type(a, int_bound, float_bound) for a in args)
        rebuilt = {list: typing.List, tuple: typing.Tuple, collections.abc.Sequence: typing.Sequence}.get(origin, origin)
        return rebuilt[inner] if len(inner) > 1 or origin is tuple else rebuilt[inner[0]]
    return annotation


def range_index_of(name: str) -> int | None:
    """The index of the first ``ARG_RANGES`` pattern ``name`` matches."""
    return next((i for i, (pattern, _, _) in enumerate(ARG_RANGES) if re.search(pattern, name)), None)


@lru_cache(maxsize=None)
def _shared_checker(annotation: Any, range_index: int | None) -> tuple[Any, TypeAdapter]:
    bounds = (None, None) if range_index is None else ARG_RANGES[range_index][1:]
    checked = strict_type(annotation, *bounds)
    return checked, TypeAdapter(checked)


def checker_of(annotation: Any, range_index: int | None) -> tuple[Any, TypeAdapter]:
    """The strict type of ``annotation`` under the range ``range_index`` and its validator, one
    per distinct pair: the zoo's ops share a few dozen argument types among ~800 arguments."""
    try:
        hash(annotation)
    except TypeError:  # an annotation with unhashable metadata: its own validator
        return _shared_checker.__wrapped__(annotation, range_index)
    return _shared_checker(annotation, range_index)
