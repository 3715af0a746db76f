from graphspec.losses.soft_target_cross_entropy import SoftTargetCrossEntropyLoss

__all__ = ["SoftTargetCrossEntropyLoss"]
