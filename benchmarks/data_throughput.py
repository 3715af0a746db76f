"""Clip loading throughput, measured side by side in one run (no timing asserts anywhere).

Two sets of 20 synthetic videos (10 s, 320x256, 30 fps, H.264 by PyAV with x264's defaults):
one with a keyframe every 250 frames (FFmpeg's default, as Kinetics-style files have), one with
a keyframe every second. On each set, in one process, clips/s for random 2 s clips -> 8 frames ->
short side 224 -> center crop 224 -> float in [0, 1], by:

* ours: ``LabeledVideoDataset`` with ``frames_per_clip=8`` (seek to the keyframe before the clip,
  decode to the clip's end, skip the non-reference frames nobody needs, convert 8 frames) and
  ``video_dtype="uint8"`` (resize bytes, convert the cropped frames to float);
* drop-in: PyTorchVideo's code with the import renamed: the dataset given
  ``ApplyTransformToKey("video", Compose([UniformTemporalSubsample(8), Div255(), ShortSideScale(224),
  CenterCrop(224)]))`` and nothing else (float32 frames; the leading subsample is pushed into the
  decoder, so only the 8 kept frames are decoded to RGB);
* drop-in, not pushed down: the same with an identity ``Lambda`` first, so the subsample is not
  the video's first step: every frame of the clip converted (what the drop-in route did before);
* ours without skipping: the same decoder with ``skip_unneeded=False`` (what skipping buys);
* ours, decoding only: the clip's 8 frames as uint8, no resize (what the decoder alone does
  against the bound, which has no resize either);
* naive: decode each video from its start to the clip's end converting every decoded frame to
  RGB, then subsample (as PyTorchVideo 0.1.x does);
* decode bound: decode without colour conversion from the keyframe before the clip through the
  clip's last frame, plus converting only the 8 sampled frames (no resize: the bound is decoding);
* bound, cached conversion: the same, converting with one swscale context for the clip's frames
  as our decoder does (PyAV's ``to_ndarray`` builds one per frame): the stricter bound.

Rounds are interleaved so the methods share the machine's noise; medians are reported. Torch runs
one intra-op thread, as in DataLoader workers (FFmpeg's decoder threads are the parallelism; on a
busy machine torch's thread pool costs more than it gives). Then DataLoader 1 worker vs
2 workers for ours and for the drop-in route, with each worker's peak RSS.

    python benchmarks/data_throughput.py [--clips 40] [--rounds 3] [--videos 20]
"""
from __future__ import annotations

import argparse
import math
import os
import random
import resource
import statistics
import tempfile
import time
from pathlib import Path

import av
import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, get_worker_info

from graphspec.data import LabeledVideoDataset, RandomClipSampler
from graphspec.data.encoded_video_pyav import EncodedVideoPyAV
from graphspec.data.utils import secs_to_pts
from graphspec.data.video import UniformFrameFilter
from graphspec.transforms import (ApplyTransformToKey, CenterCrop, Compose, Div255, Lambda, ShortSideScale,
                                  UniformTemporalSubsample)

SECONDS, FPS, WIDTH, HEIGHT, FRAMES, CLIP, SIDE = 10, 30, 320, 256, 8, 2.0, 224


def make_video(path: Path, keyint: int, seed: int) -> None:
    """Smooth texture moving and brightening over time, with a little noise (real-ish motion)."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 255, (HEIGHT // 16 + 2, WIDTH // 16 + 2, 3)).astype(np.float32)
    texture = np.kron(coarse, np.ones((16, 16, 1), np.float32))
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        stream.options = {"g": str(keyint), "keyint_min": str(keyint), "sc_threshold": "0"}
        for i in range(SECONDS * FPS):
            dy, dx = i % 16, (2 * i) % 32
            img = texture[dy:dy + HEIGHT, dx // 2:dx // 2 + WIDTH] * (0.7 + 0.3 * math.sin(i / 20))
            img = np.clip(img + rng.normal(0, 6, img.shape), 0, 255).astype(np.uint8)
            out.mux(stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")))
        out.mux(stream.encode())


def subsample(video: torch.Tensor, num: int = FRAMES) -> torch.Tensor:
    picks = torch.linspace(0, video.shape[1] - 1, num).clamp(0, video.shape[1] - 1).long()
    return video.index_select(1, picks)


def to_model_input(video: torch.Tensor) -> torch.Tensor:
    """(C, T, H, W) 0..255 -> 8 frames, short side 224 (bilinear), center crop 224, float 0..1."""
    video = subsample(video)
    c, t, h, w = video.shape
    scale = SIDE / min(h, w)
    size = (SIDE, round(w * scale)) if h <= w else (round(h * scale), SIDE)
    video = F.interpolate(video.transpose(0, 1), size=size, mode="bilinear", align_corners=False).transpose(0, 1)
    top, left = (video.shape[2] - SIDE) // 2, (video.shape[3] - SIDE) // 2
    return torch.div(video[:, :, top:top + SIDE, left:left + SIDE], 255.0)  # uint8 in: one pass to float


def transform(sample: dict) -> dict:
    sample["video"] = to_model_input(sample["video"])
    return stamp(sample)


def stamp(sample: dict) -> dict:
    """The worker that made the sample and its peak RSS so far."""
    info = get_worker_info()
    sample["worker"] = info.id if info is not None else -1
    sample["max_rss_kib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return sample


def naive(path: str, start: float, end: float) -> torch.Tensor:
    with av.open(path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        first, stop = (secs_to_pts(t, stream.time_base, stream.start_time or 0, "ceil") for t in (start, end))
        frames = []
        for frame in container.decode(stream):
            if frame.pts >= stop:
                break
            rgb = frame.to_ndarray(format="rgb24")  # every decoded frame converted
            if frame.pts >= first:
                frames.append(rgb)
    return to_model_input(torch.from_numpy(np.stack(frames)).permute(3, 0, 1, 2).float())


def decode_bound(path: str, start: float, end: float, cached_conversion: bool = False) -> list:
    with av.open(path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        first, stop = (secs_to_pts(t, stream.time_base, stream.start_time or 0, "ceil") for t in (start, end))
        container.seek(first, stream=stream, backward=True)
        frames = []
        for frame in container.decode(stream):
            if frame.pts >= stop:
                break
            if frame.pts >= first:
                frames.append(frame)
        picks = UniformFrameFilter(FRAMES)(list(range(len(frames))))
        if cached_conversion:  # one swscale context for the clip, as our decoder keeps it
            rgb = av.video.reformatter.VideoReformatter()
            return [rgb.reformat(frames[i], format="rgb24").to_ndarray() for i in picks]
        return [frames[i].to_ndarray(format="rgb24") for i in picks]


def ours_decoder(path: str, start: float, end: float, skip: bool = True, then=to_model_input) -> torch.Tensor:
    video = EncodedVideoPyAV(path, decode_audio=False, skip_unneeded=skip)
    try:
        return then(video.get_clip(start, end, UniformFrameFilter(FRAMES), dtype=torch.uint8)["video"])
    finally:
        video.close()


class FixedClips(RandomClipSampler):
    """Random 2 s clips drawn once up front, so every method reads exactly the same clips."""

    def __init__(self, starts: dict[int, float]) -> None:
        super().__init__(CLIP)
        self.starts = starts

    def __call__(self, last_clip_time, video_duration, annotation):
        start = self.starts[annotation["index"]]
        return super().__call__(0.0, video_duration, annotation)._replace(clip_start_sec=start, clip_end_sec=start + CLIP)


def drop_in_transform(pushed_down: bool = True) -> Compose:
    """The transform as a PyTorchVideo user writes it (here: the same steps as ``to_model_input``)."""
    first = [] if pushed_down else [Lambda(lambda video: video)]  # the subsample is no longer the first step
    video = Compose(first + [UniformTemporalSubsample(FRAMES), Div255(), ShortSideScale(SIDE), CenterCrop(SIDE)])
    return Compose([ApplyTransformToKey("video", video), stamp])


def dataset_for(clips: list[tuple[str, float]], drop_in: Compose | None = None) -> LabeledVideoDataset:
    """Ours (``frames_per_clip``, uint8 frames), or the drop-in route given its transform alone."""
    paths = [(path, {"label": 0, "index": i}) for i, (path, _) in enumerate(clips)]
    sampler = FixedClips({i: start for i, (_, start) in enumerate(clips)})
    if drop_in is not None:
        return LabeledVideoDataset(paths, sampler, torch.utils.data.SequentialSampler, transform=drop_in,
                                   decode_audio=False)
    return LabeledVideoDataset(paths, sampler, torch.utils.data.SequentialSampler, transform=transform,
                               decode_audio=False, frames_per_clip=FRAMES, video_dtype="uint8")


def rate(fn, clips) -> float:
    begin = time.perf_counter()
    fn(clips)
    return len(clips) / (time.perf_counter() - begin)


def run_methods(clips: list[tuple[str, float]], rounds: int) -> dict[str, float]:
    methods = {
        "ours": lambda cs: [s for s in dataset_for(cs)],
        "drop-in": lambda cs: [s for s in dataset_for(cs, drop_in_transform())],
        "drop-in, not pushed down": lambda cs: [s for s in dataset_for(cs, drop_in_transform(pushed_down=False))],
        "ours, no frame skipping": lambda cs: [ours_decoder(p, s, s + CLIP, skip=False) for p, s in cs],
        "ours, decoding only": lambda cs: [ours_decoder(p, s, s + CLIP, then=lambda v: v) for p, s in cs],
        "naive (0.1.x style)": lambda cs: [naive(p, s, s + CLIP) for p, s in cs],
        "decode bound": lambda cs: [decode_bound(p, s, s + CLIP) for p, s in cs],
        "bound, cached conversion": lambda cs: [decode_bound(p, s, s + CLIP, cached_conversion=True) for p, s in cs],
    }
    runs = {name: [] for name in methods}
    for _ in range(rounds):
        for name, fn in methods.items():
            runs[name].append(rate(fn, clips))
    return {name: statistics.median(values) for name, values in runs.items()}


def loader_rate(clips, workers: int, drop_in: bool) -> tuple[float, dict[int, float]]:
    dataset = dataset_for(clips, drop_in_transform() if drop_in else None)
    loader = DataLoader(dataset, batch_size=None, num_workers=workers)
    begin = time.perf_counter()
    peak: dict[int, float] = {}
    count = 0
    for sample in loader:
        count += 1
        peak[sample["worker"]] = max(peak.get(sample["worker"], 0), sample["max_rss_kib"] / 1024)
    return count / (time.perf_counter() - begin), peak


def cpu_name() -> str:
    """The CPU's model name and the cores this process may use (figures mean little without them)."""
    try:
        with open("/proc/cpuinfo") as f:
            name = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "unknown CPU")
    except OSError:
        name = "unknown CPU"
    return f"{name}, {len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count()} cores"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--videos", type=int, default=20)
    parser.add_argument("--clips", type=int, default=40, help="random clips per set and round")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"machine: {cpu_name()}")
    rng = random.Random(0)
    with tempfile.TemporaryDirectory() as tmp:
        for keyint, label in [(250, "keyframe every 250 frames"), (FPS, "keyframe every second")]:
            paths = []
            for v in range(args.videos):
                path = Path(tmp) / f"k{keyint}_{v}.mp4"
                make_video(path, keyint, seed=v)
                paths.append(str(path))
            clips = [(rng.choice(paths), rng.uniform(0, SECONDS - CLIP)) for _ in range(args.clips)]
            for route in (None, drop_in_transform()):
                assert next(iter(dataset_for(clips[:1], route)))["video"].shape == (3, FRAMES, SIDE, SIDE)
            rates = run_methods(clips, args.rounds)
            bound = rates["decode bound"]
            print(f"\n{label}: {args.clips} random {CLIP:g} s clips x {args.rounds} rounds (median clips/s)")
            for name, value in rates.items():
                print(f"  {name:26s} {value:7.1f} clips/s   {value / bound:5.2f}x the bound")
            naive_rate = rates["naive (0.1.x style)"]
            print(f"  ours / naive: {rates['ours'] / naive_rate:.2f}x; drop-in / naive: {rates['drop-in'] / naive_rate:.2f}x; "
                  f"ours / bound with cached conversion: {rates['ours'] / rates['bound, cached conversion']:.2f}x")
            runs = {(route, workers): [] for route in ("ours", "drop-in") for workers in (1, 2)}
            peaks: dict[tuple, dict] = {}
            for _ in range(args.rounds):  # interleaved, as above
                for route, workers in runs:
                    value, peaks[route, workers] = loader_rate(clips, workers, drop_in=route == "drop-in")
                    runs[route, workers].append(value)
            for route in ("ours", "drop-in"):
                one, two = (statistics.median(runs[route, w]) for w in (1, 2))
                print(f"  DataLoader, {route:7s}: 1 worker {one:6.1f} clips/s, 2 workers {two:6.1f} clips/s "
                      f"({two / one:.2f}x); peak RSS per worker: 1 worker {max(peaks[route, 1].values()):.0f} MiB, "
                      f"2 workers {', '.join(f'{v:.0f}' for v in peaks[route, 2].values())} MiB")


if __name__ == "__main__":
    main()
