"""A synthetic 4-class video task for the training tests: each class is a colour (red, green,
blue, yellow) under per-video brightness and pixel noise; videos are written with PyAV."""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

COLOURS = np.array([[200, 40, 40], [40, 200, 40], [40, 40, 200], [200, 200, 40]], np.float32)
SIZE, FRAMES, FPS = 16, 8, 8


def write_class_video(path: Path, label: int, seed: int) -> Path:
    """``FRAMES`` frames of ``SIZE`` x ``SIZE`` pixels in the colour of ``label``."""
    rng = np.random.default_rng(seed)
    brightness = rng.uniform(0.6, 1.2)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=FPS)
        stream.width = stream.height = SIZE
        stream.pix_fmt = "yuv420p"
        for i in range(FRAMES):
            noise = rng.normal(0, 30, (SIZE, SIZE, 3))
            rgb = np.clip(COLOURS[label] * brightness + noise, 0, 255).astype(np.uint8)
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, FPS)
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    return path


def make_dataset(root: Path, per_class: dict[str, int]) -> dict[str, Path]:
    """``{split: n videos per class}`` -> ``{split: path of its "path label" list}``."""
    lists = {}
    for s, (split, count) in enumerate(per_class.items()):
        folder = root / split
        folder.mkdir(parents=True, exist_ok=True)
        lines = []
        for label in range(len(COLOURS)):
            for i in range(count):
                name = f"{label}_{i}.mp4"
                write_class_video(folder / name, label, seed=1000 * s + 100 * label + i)
                lines.append(f"{name} {label}")
        lists[split] = root / f"{split}.csv"
        lists[split].write_text("\n".join(lines) + "\n")
    return lists


TINY_MODEL = """\
  inputs: {video: [B, 3, 4, 16, 16]}
  nodes:
    conv: {op: Conv3d, in_channels: 3, out_channels: 8, kernel_size: [1, 3, 3], padding: [0, 1, 1], in: video}
    act: {op: ReLU, in: conv}
    pool: {op: AdaptiveAvgPool3d, output_size: 1, in: act}
    flat: {op: Flatten, in: pool}
    head: {op: Linear, in_features: 8, out_features: 4, in: flat}
  outputs: {logits: head}
"""


def data_part(csv: Path, sampler: str = "RandomClipSampler", workers: int = 0, order: str = "RandomSampler") -> str:
    return f"""\
    dataset: {{op: Kinetics, data_path: {csv}, video_path_prefix: {csv.with_suffix('')}, decode_audio: false,
              video_sampler: {order}}}
    clip_sampler: {{op: {sampler}, clip_duration: 0.5}}
    loader: {{num_workers: {workers}}}
    transform:
      input: {{video: {{layout: CTHW, dtype: uint8, shape: [3, T, H, W]}}, label: any}}
      transform:
        - op: ApplyTransformToKey
          key: video
          transform: [{{op: UniformTemporalSubsample, num_samples: 4}}, Div255]
"""


def train_spec(lists: dict[str, Path], *, extra: str = "", epochs: int = 3, batch: int = 8, lr: float = 0.5,
               workers: int = 0) -> str:
    """A train spec text for the tiny model on the synthetic task (``extra`` lines appended)."""
    val = f"  val:\n{data_part(lists['val'], order='SequentialSampler', workers=workers)}" if "val" in lists else ""
    return f"""\
graphspec: 1
kind: train
name: tiny_colours
model:
{TINY_MODEL}num_classes: 4
data:
  train:
{data_part(lists['train'], workers=workers)}{val}batch_size: {batch}
epochs: {epochs}
loss: {{op: cross_entropy}}
optimizer: {{op: SGD, lr: {lr}, momentum: 0.9}}
schedule: {{op: cosine, warmup_steps: 2}}
log_every: 1
{extra}"""
