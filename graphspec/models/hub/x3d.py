"""X3D zoo models (PyTorchVideo's ``hub.x3d``), Kinetics-400."""
from __future__ import annotations

from typing import Any

import torch.nn as nn

from .utils import MODEL_ZOO_ROOT, hub_model

CHECKPOINT_PATHS = {
    "x3d_xs": f"{MODEL_ZOO_ROOT}/kinetics/X3D_XS.pyth",
    "x3d_s": f"{MODEL_ZOO_ROOT}/kinetics/X3D_S.pyth",
    "x3d_m": f"{MODEL_ZOO_ROOT}/kinetics/X3D_M.pyth",
    "x3d_l": f"{MODEL_ZOO_ROOT}/kinetics/X3D_L.pyth",
}


def x3d_xs(pretrained: bool = False, progress: bool = True, **kwargs: Any) -> nn.Module:
    """X3D-XS (4x12 clips, 160 crop), Kinetics-400 top-1 69.12."""
    return hub_model("x3d_xs", url=CHECKPOINT_PATHS["x3d_xs"], pretrained=pretrained, progress=progress, **kwargs)


def x3d_s(pretrained: bool = False, progress: bool = True, **kwargs: Any) -> nn.Module:
    """X3D-S (13x6 clips, 160 crop), Kinetics-400 top-1 73.33."""
    return hub_model("x3d_s", url=CHECKPOINT_PATHS["x3d_s"], pretrained=pretrained, progress=progress, **kwargs)


def x3d_m(pretrained: bool = False, progress: bool = True, **kwargs: Any) -> nn.Module:
    """X3D-M (16x5 clips, 224 crop), Kinetics-400 top-1 75.94."""
    return hub_model("x3d_m", url=CHECKPOINT_PATHS["x3d_m"], pretrained=pretrained, progress=progress, **kwargs)


def x3d_l(pretrained: bool = False, progress: bool = True, **kwargs: Any) -> nn.Module:
    """X3D-L (16x5 clips, 312 crop), Kinetics-400 top-1 77.44."""
    return hub_model("x3d_l", url=CHECKPOINT_PATHS["x3d_l"], pretrained=pretrained, progress=progress, **kwargs)
