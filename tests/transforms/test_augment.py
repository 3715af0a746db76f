"""AugmentTransform, RandAugment and AugMix on frames (T, C, H, W)."""
import pytest
import torch

from graphspec.transforms import AugMix, RandAugment
from graphspec.transforms import image_ops as ops
from graphspec.transforms.augmentations import _AUGMENTATION_FUNCS, AugmentTransform, sample_level
from graphspec.transforms.spec import Seeded


def _frames(t=3, h=12, w=14):
    g = torch.Generator().manual_seed(0)
    return torch.randint(0, 256, (t, 3, h, w), generator=g, dtype=torch.uint8)


@pytest.mark.parametrize("name", sorted(_AUGMENTATION_FUNCS))
def test_each_augmentation_keeps_shape_and_dtype(name):
    x = _frames()
    torch.manual_seed(0)
    out = AugmentTransform(name, magnitude=10, prob=1.0)(x)
    assert out.shape == x.shape and out.dtype == x.dtype
    assert AugmentTransform(name, prob=0.0)(x) is x


def test_level_to_argument_at_fixed_levels():
    x = _frames()
    # no sampling: level == magnitude. Brightness at level 10: factor 1 +- 0.9
    torch.manual_seed(0)
    got = AugmentTransform("AdjustBrightness", magnitude=10, prob=1.0, sampling_type=None)(x)
    assert any(torch.equal(got, ops.adjust_brightness(x, f)) for f in (0.1, 1.9))
    assert torch.equal(AugmentTransform("Posterize", magnitude=5, prob=1.0, sampling_type=None)(x),
                       ops.posterize(x, 2))  # 4 - int(5 / 10 * 4)
    assert torch.equal(AugmentTransform("Solarize", magnitude=10, prob=1.0, sampling_type=None)(x),
                       ops.solarize(x, 0.0))  # threshold 1 - 10 / 10 of the maximum
    assert torch.equal(AugmentTransform("Rotate", magnitude=0, prob=1.0, sampling_type=None)(x), x)


def test_magnitude_sampling():
    torch.manual_seed(0)
    gauss = torch.tensor([sample_level(5, "gaussian", {"sampling_std": 0.5}) for _ in range(500)])
    assert abs(gauss.mean() - 5) < 0.1 and abs(gauss.std() - 0.5) < 0.1
    uniform = torch.tensor([sample_level(8, "uniform", {"sampling_min": 2}) for _ in range(500)])
    assert uniform.min() >= 2 and uniform.max() <= 8 and abs(uniform.mean() - 5) < 0.3
    assert sample_level(30, "gaussian", {"sampling_std": 0.1}) == 10.0  # clipped to the maximum level


def test_unknown_augmentation_suggests_a_name():
    with pytest.raises(ValueError, match="did you mean 'Rotate'"):
        AugmentTransform("Rotat")


@pytest.mark.parametrize("make", [lambda: RandAugment(), lambda: AugMix(), lambda: AugMix(depth=2, width=2)])
def test_rand_augment_and_augmix_are_seeded_and_change_frames(make):
    x = _frames()
    first = Seeded(make(), seed=11)
    second = Seeded(make(), seed=11)
    outs = [(first(x), second(x)) for _ in range(4)]
    assert all(torch.equal(a, b) and a.shape == x.shape and a.dtype == torch.uint8 for a, b in outs)
    assert any(not torch.equal(a, x) for a, _ in outs)


def test_augmix_with_alpha_mixes_back_towards_the_original():
    x = _frames()
    # with one identity-like chain (Rotate level 0), the mix is the original whatever the weights
    mix = AugMix(magnitude=1, width=1, depth=1)
    mix.transforms = [AugmentTransform("Rotate", magnitude=0, prob=1.0, sampling_type=None)]
    assert torch.equal(mix(x), x)


@pytest.mark.parametrize("magnitude", [1.1, 3.0, True, "3"])
def test_augmix_magnitude_is_an_int_as_pytorchvideo_asserts(magnitude):
    with pytest.raises(AssertionError, match="AugMix: magnitude must be an int"):
        AugMix(magnitude=magnitude)


def test_augmix_takes_a_numpy_integer_magnitude():
    import numpy as np
    frames = torch.randint(0, 256, (2, 3, 8, 8), dtype=torch.uint8)
    torch.manual_seed(0)
    numpy_out = AugMix(magnitude=np.int64(5))(frames)
    torch.manual_seed(0)
    assert torch.equal(numpy_out, AugMix(magnitude=5)(frames))


def test_rand_augment_checks_frames():
    with pytest.raises(ValueError, match=r"RandAugment: expected frames \(T, C, H, W\), got shape \[3, 4\]"):
        RandAugment()(torch.zeros(3, 4, dtype=torch.uint8))


def _recording(augment):
    """``augment`` with every op replaced by a recorder of ``(op name, its argument)``: what it
    draws, applied to nothing."""
    calls = []
    for transform in augment.transforms:
        name = transform.transform_name
        transform.funcs = {name: lambda video, *args, _name=name, **h: calls.append((_name, args)) or video}
    return augment, calls


def test_rand_augment_draws_ops_uniformly_with_prob_at_levels_around_magnitude():
    """RandAugment: ``num_layers`` ops drawn uniformly from its 14, each applied with ``prob``, at a
    level ~ N(magnitude, sampling_std 0.5) clipped to [0, 10]; Rotate's angle is +-level * 3 degrees."""
    augment, calls = _recording(RandAugment(magnitude=7, num_layers=2, prob=0.5))
    torch.manual_seed(0)
    clips = 3000
    for _ in range(clips):
        augment(_frames(t=1, h=2, w=2))
    names = [name for name, _ in calls]
    assert abs(len(names) / (2 * clips) - 0.5) < 0.03  # prob of each drawn op
    counts = torch.tensor([names.count(t.transform_name) for t in augment.transforms], dtype=torch.float)
    assert len(counts) == 14 and (counts - len(names) / 14).abs().max() < 0.3 * len(names) / 14
    levels = torch.tensor([abs(args[0]) / 3.0 for name, args in calls if name == "Rotate"])
    assert abs(levels.mean() - 7) < 0.1 and abs(levels.std() - 0.5) < 0.1
    signs = [args[0] > 0 for name, args in calls if name in ("Rotate", "ShearX", "TranslateY")]
    assert abs(sum(signs) / len(signs) - 0.5) < 0.06
    # Posterize keeps 4 - int(level / 10 * 4) bits: level ~ 7 gives 2 bits, 1 bit above 7.5
    bits = [args[0] for name, args in calls if name == "Posterize"]
    assert set(bits) <= {1, 2, 3} and bits.count(2) > bits.count(1) > 0


def test_augmix_draws_ops_uniformly_at_levels_uniform_up_to_magnitude():
    """AugMix: ``width`` chains of 1 to 3 ops (``depth=-1``) drawn uniformly from its 13, every op
    applied, at a level uniform in [0, magnitude]."""
    augment, calls = _recording(AugMix(magnitude=6, width=3))
    torch.manual_seed(0)
    clips = 1500
    for _ in range(clips):
        augment(_frames(t=1, h=2, w=2))
    assert abs(len(calls) / (3 * clips) - 2.0) < 0.1  # chains of 1, 2 or 3 ops: 2 on average
    names = [name for name, _ in calls]
    counts = torch.tensor([names.count(t.transform_name) for t in augment.transforms], dtype=torch.float)
    assert len(counts) == 13 and (counts - len(names) / 13).abs().max() < 0.2 * len(names) / 13
    levels = torch.tensor([abs(args[0]) / 3.0 for name, args in calls if name == "Rotate"])
    assert levels.min() >= 0 and levels.max() <= 6 + 1e-6
    assert abs(levels.mean() - 3) < 0.2 and abs(levels.std() - 6 / 12 ** 0.5) < 0.15


@pytest.mark.parametrize("name", ["Equalize", "Posterize"])
def test_uint8_ops_take_float_frames_through_uint8(name):
    """As PyTorchVideo: a float clip in [0, 1] goes to uint8 as ``(x * 255)`` truncated, through the
    op, and back ``/ 255``."""
    floats = _frames().float() / 255.0
    as_uint8 = (floats * 255).to(torch.uint8)
    expected = {"Equalize": lambda v: ops.equalize(v), "Posterize": lambda v: ops.posterize(v, 2)}[name]
    got = AugmentTransform(name, magnitude=5, prob=1.0, sampling_type=None)(floats)
    assert got.dtype == torch.float32
    torch.testing.assert_close(got, expected(as_uint8).float() / 255)


@pytest.mark.parametrize("make", [RandAugment, AugMix])
def test_rand_augment_and_augmix_take_float_frames(make):
    floats = _frames().float() / 255.0
    torch.manual_seed(1)
    out = make()(floats)
    assert out.dtype == torch.float32 and out.shape == floats.shape and 0 <= out.min() and out.max() <= 1


def test_fill_is_in_pixel_values():
    """``fill`` reaches the geometric ops as pixel values (as TorchVision's ``fill``): a translation
    by the whole frame leaves only fill; 0.5 is mid-grey in a float clip and rounds to 0 in uint8."""
    floats = torch.ones(1, 3, 4, 4)
    shift = AugmentTransform("TranslateX", magnitude=10, prob=1.0, sampling_type=None,
                             transform_max_paras={"TranslateX": (0.0, 1.0)},
                             transform_hparas={"fill": (0.5, 0.25, 0.0)})
    out = shift(floats)
    assert torch.equal(out[0, :, 0, 0], torch.tensor([0.5, 0.25, 0.0]))
    assert shift(torch.full((1, 3, 4, 4), 255, dtype=torch.uint8)).max() == 0
