"""Activations as efficient blocks. Each is already deployable on mobile CPUs (``convert`` keeps it):
Swish is the mobile lowering's ``SigmoidMul`` (``x * sigmoid(x)`` as plain ops, which exporters
and quantizers see through).

``supported_act_functions`` maps the names the other blocks take (``activation="relu"``) to them.
Their ops are ``mobile_cpu.Swish``, ``mobile_cpu.ReLU``, ... (``Swish`` and ``ReLU`` name other ops).
"""
from __future__ import annotations

from typing import Any, Literal

import torch
import torch.nn as nn

from graphspec.accelerator.efficient_blocks.efficient_block_base import EfficientBlockBase
from graphspec.compiler.rules import identity_infer, no_state
from graphspec.layers.swish import SigmoidMul
from graphspec.registry import register

#: the activation names the blocks accept
ActivationName = Literal["relu", "swish", "hswish", "identity"]

#: op-name prefix of accelerator blocks whose class name another op already has
OP_PREFIX = "mobile_cpu."


class _ActivationBlock(EfficientBlockBase):
    """An activation kept at ``self.act``; its deployable form is itself."""

    def __init__(self, act: nn.Module) -> None:
        super().__init__()
        self.act = act

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(x)

    def convert(self, *args: Any, **kwargs: Any) -> None:
        """Already deployable."""


class Swish(_ActivationBlock):
    """Swish, ``x * sigmoid(x)``."""

    def __init__(self) -> None:
        super().__init__(SigmoidMul())


class HardSwish(_ActivationBlock):
    """Hard swish, ``x * relu6(x + 3) / 6`` (``nn.Hardswish``)."""

    def __init__(self) -> None:
        super().__init__(nn.Hardswish())


class ReLU(_ActivationBlock):
    """ReLU (in place)."""

    def __init__(self) -> None:
        super().__init__(nn.ReLU(inplace=True))


class Identity(_ActivationBlock):
    """No activation."""

    def __init__(self) -> None:
        super().__init__(nn.Identity())


supported_act_functions = {"relu": ReLU, "swish": Swish, "hswish": HardSwish, "identity": Identity}


def make_activation(name: str) -> EfficientBlockBase:
    """The activation block called ``name``; a ``ValueError`` listing the supported names."""
    if name not in supported_act_functions:
        raise ValueError(f"activation {name!r} is not supported on mobile_cpu; use one of {sorted(supported_act_functions)}")
    return supported_act_functions[name]()


for _cls in supported_act_functions.values():
    register(_cls, name=OP_PREFIX + _cls.__name__, infer=identity_infer, state=no_state)
