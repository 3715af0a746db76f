"""``NoOpConvertBlock``: any module as an efficient block whose deployable form is itself."""
from __future__ import annotations

from typing import Any

import torch.nn as nn

from .efficient_block_base import EfficientBlockBase


class NoOpConvertBlock(EfficientBlockBase):
    """Wraps ``model`` (kept at ``self.model``) so it can sit among efficient blocks;
    ``convert`` leaves it as it is."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def convert(self, *args: Any, **kwargs: Any) -> None:
        """Nothing to convert: the wrapped module is deployed as it is."""

    def forward(self, x: Any) -> Any:
        return self.model(x)
