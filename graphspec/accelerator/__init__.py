"""PyTorchVideo/Accelerator: efficient blocks for target devices and their deployment utilities."""
