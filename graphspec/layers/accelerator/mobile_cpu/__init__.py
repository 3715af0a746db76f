"""Efficient blocks for mobile CPUs (XNNPACK-friendly deployable forms)."""
from . import activation_functions, attention, convolutions, fully_connected, pool  # noqa: F401  (registers)
