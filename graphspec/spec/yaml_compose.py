"""YAML text -> node graph: PyYAML's safe loaders resolving plain data only, and a composer over
libyaml's event stream that does not recurse (``compose``). The nodes keep their start marks, from
which ``yaml_load`` builds the data and its locations."""
from __future__ import annotations

import re

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from .errors import Location

YAML_TAG = "tag:yaml.org,2002:"
MAP_TAG, SEQ_TAG, STR_TAG, MERGE_TAG = YAML_TAG + "map", YAML_TAG + "seq", YAML_TAG + "str", YAML_TAG + "merge"
FLOAT_TAG = YAML_TAG + "float"


class _Loader(yaml.SafeLoader):
    """SafeLoader resolving plain scalars to plain data only: timestamps stay strings."""


class _FastLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """The same resolution over libyaml's parser where PyYAML has it: ``_fast_compose`` builds the
    nodes from its events (a large expanded spec loads ~10x faster than with ``_Loader``)."""


for _loader in (_Loader, _FastLoader):
    _loader.yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag not in (YAML_TAG + "timestamp", YAML_TAG + "value",
                                                                 FLOAT_TAG)]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
# YAML 1.1 floats need a dot, so PyYAML reads `1e-3` as a string; accept exponents without one.
FLOAT_PATTERN = re.compile(r"""^(?:
     [-+]?[0-9][0-9_]*(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)
    |[-+]?[0-9][0-9_]*\.[0-9_]*
    |[-+]?\.[0-9_]+(?:[eE][-+]?[0-9]+)?
    |[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""", re.X)
_Loader.add_implicit_resolver(FLOAT_TAG, FLOAT_PATTERN, list("-+0123456789."))
_FastLoader.add_implicit_resolver(FLOAT_TAG, FLOAT_PATTERN, list("-+0123456789."))


def mark_location(file: str, mark) -> Location:
    return Location(file, mark.line + 1, mark.column + 1)


#: nesting beyond which the fast composer hands the text to ``_Loader`` (specs nest ~20 levels;
#: the slow path then rejects what Python's recursion limit cannot hold, "nested too deeply")
FAST_MAX_DEPTH = 200


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
                if len(stack) > FAST_MAX_DEPTH:
                    raise _Fallback
        if not loader.check_event(yaml.StreamEndEvent):
            raise _Fallback  # another document follows
        return root
    finally:
        loader.dispose()


def compose(text: str) -> Node | None:
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


def too_deep(text: str, file: str) -> Location:
    """Where the nesting of ``text`` first passes ``FAST_MAX_DEPTH`` levels, from libyaml's event
    stream (which does not recurse; it slows down with depth, so the scan stops there)."""
    loader = _FastLoader(text)
    depth = 0
    try:
        while not loader.check_event(yaml.StreamEndEvent):
            event = loader.get_event()
            if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
                depth += 1
                if depth > FAST_MAX_DEPTH:
                    return mark_location(file, event.start_mark)
            elif isinstance(event, _END_EVENTS):
                depth -= 1
    except yaml.YAMLError:
        pass
    finally:
        loader.dispose()
    return Location(file, 1, 1)
