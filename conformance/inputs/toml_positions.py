"""The line of every table, key and array element of a TOML file, found by a light scan of its text.

``tomllib`` gives no positions for values, so a problem found in the parsed data could not name its line.
:func:`toml_lines` scans the source text once more (it has already been accepted by ``tomllib``, so the scan may
assume valid syntax): ``[[snippet]]``/``[["snippet"]]`` headers, inline arrays of tables (``claim = [{...}]``) and
multi-line strings are all handled, so a problem points at the key it is about (:mod:`conformance.inputs.validation`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping

DataPath = tuple[str | int, ...]
"""Where a value is in parsed data: keys and 0-based indices (``("claim", 3, "expect_printed")``)."""


_BARE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


class _Scan:
    """A forward scanner over TOML text already accepted by ``tomllib`` (so it may assume valid syntax)."""

    def __init__(self, text: str) -> None:
        self.s = text
        self.i = 0
        self.line = 1
        self.lines: dict[DataPath, int] = {}
        self.aot: dict[tuple[str, ...], int] = {}
        """Current index of each array of tables, by its dotted name."""

    def peek(self, n: int = 1) -> str:
        return self.s[self.i:self.i + n]

    def advance(self, n: int = 1) -> None:
        self.line += self.s.count("\n", self.i, self.i + n)
        self.i += n

    def skip_space(self, newlines: bool) -> None:
        """Skip blanks and comments (and newlines when ``newlines``)."""
        while self.i < len(self.s):
            c = self.s[self.i]
            if c in " \t\r" or (newlines and c == "\n"):
                self.advance()
            elif c == "#":
                end = self.s.find("\n", self.i)
                self.advance((len(self.s) if end < 0 else end) - self.i)
            else:
                return

    def string(self) -> str:
        """Read a string at the cursor (basic, literal, or either multi-line form) and return its value roughly."""
        for quote in ('"""', "'''"):
            if self.peek(3) == quote:
                self.advance(3)
                start = self.i
                while self.i < len(self.s):
                    if quote == '"""' and self.s[self.i] == "\\":
                        self.advance(2)
                        continue
                    if self.peek(3) == quote:
                        while self.peek(4) == quote + quote[0]:  # up to two quotes may end the content
                            self.advance()
                        value = self.s[start:self.i]
                        self.advance(3)
                        return value
                    self.advance()
                return self.s[start:]
        quote = self.s[self.i]
        self.advance()
        start = self.i
        while self.i < len(self.s) and self.s[self.i] != quote:
            self.advance(2 if quote == '"' and self.s[self.i] == "\\" else 1)
        value = self.s[start:self.i]
        self.advance()
        if quote == '"' and "\\" in value:
            try:
                return str(json.loads(f'"{value}"'))
            except ValueError:
                return value
        return value

    def key(self) -> tuple[str, ...]:
        """A dotted key: bare or quoted parts separated by dots."""
        parts = []
        while True:
            self.skip_space(newlines=False)
            if self.peek() in ('"', "'"):
                parts.append(self.string())
            else:
                start = self.i
                while self.i < len(self.s) and self.s[self.i] in _BARE:
                    self.advance()
                parts.append(self.s[start:self.i])
            self.skip_space(newlines=False)
            if self.peek() != ".":
                return tuple(parts)
            self.advance()

    def expand(self, name: tuple[str, ...]) -> DataPath:
        """Data path of a dotted table name: each array-of-tables prefix gets its current index."""
        out: list[str | int] = []
        for n in range(1, len(name) + 1):
            out.append(name[n - 1])
            if name[:n] in self.aot:
                out.append(self.aot[name[:n]])
        return tuple(out)

    def record(self, path: DataPath, line: int) -> None:
        for n in range(1, len(path) + 1):
            self.lines.setdefault(path[:n], line)
        self.lines[path] = line

    def value(self, path: DataPath) -> None:
        """Skip one value, recording the lines of array elements and inline-table keys under ``path``."""
        c = self.peek()
        if c in ('"', "'"):
            self.string()
        elif c == "[":
            self.advance()
            index = 0
            while True:
                self.skip_space(newlines=True)
                if self.peek() == "]":
                    self.advance()
                    return
                self.record((*path, index), self.line)
                self.value((*path, index))
                self.skip_space(newlines=True)
                if self.peek() == ",":
                    self.advance()
                    index += 1
        elif c == "{":
            self.advance()
            while True:
                self.skip_space(newlines=False)
                if self.peek() == "}":
                    self.advance()
                    return
                line = self.line
                key = self.key()
                self.record((*path, *key), line)
                self.advance()  # '='
                self.skip_space(newlines=False)
                self.value((*path, *key))
                self.skip_space(newlines=False)
                if self.peek() == ",":
                    self.advance()
        else:
            while self.i < len(self.s) and self.s[self.i] not in ",]}\n#":
                self.advance()

    def document(self) -> dict[DataPath, int]:
        table: DataPath = ()
        while True:
            self.skip_space(newlines=True)
            if self.i >= len(self.s):
                return self.lines
            line = self.line
            if self.peek(2) == "[[":
                self.advance(2)
                name = self.key()
                self.advance(2)
                self.aot[name] = self.aot.get(name, -1) + 1
                for other in [n for n in self.aot if len(n) > len(name) and n[:len(name)] == name]:
                    del self.aot[other]  # a new parent entry starts its sub-arrays afresh
                table = self.expand(name)
                self.record(table, line)
            elif self.peek() == "[":
                self.advance()
                table = self.expand(self.key())
                self.advance()
                self.record(table, line)
            else:
                key = self.key()
                self.record((*table, *key), line)
                self.advance()  # '='
                self.skip_space(newlines=False)
                self.value((*table, *key))


def toml_lines(text: str) -> dict[DataPath, int]:
    """The 1-based line of every table, key and array element of valid TOML ``text``, by data path.

    ``("claim", 3, "expect_printed")`` is the line of ``expect_printed =`` in the fourth ``[[claim]]``;
    ``("snippet", 0, "fix", 1)`` the second ``[[snippet.fix]]`` of the first snippet; elements of inline arrays
    (``specs = [{...}, {...}]``) get the line their element starts on.
    """
    return _Scan(text).document()


def line_of(lines: Mapping[DataPath, int], path: DataPath) -> int:
    """The line of ``path``, or of its nearest ancestor that has one (1 when nothing does)."""
    for n in range(len(path), 0, -1):
        if path[:n] in lines:
            return lines[path[:n]]
    return 1
