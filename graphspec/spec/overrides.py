"""``--set PATH=VALUE`` overrides: parsed, checked against the spec's keys and applied in place."""
from __future__ import annotations

import re
from dataclasses import replace
from typing import Any, Sequence

from .errors import Diagnostic, Location, SpecError, did_you_mean, format_path
from .sourcemap import SourceMap
from .yaml_load import parse_text, source_diagnostic

#: Pseudo file name of locations that come from ``--set`` overrides (line = override number).
OVERRIDE_FILE = "<--set>"


def _kind(value: Any) -> str:
    """``an integer``, ``a list``... for messages about plain YAML values."""
    names = {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean",
             int: "an integer", float: "a float", type(None): "null"}
    return names.get(type(value), type(value).__name__)


#: mappings whose keys are declared names: ``--set`` may change their values but not add a key
#: (``--set inputs.vidoe=[...]`` is a typo, not a new model input; ``nodes`` names a graph
#: spec's nodes, ``input`` a transform spec's clip keys, ``transform.input`` those of a data
#: spec's inline transform)
_DECLARED_NAMES = {("inputs",): "input", ("inputs", "*"): "input", ("nodes",): "node", ("input",): "clip key",
                   ("transform", "input"): "clip key"}


def _declared_names(path: tuple) -> str | None:
    """What the keys of the mapping at ``path`` name, if they are declared names (``*``: any key)."""
    for pattern, names in _DECLARED_NAMES.items():
        if len(pattern) == len(path) and all(p in ("*", q) for p, q in zip(pattern, path)):
            return names
    return None

# One path step: a key (dot-separated, no dot before the first) or a list index [N].
_STEP = re.compile(r"(?:^|(?<!^)\.)([^.\[\]\s=]+)|\[(\d+)\]")


def _parse_override(text: str, number: int, diags: list):
    """``a.b[2]=v`` -> (path, path column, value, value smap), or None after reporting."""

    def fail(message: str, col: int, path=(), hint=None):
        diags.append(source_diagnostic(message, Location(OVERRIDE_FILE, number, col), path, "override", hint))

    eq = text.find("=")
    if eq < 0:
        return fail(f"malformed --set '{text}': expected PATH=VALUE", 1)
    lead = len(text[:eq]) - len(text[:eq].lstrip())
    spec = text[:eq].strip()
    if not spec:
        return fail(f"malformed --set '{text}': empty path before '='", 1)
    path, pos = [], 0
    while pos < len(spec):
        m = _STEP.match(spec, pos)
        if not m:
            return fail(f"malformed --set path '{spec}' at '{spec[pos:]}'", lead + pos + 1,
                        hint="write keys as a.b.c and list indices as a[2] or a.2")
        key, index = m.groups()
        path.append(int(index) if index else int(key) if key.isdigit() else key)
        pos = m.end()
    path = tuple(path)
    value_text = text[eq + 1:]
    if not value_text.strip():
        return fail("--set value is empty", eq + 2, path,
                    hint="write null to set null, or '' for an empty string")
    value, vmap, errors = parse_text(value_text, OVERRIDE_FILE, document=False)

    def shift(loc: Location) -> Location:
        return Location(OVERRIDE_FILE, number, loc.col + (eq + 1 if loc.line == 1 else 0))

    for err in errors:
        diags.append(replace(err, location=shift(err.location), path=path + err.path,
                             code="override", message=f"--set value: {err.message}"))
    if errors:
        return None
    vmap = {rel: shift(loc) for rel, loc in vmap.items()}
    return path, lead + 1, value, vmap


def parse_override(text: str) -> tuple[tuple, Any]:
    """``"model.kernel[2]=[3,1,1]"`` -> ``(("model", "kernel", 2), [3, 1, 1])``."""
    diags: list[Diagnostic] = []
    parsed = _parse_override(text, 1, diags)
    if diags:
        raise SpecError(diags)
    return parsed[0], parsed[2]


def _set(data: dict, smap: SourceMap, parsed, number: int, diags: list) -> None:
    path, col, value, vmap = parsed
    node, resolved = data, ()
    for depth, part in enumerate(path):
        where = f"'{format_path(resolved)}'" if resolved else "the top level"
        last = depth == len(path) - 1
        problem = hint = None
        if isinstance(node, dict):
            part = str(part)  # `a.2` / `a[2]` on a mapping name the key "2"
            declared = _declared_names(resolved)
            if part not in node and declared:
                problem = f"no {declared} '{part}' in {where}; --set changes declared {declared}s, it does not add one"
                hint = did_you_mean(part, node) or (f"{declared}s: {', '.join(node)}" if node else None)
            elif part not in node and not last and did_you_mean(part, node):
                # a missing parent close to a key that is there is a typo of it; any other is
                # created (the spec left out a mapping its schema allows, as `prepare:`), and
                # the schema then judges the new keys where the --set is
                problem = f"no key '{part}' in {where}"
                hint = did_you_mean(part, node)
        elif isinstance(node, list):
            if not isinstance(part, int):
                problem = f"{where} is a list; index it as [N]"
            elif part >= len(node):
                problem = f"index {part} is out of range; {where} has {len(node)} items"
        else:
            problem = f"{where} is {_kind(node)}, not a mapping or list"
        if problem:
            loc = Location(OVERRIDE_FILE, number, col)
            diags.append(source_diagnostic(f"unknown --set path: {problem}", loc, path, "override", hint))
            return
        resolved += (part,)
        if last:
            node[part] = value
        else:
            if isinstance(node, dict) and part not in node:
                node[part] = {}
                smap.set(resolved, Location(OVERRIDE_FILE, number, col))
            node = node[part]
    smap.drop(resolved)
    smap.graft(resolved, vmap)
    smap.set(resolved, Location(OVERRIDE_FILE, number, col))


def collect_overrides(data, smap, overrides: Sequence[str], diags: list) -> None:
    for number, text in enumerate(overrides, 1):
        parsed = _parse_override(text, number, diags)
        if parsed and data is not None:
            _set(data, smap, parsed, number, diags)


def apply_overrides(data: dict, smap: SourceMap, overrides: Sequence[str]) -> None:
    """Apply ``--set PATH=VALUE`` overrides in order, in place; values replace (no merging).

    A key may be added to a mapping, and a missing mapping on the way is created (the schema
    then checks the keys), unless its name is a near miss of a key that is there (``modle`` next
    to ``model``: an error with a did-you-mean); an index out of range, indexing into a scalar
    and a new name in a mapping of declared names (``inputs``, a transform's ``input``) are
    errors. Locations of set values are ``<--set>:N:col``
    where N is the override's 1-based position.
    """
    diags: list[Diagnostic] = []
    collect_overrides(data, smap, overrides, diags)
    if diags:
        raise SpecError(diags)
