"""Clip samplers: given a video's duration (and the end of the last clip taken from it), say which
clip ``[start, end)`` in seconds to read next (``pytorchvideo.data.clip_sampling``).

Random samplers draw from ``self.rng``. Datasets give every video visit its own generator,
derived from the dataset seed, the epoch and the video index, so the same seed gives the same clips
whatever the number of DataLoader workers or ranks; used on its own a sampler draws from Python's
global ``random`` (``random.seed`` makes it repeatable).
"""
from __future__ import annotations

import abc
import random
from fractions import Fraction
from typing import Any, NamedTuple, Optional, Union

from graphspec.registry import register
from graphspec.spec.errors import did_you_mean

Seconds = Union[float, Fraction]


class ClipInfo(NamedTuple):
    """One clip: its start and end in seconds, its index within the video, its augmentation index
    and whether the video has no clip after it."""

    clip_start_sec: Seconds
    clip_end_sec: Seconds
    clip_index: int
    aug_index: int
    is_last_clip: bool


class ClipInfoList(NamedTuple):
    """Several clips of one video read together (one sample): the fields of ``ClipInfo`` as lists."""

    clip_start_sec: list
    clip_end_sec: list
    clip_index: list
    aug_index: list
    is_last_clip: list


class ClipSampler(abc.ABC):
    """Interface: ``sampler(last_clip_time, video_duration, annotation) -> ClipInfo``."""

    def __init__(self, clip_duration: Seconds) -> None:
        self._clip_duration = Fraction(clip_duration)
        if self._clip_duration <= 0:
            raise ValueError(f"clip_duration must be positive, got {clip_duration}")
        self._current_clip_index = 0
        self._current_aug_index = 0
        #: the generator of random choices; None draws from Python's global ``random``
        self.rng: Optional[random.Random] = None

    @property
    def clip_duration(self) -> Fraction:
        return self._clip_duration

    @abc.abstractmethod
    def __call__(self, last_clip_time: Seconds, video_duration: Seconds,
                 annotation: Optional[dict]) -> ClipInfo | ClipInfoList:
        ...

    def reset(self) -> None:
        """Forget the clips taken from the current video (the next call starts a new one)."""
        self._current_clip_index = 0
        self._current_aug_index = 0

    def __repr__(self) -> str:
        return f"{type(self).__name__}(clip_duration={float(self._clip_duration)})"


def _random_start(rng: Any, clip_duration: Fraction, video_duration: Seconds) -> Fraction:
    latest = max(video_duration - clip_duration, 0)
    return Fraction(rng.uniform(0, float(latest)))


@register(kind="object")
class RandomClipSampler(ClipSampler):
    """One clip of ``clip_duration`` at a uniformly random start per video visit
    (``clip_index``/``aug_index`` 0, ``is_last_clip`` True)."""

    def __init__(self, clip_duration: float) -> None:
        super().__init__(clip_duration)

    def __call__(self, last_clip_time: Seconds, video_duration: Seconds, annotation: Optional[dict]) -> ClipInfo:
        start = _random_start(self.rng or random, self._clip_duration, video_duration)
        return ClipInfo(start, start + self._clip_duration, 0, 0, True)


@register(kind="object")
class RandomMultiClipSampler(RandomClipSampler):
    """``num_clips`` independent random clips per video visit, returned together (``ClipInfoList``)."""

    def __init__(self, clip_duration: float, num_clips: int) -> None:
        super().__init__(clip_duration)
        if num_clips < 1:
            raise ValueError(f"num_clips must be >= 1, got {num_clips}")
        self._num_clips = num_clips

    def __call__(self, last_clip_time: Seconds, video_duration: Seconds, annotation: Optional[dict]) -> ClipInfoList:
        clips = [super(RandomMultiClipSampler, self).__call__(last_clip_time, video_duration, annotation)
                 for _ in range(self._num_clips)]
        return ClipInfoList(*(list(field) for field in zip(*clips)))


@register(kind="object")
class RandomMultiClipSamplerTruncateFromStart(RandomMultiClipSampler):
    """``RandomMultiClipSampler`` over only the first ``truncation_duration`` seconds of each video."""

    def __init__(self, clip_duration: float, num_clips: int, truncation_duration: Optional[float] = None) -> None:
        super().__init__(clip_duration, num_clips)
        self._truncation_duration = truncation_duration

    def __call__(self, last_clip_time: Seconds, video_duration: Seconds, annotation: Optional[dict]) -> ClipInfoList:
        if self._truncation_duration is not None:
            video_duration = min(video_duration, self._truncation_duration)
        return super().__call__(last_clip_time, video_duration, annotation)


@register(kind="object")
class UniformClipSampler(ClipSampler):
    """Clips of ``clip_duration`` every ``stride`` seconds (default: back to back) from the start.

    Without ``backpad_last`` the last clip is the last one that fits (a clip is last when the next
    would end more than ``eps`` past the video); with it, a final clip is moved back to end exactly
    at the video's end so the last frames are covered."""

    def __init__(self, clip_duration: float, stride: Optional[float] = None, backpad_last: bool = False,
                 eps: float = 1e-6) -> None:
        super().__init__(clip_duration)
        self._stride = Fraction(stride) if stride is not None else self._clip_duration
        if self._stride <= 0:
            raise ValueError(f"stride must be positive, got {stride}")
        self._backpad_last = backpad_last
        self._eps = eps

    def _clip_after(self, last_end: Optional[Seconds], video_duration: Seconds) -> tuple[Fraction, Fraction]:
        start = Fraction(0) if last_end is None else Fraction(last_end) + self._stride - self._clip_duration
        end = start + self._clip_duration
        if self._backpad_last and end > video_duration:
            start = max(Fraction(0), start - (end - Fraction(video_duration)))
            end = start + self._clip_duration
        return start, end

    def __call__(self, last_clip_time: Seconds, video_duration: Seconds, annotation: Optional[dict]) -> ClipInfo:
        first = self._current_clip_index == 0
        start, end = self._clip_after(None if first else last_clip_time, video_duration)
        _, next_end = self._clip_after(end, video_duration)
        if self._backpad_last:
            is_last = abs(next_end - end) < self._eps
        else:
            is_last = next_end - video_duration > self._eps
        index = self._current_clip_index
        self._current_clip_index += 1
        if is_last:
            self.reset()
        return ClipInfo(start, end, index, 0, is_last)

    def num_clips(self, video_duration: Seconds) -> int:
        """How many clips one pass over a video of ``video_duration`` seconds gives."""
        count, last_end = 0, None
        while True:
            start, end = self._clip_after(last_end, video_duration)
            _, next_end = self._clip_after(end, video_duration)
            count += 1
            last_end = end
            if (abs(next_end - end) < self._eps) if self._backpad_last else (next_end - video_duration > self._eps):
                return count

    def clip_at(self, index: int, video_duration: Seconds) -> ClipInfo:
        """Clip ``index`` of a video without walking the ones before it (for map-style access)."""
        start = index * self._stride
        end = start + self._clip_duration
        if self._backpad_last and end > video_duration:
            start = max(Fraction(0), Fraction(video_duration) - self._clip_duration)
            end = start + self._clip_duration
        return ClipInfo(start, end, index, 0, index == self.num_clips(video_duration) - 1)


@register(kind="object")
class UniformClipSamplerTruncateFromStart(UniformClipSampler):
    """``UniformClipSampler`` over only the first ``truncation_duration`` seconds of each video."""

    def __init__(self, clip_duration: float, stride: Optional[float] = None,
                 truncation_duration: Optional[float] = None) -> None:
        super().__init__(clip_duration, stride)
        self._truncation_duration = truncation_duration

    def _truncated(self, video_duration: Seconds) -> Seconds:
        return video_duration if self._truncation_duration is None else min(video_duration, self._truncation_duration)

    def __call__(self, last_clip_time: Seconds, video_duration: Seconds, annotation: Optional[dict]) -> ClipInfo:
        return super().__call__(last_clip_time, self._truncated(video_duration), annotation)

    def num_clips(self, video_duration: Seconds) -> int:
        return super().num_clips(self._truncated(video_duration))

    def clip_at(self, index: int, video_duration: Seconds) -> ClipInfo:
        return super().clip_at(index, self._truncated(video_duration))


@register(kind="object")
class ConstantClipsPerVideoSampler(ClipSampler):
    """``clips_per_video`` clips starting at the video's latest clip start split into
    ``clips_per_video`` equal steps (clip ``i`` starts at ``i * (duration - clip_duration) /
    clips_per_video``, as PyTorchVideo's and PySlowFast's test views: the first at 0, the last one
    step before the video's end), each returned ``augs_per_clip`` times (``aug_index`` 0..augs_per_clip-1)."""

    def __init__(self, clip_duration: float, clips_per_video: int, augs_per_clip: int = 1) -> None:
        super().__init__(clip_duration)
        if clips_per_video < 1 or augs_per_clip < 1:
            raise ValueError("clips_per_video and augs_per_clip must be >= 1")
        self._clips_per_video = clips_per_video
        self._augs_per_clip = augs_per_clip

    def __call__(self, last_clip_time: Seconds, video_duration: Seconds, annotation: Optional[dict]) -> ClipInfo:
        latest = Fraction(max(video_duration - self._clip_duration, 0))
        spacing = latest / self._clips_per_video
        start = spacing * self._current_clip_index
        clip_index, aug_index = self._current_clip_index, self._current_aug_index
        self._current_aug_index += 1
        if self._current_aug_index >= self._augs_per_clip:
            self._current_clip_index += 1
            self._current_aug_index = 0
        is_last = (self._current_clip_index >= self._clips_per_video
                   or spacing * self._current_clip_index > latest)
        if is_last:
            self.reset()
        return ClipInfo(start, start + self._clip_duration, clip_index, aug_index, is_last)


#: ``make_clip_sampler`` names -> sampler classes
CLIP_SAMPLERS: dict[str, type] = {
    "uniform": UniformClipSampler,
    "random": RandomClipSampler,
    "constant_clips_per_video": ConstantClipsPerVideoSampler,
    "random_multi": RandomMultiClipSampler,
    "uniform_truncate_from_start": UniformClipSamplerTruncateFromStart,
    "random_multi_truncate_from_start": RandomMultiClipSamplerTruncateFromStart,
}


def make_clip_sampler(sampling_type: str, *args: Any, **kwargs: Any) -> ClipSampler:
    """The clip sampler called ``sampling_type`` built with ``args``/``kwargs`` (``duration`` is
    accepted for ``clip_duration``, as in PyTorchVideo's documented example)."""
    try:
        cls = CLIP_SAMPLERS[sampling_type]
    except (KeyError, TypeError):
        hint = did_you_mean(str(sampling_type), CLIP_SAMPLERS)
        raise ValueError(f"unknown clip sampler {sampling_type!r}; known: {', '.join(CLIP_SAMPLERS)}"
                         + (f" ({hint})" if hint else "")) from None
    if "duration" in kwargs:
        if "clip_duration" in kwargs or args:
            raise TypeError("give the clip duration once: as `duration`, `clip_duration` or positionally")
        kwargs["clip_duration"] = kwargs.pop("duration")
    return cls(*args, **kwargs)
