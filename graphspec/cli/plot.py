"""``graphspec plot RUN_DIR -o curves.png``: loss, learning-rate and accuracy curves of a run."""
from __future__ import annotations

import argparse

from .output import EXIT_OK, UsageError, err

HELP = "draw the loss, learning-rate and accuracy curves of a train run (needs the plot extra)"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", metavar="RUN_DIR", help="a graphspec train run folder")
    parser.add_argument("-o", "--output", default="curves.png", help="the image (png, pdf, svg; default curves.png)")


def run(args: argparse.Namespace) -> int:
    from graphspec.train.plot import PlotError, plot_run

    try:
        path = plot_run(args.run_dir, args.output)
    except PlotError as exc:
        raise UsageError(str(exc)) from None
    err(f"wrote {path}")
    return EXIT_OK
