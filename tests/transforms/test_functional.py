"""pytorchvideo.transforms.functional against its documented semantics and plain torch."""
import math

import pytest
import torch
import torch.nn.functional as TF

from graphspec.transforms import functional as F


def _clip(c=3, t=10, h=12, w=16, dtype=torch.float32, seed=0):
    g = torch.Generator().manual_seed(seed)
    if dtype == torch.uint8:
        return torch.randint(0, 256, (c, t, h, w), generator=g, dtype=torch.uint8)
    return torch.rand(c, t, h, w, generator=g, dtype=dtype)


def _frame_ids(t, c=1, h=2, w=2):
    """A clip whose every pixel of frame i holds i."""
    return torch.arange(t, dtype=torch.float32).view(1, t, 1, 1).expand(c, t, h, w).clone()


@pytest.mark.parametrize("t,n", [(10, 4), (8, 8), (3, 7), (1, 4), (16, 1)])
def test_uniform_temporal_subsample_picks_linspace_frames(t, n):
    out = F.uniform_temporal_subsample(_frame_ids(t), n)
    expected = [int(i) for i in torch.linspace(0, t - 1, n).tolist()]  # truncated, as documented
    assert out[0, :, 0, 0].tolist() == expected
    assert out.shape == (1, n, 2, 2)


def test_uniform_temporal_subsample_t_smaller_than_requested_repeats_nearest_frames():
    out = F.uniform_temporal_subsample(_frame_ids(3), 6)
    assert out[0, :, 0, 0].tolist() == [0, 0, 0, 1, 1, 2]


def test_uniform_temporal_subsample_other_dim_and_empty_clip():
    x = torch.arange(5.0).view(5, 1)
    assert F.uniform_temporal_subsample(x, 3, temporal_dim=0).flatten().tolist() == [0, 2, 4]
    with pytest.raises(ValueError, match="at least one frame"):
        F.uniform_temporal_subsample(torch.zeros(3, 0, 2, 2), 4)


def test_uniform_temporal_subsample_repeated_one_copy_per_ratio():
    slow, fast = F.uniform_temporal_subsample_repeated(_frame_ids(32), [4, 1])
    assert slow.shape[1] == 8 and fast.shape[1] == 32
    assert slow[0, :, 0, 0].tolist() == [int(i) for i in torch.linspace(0, 31, 8).tolist()]
    assert torch.equal(fast, _frame_ids(32))


@pytest.mark.parametrize("h,w,size,expected", [(12, 16, 6, (6, 8)), (16, 12, 6, (8, 6)), (7, 11, 5, (5, 7)),
                                               (11, 7, 5, (7, 5)), (9, 9, 4, (4, 4)), (10, 15, 20, (20, 30))])
def test_short_side_scale_size_and_values_match_interpolate(h, w, size, expected):
    x = _clip(h=h, w=w)
    out = F.short_side_scale(x, size)
    new_h, new_w = expected
    assert (new_h, new_w) == ((math.floor(h / w * size), size) if w < h else (size, math.floor(w / h * size)))
    reference = TF.interpolate(x, size=(new_h, new_w), mode="bilinear", align_corners=False)
    assert out.shape == (3, 10, new_h, new_w)
    torch.testing.assert_close(out, reference)


def test_short_side_scale_uint8_is_the_rounded_float_result():
    x = _clip(h=30, w=40, dtype=torch.uint8)
    out = F.short_side_scale(x, 18)
    assert out.dtype == torch.uint8
    reference = TF.interpolate(x.float(), size=(18, 24), mode="bilinear", align_corners=False)
    assert (out.float() - reference).abs().max() <= 1.0


def test_short_side_scale_uint8_bicubic_is_the_rounded_float_result():
    x = _clip(h=30, w=40, dtype=torch.uint8)
    reference = TF.interpolate(x.float(), size=(18, 24), mode="bicubic", align_corners=False)
    assert torch.equal(F.short_side_scale(x, 18, "bicubic"), reference.round().clamp(0, 255).to(torch.uint8))


def test_short_side_scale_nearest_and_bad_arguments():
    x = _clip(h=4, w=6)
    torch.testing.assert_close(F.short_side_scale(x, 8, "nearest"), TF.interpolate(x, size=(8, 12), mode="nearest"))
    with pytest.raises(ValueError, match="interpolation 'cubic'"):
        F.short_side_scale(x, 8, "cubic")
    with pytest.raises(ValueError, match=r"short_side_scale: interpolation 'area' needs a float video"):
        F.short_side_scale(_clip(h=4, w=6, dtype=torch.uint8), 8, "area")
    torch.testing.assert_close(F.short_side_scale(x, 8, "area"), TF.interpolate(x, size=(8, 12), mode="area"))
    with pytest.raises(AssertionError, match="backend 'pil' must be 'pytorch' or 'opencv'"):  # PyTorchVideo asserts
        F.short_side_scale(x, 8, backend="pil")
    with pytest.raises(ValueError, match=r"short_side_scale: expected a video tensor \(C, T, H, W\), got shape \[10, 4, 6\]"):
        F.short_side_scale(x[0], 8)


@pytest.mark.parametrize("h,w,idx,offset", [
    (10, 16, 0, (1, 0)), (10, 16, 1, (1, 4)), (10, 16, 2, (1, 8)),  # wide: left / centre / right
    (16, 10, 0, (0, 1)), (16, 10, 1, (4, 1)), (16, 10, 2, (8, 1)),  # tall: top / centre / bottom
    (9, 13, 1, (1, 3)),  # odd: ceil((9-8)/2)=1, ceil((13-8)/2)=3
])
def test_uniform_crop_offsets(h, w, idx, offset):
    x = _clip(h=h, w=w)
    y0, x0 = offset
    size = 8
    torch.testing.assert_close(F.uniform_crop(x, size, idx), x[:, :, y0:y0 + size, x0:x0 + size])


def test_uniform_crop_rejects_bad_index_and_large_size():
    with pytest.raises(ValueError, match="spatial_idx"):
        F.uniform_crop(_clip(), 8, 3)
    with pytest.raises(ValueError, match="larger than the frames"):
        F.uniform_crop(_clip(h=6), 8, 1)


BOXES = torch.tensor([[2.0, 1.0, 10.0, 7.0], [0.0, 0.0, 15.0, 11.0]])


def test_crop_and_clip_boxes():
    moved = F.crop_boxes(BOXES, x_offset=3, y_offset=2)
    assert moved.tolist() == [[-1.0, -1.0, 7.0, 5.0], [-3.0, -2.0, 12.0, 9.0]]
    clipped = F.clip_boxes_to_image(moved, height=8, width=10)  # x in [0, 9], y in [0, 7]
    assert clipped.tolist() == [[0.0, 0.0, 7.0, 5.0], [0.0, 0.0, 9.0, 7.0]]
    assert BOXES[0, 0] == 2.0  # inputs untouched


def test_boxes_entirely_outside_the_image_collapse_to_the_border():
    out = F.clip_boxes_to_image(torch.tensor([[20.0, -5.0, 30.0, -1.0]]), height=8, width=10)
    assert out.tolist() == [[9.0, 0.0, 9.0, 0.0]]


@pytest.mark.parametrize("h,w,new_hw", [(12, 16, (6, 8)), (16, 12, (8, 6)), (17, 12, (8, 6)), (12, 17, (6, 8))])
def test_short_side_scale_with_boxes_scales_by_the_longer_sides_ratio(h, w, new_hw):
    x = _clip(h=h, w=w)
    out, boxes = F.short_side_scale_with_boxes(x, BOXES, 6)
    assert out.shape[-2:] == new_hw  # floor(17 / 12 * 6) = 8
    # PyTorchVideo scales the boxes by the longer side's ratio: new_h / h when w < h, else new_w / w
    factor = new_hw[0] / h if w < h else new_hw[1] / w
    assert torch.allclose(boxes, BOXES * factor)


def test_random_short_side_scale_with_boxes_size_in_range():
    torch.manual_seed(0)
    sizes = set()
    for _ in range(30):
        out, boxes = F.random_short_side_scale_with_boxes(_clip(h=12, w=16), BOXES, 6, 8)
        sizes.add(out.shape[-2])
        assert torch.allclose(boxes, BOXES * out.shape[-1] / 16)
    assert sizes == {6, 7, 8}


def _box_mask(h, w, box):
    x1, y1, x2, y2 = [int(v) for v in box]
    img = torch.zeros(1, 1, h, w)
    img[..., y1:y2 + 1, x1:x2 + 1] = 1.0
    return img


def test_random_crop_with_boxes_moves_boxes_with_the_content():
    box = torch.tensor([[5.0, 4.0, 9.0, 8.0]])
    torch.manual_seed(1)
    for _ in range(10):
        images, moved = F.random_crop_with_boxes(_box_mask(14, 16, box[0]), 10, box)
        x1, y1, x2, y2 = [int(v) for v in moved[0]]
        # every crop position overlaps the box, so the cropped mask is the box moved and clipped
        assert torch.equal(images, _box_mask(10, 10, moved[0]))
        assert 0 <= x1 <= x2 <= 9 and 0 <= y1 <= y2 <= 9


def test_uniform_crop_with_boxes_offsets_and_clip():
    x = _clip(h=10, w=16)
    out, boxes = F.uniform_crop_with_boxes(x, 8, 2, BOXES)  # right crop: x offset 8, y offset 1
    torch.testing.assert_close(out, x[:, :, 1:9, 8:16])
    assert boxes.tolist() == [[0.0, 0.0, 2.0, 6.0], [0.0, 0.0, 7.0, 7.0]]


def test_uniform_crop_with_boxes_on_tall_frames_slides_vertically():
    x = _clip(h=16, w=10)
    out, boxes = F.uniform_crop_with_boxes(x, 8, 2, BOXES)  # bottom crop: y offset 8, x offset ceil(2 / 2) = 1
    torch.testing.assert_close(out, x[:, :, 8:16, 1:9])
    assert boxes.tolist() == [[1.0, 0.0, 7.0, 0.0], [0.0, 0.0, 7.0, 3.0]]


def test_horizontal_flip_with_boxes():
    x = _clip(w=16)
    out, boxes = F.horizontal_flip_with_boxes(1.0, x, BOXES)
    torch.testing.assert_close(out, x.flip(-1))
    assert boxes.tolist() == [[16 - 10 - 1, 1.0, 16 - 2 - 1, 7.0], [0.0, 0.0, 15.0, 11.0]]
    same, kept = F.horizontal_flip_with_boxes(0.0, x, BOXES)
    assert same is x and torch.equal(kept, BOXES)


def test_flip_twice_is_identity_on_boxes():
    x = _clip(w=16)
    _, once = F.horizontal_flip_with_boxes(1.0, x, BOXES)
    _, twice = F.horizontal_flip_with_boxes(1.0, x, once)
    assert torch.equal(twice, BOXES)


@pytest.mark.parametrize("smooth", [0.0, 0.1])
def test_convert_to_one_hot(smooth):
    out = F.convert_to_one_hot(torch.tensor([2, 0]), 4, smooth)
    off = smooth / 4
    expected = torch.full((2, 4), off)
    expected[0, 2] = expected[1, 0] = 1 - smooth + off
    torch.testing.assert_close(out, expected)
    torch.testing.assert_close(out.sum(1), torch.ones(2))


def test_convert_to_one_hot_rejects_out_of_range():
    with pytest.raises(ValueError, match="class index 4 >= num_class 4"):
        F.convert_to_one_hot(torch.tensor([4]), 4)


def test_random_resized_crop_full_box_is_a_plain_resize():
    x = _clip(h=12, w=16)
    out = F.random_resized_crop(x, 6, 8, scale=(1.0, 1.0), aspect_ratio=(16 / 12, 16 / 12))
    torch.testing.assert_close(out, TF.interpolate(x, size=(6, 8), mode="bilinear", align_corners=False))


def test_random_resized_crop_shapes_and_shift():
    torch.manual_seed(0)
    x = _clip(t=5, h=20, w=30, dtype=torch.uint8)
    for shift in (False, True):
        out = F.random_resized_crop(x, 7, 9, scale=(0.1, 0.5), aspect_ratio=(0.5, 2.0), shift=shift)
        assert out.shape == (3, 5, 7, 9) and out.dtype == torch.uint8
    with pytest.raises(AssertionError, match="scale"):  # PyTorchVideo asserts
        F.random_resized_crop(x, 7, 9, scale=(0.0, 0.1), aspect_ratio=(0.5, 2.0))


def _crop_windows(monkeypatch, draws, frame=(100, 100), **kwargs):
    """The (h, w) of the windows random_resized_crop cuts out, over ``draws`` calls."""
    windows = []
    monkeypatch.setattr(F, "resize_video", lambda window, size, mode: windows.append(window.shape[-2:]) or window)
    x = torch.zeros(1, 1, *frame)
    torch.manual_seed(0)
    for _ in range(draws):
        F.random_resized_crop(x, 8, 8, **kwargs)
    return torch.tensor([list(w) for w in windows], dtype=torch.float64)


@pytest.mark.parametrize("log_uniform", [True, False])
def test_random_resized_crop_area_and_ratio_follow_their_ranges(monkeypatch, log_uniform):
    """The box's area fraction is uniform in ``scale`` and its width / height uniform in
    ``aspect_ratio`` (log-uniform by default). Ranges chosen so that no box exceeds the frame
    (no draw is rejected), so the draws are the plain distributions; sides are rounded to pixels."""
    hw = _crop_windows(monkeypatch, 4000, scale=(0.1, 0.5), aspect_ratio=(0.5, 2.0), log_uniform_ratio=log_uniform)
    area, ratio = hw[:, 0] * hw[:, 1] / 100 ** 2, hw[:, 1] / hw[:, 0]
    slack = (hw[:, 0] + hw[:, 1] + 1) / 100 ** 2  # what rounding each side to a pixel can move the area
    assert ((area >= 0.1 - slack) & (area <= 0.5 + slack)).all()
    assert abs(area.mean() - 0.3) < 0.01 and abs(area.std() - 0.4 / 12 ** 0.5) < 0.01
    assert ((ratio > 0.5 * 0.93) & (ratio < 2.0 / 0.93)).all()
    if log_uniform:  # log ratio ~ U(log 0.5, log 2): symmetric about 0, std log(4) / sqrt(12)
        assert abs(ratio.log().mean()) < 0.03 and abs(ratio.log().std() - math.log(4) / 12 ** 0.5) < 0.03
    else:  # ratio ~ U(0.5, 2)
        assert abs(ratio.mean() - 1.25) < 0.03 and abs(ratio.std() - 1.5 / 12 ** 0.5) < 0.03


def test_random_resized_crop_swaps_reversed_ranges(monkeypatch):
    """PyTorchVideo swaps a scale or ratio range given high to low: the same draws as in order."""
    ordered = _crop_windows(monkeypatch, 50, scale=(0.1, 0.5), aspect_ratio=(0.5, 2.0))
    reversed_ = _crop_windows(monkeypatch, 50, scale=(0.5, 0.1), aspect_ratio=(2.0, 0.5))
    assert torch.equal(ordered, reversed_)


def test_random_resized_crop_shift_moves_the_box_linearly_truncating(monkeypatch):
    boxes = iter([(0, 0, 6, 8), (9, 5, 11, 15)])  # (top, left, h, w) of the first and the last frame
    monkeypatch.setattr(F, "_sample_crop_box", lambda *args: next(boxes))
    x = _clip(t=4, h=20, w=20)
    out = F.random_resized_crop(x, 4, 5, scale=(0.1, 1.0), aspect_ratio=(0.5, 2.0), shift=True)
    for i in range(4):  # step i of 4 from (0, 0, 6, 8) to (9, 5, 11, 15), truncated
        top, left, h, w = [int(a + (b - a) * i / 3) for a, b in zip((0, 0, 6, 8), (9, 5, 11, 15))]
        window = x[:, i:i + 1, top:top + h, left:left + w]
        torch.testing.assert_close(out[:, i:i + 1], TF.interpolate(window, size=(4, 5), mode="bilinear",
                                                                   align_corners=False))


def test_random_resized_crop_fallback_is_centred():
    x = _clip(h=10, w=40)  # ratio 4 can never be cropped to ratio <= 1 at area >= 0.9
    out = F.random_resized_crop(x, 5, 5, scale=(0.9, 1.0), aspect_ratio=(1.0, 1.0), num_tries=3)
    torch.testing.assert_close(out, TF.interpolate(x[:, :, :, 15:25], size=(5, 5), mode="bilinear",
                                                   align_corners=False))


def test_div_255():
    x = _clip(dtype=torch.uint8)
    torch.testing.assert_close(F.div_255(x), x.float() / 255.0)


def test_short_side_scale_opencv_backend_resizes_as_opencv():
    """backend="opencv" (PyTorchVideo's): each frame through cv2.resize with PyTorchVideo's mode
    map, "bilinear" -> INTER_AREA, whose halving is the mean of each 2 x 2 block, and "nearest" ->
    INTER_NEAREST, which reads source pixel floor(i * in / out); the dtype is kept."""
    x = _clip(h=8, w=12)
    torch.testing.assert_close(F.short_side_scale(x, 4, backend="opencv"), TF.avg_pool2d(x, 2))
    u = _clip(h=8, w=12, dtype=torch.uint8)
    rows, cols = torch.arange(4) * 8 // 4, torch.arange(6) * 12 // 6
    nearest = F.short_side_scale(u, 4, "nearest", backend="opencv")
    assert nearest.dtype == torch.uint8 and torch.equal(nearest, u[:, :, rows][..., cols])
    single = F.short_side_scale(x[:1], 4, backend="opencv")  # one channel: OpenCV drops it, we keep it
    torch.testing.assert_close(single, TF.avg_pool2d(x[:1], 2))
    boxes = torch.tensor([[0.0, 0.0, 6.0, 4.0]])
    images, scaled = F.short_side_scale_with_boxes(x, boxes, 4, backend="opencv")
    torch.testing.assert_close(images, TF.avg_pool2d(x, 2))
    torch.testing.assert_close(scaled, boxes / 2)
    with pytest.raises(AssertionError, match="interpolation 'area' is not one of nearest, linear, bilinear"):
        F.short_side_scale(x, 4, "area", backend="opencv")


def test_short_side_scale_opencv_backend_without_opencv_names_the_extra(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "cv2", None)  # what an environment without OpenCV imports
    with pytest.raises(ImportError, match=r"backend 'opencv' needs OpenCV.*pip install 'graphspec\[opencv\]'"):
        F.short_side_scale(_clip(), 4, backend="opencv")
