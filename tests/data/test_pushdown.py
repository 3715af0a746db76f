"""The drop-in data path: a dataset given PyTorchVideo's usual transform (its video branch starting
with ``UniformTemporalSubsample(n)``) decodes and converts only the n frames it keeps, and returns
the same pixels, bit for bit, as decoding every frame and subsampling (PyTorchVideo's documented
``uniform_temporal_subsample``: indices ``linspace(0, T-1, n)`` clamped and truncated)."""
from __future__ import annotations

import pickle
import sys
import types
from pathlib import Path

import pytest
import torch
from torch.utils.data import DataLoader, SequentialSampler

import graphspec
from graphspec.data import Kinetics, make_clip_sampler
from graphspec.data.labeled_video_dataset import _ClipReader
from graphspec.transforms import (ApplyTransformToKey, CenterCrop, Compose, Div255, Lambda, Normalize,
                                  ShortSideScale, UniformTemporalSubsample, create_video_transform)
from graphspec.transforms.composition import leading_temporal_subsample

from video_fixtures import frame_ids, frame_rgb, reference_frames, write_jpeg, write_video

FPS, FRAMES = 10, 20  # 2 s videos, read as one 2 s clip each


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    """Two H.264 videos (B-frames, keyframe every 12) and a folder of 60 JPEG frames (2 s at 30 fps)."""
    root = tmp_path_factory.mktemp("pushdown")
    write_video(root / "archery" / "a1.mp4", FRAMES, FPS)
    write_video(root / "archery" / "a2.mp4", FRAMES, FPS, keyint=5)
    for i in range(60):
        write_jpeg(root / "bowling" / "b1" / f"{i:05d}.jpg", frame_rgb(i))
    (root / "train.csv").write_text("archery/a1.mp4 0\narchery/a2.mp4 0\nbowling/b1 1\n")
    return root


@pytest.fixture
def decoded_frames(monkeypatch):
    """The number of frames the decoder hands over, per clip read."""
    counts: list[int] = []
    read = _ClipReader._read  # shared by the iterable and the map-style datasets

    def counting(self, *args):
        tensors = read(self, *args)
        counts.append(tensors["video"].shape[1])
        return tensors

    monkeypatch.setattr(_ClipReader, "_read", counting)
    return counts


def kinetics(tree, transform, clip_duration: float = 2.0):
    return Kinetics(str(tree / "train.csv"), make_clip_sampler("uniform", clip_duration), SequentialSampler,
                    transform=transform, video_path_prefix=str(tree), decode_audio=False)


def documented_subsample(video: torch.Tensor, num: int) -> torch.Tensor:
    """PyTorchVideo's documented index computation, written out."""
    t = video.shape[1]
    return video[:, torch.linspace(0, t - 1, num).clamp(0, t - 1).long()]


def decode_everything(path) -> torch.Tensor:
    """Every frame of an encoded video, in presentation order, as PyAV gives them: (C, T, H, W) float."""
    frames = reference_frames(path)
    return torch.stack([frames[pts] for pts in sorted(frames)], dim=1)


@pytest.mark.parametrize("num", [1, 4, 8, 20, 32])
def test_pushed_down_subsample_is_bit_identical_to_decoding_everything(tree, decoded_frames, num):
    dataset = kinetics(tree, ApplyTransformToKey("video", UniformTemporalSubsample(num)))
    samples = list(dataset)
    for sample, name in zip(samples[:2], ("a1.mp4", "a2.mp4")):
        assert sample["video_name"] == name and sample["video"].dtype == torch.float32  # 0..255, as PyTorchVideo
        assert torch.equal(sample["video"], documented_subsample(decode_everything(tree / "archery" / name), num))
    folder = samples[2]["video"]  # 60 frames at 30 fps: the picks of 60 show as the frames' own numbers
    assert frame_ids(folder) == torch.linspace(0, 59, num).long().tolist()
    # only the kept frames were decoded and converted (a clip shorter than num: each frame once)
    assert decoded_frames == [min(num, FRAMES), min(num, FRAMES), min(num, 60)]


#: PyTorchVideo's usual forms of a transform whose video branch starts with the subsample
LEADING = {
    "ApplyTransformToKey(Compose)": lambda: ApplyTransformToKey("video", Compose(
        [UniformTemporalSubsample(4), Div255(), Normalize((0.45,) * 3, (0.225,) * 3), ShortSideScale(24),
         CenterCrop(16)])),
    "ApplyTransformToKey(nn.Sequential)": lambda: ApplyTransformToKey("video", torch.nn.Sequential(
        UniformTemporalSubsample(4), ShortSideScale(24))),
    "Compose([other key, ApplyTransformToKey])": lambda: Compose([
        ApplyTransformToKey("label", Lambda(lambda label: label + 1)),
        ApplyTransformToKey("video", Compose([UniformTemporalSubsample(4), Lambda(lambda v: v / 255.0)]))]),
    # the datasets give float clips, so no ConvertUint8ToFloat (it takes uint8 only, as PyTorchVideo's)
    "create_video_transform": lambda: create_video_transform("val", video_key="video", num_samples=4,
                                                             convert_to_float=False, min_size=24, crop_size=16),
    "ApplyTransformToKey(create_video_transform)": lambda: ApplyTransformToKey("video", create_video_transform(
        "val", num_samples=4, convert_to_float=False, min_size=24, crop_size=16)),
}


@pytest.mark.parametrize("name", LEADING)
def test_each_form_decodes_only_the_kept_frames_and_returns_what_decoding_all_would(tree, decoded_frames, name):
    assert leading_temporal_subsample(LEADING[name]()) == 4
    pushed = list(kinetics(tree, LEADING[name]()))
    assert decoded_frames == [4, 4, 4]
    everything = list(kinetics(tree, None))  # every frame of each clip, then the same transform
    assert decoded_frames[3:] == [FRAMES, FRAMES, 60]
    transform = LEADING[name]()
    for got, full in zip(pushed, everything):
        expected = transform(full)
        assert torch.equal(got["video"], expected["video"]) and got["label"] == expected["label"]


#: transforms that do something else to the video (or to the whole sample) first: nothing is moved
NOT_LEADING = {
    "a Lambda first": lambda: ApplyTransformToKey("video", Compose([Lambda(lambda v: v.flip(1)),
                                                                    UniformTemporalSubsample(4)])),
    "a sample-level Lambda first": lambda: Compose([Lambda(lambda s: s), ApplyTransformToKey(
        "video", UniformTemporalSubsample(4))]),
    "another temporal dim": lambda: ApplyTransformToKey("video", UniformTemporalSubsample(4, temporal_dim=-2)),
    "a subclass": lambda: ApplyTransformToKey("video", type("Mine", (UniformTemporalSubsample,), {})(4)),
    "the subsample on the whole sample": lambda: UniformTemporalSubsample(4),
    "another key": lambda: ApplyTransformToKey("frames", UniformTemporalSubsample(4)),
}


@pytest.mark.parametrize("name", NOT_LEADING)
def test_other_transforms_get_every_frame(name):
    assert leading_temporal_subsample(NOT_LEADING[name]()) is None


def test_a_transform_that_reverses_the_frames_first_gets_them_all(tree, decoded_frames):
    samples = list(kinetics(tree, NOT_LEADING["a Lambda first"]()))
    assert decoded_frames == [FRAMES, FRAMES, 60]
    # the last frames of the reversed clip: what pushing the subsample down would have lost
    assert frame_ids(samples[0]["video"]) == [FRAMES - 1 - i for i in torch.linspace(0, FRAMES - 1, 4).long().tolist()]


def test_explicit_frames_per_clip_wins(tree, decoded_frames):
    dataset = Kinetics(str(tree / "train.csv"), make_clip_sampler("uniform", 2.0), SequentialSampler,
                       transform=ApplyTransformToKey("video", UniformTemporalSubsample(4)),
                       video_path_prefix=str(tree), decode_audio=False, frames_per_clip=10)
    samples = list(dataset)
    assert decoded_frames == [10, 10, 10]
    full = decode_everything(tree / "archery" / "a1.mp4")
    assert torch.equal(samples[0]["video"], documented_subsample(documented_subsample(full, 10), 4))


def test_map_style_view_and_dataloader_workers_keep_the_push_down(tree, decoded_frames):
    transform = ApplyTransformToKey("video", UniformTemporalSubsample(4))
    dataset = kinetics(tree, transform)
    view = dataset.uniform_clips()
    full = decode_everything(tree / "archery" / "a2.mp4")
    assert torch.equal(view[1]["video"], documented_subsample(full, 4)) and decoded_frames[-1] == 4
    copy = pickle.loads(pickle.dumps(dataset))  # what a spawned DataLoader worker receives
    assert copy._frame_filter.num_frames == 4
    loaded = list(DataLoader(dataset, batch_size=None, num_workers=2))
    assert sorted(frame_ids(s["video"]) for s in loaded) == sorted(frame_ids(s["video"]) for s in dataset)


def test_torchvision_compose_when_torchvision_is_loaded(monkeypatch):
    """A PyTorchVideo user's ``torchvision.transforms.Compose`` (a stand-in module here: TorchVision
    is not a dependency) is read like ours, but only once their code has imported TorchVision."""

    class TorchVisionCompose:
        def __init__(self, transforms):
            self.transforms = transforms

    transform = ApplyTransformToKey("video", TorchVisionCompose([UniformTemporalSubsample(4)]))
    monkeypatch.delitem(sys.modules, "torchvision.transforms", raising=False)
    assert leading_temporal_subsample(transform) is None
    monkeypatch.setitem(sys.modules, "torchvision.transforms", types.SimpleNamespace(Compose=TorchVisionCompose))
    assert leading_temporal_subsample(transform) == 4


KINETICS_SPEC = Path(__file__).resolve().parents[2] / "specs" / "data" / "kinetics400_train.yaml"
#: inline transforms of a data spec (float clips in) and the frames_per_clip each derives: what the
#: same transform written in Python gets from the datasets' push-down rule
SPEC_TRANSFORMS = {
    "the label first, then the subsample": (
        "[{op: ApplyTransformToKey, key: label, transform: Identity}, "
        "{op: ApplyTransformToKey, key: video, transform: [{op: UniformTemporalSubsample, num_samples: 4}, Div255]}]", 4),
    "create_video_transform": (
        "[{op: create_video_transform, mode: val, video_key: video, num_samples: 4, convert_to_float: false, "
        "min_size: 24, crop_size: 16}]", 4),
    "the subsample over another dim": (
        "[{op: ApplyTransformToKey, key: video, transform: [{op: UniformTemporalSubsample, num_samples: 4, "
        "temporal_dim: -2}, Div255]}]", None),
    "a scaling first": (
        "[{op: ApplyTransformToKey, key: video, transform: [Div255, {op: UniformTemporalSubsample, num_samples: 4}]}]",
        None),
}


@pytest.mark.parametrize("name", SPEC_TRANSFORMS)
def test_a_data_spec_derives_frames_per_clip_by_the_datasets_rule_and_its_pixels_are_unchanged(tree, decoded_frames,
                                                                                              name):
    text, frames = SPEC_TRANSFORMS[name]
    compiled = graphspec.compile(KINETICS_SPEC, [
        f"dataset.data_path={tree / 'train.csv'}", f"dataset.video_path_prefix={tree}",
        "dataset.video_sampler=SequentialSampler", "clip_sampler={op: UniformClipSampler, clip_duration: 2.0}",
        "loader.num_workers=0",
        "transform={input: {video: {layout: CTHW, dtype: float32, shape: [3, T, H, W]}, label: any}, "
        f"transform: {text}}}", "model=null"])
    assert compiled.ok, [d.format() for d in compiled.diagnostics]
    assert compiled.derived.get("frames_per_clip") == frames
    pushed = list(compiled.build().dataset)
    assert decoded_frames == ([frames] * 3 if frames else [FRAMES, FRAMES, 60])
    transform = compiled.transform.build()
    for got, full in zip(pushed, kinetics(tree, None), strict=True):  # every frame, then the same transform
        assert torch.equal(got["video"], transform(full)["video"])
