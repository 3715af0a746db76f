"""Spec sources: safe YAML loading with key locations, ``extends`` chains and ``--set`` overrides.

Every problem is collected as a located, ``unusable`` ``Diagnostic`` and raised as one
``SpecError``; no yaml or OS exception escapes this module.
"""
from __future__ import annotations

import os
import re
from dataclasses import replace
from pathlib import Path
from typing import Any, Sequence

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from .errors import Diagnostic, Location, SpecError, did_you_mean, format_path

#: Alias-expanded node count above which a document is rejected (billion-laughs guard).
MAX_EXPANDED_NODES = 100_000
#: Pseudo file name of locations that come from ``--set`` overrides (line = override number).
OVERRIDE_FILE = "<--set>"

_T = "tag:yaml.org,2002:"
_MAP, _SEQ, _STR, _MERGE = _T + "map", _T + "seq", _T + "str", _T + "merge"
_COLLECTION_TAGS = {MappingNode: _MAP, SequenceNode: _SEQ}
_C = SafeConstructor()
_SCALARS = {
    _STR: lambda node: node.value,
    _MERGE: lambda node: node.value,  # a bare '<<' outside a key is just text
    _T + "int": _C.construct_yaml_int,
    _T + "float": _C.construct_yaml_float,
    _T + "bool": _C.construct_yaml_bool,
    _T + "null": _C.construct_yaml_null,
}


class _Loader(yaml.SafeLoader):
    """SafeLoader resolving plain scalars to plain data only: timestamps stay strings."""


class _FastLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """The same resolution over libyaml's parser where PyYAML has it: ``_fast_compose`` builds the
    nodes from its events (a large expanded spec loads ~10x faster than with ``_Loader``)."""


for _loader in (_Loader, _FastLoader):
    _loader.yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag not in (_T + "timestamp", _T + "value",
                                                                 _T + "float")]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
# YAML 1.1 floats need a dot, so PyYAML reads `1e-3` as a string; accept exponents without one.
_FLOAT = re.compile(r"""^(?:
     [-+]?[0-9][0-9_]*(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)
    |[-+]?[0-9][0-9_]*\.[0-9_]*
    |[-+]?\.[0-9_]+(?:[eE][-+]?[0-9]+)?
    |[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""", re.X)
_Loader.add_implicit_resolver(_T + "float", _FLOAT, list("-+0123456789."))
_FastLoader.add_implicit_resolver(_T + "float", _FLOAT, list("-+0123456789."))


class SourceMap:
    """Key path -> ``Location``: of the key for mapping entries, of the item for list items.

    Paths are also indexed as a tree (each path's children), so the operations on a sub-tree
    (``subtree``, ``drop``, ``graft``) cost the size of that sub-tree, not of the whole map.
    """

    def __init__(self, file: str = "<spec>", entries: dict | None = None) -> None:
        self.file = file  # fallback for paths with no located ancestor
        self._locs: dict[tuple, Location] = {}
        self._children: dict[tuple, dict[tuple, None]] = {}  # path -> its child paths (an ordered set)
        for path, loc in (entries or {}).items():
            self.set(path, loc)

    def set(self, path: Sequence, loc: Location) -> None:
        path = tuple(path)
        if path not in self._locs:
            self._link(path)
        self._locs[path] = loc

    def _link(self, path: tuple) -> None:
        while path:
            kids = self._children.setdefault(path[:-1], {})
            if path in kids:
                return
            kids[path] = None
            path = path[:-1]

    def get(self, path: Sequence) -> Location | None:
        return self._locs.get(tuple(path))

    def locate(self, path: Sequence) -> Location:
        """Exact location, else the nearest located ancestor, else the start of the file."""
        path = tuple(path)
        for n in range(len(path), -1, -1):
            if path[:n] in self._locs:
                return self._locs[path[:n]]
        return Location(self.file, 1, 1)

    def attach(self, diagnostics: list[Diagnostic]) -> list[Diagnostic]:
        """Give each finding without a location that of its key path (``locate``): the one place
        findings of every kind of spec get their file, line and column."""
        for d in diagnostics:
            if d.location is None:
                d.location = self.locate(d.path)
        return diagnostics

    def items(self):
        return self._locs.items()

    def _walk(self, prefix: tuple):
        """``prefix`` and every path below it (located or not), parents first."""
        stack = [prefix]
        while stack:
            path = stack.pop()
            yield path
            stack.extend(reversed(list(self._children.get(path, ()))))

    def subtree(self, prefix: Sequence) -> dict[tuple, Location]:
        """Entries at or below ``prefix``, keyed by their path relative to it."""
        prefix = tuple(prefix)
        n = len(prefix)
        return {p[n:]: self._locs[p] for p in self._walk(prefix) if p in self._locs}

    def drop(self, prefix: Sequence) -> None:
        prefix = tuple(prefix)
        for path in list(self._walk(prefix)):
            self._locs.pop(path, None)
            self._children.pop(path, None)
        if prefix:
            self._children.get(prefix[:-1], {}).pop(prefix, None)

    def graft(self, prefix: Sequence, entries: dict[tuple, Location]) -> None:
        for rel, loc in entries.items():
            self.set(tuple(prefix) + rel, loc)

    def __contains__(self, path) -> bool:
        return tuple(path) in self._locs

    def __len__(self) -> int:
        return len(self._locs)

    def __repr__(self) -> str:
        return f"SourceMap({self.file!r}, {len(self)} entries)"


# ---------------------------------------------------------------------------------------------
# Single YAML text -> plain data + SourceMap


def _diag(message: str, loc: Location, path: Sequence = (), code: str = "yaml", hint=None):
    # Anything wrong at the source level makes the input unreadable as a spec (exit 2).
    return Diagnostic(message, loc, tuple(path), code=code, hint=hint, unusable=True)


def _mark_loc(file: str, mark) -> Location:
    return Location(file, mark.line + 1, mark.column + 1)


def _index_loc(file: str, text: str, index: int) -> Location:
    line_start = text.rfind("\n", 0, index) + 1
    return Location(file, text.count("\n", 0, index) + 1, index - line_start + 1)


def _short_tag(tag: str) -> str:
    return "!!" + tag[len(_T):] if tag.startswith(_T) else tag


def _kind(value: Any) -> str:
    """``an integer``, ``a list``... for messages about plain YAML values."""
    names = {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean",
             int: "an integer", float: "a float", type(None): "null"}
    return names.get(type(value), type(value).__name__)


def _syntax_diag(err: yaml.MarkedYAMLError, text: str, file: str) -> Diagnostic:
    mark = err.problem_mark or err.context_mark
    loc = _mark_loc(file, mark) if mark else Location(file, 1, 1)
    if mark and text[mark.index : mark.index + 1] == "\t":
        indent = text[text.rfind("\n", 0, mark.index) + 1 : mark.index].strip() == ""
        where = "used for indentation" if indent else "is not allowed here"
        return _diag(f"tab character {where}; use spaces", loc, code="yaml-tab")
    if err.problem == "but found another document":
        return _diag("multiple YAML documents in one file; a spec is a single document", loc,
                     code="yaml-multidoc")
    hint = None
    if err.context and err.context_mark and err.context_mark is not mark:
        cm = err.context_mark
        hint = f"{err.context} at line {cm.line + 1}, column {cm.column + 1}"
    elif err.context:
        hint = err.context
    return _diag(f"invalid YAML: {err.problem or err.context}", loc, code="yaml-syntax", hint=hint)


class _Problem(Exception):
    def __init__(self, diagnostic: Diagnostic) -> None:
        self.diagnostic = diagnostic


def _expanded_size(root: Node, file: str) -> Diagnostic | None:
    """Reject recursive aliases and documents that aliases blow up past MAX_EXPANDED_NODES.

    The composed graph shares aliased nodes, so this memoized count is linear in the file size
    even for a billion-laughs document.
    """
    memo: dict[int, int] = {}
    active: set[int] = set()

    def size(node: Node) -> int:
        if isinstance(node, ScalarNode):
            return 1
        if id(node) in memo:
            return memo[id(node)]
        if id(node) in active:
            raise _Problem(_diag("recursive alias: a collection contains itself",
                                 _mark_loc(file, node.start_mark), code="yaml-alias"))
        active.add(id(node))
        children = node.value if isinstance(node, SequenceNode) else []
        if isinstance(node, MappingNode):
            children = [n for pair in node.value for n in pair]
        total = 1 + sum(size(child) for child in children)
        if total > MAX_EXPANDED_NODES:
            raise _Problem(_diag(
                f"aliases expand this document past {MAX_EXPANDED_NODES} nodes (alias bomb?)",
                _mark_loc(file, node.start_mark), code="yaml-alias"))
        active.discard(id(node))
        memo[id(node)] = total
        return total

    try:
        size(root)
    except _Problem as problem:
        return problem.diagnostic
    return None


class _Builder:
    """Turns a composed node graph into plain data, recording locations and collecting errors.

    Aliased nodes are built once per use, so the result never shares objects (merges and
    overrides mutate it in place).
    """

    def __init__(self, file: str, diags: list[Diagnostic]) -> None:
        self.file, self.diags, self.smap = file, diags, SourceMap(file)

    def error(self, node: Node, message: str, path: tuple, code: str, hint=None) -> None:
        self.diags.append(_diag(message, _mark_loc(self.file, node.start_mark), path, code, hint))

    def value(self, node: Node, path: tuple) -> Any:
        kind = _COLLECTION_TAGS.get(type(node))
        if not (node.tag == kind if kind else node.tag in _SCALARS):
            self.error(node, f"tag '{_short_tag(node.tag)}' is not allowed; a spec holds only "
                       "plain data (mappings, lists, strings, numbers, booleans, null)",
                       path, "yaml-tag")
            return None
        if kind == _MAP:
            return self.mapping(node, path)
        if kind == _SEQ:
            out = []
            for i, item in enumerate(node.value):
                self.smap.set(path + (i,), _mark_loc(self.file, item.start_mark))
                out.append(self.value(item, path + (i,)))
            return out
        try:
            return _SCALARS[node.tag](node)
        except (ValueError, KeyError, TypeError):
            self.error(node, f"invalid {_short_tag(node.tag)} value '{node.value}'", path,
                       "yaml-tag")
            return None

    def mapping(self, node: MappingNode, path: tuple) -> dict:
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                self.merge(out, value_node, path)
        first: dict[str, Node] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                continue
            if not (isinstance(key_node, ScalarNode) and key_node.tag == _STR):
                shown = f" '{key_node.value}'" if isinstance(key_node, ScalarNode) else ""
                self.error(key_node, f"mapping key{shown} must be a string (quote it)", path,
                           "yaml-key")
                continue
            key = key_node.value
            key_path = path + (key,)
            if key in first:
                line = first[key].start_mark.line + 1
                self.error(key_node, f"duplicate key '{key}' (first defined at line {line})",
                           key_path, "duplicate-key")
                self.value(value_node, key_path)  # still look for errors inside it
                continue
            first[key] = key_node
            if key in out:
                self.smap.drop(key_path)  # an explicit key overrides what '<<' merged in
            self.smap.set(key_path, _mark_loc(self.file, key_node.start_mark))
            out[key] = self.value(value_node, key_path)
        return out

    def merge(self, out: dict, node: Node, path: tuple) -> None:
        """YAML merge key ``<<: *base`` (or a list of them): earlier sources win, keys override."""
        for source in node.value if isinstance(node, SequenceNode) else [node]:
            if not (isinstance(source, MappingNode) and source.tag == _MAP):
                self.error(source, "'<<' must merge a mapping or a list of mappings", path,
                           "yaml-merge")
                continue
            sub = _Builder(self.file, self.diags)
            for key, value in sub.mapping(source, path).items():
                if key not in out:
                    out[key] = value
                    self.smap.graft(path + (key,), sub.smap.subtree(path + (key,)))


#: nesting beyond which the fast composer hands the text to ``_Loader`` (specs nest ~20 levels;
#: the slow path then rejects what Python's recursion limit cannot hold, "nested too deeply")
_FAST_MAX_DEPTH = 200


_END_EVENTS = (yaml.SequenceEndEvent, yaml.MappingEndEvent)
_NODE_OF_EVENT = {yaml.ScalarEvent: ScalarNode, yaml.SequenceStartEvent: SequenceNode,
                  yaml.MappingStartEvent: MappingNode}


class _Fallback(Exception):
    """The fast composer met something only ``_Loader`` reports well (errors, deep nesting)."""


def _fast_compose(text: str) -> Node | None:
    """One document's node graph from libyaml's event stream, composed without recursion (the
    C composer recurses per level and crashes on deep input). Same nodes as ``_Loader``."""
    loader = _FastLoader(text)
    try:
        loader.get_event()  # stream start
        if loader.check_event(yaml.StreamEndEvent):
            return None
        loader.get_event()  # document start
        anchors: dict[str, Node] = {}
        stack: list[tuple[Node, list]] = []  # open collections with their pending key (mappings)
        root = None
        while True:
            event = loader.get_event()
            cls = type(event)
            if cls in _END_EVENTS:
                node, pending = stack.pop()
                node.end_mark = event.end_mark
                if pending:
                    raise _Fallback  # a key without a value cannot happen in a well-formed stream
                continue
            if cls is yaml.DocumentEndEvent:
                break
            if cls is yaml.AliasEvent:
                if event.anchor not in anchors:
                    raise _Fallback  # undefined alias: _Loader words the error
                node, kind = anchors[event.anchor], None
            else:
                if event.anchor is not None and event.anchor in anchors:
                    raise _Fallback  # a redefined anchor: let _Loader decide
                kind = _NODE_OF_EVENT[cls]
                tag = event.tag
                if tag is None or tag == "!":
                    tag = loader.resolve(kind, event.value if kind is ScalarNode else None, event.implicit)
                if kind is ScalarNode:
                    node = ScalarNode(tag, event.value, event.start_mark, event.end_mark, style=event.style)
                else:
                    node = kind(tag, [], event.start_mark, None, flow_style=event.flow_style)
                if event.anchor is not None:
                    anchors[event.anchor] = node
            if not stack:
                root = node
            else:
                parent, pending = stack[-1]
                if type(parent) is SequenceNode:
                    parent.value.append(node)
                elif pending:
                    parent.value.append((pending.pop(), node))
                else:
                    pending.append(node)
            if kind is SequenceNode or kind is MappingNode:
                stack.append((node, []))
                if len(stack) > _FAST_MAX_DEPTH:
                    raise _Fallback
        if not loader.check_event(yaml.StreamEndEvent):
            raise _Fallback  # another document follows
        return root
    finally:
        loader.dispose()


def _compose(text: str) -> Node | None:
    """The node graph of one YAML document (with start marks), or None for an empty text; a
    text the fast path does not take is composed by ``_Loader``, raising PyYAML's errors."""
    try:
        return _fast_compose(text)
    except (_Fallback, yaml.YAMLError):
        pass
    loader = _Loader(text)
    try:
        return loader.get_single_node()
    finally:
        loader.dispose()


def _too_deep(text: str, file: str) -> Location:
    """Where the nesting of ``text`` first passes ``_FAST_MAX_DEPTH`` levels, from libyaml's event
    stream (which does not recurse; it slows down with depth, so the scan stops there)."""
    loader = _FastLoader(text)
    depth = 0
    try:
        while not loader.check_event(yaml.StreamEndEvent):
            event = loader.get_event()
            if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
                depth += 1
                if depth > _FAST_MAX_DEPTH:
                    return _mark_loc(file, event.start_mark)
            elif isinstance(event, _END_EVENTS):
                depth -= 1
    except yaml.YAMLError:
        pass
    finally:
        loader.dispose()
    return Location(file, 1, 1)


def _parse(text: str, file: str, document: bool = True) -> tuple[Any, SourceMap, list]:
    """YAML text -> (value, smap, diagnostics); the value is None when unusable.

    ``document`` requires a non-empty mapping at the top (a spec); otherwise any value goes
    and empty text is null (an override value).
    """
    builder = _Builder(file, [])
    try:
        root = _compose(text)
        if root is None:
            if not document:
                return None, builder.smap, []
            problem = _diag("empty spec file", Location(file, 1, 1), code="yaml-empty")
        elif document and not isinstance(root, MappingNode):
            kind = "list" if isinstance(root, SequenceNode) else "single value"
            problem = _diag(f"the top level of a spec must be a mapping of keys, got a {kind}",
                            _mark_loc(file, root.start_mark), code="yaml-top")
        else:  # without a '*' the text has no alias to expand
            problem = _expanded_size(root, file) if "*" in text else None
        if not problem:
            value = builder.value(root, ())
            # an aliased node is built once per use: report each of its problems once
            unique = {(d.location, d.message): d for d in builder.diags}
            return value, builder.smap, list(unique.values())
    except yaml.MarkedYAMLError as err:
        problem = _syntax_diag(err, text, file)
    except yaml.reader.ReaderError as err:
        problem = _diag(f"character U+{err.character:04X} is not allowed in YAML",
                        _index_loc(file, text, err.position), code="yaml-syntax")
    except RecursionError:
        problem = _diag(f"document is nested too deeply (more than {_FAST_MAX_DEPTH} levels here; specs nest "
                        "about 20)", _too_deep(text, file), code="yaml-syntax")
    return None, builder.smap, [problem]


def _read_text(file: str, where: Location, path: tuple = ()) -> tuple[str | None, Any]:
    """Read and decode a file; I/O problems are reported at ``where`` (e.g. an ``extends`` key)."""
    try:
        raw = Path(file).read_bytes()
    except FileNotFoundError:
        return None, _diag(f"file not found: {file}", where, path, code="io")
    except IsADirectoryError:
        return None, _diag(f"is a directory, not a spec file: {file}", where, path, code="io")
    except (OSError, ValueError) as err:  # ValueError: NUL byte in the path
        reason = getattr(err, "strerror", None) or err
        return None, _diag(f"cannot read {file}: {reason}", where, path, code="io")
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError as err:
        line_start = raw.rfind(b"\n", 0, err.start) + 1
        col = len(raw[line_start:err.start].decode("utf-8", "replace")) + 1
        loc = Location(file, raw.count(b"\n", 0, err.start) + 1, col)
        return None, _diag(f"file is not valid UTF-8 (byte 0x{raw[err.start]:02x})", loc,
                           code="encoding")


def load_text(text: str, filename: str = "<string>") -> tuple[dict, SourceMap]:
    """Parse one YAML document that must be a mapping; raise ``SpecError`` with every problem."""
    data, smap, diags = _parse(text, filename)
    if diags:
        raise SpecError(diags)
    return data, smap


def load_yaml(path: str | Path) -> tuple[dict, SourceMap]:
    """Read one YAML spec file (no ``extends`` processing)."""
    file = str(path)
    text, problem = _read_text(file, Location(file, 1, 1))
    if problem:
        raise SpecError([problem])
    return load_text(text, file)


# ---------------------------------------------------------------------------------------------
# extends


def _merge_over(base: dict, bmap: SourceMap, child: dict, cmap: SourceMap, path: tuple = ()):
    """Deep-merge ``child`` into ``base``: mappings recurse, lists/scalars replace, null removes."""
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
            _merge_over(base[key], bmap, value, cmap, key_path)
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
    diags.append(_diag("extends must be a file path or a list of file paths",
                       smap.locate(("extends",)), ("extends",), code="extends"))
    return []


def _resolve(file: str, where: Location, where_path: tuple, stack: tuple, diags: list):
    """Load ``file`` with its ``extends`` parents merged in; None when it cannot be used."""
    real = os.path.realpath(file)
    seen = [r for r, _ in stack]
    if real in seen:
        chain = [shown for _, shown in stack[seen.index(real):]] + [file]
        diags.append(_diag(f"extends cycle: {' -> '.join(chain)}", where, where_path,
                           code="extends-cycle"))
        return None
    text, problem = _read_text(file, where, where_path)
    if problem:
        diags.append(problem)
        return None
    data, smap, errors = _parse(text, file)
    diags.extend(errors)
    if data is None or "extends" not in data:
        return None if data is None else (data, smap)
    result = None
    for ref, ref_path in _extends_refs(data, smap, diags):
        parent = os.path.normpath(os.path.join(os.path.dirname(file), ref))
        loaded = _resolve(parent, smap.locate(ref_path), ref_path, stack + ((real, file),), diags)
        if loaded and _other_kind(data, loaded[0], smap.locate(ref_path), ref_path, diags):
            continue
        if loaded and result:
            _merge_over(*result, *loaded)
        elif loaded:
            result = loaded  # the first parent is taken as is: its own nulls are values
    smap.drop(("extends",))
    base, bmap = result or ({}, SourceMap(file))
    bmap.file = file
    _merge_over(base, bmap, data, smap)
    return base, bmap


def _other_kind(child: dict, parent: dict, where: Location, where_path: tuple, diags: list) -> bool:
    """Report a parent of another ``kind`` (a model spec extending a transform spec): its keys
    mean nothing to the child's schema, so one line at ``extends`` says so instead of each key."""
    mine, theirs = child.get("kind"), parent.get("kind")
    if not (isinstance(mine, str) and isinstance(theirs, str)) or mine == theirs:
        return False
    diags.append(_diag(f"the parent is a {theirs} spec; a {mine} spec extends {mine} specs", where,
                       where_path, code="extends-kind"))
    return True


def load_document(path: str | Path, overrides: Sequence[str] = ()) -> tuple[dict, SourceMap]:
    """Load a spec with its ``extends`` chain resolved and ``--set`` overrides applied.

    Locations point into whichever file (or override) defined each value.
    """
    file, diags = str(path), []
    loaded = _resolve(file, Location(file, 1, 1), (), (), diags)
    data, smap = loaded if loaded and not diags else (None, None)
    _apply(data, smap, overrides, diags)  # still checks override syntax when the file failed
    if diags:
        raise SpecError(diags)
    return data, smap


# ---------------------------------------------------------------------------------------------
# --set overrides

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
        diags.append(_diag(message, Location(OVERRIDE_FILE, number, col), path, "override", hint))

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
    value, vmap, errors = _parse(value_text, OVERRIDE_FILE, document=False)

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
            diags.append(_diag(f"unknown --set path: {problem}", loc, path, "override", hint))
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


def _apply(data, smap, overrides: Sequence[str], diags: list) -> None:
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
    _apply(data, smap, overrides, diags)
    if diags:
        raise SpecError(diags)


# ---------------------------------------------------------------------------------------------
# dumping

_FLOW_MAX_ITEMS = 12


class _Dumper(yaml.SafeDumper):
    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)  # indent block lists under their key


def _represent_list(dumper: _Dumper, data) -> yaml.Node:
    scalars = all(isinstance(x, (int, float, bool, type(None))) or
                  (isinstance(x, str) and "\n" not in x and len(x) < 40) for x in data)
    flow = scalars and len(data) <= _FLOW_MAX_ITEMS
    return dumper.represent_sequence(_SEQ, data, flow_style=flow)


_Dumper.add_implicit_resolver(_T + "float", _FLOAT, list("-+0123456789."))  # quote "1e-3"
_Dumper.add_representer(list, _represent_list)
_Dumper.add_representer(tuple, _represent_list)


def yaml_dump(data: Any) -> str:
    """Plain data as readable block YAML in insertion order; short scalar lists (and tuples)
    as ``[1, 7, 7]``. The output loads back to the same data with ``load_text``."""
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, default_flow_style=False,
                     allow_unicode=True, width=100)
