"""Efficient X3D zoo models for mobile CPUs (PyTorchVideo's ``hub.efficient_x3d_mobile_cpu``),
Kinetics-400, built from ``specs/models/efficient_x3d_{xs,s}.yaml``. The checkpoints are of the
original (unconverted) form; ``convert_to_deployable_form`` makes the deployable one."""
from __future__ import annotations

from typing import Any

import torch.nn as nn

from .utils import MODEL_ZOO_ROOT, hub_model

CHECKPOINT_PATHS = {
    "efficient_x3d_xs": f"{MODEL_ZOO_ROOT}/kinetics/efficient_x3d_xs_original_form.pyth",
    "efficient_x3d_s": f"{MODEL_ZOO_ROOT}/kinetics/efficient_x3d_s_original_form.pyth",
}


def efficient_x3d_xs(pretrained: bool = False, progress: bool = True, **kwargs: Any) -> nn.Module:
    """EfficientX3d "XS" (4 frames, 160 crop), Kinetics-400 top-1 68.5; ``kwargs`` override the
    constructor's arguments (``num_classes``, ``dropout``, ``head_act``, ``enable_head``)."""
    return _efficient_x3d("efficient_x3d_xs", pretrained, progress, kwargs)


def efficient_x3d_s(pretrained: bool = False, progress: bool = True, **kwargs: Any) -> nn.Module:
    """EfficientX3d "S" (13 frames, 160 crop), Kinetics-400 top-1 73.0; ``kwargs`` as for
    ``efficient_x3d_xs``."""
    return _efficient_x3d("efficient_x3d_s", pretrained, progress, kwargs)


def _efficient_x3d(name: str, pretrained: bool, progress: bool, kwargs: dict) -> nn.Module:
    return hub_model(name, url=CHECKPOINT_PATHS[name], pretrained=pretrained, progress=progress, **kwargs)
