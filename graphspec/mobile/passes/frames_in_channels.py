"""A (2+1)-D stem on a clip with few frames -> one Conv2d with the frames in its channels
(``FramesInChannelsConv2d``).

X3D's stem is a ``1 x 3 x 3`` convolution (no bias) followed directly by a depthwise ``5 x 1 x 1``
one: together one linear ``5 x 3 x 3`` convolution (the first has no bias, so the zero frames the
second pads with are what the composition's zero padding gives). On the model's 5-D input that
convolution is one Conv2d over ``[N, C*T, H, W]`` whose output is the folded layout: no transposes
between the per-frame and the temporal convolutions (XNNPACK ran 8 of them, about as long as the
convolutions), and one well-shaped GEMM instead of a 3-channel one. It computes about ``T`` times the
MACs of the pair, so it is taken only up to ``MAX_MAC_RATIO``: X3D-XS (4 frames, ratio 3.5) gains,
X3D-S/M (13/16 frames, ratio ~12) would not.
"""
from __future__ import annotations

from graphspec.compiler.dataflow import InSequence, dataflow, slot_nodes
from graphspec.compiler.ir import Node
from graphspec.mobile.modules import FramesInChannelsConv2d

from .base import Pass, WeightedGraph, chains, conv_geometry, input_shape

#: the frames-in-channels convolution's MACs over the two convolutions' at most: measured on X3D-XS's
#: stem (ratio 3.5), it took 0.65x the CPU time of the pair on both runtimes (one thread, interleaved)
MAX_MAC_RATIO = 4.0


def _first_leaf(node: Node) -> Node:
    """The leaf a container's input reaches first (through sequence containers)."""
    while True:
        flow = dataflow(node)
        children = slot_nodes(node, flow.slots_of(node)) if isinstance(flow, InSequence) else []
        if not children:
            return node
        node = children[0]


def _spatial_no_bias(node: Node):
    geometry = conv_geometry(node)
    if geometry is None or node.args.get("bias", True) or node.args.get("groups", 1) != 1:
        return None
    kernel, stride, padding, dilation = geometry
    return geometry if (kernel[0], stride[0], padding[0], dilation[0]) == (1, 1, 0, 1) else None


def _depthwise_temporal(node: Node, channels: int):
    geometry = conv_geometry(node)
    a = node.args
    if geometry is None or not a["in_channels"] == a["out_channels"] == a.get("groups", 1) == channels:
        return None
    kernel, stride, padding, dilation = geometry
    return geometry if (kernel[1:], stride[1:], padding[1:]) == ((1, 1), (1, 1), (0, 0)) else None


class FramesInChannels(Pass):
    name = "frames-in-channels"
    matches = frozenset({"Conv3d"})
    #: batch norm folds into the temporal convolution first (its bias is then the stem's)
    after = ("conv-reduce-to-branches", "fold-batch-norm")

    def run(self, graph: WeightedGraph) -> bool:
        inputs = set(graph.graph.inputs)
        firsts = {id(_first_leaf(step.node)) for step in graph.graph.steps if set(step.inputs) <= inputs}
        changed = False
        for run in chains(graph):
            if len(run) > 1 and id(run[0]) in firsts and run[0].op == run[1].op == "Conv3d":
                changed |= self._fuse(graph, run[0], run[1])
        return changed

    def _fuse(self, graph: WeightedGraph, spatial: Node, temporal: Node) -> bool:
        shape = input_shape(spatial)
        first, second = _spatial_no_bias(spatial), _depthwise_temporal(temporal, spatial.args["out_channels"])
        if shape is None or first is None or second is None:
            return False
        (_, kh, kw), (_, sh, sw), (_, ph, pw), (_, dh, dw) = first
        (kt, _, _), (st, _, _), (pt, _, _), (dt, _, _) = second
        in_c, out_c, frames = spatial.args["in_channels"], spatial.args["out_channels"], shape[2]
        conv = FramesInChannelsConv2d(in_c, out_c, (kt, kh, kw), (st, sh, sw), (pt, ph, pw), (dt, dh, dw), frames=frames)
        dense = conv.frames_out * out_c * in_c * frames
        pair = frames * out_c * in_c + conv.frames_out * out_c * kt / (kh * kw)  # per output pixel, over kh*kw
        if dense > MAX_MAC_RATIO * pair:
            return False
        spatial_w, temporal_state = graph.take(spatial.path)["weight"], graph.take(temporal.path)
        # the composition: out channel o's temporal taps times its spatial filter
        weight = temporal_state["weight"].reshape(out_c, 1, kt, 1, 1) * spatial_w  # [O, I, kt, kh, kw]
        entries = {"weight": FramesInChannelsConv2d.frame_weight(weight, frames, st, pt, dt)}
        if "bias" in temporal_state:
            entries["bias"] = temporal_state["bias"].repeat(conv.frames_out)
        new = graph.replace(spatial, Node("FramesInChannelsConv2d", dict(
            in_channels=in_c, out_channels=out_c, kernel_size=(kt, kh, kw), stride=(st, sh, sw), padding=(pt, ph, pw),
            dilation=(dt, dh, dw), bias="bias" in entries, frames=frames, out_layout="ncthw")))
        graph.put(new.path, entries)
        graph.replace(temporal, Node("Identity"))
        return True
