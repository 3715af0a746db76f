"""Small helpers shared by the decoders and datasets (``pytorchvideo.data.utils``)."""
from __future__ import annotations

import csv
import dataclasses
import io
import itertools
import logging
import math
import random
import threading
import typing
from collections import defaultdict
from fractions import Fraction
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Optional, Sequence

import numpy as np
import torch
import torch.utils.data

from graphspec.files import atomic_write, write_text

from .errors import DataAssertionError

#: A time this close to a whole number of time-base ticks is that tick (floats like 0.1 / (1/90000)
#: come out as 9000.000000000002; rounding them up would drop a frame).
_TICK_EPS = 1e-6


def thwc_to_cthw(data: torch.Tensor) -> torch.Tensor:
    """Permute a (T, H, W, C) tensor to the canonical (C, T, H, W) layout."""
    return data.permute(3, 0, 1, 2)


def _ticks(time_in_seconds: float, time_base: float | Fraction, round_mode: str) -> int:
    if round_mode not in ("floor", "ceil"):
        raise ValueError(f"round_mode must be 'floor' or 'ceil', not {round_mode!r}")
    if isinstance(time_in_seconds, Fraction) and isinstance(time_base, Fraction):
        exact = time_in_seconds / time_base
        return math.floor(exact) if round_mode == "floor" else math.ceil(exact)
    ticks = float(time_in_seconds) / float(time_base)
    nearest = round(ticks)
    if abs(ticks - nearest) < _TICK_EPS:
        return int(nearest)
    return math.floor(ticks) if round_mode == "floor" else math.ceil(ticks)


def secs_to_pts(time_in_seconds: float, time_base: float | Fraction, start_pts: int,
                round_mode: str = "floor") -> int | float:
    """Seconds (from the stream start) to a presentation timestamp in ``time_base`` units.

    ``round_mode`` ("floor" or "ceil") says where a time between two ticks goes; ``inf`` stays
    ``inf`` (an open-ended clip)."""
    if time_in_seconds == math.inf:
        return math.inf
    return _ticks(time_in_seconds, time_base, round_mode) + start_pts


def pts_to_secs(pts: int | float, time_base: float | Fraction, start_pts: int) -> float | Fraction:
    """A presentation timestamp to seconds from the stream start (``inf`` stays ``inf``)."""
    if pts == math.inf:
        return math.inf
    return int(pts - start_pts) * time_base


def export_video_array(video: np.ndarray | torch.Tensor, output_path: str, rate: str | Fraction | int,
                       bit_rate: Optional[int] = None, pix_fmt: Optional[str] = "yuv420p",
                       height: Optional[int] = None, width: Optional[int] = None,
                       in_format: Optional[str] = "rgb24", out_format: Optional[str] = "bgr24",
                       video_codec: Optional[str] = "mpeg4", options: Optional[dict[str, Any]] = None):
    """PyTorchVideo's ``export_video_array``: encode a ``(C, T, H, W)`` clip (as ``get_clip``
    returns it, values 0..255) at ``rate`` frames per second with ``video_codec``. Each frame is
    read as ``in_format`` pixels and converted to ``out_format`` before encoding; ``options`` are
    the codec's options; height and width default to the clip's. Returns the ``av.VideoStream``.

    ``export_frames`` is the fast path for (T, H, W, 3) bytes (no per-frame conversion, H.264)."""
    frames = video.numpy() if isinstance(video, torch.Tensor) else np.asarray(video)
    if frames.ndim != 4:
        raise ValueError(f"export_video_array expects a (C, T, H, W) clip, got shape {tuple(frames.shape)}")
    return _encode(np.moveaxis(frames, 0, -1), output_path, rate, codec=video_codec or "mpeg4", bit_rate=bit_rate,
                   pix_fmt=pix_fmt, height=height, width=width, in_format=in_format or "rgb24",
                   out_format=out_format, options=options)


def export_frames(frames: np.ndarray | torch.Tensor, output_path: str, rate: str | Fraction | int, *,
                  video_codec: str = "libx264", bit_rate: Optional[int] = None, pix_fmt: str = "yuv420p",
                  options: Optional[dict[str, Any]] = None):
    """Encode (T, H, W, 3) uint8 RGB frames as ``video_codec`` (H.264) at ``rate`` frames per
    second: the frames go to the encoder as they are. Returns the ``av.VideoStream``."""
    frames = frames.numpy() if isinstance(frames, torch.Tensor) else np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(f"export_frames expects (T, H, W, 3) frames, got shape {tuple(frames.shape)}")
    return _encode(frames, output_path, rate, codec=video_codec, bit_rate=bit_rate, pix_fmt=pix_fmt, height=None,
                   width=None, in_format="rgb24", out_format=None, options=options)


def _encode(frames: np.ndarray, output_path: str, rate, *, codec: str, bit_rate: Optional[int],
            pix_fmt: Optional[str], height: Optional[int], width: Optional[int], in_format: str,
            out_format: Optional[str], options: Optional[dict[str, Any]]):
    """(T, H, W, C) frames into ``output_path``, atomically (``graphspec.files.atomic_write``: a
    reader never sees a half-written video; the file gets the mode ``open`` would give it)."""
    import av

    streams = []

    def encode(file: typing.IO[bytes]) -> None:
        # the container format is guessed from the name: the output's, not the temporary file's
        with av.open(_NamedFile(file, output_path), "w") as container:
            stream = container.add_stream(codec, rate=rate)
            stream.height = height or frames.shape[1]
            stream.width = width or frames.shape[2]
            if bit_rate:
                stream.bit_rate = bit_rate
            if pix_fmt:
                stream.pix_fmt = pix_fmt
            if options:
                stream.options = dict(options)
            frame_time = 1 / Fraction(rate)
            for index, array in enumerate(frames):
                frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(array, dtype=np.uint8), format=in_format)
                if out_format and out_format != in_format:
                    frame = frame.reformat(format=out_format)
                frame.pts, frame.time_base = index, frame_time  # frame i at i / rate, whatever the codec
                container.mux(stream.encode(frame))
            container.mux(stream.encode())
        streams.append(stream)

    atomic_write([(Path(output_path), encode)])
    return streams[0]


class _NamedFile:
    """``file`` under the name ``name``, for PyAV, which picks an output format by the name."""

    def __init__(self, file: typing.IO[bytes], name: str) -> None:
        self._file, self.name = file, str(name)

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self._file, attribute)


def shard_bounds(length: int, shard: int, num_shards: int) -> tuple[int, int]:
    """The contiguous ``[start, stop)`` of ``shard`` when ``length`` items are split ``num_shards``
    ways as ``np.array_split`` splits them (as PyTorchVideo's ``MultiProcessSampler``): sizes
    differ by at most one, the first ``length % num_shards`` shards holding one more."""
    size, extra = divmod(length, num_shards)
    start = shard * size + min(shard, extra)
    return start, start + size + (shard < extra)


class MultiProcessSampler(torch.utils.data.Sampler):
    """Wraps a sampler so that each DataLoader worker iterates its own contiguous share of it,
    split as ``np.array_split`` splits (the remainder goes to the first workers). Outside a
    worker (or with one worker) it yields the whole sampler; a worker with no share warns, as
    PyTorchVideo's does (fewer videos than workers)."""

    def __init__(self, sampler: torch.utils.data.Sampler) -> None:
        self._sampler = sampler

    def __iter__(self) -> Iterator:
        info = torch.utils.data.get_worker_info()
        if info is None or info.num_workers == 1:
            return iter(self._sampler)
        start, stop = shard_bounds(len(self._sampler), info.id, info.num_workers)
        if start == stop:
            get_logger(__name__).warning("more data workers (%d) than items (%d): worker %d has none; use fewer "
                                         "workers", info.num_workers, len(self._sampler), info.id)
        return itertools.islice(iter(self._sampler), start, stop)

    def __len__(self) -> int:
        info = torch.utils.data.get_worker_info()
        if info is None:
            return len(self._sampler)
        start, stop = shard_bounds(len(self._sampler), info.id, info.num_workers)
        return stop - start


def optional_threaded_foreach(target: Callable, args_iterable: Iterable[tuple], multithreaded: bool) -> None:
    """Call ``target(*args)`` for every args tuple: in one thread each when ``multithreaded``
    (for io-bound work such as reading many frame files), else in a loop. Errors propagate."""
    if not multithreaded:
        for args in args_iterable:
            target(*args)
        return
    errors: list[BaseException] = []

    def run(args: tuple) -> None:
        try:
            target(*args)
        except BaseException as err:  # re-raised in the caller's thread below
            errors.append(err)

    threads = [threading.Thread(target=run, args=(args,)) for args in args_iterable]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


class DataclassFieldCaster:
    """Mixin for dataclasses read from text (csv): after construction each field is cast to its
    declared type when it is not one already (``"3"`` -> ``3`` for an ``int`` field, ``"1.5"``
    -> ``1.5`` for a float one, ``Path`` from a ``str`` for a ``Path`` field: any class that
    takes the value), or passed through the initializer that ``complex_initialized_dataclass_field``
    declared for it (``List[str]`` from ``"['a', 'b']"``). Generic annotations without one are
    left alone. Beyond PyTorchVideo: an ``int`` field takes ``"3.0"``, and a ``bool`` field reads
    ``"false"``/``"0"``/``"no"`` as False (``bool("False")`` would be True)."""

    COMPLEX_INITIALIZER = "DataclassFieldCaster__complex_initializer"

    def __post_init__(self) -> None:
        try:
            hints = typing.get_type_hints(type(self))
        except NameError:  # string annotations naming what its module cannot see: the resolved ones only
            hints = {f.name: f.type for f in dataclasses.fields(self) if not isinstance(f.type, str)}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            initializer = field.metadata.get(self.COMPLEX_INITIALIZER)
            kind = hints.get(field.name, Any)
            try:
                if initializer is not None:
                    setattr(self, field.name, initializer(value))
                elif kind is bool and isinstance(value, str):
                    setattr(self, field.name, value.strip().lower() in ("1", "true", "yes"))
                elif kind is int and isinstance(value, str) and "." in value:
                    setattr(self, field.name, int(float(value)))
                elif isinstance(kind, type) and kind is not Any and not isinstance(value, kind):
                    setattr(self, field.name, kind(value))
            except (ValueError, TypeError, SyntaxError) as err:
                raise ValueError(f"{type(self).__name__}.{field.name}: cannot read {value!r} as "
                                 f"{getattr(kind, '__name__', kind)} ({err})") from None

    @staticmethod
    def complex_initialized_dataclass_field(field_initializer: Callable[[Any], Any], **kwargs: Any) -> Any:
        """A ``dataclasses.field(**kwargs)`` whose value ``field_initializer`` makes at
        ``__post_init__`` (for field types no constructor call makes, such as ``List[str]``)."""
        metadata = dict(kwargs.pop("metadata", None) or {})
        if DataclassFieldCaster.COMPLEX_INITIALIZER in metadata:
            raise DataAssertionError("the field's metadata already holds an initializer")
        metadata[DataclassFieldCaster.COMPLEX_INITIALIZER] = field_initializer
        return dataclasses.field(metadata=metadata, **kwargs)


def load_dataclass_dict_from_csv(input_csv_file_path: str, dataclass_class: type, dict_key_field: str,
                                 list_per_key: bool = False) -> dict[Any, Any]:
    """Read a headered csv into ``{row[dict_key_field]: dataclass_class(**row)}``.

    With ``list_per_key`` each key maps to the list of its rows (in file order); otherwise a key
    seen twice is an error naming the file and the key."""
    names = [f.name for f in dataclasses.fields(dataclass_class)]
    out: dict[Any, Any] = defaultdict(list) if list_per_key else {}
    with open(input_csv_file_path, newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [n for n in names if n not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{input_csv_file_path}: csv header lacks column(s) {missing} of "
                             f"{dataclass_class.__name__} (header: {reader.fieldnames})")
        for row in reader:
            obj = dataclass_class(**{n: row[n] for n in names})
            key = getattr(obj, dict_key_field)
            if list_per_key:
                out[key].append(obj)
            elif key in out:
                raise DataAssertionError(f"{input_csv_file_path}: duplicate {dict_key_field} {key!r}")
            else:
                out[key] = obj
    return dict(out)


def save_dataclass_objs_to_headered_csv(dataclass_objs: Sequence[Any], file_name: str) -> None:
    """Write dataclass objects (all of one class) to a csv with a header row, atomically."""
    if not dataclass_objs:
        raise ValueError("save_dataclass_objs_to_headered_csv needs at least one object")
    names = [f.name for f in dataclasses.fields(dataclass_objs[0])]
    text = io.StringIO(newline="")
    writer = csv.writer(text)
    writer.writerow(names)
    for obj in dataclass_objs:
        writer.writerow([getattr(obj, n) for n in names])
    write_text(file_name, text.getvalue())


def seed_of(*parts: Any) -> int:
    """A 63-bit seed from its parts, the same in every process (no use of ``hash()``)."""
    return random.Random("/".join(map(str, parts))).getrandbits(63)


def transform_sample(transform: Optional[Callable[[Any], Any]], sample: Any, seed: Optional[int], *key: Any) -> Any:
    """``transform(sample)``. With a ``seed``, its torch draws come from a generator seeded by
    ``(seed, *key)``: tied to the sample (``key`` names it), not to the worker that runs it, so
    any number of DataLoader workers gives the same samples. Without one they come from torch's
    global generator, as in PyTorchVideo."""
    if transform is None:
        return sample
    if seed is None:
        return transform(sample)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed_of(seed, *key))
        return transform(sample)


def get_logger(name: str) -> logging.Logger:
    """A logger under ``graphspec`` that prints ``LEVEL name: message`` to stderr once configured."""
    logger = logging.getLogger(name)
    if not logger.handlers and not logging.getLogger().handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    return logger
