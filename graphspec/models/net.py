"""Generic containers: ``Net`` (a list of blocks), ``MultiPathWayWithFuse``, ``DetectionBBoxNetwork``."""
from __future__ import annotations

import math
from typing import Any, List

import torch
import torch.nn as nn

from graphspec.compiler.infer import Inference, ShapeError, TensorType
from graphspec.compiler.ir import Node, call_mode
from graphspec.compiler.rules import sequential
from graphspec.registry import register

from .weight_init import init_net_weights


def _first_block_call(node: Node) -> str:
    """A net takes its inputs as its first block does (one list, for a multi-pathway network)."""
    blocks = node.args.get("blocks") or []
    return call_mode(blocks[0]) if blocks and isinstance(blocks[0], Node) else "args"


@register(infer=sequential("blocks"), call=_first_block_call, arg_types={"blocks": nn.ModuleList})
class Net(nn.Module):
    """A general network: the blocks applied in order. Weights are initialised as PyTorchVideo does."""

    def __init__(self, *, blocks: nn.ModuleList) -> None:
        super().__init__()
        self.blocks = blocks
        init_net_weights(self)

    def forward(self, x: Any) -> Any:
        for block in self.blocks:
            x = block(x)
        return x


def _multipathway_infer(node: Node, ctx: Inference, xs: Any) -> Any:
    blocks = node.args["multipathway_blocks"]
    if not isinstance(xs, list) or len(xs) != len(blocks):
        raise ShapeError(f"expects a list of {len(blocks)} pathway inputs, got {xs}")
    outs = [ctx.run(block, x) for block, x in zip(blocks, xs)]
    return ctx.run(node.args.get("multipathway_fusion"), outs)


@register(
    infer=_multipathway_infer,
    call="list",
    arg_types={"multipathway_blocks": nn.ModuleList, "multipathway_fusion": nn.Module},
)
class MultiPathWayWithFuse(nn.Module):
    """One block per pathway, applied to the matching input, then an optional fusion of all."""

    def __init__(self, *, multipathway_blocks: nn.ModuleList, multipathway_fusion: nn.Module | None = None,
                 inplace: bool = True) -> None:
        super().__init__()
        self.multipathway_blocks = multipathway_blocks
        self.multipathway_fusion = multipathway_fusion
        self.inplace = inplace

    def forward(self, x: List[torch.Tensor]) -> List[torch.Tensor]:
        if len(x) != len(self.multipathway_blocks):
            raise ValueError(f"expected {len(self.multipathway_blocks)} pathways, got {len(x)}")
        out = x if self.inplace else list(x)
        for i, block in enumerate(self.multipathway_blocks):
            if block is not None:
                out[i] = block(x[i])
        if self.multipathway_fusion is not None:
            out = self.multipathway_fusion(out)
        return out


def _detection_infer(node: Node, ctx: Inference, x: Any, bboxes: Any) -> Any:
    if not isinstance(bboxes, TensorType) or bboxes.rank != 2:
        raise ShapeError(f"bboxes must be a 2-D (boxes, 5 or 6) tensor, got {bboxes}")
    out = ctx.run(node.args["detection_head"], ctx.run(node.args["model"], x), bboxes)
    rest = out.shape[1:]
    if not all(isinstance(d, int) for d in rest):
        raise ShapeError(f"cannot flatten symbolic dims {list(rest)} of the head's output {out}")
    return out.with_shape((out.shape[0], math.prod(rest)))


@register(infer=_detection_infer, arg_types={"model": nn.Module, "detection_head": nn.Module})
class DetectionBBoxNetwork(nn.Module):
    """A backbone ``model`` and a ``detection_head`` that also takes the boxes
    (``forward(x, bboxes)``); the head's output is flattened to one row per box."""

    def __init__(self, model: nn.Module, detection_head: nn.Module) -> None:
        super().__init__()
        self.model = model
        self.detection_head = detection_head

    def forward(self, x: Any, bboxes: torch.Tensor) -> torch.Tensor:
        out = self.detection_head(self.model(x), bboxes)
        return out.view(out.shape[0], -1)
