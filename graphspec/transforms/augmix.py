"""AugMix for video (``pytorchvideo.transforms.augmix``): https://arxiv.org/abs/1912.02781."""
from __future__ import annotations

import numbers
from typing import Any, Dict, Optional

import torch

from .augmentations import AugmentTransform
from .layout import TransformError, check_frames

_AUGMIX_OPS = (
    "AutoContrast", "Equalize", "Posterize", "Rotate", "Solarize", "ShearX", "ShearY", "TranslateX",
    "TranslateY", "AdjustSaturation", "AdjustContrast", "AdjustBrightness", "AdjustSharpness",
)
_TRANSFORM_AUGMIX_DEFAULT_HPARAS = {"fill": (0.5, 0.5, 0.5), "interpolation": "bilinear"}


class AugMix:
    """``width`` chains of ``depth`` ops (1 to 3 at random when ``depth <= 0``), each op drawn
    uniformly and applied at a level uniform in ``[0, magnitude]``; the chains are mixed with
    Dirichlet(``alpha``) weights, and the mix with the original by a Beta(``alpha``, ``alpha``)
    weight ``m``: ``m * video + (1 - m) * mix``. Frames ``(T, C, H, W)``, uint8 (rounded back) or float
    in [0, 1]; ``fill`` in ``transform_hparas`` is in pixel values (``augmentations``)."""

    def __init__(self, magnitude: int = 3, alpha: float = 1.0, width: int = 3, depth: int = -1,
                 transform_hparas: Optional[Dict[str, Any]] = None,
                 sampling_hparas: Optional[Dict[str, Any]] = None):
        # PyTorchVideo asserts an int magnitude (a numpy integer is one too)
        if isinstance(magnitude, bool) or not isinstance(magnitude, numbers.Integral):
            raise TransformError(f"AugMix: magnitude must be an int, got {magnitude!r}")
        magnitude = int(magnitude)
        if not 1 <= magnitude <= 10:
            raise TransformError(f"AugMix: magnitude {magnitude} must be in [1, 10]")
        if alpha <= 0:
            raise TransformError(f"AugMix: alpha {alpha} must be positive")
        if width < 1:
            raise TransformError(f"AugMix: width {width} must be >= 1")
        hparas = {**_TRANSFORM_AUGMIX_DEFAULT_HPARAS, **(transform_hparas or {})}
        self.alpha = alpha
        self.width = width
        self.depth = depth
        self.transforms = [
            AugmentTransform(name, magnitude=magnitude, prob=1.0, transform_hparas=hparas,
                             sampling_type="uniform", sampling_hparas=sampling_hparas)
            for name in _AUGMIX_OPS
        ]

    def __call__(self, video: torch.Tensor) -> torch.Tensor:
        check_frames(video, "AugMix")
        weights = torch.distributions.Dirichlet(torch.full((self.width,), float(self.alpha))).sample()
        m = float(torch.distributions.Beta(self.alpha, self.alpha).sample())
        mixed = torch.zeros(video.shape, dtype=torch.float32, device=video.device)
        for weight in weights.tolist():
            depth = self.depth if self.depth > 0 else int(torch.randint(1, 4, (1,)).item())
            chain = video
            for index in torch.randint(0, len(self.transforms), (depth,)).tolist():
                chain = self.transforms[index](chain)
            mixed += weight * chain.float()
        out = m * video.float() + (1.0 - m) * mixed
        return out if video.is_floating_point() else out.round().clamp(0, 255).to(video.dtype)
