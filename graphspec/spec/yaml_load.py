"""Single YAML text -> plain data + ``SourceMap``: safe loading with key locations.

Every problem is collected as a located, ``unusable`` ``Diagnostic`` and raised as one
``SpecError``; no yaml or OS exception escapes.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from .errors import Diagnostic, Location, SpecError
from .sourcemap import SourceMap
from .yaml_compose import (FAST_MAX_DEPTH, FLOAT_TAG, MAP_TAG, MERGE_TAG, SEQ_TAG, STR_TAG, YAML_TAG, compose,
                           mark_location, too_deep)

#: Alias-expanded node count above which a document is rejected (billion-laughs guard).
MAX_EXPANDED_NODES = 100_000

_COLLECTION_TAGS = {MappingNode: MAP_TAG, SequenceNode: SEQ_TAG}
_C = SafeConstructor()
_SCALARS = {
    STR_TAG: lambda node: node.value,
    MERGE_TAG: lambda node: node.value,  # a bare '<<' outside a key is just text
    YAML_TAG + "int": _C.construct_yaml_int,
    FLOAT_TAG: _C.construct_yaml_float,
    YAML_TAG + "bool": _C.construct_yaml_bool,
    YAML_TAG + "null": _C.construct_yaml_null,
}


def source_diagnostic(message: str, loc: Location, path: Sequence = (), code: str = "yaml", hint=None):
    # Anything wrong at the source level makes the input unreadable as a spec (exit 2).
    return Diagnostic(message, loc, tuple(path), code=code, hint=hint, unusable=True)




def _index_loc(file: str, text: str, index: int) -> Location:
    line_start = text.rfind("\n", 0, index) + 1
    return Location(file, text.count("\n", 0, index) + 1, index - line_start + 1)


def _short_tag(tag: str) -> str:
    return "!!" + tag[len(YAML_TAG):] if tag.startswith(YAML_TAG) else tag


def _syntax_diag(err: yaml.MarkedYAMLError, text: str, file: str) -> Diagnostic:
    mark = err.problem_mark or err.context_mark
    loc = mark_location(file, mark) if mark else Location(file, 1, 1)
    if mark and text[mark.index : mark.index + 1] == "\t":
        indent = text[text.rfind("\n", 0, mark.index) + 1 : mark.index].strip() == ""
        where = "used for indentation" if indent else "is not allowed here"
        return source_diagnostic(f"tab character {where}; use spaces", loc, code="yaml-tab")
    if err.problem == "but found another document":
        return source_diagnostic("multiple YAML documents in one file; a spec is a single document", loc,
                     code="yaml-multidoc")
    hint = None
    if err.context and err.context_mark and err.context_mark is not mark:
        cm = err.context_mark
        hint = f"{err.context} at line {cm.line + 1}, column {cm.column + 1}"
    elif err.context:
        hint = err.context
    return source_diagnostic(f"invalid YAML: {err.problem or err.context}", loc, code="yaml-syntax", hint=hint)


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
            raise _Problem(source_diagnostic("recursive alias: a collection contains itself",
                                 mark_location(file, node.start_mark), code="yaml-alias"))
        active.add(id(node))
        children = node.value if isinstance(node, SequenceNode) else []
        if isinstance(node, MappingNode):
            children = [n for pair in node.value for n in pair]
        total = 1 + sum(size(child) for child in children)
        if total > MAX_EXPANDED_NODES:
            raise _Problem(source_diagnostic(
                f"aliases expand this document past {MAX_EXPANDED_NODES} nodes (alias bomb?)",
                mark_location(file, node.start_mark), code="yaml-alias"))
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
        self.diags.append(source_diagnostic(message, mark_location(self.file, node.start_mark), path, code, hint))

    def value(self, node: Node, path: tuple) -> Any:
        kind = _COLLECTION_TAGS.get(type(node))
        if not (node.tag == kind if kind else node.tag in _SCALARS):
            self.error(node, f"tag '{_short_tag(node.tag)}' is not allowed; a spec holds only "
                       "plain data (mappings, lists, strings, numbers, booleans, null)",
                       path, "yaml-tag")
            return None
        if kind == MAP_TAG:
            return self.mapping(node, path)
        if kind == SEQ_TAG:
            out = []
            for i, item in enumerate(node.value):
                self.smap.set(path + (i,), mark_location(self.file, item.start_mark))
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
            if key_node.tag == MERGE_TAG:
                self.merge(out, value_node, path)
        first: dict[str, Node] = {}
        for key_node, value_node in node.value:
            if key_node.tag == MERGE_TAG:
                continue
            if not (isinstance(key_node, ScalarNode) and key_node.tag == STR_TAG):
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
            self.smap.set(key_path, mark_location(self.file, key_node.start_mark))
            out[key] = self.value(value_node, key_path)
        return out

    def merge(self, out: dict, node: Node, path: tuple) -> None:
        """YAML merge key ``<<: *base`` (or a list of them): earlier sources win, keys override."""
        for source in node.value if isinstance(node, SequenceNode) else [node]:
            if not (isinstance(source, MappingNode) and source.tag == MAP_TAG):
                self.error(source, "'<<' must merge a mapping or a list of mappings", path,
                           "yaml-merge")
                continue
            sub = _Builder(self.file, self.diags)
            for key, value in sub.mapping(source, path).items():
                if key not in out:
                    out[key] = value
                    self.smap.graft(path + (key,), sub.smap.subtree(path + (key,)))


def parse_text(text: str, file: str, document: bool = True) -> tuple[Any, SourceMap, list]:
    """YAML text -> (value, smap, diagnostics); the value is None when unusable.

    ``document`` requires a non-empty mapping at the top (a spec); otherwise any value goes
    and empty text is null (an override value).
    """
    builder = _Builder(file, [])
    try:
        root = compose(text)
        if root is None:
            if not document:
                return None, builder.smap, []
            problem = source_diagnostic("empty spec file", Location(file, 1, 1), code="yaml-empty")
        elif document and not isinstance(root, MappingNode):
            kind = "list" if isinstance(root, SequenceNode) else "single value"
            problem = source_diagnostic(f"the top level of a spec must be a mapping of keys, got a {kind}",
                            mark_location(file, root.start_mark), code="yaml-top")
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
        problem = source_diagnostic(f"character U+{err.character:04X} is not allowed in YAML",
                        _index_loc(file, text, err.position), code="yaml-syntax")
    except RecursionError:
        problem = source_diagnostic(f"document is nested too deeply (more than {FAST_MAX_DEPTH} levels here; specs nest "
                        "about 20)", too_deep(text, file), code="yaml-syntax")
    return None, builder.smap, [problem]


def read_text(file: str, where: Location, path: tuple = ()) -> tuple[str | None, Any]:
    """Read and decode a file; I/O problems are reported at ``where`` (e.g. an ``extends`` key)."""
    try:
        raw = Path(file).read_bytes()
    except FileNotFoundError:
        return None, source_diagnostic(f"file not found: {file}", where, path, code="io")
    except IsADirectoryError:
        return None, source_diagnostic(f"is a directory, not a spec file: {file}", where, path, code="io")
    except (OSError, ValueError) as err:  # ValueError: NUL byte in the path
        reason = getattr(err, "strerror", None) or err
        return None, source_diagnostic(f"cannot read {file}: {reason}", where, path, code="io")
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError as err:
        line_start = raw.rfind(b"\n", 0, err.start) + 1
        col = len(raw[line_start:err.start].decode("utf-8", "replace")) + 1
        loc = Location(file, raw.count(b"\n", 0, err.start) + 1, col)
        return None, source_diagnostic(f"file is not valid UTF-8 (byte 0x{raw[err.start]:02x})", loc,
                           code="encoding")


def load_text(text: str, filename: str = "<string>") -> tuple[dict, SourceMap]:
    """Parse one YAML document that must be a mapping; raise ``SpecError`` with every problem."""
    data, smap, diags = parse_text(text, filename)
    if diags:
        raise SpecError(diags)
    return data, smap


def load_yaml(path: str | Path) -> tuple[dict, SourceMap]:
    """Read one YAML spec file (no ``extends`` processing)."""
    file = str(path)
    text, problem = read_text(file, Location(file, 1, 1))
    if problem:
        raise SpecError([problem])
    return load_text(text, file)
