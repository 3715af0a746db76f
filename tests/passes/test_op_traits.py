"""The traits model ops declare to the passes (``graphspec.compiler.traits``) hold for the modules
they build: an element-wise op computes each channel's outputs from that channel alone, position by
position (what lets the layout pass run it in either layout and the padding pass widen through
it), and an op with internal parts is one leaf of the passes' chains."""
from __future__ import annotations

import pytest
import torch

from graphspec import registry
from graphspec.compiler.ir import PYTHON_OP
from graphspec.compiler.traits import ELEMENTWISE, INTERNAL_PARTS, KEEPS_LAYOUT, has_trait
from graphspec.mobile.passes.base import chains

from passes_support import spec_file, weighted
from tiny_specs import model_spec

CHANNELS = 4
ELEMENTWISE_OPS = sorted(op.name for op in registry.ops() if ELEMENTWISE in op.traits)


def _module(name: str) -> torch.nn.Module:
    """The op's module with its required channel count given and random state (a per-channel
    scale of ones would hide a mix-up of channels)."""
    op = registry.get(name)
    required = {arg: CHANNELS for arg, spec in op.args.items() if spec.required}
    module = op.target(**required).eval()
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for tensor in [*module.parameters(), *module.buffers()]:
            if tensor.is_floating_point():
                tensor.copy_(torch.randn(tensor.shape, generator=gen))
    return module


def _computes_element_wise(module: torch.nn.Module) -> bool:
    """True when changing one channel's inputs changes no other channel's outputs, rearranging the
    positions (the same way in every channel) rearranges the outputs alike, and the folded 4-D
    layout gives the same outputs as the 5-D one (checked in this order: each assumes the last)."""
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(2, CHANNELS, 3, 4, 5, generator=gen)
    with torch.no_grad():
        y = module(x)
        changed = x.clone()
        changed[:, 0] = torch.randn(changed[:, 0].shape, generator=gen)
        if not torch.allclose(module(changed)[:, 1:], y[:, 1:], atol=1e-6):
            return False
        rows = x.movedim(1, -1).reshape(-1, CHANNELS)
        order = torch.randperm(rows.shape[0], generator=gen)
        shuffled = module(rows[order].reshape(2, 3, 4, 5, CHANNELS).movedim(-1, 1))
        if not torch.allclose(shuffled.movedim(1, -1).reshape(-1, CHANNELS),
                              y.movedim(1, -1).reshape(-1, CHANNELS)[order], atol=1e-6):
            return False
        folded = module(x.transpose(1, 2).reshape(6, CHANNELS, 4, 5))
        return torch.allclose(folded, y.transpose(1, 2).reshape(6, CHANNELS, 4, 5), atol=1e-6)


def test_torchs_activations_and_the_folded_norm_declare_element_wise():
    """torch documents these as applied element-wise; ChannelAffine is a per-channel scale and shift."""
    assert {"ReLU", "Sigmoid", "Hardswish", "Swish", "SigmoidMul", "ChannelAffine"} <= set(ELEMENTWISE_OPS)
    assert not {"Softmax", "Conv3d", "SqueezeExcitationGemm"} & set(ELEMENTWISE_OPS)


@pytest.mark.parametrize("name", ELEMENTWISE_OPS)
def test_an_element_wise_op_computes_element_wise(name):
    assert _computes_element_wise(_module(name))
    assert KEEPS_LAYOUT in registry.get(name).traits


def test_a_python_module_in_the_graph_declares_no_trait():
    """A module passed in from Python as it is (no registered op) is asked too: it has no traits."""
    assert not any(has_trait(PYTHON_OP, trait) for trait in (ELEMENTWISE, KEEPS_LAYOUT, INTERNAL_PARTS))


@pytest.mark.parametrize("module", [torch.nn.Softmax(dim=1), torch.nn.Conv3d(CHANNELS, CHANNELS, 1),
                                    torch.nn.Conv3d(CHANNELS, CHANNELS, (1, 3, 3), padding=(0, 1, 1), groups=CHANNELS)],
                         ids=["softmax over channels", "pointwise conv", "depthwise 3x3 conv"])
def test_the_element_wise_check_refuses_ops_that_are_not(module):
    assert not _computes_element_wise(module.eval())


#: a squeeze-excitation with an activation of its own (an IR child) between two ops
SE_BETWEEN = model_spec("se_between", {"video": [1, 2, 3, 4, 4]}, """\
nodes:
  conv: {op: Conv3d, in_channels: 2, out_channels: 4, kernel_size: 1, in: video}
  se: {op: SqueezeExcitation, num_channels: 4, is_3d: true, activation: {op: ReLU}, in: conv}
  act: {op: ReLU, in: se}
outputs: {out: act}
""")


def test_an_op_with_internal_parts_is_one_leaf_of_the_chains(tmp_path):
    """Data flows conv -> squeeze-excitation -> ReLU: one run; the activation inside the
    squeeze-excitation is none of its steps."""
    _, _, graph = weighted(spec_file(tmp_path, SE_BETWEEN), overrides=())
    se = next(node for node in graph.walk() if node.op == "SqueezeExcitation")
    assert INTERNAL_PARTS in registry.get("SqueezeExcitation").traits and list(se.children())
    assert [[node.op for node in run] for run in chains(graph)] == [["Conv3d", "SqueezeExcitation", "ReLU"]]
