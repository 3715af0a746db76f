"""Efficient blocks of PyTorchVideo/Accelerator, per target device."""
