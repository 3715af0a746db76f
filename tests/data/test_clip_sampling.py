"""Clip samplers against their documented semantics."""
from __future__ import annotations

import random
from fractions import Fraction

import pytest

from graphspec.data.clip_sampling import (
    CLIP_SAMPLERS, ClipInfo, ClipInfoList, ConstantClipsPerVideoSampler, RandomClipSampler, RandomMultiClipSampler,
    RandomMultiClipSamplerTruncateFromStart, UniformClipSampler, UniformClipSamplerTruncateFromStart,
    make_clip_sampler,
)


def walk(sampler, duration):
    clips, last = [], 0.0
    while True:
        clip = sampler(last, duration, {})
        clips.append(clip)
        last = clip.clip_end_sec
        if clip.is_last_clip:
            return clips


def in_frames(clips, fps=30):
    return [(c.clip_start_sec * fps, c.clip_end_sec * fps) for c in clips]


def test_uniform_back_to_back_clips_cover_the_video():
    clips = walk(UniformClipSampler(2), 10)
    assert [(c.clip_start_sec, c.clip_end_sec, c.clip_index) for c in clips] == [(2 * i, 2 * i + 2, i) for i in range(5)]
    assert [c.is_last_clip for c in clips] == [False] * 4 + [True]
    assert UniformClipSampler(2).num_clips(10) == 5 and UniformClipSampler(3).num_clips(10) == 3


def test_uniform_backpad_matches_the_documented_example():
    # 39 frames at 30 fps, stride 16 frames, clips of 32 frames: [0, 32] then a clip moved back to
    # end at the video's end; without back-padding only [0, 32]
    duration, stride, length = Fraction(39, 30), Fraction(16, 30), Fraction(32, 30)
    assert in_frames(walk(UniformClipSampler(length, stride), duration)) == [(0, 32)]
    assert in_frames(walk(UniformClipSampler(length, stride, backpad_last=True), duration)) == [(0, 32), (7, 39)]
    sampler = UniformClipSampler(length, stride, backpad_last=True)
    assert sampler.num_clips(duration) == 2 and in_frames([sampler.clip_at(1, duration)]) == [(7, 39)]


def test_uniform_stride_overlaps_and_resets_between_videos():
    sampler = UniformClipSampler(2, stride=1)
    first = walk(sampler, 4)
    assert [c.clip_start_sec for c in first] == [0, 1, 2]
    assert walk(sampler, 4) == first  # the sampler reset itself after the last clip
    assert [sampler.clip_at(i, 4) for i in range(3)] == first


def test_truncate_from_start_variants_only_use_the_first_seconds():
    assert [c.clip_start_sec for c in walk(UniformClipSamplerTruncateFromStart(2, truncation_duration=5), 10)] == [0, 2]
    sampler = RandomMultiClipSamplerTruncateFromStart(1, 20, truncation_duration=3)
    clips = sampler(0.0, 100, {})
    assert isinstance(clips, ClipInfoList) and len(clips.clip_start_sec) == 20
    assert all(0 <= s <= 2 and e - s == 1 for s, e in zip(clips.clip_start_sec, clips.clip_end_sec))


def test_random_clips_fit_the_video_and_follow_the_generator():
    sampler = RandomClipSampler(2)
    sampler.rng = random.Random(7)
    clips = [sampler(0.0, 5, None) for _ in range(50)]
    assert all(0 <= c.clip_start_sec <= 3 and c.clip_end_sec - c.clip_start_sec == 2 for c in clips)
    assert all(c[2:] == (0, 0, True) for c in clips)
    sampler.rng = random.Random(7)
    assert [sampler(0.0, 5, None) for _ in range(50)] == clips
    assert sampler(0.0, 1, None).clip_start_sec == 0  # a video shorter than the clip starts at 0


def test_random_multi_gives_independent_clips_in_one_list():
    sampler = RandomMultiClipSampler(1, 3)
    clips = sampler(0.0, 10, None)
    assert clips.clip_index == [0, 0, 0] and clips.is_last_clip == [True] * 3
    assert len(set(clips.clip_start_sec)) == 3


def test_constant_clips_per_video_spreads_clips_and_repeats_augmentations():
    # PyTorchVideo splits the latest start (10 - 2 = 8 s) into clips_per_video increments: 0, 8/3, 16/3
    clips = walk(ConstantClipsPerVideoSampler(2, clips_per_video=3, augs_per_clip=2), 10)
    assert [(c.clip_start_sec, c.clip_index, c.aug_index) for c in clips] == [
        (0, 0, 0), (0, 0, 1), (Fraction(8, 3), 1, 0), (Fraction(8, 3), 1, 1), (Fraction(16, 3), 2, 0),
        (Fraction(16, 3), 2, 1)]
    assert [c.clip_end_sec - c.clip_start_sec for c in clips] == [2] * 6
    assert [c.is_last_clip for c in clips] == [False] * 5 + [True]
    # a video no longer than the clip: every clip at 0
    assert [c.clip_start_sec for c in walk(ConstantClipsPerVideoSampler(2, clips_per_video=2), 1)] == [0, 0]


def test_make_clip_sampler_names_and_errors():
    assert set(CLIP_SAMPLERS) >= {"uniform", "random", "constant_clips_per_video", "random_multi"}
    sampler = make_clip_sampler("random", duration=2)  # the documented example's keyword
    assert isinstance(sampler, RandomClipSampler) and sampler.clip_duration == 2
    assert isinstance(make_clip_sampler("constant_clips_per_video", 2, 5), ConstantClipsPerVideoSampler)
    with pytest.raises(ValueError, match="did you mean 'uniform'"):
        make_clip_sampler("unifrom", 2)
    with pytest.raises(ValueError, match="positive"):
        make_clip_sampler("uniform", 0)
    assert ClipInfo(0, 1, 0, 0, True).is_last_clip
