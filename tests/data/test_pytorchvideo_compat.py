"""Issue 17's data items, with PyTorchVideo's behaviour as the oracle: the error types its users
catch, empty clip ranges, the decoder names it takes, HMDB51's labels, SSv2's frame lists, the
unseeded video order, ``MultiProcessSampler``'s split and the ``utils`` helpers' signatures."""
from __future__ import annotations

import ast
import dataclasses
import pathlib
import warnings
from fractions import Fraction
from typing import List

import pytest
import torch

from dataset_fixtures import frame_ids, write_csv, write_frames, write_video
from graphspec.data import decoder as decoder_module
from graphspec.data.dataset_manifest_utils import VideoClipInfo, VideoFrameInfo, save_video_frame_info
from graphspec.data.domsev import DomsevVideoDataset
from graphspec.data.encoded_video import EncodedVideo
from graphspec.data.encoded_video_pyav import EncodedVideoPyAV
from graphspec.data.errors import BadVideoError
from graphspec.data.frame_video import FrameVideo
from graphspec.data.utils import DataclassFieldCaster

FPS = 10


@pytest.fixture(scope="module")
def video_path(tmp_path_factory):
    return write_video(tmp_path_factory.mktemp("compat") / "v.mp4", num_frames=20, fps=FPS, audio_rate=16000)


# -- errors of PyTorchVideo's types ------------------------------------------------------------
def test_a_missing_video_file_is_a_file_not_found_error(tmp_path):
    missing = str(tmp_path / "missing.mp4")
    for open_video in (EncodedVideo.from_path, EncodedVideoPyAV):
        with pytest.raises(FileNotFoundError, match="missing.mp4") as err:
            open_video(missing)
        assert isinstance(err.value, BadVideoError)  # and the bad-file policy still handles it


def test_frame_video_refusals_are_assertion_errors(tmp_path):
    (tmp_path / "empty").mkdir()
    refusals = [lambda: FrameVideo.from_frame_paths([]),  # no frames
                lambda: FrameVideo.from_directory(str(tmp_path / "empty")),
                lambda: FrameVideo.from_directory(str(tmp_path / "missing")),
                lambda: FrameVideo(1.0, 30.0),  # neither a path function nor paths
                lambda: FrameVideo(1.0, 30.0, video_frame_to_path_fn=str, video_frame_paths=["a.jpg"])]
    for refuse in refusals:
        with pytest.raises(AssertionError):
            refuse()


# -- a range without frames --------------------------------------------------------------------
def test_a_range_without_frames_gives_none_tensors(video_path, tmp_path):
    for decode_audio in (False, True):
        with EncodedVideo.from_path(str(video_path), decode_audio=decode_audio) as video:
            assert video.get_clip(2.5, 3.0) == {"video": None, "audio": None}  # the video lasts 2 s
            assert video.name == "v.mp4"  # PyTorchVideo's video_name keeps the extension
    frames = FrameVideo.from_frame_paths(write_frames(tmp_path / "f", [f"{i}.jpg" for i in range(5)]), fps=FPS)
    clip = frames.get_clip(1.0, 2.0)
    assert clip["video"] is None and clip["audio"] is None


def test_decode_video_false_gives_the_audio_alone(video_path):
    """PyTorchVideo's EncodedVideo.from_path(..., decode_video=False): clips of audio, video None."""
    with EncodedVideo.from_path(str(video_path)) as both, \
            EncodedVideo.from_path(str(video_path), decode_video=False) as audio_only:
        assert audio_only.duration == both.duration
        clip, reference = audio_only.get_clip(0.5, 1.5), both.get_clip(0.5, 1.5)
        assert clip["video"] is None and reference["video"].shape[1] == 10
        torch.testing.assert_close(clip["audio"], reference["audio"])

def test_a_frame_video_clip_starting_outside_the_video_is_none(tmp_path):
    """PyTorchVideo's FrameVideo returns no clip dict at all for a start before 0 or after the
    duration rounded up to a second (its test: three frames at 30 fps, get_clip(3, 5) is None);
    LabeledVideoDataset and the manifest datasets handle that ``None``."""
    frames = FrameVideo.from_frame_paths(write_frames(tmp_path / "f", [f"{i}.jpg" for i in range(3)]))
    assert frames.duration == pytest.approx(0.1)  # 3 frames at the default 30 fps
    assert frames.get_clip(3, 5) is None and frames.get_clip(-1, 0.05) is None
    assert frame_ids(frames.get_clip(0, 0.1)["video"]) == [0, 1, 2]
    assert frames.get_clip(0, 0.066)["frame_indices"] == [0, 1]

def test_manifest_datasets_return_the_requested_empty_clip(tmp_path):
    """DoMSEV (and EPIC-Kitchens: the same manifest reader) return a clip whose range holds no frame
    with an empty video, as PyTorchVideo does, instead of another clip."""
    write_frames(tmp_path / "vid0", [f"vid0_{n:05d}.jpg" for n in range(1, 21)])
    manifest = save_video_frame_info({"vid0": VideoFrameInfo("vid0", str(tmp_path / "vid0"), "vid0_", 10, 1, 20, "jpg")},
                                     str(tmp_path / "frames.csv"))
    info = write_csv(tmp_path / "info.csv", ["video_id", "resolution", "duration", "fps"], [["vid0", "32x32", 2.0, 10]])
    labels = write_csv(tmp_path / "labels.csv", ["video_id", "start_time", "stop_time", "start_frame", "stop_frame",
                                                 "label_id", "label_name"], [["vid0", 0.0, 1.9, 0, 19, 1, "indoor"]])
    clips = [VideoClipInfo("vid0", 2.5, 3.0), VideoClipInfo("vid0", 0.0, 0.5)]
    dataset = DomsevVideoDataset(str(manifest), str(info), str(labels), clip_sampler=lambda v, a: clips,
                                 frames_per_second=10, bad_files="strict")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # not a bad file: no warning either
        empty = dataset[0]
    assert (empty["start_time"], empty["stop_time"]) == (2.5, 3.0)
    assert isinstance(empty["video"], torch.Tensor) and empty["video"].numel() == 0
    assert dataset.bad_files == {} and frame_ids(dataset[1]["video"]) == [0, 1, 2, 3, 4]


# -- decoder names -----------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["torchvision", "decord"])
def test_pytorchvideo_decoder_names_decode_with_pyav_and_warn_once(name, video_path, monkeypatch):
    monkeypatch.setattr(decoder_module, "_substitutions_warned", set())
    with pytest.warns(decoder_module.DecoderSubstitutionWarning, match=f"'{name}'.*'pyav'"):
        video = EncodedVideo.from_path(str(video_path), decode_audio=False, decoder=name)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        again = EncodedVideo.from_path(str(video_path), decode_audio=False, decoder=name)
    assert isinstance(video, EncodedVideoPyAV) and frame_ids(again.get_clip(0.5, 1.0)["video"]) == [5, 6, 7, 8, 9]
    video.close(), again.close()


# -- one error per failure, no import circle ---------------------------------------------------
def test_prepare_and_the_datasets_raise_one_error_for_one_failure(tmp_path):
    from graphspec.data.prepare.media import MediaError, probe

    assert MediaError is BadVideoError
    (tmp_path / "empty.mp4").touch()
    for name, reason in [("missing.mp4", "does not exist"), ("empty.mp4", "empty")]:
        with pytest.raises(BadVideoError, match=reason) as err:
            probe(tmp_path / name)
        assert err.value.path == str(tmp_path / name)


def test_the_video_modules_import_each_other_without_a_circle():
    """Every import between ``graphspec/data`` modules (also inside functions) read from the source:
    the video modules (``*video*.py``) form no cycle."""
    import ast
    import pathlib

    import networkx as nx

    import graphspec.data

    root = pathlib.Path(graphspec.data.__file__).parent
    graph = nx.DiGraph()
    for path in root.glob("*video*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                names = [node.module] if node.level == 0 else [f"graphspec.data.{node.module or ''}".rstrip(".")]
                if node.module is None:  # from . import x
                    names = [f"graphspec.data.{alias.name}" for alias in node.names]
                for name in names:
                    if name and name.startswith("graphspec.data."):
                        graph.add_edge(f"graphspec.data.{path.stem}", name)
    assert "graphspec.data.encoded_video" in graph and list(nx.simple_cycles(graph)) == []


# -- HMDB51 ------------------------------------------------------------------------------------
def test_hmdb51_labels_are_the_action_name_and_the_file_name_tags(tmp_path):
    from graphspec.data.hmdb51 import Hmdb51LabeledVideoPaths

    (tmp_path / "brush_hair_test_split1.txt").write_text(
        "April_09_brush_hair_u_nm_np1_ba_goo_0.avi 1\nAmerican_History_X_brush_hair_h_cm_np1_fr_med_1.avi 2\n")
    (tmp_path / "push_up_test_split1.txt").write_text("Push_ups_push_up_f_nm_np1_le_bad_2.avi 1\n")
    train = Hmdb51LabeledVideoPaths.from_dir(str(tmp_path), split_id=1, split_type="train")
    assert [train[i] for i in range(len(train))] == [
        ("brush_hair/April_09_brush_hair_u_nm_np1_ba_goo_0.avi", {"label": "brush_hair",
                                                                  "meta_tags": ["u", "nm", "np1", "ba", "goo"]}),
        ("push_up/Push_ups_push_up_f_nm_np1_le_bad_2.avi", {"label": "push_up",
                                                            "meta_tags": ["f", "nm", "np1", "le", "bad"]})]
    with pytest.raises(AssertionError):  # PyTorchVideo asserts the folder exists
        Hmdb51LabeledVideoPaths.from_dir(str(tmp_path / "missing"))
    with pytest.raises(AssertionError):  # and that a split has videos
        Hmdb51LabeledVideoPaths.from_dir(str(tmp_path), split_id=2)


# -- SSv2 frame lists --------------------------------------------------------------------------
def test_ssv2_ignores_the_frame_list_labels_column(tmp_path):
    """PyTorchVideo's SSv2 reads a video's label from the json files only: a frame list whose labels
    column is left out or holds anything reads as one with ``""``."""
    import json

    from graphspec.data.clip_sampling import make_clip_sampler
    from graphspec.data.ssv2 import SSv2
    from torch.utils.data import SequentialSampler

    (tmp_path / "labels.json").write_text(json.dumps({"Pushing something": "0", "Holding something": "1"}))
    (tmp_path / "train.json").write_text(json.dumps([{"id": "7", "template": "Holding [something]"}]))
    files = write_frames(tmp_path / "frames" / "7", [f"7_{i + 1:06d}.jpg" for i in range(12)])
    rows = ["original_vido_id video_id frame_id path labels"]
    rows += [f"7 0 {i} {f.parent.name}/{f.name}" + ("" if i % 2 else " not,ids") for i, f in enumerate(files)]
    (tmp_path / "train.csv").write_text("\n".join(rows) + "\n")
    dataset = SSv2(str(tmp_path / "labels.json"), str(tmp_path / "train.json"), str(tmp_path / "train.csv"),
                   make_clip_sampler("uniform", 0.2), SequentialSampler, video_path_prefix=str(tmp_path / "frames"))
    sample = next(iter(dataset))
    assert sample["label"] == 1 and frame_ids(sample["video"]) == [0, 1, 2, 3, 4, 5]


def test_the_other_asserted_refusals_are_assertion_errors(tmp_path):
    """Where PyTorchVideo asserts on its inputs: an empty ``path label`` list, a folder without class
    folders, a missing frame list, a row of the wrong width, EPIC-Kitchens without its files, a csv
    with a key twice."""
    from graphspec.data.charades import read_frame_list
    from graphspec.data.dataset_manifest_utils import VideoInfo
    from graphspec.data.epic_kitchen.epic_kitchen_dataset import EpicKitchenDataset
    from graphspec.data.labeled_video_paths import LabeledVideoPaths
    from graphspec.data.utils import load_dataclass_dict_from_csv

    (tmp_path / "empty.csv").write_text("\n")
    (tmp_path / "no_classes").mkdir()
    (tmp_path / "wide.csv").write_text("original_vido_id video_id frame_id path labels\na 0 0 a/1.jpg \"\" extra\n")
    write_csv(tmp_path / "info.csv", ["video_id", "resolution", "duration", "fps"], [["v", "2x2", 1.0, 1], ["v", "2x2", 1.0, 1]])
    refusals = [lambda: LabeledVideoPaths.from_path(str(tmp_path / "empty.csv")),
                lambda: LabeledVideoPaths.from_path(str(tmp_path / "no_classes")),
                lambda: read_frame_list(str(tmp_path / "missing.csv")),
                lambda: read_frame_list(str(tmp_path / "wide.csv")),
                lambda: EpicKitchenDataset("", str(tmp_path / "a.csv"), lambda v, a: [], str(tmp_path / "m.csv")),
                lambda: load_dataclass_dict_from_csv(str(tmp_path / "info.csv"), VideoInfo, "video_id")]
    for refuse in refusals:
        with pytest.raises(AssertionError):
            refuse()


# -- MultiProcessSampler -----------------------------------------------------------------------
def test_multi_process_sampler_splits_as_numpy_array_split(monkeypatch):
    from types import SimpleNamespace

    from torch.utils.data import SequentialSampler

    from graphspec.data.utils import MultiProcessSampler

    def shares(length, workers):
        out = []
        for worker in range(workers):
            info = SimpleNamespace(id=worker, num_workers=workers)
            monkeypatch.setattr(torch.utils.data, "get_worker_info", lambda: info)
            out.append(list(MultiProcessSampler(SequentialSampler(range(length)))))
        return out

    # np.array_split(range(10), 4): [0 1 2] [3 4 5] [6 7] [8 9] (the remainder to the first workers)
    assert shares(10, 4) == [[0, 1, 2], [3, 4, 5], [6, 7], [8, 9]]
    assert shares(5, 3) == [[0, 1], [2, 3], [4]]
    assert shares(2, 3) == [[0], [1], []]


# -- utils: DataclassFieldCaster, export_video_array -------------------------------------------
@dataclasses.dataclass
class _Row(DataclassFieldCaster):
    where: pathlib.Path
    rate: Fraction
    count: int
    tags: List[str] = DataclassFieldCaster.complex_initialized_dataclass_field(ast.literal_eval, default="[]")


def test_dataclass_field_caster_casts_to_any_declared_type_and_takes_complex_initializers():
    Row = _Row
    row = Row("a/b.mp4", "30000/1001", "3", "['x', 'y']")
    assert (row.where, row.rate, row.count, row.tags) == (pathlib.Path("a/b.mp4"), Fraction(30000, 1001), 3, ["x", "y"])
    assert Row("a", "1", "2").tags == []
    meta = dataclasses.fields(Row)[-1].metadata
    assert meta[DataclassFieldCaster.COMPLEX_INITIALIZER] is ast.literal_eval


def test_export_video_array_takes_a_cthw_clip_and_returns_the_stream(tmp_path):
    import av
    import numpy as np

    from dataset_fixtures import frame_rgb
    from graphspec.data.utils import export_video_array

    clip = torch.from_numpy(np.stack([frame_rgb(i) for i in range(12)])).permute(3, 0, 1, 2).float()  # (C, T, H, W)
    stream = export_video_array(clip, str(tmp_path / "a.mp4"), rate=10)
    assert isinstance(stream, av.video.stream.VideoStream) and stream.codec_context.name == "mpeg4"  # the default
    x264 = export_video_array(clip.numpy(), str(tmp_path / "b.mp4"), 10, video_codec="libx264",
                              options={"crf": "0"}, in_format="rgb24", out_format="yuv444p")
    assert x264.codec_context.name == "libx264"
    for name in ("a.mp4", "b.mp4"):
        with EncodedVideo.from_path(str(tmp_path / name), decode_audio=False) as video:
            assert video.duration == Fraction(12, 10) and video.get_clip(0, 2)["video"].shape == clip.shape
    with EncodedVideo.from_path(str(tmp_path / "b.mp4"), decode_audio=False) as video:
        assert frame_ids(video.get_clip(0, 2)["video"]) == list(range(12))  # x264 at crf 0: the frames in order


def test_exported_videos_and_csvs_get_the_mode_open_gives_under_the_umask(tmp_path):
    """They are written atomically through a temporary file, which alone would be 0o600."""
    import csv
    import os
    import stat

    import numpy as np

    from graphspec.data.utils import export_frames, export_video_array, save_dataclass_objs_to_headered_csv

    old = os.umask(0o027)
    try:
        (tmp_path / "plain").write_text("")  # what open(path, "w") creates under this umask
        export_video_array(torch.zeros(3, 4, 16, 16), str(tmp_path / "a.mp4"), rate=10)
        export_frames(np.zeros((4, 16, 16, 3), np.uint8), str(tmp_path / "b.mp4"), rate=10)
        save_dataclass_objs_to_headered_csv([_Row("a/b.mp4", "1/2", "3")], str(tmp_path / "rows.csv"))
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "plain").stat().st_mode) == 0o640
    for name in ("a.mp4", "b.mp4", "rows.csv"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o640, name
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.mp4", "b.mp4", "plain", "rows.csv"]  # no temporaries
    with open(tmp_path / "rows.csv", newline="") as f:
        assert list(csv.reader(f)) == [["where", "rate", "count", "tags"], ["a/b.mp4", "1/2", "3", "[]"]]


# -- the unseeded video order and clips ---------------------------------------------------------
def test_without_a_seed_videos_and_clips_come_in_pytorchvideo_order(tmp_path):
    """PyTorchVideo's LabeledVideoDataset: a RandomSampler over a fresh torch.Generator() (advanced
    pass by pass), and RandomClipSampler's start ``random.uniform(0, duration - clip_duration)``
    from Python's global generator."""
    import math
    import random

    from torch.utils.data import RandomSampler

    from graphspec.data import LabeledVideoDataset, make_clip_sampler

    paths = [(str(write_video(tmp_path / f"v{i}.mp4", num_frames=20, fps=FPS)), {"label": i}) for i in range(6)]
    dataset = LabeledVideoDataset(paths, make_clip_sampler("random", 0.5), decode_audio=False)
    generator = torch.Generator()  # what PyTorchVideo's dataset holds
    for _ in range(2):  # two passes: the generator goes on
        order = list(RandomSampler(range(6), generator=generator))
        random.seed(5)
        starts = [random.uniform(0, 1.5) for _ in order]
        random.seed(5)
        samples = list(dataset)
        assert [s["video_index"] for s in samples] == order
        assert [frame_ids(s["video"])[0] for s in samples] == [math.ceil(10 * start) for start in starts]


def _noisy(item):
    """A random transform: its draws show in the item."""
    return {**item, "noise": torch.rand(3)}


@pytest.mark.parametrize("kind", ["epic", "domsev_video", "domsev_frames"])
def test_seeded_manifest_datasets_give_the_same_items_with_any_worker_count(kind, tmp_path):
    from torch.utils.data import DataLoader

    from graphspec.data.domsev import DomsevFrameDataset
    from graphspec.data.epic_kitchen.utils import build_frame_manifest_from_flat_directory
    from graphspec.data.epic_kitchen_recognition import EpicKitchenRecognition

    write_frames(tmp_path / "frames" / "vid0", [f"vid0_{n:05d}.jpg" for n in range(1, 41)])
    info = str(write_csv(tmp_path / "info.csv", ["video_id", "resolution", "duration", "fps"], [["vid0", "32x32", 4.0, 10]]))
    if kind == "epic":
        write_frames(tmp_path / "epic" / "P01_01", [f"frame_{n:010d}.jpg" for n in range(1, 41)])
        manifest = save_video_frame_info(build_frame_manifest_from_flat_directory(str(tmp_path / "epic"), False),
                                         str(tmp_path / "epic.csv"))
        info = str(write_csv(tmp_path / "info.csv", ["video_id", "resolution", "duration", "fps"],
                             [["P01_01", "32x32", 4.0, 10]]))
        actions = write_csv(tmp_path / "actions.csv", [
            "participant_id", "video_id", "narration", "start_timestamp", "stop_timestamp", "start_frame", "stop_frame",
            "verb", "verb_class", "noun", "noun_class", "all_nouns", "all_noun_classes"],
            [["P01", "P01_01", "open tap", "00:00:00.50", "00:00:03.00", 5, 30, "open", 0, "tap", 1, "['tap']", "[1]"]])

        def make(seed):
            return EpicKitchenRecognition(info, str(actions), manifest, seconds_per_clip=0.5, transform=_noisy,
                                          seed=seed)
    else:
        manifest = save_video_frame_info({"vid0": VideoFrameInfo("vid0", str(tmp_path / "frames" / "vid0"), "vid0_", 10,
                                                                 1, 40, "jpg")}, str(tmp_path / "frames.csv"))
        labels = str(write_csv(tmp_path / "labels.csv", ["video_id", "start_time", "stop_time", "start_frame", "stop_frame",
                                                         "label_id", "label_name"], [["vid0", 0.0, 3.9, 0, 39, 1, "indoor"]]))
        if kind == "domsev_frames":
            def make(seed):
                return DomsevFrameDataset(manifest, info, labels, transform=_noisy, seed=seed)
        else:
            clips = [VideoClipInfo("vid0", 0.5 * i, 0.5 * i + 0.5) for i in range(7)]

            def make(seed):
                return DomsevVideoDataset(manifest, info, labels, clip_sampler=lambda v, a: clips, frames_per_second=10,
                                          transform=_noisy, seed=seed)

    def noise(dataset, workers):
        loader = DataLoader(dataset, batch_size=None, num_workers=workers, collate_fn=lambda item: item)
        return torch.stack([item["noise"] for item in loader])

    dataset = make(seed=7)
    assert torch.equal(noise(dataset, 0), noise(dataset, 2))
    assert not torch.equal(noise(dataset, 0), noise(make(seed=8), 0))


def test_without_a_seed_dataloader_workers_share_pytorchvideo_order(tmp_path):
    """In DataLoader workers PyTorchVideo reseeds the order's generator with ``worker_info.seed -
    worker_info.id`` (the loader's base seed: every worker draws the same order) and each worker
    takes its ``np.array_split`` share; the loader alternates between the workers."""
    import numpy as np
    from torch.utils.data import DataLoader, RandomSampler

    from graphspec.data import LabeledVideoDataset, make_clip_sampler

    paths = [(str(write_video(tmp_path / f"v{i}.mp4", num_frames=5, fps=FPS)), {"label": i}) for i in range(6)]
    dataset = LabeledVideoDataset(paths, make_clip_sampler("uniform", 1.0), decode_audio=False)
    loader = DataLoader(dataset, batch_size=None, num_workers=2, generator=torch.Generator().manual_seed(3))
    got = [int(sample["video_index"]) for sample in loader]
    base_seed = int(torch.empty((), dtype=torch.int64).random_(generator=torch.Generator().manual_seed(3)))
    order = list(RandomSampler(range(6), generator=torch.Generator().manual_seed(base_seed)))
    first, second = (share.tolist() for share in np.array_split(order, 2))
    assert got[0::2] == first and got[1::2] == second
