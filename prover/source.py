"""Reading untrusted YAML safely, keeping where every value came from.

PyYAML's safe composer builds the node tree (with line and column marks); anchors and aliases
are refused outright (no alias bombs), and so is anything that is not text, too large, or
nested too deeply. `Located` pairs the plain data with a position map that the pydantic
models' error locations are looked up in. Read next: `proofs.py`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .kernel.errors import Limits

Pos = tuple[int, int]  # 1-based line and column


class SourceError(Exception):
    """A file that cannot be used at all: unreadable, not YAML, or not the right shape."""

    def __init__(self, message: str, line: int = 0, col: int = 0, help: str = ""):
        super().__init__(message)
        self.message, self.line, self.col, self.help = message, line, col, help


@dataclass
class Located:
    data: Any
    positions: dict[tuple, Pos] = field(default_factory=dict)  # path -> position of the value
    key_positions: dict[tuple, Pos] = field(default_factory=dict)  # path -> position of its key
    text: str = ""

    def pos(self, path: tuple) -> Pos:
        """The position of the value at path, or of the nearest enclosing one."""
        path = tuple(path)
        while path:
            if path in self.positions:
                return self.positions[path]
            path = path[:-1]
        return self.positions.get((), (1, 1))

    def key_pos(self, path: tuple) -> Pos:
        return self.key_positions.get(tuple(path)) or self.pos(path)


class _NoAliasLoader(yaml.SafeLoader):
    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            ev = self.peek_event()
            raise SourceError("YAML aliases (*name) are not allowed here", ev.start_mark.line + 1,
                              ev.start_mark.column + 1, "write the value out in full")
        ev = self.peek_event()
        if getattr(ev, "anchor", None):
            raise SourceError("YAML anchors (&name) are not allowed here", ev.start_mark.line + 1,
                              ev.start_mark.column + 1, "write the value out in full")
        return super().compose_node(parent, index)


def read_text(path: Path) -> str:
    """A regular file's text, within the size limit. Anything else (a folder, a FIFO, a device
    such as /dev/zero) is refused before it is opened, so nothing blocks or reads without end;
    the read itself stops one byte past the limit whatever the file claims its size is."""
    import stat

    try:
        st = path.stat()
    except (OSError, ValueError) as exc:
        raise SourceError(f"cannot read the file: {getattr(exc, 'strerror', None) or exc}") from None
    if not stat.S_ISREG(st.st_mode):
        raise SourceError("not a regular file (a folder, a pipe or a device)")
    if st.st_size > Limits.max_file_bytes:
        raise SourceError(f"the file is {st.st_size:,} bytes; the limit is {Limits.max_file_bytes:,}")
    try:
        with open(path, "rb") as fh:
            raw = fh.read(Limits.max_file_bytes + 1)
    except OSError as exc:
        raise SourceError(f"cannot read the file: {exc.strerror or exc}") from None
    if len(raw) > Limits.max_file_bytes:
        raise SourceError(f"the file is over the limit of {Limits.max_file_bytes:,} bytes")
    return decode_text(raw, "this is a binary file, not YAML text", "the file is not UTF-8 text")


def decode_text(raw: bytes, binary: str, not_utf8: str) -> str:
    """Bytes as text (a UTF-8 BOM dropped); a SourceError with `binary` when they hold a NUL,
    or `not_utf8` and the offending byte when they are not UTF-8."""
    if b"\0" in raw:
        raise SourceError(binary)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SourceError(f"{not_utf8} (byte {exc.start})") from None


_FAST = getattr(yaml, "CSafeLoader", None)
_OPEN = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
_CLOSE = (yaml.MappingEndEvent, yaml.SequenceEndEvent)


def _fast_node(text: str):
    """The node tree from libyaml, when it is installed and the text is unremarkable: first a
    pass over the events (no aliases, no anchors, not nested deeper than the converter allows,
    which also keeps libyaml's own recursion shallow), then the composition. Returns None at
    the first doubt; the pure-Python reader then reads the text again and words the error."""
    if _FAST is None:
        return None
    try:
        depth = 0
        for ev in yaml.parse(text, Loader=_FAST):
            if isinstance(ev, yaml.AliasEvent) or getattr(ev, "anchor", None):
                return None
            if isinstance(ev, _OPEN):
                depth += 1
                if depth > 40:
                    return None
            elif isinstance(ev, _CLOSE):
                depth -= 1
        loader = _FAST(text)
        try:
            return loader.get_single_node()
        finally:
            loader.dispose()
    except (yaml.YAMLError, RecursionError, ValueError, TypeError):
        return None


def load_yaml(text: str) -> Located:
    if not text.strip():
        raise SourceError("the file is empty", 1, 1)
    node = _fast_node(text)
    if node is not None:
        out = Located(None, text=text)
        out.data = _convert(node, (), out, None, 0)
        return out
    try:
        loader = _NoAliasLoader(text)
    except yaml.YAMLError as exc:  # e.g. a control character the reader refuses
        pos = getattr(exc, "position", 0) or 0
        line, col = text.count("\n", 0, pos) + 1, pos - text.rfind("\n", 0, pos)
        char = getattr(exc, "character", None)
        if isinstance(char, int):
            char = f"U+{char:04X}"
        what = f"the character {char} is not allowed in YAML" if char else str(exc)
        raise SourceError(f"not valid YAML: {what}", line, col) from None
    try:
        node = loader.get_single_node()
    except SourceError:
        raise
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        raise SourceError(f"not valid YAML: {exc.problem or exc.context}", line, col) from None
    except yaml.YAMLError as exc:
        raise SourceError(f"not valid YAML: {exc}") from None
    except RecursionError:
        raise SourceError("the YAML nests too deeply") from None
    finally:
        loader.dispose()
    if node is None:
        raise SourceError("the file is empty", 1, 1)
    out = Located(None, text=text)
    out.data = _convert(node, (), out, loader, 0)
    return out


def _mark(node) -> Pos:
    line, col = node.start_mark.line + 1, node.start_mark.column + 1
    if isinstance(node, yaml.ScalarNode) and node.style in ("'", '"'):
        col += 1  # point at the text, not the quote
    elif isinstance(node, yaml.ScalarNode) and node.style in ("|", ">"):
        line, col = line + 1, 1
    return line, col


def _convert(node, path: tuple, out: Located, loader, depth: int) -> Any:
    if depth > 40:
        raise SourceError("the YAML nests too deeply", *_mark(node))
    out.positions[path] = _mark(node)
    if isinstance(node, yaml.MappingNode):
        result: dict = {}
        for k, v in node.value:
            if not isinstance(k, yaml.ScalarNode):
                raise SourceError("a mapping key must be plain text", *_mark(k))
            key = k.value
            if key in result:
                raise SourceError(f"the key {key!r} appears twice", *_mark(k))
            out.key_positions[path + (key,)] = _mark(k)
            result[key] = _convert(v, path + (key,), out, loader, depth + 1)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_convert(v, path + (i,), out, loader, depth + 1) for i, v in enumerate(node.value)]
    tag = node.tag
    if tag.endswith(":int"):
        try:
            return int(node.value.replace("_", ""), 0)
        except ValueError:
            return node.value
    if tag.endswith(":bool"):
        return node.value.lower() in ("true", "yes", "on", "y")
    if tag.endswith(":null"):
        return None
    return node.value  # everything else (floats included) stays text: expressions are text
