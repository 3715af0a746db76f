"""EPIC-Kitchens action forecasting: observe clips that end with an action, predict the actions
that start after it.

An item observes ``num_input_clips`` clips of ``seconds_per_clip`` whose starts are
``clip_time_stride`` seconds apart, the last one ending when an action (the anchor) ends; its
``actions`` are the next ``num_forecast_actions`` actions starting after that time. ``video`` is
``(num_input_clips, C, frames_per_clip, H, W)``.
"""
from __future__ import annotations

from typing import Any, Callable, Optional

import torch

from graphspec.data.dataset_manifest_utils import NamedEnum, VideoClipInfo, VideoDatasetType
from graphspec.data.epic_kitchen.epic_kitchen_dataset import ActionData, EpicKitchenDataset
from graphspec.data.labeled_video_dataset import BadFilePolicy
from graphspec.registry import register


class ClipSampling(NamedEnum):
    Random = 1


def _span(seconds_per_clip: float, clip_time_stride: float, num_input_clips: int) -> float:
    return seconds_per_clip + (num_input_clips - 1) * clip_time_stride


def _following(actions: list[ActionData], time: float, count: int) -> list[ActionData]:
    return [a for a in actions if a.start_time > time][:count]


class ForecastClips:
    """One clip per action that has ``num_forecast_actions`` actions after it and whose observed
    span (ending when the action ends) lies within the video."""

    def __init__(self, seconds_per_clip: float, clip_time_stride: float, num_input_clips: int,
                 num_forecast_actions: int) -> None:
        self.span = _span(seconds_per_clip, clip_time_stride, num_input_clips)
        self.num_forecast_actions = num_forecast_actions

    def __call__(self, videos: dict, actions: dict[str, list[ActionData]]) -> list[VideoClipInfo]:
        clips = []
        for video_id, video_actions in actions.items():
            for anchor in video_actions:
                start = anchor.stop_time - self.span
                fits = start >= 0 and anchor.stop_time <= videos[video_id].duration
                if fits and len(_following(video_actions, anchor.stop_time, self.num_forecast_actions)) \
                        == self.num_forecast_actions:
                    clips.append(VideoClipInfo(video_id, start, anchor.stop_time))
        return clips


class InputClipsFrameFilter:
    """From the frames of the whole observed span, ``frames_per_clip`` evenly spaced frames of
    each input clip (clip ``i`` starts ``i * clip_time_stride`` s into the span). Picklable."""

    def __init__(self, frames_per_clip: int, seconds_per_clip: float, clip_time_stride: float,
                 num_input_clips: int) -> None:
        self.frames_per_clip = frames_per_clip
        self.seconds_per_clip = seconds_per_clip
        self.clip_time_stride = clip_time_stride
        self.num_input_clips = num_input_clips

    def __call__(self, frame_indices: list[int]) -> list[int]:
        count = len(frame_indices)
        frames_per_sec = count / _span(self.seconds_per_clip, self.clip_time_stride, self.num_input_clips)
        picks = []
        for clip in range(self.num_input_clips):
            for frame in range(self.frames_per_clip):
                time = clip * self.clip_time_stride + frame * self.seconds_per_clip / self.frames_per_clip
                picks.append(frame_indices[min(count - 1, int(time * frames_per_sec))])
        return picks


class _NextActions:
    """The forecasting transform: the next actions as targets, the video split per input clip."""

    def __init__(self, transform: Optional[Callable], num_forecast_actions: int, frames_per_clip: Optional[int],
                 num_input_clips: int) -> None:
        self.transform = transform
        self.num_forecast_actions = num_forecast_actions
        self.frames_per_clip = frames_per_clip
        self.num_input_clips = num_input_clips

    def __call__(self, clip: dict[str, Any]) -> Any:
        clip["actions"] = _following(clip["actions"], clip["stop_time"], self.num_forecast_actions)
        video: torch.Tensor = clip["video"]
        if video.numel() == 0:  # a range without frames: the empty video passes as it is
            pass
        elif self.frames_per_clip is None:
            clip["video"] = video.unsqueeze(0)
        else:
            if video.shape[1] != self.num_input_clips * self.frames_per_clip:
                raise ValueError(f"{clip['video_id']} {clip['start_time']:.3f}-{clip['stop_time']:.3f} s: got "
                                 f"{video.shape[1]} frames, expected {self.num_input_clips} x {self.frames_per_clip}")
            clip["video"] = torch.stack(video.split(self.frames_per_clip, dim=1))
        return self.transform(clip) if self.transform is not None else clip


@register(kind="object", arg_types={"clip_sampling": ClipSampling.spec_type(),
                                   "dataset_type": VideoDatasetType.spec_type()})
class EpicKitchenForecasting(EpicKitchenDataset):
    """Action forecasting on EPIC-Kitchens-55 (see the module docstring for the clip layout; the
    layout has no randomness). ``bad_files``: see ``ManifestClipDataset``."""

    def __init__(self, video_info_file_path: str, actions_file_path: str, video_data_manifest_file_path: str,
                 clip_sampling: ClipSampling = ClipSampling.Random,
                 dataset_type: VideoDatasetType = VideoDatasetType.Frame, seconds_per_clip: float = 2.0,
                 clip_time_stride: float = 10.0, num_input_clips: int = 1, frames_per_clip: Optional[int] = None,
                 num_forecast_actions: int = 1, transform: Optional[Callable[[dict], Any]] = None,
                 multithreaded_io: bool = False, *, bad_files: BadFilePolicy = "skip") -> None:
        if ClipSampling(clip_sampling) is not ClipSampling.Random:
            raise NotImplementedError(f"only {ClipSampling.Random} is implemented")
        if seconds_per_clip <= 0 or clip_time_stride <= 0 or num_input_clips < 1 or num_forecast_actions < 1:
            raise ValueError("seconds_per_clip and clip_time_stride must be > 0, num_input_clips and "
                             "num_forecast_actions >= 1")
        if frames_per_clip is None and num_input_clips > 1:
            raise ValueError("num_input_clips > 1 needs frames_per_clip (the frames of each input clip)")
        self._num_forecast_actions = num_forecast_actions
        self._num_input_clips = num_input_clips
        frame_filter = None if frames_per_clip is None else InputClipsFrameFilter(
            frames_per_clip, seconds_per_clip, clip_time_stride, num_input_clips)
        super().__init__(
            video_info_file_path=video_info_file_path, actions_file_path=actions_file_path,
            clip_sampler=ForecastClips(seconds_per_clip, clip_time_stride, num_input_clips, num_forecast_actions),
            video_data_manifest_file_path=video_data_manifest_file_path, dataset_type=dataset_type,
            transform=_NextActions(transform, num_forecast_actions, frames_per_clip, num_input_clips),
            frame_filter=frame_filter, multithreaded_io=multithreaded_io, bad_files=bad_files)

    # PyTorchVideo's names for the three parts (its tests call them)
    @staticmethod
    def _define_clip_structure_generator(clip_sampling: ClipSampling, seconds_per_clip: float,
                                         clip_time_stride: float, num_input_clips: int,
                                         num_forecast_actions: int) -> ForecastClips:
        if ClipSampling(clip_sampling) is not ClipSampling.Random:
            raise NotImplementedError(f"only {ClipSampling.Random} is implemented")
        return ForecastClips(seconds_per_clip, clip_time_stride, num_input_clips, num_forecast_actions)

    @staticmethod
    def _frame_filter_generator(frames_per_clip: int, seconds_per_clip: float, clip_time_stride: float,
                                num_input_clips: int) -> InputClipsFrameFilter:
        return InputClipsFrameFilter(frames_per_clip, seconds_per_clip, clip_time_stride, num_input_clips)

    @staticmethod
    def _transform_generator(transform: Optional[Callable[[dict], Any]], num_forecast_actions: int,
                             frames_per_clip: Optional[int], num_input_clips: int) -> _NextActions:
        return _NextActions(transform, num_forecast_actions, frames_per_clip, num_input_clips)
