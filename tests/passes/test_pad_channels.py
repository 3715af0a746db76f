import torch

from graphspec.mobile.passes import MOBILE, PadChannels

from passes_support import ops, random_inputs, run_verified, weighted
from tiny_specs import model_spec


def _rewritten(spec="x3d_xs", overrides=None):
    """A model (the tiny X3D by default) through the mobile passes that come before channel padding."""
    compiled, model, graph = weighted(spec) if overrides is None else weighted(spec, overrides)
    run_verified(graph, MOBILE[:MOBILE.index(next(p for p in MOBILE if isinstance(p, PadChannels)))])
    return compiled, model, graph


def _padded_computes_the_same(compiled, model, graph):
    x = random_inputs(compiled)
    with torch.no_grad():
        before = model(*x)
        assert run_verified(graph, [PadChannels(multiple=16)]) == [True]
        after = graph.lower()(*x)
    torch.testing.assert_close(after, before, atol=1e-5, rtol=1e-4)
    assert run_verified(graph, [PadChannels(multiple=16)]) == [False]


def test_widens_the_bottleneck_and_computes_the_same():
    compiled, model, graph = _rewritten()
    _padded_computes_the_same(compiled, model, graph)
    # the tiny X3D's first stage is 24 wide (width factor 0.5): conv_a, conv_b and SE are widened to 32
    block = "blocks.1.res_blocks.0.branch2"
    nodes = {n.path: n for n in graph.walk()}
    assert nodes[f"{block}.conv_a"].args["out_channels"] == 32
    assert nodes[f"{block}.conv_b"].args["groups"] == nodes[f"{block}.conv_b"].args["in_channels"] == 32
    assert nodes[f"{block}.conv_c"].args["in_channels"] == 32
    assert graph.state[f"{block}.conv_c.weight"].shape[1] == 32
    assert not graph.state[f"{block}.conv_c.weight"][:, 24:].any()  # the reader ignores the new channels


def test_every_widened_convolution_is_a_multiple():
    _, _, graph = _rewritten()
    run_verified(graph, [PadChannels(multiple=16)])
    for node in graph.walk():
        if node.op == "TemporalTapConv":
            assert node.args["in_channels"] % 16 == 0, node.path


def test_runs_that_no_convolution_reads_are_left_alone():
    # conv_c feeds the residual sum (8 channels, not a multiple of 16): its width must not change
    _, _, graph = _rewritten()
    run_verified(graph, [PadChannels(multiple=16)])
    conv_c = next(n for n in graph.walk() if n.path.endswith("branch2.conv_c"))
    assert conv_c.args["out_channels"] == 8
    assert "TemporalTapConv" in ops(graph)


#: a batch norm after an activation (so it becomes a ChannelAffine, not a folded conv) between a
#: 6-channel convolution and its depthwise and pointwise readers
AFFINE_SPEC = model_spec("affine", {"video": [2, 3, 4, 9, 9]}, """\
model:
  op: Sequential
  modules:
    - {op: Conv3d, in_channels: 3, out_channels: 6, kernel_size: 1}
    - ReLU
    - {op: BatchNorm3d, num_features: 6}
    - {op: Conv3d, in_channels: 6, out_channels: 6, kernel_size: 3, padding: 1, groups: 6}
    - {op: Conv3d, in_channels: 6, out_channels: 5, kernel_size: 1}
""")


def test_a_channel_affine_between_widens_too(tmp_path):
    from passes_support import spec_file

    compiled, model, graph = _rewritten(spec_file(tmp_path, AFFINE_SPEC), [])
    assert "ChannelAffine" in ops(graph)
    _padded_computes_the_same(compiled, model, graph)
    affine = next(n for n in graph.walk() if n.op == "ChannelAffine")
    assert affine.args["num_features"] == 16 and graph.state[f"{affine.path}.scale"].shape == (16,)
