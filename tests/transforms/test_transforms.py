"""Transform modules: documented behaviour, the layout check, TorchScript and seeding."""
import inspect

import pytest
import torch
import torch.nn.functional as TF

import graphspec.transforms as T
from graphspec import registry
from graphspec.transforms.ops import TRANSFORM_OPS
from graphspec.transforms.spec import Seeded

# PyTorchVideo's transforms are documented as TorchScript-able; torch now deprecates scripting
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")


def _video(t=6, h=10, w=14, dtype=torch.uint8, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 256, (3, t, h, w), generator=g, dtype=torch.uint8)
    return x if dtype == torch.uint8 else x.to(dtype) / 255.0


#: a small instance of every registered op that takes a single video (C, T, H, W)
VIDEO_OPS = {
    "UniformTemporalSubsample": lambda: T.UniformTemporalSubsample(4),
    "UniformTemporalSubsampleRepeated": lambda: T.UniformTemporalSubsampleRepeated((2, 1)),
    "ShortSideScale": lambda: T.ShortSideScale(8),
    "RandomShortSideScale": lambda: T.RandomShortSideScale(6, 9),
    "Normalize": lambda: T.Normalize((0.45,) * 3, (0.225,) * 3),
    "ConvertFloatToUint8": lambda: T.ConvertFloatToUint8(),
    "ConvertUint8ToFloat": lambda: T.ConvertUint8ToFloat(),
    "Div255": lambda: T.Div255(),
    "MoveChannelRear": lambda: T.MoveChannelRear(),
    "MoveChannelFront": lambda: T.MoveChannelFront(),
    "RandomResizedCrop": lambda: T.RandomResizedCrop(6, 6, (0.3, 1.0), (0.75, 1.33)),
    "CenterCrop": lambda: T.CenterCrop(6),
    "RandomCrop": lambda: T.RandomCrop(6),
    "RandomHorizontalFlip": lambda: T.RandomHorizontalFlip(),
    "Resize": lambda: T.Resize(8),
}
#: dict-clip ops, frame ops (T, C, H, W), batch ops, containers: tested on their own below
OTHER_OPS = {"ApplyTransformToKey", "RemoveKey", "UniformCropVideo", "OpSampler", "Compose", "MultiView",
             "AugmentTransform", "RandAugment", "AugMix", "MixUp", "CutMix", "MixVideo", "create_video_transform"}
#: what PyTorchVideo documents as scriptable (all but the dict, container and sampler ones)
SCRIPTABLE = [n for n in VIDEO_OPS if n != "RandomResizedCrop"]
FLOAT_ONLY = ("Normalize", "ConvertFloatToUint8")


def _input(name):
    return _video(dtype=torch.float32) if name in FLOAT_ONLY else _video()


def test_every_registered_transform_op_is_covered_here():
    assert set(VIDEO_OPS) | OTHER_OPS == set(TRANSFORM_OPS)
    for name, (target, kind, _) in TRANSFORM_OPS.items():
        assert registry.get(name).kind == kind
        assert (kind == "module") == (inspect.isclass(target) and issubclass(target, torch.nn.Module))


#: ops that take a tensor of any shape, as PyTorchVideo's (Div255 is x / 255)
ANY_SHAPE = {"Div255"}


@pytest.mark.parametrize("name", sorted(set(VIDEO_OPS) - ANY_SHAPE))
def test_layout_check_names_the_transform_and_shape(name):
    transform = VIDEO_OPS[name]()
    with pytest.raises(ValueError, match=rf"^{name}: expected .*got shape \[3, 10, 14\]"):
        transform(torch.zeros(3, 10, 14))


@pytest.mark.parametrize("name", SCRIPTABLE)
def test_torchscript_matches_eager(name):
    transform = VIDEO_OPS[name]()
    scripted = torch.jit.script(transform)
    x = _input(name)
    torch.manual_seed(3)
    expected = transform(x)
    torch.manual_seed(3)
    got = scripted(x)
    for a, b in zip(expected if isinstance(expected, list) else [expected], got if isinstance(got, list) else [got]):
        assert torch.equal(a, b)


@pytest.mark.parametrize("shape", [(), (3, 10, 14), (3, 4, 10, 14), (2, 3, 4, 10, 14)])
def test_div255_takes_any_tensor(shape):
    """PyTorchVideo's Div255 is x / 255 on whatever tensor it gets: a frame, a clip or a batch."""
    x = torch.randint(0, 256, shape, dtype=torch.uint8)
    for transform in (T.Div255(), torch.jit.script(T.Div255())):
        got = transform(x)
        assert got.dtype == torch.float32 and got.shape == x.shape
        torch.testing.assert_close(got.double(), x.double() / 255, rtol=1e-6, atol=1e-7)


def test_scripted_chain_in_sequential():
    chain = torch.nn.Sequential(T.UniformTemporalSubsample(4), T.Div255(), T.Normalize((0.5,) * 3, (0.5,) * 3),
                                T.ShortSideScale(8), T.CenterCrop(8))
    x = _video()
    torch.testing.assert_close(torch.jit.script(chain)(x), chain(x))


RANDOM_OPS = ["RandomShortSideScale", "RandomResizedCrop", "RandomCrop", "RandomHorizontalFlip"]


@pytest.mark.parametrize("name", RANDOM_OPS)
def test_same_seed_same_output(name):
    x = _video(h=20, w=24)
    outs = [Seeded(VIDEO_OPS[name](), seed=7) for _ in range(2)]
    first, second = [[s(x) for _ in range(6)] for s in outs]
    assert all(torch.equal(a, b) for a, b in zip(first, second))
    torch.manual_seed(0)
    again = [VIDEO_OPS[name]() for _ in range(1)][0]
    draws = {tuple(again(x).flatten()[:50].tolist()) + tuple(again(x).shape) for _ in range(12)}
    assert len(draws) > 1  # it is random without a seed


def test_seeded_does_not_disturb_the_global_generator():
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    Seeded(T.RandomCrop(4), seed=1)(_video())
    assert torch.equal(torch.rand(3), expected)


def test_normalize_per_channel():
    x = _video(dtype=torch.float32)
    mean, std = (0.1, 0.2, 0.3), (0.5, 0.25, 0.125)
    out = T.Normalize(mean, std)(x)
    for c in range(3):
        torch.testing.assert_close(out[c], (x[c] - mean[c]) / std[c])
    with pytest.raises(ValueError, match="Normalize: expected a float video"):
        T.Normalize(mean, std)(_video())
    with pytest.raises(ValueError, match="2 channel means"):
        T.Normalize((0.1, 0.2), (1.0, 1.0))(x)


def test_normalize_takes_single_numbers_for_every_channel():
    """As TorchVision's Normalize (PyTorchVideo's base): a number is the mean / std of every channel."""
    x = _video(dtype=torch.float32)
    torch.testing.assert_close(T.Normalize(0.5, 0.25)(x), (x - 0.5) / 0.25)
    std = (0.5, 0.25, 0.125)
    out = T.Normalize(0.5, std)(x)
    for c in range(3):
        torch.testing.assert_close(out[c], (x[c] - 0.5) / std[c])
    with pytest.raises(ValueError, match="std must be a number or a sequence"):
        T.Normalize(0.5, "0.2")


def test_dtype_conversions():
    x = _video()
    torch.testing.assert_close(T.ConvertUint8ToFloat()(x), x.float() / 255)
    with pytest.raises(AssertionError, match="ConvertUint8ToFloat: expected a uint8 video, got dtype torch.float32"):
        T.ConvertUint8ToFloat()(x.float() / 255)  # PyTorchVideo asserts uint8: no silent second division
    assert torch.equal(T.ConvertFloatToUint8()(x.float() / 255), x)  # round trip is exact
    assert T.ConvertFloatToUint8()(torch.full((3, 1, 1, 1), 1.5)).max() == 255


def test_channel_moves_and_permute():
    x = _video()
    rear = T.MoveChannelRear()(x)
    assert rear.shape == (6, 10, 14, 3) and torch.equal(rear[..., 1], x[1])
    assert torch.equal(T.MoveChannelFront()(rear), x)
    assert torch.equal(T.Permute((1, 0, 2, 3))(x), x.transpose(0, 1))


@pytest.mark.parametrize("h,w,size", [(10, 14, 6), (9, 13, 4), (10, 14, (5, 8))])
def test_center_crop_offsets(h, w, size):
    x = _video(h=h, w=w)
    th, tw = (size, size) if isinstance(size, int) else size
    top, left = int(round((h - th) / 2)), int(round((w - tw) / 2))
    assert torch.equal(T.CenterCrop(size)(x), x[..., top:top + th, left:left + tw])


def test_center_crop_larger_than_frames_pads_with_zeros():
    x = _video(h=4, w=4)
    out = T.CenterCrop(6)(x)
    assert out.shape[-2:] == (6, 6) and torch.equal(out[..., 1:5, 1:5], x) and out[..., 0, :].max() == 0


def test_random_crop_reaches_every_offset_and_rejects_small_frames():
    x = torch.arange(5 * 7, dtype=torch.float32).view(1, 1, 5, 7)
    torch.manual_seed(0)
    corners = {int(T.RandomCrop(3)(x)[0, 0, 0, 0]) for _ in range(300)}
    assert corners == {r * 7 + c for r in range(3) for c in range(5)}
    with pytest.raises(ValueError, match="larger than the frames"):
        T.RandomCrop(8)(x)
    assert T.RandomCrop(8, pad_if_needed=True)(x).shape[-2:] == (8, 8)
    assert T.RandomCrop(7, padding=1)(x).shape[-2:] == (7, 7)


def test_random_horizontal_flip_probabilities():
    x = _video()
    assert torch.equal(T.RandomHorizontalFlip(1.0)(x), x.flip(-1))
    assert torch.equal(T.RandomHorizontalFlip(0.0)(x), x)
    torch.manual_seed(0)
    flips = sum(bool(torch.equal(T.RandomHorizontalFlip(0.5)(x), x.flip(-1))) for _ in range(400))
    assert 160 < flips < 240


def test_resize_matches_interpolate():
    x = _video(dtype=torch.float32)
    expected = TF.interpolate(x.transpose(0, 1), size=(8, 11), mode="bilinear", align_corners=False, antialias=True)
    torch.testing.assert_close(T.Resize(8)(x), expected.transpose(0, 1))  # int(8 * 14 / 10) = 11
    assert T.Resize([5, 7])(x).shape[-2:] == (5, 7)
    assert T.Resize(8, max_size=10)(x).shape[-2:] == (7, 10)


def test_short_side_scale_modules():
    x = _video(dtype=torch.float32)
    # PyTorchVideo: interpolate (C as batch, T as channels) to short side 8, long floor(14 / 10 * 8) = 11
    expected = TF.interpolate(x, size=(8, 11), mode="bilinear", align_corners=False)
    torch.testing.assert_close(T.ShortSideScale(8)(x), expected)
    torch.manual_seed(0)
    sizes = {T.RandomShortSideScale(6, 8)(x).shape[-2] for _ in range(40)}
    assert sizes == {6, 7, 8}


def test_dict_transforms():
    clip = {"video": _video(), "audio": torch.zeros(5), "label": 3}
    out = T.ApplyTransformToKey("video", T.UniformTemporalSubsample(2))(clip)
    assert out["video"].shape[1] == 2 and out["label"] == 3
    assert "audio" not in T.RemoveKey("audio")(out) and T.RemoveKey("nothing")(out) is out
    with pytest.raises(KeyError, match="no key 'vidoe'"):
        T.ApplyTransformToKey("vidoe", T.Div255())(out)
    for idx, left in ((0, 0), (1, 2), (2, 4)):
        c = {"video": _video(h=10, w=14), "aug_index": idx}
        expected = c["video"][..., :, left:left + 10]
        assert torch.equal(T.UniformCropVideo(10)(c)["video"], expected)


def test_op_sampler_draws_by_weight():
    add_one, add_ten = T.Lambda(lambda x: x + 1), T.Lambda(lambda x: x + 10)
    x = torch.zeros(1)
    assert T.OpSampler([add_one, add_ten], [1.0, 0.0])(x).item() == 1
    assert T.OpSampler([add_one, add_ten], num_sample_op=2)(x).item() == 11
    assert T.OpSampler([add_one], num_sample_op=3, replacement=True)(x).item() == 3
    assert T.OpSampler([add_one, add_ten], [0.0, 1.0]).forward(x).item() == 10  # documented: forward(x)
    torch.manual_seed(0)
    tens = sum(T.OpSampler([add_one, add_ten], [1.0, 3.0])(x).item() == 10 for _ in range(400))
    assert 260 < tens < 340  # weight 3/4
    with pytest.raises(AssertionError, match="without replacement"):  # PyTorchVideo asserts
        T.OpSampler([add_one], num_sample_op=2)
    with pytest.raises(ValueError, match="only 1 have a positive weight"):
        T.OpSampler([add_one, add_ten], [1.0, 0.0], num_sample_op=2)


def test_op_sampler_randomly_sample_depth_draws_the_number_of_ops_uniformly():
    """PyTorchVideo's later releases: with randomly_sample_depth, 1 to num_sample_op ops per call."""
    add_one = T.Lambda(lambda x: x + 1)
    sampler = T.OpSampler([add_one], num_sample_op=3, replacement=True, randomly_sample_depth=True)
    torch.manual_seed(0)
    depths = torch.tensor([int(sampler(torch.zeros(1)).item()) for _ in range(600)])
    assert set(depths.tolist()) == {1, 2, 3}
    assert (torch.bincount(depths)[1:] - 200).abs().max() < 40


def test_compose_lambda_multiview():
    assert T.Compose([T.Lambda(lambda x: x * 2), T.Lambda(lambda x: x + 1)])(3) == 7
    views = T.MultiView(T.RandomCrop(4), num_views=3)(_video())
    assert len(views) == 3 and all(v.shape[-2:] == (4, 4) for v in views)


def test_create_video_transform_is_the_documented_chain():
    """"val": subsample, /255, normalize, short side to min_size, centre crop, computed with plain
    torch; "train": the same steps at a random scale, crop and flip."""
    x = _video(t=12, h=30, w=40)
    kwargs = dict(num_samples=4, min_size=20, max_size=24, crop_size=16)
    frames = x[:, torch.linspace(0, 11, 4).long()].float() / 255  # equispaced: 0, 3, 7, 11
    normalized = (frames - 0.45) / 0.225
    scaled = TF.interpolate(normalized, size=(20, 26), mode="bilinear", align_corners=False)  # 40 / 30 * 20
    top, left = round((20 - 16) / 2), round((26 - 16) / 2)
    torch.testing.assert_close(T.create_video_transform("val", **kwargs)(x),
                               scaled[..., top:top + 16, left:left + 16])
    torch.manual_seed(4)
    train = T.create_video_transform("train", **kwargs)(x)
    assert train.shape == (3, 4, 16, 16) and train.dtype == torch.float32
    assert (-0.45 / 0.225 - 1e-5 <= train).all() and (train <= 0.55 / 0.225 + 1e-5).all()
    clip = T.create_video_transform("val", video_key="video", remove_key=["audio"], **kwargs)(
        {"video": x, "audio": 1, "label": 2})
    assert set(clip) == {"video", "label"} and clip["video"].shape == (3, 4, 16, 16)
    with pytest.raises(AssertionError, match="mode 'test'"):
        T.create_video_transform("test")


@pytest.mark.parametrize("kwargs,error,message", [
    ({"crop_size": 24, "min_size": 20}, AssertionError, "crop_size 24 is larger than min_size 20"),
    ({"crop_size": (16, 24), "min_size": 20}, AssertionError, r"crop_size \(16, 24\) is larger than min_size 20"),
    ({"crop_size": 16.0}, TypeError, "crop_size must be an int or"),
    ({"remove_key": ["audio"]}, AssertionError, "remove_key needs a dict input"),
    ({"aug_paras": {"magnitude": 3}}, AssertionError, "aug_paras is only used"),
    ({"aug_type": "cutout"}, NotImplementedError, "aug_type 'cutout'"),
])
def test_create_video_transform_refuses_with_pytorchvideos_error_types(kwargs, error, message):
    """PyTorchVideo asserts these (crop_size <= min_size, ...), raises TypeError for a crop size of
    another type and NotImplementedError for an unknown augmentation: ours are those types too."""
    with pytest.raises(error, match=message):
        T.create_video_transform("val", **kwargs)


def test_create_video_transform_later_release_options():
    x = _video(t=12, h=30, w=40)
    for aug in ("randaug", "augmix"):
        out = T.create_video_transform("train", aug_type=aug, num_samples=4, crop_size=16, min_size=20, max_size=24)(x)
        assert out.shape == (3, 4, 16, 16) and out.dtype == torch.float32
    rrc = T.create_video_transform("train", num_samples=4, crop_size=16, random_resized_crop_paras={})
    assert rrc(x).shape == (3, 4, 16, 16)


class _Clips(torch.utils.data.Dataset):
    def __init__(self, transform):
        self.transform = transform

    def __len__(self):
        return 4

    def __getitem__(self, index):
        return self.transform(torch.zeros(1, 1, 1, 1))


def test_seeded_in_dataloader_workers_is_reproducible_and_differs_between_workers():
    draw = Seeded(T.Lambda(lambda x: torch.rand(1)), seed=5)

    def run():
        loader = torch.utils.data.DataLoader(_Clips(draw), batch_size=1, num_workers=2)
        return [b.item() for b in loader]

    first, second = run(), run()
    assert first == second  # same seed, same worker layout: same draws
    assert first[0] != first[1]  # items 0 and 1 come from workers 0 and 1: not the same draw
