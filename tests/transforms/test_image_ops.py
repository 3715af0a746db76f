"""Image ops (ours, replacing TorchVision's) against their definitions computed directly."""
import math

import pytest
import torch

from graphspec.transforms import image_ops as ops


def _frames(t=2, h=8, w=10, dtype=torch.uint8, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 256, (t, 3, h, w), generator=g, dtype=torch.uint8)
    return x if dtype == torch.uint8 else x.float() / 255


def _grey(x):
    return 0.2989 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2]


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
@pytest.mark.parametrize("factor", [0.0, 0.5, 1.0, 1.7])
def test_brightness_contrast_saturation_are_blends(dtype, factor):
    x = _frames(dtype=dtype)
    bound = 255.0 if dtype == torch.uint8 else 1.0
    xf = x.float()
    mean = _grey(xf).mean(dim=(-2, -1)).view(-1, 1, 1, 1)
    expected = {
        ops.adjust_brightness: factor * xf,
        ops.adjust_contrast: factor * xf + (1 - factor) * mean,
        ops.adjust_saturation: factor * xf + (1 - factor) * _grey(xf).unsqueeze(1),
    }
    for fn, want in expected.items():
        want = want.clamp(0, bound).to(dtype)  # uint8 truncates, as TorchVision does
        got = fn(x, factor)
        assert got.dtype == dtype
        assert (got.float() - want.float()).abs().max() <= (1.0 if dtype == torch.uint8 else 1e-5), fn.__name__


def test_sharpness_blends_with_the_smoothed_interior():
    x = _frames(dtype=torch.float32)
    kernel = torch.tensor([[1.0, 1.0, 1.0], [1.0, 5.0, 1.0], [1.0, 1.0, 1.0]]) / 13
    smooth = x.clone()
    for i in range(1, x.shape[-2] - 1):
        for j in range(1, x.shape[-1] - 1):
            smooth[..., i, j] = (x[..., i - 1:i + 2, j - 1:j + 2] * kernel).sum((-2, -1))
    torch.testing.assert_close(ops.adjust_sharpness(x, 0.0), smooth)
    torch.testing.assert_close(ops.adjust_sharpness(x, 2.0), (2 * x - smooth).clamp(0, 1))


def test_hue_rotates_primaries():
    red = torch.zeros(1, 3, 2, 2)
    red[:, 0] = 1.0
    green = ops.adjust_hue(red, 1 / 3)
    torch.testing.assert_close(green, torch.roll(red, 1, dims=1), atol=1e-5, rtol=0)
    x = _frames(dtype=torch.float32)
    torch.testing.assert_close(ops.adjust_hue(x, 0.0), x, atol=1e-5, rtol=0)
    u8 = _frames()
    assert (ops.adjust_hue(u8, 0.0).int() - u8.int()).abs().max() <= 1
    with pytest.raises(ValueError, match="hue_factor"):
        ops.adjust_hue(x, 0.7)


def test_uint8_interpolation_takes_only_the_modes_torch_resizes_uint8_with():
    x = _frames()
    want = torch.nn.functional.interpolate(x, size=[4, 5], mode="nearest-exact")
    assert torch.equal(ops.interpolate(x, [4, 5], "nearest-exact"), want)
    with pytest.raises(ValueError, match=r"interpolate: interpolation 'area' needs a float video; a uint8 video "
                                         r"\[2, 3, 8, 10\]"):
        ops.interpolate(x, [4, 5], "area")
    torch.testing.assert_close(ops.interpolate(x.float(), [4, 5], "area"),
                               torch.nn.functional.interpolate(x.float(), size=[4, 5], mode="area"))


def test_invert_posterize_solarize():
    x = _frames()
    assert torch.equal(ops.invert(x), 255 - x)
    assert torch.equal(ops.posterize(x, 3), (x // 32) * 32)
    assert torch.equal(ops.solarize(x, 100), torch.where(x >= 100, 255 - x, x))
    f = _frames(dtype=torch.float32)
    torch.testing.assert_close(ops.solarize(f, 0.5), torch.where(f >= 0.5, 1 - f, f))
    with pytest.raises(ValueError, match="uint8"):
        ops.posterize(f, 3)


def test_autocontrast_stretches_each_channel():
    x = torch.tensor([[[[50, 100], [150, 150]], [[7, 7], [7, 7]], [[0, 255], [10, 20]]]], dtype=torch.uint8)
    out = ops.autocontrast(x)
    assert out[0, 0].tolist() == [[0, 127], [255, 255]]  # (v - 50) * 255 / 100, truncated
    assert out[0, 1].tolist() == [[7, 7], [7, 7]]  # flat: unchanged
    assert torch.equal(out[0, 2], x[0, 2])  # already full range


def test_equalize_flattens_the_histogram():
    # 4 values, 256 pixels each. PIL's algorithm: step = (1024 - 256) // 255 = 3, and value i maps to
    # (pixels below it + step // 2) // step: 0, 257 // 3, 513 // 3, 769 // 3 clamped to 255
    x = torch.tensor([10, 20, 30, 40], dtype=torch.uint8).repeat_interleave(256).view(1, 1, 32, 32)
    out = ops.equalize(x)
    assert sorted(set(out.flatten().tolist())) == [0, 85, 171, 255]
    assert out[0, 0, 0, 0] == 0 and out[0, 0, -1, -1] == 255
    flat = torch.full((1, 1, 4, 4), 9, dtype=torch.uint8)
    assert torch.equal(ops.equalize(flat), flat)


def test_rotate_90_is_rot90_counter_clockwise():
    x = _frames(h=9, w=9)
    assert torch.equal(ops.rotate(x, 90.0), torch.rot90(x, 1, dims=(-2, -1)))
    assert torch.equal(ops.rotate(x, -90.0), torch.rot90(x, -1, dims=(-2, -1)))
    assert torch.equal(ops.rotate(x, 0.0), x)


def test_translate_by_whole_pixels_shifts_and_fills():
    x = _frames(h=6, w=8)
    out = ops.affine(x, angle=0.0, translate=[2, 1], scale=1.0, shear=[0.0, 0.0], fill=[255, 255, 255])
    assert torch.equal(out[..., 1:, 2:], x[..., :-1, :-2])
    assert (out[..., :1, :] == 255).all() and (out[..., :, :2] == 255).all()


def test_shear_x_moves_rows_by_their_offset_from_the_centre():
    # TorchVision's convention: x' = x - tan(shear_x) * y, y pointing down from the centre
    x = torch.zeros(1, 1, 9, 9)
    x[..., :, 4] = 1.0  # a vertical line through the centre
    out = ops.affine(x, angle=0.0, translate=[0, 0], scale=1.0, shear=[math.degrees(math.atan(1.0)), 0.0])
    for row in range(9):
        assert out[0, 0, row].nonzero().flatten().tolist() == [4 - (row - 4)]
    half = ops.affine(x, angle=0.0, translate=[0, 0], scale=1.0, shear=[0.0, 0.0])
    assert torch.equal(half, x)


def test_resize_crop_center_crop():
    x = _frames(h=8, w=12, dtype=torch.float32)
    assert ops.resize(x, 4).shape[-2:] == (4, 6)
    assert ops.resize(x, [5, 5]).shape[-2:] == (5, 5)
    assert torch.equal(ops.crop(x, 1, 2, 3, 4), x[..., 1:4, 2:6])
    padded = ops.crop(x, -1, -1, 3, 3)
    assert padded[..., 0, :].abs().sum() == 0 and torch.equal(padded[..., 1:, 1:], x[..., :2, :2])
    assert torch.equal(ops.center_crop(x, [4, 6]), x[..., 2:6, 3:9])


def test_colour_ops_reject_wrong_channel_counts():
    with pytest.raises(ValueError, match=r"adjust_saturation: expected 1 or 3 channels.*\[2, 4, 8, 10\]"):
        ops.adjust_saturation(torch.zeros(2, 4, 8, 10), 0.5)
