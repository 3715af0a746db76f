"""HMDB51: the official split files ``<action>_test_split<N>.txt``, one per action and fold, whose
lines are ``<video>.avi <type>`` with type 1 = train, 2 = test, 0 = unused. Videos live at
``<video_path_prefix>/<action>/<video>.avi``. As in PyTorchVideo, a video's ``label`` is its
action's name and ``meta_tags`` the five tags its file name ends with (``April_09_brush_hair_u_nm_
np1_ba_goo_0.avi``: visible body parts, camera motion, number of people, viewpoint, quality:
``["u", "nm", "np1", "ba", "goo"]``)."""
from __future__ import annotations

import os
import re
from typing import Any, Callable, Optional

from torch.utils.data import RandomSampler

from graphspec.registry import ComponentType, register

from .clip_sampling import ClipSampler
from .errors import DataAssertionError, DataFileNotFoundError
from .labeled_video_dataset import BadFilePolicy, LabeledVideoDataset, VideoDtype
from .labeled_video_paths import LabeledVideoPaths
from .traits import UNIFORM_CLIP_DATASET

_SPLIT_FILE = re.compile(r"^(?P<action>.+)_test_split(?P<split>\d+)\.txt$")


class Hmdb51LabeledVideoPaths(LabeledVideoPaths):
    """The videos of one HMDB51 fold and split type."""

    SPLIT_TYPES = {"train": 1, "test": 2, "unused": 0}
    SPLIT_IDS = (1, 2, 3)

    @classmethod
    def from_dir(cls, data_path: str, split_id: int = 1, split_type: str = "train") -> "Hmdb51LabeledVideoPaths":
        """Read every ``*_test_split<split_id>.txt`` of the folder ``data_path``."""
        if not os.path.isdir(data_path):
            raise DataFileNotFoundError(f"{data_path}: no such folder of HMDB51 split files")
        files = sorted(os.path.join(data_path, f) for f in os.listdir(data_path)
                       if (m := _SPLIT_FILE.match(f)) and int(m["split"]) == split_id)
        if not files:
            raise DataAssertionError(f"{data_path}: no '*_test_split{split_id}.txt' split files")
        return cls.from_csvs(files, split_id, split_type)

    @classmethod
    def from_csvs(cls, file_paths: list[str], split_id: int = 1, split_type: str = "train") -> "Hmdb51LabeledVideoPaths":
        if split_id not in cls.SPLIT_IDS:
            raise ValueError(f"split_id must be one of {cls.SPLIT_IDS}, got {split_id}")
        if split_type not in cls.SPLIT_TYPES:
            raise ValueError(f"split_type must be one of {sorted(cls.SPLIT_TYPES)}, got {split_type!r}")
        wanted = cls.SPLIT_TYPES[split_type]
        out = []
        for file_path in file_paths:
            action = _SPLIT_FILE.match(os.path.basename(file_path))["action"]
            with open(file_path) as handle:
                for number, line in enumerate(handle, 1):
                    parts = line.split()
                    if not parts:
                        continue
                    if len(parts) != 2 or not parts[1].isdigit():
                        raise ValueError(f"{file_path}:{number}: expected '<video> <0|1|2>', got {line.strip()!r}")
                    if int(parts[1]) == wanted:
                        meta_tags = parts[0].split("_")[-6:-1]
                        out.append((os.path.join(action, parts[0]), {"label": action, "meta_tags": meta_tags}))
        if not out:
            raise DataAssertionError(f"no {split_type!r} videos in the split files {file_paths}")
        return cls(out)


@register(kind="object", arg_types={"clip_sampler": ComponentType}, traits=UNIFORM_CLIP_DATASET)
def Hmdb51(data_path: str, clip_sampler: ClipSampler, video_sampler: type = RandomSampler,  # noqa: N802 (PyTorchVideo's name)
           transform: Optional[Callable[[dict], Any]] = None, video_path_prefix: str = "", split_id: int = 1,
           split_type: str = "train", decode_audio: bool = True, decoder: str = "pyav", *,
           frames_per_clip: Optional[int] = None, video_dtype: VideoDtype = "float32", seed: Optional[int] = None,
           rank: Optional[int] = None, world_size: Optional[int] = None,
           bad_files: BadFilePolicy = "skip") -> LabeledVideoDataset:
    """A ``LabeledVideoDataset`` of one HMDB51 fold: ``data_path`` is the folder of split files;
    the keyword-only arguments are ``LabeledVideoDataset``'s."""
    paths = Hmdb51LabeledVideoPaths.from_dir(data_path, split_id, split_type)
    paths.path_prefix = video_path_prefix
    return LabeledVideoDataset(paths, clip_sampler, video_sampler, transform, decode_audio=decode_audio,
                               decoder=decoder, frames_per_clip=frames_per_clip, video_dtype=video_dtype, seed=seed,
                               rank=rank, world_size=world_size, bad_files=bad_files)
