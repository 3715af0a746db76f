"""Kinetics: a ``path label`` csv per split (``train.csv``, ``val.csv``, ``test.csv``) or a
``<label>/<video>.mp4`` tree."""
from __future__ import annotations

from typing import Any, Callable, Optional

from torch.utils.data import RandomSampler

from .clip_sampling import ClipSampler
from .labeled_video_dataset import LabeledVideoDataset, labeled_video_dataset

def Kinetics(data_path: str, clip_sampler: ClipSampler, video_sampler: type = RandomSampler,  # noqa: N802 (PyTorchVideo's name)
             transform: Optional[Callable[[dict], Any]] = None, video_path_prefix: str = "",
             decode_audio: bool = True, decoder: str = "pyav", **options: Any) -> LabeledVideoDataset:
    """A ``LabeledVideoDataset`` for Kinetics (see ``labeled_video_dataset`` for ``options``)."""
    return labeled_video_dataset(data_path, clip_sampler, video_sampler, transform, video_path_prefix,
                                 decode_audio, decoder, **options)
