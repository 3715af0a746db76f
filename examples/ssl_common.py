"""Shared by the self-supervised examples: synthetic clips, two-view augmentation, a training loop.

The clips are made here (no dataset needed): each shows a coloured square moving across a dark
background, with its own colour, size, start and velocity. Two augmented views of a clip (random
crop, horizontal flip, brightness and noise) should embed alike, views of other clips apart.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Callable

import torch

FRAMES, SIZE, CROP = 4, 32, 28


def synthetic_clips(count: int, generator: torch.Generator) -> torch.Tensor:
    """``count`` clips ``(3, FRAMES, SIZE, SIZE)`` of a moving square."""
    clips = torch.rand(count, 3, 1, 1, 1, generator=generator) * 0.2 * torch.ones(count, 3, FRAMES, SIZE, SIZE)
    for clip in clips:
        colour = torch.rand(3, generator=generator)
        side = int(torch.randint(6, 14, (), generator=generator))
        y, x = torch.randint(0, SIZE - side, (2,), generator=generator).tolist()
        dy, dx = torch.randint(-3, 4, (2,), generator=generator).tolist()
        for t in range(FRAMES):
            top, left = min(max(y + t * dy, 0), SIZE - side), min(max(x + t * dx, 0), SIZE - side)
            clip[:, t, top : top + side, left : left + side] = colour.view(3, 1, 1)
    return clips


def augment(clips: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """One random view of each clip: a CROP x CROP crop, a flip, brightness and noise."""
    views = []
    for clip in clips:
        top, left = torch.randint(0, SIZE - CROP + 1, (2,), generator=generator).tolist()
        view = clip[:, :, top : top + CROP, left : left + CROP]
        if torch.rand((), generator=generator) < 0.5:
            view = view.flip(-1)
        brightness = 0.8 + 0.4 * torch.rand((), generator=generator)
        views.append(view * brightness + 0.05 * torch.randn(view.shape, generator=generator))
    return torch.stack(views)


def train(model: torch.nn.Module, *, steps: int, batch_size: int = 16, clips: int = 64, lr: float = 3e-3,
          seed: int = 0, on_step: Callable[[int], None] | None = None) -> list[float]:
    """``steps`` Adam steps on pairs of views of random batches of synthetic clips; the losses.
    Runs on one thread: for a model this small, splitting each op over threads costs more in
    synchronisation than it gains (several times slower on a busy machine)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _train(model, steps, batch_size, clips, lr, seed, on_step)
    finally:
        torch.set_num_threads(threads)


def _train(model: torch.nn.Module, steps: int, batch_size: int, clips: int, lr: float, seed: int,
           on_step: Callable[[int], None] | None) -> list[float]:
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    data = synthetic_clips(clips, generator)
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr)
    model.train()
    losses = []
    for step in range(steps):
        if on_step is not None:
            on_step(step)
        batch = data[torch.randperm(clips, generator=generator)[:batch_size]]
        loss = model(augment(batch, generator), augment(batch, generator))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def build(spec_name: str, seed: int) -> torch.nn.Module:
    """The model of the example spec ``spec_name`` (beside this file), seeded."""
    import graphspec

    torch.manual_seed(seed)
    return graphspec.build(Path(__file__).resolve().with_name(spec_name))


def run(name: str, main: Callable[[int], list[float]], doc: str) -> None:
    """The command line of an example: ``--steps N``; prints the losses and the verdict."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30)
    started = time.perf_counter()
    losses = main(parser.parse_args().steps)
    for step in range(0, len(losses), 5):
        print(f"step {step:3d}  loss {losses[step]:.4f}")
    first, last = sum(losses[:5]) / 5, sum(losses[-5:]) / 5
    print(f"{name}: mean loss of the first 5 steps {first:.4f}, of the last 5 {last:.4f} "
          f"({time.perf_counter() - started:.1f} s)")
