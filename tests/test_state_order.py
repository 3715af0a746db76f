"""The static state_dict layout lists sub-modules in the order the module registers them (its
constructor's argument order), whatever order the spec writes their keys in."""
from __future__ import annotations

import pytest

from graphspec.compiler.pipeline import compile_spec

STEM = {
    "conv": "{op: Conv3d, in_channels: 3, out_channels: 8, kernel_size: [1, 3, 3], padding: [0, 1, 1], bias: false}",
    "norm": "{op: BatchNorm3d, num_features: 8}",
    "activation": "ReLU",
    "pool": "{op: MaxPool3d, kernel_size: [1, 3, 3], stride: [1, 2, 2], padding: [0, 1, 1]}",
}


@pytest.mark.parametrize("order", [["conv", "norm", "activation", "pool"], ["pool", "norm", "activation", "conv"],
                                   ["norm", "conv", "pool", "activation"]])
def test_static_layout_follows_module_registration_order(tmp_path, order):
    body = "".join(f"  {key}: {STEM[key]}\n" for key in order)
    spec = tmp_path / "stem.yaml"
    spec.write_text("graphspec: 1\nkind: model\nname: stem\ninputs: {video: [1, 3, 4, 16, 16]}\n"
                    f"model:\n  op: ResNetBasicStem\n{body}")
    compiled = compile_spec(spec)
    assert compiled.ok, [d.format() for d in compiled.diagnostics]
    module_keys = list(compiled.lower().state_dict())
    assert module_keys[0] == "conv.weight"  # ResNetBasicStem registers conv, norm, activation, pool
    assert [key for key, *_ in compiled.state] == module_keys
