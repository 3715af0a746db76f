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
    with pytest.raises(ValueError, match=r"MixUp: expected a batch of videos \(B, C, T, H, W\), got shape \[3, 2, 12, 16\]"):
        MixUp()(x[0], y)
    with pytest.raises(ValueError, match="CutMix: labels must have shape"):
        CutMix(num_classes=5)(x, y[:2])
    with pytest.raises(ValueError, match="alpha"):
        MixUp(alpha=0.0)
    with pytest.raises(ValueError, match=r"CutMix: needs a batch of at least 2 clips"):
        CutMix(num_classes=5)(x[:1], y[:1])
