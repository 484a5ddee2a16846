"""Reading untrusted YAML safely, keeping where every value came from.

PyYAML's safe composer builds the node tree (with line and column marks); anchors and aliases
are refused outright (no alias bombs), and so is anything that is not text, too large, or
nested too deeply. `Located` pairs the plain data with a position map that the pydantic
models' error locations are looked up in. Read next: `proofs.py`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

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
# libyaml's parser alone (CSafeLoader's events without its constructor and resolver mixins,
# which the event loop does not use)
_PARSER = getattr(getattr(yaml, "cyaml", None), "CParser", None) if _FAST is not None else None


MAX_DEPTH = 40  # the deepest nesting of collections that `fast_load` reads

_RESOLVER = yaml.resolver.Resolver()
_PLAIN: dict[str, Any] = {}  # plain scalars repeat across files: their values, when short
_MISS = object()
_QUOTED = frozenset(("'", '"'))
_BLOCK = frozenset(("|", ">"))


def _scalar(ev) -> Any:
    """A scalar event's value, converted as `_convert` converts a scalar node."""
    tag = ev.tag
    if tag is not None and tag != "!":
        return _value(tag, ev.value)
    if not ev.implicit[0]:  # quoted or a block: the resolver gives every such scalar str
        return ev.value
    hit = _PLAIN.get(ev.value, _MISS)
    return _plain(ev.value) if hit is _MISS else hit


def _plain(value: str) -> Any:
    """A plain scalar's value (no tag), remembered when the text is short."""
    hit = _value(_RESOLVER.resolve(yaml.ScalarNode, value, (True, False)), value)
    if len(value) <= 200:  # (a bounded memo: at most 20,000 short texts)
        if len(_PLAIN) >= 20_000:
            _PLAIN.clear()
        _PLAIN[value] = hit
    return hit


def fast_load(text: str, watch: Optional[Callable[[Any], None]] = None) -> Optional[Located]:
    """One pass over libyaml's events, building the data and the positions as `_convert` builds
    them from the node tree (the same values, positions and errors), with `watch(event)` called
    on every event first (it may raise to stop the read). Returns None at the first doubt —
    an alias or an anchor, nesting deeper than 40, a YAML error, more than one document, no
    libyaml — and the caller then reads the text the slow way."""
    got = fast_load_sized(text, watch)
    return None if got is None else got[0]


def fast_load_sized(text: str, watch: Optional[Callable[[Any], None]] = None
                    ) -> Optional[tuple[Located, int]]:
    """`fast_load`, and also the most children (items of a list, keys of a mapping) that any
    one collection of the text has, so that a caller can tell from the data alone that no
    limit on a list's length was crossed."""
    if _PARSER is None:
        return None
    ScalarEvent, MappingStartEvent = yaml.ScalarEvent, yaml.MappingStartEvent
    SequenceStartEvent, DocumentStartEvent = yaml.SequenceStartEvent, yaml.DocumentStartEvent
    MappingEndEvent, SequenceEndEvent = yaml.MappingEndEvent, yaml.SequenceEndEvent
    quoted, block, scalar, plain, miss = _QUOTED, _BLOCK, _scalar, _PLAIN, _MISS
    out = Located(None, text=text)
    positions, key_positions = out.positions, out.key_positions
    # the open collection (`into`: None before the root), its path, whether it is a mapping,
    # and its pending key (a mapping's key read, its value not yet); `stack` holds the
    # enclosing ones' four, and `root` the root once it is read
    into: Any = None
    base: tuple = ()
    is_map = False
    pending: Optional[str] = None
    stack: list[tuple] = []
    root: list = []
    docs = depth = longest = 0
    failed: Optional[SourceError] = None  # raised once the whole text has been read
    parser = None
    try:
        parser = _PARSER(text)  # its events one by one, as `yaml.parse` gives them
        get_event = parser.get_event
        while (ev := get_event()) is not None:
            if watch is not None:
                watch(ev)
            cls = type(ev)
            if cls is ScalarEvent:
                if ev.anchor:
                    return None
                if failed is not None:
                    continue
                mark = ev.start_mark
                style = ev.style
                if style in quoted:
                    where = (mark.line + 1, mark.column + 2)  # the text, not the quote
                elif style in block:
                    where = block_start(text, mark.line)
                else:
                    where = (mark.line + 1, mark.column + 1)
                if is_map:
                    if pending is None:  # a key
                        key = ev.value
                        if key in into:
                            failed = SourceError(f"the key {key!r} appears twice", *where)
                            continue
                        pending = key
                        key_positions[base + (key,)] = where
                        continue
                    positions[base + (pending,)] = where
                    # (`_scalar`, its commonest case inline: a plain scalar without a tag)
                    if ev.tag is None and ev.implicit[0]:
                        got = plain.get(ev.value, miss)
                        into[pending] = _plain(ev.value) if got is miss else got
                    else:
                        into[pending] = scalar(ev)
                    pending = None
                elif into is not None:
                    positions[base + (len(into),)] = where
                    into.append(scalar(ev))
                else:
                    positions[()] = where
                    root.append(scalar(ev))
            elif cls is MappingStartEvent or cls is SequenceStartEvent:
                if ev.anchor:
                    return None
                depth += 1
                if depth > MAX_DEPTH:
                    return None
                if failed is not None:
                    continue
                mark = ev.start_mark
                where = (mark.line + 1, mark.column + 1)
                value: Any = {} if cls is MappingStartEvent else []
                if is_map:
                    if pending is None:
                        failed = SourceError("a mapping key must be plain text", *where)
                        continue
                    path = base + (pending,)
                    into[pending] = value
                elif into is not None:
                    path = base + (len(into),)
                    into.append(value)
                else:
                    path = ()
                    root.append(value)
                positions[path] = where
                stack.append((into, base, is_map, None))
                into, base, is_map, pending = value, path, cls is MappingStartEvent, None
            elif cls is MappingEndEvent or cls is SequenceEndEvent:
                depth -= 1
                if failed is None:
                    if len(into) > longest:
                        longest = len(into)
                    into, base, is_map, pending = stack.pop()
            elif cls is DocumentStartEvent:
                docs += 1
                if docs > 1:
                    return None
            elif cls is yaml.AliasEvent:
                return None
    except (yaml.YAMLError, RecursionError, ValueError, TypeError):
        return None
    finally:
        if parser is not None:
            parser.dispose()
    if failed is not None:
        raise failed
    if len(root) != 1:
        return None
    out.data = root[0]
    return out, longest


def load_yaml(text: str) -> Located:
    """The data of a YAML text, with the position of every value and key: libyaml's single pass
    (`fast_load`) when it can be used, else PyYAML's pure-Python reader, which words errors."""
    if not text.strip():
        raise SourceError("the file is empty", 1, 1)
    fast = fast_load(text)
    if fast is not None:
        return fast
    return _slow_load(text)


def _slow_load(text: str) -> Located:
    """PyYAML's pure-Python composer: slower, but it words every error with its place."""
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
        buffer = getattr(node.start_mark, "buffer", None)
        line, col = block_start(buffer, line - 1) if isinstance(buffer, str) else (line + 1, 1)
    return line, col


def block_start(text: str, line0: int) -> Pos:
    """Where a block scalar's text (`expr: |` and the lines under it) begins: the line after the
    indicator's (0-based `line0`), at its indentation, so a caret lands under the text."""
    start = -1
    for _ in range(line0 + 1):  # the start of line line0 + 1
        start = text.find("\n", start + 1)
        if start < 0:
            return line0 + 2, 1
    body = text[start + 1:text.find("\n", start + 1) if text.find("\n", start + 1) >= 0 else len(text)]
    return line0 + 2, len(body) - len(body.lstrip(" ")) + 1


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
    return _value(node.tag, node.value)


def _value(tag: str, value: str) -> Any:
    if tag.endswith(":int"):
        try:
            return int(value.replace("_", ""), 0)
        except ValueError:
            return value
    if tag.endswith(":bool"):
        return value.lower() in ("true", "yes", "on", "y")
    if tag.endswith(":null"):
        return None
    return value  # everything else (floats included) stays text: expressions are text
