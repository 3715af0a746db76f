"""Curves of a run folder's ``metrics.jsonl``: training loss, learning rate and evaluation
top-k against the optimizer step, drawn with matplotlib (the ``plot`` extra:
``pip install 'graphspec[plot]'``)."""
from __future__ import annotations

import os
from pathlib import Path

from .checkpoint import atomic
from .metrics import MetricsError, read


class PlotError(Exception):
    """The run folder has nothing to draw, or matplotlib is missing."""


def plot_run(run_dir: str | os.PathLike, output: str | os.PathLike) -> Path:
    """Draw the curves of ``run_dir`` into ``output`` (png, pdf or svg, by its suffix), atomically."""
    log = Path(run_dir) / "metrics.jsonl"
    if not log.is_file():
        raise PlotError(f"{run_dir}: no metrics.jsonl (not a graphspec train run folder?)")
    try:
        records = read(log)
    except MetricsError as exc:
        raise PlotError(str(exc)) from None
    train = [r for r in records if r["phase"] == "train"]
    if not train:
        raise PlotError(f"{log}: no training steps logged yet")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ModuleNotFoundError:
        raise PlotError("graphspec plot needs matplotlib: pip install 'graphspec[plot]'") from None
    evals = {phase: [r for r in records if r["phase"] == phase] for phase in ("val", "val_views")}
    figure, axes = plt.subplots(1, 3, figsize=(14, 4), constrained_layout=True)
    formats = figure.canvas.get_supported_filetypes()
    if Path(output).suffix.lstrip(".").lower() not in formats:
        plt.close(figure)
        raise PlotError(f"{output}: matplotlib writes no {Path(output).suffix or 'suffix-less'} file; name one "
                        f"ending in {', '.join('.' + f for f in sorted(formats))}")
    steps = [r["step"] for r in train]
    axes[0].plot(steps, [r["loss"] for r in train], label="train")
    for phase, rows in evals.items():
        if rows and "loss" in rows[0]:
            axes[0].plot([r["step"] for r in rows], [r["loss"] for r in rows], "o-", label=phase)
    axes[1].plot(steps, [r["lr"] for r in train])
    for phase, rows in evals.items():
        for key in sorted({k for r in rows for k in r if k.startswith("top")}):
            axes[2].plot([r["step"] for r in rows], [r[key] for r in rows], "o-", label=f"{phase} {key}")
    for ax, title in zip(axes, ("loss", "learning rate", "accuracy")):
        ax.set_title(title)
        ax.set_xlabel("step")
        if ax.get_legend_handles_labels()[0]:
            ax.legend()
    try:
        return atomic(output, figure.savefig)
    finally:
        plt.close(figure)
