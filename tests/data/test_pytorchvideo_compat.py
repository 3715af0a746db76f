"""Issue 17's data items, with PyTorchVideo's behaviour as the oracle: the error types its users
catch, empty clip ranges, the decoder names it takes, HMDB51's labels, SSv2's frame lists, the
unseeded video order, ``MultiProcessSampler``'s split and the ``utils`` helpers' signatures."""
from __future__ import annotations

import warnings

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
    frames = FrameVideo.from_frame_paths(write_frames(tmp_path / "f", [f"{i}.jpg" for i in range(5)]), fps=FPS)
    clip = frames.get_clip(1.0, 2.0)
    assert clip["video"] is None and clip["audio"] is None


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
