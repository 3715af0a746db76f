"""Average pools as efficient blocks. The ``OutSize1`` (global) pools convert to the mobile
lowering's ``GlobalAvgPool`` (rank-4 global average pools, which mobile kernels run much faster
than a 5-D adaptive pool): the 3-D one through the mobile passes (``lowering.lower_parts``), the
2-D one directly (it is no video op, the passes do not take it); general adaptive pools have no
fixed form and stay as they are.

``AdaptiveAvgPool3d`` / ``AdaptiveAvgPool2d`` are the ops ``mobile_cpu.AdaptiveAvgPool3d`` / ``...2d``
(the bare names are torch's).
"""
from __future__ import annotations

from typing import Any, Sequence, Tuple, Union

import torch
import torch.nn as nn

from graphspec.accelerator.efficient_blocks.efficient_block_base import (
    EfficientBlockBase, check_blob_size, mark_converted,
)
from graphspec.compiler.infer import Inference, TensorType
from graphspec.compiler.ir import Node
from graphspec.compiler.rules import adaptive_pool_infer, expect_rank, no_state
from graphspec.registry import register

from .activation_functions import OP_PREFIX
from .lowering import lower_parts


def _global_pool_infer(rank: int):
    def rule(node: Node, ctx: Inference, x: TensorType) -> TensorType:
        expect_rank(x, rank, node.op)
        return x.with_shape((*x.shape[:2], *(1,) * (rank - 2)))

    return rule


class _GlobalAvgPool(EfficientBlockBase):
    _rank = 5

    def __init__(self, pool: nn.Module) -> None:
        super().__init__()
        self.pool = pool
        self.convert_flag = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(x)

    def convert(self, input_blob_size: Sequence[int], **kwargs: Any) -> None:
        """Replace the adaptive pool by rank-4 global average pools for inputs of ``input_blob_size``."""
        size = check_blob_size(self, input_blob_size, self._rank)
        mark_converted(self)
        if self._rank == 4:  # [N, C, H, W] is the folded layout of a one-frame clip
            from graphspec.mobile.modules import GlobalAvgPool  # the mobile backend's module

            self.pool = GlobalAvgPool(frames=1, out_layout="folded")
        else:
            self.pool = lower_parts([(Node("AdaptiveAvgPool3d", {"output_size": 1}), {})], size)[0]


@register(infer=_global_pool_infer(5), state=no_state)
class AdaptiveAvgPool3dOutSize1(_GlobalAvgPool):
    """Global average pool of a 5-D input to ``[B, C, 1, 1, 1]``."""

    def __init__(self) -> None:
        super().__init__(nn.AdaptiveAvgPool3d(1))


@register(infer=_global_pool_infer(4), state=no_state)
class AdaptiveAvgPool2dOutSize1(_GlobalAvgPool):
    """Global average pool of a 4-D input to ``[B, C, 1, 1]``."""

    _rank = 4

    def __init__(self) -> None:
        super().__init__(nn.AdaptiveAvgPool2d(1))


class _AdaptivePool(EfficientBlockBase):
    def __init__(self, pool: nn.Module) -> None:
        super().__init__()
        self.pool = pool

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(x)

    def convert(self, *args: Any, **kwargs: Any) -> None:
        """A general adaptive pool has no fixed-kernel form: deployed as it is."""


@register(name=OP_PREFIX + "AdaptiveAvgPool3d", infer=adaptive_pool_infer(3), state=no_state,
          arg_types={"output_size": Union[int, Tuple[int, int, int]]})
class AdaptiveAvgPool3d(_AdaptivePool):
    """``nn.AdaptiveAvgPool3d(output_size)``; use ``AdaptiveAvgPool3dOutSize1`` for a global pool."""

    def __init__(self, output_size: Union[int, Tuple[int, int, int]]) -> None:
        super().__init__(nn.AdaptiveAvgPool3d(output_size))


@register(name=OP_PREFIX + "AdaptiveAvgPool2d", infer=adaptive_pool_infer(2), state=no_state,
          arg_types={"output_size": Union[int, Tuple[int, int]]})
class AdaptiveAvgPool2d(_AdaptivePool):
    """``nn.AdaptiveAvgPool2d(output_size)``; use ``AdaptiveAvgPool2dOutSize1`` for a global pool."""

    def __init__(self, output_size: Union[int, Tuple[int, int]]) -> None:
        super().__init__(nn.AdaptiveAvgPool2d(output_size))
