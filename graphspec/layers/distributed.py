"""Distributed helpers. Everything also works without an initialized process
group, behaving as a single process (world size 1, rank 0)."""

# Annotations stay unevaluated: torch.distributed may lack ProcessGroup on builds
# without distributed support.
from __future__ import annotations

from typing import List, Optional

import torch
import torch.distributed as dist

# Group of the processes on this machine (shard); None means the default group.
_LOCAL_PROCESS_GROUP: Optional[dist.ProcessGroup] = None


def _is_initialized() -> bool:
    return dist.is_available() and dist.is_initialized()


def get_world_size() -> int:
    """Number of processes in the default group; 1 without distributed setup."""
    return dist.get_world_size() if _is_initialized() else 1


def get_local_size() -> int:
    """Number of processes in the local (per-machine) group; the world size when
    no local group was set up, 1 without distributed setup."""
    if not _is_initialized():
        return 1
    return dist.get_world_size(group=_LOCAL_PROCESS_GROUP)


def get_local_rank() -> int:
    """Rank of this process within the local (per-machine) group; 0 without
    distributed setup."""
    if not _is_initialized():
        return 0
    return dist.get_rank(group=_LOCAL_PROCESS_GROUP)


def get_local_process_group() -> Optional[dist.ProcessGroup]:
    """The local process group set by ``init_distributed_training``; None (which
    torch.distributed reads as the default group) when it was not set up."""
    return _LOCAL_PROCESS_GROUP


def init_distributed_training(num_shards: int, shard_id: int) -> None:
    """
    Set up the local process group for this shard (machine).

    Must be called by every process after ``torch.distributed.init_process_group``.
    The world is split into ``num_shards`` consecutive blocks of ranks, one per
    shard, and this process's local group becomes block ``shard_id``. Nothing is
    done for a single shard.
    """
    if num_shards == 1:
        return
    world_size = dist.get_world_size()
    assert world_size % num_shards == 0, "world size must be divisible by num_shards"
    processes_per_shard = world_size // num_shards
    global _LOCAL_PROCESS_GROUP
    for shard in range(num_shards):
        ranks = list(range(shard * processes_per_shard, (shard + 1) * processes_per_shard))
        # new_group is collective: every process creates every group.
        group = dist.new_group(ranks)
        if shard == shard_id:
            _LOCAL_PROCESS_GROUP = group


def _all_gather(tensor: torch.Tensor, local: bool) -> List[torch.Tensor]:
    size = get_local_size() if local else get_world_size()
    gathered = [torch.empty_like(tensor) for _ in range(size)]
    dist.all_gather(gathered, tensor, group=_LOCAL_PROCESS_GROUP if local else None)
    return gathered


def cat_all_gather(tensors: torch.Tensor, local: bool = False) -> torch.Tensor:
    """
    All-gather ``tensors`` from every process (of the local group if ``local``)
    and concatenate them along dim 0, in rank order. Returns the input as is
    without distributed setup.
    """
    if not _is_initialized():
        return tensors
    return torch.cat(_all_gather(tensors, local), dim=0)


def _sum_over_sync_group(
    tensor: torch.Tensor, num_sync_devices: int, num_groups: int
) -> torch.Tensor:
    # Sum over the block of num_sync_devices consecutive local ranks that holds
    # this process.
    if not _is_initialized():
        return tensor
    gathered = torch.stack(_all_gather(tensor.contiguous(), local=True), dim=0)
    if num_groups > 1:
        start = get_local_rank() // num_sync_devices * num_sync_devices
        gathered = gathered[start : start + num_sync_devices]
    return gathered.sum(dim=0)


class GroupGather(torch.autograd.Function):
    """
    Sums a tensor over this process's sync group: the local group split into
    ``num_groups`` blocks of ``num_sync_devices`` consecutive ranks. The backward
    pass sums the incoming gradients over the same group, so gradients flow to
    every contributing process.
    """

    @staticmethod
    def forward(ctx, input: torch.Tensor, num_sync_devices: int, num_groups: int):
        ctx.num_sync_devices = num_sync_devices
        ctx.num_groups = num_groups
        return _sum_over_sync_group(input, num_sync_devices, num_groups)

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor):
        grad = _sum_over_sync_group(grad_output, ctx.num_sync_devices, ctx.num_groups)
        return grad, None, None
