"""Non-parametric instance discrimination with a memory bank (https://arxiv.org/pdf/1805.01978.pdf;
the memory bank of https://arxiv.org/pdf/1911.05722.pdf)."""
from __future__ import annotations

import math
from typing import Annotated, Any, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from pydantic import Field, PositiveFloat, PositiveInt

from graphspec.compiler.infer import BUILT, Inference, ShapeError, TensorType
from graphspec.compiler.ir import Node
from graphspec.layers.distributed import cat_all_gather
from graphspec.registry import register

from .simclr import SCALAR, children_in_order


def _memory_bank_infer(node: Node, ctx: Inference, x: Any, x_ind: Any) -> TensorType:
    a = node.args
    if not isinstance(x_ind, TensorType) or x_ind.rank != 1:
        raise ShapeError(f"x_ind must be a 1-D tensor of dataset indices, got {x_ind}")
    if isinstance(x, TensorType) and x.shape[0] != x_ind.shape[0]:
        raise ShapeError(f"x has batch {x.shape[0]}, x_ind has {x_ind.shape[0]} indices")
    out = ctx.run(a.get("mlp"), ctx.run(a["backbone"], x))
    if not isinstance(out, TensorType) or out.rank != 2:
        raise ShapeError(f"the backbone (and mlp) must give (B, C) embeddings, got {out}")
    if out.shape[1] != a["dim"]:
        raise ShapeError(f"the embeddings have {out.shape[1]} channels, the bank dim is {a['dim']}", "dim")
    return SCALAR


def _memory_bank_macs(a: dict, inputs: tuple, out: TensorType) -> int:
    return (a["neg_size"] + 1) * a["dim"]  # one clip against its positive and negatives


@register(
    infer=_memory_bank_infer, state=BUILT, macs=_memory_bank_macs,
    children=children_in_order("backbone", "mlp"),
    arg_types={"backbone": nn.Module, "mlp": Optional[nn.Module], "neg_size": PositiveInt,
               "temperature": PositiveFloat, "bank_size": PositiveInt, "dim": PositiveInt,
               "mmt": Annotated[float, Field(ge=0, le=1)]},
)
class MemoryBank(nn.Module):
    """Non-parametric instance discrimination: each training sample is its own class.

    ``memory`` (a ``bank_size x dim`` buffer, one embedding per dataset sample, initialized
    uniformly in ``[-s, s]`` with ``s = 1 / sqrt(dim / 3)`` and unit-norm once updated) keeps the
    latest embedding of every sample. ``forward(x, x_ind)`` embeds the clips (backbone, then ``mlp``
    when given, then L2 normalization), scores each against its own bank entry (the positive)
    and ``neg_size`` entries drawn uniformly from the bank with replacement (the negatives; so
    ``neg_size`` may exceed ``bank_size``, as in PyTorchVideo), and returns the
    cross entropy of the scores divided by ``temperature`` with the positive as the label. In
    training mode the bank entries of the batch then move to
    ``normalize(mmt * memory[x_ind] + (1 - mmt) * embedding)``; under ``torch.distributed`` every
    process applies the updates of the whole (gathered) batch, so replicas that start equal stay
    equal (under DDP, ``broadcast_buffers=False`` spares sending the bank at every forward)."""

    def __init__(self, backbone: nn.Module, mlp: Optional[nn.Module] = None, neg_size: int = 4096,
                 temperature: float = 0.07, bank_size: int = 1280000, dim: int = 2048, mmt: float = 0.999) -> None:
        super().__init__()
        self.backbone = backbone
        self.mlp = mlp
        self.neg_size, self.temperature, self.bank_size, self.dim, self.mmt = (
            neg_size, temperature, bank_size, dim, mmt)
        bound = 1.0 / math.sqrt(dim / 3)
        self.register_buffer("memory", torch.rand(bank_size, dim).mul_(2 * bound).sub_(bound))

    def sample_indices(self, x_ind: torch.Tensor) -> torch.Tensor:
        """Bank rows to score, ``(B, 1 + neg_size)``: the sample's own row first, then the negatives
        (uniform, with replacement)."""
        negatives = torch.randint(0, self.bank_size, (x_ind.shape[0], self.neg_size), device=x_ind.device)
        return torch.cat([x_ind.view(-1, 1).to(negatives), negatives], dim=1)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        x = self.backbone(x)
        if self.mlp is not None:
            x = self.mlp(x)
        return F.normalize(x, p=2, dim=1)

    def forward(self, x: torch.Tensor, x_ind: torch.Tensor) -> torch.Tensor:
        x = self.embed(x)
        rows = self.sample_indices(x_ind)
        weight = self.memory[rows].detach()  # (B, 1 + neg_size, dim)
        logits = torch.einsum("bkc,bc->bk", weight, x) / self.temperature
        loss = F.cross_entropy(logits, torch.zeros(x.shape[0], dtype=torch.long, device=x.device))
        if self.training:
            self.update_memory(x.detach(), x_ind)
        return loss

    @torch.no_grad()
    def update_memory(self, x: torch.Tensor, x_ind: torch.Tensor) -> None:
        """Move the bank rows ``x_ind`` towards the embeddings ``x`` (of every process)."""
        x, x_ind = cat_all_gather(x), cat_all_gather(x_ind.to(self.memory.device).long())
        updated = F.normalize(self.memory[x_ind] * self.mmt + x * (1 - self.mmt), p=2, dim=1)
        self.memory.index_copy_(0, x_ind, updated)
