"""A training run of a compiled train spec: its folder, resume, and the final weights and export
around the loop (``loop.Trainer``); ``train`` is the entry ``graphspec train`` calls.

A run folder holds ``spec.yaml`` (the resolved spec: every part inlined, overrides applied; it
trains again as is), ``metrics.jsonl``, ``checkpoints/`` and, at the end, ``final.pt`` (the
weights) and any export.
"""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Callable, Optional

from graphspec.spec.errors import SpecError
from graphspec.spec.yaml_dump import yaml_dump

from . import checkpoint as ckpt
from .distributed import setup, teardown
from .loop import Outcome, Trainer, TrainError
from .spec import CompiledTrain, checkpoint_path


def resolved_data(result: CompiledTrain) -> dict:
    """The spec as run: parts inlined, overrides applied, the init checkpoint's path absolute."""
    data = copy.deepcopy(result.data)
    if result.spec.init is not None:
        data["init"]["checkpoint"] = checkpoint_path(result)
    return data


def train(spec: Any, *, overrides=(), run_dir: Any = None, resume: Any = None, progress: bool = True,
          stop_at_step: Optional[int] = None, report: Optional[Callable[[str], None]] = None) -> Outcome:
    """Train a train spec (a path or a compiled ``CompiledTrain``). ``run_dir`` defaults to
    ``runs/NAME``; ``resume``: a run folder to continue, or ``"auto"`` (continue ``run_dir`` when
    it holds a checkpoint). ``stop_at_step`` pauses the run there (a checkpoint, as on SIGTERM).
    ``report`` (rank 0) gets the initial-weights report before the first step; it is also in
    ``Outcome.report``."""
    from graphspec import api

    result = spec if isinstance(spec, CompiledTrain) else api.compile(spec, overrides)
    if getattr(result.spec, "kind", None) != "train":
        raise TrainError(f"{spec} is a {result.spec.kind} spec; graphspec train takes a kind: train spec")
    errors = api.blocking(result.diagnostics)
    if errors:
        raise SpecError(errors)
    run_dir, start = _run_folder(result, run_dir, resume)
    world = setup()
    try:
        text = yaml_dump(resolved_data(result))
        if start is not None:
            _same_spec(run_dir, text)
        elif world.main:
            run_dir.mkdir(parents=True, exist_ok=True)
            ckpt.write_text_atomic(run_dir / "spec.yaml", text)
        trainer = Trainer(result, run_dir, world, progress, resuming=start is not None)
        if result.spec.ranks is not None and result.spec.ranks != world.size:  # allowed: the global batch holds
            trainer.report.insert(0, f"note: the recipe is meant for {result.spec.ranks} ranks (ranks:) and runs on "
                                     f"{world.size}: {trainer.micro_batch} clips per rank and micro-batch")
        if report is not None and world.main:
            for line in trainer.report:
                report(line)
        if start is not None:
            trainer.restore(start)
        elif world.main:
            (run_dir / "metrics.jsonl").unlink(missing_ok=True)
        outcome = trainer.run(stop_at_step)
        outcome.main = world.main
        if not outcome.interrupted and world.main:
            ckpt.write_atomic(run_dir / "final.pt", trainer.model.state_dict())
            if result.spec.export is not None:
                from graphspec.export.onnx_export import ExportError

                try:
                    outcome.export = _export(result, trainer, run_dir)
                except ExportError as exc:  # a verdict on the trained model (int8 too far from fp32, ...)
                    outcome.export = f"export failed, the trained weights are in {run_dir / 'final.pt'}: {exc}"
                    outcome.export_failed = True
        return outcome
    finally:
        teardown(world)


def _run_folder(result: CompiledTrain, run_dir: Any, resume: Any) -> tuple[Path, Optional[Path]]:
    """The run folder and the checkpoint to start from (None: a fresh run)."""
    if resume not in (None, "auto"):
        folder = Path(resume)
        start = ckpt.latest(folder)
        if start is None:
            raise TrainError(f"--resume {folder}: no checkpoint in {ckpt.folder(folder)}")
        if run_dir is not None and Path(run_dir).resolve() != folder.resolve():
            raise TrainError(f"--resume {folder} continues that run in its own folder; drop --run-dir {run_dir}")
        return folder, start
    folder = Path(run_dir) if run_dir is not None else Path("runs") / result.spec.name
    start = ckpt.latest(folder)
    if start is not None and resume is None:
        raise TrainError(f"{folder} holds a run already (last checkpoint {start.name}); continue it with "
                         f"--resume {folder} (or --resume auto), or give another --run-dir")
    return folder, start


def _same_spec(run_dir: Path, text: str) -> None:
    saved = run_dir / "spec.yaml"
    if saved.exists() and saved.read_text() != text:
        raise TrainError(f"the spec (with its --set) differs from the one {run_dir} was started with; resume with "
                         f"that spec: graphspec train {saved} --resume {run_dir}")


def _export(result: CompiledTrain, trainer: Trainer, run_dir: Path) -> str:
    """The trained model exported as the spec's ``export`` asks, at the evaluation clip size."""
    from graphspec.export.spec_export import export_spec

    settings = result.spec.export
    phase = next((p for p in ("val", "val_views", "train") if p in result.models), "train")
    model = result.models.get(phase, result.model)
    model_file = run_dir / "model.yaml"
    ckpt.write_text_atomic(model_file, yaml_dump(_sized_model_data(result, model)))
    calibrate = None
    if settings.int8 and settings.calibrate is not None:
        loader = trainer.loaders[settings.calibrate]
        calibrate = [trainer.model_inputs(batch)[0].cpu() for _, batch in zip(range(4), loader)]
    output = run_dir / {"onnx": "model.onnx", "mobile": "model.mobile.onnx", "executorch": "model.pte"}[settings.to]
    cosine = {} if settings.min_cosine is None else {"min_cosine": settings.min_cosine}
    export_spec(model_file, output, to=settings.to, weights=run_dir / "final.pt", int8=settings.int8,
                calibrate=calibrate, **cosine)
    return f"exported {output}"


def _sized_model_data(result: CompiledTrain, model: Any) -> dict:
    data = copy.deepcopy(result.data["model"])
    data.setdefault("graphspec", 1)
    data.setdefault("kind", "model")
    data.setdefault("name", f"{result.spec.name}.model")
    for name, value in model.inputs.items():
        if hasattr(value, "shape"):
            data["inputs"][name] = list(value.shape)
    return data
