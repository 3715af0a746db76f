"""RoIAlign through torch.export and ExecuTorch: with adaptive sampling the traced program loops
over the grid of the largest RoI that fits in the feature map, so it must equal eager RoIAlign
(checked against the definition in test_roi_align.py) for any box up to the map's size, and
refuse larger ones."""

import pytest
import torch

from graphspec.layers.roi_align import RoIAlign

# 6x8 features at scale 1/2 of a 12x16 image; (3, 2) bins -> at most 2x4 adaptive samples per bin.
FEATURES = torch.randn(2, 3, 6, 8, generator=torch.Generator().manual_seed(0))
SCALE, OUTPUT_SIZE = 0.5, (3, 2)
IMAGE_H, IMAGE_W = 12.0, 16.0
# Traced with small boxes (one sample per bin), so the loop bound cannot come from the example;
# the box count is part of the exported signature.
EXAMPLE_BOXES = torch.tensor([[0, 1.0, 1.0, 2.0, 2.0], [1, 3.0, 2.0, 4.0, 3.0], [0, 5.0, 5.0, 6.0, 6.0],
                              [1, 7.0, 1.0, 8.0, 2.0]])
WHOLE_IMAGE = [1, 0.0, 0.0, IMAGE_W, IMAGE_H]  # needs the full 2x4 grid when not aligned
LARGER_THAN_MAP = [0, -4.0, 0.0, IMAGE_W + 4.0, IMAGE_H]  # 24 px wide: 6 samples per bin


def _boxes_inside(seed: int, count: int = len(EXAMPLE_BOXES) - 1) -> torch.Tensor:
    """``count`` random boxes inside the image, then the whole image."""
    generator = torch.Generator().manual_seed(seed)
    xs = (torch.rand(count, 2, generator=generator) * IMAGE_W).sort(dim=1).values
    ys = (torch.rand(count, 2, generator=generator) * IMAGE_H).sort(dim=1).values
    batch = torch.randint(0, 2, (count, 1), generator=generator).float()
    inside = torch.cat([batch, xs[:, :1], ys[:, :1], xs[:, 1:], ys[:, 1:]], dim=1)
    return torch.cat([inside, torch.tensor([WHOLE_IMAGE])])


def _layer(aligned: bool, sampling_ratio: int) -> RoIAlign:
    return RoIAlign(OUTPUT_SIZE, SCALE, sampling_ratio, aligned).eval()


@pytest.fixture(scope="module")
def executorch_programs():
    """ExecuTorch program per (aligned, sampling_ratio), lowered once: lowering takes seconds."""
    pytest.importorskip("executorch")
    from graphspec.export.executorch_export import lower_to_xnnpack, run_program

    buffers = {}

    def run(aligned: bool, sampling_ratio: int, boxes: torch.Tensor) -> torch.Tensor:
        key = (aligned, sampling_ratio)
        if key not in buffers:
            manager, _, _ = lower_to_xnnpack(_layer(*key), (FEATURES, EXAMPLE_BOXES))
            buffers[key] = manager.buffer
        outputs, _ = run_program(buffers[key], (FEATURES, boxes))
        return outputs[0]

    return run


def _with_a_larger_box() -> torch.Tensor:
    return torch.cat([_boxes_inside(seed=5, count=len(EXAMPLE_BOXES) - 2), torch.tensor([LARGER_THAN_MAP])])


@pytest.mark.parametrize("aligned", [False, True])
@pytest.mark.parametrize("sampling_ratio", [0, 2])
def test_exported_program_matches_eager_for_boxes_inside_the_map(aligned, sampling_ratio):
    layer = _layer(aligned, sampling_ratio)
    program = torch.export.export(layer, (FEATURES, EXAMPLE_BOXES), strict=False).module()
    for seed in range(3):
        boxes = _boxes_inside(seed)
        torch.testing.assert_close(program(FEATURES, boxes), layer(FEATURES, boxes), rtol=0, atol=1e-6)


@pytest.mark.parametrize("aligned", [False, True])
@pytest.mark.parametrize("sampling_ratio", [0, 2])
def test_executorch_program_matches_eager_for_boxes_inside_the_map(executorch_programs, aligned,
                                                                    sampling_ratio):
    boxes = _boxes_inside(seed=0)
    got = executorch_programs(aligned, sampling_ratio, boxes)
    torch.testing.assert_close(got, _layer(aligned, sampling_ratio)(FEATURES, boxes), rtol=1e-5, atol=1e-5)


def test_exported_program_refuses_boxes_larger_than_the_map():
    program = torch.export.export(_layer(False, 0), (FEATURES, EXAMPLE_BOXES), strict=False).module()
    with pytest.raises(RuntimeError, match=r"RoIs up to the 6x8 feature map's size"):
        program(FEATURES, _with_a_larger_box())


def test_fixed_sampling_ratio_exports_boxes_of_any_size():
    layer = _layer(False, 2)
    program = torch.export.export(layer, (FEATURES, EXAMPLE_BOXES), strict=False).module()
    boxes = _with_a_larger_box()
    torch.testing.assert_close(program(FEATURES, boxes), layer(FEATURES, boxes), rtol=0, atol=1e-6)


def test_executorch_program_gives_nan_for_boxes_larger_than_the_map(executorch_programs):
    # ExecuTorch drops assert ops, so the larger RoI's row is NaN and the others stay exact.
    boxes = _with_a_larger_box()
    got = executorch_programs(False, 0, boxes)
    assert got[-1].isnan().all()
    torch.testing.assert_close(got[:-1], _layer(False, 0)(FEATURES, boxes[:-1]), rtol=1e-5, atol=1e-5)
