"""Fold eval-mode batch norm into the convolution that feeds it, with torch's own fusion
(``torch.nn.utils.fusion.fuse_conv_bn_weights``); a batch norm that follows no convolution
becomes a per-channel ``ChannelAffine`` (the same fusion applied to a per-channel identity), so
no BatchNormalization op is left."""
from __future__ import annotations

import torch
from torch.nn.utils.fusion import fuse_conv_bn_weights

from graphspec.compiler.ir import Node

from .base import WeightedGraph, Pass, chains

BATCH_NORMS = frozenset({"BatchNorm1d", "BatchNorm2d", "BatchNorm3d"})
CONVS = frozenset({"Conv1d", "Conv2d", "Conv3d"})


def fuse(weight: torch.Tensor, bias: torch.Tensor | None, entries: dict, args: dict) -> tuple[torch.Tensor, torch.Tensor]:
    """``(weight, bias)`` of a convolution followed by the eval-mode batch norm whose state is
    ``entries`` (torch's fusion; a missing bias or affine weight counts as 0 or 1)."""
    fused = fuse_conv_bn_weights(weight, bias, entries["running_mean"], entries["running_var"], args.get("eps", 1e-5),
                                 entries.get("weight"), entries.get("bias"))
    return fused[0].detach(), fused[1].detach()


def batch_norm_affine(entries: dict, args: dict) -> tuple[torch.Tensor, torch.Tensor]:
    """The eval-mode batch norm as ``x * scale + shift``: the fusion of a per-channel identity."""
    scale, shift = fuse(torch.ones_like(entries["running_mean"]).reshape(-1, 1), None, entries, args)
    return scale.flatten(), shift


class FoldBatchNorm(Pass):
    name = "fold-batch-norm"
    matches = BATCH_NORMS

    def run(self, graph: WeightedGraph) -> bool:
        changed = False
        for run in chains(graph):
            for before, node in zip([None, *run], run):
                if node.op not in BATCH_NORMS or not node.args.get("track_running_stats", True):
                    continue  # without running statistics it normalizes by the batch: not foldable
                entries = graph.take(node.path)
                if before is not None and before.op in CONVS and before.args.get("padding_mode", "zeros") == "zeros":
                    conv = graph.take(before.path)
                    weight, bias = fuse(conv["weight"], conv.get("bias"), entries, node.args)
                    graph.put(before.path, {"weight": weight, "bias": bias})
                    before.args["bias"] = True
                    graph.replace(node, Node("Identity"))
                else:
                    scale, shift = batch_norm_affine(entries, node.args)
                    affine = graph.replace(node, Node("ChannelAffine", {"num_features": scale.numel()}))
                    graph.put(affine.path, {"scale": scale, "shift": shift})
                changed = True
        return changed
