"""Manifests for EPIC-Kitchens from its folder layouts (write them with
``save_video_frame_info`` / ``save_encoded_video_manifest``)."""
from __future__ import annotations

import os
import threading

from graphspec.data.dataset_manifest_utils import EncodedVideoInfo, VideoFrameInfo
from graphspec.data.utils import optional_threaded_foreach


def _visible_entries(path: str) -> list[str]:
    return sorted(name for name in os.listdir(path) if not name.startswith("."))


class _FrameIndex:
    """Collects ``VideoFrameInfo`` from frame file names, checking each video's frames are one
    run of consecutive numbers in one format. Thread-safe (folders may be listed in parallel)."""

    def __init__(self) -> None:
        self.videos: dict[str, VideoFrameInfo] = {}
        self._lock = threading.Lock()

    def add_folder(self, folder: str, parse) -> None:
        """``parse(frame_name) -> (video_id, stem, frame_number)`` for each file of ``folder``."""
        found: dict[str, list[tuple[int, str, str, int]]] = {}
        for file_name in _visible_entries(folder):
            name, dot, extension = file_name.rpartition(".")
            if not dot:
                raise ValueError(f"{folder}/{file_name}: a frame file needs an extension")
            video_id, stem, number = parse(name, f"{folder}/{file_name}")
            found.setdefault(video_id, []).append((number, stem, extension, len(name)))
        for video_id, frames in found.items():
            frames.sort()
            number, stem, extension, length = frames[0]
            for expected, (got, got_stem, got_ext, got_len) in enumerate(frames, start=number):
                if (got_stem, got_ext, got_len) != (stem, extension, length):
                    raise ValueError(f"{folder}: frame {got} of {video_id!r} is named unlike its first frame "
                                     f"({got_stem}...{got_ext}, {got_len} chars vs {stem}...{extension}, {length})")
                if got != expected:
                    raise ValueError(f"{folder}: video {video_id!r} misses frame {expected} (next is {got})")
            info = VideoFrameInfo(video_id=video_id, location=folder, frame_file_stem=stem, frame_string_length=length,
                                  min_frame_number=number, max_frame_number=frames[-1][0], file_extension=extension)
            with self._lock:
                if video_id in self.videos:
                    raise ValueError(f"{folder}: video {video_id!r} also has frames in {self.videos[video_id].location}")
                self.videos[video_id] = info


def _split_frame_name(name: str, path: str) -> tuple[str, int]:
    """``"P01_01_0000000001"`` -> ``("P01_01", 1)``: the number follows the last underscore."""
    stem, underscore, number = name.rpartition("_")
    if not underscore or not stem or not number.isdigit():
        raise ValueError(f"{path}: expected a frame name '<stem>_<frame number>'")
    return stem, int(number)


def build_frame_manifest_from_flat_directory(data_directory_path: str, multithreaded: bool) -> dict[str, VideoFrameInfo]:
    """Index frames laid out as ``{data_directory_path}/{video_id}/{stem}_{frame_number}.{ext}``
    (EPIC-Kitchens' ``frame_0000000001.jpg``, or ``P01_01_000001.jpg`` as ``graphspec data prepare``
    extracts them); ``multithreaded`` lists the folders in parallel."""
    index = _FrameIndex()

    def add_video(video_id: str, folder: str) -> None:
        def parse(name: str, path: str) -> tuple[str, str, int]:
            stem, number = _split_frame_name(name, path)
            return video_id, f"{stem}_", number

        index.add_folder(folder, parse)

    folders = [(video_id, f"{data_directory_path}/{video_id}") for video_id in _visible_entries(data_directory_path)]
    optional_threaded_foreach(add_video, folders, multithreaded)
    return index.videos


def build_frame_manifest_from_nested_directory(data_directory_path: str, multithreaded: bool) -> dict[str, VideoFrameInfo]:
    """Index frames laid out as ``{data_directory_path}/{participant_id}/{participant_id}_{video}_{frame_number}.{ext}``;
    the video id is ``{participant_id}_{video}``."""
    index = _FrameIndex()

    def add_participant(participant_id: str, folder: str) -> None:
        def parse(name: str, path: str) -> tuple[str, str, int]:
            video_id, number = _split_frame_name(name, path)
            if not video_id.startswith(f"{participant_id}_"):
                raise ValueError(f"{path}: expected '{participant_id}_<video>_<frame number>' in the folder of "
                                 f"participant {participant_id!r}")
            return video_id, f"{video_id}_", number

        index.add_folder(folder, parse)

    folders = [(pid, f"{data_directory_path}/{pid}") for pid in _visible_entries(data_directory_path)]
    optional_threaded_foreach(add_participant, folders, multithreaded)
    return index.videos


def build_encoded_manifest_from_nested_directory(data_directory_path: str) -> dict[str, EncodedVideoInfo]:
    """Index videos laid out as ``{data_directory_path}/{participant_id}/{video_id}.{ext}``
    (``P01/P01_01.MP4``); the video id is the file name up to its first dot."""
    videos: dict[str, EncodedVideoInfo] = {}
    for participant_id in _visible_entries(data_directory_path):
        folder = f"{data_directory_path}/{participant_id}"
        for file_name in _visible_entries(folder):
            video_id = file_name.split(".")[0]
            if video_id in videos:
                raise ValueError(f"{folder}/{file_name}: video id {video_id!r} also names {videos[video_id].file_path}")
            videos[video_id] = EncodedVideoInfo(video_id, f"{folder}/{file_name}")
    return videos
