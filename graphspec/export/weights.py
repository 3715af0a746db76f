"""Checkpoint loading for ``--weights``: the reading lives in ``graphspec.checkpoints``, below the
models, so that the hub's pretrained weights load through it too; its names import from here too."""
from graphspec.checkpoints import (  # noqa: F401
    WeightsError,
    WeightsNote,
    _unreadable,
    key_diff,
    load_weights,
    read_state_dict,
    read_state_dict_for,
)
