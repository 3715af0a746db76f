"""AVA (Actions v2.2): spatio-temporal action detection on frames of the annotated minutes 15-30.

Inputs, as PyTorchVideo documents them:

* the frame list (``frame_lists/train.csv``), a space separated csv ``original_vido_id video_id
  frame_id path labels`` of the frames extracted at 30 fps from each video cut to start at 900 s
  (``<video>/<video>_000001.jpg`` shows second 900);
* the box csv (``ava_train_v2.2.csv`` or a detector's ``ava_train_predicted_boxes.csv``), no header,
  rows ``video_id, timestamp, x1, y1, x2, y2, action_id, person_id | detection score`` with box
  corners normalized to [0, 1]; keyframes are every second from 902 to 1798;
* optionally the label map (``ava_action_list_v2.2.pbtxt``): ``item { name: "..." id: N }``
  (or ``label_id: N``) blocks; boxes with other action ids are dropped.

Each keyframe of a video is one entry of a ``LabeledVideoDataset``; ``TimeStampClipSampler``
centres its clip on the keyframe. A sample holds ``boxes`` (an (N, 4) float tensor, normalized
x1, y1, x2, y2, one row per distinct box), ``labels`` (the action ids of each box) and
``extra_info`` (their person ids / detection scores), plus ``video_index`` (the video's position
in the frame list) and ``clip_index`` (the keyframe's second from the cut's start).
"""
from __future__ import annotations

import copy
import csv
import os
import re
from collections import defaultdict
from typing import Any, Callable, Optional

import torch
from torch.utils.data import RandomSampler

from graphspec.registry import ComponentType, register

from .charades import read_frame_list
from .clip_sampling import ClipInfo, ClipSampler, Seconds
from .labeled_video_dataset import BadFilePolicy, LabeledVideoDataset, VideoDtype
from .labeled_video_paths import LabelProblem, not_a_class_index
from .traits import UNIFORM_CLIP_DATASET
from .utils import get_logger

_LOG = get_logger(__name__)


class AvaLabeledVideoFramePaths:
    """Turns AVA's frame list and box csv into ``LabeledVideoDataset`` entries, one per keyframe."""

    #: keyframe timestamps (seconds of the original video) that carry annotations
    AVA_VALID_FRAMES = list(range(902, 1799))
    FPS = 30
    #: the frames start at this second of the original video
    AVA_VIDEO_START_SEC = 900

    @classmethod
    def _aggregate_bboxes_labels(cls, inp: dict) -> dict:
        """Merge rows of one keyframe that share a box (to 2 decimals): one box, its labels listed."""
        merged: dict[str, int] = {}
        out: dict[str, list] = {"labels": [], "boxes": [], "extra_info": []}
        for box, label, extra in zip(inp["boxes"], inp["labels"], inp["extra_info"]):
            key = ",".join(f"{v:.2f}" for v in box)
            if key not in merged:
                merged[key] = len(out["boxes"])
                out["boxes"].append(box)
                out["labels"].append([])
                out["extra_info"].append([])
            out["labels"][merged[key]].append(label)
            out["extra_info"][merged[key]].append(extra)
        return out

    @classmethod
    def from_csv(cls, frame_paths_file: str, frame_labels_file: str, video_path_prefix: str,
                 label_map_file: Optional[str] = None) -> list[tuple[str, dict]]:
        """``[(frames folder, {"labels", "boxes", "extra_info", "video_index", "clip_index"})]``
        for every keyframe with at least one (allowed) box."""
        return cls._entries_and_label_lines(frame_paths_file, frame_labels_file, video_path_prefix, label_map_file)[0]

    @classmethod
    def _entries_and_label_lines(cls, frame_paths_file: str, frame_labels_file: str, video_path_prefix: str,
                                 label_map_file: Optional[str]) -> tuple[list[tuple[str, dict]], list[tuple]]:
        """``from_csv``'s entries and, for each action id given in the box csv, ``(frames
        folder, action id, box csv line)`` (to name a bad id's line)."""
        allowed = cls.read_label_map(label_map_file)[1] if label_map_file is not None else None
        image_paths, _, name_to_index = cls.load_image_lists(frame_paths_file, video_path_prefix)
        per_video = cls.load_and_parse_labels_csv(frame_labels_file, name_to_index, allowed, with_lines=True)
        entries, label_lines = [], []
        for video_index, keyframes in per_video.items():
            folder = os.path.dirname(image_paths[video_index][0])
            for second, rows in keyframes.items():
                label_lines += [(folder, label, line) for label, line in zip(rows["labels"], rows.pop("lines"))
                                if line is not None]
                info = cls._aggregate_bboxes_labels(rows)
                info["boxes"] = torch.tensor(info["boxes"], dtype=torch.float32).reshape(-1, 4)
                entries.append((folder, {**info, "video_index": video_index, "clip_index": second}))
        return entries, label_lines

    @staticmethod
    def load_and_parse_labels_csv(frame_labels_file: str, video_name_to_idx: dict[str, int],
                                  allowed_class_ids: Optional[set[int]] = None, *,
                                  with_lines: bool = False) -> dict[int, dict[float, dict]]:
        """``{video index: {keyframe second from the cut's start: {"boxes", "labels", "extra_info"}}}``.

        Rows outside the valid keyframes, of videos not in the frame list, or (with a label map)
        of other action ids are left out; the first two are counted in one warning.
        ``with_lines`` adds ``"lines"``: each row's line number (None where its action id is
        empty, as in a detector's boxes)."""
        first, last = AvaLabeledVideoFramePaths.AVA_VALID_FRAMES[0], AvaLabeledVideoFramePaths.AVA_VALID_FRAMES[-1]
        out: dict[int, dict[float, dict]] = {}
        unknown_videos: set[str] = set()
        outside = 0
        with open(frame_labels_file, newline="") as handle:
            for number, row in enumerate(csv.reader(handle), 1):
                if not row:
                    continue
                if len(row) < 7:
                    raise ValueError(f"{frame_labels_file}:{number}: expected 'video_id, timestamp, x1, y1, x2, y2, "
                                     f"action_id[, person_id]', got {','.join(row)!r}")
                try:
                    second, box = float(row[1]), [float(v) for v in row[2:6]]
                    label = int(row[6]) if row[6].strip() else -1
                    extra = float(row[7]) if len(row) > 7 and row[7].strip() else -1.0
                except ValueError:
                    raise ValueError(f"{frame_labels_file}:{number}: timestamp, box and ids must be numbers, "
                                     f"got {','.join(row)!r}") from None
                if not first <= second <= last:
                    outside += 1
                    continue
                if row[0] not in video_name_to_idx:
                    unknown_videos.add(row[0])
                    continue
                if allowed_class_ids is not None and label not in allowed_class_ids:
                    continue
                keyframe = out.setdefault(video_name_to_idx[row[0]], {}).setdefault(
                    second - AvaLabeledVideoFramePaths.AVA_VIDEO_START_SEC, defaultdict(list))
                keyframe["boxes"].append(box)
                keyframe["labels"].append(label)
                keyframe["extra_info"].append(extra)
                if with_lines:
                    keyframe["lines"].append(number if row[6].strip() else None)
        if outside or unknown_videos:
            _LOG.warning("%s: left out %d rows outside keyframes %d-%d s and the rows of %d videos not in the "
                         "frame list (%s)", frame_labels_file, outside, first, last, len(unknown_videos),
                         ", ".join(sorted(unknown_videos)[:3]))
        return out

    @staticmethod
    def load_image_lists(frame_paths_file: str, video_path_prefix: str) -> tuple[list[list[str]], list[str], dict[str, int]]:
        """``(frame paths per video, video names by index, index by video name)``."""
        names, paths, _ = read_frame_list(frame_paths_file, video_path_prefix, with_labels=False)
        return paths, names, {name: index for index, name in enumerate(names)}

    @staticmethod
    def read_label_map(label_map_file: str) -> tuple[dict[int, str], set[int]]:
        """``({class id: name}, {class ids})`` of a ``.pbtxt`` label map."""
        text = open(label_map_file).read()
        labels = {}
        for number, block in enumerate(re.findall(r"item\s*\{(.*?)\}", text, flags=re.S), 1):
            name = re.search(r'\bname:\s*"([^"]*)"', block)
            class_id = re.search(r"\b(?:label_)?id:\s*(\d+)", block)
            if name is None or class_id is None:
                raise ValueError(f"{label_map_file}: item {number} needs a name and an id (or label_id)")
            labels[int(class_id.group(1))] = name.group(1)
        if not labels:
            raise ValueError(f"{label_map_file}: no 'item {{ name: ... id: ... }}' entries")
        return labels, set(labels)


@register(kind="object", arg_types={"clip_sampler": ComponentType})
class TimeStampClipSampler(ClipSampler):
    """One clip per entry, of ``clip_sampler``'s duration, centred on the entry's keyframe
    (``annotation["clip_index"]``, in seconds)."""

    def __init__(self, clip_sampler: ClipSampler) -> None:
        super().__init__(clip_sampler.clip_duration)
        self.clip_sampler = clip_sampler

    def __call__(self, last_clip_time: Seconds, video_duration: Seconds, annotation: Optional[dict]) -> ClipInfo:
        if not annotation or "clip_index" not in annotation:
            raise ValueError("TimeStampClipSampler needs the keyframe time as annotation['clip_index']")
        start = annotation["clip_index"] - float(self.clip_duration) / 2.0
        return ClipInfo(start, start + float(self.clip_duration), 0, 0, True)


class _KeyframeDataset(LabeledVideoDataset):
    """Each sample gets its own copy of the keyframe's boxes and labels (a transform that scales
    boxes in place must not change them for the next epoch)."""

    #: (frames folder, action id, box csv line) of each action id given; set by ``Ava``
    _label_lines: list[tuple[str, int, int]] = []
    _frame_labels_file = ""

    def _sample(self, video, path, info, *rest):
        return super()._sample(video, path, copy.deepcopy(info), *rest)

    def label_problems(self, num_classes: Optional[int] = None) -> list[LabelProblem]:
        """Each action id of the box csv that is no class index: AVA's ids count from 1 (as its
        label map does), so 1..``num_classes``; the video's frames folder is the bad file."""
        found = []
        for folder, label, line in self._label_lines:
            reason = not_a_class_index(label, num_classes, f"{self._frame_labels_file}:{line}", first=1)
            if reason:
                found.append(LabelProblem((folder,), "frame_labels_file", reason))
        return found


@register(kind="object", arg_types={"clip_sampler": ComponentType}, traits=UNIFORM_CLIP_DATASET)
def Ava(frame_paths_file: str, frame_labels_file: str, video_path_prefix: str = "",  # noqa: N802 (PyTorchVideo's name)
        label_map_file: Optional[str] = None, clip_sampler: ClipSampler = ClipSampler,
        video_sampler: type = RandomSampler, transform: Optional[Callable[[dict], Any]] = None, *,
        frames_per_clip: Optional[int] = None, seed: Optional[int] = None, rank: Optional[int] = None,
        world_size: Optional[int] = None, bad_files: BadFilePolicy = "skip",
        video_dtype: VideoDtype = "float32") -> LabeledVideoDataset:
    """A ``LabeledVideoDataset`` of AVA keyframes (see the module docstring). ``clip_sampler``
    gives the clip duration (``make_clip_sampler("random", 2)``: 2 s around each keyframe); the
    keyword-only arguments are ``LabeledVideoDataset``'s."""
    if not isinstance(clip_sampler, ClipSampler):
        raise TypeError("Ava needs a clip sampler instance for the clip duration, e.g. "
                        "make_clip_sampler('uniform', 2.0) for 2 s clips centred on the keyframes")
    entries, label_lines = AvaLabeledVideoFramePaths._entries_and_label_lines(
        frame_paths_file, frame_labels_file, video_path_prefix, label_map_file)
    if not entries:
        raise ValueError(f"{frame_labels_file}: no keyframe with a box of a video in {frame_paths_file}")
    dataset = _KeyframeDataset(entries, TimeStampClipSampler(clip_sampler), video_sampler, transform,
                               decode_audio=False, frames_per_clip=frames_per_clip, seed=seed, rank=rank,
                               world_size=world_size, bad_files=bad_files, video_dtype=video_dtype)
    dataset._label_lines, dataset._frame_labels_file = label_lines, frame_labels_file
    return dataset
