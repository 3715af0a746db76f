"""AVA on a tiny fixture in its real format: frame list, headerless box csv with normalized
boxes, .pbtxt label map; clips centred on the keyframes (1 s apart, from second 902)."""
from __future__ import annotations

import inspect

import pytest
import torch
from torch.utils.data import RandomSampler, SequentialSampler

import graphspec
from conftest import SPECS as ALL_SPECS
from dataset_fixtures import frame_ids, video_ids, write_frames
from graphspec.data.ava import Ava, AvaLabeledVideoFramePaths, TimeStampClipSampler
from graphspec.data.clip_sampling import ClipInfo, make_clip_sampler

SPECS = ALL_SPECS / "data"

FRAMES = 100  # 3.33 s at 30 fps of each cut video (frame 1 shows second 900)
BOXES = """\
vidA,0902,0.100,0.200,0.500,0.600,12,0
vidA,0902,0.100,0.200,0.500,0.600,80,0
vidA,0902,0.300,0.300,0.900,1.000,12,1
vidA,0901,0.100,0.100,0.200,0.200,12,0
vidB,0903,0.000,0.000,1.000,1.000,17,3
vidC,0902,0.000,0.000,1.000,1.000,17,4
vidB,1799,0.000,0.000,1.000,1.000,17,3
"""
LABEL_MAP = """\
item {
  name: "stand"
  label_id: 12
  label_type: PERSON_MOVEMENT
}
item {
  name: "sit"
  id: 17
}
"""


@pytest.fixture(scope="module")
def ava_files(tmp_path_factory):
    root = tmp_path_factory.mktemp("ava")
    rows = ["original_vido_id video_id frame_id path labels"]
    for number, name in enumerate(["vidA", "vidB"]):
        files = [f"{name}_{i + 1:06d}.jpg" for i in range(FRAMES)]
        write_frames(root / "frames" / name, files, video=number)
        rows += [f'{name} {number} {i} {name}/{f} ""' for i, f in enumerate(files)]
    (root / "train.csv").write_text("\n".join(rows) + "\n")
    (root / "boxes.csv").write_text(BOXES)
    (root / "labels.pbtxt").write_text(LABEL_MAP)
    return {"frame_paths_file": str(root / "train.csv"), "frame_labels_file": str(root / "boxes.csv"),
            "video_path_prefix": str(root / "frames"), "label_map_file": str(root / "labels.pbtxt")}


def test_label_map_reads_both_id_keys(ava_files):
    names, ids = AvaLabeledVideoFramePaths.read_label_map(ava_files["label_map_file"])
    assert names == {12: "stand", 17: "sit"} and ids == {12, 17}


def test_keyframes_boxes_and_labels(ava_files, caplog):
    entries = AvaLabeledVideoFramePaths.from_csv(ava_files["frame_paths_file"], ava_files["frame_labels_file"],
                                                 ava_files["video_path_prefix"])
    assert "left out 2 rows outside keyframes 902-1798" in caplog.text and "vidC" in caplog.text
    assert [(folder.rsplit("/", 1)[-1], info["video_index"], info["clip_index"]) for folder, info in entries] == \
        [("vidA", 0, 2.0), ("vidB", 1, 3.0)]
    first = entries[0][1]
    assert torch.allclose(first["boxes"], torch.tensor([[0.1, 0.2, 0.5, 0.6], [0.3, 0.3, 0.9, 1.0]]))
    assert first["labels"] == [[12, 80], [12]] and first["extra_info"] == [[0.0, 0.0], [1.0]]
    assert entries[1][1]["labels"] == [[17]]


def test_label_map_prunes_other_actions(ava_files):
    entries = AvaLabeledVideoFramePaths.from_csv(**ava_files)
    assert entries[0][1]["labels"] == [[12], [12]]


def test_timestamp_sampler_centres_the_clip():
    sampler = TimeStampClipSampler(make_clip_sampler("random", 2.0))
    assert sampler(0.0, 10.0, {"clip_index": 2.0}) == ClipInfo(1.0, 3.0, 0, 0, True)
    with pytest.raises(ValueError, match="clip_index"):
        sampler(0.0, 10.0, {})


def test_dataset_clips_around_keyframes(ava_files):
    dataset = Ava(**ava_files, clip_sampler=make_clip_sampler("uniform", 1.0), video_sampler=SequentialSampler)
    first, second = list(dataset)
    # keyframe 902 -> 2.0 s into the cut: [1.5, 2.5) at 30 fps is frames 45..74
    assert frame_ids(first["video"]) == list(range(45, 75)) and video_ids(first["video"]) == {0}
    assert (first["video_index"], first["clip_index"]) == (0, 2.0)
    assert first["labels"] == [[12], [12]] and first["boxes"].shape == (2, 4)
    # keyframe 903 -> [2.5, 3.5): the video ends after frame 99
    assert frame_ids(second["video"]) == list(range(75, 100)) and video_ids(second["video"]) == {1}
    assert "audio" not in first


def test_in_place_transform_does_not_leak_into_the_next_epoch(ava_files):
    def to_pixels(sample):
        sample["boxes"].mul_(32)
        return sample

    dataset = Ava(**ava_files, clip_sampler=make_clip_sampler("uniform", 0.2), video_sampler=SequentialSampler,
                  transform=to_pixels)
    for _ in range(2):
        assert torch.allclose(next(iter(dataset))["boxes"][0], torch.tensor([3.2, 6.4, 16.0, 19.2]))


def test_clip_sampler_must_be_an_instance(ava_files):
    with pytest.raises(TypeError, match="clip sampler instance"):
        Ava(**ava_files)


def test_spec_builds_a_loader(ava_files):
    loader = graphspec.build(SPECS / "ava.yaml", [f"dataset.{key}={value}" for key, value in ava_files.items()]
                             + ["loader.num_workers=0", "loader.batch_size=2"])
    batch = next(iter(loader))
    assert sorted(sample["clip_index"] for sample in batch) == [2.0, 3.0]
    for sample in batch:
        assert sample["video"].shape[:2] == (3, 8) and sample["boxes"].shape[1] == 4
        assert sample["labels"] in ([[12], [12]], [[17]])  # the label map drops action 80


def test_documented_signature():
    params = inspect.signature(Ava).parameters
    assert list(params)[:7] == ["frame_paths_file", "frame_labels_file", "video_path_prefix", "label_map_file",
                                "clip_sampler", "video_sampler", "transform"]
    assert (params["video_path_prefix"].default, params["label_map_file"].default) == ("", None)
    assert params["video_sampler"].default is RandomSampler and params["transform"].default is None
