import pytest
import torch
import torch.nn.functional as F

from graphspec.mobile.passes import Pool3dTo2d
from graphspec.mobile.modules import FactorizedPool

from passes_support import TINY_X3D, ops, run_and_compare


def test_the_x3d_head_pool_becomes_a_factorized_2d_pool():
    # at 64x64 the head's 4x1x1 window slides over a 4x2x2 map: not a global pool
    overrides = [*TINY_X3D[1:], "inputs.video=[1, 3, 4, 64, 64]"]
    graph = run_and_compare(Pool3dTo2d(), overrides=overrides)
    assert "FactorizedPool" in ops(graph) and "AvgPool3d" not in ops(graph)


@pytest.mark.parametrize("mode", ["max", "avg"])
@pytest.mark.parametrize("kernel,stride,padding,ceil,include_pad", [
    ((1, 3, 3), (1, 2, 2), (0, 1, 1), False, True),   # ResNet stem max pool
    ((3, 3, 3), (2, 2, 2), (1, 1, 1), True, False),
    ((4, 2, 2), (1, 1, 1), (0, 0, 0), False, True),   # X3D head
    ((2, 1, 1), (2, 1, 1), (1, 0, 0), True, True),    # temporal only
])
def test_matches_3d_pooling_directly(mode, kernel, stride, padding, ceil, include_pad):
    x = torch.randn(2, 3, 7, 9, 8)
    pool = FactorizedPool(mode, kernel, stride, padding, ceil, include_pad, frames=7)
    if mode == "max":
        expected = F.max_pool3d(x, kernel, stride, padding, ceil_mode=ceil)
    else:
        expected = F.avg_pool3d(x, kernel, stride, padding, ceil_mode=ceil, count_include_pad=include_pad)
    torch.testing.assert_close(pool(x), expected)
