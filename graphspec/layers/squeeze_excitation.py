"""Squeeze-and-excitation layers (https://arxiv.org/abs/1709.01507).

``SqueezeExcitation`` (fvcore's layout) is shared by X3D (``graphspec.models.x3d`` re-exports it)
and the mobile CPU efficient block that wraps it; it lives here, below both, so that the
efficient block need not import the models package (which imports the efficient blocks back)."""
from __future__ import annotations

from typing import Callable, Iterator, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from graphspec.compiler.infer import Inference, TensorType
from graphspec.compiler.ir import Node
from graphspec.compiler.rules import BUILT, expect_channels, expect_rank
from graphspec.compiler.traits import INTERNAL_PARTS
from graphspec.registry import register


# ---- squeeze-excitation (fvcore's layout: block = [reduce conv, act, expand conv, sigmoid]) -----
# se_infer / se_macs are the op's rules; the mobile CPU block that wraps the layer reuses them
def _reduced_channels(a: dict) -> int:
    reduced = a.get("num_channels_reduced")
    return reduced if reduced is not None else int(round(a["num_channels"] / a.get("reduction_ratio", 2.0)))


def se_infer(node: Node, ctx: Inference, x: TensorType) -> TensorType:
    a = node.args
    expect_rank(x, 5 if a.get("is_3d", False) else 4, "SqueezeExcitation")
    expect_channels(x, a["num_channels"], "num_channels")
    squeezed = x.with_shape((x.shape[0], _reduced_channels(a), *(1,) * (x.rank - 2)))
    ctx.run(a.get("activation"), squeezed)
    return x


def se_macs(a: dict, inputs: tuple, out: TensorType) -> int:
    return 2 * a["num_channels"] * _reduced_channels(a)  # two 1x1 convs on the squeezed vector


def _se_children(node: Node) -> Iterator[tuple[str, Node]]:
    """The activation of ``SqueezeExcitation`` lives at ``block.1`` of the lowered module, so
    that is its path (a stateful activation's keys then match)."""
    if isinstance(node.args.get("activation"), Node):
        yield "block.1", node.args["activation"]


class SqueezeExcitationNode(Node):
    """A node named like ``SqueezeExcitation``'s, whatever its op (a ``Node`` of that op gets the
    same names from the op's ``children`` hook)."""

    def children(self) -> Iterator[tuple[str, Node]]:
        return _se_children(self)


@register(infer=se_infer, state=BUILT, macs=se_macs, children=_se_children, traits=(INTERNAL_PARTS,))
class SqueezeExcitation(nn.Module):
    """Squeeze-excitation as in fvcore: global average, reduce conv, activation (ReLU by default),
    expand conv, sigmoid; the input is rescaled channel-wise by the result."""

    def __init__(self, num_channels: int, num_channels_reduced: Optional[int] = None,
                 reduction_ratio: float = 2.0, is_3d: bool = False,
                 activation: Optional[nn.Module] = None) -> None:
        super().__init__()
        if num_channels_reduced is None:
            num_channels_reduced = int(round(num_channels / reduction_ratio))
        conv = nn.Conv3d if is_3d else nn.Conv2d
        self.is_3d = is_3d
        self.block = nn.Sequential(
            conv(num_channels, num_channels_reduced, kernel_size=1, bias=True),
            nn.ReLU() if activation is None else activation,
            conv(num_channels_reduced, num_channels, kernel_size=1, bias=True),
            nn.Sigmoid(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        squeezed = F.adaptive_avg_pool3d(x, 1) if self.is_3d else F.adaptive_avg_pool2d(x, 1)
        return x * self.block(squeezed)


class SqueezeAndExcitationLayer2D(nn.Module):
    """2D Squeeze and excitation layer, as per https://arxiv.org/pdf/1709.01507.pdf"""

    def __init__(
        self,
        in_planes: int,
        reduction_ratio: Optional[int] = 16,
        reduced_planes: Optional[int] = None,
    ):
        """
        Args:
            in_planes (int): input channel dimension.
            reduction_ratio (int): factor by which ``in_planes`` is reduced to get the
                bottleneck channel dimension.
            reduced_planes (int): bottleneck channel dimension. Only one of
                ``reduction_ratio`` or ``reduced_planes`` should be defined.
        """
        super().__init__()
        assert bool(reduction_ratio) != bool(
            reduced_planes
        ), "Only one of reduction_ratio or reduced_planes should be defined for SE layer"
        if reduced_planes is None:
            reduced_planes = in_planes // reduction_ratio
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.excitation = nn.Sequential(
            nn.Conv2d(in_planes, reduced_planes, kernel_size=1, stride=1, bias=True),
            nn.ReLU(),
            nn.Conv2d(reduced_planes, in_planes, kernel_size=1, stride=1, bias=True),
            nn.Sigmoid(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """
        Args:
            x (tensor): 2D image of format N x C x H x W (or C x H x W).
        """
        return x * self.excitation(self.avgpool(x))


def create_audio_2d_squeeze_excitation_block(
    dim_in: int,
    dim_out: int,
    use_se: bool = False,
    se_reduction_ratio: int = 16,
    branch_fusion: Callable = lambda x, y: x + y,
    # Conv configs.
    conv_a_kernel_size: int = 3,
    conv_a_stride: int = 1,
    conv_a_padding: int = 1,
    conv_b_kernel_size: int = 3,
    conv_b_stride: int = 1,
    conv_b_padding: int = 1,
    # Norm configs.
    norm: Callable = nn.BatchNorm3d,
    norm_eps: float = 1e-5,
    norm_momentum: float = 0.1,
    # Activation configs.
    activation: Callable = nn.ReLU,
) -> nn.Module:
    """
    2-D residual block with squeeze excitation (SE2D). Sums an identity shortcut
    (branch1) and a main block (branch2); when the input and output shapes differ,
    branch1 is a 1x1 convolution followed by a normalization::

        Input -> [Conv2d, Norm, Act, Conv2d, Norm, (SE)] -+-> Act
              -> [identity | Conv2d 1x1, Norm] -----------+

    Note: ``norm`` is called as ``norm(dim_out, norm_eps, norm_momentum)`` on 4-D
    tensors, so 2-D input needs e.g. ``norm=nn.BatchNorm2d``; the default
    ``nn.BatchNorm3d`` is kept as documented by PyTorchVideo.

    Returns:
        (nn.Module): a ``ResBlock``.
    """
    # Imported here: models build on layers, so a module-level import would be
    # circular.
    from graphspec.models.resnet import ResBlock

    def conv_norm(channels_in: int, kernel_size: int, stride: int, padding: int) -> list[nn.Module]:
        return [
            nn.Conv2d(channels_in, dim_out, kernel_size=kernel_size, stride=stride, padding=padding, bias=False),
            norm(dim_out, norm_eps, norm_momentum),
        ]

    branch2 = [
        *conv_norm(dim_in, conv_a_kernel_size, conv_a_stride, conv_a_padding),
        activation() if activation else nn.Identity(),
        *conv_norm(dim_out, conv_b_kernel_size, conv_b_stride, conv_b_padding),
    ]
    if use_se:
        branch2.append(SqueezeAndExcitationLayer2D(dim_out, se_reduction_ratio))

    branch1_conv, branch1_norm = None, None
    stride = conv_a_stride * conv_b_stride
    if stride != 1 or dim_in != dim_out:
        branch1_conv = nn.Conv2d(dim_in, dim_out, kernel_size=1, stride=stride, bias=False)
        branch1_norm = norm(dim_out, norm_eps, norm_momentum)

    return ResBlock(
        branch1_conv=branch1_conv,
        branch1_norm=branch1_norm,
        branch2=nn.Sequential(*branch2),
        activation=activation() if activation else None,
        branch_fusion=branch_fusion,
    )
