"""``graphspec train`` on the synthetic colour task: it learns, resumes bit for bit, stops cleanly
on SIGTERM, starts from a checkpoint with a new head, and refuses to overwrite a run."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from graphspec import api
from graphspec.cli.main import main
from graphspec.train import checkpoint as ckpt
from graphspec.train.run import train
from graphspec.train.metrics import read

from synthetic import make_dataset, train_spec

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def lists(tmp_path_factory):
    return make_dataset(tmp_path_factory.mktemp("colours"), {"train": 8, "val": 4})


def write(tmp_path: Path, text: str, name: str = "recipe.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_small_model_learns_the_colour_task(tmp_path, lists):
    spec = write(tmp_path, train_spec(lists, epochs=4))
    outcome = train(spec, run_dir=tmp_path / "run", progress=False)
    logged = [r for r in read(tmp_path / "run" / "metrics.jsonl") if r["phase"] == "val"][-1]
    assert logged["top1"] >= 0.9 and logged["clips"] == 16
    # the same accuracy recomputed by hand from the saved weights and the val clips
    compiled = api.compile(spec)
    model = compiled.build().eval()
    model.load_state_dict(torch.load(tmp_path / "run" / "final.pt", weights_only=True))
    right = total = 0
    with torch.no_grad():
        for batch in compiled.parts["val"].build():
            right += (model(batch["video"]).argmax(1) == batch["label"]).sum().item()
            total += len(batch["label"])
    assert total == 16 and right / total == pytest.approx(logged["top1"])
    assert outcome.step == 4 * 4  # 32 clips per epoch / batch 8
    # a checkpoint every epoch (checkpoint.every: 1), the last 3 kept (keep_last: 3)
    assert [p.name for p in ckpt.saved(tmp_path / "run")] == [f"step-{4 * e:08d}.pt" for e in (2, 3, 4)]
    # the run folder trains again from its resolved spec alone
    assert api.check(tmp_path / "run" / "spec.yaml") == []


MIXED = "mix: {op: MixUp, alpha: 1.0, num_classes: 4}\n"


def mixed_spec(lists) -> str:
    return train_spec(lists, epochs=2, extra=MIXED).replace("loss: {op: cross_entropy}",
                                                             "loss: {op: soft_target_cross_entropy}")


def test_an_interrupted_run_resumed_ends_bit_identical(tmp_path, lists):
    spec = write(tmp_path, mixed_spec(lists))  # MixUp draws from the global generator every step
    train(spec, run_dir=tmp_path / "straight", progress=False)
    paused = train(spec, run_dir=tmp_path / "paused", progress=False, stop_at_step=3)  # mid-epoch 1
    assert paused.interrupted and ckpt.load(paused.checkpoint)["batches_in_epoch"] == 3
    with (tmp_path / "paused" / "metrics.jsonl").open("a") as log:
        log.write('{"phase": "train", "ep')  # a later line cut short (the run killed while writing it)
    resumed = train(spec, run_dir=tmp_path / "paused", resume="auto", progress=False)
    assert resumed.step == 8 and not resumed.interrupted
    one, two = (torch.load(tmp_path / run / "final.pt", weights_only=True) for run in ("straight", "paused"))
    assert one.keys() == two.keys() and all(torch.equal(one[k], two[k]) for k in one)
    losses = [[r["loss"] for r in read(tmp_path / run / "metrics.jsonl") if r["phase"] == "train"]
              for run in ("straight", "paused")]
    assert losses[0] == losses[1] and len(losses[0]) == 8


def test_sigterm_mid_epoch_leaves_a_loadable_checkpoint(tmp_path, lists):
    # 32 steps per epoch; a DataLoader worker, and the signal to the whole process group (as Ctrl-C
    # and schedulers send it)
    spec = write(tmp_path, train_spec(lists, epochs=20, batch=1, workers=1))
    run = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "graphspec", "train", str(spec), "--run-dir", str(run),
                             "--no-progress"], stderr=subprocess.PIPE, text=True, env=env, start_new_session=True)
    log = run / "metrics.jsonl"
    deadline = time.monotonic() + 120
    while not (log.exists() and log.read_text().count("\n") >= 2) and time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read()
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGTERM)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr and "--resume" in stderr
    state = ckpt.load(ckpt.latest(run))  # weights_only=True
    assert 0 < state["batches_in_epoch"] < 32 and state["epoch"] == 0
    assert state["step"] == max(r["step"] for r in read(log))
    model = api.compile(spec).build()
    model.load_state_dict(state["model"])


def test_init_from_a_checkpoint_reinitialises_a_head_of_another_size(tmp_path, lists, capsys):
    source = api.compile(write(tmp_path, train_spec(lists).replace("out_features: 4", "out_features: 7")
                                   .replace("num_classes: 4", "num_classes: 7"), "seven.yaml")).build()
    torch.save({"model_state": source.state_dict()}, tmp_path / "seven.pyth")  # PyTorchVideo's wrapping
    spec = write(tmp_path, train_spec(lists, epochs=1) + f"init: {{checkpoint: {tmp_path / 'seven.pyth'}}}\n")
    model = api.compile(spec).build()
    report = ckpt.init_weights(model, tmp_path / "seven.pyth")
    assert report[0].startswith("loaded 2 of 4 tensors")
    assert report[1] == f"note: {tmp_path / 'seven.pyth'}: the state_dict is nested under 'model_state'; read it from there"
    assert [line.split(":")[0] for line in report[2:]] == ["re-initialised head.weight", "re-initialised head.bias"]
    assert torch.equal(model.state_dict()["conv.weight"], source.state_dict()["conv.weight"])
    # saved from a DistributedDataParallel wrapper: every key starts with module.
    torch.save({f"module.{k}": v for k, v in source.state_dict().items()}, tmp_path / "ddp.pyth")
    report = ckpt.init_weights(api.compile(spec).build(), tmp_path / "ddp.pyth")
    assert report[0].startswith("loaded 2 of 4 tensors") and "DistributedDataParallel" in report[1]
    with pytest.raises(ValueError, match="does not fit the model"):
        ckpt.init_weights(torch.nn.Linear(3, 2), tmp_path / "seven.pyth")
    assert main(["train", str(spec), "--run-dir", str(tmp_path / "run"), "--no-progress"]) == 0
    reported = capsys.readouterr().err
    assert "loaded 2 of 4 tensors" in reported and "re-initialised head.weight: checkpoint (7, 8)" in reported
    # a resumed run takes its weights from its checkpoint: the initial ones may be gone by then
    paused = train(spec, run_dir=tmp_path / "paused", progress=False, stop_at_step=1)
    (tmp_path / "seven.pyth").unlink()
    assert not train(spec, run_dir=tmp_path / "paused", resume="auto", progress=False).interrupted
    assert paused.report == reported.splitlines()[:4]  # loaded, the model_state note, two re-initialised


def test_a_fresh_run_never_overwrites_one_and_a_changed_spec_does_not_resume(tmp_path, lists, capsys):
    spec = write(tmp_path, train_spec(lists, epochs=1))
    run = tmp_path / "run"
    assert main(["train", str(spec), "--run-dir", str(run), "--no-progress", "--set", "ranks=2"]) == 0
    # the same global batch on another world size: said, not refused
    assert "meant for 2 ranks (ranks:) and runs on 1: 8 clips per rank" in capsys.readouterr().err
    assert main(["train", str(spec), "--run-dir", str(run), "--no-progress"]) == 2
    assert "holds a run already" in capsys.readouterr().err
    assert main(["train", str(spec), "--resume", str(run), "--set", "epochs=2", "--no-progress"]) == 2
    assert "differs from the one" in capsys.readouterr().err


def test_launch_refuses_a_batch_that_does_not_split_over_the_ranks(tmp_path, lists, capsys, monkeypatch):
    from graphspec.train import run
    from graphspec.train.distributed import World

    monkeypatch.setattr(run, "setup", lambda: World(rank=0, size=3))
    spec = write(tmp_path, train_spec(lists, epochs=1))
    assert main(["train", str(spec), "--run-dir", str(tmp_path / "run"), "--no-progress"]) == 2
    message = capsys.readouterr().err
    text = spec.read_text()
    line = next(i for i, row in enumerate(text.splitlines(), 1) if row.startswith("batch_size:"))
    assert f"{spec}:{line}:" in message and "does not divide over 3 ranks" in message


def test_plot_draws_the_curves_of_a_run_and_names_the_extra_when_missing(tmp_path, lists, capsys, monkeypatch):
    spec = write(tmp_path, train_spec(lists, epochs=1))
    run = tmp_path / "run"
    train(spec, run_dir=run, progress=False)
    assert main(["plot", str(run), "-o", str(tmp_path / "curves.png")]) == 0
    assert (tmp_path / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["plot", str(run), "-o", str(tmp_path / "curves.xyz")]) == 2
    assert "matplotlib writes no .xyz file" in capsys.readouterr().err
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "metrics.jsonl").write_text((run / "metrics.jsonl").read_text() + "{oops\n" + '{"phase": "val"}\n')
    assert main(["plot", str(broken), "-o", str(tmp_path / "b.png")]) == 2
    lines = (run / "metrics.jsonl").read_text().count("\n")
    assert f"metrics.jsonl:{lines + 1}: not a metrics record" in capsys.readouterr().err
    assert main(["plot", str(tmp_path), "-o", str(tmp_path / "x.png")]) == 2
    assert "no metrics.jsonl" in capsys.readouterr().err
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # not installed
    assert main(["plot", str(run), "-o", str(tmp_path / "y.png")]) == 2
    assert "pip install 'graphspec[plot]'" in capsys.readouterr().err and not (tmp_path / "y.png").exists()


def test_data_missing_at_launch_is_named_by_its_key_in_the_recipe(tmp_path, lists, capsys):
    spec = write(tmp_path, train_spec(lists, epochs=1))
    assert main(["train", str(spec), "--run-dir", str(tmp_path / "run"), "--no-progress",
                 "--set", "data.train.dataset.data_path=nowhere.csv"]) == 2
    message = capsys.readouterr().err
    assert "data.train.dataset.data_path: " in message and "nowhere.csv" in message and "Traceback" not in message
    assert "--set data.train.dataset.data_path=..." in message  # the hint's key, as the recipe takes it
    assert main(["train", str(ROOT / "specs" / "models" / "x3d_xs.yaml"), "--run-dir", str(tmp_path / "x")]) == 2
    assert "graphspec train takes a kind: train spec" in capsys.readouterr().err


def line_of(path: Path, start: str) -> int:
    return next(i for i, row in enumerate(path.read_text().splitlines(), 1) if row.startswith(start))


def test_epoch_counted_schedule_without_a_fixed_epoch_length_is_refused(tmp_path, lists, capsys):
    # UniformClipSampler's clip count depends on the durations: no steps per epoch to place an epoch
    # milestone (the rate was cut from the first step) or an epoch warm-up (it was skipped)
    text = train_spec(lists, epochs=1).replace("RandomClipSampler", "UniformClipSampler", 1).replace(
        "epochs: 1", "steps: 4")
    spec = write(tmp_path, text.replace("schedule: {op: cosine, warmup_steps: 2}",
                                        "schedule: {op: step, milestones: [1], gamma: 0.1}"))
    assert main(["train", str(spec), "--run-dir", str(tmp_path / "run"), "--no-progress"]) == 2
    message = capsys.readouterr().err
    assert f"{spec}:{line_of(spec, 'schedule:')}:" in message and "schedule.milestones counts epochs" in message
    spec = write(tmp_path, text.replace("warmup_steps: 2", "warmup_epochs: 1"), "warm.yaml")
    assert main(["train", str(spec), "--run-dir", str(tmp_path / "warm"), "--no-progress"]) == 2
    assert "schedule.warmup_epochs counts epochs" in capsys.readouterr().err
    assert not (tmp_path / "run" / "checkpoints").exists() and not (tmp_path / "warm" / "checkpoints").exists()


def test_a_signal_during_the_evaluation_stops_at_the_epoch_end(tmp_path, lists, capsys, monkeypatch):
    from graphspec.train.loop import Trainer

    evaluate = Trainer.evaluate

    def signalled(self):  # SIGTERM (a scheduler's pre-emption) arrives while the model is evaluated
        signal.raise_signal(signal.SIGTERM)
        return evaluate(self)

    monkeypatch.setattr(Trainer, "evaluate", signalled)
    spec = write(tmp_path, train_spec(lists, epochs=1))
    run = tmp_path / "run"
    assert main(["train", str(spec), "--run-dir", str(run), "--no-progress", "--set", "epochs=3"]) == 130
    state = ckpt.load(ckpt.latest(run))
    assert (state["step"], state["epoch"], state["batches_in_epoch"]) == (4, 1, 0)  # no step of epoch 2 taken
    # the way on names the run's own spec.yaml: it holds the --set (the recipe alone has epochs: 1)
    assert f"continue with graphspec train {run / 'spec.yaml'} --resume {run}" in capsys.readouterr().err
    monkeypatch.setattr(Trainer, "evaluate", evaluate)
    assert main(["train", str(run / "spec.yaml"), "--resume", str(run), "--no-progress"]) == 0
    assert "done: 12 steps, 3 epochs" in capsys.readouterr().err


def test_unusable_checkpoints_are_refused_in_one_line(tmp_path, lists, capsys):
    spec = write(tmp_path, train_spec(lists, epochs=1))
    (tmp_path / "notes.pt").write_text("not weights\n")
    torch.save({"fc.weight": torch.zeros(2, 2)}, tmp_path / "other.pt")
    for name, words in (("notes.pt", "not a torch checkpoint"), ("other.pt", "does not fit the model"),
                        ("absent.pt", "no such checkpoint")):
        text = spec.read_text() + f"init: {{checkpoint: {tmp_path / name}}}\n"
        with_init = write(tmp_path, text, "init.yaml")
        assert main(["train", str(with_init), "--run-dir", str(tmp_path / f"run_{name}"), "--no-progress"]) == 2
        message = capsys.readouterr().err
        assert f"{with_init}:{line_of(with_init, 'init:')}:" in message and words in message, message
    run = tmp_path / "run"
    assert main(["train", str(spec), "--run-dir", str(run), "--no-progress"]) == 0
    ckpt.latest(run).write_bytes(b"\x00" * 10)  # a damaged disk; the atomic writes never leave half a file
    assert main(["train", str(spec), "--resume", str(run), "--no-progress"]) == 2
    message = capsys.readouterr().err
    assert "cannot resume" in message and "move it aside" in message and "internal error" not in message


def test_a_map_style_evaluation_dataset_is_shared_out_so_every_clip_counts_once():
    # under torchrun the metrics of the ranks are summed: a map-style dataset (it does not shard
    # itself) must give each rank its own clips, and all of them between the ranks
    from graphspec.train.distributed import World
    from graphspec.train.loop import rank_share

    clips = [{"index": i} for i in range(11)]
    loader = torch.utils.data.DataLoader(clips, batch_size=3)
    seen = [int(i) for rank in range(3) for batch in rank_share(loader, World(rank=rank, size=3))
            for i in batch["index"]]
    assert sorted(seen) == list(range(11))


def test_a_batch_larger_than_the_epoch_is_refused_at_batch_size(tmp_path, lists, capsys):
    # 32 clips an epoch, dropping the last incomplete batch: a batch of 64 never comes
    spec = write(tmp_path, train_spec(lists, epochs=1, batch=64).replace(
        "loader: {num_workers: 0}", "loader: {num_workers: 0, drop_last: true}", 1))
    assert main(["train", str(spec), "--run-dir", str(tmp_path / "run"), "--no-progress"]) == 2
    message = capsys.readouterr().err
    assert f"{spec}:{line_of(spec, 'batch_size:')}:" in message and "no optimizer step per epoch" in message
