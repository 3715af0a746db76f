"""Preparation steps and plans as typed data.

A plan is what ``graphspec data prepare`` does to every raw video of a dataset: an optional time
cut, then either a re-encode at a short side (``resize``) or frame extraction (``frames``), and
the manifest the dataset class reads. The defaults follow PyTorchVideo's "Data Preparation"
chapter; a data spec's ``prepare:`` mapping or the command line override any field.
"""
from __future__ import annotations

from typing import Annotated, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, field_validator, model_validator


class _Step(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CutStep(_Step):
    """Keep ``[start_sec, end_sec)`` of each video (AVA: its annotated minutes 15-30)."""

    kind: Literal["cut"] = "cut"
    start_sec: Union[StrictInt, StrictFloat] = Field(ge=0)
    end_sec: Union[StrictInt, StrictFloat] = Field(gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> "CutStep":
        if self.end_sec <= self.start_sec:
            raise ValueError(f"end_sec ({self.end_sec}) must be after start_sec ({self.start_sec})")
        return self


class ResizeStep(_Step):
    """Re-encode each video with its short side at ``short_side`` (aspect kept, sizes even)."""

    kind: Literal["resize"] = "resize"
    short_side: StrictInt = Field(256, ge=2)
    codec: str = Field("libx264", description="an encoder PyAV's FFmpeg provides")
    crf: StrictInt = Field(23, ge=0, le=51, description="constant rate factor (x264/x265): lower is better")
    #: short GOPs make random clip access cheap: a seek decodes at most this much video
    keyframe_interval_sec: Union[StrictInt, StrictFloat] = Field(1.0, gt=0)
    keep_audio: StrictBool = True
    container: str = Field("mp4", description="output file extension / container")

    @field_validator("codec")
    @classmethod
    def _known_video_encoder(cls, codec: str) -> str:
        """Checked with the plan, before any video is read: an unknown encoder would fail every
        file, and not at all when every output is already complete."""
        import av

        try:
            kind = av.codec.Codec(codec, "w").type
        except (av.FFmpegError, ValueError):
            kind = None
        if kind != "video":
            raise ValueError(("not a video encoder" if kind else "not an encoder PyAV's FFmpeg provides")
                             + " (e.g. libx264, libx265, mpeg4)")
        return codec


class FramesStep(_Step):
    """Extract frames at a constant ``fps`` as images ``{video}/{video}_%06d.<format>``."""

    kind: Literal["frames"] = "frames"
    fps: Union[StrictInt, StrictFloat] = Field(30, gt=0)
    image_format: Literal["jpg", "png"] = "jpg"
    #: JPEG quality on FFmpeg's qscale: 1 is the highest (the documentation's ``-q:v 1``)
    quality: StrictInt = Field(1, ge=1, le=31)
    #: frame file name; ``{video}`` is the video's stem, numbering starts at 1 as FFmpeg's does
    pattern: str = "{video}/{video}_{index:06d}.{ext}"

    @model_validator(mode="after")
    def _one_folder_per_video(self) -> "FramesStep":
        if not self.pattern.startswith("{video}/") or "/" in self.pattern[len("{video}/"):] \
                or "{index" not in self.pattern:
            raise ValueError("pattern must be '{video}/<file name with {index...}>', e.g. "
                             "'{video}/{video}_{index:06d}.{ext}'")
        return self


Step = Annotated[Union[CutStep, ResizeStep, FramesStep], Field(discriminator="kind")]

ManifestKind = Literal["labeled_csv", "frame_list", "epic_frame_manifest"]
#: the annotation formats a frame list's per-frame labels are read from (``manifests.ANNOTATION_READERS``)
AnnotationFormat = Literal["charades", "ava"]


class PreparePlan(_Step):
    """What to do with each raw video, and which manifest to write."""

    cut: Optional[CutStep] = None
    output: Union[ResizeStep, FramesStep] = Field(discriminator="kind")
    manifest: ManifestKind = "labeled_csv"
    #: file extensions taken as raw videos
    extensions: tuple[str, ...] = (".mp4", ".avi", ".mkv", ".webm", ".mov", ".m4v")
    #: the format of the dataset's annotation files, when its frame list has per-frame labels
    annotation_format: Optional[AnnotationFormat] = None
    #: the dataset's annotation files (``Charades_v1_train.csv``, ``ava_train_v2.2.csv``; paths as
    #: given, from the working directory): the frame list's labels column is read from them
    #: (left ``""`` without them)
    annotations: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _annotations_are_read(self) -> "PreparePlan":
        if self.annotations and (self.annotation_format is None or self.manifest != "frame_list"):
            raise ValueError("annotations: this dataset's manifest has no per-frame labels to read from them "
                             "(Charades and AVA frame lists have)")
        return self


#: The documented preparation of each dataset op (rules as data).
DATASET_PLANS: dict[str, PreparePlan] = {
    "Kinetics": PreparePlan(output=ResizeStep(), manifest="labeled_csv"),
    "Ucf101": PreparePlan(output=ResizeStep(), manifest="labeled_csv"),
    "Hmdb51": PreparePlan(output=ResizeStep(), manifest="labeled_csv"),
    "labeled_video_dataset": PreparePlan(output=ResizeStep(), manifest="labeled_csv"),
    "SSv2": PreparePlan(output=FramesStep(), manifest="frame_list"),
    "Charades": PreparePlan(output=FramesStep(), manifest="frame_list", annotation_format="charades"),
    "Ava": PreparePlan(cut=CutStep(start_sec=900, end_sec=1801), output=FramesStep(), manifest="frame_list",
                       annotation_format="ava"),
    "EpicKitchenRecognition": PreparePlan(output=FramesStep(), manifest="epic_frame_manifest"),
    "EpicKitchenForecasting": PreparePlan(output=FramesStep(), manifest="epic_frame_manifest"),
}


def check_prepare(dataset_op: object, overrides: dict) -> list:
    """Findings (located at ``prepare.*``) of a data spec's ``prepare:`` mapping, [] when it makes a
    valid plan for ``dataset_op``; for ``graphspec validate``, which reads no data."""
    from pydantic import ValidationError

    from graphspec.spec.errors import Diagnostic, did_you_mean, validation_diagnostics

    if dataset_op not in DATASET_PLANS:
        return [Diagnostic(f"dataset {dataset_op!r} has no preparation steps (datasets with steps: "
                           f"{', '.join(DATASET_PLANS)})", path=("prepare",),
                           hint=did_you_mean(str(dataset_op), DATASET_PLANS), code="prepare")]
    try:
        plan_for(str(dataset_op), overrides)
    except ValidationError as err:
        return validation_diagnostics(err.errors(), overrides, ("prepare",),
                                      fields_at=lambda path: _fields_at(DATASET_PLANS[str(dataset_op)], path))
    return []


def _fields_at(plan: "PreparePlan", path: tuple) -> list[str]:
    """The fields of the step at ``path`` of ``plan`` (for did-you-mean on an unknown key)."""
    node: object = plan
    for part in path:
        node = getattr(node, str(part), None)
    return list(type(node).model_fields) if hasattr(type(node), "model_fields") else []


def plan_for(dataset_op: str, overrides: dict | None = None) -> PreparePlan:
    """The documented plan of ``dataset_op`` with ``overrides`` (plan fields, dotted by step:
    ``{"output": {"short_side": 320}, "cut": None}``) merged in; ``KeyError`` if it has none."""
    return PreparePlan.model_validate(merge_fields(DATASET_PLANS[dataset_op].model_dump(), overrides))


def merge_fields(base: dict, overrides: dict | None) -> dict:
    """``base`` with ``overrides`` laid over it, one level deep: a mapping given for a step that
    is a mapping too changes only the fields it names."""
    merged = dict(base)
    for key, value in (overrides or {}).items():
        both = isinstance(value, dict) and isinstance(merged.get(key), dict)
        merged[key] = {**merged[key], **value} if both else value
    return merged
