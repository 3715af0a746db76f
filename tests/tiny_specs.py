"""Tiny specs of each kind that the CLI and API tests write to files: a one-stem model (built and
exported in milliseconds) and a four-frame clip transform."""
from __future__ import annotations

from typing import Sequence


def model_spec(name: str, inputs: dict[str, Sequence], body: str) -> str:
    """A model spec's text: the header every test spec starts with (format version, kind, ``name``,
    the ``inputs`` and their shapes), then ``body`` (its ``model:`` or ``nodes:`` and the rest)."""
    shapes = ", ".join(f"{key}: [{', '.join(map(str, shape))}]" for key, shape in inputs.items())
    return f"graphspec: 1\nkind: model\nname: {name}\ninputs: {{{shapes}}}\n{body}"


def stem_model(side: int = 16) -> str:
    """A model spec: ResNet's basic stem on one [1, 3, 4, side, side] clip."""
    return model_spec("stem", {"video": [1, 3, 4, side, side]}, """\
model: {op: create_res_basic_stem, in_channels: 3, out_channels: 4}
outputs: [features]
""")


#: a transform spec: four frames of a uint8 CTHW clip, scaled to [0, 1]
CLIP_TRANSFORM = """\
graphspec: 1
kind: transform
name: clips
input: {video: {layout: CTHW, dtype: uint8, shape: [3, T, H, W]}, label: any}
transform:
  - {op: ApplyTransformToKey, key: video, transform: [{op: UniformTemporalSubsample, num_samples: 4}, Div255]}
"""
