"""ResNet zoo models (PyTorchVideo's ``hub.resnet``)."""
from __future__ import annotations

from typing import Any

import torch.nn as nn

from .utils import MODEL_ZOO_ROOT, hub_model

CHECKPOINT_PATHS = {
    "slow_r50": f"{MODEL_ZOO_ROOT}/kinetics/SLOW_8x8_R50.pyth",
    "slow_r50_detection": f"{MODEL_ZOO_ROOT}/ava/SLOW_4x16_R50_DETECTION.pyth",
    "c2d_r50": f"{MODEL_ZOO_ROOT}/kinetics/C2D_8x8_R50.pyth",
    "i3d_r50": f"{MODEL_ZOO_ROOT}/kinetics/I3D_8x8_R50.pyth",
}


def slow_r50(pretrained: bool = False, progress: bool = True, **kwargs: Any) -> nn.Module:
    """Slow-only R50 (8x8), Kinetics-400 top-1 74.58."""
    return hub_model("slow_r50", url=CHECKPOINT_PATHS["slow_r50"], pretrained=pretrained, progress=progress, **kwargs)


def slow_r50_detection(pretrained: bool = False, progress: bool = True, **kwargs: Any) -> nn.Module:
    """Slow R50 with a RoI head for AVA detection (mAP 19.5)."""
    return hub_model("slow_r50_detection", url=CHECKPOINT_PATHS["slow_r50_detection"], pretrained=pretrained,
                     progress=progress, **kwargs)


def c2d_r50(pretrained: bool = False, progress: bool = True, **kwargs: Any) -> nn.Module:
    """C2D R50 (8x8), Kinetics-400 top-1 71.46."""
    return hub_model("c2d_r50", url=CHECKPOINT_PATHS["c2d_r50"], pretrained=pretrained, progress=progress, **kwargs)


def i3d_r50(pretrained: bool = False, progress: bool = True, **kwargs: Any) -> nn.Module:
    """I3D R50 (8x8), Kinetics-400 top-1 73.27."""
    return hub_model("i3d_r50", url=CHECKPOINT_PATHS["i3d_r50"], pretrained=pretrained, progress=progress, **kwargs)
