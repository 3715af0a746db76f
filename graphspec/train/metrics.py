"""Evaluation figures and the run's metrics log.

* ``TopK``: top-k correct counts over clips, summed over the ranks;
* ``ViewAverage``: the multi-view protocol (PyTorchVideo's zoo figures): the softmax of every
  clip and crop of a video averaged, then top-k per video;
* ``MetricsLog``: ``RUN_DIR/metrics.jsonl``, one JSON object per line (``phase``: train, val or
  val_views), appended and flushed as the run goes; a resumed run drops the lines after its
  checkpoint's step.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable

import torch

from .checkpoint import write_text_atomic
from .distributed import World, all_sum


class TopK:
    def __init__(self, ks: Iterable[int]) -> None:
        self.ks = tuple(ks)
        self.correct = torch.zeros(len(self.ks), dtype=torch.float64)
        self.count = 0
        self.loss_sum = 0.0

    def add(self, logits: torch.Tensor, labels: torch.Tensor, loss: float | None = None) -> None:
        self.correct += correct_at(logits, labels, self.ks)
        self.count += labels.shape[0]
        if loss is not None:
            self.loss_sum += loss * labels.shape[0]

    def result(self, world: World) -> dict:
        total = all_sum(torch.cat([self.correct, torch.tensor([self.count, self.loss_sum], dtype=torch.float64)]),
                        world)
        count = max(total[-2].item(), 1.0)
        out = {f"top{k}": total[i].item() / count for i, k in enumerate(self.ks)}
        out.update(clips=int(total[-2].item()), loss=total[-1].item() / count)
        return out


def correct_at(logits: torch.Tensor, labels: torch.Tensor, ks: tuple) -> torch.Tensor:
    """For each k, how many rows have their label among the k largest scores."""
    top = logits.float().topk(min(max(ks), logits.shape[1]), dim=1).indices
    hits = top == labels.view(-1, 1)
    return torch.tensor([hits[:, :k].any(dim=1).sum().item() for k in ks], dtype=torch.float64)


class ViewAverage:
    """Per-video sums of the clips' softmax scores (clips x crops of each video)."""

    def __init__(self, num_videos: int, num_classes: int, ks: Iterable[int]) -> None:
        self.ks = tuple(ks)
        self.scores = torch.zeros(num_videos, num_classes, dtype=torch.float64)
        self.labels = torch.full((num_videos,), -1.0, dtype=torch.float64)
        self.views = torch.zeros(num_videos, dtype=torch.float64)

    def add(self, logits: torch.Tensor, labels: torch.Tensor, videos: torch.Tensor) -> None:
        probs = logits.float().softmax(dim=1).double().cpu()
        self.scores.index_add_(0, videos, probs)
        self.views.index_add_(0, videos, torch.ones(len(videos), dtype=torch.float64))
        self.labels[videos] = labels.double()

    def result(self, world: World) -> dict:
        scores = all_sum(self.scores, world)
        views = all_sum(self.views, world)
        labels = all_sum(self.labels.clamp(min=0) * (self.views > 0), world) / all_sum(
            (self.views > 0).double(), world).clamp(min=1)
        seen = views > 0
        correct = correct_at(scores[seen] / views[seen, None], labels[seen].round().long(), self.ks)
        videos = int(seen.sum().item())
        out = {f"top{k}": correct[i].item() / max(videos, 1) for i, k in enumerate(self.ks)}
        out.update(videos=videos, views_per_video=(views[seen].mean().item() if videos else 0.0))
        return out


class MetricsLog:
    def __init__(self, path: Path, enabled: bool) -> None:
        self.path, self.enabled = Path(path), enabled

    def write(self, record: dict) -> None:
        if self.enabled:
            with self.path.open("a") as stream:
                stream.write(json.dumps(record) + "\n")

    def truncate_after(self, step: int) -> None:
        """Keep the lines up to ``step`` (a resumed run logs the rest again)."""
        if not self.enabled or not self.path.exists():
            return
        kept = [record for record in read(self.path) if record.get("step", 0) <= step]
        write_text_atomic(self.path, "".join(json.dumps(record) + "\n" for record in kept))


class MetricsError(ValueError):
    """A metrics.jsonl line that is no JSON object (not written by graphspec train)."""


def read(path: Path) -> list[dict]:
    """The records of a metrics.jsonl. A last line cut short (a run killed while writing it) is
    left out; any other line that is no JSON object is a ``MetricsError`` naming it."""
    text = Path(path).read_text()
    lines = text.splitlines()
    records = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            record = None
        if not isinstance(record, dict) or not isinstance(record.get("phase"), str):
            if number == len(lines) and not text.endswith("\n"):
                break
            raise MetricsError(f"{path}:{number}: not a metrics record of graphspec train: {line[:60]!r}")
        records.append(record)
    return records
