"""Cross entropy against soft (per-class weight) targets."""

import torch
import torch.nn as nn
import torch.nn.functional as F

from graphspec.layers.utils import set_attributes


class SoftTargetCrossEntropyLoss(nn.Module):
    """
    Cross entropy for soft targets: ``-sum_c target[n, c] * log_softmax(input)[n, c]``.

    Target entries equal to ``ignore_index`` are treated as 0. With
    ``normalize_targets`` each target row is divided by its sum (plus float32 eps).
    Integer class targets of shape (N,) are converted to one-hot; a class equal to
    ``ignore_index`` makes that sample's row entirely ignored.
    """

    def __init__(
        self,
        ignore_index: int = -100,
        reduction: str = "mean",
        normalize_targets: bool = True,
    ) -> None:
        """
        Args:
            ignore_index (int): target value that is ignored.
            reduction (str): "mean" (sum of per-sample losses divided by the number of
                samples with at least one non-ignored target) or "none".
            normalize_targets (bool): whether to normalize each target row to sum
                to 1.
        """
        super().__init__()
        set_attributes(self, locals())
        assert isinstance(self.normalize_targets, bool)
        if self.reduction not in ("mean", "none"):
            raise NotImplementedError(f'reduction type "{self.reduction}" not implemented')
        self.eps = torch.finfo(torch.float32).eps

    def forward(self, input: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """
        Args:
            input (torch.Tensor): N x C raw scores (before softmax).
            target (torch.Tensor): N x C soft targets, or N class indices.
        """
        if target.ndim == 1:
            assert (
                input.shape[0] == target.shape[0]
            ), "SoftTargetCrossEntropyLoss requires input and target to have same batch size!"
            target = self._to_one_hot(target, input.shape[1])
        assert input.shape == target.shape, (
            "SoftTargetCrossEntropyLoss requires input and target to be same "
            f"shape: {input.shape} != {target.shape}"
        )

        valid_mask = target != self.ignore_index
        valid_targets = target.float() * valid_mask.float()
        if self.normalize_targets:
            valid_targets = valid_targets / (self.eps + valid_targets.sum(dim=1, keepdim=True))
        per_sample_loss = torch.sum(-valid_targets * F.log_softmax(input, dim=-1), dim=-1)

        if self.reduction == "none":
            return per_sample_loss
        # Average over the samples that have any non-ignored target.
        num_valid_samples = (valid_mask.sum(dim=-1) > 0).sum().clamp(min=1)
        return per_sample_loss.sum() / num_valid_samples

    def _to_one_hot(self, labels: torch.Tensor, num_classes: int) -> torch.Tensor:
        labels = labels.long()
        ignored = labels == self.ignore_index
        assert bool(
            ((labels >= 0) & (labels < num_classes) | ignored).all()
        ), "Class Index must be less than number of classes"
        one_hot = F.one_hot(labels.masked_fill(ignored, 0), num_classes)
        # An ignored sample gets an all-ignore_index row, so it adds no loss and
        # does not count towards the mean.
        return one_hot.masked_fill(ignored.unsqueeze(1), self.ignore_index)
