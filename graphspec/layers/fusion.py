"""Fusion layers combining a list of (batch_size, seq_len, feature_dim) tensors."""

from typing import Callable, List

import torch
import torch.nn as nn


def make_fusion_layer(method: str, feature_dims: List[int]) -> nn.Module:
    """
    Args:
        method (str): the fusion method to be constructed. Options:
            'concat', 'temporal_concat', 'max', 'sum', 'prod'.
        feature_dims (List[int]): the feature_dim of each tensor input, in the
            order the tensors are passed to forward(...).
    """
    if method == "concat":
        return ConcatFusion(feature_dims)
    if method == "temporal_concat":
        return TemporalConcatFusion(feature_dims)
    if method == "max":
        return ReduceFusion(feature_dims, lambda x: torch.max(x, dim=0).values)
    if method == "sum":
        return ReduceFusion(feature_dims, lambda x: torch.sum(x, dim=0))
    if method == "prod":
        return ReduceFusion(feature_dims, lambda x: torch.prod(x, dim=0))
    raise NotImplementedError(f"Fusion {method} not available.")


def _verify_feature_dims(feature_dims: List[int]) -> None:
    assert isinstance(feature_dims, list)
    assert all(dim > 0 for dim in feature_dims)


def _equal_feature_dim(feature_dims: List[int]) -> int:
    _verify_feature_dims(feature_dims)
    assert max(feature_dims) == min(feature_dims), "All feature_dims must be equal"
    return feature_dims[0]


class _Fusion(nn.Module):
    """Base of the fusion layers: they all report the last dim of their output."""

    def __init__(self, output_dim: int):
        super().__init__()
        self._output_dim = output_dim

    @property
    def output_dim(self) -> int:
        """Last dimension size of forward(..) tensor output."""
        return self._output_dim


class ConcatFusion(_Fusion):
    """
    Concatenates all inputs by their last dimension. The resulting tensor last dim
    is the sum of the last dimension of all input tensors.
    """

    def __init__(self, feature_dims: List[int]):
        _verify_feature_dims(feature_dims)
        super().__init__(sum(feature_dims))

    def forward(self, input_list: List[torch.Tensor]) -> torch.Tensor:
        """
        Returns:
            Tensor of shape (batch_size, seq_len, sum(feature_dims)).
        """
        return torch.cat(input_list, dim=-1)


class TemporalConcatFusion(_Fusion):
    """
    Concatenates all inputs by their temporal dimension, assumed to be dim=1. All
    feature_dims must be equal.
    """

    def __init__(self, feature_dims: List[int]):
        super().__init__(_equal_feature_dim(feature_dims))

    def forward(self, input_list: List[torch.Tensor]) -> torch.Tensor:
        """
        Returns:
            Tensor of shape (batch_size, sum(seq_len), feature_dim).
        """
        return torch.cat(input_list, dim=1)


class ReduceFusion(_Fusion):
    """
    Generic fusion: stacks the inputs on a new leading dimension and applies
    ``reduce_fn`` to it, e.g. "sum", "max" or "prod" over that dimension. All
    feature_dims must be equal.
    """

    def __init__(
        self, feature_dims: List[int], reduce_fn: Callable[[torch.Tensor], torch.Tensor]
    ):
        super().__init__(_equal_feature_dim(feature_dims))
        self.reduce_fn = reduce_fn

    def forward(self, input_list: List[torch.Tensor]) -> torch.Tensor:
        """
        Returns:
            Tensor of shape (batch_size, seq_len, feature_dim).
        """
        return self.reduce_fn(torch.stack(input_list))
