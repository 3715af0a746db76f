"""``FullyConnected``: a linear layer as an efficient block (already deployable: a Gemm/MatMul)."""
from __future__ import annotations

from typing import Any

import torch
import torch.nn as nn

from graphspec.accelerator.efficient_blocks.efficient_block_base import EfficientBlockBase
from graphspec.compiler.dataflow import InSequence
from graphspec.registry import register

from .parts import Part, PartsBlock, part_children


@register(infer=InSequence(("model",)), children=part_children)
class FullyConnected(PartsBlock, EfficientBlockBase):
    """``nn.Linear(in_features, out_features, bias)``, the part ``model``, applied to the last dim."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True) -> None:
        super().__init__()
        self.build(locals())

    @classmethod
    def parts(cls, **args: Any) -> list[Part]:
        return [("model", nn.Linear, args)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)

    def convert(self, *args: Any, **kwargs: Any) -> None:
        """Already deployable."""
