"""RandAugment for video (``pytorchvideo.transforms.rand_augment``): https://arxiv.org/abs/1909.13719."""
from __future__ import annotations

from typing import Any, Dict, Optional

import torch

from .augmentations import AugmentTransform
from .layout import TransformError, check_frames

#: the ops RandAugment draws from
_RANDAUG_OPS = (
    "AdjustBrightness", "AdjustContrast", "AdjustSaturation", "AdjustSharpness", "AutoContrast", "Equalize",
    "Invert", "Rotate", "Posterize", "Solarize", "ShearX", "ShearY", "TranslateX", "TranslateY",
)
#: PyTorchVideo's defaults; fill is in pixel values: mid-grey in a float clip, 0 in a uint8 one
_TRANSFORM_RANDAUG_DEFAULT_HPARAS = {"fill": (0.5, 0.5, 0.5), "interpolation": "bilinear"}


class RandAugment:
    """For each clip, ``num_layers`` ops drawn uniformly (with replacement) from ``_RANDAUG_OPS``,
    each applied with probability ``prob`` at a level sampled around ``magnitude`` (gaussian
    with ``sampling_std``, default 0.5, or uniform); the same draw for every frame of the clip.
    Takes frames ``(T, C, H, W)``, uint8 or float in [0, 1]."""

    def __init__(self, magnitude: int = 9, num_layers: int = 2, prob: float = 0.5,
                 sampling_type: str = "gaussian", sampling_hparas: Optional[Dict[str, Any]] = None,
                 transform_hparas: Optional[Dict[str, Any]] = None):
        if num_layers < 1:
            raise TransformError(f"RandAugment: num_layers {num_layers} must be >= 1")
        if not 0 <= magnitude <= 10:
            raise TransformError(f"RandAugment: magnitude {magnitude} must be in [0, 10]")
        hparas = {**_TRANSFORM_RANDAUG_DEFAULT_HPARAS, **(transform_hparas or {})}
        self.num_layers = num_layers
        self.transforms = [
            AugmentTransform(name, magnitude=magnitude, prob=prob, transform_hparas=hparas,
                             sampling_type=sampling_type, sampling_hparas=sampling_hparas)
            for name in _RANDAUG_OPS
        ]

    def __call__(self, video: torch.Tensor) -> torch.Tensor:
        check_frames(video, "RandAugment")
        for index in torch.randint(0, len(self.transforms), (self.num_layers,)).tolist():
            video = self.transforms[index](video)
        return video
