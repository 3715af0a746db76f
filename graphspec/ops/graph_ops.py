"""Small dataflow ops for explicit graphs: they combine the outputs of several nodes."""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn

from graphspec.compiler.infer import Inference, ShapeError, TensorType
from graphspec.compiler.ir import Node
from graphspec.registry import register


def _tensors(node: Node, inputs: tuple, at_least: int) -> list[TensorType]:
    if len(inputs) < at_least or not all(isinstance(x, TensorType) for x in inputs):
        raise ShapeError(f"{node.op} takes at least {at_least} tensors, got {len(inputs)} inputs")
    return list(inputs)


def _concat_infer(node: Node, ctx: Inference, *inputs: TensorType) -> TensorType:
    xs = _tensors(node, inputs, 1)
    rank = xs[0].rank
    dim = _axis(node.args.get("dim", 1), rank, "dim")
    total = 0
    for i, x in enumerate(xs):
        if x.rank != rank:
            raise ShapeError(f"input {i} is {x.rank}-D, input 0 is {rank}-D")
        for d, (a, b) in enumerate(zip(x.shape, xs[0].shape)):
            if d != dim and a != b:
                raise ShapeError(f"input {i} has shape {x}, input 0 has {xs[0]}: dim {d} differs", "dim")
        if not isinstance(x.shape[dim], int):
            raise ShapeError(f"cannot concatenate along symbolic dim {x.shape[dim]!r}", "dim")
        total += x.shape[dim]
    return xs[0].with_shape(xs[0].shape[:dim] + (total,) + xs[0].shape[dim + 1 :])


def _axis(dim: int, rank: int, arg: str) -> int:
    """``dim`` as an index into ``rank`` dims (negative counts from the end, as torch does)."""
    if not -rank <= dim < rank:
        raise ShapeError(f"{arg}={dim} is out of range for a {rank}-D input (-{rank} to {rank - 1})", arg)
    return dim % rank


def _broadcast_infer(node: Node, ctx: Inference, *inputs: TensorType) -> TensorType:
    xs = _tensors(node, inputs, 2)
    rank = max(x.rank for x in xs)
    out = []
    for d in range(rank):
        sizes = {x.shape[d - rank + x.rank] for x in xs if d - rank + x.rank >= 0} - {1}
        if len(sizes) > 1:
            raise ShapeError(f"shapes {', '.join(map(str, xs))} do not broadcast (dim {d})")
        out.append(sizes.pop() if sizes else 1)
    return xs[0].with_shape(out)


@register(kind="graph", infer=_concat_infer)
class Concat(nn.Module):
    """Concatenate the inputs along ``dim``."""

    def __init__(self, dim: int = 1) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        return torch.cat(xs, dim=self.dim)


@register(kind="graph", infer=_broadcast_infer)
class Add(nn.Module):
    """Element-wise sum of the inputs (with broadcasting)."""

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        out = xs[0]
        for x in xs[1:]:
            out = out + x
        return out


@register(kind="graph", infer=_broadcast_infer)
class Multiply(nn.Module):
    """Element-wise product of the inputs (with broadcasting)."""

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        out = xs[0]
        for x in xs[1:]:
            out = out * x
        return out


def _flatten_infer(node: Node, ctx: Inference, x: TensorType) -> TensorType:
    if not isinstance(x, TensorType):
        raise ShapeError(f"Flatten takes one tensor, got a list of {len(x)}")
    start = _axis(node.args.get("start_dim", 1), x.rank, "start_dim")
    tail = x.shape[start:]
    size = 1
    for d in tail:
        if not isinstance(d, int):
            raise ShapeError(f"cannot flatten symbolic dims {list(tail)}", "start_dim")
        size *= d
    return x.with_shape(x.shape[:start] + (size,))


@register(kind="graph", infer=_flatten_infer)
class Flatten(nn.Module):
    """Flatten all dims from ``start_dim`` on."""

    def __init__(self, start_dim: int = 1) -> None:
        super().__init__()
        self.start_dim = start_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.flatten(x, self.start_dim)


def _permute_infer(node: Node, ctx: Inference, x: TensorType) -> TensorType:
    dims = list(node.args["dims"])
    if not isinstance(x, TensorType):
        raise ShapeError(f"Permute takes one tensor, got a list of {len(x)}")
    if sorted(dims) != list(range(x.rank)):
        raise ShapeError(f"dims {dims} is not a permutation of the {x.rank} dims of {x}", "dims")
    return x.with_shape([x.shape[d] for d in dims])


@register(kind="graph", infer=_permute_infer)
class Permute(nn.Module):
    """Reorder dims (``x.permute(dims)``)."""

    def __init__(self, dims: Sequence[int]) -> None:
        super().__init__()
        self.dims = tuple(dims)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.permute(self.dims)
