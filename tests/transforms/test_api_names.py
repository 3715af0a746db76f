"""Every transforms name of the reference index exists at graphspec.<path>; every function and
method signature the reference gives for pytorchvideo.data and pytorchvideo.transforms is ours
(read from the reference text itself)."""
import ast
import importlib
import inspect
import re

import pytest

from conftest import REFERENCE


def _names():
    path = REFERENCE / "api-names.txt"
    if not path.is_file():
        return []
    return [n.strip() for n in path.read_text().splitlines() if n.strip().startswith("transforms.")]


def test_the_index_lists_transforms():
    assert len(_names()) > 30


@pytest.mark.parametrize("name", _names())
def test_transforms_name_exists(name):
    module, attr = name.rsplit(".", 1)
    assert getattr(importlib.import_module(f"graphspec.{module}"), attr) is not None


_REFERENCE_TEXT = (REFERENCE / "pytorchvideo-api.txt").read_text()
#: the API sections of pytorchvideo.data and pytorchvideo.transforms(.functional), not the
#: overviews, whose usage examples look like signatures
_SECTIONS = [("## 6.1 pytorchvideo.data", "## OVERVIEW"), ("## TRANSFORMS API", "## OVERVIEW")]
_HEAD = re.compile(r"^[ \t]*(?:class\s+)?pytorchvideo\.((?:data|transforms)(?:\.functional)?)\.\s*([A-Za-z_]\w*)"
                   r"[ \t]*(?:\(([^)]*)\))?", re.M)
_METHOD = re.compile(r"^[ \t]*(__init__|__call__|forward|__getitem__)\s*\(([^)]*)\)", re.M)
_GENERIC = {"args", "kws", "kwargs"}  # a class documented as (*args, **kws): its __init__ has the parameters


def _plain(text):
    """Markdown off: escaped asterisks are real ones, other asterisks and backticks emphasis; a
    name hyphenated across a line break (``de-\ncoder``, ``back- pad_last``) joined again."""
    text = text.replace("\\*", "\0").replace("*", "").replace("`", "").replace("\\", "").replace("\0", "*")
    return re.sub(r"(?<=[A-Za-z_])-\s*(?=[a-z_])", "", text)


def _parameters(body):
    """``a, b=1, c=0.45, 0.45, 0.45`` -> ``[a, b=1, c=0.45, 0.45, 0.45]`` (a tuple default is
    written without parentheses)."""
    out = []
    for part in (p.strip() for p in " ".join(body.split()).split(",")):
        if out and "=" in out[-1] and part and not re.match(r"[*A-Za-z_]", part):
            out[-1] += ", " + part
        elif part:
            out.append(part)
    return out


def _documented_signatures():
    """``{(module, "Name" or "Name.method"): [documented parameters]}``, the first of each."""
    found = {}
    for first, last in _SECTIONS:
        begin = _REFERENCE_TEXT.index(first)
        section = _plain(_REFERENCE_TEXT[begin:_REFERENCE_TEXT.index(last, begin)])
        heads = list(_HEAD.finditer(section))
        for i, head in enumerate(heads):
            module, name, body = head.groups()
            end = heads[i + 1].start() if i + 1 < len(heads) else len(section)
            if body is not None and not {p.lstrip("*") for p in _parameters(body)} <= _GENERIC:
                found.setdefault((module, name), _parameters(body))
            for method in _METHOD.finditer(section, head.end(), end):
                found.setdefault((module, f"{name}.{method.group(1)}"), _parameters(method.group(2)))
    return found


DOCUMENTED = _documented_signatures()


def _default_matches(documented, ours):
    if documented.startswith("<class"):  # <class 'torch.utils.data.sampler.RandomSampler'>
        return isinstance(ours, type) and documented.strip("<>'").rsplit(".", 1)[-1].strip("'") == ours.__name__
    if documented.startswith("<"):  # an enum member: <VideoDatasetType.Frame: 1>
        return documented == repr(ours)
    value = ast.literal_eval(documented)
    if isinstance(value, tuple):  # a sequence default: ours may be a list
        return isinstance(ours, (tuple, list)) and tuple(ours) == value
    return value == ours and type(value) is type(ours)


def test_the_reference_documents_the_signatures_read_here():
    """The parser finds the reference's signatures (a change of its layout fails here, loudly)."""
    assert len(DOCUMENTED) > 50
    assert DOCUMENTED[("data", "Hmdb51")][-1] == "decoder='pyav'"
    assert DOCUMENTED[("data", "UniformClipSampler.__init__")] == ["clip_duration", "stride=None",
                                                                  "backpad_last=False", "eps=1e-06"]
    assert DOCUMENTED[("transforms", "create_video_transform")][5] == "video_mean=0.45, 0.45, 0.45"
    assert DOCUMENTED[("transforms.functional", "uniform_temporal_subsample")][2] == "temporal_dim=- 3"


@pytest.mark.parametrize("module, name", sorted(DOCUMENTED), ids=lambda x: x)
def test_signature_is_the_documented_one(module, name):
    """Our parameters start with the documented ones: names, order, defaults; additions come
    after them (or are keyword-only)."""
    owner, _, method = name.partition(".")
    obj = getattr(importlib.import_module(f"graphspec.{module}"), owner)
    ours = [p for p in inspect.signature(getattr(obj, method) if method else obj).parameters.values()
            if p.name != "self" and p.kind is not p.KEYWORD_ONLY]
    documented = DOCUMENTED[module, name]
    assert len(ours) >= len(documented), ([p.name for p in ours], documented)
    for doc, param in zip(documented, ours):
        doc_name, has_default, doc_default = doc.partition("=")
        assert doc_name.strip().lstrip("*") == param.name, (documented, [p.name for p in ours])
        assert bool(has_default) == (param.default is not param.empty), (doc, param)
        if has_default:
            assert _default_matches(doc_default.strip(), param.default), (doc, param)
