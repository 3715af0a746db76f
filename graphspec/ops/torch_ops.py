"""torch.nn primitives as ops. Rules as data: each row names the class and its rules."""
from __future__ import annotations

from typing import Iterator, List, Union

import torch.nn as nn

from graphspec.compiler import rules as R
from graphspec.compiler.rules import BUILT
from graphspec.compiler.traits import ELEMENTWISE_OP
from graphspec.compiler.ir import Node
from graphspec.registry import OpDef, add, derive_args, register

# name -> (class, shape rule, state rule, MAC rule); BUILT: the layout is what the class builds
_CONV = {f"Conv{n}d": (getattr(nn, f"Conv{n}d"), R.conv_infer(n), BUILT, R.conv_macs(n)) for n in (1, 2, 3)}
_POOL = {
    f"{kind}Pool{n}d": (getattr(nn, f"{kind}Pool{n}d"), R.pool_infer(n, kind == "Max"), R.no_state, None)
    for n in (1, 2, 3)
    for kind in ("Max", "Avg")
}
_ADAPTIVE = {
    f"Adaptive{kind}Pool{n}d": (getattr(nn, f"Adaptive{kind}Pool{n}d"), R.adaptive_pool_infer(n), R.no_state, None)
    for n in (1, 2, 3)
    for kind in ("Max", "Avg")
}
_NORM = {
    "BatchNorm1d": (nn.BatchNorm1d, R.batch_norm_infer((2, 3)), BUILT, R.batch_norm_macs),
    "BatchNorm2d": (nn.BatchNorm2d, R.batch_norm_infer((4,)), BUILT, R.batch_norm_macs),
    "BatchNorm3d": (nn.BatchNorm3d, R.batch_norm_infer((5,)), BUILT, R.batch_norm_macs),
    "LayerNorm": (nn.LayerNorm, R.layer_norm_infer, BUILT, R.layer_norm_macs),
}
_POINTWISE = {
    name: (getattr(nn, name), R.identity_infer, R.no_state, None)
    for name in (
        "ReLU", "ReLU6", "LeakyReLU", "ELU", "GELU", "SiLU", "Sigmoid", "Tanh", "Hardswish",
        "Hardsigmoid", "Softmax", "LogSoftmax", "Identity",
    )
}
_DROPOUT = {name: (getattr(nn, name), R.dropout_infer, R.no_state, None) for name in ("Dropout", "Dropout2d", "Dropout3d")}
_LINEAR = {"Linear": (nn.Linear, R.linear_infer, BUILT, R.linear_macs)}

TORCH_OPS = {**_CONV, **_POOL, **_ADAPTIVE, **_NORM, **_POINTWISE, **_DROPOUT, **_LINEAR}

#: annotations pydantic cannot check (``torch.Size``), given as the plain data a spec holds
_ARG_TYPES = {"LayerNorm": {"normalized_shape": Union[int, List[int]]}}
#: what the ops declare to the passes (``graphspec.compiler.traits``): the activations but the
#: softmaxes compute element by element, and so does Dropout in eval (Dropout2d/3d drop channels)
_TRAITS = {name: ELEMENTWISE_OP for name in ("ReLU", "ReLU6", "LeakyReLU", "ELU", "GELU", "SiLU", "Sigmoid", "Tanh",
                                             "Hardswish", "Hardsigmoid", "Identity", "Dropout")}

for _name, (_cls, _infer, _state, _macs) in TORCH_OPS.items():
    register(_cls, name=_name, infer=_infer, state=_state, macs=_macs, arg_types=_ARG_TYPES.get(_name),
             traits=_TRAITS.get(_name, ()))


# ---- nn.Sequential ----------------------------------------------------------------------------
def sequential_children(node: Node, *, none_keeps_its_number: bool = True) -> Iterator[tuple[str, Node]]:
    """``nn.Sequential`` names its modules ``0``, ``1``, ... (not ``modules.0``): so do the
    static paths and state keys. It keeps a None in its place (``none_keeps_its_number``); a
    container that drops the Nones numbers the modules left."""
    items = node.args.get("modules") or ()
    if not none_keeps_its_number:
        items = [item for item in items if isinstance(item, Node)]
    for i, item in enumerate(items):
        if isinstance(item, Node):
            yield str(i), item


def _sequential(modules: List[nn.Module] = ()) -> nn.Sequential:
    """``nn.Sequential(*modules)``: the modules applied in order."""
    return nn.Sequential(*modules)


add(OpDef(name="Sequential", kind="module", target=nn.Sequential, args=derive_args(_sequential),
          doc=_sequential.__doc__ or "", infer=R.sequential("modules"), public=nn.Sequential,
          children=sequential_children, lower=_sequential))

class SequentialNode(Node):
    """A node named like ``nn.Sequential``'s, whatever its op (a ``Node`` of op ``Sequential``
    gets the same names from the op's ``children`` hook)."""

    def children(self) -> Iterator[tuple[str, Node]]:
        return sequential_children(self)
