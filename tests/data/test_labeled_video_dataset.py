"""LabeledVideoDataset and its helpers on tiny videos in the documented on-disk layouts."""
from __future__ import annotations

import os
import warnings

import pytest
import torch
from torch.utils.data import DataLoader, SequentialSampler

from graphspec.data import Hmdb51, Kinetics, LabeledVideoDataset, Ucf101, make_clip_sampler
from graphspec.data.hmdb51 import Hmdb51LabeledVideoPaths
from graphspec.data.labeled_video_dataset import BadVideoWarning
from graphspec.data.labeled_video_paths import LabeledVideoPaths
from graphspec.data.video import BadVideoError

from video_fixtures import frame_ids, frame_rgb, write_jpeg, write_video

FPS = 10


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    """``root/<class>/<video>``: three 2-second videos in two classes, one a frame folder (whose
    frames are read at the documented default of 30 fps)."""
    root = tmp_path_factory.mktemp("kinetics")
    write_video(root / "archery" / "a1.mp4", 20, FPS)
    write_video(root / "archery" / "a2.mp4", 20, FPS)
    for i in range(60):
        write_jpeg(root / "bowling" / "b1" / f"{i:05d}.jpg", frame_rgb(i))
    (root / "train.csv").write_text("archery/a1.mp4 0\narchery/a2.mp4 0\nbowling/b1 1\n")
    return root


def clips(dataset):
    return [(s["video_name"], s["label"], s["clip_index"], frame_ids(s["video"])) for s in dataset]


def test_class_folders_and_csv_give_the_same_labelled_videos(tree):
    by_folder = LabeledVideoPaths.from_directory(str(tree))
    by_csv = LabeledVideoPaths.from_csv(str(tree / "train.csv"))
    by_csv.path_prefix = str(tree)
    assert [by_folder[i] for i in range(3)] == [by_csv[i] for i in range(3)] == [
        (str(tree / "archery" / "a1.mp4"), {"label": 0}), (str(tree / "archery" / "a2.mp4"), {"label": 0}),
        (str(tree / "bowling" / "b1"), {"label": 1})]
    (tree / "bad.csv").write_text("a.mp4 zero\n")
    with pytest.raises(ValueError, match=r"bad.csv:1: label 'zero'"):
        LabeledVideoPaths.from_csv(str(tree / "bad.csv"))


def test_uniform_clips_of_every_video_with_labels(tree):
    dataset = Kinetics(str(tree / "train.csv"), make_clip_sampler("uniform", 1), SequentialSampler,
                       video_path_prefix=str(tree), decode_audio=False)
    got = clips(dataset)
    assert [g[:3] for g in got] == [("a1.mp4", 0, 0), ("a1.mp4", 0, 1), ("a2.mp4", 0, 0), ("a2.mp4", 0, 1),
                                    ("b1", 1, 0), ("b1", 1, 1)]
    for name, _, clip, ids in got:
        fps = 30 if name == "b1" else FPS
        assert ids == list(range(fps * clip, fps * clip + fps))
    sample = next(iter(dataset))
    assert set(sample) == {"video", "video_name", "video_index", "clip_index", "aug_index", "label", "video_label"}
    assert dataset.num_videos == 3


def test_samples_hold_the_documented_video_label(tree):
    """pytorchvideo-api.txt, ``LabeledVideoDataset.__next__``: the sample dict holds 'label' and
    'video_label', both the video's <index_label> (the csv's second column); Kinetics and
    Ucf101 are LabeledVideoDatasets, and so is the map-style view."""
    for make in (Kinetics, Ucf101):
        dataset = make(str(tree / "train.csv"), make_clip_sampler("uniform", 1), SequentialSampler,
                       video_path_prefix=str(tree), decode_audio=False)
        got = [(s["video_name"], s["label"], s["video_label"]) for s in dataset]
        assert got == [("a1.mp4", 0, 0)] * 2 + [("a2.mp4", 0, 0)] * 2 + [("b1", 1, 1)] * 2
        assert dataset.uniform_clips()[4]["video_label"] == 1
    paths = [(str(tree / "archery" / "a1.mp4"), {"label": 7}), (str(tree / "bowling" / "b1"), {"label": 3})]
    multi = LabeledVideoDataset(paths, make_clip_sampler("random_multi", 0.5, 2), SequentialSampler,
                                decode_audio=False)
    assert [(s["label"], s["video_label"]) for s in multi] == [(7, 7), (3, 3)]


def test_frames_per_clip_equals_decoding_all_then_subsampling(tree):
    args = (str(tree / "train.csv"), make_clip_sampler("uniform", 2), SequentialSampler)
    full = Kinetics(*args, video_path_prefix=str(tree), decode_audio=False)
    few = Kinetics(*args, video_path_prefix=str(tree), decode_audio=False, frames_per_clip=4)
    for a, b in zip(full, few):
        picks = torch.linspace(0, a["video"].shape[1] - 1, 4).long()
        assert torch.equal(a["video"][:, picks], b["video"])


def test_multi_clip_samples_hold_lists(tree):
    dataset = Ucf101(str(tree), make_clip_sampler("random_multi", 0.5, 3), decode_audio=False)
    sample = next(iter(dataset))
    assert isinstance(sample["video"], list) and len(sample["video"]) == 3
    assert all(v.shape[1] in (5, 15) for v in sample["video"]) and sample["clip_index"] == [0, 0, 0]


def test_transform_sees_the_sample_and_is_seeded_per_sample(tree):
    def noisy(sample):
        return {**sample, "noise": torch.rand(1).item()}

    make = lambda: Kinetics(str(tree), make_clip_sampler("random", 1), transform=noisy, decode_audio=False, seed=3)
    assert [s["noise"] for s in make()] == [s["noise"] for s in make()]


def _visits(dataset, workers):
    loader = DataLoader(dataset, batch_size=None, num_workers=workers)
    return sorted((s["video_index"], round(float(s["video"][0].mean()), 4)) for s in loader)


def test_same_seed_same_clips_for_any_worker_count_and_new_ones_per_epoch(tree):
    dataset = Kinetics(str(tree), make_clip_sampler("random", 0.5), decode_audio=False, seed=11)
    one, two = _visits(dataset, 0), _visits(dataset, 2)
    assert one == two and [v for v, _ in one] == [0, 1, 2]
    dataset.set_epoch(1)
    assert _visits(dataset, 0) != one
    other = Kinetics(str(tree), make_clip_sampler("random", 0.5), decode_audio=False, seed=12)
    assert _visits(other, 0) != one


def test_explicit_ranks_split_the_videos_disjointly(tree):
    shards = [Kinetics(str(tree), make_clip_sampler("random", 0.5), decode_audio=False, rank=r, world_size=2,
                       seed=5).video_indices() for r in range(2)]
    assert not set(shards[0]) & set(shards[1]) and sorted(shards[0] + shards[1]) == [0, 1, 2]
    with pytest.raises(ValueError, match="both rank and world_size"):
        Kinetics(str(tree), make_clip_sampler("random", 1), rank=0)


def test_uniform_map_style_view_counts_clips(tree):
    dataset = Kinetics(str(tree), make_clip_sampler("uniform", 0.5), decode_audio=False)
    view = dataset.uniform_clips()
    assert len(view) == 12  # 3 videos x 4 clips
    assert view[5]["video_name"] == "a2.mp4" and view[5]["clip_index"] == 1
    assert frame_ids(view[5]["video"]) == list(range(5, 10))
    assert frame_ids(view[11]["video"]) == list(range(45, 60))
    with pytest.raises(IndexError):
        view[12]
    assert len(list(DataLoader(view, batch_size=4))) == 3


def test_hmdb51_reads_split_files(tmp_path):
    splits, videos = tmp_path / "splits", tmp_path / "videos"
    splits.mkdir()
    (splits / "brush_hair_test_split1.txt").write_text("b1.avi 1\nb2.avi 2\nb3.avi 0\n")
    (splits / "cartwheel_test_split1.txt").write_text("c1.avi 1\n")
    (splits / "cartwheel_test_split2.txt").write_text("c1.avi 2\n")
    train = Hmdb51LabeledVideoPaths.from_dir(str(splits), split_id=1, split_type="train")
    # PyTorchVideo's labels: the action name, and the file name's tags (none in these short names)
    assert [train[i] for i in range(len(train))] == [
        ("brush_hair/b1.avi", {"label": "brush_hair", "meta_tags": []}),
        ("cartwheel/c1.avi", {"label": "cartwheel", "meta_tags": []})]
    test = Hmdb51LabeledVideoPaths.from_dir(str(splits), split_id=1, split_type="test")
    assert [test[i][0] for i in range(len(test))] == ["brush_hair/b2.avi"]
    write_video(videos / "brush_hair" / "b2.avi", 10, FPS)
    dataset = Hmdb51(str(splits), make_clip_sampler("uniform", 1), split_type="test", video_path_prefix=str(videos),
                     decode_audio=False)
    samples = list(dataset)
    assert [(s["label"], s["video_label"]) for s in samples] == [("brush_hair", "brush_hair")]
    ids = frame_ids(samples[0]["video"])
    assert ids == list(range(len(ids))) and len(ids) >= 9  # AVI numbers frames from 1: 9 or 10 in [0, 1) s
    with pytest.raises(ValueError, match="split_type"):
        Hmdb51LabeledVideoPaths.from_dir(str(splits), split_type="val")


@pytest.fixture
def bad_tree(tmp_path):
    write_video(tmp_path / "ok" / "good.mp4", 20, FPS)
    (tmp_path / "ok" / "empty.mp4").touch()
    (tmp_path / "ok" / "text.mp4").write_text("hello")
    whole = write_video(tmp_path / "whole.mkv", 40, FPS).read_bytes()
    (tmp_path / "ok" / "cut.mkv").write_bytes(whole[: len(whole) * 7 // 10])  # mkv: readable up to the cut
    cut_mp4 = write_video(tmp_path / "whole.mp4", 40, FPS).read_bytes()
    (tmp_path / "ok" / "cut.mp4").write_bytes(cut_mp4[: len(cut_mp4) // 2])
    paths = [(str(tmp_path / "ok" / n), {"label": 0}) for n in ("good.mp4", "empty.mp4", "text.mp4", "cut.mp4")]
    return tmp_path, paths + [(str(tmp_path / "ok" / "missing.mp4"), {"label": 0})]


def test_bad_files_are_skipped_with_one_warning_each(bad_tree):
    root, paths = bad_tree
    dataset = LabeledVideoDataset(paths, make_clip_sampler("uniform", 1), SequentialSampler, decode_audio=False)
    with pytest.warns(BadVideoWarning) as caught:
        got = [s["video_name"] for s in dataset]
    assert got == ["good.mp4", "good.mp4"]
    assert sorted(os.path.basename(p) for p in dataset.bad_files) == ["cut.mp4", "empty.mp4", "missing.mp4", "text.mp4"]
    assert len(caught) == 4 and all(any(n in str(w.message) for n in dataset.bad_files) for w in caught)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a second epoch skips known bad files silently, without retrying
        assert [s["video_name"] for s in dataset] == got


def test_truncated_file_fails_at_the_clip_past_its_end(bad_tree):
    root, _ = bad_tree
    path = str(root / "ok" / "cut.mkv")
    dataset = LabeledVideoDataset([(path, {"label": 0})], make_clip_sampler("uniform", 1), SequentialSampler,
                                  decode_audio=False)
    with pytest.warns(BadVideoWarning, match="cut.mkv"):
        got = list(dataset)
    assert len(got) == 1 and list(dataset.bad_files) == [path]  # [1, 2) s runs past the cut (at ~1.8 s)
    assert "truncated" in dataset.bad_files[path]


def test_strict_policy_raises_naming_the_file(bad_tree):
    root, paths = bad_tree
    dataset = LabeledVideoDataset(paths[1:], make_clip_sampler("uniform", 1), SequentialSampler,
                                  decode_audio=False, bad_files="strict")
    with pytest.raises(BadVideoError, match="empty.mp4: empty file"):
        list(dataset)


def test_bad_files_do_not_stop_a_multi_worker_epoch(bad_tree):
    root, paths = bad_tree
    dataset = LabeledVideoDataset(paths, make_clip_sampler("random", 1), decode_audio=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert len(list(DataLoader(dataset, batch_size=None, num_workers=2))) == 1


def test_map_style_view_skips_a_video_that_breaks_after_listing(tmp_path):
    paths = [(str(write_video(tmp_path / f"{n}.mp4", 20, FPS)), {"label": i}) for i, n in enumerate("ab")]
    view = LabeledVideoDataset(paths, make_clip_sampler("uniform", 1), decode_audio=False).uniform_clips()
    assert len(view) == 4
    (tmp_path / "a.mp4").write_bytes(b"")  # emptied after the durations were read
    with pytest.warns(BadVideoWarning, match="a.mp4"):
        sample = view[1]
    assert sample["video_name"] == "b.mp4" and sample["clip_index"] == 0
    assert [view[i]["video_name"] for i in range(4)] == ["b.mp4"] * 4


def test_one_bad_file_policy_for_every_dataset():
    """The clip readers and the manifest datasets share one policy (graphspec.data.bad_files)."""
    import importlib

    from graphspec.data import bad_files, dataset_manifest_utils

    labeled_video_dataset = importlib.import_module("graphspec.data.labeled_video_dataset")  # the package's
    # attribute of that name is the function
    assert labeled_video_dataset.BadVideoWarning is dataset_manifest_utils.BadVideoWarning is bad_files.BadVideoWarning
    for reader in (labeled_video_dataset.LabeledVideoDataset, labeled_video_dataset.UniformClipDataset,
                   dataset_manifest_utils.ManifestClipDataset):
        assert issubclass(reader, bad_files.BadFileTracker)
    with pytest.raises(ValueError, match="'skip' or 'strict'"):
        labeled_video_dataset.LabeledVideoDataset([], labeled_video_dataset.UniformClipSampler(1.0), bad_files="lenient")
