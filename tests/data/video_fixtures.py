"""Tiny videos for the decoding and dataset tests, written with PyAV in real on-disk formats.

Frame ``i`` is a flat 32x32 picture whose red level is ``8 * (i % 32)`` and blue level
``8 * (i // 32)``, so a decoded frame tells its index even after lossy coding. Videos use
x264's defaults (B-frames, pyramid) with a short keyframe interval, as real datasets do."""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import torch

SIZE = 32
STEP = 8


def frame_rgb(index: int) -> np.ndarray:
    rgb = np.zeros((SIZE, SIZE, 3), np.uint8)
    rgb[..., 0] = STEP * (index % 32)
    rgb[..., 2] = STEP * (index // 32)
    rgb[..., 1] = 128
    return rgb


def frame_ids(video: torch.Tensor) -> list[int]:
    """The frame indices shown by a (C, T, H, W) clip of fixture frames."""
    red = (video[0].mean(dim=(1, 2)) / STEP).round().long()
    blue = (video[2].mean(dim=(1, 2)) / STEP).round().long()
    return (blue * 32 + red).tolist()


def write_video(path: Path, num_frames: int, fps: int = 10, keyint: int = 12, audio_rate: int | None = None,
                bframes: int | None = None) -> Path:
    """``num_frames`` fixture frames at ``fps``; with ``audio_rate`` also a 440 Hz mono tone.
    AVI stores no presentation timestamps, so AVI files get no B-frames (as real AVI files)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width = stream.height = SIZE
        stream.pix_fmt = "yuv420p"
        stream.options = {"g": str(keyint), "keyint_min": str(keyint), "sc_threshold": "0"}
        if bframes is not None or path.suffix == ".avi":
            stream.options["bf"] = str(bframes or 0)
        audio = None
        if audio_rate:
            audio = out.add_stream("aac", rate=audio_rate, layout="mono")
        for i in range(num_frames):
            frame = av.VideoFrame.from_ndarray(frame_rgb(i), format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, fps)
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
        if audio is not None:
            total = int(num_frames / fps * audio_rate)
            tone = (0.3 * np.sin(2 * np.pi * 440 * np.arange(total) / audio_rate)).astype(np.float32)
            for start in range(0, total, 1024):
                chunk = tone[start:start + 1024][None, :]
                frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="mono")
                frame.sample_rate = audio_rate
                frame.pts = start
                frame.time_base = Fraction(1, audio_rate)
                out.mux(audio.encode(frame))
            out.mux(audio.encode())
    return path


def write_jpeg(path: Path, rgb: np.ndarray) -> Path:
    """One JPEG image, encoded with FFmpeg's MJPEG encoder through PyAV."""
    path.parent.mkdir(parents=True, exist_ok=True)
    codec = av.CodecContext.create("mjpeg", "w")
    codec.width, codec.height, codec.pix_fmt = rgb.shape[1], rgb.shape[0], "yuvj420p"
    codec.time_base = Fraction(1, 1)
    frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuvj420p")
    path.write_bytes(b"".join(bytes(p) for p in [*codec.encode(frame), *codec.encode(None)]))
    return path


def reference_frames(path: Path) -> dict[int, torch.Tensor]:
    """Every frame of the video decoded front to back, by pts, as (3, H, W) float tensors."""
    with av.open(str(path)) as container:
        return {f.pts: torch.from_numpy(f.to_ndarray(format="rgb24")).permute(2, 0, 1).float()
                for f in container.decode(video=0)}
