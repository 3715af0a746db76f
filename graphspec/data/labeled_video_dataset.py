"""``LabeledVideoDataset``: clips of labelled videos (encoded files or frame folders).

Each epoch the video sampler orders the videos; the order is split into disjoint contiguous
shards, one per (rank, DataLoader worker), which together cover every video once. The clip
sampler then says which clips to read from each video. With a ``seed``, every random choice (the
video order, each video's clips and the transform's torch randomness) comes from generators
derived from it, the epoch and the video index, so a seed gives the same samples whatever the
number of workers or ranks. Without one (the default) the choices are PyTorchVideo's: the video
order is its ``RandomSampler`` over a fresh ``torch.Generator()`` (reseeded in each DataLoader
worker from the worker seeds, as there), the clips come from Python's global ``random`` and the
transform draws from torch's global generator, so the same code gives the same clips on both.

Bad files (missing, empty, truncated, not a video) are skipped with one ``BadVideoWarning``
naming the file and the reason, and remembered in ``bad_files`` (per process: each DataLoader
worker keeps its own); ``bad_files="strict"`` raises ``BadVideoError`` instead.
"""
from __future__ import annotations

import bisect
import functools
import random
from typing import Any, Callable, Iterator, Literal, Optional

import torch
import torch.distributed as dist
import torch.utils.data
from torch.utils.data import DistributedSampler, RandomSampler, SequentialSampler

from graphspec.registry import ComponentType, register
from graphspec.transforms.composition import leading_temporal_subsample

from .bad_files import BadFilePolicy, BadFileTracker, BadVideoWarning  # noqa: F401 (re-exported)
from .clip_sampling import ClipInfo, ClipInfoList, ClipSampler, UniformClipSampler
from .labeled_video_paths import LabeledVideoPaths
from .utils import seed_of as _seed_of, shard_bounds, transform_sample
from .video import BadVideoError, UniformFrameFilter, Video, VideoPathHandler

VideoDtype = Literal["float32", "uint8"]


#: the video samplers a spec names (``video_sampler: SequentialSampler``)
VIDEO_SAMPLERS = {cls.__name__: cls for cls in (RandomSampler, SequentialSampler, DistributedSampler)}


def current_rank_and_world(rank: Optional[int] = None, world_size: Optional[int] = None) -> tuple[int, int]:
    """Explicit ``rank``/``world_size`` win; else ``torch.distributed``'s when initialised; else (0, 1)."""
    if (rank is None) != (world_size is None):
        raise ValueError("give both rank and world_size, or neither")
    if rank is None:
        if dist.is_available() and dist.is_initialized():
            return dist.get_rank(), dist.get_world_size()
        return 0, 1
    if not 0 <= rank < world_size:
        raise ValueError(f"rank {rank} outside world of size {world_size}")
    return rank, world_size


class _ClipReader(BadFileTracker):
    """What the iterable and the map-style datasets share: opening videos under the bad-file
    policy, reading a clip and building the sample dict."""

    def __init__(self, labeled_video_paths, transform, decode_audio, decoder, frames_per_clip, seed,
                 bad_files: BadFilePolicy, video_dtype: VideoDtype) -> None:
        BadFileTracker.__init__(self, bad_files)
        if video_dtype not in ("float32", "uint8"):
            raise ValueError(f"video_dtype must be 'float32' or 'uint8', not {video_dtype!r}")
        self._video_dtype = getattr(torch, video_dtype)
        self._labeled_videos = labeled_video_paths
        self._transform = transform
        self._decode_audio = decode_audio
        self._decoder = decoder
        if frames_per_clip is None:  # the drop-in route: decode only the frames the transform keeps first
            frames_per_clip = leading_temporal_subsample(transform)
        self._frame_filter = UniformFrameFilter(frames_per_clip) if frames_per_clip else None
        self._seed = seed
        self._video_path_handler = VideoPathHandler()

    def _open(self, path: str) -> Optional[Video]:
        if path in self.bad_files:
            return None
        try:
            return self._video_path_handler.video_from_path(path, decode_audio=self._decode_audio,
                                                            decoder=self._decoder)
        except BadVideoError as err:
            self._bad(err)
            return None

    def _read(self, video: Video, path: str, clip: ClipInfo | ClipInfoList) -> dict[str, Any]:
        """The clip's tensors; several clips (``ClipInfoList``) give lists. ``BadVideoError``
        when a clip holds no frame (a truncated or damaged file)."""
        many = isinstance(clip, ClipInfoList)
        starts, ends = (clip.clip_start_sec, clip.clip_end_sec) if many else ([clip.clip_start_sec], [clip.clip_end_sec])
        parts = []
        for start, end in zip(starts, ends):
            part = video.get_clip(start, end, self._frame_filter, dtype=self._video_dtype)
            if part is None or part.get("video") is None:
                raise BadVideoError(path, f"no frames in [{float(start):.3f}, {float(end):.3f}) s of a video said "
                                          f"to last {float(video.duration):.3f} s (truncated or damaged)")
            parts.append(part)
        if many:
            return {key: [p[key] for p in parts] for key in parts[0]}
        return parts[0]

    def _sample(self, video: Video, path: str, info: dict, video_index: int, clip: ClipInfo | ClipInfoList,
                epoch: int) -> Any:
        tensors = self._read(video, path, clip)
        audio = tensors.pop("audio", None)
        has_audio = audio is not None and not (isinstance(audio, list) and any(a is None for a in audio))
        sample = {
            "video": tensors.pop("video"),
            "video_name": getattr(video, "name", path),
            "video_index": video_index,
            "clip_index": clip.clip_index,
            "aug_index": clip.aug_index,
            **info,
            **({"audio": audio} if has_audio else {}),
        }
        if "label" in info:  # documented: 'video_label' is the video's label (Charades gives its own)
            sample.setdefault("video_label", info["label"])
        return transform_sample(self._transform, sample, self._seed, epoch, video_index, _first(clip.clip_index),
                                _first(clip.aug_index))


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) else value


class LabeledVideoDataset(_ClipReader, torch.utils.data.IterableDataset):
    """Iterates clips of ``labeled_video_paths`` as dicts ``{"video", "label", "video_label",
    "video_name", "video_index", "clip_index", "aug_index", ("audio")}`` passed through
    ``transform`` (``video_label`` is the video's ``label``, as PyTorchVideo documents; a label
    dict without ``label`` gives neither).

    ``video_sampler`` is a sampler class: ``RandomSampler`` (the default, reseeded per epoch),
    ``SequentialSampler``, or ``DistributedSampler`` (then it does the rank split). Beyond
    PyTorchVideo's arguments: ``frames_per_clip`` decodes and converts only that many frames per
    clip, spread as ``UniformTemporalSubsample`` spreads them (left out, it is the ``n`` of a
    ``transform`` whose video branch starts with ``UniformTemporalSubsample(n)``: the same
    pixels, bit for bit, without decoding the rest); ``video_dtype="uint8"`` keeps frames
    as bytes for a transform that converts them (faster resizing, 4x less memory); ``seed``;
    ``rank``/``world_size`` (default: ``torch.distributed``'s); ``bad_files`` ("skip" or "strict")."""

    def __init__(self, labeled_video_paths: list[tuple[str, Optional[dict]]] | LabeledVideoPaths,
                 clip_sampler: ClipSampler, video_sampler: type = RandomSampler,
                 transform: Optional[Callable[[dict], Any]] = None, decode_audio: bool = True,
                 decoder: str = "pyav", *, frames_per_clip: Optional[int] = None, seed: Optional[int] = None,
                 rank: Optional[int] = None, world_size: Optional[int] = None,
                 bad_files: BadFilePolicy = "skip", video_dtype: VideoDtype = "float32") -> None:
        super().__init__(labeled_video_paths, transform, decode_audio, decoder, frames_per_clip, seed, bad_files,
                         video_dtype)
        self._clip_sampler = clip_sampler
        self._explicit_rank = (rank, world_size)
        current_rank_and_world(rank, world_size)  # fail early on a bad pair
        self._epoch = 0
        #: without a seed, PyTorchVideo's video order: a fresh generator, advanced pass by pass
        self._video_generator = torch.Generator() if seed is None else None
        if video_sampler is RandomSampler:
            self._video_sampler = RandomSampler(labeled_video_paths, generator=self._video_generator)
        elif isinstance(video_sampler, type) and issubclass(video_sampler, DistributedSampler):
            r, w = current_rank_and_world(rank, world_size)
            self._video_sampler = video_sampler(labeled_video_paths, num_replicas=w, rank=r, seed=seed or 0)
        else:
            self._video_sampler = video_sampler(labeled_video_paths)
        self._iterator: Optional[Iterator] = None

    @property
    def video_sampler(self) -> torch.utils.data.Sampler:
        """The sampler ordering the videos (call ``set_epoch`` on the dataset, which forwards it)."""
        return self._video_sampler

    @property
    def num_videos(self) -> int:
        return len(self._labeled_videos)

    def set_epoch(self, epoch: int) -> None:
        """A new video order and new clips for ``epoch`` (deterministic given the seed)."""
        self._epoch = epoch
        if hasattr(self._video_sampler, "set_epoch"):
            self._video_sampler.set_epoch(epoch)

    def __getstate__(self) -> dict:
        # pickled for spawned DataLoader workers, where torch.distributed is not initialised:
        # they take the rank of the process that made them
        return {**self.__dict__, "_explicit_rank": current_rank_and_world(*self._explicit_rank), "_iterator": None}

    def _shard(self) -> tuple[int, int]:
        if isinstance(self._video_sampler, DistributedSampler):
            rank, world = 0, 1  # the sampler has split by rank already
        else:
            rank, world = current_rank_and_world(*self._explicit_rank)
        info = torch.utils.data.get_worker_info()
        worker, workers = (info.id, info.num_workers) if info is not None else (0, 1)
        return rank * workers + worker, world * workers

    def video_indices(self) -> list[int]:
        """The videos this process (rank and worker) reads this epoch, in order."""
        sampler = self._video_sampler
        if type(sampler) is RandomSampler and self._seed is not None:
            # a generator only for this pass: seeded by (seed, epoch), and not pickled to workers
            sampler.generator = torch.Generator().manual_seed(_seed_of(self._seed, self._epoch, "videos"))
            try:
                order = list(sampler)
            finally:
                sampler.generator = None
        else:
            order = list(sampler)
        start, stop = shard_bounds(len(order), *self._shard())
        return order[start:stop]

    def __iter__(self) -> Iterator[Any]:
        info = torch.utils.data.get_worker_info()
        if self._video_generator is not None and info is not None:
            # PyTorchVideo's: every worker draws the same order (then takes its share of it)
            self._video_generator.manual_seed(info.seed - info.id)
        for video_index in self.video_indices():
            yield from self._clips_of(video_index)

    def __next__(self) -> Any:
        """The next clip of the current pass (a new pass starts after ``StopIteration``)."""
        if self._iterator is None:
            self._iterator = iter(self)
        try:
            return next(self._iterator)
        except StopIteration:
            self._iterator = None
            raise

    def _clips_of(self, video_index: int) -> Iterator[Any]:
        path, info = self._labeled_videos[video_index]
        video = self._open(path)
        if video is None:
            return
        sampler = self._clip_sampler
        sampler.reset()
        sampler.rng = None if self._seed is None else random.Random(_seed_of(self._seed, self._epoch, video_index))
        last_end: Any = 0.0
        try:
            while True:
                clip = sampler(last_end, video.duration, info)
                try:
                    sample = self._sample(video, path, info, video_index, clip, self._epoch)
                except BadVideoError as err:
                    self._bad(err)
                    return
                if sample is not None:  # a transform may drop a sample
                    yield sample
                last_end = max(clip.clip_end_sec) if isinstance(clip, ClipInfoList) else clip.clip_end_sec
                if all(clip.is_last_clip) if isinstance(clip, ClipInfoList) else clip.is_last_clip:
                    return
        finally:
            sampler.reset()
            video.close()

    def uniform_clips(self) -> "UniformClipDataset":
        """A map-style view of every clip the (uniform) clip sampler gives: ``len()`` counts clips."""
        if not isinstance(self._clip_sampler, UniformClipSampler):
            raise TypeError(f"a map-style view needs a UniformClipSampler, not {type(self._clip_sampler).__name__}")
        return self._uniform_view(self._labeled_videos, self._clip_sampler, transform=self._transform,
                                  decode_audio=self._decode_audio, decoder=self._decoder,
                                  frames_per_clip=self._frame_filter.num_frames if self._frame_filter else None,
                                  seed=self._seed, bad_files=self._bad_policy,
                                  video_dtype=str(self._video_dtype).removeprefix("torch."))

    def _uniform_view(self, *args: Any, **kwargs: Any) -> "UniformClipDataset":
        """The map-style class ``uniform_clips`` builds (a subclass reading its videos its own way)."""
        return UniformClipDataset(*args, **kwargs)


class UniformClipDataset(_ClipReader, torch.utils.data.Dataset):
    """Map-style: item ``i`` is the ``i``-th clip of all videos taken in order, clip by clip, by a
    ``UniformClipSampler``. Each video is opened once here to read its duration; bad ones are
    handled by the bad-file policy and count no clips. Shard it with torch's samplers
    (``DistributedSampler``)."""

    def __init__(self, labeled_video_paths, clip_sampler: UniformClipSampler, transform=None,
                 decode_audio: bool = True, decoder: str = "pyav", *, frames_per_clip: Optional[int] = None,
                 seed: Optional[int] = None, bad_files: BadFilePolicy = "skip",
                 video_dtype: VideoDtype = "float32") -> None:
        super().__init__(labeled_video_paths, transform, decode_audio, decoder, frames_per_clip, seed, bad_files,
                         video_dtype)
        self._clip_sampler = clip_sampler
        self._videos: list[tuple[int, Any]] = []  # (video index, duration)
        self._ends: list[int] = []  # cumulative clip counts
        total = 0
        for index in range(len(labeled_video_paths)):
            video = self._open(labeled_video_paths[index][0])
            if video is None:
                continue
            with video:
                total += clip_sampler.num_clips(video.duration)
                self._videos.append((index, video.duration))
            self._ends.append(total)

    def __len__(self) -> int:
        return self._ends[-1] if self._ends else 0

    def __getitem__(self, index: int) -> Any:
        """Clip ``index``. Under the skip policy a video found unreadable now is skipped (one
        warning) for the first clip of the next readable video: an epoch never stops for it."""
        if not 0 <= index < len(self):
            raise IndexError(f"clip {index} out of range for {len(self)} clips")
        slot = bisect.bisect_right(self._ends, index)
        clip_number = index - (self._ends[slot - 1] if slot else 0)
        return self._first_readable(slot, len(self._videos),
                                    lambda current: self._clip(current, clip_number if current == slot else 0))

    def _clip(self, slot: int, clip_number: int) -> Any:
        video_index, duration = self._videos[slot]
        path, info = self._labeled_videos[video_index]
        video = self._open(path)
        if video is None:
            raise BadVideoError(path, self.bad_files.get(path, "cannot be opened"))
        with video:
            return self._sample(video, path, info, video_index, self._clip_sampler.clip_at(clip_number, duration), 0)


def labeled_video_dataset(data_path: str, clip_sampler: ClipSampler, video_sampler: type = RandomSampler,
                          transform: Optional[Callable[[dict], Any]] = None, video_path_prefix: str = "",
                          decode_audio: bool = True, decoder: str = "pyav", *, frames_per_clip: Optional[int] = None,
                          video_dtype: VideoDtype = "float32", seed: Optional[int] = None, rank: Optional[int] = None,
                          world_size: Optional[int] = None, bad_files: BadFilePolicy = "skip") -> LabeledVideoDataset:
    """A ``LabeledVideoDataset`` of the ``path label`` file or class-folder tree at ``data_path``
    (paths prefixed with ``video_path_prefix``); the keyword-only arguments are
    ``LabeledVideoDataset``'s."""
    paths = LabeledVideoPaths.from_path(data_path)
    paths.path_prefix = video_path_prefix
    return LabeledVideoDataset(paths, clip_sampler, video_sampler, transform, decode_audio=decode_audio,
                               decoder=decoder, frames_per_clip=frames_per_clip, video_dtype=video_dtype, seed=seed,
                               rank=rank, world_size=world_size, bad_files=bad_files)


def dataset_alias(name: str, doc: str) -> Callable[..., LabeledVideoDataset]:
    """``labeled_video_dataset`` under a dataset's name (``Kinetics``, ``Ucf101``): same signature."""

    @functools.wraps(labeled_video_dataset)
    def alias(*args: Any, **kwargs: Any) -> LabeledVideoDataset:
        return labeled_video_dataset(*args, **kwargs)

    alias.__name__ = alias.__qualname__ = name
    alias.__doc__ = doc
    return alias
