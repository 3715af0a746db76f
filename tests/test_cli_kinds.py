"""Every command on every kind of spec (model, transform, data; good, with findings, unreadable):
never an internal error (exit 3). A command given the wrong kind of spec says so in one line and
exits 2; the right kind runs (0) or reports its findings (1)."""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from tiny_specs import CLIP_TRANSFORM, stem_model

from graphspec.cli import COMMANDS, main
from graphspec.cli.output import EXIT_FINDINGS, EXIT_INTERNAL, EXIT_OK, EXIT_UNUSABLE

SIDE = 32
MODEL, TRANSFORM = stem_model(SIDE), CLIP_TRANSFORM
DATA = """\
graphspec: 1
kind: data
name: tiny
dataset: {{op: Kinetics, data_path: {folder}/list.csv, video_path_prefix: {folder}/videos, decode_audio: false}}
clip_sampler: {{op: UniformClipSampler, clip_duration: 1.0}}
transform: transform.yaml
loader: {{batch_size: 1}}
"""
#: a spec with findings, per kind: a wrong channel count, an unknown transform, an unknown dataset
BAD = {"model": ("in_channels: 3", "in_channels: 5"),
       "transform": ("UniformTemporalSubsample", "UniformTemporalSubsampel"),
       "data": ("op: Kinetics", "op: Kinetix")}
KINDS = ("model", "transform", "data")

#: the argument lists of each command (SPEC, OUT, RAW filled in) and the spec kinds it takes
RUNS = {
    "validate": ([[]], KINDS),
    "build": ([[], ["-o", "{out}/m.pt"]], KINDS),
    "summary": ([[], ["--json"]], ("model",)),
    "expand": ([[]], ("model",)),
    "graph": ([[], ["--format", "mermaid", "-o", "{out}/g.mmd"]], ("model",)),
    "export": ([["-o", "{out}/m.onnx", "--latency-runs", "0"]], ("model",)),
    "data inspect": ([[]], ("data",)),
    "data bench": ([[]], ("data",)),
    "data prepare": ([["--from", "{raw}", "--to", "{out}/prepared", "--short-side", "16"]], ("data",)),
    "train": ([["--run-dir", "{out}/run", "--no-progress"]], ()),  # takes kind: train specs only
}
#: commands that take no spec (nothing to vary)
NO_SPEC = {"ops", "zoo", "schema", "plot"}


def write_video(path: Path, frames: int, fps: int = 10) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width = stream.height = SIDE
        stream.pix_fmt = "yuv420p"
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(np.full((SIDE, SIDE, 3), 8 * i % 256, np.uint8), format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, fps)
            out.mux(stream.encode(frame))
        out.mux(stream.encode())


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("kinds")
    for label in ("a", "b"):
        write_video(root / "videos" / "train" / label / f"{label}.mp4", 30)
    (root / "list.csv").write_text("train/a/a.mp4 0\ntrain/b/b.mp4 1\n")
    texts = {"model": MODEL, "transform": TRANSFORM, "data": DATA.format(folder=root)}
    for kind, text in texts.items():
        (root / f"{kind}.yaml").write_text(text)
        (root / f"{kind}_bad.yaml").write_text(text.replace(*BAD[kind]))
    (root / "unreadable.yaml").write_text("graphspec: 1\nkind: [model\n")
    return root


def test_every_command_that_reads_a_spec_is_covered():
    assert set(COMMANDS) - NO_SPEC == {name.split()[0] for name in RUNS}


def _cases():
    for command, (variants, kinds) in RUNS.items():
        for extra in variants:
            for spec in [*KINDS, *(f"{k}_bad" for k in KINDS), "unreadable"]:
                yield pytest.param(command, extra, spec, kinds, id=f"{command} {' '.join(extra)} {spec}".strip())


@pytest.mark.parametrize("command, extra, spec, kinds", list(_cases()))
def test_no_internal_error(folder, tmp_path, capsys, command, extra, spec, kinds):
    argv = [*command.split(), str(folder / f"{spec}.yaml"),
            *[a.format(out=tmp_path, raw=folder / "videos") for a in extra]]
    code = main(argv)
    printed = capsys.readouterr()
    assert "Traceback" not in printed.out + printed.err
    assert code != EXIT_INTERNAL, printed.err
    kind = spec.removesuffix("_bad")
    if spec == "unreadable":
        assert code == EXIT_UNUSABLE, printed.err
    elif kind not in kinds and spec == kind:  # the wrong kind: one line naming it
        assert code == EXIT_UNUSABLE, printed.err
        assert f"is a {kind} spec" in printed.err and len(printed.err.strip().splitlines()) == 1, printed.err
    elif kind in kinds:
        assert code == _expected(command, extra, kind, good=spec == kind), printed.err


def _expected(command: str, extra: list, kind: str, good: bool) -> int:
    if command == "build" and "-o" in extra and kind != "model":
        return EXIT_UNUSABLE if good else EXIT_FINDINGS  # -o saves a model's state_dict
    if command == "data prepare" and not good:
        return EXIT_UNUSABLE  # documented: a spec it cannot plan from is unusable input
    return EXIT_OK if good else EXIT_FINDINGS


@pytest.mark.parametrize("calibrate", ["model", "transform", "unreadable"])
def test_calibrate_with_the_wrong_kind_of_spec_is_one_line_exit_2(folder, tmp_path, capsys, calibrate):
    code = main(["export", str(folder / "model.yaml"), "--int8", "--calibrate", str(folder / f"{calibrate}.yaml"),
                 "-o", str(tmp_path / "m.onnx"), "--latency-runs", "0"])
    err = capsys.readouterr().err
    assert code == EXIT_UNUSABLE and len(err.strip().splitlines()) == 1, err
    if calibrate != "unreadable":
        assert f"--calibrate {folder / calibrate}.yaml is a {calibrate} spec" in err and "data spec" in err
    assert not (tmp_path / "m.onnx").exists()


def test_calibrate_with_a_data_spec_calibrates_on_its_clips(folder, tmp_path, capsys):
    code = main(["export", str(folder / "model.yaml"), "--int8", "--calibrate", str(folder / "data.yaml"),
                 "--calib-clips", "1", "-o", str(tmp_path / "m.onnx"), "--latency-runs", "0"])
    printed = capsys.readouterr()
    # the data spec's clips calibrated it; the int8 model is then written (0) or refused as too
    # far from fp32 (1, a check's verdict on these flat test videos), never unusable input
    assert code in (EXIT_OK, EXIT_FINDINGS), printed.err
    assert f"clips of {folder / 'data.yaml'}" in printed.out + printed.err
    assert (tmp_path / "m.onnx").is_file() == (code == EXIT_OK)
