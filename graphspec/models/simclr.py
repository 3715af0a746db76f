"""SimCLR: contrastive learning of two augmented views with the NT-Xent loss.

Also home of what the self-supervised models share: gathering embeddings from every process
with gradients (``gather_with_grad``) and the static checks of a two-view encoder.
"""
from __future__ import annotations

from typing import Any, Callable, Iterator, Optional

import torch
import torch.distributed as dist
import torch.nn as nn
import torch.nn.functional as F

from pydantic import PositiveFloat

from graphspec.compiler.infer import Inference, ShapeError, TensorType
from graphspec.compiler.ir import Node
from graphspec.layers.distributed import cat_all_gather, get_world_size
from graphspec.registry import register


# ---- gathering across processes ---------------------------------------------------------------
def _distributed() -> bool:
    return get_world_size() > 1


class _GatherWithGrad(torch.autograd.Function):
    """All-gather along dim 0 whose backward hands each process the gradient of every
    process's loss with respect to its own rows (an all-reduce, then this rank's slice)."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor) -> torch.Tensor:
        ctx.rows, ctx.rank = x.shape[0], dist.get_rank()
        return cat_all_gather(x.contiguous())

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:
        grad = grad.contiguous().clone()
        dist.all_reduce(grad)
        return grad[ctx.rank * ctx.rows : (ctx.rank + 1) * ctx.rows]


def gather_with_grad(x: torch.Tensor) -> torch.Tensor:
    """``x`` of every process concatenated along dim 0 in rank order, gradients flowing back to
    each contributor; ``x`` itself on one process. Every process must pass the same batch size.

    Under DDP (which averages gradients) a loss computed on the local rows against the gathered
    ones then trains exactly as the same loss over the global batch on one process."""
    return _GatherWithGrad.apply(x) if _distributed() else x


def rank_offset(rows: int) -> int:
    """Index of this process's first row in a gathered batch of ``rows`` rows per process."""
    return dist.get_rank() * rows if _distributed() else 0


# ---- the loss ---------------------------------------------------------------------------------
def nt_xent_loss(z1: torch.Tensor, z2: torch.Tensor, temperature: float) -> torch.Tensor:
    """NT-Xent (normalized temperature-scaled cross entropy) of paired embeddings ``(N, C)``.

    Every one of the 2N embeddings is an anchor; its positive is the other view of the same
    sample, its negatives all other embeddings of the (global, when distributed) batch:
    ``l_i = -log(exp(s_ip / t) / sum_{k != i} exp(s_ik / t))`` with cosine similarities ``s``;
    the loss is the mean over the anchors."""
    z1, z2 = F.normalize(z1, p=2, dim=1), F.normalize(z2, p=2, dim=1)
    rows = z1.shape[0]
    keys = torch.cat([gather_with_grad(z1), gather_with_grad(z2)], dim=0)  # [Z1 ; Z2], 2M rows
    total = keys.shape[0] // 2
    anchors = torch.cat([z1, z2], dim=0)
    own = torch.arange(rows, device=z1.device) + rank_offset(rows)  # global rows of the local samples
    self_index = torch.cat([own, own + total])
    positive = torch.cat([own + total, own])
    is_self = F.one_hot(self_index, 2 * total).bool()  # an anchor is not its own negative
    logits = (anchors @ keys.t() / temperature).masked_fill(is_self, float("-inf"))
    return F.cross_entropy(logits, positive)


# ---- static checks ----------------------------------------------------------------------------
def encode_infer(ctx: Inference, x1: Any, x2: Any, *stages: Optional[Node]) -> TensorType:
    """Run the two views through the encoder ``stages`` (None skipped); both must give the same
    2-D ``(B, C)`` embedding. Returns it."""
    if not isinstance(x1, TensorType) or not isinstance(x2, TensorType):
        raise ShapeError("takes two tensors, the two augmented views")
    if x1.shape != x2.shape:
        raise ShapeError(f"the two views must have the same shape, got {x1} and {x2}")
    out = x1
    for stage in stages:
        out = ctx.run(stage, out)
    if not isinstance(out, TensorType) or out.rank != 2:
        raise ShapeError(f"the encoder must give (B, C) embeddings, got {out}")
    return out


def children_in_order(*names: str) -> Callable[[Node], Iterator[tuple[str, Node]]]:
    """A ``children`` hook naming the sub-nodes in the order the module registers them (the
    state_dict order), whatever order the spec wrote the arguments in."""

    def children(node: Node) -> Iterator[tuple[str, Node]]:
        return ((name, node.args[name]) for name in names if isinstance(node.args.get(name), Node))

    return children


def node_macs(*nodes: Optional[Node]) -> int | None:
    """Sum of the counted MACs of the given child nodes (None when one is uncountable)."""
    values = [n.meta.get("macs") for n in nodes if n is not None]
    return None if any(v is None for v in values) else sum(values)


SCALAR = TensorType(())


def _simclr_infer(node: Node, ctx: Inference, x1: Any, x2: Any) -> TensorType:
    encode_infer(ctx, x1, x2, node.args.get("backbone"), node.args["mlp"])
    return SCALAR


def _simclr_macs(args: dict, inputs: tuple, out: TensorType) -> int | None:
    # the children count one view; the second view costs as much again. The B x B similarity
    # matrix depends on the batch size and is not counted.
    return node_macs(args.get("backbone"), args["mlp"])


@register(infer=_simclr_infer, macs=_simclr_macs, children=children_in_order("mlp", "backbone"), arg_types={"mlp": nn.Module, "backbone": Optional[nn.Module], "temperature": PositiveFloat})
class SimCLR(nn.Module):
    """A Simple Framework for Contrastive Learning of Visual Representations
    (https://arxiv.org/abs/2002.05709).

    ``forward(x1, x2)`` encodes both views with ``backbone`` (skipped when None: the inputs are
    then features) and the projection ``mlp``, and returns the scalar NT-Xent loss at
    ``temperature``. Under ``torch.distributed`` the negatives come from every process's batch."""

    def __init__(self, mlp: nn.Module, backbone: Optional[nn.Module] = None, temperature: float = 0.07) -> None:
        super().__init__()
        if temperature <= 0:
            raise ValueError(f"temperature must be positive, got {temperature}")
        self.mlp = mlp
        self.backbone = backbone
        self.temperature = temperature

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        if self.backbone is not None:
            x = self.backbone(x)
        return self.mlp(x)

    def forward(self, x1: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
        return nt_xent_loss(self.encode(x1), self.encode(x2), self.temperature)
