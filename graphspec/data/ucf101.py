"""UCF101: a ``path label`` file or a ``<class>/<video>.avi`` tree."""
from graphspec.registry import ComponentType, register

from .labeled_video_dataset import dataset_alias
from .traits import UNIFORM_CLIP_DATASET

Ucf101 = dataset_alias("Ucf101", """A ``LabeledVideoDataset`` for UCF101: ``data_path`` is a
``path label`` file or a ``<class>/<video>`` folder tree (see ``labeled_video_dataset``).""")
Ucf101.__module__ = __name__
register(Ucf101, kind="object", arg_types={"clip_sampler": ComponentType}, traits=UNIFORM_CLIP_DATASET)
