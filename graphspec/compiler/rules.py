"""Shape, state and MAC rules shared by many ops. Op tables pick a rule and its parameters.

MACs follow fvcore's counting: convolutions, linear layers, matmuls and batch norm (one per
element, two with an affine transform, as fvcore counts eval-mode batch norm); pooling,
activations and element-wise ops count zero.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Sequence

from . import symbols
from .dataflow import InSequence
from .infer import BUILT, Dim, Inference, ShapeError, TensorType, per_sample_numel  # noqa: F401  (BUILT: for op tables)
from .ir import Node


def ntuple(value: Any, n: int) -> tuple:
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise ShapeError(f"expected {n} values, got {list(value)}")
        return tuple(value)
    return (value,) * n


def window_out(size: Dim, kernel: int, stride: int, pad: int, dilation: int = 1, ceil: bool = False) -> Dim:
    """Output length of a sliding window (conv or pool) along one dimension."""
    if kernel < 1 or stride < 1 or dilation < 1 or pad < 0:
        raise ShapeError(f"kernel {kernel}, stride {stride}, dilation {dilation} must be >= 1 and padding {pad} >= 0",
                         "kernel_size" if kernel < 1 else "stride" if stride < 1 else "padding")
    span = dilation * (kernel - 1) + 1
    if isinstance(size, str):
        return symbols.window(size, span, stride, pad)
    if size + 2 * pad < span:
        raise ShapeError(f"window {kernel} (dilation {dilation}) larger than padded input {size}+2*{pad}", "kernel_size")
    numerator = size + 2 * pad - span
    out = (-(-numerator // stride) if ceil else numerator // stride) + 1
    if ceil and (out - 1) * stride >= size + pad:  # torch drops a last window that starts in padding
        out -= 1
    return out


def expect_rank(x: TensorType, rank: int, what: str) -> None:
    if not isinstance(x, TensorType):
        raise ShapeError(f"{what} takes one tensor, got a list of {len(x)}")
    if x.rank != rank:
        raise ShapeError(f"{what} expects a {rank}-D input, got {x.rank}-D {x}")


def expect_channels(x: TensorType, channels: int, arg: str, dim: int = 1) -> None:
    got = x.shape[dim]
    if isinstance(got, int) and got != channels:
        raise ShapeError(f"expects {channels} input channels ({arg}={channels}), got {got}", arg)


# ---- convolution ------------------------------------------------------------------------------
def conv_infer(nd: int) -> Callable:
    def rule(node: Node, ctx: Inference, x: TensorType) -> TensorType:
        a = node.args
        expect_rank(x, nd + 2, f"Conv{nd}d")
        for arg in ("in_channels", "out_channels"):
            if a[arg] < 1:
                raise ShapeError(f"{arg} must be at least 1, got {a[arg]}", arg)
        expect_channels(x, a["in_channels"], "in_channels")
        groups = a.get("groups", 1)
        if a["in_channels"] % groups or a["out_channels"] % groups:
            raise ShapeError(f"groups={groups} must divide in_channels={a['in_channels']} and out_channels", "groups")
        k = ntuple(a["kernel_size"], nd)
        s = ntuple(a.get("stride", 1), nd)
        d = ntuple(a.get("dilation", 1), nd)
        p = a.get("padding", 0)
        if p == "valid":
            p = 0
        if p == "same":
            if any(stride != 1 for stride in s):
                raise ShapeError(f"padding 'same' needs stride 1, got {list(s)}", "padding")
            spatial = x.shape[2:]
        elif isinstance(p, str):  # torch's Conv refuses any other padding string
            raise ShapeError(f"padding {p!r} is not 'same' or 'valid' (or a size)", "padding")
        else:
            p = ntuple(p, nd)
            spatial = tuple(window_out(x.shape[2 + i], k[i], s[i], p[i], d[i]) for i in range(nd))
        return x.with_shape((x.shape[0], a["out_channels"], *spatial))

    return rule


def conv_macs(nd: int) -> Callable:
    def rule(a: dict, inputs: tuple, out: TensorType) -> int | None:
        n = per_sample_numel(out)
        k = ntuple(a["kernel_size"], nd)
        return None if n is None else n * (a["in_channels"] // a.get("groups", 1)) * math.prod(k)

    return rule


# ---- pooling ----------------------------------------------------------------------------------
def pool_infer(nd: int, with_dilation: bool) -> Callable:
    def rule(node: Node, ctx: Inference, x: TensorType) -> TensorType:
        a = node.args
        if not isinstance(x, TensorType) or x.rank not in (nd + 1, nd + 2):
            expect_rank(x, nd + 2, f"{node.op}")
        k = ntuple(a["kernel_size"], nd)
        s = ntuple(a.get("stride") or a["kernel_size"], nd)
        p = ntuple(a.get("padding", 0), nd)
        d = ntuple(a.get("dilation", 1), nd) if with_dilation else (1,) * nd
        for i in range(nd):
            if p[i] * 2 > k[i]:
                raise ShapeError(f"padding {p[i]} must be at most half the kernel size {k[i]}", "padding")
        lead = x.shape[: x.rank - nd]
        spatial = x.shape[x.rank - nd :]
        ceil = a.get("ceil_mode", False)
        return x.with_shape((*lead, *(window_out(spatial[i], k[i], s[i], p[i], d[i], ceil) for i in range(nd))))

    return rule


def adaptive_pool_infer(nd: int) -> Callable:
    def rule(node: Node, ctx: Inference, x: TensorType) -> TensorType:
        if not isinstance(x, TensorType) or x.rank not in (nd + 1, nd + 2):
            expect_rank(x, nd + 2, node.op)
        size = ntuple(node.args["output_size"], nd)
        spatial = x.shape[x.rank - nd :]
        out = tuple(spatial[i] if size[i] is None else size[i] for i in range(nd))
        return x.with_shape((*x.shape[: x.rank - nd], *out))

    return rule


# ---- normalization ----------------------------------------------------------------------------
def batch_norm_infer(ranks: Sequence[int]) -> Callable:
    def rule(node: Node, ctx: Inference, x: TensorType) -> TensorType:
        if not isinstance(x, TensorType) or x.rank not in ranks:
            raise ShapeError(f"{node.op} expects a {'/'.join(map(str, ranks))}-D input, got {_describe(x)}")
        expect_channels(x, node.args["num_features"], "num_features")
        return x

    return rule


def batch_norm_macs(a: dict, inputs: tuple, out: TensorType) -> int | None:
    n = per_sample_numel(inputs[0])
    return None if n is None else n * (2 if a.get("affine", True) else 1)


def layer_norm_infer(node: Node, ctx: Inference, x: TensorType) -> TensorType:
    shape = ntuple(node.args["normalized_shape"], len(node.args["normalized_shape"])) if isinstance(
        node.args["normalized_shape"], (list, tuple)) else (node.args["normalized_shape"],)
    tail = x.shape[x.rank - len(shape) :]
    if any(isinstance(t, int) and t != s for t, s in zip(tail, shape)):
        raise ShapeError(f"normalized_shape {list(shape)} does not match the trailing dims of {x}", "normalized_shape")
    return x


def layer_norm_macs(a: dict, inputs: tuple, out: TensorType) -> int | None:
    n = per_sample_numel(inputs[0])
    return None if n is None else n * (5 if a.get("elementwise_affine", True) else 4)


# ---- linear -----------------------------------------------------------------------------------
def linear_infer(node: Node, ctx: Inference, x: TensorType) -> TensorType:
    if not isinstance(x, TensorType) or x.rank < 1:
        raise ShapeError(f"Linear expects a tensor, got {_describe(x)}")
    expect_channels(x, node.args["in_features"], "in_features", dim=-1)
    return x.with_shape((*x.shape[:-1], node.args["out_features"]))


def linear_macs(a: dict, inputs: tuple, out: TensorType) -> int | None:
    n = per_sample_numel(out)
    return None if n is None else n * a["in_features"]


# ---- element-wise and containers --------------------------------------------------------------
def identity_infer(node: Node, ctx: Inference, x: Any) -> Any:
    return x


def dropout_infer(node: Node, ctx: Inference, x: Any) -> Any:
    p = node.args.get("p", 0.5)
    if not 0 <= p <= 1:
        raise ShapeError(f"dropout probability must be between 0 and 1, got {p}", "p")
    return x


def sequential(*names: str) -> InSequence:
    """Rule of a container whose forward applies the named children in order, skipping None
    (its dataflow, declared once: the IR passes read the same ``InSequence``)."""
    return InSequence(tuple(names))


def no_state(a: dict) -> list:
    return []


def _describe(x: Any) -> str:
    return f"{x.rank}-D {x}" if isinstance(x, TensorType) else f"a list of {len(x)} tensors"
