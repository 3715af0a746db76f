"""MixUp / CutMix / MixVideo: mixing weights recovered from the outputs, against the definitions."""
import pytest
import torch

from graphspec.transforms import CutMix, MixUp, MixVideo
from graphspec.transforms.functional import convert_to_one_hot


def _batch(b=4):
    g = torch.Generator().manual_seed(0)
    return torch.rand(b, 3, 2, 12, 16, generator=g), torch.tensor([0, 3, 1, 2])[:b]


@pytest.mark.parametrize("smooth", [0.0, 0.2])
def test_mixup_mixes_videos_and_labels_with_one_weight(smooth):
    x, y = _batch()
    torch.manual_seed(1)
    mixed, labels = MixUp(alpha=1.0, label_smoothing=smooth, num_classes=5)(x, y)
    one_hot, flipped = convert_to_one_hot(y, 5, smooth), convert_to_one_hot(y.flip(0), 5, smooth)
    # solve labels = lam * one_hot + (1 - lam) * flipped for lam from the first row's target class
    lam = ((labels[0] - flipped[0]) / (one_hot[0] - flipped[0]))[y[0]].item()
    torch.testing.assert_close(labels, lam * one_hot + (1 - lam) * flipped)
    torch.testing.assert_close(mixed, lam * x + (1 - lam) * x.flip(0))
    torch.testing.assert_close(labels.sum(1), torch.ones(4))


def test_mixup_weights_follow_beta():
    x, y = _batch()
    torch.manual_seed(0)
    mix = MixUp(alpha=0.2, num_classes=5)
    lams = torch.tensor([mix(x, y)[1][0, 0].item() for _ in range(300)])
    # Beta(0.2, 0.2) is U-shaped: most weights near 0 or 1, mean 0.5
    assert ((lams < 0.1) | (lams > 0.9)).float().mean() > 0.5 and abs(lams.mean() - 0.5) < 0.1


def test_cutmix_pastes_one_box_and_weights_labels_by_its_area():
    x, y = _batch()
    for seed in range(6):
        torch.manual_seed(seed)
        mixed, labels = CutMix(alpha=1.0, num_classes=5)(x, y)
        changed = (mixed != x).any(dim=(1, 2))  # (B, H, W)
        rows, cols = changed[0].nonzero(as_tuple=True)
        if rows.numel():
            box = mixed[..., rows.min():rows.max() + 1, cols.min():cols.max() + 1]
            assert torch.equal(box, x.flip(0)[..., rows.min():rows.max() + 1, cols.min():cols.max() + 1])
            area = (rows.max() - rows.min() + 1) * (cols.max() - cols.min() + 1)
        else:
            area = torch.tensor(0)
        lam = 1 - area.item() / (12 * 16)
        one_hot, flipped = convert_to_one_hot(y, 5), convert_to_one_hot(y.flip(0), 5)
        torch.testing.assert_close(labels, lam * one_hot + (1 - lam) * flipped)


def test_mix_video_picks_cutmix_or_mixup():
    x, y = _batch()
    torch.manual_seed(2)
    cut = MixVideo(cutmix_prob=1.0, num_classes=5)(x, y)[0]
    assert ((cut == x) | (cut == x.flip(0))).all()  # CutMix only copies pixels
    torch.manual_seed(2)
    mixed = MixVideo(cutmix_prob=0.0, num_classes=5)(x, y)[0]
    assert not ((mixed == x) | (mixed == x.flip(0))).all()


def test_mix_rejects_clips_and_bad_labels():
    x, y = _batch()
    with pytest.raises(ValueError, match=r"MixUp: expected a batch of videos \(B, C, T, H, W\) or \(B, C, H, W\), "
                                         r"got shape \[2, 12, 16\]"):
        MixUp()(x[0, 0], y[:2])
    with pytest.raises(ValueError, match=r"CutMix: labels must be of shape \(4,\)"):
        CutMix(num_classes=5)(x, y[:2])
    with pytest.raises(ValueError, match="alpha"):
        MixUp(alpha=0.0)


@pytest.mark.parametrize("mix", [MixUp, CutMix, MixVideo])
def test_a_single_clip_is_refused_as_pytorchvideo_asserts(mix):
    x, y = _batch()
    with pytest.raises(AssertionError, match=r"needs a batch of at least 2 videos"):
        mix(num_classes=5)(x[:1], y[:1])


@pytest.mark.parametrize("mix", [MixUp, CutMix, MixVideo])
def test_4d_batches_mix_as_5d_ones(mix):
    """PyTorchVideo's mixes take (B, C, H, W) batches (images, spectrograms) too: a 4-D batch mixes
    exactly as the same batch with a one-frame time axis."""
    x, y = _batch()
    images = x[:, :, 0]
    torch.manual_seed(3)
    mixed, labels = mix(num_classes=5)(images, y)
    torch.manual_seed(3)
    mixed_5d, labels_5d = mix(num_classes=5)(images.unsqueeze(2), y)
    torch.testing.assert_close(mixed, mixed_5d[:, :, 0])
    torch.testing.assert_close(labels, labels_5d)
    if mix is MixUp:  # labels[0] = lam * onehot(0) + (1 - lam) * onehot(2): lam is labels[0, 0]
        lam = labels[0, 0].item()
        torch.testing.assert_close(mixed, lam * images + (1 - lam) * images.flip(0))
    if mix is CutMix:  # pixels of the clip itself or of its pair, nothing else
        assert ((mixed == images) | (mixed == images.flip(0))).all()


@pytest.mark.parametrize("mix", [MixUp, CutMix, MixVideo])
def test_one_hot_labels_are_mixed_as_given(mix):
    """With ``one_hot=True`` the labels are rows (B, num_classes) (soft or one-hot) mixed as they
    are: the same result as class indices give without it."""
    x, y = _batch()
    soft = torch.softmax(torch.randn(4, 5, generator=torch.Generator().manual_seed(1)), 1)
    torch.manual_seed(4)
    mixed, labels = mix(num_classes=5, one_hot=True)(x, soft)
    torch.manual_seed(4)
    _, indexed = mix(num_classes=5)(x, y)
    # recover lam from the index form, then hold the soft rows against the definition
    one_hot, flipped = convert_to_one_hot(y, 5), convert_to_one_hot(y.flip(0), 5)
    lam = ((indexed[0] - flipped[0]) / (one_hot[0] - flipped[0]))[y[0]].item()
    torch.testing.assert_close(labels, lam * soft + (1 - lam) * soft.flip(0))
    with pytest.raises(ValueError, match=r"labels must be one-hot rows of shape \(4, 5\)"):
        mix(num_classes=5, one_hot=True)(x, y)


def test_mixup_mixes_audio_with_the_videos_weight():
    x, y = _batch()
    audio = torch.rand(4, 1, 10, 20, generator=torch.Generator().manual_seed(2))
    torch.manual_seed(5)
    mixed, mixed_audio, labels = MixUp(num_classes=5)(x, y, x_audio=audio)
    one_hot, flipped = convert_to_one_hot(y, 5), convert_to_one_hot(y.flip(0), 5)
    lam = ((labels[0] - flipped[0]) / (one_hot[0] - flipped[0]))[y[0]].item()
    torch.testing.assert_close(mixed, lam * x + (1 - lam) * x.flip(0))
    torch.testing.assert_close(mixed_audio, lam * audio + (1 - lam) * audio.flip(0))


@pytest.mark.parametrize("mix", [CutMix, MixVideo])
def test_cutmix_pastes_audio_from_the_paired_clip(mix):
    x, y = _batch()
    audio = torch.rand(4, 1, 10, 20, generator=torch.Generator().manual_seed(2))
    torch.manual_seed(6)
    mixed, mixed_audio, labels = mix(num_classes=5, **({"cutmix_prob": 1.0} if mix is MixVideo else {}))(
        x, y, x_audio=audio)
    assert mixed_audio.shape == audio.shape and labels.shape == (4, 5)
    assert ((mixed_audio == audio) | (mixed_audio == audio.flip(0))).all()  # CutMix only copies values
    with pytest.raises(ValueError, match="x_audio has 2 clips for 4 videos"):
        mix(num_classes=5)(x, y, x_audio=audio[:2])


@pytest.mark.parametrize("shape", [(4, 160), (4, 1, 160)])
def test_mixup_mixes_waveform_audio_of_any_shape(shape):
    """PyTorchVideo's MixUp blends ``x_audio`` whatever its shape (it asserts only a batch of at
    least 2): a (B, S) or (B, 1, S) waveform mixes with the video's weight."""
    x, y = _batch()
    audio = torch.rand(*shape, generator=torch.Generator().manual_seed(4))
    torch.manual_seed(6)
    mixed, mixed_audio, labels = MixUp(num_classes=5)(x, y, x_audio=audio)
    one_hot, flipped = convert_to_one_hot(y, 5), convert_to_one_hot(y.flip(0), 5)
    lam = ((labels[0] - flipped[0]) / (one_hot[0] - flipped[0]))[y[0]].item()
    torch.testing.assert_close(mixed_audio, lam * audio + (1 - lam) * audio.flip(0))
    with pytest.raises(ValueError, match="x_audio has 2 clips for 4 videos"):
        MixUp(num_classes=5)(x, y, x_audio=audio[:2])
