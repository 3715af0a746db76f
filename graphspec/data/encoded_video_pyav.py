"""The PyAV (FFmpeg) decoder.

A clip ``[start_sec, end_sec)`` is read by seeking to the keyframe at or before its start and
decoding only up to its end: packets are demuxed first (cheap, compressed) so that the decoder is
told, packet by packet, whether their frame is wanted. Frames before the clip, and frames inside it
that a ``frame_filter`` drops, are wanted by nobody: the decoder skips them when no other frame
references them (``skip_frame = "NONREF"``), decodes them otherwise, and never converts them to
RGB. Only the returned frames are converted.

Timestamps are frame-accurate: a frame belongs to the clip when its presentation timestamp
``pts`` satisfies ``secs_to_pts(start_sec, "ceil") <= pts < secs_to_pts(end_sec, "ceil")``.
"""
from __future__ import annotations

import gc
import math
import os
import weakref
from fractions import Fraction
from typing import Any, BinaryIO, Callable, Optional

import av
import numpy as np
import torch

from .decoder import register_decoder
from .encoded_video import EncodedVideo
from .utils import pts_to_secs, secs_to_pts, thwc_to_cthw
from .errors import BadVideoError, VideoNotFoundError

#: PyAV errors that mean "this file is not a (whole) video"
_AV_ERRORS = (av.error.FFmpegError, OSError, ValueError, EOFError)

#: Every decoder object not yet freed. A forked process (a DataLoader worker) that frees a
#: threaded FFmpeg decoder inherited from its parent waits forever for the codec's threads, which
#: fork does not copy: so unreachable decoders (in reference cycles, say an exception's traceback)
#: are collected before a fork, never in the child.
_LIVE_DECODERS: "weakref.WeakSet[EncodedVideoPyAV]" = weakref.WeakSet()


def _collect_unreachable_decoders() -> None:
    if _LIVE_DECODERS:
        gc.collect()


os.register_at_fork(before=_collect_unreachable_decoders)


@register_decoder("pyav")
class EncodedVideoPyAV(EncodedVideo):
    """A video file decoded with PyAV.

    ``file`` is a path or a binary file object. ``decode_video=False`` (PyTorchVideo's) returns
    clips of audio only, ``"video"`` None. ``thread_type`` is FFmpeg's decoder threading
    (``"AUTO"``: frame and slice threads); ``skip_unneeded`` lets the decoder skip non-reference
    frames no one asked for (off only to measure its effect)."""

    def __init__(self, file: str | BinaryIO, video_name: Optional[str] = None, decode_audio: bool = True,
                 perform_seek: bool = True, *, decode_video: bool = True, thread_type: str = "AUTO",
                 skip_unneeded: bool = True) -> None:
        self._name = video_name or (file if isinstance(file, str) else getattr(file, "name", "<stream>"))
        self._where = file if isinstance(file, str) else self._name
        self._perform_seek = perform_seek
        self._decode_video_frames = decode_video
        self._skip_unneeded = skip_unneeded
        #: packets handed to the decoder so far (all clips): what decoding a clip cost
        self.packets_decoded = 0
        _LIVE_DECODERS.add(self)
        try:
            self._container = av.open(file)
        except FileNotFoundError:
            raise VideoNotFoundError(self._where) from None
        except _AV_ERRORS as err:
            raise BadVideoError(self._where, f"not a readable video ({_reason(err)})") from None
        if not self._container.streams.video:
            self._container.close()
            raise BadVideoError(self._where, "has no video stream")
        self._video = self._container.streams.video[0]
        self._video.thread_type = thread_type
        self._video_time_base = Fraction(self._video.time_base)
        # one reformatter per video: it keeps its swscale context from frame to frame (a frame's
        # own to_ndarray builds a new one each call); same conversion, same pixels
        self._to_rgb = av.video.reformatter.VideoReformatter()
        self._video_start_pts = self._video.start_time or 0
        self._audio = self._container.streams.audio[0] if decode_audio and self._container.streams.audio else None
        if self._audio is not None:
            self._audio_time_base = Fraction(self._audio.time_base)
            self._audio_start_pts = self._audio.start_time or 0
        self._duration = self._stream_duration()

    def _stream_duration(self) -> Fraction | float:
        video = self._video
        if video.duration:
            duration = pts_to_secs(video.duration, self._video_time_base, 0)
        elif self._container.duration:
            duration = Fraction(self._container.duration, av.time_base)
        else:
            raise BadVideoError(self._where, "duration unknown (no stream or container duration)")
        if self._audio is not None and self._audio.duration:
            duration = max(duration, pts_to_secs(self._audio.duration, self._audio_time_base, 0))
        return duration

    # -- clips ----------------------------------------------------------------------------------
    def get_clip(self, start_sec: float, end_sec: float,
                 frame_filter: Optional[Callable[[list[int]], list[int]]] = None, *,
                 dtype: torch.dtype = torch.float32) -> dict[str, Any]:
        """Frames with timestamps in ``[start_sec, end_sec)`` as ``{"video": (C, T, H, W) float32,
        "audio": (S,) float32 mono or None}``; ``"video"`` is ``None`` when the range holds no
        frame (as PyTorchVideo's: ``{"video": None, "audio": None}`` past the end).
        ``frame_filter`` receives the positions ``0..n-1`` of the clip's frames and returns the
        ones to keep (see ``UniformFrameFilter``)."""
        start_pts = secs_to_pts(start_sec, self._video_time_base, self._video_start_pts, "ceil")
        end_pts = secs_to_pts(end_sec, self._video_time_base, self._video_start_pts, "ceil")
        try:
            frames = self._decode_video(start_pts, end_pts, frame_filter) if self._decode_video_frames else []
            audio = self._decode_audio(start_sec, end_sec) if self._audio is not None else None
        except _AV_ERRORS as err:
            raise BadVideoError(self._where, f"decoding failed in [{float(start_sec):.3f}, "
                                             f"{float(end_sec):.3f}) s ({_reason(err)})") from None
        if not frames:
            return {"video": None, "audio": audio}
        rgb = np.stack([self._to_rgb.reformat(frame, format="rgb24").to_ndarray() for frame in frames])
        video = thwc_to_cthw(torch.from_numpy(rgb)).to(dtype)
        return {"video": video, "audio": audio}

    def _demux_range(self, start_pts: int, end_pts: float) -> list:
        """The packets from the keyframe at or before ``start_pts`` until decode order passes
        ``end_pts``."""
        packets = self._packets_from(start_pts, end_pts)
        first = packets[0] if packets else None
        if self._perform_seek and first is not None and None not in (first.pts, first.dts) \
                and first.pts > start_pts > self._video_start_pts:
            # Seeking goes by decode time: with B-frames it can land on a keyframe that is shown
            # after the clip starts. Step back once, to the keyframe before it.
            packets = self._packets_from(first.dts - 1, end_pts)
        return packets

    def _packets_from(self, seek_pts: int, end_pts: float) -> list:
        if self._perform_seek:
            self._container.seek(max(int(seek_pts), self._video_start_pts), stream=self._video,
                                 backward=True, any_frame=False)
        else:
            self._container.seek(0)
        packets = []
        self._reached_eof = True
        for packet in self._container.demux(self._video):
            if packet.size == 0:  # PyAV's end-of-stream marker
                break
            if packet.dts is not None and packet.dts >= end_pts:  # it and all after start no clip frame
                self._reached_eof = False
                break
            packets.append(packet)
        return packets

    def _check_not_truncated(self, end_pts: float) -> None:
        """Refuse a file whose data stops before the clip's end although the video stream's header
        says it goes on (by more than a frame): a truncated download or copy."""
        rate = self._video.average_rate or self._video.guessed_rate
        stream_end = self._video_end_pts()
        if not (self._reached_eof and stream_end is not None and rate):
            return
        frame_ticks = 1 / (Fraction(rate) * self._video_time_base)
        last_pts = max((p.pts for p in self._last_packets if p.pts is not None), default=self._video_start_pts)
        data_end = last_pts + frame_ticks
        if data_end + frame_ticks < min(end_pts, stream_end):
            secs = float(pts_to_secs(int(data_end), self._video_time_base, self._video_start_pts))
            said = float(pts_to_secs(int(stream_end), self._video_time_base, self._video_start_pts))
            raise BadVideoError(self._where, f"truncated: its frames end at {secs:.3f} s but its header "
                                             f"says {said:.3f} s")

    def _video_end_pts(self) -> Optional[Fraction]:
        """Where the header says the video stream ends (the container's duration if the stream
        has none, as in Matroska)."""
        if self._video.duration:
            return Fraction(self._video_start_pts + self._video.duration)
        if self._container.duration:
            return self._video_start_pts + Fraction(self._container.duration, av.time_base) / self._video_time_base
        return None

    def _decode_video(self, start_pts: int, end_pts: float, frame_filter) -> list:
        packets = self._last_packets = self._demux_range(start_pts, end_pts)
        self._check_not_truncated(end_pts)
        if not packets:
            return []
        clip_pts = sorted(p.pts for p in packets if p.pts is not None and start_pts <= p.pts < end_pts)
        timestamps_known = all(p.pts is not None for p in packets)
        if frame_filter is not None and timestamps_known:
            wanted = {clip_pts[i] for i in frame_filter(list(range(len(clip_pts))))}
        else:
            wanted = set(clip_pts)
        codec = self._video.codec_context
        frames = []
        skipping = None
        try:
            for packet in packets:
                # a packet without a timestamp is decoded: whether it is wanted is unknown
                skip = self._skip_unneeded and timestamps_known and packet.pts not in wanted
                if skip != skipping:
                    codec.skip_frame = "NONREF" if skip else "DEFAULT"
                    skipping = skip
                frames.extend(self._keep(packet.decode(), start_pts, end_pts))
                self.packets_decoded += 1
            codec.skip_frame = "DEFAULT"
            frames.extend(self._keep(self._video.decode(None), start_pts, end_pts))  # drain the decoder
        finally:
            codec.skip_frame = "DEFAULT"
        frames.sort(key=lambda f: f.pts)
        if frame_filter is not None:
            if timestamps_known:
                frames = [f for f in frames if f.pts in wanted]
            else:
                frames = [frames[i] for i in frame_filter(list(range(len(frames))))]
        return frames

    @staticmethod
    def _keep(decoded, start_pts: int, end_pts: float) -> list:
        return [f for f in decoded if f.pts is not None and start_pts <= f.pts < end_pts]

    def _decode_audio(self, start_sec: float, end_sec: float) -> Optional[torch.Tensor]:
        """Mono audio samples whose time falls in ``[start_sec, end_sec)`` (channel mean)."""
        stream = self._audio
        start_pts = secs_to_pts(start_sec, self._audio_time_base, self._audio_start_pts, "floor")
        self._container.seek(max(int(start_pts), self._audio_start_pts), stream=stream, backward=True)
        pieces = []
        for packet in self._container.demux(stream):
            for frame in packet.decode():
                begin = float(pts_to_secs(frame.pts, self._audio_time_base, self._audio_start_pts))
                if begin >= end_sec:
                    break
                samples = frame.to_ndarray().astype(np.float32)
                if not frame.format.is_planar:  # interleaved: (1, S*C) -> (C, S)
                    samples = samples.reshape(-1, len(frame.layout.channels)).T
                times = begin + np.arange(samples.shape[1]) / frame.sample_rate
                keep = (times >= float(start_sec)) & (times < float(end_sec))
                pieces.append(samples[:, keep].mean(axis=0))
            else:
                continue
            break
        samples = np.concatenate(pieces) if pieces else np.zeros(0, np.float32)
        return torch.from_numpy(samples) if samples.size else None  # no sample in the range: None, as no frame

    def close(self) -> None:
        if self._container is not None:
            self._container.close()
            self._container = None


def _reason(err: BaseException) -> str:
    # FFmpeg errors repeat the file name; their strerror is the reason alone
    text = (getattr(err, "strerror", None) or str(err)).strip() or type(err).__name__
    return text if len(text) < 200 else text[:197] + "..."
