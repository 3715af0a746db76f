"""Efficient models of PyTorchVideo/Accelerator, per target device."""
from . import mobile_cpu  # noqa: F401  (registers the ops)
