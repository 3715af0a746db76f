"""--weights on a file that is no state_dict is one clear line (no torch paragraphs, no terminal
escapes); a state_dict nested under model_state/state_dict/model or saved from a DDP wrapper
(``module.`` keys) loads with a note; other dicts say where their weights seem to be."""
from __future__ import annotations

import warnings
from pathlib import Path

import pytest
import torch
from tiny_specs import stem_model

import graphspec
from graphspec.cli import main
from graphspec.checkpoints import WeightsError, WeightsNote, load_weights

TINY = stem_model()


@pytest.fixture()
def spec(tmp_path) -> Path:
    path = tmp_path / "stem.yaml"
    path.write_text(TINY)
    return path


def trained(spec: Path) -> torch.nn.Module:
    torch.manual_seed(1)
    return graphspec.build(spec)


def fresh(spec: Path) -> torch.nn.Module:
    torch.manual_seed(2)
    return graphspec.build(spec)


def same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    return all(torch.equal(v, b.state_dict()[k]) for k, v in a.state_dict().items())


@pytest.mark.parametrize("make, words", [
    (lambda p, m: p.write_text("epoch 3, loss 0.1\n"), "not a torch checkpoint: a text file (it starts 'epoch 3"),
    (lambda p, m: p.write_bytes(b""), "the checkpoint is empty"),
    (lambda p, m: p.write_bytes(bytes(range(200, 256)) * 4), "not a file torch.save wrote"),
    (lambda p, m: torch.save(m, p), "holds a pickled graphspec.models.stem.ResNetBasicStem object, not a "
                                    "state_dict"),
    (lambda p, m: torch.save([1, 2], p), "expected a state_dict (parameter name -> tensor), got a list"),
    (lambda p, m: torch.save({"epoch": 3, "weights": m.state_dict()}, p), "the weights look to be under 'weights'"),
])
def test_a_file_that_is_no_state_dict_is_one_clear_line(spec, tmp_path, capsys, make, words):
    checkpoint = tmp_path / "ckpt.pt"
    make(checkpoint, trained(spec))
    with pytest.raises(WeightsError) as err:
        load_weights(fresh(spec), checkpoint)
    assert words in str(err.value)
    assert "\n" not in str(err.value) and "\x1b" not in str(err.value)
    code = main(["build", str(spec), "--weights", str(checkpoint)])
    printed = capsys.readouterr()
    assert code == 2 and printed.out == ""
    assert printed.err.count("\n") == 1 and words in printed.err and "\x1b" not in printed.err


@pytest.mark.parametrize("wrap, notes", [
    (lambda s: {"model_state": s, "epoch": 3}, ["nested under 'model_state'"]),
    (lambda s: {"state_dict": s, "optimizer": {}}, ["nested under 'state_dict'"]),
    (lambda s: {"module." + k: v for k, v in s.items()}, ["'module.'"]),
    (lambda s: {"model": {"module." + k: v for k, v in s.items()}}, ["nested under 'model'", "'module.'"]),
])
def test_wrapped_state_dicts_load_with_a_note(spec, tmp_path, capsys, wrap, notes):
    source = trained(spec)
    checkpoint = tmp_path / "ckpt.pt"
    torch.save(wrap(source.state_dict()), checkpoint)
    model = fresh(spec)
    assert not same_weights(model, source)
    found: list[str] = []
    load_weights(model, checkpoint, found)
    assert same_weights(model, source)
    assert len(found) == len(notes) and all(n in f for n, f in zip(notes, found))
    with warnings.catch_warnings(record=True) as caught:  # without a list: warnings at the caller
        warnings.simplefilter("always")
        load_weights(fresh(spec), checkpoint)
    assert [w.category for w in caught] == [WeightsNote] * len(notes)
    assert all(Path(w.filename).name == Path(__file__).name for w in caught)
    assert main(["build", str(spec), "--weights", str(checkpoint)]) == 0
    err = capsys.readouterr().err
    assert err.count(f"note: {checkpoint}: ") == len(notes)


def _with_module() -> torch.nn.Module:
    model = torch.nn.Sequential()
    model.add_module("module", torch.nn.Linear(2, 2))  # its own keys are module.weight, module.bias
    return model


def test_a_model_whose_own_keys_start_with_module_keeps_them(tmp_path):
    source, target = _with_module(), _with_module()
    checkpoint = tmp_path / "ckpt.pt"
    torch.save(source.state_dict(), checkpoint)
    found: list[str] = []
    load_weights(target, checkpoint, found)
    assert found == [] and same_weights(target, source)
