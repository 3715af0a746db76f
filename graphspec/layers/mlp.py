"""Multi-layer perceptron factory."""

from typing import Callable, List, Optional, Sequence, Tuple

import torch.nn as nn


def make_multilayer_perceptron(
    fully_connected_dims: Sequence[int],
    norm: Optional[Callable] = None,
    mid_activation: Callable = nn.ReLU,
    final_activation: Optional[Callable] = nn.ReLU,
    dropout_rate: float = 0.0,
) -> Tuple[nn.Module, int]:
    """
    Factory for a multi-layer perceptron made of repeated blocks, one per
    consecutive pair of ``fully_connected_dims``::

        Linear (in=fc[i-1], out=fc[i])
            ↓
        Normalization (norm)              (not after the last Linear)
            ↓
        Activation (mid_activation)       (not after the last Linear)

    followed by ``Dropout(p=dropout_rate)`` (only if ``dropout_rate > 0``) and
    ``final_activation`` (if not None).

    Returns:
        (nn.Sequential, int): the perceptron and its output dimension
        ``fully_connected_dims[-1]``.
    """
    dims: List[int] = list(fully_connected_dims)
    assert len(dims) > 1, "fully_connected_dims needs an input and an output size"
    assert all(isinstance(dim, int) and dim > 0 for dim in dims)

    layers = []
    for dim_in, dim_out in zip(dims[:-2], dims[1:-1]):
        layers.append(nn.Linear(dim_in, dim_out))
        if norm is not None:
            layers.append(norm(dim_out))
        layers.append(mid_activation())
    layers.append(nn.Linear(dims[-2], dims[-1]))
    if dropout_rate > 0:
        layers.append(nn.Dropout(p=dropout_rate))
    if final_activation is not None:
        layers.append(final_activation())
    return nn.Sequential(*layers), dims[-1]
