"""Widen a convolution's output to a multiple of ``multiple`` channels when the next convolution
reads it: the extra filters are zero, the ops between are per channel, and the reader's weights
for the extra channels are zero, so they add exact zeros and the result is unchanged -- for finite
input: an inf or NaN reaching the producer makes its zero filters' outputs NaN (0 x inf), which
the zero reader weights pass on (and a squeeze-excitation's mean spreads over the clip) where the
unpadded model may have stayed finite (a ReLU or sigmoid of -inf).

Why: onnxruntime's fast blocked-channel (NCHWc) kernels take a convolution only when its channel
counts are multiples of 4, and XNNPACK's vector kernels work in groups of 8 or 16 channels.
X3D's first stage is 54 channels wide: there, onnxruntime falls back to its plain depthwise
convolution (about 3x slower) and converts the layout around it.

A run of the graph (``chains``: leaves that feed each other) is padded from a *producer* (a 2-D
convolution with groups 1) through *per-channel* ops (element-wise ops, depthwise convolutions,
per-channel affines, squeeze-excitation, which mixes channels only through its first Gemm) up to
a *reader* (a 2-D convolution with groups 1). Runs that end anywhere else are left alone.
"""
from __future__ import annotations

import torch

from graphspec.compiler.ir import Node
from graphspec.compiler.rules import window_out
from graphspec.compiler.traits import ELEMENTWISE, has_trait

from .base import Pass, WeightedGraph, chains

CONVS = frozenset({"FoldedConv2d", "TemporalConv2d", "TemporalTapConv", "FramesInChannelsConv2d"})

#: how each kind of node in a padded span widens: the arguments that count its channels, and its
#: state's parameter names -> the dimension that counts them (TemporalTapConv's parameters sit
#: under ``taps.k``; ``_pad_state`` matches by suffix)
WIDENS: dict[str, tuple[tuple[str, ...], dict[str, int]]] = {
    "producer": (("out_channels",), {"weight": 0, "bias": 0}),
    "depthwise": (("in_channels", "out_channels", "groups"), {"weight": 0, "bias": 0}),
    "ChannelAffine": (("num_features",), {"scale": 0, "shift": 0}),
    "SqueezeExcitationGemm": (("num_channels",), {"block.0.weight": 1, "block.2.weight": 0, "block.2.bias": 0}),
    "elementwise": ((), {}),
    "reader": (("in_channels",), {"weight": 1}),
}
#: per-channel ops with state of their own, kinds by op name
PER_CHANNEL_OPS = frozenset({"ChannelAffine", "SqueezeExcitationGemm"})


def _dense(node: Node) -> bool:
    return node.op in CONVS and node.args.get("groups", 1) == 1


def _depthwise(node: Node, channels: int) -> bool:
    a = node.args
    return node.op in CONVS and a["in_channels"] == a["out_channels"] == a.get("groups", 1) == channels


def _per_channel_kind(node: Node, channels: int) -> str | None:
    if node.op in PER_CHANNEL_OPS:  # before the element-wise ops, ChannelAffine among them: its state widens
        return node.op
    if _depthwise(node, channels):
        return "depthwise"
    if has_trait(node.op, ELEMENTWISE):
        return "elementwise"
    return None


def _filter_blocks(node: Node) -> int:
    """How many blocks of ``out_channels`` filters a producer's state holds: a frames-in-channels
    convolution's are (output frame, channel), each frame's block widens (it reads the model's
    input, so it is never a reader)."""
    if node.op != "FramesInChannelsConv2d":
        return 1
    a = node.args
    return window_out(a["frames"], *(a[key][0] for key in ("kernel_size", "stride", "padding", "dilation")))


class PadChannels(Pass):
    name = "pad-channels"
    matches = CONVS
    #: it pads the 2-D convolutions, through folded batch norms (ChannelAffine) and the Gemm form
    #: of squeeze-excitation
    after = ("fold-batch-norm", "pointwise-conv-to-conv2d", "spatial-conv-to-conv2d", "temporal-conv-to-conv2d",
             "conv3d-to-taps", "squeeze-excitation-to-gemm")

    def __init__(self, multiple: int = 8) -> None:
        self.multiple = multiple

    def run(self, graph: WeightedGraph) -> bool:
        changed = False
        for run in chains(graph):
            for start, producer in enumerate(run):
                if _dense(producer) and producer.args["out_channels"] % self.multiple:
                    changed |= self._pad_from(graph, run, start)
        return changed

    def _pad_from(self, graph: WeightedGraph, run: list[Node], start: int) -> bool:
        channels = run[start].args["out_channels"]
        span: list[tuple[Node, str]] = [(run[start], "producer")]
        for node in run[start + 1:]:
            if _dense(node) and node.args["in_channels"] == channels:
                span.append((node, "reader"))
                break
            kind = _per_channel_kind(node, channels)
            if kind is None:
                return False
            span.append((node, kind))
        else:
            return False  # the run ends before a convolution reads the channels
        wide = -(-channels // self.multiple) * self.multiple
        for node, kind in span:
            args, dims = WIDENS[kind]
            for arg in args:
                node.args[arg] = wide
            if dims:
                self._pad_state(graph, node, dims, wide - channels, _filter_blocks(node) if kind == "producer" else 1)
        return True

    @staticmethod
    def _pad_state(graph: WeightedGraph, node: Node, dims: dict[str, int], extra: int, blocks: int = 1) -> None:
        """Append ``extra`` zero channels to each of the ``blocks`` equal blocks of each tensor's dimension."""
        entries = graph.take(node.path)
        for key, tensor in entries.items():
            dim = next((d for name, d in dims.items() if key == name or key.endswith("." + name)), None)
            if dim is not None:
                blocked = tensor.unflatten(dim, (blocks, -1))
                shape = list(blocked.shape)
                shape[dim + 1] = extra
                entries[key] = torch.cat([blocked, blocked.new_zeros(shape)], dim + 1).flatten(dim, dim + 1)
        graph.put(node.path, entries)
