"""PyTorchVideo-compatible model builders (templates that expand into IR) and containers."""
from . import head, net, resnet, stem, weight_init  # noqa: F401
from .csn import create_csn
from .head import ResNetBasicHead, create_res_basic_head
from .net import MultiPathWayWithFuse, Net
from .resnet import (
    BottleneckBlock, ResBlock, ResStage, SeparableBottleneckBlock, create_acoustic_bottleneck_block,
    create_bottleneck_block, create_res_block, create_res_stage, create_resnet,
)
from .stem import ResNetBasicStem, create_res_basic_stem
