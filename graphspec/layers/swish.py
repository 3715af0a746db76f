"""Swish activation, x * sigmoid(x), with a memory-saving autograd path.

``swish`` is the one plain-op spelling of it (Sigmoid and Mul): what ``Swish`` computes where
an autograd.Function cannot be captured, and ``SigmoidMul``, the module the mobile lowering puts
in Swish's place and the mobile CPU ``Swish`` block holds."""

import torch
import torch.nn as nn

from graphspec.compiler.rules import identity_infer, no_state
from graphspec.compiler.traits import ELEMENTWISE_OP
from graphspec.registry import register


def swish(x: torch.Tensor) -> torch.Tensor:
    """``x * sigmoid(x)`` as two plain ops, which exporters, quantizers and XNNPACK all take."""
    return x * torch.sigmoid(x)


class SwishFunction(torch.autograd.Function):
    """Implementation of the Swish activation function: x * sigmoid(x).

    Only the input is saved for backward; the sigmoid is recomputed there, which
    saves activation memory compared to autograd of ``x * sigmoid(x)``.
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x)
        return swish(x)

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        sigmoid_x = torch.sigmoid(x)
        # d/dx [x * s(x)] = s(x) + x * s(x) * (1 - s(x))
        return grad_output * (sigmoid_x * (1 + x * (1 - sigmoid_x)))


@register(infer=identity_infer, state=no_state, traits=ELEMENTWISE_OP)  # point-wise: no state, no MACs
class Swish(nn.Module):
    """Wrapper for the Swish activation function."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # TorchScript, tracing (incl. the ONNX exporter) and fx cannot capture a
        # Python autograd.Function, so they see the same math as plain ops.
        # is_scripting() is resolved statically, so the rest is never compiled.
        if torch.jit.is_scripting():
            return swish(x)
        if (
            torch.jit.is_tracing()
            or torch.onnx.is_in_onnx_export()
            or isinstance(x, torch.fx.Proxy)
        ):
            return swish(x)
        return SwishFunction.apply(x)


@register(infer=identity_infer, traits=ELEMENTWISE_OP)
class SigmoidMul(nn.Module):
    """Swish as the two plain ops ``x * sigmoid(x)`` (no autograd.Function to trace)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return swish(x)
