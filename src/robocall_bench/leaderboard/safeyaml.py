"""Loading untrusted YAML: size-limited, safe tags only, no anchors/aliases, no duplicate keys."""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from ..errors import RcbError

MAX_EVENTS = 5000  # an entry.yaml has a few dozen nodes; this bounds parsing work
MAX_DEPTH = 10
SAFE_TAGS = {f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "bool", "null", "map", "seq")}


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that rejects duplicate mapping keys (a second ``entry_id:`` would silently win)."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def load_yaml_text(text: str, where: str) -> object:
    """Parse ``text`` as untrusted YAML; RcbError naming ``where`` when it is unsafe or invalid.

    Anchors and aliases are refused outright: they are what "billion laughs" documents use to expand
    a few hundred bytes into gigabytes. Python-specific and other non-standard tags are refused by
    the safe loader.
    """
    try:
        depth = 0
        for n, ev in enumerate(yaml.parse(text, Loader=yaml.SafeLoader)):
            if n > MAX_EVENTS:
                raise RcbError(f"{where}: YAML has more than {MAX_EVENTS} nodes; an entry.yaml is small")
            if isinstance(ev, yaml.AliasEvent) or getattr(ev, "anchor", None):
                raise RcbError(
                    f"{where}: YAML anchors/aliases (&, *) are not allowed; write values out in full"
                )
            tag = getattr(ev, "tag", None)
            if tag and tag not in SAFE_TAGS:
                raise RcbError(f"{where}: YAML tag {tag!r} is not allowed; use plain values")
            if isinstance(ev, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    raise RcbError(f"{where}: YAML nested deeper than {MAX_DEPTH} levels")
            elif isinstance(ev, yaml.CollectionEndEvent):
                depth -= 1
        return yaml.load(text, Loader=_StrictLoader)
    except yaml.YAMLError as e:
        raise RcbError(f"{where}: invalid or unsafe YAML: {str(e).splitlines()[0]} ({e})") from e


def load_yaml_file(path: str | os.PathLike, max_bytes: int) -> object:
    """Read and parse a YAML file of at most ``max_bytes`` bytes (checked before reading)."""
    p = Path(path)
    if not p.is_file():
        raise RcbError(f"{p} not found")
    size = p.stat().st_size
    if size > max_bytes:
        raise RcbError(f"{p}: {size} bytes exceeds the limit of {max_bytes} bytes for this file")
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise RcbError(f"{p}: not UTF-8 ({e})") from e
    return load_yaml_text(text, str(p))
