"""The EPIC-Kitchens action annotations and the clip dataset both EPIC-Kitchens tasks build on."""
from __future__ import annotations

import ast
import dataclasses
from dataclasses import dataclass
from typing import Any, Callable, Optional

import torch

from graphspec.data.dataset_manifest_utils import (
    VideoClipInfo,
    VideoDataset,
    VideoDatasetType,
    get_seconds_from_hms_time,
)
from graphspec.data.utils import DataclassFieldCaster, load_dataclass_dict_from_csv
from graphspec.data.video import Video

#: ``(videos, actions per video) -> clips``: how a dataset lays its clips over the videos
ClipStructure = Callable[[dict[str, Video], dict[str, list["ActionData"]]], list[VideoClipInfo]]


@dataclass
class ActionData(DataclassFieldCaster):
    """One annotated action of EPIC-Kitchens (a row of ``EPIC_train_action_labels.csv``).

    ``all_nouns`` / ``all_noun_classes`` are Python list literals in the csv (``['tap', 'water']``)."""

    participant_id: str
    video_id: str
    narration: str
    start_timestamp: str
    stop_timestamp: str
    start_frame: int
    stop_frame: int
    verb: str
    verb_class: int
    noun: str
    noun_class: int
    all_nouns: list
    all_noun_classes: list

    def __post_init__(self) -> None:
        super().__post_init__()
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if field.type in (list, "list") and isinstance(value, str):
                try:  # a literal only: nothing in a csv is ever evaluated as code
                    parsed = ast.literal_eval(value)
                except (ValueError, SyntaxError):
                    parsed = None
                if not isinstance(parsed, (list, tuple)):
                    raise ValueError(f"ActionData.{field.name}: expected a list literal like \"['tap']\", got {value!r}")
                setattr(self, field.name, list(parsed))

    @property
    def start_time(self) -> float:
        return get_seconds_from_hms_time(self.start_timestamp)

    @property
    def stop_time(self) -> float:
        return get_seconds_from_hms_time(self.stop_timestamp)


class EpicKitchenDataset(torch.utils.data.Dataset):
    """Clips of EPIC-Kitchens videos (frame folders or encoded files) with their video's actions.

    ``clip_sampler(videos, actions)`` lays out every clip once, at construction; item ``i`` is
    ``{"video_id", "video", "audio", "actions", "start_time", "stop_time"}`` (``actions``: all
    actions of the clip's video, sorted by start time; the task datasets narrow them in their
    transform), then ``transform`` is applied."""

    def __init__(self, video_info_file_path: str, actions_file_path: str, clip_sampler: ClipStructure,
                 video_data_manifest_file_path: str, dataset_type: VideoDatasetType = VideoDatasetType.Frame,
                 transform: Optional[Callable[[dict], Any]] = None,
                 frame_filter: Optional[Callable[[list[int]], list[int]]] = None,
                 multithreaded_io: bool = False) -> None:
        for name, value in (("video_info_file_path", video_info_file_path), ("actions_file_path", actions_file_path),
                            ("video_data_manifest_file_path", video_data_manifest_file_path)):
            if not value:
                raise ValueError(f"EpicKitchenDataset needs {name}")
        self._transform = transform
        self._frame_filter = frame_filter
        self._videos: dict[str, Video] = VideoDataset._load_videos(
            video_data_manifest_file_path, video_info_file_path, multithreaded_io, dataset_type)
        actions = load_dataclass_dict_from_csv(actions_file_path, ActionData, "video_id", list_per_key=True)
        self._actions: dict[str, list[ActionData]] = {
            video_id: sorted(video_actions, key=lambda action: action.start_time)
            for video_id, video_actions in actions.items() if video_id in self._videos
        }
        self._clips: list[VideoClipInfo] = clip_sampler(self._videos, self._actions)

    def __getitem__(self, index: int) -> dict[str, Any]:
        clip = self._clips[index]
        loaded = self._videos[clip.video_id].get_clip(clip.start_time, clip.stop_time, self._frame_filter)
        if loaded is None:
            raise IndexError(f"clip {index} ({clip.video_id} {clip.start_time:.3f}-{clip.stop_time:.3f} s) has no frames")
        item = {"video_id": clip.video_id, **loaded, "actions": self._actions.get(clip.video_id, []),
                "start_time": clip.start_time, "stop_time": clip.stop_time}
        return self._transform(item) if self._transform is not None else item

    def __len__(self) -> int:
        return len(self._clips)
