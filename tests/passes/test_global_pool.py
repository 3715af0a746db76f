import torch

from graphspec.mobile.passes import GlobalPoolToMean
from graphspec.mobile.modules import GlobalAvgPool

from passes_support import ops, run_and_compare


def test_whole_clip_average_pools_become_means():
    graph = run_and_compare(GlobalPoolToMean())
    # TINY_X3D's head pool window is the whole 4x1x1 map; the output pool is adaptive to 1
    assert ops(graph).count("GlobalAvgPool") == 2 and "AdaptiveAvgPool3d" not in ops(graph)


def test_equals_the_mean_over_time_and_space_in_both_layouts():
    x = torch.randn(2, 5, 3, 4, 6)
    expected = x.mean((2, 3, 4), keepdim=True)
    pool = GlobalAvgPool(frames=3)
    torch.testing.assert_close(pool(x), expected)
    torch.testing.assert_close(pool(x.transpose(1, 2).reshape(6, 5, 4, 6)), expected)
