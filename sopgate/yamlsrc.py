"""Safe YAML loading that remembers where every key and value came from.

PyYAML's own loaders silently keep the last of duplicate keys and expand aliases without
limit. Here the document is composed into nodes (aliases stay shared, nothing is expanded),
its expanded size is measured on the shared graph before anything is built, and the nodes are
then turned into plain Python values while each path's line and column is recorded.
"""

from __future__ import annotations

import os
import re
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.reader import ReaderError

from sopgate.errors import Diagnostic, InputError, UsageError

try:  # libyaml is several times faster; PyYAML wheels ship it.
    from yaml import CSafeLoader as _SafeLoader
except ImportError:  # pragma: no cover - depends on the PyYAML build
    from yaml import SafeLoader as _SafeLoader  # type: ignore[assignment]


class _Loader(_SafeLoader):
    """The safe loader, with each plain scalar's tag resolved once per distinct text.

    Even with libyaml, PyYAML resolves the tag of every scalar in Python by trying its
    regular expressions one after another: a large share of a big file's reading time (the
    largest, the cyclic collector, is paused by ``sopgate.cli.main``). Without path
    resolvers (the safe loader has none) a plain scalar's tag depends on its text alone, so
    equal plain scalars (names, states, shas repeat in every entry) share one answer. The
    table lives as long as one document's loader. Booleans and numbers are read as YAML
    1.2 reads them where 1.1 would surprise (see ``_yaml_1_2``).
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._plain: dict[str, str] = {}

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is not yaml.ScalarNode or not implicit[0]:  # quoted, or a collection: cheap
            return super().resolve(kind, value, implicit)  # type: ignore[no-untyped-call]
        tag = self._plain.get(value)  # a plain scalar: its tag depends on its text alone
        if tag is None:
            found = super().resolve(kind, value, implicit)  # type: ignore[no-untyped-call]
            tag = _yaml_1_2(found, value)
            self._plain[value] = tag
        return tag


_NUMBERS = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")


def _yaml_1_2(tag: str, value: str) -> str:
    """No base-60 numbers, as in YAML 1.2 (and check-jsonschema, editors): ``end: 16:00`` is
    a time of day, not the number 960 that YAML 1.1 reads."""
    return _STR if tag in _NUMBERS and ":" in value else tag


if _Loader.yaml_path_resolvers:  # pragma: no cover - a tag would depend on the path too
    raise ImportError("sopgate: the YAML safe loader has path resolvers; tags cannot be shared")

Path = tuple[str | int, ...]

_ANCHOR = re.compile(r"&[^\s,\[\]{}]")
#: ``[production[eu-west]]`` fails at the second bracket: a plain name ran into it.
_BRACKETED = re.compile(r"(?<=[\w-])\[[^\s\[\]{},]+\]")

MAX_DEPTH = 64
_STR = "tag:yaml.org,2002:str"
_MERGE = "tag:yaml.org,2002:merge"
_SCALAR_TAGS = {
    "tag:yaml.org,2002:str": "construct_yaml_str",
    "tag:yaml.org,2002:int": "construct_yaml_int",
    "tag:yaml.org,2002:float": "construct_yaml_float",
    "tag:yaml.org,2002:bool": "construct_yaml_bool",
    "tag:yaml.org,2002:null": "construct_yaml_null",
    "tag:yaml.org,2002:timestamp": "construct_yaml_timestamp",
}


@dataclass(frozen=True)
class Document:
    """Plain data of one YAML document plus the 1-based position of every path in it."""

    path: str
    data: Any
    values: dict[Path, tuple[int, int]] = field(default_factory=dict)
    keys: dict[Path, tuple[int, int]] = field(default_factory=dict)
    #: What was wrong in the YAML itself (duplicate keys, tags), when loaded with ``collect``.
    problems: tuple[Diagnostic, ...] = ()

    def value_pos(self, loc: Path) -> tuple[int, int]:
        """Where the value at ``loc`` starts, or its nearest known ancestor."""
        return _nearest(self.values, loc)

    def key_pos(self, loc: Path) -> tuple[int, int]:
        """Where the key naming ``loc`` stands (falls back to the value position)."""
        if loc in self.keys:
            return self.keys[loc]
        return _nearest(self.values, loc)

    def error(self, loc: Path, message: str, *, at_key: bool = False) -> Diagnostic:
        line, col = self.key_pos(loc) if at_key else self.value_pos(loc)
        return Diagnostic(line, col, message, self.path)


def _nearest(table: dict[Path, tuple[int, int]], loc: Path) -> tuple[int, int]:
    for end in range(len(loc), -1, -1):
        found = table.get(loc[:end])
        if found is not None:
            return found
    return (1, 1)


def read_text(path: str, *, max_bytes: int, what: str, missing: str) -> str:
    """The UTF-8 text of ``path``, reading at most ``max_bytes`` + 1 bytes (a huge file is
    refused without being read into memory). ``missing`` is the message for no file."""
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            raw = handle.read(max_bytes + 1)
    except FileNotFoundError:
        raise UsageError(f"{path}: {missing}") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the {what} file: {exc.strerror}") from None
    if len(raw) > max_bytes:
        _too_big(max(size, len(raw)), max_bytes, what, path)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, col = _place(raw, exc.start)
        message = f"not UTF-8 text (byte {exc.start})"
        raise InputError([Diagnostic(line, col, message, path)]) from None


def _place(raw: bytes, offset: int) -> tuple[int, int]:
    """The 1-based line and column (in characters) of byte ``offset`` of ``raw``."""
    before = raw[:offset]
    start = before.rfind(b"\n") + 1
    return before.count(b"\n") + 1, len(before[start:].decode("utf-8", "replace")) + 1


def _too_big(size: int, max_bytes: int, what: str, path: str) -> None:
    raise InputError(
        [
            Diagnostic(
                1,
                1,
                f"file is {size:,} bytes; a {what} file may be at most "
                f"{max_bytes:,} bytes ({max_bytes // 1024 // 1024} MiB)",
                path,
            )
        ]
    )


def load(
    text: str,
    *,
    path: str,
    max_bytes: int,
    what: str,
    positions: bool = True,
    collect: bool = False,
) -> Document:
    """Parse ``text`` into a :class:`Document`, or raise :class:`InputError`.

    ``what`` names the expected content in messages ("SOP", "facts"). ``positions=False``
    records no positions (the document's tables stay empty; a caller that finds the data
    wrong loads again with them): the same data and the same checks, for large files whose
    every path would otherwise be recorded. A document that fails a check is always built
    again with positions, so its errors are the same either way. With ``collect``, errors
    found while building the data (duplicate keys, unsupported tags) are returned in
    :attr:`Document.problems` with the data as far as it goes, for the caller to report
    together with its own.
    """
    size = len(text.encode("utf-8", "surrogateescape"))
    if size > max_bytes:
        _too_big(size, max_bytes, what, path)
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = exc.problem or exc.context or "invalid YAML"
        if exc.context and problem.startswith("but "):  # "... in the stream, but found ..."
            problem = f"{exc.context}, {problem}"
        lines = text.splitlines()
        here = lines[mark.line] if mark and mark.line < len(lines) else ""
        if mark and _BRACKETED.match(here, mark.column):
            problem += "; quote an instance name in a [...] list, as in ['production[eu-west]']"
        raise InputError([Diagnostic(line, col, f"YAML syntax error: {problem}", path)]) from None
    except ReaderError as exc:
        line, col = _reader_place(text, exc.position)
        message = f"YAML error: unacceptable character #x{exc.character:04X}: {exc.reason}"
        raise InputError([Diagnostic(line, col, message, path)]) from None
    except yaml.YAMLError as exc:
        raise InputError([Diagnostic(1, 1, f"YAML error: {exc}", path)]) from None
    except RecursionError:
        raise InputError([Diagnostic(1, 1, "YAML nesting is too deep", path)]) from None
    if node is None or _is_empty(node):
        raise InputError([Diagnostic(1, 1, f"empty file: expected a {what} mapping", path)])
    if _ANCHOR.search(text):  # without anchors there are no aliases to expand
        _check_expansion(node, path, what)
    if not positions:
        fast = _Builder(path)
        data = fast.plain(node, 0)
        if not fast.errors:
            return Document(path, data)
    builder = _Builder(path)
    data = builder.build(node, (), 0)
    if builder.errors and not collect:
        raise InputError(builder.errors)
    return Document(path, data, builder.values, builder.keys, tuple(builder.errors))


def _is_empty(node: yaml.Node) -> bool:
    """A document with nothing in it but its markers (``---``, ``...``)."""
    return (
        isinstance(node, yaml.ScalarNode)
        and node.tag == "tag:yaml.org,2002:null"
        and node.value == ""
        and not node.style  # not '' or "" (libyaml writes '' for plain, PyYAML None)
    )


def _reader_place(text: str, position: int) -> tuple[int, int]:
    """Where the reader stopped: libyaml counts bytes of the UTF-8 text, PyYAML characters."""
    if _SafeLoader.__name__ != "CSafeLoader":  # pragma: no cover - depends on the build
        position = len(text[:position].encode("utf-8", "surrogateescape"))
    return _place(text.encode("utf-8", "surrogateescape"), position)


def _check_expansion(root: yaml.Node, path: str, what: str) -> None:
    """Refuse documents whose aliases expand far beyond their written size, or without end."""
    sizes: dict[int, int] = {}
    open_: set[int] = set()  # entered, children not all measured yet
    unique = 0
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if id(node) in sizes:
            continue
        children = _children(node)
        if not children_done:
            if id(node) in open_:  # reached again from inside itself: an alias to itself
                mark = node.start_mark
                raise InputError(
                    [
                        Diagnostic(
                            mark.line + 1,
                            mark.column + 1,
                            "recursive YAML alias: this anchored value contains an alias to "
                            f"itself; a {what} file cannot contain itself",
                            path,
                        )
                    ]
                )
            open_.add(id(node))
            stack.append((node, True))
            stack.extend((child, False) for child in children if id(child) not in sizes)
            continue
        unique += 1
        sizes[id(node)] = 1 + sum(sizes[id(child)] for child in children)
    expanded = sizes[id(root)]
    limit = 4 * unique + 100_000
    if expanded > limit:
        raise InputError(
            [
                Diagnostic(
                    1,
                    1,
                    f"YAML aliases expand to {expanded:,} nodes from {unique:,} "
                    f"written ones (limit {limit:,}); refusing a possible alias bomb",
                    path,
                )
            ]
        )


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


class _Builder:
    def __init__(self, path: str) -> None:
        self.path = path
        self.values: dict[Path, tuple[int, int]] = {}
        self.keys: dict[Path, tuple[int, int]] = {}
        self.errors: list[Diagnostic] = []
        self._constructor = SafeConstructor()

    def _fail(self, node: yaml.Node, message: str) -> None:
        mark = node.start_mark
        self.errors.append(Diagnostic(mark.line + 1, mark.column + 1, message, self.path))

    def build(self, node: yaml.Node, loc: Path, depth: int) -> Any:
        mark = node.start_mark
        self.values[loc] = (mark.line + 1, mark.column + 1)
        if depth > MAX_DEPTH:
            self._fail(node, f"nesting deeper than {MAX_DEPTH} levels")
            return None
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, loc, depth)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*loc, i), depth + 1) for i, item in enumerate(node.value)]
        return self._scalar(node)

    def plain(self, node: yaml.Node, depth: int) -> Any:
        """What :meth:`build` returns, with its checks, recording no positions (an error
        here only says that there is one: :meth:`build` words it)."""
        if depth > MAX_DEPTH:
            self._fail(node, f"nesting deeper than {MAX_DEPTH} levels")
            return None
        if isinstance(node, yaml.MappingNode):
            result: dict[Hashable, Any] = {}
            for key_node, value_node in node.value:
                if key_node.tag == _MERGE or not isinstance(key_node, yaml.ScalarNode):
                    self._fail(key_node, "not a plain key")
                    continue
                key = self._scalar(key_node)
                if not isinstance(key, str):
                    key = str(key_node.value)
                if key in result:
                    self._fail(key_node, "duplicate key")
                    continue
                result[key] = self.plain(value_node, depth + 1)
            return result
        if isinstance(node, yaml.SequenceNode):
            return [self.plain(item, depth + 1) for item in node.value]
        return self._scalar(node)

    def _mapping(self, node: yaml.MappingNode, loc: Path, depth: int) -> dict[Hashable, Any]:
        result: dict[Hashable, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                self._fail(key_node, "merge keys (<<) are not supported; write the keys out")
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                self._fail(key_node, "mapping keys must be plain strings")
                continue
            key = self._scalar(key_node)
            if not isinstance(key, str):
                key = str(key_node.value)
            mark = key_node.start_mark
            if key in result:
                first = self.keys[(*loc, key)]
                self._fail(key_node, f"duplicate key '{key}' (first defined at line {first[0]})")
                continue
            self.keys[(*loc, key)] = (mark.line + 1, mark.column + 1)
            result[key] = self.build(value_node, (*loc, key), depth + 1)
        return result

    def _scalar(self, node: yaml.Node) -> Any:
        if node.tag == _STR:  # what construct_yaml_str returns for a scalar node, called less
            return node.value
        method = _SCALAR_TAGS.get(node.tag)
        if method is None:
            self._fail(node, f"unsupported YAML tag {node.tag}")
            return None
        try:
            return getattr(self._constructor, method)(node)
        except (ConstructorError, ValueError) as exc:
            self._fail(node, f"invalid value {node.value!r}: {exc}")
            return None
