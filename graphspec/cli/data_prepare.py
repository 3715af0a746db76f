"""``graphspec data prepare SPEC --from RAW --to OUT``: resize / extract frames / cut, then manifests.

Wired in as the ``prepare`` subcommand of ``graphspec data`` (``graphspec/cli/data.py``).
Exit codes: 0 every video prepared (or already complete), 1 some videos failed (each listed with
its reason; the rest are done), 2 unusable input (bad spec, missing RAW folder or no videos in it,
bad ``--shard``, an output folder overlapping ``--from``, an unwritable ``--json``), checked before
any video is touched.
"""
from __future__ import annotations

import argparse
import json
import re

from . import guard
from .output import EXIT_FINDINGS, EXIT_OK, EXIT_UNUSABLE, UsageError, err, out

HELP = "prepare a dataset: resize or extract frames with PyAV, write the manifests"


def _shard(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"(\d+)/(\d+)", text)
    if not match or not int(match[2]) >= 1 or not int(match[1]) < int(match[2]):
        raise argparse.ArgumentTypeError(f"expected I/N with 0 <= I < N (e.g. 0/4), got {text!r}")
    return int(match[1]), int(match[2])


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("spec", help="data spec whose dataset names the steps (Kinetics, SSv2, Charades, Ava, ...)")
    parser.add_argument("--from", dest="raw", help="folder of downloaded videos ([split/][class/]video.ext)")
    parser.add_argument("--to", dest="out", required=True, help="output folder (videos or frames, manifests, reports)")
    parser.add_argument("--shard", type=_shard, default=None, metavar="I/N",
                        help="do only part I of N (I counts from 0: 0/4 .. 3/4), a deterministic split for job "
                             "arrays; then run --merge once")
    parser.add_argument("--merge", action="store_true", help="write the manifests from every shard's report")
    parser.add_argument("--shards", type=int, metavar="N",
                        help="with --merge: the shard count of the run to merge (when reports of several exist)")
    parser.add_argument("--workers", type=int, default=1, help="parallel processes (default 1)")
    parser.add_argument("--short-side", type=int, help="resize: short side in pixels (default 256)")
    parser.add_argument("--codec", help="resize: encoder (default libx264)")
    parser.add_argument("--crf", type=int, help="resize: constant rate factor (default 23)")
    parser.add_argument("--keyframe-interval", type=float, metavar="SEC",
                        help="resize: seconds between keyframes (default 1: fast random clip access)")
    parser.add_argument("--fps", type=float, help="frames: frames per second (default 30)")
    parser.add_argument("--json", metavar="FILE", help="also write this shard's report as JSON to FILE")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="PATH=VALUE",
                        help="override a spec value (e.g. prepare.output.crf=18)")


_FLAGS = {"short_side": "short_side", "codec": "codec", "crf": "crf", "keyframe_interval": "keyframe_interval_sec",
          "fps": "fps"}


def _as_flag_finding(diagnostic, output: dict):
    """A finding on a plan field a flag set names the flag, not the spec key the flag filled in:
    ``--codec nope`` is a bad value of ``--codec``; ``--fps`` for a dataset prepared as videos
    says which datasets' preparation takes it."""
    from graphspec.data.prepare.steps import DATASET_PLANS

    field = diagnostic.path[2] if diagnostic.path[:2] == ("prepare", "output") and len(diagnostic.path) == 3 else None
    flag = next((f for f, name in _FLAGS.items() if name == field and field in output), None)
    if flag is None:
        return diagnostic
    option = "--" + flag.replace("_", "-")
    if diagnostic.message.startswith("unknown key"):
        takers = [op for op, plan in DATASET_PLANS.items() if field in type(plan.output).model_fields]
        diagnostic.message = (f"{option} does not apply to this dataset's preparation; the datasets "
                              f"that take it: {', '.join(takers)}")
    else:
        diagnostic.message = f"{option} {output[field]}: {diagnostic.message}"
    diagnostic.location, diagnostic.path = None, ()
    return diagnostic


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from graphspec.data import prepare as prep
    from graphspec.spec.errors import SpecError
    from graphspec.spec.report import format_diagnostic

    out_dir = Path(args.out)
    if args.merge and args.shard is not None:
        raise UsageError("--merge writes the manifests from the reports of every shard at once; it takes no "
                         "--shard (--shards N picks the run when reports of several shard counts exist)")
    guard.check_outputs(args, [("--json", args.json)], folder=("--to", out_dir))
    if args.merge:
        try:
            written = prep.merge(out_dir, args.shards)
        except ValueError as error:
            raise UsageError(str(error)) from None
        out("\n".join(f"wrote {p}" for p in written))
        return EXIT_FINDINGS if json.loads(written[-1].read_text())["failed"] else EXIT_OK
    if not args.raw:
        raise UsageError("--from RAW is required (or --merge)")
    shard = args.shard or (0, 1)
    output = {field: getattr(args, flag) for flag, field in _FLAGS.items() if getattr(args, flag) is not None}
    try:
        _, plan = prep.plan_from_spec(args.spec, args.overrides, {"output": output} if output else None)
    except SpecError as error:
        for diagnostic in error.diagnostics:
            err(format_diagnostic(_as_flag_finding(diagnostic, output), args.spec))
        return EXIT_UNUSABLE
    step = plan.output
    if step.kind == "resize":
        out(f"re-encoding with {step.codec} crf {step.crf}, short side {step.short_side}, a keyframe every "
            f"{step.keyframe_interval_sec:g} s (short intervals make random clip loading fast; "
            "--keyframe-interval changes it)")
    else:
        out(f"extracting frames at {step.fps:g} fps as {step.pattern.replace('{ext}', step.image_format)}")
    if plan.cut is not None:
        out(f"cutting each video to seconds {plan.cut.start_sec}-{plan.cut.end_sec} first")
    try:
        report = prep.prepare(plan, args.raw, out_dir, shard=shard, workers=args.workers, progress=True)
    except (FileNotFoundError, ValueError) as error:  # no RAW folder; reports of another split
        raise UsageError(str(error)) from None
    if args.json:
        from graphspec.data.prepare.runner import write_json_atomic

        write_json_atomic(Path(args.json), report.to_json())
    out(report.summary())
    if shard[1] > 1:
        out(f"shard {shard[0]}/{shard[1]} done; after every shard: graphspec data prepare "
            f"{args.spec} --to {out_dir} --merge")
    return EXIT_OK if report.ok else EXIT_FINDINGS
