"""Manifests of videos stored as frame folders or encoded files (``pytorchvideo.data.dataset_manifest_utils``).

Three headered csv files describe a manifest-based dataset (EPIC-Kitchens, DoMSEV):

* a video info file, one ``VideoInfo`` row per video (resolution, duration, fps);
* a data manifest: ``VideoFrameInfo`` rows (a folder of numbered frame files) or
  ``EncodedVideoInfo`` rows (one encoded file per video);
* the dataset's own label file.

A frame file is ``{location}/{frame_file_stem}{zero-padded number}.{file_extension}``, where
``frame_string_length`` is the length of stem plus padded number (``frame_0000000001`` is 16).
"""
from __future__ import annotations

import datetime
import os
from dataclasses import dataclass
from enum import Enum
from typing import Any, Callable, Literal, Optional, Union

import torch

from graphspec.data.encoded_video import EncodedVideo
from graphspec.data.frame_video import FrameVideo
from graphspec.data.bad_files import BadFilePolicy, BadFileTracker, BadVideoWarning  # noqa: F401 (re-exported)
from graphspec.data.utils import (
    DataclassFieldCaster,
    get_logger,
    load_dataclass_dict_from_csv,
    save_dataclass_objs_to_headered_csv,
    transform_sample,
)
from graphspec.data.errors import BadVideoError, DataAssertionError
from graphspec.data.video import UniformFrameFilter
from graphspec.transforms.composition import leading_temporal_subsample

_LOG = get_logger(__name__)


@dataclass
class EncodedVideoInfo(DataclassFieldCaster):
    """One video stored as an encoded file."""

    video_id: str
    file_path: str


@dataclass
class VideoFrameInfo(DataclassFieldCaster):
    """One video stored as a folder of numbered frame files (``min_frame_number`` to
    ``max_frame_number``, both inclusive)."""

    video_id: str
    location: str
    frame_file_stem: str
    frame_string_length: int
    min_frame_number: int
    max_frame_number: int
    file_extension: str

    @property
    def num_frames(self) -> int:
        return self.max_frame_number - self.min_frame_number + 1

    def frame_path(self, frame_number: int) -> str:
        """The file of frame ``frame_number`` (zero padding fills ``frame_string_length``)."""
        digits = str(frame_number).zfill(self.frame_string_length - len(self.frame_file_stem))
        return f"{self.location}/{self.frame_file_stem}{digits}.{self.file_extension}"

    def frame_paths(self) -> list[str]:
        return [self.frame_path(n) for n in range(self.min_frame_number, self.max_frame_number + 1)]


@dataclass
class VideoInfo(DataclassFieldCaster):
    """Basic metadata of one video; ``resolution`` is ``"WIDTHxHEIGHT"``."""

    video_id: str
    resolution: str
    duration: float
    fps: float


@dataclass
class VideoClipInfo:
    """A clip to load: the video and its ``[start_time, stop_time]`` in seconds."""

    video_id: str
    start_time: float
    stop_time: float


@dataclass
class ImageFrameInfo(DataclassFieldCaster):
    """One frame image of a video (``frame_id`` is the file name without extension)."""

    video_id: str
    frame_id: str
    frame_number: int
    frame_file_path: str


class NamedEnum(Enum):
    """An enum that also takes its members' names (``VideoDatasetType("Frame")``), as specs write them."""

    @classmethod
    def _missing_(cls, value: object):
        return cls.__members__.get(value) if isinstance(value, str) else None

    @classmethod
    def spec_type(cls) -> object:
        """The annotation a spec argument of this enum validates against: a member or its name."""
        return Union[cls, Literal[tuple(cls.__members__)]]


class VideoDatasetType(NamedEnum):
    Frame = 1
    EncodedVideo = 2


VideoDataInfo = Union[VideoFrameInfo, EncodedVideoInfo]


def _drop_unmatched_videos(video_data_infos: dict[str, VideoDataInfo], video_infos: dict[str, VideoInfo],
                           source: str) -> None:
    """Keep only videos present in both dicts (edited in place); a frame video whose frame count is
    off from ``duration * fps`` by more than one second of frames is dropped too. Each drop is
    logged, never silent."""
    for video_id in list(video_infos):
        info = video_infos[video_id]
        data = video_data_infos.get(video_id)
        if data is None:
            _LOG.warning("%s: video %r has metadata but no video data; skipped", source, video_id)
            del video_infos[video_id]
        elif isinstance(data, VideoFrameInfo):
            expected = round(info.duration * info.fps)
            if abs(data.num_frames - expected) > info.fps:
                _LOG.warning("%s: video %r has %d frames, its metadata says %d (%.3g s at %.3g fps); skipped",
                             source, video_id, data.num_frames, expected, info.duration, info.fps)
                del video_infos[video_id]
                del video_data_infos[video_id]
    for video_id in list(video_data_infos):
        if video_id not in video_infos:
            _LOG.warning("%s: video %r has video data but no metadata; skipped", source, video_id)
            del video_data_infos[video_id]


def _matched_frame_infos(frame_manifest_file_path: str, video_infos: dict[str, VideoInfo]) -> dict[str, VideoFrameInfo]:
    frames = load_dataclass_dict_from_csv(frame_manifest_file_path, VideoFrameInfo, "video_id")
    _drop_unmatched_videos(frames, video_infos, frame_manifest_file_path)
    return frames


class ImageDataset:
    """Loading of the individual frames of frame-folder videos (frame-level datasets)."""

    @staticmethod
    def _load_images(frame_manifest_file_path: str, video_info_file_path: str,
                     multithreaded_io: bool) -> dict[str, ImageFrameInfo]:
        """``{frame_id: ImageFrameInfo}`` for every frame of every video in both manifests.

        ``multithreaded_io`` is accepted for PyTorchVideo's signature; indexing reads no frames."""
        video_infos = load_dataclass_dict_from_csv(video_info_file_path, VideoInfo, "video_id")
        frames = _matched_frame_infos(frame_manifest_file_path, video_infos)
        images: dict[str, ImageFrameInfo] = {}
        for video_id, frame_info in frames.items():
            for number in range(frame_info.min_frame_number, frame_info.max_frame_number + 1):
                path = frame_info.frame_path(number)
                frame_id = os.path.splitext(os.path.basename(path))[0]
                images[frame_id] = ImageFrameInfo(video_id, frame_id, number, path)
        return images


class VideoDataset:
    """Loading of whole videos (frame folders or encoded files) from manifests."""

    @staticmethod
    def _load_videos(video_data_manifest_file_path: str, video_info_file_path: str, multithreaded_io: bool,
                     dataset_type: VideoDatasetType, on_bad: Optional[Callable[[BadVideoError], None]] = None) -> dict:
        """``{video_id: Video}`` for the videos present in both manifests. An encoded video that
        cannot be opened goes to ``on_bad`` (and is left out) or, without it, raises."""
        video_infos = load_dataclass_dict_from_csv(video_info_file_path, VideoInfo, "video_id")
        dataset_type = VideoDatasetType(dataset_type)
        if dataset_type is VideoDatasetType.Frame:
            return VideoDataset._load_frame_videos(video_data_manifest_file_path, video_infos, multithreaded_io)
        return VideoDataset._load_encoded_videos(video_data_manifest_file_path, video_infos, on_bad)

    @staticmethod
    def _frame_number_to_filepath(frame_number: int, video_frames: dict[str, VideoFrameInfo],
                                  video_id: str) -> Optional[str]:
        """The file of frame ``frame_number`` of ``video_id``, or ``None`` outside the video's
        ``min_frame_number..max_frame_number`` (PyTorchVideo's helper of the same name)."""
        info = video_frames[video_id]
        if not info.min_frame_number <= frame_number <= info.max_frame_number:
            return None
        return info.frame_path(frame_number)

    @staticmethod
    def _load_frame_videos(frame_manifest_file_path: str, video_infos: dict[str, VideoInfo],
                           multithreaded_io: bool) -> dict:
        frames = _matched_frame_infos(frame_manifest_file_path, video_infos)
        return {
            video_id: FrameVideo(video_frame_paths=info.frame_paths(), duration=video_infos[video_id].duration,
                                 fps=video_infos[video_id].fps, multithreaded_io=multithreaded_io)
            for video_id, info in frames.items()
        }

    @staticmethod
    def _load_encoded_videos(encoded_video_manifest_file_path: str, video_infos: dict[str, VideoInfo],
                             on_bad: Optional[Callable[[BadVideoError], None]] = None) -> dict:
        encoded = load_dataclass_dict_from_csv(encoded_video_manifest_file_path, EncodedVideoInfo, "video_id")
        _drop_unmatched_videos(encoded, video_infos, encoded_video_manifest_file_path)
        videos = {}
        for video_id, info in encoded.items():
            try:
                videos[video_id] = EncodedVideo.from_path(info.file_path)
            except BadVideoError as err:
                if on_bad is None:
                    raise
                on_bad(err)
        return videos


class ManifestClipDataset(BadFileTracker, torch.utils.data.Dataset):
    """Map-style clips of manifest videos, laid out once by ``clip_sampler(videos, annotations)``
    (EPIC-Kitchens, DoMSEV). Item ``i`` is ``{"video_id", "video", "audio", **clip_annotations(clip),
    "start_time", "stop_time"}`` (``None`` values as empty tensors) passed through ``transform``.

    A clip whose range holds no frame has an empty ``video`` tensor, as in PyTorchVideo. With a
    ``seed`` the transform's torch draws are seeded per clip (the same items with any number of
    DataLoader workers); without one they come from torch's global generator.

    Bad files: with ``bad_files="skip"`` an encoded video that cannot be opened is left out, and
    a clip that cannot be read (an unreadable frame file, a truncated video) is replaced by the
    next readable clip, each file with one ``BadVideoWarning`` and an entry in ``bad_files``;
    ``"strict"`` raises ``BadVideoError``.

    Without a ``frame_filter``, a ``transform`` whose video branch starts with
    ``UniformTemporalSubsample(n)`` gets its clips with only those n frames decoded (or read, for
    frame folders): the same items, bit for bit, ``frame_indices`` still listing every frame."""

    def __init__(self, video_data_manifest_file_path: str, video_info_file_path: str, annotations_of: Callable,
                 clip_sampler: Callable, dataset_type: VideoDatasetType, transform: Optional[Callable],
                 frame_filter: Optional[Callable[[list[int]], list[int]]], multithreaded_io: bool,
                 bad_files: BadFilePolicy, seed: Optional[int] = None) -> None:
        super().__init__(bad_files)
        self._seed = seed
        self._videos = VideoDataset._load_videos(video_data_manifest_file_path, video_info_file_path,
                                                 multithreaded_io, dataset_type, on_bad=self._bad)
        self._annotations = annotations_of(set(self._videos))
        self._clips: list[VideoClipInfo] = clip_sampler(self._videos, self._annotations)
        self._transform = transform
        pushed_down = leading_temporal_subsample(transform) if frame_filter is None else None
        self._frame_filter = UniformFrameFilter(pushed_down) if pushed_down else frame_filter
        self._pushed_down = bool(pushed_down)

    def clip_annotations(self, clip: VideoClipInfo) -> dict[str, Any]:
        """The entries a clip's item gets from the annotations."""
        return {}

    def _item(self, index: int) -> Any:
        clip = self._clips[index]
        # a range without frames is the requested clip with an empty video, as in PyTorchVideo (not a
        # bad file: the files are whole)
        video = self._videos[clip.video_id]
        loaded = video.get_clip(clip.start_time, clip.stop_time, self._frame_filter)
        if loaded is None:  # a frame video's clip starting after its end
            loaded = {"video": None, "frame_indices": [], "audio": None}
        elif self._pushed_down and "frame_indices" in loaded:  # the clip's frames, as the transform sees them
            loaded["frame_indices"] = video.frame_indices(clip.start_time, clip.stop_time)
        item = empty_tensors_for_none({"video_id": clip.video_id, **loaded, **self.clip_annotations(clip),
                                       "start_time": clip.start_time, "stop_time": clip.stop_time})
        return transform_sample(self._transform, item, self._seed, index)

    def __getitem__(self, index: int) -> Any:
        return self._first_readable(index, len(self), self._item)

    def __len__(self) -> int:
        return len(self._clips)


def empty_tensors_for_none(clip: dict) -> dict:
    """``None`` values (a video without audio) become empty tensors so that clips collate."""
    return {key: torch.tensor([]) if value is None else value for key, value in clip.items()}


def get_seconds_from_hms_time(time_str: str) -> float:
    """Seconds from a ``HH:MM:SS`` or ``HH:MM:SS.fff`` timestamp (``"00:01:02.50"`` -> 62.5)."""
    for fmt in ("%H:%M:%S.%f", "%H:%M:%S"):
        try:
            parsed = datetime.datetime.strptime(time_str, fmt)
        except ValueError:
            continue
        return datetime.timedelta(hours=parsed.hour, minutes=parsed.minute, seconds=parsed.second,
                                  microseconds=parsed.microsecond).total_seconds()
    raise ValueError(f"no valid time format found for {time_str!r}; expected HH:MM:SS or HH:MM:SS.fff")


def save_encoded_video_manifest(encoded_video_infos: dict[str, EncodedVideoInfo], file_name: str | None = None) -> str:
    """Write the encoded-video manifest csv (default ``./encoded_video_manifest.csv``); returns its path."""
    file_name = os.path.join(os.getcwd(), "encoded_video_manifest.csv") if file_name is None else file_name
    save_dataclass_objs_to_headered_csv(list(encoded_video_infos.values()), file_name)
    return file_name


def save_video_frame_info(video_frames: dict[str, VideoFrameInfo], file_name: str | None = None) -> str:
    """Write the frame manifest csv (default ``./video_frame_metadata.csv``); returns its path."""
    file_name = os.path.join(os.getcwd(), "video_frame_metadata.csv") if file_name is None else file_name
    save_dataclass_objs_to_headered_csv(list(video_frames.values()), file_name)
    return file_name
