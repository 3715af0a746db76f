"""``extends`` chains: a spec file with its parents deep-merged under it."""
from __future__ import annotations

import os

from .errors import Location
from .sourcemap import SourceMap
from .yaml_load import parse_text, read_text, source_diagnostic


def merge_over(base: dict, bmap: SourceMap, child: dict, cmap: SourceMap, path: tuple = ()):
    """Deep-merge ``child`` into ``base`` in place, locations too (``cmap`` into ``bmap``): mappings
    recurse, lists/scalars replace, null removes."""
    for key, value in child.items():
        key_path = path + (key,)
        if value is None:
            base.pop(key, None)
            bmap.drop(key_path)
        elif isinstance(value, dict):
            if not isinstance(base.get(key), dict):
                base[key] = {}
                bmap.drop(key_path)
            bmap.set(key_path, cmap.locate(key_path))
            merge_over(base[key], bmap, value, cmap, key_path)
        else:
            base[key] = value
            bmap.drop(key_path)
            bmap.graft(key_path, cmap.subtree(key_path))


def _extends_refs(data: dict, smap: SourceMap, diags: list) -> list[tuple[str, tuple]]:
    """The ``extends`` entry as [(relative path, key path)], reporting a malformed one."""
    value = data.pop("extends")
    items = [value] if isinstance(value, str) else value
    if isinstance(items, list) and all(isinstance(v, str) and v.strip() for v in items):
        one = isinstance(value, str)
        return [(v, ("extends",) if one else ("extends", i)) for i, v in enumerate(items)]
    diags.append(source_diagnostic("extends must be a file path or a list of file paths",
                       smap.locate(("extends",)), ("extends",), code="extends"))
    return []


def resolve_extends(file: str, where: Location, where_path: tuple, stack: tuple, diags: list):
    """Load ``file`` with its ``extends`` parents merged in; None when it cannot be used."""
    real = os.path.realpath(file)
    seen = [r for r, _ in stack]
    if real in seen:
        chain = [shown for _, shown in stack[seen.index(real):]] + [file]
        diags.append(source_diagnostic(f"extends cycle: {' -> '.join(chain)}", where, where_path,
                           code="extends-cycle"))
        return None
    text, problem = read_text(file, where, where_path)
    if problem:
        diags.append(problem)
        return None
    data, smap, errors = parse_text(text, file)
    diags.extend(errors)
    if data is None or "extends" not in data:
        return None if data is None else (data, smap)
    result = None
    for ref, ref_path in _extends_refs(data, smap, diags):
        parent = os.path.normpath(os.path.join(os.path.dirname(file), ref))
        loaded = resolve_extends(parent, smap.locate(ref_path), ref_path, stack + ((real, file),), diags)
        if loaded and _other_kind(data, loaded[0], smap.locate(ref_path), ref_path, diags):
            continue
        if loaded and result:
            merge_over(*result, *loaded)
        elif loaded:
            result = loaded  # the first parent is taken as is: its own nulls are values
    smap.drop(("extends",))
    base, bmap = result or ({}, SourceMap(file))
    bmap.file = file
    merge_over(base, bmap, data, smap)
    return base, bmap


def _other_kind(child: dict, parent: dict, where: Location, where_path: tuple, diags: list) -> bool:
    """Report a parent of another ``kind`` (a model spec extending a transform spec): its keys
    mean nothing to the child's schema, so one line at ``extends`` says so instead of each key."""
    mine, theirs = child.get("kind"), parent.get("kind")
    if not (isinstance(mine, str) and isinstance(theirs, str)) or mine == theirs:
        return False
    diags.append(source_diagnostic(f"the parent is a {theirs} spec; a {mine} spec extends {mine} specs", where,
                       where_path, code="extends-kind"))
    return True
