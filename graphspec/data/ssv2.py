"""Something-Something V2: action recognition on videos stored as frames (extracted at 30 fps).

Three files describe a split:

* ``label_name_file``: ``something-something-v2-labels.json``, ``{"<template>": "<class id>"}``;
* ``video_label_file``: ``something-something-v2-<split>.json``, a list of
  ``{"id": "<video id>", "template": "Putting [something] on [something]", ...}``; a video's
  class is that of its template with the brackets removed;
* ``video_path_label_file``: the frame list (see ``graphspec.data.charades``), whose
  ``original_vido_id`` is the video id.
"""
from __future__ import annotations

import json
import random
from typing import Any, Callable, Optional

from torch.utils.data import RandomSampler

from graphspec.registry import ComponentType, register

from .charades import FrameListDataset, read_frame_list
from .clip_sampling import ClipSampler
from .labeled_video_dataset import BadFilePolicy, VideoDtype
from .labeled_video_paths import LabelProblem, not_a_class_index
from .traits import PER_SAMPLE_SEEDS


def read_video_labels(video_label_file: str, label_name_file: str) -> dict[str, int]:
    """``{video id: class id}`` from SSv2's label json files."""
    with open(label_name_file) as handle:
        class_ids = {name: int(index) for name, index in json.load(handle).items()}
    with open(video_label_file) as handle:
        videos = json.load(handle)
    if not isinstance(videos, list) or not all(isinstance(entry, dict) and "id" in entry for entry in videos):
        raise ValueError(f'{video_label_file}: expected a list of {{"id": ..., "template": ...}} objects')
    labels = {}
    for entry in videos:
        if "template" not in entry:
            raise ValueError(f"{video_label_file}: video {entry.get('id')!r} has no 'template' (an unlabelled split?)")
        template = entry["template"].replace("[", "").replace("]", "")
        if template not in class_ids:
            raise ValueError(f"{video_label_file}: template {template!r} of video {entry['id']!r} is not in "
                             f"{label_name_file}")
        labels[str(entry["id"])] = class_ids[template]
    return labels


class SegmentFrameFilter:
    """PySlowFast's SSv2 frame sampling: split the clip into ``frames_per_clip`` equal segments and
    take each segment's middle frame, or a random frame of it (drawn from ``self.rng``)."""

    def __init__(self, frames_per_clip: int, rand_sample: bool) -> None:
        if frames_per_clip < 1:
            raise ValueError(f"frames_per_clip must be >= 1, got {frames_per_clip}")
        self.num_frames = frames_per_clip
        self.rand_sample = rand_sample
        self.rng: Any = random

    def __call__(self, frame_indices: list[int]) -> list[int]:
        segment = (len(frame_indices) - 1) / self.num_frames
        picks = []
        for i in range(self.num_frames):
            start, end = round(segment * i), round(segment * (i + 1))
            picks.append(self.rng.randint(start, end) if self.rand_sample else (start + end) // 2)
        return [frame_indices[p] for p in picks]


# its frames_per_clip takes one frame per equal segment, not UniformTemporalSubsample's: not derived
@register(kind="object", arg_types={"clip_sampler": ComponentType}, traits=(PER_SAMPLE_SEEDS,))
class SSv2(FrameListDataset):
    """SSv2 frame videos. A clip's sample has ``label`` and ``video_label`` (both the video's
    class id, as PyTorchVideo documents), ``video``,
    ``video_name``, ``video_index``, ``clip_index``, ``aug_index``. ``frames_per_clip`` takes
    that many frames per clip, one per equal segment (its middle, or a random one with
    ``rand_sample_frames``: seeded per sample)."""

    def __init__(self, label_name_file: str, video_label_file: str, video_path_label_file: str,
                 clip_sampler: ClipSampler, video_sampler: type = RandomSampler,
                 transform: Optional[Callable[[dict], Any]] = None, video_path_prefix: str = "",
                 frames_per_clip: Optional[int] = None, rand_sample_frames: bool = False, *, seed: Optional[int] = None,
                 rank: Optional[int] = None, world_size: Optional[int] = None,
                 bad_files: BadFilePolicy = "skip", video_dtype: VideoDtype = "float32") -> None:
        names, paths, _ = read_frame_list(video_path_label_file, video_path_prefix, with_labels=False)
        labels = read_video_labels(video_label_file, label_name_file)
        unlabelled = [name for name in names if name not in labels]
        if unlabelled:
            raise ValueError(f"{video_path_label_file}: {len(unlabelled)} video(s) have no label in "
                             f"{video_label_file}, e.g. {unlabelled[:3]}")
        super().__init__(names, paths, [{"label": labels[name]} for name in names], clip_sampler, video_sampler,
                         transform, seed=seed, rank=rank, world_size=world_size, bad_files=bad_files,
                         video_dtype=video_dtype)
        self._label_name_file, self._video_labels = label_name_file, {name: labels[name] for name in names}
        if frames_per_clip is not None:
            self._frame_filter = SegmentFrameFilter(frames_per_clip, rand_sample_frames)

    def label_problems(self, num_classes: Optional[int] = None) -> list[LabelProblem]:
        """Each class id of the label names json that labels a video and is no class index, at
        its template's line, with the videos it labels."""
        with open(self._label_name_file) as handle:
            text = handle.read()
        videos_of: dict[int, list[str]] = {}
        for name, label in self._video_labels.items():
            videos_of.setdefault(label, []).append(name)
        found = []
        for template, class_id in json.loads(text).items():
            videos = videos_of.get(int(class_id))
            if videos and not_a_class_index(int(class_id), num_classes, ""):
                where = f"{self._label_name_file}:{_line_of(text, template)}"
                found.append(LabelProblem(tuple(videos), "label_name_file",
                                          not_a_class_index(int(class_id), num_classes, where)
                                          + f" (template {template!r})"))
        return found


def _line_of(text: str, key: str) -> int:
    """The line of the json text where the mapping key ``key`` is written (1 when not found)."""
    for written in (json.dumps(key), json.dumps(key, ensure_ascii=False)):
        at = text.find(written)
        if at >= 0:
            return text.count("\n", 0, at) + 1
    return 1
