import torch

from graphspec.mobile.passes import SpatialConvToConv2d
from graphspec.mobile.modules import FoldedConv2d

from passes_support import run_and_compare


def test_1xkxk_conv3d_becomes_a_conv2d_on_every_frame():
    graph = run_and_compare(SpatialConvToConv2d())
    stem = next(n for n in graph.walk() if n.path == "blocks.0.conv.conv_t")
    assert stem.op == "FoldedConv2d" and tuple(stem.args["kernel_size"]) == (3, 3)
    assert not any(n.op == "Conv3d" and n.args["kernel_size"][0] == 1 and tuple(n.args["kernel_size"]) != (1, 1, 1)
                   for n in graph.walk())


def test_matches_conv3d_directly():
    conv3d = torch.nn.Conv3d(3, 5, (1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1), groups=1)
    conv2d = FoldedConv2d(3, 5, (3, 3), (2, 2), (1, 1), frames=4)
    conv2d.weight.data.copy_(conv3d.weight[:, :, 0]), conv2d.bias.data.copy_(conv3d.bias)
    x = torch.randn(2, 3, 4, 11, 10)
    torch.testing.assert_close(conv2d(x), conv3d(x))
