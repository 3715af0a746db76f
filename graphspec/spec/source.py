"""Spec sources: a spec file read with its ``extends`` chain resolved and ``--set`` overrides
applied (``load_document``), and the parts it is made of, importable from here:

* ``yaml_compose`` / ``yaml_load`` -- safe YAML loading with key locations (``load_text``, ``load_yaml``);
* ``sourcemap`` -- ``SourceMap``, where each value was written;
* ``extends`` -- parents merged under a child (``merge_over``);
* ``overrides`` -- ``--set`` (``parse_override``, ``apply_overrides``, ``OVERRIDE_FILE``);
* ``yaml_dump`` -- plain data back to YAML.

Every problem is collected as a located, ``unusable`` ``Diagnostic`` and raised as one
``SpecError``; no yaml or OS exception escapes.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

from .errors import Location, SpecError
from .extends import merge_over, resolve_extends
from .overrides import OVERRIDE_FILE, apply_overrides, collect_overrides, parse_override
from .sourcemap import SourceMap
from .yaml_dump import yaml_dump
from .yaml_load import MAX_EXPANDED_NODES, load_text, load_yaml

__all__ = ["MAX_EXPANDED_NODES", "OVERRIDE_FILE", "SourceMap", "apply_overrides", "load_document", "load_text",
           "load_yaml", "merge_over", "parse_override", "yaml_dump"]


def load_document(path: str | Path, overrides: Sequence[str] = ()) -> tuple[dict, SourceMap]:
    """Load a spec with its ``extends`` chain resolved and ``--set`` overrides applied.

    Locations point into whichever file (or override) defined each value.
    """
    file, diags = str(path), []
    loaded = resolve_extends(file, Location(file, 1, 1), (), (), diags)
    data, smap = loaded if loaded and not diags else (None, None)
    collect_overrides(data, smap, overrides, diags)  # still checks override syntax when the file failed
    if diags:
        raise SpecError(diags)
    return data, smap
