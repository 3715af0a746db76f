"""PyTorchVideo's transform modules (``pytorchvideo.transforms.transforms``).

Video modules take ``(C, T, H, W)`` uint8 or float tensors and check it at the boundary. The
ones PyTorchVideo scripts are TorchScript-able here too (chain them with ``nn.Sequential``).
Randomness comes from torch's generator only (``torch.manual_seed`` reproduces it).
"""
from __future__ import annotations

from typing import Callable, Dict, List, Optional, Tuple, Union

import torch
import torch.nn as nn

from graphspec.ops.graph_ops import Permute  # the same op: ``x.permute(dims)``

from . import functional as F
from .layout import TransformError, check_float_video, check_video

__all__ = [
    "ApplyTransformToKey", "RemoveKey", "UniformTemporalSubsample", "UniformTemporalSubsampleRepeated",
    "ShortSideScale", "RandomShortSideScale", "UniformCropVideo", "Normalize", "ConvertFloatToUint8",
    "ConvertUint8ToFloat", "MoveChannelRear", "MoveChannelFront", "RandomResizedCrop", "Permute",
    "OpSampler", "Div255", "Callable", "Dict", "List", "Tuple",
]


def args_repr(module: nn.Module) -> str:
    """``extra_repr`` listing a transform's settings: the attributes a bare ``nn.Module`` lacks."""
    base = set(vars(nn.Module()))
    items = [(k.lstrip("_"), v) for k, v in vars(module).items() if k not in base]
    return ", ".join(f"{k}={v!r}" for k, v in items if not isinstance(v, (nn.Module, torch.Tensor)))


class ApplyTransformToKey:
    """Apply ``transform`` to ``x[key]`` of a dict clip; the other keys pass through.

    >>> ApplyTransformToKey(key="video", transform=UniformTemporalSubsample(8))
    """

    def __init__(self, key: str, transform: Callable):
        self._key = key
        self._transform = transform

    @property
    def key(self) -> str:
        return self._key

    @property
    def transform(self) -> Callable:
        return self._transform

    def __call__(self, x: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        if not isinstance(x, dict):
            got = f"a tensor of shape {list(x.shape)}" if isinstance(x, torch.Tensor) else f"a {type(x).__name__}"
            raise TypeError(f"ApplyTransformToKey(key={self._key!r}) takes a dict clip such as the datasets give "
                            f"({{{self._key!r}: tensor, ...}}), got {got}; call it on {{{self._key!r}: clip}}")
        if self._key not in x:
            raise KeyError(f"ApplyTransformToKey: the clip has no key {self._key!r} (keys: {', '.join(map(str, x))})")
        x[self._key] = self._transform(x[self._key])
        return x

    def __repr__(self) -> str:
        return f"ApplyTransformToKey(key={self._key!r}, transform={self._transform!r})"


class RemoveKey(nn.Module):
    """Remove ``key`` from a dict clip (a modality the model does not need); absent keys are fine."""

    def __init__(self, key: str):
        super().__init__()
        self._key = key

    def __call__(self, x: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        if self._key in x:
            del x[self._key]
        return x


class UniformTemporalSubsample(nn.Module):
    """``functional.uniform_temporal_subsample``: ``num_samples`` equispaced frames of (C, T, H, W)."""

    def __init__(self, num_samples: int, temporal_dim: int = -3):
        super().__init__()
        self._num_samples = num_samples
        self._temporal_dim = temporal_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_video(x, "UniformTemporalSubsample")
        return F.uniform_temporal_subsample(x, self._num_samples, self._temporal_dim)


class UniformTemporalSubsampleRepeated(nn.Module):
    """``functional.uniform_temporal_subsample_repeated``: one subsampled copy per frame ratio
    (a list of pathways; ``frame_ratios=[4, 1]`` packs SlowFast's slow and fast inputs)."""

    def __init__(self, frame_ratios: Tuple[int, ...], temporal_dim: int = -3):
        super().__init__()
        self._frame_ratios: List[int] = [int(r) for r in frame_ratios]
        self._temporal_dim = temporal_dim

    def forward(self, x: torch.Tensor) -> List[torch.Tensor]:
        check_video(x, "UniformTemporalSubsampleRepeated")
        return F.uniform_temporal_subsample_repeated(x, self._frame_ratios, self._temporal_dim)


class ShortSideScale(nn.Module):
    """``functional.short_side_scale``: the shorter side becomes ``size``."""

    def __init__(self, size: int, interpolation: str = "bilinear", backend: str = "pytorch"):
        super().__init__()
        self._size = size
        self._interpolation = interpolation
        self._backend = backend

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_video(x, "ShortSideScale")
        return F.short_side_scale(x, self._size, self._interpolation, self._backend)


class RandomShortSideScale(nn.Module):
    """``functional.short_side_scale`` with the size drawn uniformly from ``[min_size, max_size]``."""

    def __init__(self, min_size: int, max_size: int, interpolation: str = "bilinear", backend: str = "pytorch"):
        super().__init__()
        if min_size > max_size:
            raise TransformError(f"RandomShortSideScale: min_size {min_size} > max_size {max_size}")
        self._min_size = min_size
        self._max_size = max_size
        self._interpolation = interpolation
        self._backend = backend

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_video(x, "RandomShortSideScale")
        size = int(torch.randint(self._min_size, self._max_size + 1, (1,)).item())
        return F.short_side_scale(x, size, self._interpolation, self._backend)


class UniformCropVideo(nn.Module):
    """``functional.uniform_crop`` of ``x[video_key]`` at the position ``x[aug_index_key]`` (0, 1, 2)."""

    def __init__(self, size: int, video_key: str = "video", aug_index_key: str = "aug_index"):
        super().__init__()
        self._size = size
        self._video_key = video_key
        self._aug_index_key = aug_index_key

    def __call__(self, x: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        for key in (self._video_key, self._aug_index_key):
            if key not in x:
                raise KeyError(f"UniformCropVideo: the clip has no key {key!r} (keys: {', '.join(map(str, x))})")
        x[self._video_key] = F.uniform_crop(x[self._video_key], self._size, int(x[self._aug_index_key]))
        return x


class Normalize(nn.Module):
    """Normalize a float (C, T, H, W) clip per channel: ``(x - mean[c]) / std[c]``. ``mean`` and
    ``std`` are sequences (one value per channel) or single numbers for every channel, as
    TorchVision's ``Normalize``, which PyTorchVideo's extends, takes them."""

    def __init__(self, mean: Union[float, Tuple[float, ...]], std: Union[float, Tuple[float, ...]],
                 inplace: bool = False):
        super().__init__()
        means, stds = _per_channel(mean, "mean"), _per_channel(std, "std")
        if len(means) != len(stds) and 1 not in (len(means), len(stds)):
            raise TransformError(f"Normalize: mean has {len(means)} values, std {len(stds)}")
        if any(s == 0 for s in stds):
            raise TransformError(f"Normalize: std {tuple(stds)} has a zero, which would divide by zero")
        self.mean: List[float] = means
        self.std: List[float] = stds
        self.inplace = inplace

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_float_video(x, "Normalize")
        channels = max(len(self.mean), len(self.std))
        if channels != 1 and x.shape[0] != channels:
            raise TransformError("Normalize: " + str(channels) + " channel means / stds for a video with shape "
                                 + str(list(x.shape)) + " (C, T, H, W)")
        mean = torch.tensor(self.mean, dtype=x.dtype, device=x.device).view(-1, 1, 1, 1)
        std = torch.tensor(self.std, dtype=x.dtype, device=x.device).view(-1, 1, 1, 1)
        out = x.sub_(mean) if self.inplace else x - mean
        return out.div_(std)


def _per_channel(value, name: str) -> List[float]:
    """A number, or a sequence of them, as a list of floats."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return [float(value)]
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__") or len(value) == 0:
        raise TransformError(f"Normalize: {name} must be a number or a sequence of numbers, got {value!r}")
    return [float(v) for v in value]


class ConvertFloatToUint8(nn.Module):
    """Float [0, 1] to uint8 [0, 255] as TorchVision converts (``x * (256 - 1e-3)``, truncated);
    values outside [0, 1] are clamped first."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_float_video(x, "ConvertFloatToUint8")
        return (x.clamp(0.0, 1.0) * (256.0 - 1e-3)).to(torch.uint8)


class ConvertUint8ToFloat(nn.Module):
    """uint8 [0, 255] to float32 [0, 1] (``x / 255``). Anything but a uint8 video is refused, as
    PyTorchVideo's asserts: a float video converted twice would be silently divided twice."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_video(x, "ConvertUint8ToFloat")
        if x.dtype != torch.uint8:
            raise TransformError("ConvertUint8ToFloat: expected a uint8 video, got dtype " + str(x.dtype)
                                 + " (a float video needs no conversion)")
        return x.to(torch.float32).div_(255.0)


class MoveChannelRear(nn.Module):
    """(C, T, H, W) -> (T, H, W, C)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_video(x, "MoveChannelRear")
        return x.permute(1, 2, 3, 0)


class MoveChannelFront(nn.Module):
    """(T, H, W, C) -> (C, T, H, W)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_video(x, "MoveChannelFront", "T, H, W, C")
        return x.permute(3, 0, 1, 2)


class RandomResizedCrop(nn.Module):
    """``functional.random_resized_crop`` as a module."""

    def __init__(self, target_height: int, target_width: int, scale: Tuple[float, float],
                 aspect_ratio: Tuple[float, float], shift: bool = False, log_uniform_ratio: bool = True,
                 interpolation: str = "bilinear", num_tries: int = 10):
        super().__init__()
        self._target_height = target_height
        self._target_width = target_width
        self._scale = tuple(scale)
        self._aspect_ratio = tuple(aspect_ratio)
        self._shift = shift
        self._log_uniform_ratio = log_uniform_ratio
        self._interpolation = interpolation
        self._num_tries = num_tries

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        check_video(x, "RandomResizedCrop")
        return F.random_resized_crop(x, self._target_height, self._target_width, self._scale, self._aspect_ratio,
                                     self._shift, self._log_uniform_ratio, self._interpolation, self._num_tries)


class OpSampler(nn.Module):
    """Draw ``num_sample_op`` of ``transforms_list`` (weights ``transforms_prob``, uniform when
    None; with or without ``replacement``) and apply them in the order drawn. With
    ``randomly_sample_depth`` (PyTorchVideo's later releases) the number drawn is itself uniform
    in ``[1, num_sample_op]`` per call."""

    def __init__(self, transforms_list: List[Callable], transforms_prob: Optional[List[float]] = None,
                 num_sample_op: int = 1, replacement: bool = False, randomly_sample_depth: bool = False):
        super().__init__()
        if not transforms_list:
            raise TransformError("OpSampler: transforms_list is empty")
        if num_sample_op < 1:
            raise TransformError(f"OpSampler: num_sample_op {num_sample_op} must be >= 1")
        if not replacement and num_sample_op > len(transforms_list):
            raise TransformError(f"OpSampler: cannot draw {num_sample_op} of {len(transforms_list)} transforms "
                                 "without replacement")
        if transforms_prob is not None:
            if len(transforms_prob) != len(transforms_list):
                raise TransformError(f"OpSampler: {len(transforms_prob)} probabilities for {len(transforms_list)} "
                                     "transforms")
            if any(p < 0 for p in transforms_prob) or sum(transforms_prob) <= 0:
                raise TransformError(f"OpSampler: transforms_prob {transforms_prob} must be non-negative, not all 0")
            drawable = sum(p > 0 for p in transforms_prob)
            if not replacement and num_sample_op > drawable:
                raise TransformError(f"OpSampler: cannot draw {num_sample_op} transforms without replacement when "
                                     f"only {drawable} have a positive weight ({transforms_prob})")
        self.transforms_list = transforms_list
        self.transforms_prob = torch.tensor(transforms_prob if transforms_prob is not None
                                            else [1.0] * len(transforms_list), dtype=torch.float)
        self.num_sample_op = num_sample_op
        self.replacement = replacement
        self.randomly_sample_depth = randomly_sample_depth

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # documented as forward(x): callable directly
        depth = self.num_sample_op
        if self.randomly_sample_depth:
            depth = int(torch.randint(1, self.num_sample_op + 1, (1,)).item())
        for index in torch.multinomial(self.transforms_prob, depth, self.replacement).tolist():
            x = self.transforms_list[index](x)
        return x


class Div255(nn.Module):
    """``functional.div_255``: uint8 frames to float in [0, 1]. Any tensor, as PyTorchVideo's
    (``x / 255``): a frame, a clip or a batch."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.div_255(x)


for _cls in (RemoveKey, UniformTemporalSubsample, UniformTemporalSubsampleRepeated, ShortSideScale, RandomShortSideScale,
             UniformCropVideo, Normalize, RandomResizedCrop, OpSampler):
    _cls.extra_repr = args_repr
