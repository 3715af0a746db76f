"""Load a checkpoint into a lowered model: ours (``graphspec build -o``) or PyTorchVideo's, whose
module tree and state_dict keys are the same: ``--weights`` (build, export), a training run's init
checkpoint and the hub's pretrained weights all load here, below all of them. Strict,
``weights_only=True``; a mismatch is reported key by key, a file that is no state_dict in one line
that says what it is instead.

The usual wrappings are read with a note saying so: a state_dict nested under ``model_state``
(PyTorchVideo's releases), ``state_dict`` or ``model`` (training checkpoints), and keys prefixed
``module.`` (saved from a ``DistributedDataParallel``/``DataParallel`` wrapper)."""
from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Any, Optional

import torch
import torch.nn as nn

#: containers checkpoints wrap the state_dict in: PyTorchVideo's releases, training loops
_WRAPPERS = ("model_state", "state_dict", "model")
#: the prefix DistributedDataParallel / DataParallel put before every key
_DDP_PREFIX = "module."
#: the start of every file torch.save writes: a zip archive, or a legacy pickle (protocol 2+)
_TORCH_MAGIC = (b"PK\x03\x04", b"\x80")
_GLOBAL = re.compile(r"GLOBAL ([\w.]+)")


class WeightsError(ValueError):
    """The checkpoint cannot be read, or its keys or shapes do not match the model."""


class WeightsNote(UserWarning):
    """A checkpoint was read through a wrapping (nested dict, ``module.`` prefix)."""


def _unreadable(path: str | Path, exc: Exception) -> WeightsError:
    """One line saying what the file is instead of a weights-only checkpoint (torch's own
    message is several paragraphs with terminal escapes)."""
    try:
        with open(path, "rb") as f:
            head = f.read(64)
    except OSError as err:
        return WeightsError(f"{path}: cannot read the checkpoint ({err.strerror or err})")
    if not head:
        return WeightsError(f"{path}: the checkpoint is empty (0 bytes)")
    if not head.startswith(_TORCH_MAGIC):
        text = head.decode("ascii").splitlines()[0][:40] if all(32 <= b < 127 or b in b"\t\r\n" for b in head) \
            else ""
        what = f"a text file (it starts {text!r})" if text.strip() else "not a file torch.save wrote"
        return WeightsError(f"{path}: not a torch checkpoint: {what}")
    found = _GLOBAL.search(str(exc))
    if found:
        name = found.group(1)
        return WeightsError(f"{path}: holds a pickled {name} object, not a state_dict; weights-only loading "
                            "runs no pickled code, so save the weights alone: "
                            "torch.save(model.state_dict(), PATH)")
    detail = re.sub(r"\x1b\[[0-9;]*m", "", str(exc)).strip().splitlines()
    return WeightsError(f"{path}: not a readable torch checkpoint ({type(exc).__name__}"
                        + (f": {detail[0][:120]}" if detail else "") + ")")


def _is_state_dict(data: Any) -> bool:
    return isinstance(data, dict) and bool(data) and all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in data.items())


def _warn(notes: list[str]) -> None:
    for text in notes:  # at the caller of the public function that found them
        warnings.warn(text, WeightsNote, stacklevel=3)


def read_state_dict(path: str | Path, notes: Optional[list[str]] = None) -> dict[str, torch.Tensor]:
    """The state_dict in ``path`` (weights only), unwrapped from the usual containers. Each
    unwrapping is a note: appended to ``notes``, or a ``WeightsNote`` warning without it."""
    if notes is None:
        state = read_state_dict(path, found := [])
        _warn(found)
        return state
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise WeightsError(f"{path}: no such checkpoint") from None
    except IsADirectoryError:
        raise WeightsError(f"{path}: is a directory, not a checkpoint file") from None
    except Exception as exc:  # noqa: BLE001  (unpickling refused or a corrupt file: bad input)
        raise _unreadable(path, exc) from None
    for key in _WRAPPERS:
        if isinstance(data, dict) and not _is_state_dict(data) and _is_state_dict(data.get(key)):
            notes.append(f"{path}: the state_dict is nested under {key!r}; read it from there")
            data = data[key]
            break
    if not _is_state_dict(data):
        raise WeightsError(f"{path}: expected a state_dict (parameter name -> tensor), got {_shape_of(data)}")
    return data


def read_state_dict_for(model: nn.Module, path: str | Path,
                        notes: Optional[list[str]] = None) -> dict[str, torch.Tensor]:
    """``read_state_dict(path)`` without the ``module.`` prefix a DDP wrapper put on every key
    (unless ``model``'s own keys have it); notes as ``read_state_dict``'s."""
    if notes is None:
        state = read_state_dict_for(model, path, found := [])
        _warn(found)
        return state
    state = read_state_dict(path, notes)
    if not all(k.startswith(_DDP_PREFIX) for k in state) or all(k.startswith(_DDP_PREFIX) for k in model.state_dict()):
        return state
    notes.append(f"{path}: every key starts with {_DDP_PREFIX!r} (saved from a DistributedDataParallel "
                 "wrapper); read without it")
    return {k[len(_DDP_PREFIX):]: v for k, v in state.items()}


def _shape_of(data: Any) -> str:
    """What a checkpoint holds instead of a state_dict, and where its weights may be."""
    if not isinstance(data, dict):
        return f"a {type(data).__name__}"
    if not data:
        return "an empty dict"
    keys = ", ".join(map(str, list(data)[:6])) + (", ..." if len(data) > 6 else "")
    nested = [k for k, v in data.items() if isinstance(v, dict) and _is_state_dict(v)]
    hint = (f"; the weights look to be under {nested[0]!r}: save that entry alone "
            f"(torch.save(checkpoint[{nested[0]!r}], PATH))") if nested else \
        f" (a state_dict nested under {', '.join(map(repr, _WRAPPERS))} is read too)"
    return f"a dict of {keys}{hint}"


def key_diff(model: nn.Module, state: dict[str, torch.Tensor], limit: int = 12) -> list[str]:
    """Lines naming missing keys, unexpected keys and shape mismatches; [] when they agree."""
    want = model.state_dict()
    missing = [k for k in want if k not in state]
    unexpected = [k for k in state if k not in want]
    shapes = [f"{k}: checkpoint {tuple(state[k].shape)}, model {tuple(want[k].shape)}"
              for k in want if k in state and tuple(state[k].shape) != tuple(want[k].shape)]
    lines: list[str] = []
    for title, items in (("missing in the checkpoint", missing), ("not in the model", unexpected),
                         ("shape mismatch", shapes)):
        if items:
            lines.append(f"{len(items)} {title}:")
            lines += [f"  {item}" for item in items[:limit]]
            if len(items) > limit:
                lines.append(f"  ... and {len(items) - limit} more")
    return lines


def load_weights(model: nn.Module, path: str | Path, notes: Optional[list[str]] = None) -> nn.Module:
    """Load ``path`` into ``model`` strictly; ``WeightsError`` with the key diff otherwise.
    Notes on how the state_dict was found go to ``notes`` (or are ``WeightsNote`` warnings)."""
    found: list[str] = [] if notes is None else notes
    state = read_state_dict_for(model, path, found)
    diff = key_diff(model, state)
    if diff:
        raise WeightsError(f"{path} does not fit the model:\n" + "\n".join(diff))
    model.load_state_dict(state, strict=True)
    if notes is None:
        _warn(found)
    return model
