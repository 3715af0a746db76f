"""Augmentation ops of RandAugment and AugMix (``pytorchvideo.transforms.augmentations``).

Each op takes frames ``(T, C, H, W)``, uint8 or float in [0, 1] (``Posterize`` and ``Equalize``
work on uint8: float frames go through uint8, ``(x * 255)`` truncated, and back, as PyTorchVideo's
do), and a magnitude *level* in ``[0, 10]`` that ``AugmentTransform`` maps to the op's argument: the
enhance ops (brightness, contrast, saturation, sharpness) get a factor ``1 +- 0.9 * level / 10``,
``Rotate`` up to +-30 degrees, the shears up to +-0.3, the translations up to +-0.45 of the
frame, ``Posterize`` keeps ``4 - int(4 * level / 10)`` bits, ``Solarize`` inverts above
``1 - level / 10`` of the maximum. The sign of the signed ones is drawn at random. The geometric
ops' ``fill`` is in pixel values of the frames (``(0.5, 0.5, 0.5)`` is mid-grey in a float clip
and rounds to 0 in a uint8 one), as TorchVision's, which PyTorchVideo passes it to.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Dict, Optional, Tuple

import torch

from . import image_ops as ops
from .image_ops import affine  # noqa: F401  (PyTorchVideo exposes it here)
from .layout import TransformError, check_frames

_MAX_LEVEL = 10.0


def _geometric_hparas(video: torch.Tensor, hparas: Dict[str, Any]) -> Dict[str, Any]:
    """``fill`` (pixel values, one per channel) and ``interpolation`` of the geometric ops."""
    fill = hparas.get("fill")
    return {"fill": None if fill is None else [float(f) for f in fill],
            "interpolation": hparas.get("interpolation", "nearest")}


def _via_uint8(op: Callable[..., torch.Tensor]) -> Callable[..., torch.Tensor]:
    """``op`` of uint8 frames, for float frames in [0, 1] too: ``op((x * 255) as uint8) / 255``."""
    def run(video: torch.Tensor, *args: Any, **hparas: Any) -> torch.Tensor:
        if video.dtype == torch.uint8:
            return op(video, *args)
        return (op((video * 255).to(torch.uint8), *args) / 255).to(video.dtype)
    return run


def _shear(video: torch.Tensor, factor: float, axis: int, **hparas: Any) -> torch.Tensor:
    # a shear factor f moves x by f * y: shear angle atan(f)
    angles = [0.0, 0.0]
    angles[axis] = math.degrees(math.atan(factor))
    return ops.affine(video, angle=0.0, translate=[0.0, 0.0], scale=1.0, shear=angles,
                      **_geometric_hparas(video, hparas))


def _translate(video: torch.Tensor, fraction: float, axis: int, **hparas: Any) -> torch.Tensor:
    shift = [0.0, 0.0]
    shift[axis] = float(int(fraction * video.shape[-1 - axis]))  # a fraction of the width (x) or height (y)
    return ops.affine(video, angle=0.0, translate=shift, scale=1.0, shear=[0.0, 0.0],
                      **_geometric_hparas(video, hparas))


def _solarize(video: torch.Tensor, fraction: float, **hparas: Any) -> torch.Tensor:
    bound = 1.0 if video.is_floating_point() else 255.0
    return ops.solarize(video, fraction * bound)


#: name -> ``(frames, *args, **hparas) -> frames``
_AUGMENTATION_FUNCS: Dict[str, Callable[..., torch.Tensor]] = {
    "AdjustBrightness": lambda v, f, **h: ops.adjust_brightness(v, f),
    "AdjustContrast": lambda v, f, **h: ops.adjust_contrast(v, f),
    "AdjustSaturation": lambda v, f, **h: ops.adjust_saturation(v, f),
    "AdjustSharpness": lambda v, f, **h: ops.adjust_sharpness(v, f),
    "AutoContrast": lambda v, **h: ops.autocontrast(v),
    "Equalize": _via_uint8(ops.equalize),
    "Invert": lambda v, **h: ops.invert(v),
    "Posterize": _via_uint8(ops.posterize),
    "Rotate": lambda v, angle, **h: ops.rotate(v, angle, **_geometric_hparas(v, h)),
    "ShearX": lambda v, f, **h: _shear(v, f, 0, **h),
    "ShearY": lambda v, f, **h: _shear(v, f, 1, **h),
    "Solarize": _solarize,
    "TranslateX": lambda v, f, **h: _translate(v, f, 0, **h),
    "TranslateY": lambda v, f, **h: _translate(v, f, 1, **h),
}

#: name -> (base, range) of the op's argument at the maximum level
_TRANSFORM_MAX_PARAMS: Dict[str, Optional[Tuple[float, float]]] = {
    "AdjustBrightness": (1.0, 0.9), "AdjustContrast": (1.0, 0.9), "AdjustSaturation": (1.0, 0.9),
    "AdjustSharpness": (1.0, 0.9), "AutoContrast": None, "Equalize": None, "Invert": None,
    "Rotate": (0.0, 30.0), "Posterize": (4, 4), "Solarize": (1.0, 1.0), "ShearX": (0.0, 0.3),
    "ShearY": (0.0, 0.3), "TranslateX": (0.0, 0.45), "TranslateY": (0.0, 0.45),
}

def _randomly_negated(level: float, params: Tuple[float, float]) -> Tuple[float]:
    magnitude = level / _MAX_LEVEL * params[1]
    if float(torch.rand(1).item()) < 0.5:
        magnitude = -magnitude
    return (params[0] + magnitude,)


def _decreasing_int(level: float, params: Tuple[float, float]) -> Tuple[int]:
    return (int(params[0] - int(level / _MAX_LEVEL * params[1])),)


def _decreasing(level: float, params: Tuple[float, float]) -> Tuple[float]:
    return (params[0] - level / _MAX_LEVEL * params[1],)


def _no_argument(level: float, params: Any) -> Tuple[()]:
    return ()


_LEVEL_TO_ARG: Dict[str, Callable[[float, Any], tuple]] = {
    **{name: _randomly_negated for name in ("AdjustBrightness", "AdjustContrast", "AdjustSaturation",
                                            "AdjustSharpness", "Rotate", "ShearX", "ShearY", "TranslateX",
                                            "TranslateY")},
    "AutoContrast": _no_argument, "Equalize": _no_argument, "Invert": _no_argument,
    "Posterize": _decreasing_int, "Solarize": _decreasing,
}

_SAMPLING_DEFAULTS = {"gaussian": {"sampling_std": 0.5}, "uniform": {"sampling_min": 0.0}}


def sample_level(magnitude: float, sampling_type: str, hparas: Dict[str, Any]) -> float:
    """A magnitude level: ``magnitude`` itself (``sampling_type`` None), a normal draw around it
    with ``sampling_std`` ("gaussian"), or uniform in ``[sampling_min, magnitude]`` ("uniform");
    clipped to ``[0, 10]``."""
    if sampling_type == "gaussian":
        level = float(torch.normal(float(magnitude), float(hparas["sampling_std"]), (1,)).item())
    elif sampling_type == "uniform":
        low = float(hparas.get("sampling_min", 0.0))
        level = float(torch.empty(1).uniform_(low, float(magnitude)).item())
    else:
        level = float(magnitude)
    return min(max(level, 0.0), _MAX_LEVEL)


class AugmentTransform:
    """Apply the augmentation ``transform_name`` with probability ``prob`` at a magnitude level
    drawn around ``magnitude`` (see ``sample_level``), on frames ``(T, C, H, W)``."""

    def __init__(self, transform_name: str, magnitude: int = 10, prob: float = 0.5,
                 name_to_transform_func: Optional[Dict[str, Callable]] = None,
                 level_to_arg: Optional[Dict[str, Callable]] = None,
                 transform_max_paras: Optional[Dict[str, Tuple]] = None,
                 transform_hparas: Optional[Dict[str, Any]] = None, sampling_type: str = "gaussian",
                 sampling_hparas: Optional[Dict[str, Any]] = None):
        self.funcs = name_to_transform_func or _AUGMENTATION_FUNCS
        self.level_to_arg = level_to_arg or _LEVEL_TO_ARG
        self.max_paras = transform_max_paras or _TRANSFORM_MAX_PARAMS
        if transform_name not in self.funcs:
            from graphspec.spec.errors import did_you_mean

            hint = did_you_mean(transform_name, self.funcs)
            raise TransformError(f"AugmentTransform: unknown transform {transform_name!r}" + (f" ({hint})" if hint else ""))
        if not 0.0 <= prob <= 1.0:
            raise TransformError(f"AugmentTransform: prob {prob} must be in [0, 1]")
        if sampling_type not in ("gaussian", "uniform", None):
            raise TransformError(f"AugmentTransform: sampling_type {sampling_type!r} must be 'gaussian' or 'uniform'")
        self.transform_name = transform_name
        self.magnitude = magnitude
        self.prob = prob
        self.transform_hparas = dict(transform_hparas or {})
        self.sampling_type = sampling_type
        self.sampling_hparas = {**_SAMPLING_DEFAULTS.get(sampling_type, {}), **(sampling_hparas or {})}

    def __call__(self, video: torch.Tensor) -> torch.Tensor:
        check_frames(video, "AugmentTransform")
        if float(torch.rand(1).item()) >= self.prob:
            return video
        level = sample_level(self.magnitude, self.sampling_type, self.sampling_hparas)
        args = self.level_to_arg[self.transform_name](level, self.max_paras.get(self.transform_name))
        return self.funcs[self.transform_name](video, *args, **self.transform_hparas)

    def __repr__(self) -> str:
        return f"AugmentTransform({self.transform_name!r}, magnitude={self.magnitude}, prob={self.prob})"
