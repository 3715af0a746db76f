"""Masked multi-stream models: layers over padded ``(batch, seq_len, feature_dim)`` sequences with
a bool mask ``(batch, seq_len)`` (False marks padding), and containers that pass the mask along.

Padded entries never change a result: pooling ignores them, attention neither attends to them
nor keeps outputs at them (zeros there), the LSTM runs over each sequence's valid length only.
A row with no valid entry at all is read as its first entry alone by the LSTM and the transformer
encoder (which need something to run over), and pools or attends to zeros.
Sequences are padded at the end (the valid entries come first), as ``pack_padded_sequence``
and a first-token readout expect.
"""
from __future__ import annotations

from typing import Annotated, Any, Iterator, List, Literal, Optional, Tuple

import torch
import torch.nn as nn
from pydantic import Field, PositiveInt

from graphspec.compiler.infer import BUILT, Inference, ShapeError, TensorType
from graphspec.compiler.ir import Node
from graphspec.compiler.rules import expect_rank, no_state
from graphspec.layers.fusion import ConcatFusion
from graphspec.ops.torch_ops import sequential_children
from graphspec.registry import OpDef, add, derive_args, register

PoolMethod = Literal["max", "avg", "sum"]
Probability = Annotated[float, Field(ge=0, le=1)]


def _full_mask(x: torch.Tensor, mask: Optional[torch.Tensor]) -> torch.Tensor:
    if mask is None:
        return torch.ones(x.shape[:2], dtype=torch.bool, device=x.device)
    if mask.shape != x.shape[:2]:
        raise ValueError(f"mask of shape {tuple(mask.shape)} does not match the (batch, seq_len) of {tuple(x.shape)}")
    return mask.bool()


# ---- static rules shared by the sequence layers ----------------------------------------------
def _sequence(x: Any, mask: Any, feature_dim: int | None, arg: str) -> TensorType:
    """Check a ``(B, T, C)`` input (C == ``feature_dim`` when given) and its ``(B, T)`` mask."""
    expect_rank(x, 3, "a masked sequence layer")
    if feature_dim is not None and isinstance(x.shape[2], int) and x.shape[2] != feature_dim:
        raise ShapeError(f"expects {feature_dim} features ({arg}={feature_dim}), got {x.shape[2]}", arg)
    if mask is not None and (not isinstance(mask, TensorType) or tuple(mask.shape) != tuple(x.shape[:2])):
        raise ShapeError(f"the mask must be (batch, seq_len) = {list(x.shape[:2])}, got {mask}")
    return x


def _attention_macs(x: TensorType) -> int | None:
    """Projections (q, k, v, out) and the two attention matmuls of one sample, as fvcore counts
    linear layers and batched matmuls."""
    seq, dim = x.shape[1], x.shape[2]
    if not (isinstance(seq, int) and isinstance(dim, int)):  # a symbolic size: not known per sample
        return None
    return 4 * seq * dim * dim + 2 * seq * seq * dim


# ---- MaskedTemporalPooling --------------------------------------------------------------------
def _pool_infer(node: Node, ctx: Inference, x: Any, mask: Any = None) -> TensorType:
    x = _sequence(x, mask, None, "")
    return x.with_shape((x.shape[0], x.shape[2]))


@register(infer=_pool_infer, state=no_state, arg_types={"method": PoolMethod})
class MaskedTemporalPooling(nn.Module):
    """Pools ``(batch, seq_len, feature_dim)`` over the sequence, ignoring masked entries:
    ``max`` (the largest valid value), ``avg`` (mean of the valid values) or ``sum``. A row with
    no valid entry pools to zeros."""

    def __init__(self, method: str) -> None:
        super().__init__()
        if method not in ("max", "avg", "sum"):
            raise ValueError(f"method must be 'max', 'avg' or 'sum', got {method!r}")
        self._method = method

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        if x.dim() != 3:
            raise ValueError(f"expected (batch, seq_len, feature_dim), got {tuple(x.shape)}")
        valid = _full_mask(x, mask).unsqueeze(-1)
        if self._method == "max":
            pooled = x.masked_fill(~valid, float("-inf")).max(dim=1).values
            return pooled.masked_fill(~valid.any(dim=1), 0.0)
        total = x.masked_fill(~valid, 0.0).sum(dim=1)
        if self._method == "sum":
            return total
        return total / valid.sum(dim=1).clamp(min=1)


# ---- TransposeMultiheadAttention --------------------------------------------------------------
def _mha_infer(node: Node, ctx: Inference, x: Any, mask: Any = None) -> TensorType:
    a = node.args
    x = _sequence(x, mask, a["feature_dim"], "feature_dim")
    if a["feature_dim"] % a["num_heads"]:
        raise ShapeError(f"num_heads {a['num_heads']} must divide feature_dim {a['feature_dim']}", "num_heads")
    return x


@register(
    infer=_mha_infer,
    state=BUILT,
    macs=lambda a, inputs, out: _attention_macs(out),
    arg_types={"feature_dim": PositiveInt, "num_heads": PositiveInt},
)
class TransposeMultiheadAttention(nn.Module):
    """``nn.MultiheadAttention`` (self-attention) over ``(batch, seq_len, feature_dim)`` inputs:
    transposed to ``(seq_len, batch, feature_dim)`` for the attention and back. Masked entries are
    not attended to and their outputs are zero; a row with no valid entry gives zeros."""

    def __init__(self, feature_dim: int, num_heads: int = 1) -> None:
        super().__init__()
        self._attention = nn.MultiheadAttention(embed_dim=feature_dim, num_heads=num_heads)
        self._attention_weights: Optional[torch.Tensor] = None

    @property
    def attention_weights(self) -> Optional[torch.Tensor]:
        """The attention weights of the last forward call, ``(batch, seq_len, seq_len)``."""
        return self._attention_weights

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        valid = _full_mask(x, mask)
        # a row with nothing valid would attend to nothing (NaN): let it attend to all, zero it below
        ignore = ~valid & valid.any(dim=1, keepdim=True)
        seq_first = x.transpose(0, 1)
        out, self._attention_weights = self._attention(seq_first, seq_first, seq_first, key_padding_mask=ignore)
        return out.transpose(0, 1).masked_fill(~valid.unsqueeze(-1), 0.0)


# ---- LearnMaskedDefault -----------------------------------------------------------------------
def _default_infer(node: Node, ctx: Inference, x: Any, mask: Any = None) -> TensorType:
    if not isinstance(x, TensorType) or x.rank < 2:
        raise ShapeError(f"expects a (batch, feature_dim, ...) tensor, got {x}")
    dim = node.args["feature_dim"]
    if isinstance(x.shape[-1], int) and x.shape[-1] != dim:
        raise ShapeError(f"expects {dim} features (feature_dim={dim}), got {x.shape[-1]}", "feature_dim")
    if mask is not None and (not isinstance(mask, TensorType) or mask.shape[:1] != x.shape[:1]):
        raise ShapeError(f"the mask must have the batch of x, {x.shape[0]}, got {mask}")
    return x


@register(
    infer=_default_infer,
    state=BUILT,
    arg_types={"feature_dim": PositiveInt, "init_method": Literal["gaussian", "zeros"]},
)
class LearnMaskedDefault(nn.Module):
    """Learns a default value for batch rows with no valid entry: where every mask entry of a row
    is False the row becomes the learned ``feature_dim`` vector, other rows pass unchanged."""

    def __init__(self, feature_dim: int, init_method: str = "gaussian", freeze: bool = False) -> None:
        super().__init__()
        if init_method == "zeros":
            initial = torch.zeros(feature_dim)
        elif init_method == "gaussian":
            initial = torch.empty(feature_dim).normal_(mean=0.0, std=0.02)
        else:
            raise ValueError(f"init_method must be 'gaussian' or 'zeros', got {init_method!r}")
        self._learned_defaults = nn.Parameter(initial, requires_grad=not freeze)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        has_valid = mask.reshape(mask.shape[0], -1).any(dim=-1).view(-1, *([1] * (x.dim() - 1)))
        return torch.where(has_valid, x, self._learned_defaults.to(x.dtype))


# ---- LSTM -------------------------------------------------------------------------------------
def _directions(a: dict) -> int:
    return 2 if a.get("bidirectional", False) else 1


def _lstm_infer(node: Node, ctx: Inference, x: Any, mask: Any = None) -> TensorType:
    a = node.args
    x = _sequence(x, mask, a["dim_in"], "dim_in")
    return x.with_shape((x.shape[0], a["hidden_dim"] * _directions(a)))


def _lstm_macs(a: dict, inputs: tuple, out: TensorType) -> int | None:
    seq = inputs[0].shape[1]  # the gate matmuls of every step, per direction
    return None if not isinstance(seq, int) else seq * 4 * a["hidden_dim"] * (a["dim_in"] + a["hidden_dim"]) * _directions(a)


@register(infer=_lstm_infer, state=BUILT, macs=_lstm_macs,
          arg_types={"dim_in": PositiveInt, "hidden_dim": PositiveInt, "dropout": Probability})
class LSTM(nn.Module):
    """``nn.LSTM`` over masked ``(batch, seq_len, dim_in)`` sequences: each sequence runs over its
    valid length only (packed), and the output is the last hidden state, ``(batch, hidden_dim)``
    (forward and backward states concatenated when ``bidirectional``), after dropout. A row with
    no valid entry runs over its first entry."""

    def __init__(self, dim_in: int, hidden_dim: int, dropout: float = 0.0, bidirectional: bool = False) -> None:
        super().__init__()
        self.lstm = nn.LSTM(dim_in, hidden_dim, num_layers=1, batch_first=True, bidirectional=bidirectional)
        self.dropout = nn.Dropout(dropout)
        self.output_dim = 2 * hidden_dim if bidirectional else hidden_dim
        self.bidirectional = bidirectional

    def forward(self, data: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        lengths = _full_mask(data, mask).sum(dim=1).clamp(min=1).cpu()
        packed = nn.utils.rnn.pack_padded_sequence(data, lengths, batch_first=True, enforce_sorted=False)
        _, (hidden, _) = self.lstm(packed)
        out = torch.cat([hidden[0], hidden[1]], dim=-1) if self.bidirectional else hidden[-1]
        return self.dropout(out)


# ---- TransposeTransformerEncoder --------------------------------------------------------------
_FEEDFORWARD = 2048  # nn.TransformerEncoderLayer's default width


def _encoder_infer(node: Node, ctx: Inference, x: Any, mask: Any = None) -> TensorType:
    a = node.args
    x = _sequence(x, mask, a["dim_in"], "dim_in")
    if a["dim_in"] % a["num_heads"]:
        raise ShapeError(f"num_heads {a['num_heads']} must divide dim_in {a['dim_in']}", "num_heads")
    return x.with_shape((x.shape[0], x.shape[2]))


def _encoder_macs(a: dict, inputs: tuple, out: TensorType) -> int | None:
    x = inputs[0]
    attention = _attention_macs(x)
    if attention is None:
        return None
    feedforward = 2 * x.shape[1] * x.shape[2] * _FEEDFORWARD
    norms = 2 * 5 * x.shape[1] * x.shape[2]  # layer norm with affine, as rules.layer_norm_macs counts
    return a["num_layers"] * (attention + feedforward + norms)


@register(infer=_encoder_infer, state=BUILT, macs=_encoder_macs,
          arg_types={"dim_in": PositiveInt, "num_heads": PositiveInt, "num_layers": PositiveInt})
class TransposeTransformerEncoder(nn.Module):
    """``nn.TransformerEncoder`` (``num_layers`` default encoder layers) over masked
    ``(batch, seq_len, dim_in)`` sequences (masked entries are not attended to); the output is
    the encoding of the first sequence entry, ``(batch, dim_in)``. A row with no valid entry
    attends to its first entry only (as the LSTM runs over it), never to a fully masked row."""

    def __init__(self, dim_in: int, num_heads: int = 1, num_layers: int = 1) -> None:
        super().__init__()
        self.encoder = nn.TransformerEncoder(
            nn.TransformerEncoderLayer(dim_in, num_heads), num_layers, enable_nested_tensor=False)

    def forward(self, data: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        padding = None
        if mask is not None:
            valid = _full_mask(data, mask).clone()
            valid[:, 0] |= ~valid.any(dim=1)  # a fully masked row would attend to nothing
            padding = ~valid
        out = self.encoder(src=data.transpose(0, 1), src_key_padding_mask=padding).transpose(0, 1)
        return out[:, 0, :]


# ---- MaskedSequential -------------------------------------------------------------------------
class MaskedSequential(nn.Sequential):
    """``nn.Sequential`` whose forward also takes the mask and hands it to the modules that take
    one (``MASK_MODULES``, a nested ``MaskedSequential`` among them); the others get the tensor
    alone."""

    def forward(self, input: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        for module in self:
            input = module(input, mask=mask) if isinstance(module, MASK_MODULES) else module(input)
        return input


#: modules whose forward takes the mask (MaskedSequential passes it to these only)
MASK_MODULES = (MaskedSequential, MaskedTemporalPooling, TransposeMultiheadAttention, LearnMaskedDefault, LSTM,
                TransposeTransformerEncoder)
_MASK_OPS = frozenset(cls.__name__ for cls in MASK_MODULES)


def _masked_sequential(modules: List[nn.Module] = ()) -> MaskedSequential:
    """``MaskedSequential(*modules)``: the modules applied in order, the mask to those taking one."""
    return MaskedSequential(*[m for m in modules if m is not None])


def _numbered_children(node: Node) -> Iterator[tuple[str, Node]]:
    """``0``, ``1``, ... as the lowered module names them: it drops the Nones (``_masked_sequential``)."""
    return sequential_children(node, none_keeps_its_number=False)


def _masked_sequential_infer(node: Node, ctx: Inference, x: Any, mask: Any) -> Any:
    for _, module in _numbered_children(node):
        x = ctx.run(module, x, mask) if module.op in _MASK_OPS else ctx.run(module, x)
    return x


add(OpDef(name="MaskedSequential", kind="module", target=MaskedSequential, public=MaskedSequential,
          args=derive_args(_masked_sequential), doc=_masked_sequential.__doc__ or "",
          infer=_masked_sequential_infer, lower=_masked_sequential, children=_numbered_children))


# ---- MaskedMultiPathWay -----------------------------------------------------------------------
def _multipathway_infer(node: Node, ctx: Inference, streams: Any) -> Any:
    blocks = node.args["multipathway_blocks"]
    if not isinstance(streams, list) or len(streams) != len(blocks):
        raise ShapeError(f"expects a list of {len(blocks)} (x, mask) pairs, one per pathway")
    outs = []
    for i, (block, stream) in enumerate(zip(blocks, streams)):
        if not isinstance(stream, list) or len(stream) != 2:
            raise ShapeError(f"pathway {i} takes an (x, mask) pair, got {stream}")
        outs.append(ctx.run(block, *stream))
    return ctx.run(node.args.get("multipathway_fusion"), outs)


@register(infer=_multipathway_infer, call="list",
          arg_types={"multipathway_blocks": nn.ModuleList, "multipathway_fusion": Optional[nn.Module]})
class MaskedMultiPathWay(nn.Module):
    """One masked block per stream (``block(x, mask)``), then ``multipathway_fusion`` of the
    list of their outputs. ``forward`` takes a list of ``(x, mask)`` pairs, one per pathway."""

    def __init__(self, *, multipathway_blocks: nn.ModuleList, multipathway_fusion: Optional[nn.Module]) -> None:
        super().__init__()
        self.multipathway_blocks = multipathway_blocks
        self.multipathway_fusion = multipathway_fusion

    def forward(self, x_and_mask: List[Tuple[torch.Tensor, torch.Tensor]]) -> Any:
        if len(x_and_mask) != len(self.multipathway_blocks):
            raise ValueError(f"expected {len(self.multipathway_blocks)} (x, mask) pairs, got {len(x_and_mask)}")
        out = [block(*pair) for block, pair in zip(self.multipathway_blocks, x_and_mask)]
        return out if self.multipathway_fusion is None else self.multipathway_fusion(out)


# ---- the fusion the streams meet in (layers.fusion has no op of its own) ---------------------
def _concat_fusion_infer(node: Node, ctx: Inference, xs: Any) -> TensorType:
    dims = node.args["feature_dims"]
    if not isinstance(xs, list) or len(xs) != len(dims) or not all(isinstance(x, TensorType) for x in xs):
        raise ShapeError(f"expects a list of {len(dims)} tensors (feature_dims={dims})")
    for i, (x, dim) in enumerate(zip(xs, dims)):
        if x.shape[:-1] != xs[0].shape[:-1] or x.shape[-1] != dim:
            raise ShapeError(f"input {i} is {x}; expected {list(xs[0].shape[:-1]) + [dim]}", "feature_dims")
    return xs[0].with_shape((*xs[0].shape[:-1], sum(dims)))


register(ConcatFusion, infer=_concat_fusion_infer, state=no_state, call="list",
         arg_types={"feature_dims": List[PositiveInt]})
