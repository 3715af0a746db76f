"""Image operations of TorchVision's functional API, ours, on tensors ``(..., C, H, W)``.

They work on single images, frame stacks ``(T, C, H, W)`` and any other leading dims, in uint8
(0..255) or float (0..1) as TorchVision's tensor functions do: a uint8 input gives a uint8 output
(blends are clamped, then truncated, as TorchVision truncates). Colour ops need 3 RGB channels
(or 1 for the ones that are defined on grey images).
"""
from __future__ import annotations

import math
from typing import List, Optional, Sequence

import torch
import torch.nn.functional as F

from graphspec.registry import python_scalar_args

def _linear_modes() -> List[str]:
    """Modes that take ``align_corners`` (a function: TorchScript reads no module-level lists)."""
    return ["linear", "bilinear", "bicubic", "trilinear"]


def _bound(img: torch.Tensor) -> float:
    return 1.0 if img.is_floating_point() else 255.0


def _check_image(img: torch.Tensor, name: str) -> None:
    if img.dim() < 3:
        raise ValueError(f"{name}: expected an image tensor (..., C, H, W), got shape {list(img.shape)}")


def _check_rgb(img: torch.Tensor, name: str, grey_ok: bool = True) -> None:
    _check_image(img, name)
    allowed = (1, 3) if grey_ok else (3,)
    if img.shape[-3] not in allowed:
        raise ValueError(f"{name}: expected {' or '.join(map(str, allowed))} channels at dim -3 of "
                         f"(..., C, H, W), got shape {list(img.shape)}")


def _blend(img1: torch.Tensor, img2: torch.Tensor, ratio: float) -> torch.Tensor:
    bound = _bound(img1)
    return (ratio * img1.float() + (1.0 - ratio) * img2.float()).clamp(0, bound).to(img1.dtype)


def check_uint8_interpolation(x: torch.Tensor, interpolation: str, name: str) -> None:
    """When ``x`` is uint8, a mode torch resizes uint8 frames with (the others need float input).
    TorchScript-able: string concatenation, the modes listed inline."""
    if x.dtype == torch.uint8 and interpolation not in ["nearest", "nearest-exact", "bilinear", "bicubic"]:
        raise ValueError(name + ": interpolation '" + interpolation + "' needs a float video; a uint8 video "
                         + str(list(x.shape)) + " supports nearest, bilinear and bicubic")


def interpolate(x: torch.Tensor, size: List[int], interpolation: str = "bilinear",
                antialias: bool = False) -> torch.Tensor:
    """Resize the last two dims of ``(..., C, H, W)`` to ``size`` (align_corners False, as
    ``F.interpolate``); uint8 stays uint8 (rounded). TorchScript-able."""
    lead = list(x.shape[:-3])
    flat = x.reshape([-1] + list(x.shape[-3:]))
    check_uint8_interpolation(x, interpolation, "interpolate")
    align: Optional[bool] = None
    if interpolation in _linear_modes():
        align = False
    out = F.interpolate(flat, size=size, mode=interpolation, align_corners=align,
                        antialias=antialias and (interpolation == "bilinear" or interpolation == "bicubic"))
    return out.reshape(lead + list(out.shape[-3:]))


def resize_video(x: torch.Tensor, size: List[int], interpolation: str = "bilinear",
                 antialias: bool = False) -> torch.Tensor:
    """Resize the frames of a (C, T, H, W) clip to ``size``, contiguous. A uint8 clip (bilinear) is resized as
    uint8 frames in channels-last order, torch's fast uint8 kernel (rounded to nearest), so it
    need not be converted to float first; a float clip as ``F.interpolate`` of (C, T, H, W)
    (the T frames as channels), which is what PyTorchVideo computes. TorchScript-able."""
    if x.dtype == torch.uint8 and interpolation == "bicubic":
        # torch's uint8 bicubic kernel clamps between its two passes (up to 6 levels off the float
        # result): resize in float and round, so uint8 is the rounded float result as documented
        return interpolate(x.float(), size, interpolation, antialias).round().clamp(0, 255).to(torch.uint8)
    if x.dtype == torch.uint8 and interpolation == "bilinear":
        frames = x.transpose(0, 1).contiguous(memory_format=torch.channels_last)
        return interpolate(frames, size, interpolation, antialias).transpose(0, 1).contiguous()
    return interpolate(x, size, interpolation, antialias)


def resized_size(h: int, w: int, size: List[int], max_size: Optional[int]) -> List[int]:
    """The ``[h, w]`` TorchVision's ``resize`` gives: one value scales the shorter side to it
    (aspect kept, the longer side truncated, capped at ``max_size``); two set both.
    TorchScript-able."""
    if len(size) == 2:
        return [size[0], size[1]]
    if len(size) != 1:
        raise ValueError("resize: size must be an int or (height, width), got " + str(size))
    small, large = min(h, w), max(h, w)
    new_small, new_large = size[0], int(size[0] * large / small)
    if max_size is not None and new_large > max_size:
        new_small, new_large = int(max_size * new_small / new_large), max_size
    return [new_small, new_large] if h <= w else [new_large, new_small]


@python_scalar_args  # Python-only (like affine): numpy sizes and angles are the numbers they are
def resize(img: torch.Tensor, size: Sequence[int] | int, interpolation: str = "bilinear",
           max_size: Optional[int] = None, antialias: bool = True) -> torch.Tensor:
    """TorchVision's ``resize``: an int scales the shorter side to ``size`` (aspect kept, the longer
    side truncated, capped at ``max_size``); ``(h, w)`` sets both."""
    _check_image(img, "resize")
    h, w = img.shape[-2:]
    new_h, new_w = resized_size(h, w, [size] if isinstance(size, int) else list(size), max_size)
    if (new_h, new_w) == (h, w):
        return img
    return interpolate(img, [new_h, new_w], interpolation, antialias)


def crop(img: torch.Tensor, top: int, left: int, height: int, width: int) -> torch.Tensor:
    """The window ``[top:top+height, left:left+width]``; parts outside the image are zero."""
    h, w = img.shape[-2], img.shape[-1]
    if top >= 0 and left >= 0 and top + height <= h and left + width <= w:
        return img[..., top:top + height, left:left + width]
    pad = [max(-left, 0), max(left + width - w, 0), max(-top, 0), max(top + height - h, 0)]
    padded = F.pad(img, pad)
    top, left = top + pad[2], left + pad[0]
    return padded[..., top:top + height, left:left + width]


def center_crop(img: torch.Tensor, size: List[int]) -> torch.Tensor:
    """TorchVision's ``center_crop`` of ``size`` ``[h, w]`` (or ``[s]``): offsets
    ``round((H - h) / 2)``; zero-padded when the image is smaller."""
    th, tw = size[0], size[-1]
    h, w = img.shape[-2], img.shape[-1]
    return crop(img, int(round((h - th) / 2.0)), int(round((w - tw) / 2.0)), th, tw)


def hflip(img: torch.Tensor) -> torch.Tensor:
    return img.flip(-1)


def vflip(img: torch.Tensor) -> torch.Tensor:
    return img.flip(-2)


def rgb_to_grayscale(img: torch.Tensor) -> torch.Tensor:
    """ITU-R 601-2 luma (0.2989 R + 0.587 G + 0.114 B), one channel, same dtype."""
    _check_rgb(img, "rgb_to_grayscale", grey_ok=False)
    r, g, b = img.float().unbind(-3)
    grey = (0.2989 * r + 0.587 * g + 0.114 * b).unsqueeze(-3)
    return grey if img.is_floating_point() else grey.to(img.dtype)


def adjust_brightness(img: torch.Tensor, brightness_factor: float) -> torch.Tensor:
    """Blend with black: 0 gives black, 1 the image, 2 twice as bright (clamped)."""
    if brightness_factor < 0:
        raise ValueError(f"adjust_brightness: brightness_factor {brightness_factor} must be >= 0")
    _check_rgb(img, "adjust_brightness")
    return _blend(img, torch.zeros_like(img), brightness_factor)


def adjust_contrast(img: torch.Tensor, contrast_factor: float) -> torch.Tensor:
    """Blend with the mean grey level of each image: 0 gives flat grey, 1 the image."""
    if contrast_factor < 0:
        raise ValueError(f"adjust_contrast: contrast_factor {contrast_factor} must be >= 0")
    _check_rgb(img, "adjust_contrast")
    grey = rgb_to_grayscale(img) if img.shape[-3] == 3 else img
    mean = grey.float().mean(dim=(-3, -2, -1), keepdim=True)
    return _blend(img, mean.expand(img.shape), contrast_factor)


def adjust_saturation(img: torch.Tensor, saturation_factor: float) -> torch.Tensor:
    """Blend with the grey image: 0 gives grey, 1 the image, 2 doubled saturation."""
    if saturation_factor < 0:
        raise ValueError(f"adjust_saturation: saturation_factor {saturation_factor} must be >= 0")
    _check_rgb(img, "adjust_saturation")
    if img.shape[-3] == 1:
        return img
    return _blend(img, rgb_to_grayscale(img).expand(img.shape), saturation_factor)


def adjust_sharpness(img: torch.Tensor, sharpness_factor: float) -> torch.Tensor:
    """Blend with a smoothed image (3x3 kernel, centre 5, the rest 1, /13; border pixels kept)."""
    if sharpness_factor < 0:
        raise ValueError(f"adjust_sharpness: sharpness_factor {sharpness_factor} must be >= 0")
    _check_rgb(img, "adjust_sharpness")
    if img.shape[-1] <= 2 or img.shape[-2] <= 2:
        return img
    kernel = torch.ones(3, 3, dtype=torch.float32, device=img.device)
    kernel[1, 1] = 5.0
    kernel = (kernel / kernel.sum()).expand(img.shape[-3], 1, 3, 3)
    flat = img.reshape((-1,) + tuple(img.shape[-3:])).float()
    smooth = F.conv2d(flat, kernel, groups=img.shape[-3])
    if not img.is_floating_point():
        smooth = smooth.round()
    degenerate = flat.clone()
    degenerate[..., 1:-1, 1:-1] = smooth
    return _blend(img, degenerate.reshape(img.shape).to(img.dtype), sharpness_factor)


def _rgb_to_hsv(img: torch.Tensor) -> torch.Tensor:
    r, g, b = img.unbind(-3)
    maxc, minc = img.max(dim=-3).values, img.min(dim=-3).values
    delta = maxc - minc
    s = delta / torch.where(maxc == 0, torch.ones_like(maxc), maxc)
    safe = torch.where(delta == 0, torch.ones_like(delta), delta)
    rc, gc, bc = (maxc - r) / safe, (maxc - g) / safe, (maxc - b) / safe
    h = torch.where(maxc == r, bc - gc, torch.where(maxc == g, 2.0 + rc - bc, 4.0 + gc - rc))
    h = torch.where(delta == 0, torch.zeros_like(h), h)
    return torch.stack(((h / 6.0) % 1.0, s, maxc), dim=-3)


def _hsv_to_rgb(img: torch.Tensor) -> torch.Tensor:
    h, s, v = img.unbind(-3)
    i = torch.floor(h * 6.0)
    f = h * 6.0 - i
    i = i.to(torch.int64) % 6
    p, q, t = v * (1.0 - s), v * (1.0 - s * f), v * (1.0 - s * (1.0 - f))
    table = torch.stack((torch.stack((v, q, p, p, t, v), -1), torch.stack((t, v, v, q, p, p), -1),
                         torch.stack((p, p, t, v, v, q), -1)), dim=-4)  # (..., 3, H, W, 6)
    return torch.gather(table, -1, i.unsqueeze(-3).expand(table.shape[:-1]).unsqueeze(-1)).squeeze(-1)


def adjust_hue(img: torch.Tensor, hue_factor: float) -> torch.Tensor:
    """Shift the hue by ``hue_factor`` turns (in [-0.5, 0.5]) in HSV space."""
    if not -0.5 <= hue_factor <= 0.5:
        raise ValueError(f"adjust_hue: hue_factor {hue_factor} must be in [-0.5, 0.5]")
    _check_rgb(img, "adjust_hue")
    if img.shape[-3] == 1:
        return img
    x = img.float() / _bound(img)
    hsv = _rgb_to_hsv(x)
    hsv = torch.stack(((hsv[..., 0, :, :] + hue_factor) % 1.0, hsv[..., 1, :, :], hsv[..., 2, :, :]), dim=-3)
    out = _hsv_to_rgb(hsv)
    return out if img.is_floating_point() else (out * 255.0).round().clamp(0, 255).to(img.dtype)


def invert(img: torch.Tensor) -> torch.Tensor:
    _check_image(img, "invert")
    return _bound(img) - img if img.is_floating_point() else 255 - img


def posterize(img: torch.Tensor, bits: int) -> torch.Tensor:
    """Keep the ``bits`` highest bits of each uint8 value."""
    if img.dtype != torch.uint8:
        raise ValueError(f"posterize: expected a uint8 image, got {img.dtype}")
    if not 0 <= bits <= 8:
        raise ValueError(f"posterize: bits {bits} must be in [0, 8]")
    mask = -int(2 ** (8 - bits))
    return img & mask


def solarize(img: torch.Tensor, threshold: float) -> torch.Tensor:
    """Invert every value at or above ``threshold`` (same scale as the image)."""
    _check_image(img, "solarize")
    if threshold > _bound(img):
        raise ValueError(f"solarize: threshold {threshold} is above the image's maximum {_bound(img)}")
    return torch.where(img >= threshold, invert(img), img)


def autocontrast(img: torch.Tensor) -> torch.Tensor:
    """Stretch each channel of each image so its darkest value is 0 and its brightest the maximum;
    a flat channel is kept as it is."""
    _check_image(img, "autocontrast")
    bound = _bound(img)
    x = img.float()
    low = x.amin(dim=(-2, -1), keepdim=True)
    high = x.amax(dim=(-2, -1), keepdim=True)
    flat = high == low
    low = torch.where(flat, torch.zeros_like(low), low)
    scale = torch.where(flat, torch.ones_like(high), bound / (high - low).clamp_min(1e-12))
    return ((x - low) * scale).clamp(0, bound).to(img.dtype)


def _equalize_channel(channel: torch.Tensor) -> torch.Tensor:
    hist = torch.bincount(channel.reshape(-1).to(torch.int64), minlength=256)
    nonzero = hist[hist != 0]
    step = int(nonzero[:-1].sum()) // 255 if nonzero.numel() > 1 else 0
    if step == 0:
        return channel
    lut = torch.div(torch.cumsum(hist, 0) + step // 2, step, rounding_mode="floor")
    lut = F.pad(lut, [1, 0])[:-1].clamp(0, 255)
    return lut[channel.to(torch.int64)].to(torch.uint8)


def equalize(img: torch.Tensor) -> torch.Tensor:
    """Histogram equalisation of each channel of each uint8 image (PIL's algorithm)."""
    if img.dtype != torch.uint8:
        raise ValueError(f"equalize: expected a uint8 image, got {img.dtype}")
    _check_image(img, "equalize")
    flat = img.reshape((-1,) + tuple(img.shape[-2:]))
    return torch.stack([_equalize_channel(c) for c in flat]).reshape(img.shape)


def _inverse_affine_matrix(center: Sequence[float], angle: float, translate: Sequence[float], scale: float,
                           shear: Sequence[float]) -> List[float]:
    """Inverse of ``T * C * R * S * Sh * C^-1`` (TorchVision's affine convention, degrees; the
    rotation is clockwise for a positive angle as the image is displayed)."""
    rot, sx, sy = math.radians(angle), math.radians(shear[0]), math.radians(shear[1])
    cx, cy = center
    tx, ty = translate
    a = math.cos(rot - sy) / math.cos(sy)
    b = -math.cos(rot - sy) * math.tan(sx) / math.cos(sy) - math.sin(rot)
    c = math.sin(rot - sy) / math.cos(sy)
    d = -math.sin(rot - sy) * math.tan(sx) / math.cos(sy) + math.cos(rot)
    matrix = [d, -b, 0.0, -c, a, 0.0]
    matrix = [m / scale for m in matrix]
    matrix[2] += matrix[0] * (-cx - tx) + matrix[1] * (-cy - ty)
    matrix[5] += matrix[3] * (-cx - tx) + matrix[4] * (-cy - ty)
    matrix[2] += cx
    matrix[5] += cy
    return matrix


@python_scalar_args
def affine(img: torch.Tensor, angle: float, translate: Sequence[float], scale: float, shear: Sequence[float],
           interpolation: str = "nearest", fill: Optional[Sequence[float]] = None) -> torch.Tensor:
    """Rotate by ``angle`` degrees, shear by ``shear`` degrees (x, y), scale and translate by
    ``translate`` pixels about the image centre; pixels from outside are ``fill`` (default 0)."""
    _check_image(img, "affine")
    if scale <= 0:
        raise ValueError(f"affine: scale {scale} must be positive")
    if isinstance(shear, (int, float)):
        shear = [float(shear), 0.0]
    h, w = img.shape[-2:]
    # centre of the image in pixel coordinates relative to the pixel grid's centre
    m = _inverse_affine_matrix([0.0, 0.0], angle, translate, scale, shear)
    full = torch.tensor([m[:3], m[3:], [0.0, 0.0, 1.0]], dtype=torch.float64)
    # grid_sample works in [-1, 1] coordinates: map pixels -> normalized
    to_pix = torch.tensor([[w / 2.0, 0.0, 0.0], [0.0, h / 2.0, 0.0], [0.0, 0.0, 1.0]], dtype=torch.float64)
    norm_theta = (torch.linalg.inv(to_pix) @ full @ to_pix)[:2].to(torch.float32).to(img.device)
    flat = img.reshape((-1,) + tuple(img.shape[-3:])).float()
    grid = F.affine_grid(norm_theta.expand(flat.shape[0], 2, 3), list(flat.shape), align_corners=False)
    ones = torch.ones_like(flat[:, :1])
    sampled = F.grid_sample(torch.cat([flat, ones], 1), grid, mode=interpolation, padding_mode="zeros",
                            align_corners=False)
    out, mask = sampled[:, :-1], sampled[:, -1:]
    fill_value = (torch.zeros(flat.shape[1]) if fill is None else torch.tensor(list(fill), dtype=torch.float32)
                  ).to(img.device)
    fill_value = fill_value.reshape(1, -1, 1, 1).expand(1, flat.shape[1], 1, 1)
    if interpolation == "nearest":
        mask = (mask > 0.5).float()
    out = out * mask + (1.0 - mask) * fill_value
    if not img.is_floating_point():
        out = out.round().clamp(0, 255)
    return out.to(img.dtype).reshape(img.shape)


def rotate(img: torch.Tensor, angle: float, interpolation: str = "nearest",
           fill: Optional[Sequence[float]] = None) -> torch.Tensor:
    """Rotate ``angle`` degrees counter-clockwise about the centre, keeping the size."""
    return affine(img, angle=-angle, translate=[0.0, 0.0], scale=1.0, shear=[0.0, 0.0],
                  interpolation=interpolation, fill=fill)
