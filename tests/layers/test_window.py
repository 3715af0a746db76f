"""One sliding-window length formula (``compiler.rules.window_out``) serves the conv and pool shape
rules and the mobile modules' frame counts; it is held against the lengths torch's own pooling
and convolution produce over a grid of sizes, kernels, strides, paddings, dilations and ceil
modes (torch drops a last ceil-mode window that would start in the padding)."""
from __future__ import annotations

import itertools

import pytest
import torch
import torch.nn.functional as F

from graphspec.compiler.rules import window_out
from graphspec.mobile.modules import FactorizedPool, to_layout

#: (size, kernel, stride, padding, dilation) with a window that fits the padded input; torch's
#: pools take padding up to half the kernel
GRID = [(t, k, s, p, d) for t, k, s, p, d in itertools.product(range(1, 9), (1, 2, 3, 4), (1, 2, 3), (0, 1, 2), (1, 2))
        if t + 2 * p >= d * (k - 1) + 1]
POOL_GRID = [(t, k, s, p, d) for t, k, s, p, d in GRID if p <= k // 2]


@pytest.mark.parametrize("ceil_mode", [False, True])
def test_window_out_is_the_length_torch_pooling_gives(ceil_mode):
    for t, k, s, p, d in POOL_GRID:
        torch_length = F.max_pool1d(torch.zeros(1, 1, t), k, s, p, d, ceil_mode=ceil_mode).shape[-1]
        assert window_out(t, k, s, p, d, ceil_mode) == torch_length, (t, k, s, p, d, ceil_mode)
    assert len(POOL_GRID) > 200


def test_window_out_is_the_length_torch_convolution_gives():
    for t, k, s, p, d in GRID:
        torch_length = F.conv1d(torch.zeros(1, 1, t), torch.zeros(1, 1, k), None, s, p, d).shape[-1]
        assert window_out(t, k, s, p, d) == torch_length, (t, k, s, p, d)


@pytest.mark.parametrize("frames, kernel, stride, padding", [(5, 2, 2, 1), (7, 3, 2, 1), (4, 2, 3, 1)])
def test_factorized_pool_in_ceil_mode_unfolds_the_frames_torch_gives(frames, kernel, stride, padding):
    """T=5, k=2, s=2, p=1 in ceil mode: torch gives 3 frames (the fourth window would start in
    the padding); the pool's folded output must unfold to those 3."""
    x = torch.randn(2, 3, frames, 4, 5)
    pool = FactorizedPool("max", (kernel, 2, 2), (stride, 2, 2), (padding, 1, 1), ceil_mode=True, frames=frames,
                          out_layout="folded")
    expected = F.max_pool3d(x, (kernel, 2, 2), (stride, 2, 2), (padding, 1, 1), ceil_mode=True)
    assert pool.frames_out == expected.shape[2]
    torch.testing.assert_close(to_layout(pool(x), "ncthw", pool.frames_out), expected)
