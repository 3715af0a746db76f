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
from graphspec.compiler.dataflow import InSequence
from graphspec.layers.swish import SigmoidMul
from graphspec.registry import register

from .parts import Part, PartsBlock, part_children

#: the activation names the blocks accept
ActivationName = Literal["relu", "swish", "hswish", "identity"]

#: op-name prefix of accelerator blocks whose class name another op already has
OP_PREFIX = "mobile_cpu."


class _ActivationBlock(PartsBlock, EfficientBlockBase):
    """An activation, the part ``act`` (of class ``module``); its deployable form is itself."""

    module: type[nn.Module]
    module_args: dict = {}

    def __init__(self) -> None:
        super().__init__()
        self.build({})

    @classmethod
    def parts(cls) -> list[Part]:
        return [("act", cls.module, dict(cls.module_args))]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(x)

    def convert(self, *args: Any, **kwargs: Any) -> None:
        """Already deployable."""


class Swish(_ActivationBlock):
    """Swish, ``x * sigmoid(x)``."""

    module = SigmoidMul


class HardSwish(_ActivationBlock):
    """Hard swish, ``x * relu6(x + 3) / 6`` (``nn.Hardswish``)."""

    module = nn.Hardswish


class ReLU(_ActivationBlock):
    """ReLU (in place)."""

    module, module_args = nn.ReLU, {"inplace": True}


class Identity(_ActivationBlock):
    """No activation."""

    module = nn.Identity


supported_act_functions = {"relu": ReLU, "swish": Swish, "hswish": HardSwish, "identity": Identity}


def activation_class(name: str) -> type[EfficientBlockBase]:
    """The activation block class called ``name``; a ``ValueError`` listing the supported names."""
    if name not in supported_act_functions:
        raise ValueError(f"activation {name!r} is not supported on mobile_cpu; use one of {sorted(supported_act_functions)}")
    return supported_act_functions[name]


for _cls in supported_act_functions.values():
    register(_cls, name=OP_PREFIX + _cls.__name__, infer=InSequence(("act",)), children=part_children)
