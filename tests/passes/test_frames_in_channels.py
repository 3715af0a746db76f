import onnx
import pytest
import torch

from graphspec.export.onnx_export import to_onnx
from graphspec.mobile.modules import FramesInChannelsConv2d
from graphspec.mobile.passes import MOBILE, FoldBatchNorm, FramesInChannels, PadChannels, PointwiseConvToConv2d

from passes_support import TINY_X3D, ops, random_inputs, run_and_compare, run_verified, spec_file, weighted
from tiny_specs import model_spec


def test_the_x3d_stem_becomes_one_conv2d_over_frames_in_channels():
    graph = run_and_compare(FramesInChannels())
    nodes = {n.path: n for n in graph.walk()}
    stem = nodes["blocks.0.conv.conv_t"]
    assert stem.op == "FramesInChannelsConv2d" and nodes["blocks.0.conv.conv_xy"].op == "Identity"
    assert tuple(stem.args["kernel_size"]) == (5, 3, 3) and tuple(stem.args["padding"]) == (2, 1, 1)
    # 4 output frames of 8 filters (the tiny X3D's stem width), each over 3 channels x 4 frames
    assert graph.state["blocks.0.conv.conv_t.weight"].shape == (4 * 8, 3 * 4, 3, 3)
    assert ops(graph).count("Conv3d") == sum(1 for n in weighted()[2].walk() if n.op == "Conv3d") - 2


def test_the_exported_stem_is_one_conv_and_no_transpose():
    compiled, model, graph = weighted()
    run_verified(graph, MOBILE)
    x = random_inputs(compiled)
    proto = onnx.load_from_string(to_onnx(graph.lower(), x, ["video"], ["out"]))
    stem = [n.op_type for n in proto.graph.node if n.name.startswith("/blocks.0/")]
    # before: Transpose, Conv, Transpose, Conv (the temporal one on [N, C, T, H*W]), Transpose
    assert stem.count("Conv") == 1 and "Transpose" not in stem
    with torch.no_grad():
        torch.testing.assert_close(graph.lower()(*x), model(*x), atol=1e-5, rtol=1e-4)


def test_the_folded_batch_norm_rides_on_its_bias():
    compiled, model, graph = weighted()
    x = random_inputs(compiled)
    with torch.no_grad():
        before = model(*x)
        assert run_verified(graph, [FoldBatchNorm(), FramesInChannels()]) == [True, True]
        after = graph.lower()(*x)
    torch.testing.assert_close(after, before, atol=1e-5, rtol=1e-4)
    assert graph.state["blocks.0.conv.conv_t.bias"].shape == (4 * 8,)


def test_many_frames_keep_the_two_convolutions():
    # 13 frames (X3D-S): the dense convolution would compute ~11x the pair's MACs
    overrides = [o for o in TINY_X3D if not o.startswith("inputs.video")] + [
        "inputs.video=[1, 3, 13, 32, 32]", "model.input_clip_length=13"]
    _, _, graph = weighted("x3d_xs", overrides)
    assert run_verified(graph, [FramesInChannels()]) == [False]


@pytest.mark.parametrize("frames,kt,stride,padding,dilation,spatial_stride", [
    (4, 5, 1, 2, 1, 2),   # X3D's stem
    (3, 3, 1, 0, 1, 1),   # no temporal padding: fewer output frames
    (5, 3, 2, 1, 1, 1),   # temporal stride
    (6, 3, 1, 2, 2, 2),   # temporal dilation
    (1, 5, 1, 2, 1, 1),   # one frame: only the centre tap reads it
])
def test_matches_the_two_conv3d_directly(frames, kt, stride, padding, dilation, spatial_stride):
    spatial = torch.nn.Conv3d(3, 8, (1, 3, 3), (1, spatial_stride, spatial_stride), (0, 1, 1), bias=False)
    temporal = torch.nn.Conv3d(8, 8, (kt, 1, 1), (stride, 1, 1), (padding, 0, 0), (dilation, 1, 1), groups=8)
    conv = FramesInChannelsConv2d(3, 8, (kt, 3, 3), (stride, spatial_stride, spatial_stride), (padding, 1, 1),
                                  (dilation, 1, 1), frames=frames)
    composed = temporal.weight.reshape(8, 1, kt, 1, 1) * spatial.weight
    conv.load_state_dict({"weight": FramesInChannelsConv2d.frame_weight(composed, frames, stride, padding, dilation),
                          "bias": temporal.bias.repeat(conv.frames_out)})
    x = torch.randn(2, 3, frames, 11, 9, dtype=torch.float64)
    conv, spatial, temporal = conv.double(), spatial.double(), temporal.double()
    with torch.no_grad():
        expected = temporal(spatial(x))
        torch.testing.assert_close(conv(x), expected)
        n, c, t, h, w = expected.shape  # its own layout: the folded [N*T', C, H', W']
        conv.out_layout = None
        torch.testing.assert_close(conv(x), expected.transpose(1, 2).reshape(n * t, c, h, w))


#: the stem's pair, then a ReLU and a convolution reading its 6 channels: padding widens each frame's filters
STEM_THEN_CONV = model_spec("stem_then_conv", {"video": [2, 3, 4, 10, 10]}, """\
nodes:
  conv_t: {op: Conv3d, in_channels: 3, out_channels: 6, kernel_size: [1, 3, 3], stride: [1, 2, 2],
           padding: [0, 1, 1], bias: false, in: video}
  conv_xy: {op: Conv3d, in_channels: 6, out_channels: 6, kernel_size: [5, 1, 1], padding: [2, 0, 0],
            groups: 6, in: conv_t}
  relu: {op: ReLU, in: conv_xy}
  conv: {op: Conv3d, in_channels: 6, out_channels: 5, kernel_size: 1, in: relu}
outputs: {out: conv}
""")


def test_channel_padding_widens_each_frames_filters(tmp_path):
    compiled, model, graph = weighted(spec_file(tmp_path, STEM_THEN_CONV), [])
    x = random_inputs(compiled)
    with torch.no_grad():
        before = model(*x)
        assert run_verified(graph, [FramesInChannels(), PointwiseConvToConv2d(), PadChannels(multiple=8)]) == [True] * 3
        after = graph.lower()(*x)
    torch.testing.assert_close(after, before, atol=1e-5, rtol=1e-4)
    weight = graph.state["conv_t.weight"].reshape(4, 8, 3 * 4, 3, 3)  # (frame, channel) filters
    assert weight[:, :6].abs().sum(dim=(2, 3, 4)).all() and not weight[:, 6:].any()
