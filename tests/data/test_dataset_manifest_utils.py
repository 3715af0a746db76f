"""dataset_manifest_utils: frame paths from VideoFrameInfo, manifest round trips, matching of
manifests to metadata, frame and encoded videos loaded from manifests."""
from __future__ import annotations

import logging

import pytest

from dataset_fixtures import frame_ids, write_csv, write_frames, write_video
from graphspec.data.dataset_manifest_utils import (
    EncodedVideoInfo,
    ImageDataset,
    VideoDataset,
    VideoDatasetType,
    VideoFrameInfo,
    VideoInfo,
    get_seconds_from_hms_time,
    save_encoded_video_manifest,
    save_video_frame_info,
)
from graphspec.data.utils import load_dataclass_dict_from_csv

VIDEO_INFO_HEADER = ["video_id", "resolution", "duration", "fps"]


@pytest.mark.parametrize("text, seconds", [("00:00:00", 0.0), ("00:01:02.50", 62.5), ("01:00:03.25", 3603.25),
                                           ("12:30:00", 45000.0)])
def test_seconds_from_hms(text, seconds):
    assert get_seconds_from_hms_time(text) == pytest.approx(seconds)


@pytest.mark.parametrize("bad", ["1:2", "abc", "00:61:00"])
def test_seconds_from_hms_rejects(bad):
    with pytest.raises(ValueError, match="HH:MM:SS"):
        get_seconds_from_hms_time(bad)


def test_frame_paths_pad_to_string_length():
    info = VideoFrameInfo("P01_01", "/d/P01_01", "frame_", 16, 1, 3, "jpg")
    assert info.frame_paths() == [f"/d/P01_01/frame_000000000{i}.jpg" for i in (1, 2, 3)]
    assert info.num_frames == 3


def test_manifests_round_trip(tmp_path):
    frames = {"a": VideoFrameInfo("a", "/x/a", "a_", 8, 1, 30, "jpg"),
              "b": VideoFrameInfo("b", "/x/b", "frame_", 16, 0, 9, "png")}
    path = save_video_frame_info(frames, str(tmp_path / "frames.csv"))
    assert load_dataclass_dict_from_csv(path, VideoFrameInfo, "video_id") == frames
    encoded = {"a": EncodedVideoInfo("a", "/x/a.mp4")}
    path = save_encoded_video_manifest(encoded, str(tmp_path / "encoded.csv"))
    assert load_dataclass_dict_from_csv(path, EncodedVideoInfo, "video_id") == encoded


def test_default_manifest_names_in_cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert save_video_frame_info({"a": VideoFrameInfo("a", "l", "a_", 4, 1, 2, "jpg")}) == \
        str(tmp_path / "video_frame_metadata.csv")
    assert save_encoded_video_manifest({"a": EncodedVideoInfo("a", "a.mp4")}) == str(tmp_path / "encoded_video_manifest.csv")


@pytest.fixture
def frame_dataset(tmp_path):
    """Video "v0": 20 frames at 10 fps (frames 1..20 on disk); "v1": metadata claims 5 s but only
    20 frames exist; "v2": frames but no metadata; "v3": metadata but no frames."""
    infos = []
    for video, name in enumerate(["v0", "v1", "v2"]):
        write_frames(tmp_path / name, [f"{name}_{n:05d}.jpg" for n in range(1, 21)], video=video)
        infos.append(VideoFrameInfo(name, str(tmp_path / name), f"{name}_", 8, 1, 20, "jpg"))
    manifest = save_video_frame_info({i.video_id: i for i in infos}, str(tmp_path / "frames.csv"))
    meta = write_csv(tmp_path / "info.csv", VIDEO_INFO_HEADER,
                     [["v0", "32x32", 2.0, 10], ["v1", "32x32", 5.0, 10], ["v3", "32x32", 2.0, 10]])
    return manifest, str(meta)


def test_load_frame_videos_keeps_matched_complete_videos(frame_dataset, caplog):
    manifest, meta = frame_dataset
    with caplog.at_level(logging.WARNING):
        videos = VideoDataset._load_videos(manifest, meta, False, VideoDatasetType.Frame)
    assert list(videos) == ["v0"]
    for reason in ("'v1' has 20 frames", "'v2' has video data but no metadata", "'v3' has metadata but no video"):
        assert reason in caplog.text
    video = videos["v0"]
    assert video.duration == pytest.approx(2.0)
    clip = video.get_clip(0.5, 1.0)  # frames at 10 fps: 5..9 (0-based) = files 6..10
    assert frame_ids(clip["video"]) == [5, 6, 7, 8, 9]


def test_load_images_indexes_every_frame(frame_dataset):
    manifest, meta = frame_dataset
    images = ImageDataset._load_images(manifest, meta, False)
    assert sorted(images) == [f"v0_{n:05d}" for n in range(1, 21)]
    last = images["v0_00020"]
    assert (last.video_id, last.frame_number) == ("v0", 20) and last.frame_file_path.endswith("v0/v0_00020.jpg")


def test_load_encoded_videos(tmp_path):
    path = write_video(tmp_path / "e0.mp4", num_frames=20, fps=10)
    manifest = save_encoded_video_manifest({"e0": EncodedVideoInfo("e0", str(path))}, str(tmp_path / "enc.csv"))
    meta = write_csv(tmp_path / "info.csv", VIDEO_INFO_HEADER, [["e0", "32x32", 2.0, 10]])
    videos = VideoDataset._load_videos(manifest, str(meta), False, VideoDatasetType.EncodedVideo)
    assert videos["e0"].duration == pytest.approx(2.0)
    assert frame_ids(videos["e0"].get_clip(1.0, 1.3)["video"]) == [10, 11, 12]


def test_video_info_fields_are_cast(tmp_path):
    meta = write_csv(tmp_path / "info.csv", VIDEO_INFO_HEADER, [["x", "320x240", "12.5", "29.97"]])
    info = load_dataclass_dict_from_csv(str(meta), VideoInfo, "video_id")["x"]
    assert (info.duration, info.fps) == (12.5, 29.97)


def test_frame_number_to_filepath_pads_to_the_string_length_and_is_none_outside_the_video():
    # PyTorchVideo's manifest layout: {location}/{stem}{number zero-padded so stem + number has
    # frame_string_length characters}.{extension}; frames outside min..max have no file
    info = VideoFrameInfo(video_id="P01_01", location="/data/P01_01", frame_file_stem="frame_",
                          frame_string_length=16, min_frame_number=1, max_frame_number=3, file_extension="jpg")
    frames = {"P01_01": info}
    assert VideoDataset._frame_number_to_filepath(2, frames, "P01_01") == "/data/P01_01/frame_0000000002.jpg"
    assert VideoDataset._frame_number_to_filepath(3, frames, "P01_01") == "/data/P01_01/frame_0000000003.jpg"
    assert VideoDataset._frame_number_to_filepath(0, frames, "P01_01") is None
    assert VideoDataset._frame_number_to_filepath(4, frames, "P01_01") is None
