"""The mobile CPU transmuter functions (the model transmuter's ``mobile_cpu`` target)."""
from .transmuter_mobile_cpu import (  # noqa: F401
    EFFICIENT_BLOCK_TRANSMUTER_MOBILE_CPU,
    transmute_Conv3d3x1x1BnAct, transmute_Conv3d3x3x3DwBnAct, transmute_Conv3d5x1x1BnAct, transmute_Conv3dPwBnAct,
    transmute_Conv3dTemporalKernel1BnAct,
)
