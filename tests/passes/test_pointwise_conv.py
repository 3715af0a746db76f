import torch

from graphspec.mobile.passes import PointwiseConvToConv2d
from graphspec.mobile.modules import FoldedConv2d

from passes_support import run_and_compare


def test_every_1x1x1_conv3d_becomes_a_pointwise_conv2d():
    graph = run_and_compare(PointwiseConvToConv2d())
    left = [n.args["kernel_size"] for n in graph.walk() if n.op == "Conv3d"]
    assert (1, 1, 1) not in [tuple(k) for k in left]
    assert any(n.op == "FoldedConv2d" and tuple(n.args["stride"]) == (2, 2) for n in graph.walk())  # the shortcut


def test_pointwise_conv2d_matches_conv3d_in_both_layouts():
    conv3d = torch.nn.Conv3d(4, 6, 1)
    conv2d = FoldedConv2d(4, 6, frames=3, out_layout=None)
    conv2d.weight.data.copy_(conv3d.weight[:, :, 0]), conv2d.bias.data.copy_(conv3d.bias)
    x = torch.randn(2, 4, 3, 5, 7)
    folded = x.transpose(1, 2).reshape(6, 4, 5, 7)
    expected = conv3d(x)
    torch.testing.assert_close(conv2d(x), expected)  # 5-D in: [N, C, T*H, W] view, 5-D out
    torch.testing.assert_close(conv2d(folded), expected.transpose(1, 2).reshape(6, 6, 5, 7))
