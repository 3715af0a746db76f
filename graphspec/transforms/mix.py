"""MixUp, CutMix and their random choice on batches (``pytorchvideo.transforms.mix``).

Both take a batch of videos ``(B, C, T, H, W)`` or of images / spectrograms ``(B, C, H, W)`` and
labels ``(B,)`` (class indices, or one-hot / soft rows ``(B, num_classes)`` with ``one_hot=True``),
pair each clip with the batch flipped (clip ``i`` with clip ``B - 1 - i``), and return the mixed
batch and mixed labels ``lam * onehot(y) + (1 - lam) * onehot(flip(y))`` (with label smoothing).
Given ``x_audio=``, the audio batch is mixed with the same pairing and weight and the result is
``(video, audio, labels)``, as PyTorchVideo's. Unlike PyTorchVideo's, the inputs are not
modified in place."""
from __future__ import annotations

from typing import Optional, Tuple

import torch
import torch.nn as nn

from .functional import convert_to_one_hot
from .layout import TransformError, check_batch


def _mix_labels(labels: torch.Tensor, num_classes: int, lam: float, label_smoothing: float,
                one_hot: bool = False) -> torch.Tensor:
    """``lam * y + (1 - lam) * flip(y)`` of the one-hot rows (``labels`` themselves with ``one_hot``)."""
    first = labels if one_hot else convert_to_one_hot(labels, num_classes, label_smoothing)
    return lam * first + (1.0 - lam) * first.flip(0)


def _check_mix_args(name: str, alpha: float, label_smoothing: float, num_classes: int) -> None:
    if alpha <= 0:
        raise TransformError(f"{name}: alpha {alpha} must be positive")
    if not 0.0 <= label_smoothing < 1.0:
        raise TransformError(f"{name}: label_smoothing {label_smoothing} must be in [0, 1)")
    if num_classes < 1:
        raise TransformError(f"{name}: num_classes {num_classes} must be >= 1")


def _check_batch(name: str, x: torch.Tensor, what: str, framed: bool = True) -> None:
    if framed or x.dim() == 0:
        check_batch(x, name, what)
    if x.shape[0] < 2:
        raise TransformError(f"{name}: needs a batch of at least 2 {what} to mix (each is paired with the batch "
                             f"flipped), got shape {list(x.shape)}")


def _check_inputs(name: str, x: torch.Tensor, labels: torch.Tensor, one_hot: bool, num_classes: int,
                  x_audio: Optional[torch.Tensor], boxed: bool) -> None:
    _check_batch(name, x, "videos")
    expected = (x.shape[0], num_classes) if one_hot else (x.shape[0],)
    if tuple(labels.shape) != expected:
        form = "one-hot rows " if one_hot else ""
        raise TransformError(f"{name}: labels must be {form}of shape {expected} for a batch of {x.shape[0]}, "
                             f"got {list(labels.shape)}")
    if x_audio is not None:
        # CutMix cuts a box out of the last two dims, so its audio must be spectrograms; MixUp blends
        # audio of any shape (a (B, S) waveform too): PyTorchVideo asserts only its batch size there
        _check_batch(name, x_audio, "audio clips", framed=boxed)
        if x_audio.shape[0] != x.shape[0]:
            raise TransformError(f"{name}: x_audio has {x_audio.shape[0]} clips for {x.shape[0]} videos")


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

    boxed = False  # whether the mix cuts boxes out of the last two dims (needs frames)

    def __init__(self, alpha: float = 1.0, label_smoothing: float = 0.0, num_classes: int = 400,
                 one_hot: bool = False) -> None:
        super().__init__()
        _check_mix_args(type(self).__name__, alpha, label_smoothing, num_classes)
        self.beta_sampler = torch.distributions.beta.Beta(alpha, alpha)
        self.label_smoothing = label_smoothing
        self.num_classes = num_classes
        self.one_hot = one_hot

    def mix(self, x: torch.Tensor, lam: float, x_audio: Optional[torch.Tensor]) -> Tuple[torch.Tensor, ...]:
        """``(mixed video, mixed audio or None, label weight)``."""
        raise NotImplementedError

    def forward(self, x: torch.Tensor, labels: torch.Tensor, x_audio: Optional[torch.Tensor] = None):
        """``(mixed x, mixed labels)``; with ``x_audio``, ``(mixed x, mixed audio, mixed labels)``."""
        _check_inputs(type(self).__name__, x, labels, self.one_hot, self.num_classes, x_audio, self.boxed)
        mixed, audio, lam = self.mix(x, float(self.beta_sampler.sample()), x_audio)
        mixed_labels = _mix_labels(labels, self.num_classes, lam, self.label_smoothing, self.one_hot)
        return (mixed, mixed_labels) if x_audio is None else (mixed, audio, mixed_labels)


class MixUp(_BatchMix):
    """MixUp (https://arxiv.org/abs/1710.09412): ``lam * x + (1 - lam) * x.flip(0)``."""

    def mix(self, x: torch.Tensor, lam: float, x_audio: Optional[torch.Tensor]) -> Tuple[torch.Tensor, ...]:
        return mixup(x, lam), None if x_audio is None else mixup(x_audio, lam), lam


class CutMix(_BatchMix):
    """CutMix (https://arxiv.org/abs/1905.04899): a box of about ``1 - lam`` of the frame pasted
    from the paired clip; labels weighted by the area actually pasted. An audio batch gets a box
    of its own (same ``lam``) in its last two dimensions."""

    boxed = True

    def mix(self, x: torch.Tensor, lam: float, x_audio: Optional[torch.Tensor]) -> Tuple[torch.Tensor, ...]:
        mixed, weight = cutmix(x, lam)
        return mixed, None if x_audio is None else cutmix(x_audio, lam)[0], weight


class MixVideo(nn.Module):
    """CutMix with probability ``cutmix_prob``, else MixUp (``x_audio`` and ``one_hot`` as theirs)."""

    def __init__(self, cutmix_prob: float = 0.5, mixup_alpha: float = 1.0, cutmix_alpha: float = 1.0,
                 label_smoothing: float = 0.0, num_classes: int = 400, one_hot: bool = False) -> None:
        super().__init__()
        if not 0.0 <= cutmix_prob <= 1.0:
            raise TransformError(f"MixVideo: cutmix_prob {cutmix_prob} must be in [0, 1]")
        self.cutmix_prob = cutmix_prob
        self.mixup = MixUp(mixup_alpha, label_smoothing, num_classes, one_hot)
        self.cutmix = CutMix(cutmix_alpha, label_smoothing, num_classes, one_hot)

    def forward(self, x: torch.Tensor, labels: torch.Tensor, x_audio: Optional[torch.Tensor] = None):
        chosen = self.cutmix if float(torch.rand(1).item()) < self.cutmix_prob else self.mixup
        return chosen(x, labels, x_audio=x_audio)
