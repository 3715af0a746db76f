"""The one video layout of graphspec's transforms, checked at the boundary.

A video clip is a tensor ``(C, T, H, W)`` of dtype ``uint8`` (0..255) or floating point (0..1
after ``Div255``/``ConvertUint8ToFloat``), the layout PyTorchVideo and TorchVision share. The few
ops that work on frames (``RandAugment``, ``AugMix``, ``AugmentTransform``) take ``(T, C, H, W)``
as PyTorchVideo documents them. A transform given anything else fails with an error naming the
transform and the shape (and dtype) it received. The checks are TorchScript-compatible.
"""
from __future__ import annotations

import torch


class TransformError(ValueError, AssertionError):
    """A transform refused its input or its arguments. A ``ValueError`` whose message says what is
    wrong, and an ``AssertionError`` as PyTorchVideo's asserts were, so that ``except
    AssertionError`` written against PyTorchVideo keeps working."""


def check_video(x: torch.Tensor, transform: str, layout: str = "C, T, H, W") -> None:
    """Raise ``TransformError`` unless ``x`` is a 4-D uint8 or floating point tensor."""
    if x.dim() != 4:
        raise TransformError(transform + ": expected a video tensor (" + layout + "), got shape "
                         + str(list(x.shape)))
    if x.dtype != torch.uint8 and not x.is_floating_point():
        raise TransformError(transform + ": expected a uint8 or float video (" + layout + "), got dtype "
                         + str(x.dtype) + " with shape " + str(list(x.shape)))
    if layout == "C, T, H, W" and x.shape[0] > 4 and x.shape[3] in (1, 3):  # decoders' and numpy's frame order
        raise TransformError(transform + ": expected a video (C, T, H, W), got shape " + str(list(x.shape))
                             + ", a (T, H, W, C) clip: put the channels first with x.permute(3, 0, 1, 2)")


def check_float_video(x: torch.Tensor, transform: str) -> None:
    """Like ``check_video``, but the video must already be floating point."""
    check_video(x, transform)
    if not x.is_floating_point():
        raise TransformError(transform + ": expected a float video (C, T, H, W), got dtype " + str(x.dtype)
                         + " (convert it with Div255 or ConvertUint8ToFloat first)")


def check_batch(x: torch.Tensor, transform: str, what: str = "videos") -> None:
    """A batch of videos ``(B, C, T, H, W)`` or of images / spectrograms ``(B, C, H, W)`` (MixUp,
    CutMix: PyTorchVideo takes both)."""
    if x.dim() not in (4, 5):
        raise TransformError(transform + ": expected a batch of " + what + " (B, C, T, H, W) or (B, C, H, W), "
                             "got shape " + str(list(x.shape)))


def check_frames(x: torch.Tensor, transform: str) -> None:
    """``(T, C, H, W)`` frames, or a single image ``(C, H, W)``."""
    if x.dim() not in (3, 4):
        raise TransformError(transform + ": expected frames (T, C, H, W), got shape " + str(list(x.shape)))
