"""The model transmuter: replace regular modules of a model by equivalent efficient blocks.

A target device has transmuter functions (``module -> efficient block | None``): graphspec's own
(``BUILTIN_TRANSMUTERS``: ``mobile_cpu``), loaded on first use and tried first, and those added with
``register_transmuter``. ``transmute_model`` walks a model and swaps every module the first
matching transmuter accepts (its weights carried over), leaving the rest as they are.
"""
from __future__ import annotations

import importlib
import logging
from typing import Callable, Optional

import torch.nn as nn

from graphspec.accelerator.efficient_blocks.efficient_block_base import EfficientBlockBase

log = logging.getLogger(__name__)

Transmuter = Callable[[nn.Module], Optional[EfficientBlockBase]]

#: target device -> its transmuter functions, tried in order
EFFICIENT_BLOCK_TRANSMUTER_REGISTRY: dict[str, list[Transmuter]] = {}
#: target device -> the module (and its list) of graphspec's own transmuters for it; imported on
#: first use, not here: the transmuters import the efficient blocks, which import the models
BUILTIN_TRANSMUTERS = {
    "mobile_cpu": ("graphspec.accelerator.deployment.mobile_cpu.transmuter.transmuter_mobile_cpu",
                   "EFFICIENT_BLOCK_TRANSMUTER_MOBILE_CPU"),
}
_loaded: set[str] = set()


def register_transmuter(target_device: str) -> Callable[[Transmuter], Transmuter]:
    """Decorator: add a transmuter function for ``target_device``."""

    def deco(fn: Transmuter) -> Transmuter:
        EFFICIENT_BLOCK_TRANSMUTER_REGISTRY.setdefault(target_device, []).append(fn)
        return fn

    return deco


def _transmuters(target_device: str) -> list[Transmuter]:
    if target_device in BUILTIN_TRANSMUTERS and target_device not in _loaded:
        module, name = BUILTIN_TRANSMUTERS[target_device]
        builtin = getattr(importlib.import_module(module), name)
        EFFICIENT_BLOCK_TRANSMUTER_REGISTRY[target_device] = [
            *builtin, *EFFICIENT_BLOCK_TRANSMUTER_REGISTRY.get(target_device, [])]
        _loaded.add(target_device)
    if target_device not in EFFICIENT_BLOCK_TRANSMUTER_REGISTRY:
        raise ValueError(f"no transmuter for target device {target_device!r}; "
                         f"known: {sorted(EFFICIENT_BLOCK_TRANSMUTER_REGISTRY)}")
    return EFFICIENT_BLOCK_TRANSMUTER_REGISTRY[target_device]


def transmute_model(model: nn.Module, target_device: str = "mobile_cpu", prefix: str = "") -> None:
    """Replace, in place, every sub-module of ``model`` that a transmuter of ``target_device``
    accepts by the efficient block it returns (efficient blocks themselves are left alone). The
    replacements are logged with their qualified names (``prefix`` is prepended)."""
    transmuters = _transmuters(target_device)
    for name, child in list(model.named_children()):
        path = f"{prefix}{name}"
        if isinstance(child, EfficientBlockBase):
            continue
        replacement = next((block for block in (t(child) for t in transmuters) if block is not None), None)
        if replacement is None:
            transmute_model(child, target_device, prefix=f"{path}.")
            continue
        log.info("transmute_model: %s (%s) -> %s", path, type(child).__name__, type(replacement).__name__)
        setattr(model, name, replacement)
