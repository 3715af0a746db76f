"""What PyTorchVideo takes from TorchVision's transforms, ours, on video clips.

Spatial transforms act on the last two dims, so they take a (C, T, H, W) clip (or a (T, C, H, W)
frame stack) as TorchVision's take an image. ``CenterCrop``, ``RandomCrop``,
``RandomHorizontalFlip`` and ``Resize`` are TorchScript-able; ``Compose`` is not (use
``nn.Sequential`` to script a chain, as PyTorchVideo advises).
"""

from typing import Any, Callable, List, Optional, Sequence, Union

import torch
import torch.nn as nn

from . import image_ops
from .layout import check_video
from .transforms import args_repr

__all__ = ["Compose", "Lambda", "CenterCrop", "RandomCrop", "RandomHorizontalFlip", "Resize", "MultiView"]


def _pair(size: Union[int, Sequence[int]], name: str) -> List[int]:
    if isinstance(size, int):
        return [size, size]
    if len(size) == 1:
        return [int(size[0]), int(size[0])]
    if len(size) == 2:
        return [int(size[0]), int(size[1])]
    raise ValueError(f"{name}: size must be an int or (height, width), got {size!r}")


class Compose:
    """Apply ``transforms`` in order."""

    def __init__(self, transforms: List[Callable]):
        self.transforms = list(transforms)

    def __call__(self, x: Any) -> Any:
        for transform in self.transforms:
            x = transform(x)
        return x

    def __repr__(self) -> str:
        inner = "".join("\n    " + repr(t).replace("\n", "\n    ") for t in self.transforms)
        return f"Compose({inner}\n)"


class Lambda:
    """A user function as a transform (Python only: a spec cannot name arbitrary code)."""

    def __init__(self, lambd: Callable):
        if not callable(lambd):
            raise TypeError(f"Lambda: expected a callable, got {type(lambd).__name__}")
        self.lambd = lambd

    def __call__(self, x: Any) -> Any:
        return self.lambd(x)


class CenterCrop(nn.Module):
    """The centre ``size`` window (offsets ``round((H - h) / 2)``); zero-padded when smaller."""

    def __init__(self, size: Union[int, List[int]]):
        super().__init__()
        self.size: List[int] = _pair(size, "CenterCrop")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_video(x, "CenterCrop")
        return image_ops.center_crop(x, self.size)


class RandomCrop(nn.Module):
    """A ``size`` window at a uniformly random offset (every position equally likely).

    ``padding`` (int or [left/right, top/bottom] or [left, top, right, bottom]) pads first;
    ``pad_if_needed`` pads frames smaller than the crop; otherwise they are an error."""

    padding: List[int]

    def __init__(self, size: Union[int, List[int]], padding: Optional[Union[int, List[int]]] = None,
                 pad_if_needed: bool = False, fill: float = 0.0, padding_mode: str = "constant"):
        super().__init__()
        self.size: List[int] = _pair(size, "RandomCrop")
        pads = [] if padding is None else ([padding] * 4 if isinstance(padding, int) else list(padding))
        if len(pads) == 2:
            pads = [pads[0], pads[1], pads[0], pads[1]]
        if len(pads) not in (0, 4):
            raise ValueError(f"RandomCrop: padding must have 1, 2 or 4 values, got {padding!r}")
        self.padding: List[int] = [pads[0], pads[2], pads[1], pads[3]] if pads else []  # F.pad order
        self.pad_if_needed = pad_if_needed
        self.fill = fill
        self.padding_mode = padding_mode

    def _pad(self, x: torch.Tensor, pads: List[int]) -> torch.Tensor:
        if self.padding_mode == "constant":
            return torch.nn.functional.pad(x, pads, mode="constant", value=self.fill)
        return torch.nn.functional.pad(x.float(), pads, mode=self.padding_mode).to(x.dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_video(x, "RandomCrop")
        if len(self.padding) > 0:
            x = self._pad(x, self.padding)
        th, tw = self.size[0], self.size[1]
        h, w = x.shape[-2], x.shape[-1]
        if self.pad_if_needed and (h < th or w < tw):
            ph, pw = max(th - h, 0), max(tw - w, 0)
            x = self._pad(x, [pw, pw, ph, ph])
            h, w = x.shape[-2], x.shape[-1]
        if h < th or w < tw:
            raise ValueError("RandomCrop: crop size " + str(self.size) + " is larger than the frames "
                             + str([h, w]) + " of a video with shape " + str(list(x.shape)))
        top = int(torch.randint(0, h - th + 1, (1,)).item())
        left = int(torch.randint(0, w - tw + 1, (1,)).item())
        return x[..., top:top + th, left:left + tw]


class RandomHorizontalFlip(nn.Module):
    """Mirror the frames (last dim) with probability ``p``."""

    def __init__(self, p: float = 0.5):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"RandomHorizontalFlip: p {p} must be in [0, 1]")
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_video(x, "RandomHorizontalFlip")
        if float(torch.rand(1).item()) < self.p:
            return x.flip(-1)
        return x


class Resize(nn.Module):
    """TorchVision's ``Resize`` on the frames: an int scales the shorter side (aspect kept,
    ``int(size * long / short)``), ``[h, w]`` sets both. uint8 clips stay uint8."""

    max_size: Optional[int]

    def __init__(self, size: Union[int, List[int]], interpolation: str = "bilinear",
                 max_size: Optional[int] = None, antialias: bool = True):
        super().__init__()
        self.size: List[int] = [size] if isinstance(size, int) else [int(s) for s in size]
        if len(self.size) not in (1, 2):
            raise ValueError(f"Resize: size must be an int or (height, width), got {size!r}")
        self.interpolation = interpolation
        self.max_size = max_size
        self.antialias = antialias

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_video(x, "Resize")
        size = image_ops.resized_size(x.shape[-2], x.shape[-1], self.size, self.max_size)
        return image_ops.resize_video(x, size, self.interpolation, self.antialias)


class MultiView:
    """``num_views`` independent draws of ``transform`` on the same clip, as a list: the two
    augmented views of contrastive self-supervised learning (SimCLR, BYOL, MoCo)."""

    def __init__(self, transform: Callable, num_views: int = 2):
        if num_views < 1:
            raise ValueError(f"MultiView: num_views {num_views} must be >= 1")
        self.transform = transform
        self.num_views = num_views

    def __call__(self, x: torch.Tensor) -> List[torch.Tensor]:
        return [self.transform(x) for _ in range(self.num_views)]


for _cls in (CenterCrop, RandomCrop, RandomHorizontalFlip, Resize):
    _cls.extra_repr = args_repr
