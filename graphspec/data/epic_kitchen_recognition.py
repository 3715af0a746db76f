"""EPIC-Kitchens action recognition: fixed-length clips tiling each video, with the actions that
overlap each clip."""
from __future__ import annotations

import random
from typing import Any, Callable, Optional

from graphspec.data.dataset_manifest_utils import NamedEnum, VideoClipInfo, VideoDatasetType
from graphspec.data.epic_kitchen.epic_kitchen_dataset import ActionData, EpicKitchenDataset
from graphspec.data.labeled_video_dataset import BadFilePolicy
from graphspec.data.traits import PER_SAMPLE_SEEDS
from graphspec.registry import register
from graphspec.transforms.composition import SampleWrapper


class ClipSampling(NamedEnum):
    RandomOffsetUniform = 1


class EvenFrameFilter:
    """``frames_per_clip`` frames at a constant step from the clip's first frame (every
    ``len // frames_per_clip``-th frame, at most ``frames_per_clip`` of them). Picklable."""

    def __init__(self, frames_per_clip: int) -> None:
        if frames_per_clip < 1:
            raise ValueError(f"frames_per_clip must be >= 1, got {frames_per_clip}")
        self.frames_per_clip = frames_per_clip

    def __call__(self, frame_indices: list[int]) -> list[int]:
        step = max(1, len(frame_indices) // self.frames_per_clip)
        return frame_indices[::step][: self.frames_per_clip]


@register(kind="object")
class RandomOffsetUniformClips:
    """Tiles each video with back-to-back clips of ``seconds_per_clip`` after a random offset in
    ``[0, seconds_per_clip)``, one offset per video, drawn from ``random.Random(seed)`` (from
    Python's global ``random`` without a seed). A clip layout for the manifest datasets
    (``clip_sampler(videos, annotations)``)."""

    def __init__(self, seconds_per_clip: float, seed: Optional[int] = None) -> None:
        if seconds_per_clip <= 0:
            raise ValueError(f"seconds_per_clip must be > 0, got {seconds_per_clip}")
        self.seconds_per_clip = seconds_per_clip
        self.rng = random.Random(seed) if seed is not None else random

    def __call__(self, videos: dict, annotations: dict) -> list[VideoClipInfo]:
        clips = []
        for video_id, video in videos.items():
            offset = self.rng.random() * self.seconds_per_clip
            count = int((video.duration - offset) // self.seconds_per_clip)
            for i in range(count):
                start = offset + i * self.seconds_per_clip
                clips.append(VideoClipInfo(video_id, start, start + self.seconds_per_clip))
        return clips


class _OverlappingActions(SampleWrapper):
    """The recognition transform: keep the actions overlapping ``[start_time, stop_time]``."""

    touches = ("actions",)

    def __init__(self, transform: Optional[Callable]) -> None:
        self.transform = transform

    def __call__(self, clip: dict[str, Any]) -> Any:
        actions: list[ActionData] = clip["actions"]
        clip["actions"] = [a for a in actions if a.start_time <= clip["stop_time"] and a.stop_time >= clip["start_time"]]
        return self.transform(clip) if self.transform is not None else clip


@register(kind="object", arg_types={"clip_sampling": ClipSampling.spec_type(),
                                   "dataset_type": VideoDatasetType.spec_type()}, traits=(PER_SAMPLE_SEEDS,))
class EpicKitchenRecognition(EpicKitchenDataset):
    """Action recognition on EPIC-Kitchens-55: each video is tiled with ``seconds_per_clip`` clips
    (``ClipSampling.RandomOffsetUniform``); an item's ``actions`` are those overlapping its clip.
    ``frames_per_clip`` keeps that many frames of each clip at an even step. Beyond PyTorchVideo's
    arguments: ``seed`` (for the offsets, and the transform's torch draws per clip) and
    ``bad_files`` (see ``ManifestClipDataset``)."""

    def __init__(self, video_info_file_path: str, actions_file_path: str, video_data_manifest_file_path: str,
                 clip_sampling: ClipSampling = ClipSampling.RandomOffsetUniform,
                 dataset_type: VideoDatasetType = VideoDatasetType.Frame, seconds_per_clip: float = 2.0,
                 frames_per_clip: Optional[int] = None, transform: Optional[Callable[[dict], Any]] = None,
                 multithreaded_io: bool = False, *, seed: Optional[int] = None,
                 bad_files: BadFilePolicy = "skip") -> None:
        if ClipSampling(clip_sampling) is not ClipSampling.RandomOffsetUniform:
            raise NotImplementedError(f"only {ClipSampling.RandomOffsetUniform} is implemented")
        super().__init__(
            video_info_file_path=video_info_file_path, actions_file_path=actions_file_path,
            clip_sampler=RandomOffsetUniformClips(seconds_per_clip, seed),
            video_data_manifest_file_path=video_data_manifest_file_path, dataset_type=dataset_type,
            transform=_OverlappingActions(transform),
            frame_filter=EvenFrameFilter(frames_per_clip) if frames_per_clip is not None else None,
            multithreaded_io=multithreaded_io, bad_files=bad_files, seed=seed)

    # PyTorchVideo's names for the three parts (its tests call them)
    @staticmethod
    def _define_clip_structure_generator(seconds_per_clip: float,
                                         clip_sampling: ClipSampling) -> RandomOffsetUniformClips:
        if ClipSampling(clip_sampling) is not ClipSampling.RandomOffsetUniform:
            raise NotImplementedError(f"only {ClipSampling.RandomOffsetUniform} is implemented")
        return RandomOffsetUniformClips(seconds_per_clip)

    @staticmethod
    def _frame_filter_generator(frames_per_clip: int) -> EvenFrameFilter:
        return EvenFrameFilter(frames_per_clip)

    @staticmethod
    def _transform_generator(transform: Optional[Callable[[dict], Any]]) -> _OverlappingActions:
        return _OverlappingActions(transform)
