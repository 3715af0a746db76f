"""EPIC-Kitchens: manifests built from the folder layouts, ActionData parsing, and the
recognition / forecasting datasets on a tiny frame-folder (and encoded) fixture."""
from __future__ import annotations

import random

import pytest
import torch

import graphspec
from conftest import SPECS as ALL_SPECS
from dataset_fixtures import frame_ids, write_csv, write_frames, write_video
from graphspec.data.dataset_manifest_utils import (
    EncodedVideoInfo,
    VideoDatasetType,
    VideoFrameInfo,
    save_encoded_video_manifest,
    save_video_frame_info,
)
from graphspec.data.epic_kitchen.epic_kitchen_dataset import ActionData
from graphspec.data.epic_kitchen.utils import (
    build_encoded_manifest_from_nested_directory,
    build_frame_manifest_from_flat_directory,
    build_frame_manifest_from_nested_directory,
)
from graphspec.data.epic_kitchen_forecasting import EpicKitchenForecasting
from graphspec.data.epic_kitchen_recognition import ClipSampling, EpicKitchenRecognition
from graphspec.data.labeled_video_dataset import BadVideoWarning
from graphspec.data.utils import load_dataclass_dict_from_csv
from graphspec.data.video import BadVideoError

SPECS = ALL_SPECS / "data"
FPS = 10
#: EPIC_train_action_labels.csv columns (uid is not an ActionData field: it is ignored)
ACTION_HEADER = ["uid", "participant_id", "video_id", "narration", "start_timestamp", "stop_timestamp",
                 "start_frame", "stop_frame", "verb", "verb_class", "noun", "noun_class", "all_nouns",
                 "all_noun_classes"]
#: (start, stop, verb_class, noun_class) of the actions of P01_01 (6 s, 60 frames at 10 fps)
ACTIONS = [("00:00:00.50", "00:00:01.20", 0, 3), ("00:00:01.50", "00:00:03.00", 1, 4),
           ("00:00:03.50", "00:00:04.00", 2, 5), ("00:00:04.50", "00:00:05.50", 3, 6)]


def _action_rows(video_id="P01_01"):
    return [[i, "P01", video_id, f"verb{v} noun{n}", start, stop, 0, 0, f"verb{v}", v, f"noun{n}", n,
             f"['noun{n}', 'tap']", f"[{n}, 9]"] for i, (start, stop, v, n) in enumerate(ACTIONS)]


@pytest.fixture
def epic(tmp_path):
    """Flat frame folders (``P01_01/frame_0000000001.jpg``, 60 frames) plus the three csv files."""
    write_frames(tmp_path / "frames" / "P01_01", [f"frame_{n:010d}.jpg" for n in range(1, 61)])
    manifest = save_video_frame_info(build_frame_manifest_from_flat_directory(str(tmp_path / "frames"), False),
                                     str(tmp_path / "frame_manifest.csv"))
    info = write_csv(tmp_path / "video_info.csv", ["video_id", "resolution", "duration", "fps"],
                     [["P01_01", "32x32", 6.0, FPS]])
    actions = write_csv(tmp_path / "actions.csv", ACTION_HEADER, _action_rows())
    return {"video_info_file_path": str(info), "actions_file_path": str(actions),
            "video_data_manifest_file_path": manifest}


def test_action_data_parses_the_csv(epic):
    actions = load_dataclass_dict_from_csv(epic["actions_file_path"], ActionData, "video_id", list_per_key=True)
    first = actions["P01_01"][0]
    assert (first.verb_class, first.noun_class, first.all_nouns, first.all_noun_classes) == (0, 3, ["noun3", "tap"], [3, 9])
    assert (first.start_time, first.stop_time) == (0.5, 1.2)


def test_action_data_rejects_code_in_list_fields():
    with pytest.raises(ValueError, match="list literal"):
        ActionData("P01", "P01_01", "x", "00:00:00", "00:00:01", 0, 1, "v", 0, "n", 0, "__import__('os')", "[1]")


def test_flat_manifest(epic, tmp_path):
    frames = build_frame_manifest_from_flat_directory(str(tmp_path / "frames"), True)
    assert frames == {"P01_01": VideoFrameInfo("P01_01", f"{tmp_path}/frames/P01_01", "frame_", 16, 1, 60, "jpg")}


def test_flat_manifest_with_prepared_names(tmp_path):
    """``graphspec data prepare`` extracts ``{video}/{video}_%06d.jpg``: the stem keeps its underscores."""
    write_frames(tmp_path / "P02_03", [f"P02_03_{n:06d}.jpg" for n in range(1, 4)])
    (info,) = build_frame_manifest_from_flat_directory(str(tmp_path), False).values()
    assert (info.frame_file_stem, info.frame_string_length, info.max_frame_number) == ("P02_03_", 13, 3)
    assert info.frame_paths()[-1] == f"{tmp_path}/P02_03/P02_03_000003.jpg"


def test_nested_manifest(tmp_path):
    write_frames(tmp_path / "P01", [f"P01_01_{n:05d}.jpg" for n in range(1, 4)])
    write_frames(tmp_path / "P01", [f"P01_02_{n:05d}.jpg" for n in range(5, 7)])
    frames = build_frame_manifest_from_nested_directory(str(tmp_path), False)
    assert frames == {"P01_01": VideoFrameInfo("P01_01", f"{tmp_path}/P01", "P01_01_", 12, 1, 3, "jpg"),
                      "P01_02": VideoFrameInfo("P01_02", f"{tmp_path}/P01", "P01_02_", 12, 5, 6, "jpg")}


def test_nested_manifest_rejects_a_gap_and_a_stranger(tmp_path):
    write_frames(tmp_path / "P01", ["P01_01_00001.jpg", "P01_01_00003.jpg"])
    with pytest.raises(ValueError, match="misses frame 2"):
        build_frame_manifest_from_nested_directory(str(tmp_path), False)
    write_frames(tmp_path / "other" / "P01", ["P02_01_00001.jpg"])
    with pytest.raises(ValueError, match="participant 'P01'"):
        build_frame_manifest_from_nested_directory(str(tmp_path / "other"), False)


def test_encoded_manifest(tmp_path):
    for name in ("P01/P01_01.MP4", "P01/P01_02.MP4", "P02/P02_01.MP4"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_bytes(b"")
    videos = build_encoded_manifest_from_nested_directory(str(tmp_path))
    assert videos == {"P01_01": EncodedVideoInfo("P01_01", f"{tmp_path}/P01/P01_01.MP4"),
                      "P01_02": EncodedVideoInfo("P01_02", f"{tmp_path}/P01/P01_02.MP4"),
                      "P02_01": EncodedVideoInfo("P02_01", f"{tmp_path}/P02/P02_01.MP4")}


def _expected_frames(start, stop):
    """FrameVideo's documented clip: frames ceil(start*fps) .. ceil(stop*fps)-1."""
    import math
    return list(range(math.ceil(start * FPS - 1e-6), math.ceil(stop * FPS - 1e-6)))


def test_recognition_clips_tile_the_video_after_a_random_offset(epic, monkeypatch):
    monkeypatch.setattr(random, "random", lambda: 0.25)  # offset 0.25 s of a 1 s clip
    dataset = EpicKitchenRecognition(**epic, seconds_per_clip=1.0, frames_per_clip=5,
                                     clip_sampling=ClipSampling.RandomOffsetUniform)
    assert len(dataset) == 5  # (6 - 0.25) // 1
    overlapping = {0: [0], 1: [1], 2: [1], 3: [2], 4: [3]}  # clip [0.25+i, 1.25+i] vs ACTIONS
    for i in range(len(dataset)):
        item = dataset[i]
        start, stop = 0.25 + i, 1.25 + i
        assert (item["video_id"], item["start_time"], item["stop_time"]) == ("P01_01", start, stop)
        frames = _expected_frames(start, stop)
        assert frame_ids(item["video"]) == frames[::len(frames) // 5][:5]
        assert item["video"].shape == (3, 5, 32, 32)
        assert [a.verb_class for a in item["actions"]] == overlapping[i]
        assert isinstance(item["audio"], torch.Tensor) and item["audio"].numel() == 0


def test_recognition_on_encoded_videos(tmp_path, monkeypatch):
    monkeypatch.setattr(random, "random", lambda: 0.5)  # offset 1 s of a 2 s clip
    path = write_video(tmp_path / "P01" / "P01_01.mp4", num_frames=60, fps=FPS)
    manifest = save_encoded_video_manifest({"P01_01": EncodedVideoInfo("P01_01", str(path))}, str(tmp_path / "enc.csv"))
    info = write_csv(tmp_path / "info.csv", ["video_id", "resolution", "duration", "fps"], [["P01_01", "32x32", 6.0, FPS]])
    actions = write_csv(tmp_path / "actions.csv", ACTION_HEADER, _action_rows())
    dataset = EpicKitchenRecognition(str(info), str(actions), manifest, dataset_type=VideoDatasetType.EncodedVideo,
                                     seconds_per_clip=2.0)
    assert len(dataset) == 2  # (6 - 1.0) // 2
    item = dataset[1]  # [3.0, 5.0]: action 1 ends at 3.0 (closed ranges overlap), 3 starts at 4.5
    assert frame_ids(item["video"]) == list(range(30, 50))
    assert [a.verb_class for a in item["actions"]] == [1, 2, 3]


def test_recognition_rejects_unknown_sampling(epic):
    with pytest.raises(ValueError):
        EpicKitchenRecognition(**epic, clip_sampling=7)


def test_forecasting_observes_strided_clips_and_targets_next_actions(epic):
    dataset = EpicKitchenForecasting(**epic, seconds_per_clip=1.0, clip_time_stride=1.5, num_input_clips=2,
                                     frames_per_clip=2, num_forecast_actions=1)
    # span 1 + 1.5 = 2.5 s ending when an action ends: anchors 1 ([0.5, 3.0]) and 2 ([1.5, 4.0]);
    # anchor 0 starts before 0, anchor 3 has no action after it
    assert [(dataset[i]["start_time"], dataset[i]["stop_time"]) for i in range(len(dataset))] == [(0.5, 3.0), (1.5, 4.0)]
    item = dataset[0]
    assert item["video"].shape == (2, 3, 2, 32, 32)
    # frames 5..29 cover the span at 10 fps: clip 0 at 0 s and 0.5 s, clip 1 at 1.5 s and 2.0 s
    assert [frame_ids(clip) for clip in item["video"]] == [[5, 10], [20, 25]]
    assert [a.verb_class for a in item["actions"]] == [2]
    assert [a.verb_class for a in dataset[1]["actions"]] == [3]


def test_forecasting_needs_enough_following_actions(epic):
    dataset = EpicKitchenForecasting(**epic, seconds_per_clip=1.0, clip_time_stride=1.5, num_input_clips=2,
                                     frames_per_clip=2, num_forecast_actions=2)
    assert len(dataset) == 1
    assert [a.verb_class for a in dataset[0]["actions"]] == [2, 3]


def test_forecasting_single_clip_without_frame_filter(epic):
    dataset = EpicKitchenForecasting(**epic, seconds_per_clip=1.0, num_forecast_actions=1)
    assert len(dataset) == 3  # anchors 0, 1, 2 (a 1 s span fits before each stop)
    item = dataset[0]  # [0.2, 1.2)
    assert item["video"].shape == (1, 3, 10, 32, 32)
    assert frame_ids(item["video"][0]) == list(range(2, 12))


def test_forecasting_several_clips_need_frames_per_clip(epic):
    with pytest.raises(ValueError, match="frames_per_clip"):
        EpicKitchenForecasting(**epic, num_input_clips=2)


def test_bad_frame_gives_the_next_clip_or_raises(epic, tmp_path, monkeypatch):
    monkeypatch.setattr(random, "random", lambda: 0.0)
    (tmp_path / "frames" / "P01_01" / "frame_0000000005.jpg").write_bytes(b"not a jpeg")  # frame 4, in clip 0
    dataset = EpicKitchenRecognition(**epic, seconds_per_clip=1.0)
    with pytest.warns(BadVideoWarning, match="frame_0000000005.jpg"):
        item = dataset[0]
    assert item["start_time"] == 1.0 and frame_ids(item["video"]) == list(range(10, 20))
    assert list(dataset.bad_files) == [f"{tmp_path}/frames/P01_01/frame_0000000005.jpg"]
    assert dataset[1]["start_time"] == 1.0  # the good clips are unaffected
    strict = EpicKitchenRecognition(**epic, seconds_per_clip=1.0, bad_files="strict")
    with pytest.raises(BadVideoError, match="frame_0000000005.jpg"):
        strict[0]


def test_missing_encoded_video_is_left_out_or_raises(tmp_path):
    good = write_video(tmp_path / "P01" / "P01_01.mp4", num_frames=20, fps=FPS)
    manifest = save_encoded_video_manifest({"P01_01": EncodedVideoInfo("P01_01", str(good)),
                                            "P01_02": EncodedVideoInfo("P01_02", str(tmp_path / "P01_02.mp4"))},
                                           str(tmp_path / "enc.csv"))
    info = write_csv(tmp_path / "info.csv", ["video_id", "resolution", "duration", "fps"],
                     [["P01_01", "32x32", 2.0, FPS], ["P01_02", "32x32", 2.0, FPS]])
    actions = write_csv(tmp_path / "actions.csv", ACTION_HEADER, _action_rows("P01_01") + _action_rows("P01_02"))
    args = (str(info), str(actions), manifest)
    with pytest.warns(BadVideoWarning, match="P01_02.mp4: no such file"):
        dataset = EpicKitchenRecognition(*args, dataset_type="EncodedVideo", seconds_per_clip=1.0)
    assert {dataset[i]["video_id"] for i in range(len(dataset))} == {"P01_01"}
    with pytest.raises(BadVideoError, match="P01_02.mp4"):
        EpicKitchenRecognition(*args, dataset_type="EncodedVideo", bad_files="strict")


def test_recognition_offsets_follow_the_seed(epic):
    def starts(seed):
        dataset = EpicKitchenRecognition(**epic, seconds_per_clip=1.0, seed=seed)
        return [dataset._clips[i].start_time for i in range(len(dataset))]

    first = starts(3)
    assert first == starts(3) and 0 <= first[0] < 1.0
    assert [b - a for a, b in zip(first, first[1:])] == pytest.approx([1.0] * (len(first) - 1))


def test_recognition_spec_builds_a_loader(epic):
    overrides = [f"dataset.{key}={value}" for key, value in epic.items()] + ["loader.num_workers=0", "loader.batch_size=2"]
    batch = next(iter(graphspec.build(SPECS / "epic_kitchen.yaml", overrides)))
    assert len(batch) == 2  # collate: list (actions are records)
    for item in batch:
        assert item["video"].shape == (3, 8, 32, 32) and item["stop_time"] - item["start_time"] == pytest.approx(2.0)
        assert all(a.start_time <= item["stop_time"] and a.stop_time >= item["start_time"] for a in item["actions"])


def test_forecasting_spec_builds_a_loader(epic):
    overrides = [f"dataset.{key}={value}" for key, value in epic.items()] + ["loader.num_workers=0", "loader.shuffle=false"]
    (item,) = next(iter(graphspec.build(SPECS / "epic_kitchen_forecasting.yaml", overrides)))
    # 2 clips of 1 s, starts 2 s apart: a 3 s span ending with action 1 (at 3.0 s); next: actions 2, 3
    assert (item["start_time"], item["stop_time"]) == (0.0, 3.0) and item["video"].shape == (2, 3, 4, 32, 32)
    assert [a.verb_class for a in item["actions"]] == [2, 3]


def test_pytorchvideos_static_generators_build_the_datasets_parts(monkeypatch):
    """PyTorchVideo's tests call the datasets' ``_define_clip_structure_generator``,
    ``_frame_filter_generator`` and ``_transform_generator``; the numbers are theirs."""
    from graphspec.data import FrameVideo
    from graphspec.data.epic_kitchen_forecasting import ClipSampling as ForecastSampling
    videos = {"P01_003": FrameVideo.from_frame_paths([f"root/P01_003/frame_{i}" for i in range(100)], 10),
              "P02_004": FrameVideo.from_frame_paths([f"root/P02_004/frame_{i}" for i in range(300)], 10)}
    monkeypatch.setattr(random, "random", lambda: 0.5)  # an offset of half a clip: 2.5 s
    layout = EpicKitchenRecognition._define_clip_structure_generator(5, ClipSampling.RandomOffsetUniform)
    clips = layout(videos, {video_id: [] for video_id in videos})
    starts = {v: [c.start_time for c in clips if c.video_id == v] for v in videos}
    assert starts == {"P01_003": [2.5], "P02_004": [2.5, 7.5, 12.5, 17.5, 22.5]}  # (duration - 2.5) // 5 clips
    assert all(c.stop_time - c.start_time == 5 for c in clips)
    frames = list(range(44))  # 11 s at 4 fps
    assert EpicKitchenRecognition._frame_filter_generator(44)(frames) == frames
    # two input clips of 5 s, 6 s apart, 4 frames each
    assert EpicKitchenForecasting._frame_filter_generator(4, 5, 6, 2)(frames) == [0, 5, 10, 15, 24, 29, 34, 39]
    assert callable(EpicKitchenForecasting._define_clip_structure_generator(ForecastSampling.Random, 5, 6, 2, 1))
    actions = [ActionData("P01", "P01_01", "open fridge", "00:00:01.00", "00:00:02.00", "1", "2", "open", "3",
                          "fridge", "4", "['fridge']", "[4]"),
               ActionData("P01", "P01_01", "cut onion", "00:00:05.00", "00:00:07.00", "30", "40", "cut", "5",
                          "onion", "6", "['onion']", "[6]")]
    clip = {"start_time": 2.5, "stop_time": 6.5, "video": torch.rand(3, 4, 10, 20), "actions": actions}
    out = EpicKitchenRecognition._transform_generator(lambda c: {**c, "video": c["video"].permute(1, 2, 3, 0)})(clip)
    assert [a.narration for a in out["actions"]] == ["cut onion"] and out["video"].shape == (4, 10, 20, 3)


@pytest.mark.parametrize("dataset_type", [VideoDatasetType.Frame, VideoDatasetType.EncodedVideo])
def test_recognition_reads_only_the_frames_a_leading_subsample_keeps_and_gives_the_same_items(
        epic, tmp_path, monkeypatch, dataset_type):
    """The push-down of the Kinetics-style datasets, through EPIC-Kitchens' own action filter: the
    items equal those of reading every frame, then the transform (PyTorchVideo's behaviour)."""
    from graphspec.transforms import ApplyTransformToKey, Compose, Div255, UniformTemporalSubsample

    monkeypatch.setattr(random, "random", lambda: 0.25)
    if dataset_type is VideoDatasetType.EncodedVideo:
        path = write_video(tmp_path / "P01" / "P01_01.mp4", num_frames=60, fps=FPS)
        epic = dict(epic, video_data_manifest_file_path=save_encoded_video_manifest(
            {"P01_01": EncodedVideoInfo("P01_01", str(path))}, str(tmp_path / "enc.csv")))

    def transform():
        return ApplyTransformToKey("video", Compose([UniformTemporalSubsample(6), Div255()]))

    def dataset(**kwargs):
        made = EpicKitchenRecognition(**epic, dataset_type=dataset_type, seconds_per_clip=1.0, **kwargs)
        video = made._videos["P01_01"]
        get_clip = video.get_clip

        def counting(*args, **kw):
            clip = get_clip(*args, **kw)
            read.append(clip["video"].shape[1])
            return clip

        monkeypatch.setattr(video, "get_clip", counting)
        return made

    read: list[int] = []
    pushed = dataset(transform=transform())
    items = [pushed[i] for i in range(len(pushed))]
    assert len(items) == 5 and read == [6] * 5
    everything = dataset()  # every frame of each clip (10 at 10 fps), then the same transform
    expected = [transform()(everything[i]) for i in range(len(everything))]
    assert read[5:] == [10] * 5
    for got, want in zip(items, expected, strict=True):
        assert got.keys() == want.keys() and torch.equal(got["video"], want["video"])
        assert ("frame_indices" in got) is (dataset_type is VideoDatasetType.Frame)  # every frame of the clip
        assert all(got[k] == want[k] for k in got if not isinstance(got[k], torch.Tensor))
        assert torch.equal(got["audio"], want["audio"])
