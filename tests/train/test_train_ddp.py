"""Two processes under torchrun (gloo, DistributedDataParallel) train like one process with the
same global batch: each rank reads its half of the videos (the dataset's rank sharding) in
batches of 4, and the gradients are averaged, so the run takes the same steps on the same clips.

Tolerance: the ranks' batches group the clips differently from the one process's batches of 8
(rank 0 reads the first half of the video order, rank 1 the second), so step losses differ;
each epoch's mean training loss stays within 0.1 of the one-process run's."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from graphspec.train.metrics import read

from synthetic import make_dataset, train_spec

ROOT = Path(__file__).resolve().parents[2]


def epoch_means(run: Path) -> list[float]:
    rows = [r for r in read(run / "metrics.jsonl") if r["phase"] == "train"]
    epochs = sorted({r["epoch"] for r in rows})
    return [sum(r["loss"] for r in rows if r["epoch"] == e) / sum(r["epoch"] == e for r in rows) for e in epochs]


def test_two_gloo_ranks_match_one_process_with_the_same_global_batch(tmp_path):
    lists = make_dataset(tmp_path / "colours", {"train": 8, "val": 4})
    spec = tmp_path / "recipe.yaml"
    spec.write_text(train_spec(lists, epochs=3, lr=0.2))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    command = ["-m", "graphspec", "train", str(spec), "--no-progress", "--run-dir"]
    one = subprocess.run([sys.executable, *command, str(tmp_path / "one")], env=env, capture_output=True,
                         text=True, timeout=300)
    assert one.returncode == 0, one.stderr
    two = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
                          *command, str(tmp_path / "two")], env=env, capture_output=True, text=True, timeout=300)
    assert two.returncode == 0, two.stderr
    assert two.stderr.count("done: 12 steps") == 1  # rank 0 reports, for both
    ones, twos = epoch_means(tmp_path / "one"), epoch_means(tmp_path / "two")
    assert len(ones) == len(twos) == 3
    assert twos == pytest.approx(ones, abs=0.1)
    assert twos[-1] < twos[0] - 0.3  # and it learns
    # evaluation covers every val clip once across the two ranks
    val = [r for r in read(tmp_path / "two" / "metrics.jsonl") if r["phase"] == "val"]
    assert [r["clips"] for r in val] == [16, 16, 16]
