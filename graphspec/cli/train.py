"""``graphspec train SPEC [--set ...] [--run-dir DIR] [--resume DIR|auto]``: train a ``kind: train``
spec on one process, or (under ``torchrun --nproc-per-node N -m graphspec train SPEC``) on N
with DistributedDataParallel. Ctrl-C or SIGTERM writes a checkpoint and stops (exit 130)."""
from __future__ import annotations

import argparse

from . import specs
from .output import EXIT_FINDINGS, EXIT_INTERRUPTED, EXIT_OK, UsageError, err

HELP = "train a train spec (one process, or under torchrun with DDP)"
DESCRIPTION = ("Train and evaluate a kind: train spec. The run folder (default runs/NAME) gets the resolved "
               "spec, metrics.jsonl, checkpoints/ and final.pt. Under torchrun every rank runs this command; "
               "the spec's batch_size is the global batch. Exit 0 done, 1 findings in the spec (or the export "
               "at the end failed its check), 2 unusable input, 130 stopped by Ctrl-C or SIGTERM (a checkpoint written: continue with --resume).")


def configure(parser: argparse.ArgumentParser) -> None:
    specs.add_spec_arguments(parser)
    parser.add_argument("--run-dir", metavar="DIR", help="the run folder (default runs/NAME)")
    parser.add_argument("--resume", metavar="DIR|auto",
                        help="continue the run in DIR from its last checkpoint; auto: continue --run-dir when it "
                             "holds one, else start")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from graphspec.checkpoints import WeightsError
    from graphspec.train.loop import TrainError
    from graphspec.train.run import train

    try:
        outcome = train(args.spec, overrides=args.set, run_dir=args.run_dir, resume=args.resume,
                        progress=not args.no_progress, report=err)
    except (TrainError, WeightsError) as exc:
        raise UsageError(str(exc)) from None
    if not outcome.main:
        return EXIT_INTERRUPTED if outcome.interrupted else EXIT_OK
    if outcome.export is not None:
        err(outcome.export)
    if outcome.interrupted:
        where = f" ({outcome.checkpoint})" if outcome.checkpoint else ""
        spec = outcome.run_dir / "spec.yaml" if args.set else args.spec  # the run's --set are in its spec.yaml
        err(f"stopped at step {outcome.step}; checkpoint written{where}; continue with "
            f"graphspec train {spec} --resume {outcome.run_dir}")
        return EXIT_INTERRUPTED
    err(f"done: {outcome.step} steps, {outcome.epoch} epochs; run folder {outcome.run_dir}")
    return EXIT_FINDINGS if outcome.export_failed else EXIT_OK
