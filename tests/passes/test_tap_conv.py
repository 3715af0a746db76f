import pytest
import torch

from graphspec.mobile.passes import Conv3dToTaps
from graphspec.mobile.modules import TemporalTapConv

from passes_support import ops, run_and_compare, spec_file


def test_depthwise_3x3x3_convs_become_depthwise_conv2d_taps():
    graph = run_and_compare(Conv3dToTaps())
    # it is the catch-all rewrite: alone, it takes every Conv3d (the other rewrites are cheaper forms)
    assert "Conv3d" not in ops(graph)
    taps = [n for n in graph.walk() if n.path.endswith("conv_b")]
    assert taps and all(n.op == "TemporalTapConv" and n.args["groups"] == n.args["in_channels"] for n in taps)
    assert all(f"{n.path}.taps.2.weight" in graph.state for n in taps)


def test_temporal_stride_and_no_temporal_padding(tmp_path):
    graph = run_and_compare(Conv3dToTaps(), spec_file(tmp_path), [])
    assert "TemporalTapConv" in ops(graph)


@pytest.mark.parametrize("kernel,stride,padding,dilation,groups,frames", [
    ((3, 3, 3), (1, 1, 1), (1, 1, 1), (1, 1, 1), 4, 4),   # X3D's depthwise conv
    ((3, 3, 3), (1, 2, 2), (1, 1, 1), (1, 1, 1), 4, 1),   # one frame: only the centre tap
    ((5, 1, 1), (1, 1, 1), (2, 0, 0), (1, 1, 1), 4, 3),   # taps wider than the clip
    ((3, 3, 3), (2, 1, 1), (0, 1, 1), (1, 1, 1), 1, 7),   # temporal stride, no padding
    ((3, 1, 3), (3, 1, 2), (2, 0, 1), (2, 1, 1), 2, 8),   # dilation and an uneven stride
])
def test_matches_conv3d_directly(kernel, stride, padding, dilation, groups, frames):
    conv3d = torch.nn.Conv3d(4, 8, kernel, stride, padding, dilation, groups)
    taps = TemporalTapConv(4, 8, kernel, stride, padding, dilation, groups, frames=frames)
    state = {f"taps.{k}.weight": conv3d.weight[:, :, k] for k in range(kernel[0])}
    state["bias" if taps.bias_tap is None else f"taps.{taps.bias_tap}.bias"] = conv3d.bias
    taps.load_state_dict(state)
    x = torch.randn(2, 4, frames, 9, 10)
    torch.testing.assert_close(taps(x), conv3d(x))


def test_taps_no_output_frame_reads_are_not_computed():
    # one frame, kernel 3, padding 1: taps 0 and 2 would read padding only
    taps = TemporalTapConv(4, 4, (3, 3, 3), (1, 1, 1), (1, 1, 1), groups=4, frames=1)
    ran = []
    for k, tap in enumerate(taps.taps):
        tap.register_forward_hook(lambda *_, k=k: ran.append(k))
    conv3d = torch.nn.Conv3d(4, 4, 3, padding=1, groups=4)
    taps.load_state_dict({**{f"taps.{k}.weight": conv3d.weight[:, :, k] for k in range(3)},
                          f"taps.{taps.bias_tap}.bias": conv3d.bias})
    x = torch.randn(3, 4, 1, 6, 6)
    torch.testing.assert_close(taps(x), conv3d(x))
    assert ran == [1]
