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


FRAME_LIST_HEADER = "original_vido_id video_id frame_id path labels\n"


def _charades(folder: Path) -> tuple[str, str, tuple[str, ...], str]:
    """A frame list whose third line labels a frame 12 (past 10 classes), and a later one -1."""
    write(folder / "train.csv", FRAME_LIST_HEADER + 'vidA 0 0 vidA/1.jpg "3"\nvidA 0 1 vidA/2.jpg "3,12"\n'
          'vidA 0 2 vidA/3.jpg "-1"\nvidB 1 0 vidB/1.jpg "1"\n')
    dataset = "{op: Charades, data_path: train.csv, video_path_prefix: frames}"
    return dataset, "data_path", ("vidA",), f"label 12 ({folder / 'train.csv'}:3) is not a class index (0..9); 1 more"


def _ssv2(folder: Path) -> tuple[str, str, tuple[str, ...], str]:
    """SSv2's label names json (one template a line, as it ships) maps a template to class 12."""
    import json

    write(folder / "labels.json", json.dumps({"Putting something on something": "0", "Holding something": "12"},
                                             indent=1))
    write(folder / "train.json", json.dumps([{"id": "101", "template": "Holding [something]"},
                                             {"id": "202", "template": "Putting [something] on [something]"},
                                             {"id": "303", "template": "Holding [something]"}]))
    write(folder / "train.csv", FRAME_LIST_HEADER + "".join(f'{v} {i} 0 {v}/1.jpg ""\n'
                                                           for i, v in enumerate(["101", "202", "303"])))
    dataset = ("{op: SSv2, label_name_file: labels.json, video_label_file: train.json, "
               "video_path_label_file: train.csv, video_path_prefix: frames}")
    return (dataset, "label_name_file", ("101", "303"),
            f"label 12 ({folder / 'labels.json'}:3) is not a class index (0..9) (template 'Holding something')")


def _ava(folder: Path) -> tuple[str, str, tuple[str, ...], str]:
    """AVA's action ids count from 1: with 10 classes, 10 is one and 11 (line 3) is not; the
    detector's row with no action id (line 4) is no label."""
    write(folder / "train.csv", FRAME_LIST_HEADER + 'vidA 0 0 vidA/1.jpg ""\nvidB 1 0 vidB/1.jpg ""\n')
    write(folder / "boxes.csv", "vidA,0902,0.1,0.2,0.5,0.6,10,0\nvidA,0903,0.1,0.2,0.5,0.6,11,0\n"
          "vidB,0902,0.1,0.2,0.5,0.6,,0.9\n")
    dataset = "{op: Ava, frame_paths_file: train.csv, frame_labels_file: boxes.csv, video_path_prefix: frames}"
    return (dataset, "frame_labels_file", (str(folder / "frames" / "vidA"),),
            f"label 11 ({folder / 'boxes.csv'}:2) is not a class index (1..10)")


@pytest.mark.parametrize("dataset_files", [_charades, _ssv2, _ava], ids=["Charades", "SSv2", "Ava"])
def test_frame_list_datasets_check_their_labels_against_the_models_classes(tmp_path, capsys, dataset_files):
    """Skipped with a warning naming the label's file and line (the bad-file policy), or with
    ``bad_files: strict`` a finding at the dataset argument naming that file."""
    from graphspec import api
    from graphspec.data.bad_files import BadVideoWarning

    dataset, arg, videos, reason = dataset_files(tmp_path)
    (tmp_path / "frames").mkdir()
    write(tmp_path / "m.yaml", MODEL_10_CLASSES)
    spec = write(tmp_path / "d.yaml", "graphspec: 1\nkind: data\nname: d\n"
                 f"dataset: {dataset}\nclip_sampler: {{op: UniformClipSampler, clip_duration: 0.5}}\n"
                 "loader: {batch_size: 1, collate: list}\nmodel: m.yaml\n")
    with pytest.warns(BadVideoWarning) as caught:
        built = api.compile(spec).dataset()
    assert sorted(built.bad_files) == sorted(videos)
    assert all(reason in built.bad_files[video] for video in videos), built.bad_files
    assert any(reason in str(w.message) for w in caught)
    code, out = run(capsys, "build", spec, "--set", "dataset.bad_files=strict")
    assert code == 1, out
    [line] = [line for line in out.splitlines() if f"dataset.{arg}:" in line]
    assert line.startswith(f"{spec}:4:") and f"dataset.{arg}: {videos[0]}" in line and reason in line, out


def test_hmdb51_action_name_labels_are_no_label_finding(tmp_path, capsys):
    """HMDB51's labels are its action names, as PyTorchVideo gives them: no class index to check."""
    from graphspec import api

    for action in ("brush_hair", "cartwheel"):
        write(tmp_path / "splits" / f"{action}_test_split1.txt", f"{action}_1.avi 1\n")
        (tmp_path / "videos" / action).mkdir(parents=True)
    write(tmp_path / "m.yaml", MODEL_10_CLASSES)
    spec = write(tmp_path / "d.yaml", "graphspec: 1\nkind: data\nname: d\n"
                 "dataset: {op: Hmdb51, data_path: splits, video_path_prefix: videos, bad_files: strict}\n"
                 "clip_sampler: {op: UniformClipSampler, clip_duration: 0.5}\nloader: {batch_size: 1}\n"
                 "model: m.yaml\n")
    dataset = api.compile(spec).dataset()
    assert sorted(dataset._labeled_videos[i][1]["label"] for i in range(2)) == ["brush_hair", "cartwheel"]
    assert dataset.bad_files == {}


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


def test_x3ds_head_pool_failure_points_at_the_input_crop_size_line(tmp_path, capsys):
    """X3D's head pool is sized from input_crop_size: a crop larger than the inputs fails at the
    pool the builder made; the finding is at the builder argument whose default would fit."""
    spec = write(tmp_path / "big_crop.yaml", f"extends: {ROOT / 'specs' / 'models' / 'x3d_xs.yaml'}\n"
                 "name: big_crop\nmodel:\n  input_clip_length: 4\n  input_crop_size: 600\n")
    code, out = run(capsys, "validate", spec)
    assert code == 1, out
    [line] = [line for line in out.splitlines() if "AvgPool3d" in line]
    assert line.startswith(f"{spec}:5:3: model.input_crop_size: blocks.5.pool.pool (AvgPool3d): window 19 "), line


def test_a_finding_inside_which_a_set_changed_a_value_names_that_set(capsys):
    """X3D's head pool is sized from input_crop_size and input_clip_length: one --set too large
    for the inputs is the finding's place (at its default the pool fits); with two, neither
    default alone fits, so the finding stays at the model the builder made and names both."""
    import json

    spec = ROOT / "specs" / "models" / "x3d_xs.yaml"
    code, out = run(capsys, "validate", spec, "--set", "model.input_crop_size=600", "--set", "name=other")
    assert code == 1, out
    [line] = [line for line in out.splitlines() if "AvgPool3d" in line]
    assert line.startswith("<--set>:1:1: model.input_crop_size: ") and line.endswith(
        f"[--set model.input_crop_size=600, applied to {spec}]"), line
    both = ["--set", "model.input_crop_size=600", "--set", "model.input_clip_length=20"]
    code, out = run(capsys, "validate", spec, *both, "--set", "name=other")
    [line] = [line for line in out.splitlines() if "AvgPool3d" in line]
    assert line.startswith(f"{spec}:8:1: model: ") and line.endswith(
        "[after --set model.input_crop_size=600, --set model.input_clip_length=20]"), line
    code, out = run(capsys, "validate", spec, "--format", "json", *both)
    [item] = json.loads(out)
    assert item["after_overrides"] == both[1::2] and item["path"] == "model"
