"""``FrameVideo``: a video stored as a folder of image files, one per frame.

Frame ``i`` (0-based, in the order of the number in the file names: ``img_00001.jpg``,
``img_00002.jpg``, ...) is shown at ``i / fps`` seconds; the video lasts ``len(frames) / fps``.
A clip ``[start_sec, end_sec)`` holds frames ``ceil(start_sec * fps) .. ceil(end_sec * fps) - 1``.
Images are decoded with PyAV (FFmpeg's JPEG/PNG decoders).
"""
from __future__ import annotations

import math
import os
import re
from typing import Any, Callable, Optional, Sequence

import av
import numpy as np
import torch

from .utils import optional_threaded_foreach, thwc_to_cthw
from .errors import BadVideoError, DataAssertionError, EmptyVideoError, VideoNotFoundError
from .video_base import Video

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")
_NUMBER = re.compile(r"\d+")
_EPS = 1e-6


def _frame_number(path: str) -> tuple:
    """Sort key: the last number in the file name, then the name (``img_10`` after ``img_9``)."""
    name = os.path.basename(path)
    numbers = _NUMBER.findall(name)
    return (int(numbers[-1]) if numbers else -1, name)


def read_image(path: str) -> np.ndarray:
    """An image file as an (H, W, 3) uint8 RGB array; ``BadVideoError`` naming the file if it
    cannot be read."""
    try:
        with av.open(path) as container:
            for frame in container.decode(video=0):
                return frame.to_ndarray(format="rgb24")
    except (av.error.FFmpegError, OSError, ValueError) as err:
        raise BadVideoError(path, f"not a readable image ({err})") from None
    raise BadVideoError(path, "image file holds no picture")


class FrameVideo(Video):
    """A video read from per-frame image files.

    ``video_frame_to_path_fn(i)`` (or the list ``video_frame_paths``) gives the file of frame
    ``i``; ``multithreaded_io`` reads a clip's files in parallel threads."""

    def __init__(self, duration: float, fps: float, video_frame_to_path_fn: Optional[Callable[[int], str]] = None,
                 video_frame_paths: Optional[Sequence[str]] = None, multithreaded_io: bool = False) -> None:
        if (video_frame_to_path_fn is None) == (video_frame_paths is None):
            raise DataAssertionError("FrameVideo needs exactly one of video_frame_to_path_fn or video_frame_paths")
        if fps <= 0:
            raise ValueError(f"fps must be positive, got {fps}")
        self._duration = duration
        self._fps = fps
        self._paths = list(video_frame_paths) if video_frame_paths is not None else None
        self._path_fn = video_frame_to_path_fn
        self._multithreaded_io = multithreaded_io
        self._name = os.path.basename(os.path.dirname(self._frame_path(0))) if self._frame_count() else "<empty>"

    @classmethod
    def from_directory(cls, path: str, fps: float = 30.0, multithreaded_io: bool = False,
                       path_order_cache: Optional[dict[str, list[str]]] = None) -> "FrameVideo":
        """Every image file of the folder ``path``, ordered by the number in its name."""
        if path_order_cache is not None and path in path_order_cache:
            return cls.from_frame_paths(path_order_cache[path], fps, multithreaded_io)
        if not os.path.isdir(path):
            raise VideoNotFoundError(path, "no such frame folder")
        files = sorted((os.path.join(path, f) for f in os.listdir(path) if f.lower().endswith(IMAGE_EXTENSIONS)),
                       key=_frame_number)
        if not files:
            raise EmptyVideoError(path, "frame folder holds no image files")
        if path_order_cache is not None:
            path_order_cache[path] = files
        return cls.from_frame_paths(files, fps, multithreaded_io)

    @classmethod
    def from_frame_paths(cls, video_frame_paths: Sequence[str], fps: float = 30.0,
                         multithreaded_io: bool = False) -> "FrameVideo":
        if not video_frame_paths:
            raise EmptyVideoError("<no frame paths>", "from_frame_paths needs at least one frame path")
        return cls(len(video_frame_paths) / fps, fps, video_frame_paths=video_frame_paths,
                   multithreaded_io=multithreaded_io)

    def _frame_count(self) -> int:
        if self._paths is not None:
            return len(self._paths)
        return math.ceil(self._duration * self._fps - _EPS)

    def _frame_path(self, index: int) -> str:
        return self._paths[index] if self._paths is not None else self._path_fn(index)

    def frame_indices(self, start_sec: float, end_sec: float) -> list[int]:
        """Indices of the frames shown in ``[start_sec, end_sec)``."""
        first = max(math.ceil(float(start_sec) * self._fps - _EPS), 0)
        stop = min(math.ceil(float(end_sec) * self._fps - _EPS), self._frame_count())
        return list(range(first, stop))

    def get_clip(self, start_sec: float, end_sec: float,
                 frame_filter: Optional[Callable[[list[int]], list[int]]] = None, *,
                 dtype: torch.dtype = torch.float32) -> Optional[dict[str, Any]]:
        """``{"video": (C, T, H, W) float32, "frame_indices": [...], "audio": None}`` for the
        frames of ``[start_sec, end_sec)`` (``frame_filter`` picks among their indices);
        ``"video"`` is ``None`` when the range holds no frame. A clip starting before 0 or after
        the video's duration rounded up to a second is ``None`` itself, as PyTorchVideo's."""
        if start_sec < 0 or start_sec > math.ceil(self.duration):
            return None
        indices = self.frame_indices(start_sec, end_sec)
        if frame_filter is not None:
            indices = frame_filter(indices)
        if not indices:
            return {"video": None, "frame_indices": [], "audio": None}
        images: list[Optional[np.ndarray]] = [None] * len(indices)

        def load(slot: int, index: int) -> None:
            images[slot] = read_image(self._frame_path(index))

        optional_threaded_foreach(load, enumerate(indices), self._multithreaded_io)
        shapes = {image.shape for image in images}
        if len(shapes) > 1:
            raise BadVideoError(self._frame_path(indices[0]), f"frames of one video differ in size: {sorted(shapes)}")
        video = thwc_to_cthw(torch.from_numpy(np.stack(images))).to(dtype)
        return {"video": video, "frame_indices": indices, "audio": None}
