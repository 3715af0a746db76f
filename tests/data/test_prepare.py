"""`graphspec data prepare`: outputs checked by reading them back with PyAV (sizes, keyframes,
frame counts, pixel content that encodes the source frame index), resume, sharding, bad files."""
from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from graphspec.data import prepare as prep
from graphspec.data.prepare import media, runner
from graphspec.spec.errors import SpecError

INTENSITY_STEP = 8  # frame i of a raw video is a flat image of value 8*i: readable after JPEG/H.264


def make_video(path: Path, *, width: int, height: int, fps: int, seconds: float, audio: bool = False) -> Path:
    """An H.264 video whose frame i is flat grey ``8*i`` (so frames can be identified), with an
    optional 440 Hz mono AAC track, and one keyframe only (FFmpeg's default GOP exceeds it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.codec_context.gop_size = 250
        video.codec_context.options = {"crf": "8", "bf": "0"}
        sound = out.add_stream("aac", rate=16000) if audio else None
        if sound is not None:
            sound.layout = "mono"
        for i in range(int(round(fps * seconds))):
            frame = av.VideoFrame.from_ndarray(np.full((height, width, 3), INTENSITY_STEP * i % 256, np.uint8),
                                               format="rgb24")
            frame.pts = i
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
        if sound is not None:
            size = sound.codec_context.frame_size or 1024
            for start in range(0, int(16000 * seconds), size):
                wave = np.sin(np.arange(start, start + size) / 16000 * 2 * np.pi * 440).astype(np.float32)
                chunk = av.AudioFrame.from_ndarray(wave[None], format="fltp", layout="mono")
                chunk.sample_rate, chunk.pts = 16000, start
                out.mux(sound.encode(chunk))
            out.mux(sound.encode(None))
    return path


def frame_index(path: Path) -> int:
    """The raw frame an extracted image shows (its grey level / 8)."""
    with av.open(str(path)) as container:
        image = next(container.decode(video=0)).to_ndarray(format="rgb24")
    return int(round(float(image.mean()) / INTENSITY_STEP))


def keyframe_gaps(path: Path) -> list[int]:
    """Frame counts between consecutive keyframes of a video file."""
    with av.open(str(path)) as container:
        flags = [p.is_keyframe for p in container.demux(container.streams.video[0]) if p.size]
    starts = [i for i, key in enumerate(flags) if key]
    return [b - a for a, b in zip(starts, starts[1:])]


@pytest.fixture(scope="module")
def kinetics_raw(tmp_path_factory) -> Path:
    """Kinetics download layout: split/class/video, mixed sizes, rates, durations, one with audio,
    one corrupt and one empty file."""
    raw = tmp_path_factory.mktemp("raw")
    make_video(raw / "train/abseiling/a1.mp4", width=96, height=64, fps=15, seconds=2.0, audio=True)
    make_video(raw / "train/abseiling/a2.mp4", width=64, height=96, fps=30, seconds=1.0)  # portrait
    make_video(raw / "train/bowling/b1.mp4", width=80, height=80, fps=24, seconds=1.5)
    make_video(raw / "val/bowling/b2.mp4", width=96, height=64, fps=15, seconds=1.0)
    (raw / "train/bowling/corrupt.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 4)
    (raw / "train/bowling/empty.mp4").write_bytes(b"")
    return raw


def kinetics_plan(**output) -> prep.PreparePlan:
    return prep.plan_for("Kinetics", {"output": {"short_side": 32, "keyframe_interval_sec": 0.5, **output}})


def test_documented_defaults():
    """The documentation's choices: Kinetics short side 256; SSv2/Charades/AVA frames at 30 fps as
    {video}/{video}_%06d.jpg at the highest JPEG quality; AVA cut to seconds 900-1801."""
    kinetics = prep.DATASET_PLANS["Kinetics"]
    assert kinetics.output.kind == "resize" and kinetics.output.short_side == 256 and kinetics.cut is None
    assert kinetics.output.keyframe_interval_sec == pytest.approx(1.0)
    for name in ("SSv2", "Charades", "Ava"):
        frames = prep.DATASET_PLANS[name].output
        assert (frames.kind, frames.fps, frames.image_format, frames.quality) == ("frames", 30, "jpg", 1)
        assert frames.pattern.format(video="v", index=7, ext="jpg") == "v/v_000007.jpg"
    ava_cut = prep.DATASET_PLANS["Ava"].cut
    assert (ava_cut.start_sec, ava_cut.end_sec) == (900, 1801)


def test_resize_outputs_short_side_keyframes_audio_and_manifest(kinetics_raw, tmp_path):
    out = tmp_path / "out"
    report = prep.prepare(kinetics_plan(), kinetics_raw, out, workers=2)
    assert (report.count("done"), report.count("failed")) == (4, 2)
    reasons = {o.source: o.reason for o in report.outcomes if o.status == "failed"}
    assert "empty" in reasons["train/bowling/empty.mp4"]
    assert "not a readable video" in reasons["train/bowling/corrupt.mp4"]
    for raw_name, size in [("train/abseiling/a1.mp4", (48, 32)), ("train/abseiling/a2.mp4", (32, 48)),
                           ("train/bowling/b1.mp4", (32, 32)), ("val/bowling/b2.mp4", (48, 32))]:
        info = media.probe(out / raw_name)
        assert (info.width, info.height) == size
        source = media.probe(kinetics_raw / raw_name)
        assert info.fps == pytest.approx(source.fps) and info.duration_sec == pytest.approx(source.duration_sec, abs=0.1)
        gaps = keyframe_gaps(out / raw_name)
        assert gaps and max(gaps) <= round(source.fps * 0.5)  # a keyframe at least every half second
    assert media.probe(out / "train/abseiling/a1.mp4").has_audio
    assert not media.probe(out / "train/bowling/b1.mp4").has_audio
    # the documented csv: "path label" per line, labels the sorted class folders
    classes = json.loads((out / "classnames.json").read_text())
    assert classes == {"abseiling": 0, "bowling": 1}
    train = [line.split(" ") for line in (out / "train.csv").read_text().splitlines()]
    assert train == [["train/abseiling/a1.mp4", "0"], ["train/abseiling/a2.mp4", "0"], ["train/bowling/b1.mp4", "1"]]
    assert (out / "val.csv").read_text() == "val/bowling/b2.mp4 1\n"
    summary = json.loads((out / "prepare_report.json").read_text())
    assert (summary["done"], summary["skipped"], summary["failed"]) == (4, 0, 2)
    assert not list(out.rglob(".*partial*"))


def test_manifest_is_read_by_labeled_video_paths(kinetics_raw, tmp_path):
    from graphspec.data.labeled_video_paths import LabeledVideoPaths

    out = tmp_path / "out"
    prep.prepare(kinetics_plan(), kinetics_raw, out)
    paths = LabeledVideoPaths.from_path(str(out / "train.csv"))
    paths.path_prefix = str(out)
    listed = [paths[i] for i in range(len(paths))]
    assert [Path(p).name for p, _ in listed] == ["a1.mp4", "a2.mp4", "b1.mp4"]
    labels = [info if isinstance(info, int) else info["label"] for _, info in listed]
    assert labels == [0, 0, 1]
    assert all(Path(p).is_file() for p, _ in listed)


def test_rerun_skips_verified_outputs_and_redoes_damaged_ones(kinetics_raw, tmp_path):
    out = tmp_path / "out"
    prep.prepare(kinetics_plan(), kinetics_raw, out)
    (out / "train/bowling/b1.mp4").write_bytes(b"damaged")  # e.g. a copy gone wrong
    again = prep.prepare(kinetics_plan(), kinetics_raw, out)
    status = {o.source: o.status for o in again.outcomes}
    assert status["train/bowling/b1.mp4"] == "done"
    assert [s for k, s in status.items() if k.endswith(("a1.mp4", "a2.mp4", "b2.mp4"))] == ["skipped"] * 3
    assert media.probe(out / "train/bowling/b1.mp4").width == 32


def test_interrupted_run_leaves_no_partial_output_and_resumes(kinetics_raw, tmp_path, monkeypatch):
    out = tmp_path / "out"
    real = media.transcode
    calls = []

    def interrupted(src, dest, step, cut=None, threads=0):
        calls.append(src)
        if len(calls) == 2:  # the machine goes away while writing the second video
            tmp = media._temporary(dest)
            tmp.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_bytes(b"half a video")
            raise KeyboardInterrupt
        return real(src, dest, step, cut, threads)

    monkeypatch.setattr(runner, "transcode", interrupted)
    with pytest.raises(KeyboardInterrupt):
        prep.prepare(kinetics_plan(), kinetics_raw, out)
    finals = [p for p in out.rglob("*.mp4") if not p.name.startswith(".")]
    assert [p.relative_to(out).as_posix() for p in finals] == ["train/abseiling/a1.mp4"]
    monkeypatch.setattr(runner, "transcode", real)
    resumed = prep.prepare(kinetics_plan(), kinetics_raw, out)
    status = {o.source: o.status for o in resumed.outcomes}
    assert status["train/abseiling/a1.mp4"] == "skipped"
    assert status["train/abseiling/a2.mp4"] == status["train/bowling/b1.mp4"] == "done"


def test_shards_cover_every_file_once_and_merge_waits_for_all(kinetics_raw, tmp_path):
    out = tmp_path / "out"
    plan = kinetics_plan()
    every = {job.source for job in runner.discover(kinetics_raw, plan)}
    seen: list[str] = []
    for index in range(3):
        report = prep.prepare(plan, kinetics_raw, out, shard=(index, 3))
        seen += [o.source for o in report.outcomes]
        if index < 2:
            with pytest.raises(ValueError, match="have not reported"):
                prep.merge(out)
    assert sorted(seen) == sorted(every) and len(seen) == len(every) == 6
    prep.merge(out)
    assert len((out / "train.csv").read_text().splitlines()) == 3
    # the split is a pure function of the file's path: the same on every machine
    assert [runner.shard_of(j, 3) for j in runner.discover(kinetics_raw, plan)] == \
        [runner.shard_of(j, 3) for j in runner.discover(kinetics_raw, plan)]


@pytest.mark.parametrize("raw_fps", [15, 60])
def test_frames_resampled_to_30fps_like_ffmpeg(tmp_path, raw_fps):
    """-r 30: a 15 fps source repeats each frame twice, a 60 fps one keeps every other; frame
    numbering starts at 1; the frame list names every frame."""
    raw = tmp_path / "raw"
    make_video(raw / "clip.mp4", width=48, height=32, fps=raw_fps, seconds=1.0)
    out = tmp_path / "out"
    report = prep.prepare(prep.DATASET_PLANS["SSv2"], raw, out)
    assert report.ok
    images = sorted((out / "frames/clip").iterdir())
    assert [p.name for p in images[:2]] == ["clip_000001.jpg", "clip_000002.jpg"] and len(images) == 30
    shown = [frame_index(p) for p in images]
    expected = [round(k * raw_fps / 30) if raw_fps > 30 else k // 2 for k in range(30)]
    assert shown == [i % (256 // INTENSITY_STEP) for i in expected]  # grey levels wrap at 256
    rows = (out / "frame_lists/all.csv").read_text().splitlines()
    assert rows[0] == "original_vido_id video_id frame_id path labels"
    assert rows[1].split(" ") == ["clip", "0", "0", "clip/clip_000001.jpg", '""'] and len(rows) == 31


def test_cut_then_frames_keeps_only_the_window(tmp_path):
    raw = tmp_path / "raw"
    make_video(raw / "movie.mp4", width=48, height=32, fps=10, seconds=3.0)
    plan = prep.plan_for("Ava", {"cut": {"start_sec": 1, "end_sec": 2}, "output": {"fps": 10}})
    out = tmp_path / "out"
    assert prep.prepare(plan, raw, out).ok
    assert [frame_index(p) for p in sorted((out / "frames/movie").iterdir())] == list(range(10, 20))


def test_cut_beyond_the_video_is_a_reported_failure(tmp_path):
    raw = tmp_path / "raw"
    make_video(raw / "short.mp4", width=32, height=32, fps=10, seconds=1.0)
    report = prep.prepare(prep.DATASET_PLANS["Ava"], raw, tmp_path / "out")
    assert report.count("failed") == 1 and "cut starts at 900" in report.outcomes[0].reason


def test_plan_from_a_data_spec_with_overrides_and_located_errors(tmp_path):
    spec = tmp_path / "kinetics.yaml"
    spec.write_text("graphspec: 1\nkind: data\nname: k\ndataset:\n  op: Kinetics\n  data_path: x\n"
                    "prepare:\n  output:\n    short_side: 320\n")
    op, plan = prep.plan_from_spec(spec)
    assert op == "Kinetics" and plan.output.short_side == 320 and plan.output.codec == "libx264"
    assert prep.plan_from_spec(spec, ["prepare.output.short_side=128"])[1].output.short_side == 128
    with pytest.raises(SpecError) as bad:
        prep.plan_from_spec(spec, ["prepare.output.short_side=0"])
    (diag,) = bad.value.diagnostics
    assert diag.path[:3] == ("prepare", "output", "short_side") and diag.location.file == "<--set>"
    spec.write_text(spec.read_text().replace("320", "true"))
    with pytest.raises(SpecError) as bad:
        prep.plan_from_spec(spec)
    (diag,) = bad.value.diagnostics
    assert diag.path[:3] == ("prepare", "output", "short_side") and diag.location.line == 9
    spec.write_text("graphspec: 1\nkind: data\nname: k\ndataset: {op: Kinetic}\n")
    with pytest.raises(SpecError) as unknown:
        prep.plan_from_spec(spec)
    assert "Kinetics" in (unknown.value.diagnostics[0].hint or "")


def test_frame_lists_are_read_by_charades(tmp_path):
    """The frame list of extracted frames feeds the frame-list datasets: a uniform 1 s clip of a
    prepared 10 fps video shows raw frames 0..9, each repeated for 30 fps."""
    from torch.utils.data import SequentialSampler

    from graphspec.data.charades import Charades
    from graphspec.data.clip_sampling import make_clip_sampler

    raw = tmp_path / "raw"
    make_video(raw / "train" / "clipA.mp4", width=48, height=32, fps=10, seconds=2.0)
    make_video(raw / "train" / "clipB.mp4", width=48, height=32, fps=10, seconds=1.0)
    out = tmp_path / "out"
    assert prep.prepare(prep.DATASET_PLANS["Charades"], raw, out).ok
    dataset = Charades(data_path=str(out / "frame_lists/train.csv"), clip_sampler=make_clip_sampler("uniform", 1.0),
                       video_path_prefix=str(out / "frames"), video_sampler=SequentialSampler)
    first = next(iter(dataset))
    assert first["video_name"] == "clipA" and first["video"].shape[:2] == (3, 30)
    grey = first["video"].float().mean(dim=(0, 2, 3))
    shown = [int(round(float(v) / INTENSITY_STEP)) for v in grey]
    assert shown == [k // 3 for k in range(30)]
    assert first["video_label"] == []


def test_epic_kitchen_manifest_from_extracted_frames(tmp_path):
    from graphspec.data.dataset_manifest_utils import VideoFrameInfo
    from graphspec.data.utils import load_dataclass_dict_from_csv

    raw = tmp_path / "raw"
    make_video(raw / "P01_01.mp4", width=48, height=32, fps=30, seconds=0.5)
    out = tmp_path / "out"
    plan = prep.plan_for("EpicKitchenRecognition", {"output": {"fps": 10}})
    assert prep.prepare(plan, raw, out).ok
    manifest = load_dataclass_dict_from_csv(str(out / "frame_manifest.csv"), VideoFrameInfo, "video_id")
    info = manifest["P01_01"]
    assert (info.min_frame_number, info.max_frame_number) == (1, 5)
    assert info.frame_file_stem == "P01_01_" and info.file_extension == "jpg"


def test_cli_prepare_shards_merge_and_exit_codes(kinetics_raw, tmp_path, capsys):
    """`graphspec data prepare` on the zoo's Kinetics data spec: exit 1 when some files failed
    (listed with reasons), the keyframe choice printed, --shard I/N then --merge, bad usage exit 2."""
    from graphspec.cli import main

    spec = str(Path(__file__).resolve().parents[2] / "specs/data/kinetics400_train.yaml")
    out = tmp_path / "out"
    common = [spec, "--from", str(kinetics_raw), "--to", str(out), "--short-side", "32"]
    for index in range(2):
        assert main(["data", "prepare", *common, "--shard", f"{index}/2"]) in (0, 1)
    printed = capsys.readouterr().out
    assert "a keyframe every 1 s" in printed and "--merge" in printed
    assert main(["data", "prepare", spec, "--to", str(out), "--merge"]) == 1  # two bad raw files
    assert json.loads((out / "prepare_report.json").read_text())["failed"] == 2
    assert (out / "train.csv").read_text().count("\n") == 3
    report = tmp_path / "report.json"
    assert main(["data", "prepare", *common, "--json", str(report)]) == 1
    assert json.loads(report.read_text())["skipped"] == 4
    printed = capsys.readouterr()
    assert "failed: train/bowling/corrupt.mp4: not a readable video" in printed.out
    assert main(["data", "prepare", spec, "--from", str(tmp_path / "missing"), "--to", str(out)]) == 2
    assert main(["data", "prepare", *common, "--shard", "2/2"]) == 2
    assert "0 <= I < N" in capsys.readouterr().err


def test_validate_checks_a_data_specs_prepare_mapping(tmp_path):
    """`graphspec validate` reads no data, but a bad `prepare:` value is a located finding."""
    import graphspec

    spec = tmp_path / "kinetics_hq.yaml"
    zoo_spec = Path(__file__).resolve().parents[2] / "specs/data/kinetics400_train.yaml"
    spec.write_text(f"extends: {zoo_spec}\nname: kinetics_hq\nprepare:\n  output:\n    crf: 99\n")
    (finding,) = graphspec.check(spec)
    assert finding.path == ("prepare", "output", "crf") and finding.location.line == 5
    spec.write_text(f"extends: {zoo_spec}\nname: kinetics_hq\nprepare:\n  output:\n    crf: 18\n")
    assert graphspec.check(spec) == []


def test_charades_frame_lists_take_their_labels_from_the_annotation_csv(tmp_path):
    """Charades_v1_train.csv's actions ('c005 0.00 0.50;c012 0.30 1.00') label the frames shown
    in their spans: frame k of a 10 fps extraction shows second k / 10."""
    from torch.utils.data import SequentialSampler

    from graphspec.data.charades import Charades
    from graphspec.data.clip_sampling import make_clip_sampler

    raw = tmp_path / "raw"
    make_video(raw / "train" / "46GP8.mp4", width=32, height=32, fps=10, seconds=1.5)
    annotations = tmp_path / "Charades_v1_train.csv"
    annotations.write_text("id,subject,scene,quality,relevance,verified,script,objects,descriptions,actions,length\n"
                           '46GP8,HR43,Kitchen,6,7,Yes,"A person cooks.",food,"A person cooks.",'
                           '"c005 0.00 0.50;c012 0.30 1.00",1.5\n')
    plan = prep.plan_for("Charades", {"output": {"fps": 10}, "annotations": [str(annotations)]})
    out = tmp_path / "out"
    assert prep.prepare(plan, raw, out).ok
    rows = [row.split(" ") for row in (out / "frame_lists/train.csv").read_text().splitlines()[1:]]
    assert [row[4] for row in rows] == ['"5"'] * 3 + ['"5,12"'] * 2 + ['"12"'] * 5 + ['""'] * 5
    dataset = Charades(str(out / "frame_lists/train.csv"), make_clip_sampler("uniform", 1.5), SequentialSampler,
                       video_path_prefix=str(out / "frames"))
    sample = next(iter(dataset))
    assert sample["video_label"] == [5, 12] and sample["label"][:4] == [[5], [5], [5], [5, 12]]


def test_ava_frame_lists_take_their_labels_from_the_box_csv(tmp_path):
    """ava_train_v2.2.csv rows (video, keyframe second, box, action, person) label the frame shown
    at their keyframe; the frames start at the cut."""
    raw = tmp_path / "raw"
    make_video(raw / "movie.mp4", width=32, height=32, fps=10, seconds=3.0)
    boxes = tmp_path / "ava_train_v2.2.csv"
    boxes.write_text("movie,2,0.1,0.1,0.5,0.5,7,0\nmovie,2,0.2,0.2,0.6,0.6,12,1\nother,2,0.1,0.1,0.5,0.5,3,0\n")
    plan = prep.plan_for("Ava", {"cut": {"start_sec": 1, "end_sec": 3}, "output": {"fps": 10},
                                 "annotations": [str(boxes)]})
    out = tmp_path / "out"
    assert prep.prepare(plan, raw, out).ok
    labels = [row.split(" ")[4] for row in (out / "frame_lists/all.csv").read_text().splitlines()[1:]]
    assert len(labels) == 20 and labels[10] == '"7,12"' and set(labels[:10] + labels[11:]) == {'""'}


def test_annotations_for_a_dataset_without_per_frame_labels_are_refused():
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="no per-frame labels"):
        prep.plan_for("Kinetics", {"annotations": ["labels.csv"]})



def test_parallel_prepare_after_other_decoding_tests_does_not_hang():
    """A process that has decoded with PyAV (a notebook, this test session) then prepares with 2
    workers. Forked workers hung on FFmpeg state inherited from the parent (reproduced by running
    the manifest tests, then this file's 2-worker tests, in one session); spawned ones start clean."""
    import subprocess
    import sys

    here = Path(__file__).parent
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", "not does_not_hang",
                          str(here / "test_dataset_manifest_utils.py"), str(here / "test_prepare.py")],
                         capture_output=True, text=True, timeout=240, cwd=here.parent)
    assert run.returncode == 0, run.stdout[-2000:]
