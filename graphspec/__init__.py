"""graphspec: a declarative model-graph compiler for video understanding.

Every model is a typed spec (YAML); the compiler checks it statically and lowers it to the same
``nn.Module`` tree PyTorchVideo builds. ``graphspec.<path>`` mirrors ``pytorchvideo.<path>``.

Importing ``graphspec`` is cheap (no torch): the API names below and the subpackages are
imported on first use, so ``graphspec --version`` answers at once.
"""
from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

#: public name -> the module that defines it (imported on first access)
_LAZY = {
    "build": "graphspec.api",
    "check": "graphspec.api",
    "compile": "graphspec.api",
    "load_spec": "graphspec.api",
    "register": "graphspec.registry",
    "Diagnostic": "graphspec.spec.errors",
    "SpecError": "graphspec.spec.errors",
}
__all__ = list(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
    elif not name.startswith("_"):
        try:  # a subpackage: graphspec.models, graphspec.layers, ...
            value = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as err:
            if err.name != f"{__name__}.{name}":
                raise
            raise AttributeError(f"module 'graphspec' has no attribute {name!r}") from None
    else:
        raise AttributeError(f"module 'graphspec' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
