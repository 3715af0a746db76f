"""Running a preparation plan over a raw folder: jobs, shards, resume, parallelism, reports.

* A **job** is one raw video. Raw folders follow the datasets' download layouts:
  ``RAW/[split/][class/]video.ext`` where ``split`` is one of ``train``, ``val``, ``test`` and the
  class folder (Kinetics, UCF101, HMDB51) is the label.
* **Shards** (``shard=(i, n)``) split the jobs by a hash of their relative path, so any number of
  machines agree on the split without talking to each other, and adding files moves no others.
* **Resume**: an output exists under its final name only once complete (it is written under a
  temporary name and renamed), and it is verified again before it is skipped.
* Each run writes ``OUT/.prepare/report-<i>-of-<n>.json``; ``merge`` reads every shard's report and
  writes the manifests once all shards are done.
"""
from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterable, Literal, Optional

from graphspec.files import write_text

from .media import MediaError, extract_frames, probe, sample_times, scaled_size, time_window, transcode
from .steps import FramesStep, PreparePlan

SPLITS = ("train", "val", "test")
REPORT_DIR = ".prepare"
Status = Literal["done", "skipped", "failed"]


@dataclass(frozen=True)
class Job:
    source: str  # path relative to the raw root, POSIX separators
    split: Optional[str]
    label: Optional[str]

    @property
    def video_name(self) -> str:
        return Path(self.source).stem


@dataclass
class Outcome:
    source: str
    status: Status
    output: Optional[str] = None  # relative to the output root
    split: Optional[str] = None
    label: Optional[str] = None
    reason: str = ""
    seconds: float = 0.0
    facts: dict = field(default_factory=dict)


def discover(raw_root: Path, plan: PreparePlan) -> list[Job]:
    """Every raw video below ``raw_root``, sorted by relative path."""
    if not raw_root.is_dir():
        raise FileNotFoundError(f"raw folder {raw_root} does not exist")
    jobs = []
    for path in sorted(raw_root.rglob("*")):
        if not path.is_file() or path.suffix.lower() not in plan.extensions or path.name.startswith("."):
            continue
        parts = path.relative_to(raw_root).parts
        split = parts[0] if len(parts) > 1 and parts[0] in SPLITS else None
        folders = parts[1:-1] if split else parts[:-1]
        jobs.append(Job(Path(*parts).as_posix(), split, folders[-1] if folders else None))
    return jobs


def shard_of(job: Job, count: int) -> int:
    digest = hashlib.sha1(job.source.encode("utf-8")).hexdigest()
    return int(digest, 16) % count


def output_of(job: Job, plan: PreparePlan) -> str:
    """The job's output, relative to the output root: a video beside its raw layout, or a frame
    folder ``frames/<video>`` (the documentation's layout)."""
    if isinstance(plan.output, FramesStep):
        return f"frames/{job.video_name}"
    return Path(job.source).with_suffix("." + plan.output.container).as_posix()


def _verified(job: Job, raw_root: Path, out_root: Path, plan: PreparePlan) -> Optional[str]:
    """Why the existing output of ``job`` is complete, or None when it must be (re)made."""
    target = out_root / output_of(job, plan)
    try:
        if isinstance(plan.output, FramesStep):
            if not target.is_dir():
                return None
            start, end = time_window(probe(raw_root / job.source), plan.cut)
            expected = len(sample_times(start, end, plan.output.fps))
            found = sum(1 for p in target.iterdir() if p.suffix == "." + plan.output.image_format)
            return f"{found} frames present" if found == expected else None
        if not target.is_file():
            return None
        raw, out = probe(raw_root / job.source), probe(target)
        expected = scaled_size(raw.width, raw.height, plan.output.short_side)
        return "verified" if (out.width, out.height) == expected else None
    except MediaError:
        return None


def run_job(job: Job, raw_root: Path, out_root: Path, plan: PreparePlan, threads: int = 0) -> Outcome:
    """Prepare one video; never raises for a bad input file (the outcome says why). ``threads``
    caps the codec threads (0: FFmpeg's choice)."""
    started = time.perf_counter()
    outcome = Outcome(job.source, "done", output_of(job, plan), job.split, job.label)
    try:
        why = _verified(job, raw_root, out_root, plan)
        if why is not None:
            outcome.status, outcome.reason = "skipped", f"output already complete ({why})"
        elif isinstance(plan.output, FramesStep):
            frames = extract_frames(raw_root / job.source, out_root / "frames", plan.output, job.video_name, plan.cut)
            outcome.facts = {"frames": len(frames)}
        else:
            outcome.facts = transcode(raw_root / job.source, out_root / outcome.output, plan.output, plan.cut,
                                      threads)
    except MediaError as err:  # the outcome names the file already: the reason alone
        outcome.status, outcome.reason, outcome.output = "failed", err.reason, None
    except OSError as err:  # unreadable input, full disk: this file fails, the run goes on
        outcome.status, outcome.reason, outcome.output = "failed", f"{err.__class__.__name__}: {err}", None
    outcome.seconds = round(time.perf_counter() - started, 3)
    return outcome


def _run_packed(args: tuple) -> Outcome:
    return run_job(*args)


@dataclass
class Report:
    shard: tuple[int, int]
    plan: dict
    outcomes: list[Outcome]
    seconds: float = 0.0

    def count(self, status: Status) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def ok(self) -> bool:
        return self.count("failed") == 0

    def to_json(self) -> dict:
        return {"shard": list(self.shard), "plan": self.plan, "seconds": self.seconds,
                "done": self.count("done"), "skipped": self.count("skipped"), "failed": self.count("failed"),
                "outcomes": [asdict(o) for o in self.outcomes]}

    def summary(self) -> str:
        lines = [f"prepared {self.count('done')}, skipped {self.count('skipped')} (already complete), "
                 f"failed {self.count('failed')} in {self.seconds:.1f} s (shard {self.shard[0]}/{self.shard[1]})"]
        lines += [f"  failed: {o.source}: {o.reason}" for o in self.outcomes if o.status == "failed"]
        return "\n".join(lines)


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` under a temporary name beside ``path``, then rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text(path, text)


def write_json_atomic(path: Path, data: dict) -> None:
    write_text_atomic(path, json.dumps(data, indent=1))


def report_path(out_root: Path, shard: tuple[int, int]) -> Path:
    return out_root / REPORT_DIR / f"report-{shard[0]}-of-{shard[1]}.json"


def run(plan: PreparePlan, raw_root: Path, out_root: Path, *, shard: tuple[int, int] = (0, 1),
        workers: int = 1, progress: bool = True) -> Report:
    """Prepare this shard's videos with ``workers`` processes; writes and returns its report."""
    index, count = shard
    if not (count >= 1 and 0 <= index < count):
        raise ValueError(f"shard {index}/{count}: need 0 <= I < N")
    started = time.perf_counter()
    every = discover(raw_root, plan)
    if not every:  # a wrong --from, or a layout the extensions miss: nothing would be written
        raise ValueError(f"no videos found under {raw_root} (looked for {', '.join(plan.extensions)} files, "
                         "in subfolders too)")
    jobs = [j for j in every if shard_of(j, count) == index]
    # parallel workers share the cores instead of each running a codec thread per core
    threads = 0 if workers <= 1 else max(1, (os.cpu_count() or 1) // workers)
    tasks = [(job, raw_root, out_root, plan, threads) for job in jobs]
    outcomes = list(_progress(_map(tasks, workers), len(tasks), progress))
    report = Report(shard, plan.model_dump(mode="json"), outcomes, round(time.perf_counter() - started, 3))
    write_json_atomic(report_path(out_root, shard), report.to_json())
    return report


def _map(tasks: list[tuple], workers: int) -> Iterable[Outcome]:
    if workers <= 1 or len(tasks) <= 1:
        return map(_run_packed, tasks)
    # spawned, not forked: a process that has decoded with PyAV (a notebook, a test session) holds
    # FFmpeg threads and their locks, and a forked worker's decoder can wait on them forever
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))

    def results():
        with pool:
            yield from pool.map(_run_packed, tasks)

    return results()


def _progress(items: Iterable[Outcome], total: int, show: bool) -> Iterable[Outcome]:
    if not show:
        return items
    from tqdm import tqdm

    return tqdm(items, total=total, unit="video", desc="prepare", leave=False)


def load_reports(out_root: Path, count: Optional[int] = None) -> list[dict]:
    """Every shard report of a run split in ``count`` shards (default: the one count present);
    ``ValueError`` when shards are missing, or reports of several counts leave it ambiguous."""
    paths = sorted((out_root / REPORT_DIR).glob("report-*-of-*.json"))
    reports = [json.loads(p.read_text()) for p in paths]
    counts = sorted({r["shard"][1] for r in reports})
    if count is None:
        if len(counts) > 1:
            raise ValueError(f"reports of runs split in {counts} shards under {out_root / REPORT_DIR}; "
                             "say which with --shards N (or remove the stale reports)")
        count = counts[0] if counts else None
    reports = [r for r in reports if r["shard"][1] == count]
    if not reports:
        raise ValueError(f"no preparation reports under {out_root / REPORT_DIR}"
                         + (f" for {count} shards" if count else ""))
    missing = sorted(set(range(count)) - {r["shard"][0] for r in reports})
    if missing:
        raise ValueError(f"shards {missing} of {count} have not reported yet")
    return reports
