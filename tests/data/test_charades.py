"""Charades on a tiny frame-list fixture: clips hold the listed frames at 30 fps, per-frame
multi-labels and the video label; bad frames follow the skip / strict policy."""
from __future__ import annotations

import inspect

import pytest
import torch
from torch.utils.data import RandomSampler, SequentialSampler

import graphspec
from conftest import SPECS as ALL_SPECS
from dataset_fixtures import frame_ids, video_ids, write_csv, write_frames
from graphspec.data.charades import Charades, read_frame_list
from graphspec.data.clip_sampling import make_clip_sampler
from graphspec.data.labeled_video_dataset import BadVideoWarning
from graphspec.data.video import BadVideoError

SPECS = ALL_SPECS / "data"

#: per video: frame count and the labels of each frame (Charades' quoted comma lists)
VIDEOS = {"46GP8": [""] * 15 + ["3"] * 15 + ["3,7"] * 15, "N11GT": ["1"] * 30}


@pytest.fixture
def frame_list(tmp_path):
    rows = []
    for number, (name, labels) in enumerate(VIDEOS.items()):
        files = [f"{name}-{i + 1:06d}.jpg" for i in range(len(labels))]
        write_frames(tmp_path / "frames" / name, files, video=number)
        # listed out of order: frame_id, not row order, orders the frames; labels quoted as in Charades
        rows += reversed([f'{name} {number} {i} {name}/{f} "{labels[i]}"' for i, f in enumerate(files)])
    path = tmp_path / "train.csv"
    path.write_text("\n".join(["original_vido_id video_id frame_id path labels", *rows]) + "\n")
    return str(path), str(tmp_path / "frames")


def test_frame_list_reader(frame_list):
    path, prefix = frame_list
    names, paths, labels = read_frame_list(path, prefix)
    assert names == ["46GP8", "N11GT"]
    assert paths[0][0] == f"{prefix}/46GP8/46GP8-000001.jpg" and len(paths[0]) == 45
    assert labels[0][14:16] == [[], [3]] and labels[0][-1] == [3, 7]


def test_clips_frames_and_labels(frame_list):
    path, prefix = frame_list
    dataset = Charades(path, make_clip_sampler("uniform", 0.5), video_sampler=SequentialSampler,
                       video_path_prefix=prefix)
    samples = list(dataset)
    assert [(s["video_index"], s["clip_index"]) for s in samples] == [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1)]
    for sample in samples:
        first = 15 * sample["clip_index"]  # 0.5 s at 30 fps
        frames = list(range(first, first + 15))
        assert sample["video"].shape == (3, 15, 32, 32)
        assert frame_ids(sample["video"]) == frames and video_ids(sample["video"]) == {sample["video_index"]}
        labels = VIDEOS[["46GP8", "N11GT"][sample["video_index"]]]
        assert sample["label"] == [[int(x) for x in labels[i].split(",") if x] for i in frames]
    assert samples[0]["video_label"] == [3, 7] and samples[3]["video_label"] == [1]
    assert samples[0]["video_name"] == "46GP8"


def test_frames_per_clip_spreads_frames(frame_list):
    path, prefix = frame_list
    dataset = Charades(path, make_clip_sampler("uniform", 0.5), video_sampler=SequentialSampler,
                       video_path_prefix=prefix, frames_per_clip=4)
    sample = next(iter(dataset))
    assert frame_ids(sample["video"]) == [0, 4, 9, 14]  # linspace(0, 14, 4) truncated
    assert len(sample["label"]) == 15  # labels cover every frame the clip spans
    assert Charades.NUM_CLASSES == 157


def test_bad_frame_skips_the_video_or_raises(frame_list, tmp_path):
    path, prefix = frame_list
    (tmp_path / "frames" / "N11GT" / "N11GT-000003.jpg").write_bytes(b"")
    dataset = Charades(path, make_clip_sampler("uniform", 0.5), video_sampler=SequentialSampler,
                       video_path_prefix=prefix)
    with pytest.warns(BadVideoWarning, match="N11GT-000003.jpg"):
        samples = list(dataset)
    assert [s["video_index"] for s in samples] == [0, 0, 0]
    assert list(dataset.bad_files) == [f"{prefix}/N11GT/N11GT-000003.jpg"]
    strict = Charades(path, make_clip_sampler("uniform", 0.5), video_sampler=SequentialSampler,
                      video_path_prefix=prefix, bad_files="strict")
    with pytest.raises(BadVideoError, match="N11GT-000003.jpg"):
        list(strict)


def test_bad_header_is_named(tmp_path):
    path = write_csv(tmp_path / "x.csv", ["video", "path"], [["a", "a/1.jpg"]], delimiter=" ")
    with pytest.raises(ValueError, match="original_vido_id video_id frame_id path labels"):
        Charades(str(path), make_clip_sampler("uniform", 1.0))


def test_map_style_view_counts_clips(frame_list):
    path, prefix = frame_list
    view = Charades(path, make_clip_sampler("uniform", 0.5), video_path_prefix=prefix, frames_per_clip=3).uniform_clips()
    assert len(view) == 5  # 3 clips of the 1.5 s video, 2 of the 1 s one
    item = view[4]  # the second clip of N11GT: frames 15..29
    assert (item["video_index"], item["clip_index"], video_ids(item["video"])) == (1, 1, {1})
    assert frame_ids(item["video"]) == [15, 22, 29] and item["label"] == [[1]] * 15
    with pytest.raises(TypeError, match="UniformClipSampler"):
        Charades(path, make_clip_sampler("random", 0.5)).uniform_clips()


def test_uint8_clips(frame_list):
    path, prefix = frame_list
    dataset = Charades(path, make_clip_sampler("uniform", 0.5), video_sampler=SequentialSampler,
                       video_path_prefix=prefix, video_dtype="uint8")
    sample = next(iter(dataset))
    assert sample["video"].dtype == torch.uint8 and frame_ids(sample["video"].float()) == list(range(15))
    assert next(iter(dataset.uniform_clips()))["video"].dtype == torch.uint8


def test_spec_builds_a_loader(frame_list):
    path, prefix = frame_list
    loader = graphspec.build(SPECS / "charades.yaml", [f"dataset.data_path={path}", f"dataset.video_path_prefix={prefix}",
                                                      "loader.num_workers=0", "loader.batch_size=2"])
    batch = next(iter(loader))
    assert isinstance(batch, list) and len(batch) == 2  # collate: list (label lists vary in length)
    for sample in batch:
        assert sample["video"].shape == (3, 8, 224, 224) and sample["video"].dtype == torch.float32
        labels = VIDEOS[sample["video_name"]]
        assert len(sample["label"]) == len(labels)  # the 2 s clip spans the whole (shorter) video
        assert set(sample["video_label"]) == {int(x) for frame in labels for x in frame.split(",") if x}


def test_documented_signature():
    params = inspect.signature(Charades).parameters
    assert list(params)[:6] == ["data_path", "clip_sampler", "video_sampler", "transform", "video_path_prefix",
                                "frames_per_clip"]
    assert params["video_sampler"].default is RandomSampler and params["frames_per_clip"].default is None


def test_two_workers_share_the_clips_once(frame_list):
    path, prefix = frame_list
    dataset = Charades(path, make_clip_sampler("uniform", 0.5), video_path_prefix=prefix, frames_per_clip=2, seed=1)
    loader = torch.utils.data.DataLoader(dataset, batch_size=None, num_workers=2)
    clips = sorted((sample["video_index"], sample["clip_index"]) for sample in loader)
    assert clips == [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1)]
