"""MixUp, CutMix and their random choice on batches (``pytorchvideo.transforms.mix``).

Both take a batch ``(B, C, T, H, W)`` and labels ``(B,)``, pair each clip with the batch flipped
(clip ``i`` with clip ``B - 1 - i``), and return the mixed batch and mixed one-hot labels
``lam * onehot(y) + (1 - lam) * onehot(flip(y))`` (with label smoothing)."""
from __future__ import annotations

from typing import Tuple

import torch
import torch.nn as nn

from .functional import convert_to_one_hot
from .layout import check_batch


def _mix_labels(labels: torch.Tensor, num_classes: int, lam: float, label_smoothing: float) -> torch.Tensor:
    first = convert_to_one_hot(labels, num_classes, label_smoothing)
    second = convert_to_one_hot(labels.flip(0), num_classes, label_smoothing)
    return lam * first + (1.0 - lam) * second


def _check_mix_args(name: str, alpha: float, label_smoothing: float, num_classes: int) -> None:
    if alpha <= 0:
        raise ValueError(f"{name}: alpha {alpha} must be positive")
    if not 0.0 <= label_smoothing < 1.0:
        raise ValueError(f"{name}: label_smoothing {label_smoothing} must be in [0, 1)")
    if num_classes < 1:
        raise ValueError(f"{name}: num_classes {num_classes} must be >= 1")


def _check_inputs(name: str, x: torch.Tensor, labels: torch.Tensor) -> None:
    check_batch(x, name)
    if x.shape[0] < 2:
        raise ValueError(f"{name}: needs a batch of at least 2 clips to mix (each is paired with the batch "
                         f"flipped), got shape {list(x.shape)}")
    if labels.dim() != 1 or labels.shape[0] != x.shape[0]:
        raise ValueError(f"{name}: labels must have shape ({x.shape[0]},) for a batch of {x.shape[0]}, "
                         f"got {list(labels.shape)}")


def mixup(x: torch.Tensor, lam: float) -> torch.Tensor:
    """``lam * x + (1 - lam) * x.flip(0)``."""
    return lam * x + (1.0 - lam) * x.flip(0)


def cut_box(height: int, width: int, lam: float) -> Tuple[int, int, int, int]:
    """A box ``(y1, y2, x1, x2)`` of about ``(1 - lam)`` of the frame around a random centre,
    clipped to the frame."""
    ratio = (1.0 - lam) ** 0.5
    cut_h, cut_w = int(height * ratio), int(width * ratio)
    cy = int(torch.randint(0, height, (1,)).item())
    cx = int(torch.randint(0, width, (1,)).item())
    y1, y2 = max(cy - cut_h // 2, 0), min(cy + cut_h // 2, height)
    x1, x2 = max(cx - cut_w // 2, 0), min(cx + cut_w // 2, width)
    return y1, y2, x1, x2


def cutmix(x: torch.Tensor, lam: float) -> Tuple[torch.Tensor, float]:
    """Paste the flipped batch's box into each clip (every frame); the weight is corrected to the
    box actually pasted: ``1 - box area / frame area``."""
    height, width = x.shape[-2:]
    y1, y2, x1, x2 = cut_box(height, width, lam)
    out = x.clone()
    out[..., y1:y2, x1:x2] = x.flip(0)[..., y1:y2, x1:x2]
    return out, 1.0 - (y2 - y1) * (x2 - x1) / float(height * width)


class _BatchMix(nn.Module):
    """Shared by MixUp and CutMix: ``lam ~ Beta(alpha, alpha)`` per batch, then ``mix``."""

    def __init__(self, alpha: float = 1.0, label_smoothing: float = 0.0, num_classes: int = 400) -> None:
        super().__init__()
        _check_mix_args(type(self).__name__, alpha, label_smoothing, num_classes)
        self.beta_sampler = torch.distributions.beta.Beta(alpha, alpha)
        self.label_smoothing = label_smoothing
        self.num_classes = num_classes

    def mix(self, x: torch.Tensor, lam: float) -> Tuple[torch.Tensor, float]:
        raise NotImplementedError

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        _check_inputs(type(self).__name__, x, labels)
        mixed, lam = self.mix(x, float(self.beta_sampler.sample()))
        return mixed, _mix_labels(labels, self.num_classes, lam, self.label_smoothing)


class MixUp(_BatchMix):
    """MixUp (https://arxiv.org/abs/1710.09412): ``lam * x + (1 - lam) * x.flip(0)``."""

    def mix(self, x: torch.Tensor, lam: float) -> Tuple[torch.Tensor, float]:
        return mixup(x, lam), lam


class CutMix(_BatchMix):
    """CutMix (https://arxiv.org/abs/1905.04899): a box of about ``1 - lam`` of the frame pasted
    from the paired clip; labels weighted by the area actually pasted."""

    def mix(self, x: torch.Tensor, lam: float) -> Tuple[torch.Tensor, float]:
        return cutmix(x, lam)


class MixVideo(nn.Module):
    """CutMix with probability ``cutmix_prob``, else MixUp."""

    def __init__(self, cutmix_prob: float = 0.5, mixup_alpha: float = 1.0, cutmix_alpha: float = 1.0,
                 label_smoothing: float = 0.0, num_classes: int = 400) -> None:
        super().__init__()
        if not 0.0 <= cutmix_prob <= 1.0:
            raise ValueError(f"MixVideo: cutmix_prob {cutmix_prob} must be in [0, 1]")
        self.cutmix_prob = cutmix_prob
        self.mixup = MixUp(mixup_alpha, label_smoothing, num_classes)
        self.cutmix = CutMix(cutmix_alpha, label_smoothing, num_classes)

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        if float(torch.rand(1).item()) < self.cutmix_prob:
            return self.cutmix(x, labels)
        return self.mixup(x, labels)
