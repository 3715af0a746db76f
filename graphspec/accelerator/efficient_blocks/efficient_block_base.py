"""``EfficientBlockBase``: a block with two forms, the original (trainable, checkpoint-compatible)
and a deployable one for a target device that ``convert`` switches it to in place."""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Sequence

import torch.nn as nn


class EfficientBlockBase(nn.Module, ABC):
    """PyTorchVideo/Accelerator efficient block. ``convert(input_blob_size, **kwargs)`` turns it into
    its deployable form for inputs of exactly ``input_blob_size`` (e.g. ``(1, 3, 4, 160, 160)``):
    3-D convolutions become 2-D ones, batch norm is folded into the convolution before it, adaptive
    pools become fixed ones. The deployable form computes the same function (in eval mode)."""

    @abstractmethod
    def convert(self, *args: Any, **kwargs: Any) -> None:
        """Switch this block to its deployable form (in place)."""

    @abstractmethod
    def forward(self, x: Any) -> Any:
        ...


def check_blob_size(block: nn.Module, input_blob_size: Sequence[int], rank: int) -> tuple[int, ...]:
    """``input_blob_size`` as a tuple of ``rank`` positive ints, or a ``ValueError`` naming the block."""
    size = tuple(int(d) for d in input_blob_size)
    if len(size) != rank or any(d < 1 for d in size):
        raise ValueError(f"{type(block).__name__}.convert needs the {rank}-D input size it will run with, "
                         f"got {list(input_blob_size)}")
    return size


def mark_converted(block: nn.Module) -> None:
    """Blocks convert once: a second ``convert`` would reinterpret already converted weights."""
    if getattr(block, "convert_flag", False):
        raise RuntimeError(f"{type(block).__name__} is already in its deployable form")
    block.convert_flag = True
