"""Charades: multi-label action recognition on videos stored as frame images.

The data file is PySlowFast's *frame list*: a space separated csv with the header
``original_vido_id video_id frame_id path labels`` and one row per frame, ``labels`` being the
comma separated class ids of that frame (``"12,34"``; ``""`` for none). Frames are read at 30 fps
in the order of the list.
"""
from __future__ import annotations

import csv
import itertools
import os
import random
from typing import Any, Callable, Optional

from torch.utils.data import RandomSampler

from graphspec.registry import ComponentType, register

from .clip_sampling import ClipInfo, ClipInfoList, ClipSampler
from .errors import DataAssertionError, DataFileNotFoundError
from .frame_video import FrameVideo
from .labeled_video_dataset import BadFilePolicy, LabeledVideoDataset, UniformClipDataset, VideoDtype, _seed_of
from .labeled_video_paths import LabelProblem, not_a_class_index
from .traits import UNIFORM_CLIP_DATASET
from .video_base import Video

FRAME_LIST_COLUMNS = ("original_vido_id", "video_id", "frame_id", "path", "labels")
FRAME_LIST_FPS = 30


def read_frame_list(frame_list_file: str, prefix: str = "", *, with_labels: bool = True,
                    with_lines: bool = False) -> tuple[list[str], list[list[str]], list[list[list[int]]]]:
    """``(video names, frame paths per video, label ids per frame per video)`` of a frame list,
    videos in order of first appearance, frames ordered by ``frame_id``. Without ``with_labels``
    the labels column is not read (it may be empty or left out, as SSv2 and AVA leave it: their
    labels come from other files) and the label lists are empty. ``with_lines`` adds a fourth
    item: the file's line number of each frame per video (to name a bad label's line)."""
    if not os.path.isfile(frame_list_file):
        raise DataFileNotFoundError(f"{frame_list_file}: no such frame list")
    frames: dict[str, list[tuple[int, str, list[int], int]]] = {}
    with open(frame_list_file, newline="") as handle:
        reader = csv.DictReader(handle, delimiter=" ")
        if tuple(reader.fieldnames or ()) != FRAME_LIST_COLUMNS:
            raise DataAssertionError(f"{frame_list_file}: expected the header {' '.join(FRAME_LIST_COLUMNS)!r}, "
                                     f"got {' '.join(reader.fieldnames or [])!r}")
        needed = FRAME_LIST_COLUMNS if with_labels else FRAME_LIST_COLUMNS[:-1]
        for row in reader:
            where = f"{frame_list_file}:{reader.line_num}"
            if None in row or any(row[column] is None for column in needed):
                raise DataAssertionError(f"{where}: expected {len(needed)} space separated fields")
            try:
                labels = [int(x) for x in row["labels"].replace('"', "").split(",") if x.strip()] if with_labels else []
                frame_id = int(row["frame_id"])
            except ValueError:
                raise ValueError(f"{where}: frame_id and labels must be integers, got {row['frame_id']!r} "
                                 f"and {row['labels']!r}") from None
            frames.setdefault(row["original_vido_id"], []).append(
                (frame_id, os.path.join(prefix, row["path"]), labels, reader.line_num))
    if not frames:
        raise ValueError(f"{frame_list_file}: no frames listed")
    names = list(frames)
    ordered = [sorted(frames[name], key=lambda f: f[0]) for name in names]
    out = names, [[f[1] for f in video] for video in ordered], [[f[2] for f in video] for video in ordered]
    return (*out, [[f[3] for f in video] for video in ordered]) if with_lines else out


class _FrameListReading:
    """Mixin for the data core's clip readers (``LabeledVideoDataset``, ``UniformClipDataset``):
    a video's "path" is its name and its frames are the files ``_frame_paths[name]`` lists;
    ``_labels_of_clip(video_index, frame indices)`` adds per-clip labels to each sample; a frame
    filter with an ``rng`` (random frame picks) draws from a generator seeded per sample."""

    _frame_paths: dict[str, list[str]]
    _labels_of_clip: Callable[[int, list[int]], dict[str, Any]]

    def _open(self, path: str) -> Optional[Video]:
        # an unreadable frame file is met, and handled by the bad-file policy, when a clip reads it
        if path in self.bad_files:
            return None
        return FrameVideo.from_frame_paths(self._frame_paths[path], fps=FRAME_LIST_FPS)

    def _sample(self, video: Video, path: str, info: dict, video_index: int, clip: ClipInfo | ClipInfoList,
                epoch: int) -> Any:
        many = isinstance(clip, ClipInfoList)
        if hasattr(self._frame_filter, "rng"):  # random frames tied to the sample, not to the process
            first = clip.clip_index[0] if many else clip.clip_index
            self._frame_filter.rng = random if self._seed is None else \
                random.Random(_seed_of(self._seed, epoch, video_index, first, "frames"))
        spans = zip(clip.clip_start_sec, clip.clip_end_sec) if many else [(clip.clip_start_sec, clip.clip_end_sec)]
        per_clip = [self._labels_of_clip(video_index, video.frame_indices(start, end)) for start, end in spans]
        extra = {key: [p[key] for p in per_clip] for key in per_clip[0]} if many else per_clip[0]
        return super()._sample(video, path, {**info, **extra}, video_index, clip, epoch)


class FrameListDataset(_FrameListReading, LabeledVideoDataset):
    """A ``LabeledVideoDataset`` over videos given as lists of frame files (Charades, SSv2).

    ``video_frame_paths[i]`` are the frames of video ``i``; its label dict is ``labels[i]``.
    Subclasses may add per-clip labels in ``clip_labels``. The keyword-only options are
    ``LabeledVideoDataset``'s (``seed``, ``rank``, ``world_size``, ``bad_files``, ``video_dtype``)."""

    def __init__(self, video_names: list[str], video_frame_paths: list[list[str]], labels: list[dict],
                 clip_sampler: ClipSampler, video_sampler: type = RandomSampler,
                 transform: Optional[Callable[[dict], Any]] = None, frames_per_clip: Optional[int] = None,
                 **options: Any) -> None:
        self._frame_paths = dict(zip(video_names, video_frame_paths))
        self._labels_of_clip = self.clip_labels
        super().__init__(list(zip(video_names, labels)), clip_sampler, video_sampler, transform,
                         decode_audio=False, frames_per_clip=frames_per_clip, **options)

    def clip_labels(self, video_index: int, frame_indices: list[int]) -> dict[str, Any]:
        """Entries added to a clip's sample from the frames it spans (none by default)."""
        return {}

    def _uniform_view(self, *args: Any, **kwargs: Any) -> UniformClipDataset:
        return _FrameListUniformClips(self, *args, **kwargs)


class _FrameListUniformClips(_FrameListReading, UniformClipDataset):
    """``UniformClipDataset`` over the frame-list videos of ``source`` (same labels, same frames)."""

    def __init__(self, source: FrameListDataset, *args: Any, **kwargs: Any) -> None:
        self._frame_paths = source._frame_paths
        self._labels_of_clip = source.clip_labels
        super().__init__(*args, **kwargs)
        self._frame_filter = source._frame_filter


@register(kind="object", arg_types={"clip_sampler": ComponentType}, traits=UNIFORM_CLIP_DATASET)
class Charades(FrameListDataset):
    """Charades frame videos with per-frame multi-labels. A clip's sample has ``label``: the
    label ids of each frame the clip spans (a list per frame), ``video_label``: the ids of the
    whole video (sorted), and ``video``, ``video_name``, ``video_index``, ``clip_index``,
    ``aug_index``. ``frames_per_clip`` keeps that many frames per clip, evenly spread."""

    NUM_CLASSES = 157

    def __init__(self, data_path: str, clip_sampler: ClipSampler, video_sampler: type = RandomSampler,
                 transform: Optional[Callable[[dict], Any]] = None, video_path_prefix: str = "",
                 frames_per_clip: Optional[int] = None, *, seed: Optional[int] = None, rank: Optional[int] = None,
                 world_size: Optional[int] = None, bad_files: BadFilePolicy = "skip",
                 video_dtype: VideoDtype = "float32") -> None:
        names, paths, self._frame_labels, self._frame_lines = read_frame_list(data_path, video_path_prefix,
                                                                              with_lines=True)
        self._data_path = data_path
        video_labels = [{"video_label": sorted(set(itertools.chain(*frames)))} for frames in self._frame_labels]
        super().__init__(names, paths, video_labels, clip_sampler, video_sampler, transform, frames_per_clip,
                         seed=seed, rank=rank, world_size=world_size, bad_files=bad_files, video_dtype=video_dtype)

    def clip_labels(self, video_index: int, frame_indices: list[int]) -> dict[str, Any]:
        return {"label": [self._frame_labels[video_index][i] for i in frame_indices]}

    def label_problems(self, num_classes: Optional[int] = None) -> list[LabelProblem]:
        """Per video, its first frame label that is no class index (negative, or past
        ``num_classes``), at its frame list line, with the count of its other such labels."""
        found = []
        for video, (name, frames) in enumerate(zip(self._frame_paths, self._frame_labels)):
            bad = [(label, line) for labels, line in zip(frames, self._frame_lines[video]) for label in labels
                   if not_a_class_index(label, num_classes, "")]
            if bad:
                (label, line), more = bad[0], len(bad) - 1
                reason = not_a_class_index(label, num_classes, f"{self._data_path}:{line}")
                found.append(LabelProblem((name,), "data_path", reason + (f"; {more} more in this video" if more else "")))
        return found
