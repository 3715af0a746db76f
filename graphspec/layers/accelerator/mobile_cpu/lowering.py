"""What ``convert()`` does for the mobile CPU efficient blocks: the block's parts that are not
deployable as they are (its Conv3d and batch norm, a 3-D global pool, squeeze-excitation) become
a small IR -- one ``Sequential`` of them, with their weights -- that the mobile lowering passes
(``graphspec.mobile.passes.MOBILE``, the ones ``graphspec export --to mobile`` runs) rewrite
for one fixed input size. So a converted block holds exactly the modules an exported graph
holds (``graphspec.mobile.modules``): batch norm folded into the convolution, 3-D convolutions as
2-D ones, the global pool and squeeze-excitation as rank-4 reductions and Gemm.

Each converted part is a drop-in replacement: it takes and returns the block's own tensors
(``[N, C, T, H, W]``), so channel padding and the folded-layout pass, which change what flows
between parts, are not run here.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn

from graphspec.compiler.ir import Node

#: ops the mobile lowering must leave nothing of (a part still holding one is not deployable)
NOT_DEPLOYABLE = frozenset({"Conv3d", "BatchNorm3d", "AdaptiveAvgPool3d", "SqueezeExcitation"})

Part = tuple[Node, dict[str, torch.Tensor]]


def lower_parts(parts: Sequence[Part], input_blob_size: Sequence[int], *,
                keep_conv3d: bool = False) -> list[nn.Module | None]:
    """The mobile lowering of ``parts`` -- IR nodes applied one after the other, each with its
    module's ``state_dict`` -- for an input of ``input_blob_size``: one module per part, or None
    for a part a pass folded into the part before it (a batch norm into its convolution).

    ``keep_conv3d`` leaves a Conv3d that no 2-D rewrite covers as a Conv3d (batch norm still
    folded), for runtimes with a native 3-D kernel. The modules keep the weights' dtype and device.
    """
    from graphspec.mobile import passes
    from graphspec.compiler.graph import model_graph
    from graphspec.compiler.infer import TensorType, infer

    nodes = [node for node, _ in parts]
    graph, _ = model_graph(Node("Sequential", {"modules": nodes}), ["x"], ["y"])
    infer(graph.steps[0].node, TensorType(tuple(input_blob_size)))
    state = {f"{node.path}.{key}": value.detach().clone() for node, entries in parts for key, value in entries.items()}
    weighted = passes.WeightedGraph(graph, state)
    skip = (passes.PadChannels, passes.KeepFoldedLayout, *((passes.Conv3dToTaps,) if keep_conv3d else ()))
    passes.run_passes(weighted, tuple(p for p in passes.MOBILE if not isinstance(p, skip)))
    kept = {"Conv3d"} if keep_conv3d else set()
    left = [n for n in weighted.walk() if n.op in NOT_DEPLOYABLE - kept]
    if left:
        raise ValueError(f"cannot convert {', '.join(sorted({n.op for n in left}))} for input size "
                         f"{list(input_blob_size)}: the mobile lowering has no 2-D form of it")
    # built on the meta device, then given the state's own tensors: their dtype and device stay
    lowered = weighted.lower("meta")
    lowered_nodes = weighted.roots[0].args["modules"]
    return [None if new.op == "Identity" and old.op != "Identity" else module
            for old, new, module in zip(nodes, lowered_nodes, lowered)]
