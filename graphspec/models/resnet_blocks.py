"""The residual modules of the ResNet family -- bottleneck blocks, the residual block and the
stage -- with their static rules (their dataflow declared as their ``infer`` rule). The
builders that assemble them are in ``models.resnet``, which also exports these classes (their
PyTorchVideo module)."""
from __future__ import annotations

import operator
from typing import Any, Optional

import torch
import torch.nn as nn

from graphspec.compiler.dataflow import Residual
from graphspec.compiler.infer import Inference, ShapeError, TensorType
from graphspec.compiler.ir import Node
from graphspec.compiler.rules import sequential
from graphspec.layers.utils import run_in_order
from graphspec.registry import register

_BOTTLENECK_ORDER = ("conv_a", "norm_a", "act_a", "conv_b", "norm_b", "act_b", "conv_c", "norm_c")


@register(infer=sequential(*_BOTTLENECK_ORDER))
class BottleneckBlock(nn.Module):
    """conv_a -> norm_a -> act_a -> conv_b -> norm_b -> act_b -> conv_c -> norm_c (None skipped)."""

    def __init__(self, *, conv_a: Optional[nn.Module] = None, norm_a: Optional[nn.Module] = None,
                 act_a: Optional[nn.Module] = None, conv_b: Optional[nn.Module] = None,
                 norm_b: Optional[nn.Module] = None, act_b: Optional[nn.Module] = None,
                 conv_c: Optional[nn.Module] = None, norm_c: Optional[nn.Module] = None) -> None:
        super().__init__()
        self.conv_a, self.norm_a, self.act_a = conv_a, norm_a, act_a
        self.conv_b, self.norm_b, self.act_b = conv_b, norm_b, act_b
        self.conv_c, self.norm_c = conv_c, norm_c
        assert all(c is not None for c in (self.conv_a, self.conv_b, self.conv_c))
        if self.norm_c is not None:
            self.norm_c.block_final_bn = True  # zero-initialised by init_net_weights

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return run_in_order(self, _BOTTLENECK_ORDER, x)


def _separable_infer(node: Node, ctx: Inference, x: TensorType) -> TensorType:
    a = node.args
    x = sequential("conv_a", "norm_a", "act_a")(node, ctx, x)
    branches = []
    for i, conv in enumerate(a["conv_b"]):
        y = ctx.run(conv, x)
        for key in ("norm_b", "act_b"):
            if a.get(key) and i < len(a[key]):
                y = ctx.run(a[key][i], y)
        branches.append(y)
    if a.get("reduce_method", "sum") == "sum":
        if any(b.shape != branches[0].shape for b in branches):
            raise ShapeError(f"conv_b branches differ in shape: {', '.join(map(str, branches))}", "conv_b")
        x = branches[0]
    else:
        x = branches[0].with_shape((x.shape[0], sum(b.shape[1] for b in branches), *branches[0].shape[2:]))
    return sequential("conv_c", "norm_c")(node, ctx, x)


@register(infer=_separable_infer, arg_types={"conv_b": nn.ModuleList, "norm_b": nn.ModuleList,
                                              "act_b": nn.ModuleList})
class SeparableBottleneckBlock(nn.Module):
    """A bottleneck whose conv_b is several parallel convolutions reduced by sum or concat."""

    def __init__(self, *, conv_a: nn.Module, norm_a: Optional[nn.Module], act_a: Optional[nn.Module],
                 conv_b: nn.ModuleList, norm_b: Optional[nn.ModuleList], act_b: Optional[nn.ModuleList],
                 conv_c: nn.Module, norm_c: Optional[nn.Module], reduce_method: str = "sum") -> None:
        super().__init__()
        if reduce_method not in ("sum", "cat"):
            raise ValueError(f"reduce_method must be 'sum' or 'cat', got {reduce_method!r}")
        self.conv_a, self.norm_a, self.act_a = conv_a, norm_a, act_a
        self.conv_b, self.norm_b, self.act_b = conv_b, norm_b, act_b
        self.conv_c, self.norm_c, self.reduce_method = conv_c, norm_c, reduce_method
        if self.norm_c is not None:
            self.norm_c.block_final_bn = True

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in (self.conv_a, self.norm_a, self.act_a):
            if layer is not None:
                x = layer(x)
        outs = []
        for i, conv in enumerate(self.conv_b):
            y = conv(x)
            for layers in (self.norm_b, self.act_b):
                if layers is not None and i < len(layers):
                    y = layers[i](y)
            outs.append(y)
        x = torch.stack(outs, dim=0).sum(dim=0) if self.reduce_method == "sum" else torch.cat(outs, dim=1)
        for layer in (self.conv_c, self.norm_c):
            if layer is not None:
                x = layer(x)
        return x


def _fusion_infer(node: Node, shortcut: TensorType, residual: TensorType) -> TensorType:
    fusion = node.args.get("branch_fusion", "sum")
    if fusion in (None, "sum"):
        if shortcut.shape != residual.shape:
            raise ShapeError(f"shortcut {shortcut} and residual branch {residual} differ in shape")
        out = residual
    elif not callable(fusion):  # a spec wrote some other value: the module would call it
        raise ShapeError(f"branch_fusion {fusion!r} is not 'sum' or a callable", "branch_fusion")
    else:  # a Python callable: find its result shape on the meta device
        def meta(t: TensorType) -> torch.Tensor:
            return torch.empty([d if isinstance(d, int) else 1 for d in t.shape], device="meta")

        got = fusion(meta(shortcut), meta(residual))
        out = residual.with_shape([r if isinstance(r, str) else g for r, g in zip(residual.shape, got.shape)])
    return out


@register(infer=Residual(shortcut=("branch1_conv", "branch1_norm"), branch=("branch2",), after=("activation",),
                         merge=_fusion_infer), arg_types={"branch_fusion": Any})
class ResBlock(nn.Module):
    """Residual block: ``activation(branch_fusion(shortcut(x), branch2(x)))``; the shortcut is
    identity, or branch1_conv (+ branch1_norm). ``branch_fusion`` is ``"sum"`` or a callable."""

    def __init__(self, branch1_conv: Optional[nn.Module] = None, branch1_norm: Optional[nn.Module] = None,
                 branch2: Optional[nn.Module] = None, activation: Optional[nn.Module] = None,
                 branch_fusion: Any = "sum") -> None:
        super().__init__()
        self.branch1_conv, self.branch1_norm, self.branch2 = branch1_conv, branch1_norm, branch2
        self.activation = activation
        self.branch_fusion = operator.add if branch_fusion in (None, "sum") else branch_fusion
        assert self.branch2 is not None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.branch1_conv is None:
            x = self.branch_fusion(x, self.branch2(x))
        else:
            shortcut = self.branch1_conv(x)
            if self.branch1_norm is not None:
                shortcut = self.branch1_norm(shortcut)
            x = self.branch_fusion(shortcut, self.branch2(x))
        if self.activation is not None:
            x = self.activation(x)
        return x


@register(infer=sequential("res_blocks"), arg_types={"res_blocks": nn.ModuleList})
class ResStage(nn.Module):
    """A stage: residual blocks applied in order."""

    def __init__(self, res_blocks: nn.ModuleList) -> None:
        super().__init__()
        self.res_blocks = res_blocks

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.res_blocks:
            x = block(x)
        return x
