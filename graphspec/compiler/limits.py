"""Sizes no machine can hold are findings before torch is asked to allocate them.

A spec can ask for a model whose parameters, or one of whose activations, would need more
memory than any machine has (``out_channels: 10000000``). The static layout and inference know
these sizes exactly, so ``validate`` reports them instead of ``build`` dying in the allocator.
"""
from __future__ import annotations

import math
from typing import Any

from graphspec.spec.errors import Diagnostic

from .infer import TensorType

#: bytes of state (parameters and buffers) and of one activation beyond which a spec is refused
#: (the largest accelerators hold ~141 GiB, the largest hosts a few TiB)
MAX_STATE_BYTES = 1 << 40
MAX_ACTIVATION_BYTES = 1 << 40

_ITEM_BYTES = {"float64": 8, "int64": 8, "float32": 4, "int32": 4, "float16": 2, "bfloat16": 2, "bool": 1,
               "uint8": 1, "int8": 1}


def _bytes(shape: tuple, dtype: str) -> int:
    """Bytes of a tensor; a symbolic dim counts as 1 (the least it can be)."""
    return math.prod(d if isinstance(d, int) else 1 for d in shape) * _ITEM_BYTES.get(dtype, 4)


def _tensors(value: Any) -> list[TensorType]:
    if isinstance(value, TensorType):
        return [value]
    return [t for v in value for t in _tensors(v)] if isinstance(value, list) else []


def _human(n: int) -> str:
    return f"{n / (1 << 40):,.1f} TiB" if n >= 1 << 40 else f"{n / (1 << 30):,.1f} GiB"


def size_findings(compiled: Any, activations: bool = False) -> list[Diagnostic]:
    """State memory of a compiled spec beyond ``MAX_STATE_BYTES`` (located at the node holding
    most of it); with ``activations``, each node output beyond ``MAX_ACTIVATION_BYTES``."""
    if not activations:
        total = sum(_bytes(shape, dtype) for _, dtype, shape, _ in compiled.state)
        if total <= MAX_STATE_BYTES:
            return []
        leaves = [n for n in compiled.nodes if not any(True for _ in n.children())]
        biggest = max(leaves, key=lambda n: n.meta.get("params") or 0, default=None)
        where = biggest.path if biggest is not None and biggest.path else "the model"
        return [Diagnostic(f"the model's state needs {_human(total)} (limit {_human(MAX_STATE_BYTES)}); most of it "
                           f"is in {where}", path=biggest.source if biggest is not None else (), code="size")]
    for node in compiled.nodes:
        for t in _tensors(node.meta.get("output")):
            size = _bytes(t.shape, t.dtype)
            if size > MAX_ACTIVATION_BYTES:
                return [Diagnostic(f"{node.path or 'the model'} ({node.op}) outputs {t}: {_human(size)} "
                                   f"(limit {_human(MAX_ACTIVATION_BYTES)})", path=node.source, code="size")]
    return []
