"""Weight initialisation shared by the model builders (PyTorchVideo's ``init_net_weights``)."""
from __future__ import annotations

import torch.nn as nn


def _trunc_normal(tensor, std: float) -> None:
    nn.init.trunc_normal_(tensor, std=std, a=-2 * std, b=2 * std)


def init_net_weights(model: nn.Module, init_std: float = 0.01, style: str = "resnet") -> nn.Module:
    """Initialise a network in place.

    ``style="resnet"``: convolutions get He (fan-out) normal init, linear layers N(0, init_std),
    batch norm weight 1 (0 for a block's final norm flagged ``block_final_bn``) and bias 0.
    ``style="vit"``: linear layers truncated normal (std 0.02), layer norms weight 1 bias 0.
    """
    if style not in ("resnet", "vit"):
        raise ValueError(f"unknown init style {style!r}; expected 'resnet' or 'vit'")
    for m in model.modules():
        if style == "resnet" and isinstance(m, (nn.Conv2d, nn.Conv3d)):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.modules.batchnorm._NormBase):
            if m.weight is not None:
                final = getattr(m, "block_final_bn", False)
                nn.init.constant_(m.weight, 0.0 if final else 1.0)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.LayerNorm) and m.elementwise_affine:
            nn.init.ones_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            if style == "vit":
                _trunc_normal(m.weight, 0.02)
            else:
                nn.init.normal_(m.weight, mean=0.0, std=init_std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return model
