"""Layers and activations (``pytorchvideo.layers`` compatible)."""

from graphspec.layers.batch_norm import (
    NaiveSyncBatchNorm1d,
    NaiveSyncBatchNorm2d,
    NaiveSyncBatchNorm3d,
)
from graphspec.layers.convolutions import Conv2plus1d, ConvReduce3D, create_conv_2plus1d
from graphspec.layers.fusion import (
    ConcatFusion,
    ReduceFusion,
    TemporalConcatFusion,
    make_fusion_layer,
)
from graphspec.layers.mlp import make_multilayer_perceptron
from graphspec.layers.nonlocal_net import NonLocal, create_nonlocal
from graphspec.layers.positional_encoding import (
    PositionalEncoding,
    SpatioTemporalClsPositionalEncoding,
)
from graphspec.layers.roi_align import RoIAlign, roi_align
from graphspec.layers.squeeze_excitation import (
    SqueezeAndExcitationLayer2D,
    create_audio_2d_squeeze_excitation_block,
)
from graphspec.layers.swish import Swish, SwishFunction

__all__ = [
    "ConcatFusion",
    "Conv2plus1d",
    "ConvReduce3D",
    "NaiveSyncBatchNorm1d",
    "NaiveSyncBatchNorm2d",
    "NaiveSyncBatchNorm3d",
    "NonLocal",
    "PositionalEncoding",
    "ReduceFusion",
    "RoIAlign",
    "SpatioTemporalClsPositionalEncoding",
    "SqueezeAndExcitationLayer2D",
    "Swish",
    "SwishFunction",
    "TemporalConcatFusion",
    "create_audio_2d_squeeze_excitation_block",
    "create_conv_2plus1d",
    "create_nonlocal",
    "make_fusion_layer",
    "make_multilayer_perceptron",
    "roi_align",
]
