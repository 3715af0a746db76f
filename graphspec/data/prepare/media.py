"""PyAV implementations of the preparation steps: re-encode at a short side, extract frames.

No external ffmpeg program: FFmpeg's libraries come with PyAV. Every writer produces its output
under a temporary name beside the destination and renames it into place only once complete, so a
crash or an interrupted run never leaves a partial output under the final name.
"""
from __future__ import annotations

import math
import os
import shutil
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Iterator, Optional

import av

from graphspec.data.errors import BadVideoError, MediaError  # noqa: F401 (MediaError: its old name, re-exported)

from .steps import CutStep, FramesStep, ResizeStep


@dataclass(frozen=True)
class Probe:
    path: str
    duration_sec: float
    fps: float
    width: int
    height: int
    has_audio: bool


def probe(path: Path) -> Probe:
    """Facts of a video file; ``BadVideoError`` (the datasets' error: the same PyAV failures)
    naming it when it is missing, empty or not a video."""
    if not path.exists():
        raise BadVideoError(str(path), "file does not exist")
    if path.stat().st_size == 0:
        raise BadVideoError(str(path), "file is empty (0 bytes)")
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise BadVideoError(str(path), "no video stream")
            stream = container.streams.video[0]
            fps = float(stream.average_rate or stream.guessed_rate or 0)
            if stream.duration is not None and stream.time_base is not None:
                duration = float(stream.duration * stream.time_base)
            elif container.duration is not None:
                duration = container.duration / av.time_base
            else:
                duration = 0.0
            if fps <= 0 or duration <= 0:
                raise BadVideoError(str(path), "video stream has no frame rate or duration")
            return Probe(str(path), duration, fps, stream.codec_context.width, stream.codec_context.height,
                         bool(container.streams.audio))
    except av.FFmpegError as err:
        raise BadVideoError(str(path), f"not a readable video ({err.__class__.__name__}: {err})") from None


def _frames(container: av.container.InputContainer, start_sec: float,
            end_sec: float) -> Iterator[tuple[float, av.VideoFrame]]:
    """Decoded video frames with presentation time in ``[start_sec, end_sec)``, seeking to the
    keyframe before ``start_sec`` first."""
    stream = container.streams.video[0]
    stream.thread_type = "AUTO"
    if start_sec > 0:
        container.seek(int(start_sec / stream.time_base), stream=stream, backward=True, any_frame=False)
    try:
        for frame in container.decode(stream):
            if frame.pts is None:
                continue
            time = float(frame.pts * stream.time_base)
            if time >= end_sec:
                return
            if time >= start_sec:
                yield time, frame
    except av.FFmpegError as err:
        raise BadVideoError(container.name, f"decoding failed ({err.__class__.__name__}: {err})") from None


def scaled_size(width: int, height: int, short_side: int) -> tuple[int, int]:
    """Aspect-preserving size with the short side ``short_side``; both even (4:2:0 chroma)."""
    scale = short_side / min(width, height)
    even = lambda v: max(2, int(round(v / 2)) * 2)  # noqa: E731
    return (even(width * scale), even(height * scale)) if width != height else (even(short_side),) * 2


def time_window(info: Probe, cut: Optional[CutStep]) -> tuple[float, float]:
    """The ``[start, end)`` seconds of ``info``'s video that ``cut`` keeps (all of it without one)."""
    if cut is None:
        return 0.0, info.duration_sec
    if cut.start_sec >= info.duration_sec:
        raise BadVideoError(info.path, f"video is {info.duration_sec:.2f} s long, the cut starts at {cut.start_sec} s")
    return float(cut.start_sec), min(float(cut.end_sec), info.duration_sec)


def _temporary(dest: Path) -> Path:
    return dest.with_name(f".{dest.stem}.partial-{os.getpid()}{dest.suffix}")


def transcode(src: Path, dest: Path, step: ResizeStep, cut: Optional[CutStep] = None, threads: int = 0) -> dict:
    """Re-encode ``src`` into ``dest`` at ``step.short_side`` with a keyframe every
    ``step.keyframe_interval_sec``; returns facts of the output for the report. ``threads`` caps
    the codecs' threads (0: FFmpeg's choice; parallel workers split the cores between them)."""
    info = probe(src)
    start, end = time_window(info, cut)
    width, height = scaled_size(info.width, info.height, step.short_side)
    rate = Fraction(info.fps).limit_denominator(1001)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temporary(dest)
    frames = 0
    try:
        with av.open(str(src)) as inp, av.open(str(tmp), "w") as out:
            video = out.add_stream(step.codec, rate=rate)
            video.width, video.height, video.pix_fmt = width, height, "yuv420p"
            video.codec_context.gop_size = max(1, round(float(rate) * step.keyframe_interval_sec))
            video.codec_context.thread_count = threads
            inp.streams.video[0].codec_context.thread_count = threads
            if step.codec in ("libx264", "libx265"):
                video.codec_context.options = {"crf": str(step.crf)}
            # every stream must exist before the first packet is written (the header)
            audio = _audio_stream(inp, out) if step.keep_audio and info.has_audio else None
            for _, frame in _frames(inp, start, end):
                scaled = frame.reformat(width=width, height=height, format="yuv420p")
                scaled.pts, scaled.time_base = frames, 1 / rate
                out.mux(video.encode(scaled))
                frames += 1
            out.mux(video.encode(None))
            if audio is not None:
                _copy_audio(src, out, audio, start, end)
        if frames == 0:
            raise BadVideoError(str(src), "no frames in the selected time range")
        os.replace(tmp, dest)
    except av.FFmpegError as err:
        raise BadVideoError(str(src), f"encoding failed ({err.__class__.__name__}: {err})") from None
    finally:
        tmp.unlink(missing_ok=True)
    return {"frames": frames, "width": width, "height": height, "fps": float(rate),
            "keyframe_interval": video.codec_context.gop_size}


def _audio_stream(inp: av.container.InputContainer, out: av.container.OutputContainer) -> av.AudioStream:
    source = inp.streams.audio[0].codec_context
    audio = out.add_stream("aac", rate=source.sample_rate or 48000)
    audio.layout = source.layout.name if source.layout else "stereo"
    return audio


def _copy_audio(src: Path, out: av.container.OutputContainer, audio: av.AudioStream,
                start: float, end: float) -> None:
    """Re-encode the first audio stream of ``src`` in ``[start, end)`` as AAC into ``audio``.

    Done as a second pass over the input, after the video: the muxer interleaves packets by
    timestamp, so the two streams need not be read in lockstep."""
    with av.open(str(src)) as inp:
        source = inp.streams.audio[0]
        resampler = av.AudioResampler(format="fltp", layout=audio.layout, rate=audio.rate,
                                      frame_size=audio.codec_context.frame_size or 1024)
        if start > 0:
            inp.seek(int(start / source.time_base), stream=source)
        written = 0
        for frame in inp.decode(source):
            time = float(frame.pts * source.time_base) if frame.pts is not None else start
            if time >= end:
                break
            if time < start:
                continue
            for chunk in resampler.resample(frame):
                chunk.pts, written = written, written + chunk.samples
                out.mux(audio.encode(chunk))
        for chunk in resampler.resample(None):
            chunk.pts, written = written, written + chunk.samples
            out.mux(audio.encode(chunk))
        out.mux(audio.encode(None))


def sample_times(start: float, end: float, fps: float) -> list[float]:
    """Presentation times of a constant-rate ``fps`` resampling of ``[start, end)``."""
    count = max(0, math.ceil((end - start) * fps - 1e-9))
    return [start + k / fps for k in range(count)]


def extract_frames(src: Path, frames_root: Path, step: FramesStep, video_name: str,
                   cut: Optional[CutStep] = None) -> list[tuple[str, float]]:
    """Write ``src``'s frames resampled at ``step.fps`` into ``frames_root/<video_name>/`` as images
    named by ``step.pattern``. A time slot shows the last source frame at or before it (rounded to
    the nearest output slot, as FFmpeg's ``-r`` does), so a slower source repeats frames and a
    faster one drops them. Returns ``[(path relative to frames_root, time_sec)]``."""
    info = probe(src)
    start, end = time_window(info, cut)
    slots = sample_times(start, end, step.fps)
    if not slots:
        raise BadVideoError(str(src), "no frames in the selected time range")
    dest_dir = frames_root / video_name
    tmp_dir = frames_root / f".{video_name}.partial-{os.getpid()}"
    shutil.rmtree(tmp_dir, ignore_errors=True)
    tmp_dir.mkdir(parents=True)
    written: list[tuple[str, float]] = []
    try:
        encoder = None
        with av.open(str(src)) as inp:
            decoded = _frames(inp, start, end)
            current, upcoming = next(decoded, None), next(decoded, None)
            half_slot = 0.5 / step.fps
            for index, slot in enumerate(slots, start=1):
                # FFmpeg rounds a time to the nearest slot, halves away from zero: exclusive bound
                while upcoming is not None and upcoming[0] < slot + half_slot - 1e-9:
                    current, upcoming = upcoming, next(decoded, None)
                if current is None:
                    raise BadVideoError(str(src), "no decodable frame")
                if encoder is None:
                    encoder = _image_encoder(step, current[1].width, current[1].height)
                name = step.pattern.format(video=video_name, index=index, ext=step.image_format)
                image = current[1].reformat(format=encoder.pix_fmt)
                image.pts, image.time_base = index, encoder.time_base  # one image per slot
                (tmp_dir / Path(name).name).write_bytes(b"".join(bytes(p) for p in encoder.encode(image)))
                written.append((name, slot - start))
        if dest_dir.exists():  # an incomplete earlier run's folder: replaced whole
            shutil.rmtree(dest_dir)
        os.replace(tmp_dir, dest_dir)
    except av.FFmpegError as err:
        raise BadVideoError(str(src), f"frame extraction failed ({err.__class__.__name__}: {err})") from None
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)
    return written


def _image_encoder(step: FramesStep, width: int, height: int) -> av.CodecContext:
    """A still-image encoder; JPEG at a fixed quantiser ``step.quality`` (FFmpeg's ``-q:v``)."""
    if step.image_format == "png":
        encoder = av.CodecContext.create("png", "w")
        encoder.pix_fmt = "rgb24"
    else:
        encoder = av.CodecContext.create("mjpeg", "w")
        encoder.pix_fmt = "yuvj420p"
        encoder.qscale = step.quality
        encoder.qmin = encoder.qmax = step.quality
    encoder.width, encoder.height = width, height
    encoder.time_base = Fraction(1, 30)
    return encoder
