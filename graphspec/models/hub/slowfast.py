"""SlowFast zoo models (PyTorchVideo's ``hub.slowfast``)."""
from __future__ import annotations

from typing import Any

import torch.nn as nn

from .utils import MODEL_ZOO_ROOT, hub_model

CHECKPOINT_PATHS = {
    "slowfast_r50": f"{MODEL_ZOO_ROOT}/kinetics/SLOWFAST_8x8_R50.pyth",
    "slowfast_r101": f"{MODEL_ZOO_ROOT}/kinetics/SLOWFAST_8x8_R101.pyth",
    "slowfast_16x8_r101_50_50": f"{MODEL_ZOO_ROOT}/kinetics/SLOWFAST_16x8_R101_50_50.pyth",
    "slowfast_r50_detection": f"{MODEL_ZOO_ROOT}/ava/SLOWFAST_8x8_R50_DETECTION.pyth",
}


def slowfast_r50(pretrained: bool = False, progress: bool = True, **kwargs: Any) -> nn.Module:
    """SlowFast R50 (8x8), Kinetics-400 top-1 76.94."""
    return hub_model("slowfast_r50", url=CHECKPOINT_PATHS["slowfast_r50"], pretrained=pretrained,
                     progress=progress, **kwargs)


def slowfast_r101(pretrained: bool = False, progress: bool = True, **kwargs: Any) -> nn.Module:
    """SlowFast R101 (8x8), Kinetics-400 top-1 77.90."""
    return hub_model("slowfast_r101", url=CHECKPOINT_PATHS["slowfast_r101"], pretrained=pretrained,
                     progress=progress, **kwargs)


def slowfast_16x8_r101_50_50(pretrained: bool = False, progress: bool = True, **kwargs: Any) -> nn.Module:
    """SlowFast R101 (16x8), Kinetics-400 top-1 78.70."""
    return hub_model("slowfast_16x8_r101_50_50", url=CHECKPOINT_PATHS["slowfast_16x8_r101_50_50"],
                     pretrained=pretrained, progress=progress, **kwargs)


def slowfast_r50_detection(pretrained: bool = False, progress: bool = True, **kwargs: Any) -> nn.Module:
    """SlowFast R50 (8x8) with an RoI head for AVA detection (mAP 24.67); called as model([slow, fast], boxes)."""
    return hub_model("slowfast_r50_detection", url=CHECKPOINT_PATHS["slowfast_r50_detection"],
                     pretrained=pretrained, progress=progress, **kwargs)
