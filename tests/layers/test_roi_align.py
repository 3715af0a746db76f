import math

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from graphspec.layers.roi_align import RoIAlign, roi_align


def _bilinear(feature, y, x):
    """Value of a [C, H, W] feature at (y, x); zero outside [-1, H] x [-1, W]."""
    _, height, width = feature.shape
    if y < -1.0 or y > height or x < -1.0 or x > width:
        return torch.zeros(feature.shape[0], dtype=feature.dtype)
    y, x = max(y, 0.0), max(x, 0.0)
    y0, x0 = int(math.floor(y)), int(math.floor(x))
    if y0 >= height - 1:
        y0 = y1 = height - 1
        y = float(y0)
    else:
        y1 = y0 + 1
    if x0 >= width - 1:
        x0 = x1 = width - 1
        x = float(x0)
    else:
        x1 = x0 + 1
    ly, lx = y - y0, x - x0
    return (
        (1 - ly) * (1 - lx) * feature[:, y0, x0]
        + (1 - ly) * lx * feature[:, y0, x1]
        + ly * (1 - lx) * feature[:, y1, x0]
        + ly * lx * feature[:, y1, x1]
    )


def _reference(features, rois, out_h, out_w, scale, sampling_ratio, aligned):
    """Direct per-bin, per-sample RoIAlign from the definition."""
    out = torch.zeros(len(rois), features.shape[1], out_h, out_w, dtype=features.dtype)
    offset = 0.5 if aligned else 0.0
    for k, (b, x1, y1, x2, y2) in enumerate(rois.tolist()):
        x1, y1 = x1 * scale - offset, y1 * scale - offset
        roi_w, roi_h = x2 * scale - offset - x1, y2 * scale - offset - y1
        if not aligned:
            roi_w, roi_h = max(roi_w, 1.0), max(roi_h, 1.0)
        bin_h, bin_w = roi_h / out_h, roi_w / out_w
        grid_h = sampling_ratio if sampling_ratio > 0 else math.ceil(roi_h / out_h)
        grid_w = sampling_ratio if sampling_ratio > 0 else math.ceil(roi_w / out_w)
        for ph in range(out_h):
            for pw in range(out_w):
                acc = torch.zeros(features.shape[1], dtype=features.dtype)
                for iy in range(grid_h):
                    y = y1 + ph * bin_h + (iy + 0.5) * bin_h / grid_h
                    for ix in range(grid_w):
                        x = x1 + pw * bin_w + (ix + 0.5) * bin_w / grid_w
                        acc += _bilinear(features[int(b)], y, x)
                out[k, :, ph, pw] = acc / max(grid_h * grid_w, 1)
    return out


# (batch index, x1, y1, x2, y2) in image coordinates (scale 0.5 -> 10x12 feature).
ROIS = torch.tensor(
    [
        [0, 2.0, 3.0, 15.0, 11.0],  # inside
        [1, -6.0, -4.0, 7.0, 9.0],  # partly left of / above the image
        [0, 16.0, 12.0, 30.0, 26.0],  # partly right of / below the image
        [1, 5.0, 5.0, 5.6, 5.4],  # smaller than one pixel
        [0, -10.0, -10.0, -4.0, -3.0],  # fully outside
        [1, 0.0, 0.0, 23.9, 19.9],  # whole image
    ],
    dtype=torch.float64,
)


@pytest.mark.parametrize("aligned", [False, True])
@pytest.mark.parametrize("sampling_ratio", [0, 2])
@pytest.mark.parametrize("output_size", [(3, 2), (2, 4)])
def test_matches_direct_computation(aligned, sampling_ratio, output_size):
    torch.manual_seed(0)
    features = torch.randn(2, 3, 10, 12, dtype=torch.float64)
    got = roi_align(features, ROIS, output_size, 0.5, sampling_ratio, aligned)
    want = _reference(features, ROIS, *output_size, 0.5, sampling_ratio, aligned)
    assert got.shape == (len(ROIS), 3, *output_size)
    torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-12)
    # Not trivially zero: the inside box has non-zero output.
    assert got[0].abs().sum() > 0


def test_negative_sampling_ratio_is_adaptive_and_int_output_size():
    features = torch.randn(2, 3, 10, 12, dtype=torch.float64)
    got = roi_align(features, ROIS, 3, 0.5, -1, False)
    torch.testing.assert_close(got, _reference(features, ROIS, 3, 3, 0.5, 0, False))


def test_samples_on_the_border_count_and_beyond_it_are_zero():
    features = torch.arange(20.0).reshape(1, 1, 4, 5)
    # One sample per bin at (y, x) = (4, -1): on the closed border, so it reads
    # the nearest pixel (3, 0).
    on_border = roi_align(features, torch.tensor([[0, -2.0, 3.0, 0.0, 5.0]]), 1, 1.0, 1)
    assert on_border.item() == features[0, 0, 3, 0]
    # Shifted by 0.2 pixel the sample lies outside and contributes 0.
    outside = roi_align(features, torch.tensor([[0, -2.0, 3.2, 0.0, 5.2]]), 1, 1.0, 1)
    assert outside.item() == 0.0


def test_list_of_boxes_equals_tensor_with_batch_index():
    features = torch.randn(2, 4, 8, 8)
    boxes = [torch.tensor([[1.0, 1.0, 6.0, 5.0]]), torch.tensor([[0.0, 2.0, 7.0, 7.0], [2.0, 2.0, 4.0, 4.0]])]
    rois = torch.tensor([[0, 1.0, 1.0, 6.0, 5.0], [1, 0.0, 2.0, 7.0, 7.0], [1, 2.0, 2.0, 4.0, 4.0]])
    module = RoIAlign((2, 2), spatial_scale=1.0, sampling_ratio=2, aligned=True)
    torch.testing.assert_close(module(features, boxes), roi_align(features, rois, 2, 1.0, 2, True))
    assert "aligned=True" in repr(module)


def test_empty_boxes():
    features = torch.randn(1, 3, 5, 5)
    assert roi_align(features, torch.zeros(0, 5), (2, 3)).shape == (0, 3, 2, 3)


def test_gradient_wrt_input():
    features = torch.randn(1, 2, 5, 6, dtype=torch.float64, requires_grad=True)
    rois = torch.tensor([[0, 0.3, 0.7, 4.2, 3.9], [0, -1.0, 2.0, 6.5, 5.5]], dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda f: roi_align(f, rois, (2, 2), 1.0, 0, True), (features,))


@pytest.mark.parametrize("aligned", [False, True])
@pytest.mark.parametrize("sampling_ratio", [0, 2])
def test_onnx_export_uses_roialign_and_matches_onnxruntime(tmp_path, aligned, sampling_ratio):
    module = RoIAlign((3, 2), spatial_scale=0.5, sampling_ratio=sampling_ratio, aligned=aligned)
    features = torch.randn(2, 3, 10, 12)
    export_rois = ROIS[[0, 3]].float()  # small boxes keep the export fast
    path = tmp_path / "roi_align.onnx"
    torch.onnx.export(
        module, (features, export_rois), str(path), dynamo=False, opset_version=16,
        input_names=["features", "rois"], dynamic_axes={"rois": {0: "num_rois"}},
    )
    graph = onnx.load(str(path)).graph
    roi_nodes = [node for node in graph.node if node.op_type == "RoiAlign"]
    assert len(roi_nodes) == 1
    attrs = {a.name: onnx.helper.get_attribute_value(a) for a in roi_nodes[0].attribute}
    assert attrs["coordinate_transformation_mode"] == (b"half_pixel" if aligned else b"output_half_pixel")
    assert attrs["sampling_ratio"] == sampling_ratio

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    # Also other and larger boxes than at export time: the graph must not bake in
    # the sampling grid.
    for rois in (export_rois, ROIS.float()):
        (got,) = session.run(None, {"features": features.numpy(), "rois": rois.numpy()})
        np.testing.assert_allclose(got, module(features, rois).numpy(), rtol=1e-5, atol=1e-5)


def test_onnx_export_aligned_needs_opset_16(tmp_path):
    module = RoIAlign(2, 1.0, 0, aligned=True)
    with pytest.raises(Exception, match="opset 16"):
        torch.onnx.export(module, (torch.randn(1, 1, 4, 4), torch.tensor([[0, 0.0, 0.0, 3.0, 3.0]])),
                          str(tmp_path / "m.onnx"), dynamo=False, opset_version=13)


def test_defaults_are_torchvisions():
    """torchvision.ops.RoIAlign(output_size, spatial_scale, sampling_ratio, aligned=False)."""
    import inspect

    params = inspect.signature(RoIAlign).parameters
    assert list(params) == ["output_size", "spatial_scale", "sampling_ratio", "aligned"]
    assert params["aligned"].default is False
    assert inspect.signature(roi_align).parameters["aligned"].default is False


def test_roi_head_constructs_its_roi_layer_with_three_arguments_only():
    """create_res_roi_pooling_head calls roi(output_size=, spatial_scale=, sampling_ratio=): a
    torchvision-style class keeps its own defaults (here a class whose default is aligned=True)."""
    import torch.nn as nn

    from graphspec import registry
    from graphspec.compiler.ir import assign_paths
    from graphspec.compiler.lower_torch import lower
    from graphspec.compiler.template import expand_node

    calls = []

    with registry.scoped():
        @registry.register
        class RecordingRoIAlign(nn.Module):
            def __init__(self, output_size, spatial_scale: float, sampling_ratio: int, aligned: bool = True):
                super().__init__()
                calls.append({"output_size": output_size, "spatial_scale": spatial_scale,
                              "sampling_ratio": sampling_ratio, "aligned": aligned})

        root = assign_paths(expand_node("create_res_roi_pooling_head", dict(
            in_features=8, out_features=3, resolution=(7, 7), spatial_scale=0.0625, sampling_ratio=2,
            roi="RecordingRoIAlign")))
        with torch.device("meta"):
            head = lower(root)
    assert calls == [{"output_size": (7, 7), "spatial_scale": 0.0625, "sampling_ratio": 2, "aligned": True}]
    with torch.device("meta"):
        from graphspec.models.head import create_res_roi_pooling_head

        default = create_res_roi_pooling_head(in_features=8, out_features=3, resolution=(7, 7), spatial_scale=0.0625)
    assert isinstance(default.roi_layer, RoIAlign) and default.roi_layer.aligned is False
    assert head.roi_layer is not None
