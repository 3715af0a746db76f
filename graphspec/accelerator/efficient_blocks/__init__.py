"""The base of every efficient block, and the wrapper that makes any module one."""
from .efficient_block_base import EfficientBlockBase
from .no_op_convert_block import NoOpConvertBlock

__all__ = ["EfficientBlockBase", "NoOpConvertBlock"]
