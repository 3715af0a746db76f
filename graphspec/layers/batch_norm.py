"""Naive synchronized batch normalization over the local process group."""

from typing import Optional

import torch
import torch.nn as nn

from graphspec.layers.distributed import GroupGather, get_local_size


class _NaiveSyncBatchNormMixin:
    """
    Shared logic of ``NaiveSyncBatchNorm{1,2,3}d``.

    Without distributed setup (local size 1), or when running statistics are used,
    this is exactly the base ``nn.BatchNorm``. Otherwise every process computes the
    per-channel mean and mean of squares of its batch, these are averaged with
    equal weight over the sync group, and the input is normalized with the
    resulting statistics. The result equals BatchNorm over all samples only when
    every process has the same (N, spatial) size; zero-size batches are not
    supported.

    ``num_sync_devices`` splits the local group into blocks of that many
    consecutive ranks that sync among themselves; by default the whole local
    group syncs.
    """

    def __init__(self, *args, num_sync_devices: Optional[int] = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._requested_sync_devices = (
            num_sync_devices if num_sync_devices is not None and num_sync_devices > 0 else None
        )

    # Derived from the local size at use time, so that a layer built before the
    # process group is initialized still syncs correctly.
    @property
    def num_sync_devices(self) -> int:
        return self._requested_sync_devices or get_local_size()

    @property
    def num_groups(self) -> int:
        return get_local_size() // self.num_sync_devices

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        uses_batch_stats = self.training or not self.track_running_stats
        if get_local_size() == 1 or not uses_batch_stats:
            return super().forward(input)
        self._check_input_dim(input)
        num_sync_devices = self.num_sync_devices
        assert get_local_size() % num_sync_devices == 0, (
            "The local process group size must be divisible by num_sync_devices"
        )
        channels = input.shape[1]
        assert input.shape[0] > 0, "SyncBatchNorm does not support zero batch size."

        reduce_dims = [0] + list(range(2, input.dim()))
        mean = torch.mean(input, dim=reduce_dims)
        meansqr = torch.mean(input * input, dim=reduce_dims)
        stats = GroupGather.apply(
            torch.cat([mean, meansqr], dim=0), num_sync_devices, self.num_groups
        ) * (1.0 / num_sync_devices)
        mean, meansqr = torch.split(stats, channels)
        var = meansqr - mean * mean

        if self.training and self.track_running_stats:
            self._update_running_stats(
                mean, var, input.numel() // channels * num_sync_devices
            )

        invstd = torch.rsqrt(var + self.eps)
        scale = invstd if self.weight is None else self.weight * invstd
        shift = -mean * scale
        if self.bias is not None:
            shift = shift + self.bias
        shape = (1, channels) + (1,) * (input.dim() - 2)
        return input * scale.reshape(shape) + shift.reshape(shape)

    @torch.no_grad()
    def _update_running_stats(self, mean: torch.Tensor, var: torch.Tensor, count: int) -> None:
        # Same update rule as nn.BatchNorm: momentum (or a cumulative average when
        # momentum is None) and the unbiased variance of all synced samples.
        self.num_batches_tracked.add_(1)
        if self.momentum is None:
            factor = 1.0 / float(self.num_batches_tracked)
        else:
            factor = self.momentum
        unbiased_var = var * (count / max(count - 1, 1))
        self.running_mean.lerp_(mean.to(self.running_mean.dtype), factor)
        self.running_var.lerp_(unbiased_var.to(self.running_var.dtype), factor)


class NaiveSyncBatchNorm1d(_NaiveSyncBatchNormMixin, nn.BatchNorm1d):
    """1D naive sync batch normalization; see ``NaiveSyncBatchNorm2d``."""


class NaiveSyncBatchNorm2d(_NaiveSyncBatchNormMixin, nn.BatchNorm2d):
    """
    2D naive sync batch normalization. In PyTorch<=1.5, ``nn.SyncBatchNorm`` has
    incorrect gradient when the batch size on each worker is different; this is a
    slower but correct alternative.

    Note: overall statistics are computed from the statistics of each worker with
    equal weight, so they are the true statistics of all samples only when all
    workers have the same (N, H, W). Zero batch size is not supported.
    """


class NaiveSyncBatchNorm3d(_NaiveSyncBatchNormMixin, nn.BatchNorm3d):
    """3D naive sync batch normalization; see ``NaiveSyncBatchNorm2d``."""
