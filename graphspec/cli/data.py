"""``graphspec data inspect|bench|prepare DATA_SPEC``: look at, time and prepare a data spec's loader.

* ``inspect`` prints the first batch: each key with its type, shape, dtype and (for labels and
  names) its values.
* ``bench`` iterates the loader with a progress bar and reports clips/s (and batches/s).
* ``prepare`` (``graphspec/cli/data_prepare.py``) turns downloaded videos into what the dataset reads.

All take ``--set`` (``--set dataset.data_path=/data/kinetics/train.csv``). Unlike ``validate``,
these read the data: a missing ``data_path`` is unusable input (exit 2).
"""
from __future__ import annotations

import argparse
import time
from typing import Any

from . import data_prepare, specs
from .output import EXIT_FINDINGS, EXIT_OK, UsageError, err, out, table

HELP = "inspect, benchmark or prepare a data spec's loader"
DESCRIPTION = ("Iterate a data spec's DataLoader: `inspect` prints the first batch, `bench` measures clips/s, "
               "`prepare` converts raw videos.")


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="data_command", metavar="SUBCOMMAND", parser_class=type(parser), required=True)
    inspect = sub.add_parser("inspect", help="print the first batch's keys, shapes, dtypes and labels")
    specs.add_spec_arguments(inspect)
    inspect.set_defaults(data_func=run_inspect)
    bench = sub.add_parser("bench", help="iterate the loader with a progress bar and report clips/s")
    specs.add_spec_arguments(bench)
    bench.add_argument("--batches", type=_positive, default=None, metavar="N",
                       help="stop after N batches (default: one whole pass)")
    bench.set_defaults(data_func=run_bench)
    prepare = sub.add_parser("prepare", help=data_prepare.HELP)
    data_prepare.configure(prepare)
    prepare.set_defaults(data_func=data_prepare.run)


def run(args: argparse.Namespace) -> int:
    return args.data_func(args)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _loader(args: argparse.Namespace):
    compiled = specs.compile_for_build(args.spec, args.set)
    if compiled.spec.kind != "data":
        raise UsageError(f"`data {args.data_command}` iterates data specs; {compiled.file} is a "
                         f"{compiled.spec.kind} spec")
    return compiled, compiled.build()


def describe(value: Any) -> tuple[str, str, str, str]:
    """(type, shape, dtype, values) of one batch entry, for the inspect table."""
    import torch

    if isinstance(value, torch.Tensor):
        shown = _values(value.flatten()[:8].tolist()) if value.dtype in (torch.int64, torch.int32, torch.bool) \
            or value.ndim <= 1 else ""
        return "tensor", "[" + ", ".join(map(str, value.shape)) + "]", str(value.dtype).removeprefix("torch."), shown
    if isinstance(value, (list, tuple)):
        inner = describe(value[0]) if value else ("", "", "", "")
        if inner[0] == "tensor":
            return f"list of {len(value)} tensors", inner[1] + " (first)", inner[2], ""
        return f"list of {len(value)}", "", "", _values(value[:8])
    return type(value).__name__, "", "", _values([value])


def _values(items: list) -> str:
    text = ", ".join(str(v) for v in items)
    return text if len(text) <= 60 else text[:57] + "..."


def run_inspect(args: argparse.Namespace) -> int:
    compiled, loader = _loader(args)
    batch = next(iter(loader), None)
    if batch is None:
        err(f"{args.spec}: the loader gave no batch (no readable video, or fewer clips than batch_size with "
            "drop_last)")
        return EXIT_FINDINGS
    samples = batch if isinstance(batch, list) else [batch]  # collate: list gives the samples themselves
    out(f"{compiled.spec.name}: first batch of {type(loader.dataset).__name__}"
        + (f" ({len(samples)} samples, shown: the first)" if isinstance(batch, list) else ""))
    first = samples[0]
    if not isinstance(first, dict):
        out(f"  {describe(first)}")
        return EXIT_OK
    rows = [(key, *describe(value)) for key, value in first.items()]
    out("\n".join(table(("key", "type", "shape", "dtype", "values"), rows)))
    return EXIT_OK


def _clips_in(batch: Any) -> int:
    import torch

    if isinstance(batch, list):
        return len(batch)
    video = batch.get("video") if isinstance(batch, dict) else batch
    if isinstance(video, list):  # several clips per sample: count the samples
        video = video[0]
    return int(video.shape[0]) if isinstance(video, torch.Tensor) and video.ndim else 1


def run_bench(args: argparse.Namespace) -> int:
    import contextlib
    import multiprocessing

    compiled, loader = _loader(args)
    tracked = hasattr(loader.dataset, "bad_files")
    with multiprocessing.Manager() if tracked and loader.num_workers > 0 else contextlib.nullcontext() as manager:
        if manager is not None:
            # each worker process holds its own copy of the dataset: one shared dict gathers the
            # files every worker skipped (the main process's copy reads none)
            loader.dataset.bad_files = manager.dict()
        code = _bench(args, compiled, loader)
        bad = dict(loader.dataset.bad_files) if tracked else {}
    if bad:
        out(f"skipped {len(bad)} unreadable video(s): " + "; ".join(f"{p} ({r})" for p, r in sorted(bad.items())))
    return code


def _bench(args: argparse.Namespace, compiled, loader) -> int:
    from tqdm import tqdm

    clips = batches = 0
    begin = time.perf_counter()
    with tqdm(total=args.batches, unit="batch", desc=compiled.spec.name, leave=False) as bar:
        for batch in loader:
            clips += _clips_in(batch)
            batches += 1
            bar.update(1)
            bar.set_postfix(clips=clips)
            if args.batches is not None and batches >= args.batches:
                break
    seconds = time.perf_counter() - begin
    if batches == 0:
        err(f"{args.spec}: the loader gave no batch")
        return EXIT_FINDINGS
    settings = compiled.spec.loader
    out(f"{compiled.spec.name}: {clips} clips in {batches} batches in {seconds:.2f} s: "
        f"{clips / seconds:.1f} clips/s, {batches / seconds:.2f} batches/s "
        f"(batch_size {settings.batch_size}, num_workers {settings.num_workers})")
    return EXIT_OK
