"""State layouts derived by building the op's module on the meta device (``state=BUILT``): the
layout is the module's own (a user op's parameters and buffers, in state_dict order, its
component arguments' entries left to their own nodes), and a module that refuses arguments
the shape rule accepted is a located finding, not a missing layout or a traceback."""
from __future__ import annotations

import pytest
import torch
import torch.nn as nn

import graphspec
from graphspec import registry
from graphspec.compiler.infer import BUILT, annotate_state
from graphspec.compiler.ir import assign_paths
from graphspec.compiler.rules import identity_infer
from graphspec.compiler.template import expand_node
from graphspec.layers.squeeze_excitation import SqueezeExcitation


class Gains(nn.Module):
    """A buffer, then a parameter whose shape depends on the arguments; odd ``channels`` refused."""

    def __init__(self, channels: int, taps: tuple = (1, 1)) -> None:
        super().__init__()
        if channels % 2:
            raise ValueError(f"channels must be even, got {channels}")
        self.register_buffer("count", torch.zeros((), dtype=torch.int64))
        self.gain = nn.Parameter(torch.ones(channels, *taps))

    def forward(self, x):
        return x


@pytest.fixture
def gains_op():
    with registry.scoped():
        graphspec.register(Gains, infer=identity_infer, state=BUILT)
        yield


def test_layout_and_params_are_the_built_modules(gains_op):
    root = assign_paths(expand_node("Gains", {"channels": 4, "taps": (2, 3)}))
    # torch's state_dict order: a module's parameters, then its buffers (whatever the registration order)
    assert annotate_state(root) == [("gain", "float32", (4, 2, 3), True), ("count", "int64", (), False)]
    assert root.meta["params"] == 24
    other = assign_paths(expand_node("Gains", {"channels": 6, "taps": [1, 5]}))  # a list: another argument set
    assert annotate_state(other)[0] == ("gain", "float32", (6, 1, 5), True)


def test_component_arguments_keep_their_own_entries():
    """Squeeze-excitation with a stateful activation component: the layer's own entries come from
    the built layer, the activation's from its own node (at ``block.1``), none twice."""
    args = {"num_channels": 8, "num_channels_reduced": 2, "is_3d": True}
    root = assign_paths(expand_node("SqueezeExcitation", {**args, "activation": {"op": "BatchNorm3d", "num_features": 2}}))
    keys = [key for key, *_ in annotate_state(root)]
    with torch.device("meta"):
        module = SqueezeExcitation(**args, activation=nn.BatchNorm3d(2))
    assert len(keys) == len(set(keys)) and set(keys) == set(module.state_dict())
    assert root.meta["params"] == sum(p.numel() for p in module.parameters())


def test_a_module_refusing_its_arguments_is_a_located_finding(gains_op, tmp_path):
    spec = tmp_path / "odd.yaml"
    spec.write_text("graphspec: 1\nkind: model\nname: odd\ninputs: {x: [B, 3]}\n"
                    "nodes:\n  g: {op: Gains, channels: 3, in: x}\noutputs: {y: g}\n")
    findings = graphspec.check(spec)
    assert [(d.code, d.message) for d in findings] == [("args", "g (Gains): ValueError: channels must be even, got 3")]
    assert findings[0].location is not None and findings[0].location.line == 6
