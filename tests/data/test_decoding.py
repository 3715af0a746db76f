"""Decoders against independent facts: a front-to-back PyAV decode of every frame, the fixture
frames' own indices, and the documented timestamp conventions."""
from __future__ import annotations

import math
import random
from fractions import Fraction

import pytest
import torch

from graphspec.data.decoder import DecoderType
from graphspec.data.encoded_video import EncodedVideo, select_video_class
from graphspec.data.encoded_video_pyav import EncodedVideoPyAV
from graphspec.data.frame_video import FrameVideo
from graphspec.data.utils import pts_to_secs, secs_to_pts, thwc_to_cthw
from graphspec.data.video import BadVideoError, UniformFrameFilter, VideoPathHandler

from video_fixtures import frame_ids, frame_rgb, reference_frames, write_jpeg, write_video


@pytest.fixture(scope="module")
def video_path(tmp_path_factory):
    return write_video(tmp_path_factory.mktemp("videos") / "v.mp4", num_frames=40, fps=10, keyint=12)


def test_timestamp_conversions():
    base = Fraction(1, 90000)
    assert secs_to_pts(0.1, base, 0, "ceil") == 9000  # 0.1 / (1/90000) is 9000.000000000002 in floats
    assert secs_to_pts(1 / 3, Fraction(1, 30), 5, "floor") == 15
    assert secs_to_pts(0.34, Fraction(1, 30), 0, "ceil") == 11 and secs_to_pts(0.34, Fraction(1, 30), 0) == 10
    assert secs_to_pts(math.inf, base, 0) == math.inf and pts_to_secs(math.inf, base, 0) == math.inf
    assert pts_to_secs(9000 + 7, base, 7) == Fraction(1, 10)
    assert thwc_to_cthw(torch.zeros(2, 3, 4, 5)).shape == (5, 2, 3, 4)


def test_clip_holds_frames_of_half_open_range(video_path):
    video = EncodedVideo.from_path(str(video_path), decode_audio=False)
    assert isinstance(video, EncodedVideoPyAV) and video.duration == 4
    clip = video.get_clip(1.0, 2.0)
    assert clip["video"].dtype == torch.float32 and clip["video"].shape == (3, 10, 32, 32)
    assert frame_ids(clip["video"]) == list(range(10, 20))  # [1.0, 2.0) at 10 fps: frames 10..19
    assert frame_ids(video.get_clip(1.01, 1.3)["video"]) == [11, 12]  # a frame at 1.3 s is excluded
    assert frame_ids(video.get_clip(3.5, 9.0)["video"]) == list(range(35, 40))
    assert video.get_clip(4.0, 5.0) == {"video": None, "audio": None} and clip["audio"] is None
    video.close()


def test_clips_equal_front_to_back_decode(video_path):
    """Seeking, skipping unneeded non-reference frames and filtering change nothing in the pixels."""
    reference = reference_frames(video_path)
    pts = sorted(reference)
    with EncodedVideo.from_path(str(video_path), decode_audio=False) as video:
        base = video._video_time_base
        rng = random.Random(0)
        for _ in range(12):
            start = rng.uniform(0, 3.2)
            end = start + rng.uniform(0.3, 1.5)
            inside = [p for p in pts if math.ceil(start / base) <= p < math.ceil(end / base)]
            for frame_filter in (None, UniformFrameFilter(5)):
                want = inside if frame_filter is None else frame_filter(inside)
                clip = video.get_clip(start, end, frame_filter)["video"]
                assert torch.equal(clip, torch.stack([reference[p] for p in want], dim=1)), (start, end)


def test_uniform_frame_filter_picks_equispaced_frames():
    # worked by hand from the documented definition: frame k*(T-1)/(n-1), truncated
    # 60 frames, 8 picks: 59k/7 = 0, 8.43, 16.86, 25.29, 33.71, 42.14, 50.57, 59
    assert UniformFrameFilter(8)(list(range(60))) == [0, 8, 16, 25, 33, 42, 50, 59]
    # more picks than frames repeat them: 1k/3 = 0, 0.33, 0.67, 1
    assert UniformFrameFilter(4)([7, 8]) == [7, 7, 7, 8]
    assert UniformFrameFilter(3)([4]) == [4, 4, 4]


@pytest.mark.parametrize("num_frames", [1, 3, 8, 25])
def test_decoding_with_the_filter_equals_subsampling_the_whole_clip(video_path, num_frames):
    """The filter's promise, tested on pixels: the ``UniformTemporalSubsample`` transform gives the
    same of a clip decoded with only the filter's frames as of the whole decoded clip (the decoder
    hands each picked frame over once: 25 picks of 14 frames are the 14)."""
    from graphspec.transforms import UniformTemporalSubsample

    subsample = UniformTemporalSubsample(num_frames)
    with EncodedVideo.from_path(str(video_path), decode_audio=False) as video:
        for start, end in [(0.0, 4.0), (0.35, 1.75), (2.2, 2.6)]:
            whole = video.get_clip(start, end)["video"]
            filtered = video.get_clip(start, end, UniformFrameFilter(num_frames))["video"]
            assert filtered.shape[1] == min(num_frames, whole.shape[1])
            assert torch.equal(subsample(filtered), subsample(whole)), (start, end)


def test_a_short_clip_late_in_a_video_decodes_from_its_keyframe_only(tmp_path):
    path = write_video(tmp_path / "long.mp4", num_frames=120, fps=10, keyint=12)
    with EncodedVideo.from_path(str(path), decode_audio=False) as video:
        video.get_clip(10.0, 10.5)
        # frames 100..104 need the keyframe at 96 and at most the frames up to the clip's end
        # (plus the reordering delay of B-frames), never the 100 frames before
        assert video.packets_decoded <= 12


def test_audio_is_mono_and_sample_accurate(tmp_path):
    path = write_video(tmp_path / "av.mp4", num_frames=20, fps=10, audio_rate=16000)
    with EncodedVideo.from_path(str(path), decode_audio=True) as video:
        clip = video.get_clip(0.5, 1.0)
        assert clip["audio"].ndim == 1 and clip["audio"].dtype == torch.float32
        assert abs(clip["audio"].numel() - 8000) <= 1
        assert 0.2 < clip["audio"].abs().max() < 0.4  # the 0.3 amplitude tone
    with EncodedVideo.from_path(str(path), decode_audio=False) as video:
        assert video.get_clip(0.5, 1.0)["audio"] is None


@pytest.mark.parametrize("name", ["pyavv", "ffmpeg"])
def test_unknown_decoders_are_refused_with_the_available_ones(name, video_path):
    with pytest.raises(ValueError, match=r"available: pyav"):
        EncodedVideo.from_path(str(video_path), decoder=name)
    assert select_video_class(DecoderType.PYAV) is EncodedVideoPyAV


def test_frame_video_follows_the_frame_path_and_fps_conventions(tmp_path):
    folder = tmp_path / "frames"
    for i in range(20):  # unpadded numbers: img_10 must come after img_9
        write_jpeg(folder / f"img_{i + 1}.jpg", frame_rgb(i))
    video = VideoPathHandler().video_from_path(str(folder), fps=10)
    assert isinstance(video, FrameVideo) and video.duration == 2.0
    clip = video.get_clip(0.5, 1.0)
    assert clip["frame_indices"] == [5, 6, 7, 8, 9] and frame_ids(clip["video"]) == [5, 6, 7, 8, 9]
    assert clip["video"].shape == (3, 5, 32, 32) and clip["video"].dtype == torch.float32
    filtered = video.get_clip(0.0, 2.0, UniformFrameFilter(3))
    assert frame_ids(filtered["video"]) == [0, 9, 19]
    assert video.get_clip(2.0, 3.0)["video"] is None
    threaded = FrameVideo.from_frame_paths(sorted(folder.iterdir(), key=lambda p: int(p.stem[4:])), fps=10,
                                           multithreaded_io=True)
    assert torch.equal(threaded.get_clip(0.5, 1.0)["video"], clip["video"])


def test_unreadable_files_name_themselves(tmp_path):
    (tmp_path / "empty.mp4").touch()
    (tmp_path / "text.mp4").write_text("not a video")
    for name, reason in [("missing.mp4", "no such file"), ("empty.mp4", "empty file"), ("text.mp4", "not a readable")]:
        with pytest.raises(BadVideoError, match=reason) as err:
            EncodedVideo.from_path(str(tmp_path / name))
        assert err.value.path.endswith(name)


def test_uint8_clips_hold_the_same_pixels(video_path):
    with EncodedVideo.from_path(str(video_path), decode_audio=False) as video:
        as_bytes = video.get_clip(1.0, 2.0, dtype=torch.uint8)["video"]
        assert as_bytes.dtype == torch.uint8 and torch.equal(as_bytes.float(), video.get_clip(1.0, 2.0)["video"])


def test_a_forked_worker_never_frees_a_decoder_of_its_parent(video_path):
    """An unreachable decoder (here in a reference cycle) is collected before a fork: freeing a
    threaded FFmpeg decoder in the child (a DataLoader worker) would wait forever for its threads."""
    import gc
    import os
    import signal
    import time

    video = EncodedVideo.from_path(str(video_path), decode_audio=False)
    video.get_clip(0.0, 1.0)  # the codec opens its threads
    video.cycle = video
    del video
    pid = os.fork()
    if pid == 0:  # the child frees whatever garbage it inherited, then leaves
        gc.collect()
        os._exit(0)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            assert os.waitstatus_to_exitcode(status) == 0
            return
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    pytest.fail("the forked child hung freeing its parent's decoder")
