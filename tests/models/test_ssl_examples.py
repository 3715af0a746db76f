"""The self-supervised training examples run and their loss falls (a few steps each)."""
from __future__ import annotations

import importlib.util

import pytest

from conftest import ROOT


def _example(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "examples" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", ["ssl_simclr", "ssl_byol"])
def test_training_on_synthetic_clips_lowers_the_loss(name):
    losses = _example(name).main(steps=12)
    assert len(losses) == 12 and all(loss == loss for loss in losses)  # no NaN
    first, last = sum(losses[:3]) / 3, sum(losses[-3:]) / 3
    assert last < 0.75 * first, losses
