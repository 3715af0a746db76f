"""``VideoPathHandler``, which opens a path as an encoded video (a file) or a frame video (a folder
of images), and ``UniformFrameFilter``. ``Video`` (the interface) and ``BadVideoError`` are
re-exported from their modules."""
from __future__ import annotations

import os

import torch

from .encoded_video import EncodedVideo
from .errors import BadVideoError  # noqa: F401 (re-exported)
from .frame_video import FrameVideo
from .video_base import Video


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
            return FrameVideo.from_directory(filepath, fps, path_order_cache=self.path_order_cache)
        return EncodedVideo.from_path(filepath, decode_audio=decode_audio, decoder=decoder)
