import pytest
import torch

from graphspec.mobile.passes import TemporalConvToConv2d
from graphspec.mobile.modules import TemporalConv2d

from passes_support import run_and_compare


def test_the_x3d_stem_temporal_conv_becomes_a_conv2d_over_t_and_hw():
    graph = run_and_compare(TemporalConvToConv2d())
    conv = next(n for n in graph.walk() if n.path == "blocks.0.conv.conv_xy")
    assert conv.op == "TemporalConv2d" and tuple(conv.args["kernel_size"]) == (5, 1)
    assert conv.args["groups"] == conv.args["in_channels"]  # depthwise stays depthwise


@pytest.mark.parametrize("kt,stride,padding,groups", [(5, 1, 2, 4), (3, 2, 1, 1), (7, 4, 3, 2)])
def test_matches_conv3d_directly(kt, stride, padding, groups):
    conv3d = torch.nn.Conv3d(4, 8, (kt, 1, 1), stride=(stride, 1, 1), padding=(padding, 0, 0), groups=groups)
    conv2d = TemporalConv2d(4, 8, (kt, 1), (stride, 1), (padding, 0), groups=groups, frames=9)
    conv2d.weight.data.copy_(conv3d.weight[..., 0]), conv2d.bias.data.copy_(conv3d.bias)
    x = torch.randn(2, 4, 9, 3, 5)
    torch.testing.assert_close(conv2d(x), conv3d(x))
