"""Data preparation, measured side by side in one run (no timing asserts anywhere):

1. videos/s of ``graphspec data prepare`` (Kinetics plan: short side 256, keyframe every second)
   with 1 and with 2 processes, on raw videos like a Kinetics download (480x360, 30 fps, 10 s,
   H.264 with a keyframe every 250 frames, FFmpeg's default);
2. clips/s of random 2 s clip loading (``EncodedVideo.get_clip``, 8 frames sampled, as the data
   benchmark does) on the raw videos against the prepared ones.

    python benchmarks/prepare_throughput.py [--videos 8] [--seconds 10]
"""
from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import torch


def make_raw(path: Path, *, seconds: float, fps: int = 30, size=(480, 360), gop: int = 250, seed: int = 0) -> None:
    """A moving pattern (so the encoder has real motion to code), Kinetics-like GOP."""
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 255, (size[1] + 64, size[0] + 64, 3), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        stream.codec_context.gop_size = gop
        stream.codec_context.options = {"preset": "veryfast", "crf": "23"}
        for i in range(int(seconds * fps)):
            dx, dy = i % 64, (2 * i) % 64
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(base[dy:dy + size[1], dx:dx + size[0]]),
                                               format="rgb24")
            frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))


def clips_per_second(paths: list[Path], clips: int, seed: int = 0) -> float:
    from graphspec.data.encoded_video import EncodedVideo

    rng = random.Random(seed)
    started = time.perf_counter()
    for _ in range(clips):
        path = rng.choice(paths)
        video = EncodedVideo.from_path(str(path), decode_audio=False)
        start = rng.uniform(0, float(video.duration) - 2.0)
        clip = video.get_clip(start, start + 2.0)["video"]
        index = torch.linspace(0, clip.shape[1] - 1, 8).long()
        clip.index_select(1, index)
        video.close()
    return clips / (time.perf_counter() - started)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--videos", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clips", type=int, default=40)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    from graphspec.data import prepare as prep

    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw"
        for i in range(args.videos):
            make_raw(raw / "train" / f"class{i % 2}" / f"video{i}.mp4", seconds=args.seconds, seed=i)
        plan = prep.DATASET_PLANS["Kinetics"]
        rates = {}
        for workers in (1, 2):
            out = Path(tmp) / f"out{workers}"
            started = time.perf_counter()
            report = prep.prepare(plan, raw, out, workers=workers)
            rates[workers] = args.videos / (time.perf_counter() - started)
            assert report.ok, report.summary()
        raw_paths = sorted(raw.rglob("*.mp4"))
        prepared = sorted((Path(tmp) / "out1").rglob("*.mp4"))
        raw_rate, prepared_rate = clips_per_second(raw_paths, args.clips), clips_per_second(prepared, args.clips)
    print(f"preparation ({args.videos} videos of {args.seconds:g} s, 480x360 -> short side 256, keyframe 1 s):")
    print(f"  1 process : {rates[1]:.2f} videos/s")
    print(f"  2 processes: {rates[2]:.2f} videos/s  ({rates[2] / rates[1]:.2f}x)")
    print("random 2 s clips, 8 frames:")
    print(f"  raw (keyframe every 250 frames, 480x360): {raw_rate:.1f} clips/s")
    print(f"  prepared (keyframe every 1 s, 341x256)  : {prepared_rate:.1f} clips/s  "
          f"({prepared_rate / raw_rate:.2f}x)")


if __name__ == "__main__":
    sys.exit(main())
