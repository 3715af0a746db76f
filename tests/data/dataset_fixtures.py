"""Tiny on-disk fixtures in the datasets' real formats, shared by the dataset tests.

Built on ``video_fixtures``: frame ``i`` shows its index in red and blue; here the green level
is ``STEP * v`` for frame-folder video ``v``, so the frames a dataset returns can be traced to
their video too (after JPEG coding)."""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import torch

from video_fixtures import STEP, frame_ids, write_jpeg, write_video  # noqa: F401  (re-exported)
from video_fixtures import frame_rgb as _frame_rgb


def frame_rgb(index: int, video: int = 0) -> np.ndarray:
    rgb = _frame_rgb(index)
    rgb[..., 1] = STEP * video
    return rgb


def write_frames(folder: Path, names: list[str], video: int = 0) -> list[Path]:
    """``names[i]`` gets the image of frame ``i`` of ``video``."""
    return [write_jpeg(folder / name, frame_rgb(i, video)) for i, name in enumerate(names)]


def video_ids(video: torch.Tensor) -> set[int]:
    """The videos a (C, T, H, W) clip of ``write_frames`` frames comes from (the green level)."""
    return {int(v) for v in (video[1].float().mean(dim=(1, 2)) / STEP).round()}


def write_csv(path: Path, header: list[str], rows: list[list], delimiter: str = ",") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        writer.writerow(header)
        writer.writerows(rows)
    return path
