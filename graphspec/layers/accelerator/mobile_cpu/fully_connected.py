"""``FullyConnected``: a linear layer as an efficient block (already deployable: a Gemm/MatMul)."""
from __future__ import annotations

from typing import Any

import torch
import torch.nn as nn

from graphspec.accelerator.efficient_blocks.efficient_block_base import EfficientBlockBase
from graphspec.compiler.rules import BUILT, linear_infer, linear_macs
from graphspec.registry import register


@register(infer=linear_infer, state=BUILT, macs=linear_macs)
class FullyConnected(EfficientBlockBase):
    """``nn.Linear(in_features, out_features, bias)`` at ``self.model``, applied to the last dim."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True) -> None:
        super().__init__()
        self.model = nn.Linear(in_features, out_features, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)

    def convert(self, *args: Any, **kwargs: Any) -> None:
        """Already deployable."""
