"""Manifests written from the preparation reports, in the formats the dataset classes read.

* ``labeled_csv`` (Kinetics, UCF101, HMDB51): ``<split>.csv`` with one ``path label`` line per
  video (space separated, the documented Kinetics format; the label is the index of the class
  folder in sorted order) and ``classnames.json`` mapping each class name to its index.
* ``frame_list`` (SSv2, Charades, AVA): ``frame_lists/<split>.csv``, a space separated table with
  the header ``original_vido_id video_id frame_id path labels`` and one row per frame. Its
  ``labels`` are the class ids shown at the frame's time (``"92,147"``) when the plan names the
  dataset's annotation files (Charades' ``actions`` spans, AVA's keyframe boxes), else ``""``.
* ``epic_frame_manifest`` (EpicKitchen): ``frame_manifest.csv`` of ``VideoFrameInfo`` rows
  (``graphspec.data.dataset_manifest_utils``) for the extracted frame folders.

Videos without a split folder go to the split ``all``.
"""
from __future__ import annotations

import csv
from pathlib import Path
from typing import Callable

from graphspec.data.utils import get_logger

from .runner import write_json_atomic, write_text_atomic

FRAME_LIST_HEADER = "original_vido_id video_id frame_id path labels"
_LOG = get_logger(__name__)

#: a class shown during ``[start, end)`` seconds of the raw video
Span = tuple[float, float, int]


def _charades_actions(path: str, fps: float) -> dict[str, list[Span]]:
    """``Charades_v1_<split>.csv``: each video ``id``'s ``actions``, ``"c092 11.90 21.20;c147 0.00 12.60"``
    (class, start and end second)."""
    spans: dict[str, list[Span]] = {}
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle)
        missing = sorted({"id", "actions"} - set(reader.fieldnames or ()))
        if missing:
            raise ValueError(f"{path}: no column(s) {missing}: a Charades annotation csv has id, ..., actions, length")
        for row in reader:
            video = spans.setdefault(row["id"], [])
            for action in filter(None, (a.strip() for a in (row["actions"] or "").split(";"))):
                try:
                    name, start, end = action.split()
                    video.append((float(start), float(end), int(name.removeprefix("c"))))
                except ValueError:
                    raise ValueError(f"{path}:{reader.line_num}: expected actions like 'c092 11.90 21.20', "
                                     f"got {action!r}") from None
    return spans


def _ava_boxes(path: str, fps: float) -> dict[str, list[Span]]:
    """``ava_<split>_v2.2.csv`` (no header): ``video_id, keyframe second, x1, y1, x2, y2, action_id,
    person_id``; an action labels the frame nearest its keyframe."""
    spans: dict[str, list[Span]] = {}
    half = 0.5 / fps
    with open(path, newline="") as handle:
        for number, row in enumerate(csv.reader(handle), 1):
            if not row:
                continue
            try:
                second, action = float(row[1]), int(row[6])
            except (IndexError, ValueError):
                raise ValueError(f"{path}:{number}: expected 'video_id, timestamp, x1, y1, x2, y2, action_id, "
                                 f"person_id', got {','.join(row)!r}") from None
            spans.setdefault(row[0], []).append((second - half, second + half, action))
    return spans


#: how each ``PreparePlan.annotation_format`` is read (rules as data)
ANNOTATION_READERS: dict[str, Callable[[str, float], dict[str, list[Span]]]] = {
    "charades": _charades_actions, "ava": _ava_boxes}


def _annotated_spans(plan: dict) -> dict[str, list[Span]] | None:
    """Every video's spans from the plan's annotation files, or None when it names none."""
    if not plan.get("annotations"):
        return None
    read = ANNOTATION_READERS[plan["annotation_format"]]
    spans: dict[str, list[Span]] = {}
    for path in plan["annotations"]:
        for video, found in read(path, plan["output"]["fps"]).items():
            spans.setdefault(video, []).extend(found)
    return spans


def _labels_at(spans: list[Span], time: float) -> str:
    ids = sorted({label for start, end, label in spans if start <= time < end})
    return '"' + ",".join(map(str, ids)) + '"'


def _prepared(reports: list[dict]) -> tuple[str, list[dict]]:
    """The manifest kind and every prepared (done or already complete) outcome, sorted."""
    kind = reports[0]["plan"]["manifest"]
    outcomes = [o for r in reports for o in r["outcomes"] if o["status"] != "failed"]
    return kind, sorted(outcomes, key=lambda o: o["source"])


def _by_split(outcomes: list[dict]) -> dict[str, list[dict]]:
    splits: dict[str, list[dict]] = {}
    for outcome in outcomes:
        splits.setdefault(outcome["split"] or "all", []).append(outcome)
    return splits


def write_manifests(out_root: Path, reports: list[dict]) -> list[Path]:
    """Write the manifests of everything the shard ``reports`` (``runner.load_reports``) prepared
    under ``out_root``; returns the files written."""
    kind, outcomes = _prepared(reports)
    if kind == "frame_list":
        return _frame_lists(out_root, outcomes, reports[0]["plan"])
    writer = {"labeled_csv": _labeled_csv, "epic_frame_manifest": _epic}[kind]
    return writer(out_root, outcomes)


def _labeled_csv(out_root: Path, outcomes: list[dict]) -> list[Path]:
    labels = sorted({o["label"] for o in outcomes if o["label"] is not None})
    index = {name: i for i, name in enumerate(labels)}
    unlabeled = [o["source"] for o in outcomes if o["label"] is None]
    if unlabeled:
        raise ValueError(f"{len(unlabeled)} videos are not in a class folder (e.g. {unlabeled[0]}); "
                         "a labeled csv needs RAW/[split/]<class>/<video>")
    written = []
    for split, rows in _by_split(outcomes).items():
        path = out_root / f"{split}.csv"
        write_text_atomic(path, "".join(f"{o['output']} {index[o['label']]}\n" for o in rows))
        written.append(path)
    write_json_atomic(out_root / "classnames.json", index)
    return written + [out_root / "classnames.json"]


def _frame_files(out_root: Path, outcome: dict) -> list[str]:
    folder = out_root / outcome["output"]
    return sorted(f"{Path(outcome['output']).name}/{p.name}" for p in folder.iterdir() if not p.name.startswith("."))


def _frame_lists(out_root: Path, outcomes: list[dict], plan: dict) -> list[Path]:
    """Frame ``k`` of a video shows second ``cut start + k / fps`` of its raw video: its labels
    are the annotated classes at that time."""
    annotated = _annotated_spans(plan)
    fps, start = plan["output"]["fps"], (plan.get("cut") or {}).get("start_sec", 0)
    unannotated = sorted(Path(o["source"]).stem for o in outcomes
                         if annotated is not None and Path(o["source"]).stem not in annotated)
    if unannotated:
        _LOG.warning("%d prepared videos have no row in the annotation files %s (their frames get no labels), "
                     "e.g. %s", len(unannotated), ", ".join(plan["annotations"]), unannotated[:3])
    written = []
    for split, rows in _by_split(outcomes).items():
        lines = [FRAME_LIST_HEADER]
        for video_id, outcome in enumerate(rows):
            name = Path(outcome["source"]).stem
            spans = (annotated or {}).get(name, [])
            lines += [f"{name} {video_id} {frame_id} {path} {_labels_at(spans, start + frame_id / fps)}"
                      for frame_id, path in enumerate(_frame_files(out_root, outcome))]
        path = out_root / "frame_lists" / f"{split}.csv"
        write_text_atomic(path, "\n".join(lines) + "\n")
        written.append(path)
    return written


def _epic(out_root: Path, outcomes: list[dict]) -> list[Path]:
    """EpicKitchen's frame manifest, built by the dataset's own reader of a flat frames folder."""
    from graphspec.data.dataset_manifest_utils import save_video_frame_info
    from graphspec.data.epic_kitchen.utils import build_frame_manifest_from_flat_directory

    path = out_root / "frame_manifest.csv"
    save_video_frame_info(build_frame_manifest_from_flat_directory(str(out_root / "frames"), False), str(path))
    return [path]


def summary_json(reports: list[dict]) -> dict:
    """The merged report of all shards: counts and the failures with their reasons."""
    outcomes = [o for r in reports for o in r["outcomes"]]
    return {"shards": len(reports),
            **{status: sum(1 for o in outcomes if o["status"] == status) for status in ("done", "skipped", "failed")},
            "failures": [{"source": o["source"], "reason": o["reason"]} for o in outcomes if o["status"] == "failed"]}


def write_summary(out_root: Path, reports: list[dict]) -> Path:
    path = out_root / "prepare_report.json"
    write_json_atomic(path, summary_json(reports))
    return path

