"""PyTorchVideo-compatible model builders (templates that expand into IR) and containers."""
from . import head, net, resnet, stem, weight_init  # noqa: F401
from . import byol, masked_multistream, memory_bank, simclr  # noqa: F401  (self-supervised, multistream)
from .byol import BYOL
from .memory_bank import MemoryBank
from .simclr import SimCLR
from .csn import create_csn
from .head import (
    ResNetBasicHead, SequencePool, VisionTransformerBasicHead, create_res_basic_head, create_vit_basic_head,
)
from .net import MultiPathWayWithFuse, Net
from .r2plus1d import create_2plus1d_bottleneck_block, create_r2plus1d
from .resnet import (
    BottleneckBlock, ResBlock, ResStage, SeparableBottleneckBlock, create_acoustic_bottleneck_block,
    create_acoustic_resnet,
    create_bottleneck_block, create_res_block, create_res_stage, create_resnet,
)
from .slowfast import create_slowfast, create_slowfast_with_roi_head
from .stem import (
    PatchEmbed, ResNetBasicStem, create_acoustic_res_basic_stem, create_conv_patch_embed, create_res_basic_stem,
)
from .x3d import (
    ProjectedPool, SqueezeExcitation, create_x3d, create_x3d_bottleneck_block, create_x3d_head,
    create_x3d_res_block, create_x3d_res_stage, create_x3d_stem,
)
from . import accelerator  # noqa: F401  (mobile CPU efficient blocks and EfficientX3d)
