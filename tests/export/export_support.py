"""Helpers of the export tests: the tiny X3D of the pass tests, a model built the way
``export_spec`` builds it (same seed), and a tiny on-disk data spec for int8 calibration."""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import torch

import graphspec

ROOT = Path(__file__).resolve().parents[2]
X3D_XS = ROOT / "specs" / "models" / "x3d_xs.yaml"
TINY_X3D = ["inputs.video=[1, 3, 4, 32, 32]", "model.input_crop_size=32", "model.width_factor=0.5",
            "model.depth_factor=0.5", "model.head_dim_out=32", "model.model_num_class=10"]


def seeded_model(spec=X3D_XS, overrides=TINY_X3D, seed: int = 0) -> torch.nn.Module:
    """The torch model ``export_spec(..., seed=seed)`` exports when given no weights."""
    compiled = graphspec.compile(spec, list(overrides))
    torch.manual_seed(seed)
    return compiled.lower().eval()


def write_clip_video(path: Path, frames: int = 12, fps: int = 6, seed: int = 0) -> None:
    """A small 32x32 H.264 video of smooth random colour fields."""
    rng = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 32, 32, "yuv420p"
        stream.time_base = Fraction(1, fps)
        base = rng.integers(0, 255, (4, 4, 3))
        for i in range(frames):
            tile = np.clip(base + 6 * i, 0, 255).astype(np.uint8)
            rgb = np.kron(tile, np.ones((8, 8, 1), np.uint8))
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts = i
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


DATA_SPEC = """\
graphspec: 1
kind: data
name: tiny_clips
description: calibration clips of the export tests, 1 s each, 4 frames of 32x32
dataset:
  op: Kinetics
  data_path: {root}/clips.csv
  video_path_prefix: {root}
  decode_audio: false
  video_sampler: SequentialSampler
clip_sampler: {{op: UniformClipSampler, clip_duration: 1.0}}
transform:
  input: {{video: {{layout: CTHW, dtype: uint8, shape: [3, T, H, W]}}, label: any}}
  transform:
    - {{op: ApplyTransformToKey, key: video, transform: [{{op: UniformTemporalSubsample, num_samples: 4}}, Div255]}}
loader: {{batch_size: 2, num_workers: 0}}
"""


def data_spec(root: Path, videos: int = 4) -> Path:
    """A data spec over ``videos`` 2-second videos: 2 clips each."""
    lines = []
    for i in range(videos):
        write_clip_video(root / f"v{i}.mp4", seed=i)
        lines.append(f"v{i}.mp4 {i % 2}")
    (root / "clips.csv").write_text("\n".join(lines) + "\n")
    spec = root / "tiny_clips.yaml"
    spec.write_text(DATA_SPEC.format(root=root))
    return spec
