"""Checkpoints of a run (``RUN_DIR/checkpoints/step-NNNNNNNN.pt``), written atomically, the last
``keep_last`` kept; all loading is ``weights_only=True``. ``init_weights`` starts a model from
a checkpoint (ours or PyTorchVideo's) and reports what loaded; tensors of another shape (a head
for another number of classes) keep the model's fresh initialisation and are named."""
from __future__ import annotations

import os
import random
import re
from pathlib import Path
from typing import Any, Callable

import torch
import torch.nn as nn

_NAME = re.compile(r"^step-(\d{8})\.pt$")


def folder(run_dir: Path) -> Path:
    return Path(run_dir) / "checkpoints"


def path_for(run_dir: Path, step: int) -> Path:
    return folder(run_dir) / f"step-{step:08d}.pt"


def saved(run_dir: Path) -> list[Path]:
    """The run's checkpoints, oldest first."""
    found = folder(run_dir)
    if not found.is_dir():
        return []
    return sorted(p for p in found.iterdir() if _NAME.match(p.name))


def latest(run_dir: Path) -> Path | None:
    items = saved(run_dir)
    return items[-1] if items else None


def atomic(path: str | os.PathLike, write: Callable[[Path], Any]) -> Path:
    """``write(tmp)`` to a temporary file beside ``path`` (same suffix), then rename: a reader (or
    a run killed while writing) never sees half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp{path.suffix}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def write_atomic(path: Path, state: dict) -> None:
    atomic(path, lambda tmp: torch.save(state, tmp))


def write_text_atomic(path: Path, text: str) -> None:
    atomic(path, lambda tmp: tmp.write_text(text))


def save(run_dir: Path, step: int, state: dict, keep_last: int) -> Path:
    path = path_for(run_dir, step)
    write_atomic(path, state)
    for old in saved(run_dir)[:-keep_last]:
        old.unlink(missing_ok=True)
    return path


#: what every checkpoint of a run holds (``Trainer.state``)
RUN_KEYS = ("model", "optimizer", "scheduler", "scaler", "epoch", "batches_in_epoch", "step", "rng", "rank_rng")


def load(path: Path) -> dict:
    """A run's checkpoint (weights only); ``WeightsError`` in one line for a file that is none."""
    from graphspec.checkpoints import WeightsError, _unreadable

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001  (a corrupt or foreign file: bad input)
        raise _unreadable(path, exc) from None
    missing = [key for key in RUN_KEYS if not isinstance(state, dict) or key not in state]
    if missing:
        raise WeightsError(f"{path}: not a checkpoint of graphspec train (no {', '.join(missing)})")
    return state


def rng_state() -> dict:
    state: dict[str, Any] = {"torch": torch.get_rng_state(), "python": random.getstate()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    random.setstate(_as_tuples(state["python"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _as_tuples(value: Any) -> Any:
    return tuple(_as_tuples(v) for v in value) if isinstance(value, (list, tuple)) else value


def init_weights(model: nn.Module, path: str | os.PathLike, reinit_mismatched: bool = True) -> list[str]:
    """Load the tensors of checkpoint ``path`` that fit ``model``; lines reporting what loaded
    (and how the state_dict was found: nested, saved from a DDP wrapper). ``WeightsError`` when
    keys are missing or unexpected (another model), or shapes differ without ``reinit_mismatched``."""
    from graphspec.checkpoints import WeightsError, key_diff, read_state_dict_for

    notes: list[str] = []
    state = read_state_dict_for(model, path, notes)
    want = model.state_dict()
    mismatched = [k for k in want if k in state and tuple(state[k].shape) != tuple(want[k].shape)]
    missing = [k for k in want if k not in state]
    unexpected = [k for k in state if k not in want]
    if missing or unexpected or (mismatched and not reinit_mismatched):
        raise WeightsError(f"{path} does not fit the model:\n" + "\n".join(key_diff(model, state)))
    fitting = {k: v for k, v in state.items() if k not in mismatched}
    model.load_state_dict({**want, **fitting}, strict=True)
    lines = [f"loaded {len(fitting)} of {len(want)} tensors from {path}", *(f"note: {n}" for n in notes)]
    for key in mismatched:
        lines.append(f"re-initialised {key}: checkpoint {tuple(state[key].shape)}, model {tuple(want[key].shape)}")
    return lines

