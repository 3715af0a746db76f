"""The ``Video`` interface every decoder implements, and ``VideoPathHandler`` which opens a path
as an encoded video (a file) or a frame video (a folder of images)."""
from __future__ import annotations

import abc
import os
from typing import Any, Callable, Optional

import torch


class BadVideoError(RuntimeError):
    """A video that cannot be read: missing, empty, truncated or not a video. Names the file."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class Video(abc.ABC):
    """A video whose clips are read on demand: ``get_clip(start_sec, end_sec)`` returns
    ``{"video": (C, T, H, W) float32 tensor of 0..255 values, "audio": (S,) float tensor or None}``
    for the frames whose timestamps fall in ``[start_sec, end_sec)``, or ``None`` if none do.
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
                 dtype: torch.dtype = torch.float32) -> Optional[dict[str, Any]]:
        """The clip ``[start_sec, end_sec)``; ``frame_filter`` picks which of its frames to return
        (for example ``uniform_frame_filter(8)``) so the others are never converted to RGB."""

    def close(self) -> None:
        """Release the file (a no-op for videos that hold none)."""

    def __enter__(self) -> "Video":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class UniformFrameFilter:
    """Keep ``num_frames`` frames spread evenly over a clip: the indices PyTorchVideo's
    ``uniform_temporal_subsample`` picks (``linspace(0, T-1, num_frames)`` truncated to ints),
    so filtering at decode time equals subsampling afterwards. Picklable, for DataLoader workers."""

    def __init__(self, num_frames: int) -> None:
        if num_frames < 1:
            raise ValueError(f"num_frames must be >= 1, got {num_frames}")
        self.num_frames = num_frames

    def __call__(self, frame_indices: list[int]) -> list[int]:
        count = len(frame_indices)
        if count == 0:
            return []
        picks = torch.linspace(0, count - 1, self.num_frames).clamp(0, count - 1).long().tolist()
        return [frame_indices[i] for i in picks]

    def __repr__(self) -> str:
        return f"UniformFrameFilter({self.num_frames})"


class VideoPathHandler:
    """Opens a path as a ``Video``: a folder becomes a ``FrameVideo`` (frames sorted by the number
    in their file name, read at ``fps``), a file an ``EncodedVideo`` decoded with ``decoder``.
    Frame listings are cached per folder, as datasets revisit their videos every epoch."""

    def __init__(self) -> None:
        self.path_order_cache: dict[str, list[str]] = {}

    def video_from_path(self, filepath: str, decode_audio: bool = False, decoder: str = "pyav",
                        fps: int = 30) -> Video:
        if os.path.isdir(filepath):
            from .frame_video import FrameVideo

            return FrameVideo.from_directory(filepath, fps, path_order_cache=self.path_order_cache)
        from .encoded_video import EncodedVideo

        return EncodedVideo.from_path(filepath, decode_audio=decode_audio, decoder=decoder)
