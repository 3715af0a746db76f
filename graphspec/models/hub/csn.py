"""CSN zoo models (PyTorchVideo's ``hub.csn``)."""
from __future__ import annotations

from typing import Any

import torch.nn as nn

from .utils import MODEL_ZOO_ROOT, hub_model

CHECKPOINT_PATHS = {
    "csn_r101": f"{MODEL_ZOO_ROOT}/kinetics/CSN_32x2_R101.pyth",
}


def csn_r101(pretrained: bool = False, progress: bool = True, **kwargs: Any) -> nn.Module:
    """CSN R101 (32x2), Kinetics-400 top-1 77.00."""
    return hub_model("csn_r101", url=CHECKPOINT_PATHS["csn_r101"], pretrained=pretrained, progress=progress, **kwargs)
