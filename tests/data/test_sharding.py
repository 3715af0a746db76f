"""Sharding under torch.distributed: two CPU processes on the gloo backend read disjoint videos
that together cover the dataset once per epoch, in DataLoader workers too."""
from __future__ import annotations

import os

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch.utils.data import DataLoader

from graphspec.data import LabeledVideoDataset, make_clip_sampler

from video_fixtures import write_video


def _index_only(sample: dict) -> int:
    return sample["video_index"]  # no tensors through the workers' shared memory


def _rank_main(rank: int, world: int, paths: list, init_file: str, out: str) -> None:
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    try:
        dataset = LabeledVideoDataset(paths, make_clip_sampler("random", 0.5), transform=_index_only,
                                      decode_audio=False, seed=1)
        seen = {}
        for epoch, workers in ((0, 2), (1, 0)):  # shards split further over DataLoader workers, and not
            dataset.set_epoch(epoch)
            loader = DataLoader(dataset, batch_size=None, num_workers=workers)
            seen[epoch] = [int(index) for index in loader]
        gathered = [None] * world
        dist.all_gather_object(gathered, seen)
        if rank == 0:
            torch.save(gathered, out)
    finally:
        dist.destroy_process_group()


def test_two_gloo_ranks_cover_the_videos_once(tmp_path):
    paths = [(str(write_video(tmp_path / f"v{i}.mp4", 8, 10)), {"label": i}) for i in range(7)]
    out = str(tmp_path / "seen.pt")
    mp.spawn(_rank_main, args=(2, paths, str(tmp_path / "init"), out), nprocs=2, join=True)
    gathered = torch.load(out, weights_only=True)
    for epoch in range(2):
        shards = [set(g[epoch]) for g in gathered]
        assert not shards[0] & shards[1]
        assert sorted(gathered[0][epoch] + gathered[1][epoch]) == list(range(7))
    assert gathered[0][0] != gathered[0][1] or gathered[1][0] != gathered[1][1]  # a new order per epoch
