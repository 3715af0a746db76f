"""The EPIC-Kitchens action annotations and the clip dataset both EPIC-Kitchens tasks build on."""
from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Any, Callable, List, Optional

from graphspec.data.dataset_manifest_utils import (
    ManifestClipDataset,
    VideoClipInfo,
    VideoDatasetType,
    get_seconds_from_hms_time,
)
from graphspec.data.errors import DataAssertionError
from graphspec.data.labeled_video_dataset import BadFilePolicy
from graphspec.registry import register
from graphspec.data.utils import DataclassFieldCaster, load_dataclass_dict_from_csv
from graphspec.data.video_base import Video

#: ``(videos, actions per video) -> clips``: how a dataset lays its clips over the videos
ClipStructure = Callable[[dict[str, Video], dict[str, list["ActionData"]]], list[VideoClipInfo]]


def _list_literal(value: Any) -> list:
    """A csv cell holding a Python list literal (``"['tap', 'water']"``) as a list; a literal only:
    nothing in a csv is ever evaluated as code."""
    if isinstance(value, (list, tuple)):
        return list(value)
    try:
        parsed = ast.literal_eval(value)
    except (ValueError, SyntaxError):
        parsed = None
    if not isinstance(parsed, (list, tuple)):
        raise ValueError(f"expected a list literal like \"['tap']\", got {value!r}")
    return list(parsed)


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
    all_nouns: List[str] = DataclassFieldCaster.complex_initialized_dataclass_field(_list_literal)
    all_noun_classes: List[int] = DataclassFieldCaster.complex_initialized_dataclass_field(_list_literal)

    @property
    def start_time(self) -> float:
        return get_seconds_from_hms_time(self.start_timestamp)

    @property
    def stop_time(self) -> float:
        return get_seconds_from_hms_time(self.stop_timestamp)


@register(kind="object", arg_types={"dataset_type": VideoDatasetType.spec_type()})
class EpicKitchenDataset(ManifestClipDataset):
    """Clips of EPIC-Kitchens videos (frame folders or encoded files) with their video's actions.

    ``clip_sampler(videos, actions)`` lays out every clip once, at construction; item ``i`` is
    ``{"video_id", "video", "audio", "actions", "start_time", "stop_time"}`` (``actions``: all
    actions of the clip's video, sorted by start time; the task datasets narrow them in their
    transform), then ``transform`` is applied. ``bad_files`` and ``seed`` (the transform's, per
    clip): see ``ManifestClipDataset``."""

    def __init__(self, video_info_file_path: str, actions_file_path: str, clip_sampler: ClipStructure,
                 video_data_manifest_file_path: str, dataset_type: VideoDatasetType = VideoDatasetType.Frame,
                 transform: Optional[Callable[[dict], Any]] = None,
                 frame_filter: Optional[Callable[[list[int]], list[int]]] = None,
                 multithreaded_io: bool = False, *, bad_files: BadFilePolicy = "skip",
                 seed: Optional[int] = None) -> None:
        for name, value in (("video_info_file_path", video_info_file_path), ("actions_file_path", actions_file_path),
                            ("video_data_manifest_file_path", video_data_manifest_file_path)):
            if not value:
                raise DataAssertionError(f"EpicKitchenDataset needs {name}")

        def sorted_actions(video_ids: set[str]) -> dict[str, list[ActionData]]:
            actions = load_dataclass_dict_from_csv(actions_file_path, ActionData, "video_id", list_per_key=True)
            return {video_id: sorted(video_actions, key=lambda action: action.start_time)
                    for video_id, video_actions in actions.items() if video_id in video_ids}

        super().__init__(video_data_manifest_file_path, video_info_file_path, sorted_actions, clip_sampler,
                         dataset_type, transform, frame_filter, multithreaded_io, bad_files, seed)

    def clip_annotations(self, clip: VideoClipInfo) -> dict[str, Any]:
        return {"actions": self._annotations.get(clip.video_id, [])}
