"""Plain data as readable block YAML (what ``expand`` and the train run folder write)."""
from __future__ import annotations

from typing import Any

import yaml

from .yaml_compose import FLOAT_PATTERN, FLOAT_TAG, SEQ_TAG

_FLOW_MAX_ITEMS = 12


class _Dumper(yaml.SafeDumper):
    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)  # indent block lists under their key


def _represent_list(dumper: _Dumper, data) -> yaml.Node:
    scalars = all(isinstance(x, (int, float, bool, type(None))) or
                  (isinstance(x, str) and "\n" not in x and len(x) < 40) for x in data)
    flow = scalars and len(data) <= _FLOW_MAX_ITEMS
    return dumper.represent_sequence(SEQ_TAG, data, flow_style=flow)


_Dumper.add_implicit_resolver(FLOAT_TAG, FLOAT_PATTERN, list("-+0123456789."))  # quote "1e-3"
_Dumper.add_representer(list, _represent_list)
_Dumper.add_representer(tuple, _represent_list)


def yaml_dump(data: Any) -> str:
    """Plain data as readable block YAML in insertion order; short scalar lists (and tuples)
    as ``[1, 7, 7]``. The output loads back to the same data with ``load_text``."""
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, default_flow_style=False,
                     allow_unicode=True, width=100)
