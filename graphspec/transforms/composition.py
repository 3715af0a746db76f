"""What a sample transform does first to a clip's video, read off its composition (``Compose``,
``nn.Sequential``, ``ApplyTransformToKey``, a dataset's ``SampleWrapper``; TorchVision's ``Compose``
when TorchVision is loaded), so a dataset can do that step while decoding instead of after it.
The one rule for every dataset and for the data specs (which read their built transform)."""
from __future__ import annotations

import sys
from typing import Any, Callable, Optional

import torch.nn as nn

from .transforms import ApplyTransformToKey, UniformTemporalSubsample
from .vision import Compose

#: a step of a sample transform that leaves ``sample[key]`` alone (the search goes on past it)
_UNTOUCHED = object()
#: the temporal dim of a (C, T, H, W) clip, as ``UniformTemporalSubsample`` may name it
_CLIP_TIME_DIMS = (-3, 1)


class SampleWrapper:
    """A dataset's own step around the user's sample transform: it changes only the sample keys
    in ``touches``, then hands the sample to ``self.transform`` (None: to nobody). The search
    reads through it (EPIC-Kitchens recognition narrows ``actions`` before the user's transform)."""

    touches: tuple[str, ...] = ()
    transform: Optional[Callable] = None


def leading_temporal_subsample(transform: Optional[Callable], key: str = "video") -> Optional[int]:
    """``n`` when the first thing ``transform`` (which takes a sample dict) does to
    ``sample[key]``, a (C, T, H, W) clip, is ``UniformTemporalSubsample(n)`` over its frames;
    else None. Decoding only the frames ``UniformFrameFilter(n)`` keeps then changes nothing:
    the subsample of those n frames is all of them, and of a clip shorter than n (whose every
    frame the filter keeps) the same repeats."""
    found = _on_sample(transform, key)
    return None if found is _UNTOUCHED else found


def _on_sample(step: Any, key: str) -> Any:
    """For a step taking the sample dict: ``n``, None (the clip is seen by something else
    first), or ``_UNTOUCHED``."""
    if isinstance(step, ApplyTransformToKey):
        return _on_clip(step.transform) if step.key == key else _UNTOUCHED  # the other key's value only
    if isinstance(step, SampleWrapper):
        if key in step.touches:
            return None
        return _UNTOUCHED if step.transform is None else _on_sample(step.transform, key)
    steps = _chain(step)
    if steps is None:
        return None
    for inner in steps:
        found = _on_sample(inner, key)
        if found is not _UNTOUCHED:
            return found
    return _UNTOUCHED


def _on_clip(step: Any) -> Optional[int]:
    """For a step taking the clip tensor: ``n`` when it starts with the subsample, else None."""
    if type(step) is UniformTemporalSubsample:  # exactly ours: a subclass may do otherwise
        num, dim = step._num_samples, step._temporal_dim
        return num if isinstance(num, int) and num >= 1 and dim in _CLIP_TIME_DIMS else None
    steps = _chain(step)
    return _on_clip(steps[0]) if steps else None


def _chain(step: Any) -> Optional[list]:
    """The steps of a composition applied in order, or None for anything else."""
    if isinstance(step, Compose):
        return step.transforms
    if isinstance(step, nn.Sequential):
        return list(step)
    torchvision = sys.modules.get("torchvision.transforms")  # only if the user's code loaded it
    if torchvision is not None and isinstance(step, torchvision.Compose):
        return list(step.transforms)
    return None
