"""Manifests written from the preparation reports, in the formats the dataset classes read.

* ``labeled_csv`` (Kinetics, UCF101, HMDB51): ``<split>.csv`` with one ``path label`` line per
  video (space separated, the documented Kinetics format; the label is the index of the class
  folder in sorted order) and ``classnames.json`` mapping each class name to its index.
* ``frame_list`` (SSv2, Charades, AVA): ``frame_lists/<split>.csv``, a space separated table with
  the header ``original_vido_id video_id frame_id path labels`` and one row per frame.
* ``epic_frame_manifest`` (EpicKitchen): ``frame_manifest.csv`` of ``VideoFrameInfo`` rows
  (``graphspec.data.dataset_manifest_utils``) for the extracted frame folders.

Videos without a split folder go to the split ``all``.
"""
from __future__ import annotations

from pathlib import Path

from .runner import write_json_atomic, write_text_atomic

FRAME_LIST_HEADER = "original_vido_id video_id frame_id path labels"


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
    writer = {"labeled_csv": _labeled_csv, "frame_list": _frame_lists, "epic_frame_manifest": _epic}[kind]
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


def _frame_lists(out_root: Path, outcomes: list[dict]) -> list[Path]:
    written = []
    for split, rows in _by_split(outcomes).items():
        lines = [FRAME_LIST_HEADER]
        for video_id, outcome in enumerate(rows):
            name = Path(outcome["source"]).stem
            lines += [f"{name} {video_id} {frame_id} {path} \"\""
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

