"""Mobile (XNNPACK-friendly) modules: what the mobile lowering passes (``graphspec.mobile.passes``)
rewrite 3-D convolutions, pools, squeeze-excitation and Swish into. None of them runs a 5-D
convolution or pooling.

A video tensor travels in one of two layouts, told apart by its rank:

* ``ncthw``  -- the usual ``[N, C, T, H, W]``;
* ``folded`` -- time folded into the batch, ``[N*T, C, H, W]``, so that 2-D kernels run on
  every frame.

Each module converts its input to the layout it computes in (``frames``, the input's frame
count, makes the fold reversible) and returns ``out_layout``; ``None`` means its natural layout.
The rewrite passes set ``out_layout="ncthw"`` (each rewrite is a drop-in replacement); the layout
pass then lets consecutive 2-D ops keep the folded layout instead of reshaping back and forth.
"""
from __future__ import annotations

from typing import List, Literal, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from graphspec.compiler.rules import expect_channels, expect_rank, identity_infer, window_out
from graphspec.compiler.traits import ELEMENTWISE_OP, INTERNAL_PARTS, KEEPS_LAYOUT
from graphspec.layers.swish import SigmoidMul  # noqa: F401  (the Swish rewrite's module, defined with Swish)
from graphspec.registry import register

Layout = Literal["ncthw", "folded"]
Pair = Tuple[int, int]
Triple = Tuple[int, int, int]


# ---- static shape rules: the logical [N, C, T, H, W] shapes of the 3-D ops they replace --------
def _conv_shape(node, x, kernel, stride, padding, dilation):
    a = node.args
    expect_rank(x, 5, node.op)
    expect_channels(x, a["in_channels"], "in_channels")
    dims = tuple(window_out(x.shape[2 + i], kernel[i], stride[i], padding[i], dilation[i]) for i in range(3))
    return x.with_shape((x.shape[0], a["out_channels"], *dims))


def _folded_conv_infer(node, ctx, x):
    a = node.args
    return _conv_shape(node, x, (1, *a.get("kernel_size", (1, 1))), (1, *a.get("stride", (1, 1))),
                       (0, *a.get("padding", (0, 0))), (1, *a.get("dilation", (1, 1))))


def _temporal_conv_infer(node, ctx, x):
    a = node.args
    first = lambda key, default: (tuple(a.get(key, default))[0],)  # noqa: E731
    return _conv_shape(node, x, first("kernel_size", (1, 1)) + (1, 1), first("stride", (1, 1)) + (1, 1),
                       first("padding", (0, 0)) + (0, 0), first("dilation", (1, 1)) + (1, 1))


def _tap_conv_infer(node, ctx, x):
    a = node.args
    return _conv_shape(node, x, a.get("kernel_size", (3, 3, 3)), a.get("stride", (1, 1, 1)),
                       a.get("padding", (0, 0, 0)), a.get("dilation", (1, 1, 1)))


def _pool_infer(node, ctx, x):
    a = node.args
    expect_rank(x, 5, node.op)
    dims = tuple(window_out(x.shape[2 + i], a["kernel_size"][i], a["stride"][i], a.get("padding", (0, 0, 0))[i],
                            1, a.get("ceil_mode", False)) for i in range(3))
    return x.with_shape((*x.shape[:2], *dims))


def _global_pool_infer(node, ctx, x):
    expect_rank(x, 5, node.op)
    return x.with_shape((*x.shape[:2], 1, 1, 1))


def _branches_infer(node, ctx, x):
    outs = [ctx.run(conv, x) for conv in node.args["convs"]]
    if node.args.get("reduction_method", "sum") == "cat":
        return outs[0].with_shape((outs[0].shape[0], sum(o.shape[1] for o in outs), *outs[0].shape[2:]))
    return outs[0]


def to_layout(x: torch.Tensor, layout: Optional[str], frames: int) -> torch.Tensor:
    """``x`` (either layout, by rank) in ``layout``; ``frames`` is its frame count."""
    if layout is None or (layout == "folded") == (x.dim() == 4):
        return x
    if layout == "folded":
        n, c, t, h, w = x.shape
        return x.reshape(n, c, h, w) if t == 1 else x.transpose(1, 2).reshape(n * t, c, h, w)
    nt, c, h, w = x.shape
    if frames == 1:
        return x.reshape(nt, c, 1, h, w)
    return x.reshape(nt // frames, frames, c, h, w).transpose(1, 2)


def per_frame_scale(scale: torch.Tensor, x: torch.Tensor, frames: int) -> torch.Tensor:
    """A per-clip, per-channel ``scale`` (``[N, C]``) shaped to multiply ``x`` in its layout. Only
    the small scale is reshaped (repeated for each frame when folded): a view of ``x`` splitting
    its batch axis would cost XNNPACK two channels-last transposes of the whole tensor. The repeat
    concatenates each clip's row ``frames`` times: ExecuTorch's XNNPACK delegate takes that, while
    an ``expand`` (or a concatenation along the channels) stays outside and splits the delegate."""
    n, c = scale.shape
    if x.dim() == 5:
        return scale.reshape(n, c, 1, 1, 1)
    if n == 1:
        return scale.reshape(1, c, 1, 1)  # broadcast over the frames
    rows: List[torch.Tensor] = []
    for i in range(n):
        rows += [scale[i:i + 1]] * frames
    return torch.cat(rows, 0).reshape(n * frames, c, 1, 1)


def _mean_hw(x: torch.Tensor) -> torch.Tensor:
    """The mean over (H, W) of a rank-4 tensor, as a global average pool: XNNPACK's global
    average pooling, and onnxruntime's GlobalAveragePool runs in its blocked and int8 channels-last
    layouts, where a ReduceMean makes it transpose the whole tensor back."""
    return F.adaptive_avg_pool2d(x, 1)


def clip_channel_mean(x: torch.Tensor, frames: int) -> torch.Tensor:
    """Mean over time and space per clip and channel, ``[N, C]``, as rank-4 reductions only."""
    if x.dim() == 5:
        n, c, t, h, w = x.shape
        return _mean_hw(x.reshape(n, c, t, h * w)).reshape(n, c)
    per_frame = _mean_hw(x)  # [N*T, C, 1, 1]
    if frames == 1:
        return per_frame.reshape(x.shape[0], -1)
    n, c = x.shape[0] // frames, x.shape[1]
    # the frames' mean as a (frames x 1) average pool of the contiguous view [N, 1, T, C]: a
    # transposed view would be an as_strided copy that ExecuTorch runs outside the XNNPACK delegate
    return F.avg_pool2d(per_frame.reshape(n, 1, frames, c), (frames, 1)).reshape(n, c)


class _VideoConv2d(nn.Conv2d):
    """A Conv2d standing for a Conv3d: the clip's frame count and the layout its output goes out in."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Pair = (1, 1), stride: Pair = (1, 1),
                 padding: Pair = (0, 0), dilation: Pair = (1, 1), groups: int = 1, bias: bool = True,
                 frames: int = 1, out_layout: Optional[Layout] = "ncthw") -> None:
        super().__init__(in_channels, out_channels, tuple(kernel_size), tuple(stride), tuple(padding),
                         tuple(dilation), groups, bias)
        self.frames, self.out_layout = frames, out_layout


@register(infer=_folded_conv_infer)
class FoldedConv2d(_VideoConv2d):
    """A Conv3d with a ``1 x kh x kw`` kernel as a Conv2d on every frame (time in the batch). A
    pointwise stride-1 one runs in the layout it gets (``[N, C, T*H, W]`` is a free view)."""

    @property
    def pointwise(self) -> bool:
        return self.kernel_size == (1, 1) and self.stride == (1, 1) and self.padding == (0, 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.pointwise and x.dim() == 5:
            n, c, t, h, w = x.shape
            y = self._conv_forward(x.reshape(n, c, t * h, w), self.weight, self.bias).reshape(n, -1, t, h, w)
        else:
            y = self._conv_forward(to_layout(x, "folded", self.frames), self.weight, self.bias)
        return to_layout(y, self.out_layout, self.frames)


@register(infer=_temporal_conv_infer)
class TemporalConv2d(_VideoConv2d):
    """A Conv3d with a ``kt x 1 x 1`` kernel as a Conv2d over ``(T, H*W)`` of the 5-D tensor
    viewed as ``[N, C, T, H*W]``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, t, h, w = to_layout(x, "ncthw", self.frames).shape
        y = self._conv_forward(to_layout(x, "ncthw", self.frames).reshape(n, c, t, h * w), self.weight, self.bias)
        frames_out = y.shape[2]
        layout = "folded" if self.out_layout is None else self.out_layout  # what the 2-D ops after it want
        return to_layout(y.reshape(n, -1, frames_out, h, w), layout, frames_out)


def tap_segments(frames: int, kernel: int, stride: int, padding: int, dilation: int) -> list:
    """Output frames grouped into runs ``(first, count, [(tap, first input frame), ...])`` that
    read the same taps: a tap whose input frame falls in the zero padding is left out."""
    frames_out = window_out(frames, kernel, stride, padding, dilation)
    runs: list = []
    for t in range(frames_out):
        valid = tuple(k for k in range(kernel) if 0 <= t * stride + k * dilation - padding < frames)
        if not valid:
            raise ValueError(f"output frame {t} reads only temporal padding")
        if runs and runs[-1][2] == valid:
            runs[-1][1] += 1
        else:
            runs.append([t, 1, valid])
    return [(first, count, [(k, first * stride + k * dilation - padding) for k in valid])
            for first, count, valid in runs]


def bias_tap(segments: list, kernel: int) -> int | None:
    """A tap every output frame reads: the bias rides on it (no extra Add); None if none does."""
    always = [k for k in range(kernel) if all(any(k == j for j, _ in terms) for _, _, terms in segments)]
    return always[len(always) // 2] if always else None


def aligned_tap(segments: list, frames: int, frames_out: int, stride: int) -> int | None:
    """A tap that reads input frame ``t`` for every output frame ``t`` (X3D's centre tap), when
    every output frame also reads another tap: the others are then summed onto it."""
    if stride != 1 or frames != frames_out:
        return None
    for k in sorted({k for _, _, terms in segments for k, _ in terms}):
        if all((k, first) in terms and len(terms) > 1 for first, _, terms in segments):
            return k
    return None


@register(infer=_tap_conv_infer)
class TemporalTapConv(nn.Module):
    """A general ``kt x kh x kw`` Conv3d as the sum of ``kt`` Conv2d taps on the folded tensor:
    tap ``k`` convolves every frame with the kernel's slice ``k`` and its result is shifted in
    time. Zero padding in time is never materialized: a tap is left out of the output frames
    whose input frame would be padding, so no Pad op appears. Depthwise stays depthwise."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Triple = (3, 3, 3),
                 stride: Triple = (1, 1, 1), padding: Triple = (0, 0, 0), dilation: Triple = (1, 1, 1),
                 groups: int = 1, bias: bool = True, frames: int = 1, out_layout: Optional[Layout] = "ncthw") -> None:
        super().__init__()
        kt, kh, kw = kernel_size
        self.frames, self.out_layout, self.stride_t = frames, out_layout, stride[0]
        self.segments = tap_segments(frames, kt, stride[0], padding[0], dilation[0])
        self.frames_out = window_out(frames, kt, stride[0], padding[0], dilation[0])
        self.bias_tap = bias_tap(self.segments, kt) if bias else None
        self.taps = nn.ModuleList(
            nn.Conv2d(in_channels, out_channels, (kh, kw), tuple(stride[1:]), tuple(padding[1:]),
                      tuple(dilation[1:]), groups, bias=k == self.bias_tap) for k in range(kt))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias and self.bias_tap is None else None
        self.aligned_tap = aligned_tap(self.segments, frames, self.frames_out, stride[0])
        #: the taps some output frame reads (one frame and a 3-tap kernel: the centre one only)
        self.read_taps: List[int] = sorted({k for _, _, terms in self.segments for k, _ in terms})

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = to_layout(x, "folded", self.frames)
        ys: List[Optional[torch.Tensor]] = []
        for k, tap in enumerate(self.taps):
            ys.append(tap(x) if k in self.read_taps else None)
        clips, aligned = x.shape[0] // self.frames, self.aligned_tap
        if aligned is None:
            y = self._assemble(ys, clips, -1)
        else:  # the other taps' shifted pieces, added onto the aligned tap (an Add onnxruntime fuses into its Conv)
            y = _present(ys[aligned]) + self._assemble(ys, clips, aligned)
        bias = self.bias
        if bias is not None:
            y = y + bias.reshape(1, -1, 1, 1)
        return to_layout(y, self.out_layout, self.frames_out)

    def _assemble(self, ys: List[Optional[torch.Tensor]], clips: int, skip: int) -> torch.Tensor:
        """The output frames, clip by clip and segment by segment, as sums of the taps' slices
        (tap ``skip`` left out). The slices are of the 4-D batch axis: XNNPACK runs them in its
        channels-last layout, where a 5-D view ``[N, T, C, H, W]`` costs two transposes a tap."""
        st, whole = self.stride_t, clips == 1  # one clip: a tap may cover it all
        parts: List[torch.Tensor] = []
        for clip in range(clips):
            base = clip * self.frames
            for _, count, terms in self.segments:
                total: Optional[torch.Tensor] = None
                for k, s in terms:
                    if k == skip:
                        continue
                    y = _present(ys[k])
                    piece = y if whole and count == self.frames and st == 1 and s == 0 else \
                        y[base + s:base + s + (count - 1) * st + 1:st]
                    total = piece if total is None else total + piece
                parts.append(_present(total))
        return torch.cat(parts, 0) if len(parts) > 1 else parts[0]


def _present(x: Optional[torch.Tensor]) -> torch.Tensor:
    """``x``, known to be computed (TorchScript's refinement of an Optional)."""
    assert x is not None
    return x


@register(infer=_tap_conv_infer)
class FramesInChannelsConv2d(nn.Conv2d):
    """A ``kt x kh x kw`` Conv3d on a clip with few frames as one Conv2d with the frames in its
    channels: the clip ``[N, C, T, H, W]`` viewed as ``[N, C*T, H, W]`` (no copy) and output
    channels ordered (frame, channel), so the result viewed as ``[N*T', C', H', W']`` is the folded
    layout (no copy either). Its weight holds, for each output frame, the kernel's temporal slices
    at the input frames they read (zero where they read none: that is the temporal zero padding).
    It computes ``T / kt`` times the 3-D convolution's MACs; for X3D's stem (3 input channels, 4
    frames) that buys a well-shaped GEMM and no layout transposes around it.
    ``in_channels``/``out_channels`` are per frame (the 3-D convolution's)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Triple = (1, 1, 1), stride: Triple = (1, 1, 1),
                 padding: Triple = (0, 0, 0), dilation: Triple = (1, 1, 1), bias: bool = True, frames: int = 1,
                 out_layout: Optional[Layout] = "ncthw") -> None:
        self.frames_out = window_out(frames, kernel_size[0], stride[0], padding[0], dilation[0])
        super().__init__(in_channels * frames, out_channels * self.frames_out, tuple(kernel_size[1:]), tuple(stride[1:]),
                         tuple(padding[1:]), tuple(dilation[1:]), 1, bias)
        self.frames, self.out_layout = frames, out_layout

    @staticmethod
    def frame_weight(weight: torch.Tensor, frames: int, stride: int, padding: int, dilation: int) -> torch.Tensor:
        """The Conv2d weight ``[T' * O, I * T, kh, kw]`` of a Conv3d weight ``[O, I, kt, kh, kw]``."""
        out_c, in_c, kt, kh, kw = weight.shape
        frames_out = window_out(frames, kt, stride, padding, dilation)
        dense = weight.new_zeros(frames_out, out_c, in_c, frames, kh, kw)
        for t in range(frames_out):
            for k in range(kt):
                s = t * stride + k * dilation - padding
                if 0 <= s < frames:
                    dense[t, :, :, s] = weight[:, :, k]
        return dense.reshape(frames_out * out_c, in_c * frames, kh, kw)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, t, h, w = to_layout(x, "ncthw", self.frames).shape
        y = self._conv_forward(to_layout(x, "ncthw", self.frames).reshape(n, c * t, h, w), self.weight, self.bias)
        folded = y.reshape(n * self.frames_out, -1, y.shape[2], y.shape[3])
        return to_layout(folded, "folded" if self.out_layout is None else self.out_layout, self.frames_out)


@register(infer=_pool_infer)
class FactorizedPool(nn.Module):
    """MaxPool3d / AvgPool3d as a 2-D pool over (H, W) on the folded tensor followed by a 2-D pool
    over (T, H*W): exact, since both reductions are separable over a box window (the divisor of
    an average is the product of the per-axis counts, with or without counting padding)."""

    def __init__(self, mode: Literal["max", "avg"], kernel_size: Triple, stride: Triple, padding: Triple = (0, 0, 0),
                 ceil_mode: bool = False, count_include_pad: bool = True, frames: int = 1,
                 out_layout: Optional[Layout] = "ncthw") -> None:
        super().__init__()
        self.mode, self.frames, self.out_layout = mode, frames, out_layout
        self.kernel_size, self.stride, self.padding = tuple(kernel_size), tuple(stride), tuple(padding)
        self.ceil_mode, self.count_include_pad = ceil_mode, count_include_pad
        self.spatial = (self.kernel_size[1:], self.stride[1:], self.padding[1:]) != ((1, 1), (1, 1), (0, 0))
        self.temporal = (self.kernel_size[0], self.stride[0], self.padding[0]) != (1, 1, 0)
        self.frames_out = window_out(frames, self.kernel_size[0], self.stride[0], self.padding[0],
                                     ceil=ceil_mode) if self.temporal else frames

    def _pool(self, x: torch.Tensor, kernel: Pair, stride: Pair, padding: Pair) -> torch.Tensor:
        if self.mode == "max":
            return F.max_pool2d(x, kernel, stride, padding, ceil_mode=self.ceil_mode)
        return F.avg_pool2d(x, kernel, stride, padding, ceil_mode=self.ceil_mode,
                            count_include_pad=self.count_include_pad)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        (kt, kh, kw), (st, sh, sw), (pt, ph, pw) = self.kernel_size, self.stride, self.padding
        if self.spatial:
            x = self._pool(to_layout(x, "folded", self.frames), (kh, kw), (sh, sw), (ph, pw))
        if self.temporal:
            n, c, t, h, w = to_layout(x, "ncthw", self.frames).shape
            x = self._pool(to_layout(x, "ncthw", self.frames).reshape(n, c, t, h * w), (kt, 1), (st, 1), (pt, 0))
            x = x.reshape(n, c, -1, h, w)
        return to_layout(x, self.out_layout, self.frames_out)


@register(infer=_global_pool_infer)
class GlobalAvgPool(nn.Module):
    """Global average pooling over (T, H, W) as rank-4 mean reductions; the result is
    ``[N, C, 1, 1, 1]`` (or ``[N, C, 1, 1]`` folded, the same memory)."""

    def __init__(self, frames: int = 1, out_layout: Optional[Layout] = "ncthw") -> None:
        super().__init__()
        self.frames, self.out_layout = frames, out_layout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = clip_channel_mean(x, self.frames)
        n, c = y.shape
        return to_layout(y.reshape(n, c, 1, 1, 1), self.out_layout, 1)


@register(infer=identity_infer, traits=(KEEPS_LAYOUT, INTERNAL_PARTS))
class SqueezeExcitationGemm(nn.Module):
    """Squeeze-excitation with its 1x1x1 convolutions as fully connected layers (Gemm) on the
    per-clip channel means; works in either layout. ``block`` keeps fvcore's slot numbers."""

    def __init__(self, num_channels: int, num_channels_reduced: int, frames: int = 1,
                 activation: Optional[nn.Module] = None) -> None:
        super().__init__()
        self.frames = frames
        self.block = nn.Sequential(
            nn.Linear(num_channels, num_channels_reduced),
            nn.ReLU() if activation is None else activation,
            nn.Linear(num_channels_reduced, num_channels),
            nn.Sigmoid(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * per_frame_scale(self.block(clip_channel_mean(x, self.frames)), x, self.frames)


@register(infer=identity_infer, traits=ELEMENTWISE_OP)
class ChannelAffine(nn.Module):
    """An eval-mode batch norm that follows no convolution, as a per-channel scale and shift
    (Mul + Add, no BatchNormalization op); works in either layout."""

    def __init__(self, num_features: int) -> None:
        super().__init__()
        self.register_buffer("scale", torch.ones(num_features))
        self.register_buffer("shift", torch.zeros(num_features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = (1, -1) + (1,) * (x.dim() - 2)
        return x * self.scale.reshape(shape) + self.shift.reshape(shape)


@register(infer=_branches_infer)
class ConvBranches(nn.Module):
    """``ConvReduce3D`` with its convolutions as IR children (so the conv rewrites reach them):
    the same ``convs.i`` modules, their outputs summed or concatenated on channels."""

    def __init__(self, convs: List[nn.Module], reduction_method: Literal["sum", "cat"] = "sum") -> None:
        super().__init__()
        self.convs = nn.ModuleList(convs)
        self.reduction_method = reduction_method

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outputs = [conv(x) for conv in self.convs]
        if self.reduction_method == "cat":
            return torch.cat(outputs, dim=1)
        total = outputs[0]
        for y in outputs[1:]:
            total = total + y
        return total
