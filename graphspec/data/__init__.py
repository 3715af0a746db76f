"""Datasets, decoders and clip samplers (``pytorchvideo.data``)."""
from .clip_sampling import (  # noqa: F401
    ClipInfo, ClipInfoList, ClipSampler, ConstantClipsPerVideoSampler, RandomClipSampler, RandomMultiClipSampler,
    RandomMultiClipSamplerTruncateFromStart, UniformClipSampler, UniformClipSamplerTruncateFromStart,
    make_clip_sampler,
)
from .ava import Ava  # noqa: F401
from .charades import Charades  # noqa: F401
from .domsev import DomsevFrameDataset, DomsevVideoDataset  # noqa: F401
from .encoded_video import EncodedVideo  # noqa: F401
from .encoded_video_pyav import EncodedVideoPyAV  # noqa: F401  (the default decoder, "pyav")
from .frame_video import FrameVideo  # noqa: F401
from .epic_kitchen_forecasting import EpicKitchenForecasting  # noqa: F401
from .epic_kitchen_recognition import EpicKitchenRecognition  # noqa: F401
from .hmdb51 import Hmdb51  # noqa: F401
from .kinetics import Kinetics  # noqa: F401
from .labeled_video_dataset import LabeledVideoDataset, labeled_video_dataset  # noqa: F401
from .ssv2 import SSv2  # noqa: F401
from .ucf101 import Ucf101  # noqa: F401
from .errors import BadVideoError  # noqa: F401
