"""Top-level spec validation: pydantic errors become key paths of the document."""
from __future__ import annotations

import pytest

from graphspec.spec.document import validate_document
from graphspec.spec.errors import SpecError

BASE = dict(graphspec=1, kind="model", name="x", inputs={"video": [1, 3, 4, 8, 8]}, model="ReLU")


def _diagnostics(**changes):
    with pytest.raises(SpecError) as err:
        validate_document({**BASE, **changes})
    return {d.dotted: d for d in err.value.diagnostics}


def test_keys_named_like_union_members_keep_their_path():
    found = _diagnostics(inputs={"model": "bad", "int": 3})
    assert set(found) == {"inputs.model", "inputs.int"}


def test_union_alternatives_are_one_finding():
    found = _diagnostics(expect={"macs": "lots"})
    assert list(found) == ["expect.macs"]
    assert "valid number" in found["expect.macs"].message and "MacsExpect" in found["expect.macs"].message


def test_unknown_key_suggests_the_field():
    found = _diagnostics(expect={"parms": 3})
    assert found["expect.parms"].hint == "did you mean 'params'?"


def test_document_rule_is_located_at_its_key():
    found = _diagnostics(nodes={"a": {"op": "ReLU", "in": "video"}})
    assert found["nodes"].message == "a model spec needs exactly one of 'model' or 'nodes'"
