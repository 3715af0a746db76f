"""BYOL: Bootstrap Your Own Latent (https://arxiv.org/pdf/2006.07733.pdf).

An online network (backbone, projector, predictor) learns to predict the projection a momentum
copy of its backbone and projector (the target network) gives for the other view. The target is
updated as an exponential moving average of the online weights, never by gradients.
"""
from __future__ import annotations

import copy
import math
from functools import partial
from typing import Annotated, Any, Callable, Iterator, Optional, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from pydantic import Field, PositiveInt

from graphspec.compiler.component import as_component
from graphspec.compiler.infer import Inference, ShapeError, TensorType
from graphspec.compiler.ir import Node
from graphspec.compiler.lower_torch import lower
from graphspec.registry import find, get_or_raise_at, register

from .simclr import SCALAR, encode_infer, node_macs


def cosine_momentum(base_mmt: float, step: int, total_steps: int) -> float:
    """The BYOL paper's momentum annealing: ``1 - (1 - base_mmt) * (cos(pi * step / total) + 1) / 2``,
    rising from ``base_mmt`` at step 0 to 1 at ``total_steps``; pass it to ``BYOL.update_mmt``."""
    if total_steps <= 0 or not 0 <= step <= total_steps:
        raise ValueError(f"need 0 <= step <= total_steps and total_steps > 0, got {step} of {total_steps}")
    return 1 - (1 - base_mmt) * (math.cos(math.pi * step / total_steps) + 1) / 2


def default_predictor(feature_dim: int, predictor_inner: int, norm: Callable) -> nn.Sequential:
    """Linear (no bias) -> norm -> ReLU -> Linear: BYOL's predictor MLP."""
    return nn.Sequential(
        nn.Linear(feature_dim, predictor_inner, bias=False),
        norm(predictor_inner),
        nn.ReLU(inplace=True),
        nn.Linear(predictor_inner, feature_dim, bias=True),
    )


class BYOL(nn.Module):
    """Bootstrap Your Own Latent.

    ``backbone`` (with ``projector`` after it, when given, as ``backbone = Sequential(backbone,
    projector)``) maps a view to a ``feature_dim`` projection; ``predictor`` (default: an MLP of
    width ``predictor_inner`` with ``norm``) predicts the target's projection; ``backbone_mmt`` is
    the momentum copy, updated with ratio ``mmt`` at every forward in training mode.
    ``forward(x1, x2)`` returns the symmetric loss ``sim_loss(p1, z2) + sim_loss(p2, z1)``."""

    def __init__(self, backbone: nn.Module, projector: Optional[nn.Module] = None,
                 predictor: Optional[nn.Module] = None, feature_dim: int = 2048, predictor_inner: int = 4096,
                 mmt: float = 0.99, norm: Callable = nn.SyncBatchNorm) -> None:
        super().__init__()
        self.update_mmt(mmt)
        self.feature_dim = feature_dim
        self.backbone = nn.Sequential(backbone, projector) if projector is not None else backbone
        self.backbone_mmt = copy.deepcopy(self.backbone)
        for p in self.backbone_mmt.parameters():
            p.requires_grad = False
        self.predictor = predictor if predictor is not None else default_predictor(feature_dim, predictor_inner, norm)

    def sim_loss(self, q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
        """``-mean_n(q_n . k_n)`` over the N rows of ``q`` and ``k`` (both ``N x C``), as PyTorchVideo's:
        the inputs are used as given. ``forward`` passes normalized ones, for which this is
        ``-cos(q, k) = (2 - 2 cos) / 2 - 1``: the paper's loss halved and shifted, the same gradients
        up to the factor."""
        return -(q * k).sum(dim=1).mean()

    def update_mmt(self, mmt: float) -> None:
        """Set the momentum (for annealing, e.g. with ``cosine_momentum``)."""
        if not 0 <= mmt <= 1:
            raise ValueError(f"mmt must be between 0 and 1, got {mmt}")
        self.mmt = mmt

    def get_mmt(self) -> float:
        return self.mmt

    @torch.no_grad()
    def momentum_update(self) -> None:
        """``target = mmt * target + (1 - mmt) * online`` for every parameter."""
        for target, online in zip(self.backbone_mmt.parameters(), self.backbone.parameters()):
            target.mul_(self.mmt).add_(online.detach(), alpha=1 - self.mmt)

    def forward_backbone_mmt(self, x: torch.Tensor) -> torch.Tensor:
        """The target network's normalized projection of ``x`` (no gradients)."""
        with torch.no_grad():
            return F.normalize(self.backbone_mmt(x), dim=1)

    def forward_backbone(self, x: torch.Tensor) -> torch.Tensor:
        """The online network's normalized prediction for ``x``."""
        return F.normalize(self.predictor(self.backbone(x)), dim=1)

    def forward(self, x1: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
        if self.training:
            self.momentum_update()
        p1, p2 = self.forward_backbone(x1), self.forward_backbone(x2)
        z1, z2 = self.forward_backbone_mmt(x1), self.forward_backbone_mmt(x2)
        return self.sim_loss(p1, z2) + self.sim_loss(p2, z1)


# ---- the op: static form ----------------------------------------------------------------------
# The IR names BYOL's children as the module does (``backbone.0`` and ``backbone.1`` when a
# projector is given) and holds a static copy of the target network (``backbone_mmt``) and the
# default predictor (when none is given), so paths, state and MACs match the lowered module.
def _online(args: dict) -> list[Node]:
    return [n for n in (args["backbone"], args.get("projector")) if n is not None]


def _momentum_copy(node: Node) -> list[Node]:
    """The target network's IR: a copy of the online nodes, made again when they are replaced."""
    online = _online(node.args)
    key = tuple(id(n) for n in online)
    cached = node.meta.get("momentum_copy")
    if cached is None or cached[0] != key:
        cached = node.meta["momentum_copy"] = (key, copy.deepcopy(online))
    return cached[1]


def _predictor(node: Node) -> Node:
    if node.args.get("predictor") is not None:
        return node.args["predictor"]
    if "default_predictor" not in node.meta:
        node.meta["default_predictor"] = _default_predictor_node(node.args, node.source)
    return node.meta["default_predictor"]


def _default_predictor_node(args: dict, source: tuple) -> Node:
    inner, dim, norm = args["predictor_inner"], args["feature_dim"], args["norm"]
    if isinstance(norm, str):
        get_or_raise_at(norm, tuple(source) + ("norm",))  # an unknown name is reported at the key itself
        norm = {"op": norm}
    norm = {**norm, "num_features": inner} if isinstance(norm, dict) else partial(norm, num_features=inner)
    modules = [  # the norm is the only part a spec sets: errors in it point at its key
        {"op": "Linear", "in_features": dim, "out_features": inner, "bias": False},
        as_component(norm, tuple(source) + ("norm",)),
        {"op": "ReLU", "inplace": True},
        {"op": "Linear", "in_features": inner, "out_features": dim},
    ]
    return as_component({"op": "Sequential", "modules": modules}, tuple(source))()


def _byol_children(node: Node) -> Iterator[tuple[str, Node]]:
    for prefix, nodes in (("backbone", _online(node.args)), ("backbone_mmt", _momentum_copy(node))):
        if len(nodes) == 1:
            yield prefix, nodes[0]
        else:
            yield from ((f"{prefix}.{i}", n) for i, n in enumerate(nodes))
    yield "predictor", _predictor(node)


def _byol_infer(node: Node, ctx: Inference, x1: Any, x2: Any) -> TensorType:
    projection = encode_infer(ctx, x1, x2, *_online(node.args))
    dim = node.args["feature_dim"]
    if projection.shape[1] != dim:
        raise ShapeError(f"the backbone{' and projector' * bool(node.args.get('projector'))} give "
                         f"{projection.shape[1]} features, feature_dim is {dim}", "feature_dim")
    for target in _momentum_copy(node):
        x1 = ctx.run(target, x1)
    prediction = ctx.run(_predictor(node), projection)
    if prediction != projection:
        raise ShapeError(f"the predictor maps {projection} to {prediction}; it must keep the shape", "predictor")
    return SCALAR


#: MAC counts of default predictors, each with what built it (feature_dim, predictor_inner, norm,
#: the norm's op): compared by ``==`` (a norm may be a dict), the most recent last
_DEFAULT_PREDICTOR_MACS: list[tuple[tuple, int | None]] = []
_DEFAULT_PREDICTOR_MACS_KEPT = 8


def _default_predictor_macs(args: dict) -> int | None:
    """The node's default predictor lives in its meta, out of the MAC rule's reach: a twin is built
    and counted once per predictor (not at every count), its op looked up again so a norm op
    registered anew is counted anew."""
    norm = args["norm"]
    name = norm if isinstance(norm, str) else norm.get("op") if isinstance(norm, dict) else None
    key = (args["feature_dim"], args["predictor_inner"], norm, find(name) if isinstance(name, str) else None)
    for seen, macs in _DEFAULT_PREDICTOR_MACS:
        if seen[:3] == key[:3] and seen[3] is key[3]:
            return macs
    twin = _default_predictor_node(args, ())
    Inference().run(twin, TensorType(("B", args["feature_dim"])))
    _DEFAULT_PREDICTOR_MACS.append((key, node_macs(twin)))
    del _DEFAULT_PREDICTOR_MACS[:-_DEFAULT_PREDICTOR_MACS_KEPT]
    return _DEFAULT_PREDICTOR_MACS[-1][1]


def _byol_macs(args: dict, inputs: tuple, out: TensorType) -> int | None:
    # the children count one view through the online network, the target and the predictor; the
    # other view costs as much again
    online = node_macs(*_online(args))
    predictor = args.get("predictor")
    predictor_macs = node_macs(predictor) if predictor is not None else _default_predictor_macs(args)
    return None if online is None or predictor_macs is None else 2 * online + predictor_macs


def _norm_callable(norm: Any) -> Callable:
    """``norm`` as BYOL's constructor takes it: a spec component (op name or ``{op: ...}``) becomes
    a callable of the feature count."""
    if isinstance(norm, (str, dict)):
        component = as_component(norm)
        return lambda num_features: lower(component(num_features=num_features))
    return norm


def _lower_byol(*, norm: Any = nn.SyncBatchNorm, **kwargs: Any) -> BYOL:
    return BYOL(norm=_norm_callable(norm), **kwargs)


register(
    BYOL, infer=_byol_infer, macs=_byol_macs, children=_byol_children, lower=_lower_byol,
    arg_types={
        "backbone": nn.Module, "projector": Optional[nn.Module], "predictor": Optional[nn.Module],
        "feature_dim": PositiveInt, "predictor_inner": PositiveInt, "mmt": Annotated[float, Field(ge=0, le=1)],
        # a component's data (an op name or {op: ...}), completed with num_features when the
        # default predictor is built
        "norm": Union[str, dict[str, Any]],
    },
)
