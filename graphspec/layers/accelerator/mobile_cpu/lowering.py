"""What ``convert()`` does for the mobile CPU efficient blocks: the block's own IR -- its node, whose
IR children are its parts (``parts.PartsBlock``: convolutions, norms, activations, pools, inner
blocks), with the block's weights -- goes through the mobile lowering passes
(``graphspec.mobile.passes.MOBILE``, which ``graphspec export --to mobile`` runs over a whole
model's IR) for one fixed input size, and the block takes the lowered parts. So a converted block
holds exactly the modules an exported graph holds (``graphspec.mobile.modules``): batch norm folded
into the convolution, 3-D convolutions as 2-D ones, the global pool and squeeze-excitation as
rank-4 reductions and Gemm.

The block stays a drop-in replacement: the passes keep the IR's outputs (the block's
``[N, C, T, H, W]`` result) as they were; inside it, channels may be padded and time kept folded
into the batch between parts, as in an exported model.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn

from graphspec.accelerator.efficient_blocks.efficient_block_base import EfficientBlockBase
from graphspec.compiler.ir import Node

#: ops the mobile lowering must leave nothing of (a block still holding one is not deployable)
NOT_DEPLOYABLE = frozenset({"Conv3d", "BatchNorm3d", "AdaptiveAvgPool3d", "SqueezeExcitation"})


def lower_ir(node: Node, state: dict[str, torch.Tensor], input_blob_size: Sequence[int], *,
             keep_conv3d: bool = False, keeps: frozenset[str] = frozenset()) -> nn.Module:
    """The mobile lowering of the IR tree ``node`` with the weights ``state`` (its module's
    ``state_dict``) for an input of ``input_blob_size``. ``keep_conv3d`` leaves a Conv3d that only
    the temporal-taps rewrite covers as a (folded) Conv3d, for runtimes with a native 3-D kernel;
    ``keeps``: ops the caller deploys as they are. A ``ValueError`` when anything else is left
    that mobile kernels do not run. The module keeps the weights' dtype and device."""
    from graphspec.compiler.graph import model_graph
    from graphspec.compiler.infer import TensorType, infer
    from graphspec.mobile import passes

    graph, _ = model_graph(node, ["x"], ["y"])
    infer(graph.steps[0].node, TensorType(tuple(input_blob_size)))
    weighted = passes.WeightedGraph(graph, {key: value.detach().clone() for key, value in state.items()})
    skip = (passes.Conv3dToTaps,) if keep_conv3d else ()
    passes.run_passes(weighted, tuple(p for p in passes.MOBILE if not isinstance(p, skip)))
    kept = keeps | ({"Conv3d"} if keep_conv3d else set())
    left = [n for n in weighted.walk() if n.op in NOT_DEPLOYABLE - kept]
    if left:
        raise ValueError(f"cannot convert {', '.join(sorted({n.op for n in left}))} for input size "
                         f"{list(input_blob_size)}: the mobile lowering has no 2-D form of it")
    # built on the meta device, then given the state's own tensors: their dtype and device stay
    return weighted.lower("meta")


def lower_block(block: nn.Module, input_blob_size: Sequence[int], *, args: dict | None = None,
                state: dict[str, torch.Tensor] | None = None, keep_conv3d: bool = False,
                keeps: frozenset[str] = frozenset()) -> None:
    """Convert the efficient ``block`` (a ``parts.PartsBlock``) in place: its IR node (of ``args``,
    by default the ones it was made with; with ``state``, by default its ``state_dict``) lowered
    by ``lower_ir``, whose parts it takes. Every efficient block inside is then converted too."""
    from graphspec.compiler.template import expand_node

    from .parts import op_name

    node = expand_node(op_name(type(block)), block.block_args if args is None else args)
    lowered = lower_ir(node, block.state_dict() if state is None else state, input_blob_size,
                       keep_conv3d=keep_conv3d, keeps=keeps)
    block._modules.clear()
    block._modules.update(lowered._modules)
    block.train(block.training)
    mark_lowered(block)


def mark_lowered(module: nn.Module) -> None:
    """Mark the efficient blocks in ``module`` converted: their parts are lowered, a second
    ``convert`` would reinterpret them (it raises instead)."""
    for inner in module.modules():
        if isinstance(inner, EfficientBlockBase):
            inner.convert_flag = True
