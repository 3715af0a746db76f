"""kind: transform specs: every spec of specs/transforms validates and runs; layout errors are
located; check_fits against model specs."""
from pathlib import Path

import pytest
import torch

import graphspec
from graphspec import registry
from graphspec.spec.errors import SpecError
from graphspec.transforms.rules import VideoType
from graphspec.transforms.spec import check_fits

ROOT = Path(__file__).resolve().parents[2]
SPECS = sorted((ROOT / "specs" / "transforms").rglob("*.yaml"))


def _clip(t=40, h=36, w=48):
    return {"video": torch.randint(0, 256, (3, t, h, w), dtype=torch.uint8), "label": 7}


def _shapes(value):
    return [tuple(v.shape) for v in value] if isinstance(value, list) else tuple(value.shape)


def _static(value):
    return [v.shape for v in value] if isinstance(value, list) else value.shape


@pytest.mark.parametrize("path", SPECS, ids=lambda p: str(p.relative_to(ROOT / "specs")))
def test_spec_validates_and_its_transform_runs_as_inferred(path):
    compiled = graphspec.compile(path)
    assert compiled.ok, [str(d) for d in compiled.diagnostics]
    assert not compiled.diagnostics
    out = compiled.build(seed=0)(_clip())
    assert set(out) == set(compiled.outputs)
    assert _shapes(out["video"]) == _static(compiled.outputs["video"])  # static inference == run
    videos = out["video"] if isinstance(out["video"], list) else [out["video"]]
    assert all(v.dtype == torch.float32 for v in videos) and out["label"] == 7


#: one spec per family of random transforms (the x3d_*_train specs differ from x3d_xs_train in sizes only)
RANDOM_SPECS = [p for p in SPECS if p.name in ("kinetics_train.yaml", "ssl_two_view.yaml", "x3d_xs_train.yaml")]


@pytest.mark.parametrize("path", RANDOM_SPECS, ids=lambda p: p.name)
def test_spec_seed_reproduces(path):
    compiled = graphspec.compile(path)
    clip = _clip()
    a, b = compiled.build(seed=3), compiled.build(seed=3)
    for _ in range(3):
        first, second = a(dict(clip)), b(dict(clip))
        assert all(torch.equal(x, y) for x, y in zip(*(v["video"] if isinstance(v["video"], list) else [v["video"]]
                                                      for v in (first, second))))


@pytest.mark.parametrize("transform,model", [
    ("kinetics_val", "slow_r50"), ("kinetics_train", "slow_r50"), ("slowfast_r50", "slowfast_r50"),
    ("x3d_xs", "x3d_xs"), ("x3d_s", "x3d_s"), ("x3d_m", "x3d_m"), ("x3d_l", "x3d_l"),
])
def test_transform_fits_its_model(transform, model):
    t = graphspec.compile(ROOT / "specs" / "transforms" / f"{transform}.yaml")
    m = graphspec.compile(ROOT / "specs" / "models" / f"{model}.yaml")
    assert check_fits(t, m) == []


@pytest.mark.parametrize("transform,model,message", [
    ("kinetics_val", "x3d_s", "T is 8, the model takes 13"),
    ("x3d_s", "slowfast_r50", "the model takes 2 pathways"),
    ("slowfast_r50", "slow_r50", "the model takes one tensor"),
    ("x3d_m", "x3d_l", "H is 256, the model takes 356"),
])
def test_misfit_is_reported(transform, model, message):
    t = graphspec.compile(ROOT / "specs" / "transforms" / f"{transform}.yaml")
    m = graphspec.compile(ROOT / "specs" / "models" / f"{model}.yaml")
    found = check_fits(t, m)
    assert len(found) == 1 and message in found[0].message and found[0].location is not None


HEADER = """graphspec: 1
kind: transform
name: t
input:
  video: {layout: CTHW, dtype: uint8, shape: [3, T, 64, 80]}
  label: any
"""


def _compile_text(tmp_path, body):
    path = tmp_path / "t.yaml"
    path.write_text(HEADER + body)
    return graphspec.compile(path)


def _errors(tmp_path, body):
    try:
        result = _compile_text(tmp_path, body)
    except SpecError as err:
        return err.diagnostics
    return [d for d in result.diagnostics if d.severity == "error"]


@pytest.mark.parametrize("body,line,path,message", [
    ("transform:\n  - {op: ApplyTransformToKey, key: vidoe, transform: Div255}\n", 8,
     "transform[0].key", "no key 'vidoe'"),
    ("transform:\n  - op: ApplyTransformToKey\n    key: video\n    transform:\n      - Div255\n"
     "      - {op: Normalize, mean: 0.45, std: [0.2, 0.2, 0.2]}\n      - ConvertUint8ToFloat\n", 13,
     "transform[0].transform[2]", "ConvertUint8ToFloat takes a uint8 video, got float32"),  # a scalar mean is fine
    ("transform:\n  - op: ApplyTransformToKey\n    key: video\n    transform:\n      - "
     "{op: Normalize, mean: [0.5, 0.5, 0.5], std: [0.2, 0.2, 0.2]}\n", 11, "transform[0].transform[0]",
     "Normalize needs a float video, got uint8 CTHW [3, T, 64, 80]"),
    ("transform:\n  - op: ApplyTransformToKey\n    key: video\n    transform:\n      - Div255\n"
     "      - {op: Normalize, mean: [0.5, 0.5], std: [0.2, 0.2]}\n", 12, "transform[0].transform[1].mean",
     "2 channel means / stds for 3 channels"),
    ("transform:\n  - op: ApplyTransformToKey\n    key: video\n    transform:\n"
     "      - {op: RandomShortSideScale, min_size: 100, max_size: 120}\n      - {op: RandomCrop, size: 112}\n", 12,
     "transform[0].transform[1].size", "may be as small as 100"),
    ("transform:\n  - op: ApplyTransformToKey\n    key: video\n    transform: {op: CenterCrop, size: 7}\n"
     "  - {op: ApplyTransformToKey, key: video, transform: {op: RandomCrop, size: 9}}\n", 11,
     "transform[1].transform.size", "crop 9 x 9 is larger than the frames 7 x 7"),
    ("transform:\n  - {op: ApplyTransformToKey, key: video, transform: RandAugment}\n", 8,
     "transform[0].transform", "RandAugment takes a video in layout TCHW"),
    ("transform:\n  - {op: ApplyTransformToKey, key: video, transform: MixUp}\n", 8,
     "transform[0].transform", "mixes a batch"),
    ("transform:\n  - {op: ApplyTransformToKey, key: video, transform: {op: ShortSideScal, size: 3}}\n", 8,
     "transform[0].transform.op", "unknown op 'ShortSideScal'"),
    ("transform:\n  - {op: ApplyTransformToKey, key: video, transform: {op: ShortSideScale, sise: 3}}\n", 8,
     "transform[0].transform.sise", "ShortSideScale has no argument 'sise'"),
    ("transform:\n  - {op: ApplyTransformToKey, key: video, transform: create_resnet}\n", 8,
     "transform[0].transform", "create_resnet is a builder op"),
    ("transform:\n  - op: ApplyTransformToKey\n    key: video\n    transform:\n      - Div255\n"
     "      - {op: RandomShortSideScale, min_size: 320, max_size: 256}\n", 12, "transform[0].transform[1]",
     "RandomShortSideScale: min_size 320 > max_size 256"),
    ("transform:\n  - {op: ApplyTransformToKey, key: video, transform: {op: UniformTemporalSubsampleRepeated, "
     "frame_ratios: [4, 1]}}\n  - {op: ApplyTransformToKey, key: video, transform: Div255}\n", 9,
     "transform[1].transform", "Div255 takes a video tensor (CTHW), got a list of 2"),
])
def test_layout_errors_are_located(tmp_path, body, line, path, message):
    found = _errors(tmp_path, body)
    assert found, "expected a finding"
    first = found[0]
    assert message in first.message, first.format()
    assert first.dotted == path and first.location.line == line, first.format()


def test_did_you_mean_for_a_wrong_key(tmp_path):
    found = _errors(tmp_path, "transform:\n  - {op: ApplyTransformToKey, key: vidoe, transform: Div255}\n")
    assert found[0].hint == "did you mean 'video'?"


def test_remove_key_of_a_missing_key_is_a_warning(tmp_path):
    result = _compile_text(tmp_path, "transform:\n  - {op: RemoveKey, key: audio}\n")
    assert result.ok and [d.severity for d in result.diagnostics] == ["warning"]
    assert set(result.outputs) == {"video", "label"}


def test_outputs_and_expect(tmp_path):
    body = ("transform:\n  - op: ApplyTransformToKey\n    key: video\n    transform:\n"
            "      - {op: UniformTemporalSubsample, num_samples: 4}\n      - {op: ShortSideScale, size: 32}\n"
            "      - Div255\n  - {op: RemoveKey, key: label}\n"
            "expect:\n  outputs:\n    video: {dtype: float32, shape: [3, 4, 32, 40]}\n")
    result = _compile_text(tmp_path, body)
    assert result.ok, [str(d) for d in result.diagnostics]
    assert result.outputs == {"video": VideoType((3, 4, 32, 40), "float32", "CTHW")}
    wrong = _compile_text(tmp_path, body.replace("[3, 4, 32, 40]", "[3, 4, 32, 41]"))
    assert [d.dotted for d in wrong.diagnostics] == ["expect.outputs.video"]


def test_create_video_transform_op_infers_layout(tmp_path):
    body = ("transform:\n  op: create_video_transform\n  mode: train\n  video_key: video\n  num_samples: 4\n"
            "  min_size: 40\n  max_size: 48\n  crop_size: 32\n")
    result = _compile_text(tmp_path, body)
    assert result.ok and result.outputs["video"] == VideoType((3, 4, 32, 32), "float32", "CTHW")
    out = result.build()({"video": torch.randint(0, 256, (3, 9, 64, 80), dtype=torch.uint8), "label": 0})
    assert out["video"].shape == (3, 4, 32, 32)
    too_big = _errors(tmp_path, body.replace("crop_size: 32", "crop_size: 44"))
    assert "transform.crop_size" in {d.dotted for d in too_big}  # PyTorchVideo asserts crop_size <= min_size


def test_build_refuses_a_spec_with_errors(tmp_path):
    result = _compile_text(tmp_path, "transform:\n  - {op: ApplyTransformToKey, key: vidoe, transform: Div255}\n")
    with pytest.raises(SpecError, match="no key 'vidoe'"):
        result.build()


def test_compile_transform_inline_locates_inside_the_outer_spec():
    from graphspec.spec.source import load_text
    from graphspec.transforms.spec import compile_transform

    text = ("data:\n  transform:\n    - {op: ApplyTransformToKey, key: vidoe, transform: Div255}\n"
            "  input: {video: {shape: [3, T, 8, 8]}}\n")
    data, smap = load_text(text, "outer.yaml")
    compiled = compile_transform(data["data"]["transform"], data["data"]["input"], path=("data", "transform"),
                                 name="inline", data=data, smap=smap, file="outer.yaml")
    (found,) = compiled.diagnostics
    assert found.dotted == "data.transform[0].key" and str(found.location) == "outer.yaml:3:33"  # the key `key`
    with pytest.raises(SpecError, match="data.input.video.dtype"):
        compile_transform([], {"video": {"dtype": "int3", "shape": [3, 1, 1, 1]}}, path=("data", "transform"))


#: one spec component per registered transform op that works on a clip's video, with the dtype and
#: layout of the video it takes: the static layout rule must agree with running the op
RULE_CASES = {
    "UniformTemporalSubsample": ({"op": "UniformTemporalSubsample", "num_samples": 4}, "uint8", "CTHW"),
    "UniformTemporalSubsampleRepeated": ({"op": "UniformTemporalSubsampleRepeated", "frame_ratios": [3, 1]},
                                         "uint8", "CTHW"),
    "ShortSideScale": ({"op": "ShortSideScale", "size": 7}, "uint8", "CTHW"),
    "RandomShortSideScale": ({"op": "RandomShortSideScale", "min_size": 6, "max_size": 9}, "float32", "CTHW"),
    "Normalize": ({"op": "Normalize", "mean": [0.5, 0.5, 0.5], "std": [0.2, 0.2, 0.2]}, "float32", "CTHW"),
    "ConvertFloatToUint8": ("ConvertFloatToUint8", "float32", "CTHW"),
    "ConvertUint8ToFloat": ("ConvertUint8ToFloat", "uint8", "CTHW"),
    "Div255": ("Div255", "uint8", "CTHW"),
    "MoveChannelRear": ("MoveChannelRear", "uint8", "CTHW"),
    "MoveChannelFront": ("MoveChannelFront", "uint8", "THWC"),
    "Permute": ({"op": "Permute", "dims": [1, 0, 2, 3]}, "uint8", "CTHW"),
    "Identity": ("Identity", "uint8", "CTHW"),
    "RandomResizedCrop": ({"op": "RandomResizedCrop", "target_height": 5, "target_width": 7, "scale": [0.2, 1.0],
                           "aspect_ratio": [0.5, 2.0]}, "uint8", "CTHW"),
    "OpSampler": ({"op": "OpSampler", "transforms_list": [{"op": "CenterCrop", "size": 5},
                                                          {"op": "RandomCrop", "size": 5}]}, "uint8", "CTHW"),
    "Compose": ([{"op": "CenterCrop", "size": [6, 8]}, "Div255"], "uint8", "CTHW"),
    "CenterCrop": ({"op": "CenterCrop", "size": 12}, "uint8", "CTHW"),
    "RandomCrop": ({"op": "RandomCrop", "size": [4, 6]}, "uint8", "CTHW"),
    "RandomHorizontalFlip": ({"op": "RandomHorizontalFlip", "p": 1.0}, "uint8", "CTHW"),
    "Resize": ({"op": "Resize", "size": 7}, "uint8", "CTHW"),
    "MultiView": ({"op": "MultiView", "num_views": 3, "transform": {"op": "RandomCrop", "size": 5}}, "uint8", "CTHW"),
    "AugmentTransform": ({"op": "AugmentTransform", "transform_name": "Equalize", "prob": 1.0}, "uint8", "TCHW"),
    "RandAugment": ("RandAugment", "uint8", "TCHW"),
    "AugMix": ("AugMix", "uint8", "TCHW"),
    "create_video_transform": ({"op": "create_video_transform", "mode": "train", "num_samples": 3, "min_size": 8,
                                "max_size": 10, "crop_size": 6}, "uint8", "CTHW"),
}
DICT_OPS = {"ApplyTransformToKey", "RemoveKey", "UniformCropVideo"}  # tested through the specs above
BATCH_OPS = {"MixUp", "CutMix", "MixVideo"}  # refused on clips (test_layout_errors_are_located)


def test_every_transform_op_has_a_rule_case():
    with_layout_rule = {op.name for op in registry.ops() if op.layout is not None}
    assert set(RULE_CASES) | DICT_OPS | BATCH_OPS == with_layout_rule


@pytest.mark.parametrize("name", sorted(RULE_CASES))
def test_layout_rule_agrees_with_running_the_op(name):
    from graphspec.transforms.spec import compile_transform

    component, dtype, layout = RULE_CASES[name]
    dims = {"C": 3, "T": 6, "H": 10, "W": 14}
    shape = [dims[a] for a in layout]
    compiled = compile_transform([{"op": "ApplyTransformToKey", "key": "video", "transform": component}],
                                 {"video": {"layout": layout, "dtype": dtype, "shape": shape}})
    assert compiled.ok, [str(d) for d in compiled.diagnostics]
    video = torch.randint(0, 256, shape, dtype=torch.uint8)
    video = video if dtype == "uint8" else video.float() / 255
    for seed in range(3):
        torch.manual_seed(seed)
        out = compiled.build()({"video": video.clone()})["video"]
        static = compiled.outputs["video"]
        for got, want in zip(out if isinstance(out, list) else [out], static if isinstance(static, list) else [static]):
            assert str(got.dtype).removeprefix("torch.") == want.dtype
            assert [g if isinstance(w, int) else w for g, w in zip(got.shape, want.shape)] == list(want.shape)
        assert isinstance(out, list) == isinstance(static, list)


def test_uniform_crop_video_rule_and_run():
    from graphspec.transforms.spec import compile_transform

    compiled = compile_transform([{"op": "UniformCropVideo", "size": 8}],
                                 {"video": {"shape": [3, 4, 10, 14]}, "aug_index": "any"})
    assert compiled.ok and compiled.outputs["video"] == VideoType((3, 4, 8, 8), "uint8", "CTHW")
    out = compiled.build()({"video": torch.zeros(3, 4, 10, 14, dtype=torch.uint8), "aug_index": 2})
    assert out["video"].shape == (3, 4, 8, 8)
    missing = compile_transform([{"op": "UniformCropVideo", "size": 8}], {"video": {"shape": [3, 4, 10, 14]}})
    assert "no key 'aug_index'" in missing.diagnostics[0].message


def test_a_transform_named_in_a_model_spec_is_a_located_error(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text("graphspec: 1\nkind: model\nname: m\ninputs:\n  video: [B, 3, 8, 32, 32]\n"
                    "model: {op: ShortSideScale, size: 8}\n")
    (found,) = graphspec.check(path)
    assert "ShortSideScale is a clip transform" in found.message and found.location.line == 6


def _misspelt(key: str) -> str:
    """``key`` with its last two letters swapped (a typo did-you-mean must undo)."""
    return key[:-2] + key[-1] + key[-2]


@pytest.mark.parametrize("kind", ["model", "transform", "data"])
def test_a_misspelt_top_level_key_of_every_kind_gets_did_you_mean(kind):
    from graphspec.spec.document import DataSpec, ModelSpec, TransformSpec, validate_document

    model = {"model": ModelSpec, "transform": TransformSpec, "data": DataSpec}[kind]
    for key in model.model_fields:
        if key in ("graphspec", "kind") or _misspelt(key) == key:
            continue
        with pytest.raises(SpecError) as err:
            validate_document({"graphspec": 1, "kind": kind, _misspelt(key): 1})
        [found] = [d for d in err.value.diagnostics if d.path == (_misspelt(key),)]
        assert found.hint == f"did you mean {key!r}?", (kind, key, found)


def test_graphspec_ops_lists_transform_and_data_ops_without_importing_them():
    import subprocess
    import sys

    listed = subprocess.run([sys.executable, "-m", "graphspec", "ops"], capture_output=True, text=True, cwd=ROOT)
    assert listed.returncode == 0, listed.stderr
    names = {line.split()[0] for line in listed.stdout.splitlines() if line.strip()}
    assert {"ShortSideScale", "RandAugment", "Kinetics", "UniformClipSampler"} <= names
    lookup = subprocess.run([sys.executable, "-c", "from graphspec import registry; "
                             "print(registry.get('RandomShortSideScale').kind, registry.get('Kinetics').kind)"],
                            capture_output=True, text=True, cwd=ROOT)
    assert lookup.stdout.split() == ["module", "object"], lookup.stderr
