"""SSv2 on a tiny fixture in its real format: labels json + per-split video json + frame list."""
from __future__ import annotations

import inspect
import json

import pytest
from torch.utils.data import RandomSampler, SequentialSampler

import graphspec
from conftest import SPECS as ALL_SPECS
from dataset_fixtures import frame_ids, video_ids, write_frames
from graphspec.data.clip_sampling import make_clip_sampler
from graphspec.data.ssv2 import SSv2

SPECS = ALL_SPECS / "data"

CLASSES = {"Putting something on something": "0", "Holding something next to something": "1",
           "Pushing something from left to right": "2"}
#: video id -> (frame count, template as in something-something-v2-train.json)
VIDEOS = {"101": (30, "Holding [something] next to [something]"),
          "202": (24, "Pushing [something] from left to right")}


@pytest.fixture(scope="module")
def ssv2_files(tmp_path_factory):
    root = tmp_path_factory.mktemp("ssv2")
    (root / "labels.json").write_text(json.dumps(CLASSES))
    (root / "train.json").write_text(json.dumps(
        [{"id": vid, "label": "a label", "template": template, "placeholders": ["a", "b"]}
         for vid, (_, template) in VIDEOS.items()]))
    rows = ["original_vido_id video_id frame_id path labels"]
    for number, (vid, (count, _)) in enumerate(VIDEOS.items()):
        files = [f"{vid}_{i + 1:06d}.jpg" for i in range(count)]
        write_frames(root / "frames" / vid, files, video=number)
        rows += [f'{vid} {number} {i} {vid}/{f} ""' for i, f in enumerate(files)]
    (root / "train.csv").write_text("\n".join(rows) + "\n")
    return {"label_name_file": str(root / "labels.json"), "video_label_file": str(root / "train.json"),
            "video_path_label_file": str(root / "train.csv"), "video_path_prefix": str(root / "frames")}


def _dataset(files, **kwargs):
    return SSv2(**files, clip_sampler=make_clip_sampler("constant_clips_per_video", 0.8, 1),
                video_sampler=SequentialSampler, **kwargs)


def test_labels_from_templates(ssv2_files):
    samples = list(_dataset(ssv2_files))
    assert [(s["video_name"], s["label"]) for s in samples] == [("101", 1), ("202", 2)]
    # pytorchvideo-api.txt, SSv2.__next__: 'label' and 'video_label' are the video's <index_label>
    assert [s["video_label"] for s in samples] == [1, 2]
    assert frame_ids(samples[0]["video"]) == list(range(24))  # 0.8 s at 30 fps
    assert [video_ids(s["video"]) for s in samples] == [{0}, {1}]


def test_segment_middle_frames(ssv2_files):
    sample = next(iter(SSv2(**ssv2_files, clip_sampler=make_clip_sampler("uniform", 1.0),
                            video_sampler=SequentialSampler, frames_per_clip=4)))
    # 30 frames, segments of 29/4 = 7.25: bounds round to 0, 7, 14, 22, 29; middles 3, 10, 18, 25
    assert frame_ids(sample["video"]) == [3, 10, 18, 25]


def test_random_segment_frames_are_seeded(ssv2_files):
    def frames(seed):
        return [frame_ids(s["video"]) for s in _dataset(ssv2_files, frames_per_clip=4, rand_sample_frames=True, seed=seed)]

    first = frames(5)
    assert first == frames(5)
    # 24 frames: segments of 23/4 = 5.75, bounds 0, 6, 12, 17, 23 (inclusive on both sides)
    for pick, (low, high) in zip(first[0], [(0, 6), (6, 12), (12, 17), (17, 23)]):
        assert low <= pick <= high


def test_video_without_label_is_an_error(ssv2_files, tmp_path):
    (tmp_path / "one.json").write_text(json.dumps([{"id": "101", "template": VIDEOS["101"][1]}]))
    with pytest.raises(ValueError, match=r"1 video\(s\) have no label.*'202'"):
        _dataset({**ssv2_files, "video_label_file": str(tmp_path / "one.json")})


def test_unknown_template_is_an_error(ssv2_files, tmp_path):
    (tmp_path / "odd.json").write_text(json.dumps([{"id": "101", "template": "Juggling [something]"}]))
    with pytest.raises(ValueError, match="'Juggling something' of video '101'"):
        _dataset({**ssv2_files, "video_label_file": str(tmp_path / "odd.json")})


def test_map_style_view_keeps_segment_sampling(ssv2_files):
    view = SSv2(**ssv2_files, clip_sampler=make_clip_sampler("uniform", 1.0), frames_per_clip=4).uniform_clips()
    assert len(view) == 2  # one clip per video (the 0.8 s one's clip is all of it)
    assert frame_ids(view[0]["video"]) == [3, 10, 18, 25] and view[0]["label"] == 1
    # 24 frames: bounds 0, 6, 12, 17, 23 -> middles 3, 9, 14, 20
    assert frame_ids(view[1]["video"]) == [3, 9, 14, 20] and view[1]["label"] == 2


def test_spec_builds_a_loader(ssv2_files):
    loader = graphspec.build(SPECS / "ssv2.yaml", [f"dataset.{key}={value}" for key, value in ssv2_files.items()]
                             + ["loader.num_workers=0", "loader.batch_size=2"])
    batch = next(iter(loader))
    assert batch["video"].shape == (2, 3, 8, 224, 224)
    assert sorted(batch["label"].tolist()) == [1, 2]


def test_documented_signature():
    params = inspect.signature(SSv2).parameters
    assert list(params)[:9] == ["label_name_file", "video_label_file", "video_path_label_file", "clip_sampler",
                                "video_sampler", "transform", "video_path_prefix", "frames_per_clip",
                                "rand_sample_frames"]
    assert params["video_sampler"].default is RandomSampler and params["rand_sample_frames"].default is False


@pytest.mark.parametrize("content", ['{"101": 1}', '[{"template": "x"}]', "[1]"])
def test_malformed_video_label_file_is_an_error(ssv2_files, tmp_path, content):
    (tmp_path / "bad.json").write_text(content)
    with pytest.raises(ValueError, match='expected a list of {"id": ..., "template": ...} objects'):
        _dataset({**ssv2_files, "video_label_file": str(tmp_path / "bad.json")})
