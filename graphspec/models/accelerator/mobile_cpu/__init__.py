"""Efficient models for mobile CPUs: X3D's bottleneck block and EfficientX3d."""
from graphspec.layers.accelerator import mobile_cpu as _layers  # noqa: F401  (registers the blocks)

from .efficient_x3d import EfficientX3d, create_x3d
from .residual_blocks import X3dBottleneckBlock

__all__ = ["EfficientX3d", "X3dBottleneckBlock", "create_x3d"]
