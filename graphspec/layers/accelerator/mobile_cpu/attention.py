"""Squeeze-excitation as an efficient block (op ``mobile_cpu.SqueezeExcitation``; the bare name is the
X3D layer's). It wraps that layer at ``self.se`` (checkpoint keys ``se.block.0.weight``, ...);
``convert`` lowers the layer with the mobile passes (``lowering.lower_parts``) to the mobile
lowering's ``SqueezeExcitationGemm``: rank-4 global averages and its 1x1(x1) convolutions as
Linear layers (Gemm) on the pooled vector, the activation module kept as it is."""
from __future__ import annotations

from typing import Any, Iterator, Optional, Sequence

import torch
import torch.nn as nn

from graphspec.accelerator.efficient_blocks.efficient_block_base import (
    EfficientBlockBase, check_blob_size, mark_converted,
)
from graphspec.compiler.ir import Node
from graphspec.compiler.rules import BUILT
from graphspec.layers.squeeze_excitation import (
    SqueezeExcitation as _SqueezeExcitationLayer, se_infer, se_macs,
)
from graphspec.registry import register

from .activation_functions import OP_PREFIX
from .lowering import lower_parts


def _children(node: Node) -> Iterator[tuple[str, Node]]:
    """A component ``activation`` lowers to ``se.block.1``."""
    if isinstance(node.args.get("activation"), Node):
        yield "se.block.1", node.args["activation"]


# the wrapped layer's shape and MAC rules (same arguments); imported, not looked up in the
# registry, which would load every op (the models package too) at import time
@register(name=OP_PREFIX + "SqueezeExcitation", infer=se_infer, macs=se_macs, children=_children, state=BUILT)
class SqueezeExcitation(EfficientBlockBase):
    """Squeeze-excitation (global average, reduce conv, activation -- ReLU by default -- expand
    conv, sigmoid, channel-wise rescale) for 5-D (``is_3d``) or 4-D input."""

    def __init__(self, num_channels: int, num_channels_reduced: Optional[int] = None, reduction_ratio: float = 2.0,
                 is_3d: bool = False, activation: Optional[nn.Module] = None) -> None:
        super().__init__()
        self.se = _SqueezeExcitationLayer(num_channels, num_channels_reduced=num_channels_reduced,
                                          reduction_ratio=reduction_ratio, is_3d=is_3d, activation=activation)
        self.is_3d = is_3d
        self.convert_flag = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.se(x)

    def convert(self, input_blob_size: Sequence[int], **kwargs: Any) -> None:
        """Pool and Gemm form for inputs of ``input_blob_size``."""
        size = check_blob_size(self, input_blob_size, 5 if self.is_3d else 4)
        mark_converted(self)
        reduce_conv, activation = self.se.block[0], self.se.block[1]
        layer = Node("SqueezeExcitation", dict(num_channels=reduce_conv.in_channels,
                                               num_channels_reduced=reduce_conv.out_channels, is_3d=True))
        # the passes take 5-D clips: a 4-D input is a clip of one frame; the activation is kept
        # as a module (any nn.Module may be one), so its entries stay out of the lowered part's
        state = {k: v for k, v in self.se.state_dict().items() if not k.startswith("block.1.")}
        gemm = lower_parts([(layer, state)], size if self.is_3d else (*size[:2], 1, *size[2:]))[0]
        gemm.block[1] = activation
        self.se = gemm
