"""Load a checkpoint into a lowered model: ours (``graphspec build -o``) or PyTorchVideo's, whose
module tree and state_dict keys are the same. Strict, ``weights_only=True``; a mismatch is
reported key by key."""
from __future__ import annotations

from pathlib import Path

import torch
import torch.nn as nn

#: containers PyTorchVideo's released checkpoints wrap the state_dict in
_WRAPPERS = ("model_state", "state_dict", "model")


class WeightsError(ValueError):
    """The checkpoint cannot be read, or its keys or shapes do not match the model."""


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise WeightsError(f"{path}: no such checkpoint") from None
    except Exception as exc:  # noqa: BLE001  (unpickling refused or a corrupt file: bad input)
        raise WeightsError(f"{path}: not a weights-only torch checkpoint ({type(exc).__name__}: "
                           f"{str(exc).strip().splitlines()[0] if str(exc).strip() else ''})") from None
    for key in _WRAPPERS:
        if isinstance(data, dict) and isinstance(data.get(key), dict) and not isinstance(data.get(key), torch.Tensor):
            data = data[key]
            break
    if not isinstance(data, dict) or not all(isinstance(v, torch.Tensor) for v in data.values()):
        raise WeightsError(f"{path}: expected a state_dict (name -> tensor)")
    return data


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


def load_weights(model: nn.Module, path: str | Path) -> nn.Module:
    """Load ``path`` into ``model`` strictly; ``WeightsError`` with the key diff otherwise."""
    state = read_state_dict(path)
    diff = key_diff(model, state)
    if diff:
        raise WeightsError(f"{path} does not fit the model:\n" + "\n".join(diff))
    model.load_state_dict(state, strict=True)
    return model
