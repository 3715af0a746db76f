"""The transform ops of the registry, with their static layout rules (rules as data).

Each row names the op, its kind (``module`` for ``nn.Module`` transforms, ``object`` for plain
callables) and its layout rule (``rules.py``), which the op declares at registration
(``OpDef.layout``): what transform specs infer with. ``graphspec.transforms`` is one of the
registry's built-in op packages, so ``graphspec ops`` lists these ops without an import.
"""
from __future__ import annotations

import inspect
from typing import Any, Callable

from graphspec import registry

from . import rules as R
from . import transforms as T
from . import vision as V
from .augmentations import AugmentTransform
from .augmix import AugMix
from .mix import CutMix, MixUp, MixVideo
from .rand_augment import RandAugment
from .transforms_factory import create_video_transform


def _subsample(node, ctx, value):
    v = R.video(value, node.op)
    return R.subsampled(v, node.args["temporal_dim"], node.args["num_samples"])


def _subsample_repeated(node, ctx, value):
    v = R.video(value, node.op)
    td = node.args["temporal_dim"]
    ratios = list(node.args["frame_ratios"])
    if not ratios or any(r < 1 for r in ratios):
        raise R.LayoutError(f"{node.op}: frame_ratios {ratios} must be integers >= 1", arg="frame_ratios")
    t = v.shape[td]
    if isinstance(t, int) and any(t // r < 1 for r in ratios):
        raise R.LayoutError(f"{node.op}: {t} frames give no frame at ratio {max(ratios)}", arg="frame_ratios")
    return [R.subsampled(v, td, R.ratio_frames(t, r)) for r in ratios]


def _short_side(node, ctx, value):
    return R.scaled_short_side(R.video(value, node.op), node.args["size"])


def _random_short_side(node, ctx, value):
    v = R.video(value, node.op)
    return R.replace(v.with_dims(H=R.UNKNOWN, W=R.UNKNOWN), min_side=node.args["min_size"])


def _uniform_crop_video(node, ctx, value):
    keys = (node.args["video_key"], node.args["aug_index_key"])
    found = R.clip(value, node.op, *keys)
    size = node.args["size"]
    return {**found, keys[0]: R.cropped(R.video(found[keys[0]], node.op), node.op, size, size)}


def _normalize(node, ctx, value):
    v = R.float_video(value, node.op)
    counts = {key: 1 if isinstance(node.args[key], (int, float)) else len(node.args[key]) for key in ("mean", "std")}
    if counts["mean"] != counts["std"] and 1 not in counts.values():
        raise R.LayoutError(f"{node.op}: {counts['mean']} means but {counts['std']} stds", arg="std")
    channels, given = v.dim("C"), max(counts.values())
    if isinstance(channels, int) and given != 1 and channels != given:
        raise R.LayoutError(f"{node.op}: {given} channel means / stds for {channels} channels ({v})", arg="mean")
    return v


def _to_float(node, ctx, value):
    return R.replace(R.video(value, node.op), dtype="float32")


def _uint8_to_float(node, ctx, value):
    v = R.video(value, node.op)
    if v.is_float:
        raise R.LayoutError(f"{node.op} takes a uint8 video, got {v}", hint="a float video needs no conversion")
    return R.replace(v, dtype="float32")


def _to_uint8(node, ctx, value):
    return R.replace(R.float_video(value, node.op), dtype="uint8")


def _permute_to(dims: list[int]) -> R.Rule:
    def rule(node, ctx, value):
        return R.permuted(R.video(value, node.op, "THWC" if dims == [3, 0, 1, 2] else "CTHW"), dims, node.op)
    return rule


def _permute(node, ctx, value):
    return R.permuted(R.video(value, node.op, "CTHW,TCHW,THWC"), list(node.args["dims"]), node.op)


def _random_resized_crop(node, ctx, value):
    v = R.video(value, node.op)
    return R.replace(v.with_dims(H=node.args["target_height"], W=node.args["target_width"]), min_side=None)


def _op_sampler(node, ctx, value):
    outs = [ctx.run(child, value) for child in node.args["transforms_list"]]
    out = R.same_layout(outs, node.op)
    if node.args["num_sample_op"] > 1 and out != value:
        raise R.LayoutError(f"{node.op}: drawing {node.args['num_sample_op']} transforms needs transforms that "
                            f"keep the layout, got {R.describe(value)} -> {R.describe(out)}", arg="num_sample_op")
    return out


def _apply_to_key(node, ctx, value):
    key = node.args["key"]
    found = R.clip(value, node.op, key)
    return {**found, key: ctx.run(node.args["transform"], found[key])}


def _remove_key(node, ctx, value):
    found = R.clip(value, node.op)
    key = node.args["key"]
    if key not in found:
        ctx.warn(node, f"{node.op}: the clip has no key {key!r} (keys: {', '.join(found)}); nothing is removed",
                 arg="key", hint=R.did_you_mean(key, found))
    return {k: v for k, v in found.items() if k != key}


def _compose(node, ctx, value):
    for child in node.args["transforms"]:
        value = ctx.run(child, value)
    return value


def _spatial(layouts: str = "CTHW,TCHW") -> R.Rule:
    def rule(node, ctx, value):
        return R.video(value, node.op, layouts)
    return rule


def _center_crop(node, ctx, value):
    h, w = R.pair(node.args["size"])
    return R.cropped(R.video(value, node.op, "CTHW,TCHW"), node.op, h, w, pads=True)


def _random_crop(node, ctx, value):
    h, w = R.pair(node.args["size"])
    v = R.video(value, node.op, "CTHW,TCHW")
    pads = node.args["pad_if_needed"] or node.args["padding"] is not None
    return R.cropped(v, node.op, h, w, pads=pads)


def _resize(node, ctx, value):
    v = R.video(value, node.op, "CTHW,TCHW")
    size = node.args["size"]
    if isinstance(size, int) or len(size) == 1:
        short = size if isinstance(size, int) else size[0]
        if node.args["max_size"] is not None:
            return R.replace(v.with_dims(H=R.UNKNOWN, W=R.UNKNOWN), min_side=None)
        return R.scaled_short_side(v, short, rounding=int)
    return R.replace(v.with_dims(H=size[0], W=size[1]), min_side=None)


def _multi_view(node, ctx, value):
    return [ctx.run(node.args["transform"], value) for _ in range(node.args["num_views"])]


def _identity(node, ctx, value):
    return value


def _frames(node, ctx, value):
    """RandAugment, AugMix, AugmentTransform: frames (T, C, H, W), uint8 or float in [0, 1]."""
    return R.video(value, node.op, "TCHW")


def _batch_only(node, ctx, value):
    raise R.LayoutError(f"{node.op} mixes a batch (B, C, T, H, W) with its labels; apply it to collated "
                        f"batches in the training step, not to clips")


def _video_transform(node, ctx, value):
    a = node.args
    key = a["video_key"]
    if key is not None:
        found = R.clip(value, node.op, key)
        kept = {k: v for k, v in found.items() if k not in (a["remove_key"] or [])}
        return {**kept, key: _video_chain(node, found[key])}
    return _video_chain(node, value)


def _video_chain(node, value):
    a = node.args
    v = R.video(value, node.op)
    if a["num_samples"] is not None:
        v = R.subsampled(v, -3, a["num_samples"])
    if a["convert_to_float"]:
        if v.is_float:
            raise R.LayoutError(f"{node.op}: convert_to_float is true but the video is already {v} (its "
                                f"ConvertUint8ToFloat takes uint8)", arg="convert_to_float")
        v = R.replace(v, dtype="float32")
    elif not v.is_float:
        raise R.LayoutError(f"{node.op}: convert_to_float is false but the video is {v}; its Normalize needs floats",
                            arg="convert_to_float")
    h, w = R.pair(a["crop_size"])
    if max(h, w) > a["min_size"]:
        raise R.LayoutError(f"{node.op}: crop_size {a['crop_size']} is larger than min_size {a['min_size']}, the "
                            f"short side the video is scaled to", arg="crop_size")
    if a["mode"] == "val":
        return R.cropped(R.scaled_short_side(v, a["min_size"]), node.op, h, w, pads=True, arg="crop_size")
    if a["random_resized_crop_paras"] is None:
        v = R.replace(v.with_dims(H=R.UNKNOWN, W=R.UNKNOWN), min_side=a["min_size"])
    return R.cropped(v, node.op, h, w, arg="crop_size")


#: name -> (python callable, op kind, layout rule)
TRANSFORM_OPS: dict[str, tuple[Callable, str, R.Rule]] = {
    "ApplyTransformToKey": (T.ApplyTransformToKey, "object", _apply_to_key),
    "RemoveKey": (T.RemoveKey, "module", _remove_key),
    "UniformTemporalSubsample": (T.UniformTemporalSubsample, "module", _subsample),
    "UniformTemporalSubsampleRepeated": (T.UniformTemporalSubsampleRepeated, "module", _subsample_repeated),
    "ShortSideScale": (T.ShortSideScale, "module", _short_side),
    "RandomShortSideScale": (T.RandomShortSideScale, "module", _random_short_side),
    "UniformCropVideo": (T.UniformCropVideo, "module", _uniform_crop_video),
    "Normalize": (T.Normalize, "module", _normalize),
    "ConvertFloatToUint8": (T.ConvertFloatToUint8, "module", _to_uint8),
    "ConvertUint8ToFloat": (T.ConvertUint8ToFloat, "module", _uint8_to_float),
    "Div255": (T.Div255, "module", _to_float),
    "MoveChannelRear": (T.MoveChannelRear, "module", _permute_to([1, 2, 3, 0])),
    "MoveChannelFront": (T.MoveChannelFront, "module", _permute_to([3, 0, 1, 2])),
    "RandomResizedCrop": (T.RandomResizedCrop, "module", _random_resized_crop),
    "OpSampler": (T.OpSampler, "module", _op_sampler),
    "Compose": (V.Compose, "object", _compose),
    "CenterCrop": (V.CenterCrop, "module", _center_crop),
    "RandomCrop": (V.RandomCrop, "module", _random_crop),
    "RandomHorizontalFlip": (V.RandomHorizontalFlip, "module", _spatial()),
    "Resize": (V.Resize, "module", _resize),
    "MultiView": (V.MultiView, "object", _multi_view),
    "AugmentTransform": (AugmentTransform, "object", _frames),
    "RandAugment": (RandAugment, "object", _frames),
    "AugMix": (AugMix, "object", _frames),
    "MixUp": (MixUp, "module", _batch_only),
    "CutMix": (CutMix, "module", _batch_only),
    "MixVideo": (MixVideo, "module", _batch_only),
    "create_video_transform": (create_video_transform, "object", _video_transform),
}

#: ops registered elsewhere (graph ops) that transform specs may use, with their layout rules
SHARED_OPS: dict[str, R.Rule] = {"Permute": _permute, "Identity": _identity}


def _not_a_model_op(node, ctx, *inputs):
    """The model compiler's shape rule of a transform module: transforms act on clips (C, T, H, W)
    in transform and data specs, not on the batches a model graph carries."""
    from graphspec.compiler.infer import ShapeError

    raise ShapeError(f"{node.op} is a clip transform: name it in a transform or data spec, not in a model")


def add_rows(rows: dict[str, tuple[Callable, str, R.Rule]]) -> None:
    """Register transform ops, each with its layout rule (``OpDef.layout``; registering the same
    target again is harmless). A Python caller constructs them directly: numpy scalar arguments
    are taken as the Python numbers they are, as validation takes them in specs
    (``registry.python_scalar_args``; a function is decorated where it is defined, so that its
    public name is the decorated one)."""
    for name, (target, kind, rule) in rows.items():
        if not inspect.isclass(target) and not getattr(target, "takes_numpy_scalars", False):
            raise TypeError(f"transform op {name}: decorate the function with registry.python_scalar_args")
        registry.register(registry.python_scalar_args(target), name=name, kind=kind, layout=rule,
                          infer=_not_a_model_op if kind == "module" else None)


add_rows(TRANSFORM_OPS)
for _name, _rule in SHARED_OPS.items():
    registry.default.add_layout_rule(_name, _rule)
