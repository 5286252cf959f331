"""Where each key of a TOML document is written: a map from key path to 1-based line.

``tomllib`` gives values without positions, so this scanner walks the text (already known
to be valid TOML) and records, for every key path, the line it first appears on: table
headers ``[a.b]``, arrays of tables ``[[connections]]`` (counted, so the path holds the
element index: ``("connections", 2)``), dotted keys ``a.b = 1``, inline tables and the
elements of arrays. It is best effort: if anything unexpected comes up, the lines found so
far are returned.
"""

from __future__ import annotations

import tomllib

Key = tuple[str | int, ...]

_BARE = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


class _Scanner:
    def __init__(self, text: str):
        self.s = text
        self.i = 0
        self.line = 1
        self.lines: dict[Key, int] = {}
        self.aot: dict[Key, int] = {}  # array-of-tables path -> number of elements so far

    # -- characters -----------------------------------------------------------------------
    def peek(self, n: int = 0) -> str:
        j = self.i + n
        return self.s[j] if j < len(self.s) else ""

    def advance(self, n: int = 1) -> None:
        for _ in range(n):
            if self.i < len(self.s) and self.s[self.i] == "\n":
                self.line += 1
            self.i += 1

    def skip_blank(self, newlines: bool) -> None:
        """Skip spaces, tabs, comments and (if ``newlines``) line breaks."""
        while self.i < len(self.s):
            c = self.s[self.i]
            if c in " \t\r" or (newlines and c == "\n"):
                self.advance()
            elif c == "#":
                while self.i < len(self.s) and self.s[self.i] != "\n":
                    self.i += 1
            else:
                return

    def record(self, key: Key, line: int | None = None) -> None:
        self.lines.setdefault(key, self.line if line is None else line)

    # -- pieces -----------------------------------------------------------------------------
    def string(self) -> str:
        """Consume a string (any of the four kinds) and return its raw source text."""
        start = self.i
        quote = self.peek()
        if self.s.startswith(quote * 3, self.i):
            self.advance(3)
            while self.i < len(self.s) and not self.s.startswith(quote * 3, self.i):
                self.advance(2 if quote == '"' and self.peek() == "\\" else 1)
            self.advance(3)
            while self.peek() == quote:  # up to two quotes may end the content
                self.advance()
        else:
            self.advance()
            while self.i < len(self.s) and self.peek() != quote:
                if self.peek() == "\n":
                    raise ValueError("unterminated string")
                self.advance(2 if quote == '"' and self.peek() == "\\" else 1)
            self.advance()
        return self.s[start : self.i]

    def key_part(self) -> str:
        c = self.peek()
        if c in "\"'":
            raw = self.string()
            return tomllib.loads(f"k = {raw}")["k"]
        start = self.i
        while self.peek() in _BARE and self.peek():
            self.i += 1
        if self.i == start:
            raise ValueError(f"expected a key at line {self.line}")
        return self.s[start : self.i]

    def dotted_key(self) -> list[str]:
        parts = [self.key_part()]
        self.skip_blank(newlines=False)
        while self.peek() == ".":
            self.advance()
            self.skip_blank(newlines=False)
            parts.append(self.key_part())
            self.skip_blank(newlines=False)
        return parts

    def value(self, path: Key) -> None:
        self.skip_blank(newlines=False)
        c = self.peek()
        if c in "\"'":
            self.string()
        elif c == "{":
            self.advance()
            while True:
                self.skip_blank(newlines=True)
                if self.peek() == "}":
                    self.advance()
                    return
                if self.peek() == ",":
                    self.advance()
                    continue
                self.key_value(path)
        elif c == "[":
            self.advance()
            index = 0
            while True:
                self.skip_blank(newlines=True)
                if self.peek() == "]":
                    self.advance()
                    return
                if self.peek() == ",":
                    self.advance()
                    continue
                self.record((*path, index))
                self.value((*path, index))
                index += 1
        else:
            while self.peek() and self.peek() not in ",]}\n#":
                self.advance()

    def key_value(self, table: Key) -> None:
        line = self.line
        parts = self.dotted_key()
        for n in range(1, len(parts) + 1):
            self.record((*table, *parts[:n]), line)
        if self.peek() != "=":
            raise ValueError(f"expected '=' at line {self.line}")
        self.advance()
        self.value((*table, *parts))

    def header(self) -> Key:
        """Consume ``[a.b]`` or ``[[a.b]]``; return the path of the table it opens."""
        line = self.line
        array = self.s.startswith("[[", self.i)
        self.advance(2 if array else 1)
        self.skip_blank(newlines=False)
        parts = self.dotted_key()
        self.advance(2 if array else 1)
        path: Key = ()
        for n, part in enumerate(parts):
            path = (*path, part)
            last = n == len(parts) - 1
            if path in self.aot and not (array and last):
                path = (*path, self.aot[path] - 1)  # into the latest element
            self.record(path, line)
        if array:
            index = self.aot.get(path, 0)
            self.aot[path] = index + 1
            path = (*path, index)
            self.record(path, line)
        return path

    def document(self) -> None:
        table: Key = ()
        while True:
            self.skip_blank(newlines=True)
            if self.i >= len(self.s):
                return
            if self.peek() == "[":
                table = self.header()
            else:
                self.key_value(table)


def key_lines(text: str) -> dict[Key, int]:
    """Map every key path written in the TOML ``text`` to its 1-based line (best effort)."""
    scanner = _Scanner(text)
    try:
        scanner.document()
    except (ValueError, IndexError, tomllib.TOMLDecodeError):
        pass
    return scanner.lines
