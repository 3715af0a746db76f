"""Helpers shared by the accelerator tests."""
from __future__ import annotations

from typing import Callable, Sequence

import torch
import torch.nn as nn

#: module types a deployable form must not contain
NOT_DEPLOYABLE = (nn.Conv3d, nn.BatchNorm3d, nn.AvgPool3d, nn.MaxPool3d, nn.AdaptiveAvgPool3d, nn.AdaptiveAvgPool2d)


def randomize(module: nn.Module) -> nn.Module:
    """Random weights and batch norm statistics (fresh ones are identities) and eval mode."""
    for m in module.modules():
        if isinstance(m, nn.BatchNorm3d):
            m.running_mean.normal_(0, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            nn.init.normal_(m.weight, 1.0, 0.3)
            nn.init.normal_(m.bias, 0.0, 0.3)
    return module.eval()


def randomized_with_output(make: Callable[[], nn.Module],
                           shape: Sequence[int]) -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    """Under seed 0: the randomized module ``make()``, a random input of ``shape``, and the module's
    output on it (the expectation a conversion must keep)."""
    torch.manual_seed(0)
    module = randomize(make())
    x = torch.randn(shape)
    with torch.no_grad():
        return module, x, module(x)
