"""Zoo models by name, as ``pytorchvideo.models.hub``: ``from graphspec.models.hub import slow_r50``.

Each function builds its zoo spec (``graphspec zoo`` lists them) and, with ``pretrained=True``,
loads PyTorchVideo's published checkpoint. ``hubconf.py`` at the repository root exposes the
same functions to ``torch.hub.load``.
"""
from .csn import csn_r101
from .efficient_x3d_mobile_cpu import efficient_x3d_s, efficient_x3d_xs
from .r2plus1d import r2plus1d_r50
from .resnet import c2d_r50, i3d_r50, slow_r50, slow_r50_detection
from .slowfast import slowfast_16x8_r101_50_50, slowfast_r50, slowfast_r50_detection, slowfast_r101
from .x3d import x3d_l, x3d_m, x3d_s, x3d_xs

__all__ = [
    "c2d_r50", "csn_r101", "efficient_x3d_s", "efficient_x3d_xs", "i3d_r50", "r2plus1d_r50", "slow_r50",
    "slow_r50_detection", "slowfast_16x8_r101_50_50", "slowfast_r101", "slowfast_r50", "slowfast_r50_detection",
    "x3d_l", "x3d_m", "x3d_s", "x3d_xs",
]
