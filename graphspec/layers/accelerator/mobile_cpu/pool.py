"""Average pools as efficient blocks, each the part ``pool`` (torch's adaptive pool). The
``OutSize1`` (global) pools convert to the mobile lowering's ``GlobalAvgPool`` (rank-4 global
average pools, which mobile kernels run much faster than a 5-D adaptive pool): the 3-D one through
the mobile passes (``lowering.lower_block``), the 2-D one directly (it is no video op, the passes do
not take it). A general adaptive pool has no fixed form: its ``convert`` runs the passes too, which
lower it only where it is a global one.

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
from graphspec.compiler.dataflow import InSequence
from graphspec.registry import register

from .activation_functions import OP_PREFIX
from .lowering import lower_block
from .parts import Part, PartsBlock, part_children

#: every pool block's rules: its part's (shape, state, MACs)
_RULES = dict(infer=InSequence(("pool",)), children=part_children)


class _Pool(PartsBlock, EfficientBlockBase):
    """``pool``: ``nn.AdaptiveAvgPool{rank - 2}d(output_size)``."""

    rank = 5
    #: a general adaptive pool is deployed as it is where it is no global one
    keeps_pool = False

    @classmethod
    def parts(cls, output_size: Any = 1) -> list[Part]:
        pool = nn.AdaptiveAvgPool3d if cls.rank == 5 else nn.AdaptiveAvgPool2d
        return [("pool", pool, {"output_size": output_size})]

    def configure(self, **args: Any) -> None:
        self.convert_flag = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(x)

    def convert(self, input_blob_size: Sequence[int], **kwargs: Any) -> None:
        """The mobile lowering of the pool for inputs of ``input_blob_size`` (a general adaptive
        pool stays as it is)."""
        size = check_blob_size(self, input_blob_size, self.rank)
        mark_converted(self)
        lower_block(self, size, keeps=frozenset({"AdaptiveAvgPool3d"}) if self.keeps_pool else frozenset())


@register(**_RULES)
class AdaptiveAvgPool3dOutSize1(_Pool):
    """Global average pool of a 5-D input to ``[B, C, 1, 1, 1]``."""

    def __init__(self) -> None:
        super().__init__()
        self.build({})


@register(**_RULES)
class AdaptiveAvgPool2dOutSize1(_Pool):
    """Global average pool of a 4-D input to ``[B, C, 1, 1]``."""

    rank = 4

    def __init__(self) -> None:
        super().__init__()
        self.build({})

    def convert(self, input_blob_size: Sequence[int], **kwargs: Any) -> None:
        """Rank-4 global average pools (``[N, C, H, W]`` is the folded layout of a one-frame clip)."""
        check_blob_size(self, input_blob_size, 4)
        mark_converted(self)
        from graphspec.mobile.modules import GlobalAvgPool  # the mobile backend's module

        self.pool = GlobalAvgPool(frames=1, out_layout="folded")


@register(name=OP_PREFIX + "AdaptiveAvgPool3d", **_RULES, arg_types={"output_size": Union[int, Tuple[int, int, int]]})
class AdaptiveAvgPool3d(_Pool):
    """``nn.AdaptiveAvgPool3d(output_size)``; use ``AdaptiveAvgPool3dOutSize1`` for a global pool."""

    keeps_pool = True

    def __init__(self, output_size: Union[int, Tuple[int, int, int]]) -> None:
        super().__init__()
        self.build(locals())


@register(name=OP_PREFIX + "AdaptiveAvgPool2d", **_RULES, arg_types={"output_size": Union[int, Tuple[int, int]]})
class AdaptiveAvgPool2d(_Pool):
    """``nn.AdaptiveAvgPool2d(output_size)``; use ``AdaptiveAvgPool2dOutSize1`` for a global pool."""

    rank = 4

    def __init__(self, output_size: Union[int, Tuple[int, int]]) -> None:
        super().__init__()
        self.build(locals())
