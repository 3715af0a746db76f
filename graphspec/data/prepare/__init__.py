"""``graphspec data prepare``: turn downloaded videos into what the dataset classes read.

PyTorchVideo's "Data Preparation" chapter does this with shell loops around the ffmpeg program;
here a data spec's dataset knows its steps (``steps.DATASET_PLANS``): Kinetics-style datasets are
re-encoded at a short side of 256 with a keyframe about every second (random clip access then
decodes little), SSv2 and Charades frames are extracted at 30 fps as
``frames/<video>/<video>_%06d.jpg`` at the highest JPEG quality, AVA is cut to seconds 900-1801
first. Then the manifests are written (``manifests``). Runs are parallel, resumable, shardable
over machines (``shard=(i, n)``, then ``merge``) and never stop for one bad file.

>>> report = prepare("specs/data/kinetics400_train.yaml", "raw/", "prepared/")  # doctest: +SKIP
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

from .manifests import summary_json, write_manifests, write_summary
from .runner import Report, load_reports, run
from .steps import DATASET_PLANS, CutStep, FramesStep, PreparePlan, ResizeStep, check_prepare, merge_fields, plan_for

__all__ = ["prepare", "merge", "plan_from_spec", "Report", "PreparePlan", "CutStep", "FramesStep",
           "ResizeStep", "DATASET_PLANS", "plan_for", "summary_json"]


def plan_from_spec(spec: str | Path, overrides: Sequence[str] = (),
                   plan_overrides: Optional[Mapping[str, Any]] = None) -> tuple[str, PreparePlan]:
    """The dataset op a data spec names and its preparation plan: the documented defaults, then
    the spec's own ``prepare:`` mapping, then ``plan_overrides``. ``SpecError`` (located) when the
    spec's dataset has no preparation or the plan is invalid."""
    from graphspec.spec.errors import Diagnostic, SpecError
    from graphspec.spec.source import load_document

    data, smap = load_document(spec, overrides)

    def fail(diagnostics: list[Diagnostic]) -> SpecError:
        for d in diagnostics:
            d.location = d.location or smap.locate(d.path)
        return SpecError(diagnostics)

    kind = data.get("kind", "model")  # a spec without kind: is a model spec
    if kind != "data":
        raise fail([Diagnostic(f"data prepare takes a data spec (its dataset names the steps); {spec} is a "
                               f"{kind} spec", path=("kind",), code="kind", unusable=True)])
    dataset = data.get("dataset") if isinstance(data, dict) else None
    op = dataset.get("op") if isinstance(dataset, dict) else dataset
    merged = merge_fields(data.get("prepare") or {}, plan_overrides)
    found = check_prepare(op, merged)
    if found:
        if op not in DATASET_PLANS:
            found[0].path = ("dataset",)
        raise fail(found)
    return op, plan_for(op, merged)


def prepare(spec: str | Path | PreparePlan, raw_dir: str | Path, out_dir: str | Path, *,
            shard: tuple[int, int] = (0, 1), workers: int = 1, overrides: Sequence[str] = (),
            plan_overrides: Optional[Mapping[str, Any]] = None, progress: bool = False) -> Report:
    """Prepare this shard of ``raw_dir`` into ``out_dir``. With one shard the manifests and
    ``prepare_report.json`` are written at once; with several, call ``merge(out_dir)`` after
    every shard has run."""
    plan = spec if isinstance(spec, PreparePlan) else plan_from_spec(spec, overrides, plan_overrides)[1]
    out = Path(out_dir)
    report = run(plan, Path(raw_dir), out, shard=shard, workers=workers, progress=progress)
    if shard[1] == 1:
        merge(out, shards=1)
    return report


def merge(out_dir: str | Path, shards: Optional[int] = None) -> list[Path]:
    """Write the manifests and the final ``prepare_report.json`` from the reports of every shard
    of a run split in ``shards`` parts (default: the one split found in ``out_dir``)."""
    out = Path(out_dir)
    reports = load_reports(out, shards)  # read once for the manifests and the summary
    return write_manifests(out, reports) + [write_summary(out, reports)]

