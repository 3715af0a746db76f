"""Recipe options that change the arithmetic, each held against a plain computation: gradient
accumulation, bf16 autocast on CPU, the multi-view protocol, and an SSL model's own loss."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from graphspec import api
from graphspec.train.run import train
from graphspec.train.metrics import read

from synthetic import TINY_MODEL, data_part, make_dataset, train_spec


@pytest.fixture(scope="module")
def lists(tmp_path_factory):
    return make_dataset(tmp_path_factory.mktemp("colours"), {"train": 4, "val": 2})


def weights(run: Path) -> dict:
    return torch.load(run / "final.pt", weights_only=True)


def run(tmp_path: Path, name: str, text: str):
    spec = tmp_path / f"{name}.yaml"
    spec.write_text(text)
    train(spec, run_dir=tmp_path / name, progress=False)
    return tmp_path / name


def test_two_accumulated_half_batches_step_like_one_batch(tmp_path, lists):
    # equal halves: the mean of their mean losses is the batch's mean loss, so the same gradients
    whole = run(tmp_path, "whole", train_spec(lists, epochs=1))
    halves = run(tmp_path, "halves", train_spec(lists, epochs=1, extra="accumulate: 2\n"))
    one, two = weights(whole), weights(halves)
    assert all(torch.allclose(one[k], two[k], atol=1e-5) for k in one)
    steps = [[r["step"] for r in read(r / "metrics.jsonl") if r["phase"] == "train"] for r in (whole, halves)]
    assert steps[0] == steps[1] == [1, 2]  # 16 clips in optimizer steps of 8 either way
    smaller = weights(run(tmp_path, "smaller", train_spec(lists, epochs=1, batch=4)))
    assert not all(torch.allclose(one[k], smaller[k], atol=1e-5) for k in one)  # batches of 4 differ


def test_bf16_autocast_on_cpu_follows_fp32_closely(tmp_path, lists):
    fp32 = run(tmp_path, "fp32", train_spec(lists, epochs=1))
    bf16 = run(tmp_path, "bf16", train_spec(lists, epochs=1, extra="precision: bf16\n"))
    losses = [[r["loss"] for r in read(r / "metrics.jsonl") if r["phase"] == "train"] for r in (fp32, bf16)]
    assert losses[0][0] == pytest.approx(losses[1][0], rel=0.02)  # the same first batch, bf16 rounding
    assert losses[0] != losses[1]  # autocast did run in bf16


def test_multi_view_top1_averages_every_clip_of_a_video(tmp_path, lists):
    views = data_part(lists["val"], sampler="ConstantClipsPerVideoSampler", order="SequentialSampler").replace(
        "clip_duration: 0.5}", "clip_duration: 0.5, clips_per_video: 3}")
    text = train_spec(lists, epochs=1).replace("batch_size:", f"  val_views:\n{views}batch_size:", 1)
    folder = run(tmp_path, "views", text)
    logged = [r for r in read(folder / "metrics.jsonl") if r["phase"] == "val_views"][-1]
    assert logged["videos"] == 8 and logged["views_per_video"] == 3
    compiled = api.compile(tmp_path / "views.yaml")
    model = compiled.build().eval()
    model.load_state_dict(weights(folder))
    scores: dict[int, list] = {}
    with torch.no_grad():
        for batch in compiled.parts["val_views"].build():
            for logits, video, label in zip(model(batch["video"]), batch["video_index"], batch["label"]):
                scores.setdefault(int(video), [label, []])[1].append(logits.softmax(0))
    right = sum(int(torch.stack(s).mean(0).argmax() == label) for label, s in scores.values())
    assert logged["top1"] == pytest.approx(right / len(scores))


SIMCLR = """\
  inputs: {view1: [B, 3, 4, 16, 16], view2: [B, 3, 4, 16, 16]}
  outputs: [loss]
  model:
    op: SimCLR
    temperature: 0.5
    backbone:
      op: Sequential
      modules:
        - {op: Conv3d, in_channels: 3, out_channels: 8, kernel_size: [1, 3, 3], padding: [0, 1, 1]}
        - ReLU
        - {op: AdaptiveAvgPool3d, output_size: 1}
        - Flatten
    mlp: {op: Linear, in_features: 8, out_features: 8}
"""


def test_an_ssl_model_trains_on_its_own_loss_over_two_views(tmp_path, lists):
    text = train_spec(lists, epochs=2).replace(TINY_MODEL, SIMCLR)
    text = text.replace("num_classes: 4\n", "").replace("loss: {op: cross_entropy}", "loss: {op: model}")
    text = text.replace("optimizer: {op: SGD, lr: 0.5, momentum: 0.9}",
                        "optimizer: {op: AdamW, lr: 0.01, weight_decay: 0.05, no_decay_norm_bias: true}")
    text = text.replace("transform: [{op: UniformTemporalSubsample, num_samples: 4}, Div255]",  # train and val
                        "transform: [{op: UniformTemporalSubsample, num_samples: 4}, Div255, "
                        "{op: MultiView, num_views: 2, transform: [{op: RandomHorizontalFlip, p: 0.5}]}]")
    spec = tmp_path / "simclr.yaml"
    spec.write_text(text)
    assert api.check(spec) == []
    folder = run(tmp_path, "simclr", text)
    losses = [r["loss"] for r in read(folder / "metrics.jsonl") if r["phase"] == "train"]
    assert len(losses) == 4 and all(torch.isfinite(torch.tensor(losses)))
    assert losses[-1] < losses[0]
    val = [r for r in read(folder / "metrics.jsonl") if r["phase"] == "val"]  # the model's loss on val pairs
    assert [r["epoch"] for r in val] == [1, 2] and all(0 < r["loss"] < 10 for r in val)


def test_export_at_the_end_writes_the_trained_model(tmp_path, lists):
    import onnxruntime

    folder = run(tmp_path, "exported", train_spec(lists, epochs=1, extra="export: {to: onnx}\n"))
    session = onnxruntime.InferenceSession(str(folder / "model.onnx"))
    compiled = api.compile(tmp_path / "exported.yaml")
    model = compiled.build().eval()
    model.load_state_dict(weights(folder))
    clip = torch.rand(1, 3, 4, 16, 16)
    got = session.run(None, {session.get_inputs()[0].name: clip.numpy()})[0]
    assert torch.allclose(torch.from_numpy(got), model(clip).detach(), atol=1e-4)


def test_step_schedule_and_linear_warm_up_in_the_logged_rates(tmp_path, lists):
    # 16 clips in batches of 8: 2 steps per epoch; the rate each step took
    text = train_spec({"train": lists["train"]}, epochs=2).replace(
        "schedule: {op: cosine, warmup_steps: 2}", "schedule: {op: step, milestones: [1], gamma: 0.1}")
    rates = [r["lr"] for r in read(run(tmp_path, "step", text) / "metrics.jsonl") if r["phase"] == "train"]
    assert rates == pytest.approx([0.5, 0.5, 0.05, 0.05])
    text = train_spec({"train": lists["train"]}, epochs=2).replace(
        "schedule: {op: cosine, warmup_steps: 2}", "schedule: {op: cosine, warmup_steps: 2, warmup_start_factor: 0.1}")
    rates = [r["lr"] for r in read(run(tmp_path, "cosine", text) / "metrics.jsonl") if r["phase"] == "train"]
    # warm-up 0.05 -> 0.5 over 2 steps, then half a cosine over the 2 remaining: 0.5, 0.5 * (1 + cos(pi / 2)) / 2
    assert rates == pytest.approx([0.05, 0.275, 0.5, 0.25])


def test_no_decay_on_norms_and_biases(tmp_path):
    from graphspec.spec.train import SGD
    from graphspec.train.loop import _optimizer

    model = torch.nn.Sequential(torch.nn.Conv3d(3, 4, 1), torch.nn.BatchNorm3d(4))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    optimizer = _optimizer(model, SGD(op="SGD", lr=0.1, momentum=0.0, weight_decay=0.5, no_decay_norm_bias=True))
    for p in model.parameters():
        p.grad = torch.zeros_like(p)
    optimizer.step()  # zero gradients: only weight decay moves a parameter, by -lr * wd * w
    after = model.state_dict()
    assert torch.allclose(after["0.weight"], before["0.weight"] * (1 - 0.1 * 0.5))
    for key in ("0.bias", "1.weight", "1.bias"):
        assert torch.equal(after[key], before[key])


def test_channels_last_trains_like_the_default_layout(tmp_path, lists):
    plain = weights(run(tmp_path, "plain", train_spec(lists, epochs=1)))
    last = weights(run(tmp_path, "last", train_spec(lists, epochs=1, extra="channels_last: true\n")))
    assert all(torch.allclose(plain[k], last[k], atol=1e-4) for k in plain)


def test_gradient_clipping_bounds_the_step(tmp_path, lists):
    # plain SGD (no momentum) after clipping the gradient norm to c moves the weights by <= lr * c
    text = train_spec(lists, epochs=1).replace("epochs: 1", "steps: 1").replace("momentum: 0.9", "momentum: 0.0")
    text = text.replace("schedule: {op: cosine, warmup_steps: 2}", "schedule: {op: constant}")
    clipped = tmp_path / "clipped.yaml"
    clipped.write_text(text + "clip_grad_norm: 0.01\n")
    torch.manual_seed(0)  # the initial weights, as the run builds them (seed 0)
    start = api.compile(clipped).build().state_dict()
    folder = run(tmp_path, "clipped", text + "clip_grad_norm: 0.01\n")
    free = run(tmp_path, "free", text)

    def moved(run_dir: Path) -> float:
        end = weights(run_dir)
        return torch.sqrt(sum(((end[k] - start[k]) ** 2).sum() for k in start)).item()

    assert moved(folder) == pytest.approx(0.5 * 0.01, rel=1e-3)  # the gradient was larger: clipped to c
    assert moved(free) > 10 * moved(folder)


def test_the_export_blocks_min_cosine_refuses_an_int8_model_below_it(tmp_path, lists, capsys):
    from graphspec.cli.main import main

    spec = tmp_path / "int8.yaml"
    spec.write_text(train_spec(lists, epochs=1).replace("epochs: 1", "steps: 1"))
    export = "export={to: mobile, int8: true, calibrate: val, min_cosine: 1.0}"  # int8 is never exactly fp32
    assert main(["train", str(spec), "--run-dir", str(tmp_path / "run"), "--no-progress", "--set", export]) == 1
    message = capsys.readouterr().err
    assert "export failed" in message and "below --min-cosine 1" in message
    assert (tmp_path / "run" / "final.pt").is_file() and not (tmp_path / "run" / "model.mobile.onnx").exists()
    assert main(["validate", str(spec), "--set", "export={to: mobile, min_cosine: 0.9}"]) == 1
    assert "export.min_cosine: min_cosine checks an int8 export" in capsys.readouterr().out


def test_clips_per_s_counts_the_clips_of_a_short_last_batch(tmp_path, lists, monkeypatch):
    # 16 clips in batches of 6: 6, 6 and 4; a clock that advances 1 s at each reading
    import itertools
    import types

    from graphspec.train import loop

    clock = itertools.count()
    monkeypatch.setattr(loop, "time", types.SimpleNamespace(perf_counter=lambda: float(next(clock))))
    folder = run(tmp_path, "short", train_spec({"train": lists["train"]}, epochs=1, batch=6))
    rates = [r["clips_per_s"] for r in read(folder / "metrics.jsonl") if r["phase"] == "train"]
    assert rates == pytest.approx([6 / 1, 12 / 2, 16 / 3])
