import pytest
import torch
import torch.nn.functional as F

from graphspec.losses import SoftTargetCrossEntropyLoss

EPS = torch.finfo(torch.float32).eps


def _per_sample(logits, target, normalize=True):
    """-sum_c t_c log softmax(x)_c with t normalized to sum 1 (plus float32 eps)."""
    target = target.float()
    if normalize:
        target = target / (target.sum(dim=1, keepdim=True) + EPS)
    return -(target * torch.log(torch.exp(logits) / torch.exp(logits).sum(1, keepdim=True))).sum(1)


def test_soft_targets_mean_and_none():
    torch.manual_seed(0)
    logits, target = torch.randn(4, 5), torch.rand(4, 5)
    want = _per_sample(logits, target)
    torch.testing.assert_close(SoftTargetCrossEntropyLoss(reduction="none")(logits, target), want)
    torch.testing.assert_close(SoftTargetCrossEntropyLoss()(logits, target), want.mean())


def test_without_target_normalization():
    logits, target = torch.randn(3, 4), torch.rand(3, 4) * 3
    loss = SoftTargetCrossEntropyLoss(normalize_targets=False)(logits, target)
    torch.testing.assert_close(loss, _per_sample(logits, target, normalize=False).mean())


def test_hard_targets_equal_cross_entropy():
    logits, labels = torch.randn(6, 5), torch.tensor([0, 4, 2, 2, 1, 3])
    loss = SoftTargetCrossEntropyLoss()(logits, labels)
    # normalization divides the one-hot row by (1 + eps)
    torch.testing.assert_close(loss, F.cross_entropy(logits, labels) / (1 + EPS))


def test_ignore_index_in_soft_targets():
    logits = torch.randn(3, 4)
    target = torch.tensor(
        [[0.5, -1.0, 0.5, 0.0], [-1.0, -1.0, -1.0, -1.0], [0.0, 1.0, 0.0, -1.0]]
    )
    criterion = SoftTargetCrossEntropyLoss(ignore_index=-1)
    valid = target.clamp(min=0)
    per_sample = _per_sample(logits, valid)
    none = SoftTargetCrossEntropyLoss(ignore_index=-1, reduction="none")
    torch.testing.assert_close(none(logits, target), per_sample)
    # Row 1 is fully ignored: it adds 0 and is not counted in the mean.
    assert per_sample[1] == 0
    torch.testing.assert_close(criterion(logits, target), (per_sample[0] + per_sample[2]) / 2)


def test_ignore_index_in_hard_targets():
    logits, labels = torch.randn(4, 3), torch.tensor([2, -100, 0, 1])
    loss = SoftTargetCrossEntropyLoss()(logits, labels)
    torch.testing.assert_close(loss, F.cross_entropy(logits, labels, ignore_index=-100) / (1 + EPS))
    all_ignored = SoftTargetCrossEntropyLoss()(logits, torch.full((4,), -100))
    assert all_ignored.item() == 0.0


def test_validation():
    with pytest.raises(NotImplementedError):
        SoftTargetCrossEntropyLoss(reduction="sum")
    with pytest.raises(AssertionError):
        SoftTargetCrossEntropyLoss(normalize_targets=1)
    criterion = SoftTargetCrossEntropyLoss()
    with pytest.raises(AssertionError):
        criterion(torch.randn(2, 3), torch.rand(2, 4))
    with pytest.raises(AssertionError):
        criterion(torch.randn(2, 3), torch.tensor([0, 3]))  # class index out of range


def test_gradient_is_softmax_minus_target():
    logits = torch.randn(2, 3, requires_grad=True)
    target = torch.tensor([[0.2, 0.3, 0.5], [1.0, 0.0, 0.0]])
    SoftTargetCrossEntropyLoss(reduction="none")(logits, target).sum().backward()
    want = torch.softmax(logits.detach(), 1) * target.sum(1, keepdim=True) / (1 + EPS) - target / (1 + EPS)
    torch.testing.assert_close(logits.grad, want)
