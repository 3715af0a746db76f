import datetime

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn as nn

from graphspec.layers import distributed as du
from graphspec.layers.batch_norm import (
    NaiveSyncBatchNorm1d,
    NaiveSyncBatchNorm2d,
    NaiveSyncBatchNorm3d,
)

WORLD_SIZE = 2
CASES = [
    (NaiveSyncBatchNorm1d, nn.BatchNorm1d, (8, 3)),
    (NaiveSyncBatchNorm1d, nn.BatchNorm1d, (8, 3, 5)),
    (NaiveSyncBatchNorm2d, nn.BatchNorm2d, (4, 3, 4, 5)),
    (NaiveSyncBatchNorm3d, nn.BatchNorm3d, (4, 3, 2, 3, 4)),
]


def _pair(sync_cls, ref_cls, num_sync_devices=None, **kwargs):
    """A sync layer and a reference BatchNorm with the same random affine."""
    ref = ref_cls(3, **kwargs)
    if ref.affine:
        nn.init.normal_(ref.weight)
        nn.init.normal_(ref.bias)
    sync = sync_cls(3, num_sync_devices=num_sync_devices, **kwargs)
    sync.load_state_dict(ref.state_dict())
    return sync, ref


def _assert_close(actual, expected, rtol=1e-4, atol=1e-5):
    # torch.testing.assert_close takes over a second to warm up in each spawned
    # process; allclose is enough here.
    assert actual.shape == expected.shape and actual.dtype == expected.dtype
    assert torch.allclose(actual, expected, rtol=rtol, atol=atol), (actual, expected)


def _assert_same_stats(sync, ref):
    for name in ("running_mean", "running_var", "num_batches_tracked"):
        _assert_close(getattr(sync, name), getattr(ref, name))


@pytest.mark.parametrize("sync_cls, ref_cls, shape", CASES)
def test_single_process_is_batch_norm(sync_cls, ref_cls, shape):
    torch.manual_seed(0)
    sync, ref = _pair(sync_cls, ref_cls, momentum=0.3)
    assert sync.num_sync_devices == 1 and sync.num_groups == 1
    assert list(sync.state_dict()) == list(ref.state_dict())
    for _ in range(2):
        x = torch.randn(shape) * 2 + 1
        torch.testing.assert_close(sync(x), ref(x))
    _assert_same_stats(sync, ref)
    sync.eval(), ref.eval()
    x = torch.randn(shape)
    torch.testing.assert_close(sync(x), ref(x))


def test_constructor_keywords():
    layer = NaiveSyncBatchNorm2d(num_features=5, eps=1e-3, momentum=0.2, num_sync_devices=4)
    assert (layer.num_features, layer.eps, layer.momentum) == (5, 1e-3, 0.2)
    assert layer.num_sync_devices == 4
    assert NaiveSyncBatchNorm3d(num_sync_devices=0, num_features=2).num_sync_devices == 1


def _check_against_full_batch(rank, sync_cls, ref_cls, shape, **kwargs):
    # Same seed on both ranks: each holds its half of the same full batch.
    torch.manual_seed(0)
    sync, ref = _pair(sync_cls, ref_cls, **kwargs)
    half = shape[0] // WORLD_SIZE
    mine = slice(rank * half, (rank + 1) * half)
    for _ in range(2):
        full = (torch.randn(shape) * 3 + 2).requires_grad_()
        loss_weights = torch.randn(shape)
        local = full.detach()[mine].clone().requires_grad_()

        ref_out = ref(full)
        (ref_out * loss_weights).sum().backward()
        sync_out = sync(local)
        (sync_out * loss_weights[mine]).sum().backward()

        _assert_close(sync_out, ref_out[mine])
        # The gradient of the summed loss of all ranks reaches the local input.
        _assert_close(local.grad, full.grad[mine])
    _assert_same_stats(sync, ref)


def _check_local_batch_norm(rank, num_sync_devices=None):
    """The sync layer must act as a BatchNorm over this process's batch alone."""
    torch.manual_seed(rank)
    sync, ref = _pair(NaiveSyncBatchNorm3d, nn.BatchNorm3d, num_sync_devices)
    x = torch.randn(2, 3, 2, 2, 2)
    _assert_close(sync(x), ref(x))
    _assert_same_stats(sync, ref)
    # Eval mode uses the running statistics, no communication.
    sync.eval(), ref.eval()
    _assert_close(sync(x), ref(x))


def _check_distributed_helpers(rank):
    # Without init_distributed_training the local group is the whole world.
    assert du.get_world_size() == 2 and du.get_local_size() == 2
    assert du.get_local_rank() == rank
    mine = torch.tensor([[rank, rank + 10.0]])
    both = torch.tensor([[0.0, 10.0], [1.0, 11.0]])
    assert torch.equal(du.cat_all_gather(mine), both)
    assert torch.equal(du.cat_all_gather(mine, local=True), both)

    # GroupGather sums over the sync group; its gradient is the sum of the
    # gradients of all members.
    v = torch.full((3,), rank + 1.0, requires_grad=True)
    out = du.GroupGather.apply(v, 2, 1)
    assert torch.equal(out, torch.full((3,), 3.0))
    (out * (10.0**rank)).sum().backward()
    assert torch.equal(v.grad, torch.full((3,), 11.0))
    # Two groups of one device each: only this process's value.
    assert torch.equal(du.GroupGather.apply(v.detach(), 1, 2), v.detach())


def _worker(rank, init_file):
    torch.set_num_threads(1)  # two processes on a small machine: avoid oversubscription
    dist.init_process_group(
        "gloo", init_method=f"file://{init_file}", rank=rank, world_size=WORLD_SIZE,
        timeout=datetime.timedelta(seconds=60),
    )
    _check_distributed_helpers(rank)

    for sync_cls, ref_cls, shape in CASES:
        _check_against_full_batch(rank, sync_cls, ref_cls, shape)
    _check_against_full_batch(rank, NaiveSyncBatchNorm2d, nn.BatchNorm2d, (4, 3, 2, 2), momentum=None)
    _check_against_full_batch(rank, NaiveSyncBatchNorm1d, nn.BatchNorm1d, (6, 3), affine=False)
    # num_sync_devices=1: two sync groups of one process each.
    assert NaiveSyncBatchNorm3d(num_features=3, num_sync_devices=1).num_groups == 2
    _check_local_batch_norm(rank, num_sync_devices=1)

    # One shard per process: local groups of one, so no syncing either.
    du.init_distributed_training(num_shards=2, shard_id=rank)
    assert du.get_local_process_group() is not None
    assert du.get_local_size() == 1 and du.get_local_rank() == 0
    mine = torch.tensor([[rank, rank + 10.0]])
    assert torch.equal(du.cat_all_gather(mine, local=True), mine)
    assert torch.equal(du.cat_all_gather(mine), torch.tensor([[0.0, 10.0], [1.0, 11.0]]))
    _check_local_batch_norm(rank)
    dist.destroy_process_group()


def test_two_processes_equal_full_batch_norm(tmp_path):
    """Two gloo processes, each with half of a batch, match one BatchNorm over the
    full batch (outputs, input gradients, running statistics); the
    graphspec.layers.distributed helpers are checked in the same processes."""
    mp.spawn(_worker, args=(str(tmp_path / "store"),), nprocs=WORLD_SIZE, join=True)
