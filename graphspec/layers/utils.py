"""Small helpers shared by the layer and model builders."""

import math
from typing import Any, Dict, Optional, Sequence

import torch
import torch.nn as nn


def set_attributes(self, params: Optional[Dict[str, Any]] = None) -> None:
    """Set every entry of ``params`` (typically ``locals()``) as an attribute of
    ``self``, skipping the ``self`` entry itself."""
    if params:
        for name, value in params.items():
            # ``locals()`` of an ``__init__`` that calls ``super()`` also holds
            # ``__class__``; assigning it would re-class instances of subclasses.
            if name != "self" and name != "__class__":
                setattr(self, name, value)


def run_in_order(module: nn.Module, names: Sequence[str], x: torch.Tensor) -> torch.Tensor:
    """``x`` through ``module``'s layers ``names``, in that order, skipping those that are None (the
    forward of a block whose optional parts are attributes, e.g. a bottleneck's norms)."""
    for name in names:
        layer = getattr(module, name)
        if layer is not None:
            x = layer(x)
    return x


def round_width(
    width: int,
    multiplier: float,
    min_width: int = 8,
    divisor: int = 8,
    ceil: bool = False,
) -> int:
    """Scale ``width`` by ``multiplier`` and round it to a multiple of ``divisor``.

    The result is at least ``min_width`` (``divisor`` when ``min_width`` is falsy)
    and never more than 10% below the scaled width. A falsy ``multiplier`` returns
    ``width`` unchanged.
    """
    if not multiplier:
        return width
    width *= multiplier
    min_width = min_width or divisor
    if ceil:
        width_out = max(min_width, int(math.ceil(width / divisor)) * divisor)
    else:
        width_out = max(min_width, int(width + divisor / 2) // divisor * divisor)
    # Rounding down must not lose more than 10% of the scaled width.
    if width_out < 0.9 * width:
        width_out += divisor
    return int(width_out)


def round_repeats(repeats: int, multiplier: float) -> int:
    """Scale a repeat count by ``multiplier``, rounding up. A falsy ``multiplier``
    returns ``repeats`` unchanged."""
    if not multiplier:
        return repeats
    return int(math.ceil(multiplier * repeats))
