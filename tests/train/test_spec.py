"""``kind: train`` specs are checked before anything runs, each misfit at the line that causes it."""
from __future__ import annotations

from pathlib import Path

import pytest

from graphspec import api
from graphspec.cli.main import main

from synthetic import train_spec

ROOT = Path(__file__).resolve().parents[2]
LISTS = {"train": Path("train.csv"), "val": Path("val.csv")}  # never read by validate


def line_of(text: str, start: str) -> int:
    """1-based number of the line starting with ``start``."""
    return next(i for i, line in enumerate(text.splitlines(), 1) if line.startswith(start))


def test_the_library_recipes_validate_clean(capsys):
    assert main(["validate", str(ROOT / "specs" / "train")]) == 0
    assert "3 clean" in capsys.readouterr().out


# (spec change, the line the finding is at, the words it says)
MISFITS = {
    "classes": ({"num_classes: 4": "num_classes: 10"}, "num_classes:", "gives 4 classes"),
    "clip size": ({"num_samples: 4}": "num_samples: 6}"}, "    transform:", "T is 6, the model takes 4"),
    "SSL loss on a supervised model": ({"loss: {op: cross_entropy}": "loss: {op: model}"}, "loss:",
                                       "computes its loss"),
    "mix without a soft-target loss": ({"log_every: 1": "log_every: 1\nmix: {op: MixUp, num_classes: 4}"},
                                       "mix:", "soft targets"),
    "mix for other classes": ({"loss: {op: cross_entropy}": "loss: {op: soft_target_cross_entropy}",
                               "log_every: 1": "log_every: 1\nmix: {op: CutMix, num_classes: 3}"},
                              "mix:", "targets for 3 classes"),
    "batch over ranks": ({"log_every: 1": "log_every: 1\nranks: 3"}, "batch_size:", "does not divide over 3"),
    "epochs and steps": ({"epochs: 3\n": "epochs: 3\nsteps: 4\n"}, "steps:", "epochs or steps, not both"),
    "no length": ({"epochs: 3\n": ""}, "graphspec:", "needs its length: epochs or steps"),
    "persistent workers": ({"loader: {num_workers: 0}": "loader: {num_workers: 1, persistent_workers: true}"},
                           "    loader:", "persistent workers keep"),
}


@pytest.mark.parametrize("case", MISFITS, ids=list(MISFITS))
def test_a_recipe_that_does_not_fit_is_refused_at_its_line(tmp_path, capsys, case):
    changes, line_start, words = MISFITS[case]
    text = train_spec(LISTS)
    for old, new in changes.items():
        assert old in text
        text = text.replace(old, new, 1)
    spec = tmp_path / "recipe.yaml"
    spec.write_text(text)
    assert main(["validate", str(spec)]) == 1
    out = capsys.readouterr().out
    finding = next(line for line in out.splitlines() if words in line)
    # the first line at that key after the data part (the transform key of data.train)
    assert finding.startswith(f"{spec}:{line_of(text, line_start)}:"), out


def test_the_clean_tiny_recipe_has_no_findings(tmp_path):
    spec = tmp_path / "recipe.yaml"
    spec.write_text(train_spec(LISTS))
    assert api.check(spec) == []


def test_set_reaches_into_a_referenced_model_spec(capsys):
    spec = ROOT / "specs" / "train" / "x3d_xs_kinetics400.yaml"
    assert main(["validate", str(spec), "--set", "model.model.model_num_class=10"]) == 1
    out = capsys.readouterr().out
    assert "the model gives 10 classes, the data has num_classes 400" in out
    assert "mix.num_classes: MixVideo makes targets for 400 classes, the model gives 10" in out


def test_errors_inside_a_referenced_spec_name_its_own_file(tmp_path, capsys):
    text = train_spec(LISTS)
    model = model_file(tmp_path, text, out_features=4)
    model.write_text(model.read_text().replace("out_features: 4", "out_feature: 4"))
    spec = tmp_path / "recipe.yaml"
    spec.write_text(text.replace(text[text.index("model:\n"):text.index("num_classes:")], "model: model.yaml\n"))
    assert main(["validate", str(spec)]) == 1
    out = capsys.readouterr().out
    assert f"{model}:" in out and "model.nodes.head.out_feature" in out and "did you mean 'out_features'" in out


def test_x3d_xs_trains_at_its_160_crop_and_evaluates_at_182():
    # PyTorchVideo's X3D-XS protocol: train crop 160, test crop 182 (one set of weights)
    compiled = api.compile(ROOT / "specs" / "train" / "x3d_xs_kinetics400.yaml")
    sizes = {phase: list(model.inputs["video"].shape[-2:]) for phase, model in compiled.models.items()}
    assert sizes == {"train": [160, 160], "val": [182, 182], "val_views": [182, 182]}
    assert {model.params for model in compiled.models.values()} == {compiled.model.params}


def test_a_declared_input_size_refuses_the_other_crop_and_points_to_from_data(capsys):
    spec = ROOT / "specs" / "train" / "x3d_xs_kinetics400.yaml"
    assert main(["validate", str(spec), "--set", "model_inputs=declared"]) == 1
    out = capsys.readouterr().out
    assert "data.train.transform: " in out and "H is 160, the model takes 182" in out
    assert "model_inputs: from_data" in out


def test_a_part_of_the_wrong_kind_is_named_at_its_key(tmp_path, capsys):
    text = train_spec(LISTS)
    spec = tmp_path / "recipe.yaml"
    model_block = text[text.index("model:\n"):text.index("num_classes:")]
    spec.write_text(text.replace(model_block, f"model: {ROOT / 'specs' / 'transforms' / 'x3d_xs.yaml'}\n"))
    assert main(["validate", str(spec)]) == 1
    out = capsys.readouterr().out
    assert f"{spec}:4:1: model: this is a transform spec; model takes a model spec" in out


def model_file(tmp_path: Path, text: str, out_features: int) -> Path:
    """The tiny recipe's inline model as a model spec file of its own."""
    body = text[text.index("model:\n") + len("model:\n"):text.index("num_classes:")]
    model = tmp_path / "model.yaml"
    model.write_text("graphspec: 1\nkind: model\nname: tiny\n" + "\n".join(line[2:] for line in body.splitlines())
                     .replace("out_features: 4", f"out_features: {out_features}") + "\n")
    return model


def test_a_referenced_spec_that_is_not_there_is_named_at_the_line_naming_it(tmp_path, capsys):
    text = train_spec(LISTS)
    spec = tmp_path / "recipe.yaml"
    spec.write_text(text.replace(text[text.index("model:\n"):text.index("num_classes:")], "model: gone/model.yaml\n"))
    assert main(["validate", str(spec)]) == 2
    out = capsys.readouterr().out
    assert f"{spec}:{line_of(spec.read_text(), 'model:')}:1: model: no model spec at {tmp_path / 'gone' / 'model.yaml'}" in out


def test_set_gives_a_part_by_path(tmp_path, capsys):
    # --set model=PATH reads that model spec, relative to the recipe (it was taken for an inline spec)
    text = train_spec(LISTS)
    model_file(tmp_path, text, out_features=7)
    spec = tmp_path / "recipe.yaml"
    spec.write_text(text)
    assert main(["validate", str(spec), "--set", "model=model.yaml"]) == 1
    assert "the model gives 7 classes, the data has num_classes 4" in capsys.readouterr().out


@pytest.mark.parametrize("line, start", [("epochs: '2'", "epochs:"), ("channels_last: 'yes'", "channels_last:")])
def test_a_recipe_is_as_strict_as_every_other_kind(tmp_path, line, start):
    """'2' is no integer and 'yes' no boolean, in a recipe as in model, transform and data specs."""
    text = train_spec(LISTS)
    text = "\n".join(row for row in text.splitlines() if not row.startswith(start)) + "\n" + line + "\n"
    spec = tmp_path / "recipe.yaml"
    spec.write_text(text)
    [finding] = [d for d in api.check(spec) if d.severity == "error"]
    assert finding.location.line == line_of(text, start) and finding.path == (start[:-1],)
