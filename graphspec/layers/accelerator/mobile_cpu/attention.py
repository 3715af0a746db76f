"""Squeeze-excitation as an efficient block (op ``mobile_cpu.SqueezeExcitation``; the bare name is the
X3D layer's). Its part ``se`` is that layer (checkpoint keys ``se.block.0.weight``, ...), which the
mobile passes lower to the mobile lowering's ``SqueezeExcitationGemm``: rank-4 global averages and
its 1x1(x1) convolutions as Linear layers (Gemm) on the pooled vector, the activation module kept
as it is. ``convert`` runs those passes on the block's IR (``lowering.lower_block``).
"""
from __future__ import annotations

from typing import Any, Optional, Sequence

import torch
import torch.nn as nn

from graphspec.accelerator.efficient_blocks.efficient_block_base import (
    EfficientBlockBase, check_blob_size, mark_converted,
)
from graphspec.compiler.dataflow import InSequence
from graphspec.layers.squeeze_excitation import SqueezeExcitation as _SqueezeExcitationLayer
from graphspec.registry import register

from .activation_functions import OP_PREFIX
from .lowering import lower_block
from .parts import Part, PartsBlock, part_children


@register(name=OP_PREFIX + "SqueezeExcitation", infer=InSequence(("se",)), children=part_children)
class SqueezeExcitation(PartsBlock, EfficientBlockBase):
    """Squeeze-excitation (global average, reduce conv, activation -- ReLU by default -- expand
    conv, sigmoid, channel-wise rescale) for 5-D (``is_3d``) or 4-D input."""

    def __init__(self, num_channels: int, num_channels_reduced: Optional[int] = None, reduction_ratio: float = 2.0,
                 is_3d: bool = False, activation: Optional[nn.Module] = None) -> None:
        super().__init__()
        self.build(locals())

    @classmethod
    def parts(cls, **args: Any) -> list[Part]:
        return [("se", _SqueezeExcitationLayer, args)]

    def configure(self, *, is_3d: bool = False, **args: Any) -> None:
        self.is_3d = is_3d
        self.convert_flag = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.se(x)

    def convert(self, input_blob_size: Sequence[int], **kwargs: Any) -> None:
        """Pool and Gemm form for inputs of ``input_blob_size``."""
        size = check_blob_size(self, input_blob_size, 5 if self.is_3d else 4)
        mark_converted(self)
        # the passes take 5-D clips: a 4-D input is a clip of one frame; the activation is kept
        # as a module (any nn.Module may be one), so its entries stay out of the lowered IR's
        activation = self.se.block[1]
        state = {k: v for k, v in self.state_dict().items() if not k.startswith("se.block.1.")}
        lower_block(self, size if self.is_3d else (*size[:2], 1, *size[2:]),
                    args={**self.block_args, "is_3d": True, "activation": None}, state=state)
        self.se.block[1] = activation
