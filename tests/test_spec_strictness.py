"""Every kind of spec is checked as strictly as a model spec: ``--set`` on transform and data
specs, labels that are no class indices, the wrong kind of spec at the spec level, missing data
and referenced files, and findings located where the user wrote them (issue 16)."""
from __future__ import annotations

from pathlib import Path

import pytest

from graphspec.cli import main

ROOT = Path(__file__).resolve().parents[1]


def run(capsys, *argv) -> tuple[int, str]:
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    output = captured.out + captured.err
    assert "Traceback" not in output and "internal error" not in output, output
    return code, output


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


# --------------------------------------------------------------------------- --set

def test_set_reaches_a_prepare_mapping_the_spec_leaves_out():
    """The README's ``--set prepare.output.crf=18`` on a data spec without ``prepare:``."""
    from graphspec.data.prepare import plan_from_spec

    _, plan = plan_from_spec(ROOT / "specs" / "data" / "kinetics400_train.yaml", ["prepare.output.crf=18"])
    assert plan.output.crf == 18


def test_set_typo_in_a_prepare_key_is_located_at_the_set(capsys):
    code, out = run(capsys, "validate", ROOT / "specs" / "data" / "kinetics400_train.yaml",
                     "--set", "prepare.output.crff=18")
    assert code == 1, out
    assert out.startswith("<--set>:1:1: prepare.output.crff: unknown key 'crff' (did you mean 'crf'?)"), out


# --------------------------------------------------------------------------- data paths

def _videos(folder: Path) -> None:
    """Two 1 s 32x40 clips in <folder>/videos/<class>/ and a ``path label`` csv beside them."""
    import numpy as np

    from graphspec.data.utils import export_frames

    for label, name in enumerate(["archery", "bowling"]):
        (folder / "videos" / name).mkdir(parents=True)
        frames = np.random.default_rng(label).integers(0, 256, (10, 32, 40, 3), dtype=np.uint8)
        export_frames(frames, str(folder / "videos" / name / f"{name}.mp4"), rate=10)
    (folder / "train.csv").write_text("archery/archery.mp4 0\nbowling/bowling.mp4 1\n")


DATA_SPEC = """graphspec: 1
kind: data
name: tiny
dataset: {op: Kinetics, data_path: train.csv, video_path_prefix: videos, decode_audio: false}
clip_sampler: {op: UniformClipSampler, clip_duration: 0.5}
loader: {batch_size: 2}
"""


def test_relative_data_paths_resolve_against_the_spec_file(tmp_path, capsys):
    """The test runs in the repository root; the spec's folder holds the data."""
    _videos(tmp_path / "k")
    spec = write(tmp_path / "k" / "tiny.yaml", DATA_SPEC)
    code, out = run(capsys, "data", "inspect", spec)
    assert code == 0, out
    assert "label" in out and "[2, 3, 5, 32, 40]" in out, out


@pytest.mark.parametrize("command", [["build"], ["data", "inspect"], ["data", "bench"]])
def test_a_missing_data_file_is_unusable_input_naming_the_resolved_path(tmp_path, capsys, command):
    spec = write(tmp_path / "specs" / "tiny.yaml", DATA_SPEC)
    code, out = run(capsys, *command, spec)
    assert code == 2, out
    assert f"{spec}:4:25: dataset.data_path: no such file or folder: {tmp_path / 'specs' / 'train.csv'}" in out


@pytest.mark.parametrize("command", [["build"], ["data", "inspect"], ["data", "bench"]])
def test_a_missing_video_folder_is_unusable_input_not_a_warning_per_video(tmp_path, capsys, command):
    _videos(tmp_path)
    spec = write(tmp_path / "tiny.yaml", DATA_SPEC.replace("video_path_prefix: videos", "video_path_prefix: vidoes"))
    code, out = run(capsys, *command, spec)
    assert code == 2, out
    assert f"dataset.video_path_prefix: no such folder: {tmp_path / 'vidoes'}" in out
    assert "BadVideo" not in out and "skipped" not in out


def test_a_missing_transform_spec_is_file_not_found_at_the_referencing_line(tmp_path, capsys):
    spec = write(tmp_path / "data" / "tiny.yaml", DATA_SPEC + "transform: ../transforms/nope.yaml\n")
    code, out = run(capsys, "validate", spec)
    assert code == 2, out
    assert out.startswith(f"{spec}:7:1: transform: file not found: {tmp_path / 'transforms' / 'nope.yaml'}\n"), out


# --------------------------------------------------------------------------- locations

def test_a_prepare_flag_the_dataset_does_not_take_names_the_flag(tmp_path, capsys):
    """Kinetics is prepared as re-encoded videos: ``--fps`` (frame extraction) is not a spec key
    the user wrote, so the finding names the flag and the datasets prepared as frames."""
    (tmp_path / "raw").mkdir()
    code, out = run(capsys, "data", "prepare", ROOT / "specs" / "data" / "kinetics400_train.yaml",
                    "--from", tmp_path / "raw", "--to", tmp_path / "out", "--fps", "10")
    assert code == 2, out
    assert "--fps does not apply to this dataset's preparation; the datasets that take it: SSv2, Charades" in out
    assert "prepare.output.fps" not in out and not (tmp_path / "out").exists()


# --------------------------------------------------------------------------- labels

MODEL_10_CLASSES = """graphspec: 1
kind: model
name: ten_classes
inputs: {video: [B, 3, 5, 32, 40]}
model: {op: create_res_basic_head, in_features: 3, out_features: 10, pool: null, output_with_global_average: true}
"""


@pytest.mark.parametrize("label, model, reason", [
    (-1, False, "label -1 ({csv}:2) is not a class index (>= 0)"),
    (10, True, "label 10 ({csv}:2) is not a class index (0..9)"),
])
def test_a_label_that_is_no_class_index_is_skipped_with_a_warning_naming_its_line(tmp_path, capsys, label,
                                                                                  model, reason):
    _videos(tmp_path)
    (tmp_path / "train.csv").write_text(f"archery/archery.mp4 0\nbowling/bowling.mp4 {label}\n")
    text = DATA_SPEC + ("model: m.yaml\n" if model else "")
    write(tmp_path / "m.yaml", MODEL_10_CLASSES)
    spec = write(tmp_path / "tiny.yaml", text.replace("batch_size: 2", "batch_size: 1"))
    with pytest.warns(UserWarning, match="bowling.mp4") as caught:
        code, out = run(capsys, "data", "inspect", spec, "--set", "loader.shuffle=false")
    assert code == 0, out
    assert any(reason.format(csv=tmp_path / "train.csv") in str(w.message) for w in caught), [str(w.message) for w in caught]
    assert "archery.mp4" in out and "bowling" not in out  # the first batch is the video with a class index


def test_a_label_that_is_no_class_index_is_a_finding_with_strict_bad_files(tmp_path, capsys):
    _videos(tmp_path)
    (tmp_path / "train.csv").write_text("archery/archery.mp4 -3\nbowling/bowling.mp4 1\n")
    spec = write(tmp_path / "tiny.yaml", DATA_SPEC.replace("decode_audio: false", "decode_audio: false, bad_files: strict"))
    code, out = run(capsys, "build", spec)
    assert code == 1, out
    assert f"label -3 ({tmp_path / 'train.csv'}:1) is not a class index (>= 0)" in out


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_a_shape_finding_after_a_set_input_shape_names_that_set(capsys, fmt):
    """A clip too small for X3D's head pool, given by ``--set inputs.video=...``: the finding (at
    the model the builder made) follows from the declared inputs, so it names that --set (an
    unrelated --set is not named)."""
    import json

    spec = ROOT / "specs" / "models" / "x3d_xs.yaml"
    code, out = run(capsys, "validate", spec, "--format", fmt, "--set", "inputs.video=[B,3,2,8,8]",
                    "--set", "name=other")
    assert code == 1, out
    if fmt == "text":
        [line] = [line for line in out.splitlines() if "AvgPool3d" in line]
        assert line.startswith(f"{spec}:8:1: model: ") and line.endswith("[after --set inputs.video=[B,3,2,8,8]]")
    else:
        [item] = json.loads(out)
        assert item["code"] == "shape" and item["after_overrides"] == ["inputs.video=[B,3,2,8,8]"]


def test_the_cli_prints_a_skipped_label_as_one_warning_line(tmp_path):
    """What a user sees on stderr (a subprocess: pytest records warnings in-process): one
    ``graphspec: warning:`` line, not Python's ``file:line: Category: ...`` and a source line."""
    import subprocess
    import sys

    _videos(tmp_path)
    (tmp_path / "train.csv").write_text("archery/archery.mp4 0\nbowling/bowling.mp4 -1\n")
    spec = write(tmp_path / "tiny.yaml", DATA_SPEC.replace("batch_size: 2", "batch_size: 1"))
    result = subprocess.run([sys.executable, "-m", "graphspec", "data", "inspect", str(spec)],
                            capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert result.returncode == 0, result.stderr
    video = tmp_path / "videos" / "bowling" / "bowling.mp4"
    assert result.stderr.splitlines() == [
        f"graphspec: warning: skipping {video}: label -1 ({tmp_path / 'train.csv'}:2) is not a class index (>= 0)"]


def test_a_finding_inside_which_a_set_changed_a_value_names_that_set(capsys):
    """X3D's head pool is sized from input_crop_size: a crop larger than the inputs fails at the
    pool the builder made (located at model:), and the line names the --set that caused it."""
    import json

    spec = ROOT / "specs" / "models" / "x3d_xs.yaml"
    code, out = run(capsys, "validate", spec, "--set", "model.input_crop_size=600", "--set", "name=other")
    assert code == 1, out
    [line] = [line for line in out.splitlines() if "AvgPool3d" in line]
    assert line.startswith(f"{spec}:8:1: model: ") and line.endswith("[after --set model.input_crop_size=600]")
    code, out = run(capsys, "validate", spec, "--format", "json", "--set", "model.input_crop_size=600")
    [item] = json.loads(out)
    assert item["after_overrides"] == ["model.input_crop_size=600"] and item["path"] == "model"
