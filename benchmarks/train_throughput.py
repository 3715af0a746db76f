"""Training throughput: clips/s of ``graphspec train`` vs a plain hand-written PyTorch loop on
the same model, data (the same data spec's DataLoader) and batch; then ``graphspec train`` with 2
DataLoader workers vs 1. Both sides are measured the same way: the clips of the last epoch over
its wall time (the first epochs warm up). Target ratio >= 0.95. Prints the ratios; asserts
nothing. ``--videos N --epochs E`` change the size (default: 16 videos per class, 3 epochs)."""
from __future__ import annotations

import argparse
import math
import shutil
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "train"))  # the synthetic colour task of the training tests

from synthetic import make_dataset, train_spec  # noqa: E402

from graphspec import api  # noqa: E402
from graphspec.train.run import train  # noqa: E402
from graphspec.train.metrics import read  # noqa: E402

#: a model with enough work per clip that the step, not Python, dominates
MODEL = """\
  inputs: {video: [B, 3, 4, 16, 16]}
  nodes:
    conv1: {op: Conv3d, in_channels: 3, out_channels: 32, kernel_size: 3, padding: 1, in: video}
    act1: {op: ReLU, in: conv1}
    conv2: {op: Conv3d, in_channels: 32, out_channels: 32, kernel_size: 3, padding: 1, in: act1}
    act2: {op: ReLU, in: conv2}
    pool: {op: AdaptiveAvgPool3d, output_size: 1, in: act2}
    flat: {op: Flatten, in: pool}
    head: {op: Linear, in_features: 32, out_features: 4, in: flat}
  outputs: {logits: head}
"""


def recipe(lists: dict, epochs: int, workers: int) -> str:
    from synthetic import TINY_MODEL

    text = train_spec({"train": lists["train"]}, epochs=epochs, workers=workers, lr=0.05)
    return text.replace(TINY_MODEL, MODEL).replace("log_every: 1\n", "log_every: 10\n")  # the default


def graphspec_rate(folder: Path, lists: dict, epochs: int, workers: int) -> float:
    spec = folder / f"recipe_{workers}.yaml"
    spec.write_text(recipe(lists, epochs, workers))
    run = folder / f"run_{workers}"
    shutil.rmtree(run, ignore_errors=True)
    train(spec, run_dir=run, progress=False)
    rows = [r for r in read(run / "metrics.jsonl") if r["phase"] == "train"]
    return rows[-1]["clips_per_s"]  # the last epoch's clips over its time (logged at its last step)


def plain_rate(folder: Path, lists: dict, epochs: int) -> float:
    spec = folder / "recipe_plain.yaml"
    spec.write_text(recipe(lists, epochs, 0))
    compiled = api.compile(spec)
    part = compiled.parts["train"]
    part.spec = part.spec.model_copy(update={  # the clips graphspec train reads: its batch, its seed
        "loader": part.spec.loader.model_copy(update={"batch_size": compiled.spec.batch_size}),
        "seed": compiled.spec.seed})
    loader = part.build()
    torch.manual_seed(0)
    model = compiled.build()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    steps = epochs * math.ceil(loader.dataset.num_videos / compiled.spec.batch_size)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: 0.5 * (1 + math.cos(math.pi * s / steps)))
    loss_fn = torch.nn.CrossEntropyLoss()
    rate = 0.0
    for epoch in range(epochs):
        loader.dataset.set_epoch(epoch)
        started, clips = time.perf_counter(), 0
        for batch in loader:
            loss = loss_fn(model(batch["video"]), batch["label"])
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            schedule.step()
            loss.item()  # the loop reads its loss, as one that logs does
            clips += len(batch["label"])
        rate = clips / (time.perf_counter() - started)
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=16, help="videos per class (4 classes)")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3, help="alternating runs of each side; the best counts")
    args = parser.parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        lists = make_dataset(folder / "colours", {"train": args.videos})
        plain = ours = 0.0
        for _ in range(args.repeats):  # alternating, so that a busy moment of the machine hits both
            plain = max(plain, plain_rate(folder, lists, args.epochs))
            ours = max(ours, graphspec_rate(folder, lists, args.epochs, workers=0))
        print(f"plain PyTorch loop   {plain:8.1f} clips/s")
        print(f"graphspec train      {ours:8.1f} clips/s   ratio {ours / plain:.3f} (target >= 0.95)")
        one = two = 0.0
        for _ in range(args.repeats):
            one = max(one, graphspec_rate(folder, lists, args.epochs, workers=1))
            two = max(two, graphspec_rate(folder, lists, args.epochs, workers=2))
        print(f"graphspec train, 1 DataLoader worker  {one:8.1f} clips/s")
        print(f"graphspec train, 2 DataLoader workers {two:8.1f} clips/s   ratio {two / one:.3f}")


if __name__ == "__main__":
    main()
