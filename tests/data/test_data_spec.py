"""kind: data specs: compiled without the data, built into a DataLoader over tiny on-disk videos,
and the `graphspec data inspect|bench` commands."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

import graphspec
from graphspec.cli.main import main
from graphspec.spec.errors import SpecError

from video_fixtures import write_video

ROOT = Path(__file__).resolve().parents[2]
SPECS = sorted((ROOT / "specs" / "data").glob("*.yaml"))
KINETICS = ROOT / "specs" / "data" / "kinetics400_train.yaml"


@pytest.fixture(scope="module")
def kinetics(tmp_path_factory):
    """A Kinetics-style csv and videos: two classes, two 3-second videos each."""
    root = tmp_path_factory.mktemp("k400")
    lines = []
    for label, name in enumerate(("archery", "bowling")):
        for i in range(2):
            write_video(root / name / f"{i}.mp4", 30, 10)
            lines.append(f"{name}/{i}.mp4 {label}")
    (root / "train.csv").write_text("\n".join(lines) + "\n")
    return root


def on(root: Path, *more: str) -> list[str]:
    return [f"dataset.data_path={root / 'train.csv'}", f"dataset.video_path_prefix={root}",
            "loader.batch_size=2", "loader.num_workers=0", *more]


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.stem)
def test_every_data_spec_validates_without_its_data(path):
    compiled = graphspec.compile(path)
    assert compiled.spec.kind == "data" and compiled.ok, compiled.diagnostics


def test_frames_and_dtype_follow_from_the_transform():
    compiled = graphspec.compile(KINETICS)
    # kinetics_train starts with UniformTemporalSubsample(8) and takes uint8 clips
    assert compiled.derived == {"frames_per_clip": 8, "video_dtype": "uint8"}


def test_build_gives_a_dataloader_of_model_ready_batches(kinetics):
    loader = graphspec.build(KINETICS, on(kinetics))
    assert isinstance(loader, torch.utils.data.DataLoader) and loader.batch_size == 2
    batches = list(loader)
    assert len(batches) == 2  # 4 videos, one random clip each, drop_last with 2 per batch
    assert batches[0]["video"].shape == (2, 3, 8, 224, 224) and batches[0]["video"].dtype == torch.float32
    assert sorted(torch.cat([b["label"] for b in batches]).tolist()) == [0, 0, 1, 1]


def test_missing_data_is_a_located_unusable_error_at_build_only():
    assert graphspec.check(KINETICS) == []
    with pytest.raises(SpecError) as err:
        graphspec.build(KINETICS, ["dataset.data_path=/nonexistent/train.csv"])
    diag = err.value.diagnostics[0]
    assert diag.path == ("dataset", "data_path") and diag.unusable and "/nonexistent/train.csv" in diag.message


def test_spec_errors_are_located_with_suggestions():
    found = graphspec.check(KINETICS, ["clip_sampler.clip_duraton=3", "dataset.video_sampler=RandSampler",
                                       "dataset.op=Kinetic"])
    by_path = {d.dotted: d for d in found}
    assert "did you mean 'clip_duration'" in by_path["clip_sampler.clip_duraton"].hint
    assert by_path["dataset.op"].hint == "did you mean 'Kinetics'?"
    assert all(d.location is not None for d in found)
    found = graphspec.check(KINETICS, ["dataset.video_sampler=RandSampler"])
    assert found[0].dotted == "dataset.video_sampler" and "RandomSampler" in found[0].hint


def test_clips_must_fit_the_named_model():
    found = graphspec.check(KINETICS, ["model=../models/slowfast_r50.yaml"])
    assert [d.dotted for d in found] == ["model"] and "2 pathways" in found[0].message


def test_inline_transform(kinetics):
    inline = ["transform={input: {video: {layout: CTHW, dtype: uint8, shape: [3, T, H, W]}, label: any}, "
              "transform: [{op: ApplyTransformToKey, key: video, transform: [{op: UniformTemporalSubsample, "
              "num_samples: 4}, Div255]}]}", "model=null"]
    compiled = graphspec.compile(KINETICS, on(kinetics, *inline))
    assert compiled.ok and compiled.derived["frames_per_clip"] == 4
    batch = next(iter(compiled.build()))
    assert batch["video"].shape == (2, 3, 4, 32, 32) and float(batch["video"].max()) <= 1.0
    bad = graphspec.check(KINETICS, ["transform={input: {video: any}, transfrom: []}", "model=null"])
    assert any(d.dotted == "transform.transfrom" for d in bad)


def test_cli_inspect_and_bench(kinetics, capsys):
    assert main(["data", "inspect", str(KINETICS), *sum((["--set", s] for s in on(kinetics)), [])]) == 0
    shown = capsys.readouterr().out
    assert "[2, 3, 8, 224, 224]" in shown and "label" in shown and "float32" in shown
    assert main(["data", "bench", str(KINETICS), "--batches", "1", *sum((["--set", s] for s in on(kinetics)), [])]) == 0
    assert "clips/s" in capsys.readouterr().out
    assert main(["data", "inspect", str(KINETICS)]) == 2  # the placeholder data path does not exist
    assert "--set dataset.data_path" in capsys.readouterr().err


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.stem)
@pytest.mark.parametrize("seed", ["seed=5", "seed=null"])
def test_a_top_level_seed_is_honoured_or_a_located_finding(path, seed):
    """Every dataset op of the shipped specs, with and without ``seed:``: a dataset without a
    ``seed`` argument (no random clip choice) gets a finding at ``seed``, never a traceback."""
    from graphspec import registry

    compiled = graphspec.compile(path, [seed])
    takes_seed = "seed" in registry.get(compiled.dataset_call.op).args
    if seed == "seed=null" or takes_seed:
        assert compiled.ok, compiled.diagnostics
    else:
        assert [d.dotted for d in compiled.diagnostics] == ["seed"] and compiled.diagnostics[0].location
        with pytest.raises(SpecError):
            compiled.dataset()


def test_seed_set_twice_is_a_finding():
    found = graphspec.check(KINETICS, ["dataset.seed=3"])
    assert [d.dotted for d in found] == ["dataset.seed"] and "top-level 'seed'" in found[0].message


def _clips_by_sample(loader) -> dict:
    clips = {}
    for batch in loader:
        for index, clip, video in zip(batch["video_index"].tolist(), batch["clip_index"].tolist(), batch["video"]):
            clips[(index, clip)] = video
    return clips


@pytest.mark.parametrize("seeding", [["seed=7"], ["seed=null", "transform=../transforms/kinetics_train_seeded.yaml"]])
def test_a_seed_gives_the_same_clips_whatever_the_worker_count(kinetics, tmp_path, seeding):
    """Random clips and random transform draws (scale, crop, flip) per sample, not per worker:
    0 and 2 DataLoader workers give the same clip for each (video, clip); so does a second run."""
    seeded = (ROOT / "specs" / "transforms" / "kinetics_train.yaml").read_text() + "seed: 3\n"
    spec = tmp_path / "data" / KINETICS.name
    spec.parent.mkdir()
    (tmp_path / "transforms").mkdir()
    (tmp_path / "transforms" / "kinetics_train_seeded.yaml").write_text(seeded)
    (tmp_path / "transforms" / "kinetics_train.yaml").write_text(seeded.replace("seed: 3\n", ""))
    spec.write_text(KINETICS.read_text().replace("model: ../models/slow_r50.yaml\n", ""))
    runs = [_clips_by_sample(graphspec.build(spec, on(kinetics, f"loader.num_workers={workers}",
                                                      "loader.batch_size=1", *seeding)))
            for workers in (0, 2, 0)]
    assert len(runs[0]) == 4 and runs[0].keys() == runs[1].keys() == runs[2].keys()
    for key, video in runs[0].items():
        assert torch.equal(video, runs[1][key]) and torch.equal(video, runs[2][key]), key
    other = _clips_by_sample(graphspec.build(spec, on(kinetics, "loader.batch_size=1", "seed=8",
                                                      "transform=../transforms/kinetics_train.yaml")))
    assert any(not torch.equal(video, other[key]) for key, video in runs[0].items())  # the seed matters


@pytest.mark.parametrize("name,derived", [("charades", 8), ("ava", 8), ("ssv2", None)])
def test_frames_per_clip_follows_from_the_transform_for_frame_datasets(name, derived, tmp_path):
    """Charades and Ava keep frames with the UniformFrameFilter (UniformTemporalSubsample's picks):
    a leading UniformTemporalSubsample(8) sets their frames_per_clip. SSv2 takes the middle frame
    of equal segments instead: other frames, so its frames_per_clip is left to the spec."""
    transform = ROOT / "specs" / "data" / "transforms" / "frame_clips_eval.yaml"
    text = (ROOT / "specs" / "data" / f"{name}.yaml").read_text().replace("  frames_per_clip: 8\n", "")
    text = text.replace("transform: transforms/frame_clips_eval.yaml\n", "")
    spec = tmp_path / f"{name}.yaml"
    spec.write_text(text + f"transform: {transform}\n")
    compiled = graphspec.compile(spec)
    assert compiled.ok, compiled.diagnostics
    assert compiled.derived.get("frames_per_clip") == derived
