"""torch.distributed from torchrun's environment (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``,
``MASTER_ADDR``/``MASTER_PORT`` or a c10d rendezvous): gloo on CPU, nccl on CUDA. Without
torchrun's variables the run is one process and nothing is initialised."""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass
class World:
    rank: int = 0
    size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")
    initialised: bool = False

    @property
    def main(self) -> bool:
        """Rank 0: the process that writes checkpoints, metrics and the progress bar."""
        return self.rank == 0


def setup() -> World:
    """The world this process is part of; initialises the process group under torchrun."""
    cuda = torch.cuda.is_available()
    if "WORLD_SIZE" not in os.environ or "RANK" not in os.environ:
        return World(device=torch.device("cuda") if cuda else torch.device("cpu"))
    size, rank = int(os.environ["WORLD_SIZE"]), int(os.environ["RANK"])
    local = int(os.environ.get("LOCAL_RANK", "0"))
    device = torch.device("cuda", local) if cuda else torch.device("cpu")
    if cuda:
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if cuda else "gloo")
    return World(rank, size, local, device, True)


def teardown(world: World) -> None:
    if world.initialised and dist.is_initialized():
        dist.destroy_process_group()


def all_sum(values: torch.Tensor, world: World) -> torch.Tensor:
    """``values`` summed over the ranks (itself on one process)."""
    if world.initialised:
        values = values.to(world.device)
        dist.all_reduce(values, op=dist.ReduceOp.SUM)
    return values.cpu()


def any_rank(flags: list[bool], world: World) -> list[bool]:
    """Each flag true on any rank: the ranks agree to stop (a signal, the end of the data)."""
    summed = all_sum(torch.tensor([float(f) for f in flags], dtype=torch.float64), world)
    return [bool(v > 0) for v in summed.tolist()]
