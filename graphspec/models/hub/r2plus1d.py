"""R(2+1)D zoo models (PyTorchVideo's ``hub.r2plus1d``)."""
from __future__ import annotations

from typing import Any

import torch.nn as nn

from .utils import MODEL_ZOO_ROOT, hub_model

CHECKPOINT_PATHS = {
    "r2plus1d_r50": f"{MODEL_ZOO_ROOT}/kinetics/R2PLUS1D_16x4_R50.pyth",
}


def r2plus1d_r50(pretrained: bool = False, progress: bool = True, **kwargs: Any) -> nn.Module:
    """R(2+1)D R50 (16x4), Kinetics-400 top-1 76.01."""
    return hub_model("r2plus1d_r50", url=CHECKPOINT_PATHS["r2plus1d_r50"], pretrained=pretrained, progress=progress,
                     **kwargs)
