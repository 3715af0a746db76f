"""`graphspec data prepare` and `data bench` refuse what would destroy or mislead before any work:
an output folder overlapping --from, a --from without videos, --merge with --shard, an unknown
--codec, an unwritable --json (also on a rerun whose outputs all exist); `data bench` counts the
unreadable files of every loader worker."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from video_fixtures import SIZE, write_video

from graphspec.cli import main

ROOT = Path(__file__).resolve().parents[2]
KINETICS = ROOT / "specs" / "data" / "kinetics400_train.yaml"


def tree(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file below ``folder`` with its size and modification time (nanoseconds)."""
    return {p.relative_to(folder).as_posix(): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture()
def raw(tmp_path) -> Path:
    """A Kinetics download: train/<class>/<video>.mp4, SIZE x SIZE pixels."""
    folder = tmp_path / "raw"
    write_video(folder / "train" / "abseiling" / "a.mp4", 12)
    write_video(folder / "train" / "bowling" / "b.mp4", 12)
    return folder


def prepare(capsys, *args) -> tuple[int, str]:
    code = main(["data", "prepare", str(KINETICS), *map(str, args)])
    printed = capsys.readouterr()
    assert "Traceback" not in printed.out + printed.err
    return code, printed.err


@pytest.mark.parametrize("where, words", [
    ("same", "is --from"),
    ("inside", "is inside --from"),
    ("containing", "contains --from"),
])
def test_output_folder_overlapping_from_is_refused_and_nothing_is_written(raw, tmp_path, capsys, where, words):
    before = tree(tmp_path)
    out, source = {"same": (raw, raw), "inside": (raw / "prepared", raw),
                   "containing": (tmp_path, raw)}[where]
    code, err = prepare(capsys, "--from", source, "--to", out, "--short-side", str(SIZE * 2))
    assert code == 2 and words in err
    assert tree(tmp_path) == before and not (raw / "prepared").exists()


def test_rerun_never_reads_its_outputs_as_raw_input(raw, tmp_path, capsys):
    """The documented layout (outputs beside, not inside, the raw folder): a rerun finds the same
    jobs and skips them all."""
    out = tmp_path / "prepared"
    assert prepare(capsys, "--from", raw, "--to", out, "--short-side", "16")[0] == 0
    assert prepare(capsys, "--from", raw, "--to", out, "--short-side", "16")[0] == 0
    report = json.loads((out / "prepare_report.json").read_text())
    assert (report["done"], report["skipped"]) == (0, 2)
    assert sorted(tree(raw)) == ["train/abseiling/a.mp4", "train/bowling/b.mp4"]


def test_from_without_videos_is_unusable_input(tmp_path, capsys):
    empty = tmp_path / "downloads"
    (empty / "notes").mkdir(parents=True)
    (empty / "notes" / "readme.txt").write_text("no videos here")
    code, err = prepare(capsys, "--from", empty, "--to", tmp_path / "out")
    assert code == 2 and f"no videos found under {empty}" in err and ".mp4" in err
    assert not (tmp_path / "out").exists()


def test_merge_with_shard_is_refused(raw, tmp_path, capsys):
    out = tmp_path / "out"
    assert prepare(capsys, "--from", raw, "--to", out, "--short-side", "16", "--shard", "0/1")[0] == 0
    before = tree(out)
    code, err = prepare(capsys, "--to", out, "--merge", "--shard", "0/1")
    assert code == 2 and "--merge" in err and "--shard" in err
    assert tree(out) == before


@pytest.mark.parametrize("codec, words", [("libx246", "not an encoder"), ("aac", "not a video encoder")])
def test_bad_codec_is_caught_before_any_work_also_when_outputs_exist(raw, tmp_path, capsys, codec, words):
    """The flag's value is checked with the plan (named as the flag, not as the spec key it fills),
    before any video is read, and so is a spec's own prepare.output.codec."""
    out = tmp_path / "out"
    code, err = prepare(capsys, "--from", raw, "--to", out, "--codec", codec)
    assert code == 2 and f"--codec {codec}: {words}" in err and not out.exists()
    assert prepare(capsys, "--from", raw, "--to", out, "--short-side", "16")[0] == 0
    before = tree(out)
    code, err = prepare(capsys, "--from", raw, "--to", out, "--short-side", "16", "--codec", codec)
    assert code == 2 and words in err
    assert tree(out) == before  # every output was complete: the codec was still checked
    code, err = prepare(capsys, "--from", raw, "--to", out, "--set", f"prepare.output.codec={codec}")
    assert code == 2 and "prepare.output.codec" in err and words in err
    assert tree(out) == before


def test_unwritable_json_is_caught_before_any_work_also_when_outputs_exist(raw, tmp_path, capsys):
    out = tmp_path / "out"
    missing = tmp_path / "no" / "report.json"
    code, err = prepare(capsys, "--from", raw, "--to", out, "--json", missing)
    assert code == 2 and f"cannot write {missing}" in err and not out.exists()
    assert prepare(capsys, "--from", raw, "--to", out, "--short-side", "16")[0] == 0
    before = tree(out)
    for target, words in ((missing, "does not exist"), (tmp_path, "is a directory"),
                          (KINETICS, "would overwrite the input spec"), (raw / "report.json", "inside --from")):
        code, err = prepare(capsys, "--from", raw, "--to", out, "--short-side", "16", "--json", target)
        assert code == 2 and words in err, err
        assert tree(out) == before


@pytest.mark.parametrize("make_target, words", [
    (lambda tmp: (tmp / "notes.txt", (tmp / "notes.txt").write_text("mine")), "is a file; give a folder"),
    (lambda tmp: (Path("/proc/prepared"), None), "cannot create files in /proc"),
])
def test_output_folder_that_cannot_hold_files_is_refused_before_any_work(raw, tmp_path, capsys, make_target,
                                                                           words):
    target, _ = make_target(tmp_path)
    before = tree(tmp_path)
    code, err = prepare(capsys, "--from", raw, "--to", target, "--short-side", "16")
    assert code == 2 and words in err and "prepared" not in capsys.readouterr().out
    assert tree(tmp_path) == before


def test_shard_help_says_zero_based(capsys):
    assert main(["data", "prepare", "--help"]) == 0
    assert "I counts from 0" in " ".join(capsys.readouterr().out.split())


def _kinetics_spec(folder: Path, workers: int) -> Path:
    spec = folder / "bench.yaml"
    spec.write_text(f"""\
graphspec: 1
kind: data
name: bench
dataset: {{op: Kinetics, data_path: {folder / "list.csv"}, video_path_prefix: {folder / "videos"}, decode_audio: false}}
clip_sampler: {{op: UniformClipSampler, clip_duration: 1.0}}
transform:
  input: {{video: {{layout: CTHW, dtype: uint8, shape: [3, T, H, W]}}, label: any}}
  transform:
    - {{op: ApplyTransformToKey, key: video, transform: [{{op: UniformTemporalSubsample, num_samples: 4}}]}}
loader: {{batch_size: 1, num_workers: {workers}}}
""")
    return spec


@pytest.mark.parametrize("workers", [0, 2])
def test_bench_counts_the_bad_files_of_every_worker(tmp_path, capsys, workers):
    """Two unreadable files among four good ones: the count is 2 whatever the worker count (with
    workers, each worker skips the files it reads in its own copy of the dataset)."""
    videos = tmp_path / "videos"
    for name in ("g0", "g1", "g2", "g3"):
        write_video(videos / f"{name}.mp4", 10)
    (videos / "bad1.mp4").write_bytes(b"not a video" * 4)
    (videos / "bad2.mp4").write_bytes(b"")
    names = ["g0", "bad1", "g1", "g2", "bad2", "g3"]
    (tmp_path / "list.csv").write_text("".join(f"{n}.mp4 0\n" for n in names))
    code = main(["data", "bench", str(_kinetics_spec(tmp_path, workers))])
    out = capsys.readouterr().out
    assert code == 0
    assert "4 clips" in out and "skipped 2 unreadable video(s)" in out
    assert "bad1.mp4" in out and "bad2.mp4" in out
