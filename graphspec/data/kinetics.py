"""Kinetics: a ``path label`` csv per split (``train.csv``, ``val.csv``, ``test.csv``) or a
``<label>/<video>.mp4`` tree."""
from graphspec.registry import ComponentType, register

from .labeled_video_dataset import dataset_alias
from .traits import UNIFORM_CLIP_DATASET

Kinetics = dataset_alias("Kinetics", """A ``LabeledVideoDataset`` for Kinetics: ``data_path`` is a
``path label`` csv or a ``<label>/<video>`` folder tree (see ``labeled_video_dataset``).""")
Kinetics.__module__ = __name__
register(Kinetics, kind="object", arg_types={"clip_sampler": ComponentType}, traits=UNIFORM_CLIP_DATASET)
