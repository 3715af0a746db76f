"""Fold eval-mode batch norm into the convolution that feeds it (``w' = w * s``,
``b' = (b - mean) * s + beta`` with ``s = gamma / sqrt(var + eps)``); a batch norm that follows
no convolution becomes a per-channel ``ChannelAffine``, so no BatchNormalization op is left."""
from __future__ import annotations

import torch

from graphspec.compiler.ir import Node

from .base import WeightedGraph, Pass, chains

BATCH_NORMS = frozenset({"BatchNorm1d", "BatchNorm2d", "BatchNorm3d"})
CONVS = frozenset({"Conv1d", "Conv2d", "Conv3d"})


def batch_norm_affine(entries: dict, args: dict) -> tuple[torch.Tensor, torch.Tensor]:
    """The eval-mode batch norm as ``x * scale + shift``."""
    mean, var = entries["running_mean"], entries["running_var"]
    weight = entries.get("weight", torch.ones_like(mean))
    bias = entries.get("bias", torch.zeros_like(mean))
    scale = weight / torch.sqrt(var + args.get("eps", 1e-5))
    return scale, bias - mean * scale


class FoldBatchNorm(Pass):
    name = "fold-batch-norm"
    matches = BATCH_NORMS

    def run(self, graph: WeightedGraph) -> bool:
        changed = False
        for run in chains(graph):
            for before, node in zip([None, *run], run):
                if node.op not in BATCH_NORMS or not node.args.get("track_running_stats", True):
                    continue  # without running statistics it normalizes by the batch: not foldable
                scale, shift = batch_norm_affine(graph.take(node.path), node.args)
                if before is not None and before.op in CONVS and before.args.get("padding_mode", "zeros") == "zeros":
                    conv = graph.take(before.path)
                    weight = conv["weight"]
                    bias = conv.get("bias", torch.zeros(weight.shape[0], dtype=weight.dtype, device=weight.device))
                    conv = {"weight": weight * scale.reshape(-1, *(1,) * (weight.dim() - 1)), "bias": bias * scale + shift}
                    graph.put(before.path, conv)
                    before.args["bias"] = True
                    graph.replace(node, Node("Identity"))
                else:
                    affine = graph.replace(node, Node("ChannelAffine", {"num_features": scale.numel()}))
                    graph.put(affine.path, {"scale": scale, "shift": shift})
                changed = True
        return changed
