"""``convert_to_deployable_form``: a model with every efficient block in its deployable form."""
from __future__ import annotations

import copy
from typing import Iterator

import torch
import torch.nn as nn

from graphspec.accelerator.efficient_blocks.efficient_block_base import EfficientBlockBase


def _outermost_blocks(module: nn.Module, prefix: str = "") -> Iterator[tuple[str, EfficientBlockBase]]:
    """Efficient blocks not inside another one (a block converts its own sub-blocks)."""
    if isinstance(module, EfficientBlockBase):
        yield prefix, module
        return
    for name, child in module.named_children():
        yield from _outermost_blocks(child, f"{prefix}.{name}" if prefix else name)


def convert_to_deployable_form(model: nn.Module, input_tensor: torch.Tensor, convert_for_quantize: bool = False,
                               native_conv3d_op_qnnpack: bool = False) -> nn.Module:
    """A converted copy of ``model`` (in eval mode) for inputs shaped like ``input_tensor``: the
    model is run once on it to learn each efficient block's input size, then every block is
    converted (``EfficientBlockBase.convert``). ``model`` itself is left unchanged. The copy
    computes what ``model`` computes in eval mode, on inputs of exactly that size.

    ``native_conv3d_op_qnnpack`` keeps depthwise 3x3x3 convolutions as (folded) Conv3d, for
    runtimes with a native 3-D kernel. ``convert_for_quantize`` is accepted for PyTorchVideo
    compatibility and changes nothing: the deployable forms are plain tensor ops, which
    onnxruntime's static quantization handles as they are."""
    converted = copy.deepcopy(model).eval()
    blocks = list(_outermost_blocks(converted))
    if not blocks:
        raise ValueError(f"{type(model).__name__} has no efficient blocks to convert (see transmute_model)")
    sizes: dict[str, tuple] = {}

    def recorder(name: str):
        def hook(module: nn.Module, args: tuple) -> None:
            size = tuple(args[0].shape)
            if sizes.setdefault(name, size) != size:
                raise ValueError(f"{name or type(module).__name__} runs on inputs of two sizes "
                                 f"({list(sizes[name])} and {list(size)}); it cannot be converted for one")
        return hook

    handles = [block.register_forward_pre_hook(recorder(name)) for name, block in blocks]
    try:
        with torch.no_grad():
            converted(input_tensor)
    finally:
        for handle in handles:
            handle.remove()
    for name, block in blocks:
        if name not in sizes:
            raise ValueError(f"{name or type(block).__name__} did not run on the example input, so its input size "
                             "is unknown")
        block.convert(sizes[name], convert_for_quantize=convert_for_quantize,
                      native_conv3d_op_qnnpack=native_conv3d_op_qnnpack)
    return converted
