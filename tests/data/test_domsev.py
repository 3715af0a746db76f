"""DoMSEV frame and clip datasets on a tiny fixture: manifests + LabelData segments."""
from __future__ import annotations

import inspect
import math

import pytest
import torch

import graphspec
from conftest import SPECS as ALL_SPECS
from dataset_fixtures import STEP, frame_ids, write_csv, write_frames
from graphspec.data.dataset_manifest_utils import VideoClipInfo, VideoFrameInfo, save_video_frame_info
from graphspec.data.domsev import (
    LABEL_TYPE_2_MAP,
    DomsevFrameDataset,
    DomsevVideoDataset,
    LabelType,
    _get_overlap_for_time_range_pair,
)

SPECS = ALL_SPECS / "data"
LABEL_HEADER = ["video_id", "start_time", "stop_time", "start_frame", "stop_frame", "label_id", "label_name"]
#: vid0 (20 frames at 10 fps, files numbered from 1): frames 0-8 "indoor", 9-14 "crowded", 15-19 unlabelled
SEGMENTS = [["vid0", 0.0, 0.9, 0, 8, 1, "indoor"], ["vid0", 0.9, 1.5, 9, 14, 3, "crowded_environment"]]


@pytest.fixture(scope="module")
def domsev(tmp_path_factory):
    root = tmp_path_factory.mktemp("domsev")
    write_frames(root / "vid0", [f"vid0_{n:05d}.jpg" for n in range(1, 21)])
    manifest = save_video_frame_info({"vid0": VideoFrameInfo("vid0", str(root / "vid0"), "vid0_", 10, 1, 20, "jpg")},
                                     str(root / "frames.csv"))
    info = write_csv(root / "info.csv", ["video_id", "resolution", "duration", "fps"], [["vid0", "32x32", 2.0, 10]])
    labels = write_csv(root / "labels.csv", LABEL_HEADER, SEGMENTS)
    return {"video_data_manifest_file_path": manifest, "video_info_file_path": str(info),
            "labels_file_path": str(labels)}


def test_label_maps():
    assert LABEL_TYPE_2_MAP[LabelType.Environment][3] == "crowded_environment"
    assert LABEL_TYPE_2_MAP[LabelType.Activity][7] == "cooking"
    assert LABEL_TYPE_2_MAP[LabelType.UserAttention][2] == "interacting"


def test_overlap():
    assert _get_overlap_for_time_range_pair(0.0, 2.0, 1.0, 3.0) == (1.0, 2.0)
    assert _get_overlap_for_time_range_pair(0.0, 1.0, 2.0, 3.0) is None


def test_frame_dataset_labels_each_frame_of_a_segment(domsev, caplog):
    dataset = DomsevFrameDataset(**domsev)
    assert "5 of 20 frames lie in no labelled segment" in caplog.text
    assert len(dataset) == 15
    items = {item["frame_id"]: item for item in (dataset[i] for i in range(len(dataset)))}
    assert [items[f"vid0_{n:05d}"]["label"].item() for n in range(1, 16)] == [1] * 9 + [3] * 6
    assert items["vid0_00001"]["label"].dtype == torch.int64
    image = items["vid0_00010"]["image"]
    assert image.shape == (3, 32, 32) and image.dtype == torch.float32
    assert round(float(image[0].mean()) / STEP) == 9  # the file numbered 10 is frame 9


def test_video_dataset_one_label_per_frame(domsev):
    def clips(videos, labels):
        assert set(videos) == {"vid0"} and [s.label_id for s in labels["vid0"]] == [1, 3]
        return [VideoClipInfo("vid0", 0.5, 1.2), VideoClipInfo("vid0", 1.0, 2.0)]

    dataset = DomsevVideoDataset(**domsev, clip_sampler=clips, frames_per_second=10)
    assert len(dataset) == 2
    item = dataset[0]
    assert frame_ids(item["video"]) == [5, 6, 7, 8, 9, 10, 11]
    # [0.5, 0.9] of "indoor" gives 4 frames, [0.9, 1.2] of "crowded" 3
    assert item["labels"].tolist() == [1, 1, 1, 1, 3, 3, 3]
    assert (item["video_id"], item["start_time"], item["stop_time"]) == ("vid0", 0.5, 1.2)
    assert isinstance(item["audio"], torch.Tensor) and item["audio"].numel() == 0
    assert dataset[1]["labels"].tolist() == [3] * 5  # only [1.0, 1.5] is labelled
    # PyTorchVideo's tests read the videos and the labels by video under these names
    assert set(dataset._videos) == {"vid0"} and [s.label_id for s in dataset._labels_per_video["vid0"]] == [1, 3]


def test_video_dataset_frame_filter(domsev):
    dataset = DomsevVideoDataset(**domsev, clip_sampler=lambda v, l: [VideoClipInfo("vid0", 0.0, 1.0)],
                                 frames_per_second=10, frame_filter=lambda idx: idx[::3])
    assert frame_ids(dataset[0]["video"]) == [0, 3, 6, 9]


def test_unreadable_image_gives_the_next_frame_or_raises(domsev, tmp_path):
    import shutil

    from graphspec.data.labeled_video_dataset import BadVideoWarning
    from graphspec.data.video import BadVideoError

    frames = tmp_path / "vid0"
    shutil.copytree(domsev["video_data_manifest_file_path"].rsplit("/", 1)[0] + "/vid0", frames)
    (frames / "vid0_00001.jpg").write_bytes(b"")
    manifest = save_video_frame_info({"vid0": VideoFrameInfo("vid0", str(frames), "vid0_", 10, 1, 20, "jpg")},
                                     str(tmp_path / "frames.csv"))
    files = {**domsev, "video_data_manifest_file_path": manifest}
    dataset = DomsevFrameDataset(**files)
    with pytest.warns(BadVideoWarning, match="vid0_00001.jpg"):
        assert dataset[0]["frame_id"] == "vid0_00002"
    with pytest.raises(BadVideoError, match="vid0_00001.jpg"):
        DomsevFrameDataset(**files, bad_files="strict")[0]


def test_frame_spec_builds_a_loader(domsev):
    overrides = [f"dataset.{key}={value}" for key, value in domsev.items()] + ["loader.num_workers=0"]
    batch = next(iter(graphspec.build(SPECS / "domsev.yaml", overrides)))
    assert batch["image"].shape == (15, 3, 32, 32)  # every labelled frame, in one batch of 32
    assert sorted(batch["label"].tolist()) == [1] * 9 + [3] * 6


def test_clip_spec_builds_a_loader(domsev):
    overrides = [f"dataset.{key}={value}" for key, value in domsev.items()] + [
        "loader.num_workers=0", "dataset.frames_per_second=10", "clip_sampler.seconds_per_clip=0.5"]
    batches = list(graphspec.build(SPECS / "domsev_video.yaml", overrides))
    (batch,) = batches  # the 2 s video gives 3 or 4 clips of 0.5 s after the offset
    assert len(batch) in (3, 4) and all(item["video"].shape == (3, 5, 32, 32) for item in batch)
    # one label per frame index floor(10 s) .. floor(10 e) - 1 that lies before 1.5 s (frame 15)
    for item in batch:
        first, stop = math.floor(10 * item["start_time"]), math.floor(10 * item["stop_time"])
        assert len(item["labels"]) == max(0, min(stop, 15) - first)


def test_documented_signatures():
    from graphspec.data.dataset_manifest_utils import VideoDatasetType

    video = inspect.signature(DomsevVideoDataset).parameters
    assert list(video)[:4] == ["video_data_manifest_file_path", "video_info_file_path", "labels_file_path",
                               "clip_sampler"]
    assert (video["dataset_type"].default, video["frames_per_second"].default) == (VideoDatasetType.Frame, 1)
    assert video["frame_filter"].default is None and video["multithreaded_io"].default is False
    frame = inspect.signature(DomsevFrameDataset).parameters
    assert frame["transform"].default is None and frame["multithreaded_io"].default is False
