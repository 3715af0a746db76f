"""Single-process behaviour. The two-process (gloo) checks of these helpers run in
the same spawned processes as the NaiveSyncBatchNorm test, in test_batch_norm.py,
to pay the process start-up only once."""

import torch
import torch.distributed as dist

from graphspec.layers import distributed as du


def test_single_process_defaults():
    assert not dist.is_initialized()
    assert du.get_world_size() == 1
    assert du.get_local_size() == 1
    assert du.get_local_rank() == 0
    assert du.get_local_process_group() is None
    du.init_distributed_training(1, 0)  # single shard: nothing to set up
    assert du.get_local_process_group() is None
    t = torch.arange(3.0)
    assert du.cat_all_gather(t) is t and du.cat_all_gather(t, local=True) is t

    v = torch.randn(4, requires_grad=True)
    out = du.GroupGather.apply(v, 1, 1)
    torch.testing.assert_close(out, v)
    (out * 2).sum().backward()
    torch.testing.assert_close(v.grad, torch.full((4,), 2.0))
