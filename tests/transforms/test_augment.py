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


def test_rand_augment_checks_frames():
    with pytest.raises(ValueError, match=r"RandAugment: expected frames \(T, C, H, W\), got shape \[3, 4\]"):
        RandAugment()(torch.zeros(3, 4, dtype=torch.uint8))
