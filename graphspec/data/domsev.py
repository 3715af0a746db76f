"""DoMSEV (egocentric video with environment / activity / attention labels over time).

Two datasets read the same three headered csv files (a ``VideoFrameInfo`` or ``EncodedVideoInfo``
manifest, ``VideoInfo`` metadata, ``LabelData`` segments): ``DomsevFrameDataset`` yields single
frames with the label of the segment holding them, ``DomsevVideoDataset`` clips with one label
per frame at ``frames_per_second``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Optional

import torch

from graphspec.data.dataset_manifest_utils import (
    BadFileTracker,
    ImageDataset,
    ImageFrameInfo,
    ManifestClipDataset,
    NamedEnum,
    VideoClipInfo,
    VideoDatasetType,
)
from graphspec.data.labeled_video_dataset import BadFilePolicy
from graphspec.registry import register
from graphspec.data.frame_video import read_image
from graphspec.data.traits import PER_SAMPLE_SEEDS
from graphspec.data.utils import DataclassFieldCaster, get_logger, load_dataclass_dict_from_csv, transform_sample
from graphspec.data.video_base import Video

_LOG = get_logger(__name__)

USER_ENVIRONMENT_MAP = {0: "none", 1: "indoor", 2: "nature", 3: "crowded_environment", 4: "urban"}
USER_ACTIVITY_MAP = {
    0: "none", 1: "walking", 2: "running", 3: "standing", 4: "biking", 5: "driving", 6: "playing",
    7: "cooking", 8: "eating", 9: "observing", 10: "in_conversation", 11: "browsing", 12: "shopping",
}
USER_ATTENTION_MAP = {0: "none", 1: "paying_attention", 2: "interacting"}


class LabelType(NamedEnum):
    Environment = 1
    Activity = 2
    UserAttention = 3


LABEL_TYPE_2_MAP = {
    LabelType.Environment: USER_ENVIRONMENT_MAP,
    LabelType.Activity: USER_ACTIVITY_MAP,
    LabelType.UserAttention: USER_ATTENTION_MAP,
}


@dataclass
class LabelData(DataclassFieldCaster):
    """A contiguous labelled segment of a video: times in seconds, frames 0-indexed, both inclusive."""

    video_id: str
    start_time: float
    stop_time: float
    start_frame: int
    stop_frame: int
    label_id: int
    label_name: str


def _seconds_to_frame_index(time_in_seconds: float, fps: float, zero_indexed: bool = True) -> int:
    """The frame holding ``time_in_seconds`` at ``fps`` (rounding down); 1-based if not ``zero_indexed``."""
    return math.floor(time_in_seconds * fps) + (0 if zero_indexed else 1)


def _get_overlap_for_time_range_pair(t1_start: float, t1_stop: float, t2_start: float,
                                     t2_stop: float) -> Optional[tuple[float, float]]:
    """The ``(start, stop)`` two closed time ranges share, or ``None`` if they are disjoint."""
    if t1_start <= t2_stop and t2_start <= t1_stop:
        return max(t1_start, t2_start), min(t1_stop, t2_stop)
    return None


def _labels_by_video(labels_file_path: str) -> dict[str, list[LabelData]]:
    labels = load_dataclass_dict_from_csv(labels_file_path, LabelData, "video_id", list_per_key=True)
    return {video_id: sorted(segments, key=lambda s: s.start_time) for video_id, segments in labels.items()}


@register(kind="object", traits=(PER_SAMPLE_SEEDS,))
class DomsevFrameDataset(BadFileTracker, torch.utils.data.Dataset):
    """Single frames of DoMSEV frame videos: item ``i`` is ``{"frame_id", "image": (C, H, W)
    float32 tensor of 0..255 values (as video frames are), "label": 0-dim int64 tensor}``. A frame's label is that of the segment whose
    ``[start_frame, stop_frame]`` holds its 0-based position in its video; frames outside every
    segment are left out (counted in one warning). Frames are in manifest order (a DataLoader
    with ``shuffle=True`` randomizes them, reproducibly under its generator). An unreadable image
    is replaced by the next readable one under ``bad_files="skip"`` (see ``BadFileTracker``). With a
    ``seed`` the transform's torch draws are seeded per frame (the same items with any number of
    DataLoader workers)."""

    def __init__(self, video_data_manifest_file_path: str, video_info_file_path: str, labels_file_path: str,
                 transform: Optional[Callable[[dict[str, Any]], Any]] = None, multithreaded_io: bool = False,
                 *, bad_files: BadFilePolicy = "skip", seed: Optional[int] = None) -> None:
        super().__init__(bad_files)
        self._seed = seed
        frames = ImageDataset._load_images(video_data_manifest_file_path, video_info_file_path, multithreaded_io)
        labels = _labels_by_video(labels_file_path)
        self._labels_per_frame = self._assign_labels_to_frames(frames, labels)
        unlabelled = len(frames) - len(self._labels_per_frame)
        if unlabelled:
            _LOG.warning("%s: %d of %d frames lie in no labelled segment; left out", labels_file_path,
                         unlabelled, len(frames))
        self._frames: list[ImageFrameInfo] = [f for f in frames.values() if f.frame_id in self._labels_per_frame]
        self._transform = transform

    @staticmethod
    def _assign_labels_to_frames(frames_dict: dict[str, ImageFrameInfo],
                                 video_labels: dict[str, list[LabelData]]) -> dict[str, int]:
        """``{frame_id: label_id}`` for the frames inside a labelled segment of their video."""
        first_number: dict[str, int] = {}
        for frame in frames_dict.values():
            first_number[frame.video_id] = min(frame.frame_number, first_number.get(frame.video_id, frame.frame_number))
        labels_per_frame = {}
        for frame_id, frame in frames_dict.items():
            position = frame.frame_number - first_number[frame.video_id]
            for segment in video_labels.get(frame.video_id, []):
                if segment.start_frame <= position <= segment.stop_frame:
                    labels_per_frame[frame_id] = segment.label_id
                    break
        return labels_per_frame

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self._first_readable(index, len(self), self._item)

    def _item(self, index: int) -> dict[str, Any]:
        frame = self._frames[index]
        image = torch.from_numpy(read_image(frame.frame_file_path)).permute(2, 0, 1).to(torch.float32)
        item = {"frame_id": frame.frame_id, "image": image,
                "label": torch.tensor(self._labels_per_frame[frame.frame_id])}
        return transform_sample(self._transform, item, self._seed, index)

    def __len__(self) -> int:
        return len(self._frames)


@register(kind="object", arg_types={"dataset_type": VideoDatasetType.spec_type()}, traits=(PER_SAMPLE_SEEDS,))
class DomsevVideoDataset(ManifestClipDataset):
    """Clips of DoMSEV videos: ``clip_sampler(videos, labels) -> [VideoClipInfo]`` lays them out at
    construction; item ``i`` is ``{"video_id", "video", "audio", "labels", "start_time", "stop_time"}``
    with ``labels`` a tensor holding one label id per frame of the clip at ``frames_per_second``
    (each segment overlapping the clip gives the frames of its overlap, in time order).
    ``bad_files``: see ``ManifestClipDataset``."""

    def __init__(self, video_data_manifest_file_path: str, video_info_file_path: str, labels_file_path: str,
                 clip_sampler: Callable[[dict[str, Video], dict[str, list[LabelData]]], list[VideoClipInfo]],
                 dataset_type: VideoDatasetType = VideoDatasetType.Frame, frames_per_second: int = 1,
                 transform: Optional[Callable[[dict[str, Any]], Any]] = None,
                 frame_filter: Optional[Callable[[list[int]], list[int]]] = None, multithreaded_io: bool = False,
                 *, bad_files: BadFilePolicy = "skip", seed: Optional[int] = None) -> None:
        if frames_per_second <= 0:
            raise ValueError(f"frames_per_second must be > 0, got {frames_per_second}")
        self._frames_per_second = frames_per_second
        super().__init__(video_data_manifest_file_path, video_info_file_path,
                         lambda video_ids: _labels_by_video(labels_file_path), clip_sampler, dataset_type,
                         transform, frame_filter, multithreaded_io, bad_files, seed)

    @property
    def _labels_per_video(self) -> dict[str, list[LabelData]]:
        """PyTorchVideo's name for the labels by video (its tests read it)."""
        return self._annotations

    def clip_annotations(self, clip: VideoClipInfo) -> dict[str, Any]:
        label_ids: list[int] = []
        for segment in self._annotations.get(clip.video_id, []):
            overlap = _get_overlap_for_time_range_pair(clip.start_time, clip.stop_time, segment.start_time,
                                                       segment.stop_time)
            if overlap is not None:
                frames = (_seconds_to_frame_index(overlap[1], self._frames_per_second)
                          - _seconds_to_frame_index(overlap[0], self._frames_per_second))
                label_ids.extend([segment.label_id] * frames)
        return {"labels": torch.tensor(label_ids, dtype=torch.long)}
