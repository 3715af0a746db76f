"""The ``kind: train`` document: the recipe's pydantic models (``graphspec.train.spec`` checks a
recipe against its model and data specs; this module is the schema alone, so that the spec
loader reads it without torch or the compiler)."""
from __future__ import annotations

from typing import Annotated, Any, Literal, Optional, Union

from pydantic import Field, PositiveFloat, PositiveInt, StrictStr

from .strict import Strict as _Strict




# -- losses ------------------------------------------------------------------------------------
class CrossEntropy(_Strict):
    """``torch.nn.CrossEntropyLoss`` on the logits and integer labels."""

    op: Literal["cross_entropy"]
    label_smoothing: float = Field(0.0, ge=0, lt=1)


class SoftTargetCrossEntropy(_Strict):
    """``SoftTargetCrossEntropyLoss``: for soft (mixed) targets; integer labels become one-hot."""

    op: Literal["soft_target_cross_entropy"]
    normalize_targets: bool = True


class ModelLoss(_Strict):
    """The model's own output is the loss (SimCLR, BYOL, MemoryBank)."""

    op: Literal["model"]


Loss = Annotated[Union[CrossEntropy, SoftTargetCrossEntropy, ModelLoss], Field(discriminator="op")]
#: losses that take soft targets (what MixUp / CutMix give)
SOFT_TARGET_LOSSES = ("soft_target_cross_entropy",)


# -- optimizers and schedules -------------------------------------------------------------------
class _Optimizer(_Strict):
    lr: PositiveFloat
    weight_decay: float = Field(0.0, ge=0)
    no_decay_norm_bias: bool = Field(False, description="no weight decay on normalisation weights and biases")


class SGD(_Optimizer):
    op: Literal["SGD"]
    momentum: float = Field(0.9, ge=0)
    dampening: float = Field(0.0, ge=0)
    nesterov: bool = False


class AdamW(_Optimizer):
    op: Literal["AdamW"]
    betas: tuple[float, float] = (0.9, 0.999)
    eps: PositiveFloat = 1e-8
    weight_decay: float = Field(0.01, ge=0)


Optimizer = Annotated[Union[SGD, AdamW], Field(discriminator="op")]


class _Schedule(_Strict):
    warmup_epochs: float = Field(0.0, ge=0, description="linear warm-up from warmup_start_factor x lr")
    warmup_steps: int = Field(0, ge=0, description="warm-up in optimizer steps (adds to warmup_epochs)")
    warmup_start_factor: float = Field(0.01, ge=0, le=1)


class Constant(_Schedule):
    op: Literal["constant"]


class Cosine(_Schedule):
    op: Literal["cosine"]
    min_lr: float = Field(0.0, ge=0, description="the learning rate at the end")


class Step(_Schedule):
    op: Literal["step"]
    milestones: list[PositiveInt] = Field(description="epochs at which lr is multiplied by gamma")
    gamma: PositiveFloat = 0.1


Schedule = Annotated[Union[Constant, Cosine, Step], Field(discriminator="op")]


# -- the rest of the recipe ------------------------------------------------------------------
class Init(_Strict):
    checkpoint: StrictStr = Field(description="ours or PyTorchVideo's (weights_only); relative to this spec")
    reinit_mismatched: bool = Field(True, description="re-initialise tensors of another shape (a new head)")


class Eval(_Strict):
    every: PositiveInt = Field(1, description="evaluate every N epochs (and after the last)")
    topk: tuple[PositiveInt, PositiveInt] = (1, 5)


class Checkpoints(_Strict):
    every: PositiveInt = Field(1, description="epochs between checkpoints (and one at the end)")
    keep_last: PositiveInt = Field(3, description="checkpoints kept (older ones are deleted)")


class Export(_Strict):
    to: Literal["onnx", "mobile", "executorch"] = "mobile"
    int8: bool = False
    calibrate: Optional[Literal["val", "train"]] = Field(None, description="the data phase calibrating int8")
    #: None: export_spec's own default (graphspec.export.int8.DEFAULT_MIN_COSINE)
    min_cosine: Optional[float] = Field(None, ge=-1, le=1, description="int8: the least mean cosine to fp32 "
                                        "accepted on held-out clips (default 0.99); a model below it is refused")


class TrainSpec(_Strict):
    """A training recipe (``graphspec.train.spec`` checks it, ``graphspec train`` runs it)."""

    graphspec: Literal[1] = Field(description="format version")
    kind: Literal["train"]
    name: str
    description: str = ""
    model: Any = Field(description="a model spec: a path (relative to this file) or inline")
    model_inputs: Literal["declared", "from_data"] = Field(
        "declared", description="declared: clips must fit the model's inputs; from_data: the model is built "
                                "(and checked) at each phase's clip size, one set of weights")
    num_classes: Optional[PositiveInt] = Field(None, description="labels in the data (class losses)")
    data: dict[Literal["train", "val", "val_views"], Any] = Field(
        description="data specs by phase (path or inline): train, val (per clip), val_views (per video, "
                    "predictions of its clips and crops averaged)")
    batch_size: PositiveInt = Field(description="global batch per optimizer step, split over the ranks")
    ranks: Optional[PositiveInt] = Field(None, description="the world size this recipe is meant for (checked)")
    accumulate: PositiveInt = Field(1, description="micro-batches per optimizer step")
    epochs: Optional[PositiveInt] = None
    steps: Optional[PositiveInt] = Field(None, description="optimizer steps (instead of epochs)")
    loss: Loss
    mix: Optional[Any] = Field(None, description="MixUp / CutMix / MixVideo applied to each training batch")
    optimizer: Optimizer
    schedule: Schedule = Field(default_factory=lambda: Constant(op="constant"))
    clip_grad_norm: Optional[PositiveFloat] = None
    precision: Literal["fp32", "bf16", "fp16"] = Field("fp32", description="autocast dtype (fp16: CUDA only)")
    channels_last: bool = False
    init: Optional[Init] = None
    eval: Eval = Field(default_factory=Eval)
    checkpoint: Checkpoints = Field(default_factory=Checkpoints)
    export: Optional[Export] = None
    seed: int = 0
    log_every: PositiveInt = Field(10, description="optimizer steps between metric lines")
    # exactly one of epochs / steps, and data.train: checked by graphspec.train.spec, each at its key
    # (a model validator's error has no key: pydantic places it at the document's kind)
