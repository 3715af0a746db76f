"""Every public name of the reference index that the model issues cover exists at graphspec.<path>."""
from __future__ import annotations

import importlib
import inspect

import pytest

from conftest import REFERENCE

# Mirrored later by the data, transforms, accelerator and self-supervised issues.
OUT_OF_SCOPE = (
    "data.", "transforms.", "accelerator.", "models.accelerator", "layers.accelerator", "models.simclr",
    "models.memory_bank", "models.masked_multistream", "models.hub.efficient",
)


def _names() -> list[str]:
    path = REFERENCE / "api-names.txt"  # a missing reference fails collection loudly, never skips
    return [n.strip() for n in path.read_text().splitlines() if n.strip() and not n.startswith(OUT_OF_SCOPE)]


@pytest.mark.parametrize("name", _names())
def test_public_name_exists(name):
    module, attr = name.rsplit(".", 1)
    obj = getattr(importlib.import_module(f"graphspec.{module}"), attr)
    if module.startswith("models.hub."):  # hub functions: PyTorchVideo's signature
        params = inspect.signature(obj).parameters
        assert params["pretrained"].default is False and params["progress"].default is True
