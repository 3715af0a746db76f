"""Tiny on-disk fixtures in the datasets' real formats, shared by the dataset tests.

Frame ``i`` of video ``v`` is a flat 32x32 image with red ``STEP * (i % 32)``, blue
``STEP * (i // 32)`` and green ``STEP * v``, so the frames a dataset returns can be identified
after JPEG / H.264 coding."""
from __future__ import annotations

import csv
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import torch

STEP = 8
SIZE = 32


def frame_rgb(index: int, video: int = 0) -> np.ndarray:
    rgb = np.zeros((SIZE, SIZE, 3), np.uint8)
    rgb[..., 0] = STEP * (index % 32)
    rgb[..., 1] = STEP * video
    rgb[..., 2] = STEP * (index // 32)
    return rgb


def write_jpeg(path: Path, rgb: np.ndarray) -> Path:
    """One JPEG image, encoded with PyAV's MJPEG encoder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    codec = av.CodecContext.create("mjpeg", "w")
    codec.width, codec.height, codec.pix_fmt = rgb.shape[1], rgb.shape[0], "yuvj420p"
    codec.time_base = Fraction(1, 1)
    frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuvj420p")
    path.write_bytes(b"".join(bytes(p) for p in [*codec.encode(frame), *codec.encode(None)]))
    return path


def write_frames(folder: Path, names: list[str], video: int = 0) -> list[Path]:
    """``names[i]`` gets the image of frame ``i`` of ``video``."""
    return [write_jpeg(folder / name, frame_rgb(i, video)) for i, name in enumerate(names)]


def write_video(path: Path, num_frames: int, fps: int = 10, video: int = 0) -> Path:
    """An H.264 video whose frame ``i`` is ``frame_rgb(i, video)``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width = stream.height = SIZE
        stream.pix_fmt = "yuv420p"
        stream.codec_context.options = {"crf": "0", "bf": "0"}
        for i in range(num_frames):
            out.mux(stream.encode(av.VideoFrame.from_ndarray(frame_rgb(i, video), format="rgb24")))
        out.mux(stream.encode())
    return path


def frame_ids(video: torch.Tensor) -> list[int]:
    """The frame indices a (C, T, H, W) clip of fixture frames shows (read from the red channel)."""
    low, high = ((video[c].float().mean(dim=(1, 2)) / STEP).round().long() for c in (0, 2))
    return (low + 32 * high).tolist()


def video_ids(video: torch.Tensor) -> set[int]:
    return {int(v) for v in (video[1].float().mean(dim=(1, 2)) / STEP).round()}


def write_csv(path: Path, header: list[str], rows: list[list], delimiter: str = ",") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        writer.writerow(header)
        writer.writerows(rows)
    return path
