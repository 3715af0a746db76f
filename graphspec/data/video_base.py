"""The ``Video`` interface every decoder implements (``graphspec.data.video.Video``).

Kept apart from ``video.py``, which opens paths as frame or encoded videos: the decoders import
this module, and ``video.py`` imports the decoders, with no import circle."""
from __future__ import annotations

import abc
from typing import Any, Callable, Optional

import torch


class Video(abc.ABC):
    """A video whose clips are read on demand: ``get_clip(start_sec, end_sec)`` returns
    ``{"video": (C, T, H, W) float32 tensor of 0..255 values, "audio": (S,) float tensor or None}``
    for the frames whose timestamps fall in ``[start_sec, end_sec)``; ``"video"`` is ``None``
    when none do (as PyTorchVideo's ``{"video": None, "audio": None}``; ``FrameVideo`` returns
    ``None`` for a clip starting outside the video, as PyTorchVideo's).
    ``dtype=torch.uint8`` keeps the frames as bytes (4x less memory; resizing bytes is faster),
    for transforms that convert to float themselves."""

    _name: str = "<video>"
    _duration: Any = 0.0

    @property
    def name(self) -> str:
        """The file (or frame folder) name."""
        return self._name

    @property
    def duration(self) -> float:
        """Duration of the video in seconds."""
        return self._duration

    @abc.abstractmethod
    def get_clip(self, start_sec: float, end_sec: float,
                 frame_filter: Optional[Callable[[list[int]], list[int]]] = None, *,
                 dtype: torch.dtype = torch.float32) -> dict[str, Any]:
        """The clip ``[start_sec, end_sec)``; ``frame_filter`` picks which of its frames to return
        (for example ``uniform_frame_filter(8)``) so the others are never converted to RGB."""

    def close(self) -> None:
        """Release the file (a no-op for videos that hold none)."""

    def __enter__(self) -> "Video":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
