"""Nothing a user owns is destroyed: every writing command refuses (exit 2, nothing written) an
output that is one of the run's inputs — the spec, every spec it extends or references, --weights,
--calibrate and what that data spec reads — and an export suffix contradicting --to; written files
get the user's umask, as a plain open() would give them."""
from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
import torch

from graphspec.cli import main
from graphspec.cli.guard import spec_files
from tiny_specs import CLIP_TRANSFORM, stem_model

MODEL, TRANSFORM = stem_model(), CLIP_TRANSFORM
DATA = """\
graphspec: 1
kind: data
name: calib
dataset: {op: Kinetics, data_path: list.csv, video_path_prefix: videos}
clip_sampler: {op: UniformClipSampler, clip_duration: 1.0}
transform: pipeline.yaml
model: stem.yaml
loader: {batch_size: 1}
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def run(capsys, *argv) -> tuple[int, str]:
    code = main([str(a) for a in argv])
    printed = capsys.readouterr()
    assert "Traceback" not in printed.out + printed.err
    return code, printed.err


@pytest.fixture()
def project(tmp_path) -> Path:
    """stem.yaml (a model), pipeline.yaml (a transform extending base_pipeline.yaml), calib.yaml
    (a data spec referencing both), child.yaml (extends stem.yaml), weights.pt (stem's state_dict)."""
    write(tmp_path, "stem.yaml", MODEL)
    write(tmp_path, "base_pipeline.yaml", TRANSFORM)
    write(tmp_path, "pipeline.yaml", "extends: base_pipeline.yaml\nname: pipeline\n")
    write(tmp_path, "calib.yaml", DATA)
    write(tmp_path, "child.yaml", "extends: stem.yaml\nname: child\n")
    import graphspec

    torch.save(graphspec.build(tmp_path / "stem.yaml").state_dict(), tmp_path / "weights.pt")
    return tmp_path


WRITERS = {  # command line writing OUT (a file of any name), reading SPEC
    "graph": ["graph", "{spec}", "-o", "{out}"],
    "expand": ["expand", "{spec}", "-o", "{out}"],
    "build": ["build", "{spec}", "-o", "{out}"],
    "export": ["export", "{spec}", "-o", "{out}", "--latency-runs", "0"],
}


@pytest.mark.parametrize("command", sorted(WRITERS))
@pytest.mark.parametrize("target", ["the spec", "a parent it extends"])
def test_every_writer_refuses_to_overwrite_its_spec_or_a_parent(project, capsys, command, target):
    spec, victim = project / "child.yaml", project / ("child.yaml" if target == "the spec" else "stem.yaml")
    before = snapshot(project)
    argv = [a.format(spec=spec, out=victim) for a in WRITERS[command]]
    code, err = run(capsys, *argv)
    assert code == 2, err
    assert f"-o {victim} would overwrite" in err
    assert ("the input spec" if target == "the spec" else "which") in err
    assert snapshot(project) == before


def test_build_refuses_an_expanded_spec_that_would_replace_a_parent(project, capsys):
    """`build child.yaml -o stem.pt` writes stem.pt and stem.spec.yaml beside it: when the parent
    is stem.spec.yaml, the expanded spec would replace it."""
    (project / "stem.spec.yaml").write_text(MODEL)
    write(project, "child.yaml", "extends: stem.spec.yaml\nname: child\n")
    before = snapshot(project)
    code, err = run(capsys, "build", project / "child.yaml", "-o", project / "stem.pt")
    assert code == 2 and "the expanded spec" in err and "stem.spec.yaml, which" in err
    assert snapshot(project) == before


@pytest.mark.parametrize("victim, words", [
    ("weights.pt", "the --weights checkpoint"),
    ("calib.yaml", "the --calibrate data spec"),
    ("pipeline.yaml", "the transform spec of"),
    ("base_pipeline.yaml", "which"),
])
def test_export_refuses_to_overwrite_weights_or_calibration_inputs(project, capsys, victim, words):
    before = snapshot(project)
    code, err = run(capsys, "export", project / "stem.yaml", "--weights", project / "weights.pt", "--int8",
                    "--calibrate", project / "calib.yaml", "-o", project / victim, "--latency-runs", "0")
    assert code == 2 and f"would overwrite" in err and words in err, err
    assert snapshot(project) == before


def test_spec_files_follow_extends_and_data_spec_references(project):
    """A data spec reads its transform (and the transform's parent) and its model spec; an
    inherited reference is resolved against the parent that declares it."""
    write(project, "nested/calib_child.yaml", "extends: ../calib.yaml\nname: nested\n")
    found = {path.resolve() for path, _ in spec_files(project / "nested" / "calib_child.yaml")}
    assert found == {(project / name).resolve() for name in
                     ("nested/calib_child.yaml", "calib.yaml", "pipeline.yaml", "base_pipeline.yaml", "stem.yaml")}
    assert {p.resolve() for p, _ in spec_files(project / "stem.yaml")} == {(project / "stem.yaml").resolve()}


@pytest.mark.parametrize("to, output, right", [
    ("onnx", "x.pte", "x.onnx"), ("mobile", "x.pte", "x.onnx"), ("executorch", "x.onnx", "x.pte"),
    ("onnx", "model", "model.onnx"),
])
def test_export_refuses_a_suffix_contradicting_to(project, capsys, to, output, right):
    before = snapshot(project)
    code, err = run(capsys, "export", project / "stem.yaml", "--to", to, "-o", project / output,
                    "--latency-runs", "0")
    assert code == 2 and f"name it {right}" in err and f"--to {to}" in err
    assert snapshot(project) == before


@pytest.fixture()
def umask_027():
    old = os.umask(0o027)
    yield 0o640  # what open(path, "w") creates under this umask
    os.umask(old)


@pytest.mark.parametrize("command, outputs", [
    (["export", "{spec}", "--latency-runs", "0", "-o", "{folder}/m.onnx"], ["m.onnx"]),
    (["build", "{spec}", "-o", "{folder}/m.pt"], ["m.pt", "m.spec.yaml"]),
    (["graph", "{spec}", "-o", "{folder}/m.dot"], ["m.dot"]),
])
def test_written_files_get_the_users_umask(project, capsys, umask_027, command, outputs):
    folder = project / "out"
    folder.mkdir()
    code, err = run(capsys, *[a.format(spec=project / "stem.yaml", folder=folder) for a in command])
    assert code == 0, err
    reference = folder / "plain"
    reference.write_text("")  # the mode a plain open() gives under the same umask
    assert stat.S_IMODE(reference.stat().st_mode) == umask_027
    for name in outputs:
        assert stat.S_IMODE((folder / name).stat().st_mode) == umask_027, name


def test_an_existing_output_keeps_its_mode(project, capsys):
    out = project / "m.dot"
    out.write_text("old drawing")
    out.chmod(0o600)
    assert run(capsys, "graph", project / "stem.yaml", "-o", out)[0] == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o600 and out.read_text().startswith("digraph")
