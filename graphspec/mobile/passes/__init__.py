"""IR passes: small named rewrites of an IR tree and its weights (``WeightedGraph``), each verified
numerically by its own test, run by the pass manager (``run_passes``). ``MOBILE`` is the mobile
lowering, in an order each pass's ``after`` requirements hold (checked here, at import)."""
from __future__ import annotations

from .base import NodeRewrite, Pass, WeightedGraph
from .conv_reduce import ConvReduceToBranches
from .eval_cleanup import EvalCleanup
from .fold_batch_norm import FoldBatchNorm
from .frames_in_channels import FramesInChannels
from .global_pool import GlobalPoolToMean
from .layout import KeepFoldedLayout
from .manager import PassError, check_passes, run_passes
from .pad_channels import PadChannels
from .pointwise_conv import PointwiseConvToConv2d
from .pool3d import Pool3dTo2d
from .spatial_conv import SpatialConvToConv2d
from .squeeze_excitation import SqueezeExcitationToGemm
from .swish import SwishToSigmoidMul
from .tap_conv import Conv3dToTaps
from .temporal_conv import TemporalConvToConv2d

#: the mobile lowering: clean-up and folding first (on 3-D weights), then the 2-D rewrites (the
#: stem's frames-in-channels form before the general ones),
#: then channel padding for the fast kernels, then the layout pass that removes the reshapes
#: between consecutive 2-D ops; what each pass needs before it is its ``after``, checked below
MOBILE: tuple[Pass, ...] = (
    ConvReduceToBranches(), EvalCleanup(), FoldBatchNorm(), FramesInChannels(), PointwiseConvToConv2d(), SpatialConvToConv2d(), TemporalConvToConv2d(),
    Conv3dToTaps(), GlobalPoolToMean(), Pool3dTo2d(), SqueezeExcitationToGemm(), SwishToSigmoidMul(),
    PadChannels(), KeepFoldedLayout(),
)

check_passes(MOBILE)

__all__ = ["WeightedGraph", "Pass", "NodeRewrite", "PassError", "MOBILE", "check_passes", "run_passes", *(type(p).__name__ for p in MOBILE)]
