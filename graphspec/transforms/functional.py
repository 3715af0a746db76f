"""PyTorchVideo's functional transforms (``pytorchvideo.transforms.functional``).

Videos are ``(C, T, H, W)``; boxes are ``(num boxes, 4)`` as ``x1, y1, x2, y2`` in pixels.
Randomness comes from torch's generator only, so ``torch.manual_seed`` (and DataLoader worker
seeding) makes every random transform reproducible.
"""
from __future__ import annotations

import math
from typing import List, Tuple

import torch

from .image_ops import check_uint8_interpolation, resize_video
from .layout import TransformError, check_video

def _interpolations() -> List[str]:
    """Interpolation modes (a function: TorchScript cannot read module-level containers)."""
    return ["nearest", "linear", "bilinear", "bicubic", "trilinear", "area"]


def _check_interpolation(x: torch.Tensor, interpolation: str, name: str) -> None:
    """A documented mode, and one torch can resize uint8 frames with when ``x`` is uint8."""
    if interpolation not in _interpolations():
        raise TransformError(name + ": interpolation '" + interpolation + "' is not one of "
                             + ", ".join(_interpolations()))
    check_uint8_interpolation(x, interpolation, name)

__all__ = [
    "Tuple", "uniform_temporal_subsample", "short_side_scale", "uniform_temporal_subsample_repeated",
    "convert_to_one_hot", "short_side_scale_with_boxes", "random_short_side_scale_with_boxes",
    "random_crop_with_boxes", "uniform_crop", "uniform_crop_with_boxes", "horizontal_flip_with_boxes",
    "clip_boxes_to_image", "crop_boxes", "random_resized_crop", "div_255",
]


def uniform_temporal_subsample(x: torch.Tensor, num_samples: int, temporal_dim: int = -3) -> torch.Tensor:
    """``num_samples`` equispaced frames along ``temporal_dim`` (indices ``linspace(0, T-1, n)``
    truncated); when ``num_samples > T`` frames repeat (nearest-neighbour)."""
    t = x.shape[temporal_dim]
    if t < 1 or num_samples < 1:
        raise TransformError("uniform_temporal_subsample: needs at least one frame and num_samples >= 1, got T="
                             + str(t) + ", num_samples=" + str(num_samples))
    indices = torch.linspace(0.0, float(t - 1), num_samples, device=x.device)
    indices = torch.clamp(indices, 0, t - 1).long()
    return torch.index_select(x, temporal_dim, indices)


def short_side_scale(x: torch.Tensor, size: int, interpolation: str = "bilinear",
                     backend: str = "pytorch") -> torch.Tensor:
    """Scale ``(C, T, H, W)`` so the shorter spatial side is ``size``; the longer side keeps the
    aspect ratio, ``floor(long / short * size)``. Float videos as PyTorchVideo; uint8 videos are
    scaled in uint8 (rounded), which avoids converting full-size frames to float. ``backend``
    "opencv" resizes each frame with ``cv2.resize`` as PyTorchVideo does (``resize_opencv``; the
    optional extra ``graphspec[opencv]``)."""
    check_video(x, "short_side_scale")
    if backend != "pytorch" and backend != "opencv":
        raise TransformError("short_side_scale: backend '" + backend + "' must be 'pytorch' or 'opencv'")
    _, _, h, w = x.shape
    if w < h:
        new_h, new_w = int(math.floor(float(h) / w * size)), size
    else:
        new_h, new_w = size, int(math.floor(float(w) / h * size))
    if backend == "opencv":
        return resize_opencv(x, [new_h, new_w], interpolation)
    _check_interpolation(x, interpolation, "short_side_scale")
    return resize_video(x, [new_h, new_w], interpolation)


def resize_opencv(x: torch.Tensor, size: List[int], interpolation: str = "bilinear") -> torch.Tensor:
    """Resize each frame of ``(C, T, H, W)`` to ``size`` (height, width) with ``cv2.resize``, with
    PyTorchVideo's mapping of the modes: nearest -> INTER_NEAREST, linear -> INTER_LINEAR,
    bilinear -> INTER_AREA, bicubic -> INTER_CUBIC. The dtype is kept (float16 and bfloat16 are
    resized in float32, which OpenCV takes)."""
    try:
        import cv2
    except ImportError:
        raise ImportError("backend 'opencv' needs OpenCV, an optional extra: pip install 'graphspec[opencv]' "
                          "(opencv-python-headless)") from None
    modes = {"nearest": cv2.INTER_NEAREST, "linear": cv2.INTER_LINEAR, "bilinear": cv2.INTER_AREA,
             "bicubic": cv2.INTER_CUBIC}
    if interpolation not in modes:
        raise TransformError(f"backend 'opencv': interpolation {interpolation!r} is not one of {', '.join(modes)}")
    work = x if x.dtype in (torch.uint8, torch.float32, torch.float64) else x.float()
    channels = work.shape[0]
    frames = [cv2.resize(frame.numpy(), (size[1], size[0]), interpolation=modes[interpolation])
              for frame in work.detach().cpu().permute(1, 2, 3, 0)]  # (H, W, C) per frame; cv2 takes (w, h)
    out = torch.stack([torch.from_numpy(f).reshape(size[0], size[1], channels) for f in frames])
    return out.permute(3, 0, 1, 2).to(device=x.device, dtype=x.dtype).contiguous()


# OpenCV works on numpy arrays: from TorchScript a call back into Python. TorchScript reads an
# ignored function's signature from real annotations, not this module's postponed (string) ones.
resize_opencv.__annotations__ = {"x": torch.Tensor, "size": List[int], "interpolation": str, "return": torch.Tensor}
resize_opencv = torch.jit.ignore(resize_opencv)


def uniform_temporal_subsample_repeated(frames: torch.Tensor, frame_ratios: List[int],
                                        temporal_dim: int = -3) -> List[torch.Tensor]:
    """One uniformly subsampled copy per ratio: ``T // ratio`` frames each (a pathway each, e.g.
    SlowFast's ``(alpha, 1)``)."""
    t = frames.shape[temporal_dim]
    return [uniform_temporal_subsample(frames, t // ratio, temporal_dim) for ratio in frame_ratios]


def convert_to_one_hot(targets: torch.Tensor, num_class: int, label_smooth: float = 0.0) -> torch.Tensor:
    """One-hot rows ``(N, num_class)``; with ``label_smooth`` the other classes get
    ``label_smooth / num_class`` and the target ``1 - label_smooth + label_smooth / num_class``."""
    if targets.numel() and int(targets.max()) >= num_class:
        raise TransformError(f"convert_to_one_hot: class index {int(targets.max())} >= num_class {num_class}")
    if targets.numel() and int(targets.min()) < 0:
        raise TransformError(f"convert_to_one_hot: negative class index {int(targets.min())}")
    if not 0.0 <= label_smooth < 1.0:
        raise TransformError(f"convert_to_one_hot: label_smooth {label_smooth} must be in [0, 1)")
    off_value = label_smooth / num_class
    on_value = 1.0 - label_smooth + off_value
    out = torch.full((targets.shape[0], num_class), off_value, device=targets.device)
    return out.scatter_(1, targets.long().view(-1, 1), on_value)


def _boxes(boxes) -> torch.Tensor:
    """Boxes as a float tensor ``(N, 4)`` (numpy arrays are accepted as PyTorchVideo's were)."""
    out = torch.as_tensor(boxes)
    if out.dim() != 2 or out.shape[-1] != 4:
        raise TransformError(f"boxes: expected shape (num boxes, 4), got {list(out.shape)}")
    return out.float() if not out.is_floating_point() else out


def short_side_scale_with_boxes(images: torch.Tensor, boxes: torch.Tensor, size: int,
                                interpolation: str = "bilinear",
                                backend: str = "pytorch") -> Tuple[torch.Tensor, torch.Tensor]:
    """``short_side_scale`` and the boxes scaled by the same factor (the longer side's ratio)."""
    boxes = _boxes(boxes)
    _, _, h, w = images.shape
    images = short_side_scale(images, size, interpolation, backend)
    _, _, new_h, new_w = images.shape
    factor = float(new_h) / h if w < h else float(new_w) / w
    return images, boxes * factor


def random_short_side_scale_with_boxes(images: torch.Tensor, boxes: torch.Tensor, min_size: int, max_size: int,
                                       interpolation: str = "bilinear",
                                       backend: str = "pytorch") -> Tuple[torch.Tensor, torch.Tensor]:
    """``short_side_scale_with_boxes`` with the size drawn uniformly from ``[min_size, max_size]``."""
    if min_size > max_size:
        raise TransformError(f"random_short_side_scale_with_boxes: min_size {min_size} > max_size {max_size}")
    size = int(torch.randint(min_size, max_size + 1, (1,)).item())
    return short_side_scale_with_boxes(images, boxes, size, interpolation, backend)


def crop_boxes(boxes: torch.Tensor, x_offset: int, y_offset: int) -> torch.Tensor:
    """Boxes in the coordinates of a crop starting at ``(x_offset, y_offset)``."""
    out = _boxes(boxes).clone()
    out[:, [0, 2]] -= x_offset
    out[:, [1, 3]] -= y_offset
    return out


def clip_boxes_to_image(boxes: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Clamp x to ``[0, width - 1]`` and y to ``[0, height - 1]``."""
    out = _boxes(boxes).clone()
    out[:, [0, 2]] = out[:, [0, 2]].clamp(0.0, width - 1.0)
    out[:, [1, 3]] = out[:, [1, 3]].clamp(0.0, height - 1.0)
    return out


def _check_crop(images: torch.Tensor, size: int, name: str) -> None:
    check_video(images, name)
    h, w = images.shape[-2:]
    if size > h or size > w:
        raise TransformError(f"{name}: crop size {size} is larger than the frames ({h} x {w})")


def random_crop_with_boxes(images: torch.Tensor, size: int, boxes: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """A random ``size x size`` crop (every offset equally likely) and the boxes moved into it and
    clipped to it."""
    _check_crop(images, size, "random_crop_with_boxes")
    h, w = images.shape[-2:]
    y_offset = int(torch.randint(0, h - size + 1, (1,)).item())
    x_offset = int(torch.randint(0, w - size + 1, (1,)).item())
    cropped = images[:, :, y_offset:y_offset + size, x_offset:x_offset + size]
    moved = crop_boxes(boxes, x_offset, y_offset)
    return cropped, clip_boxes_to_image(moved, cropped.shape[-2], cropped.shape[-1])


def _uniform_offsets(height: int, width: int, size: int, spatial_idx: int) -> Tuple[int, int]:
    if spatial_idx not in (0, 1, 2):
        raise TransformError(f"uniform_crop: spatial_idx must be 0, 1 or 2, got {spatial_idx}")
    y_offset = int(math.ceil((height - size) / 2))
    x_offset = int(math.ceil((width - size) / 2))
    if height > width:  # crops slide along the longer side: top / centre / bottom
        y_offset = {0: 0, 1: y_offset, 2: height - size}[spatial_idx]
    else:  # left / centre / right
        x_offset = {0: 0, 1: x_offset, 2: width - size}[spatial_idx]
    return y_offset, x_offset


def uniform_crop(images: torch.Tensor, size: int, spatial_idx: int) -> torch.Tensor:
    """A ``size x size`` crop: left/centre/right (``spatial_idx`` 0/1/2) along the width when the
    frames are wider than high, top/centre/bottom otherwise; centred on the other side."""
    _check_crop(images, size, "uniform_crop")
    y, x = _uniform_offsets(images.shape[-2], images.shape[-1], size, spatial_idx)
    return images[:, :, y:y + size, x:x + size]


def uniform_crop_with_boxes(images: torch.Tensor, size: int, spatial_idx: int,
                            boxes: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """``uniform_crop`` and the boxes moved into the crop and clipped to it."""
    _check_crop(images, size, "uniform_crop_with_boxes")
    y, x = _uniform_offsets(images.shape[-2], images.shape[-1], size, spatial_idx)
    cropped = images[:, :, y:y + size, x:x + size]
    return cropped, clip_boxes_to_image(crop_boxes(boxes, x, y), cropped.shape[-2], cropped.shape[-1])


def horizontal_flip_with_boxes(prob: float, images: torch.Tensor,
                               boxes: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """With probability ``prob``, mirror the frames and the boxes (``x -> width - 1 - x``)."""
    check_video(images, "horizontal_flip_with_boxes")
    boxes = _boxes(boxes)
    if float(torch.rand(1).item()) >= prob:
        return images, boxes
    width = images.shape[-1]
    flipped = boxes.clone()
    flipped[:, [0, 2]] = width - boxes[:, [2, 0]] - 1
    return images.flip(-1), flipped


def _sample_crop_box(height: int, width: int, scale: Tuple[float, float], aspect_ratio: Tuple[float, float],
                     log_uniform_ratio: bool, num_tries: int) -> Tuple[int, int, int, int]:
    """(top, left, h, w) of a crop with area fraction in ``scale`` and w/h in ``aspect_ratio``;
    after ``num_tries`` misses, the centred crop of the clamped aspect ratio."""
    area = height * width
    low, high = (math.log(aspect_ratio[0]), math.log(aspect_ratio[1])) if log_uniform_ratio else aspect_ratio
    for _ in range(num_tries):
        target_area = area * float(torch.empty(1).uniform_(scale[0], scale[1]).item())
        ratio = float(torch.empty(1).uniform_(low, high).item())
        ratio = math.exp(ratio) if log_uniform_ratio else ratio
        w = int(round(math.sqrt(target_area * ratio)))
        h = int(round(math.sqrt(target_area / ratio)))
        if 0 < w <= width and 0 < h <= height:
            top = int(torch.randint(0, height - h + 1, (1,)).item())
            left = int(torch.randint(0, width - w + 1, (1,)).item())
            return top, left, h, w
    in_ratio = float(width) / float(height)
    if in_ratio < min(aspect_ratio):
        w, h = width, int(round(width / min(aspect_ratio)))
    elif in_ratio > max(aspect_ratio):
        h, w = height, int(round(height * max(aspect_ratio)))
    else:
        w, h = width, height
    return (height - h) // 2, (width - w) // 2, h, w


def random_resized_crop(frames: torch.Tensor, target_height: int, target_width: int,
                        scale: Tuple[float, float], aspect_ratio: Tuple[float, float], shift: bool = False,
                        log_uniform_ratio: bool = True, interpolation: str = "bilinear",
                        num_tries: int = 10) -> torch.Tensor:
    """Crop a random box (area fraction in ``scale``, width/height in ``aspect_ratio``, sampled
    log-uniformly by default; either range may be given high to low) and resize it to ``target_height x target_width``. With ``shift``
    a second box is drawn and the crop moves linearly from the first to the second over time."""
    check_video(frames, "random_resized_crop")
    if num_tries < 1:
        raise TransformError(f"random_resized_crop: num_tries {num_tries} must be >= 1")
    # a reversed range is the same range, as PyTorchVideo takes it
    scale = (min(scale[0], scale[1]), max(scale[0], scale[1]))
    aspect_ratio = (min(aspect_ratio[0], aspect_ratio[1]), max(aspect_ratio[0], aspect_ratio[1]))
    if scale[0] <= 0:
        raise TransformError(f"random_resized_crop: scale {tuple(scale)} must be positive")
    if aspect_ratio[0] <= 0:
        raise TransformError(f"random_resized_crop: aspect_ratio {tuple(aspect_ratio)} must be positive")
    _check_interpolation(frames, interpolation, "random_resized_crop")
    c, t, height, width = frames.shape
    top, left, h, w = _sample_crop_box(height, width, scale, aspect_ratio, log_uniform_ratio, num_tries)
    size = [target_height, target_width]
    if not shift:
        window = frames[:, :, top:top + h, left:left + w]
        return resize_video(window, size, interpolation)
    top2, left2, h2, w2 = _sample_crop_box(height, width, scale, aspect_ratio, log_uniform_ratio, num_tries)
    # frame i's box: each of top, left, h, w at step i of linspace(first, second, T), truncated
    boxes = [[int(v) for v in torch.linspace(float(a), float(b), t).tolist()]
             for a, b in ((top, top2), (left, left2), (h, h2), (w, w2))]
    out = [resize_video(frames[:, i:i + 1, y:y + hh, x:x + ww], size, interpolation)
           for i, (y, x, hh, ww) in enumerate(zip(*boxes))]
    return torch.cat(out, 1)


def div_255(x: torch.Tensor) -> torch.Tensor:
    """``x / 255.0`` (uint8 frames to float in [0, 1])."""
    return x / 255.0
