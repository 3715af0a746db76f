"""Kinetics train pipeline throughput: clips/s of ``specs/transforms/kinetics_train.yaml`` (subsample,
scale, crop and flip on uint8 frames; float conversion and normalisation on the 224 crop only)
vs a naive float pipeline (the whole decoded clip converted to float first, then the same steps
in create_video_transform's documented order), and vs ``create_video_transform("train")``
itself, on the same synthetic 64-frame 256x340 uint8 clips, in one run. Prints the ratios;
asserts nothing."""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

import graphspec
import graphspec.transforms as T

SPEC = Path(__file__).resolve().parents[1] / "specs" / "transforms" / "kinetics_train.yaml"
MEAN, STD = (0.45, 0.45, 0.45), (0.225, 0.225, 0.225)


def naive_float_pipeline() -> T.Compose:
    return T.Compose([
        T.ConvertUint8ToFloat(),  # the whole clip, every frame, before anything else
        T.UniformTemporalSubsample(8), T.Normalize(MEAN, STD), T.RandomShortSideScale(256, 320),
        T.RandomCrop(224), T.RandomHorizontalFlip(0.5),
    ])


def best_clips_per_second(pipelines: dict, clips: list[torch.Tensor], repeats: int) -> dict[str, float]:
    """Best-of-``repeats`` clips/s of each pipeline; the pipelines take turns within each repeat,
    so load from other processes affects them alike."""
    best = {name: float("inf") for name in pipelines}
    for _ in range(repeats):
        for name, transform in pipelines.items():
            torch.manual_seed(0)
            start = time.perf_counter()
            for clip in clips:
                transform(clip)
            best[name] = min(best[name], time.perf_counter() - start)
    return {name: len(clips) / seconds for name, seconds in best.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clips", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    g = torch.Generator().manual_seed(0)
    clips = [torch.randint(0, 256, (3, 64, 256, 340), generator=g, dtype=torch.uint8) for _ in range(args.clips)]
    spec = graphspec.build(SPEC)
    rates = best_clips_per_second({
        "ours": lambda clip: spec({"video": clip}),
        "naive": naive_float_pipeline(),
        "factory": T.create_video_transform("train"),
    }, clips, args.repeats)
    ours, naive, factory = rates["ours"], rates["naive"], rates["factory"]
    print(f"clip 3x64x256x340 uint8 -> 3x8x224x224 float32, {args.threads} thread(s), best of {args.repeats}")
    print(f"kinetics_train spec (uint8 first): {ours:7.1f} clips/s")
    print(f"naive float pipeline:              {naive:7.1f} clips/s")
    print(f"create_video_transform('train'):   {factory:7.1f} clips/s")
    print(f"ratio spec / naive float:          {ours / naive:.2f}x")
    print(f"ratio spec / create_video_transform: {ours / factory:.2f}x")


if __name__ == "__main__":
    main()
