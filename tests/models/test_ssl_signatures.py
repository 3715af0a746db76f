"""The self-supervised and masked multistream classes take the arguments PyTorchVideo's
documentation gives them (names, order, keyword-only markers and defaults), read from the
reference text itself."""
from __future__ import annotations

import ast
import importlib
import inspect
import re

import pytest

from conftest import REFERENCE

SSL_MODULES = ("models.simclr", "models.byol", "models.memory_bank", "models.masked_multistream")


def _api_names() -> list[str]:
    names = (REFERENCE / "api-names.txt").read_text().split()
    return [n for n in names if n.rsplit(".", 1)[0] in SSL_MODULES]


def _documented(text: str, path: str) -> list[str]:
    """The parameters of the first ``pytorchvideo.<path> (...)`` in the reference; escaped
    asterisks (``\\*``) are real ones, the other asterisks and backticks markdown emphasis."""
    plain = text.replace("\\*", "\0").replace("*", "").replace("`", "").replace("\\", "").replace("\0", "*")
    module, name = path.rsplit(".", 1)
    found = re.search(rf"pytorchvideo\.{re.escape(module)}\.\s*{name}\s*\(([^)]*)\)", plain)
    assert found, f"{path} is not documented in the reference"
    return [p.strip() for p in found.group(1).replace("\n", " ").split(",") if p.strip()]


def _ours(obj) -> list[str]:
    out, keyword_only_marked = [], False
    for p in inspect.signature(obj).parameters.values():  # a class: __init__ without self
        if p.kind is p.KEYWORD_ONLY and not keyword_only_marked:
            out.append("*")
            keyword_only_marked = True
        if p.kind is p.VAR_POSITIONAL:
            out.append(f"*{p.name}")
        elif p.default is p.empty:
            out.append(p.name)
        elif isinstance(p.default, type):
            out.append(f"{p.name}=<class '{p.default.__module__}.{p.default.__qualname__}'>")
        else:
            out.append(f"{p.name}={p.default!r}")
    return out


def _same(documented: str, ours: str) -> bool:
    """Equal parameters; defaults compared as values where they are literals (0.0 == 0.)."""
    if "=" not in documented or "=" not in ours:
        return documented == ours
    (dname, dvalue), (oname, ovalue) = documented.split("=", 1), ours.split("=", 1)
    try:
        return dname == oname and ast.literal_eval(dvalue) == ast.literal_eval(ovalue)
    except (ValueError, SyntaxError):
        return documented == ours


@pytest.mark.parametrize("path", _api_names() + ["models.byol.BYOL", "models.masked_multistream.LSTM"])
def test_signature_is_the_documented_one(path):
    module, name = path.rsplit(".", 1)
    cls = getattr(importlib.import_module(f"graphspec.{module}"), name)
    documented = _documented((REFERENCE / "pytorchvideo-api.txt").read_text(), path)
    ours = _ours(cls)
    assert len(ours) == len(documented) and all(map(_same, documented, ours)), (documented, ours)
